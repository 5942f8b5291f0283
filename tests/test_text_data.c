/* Tests of the text sources and token data sets (text.h, second part, and
 * the token fields of lam_dataset): the corpus reader, documents labelled by
 * file name (and the licence task on /usr/share/common-licenses when it
 * exists), labelled CSV text (quotes, line breaks, over-long records,
 * missing fields, invalid UTF-8, empty texts), language-modelling windows
 * and their split, padded rows, document windows, the data-set functions on
 * token sets, huge sizes and every allocation failure of the readers.
 * Fixtures are written to a temporary directory. */
#include "lamina/text.h"
#include "test.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

static lam_vocab *build_vocab(lam_tokenizer tok, const char *const *texts, const size_t *lens,
                              int64_t n, bool pad, bool unk)
{
    lam_vocab_opts o = lam_vocab_opts_defaults();
    o.tokenizer = tok;
    o.pad = pad;
    o.unk = unk;
    lam_vocab *v = NULL;
    lam_status st = lam_vocab_build(&o, texts, lens, n, &v);
    CHECK_MSG(st == LAM_OK, "build: %s", lam_last_error());
    return v;
}

static lam_vocab *vocab1(lam_tokenizer tok, const char *text, bool pad, bool unk)
{
    size_t l = strlen(text);
    return build_vocab(tok, &text, &l, 1, pad, unk);
}

/* ---- sources ------------------------------------------------------------------------ */

/* docs/: a-1, a-2, b (regular), .hidden, c -> a-1 (link), d-x/ (directory) */
static const char *make_docs(void)
{
    const char *d = t_tpath("docs");
    char p[300];
    mkdir(d, 0700);
    snprintf(p, sizeof p, "%s/a-2", d);
    FILE *f = fopen(p, "wb");
    if (f) fputs("second a\n", f), fclose(f);
    snprintf(p, sizeof p, "%s/a-1", d);
    if ((f = fopen(p, "wb"))) fputs("first a text\n", f), fclose(f);
    snprintf(p, sizeof p, "%s/b", d);
    if ((f = fopen(p, "wb"))) fputs("bee", f), fclose(f);
    snprintf(p, sizeof p, "%s/.hidden", d);
    if ((f = fopen(p, "wb"))) fputs("HIDDEN", f), fclose(f);
    snprintf(p, sizeof p, "%s/c", d);
    if (symlink("a-1", p) != 0 && access(p, F_OK) != 0) perror("symlink");
    snprintf(p, sizeof p, "%s/d-x", d);
    mkdir(p, 0700);
    return d;
}

static void test_read_corpus(void)
{
    uint64_t live0 = t_live_bytes();
    const char *d = make_docs();
    char *t = NULL;
    size_t n = 0;
    CHECK_OK(lam_text_read_corpus(d, true, &t, &n));
    const char *want = "first a text\nsecond a\nbeefirst a text\n"; /* a-1 a-2 b c(->a-1) */
    CHECK_MSG(t && n == strlen(want) && memcmp(t, want, n) == 0 && t[n] == 0, "%s",
              t ? t : "(null)");
    lam_free(t);
    CHECK_OK(lam_text_read_corpus(d, false, &t, &n));
    CHECK(t && n == strlen(want) - 13 && memcmp(t, want, n) == 0);
    lam_free(t);
    /* one file */
    CHECK_OK(lam_text_read_corpus(t_tpath("docs/b"), false, &t, &n));
    CHECK(t && n == 3 && strcmp(t, "bee") == 0);
    lam_free(t);
    /* errors */
    CHECK(lam_text_read_corpus(t_tpath("nope"), true, &t, &n) == LAM_ERR_IO && t == NULL && n == 0);
    CHECK(t_err_has("nope"));
    mkdir(t_tpath("empty"), 0700);
    CHECK(lam_text_read_corpus(t_tpath("empty"), true, &t, &n) == LAM_ERR_FORMAT && t_err_has("empty"));
    t_write_file("empty/zero", "");
    CHECK(lam_text_read_corpus(t_tpath("empty"), true, &t, &n) == LAM_ERR_FORMAT);
    CHECK(lam_text_read_corpus(t_tpath("empty/zero"), true, &t, &n) == LAM_ERR_FORMAT);
    /* a dangling link that is to be followed is an error; not followed, it is skipped */
    mkdir(t_tpath("dangle"), 0700);
    t_write_file("dangle/ok", "fine");
    if (symlink("missing-target", t_tpath("dangle/zz")) == 0) {
        CHECK(lam_text_read_corpus(t_tpath("dangle"), true, &t, &n) == LAM_ERR_IO && t_err_has("zz"));
        CHECK_OK(lam_text_read_corpus(t_tpath("dangle"), false, &t, &n));
        CHECK(t && n == 4);
        lam_free(t);
    }
    CHECK(lam_text_read_corpus(NULL, true, &t, &n) == LAM_ERR_ARG);
    CHECK(t_live_bytes() == live0);
}

/* A file claiming more than LAM_TEXT_MAX_FILE bytes (sparse: no disk used)
 * fails before anything is allocated for it. */
static void test_huge_file(void)
{
    const char *p = t_tpath("huge.txt");
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || ftruncate(fd, LAM_TEXT_MAX_FILE + 1) != 0) {
        printf("# note: cannot make a sparse file; huge-file check skipped\n");
        if (fd >= 0) close(fd);
        return;
    }
    close(fd);
    lam_alloc_stats s0, s1;
    lam_alloc_get_stats(&s0);
    char *t = NULL;
    size_t n;
    CHECK(lam_text_read_corpus(p, true, &t, &n) == LAM_ERR_FORMAT && t == NULL);
    lam_alloc_get_stats(&s1);
    CHECK(s1.n_alloc == s0.n_alloc);
    mkdir(t_tpath("hugedir"), 0700);
    rename(p, t_tpath("hugedir/doc-1"));
    lam_text_set *s = NULL;
    CHECK(lam_text_files_read(t_tpath("hugedir"), '-', &s) == LAM_ERR_FORMAT && s == NULL);
    CHECK(t_err_has("doc-1"));
    unlink(t_tpath("hugedir/doc-1"));
}

static void test_text_files(void)
{
    uint64_t live0 = t_live_bytes();
    const char *d = make_docs();
    lam_text_set *s = NULL;
    CHECK_OK(lam_text_files_read(d, '-', &s));
    if (s) {
        CHECK(s->n == 3 && s->nclasses == 2);
        CHECK(strcmp(s->class_names[0], "a") == 0 && strcmp(s->class_names[1], "b") == 0);
        CHECK(strcmp(s->names[0], "a-1") == 0 && strcmp(s->names[1], "a-2") == 0 &&
              strcmp(s->names[2], "b") == 0);
        CHECK(s->labels[0] == 0 && s->labels[1] == 0 && s->labels[2] == 1);
        CHECK(s->len[2] == 3 && strcmp(s->text[2], "bee") == 0 &&
              strcmp(s->text[0], "first a text\n") == 0);
    }
    lam_text_set_free(s);
    /* sep 0: the whole name is the class */
    CHECK_OK(lam_text_files_read(d, 0, &s));
    if (s) CHECK(s->nclasses == 3 && strcmp(s->class_names[1], "a-2") == 0);
    lam_text_set_free(s);
    mkdir(t_tpath("nofiles"), 0700);
    CHECK(lam_text_files_read(t_tpath("nofiles"), '-', &s) == LAM_ERR_FORMAT && s == NULL);
    CHECK(lam_text_files_read(t_tpath("missing"), '-', &s) == LAM_ERR_IO);
    lam_text_set_free(NULL);
    CHECK(t_live_bytes() == live0);
}

/* The licence task: classes by file name, split by position inside each file. */
static void test_licences(void)
{
    struct stat sb;
    if (stat("/usr/share/common-licenses", &sb) != 0) {
        printf("# note: /usr/share/common-licenses is missing; licence task not checked\n");
        return;
    }
    uint64_t live0 = t_live_bytes();
    lam_text_set *s = NULL;
    CHECK_OK(lam_text_files_read("/usr/share/common-licenses", '-', &s));
    if (!s) return;
    const char *classes[] = {"Apache", "Artistic", "BSD", "CC0", "GFDL", "GPL", "LGPL", "MPL"};
    CHECK(s->nclasses == 8);
    for (int k = 0; k < 8 && k < s->nclasses; k++)
        CHECK(strcmp(s->class_names[k], classes[k]) == 0);
    for (int64_t i = 0; i < s->n; i++) {
        char p[300];
        snprintf(p, sizeof p, "/usr/share/common-licenses/%s", s->names[i]);
        CHECK_MSG(lstat(p, &sb) == 0 && S_ISREG(sb.st_mode) && (size_t)sb.st_size == s->len[i],
                  "%s", p);
        CHECK(strcmp(s->names[i], "GPL") && strcmp(s->names[i], "GFDL") &&
              strcmp(s->names[i], "LGPL"));
    }
    /* vocabulary on the training parts only */
    const char **parts = calloc((size_t)s->n, sizeof *parts);
    size_t *plen = calloc((size_t)s->n, sizeof *plen);
    lam_text_split_parts(s, LAM_TOKENIZER_BYTE, 0.2, parts, plen);
    lam_vocab *v = build_vocab(LAM_TOKENIZER_BYTE, parts, plen, s->n, false, true);
    lam_dataset *tr = NULL, *te = NULL;
    lam_text_stats st = {0};
    if (v) CHECK_OK(lam_dataset_doc_windows(s, v, 128, 128, 0.2, &st, &tr, &te));
    if (tr && te) {
        int64_t ctr[8] = {0}, cte[8] = {0}, etr[8] = {0}, ete[8] = {0};
        CHECK_OK(lam_dataset_class_counts(tr, ctr));
        CHECK_OK(lam_dataset_class_counts(te, cte));
        for (int64_t i = 0; i < s->n; i++) { /* bytes are units: the cut is at n - ceil(0.2 n) */
            int64_t n = (int64_t)s->len[i], k = n - (int64_t)ceil(0.2 * (double)n);
            CHECK(plen[i] == (size_t)k);
            etr[s->labels[i]] += k / 128;
            ete[s->labels[i]] += (n - k) / 128;
        }
        printf("# licence windows (seq 128, stride 128, test 0.2): class train test\n");
        for (int k = 0; k < 8; k++) {
            printf("#   %-8s %4lld %4lld\n", classes[k], (long long)ctr[k], (long long)cte[k]);
            CHECK(ctr[k] == etr[k] && cte[k] == ete[k] && ctr[k] > 0 && cte[k] > 0);
        }
        printf("#   total    %4lld %4lld\n", (long long)tr->n, (long long)te->n);
        CHECK_OK(lam_dataset_check(tr));
        CHECK_OK(lam_dataset_check(te));
    }
    lam_dataset_free(tr);
    lam_dataset_free(te);
    lam_vocab_free(v);
    free(parts);
    free(plen);
    lam_text_set_free(s);
    CHECK(t_live_bytes() == live0);
}

static void test_text_csv(void)
{
    uint64_t live0 = t_live_bytes();
    lam_text_set *s = NULL;
    /* label first, text last (the defaults); quotes, commas, line breaks, an empty text */
    const char *csv = "spam,\"Buy now, cheap!\"\n"
                      "ham,\"line one\nline two\"\n"
                      "ham,\"\"\n"
                      "eggs,plain text with \"\"quotes\"\"\n"
                      "spam,\"say \"\"hi\"\"\"\r\n";
    CHECK_OK(lam_text_csv_read(t_write_file("t1.csv", csv), NULL, (lam_csv_col){-1, NULL}, &s));
    if (s) {
        CHECK(s->n == 5 && s->nclasses == 3);
        CHECK(!strcmp(s->class_names[0], "eggs") && !strcmp(s->class_names[1], "ham") &&
              !strcmp(s->class_names[2], "spam"));
        CHECK(s->labels[0] == 2 && s->labels[1] == 1 && s->labels[3] == 0);
        CHECK(!strcmp(s->text[0], "Buy now, cheap!") && !strcmp(s->text[1], "line one\nline two"));
        CHECK(s->len[2] == 0 && !strcmp(s->text[4], "say \"hi\""));
        CHECK(!strcmp(s->text[3],
                      "plain text with \"\"quotes\"\"")); /* unquoted: quotes kept as they are */
        CHECK(!strcmp(s->names[1], "line 2") && !strcmp(s->names[2], "line 4"));
    }
    lam_text_set_free(s);
    /* header, columns by name, other columns ignored, gzip */
    const char *p = t_tpath("t2.csv.gz");
    gzFile g = gzopen(p, "wb");
    if (g) {
        gzputs(g, "id,text,class\n1,\"a, b\",x\n2,c,y\n");
        gzclose(g);
    }
    lam_csv_opts o = lam_csv_opts_defaults();
    o.label = (lam_csv_col){0, "class"};
    CHECK_OK(lam_text_csv_read(p, &o, (lam_csv_col){0, "text"}, &s));
    if (s)
        CHECK(s->n == 2 && !strcmp(s->text[0], "a, b") && s->labels[1] == 1 &&
              !strcmp(s->names[0], "line 2"));
    lam_text_set_free(s);
    /* given classes: labels must be among them, in their order */
    const char *names[2] = {"y", "x"};
    o.class_names = names;
    o.nclasses = 2;
    CHECK_OK(lam_text_csv_read(p, &o, (lam_csv_col){1, NULL}, &s));
    if (s) CHECK(s->labels[0] == 1 && s->labels[1] == 0 && !strcmp(s->class_names[0], "y"));
    lam_text_set_free(s);
    o.nclasses = 1;
    CHECK(lam_text_csv_read(p, &o, (lam_csv_col){1, NULL}, &s) == LAM_ERR_FORMAT && t_err_has(":2:"));
    /* invalid UTF-8 is kept as bytes; a char vocabulary replaces and counts it */
    CHECK_OK(lam_text_csv_read(t_write_file("t3.csv", "a,caf\xC3\xA9\nb,bad \xFF\xC0 bytes\n"), NULL,
                               (lam_csv_col){-1, NULL}, &s));
    if (s) {
        CHECK(s->len[1] == 12 && (unsigned char)s->text[1][4] == 0xFF);
        lam_vocab *v = build_vocab(LAM_TOKENIZER_CHAR, (const char *const *)s->text, s->len, s->n,
                                   true, false);
        lam_dataset *ds = NULL;
        lam_text_stats st = {0};
        if (v) CHECK_OK(lam_dataset_from_texts(s, NULL, 0, v, 8, &st, &ds));
        CHECK(st.invalid_utf8 == 2 && st.truncated == 4);
        lam_dataset_free(ds);
        lam_vocab_free(v);
    }
    lam_text_set_free(s);
    /* errors, each with its line */
    struct { const char *name, *text, *needle; lam_status want; } bad[] = {
        {"e1.csv", "a,one\nb\n", ":2: expected 2 fields", LAM_ERR_FORMAT},
        {"e2.csv", "a,one\nb,two,three\n", ":2: expected 2 fields", LAM_ERR_FORMAT},
        {"e3.csv", "a,one\n,two\n", ":2:1: the label is empty", LAM_ERR_FORMAT},
        {"e4.csv", "a,\"never closed\n", ":1:3: quoted field", LAM_ERR_FORMAT},
        {"e5.csv", "", "empty", LAM_ERR_FORMAT},
        {"e6.csv", "onlyone\n", "same column", LAM_ERR_ARG},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        s = (lam_text_set *)1;
        lam_status st = lam_text_csv_read(t_write_file(bad[i].name, bad[i].text), NULL,
                                          (lam_csv_col){ -1, NULL }, &s);
        CHECK_MSG(st == bad[i].want && s == NULL && t_err_has(bad[i].needle), "%s: %s %s",
                  bad[i].name, lam_status_str(st), lam_last_error());
    }
    /* an over-long record: an error with its line number, never a crash */
    size_t big = 5000;
    char *longrec = malloc(big + 64);
    int k = sprintf(longrec, "a,short\nb,\"");
    memset(longrec + k, 'x', big);
    strcpy(longrec + k + big, "\"\n");
    o = lam_csv_opts_defaults();
    o.max_line = 1000;
    CHECK(lam_text_csv_read(t_write_file("long.csv", longrec), &o, (lam_csv_col){ -1, NULL }, &s) ==
          LAM_ERR_FORMAT);
    CHECK_MSG(t_err_has("long.csv:2: record longer than 1000 bytes"), "%s", lam_last_error());
    free(longrec);
    o = lam_csv_opts_defaults();
    o.header = LAM_CSV_HEADER_NO;
    o.label = (lam_csv_col){0, "class"};
    CHECK(lam_text_csv_read(p, &o, (lam_csv_col){1, NULL}, &s) == LAM_ERR_ARG);
    o = lam_csv_opts_defaults();
    o.label = (lam_csv_col){0, "nope"};
    CHECK(lam_text_csv_read(p, &o, (lam_csv_col){1, NULL}, &s) == LAM_ERR_ARG && t_err_has("nope"));
    CHECK(lam_text_csv_read(p, NULL, (lam_csv_col){7, NULL}, &s) == LAM_ERR_ARG);
    CHECK(lam_text_csv_read(t_tpath("absent.csv"), NULL, (lam_csv_col){-1, NULL}, &s) == LAM_ERR_IO);
    CHECK(t_live_bytes() == live0);
}

/* Random bytes as a CSV file: a status, never a crash or a leak. */
static void test_text_csv_garbage(void)
{
    uint64_t live0 = t_live_bytes();
    lam_rng r;
    lam_rng_seed(&r, 777);
    static unsigned char buf[4096];
    const char alphabet[] = "ab,\"\r\n \xFF\xC3";
    for (int it = 0; it < 200; it++) {
        size_t n = lam_rng_below(&r, sizeof buf);
        for (size_t i = 0; i < n; i++)
            buf[i] = it % 2 ? (unsigned char)lam_rng_below(&r, 256)
                            : (unsigned char)alphabet[lam_rng_below(&r, 10)];
        lam_csv_opts o = lam_csv_opts_defaults();
        o.max_line = 500;
        lam_text_set *s = NULL;
        lam_status st = lam_text_csv_read(t_write_bytes("garbage.csv", buf, n), &o,
                                          (lam_csv_col){ -1, NULL }, &s);
        CHECK_MSG(st == LAM_OK || st == LAM_ERR_FORMAT || st == LAM_ERR_ARG, "it %d: %s", it,
                  lam_last_error());
        if (st == LAM_OK) {
            CHECK(s && s->n >= 1 && s->nclasses >= 1);
            for (int64_t i = 0; s && i < s->n; i++)
                CHECK(s->labels[i] >= 0 && s->labels[i] < s->nclasses);
        } else {
            CHECK(s == NULL && lam_last_error()[0]);
        }
        lam_text_set_free(s);
    }
    CHECK(t_live_bytes() == live0);
}

/* ---- token data sets ---------------------------------------------------------------- */

static void test_lm_windows(void)
{
    uint64_t live0 = t_live_bytes();
    const char *text = "abcdefghijklmnopqrstuvwxyz"; /* ids 0..25 */
    lam_vocab *v = vocab1(LAM_TOKENIZER_BYTE, text, false, false);
    if (!v) return;
    static const struct { int64_t seq, stride, n, trunc; } cases[] = {
        {4, 1, 22, 0}, {4, 4, 6, 1}, {5, 7, 3, 8}, {25, 1, 1, 0}, {1, 1, 25, 0},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        lam_dataset *ds = NULL;
        lam_text_stats st = {0};
        CHECK_OK(
            lam_dataset_lm_windows(v, text, 26, cases[c].seq, cases[c].stride, &st, "abc", &ds));
        if (!ds) continue;
        int64_t S = cases[c].stride, T = cases[c].seq;
        CHECK_MSG(ds->n == cases[c].n && st.truncated == cases[c].trunc,
                  "case %zu: n %lld truncated %lld", c, (long long)ds->n, (long long)st.truncated);
        CHECK(ds->ids_stride == S && ds->nfeat == T && ds->ids_len == (ds->n - 1) * S + T + 1);
        bool ok = true;
        for (int64_t i = 0; i < ds->n; i++)
            for (int64_t j = 0; j <= T; j++) ok &= ds->ids[i * S + j] == (int32_t)(i * S + j);
        CHECK(ok);
        CHECK_OK(lam_dataset_check(ds));
        /* the split by position: no token in both parts */
        for (double f = 0.1; f < 0.95; f += 0.2) {
            lam_dataset *h = NULL, *t = NULL;
            lam_status s = lam_dataset_lm_split(ds, f, &h, &t);
            if (s == LAM_ERR_FORMAT) {
                CHECK(h == NULL && t == NULL);
                continue;
            }
            CHECK_OK(s);
            if (!h || !t) continue;
            int32_t hmax = -1, tmin = 1 << 30;
            for (int64_t i = 0; i < h->n; i++)
                for (int64_t j = 0; j <= T; j++)
                    hmax = h->ids[i * S + j] > hmax ? h->ids[i * S + j] : hmax;
            for (int64_t i = 0; i < t->n; i++)
                for (int64_t j = 0; j <= T; j++)
                    tmin = t->ids[i * S + j] < tmin ? t->ids[i * S + j] : tmin;
            CHECK_MSG(hmax < tmin, "f %g: head reaches %d, tail starts at %d", f, hmax, tmin);
            CHECK(h->ids[0] == 0 && t->ids[0] % S == 0 && h->next_token && t->ids_stride == S);
            CHECK(h->n + t->n <= ds->n && h->n >= 1 && t->n >= 1);
            /* the tail holds about f of the stream: it starts at the first
             * window at or after the cut */
            int64_t L = (ds->n - 1) * S + T + 1, cut = L - (int64_t)ceil(f * (double)L);
            CHECK(tmin >= cut && tmin - cut < S && hmax < cut);
            CHECK_OK(lam_dataset_check(h));
            CHECK_OK(lam_dataset_check(t));
            lam_dataset_free(h);
            lam_dataset_free(t);
        }
        lam_dataset_free(ds);
    }
    lam_dataset *ds = (lam_dataset *)1;
    CHECK(lam_dataset_lm_windows(v, text, 26, 26, 1, NULL, "abc", &ds) == LAM_ERR_FORMAT &&
          ds == NULL);
    CHECK_MSG(t_err_has("abc: 26 tokens"), "%s", lam_last_error());
    CHECK(lam_dataset_lm_windows(v, text, 26, 0, 1, NULL, NULL, &ds) == LAM_ERR_ARG);
    CHECK(lam_dataset_lm_windows(v, text, 26, 4, 0, NULL, NULL, &ds) == LAM_ERR_ARG);
    CHECK(lam_dataset_lm_windows(v, "ab!", 3, 1, 1, NULL, "x.txt", &ds) == LAM_ERR_FORMAT &&
          t_err_has("x.txt: byte 2"));
    /* lm_split needs a next-token set and a fraction inside (0, 1) */
    lam_dataset *h, *t, *lab = NULL;
    CHECK_OK(lam_dataset_lm_windows(v, text, 26, 4, 1, NULL, NULL, &ds));
    CHECK(lam_dataset_lm_split(ds, 0, &h, &t) == LAM_ERR_ARG && h == NULL && t == NULL);
    CHECK(lam_dataset_lm_split(ds, 1, &h, &t) == LAM_ERR_ARG);
    CHECK(lam_dataset_lm_split(ds, 0.001, &h, &t) == LAM_ERR_FORMAT); /* the tail gets no window */
    CHECK_OK(lam_dataset_new_ids(3, 4, 10, 2, false, false, &lab));
    CHECK(lam_dataset_lm_split(lab, 0.5, &h, &t) == LAM_ERR_ARG);
    /* a subset (rows of their own, stride nfeat + 1) splits by row order */
    lam_dataset *sub = NULL;
    CHECK_OK(lam_dataset_subset(ds, (uint32_t[]){0, 5, 10, 15}, 4, &sub));
    if (sub) {
        CHECK(sub->ids_stride == 5 && sub->ids_len == 20 && sub->next_token && sub->ids[5] == 5 &&
              sub->ids[9] == 9);
        CHECK_OK(lam_dataset_lm_split(sub, 0.5, &h, &t));
        if (h && t) CHECK(h->n == 2 && t->n == 2 && t->ids[0] == 10);
        lam_dataset_free(h);
        lam_dataset_free(t);
    }
    lam_dataset_free(sub);
    lam_dataset_free(lab);
    lam_dataset_free(ds);
    lam_vocab_free(v);
    CHECK(t_live_bytes() == live0);
}

static lam_text_set *small_set(void)
{
    static const char *texts[] = {"aaa bb", "", "b a b a b a b a", "   "};
    static const int32_t labels[] = {0, 1, 1, 0};
    lam_text_set *s = calloc(1, sizeof *s); /* a set built by hand (test memory) */
    s->n = 4;
    s->text = calloc(4, sizeof *s->text);
    s->len = calloc(4, sizeof *s->len);
    s->labels = calloc(4, sizeof *s->labels);
    s->nclasses = 2;
    for (int i = 0; i < 4; i++) {
        s->text[i] = (char *)texts[i];
        s->len[i] = strlen(texts[i]);
        s->labels[i] = labels[i];
    }
    return s;
}

static void free_small_set(lam_text_set *s)
{
    free(s->text);
    free(s->len);
    free(s->labels);
    free(s);
}

static void test_from_texts(void)
{
    uint64_t live0 = t_live_bytes();
    lam_text_set *s = small_set();
    lam_vocab *v =
        build_vocab(LAM_TOKENIZER_WORD, (const char *const *)s->text, s->len, 1, true, true);
    lam_dataset *ds = NULL;
    lam_text_stats st = {0};
    if (v) CHECK_OK(lam_dataset_from_texts(s, NULL, 0, v, 5, &st, &ds));
    if (ds) {
        int32_t aaa = lam_vocab_find(v, "aaa", 3), bb = lam_vocab_find(v, "bb", 2);
        CHECK(ds->n == 4 && ds->nfeat == 5 && ds->ids_stride == 5 && ds->lengths &&
              !ds->next_token);
        CHECK(ds->ids[0] == aaa && ds->ids[1] == bb && ds->ids[2] == 0 && ds->ids[4] == 0 &&
              ds->lengths[0] == 2);
        CHECK(ds->lengths[1] == 1 && ds->ids[5] == 0);      /* empty text: one <pad> */
        CHECK(ds->lengths[2] == 5 && ds->ids[10] == 1);     /* "b" and "a" are unknown: <unk> */
        CHECK(ds->lengths[3] == 1 && ds->ids[15] == 0);     /* white space only: no word */
        CHECK(st.truncated == 3 && st.unknown == 8 && st.tokens == 10);
        CHECK(ds->labels[2] == 1 && ds->nclasses == 2 && ds->vocab == lam_vocab_size(v));
        CHECK_OK(lam_dataset_check(ds));
    }
    lam_dataset_free(ds);
    /* rows chosen by index */
    if (v) CHECK_OK(lam_dataset_from_texts(s, (uint32_t[]){2, 0}, 2, v, 3, NULL, &ds));
    if (ds)
        CHECK(ds->n == 2 && ds->labels[0] == 1 && ds->lengths[1] == 2 &&
              ds->ids[3] == lam_vocab_find(v, "aaa", 3));
    lam_dataset_free(ds);
    CHECK(lam_dataset_from_texts(s, (uint32_t[]){4}, 1, v, 3, NULL, &ds) == LAM_ERR_ARG);
    CHECK(lam_dataset_from_texts(s, NULL, 0, v, 0, NULL, &ds) == LAM_ERR_ARG);
    lam_vocab_free(v);
    /* without a pad id an empty text is an error naming it; padding is then 0 */
    v = build_vocab(LAM_TOKENIZER_WORD, (const char *const *)s->text, s->len, 4, false, false);
    CHECK(lam_dataset_from_texts(s, NULL, 0, v, 5, NULL, &ds) == LAM_ERR_FORMAT && ds == NULL);
    CHECK_MSG(t_err_has("text 1: the text holds no token"), "%s", lam_last_error());
    if (v) CHECK_OK(lam_dataset_from_texts(s, (uint32_t[]){0}, 1, v, 4, NULL, &ds));
    if (ds) CHECK(ds->ids[2] == 0 && ds->ids[3] == 0 && ds->lengths[0] == 2);
    lam_dataset_free(ds);
    lam_vocab_free(v);
    free_small_set(s);
    CHECK(t_live_bytes() == live0);
}

static void test_doc_windows(void)
{
    uint64_t live0 = t_live_bytes();
    /* three documents; bytes are units, so the cut is at n - ceil(f n) */
    static const char *texts[] = {"0123456789abcdefghij", "ABCDEFGHIJ", "xyz"};
    int32_t labels[3] = {1, 0, 1};
    size_t lens[3] = {20, 10, 3};
    lam_text_set s = {.n = 3, .text = (char **)texts, .len = lens, .labels = labels, .nclasses = 2,
                      .class_names = (char *[]){"first", "second"}};
    const char *parts[3];
    size_t plen[3];
    lam_text_split_parts(&s, LAM_TOKENIZER_BYTE, 0.25, parts, plen);
    CHECK(plen[0] == 15 && plen[1] == 7 && plen[2] == 2);
    lam_vocab *v = build_vocab(LAM_TOKENIZER_BYTE, parts, plen, 3, false, true);
    lam_dataset *tr = NULL, *te = NULL;
    lam_text_stats st = {0};
    if (v) CHECK_OK(lam_dataset_doc_windows(&s, v, 3, 2, 0.25, &st, &tr, &te));
    if (tr && te) {
        /* doc 0 train "0123456789abcde" (15): windows at 0,2,..,12 = 7; test "fghij": 0,2 = 2
         * doc 1 train "ABCDEFG": 0,2,4 = 3; test "HIJ": 1; doc 2: "xy" none, "z" none */
        CHECK_MSG(tr->n == 10 && te->n == 3, "%lld %lld", (long long)tr->n, (long long)te->n);
        CHECK(tr->ids_stride == 3 && tr->nfeat == 3 && !tr->lengths && tr->labels[0] == 1 &&
              tr->labels[7] == 0);
        CHECK(te->labels[0] == 1 && te->labels[2] == 0 && !strcmp(tr->class_names[1], "second"));
        /* every window is a stretch of its document's part */
        char dec[8];
        size_t dl;
        CHECK_OK(lam_vocab_decode(v, tr->ids + 6 * 3, 3, dec, sizeof dec, &dl));
        CHECK(!strcmp(dec, "cde"));
        CHECK_OK(lam_vocab_decode(v, tr->ids + 9 * 3, 3, dec, sizeof dec, &dl));
        CHECK(!strcmp(dec, "EFG"));
        /* test windows hold units unseen in training: <unk> */
        int32_t unk = lam_vocab_unk_id(v);
        CHECK(te->ids[0] == unk && te->ids[8] == unk && st.unknown == 5 + 3 + 1);
        CHECK(st.truncated == 2 + 1); /* tokens in no window: doc 2's "xy" and "z" */
    }
    lam_dataset_free(tr);
    lam_dataset_free(te);
    /* test_fraction 0: everything is training data, no test part */
    if (v) CHECK_OK(lam_dataset_doc_windows(&s, v, 3, 3, 0, NULL, &tr, NULL));
    if (tr) CHECK(tr->n == 6 + 3 + 1);
    lam_dataset_free(tr);
    CHECK(lam_dataset_doc_windows(&s, v, 30, 3, 0.25, NULL, &tr, &te) == LAM_ERR_FORMAT &&
          t_err_has("no training"));
    CHECK(lam_dataset_doc_windows(&s, v, 6, 3, 0.25, NULL, &tr, &te) == LAM_ERR_FORMAT &&
          t_err_has("no test"));
    CHECK(lam_dataset_doc_windows(&s, v, 3, 3, 1.0, NULL, &tr, &te) == LAM_ERR_ARG);
    CHECK(lam_dataset_doc_windows(&s, v, 3, 3, 0.25, NULL, &tr, NULL) == LAM_ERR_ARG);
    lam_vocab_free(v);
    /* no <unk>: a unit missing from the training text is an error naming the document */
    v = build_vocab(LAM_TOKENIZER_BYTE, parts, plen, 3, false, false);
    CHECK(lam_dataset_doc_windows(&s, v, 3, 2, 0.25, NULL, &tr, &te) == LAM_ERR_FORMAT &&
          t_err_has("text 0"));
    lam_vocab_free(v);
    CHECK(t_live_bytes() == live0);
}

static void test_token_datasets(void)
{
    uint64_t live0 = t_live_bytes();
    lam_dataset *ds = NULL, *sub = NULL, *tr = NULL, *te = NULL;
    CHECK_OK(lam_dataset_new_ids(6, 3, 10, 2, false, true, &ds));
    if (!ds) return;
    CHECK(ds->ids_stride == 3 && ds->ids_len == 18 && ds->x == NULL && ds->labels &&
          ds->lengths[5] == 3);
    for (int i = 0; i < 18; i++) ds->ids[i] = i % 10;
    for (int i = 0; i < 6; i++) ds->labels[i] = i % 2, ds->lengths[i] = 1 + i % 3;
    CHECK_OK(lam_dataset_check(ds));
    ds->ids[7] = 10;
    CHECK(lam_dataset_check(ds) == LAM_ERR_FORMAT && t_err_has("row 2, position 1"));
    ds->ids[7] = 7;
    ds->lengths[4] = 0;
    CHECK(lam_dataset_check(ds) == LAM_ERR_FORMAT && t_err_has("row 4: length 0"));
    ds->lengths[4] = 4;
    CHECK(lam_dataset_check(ds) == LAM_ERR_FORMAT);
    ds->lengths[4] = 2;
    CHECK_OK(lam_dataset_subset(ds, (uint32_t[]){4, 1, 4}, 3, &sub));
    if (sub) {
        CHECK(sub->n == 3 && sub->ids_stride == 3 && sub->ids[0] == 2 && sub->ids[3] == 3 &&
              sub->ids[8] == 4);
        CHECK(sub->labels[0] == 0 && sub->labels[1] == 1 && sub->lengths[0] == 2 &&
              sub->lengths[1] == 2);
        CHECK(sub->vocab == 10 && sub->x == NULL);
    }
    lam_dataset_free(sub);
    int64_t counts[2];
    CHECK_OK(lam_dataset_class_counts(ds, counts));
    CHECK(counts[0] == 3 && counts[1] == 3);
    lam_split_opts so = lam_split_opts_defaults();
    so.stratify = true;
    so.test_fraction = 0.34;
    CHECK_OK(lam_dataset_split_ex(ds, &so, &tr, &te));
    if (tr && te)
        CHECK(tr->n == 3 && te->n == 3 && tr->ids && te->lengths && !lam_dataset_check(te));
    lam_dataset_free(tr);
    lam_dataset_free(te);
    /* the loader serves indices; xbuf is left alone (a token set has no floats) */
    lam_loader_opts lo = lam_loader_opts_defaults();
    lo.batch_size = 4;
    lam_loader *l = NULL;
    CHECK_OK(lam_loader_new(ds, &lo, &l));
    float xb[16] = {42};
    int32_t lb[4];
    int bn;
    CHECK(l && lam_loader_next(l, xb, lb, NULL, &bn) && bn == 4 && xb[0] == 42);
    lam_loader_free(l);
    lam_scaler *sc = NULL;
    CHECK(lam_scaler_fit(LAM_SCALER_STANDARD, ds, &sc) == LAM_ERR_ARG && sc == NULL);
    lam_dataset_free(ds);
    /* next-token rows: stride nfeat + 1, no labels */
    CHECK_OK(lam_dataset_new_ids(2, 3, 5, 99, true, false, &ds));
    if (ds) {
        CHECK(ds->ids_stride == 4 && ds->ids_len == 8 && !ds->labels && ds->nclasses == 5 &&
              ds->next_token);
        CHECK_OK(lam_dataset_check(ds));
        ds->ids[7] = 5; /* the next token of row 1 */
        CHECK(lam_dataset_check(ds) == LAM_ERR_FORMAT && t_err_has("row 1, next token"));
        CHECK(lam_dataset_class_counts(ds, counts) == LAM_ERR_ARG);
        CHECK(lam_dataset_split_ex(ds, &so, &tr, &te) == LAM_ERR_ARG && t_err_has("next-token"));
        ds->ids[7] = 1;
        CHECK_OK(lam_dataset_split(ds, 0.5, 1, &tr, &te));
        if (tr && te) CHECK(tr->next_token && te->ids_stride == 4 && tr->labels == NULL);
        lam_dataset_free(tr);
        lam_dataset_free(te);
    }
    lam_dataset_free(ds);
    /* bad sizes fail cleanly, huge ones before allocating */
    ds = (lam_dataset *)1;
    CHECK(lam_dataset_new_ids(-1, 3, 5, 2, false, false, &ds) == LAM_ERR_ARG && ds == NULL);
    CHECK(lam_dataset_new_ids(2, 0, 5, 2, false, false, &ds) == LAM_ERR_ARG);
    CHECK(lam_dataset_new_ids(2, 3, 0, 2, false, false, &ds) == LAM_ERR_ARG);
    CHECK(lam_dataset_new_ids(2, 3, 5, 0, false, false, &ds) == LAM_ERR_ARG);
    CHECK(lam_dataset_new_ids(2, (int64_t)INT32_MAX + 1, 5, 2, false, false, &ds) == LAM_ERR_ARG);
    CHECK(lam_dataset_new_ids(LAM_DATASET_MAX_ROWS + 1, 3, 5, 2, false, false, &ds) == LAM_ERR_ARG);
    lam_alloc_stats a0, a1;
    lam_alloc_get_stats(&a0);
    CHECK(lam_dataset_new_ids(LAM_DATASET_MAX_ROWS, INT32_MAX, 5, 2, false, false, &ds) ==
          LAM_ERR_NOMEM);
    lam_alloc_get_stats(&a1);
    CHECK(a1.n_alloc == a0.n_alloc && ds == NULL);
    CHECK_OK(lam_dataset_new_ids(0, 3, 5, 2, false, true, &ds));
    if (ds) CHECK(ds->n == 0 && ds->ids_len == 0 && !lam_dataset_check(ds));
    lam_dataset_free(ds);
    CHECK(t_live_bytes() == live0);
}

/* ---- allocation failures ------------------------------------------------------------------- */

typedef struct sweep_ctx {
    const char *path;
    lam_text_set *set;
    lam_vocab *v;
    char *text;
    size_t len;
    lam_dataset *a, *b, *w;
    int which;
} sweep_ctx;

static lam_status sweep_op(sweep_ctx *c)
{
    lam_status st;
    switch (c->which) {
    case 0: return lam_text_read_corpus(c->path, true, &c->text, &c->len);
    case 1: return lam_text_files_read(c->path, '-', &c->set);
    case 2: {
        lam_csv_opts o = lam_csv_opts_defaults();
        o.label = (lam_csv_col){0, "y"};
        return lam_text_csv_read(c->path, &o, (lam_csv_col){0, "t"}, &c->set);
    }
    case 3: return lam_dataset_lm_windows(c->v, "abcabcabcabcbbbaaa", 18, 4, 2, NULL, NULL, &c->a);
    case 4:
        if ((st = lam_dataset_lm_windows(c->v, "abcabcabcabcbbbaaa", 18, 3, 1, NULL, NULL,
                                         &c->w)) != LAM_OK)
            return st;
        return lam_dataset_lm_split(c->w, 0.3, &c->a, &c->b);
    case 5: return lam_dataset_from_texts(c->set, NULL, 0, c->v, 4, NULL, &c->a);
    case 6: return lam_dataset_doc_windows(c->set, c->v, 2, 1, 0.3, NULL, &c->a, &c->b);
    case 7:
        if ((st = lam_dataset_from_texts(c->set, NULL, 0, c->v, 4, NULL, &c->a)) != LAM_OK)
            return st;
        return lam_dataset_subset(c->a, (uint32_t[]){1, 0, 1}, 3, &c->b);
    }
    return LAM_ERR_ARG;
}

static void test_alloc_failures(void)
{
    const char *d = make_docs();
    const char *csv = t_write_file(
        "sweep.csv", "x,y,t\n1,pos,\"good, fine\"\n2,neg,bad\n3,pos,\"\"\n4,neg,\"a\nb\"\n");
    lam_text_set *set = NULL;
    CHECK_OK(lam_text_files_read(d, '-', &set));
    const char *texts[1] = {"abcdefghijklmnopqrstuvwxyz \nABEFST"};
    size_t lens[1] = {strlen(texts[0])};
    lam_vocab *v = build_vocab(LAM_TOKENIZER_BYTE, texts, lens, 1, true, true);
    for (int which = 0; which < 8 && set && v; which++) {
        int okays = 0;
        for (uint64_t n = 1; n < 300 && !okays; n++) {
            sweep_ctx c = {
                .path = which == 2 ? csv : d, .set = which >= 5 ? set : NULL, .v = v, .which = which
            };
            uint64_t live0 = t_live_bytes();
            lam_alloc_fail_after(n);
            lam_status st = sweep_op(&c);
            lam_alloc_fail_after(0);
            if (st == LAM_OK) {
                okays++;
            } else {
                CHECK_MSG(st == LAM_ERR_NOMEM, "op %d, n=%d: %s %s", which, (int)n,
                          lam_status_str(st), lam_last_error());
                CHECK(c.text == NULL && (which >= 5 || c.set == NULL) &&
                      (which == 7 || c.a == NULL));
                CHECK(c.b == NULL);
            }
            lam_free(c.text);
            if (which < 5) lam_text_set_free(c.set);
            lam_dataset_free(c.a);
            lam_dataset_free(c.b);
            lam_dataset_free(c.w);
            CHECK_MSG(t_live_bytes() == live0, "op %d, n=%d leaked %lld bytes", which, (int)n,
                      (long long)(t_live_bytes() - live0));
        }
        CHECK_MSG(okays == 1, "op %d never succeeded", which);
    }
    lam_vocab_free(v);
    lam_text_set_free(set);
}

int main(void)
{
    if (!t_mkdtemp("/tmp/lamina_test_text_XXXXXX")) return 1;
    RUN(test_read_corpus);
    RUN(test_huge_file);
    RUN(test_text_files);
    RUN(test_licences);
    RUN(test_text_csv);
    RUN(test_text_csv_garbage);
    RUN(test_lm_windows);
    RUN(test_from_texts);
    RUN(test_doc_windows);
    RUN(test_token_datasets);
    RUN(test_alloc_failures);
    t_rm_tree(t_tmpdir);
    TEST_MAIN_END;
}
