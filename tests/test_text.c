/* Tests of the tokenisers and vocabularies (text.h, first part): byte, char
 * and word units, the malformed UTF-8 catalogue, vocabulary rules (sorting,
 * min_freq, max_size, specials, unknown units), encode/decode round trips
 * and buffers, the vocabulary JSON (round trips, a catalogue of malformed
 * inputs, huge sizes), random bytes through every tokenizer, and every
 * allocation failure.  The common-licenses corpus facts are checked when
 * /usr/share/common-licenses exists.  Sources and token data sets are in
 * test_text_data.c. */
#include "lamina/text.h"
#include "test.h"

#include <sys/stat.h>

/* A reference UTF-8 sanitizer written independently of tokenize.c: decode by
 * bit patterns, then reject overlongs, surrogates and values above U+10FFFF;
 * each rejected byte becomes EF BF BD.  out needs 3 * n bytes.  Returns the
 * output length; *bad gets the number of replaced bytes, *cps the number of
 * code points. */
static size_t ref_sanitize(const unsigned char *s, size_t n, unsigned char *out, int64_t *bad,
                           int64_t *cps)
{
    size_t o = 0, i = 0;
    *bad = *cps = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t len = (c & 0x80) == 0      ? 1
                     : (c & 0xE0) == 0xC0 ? 2
                     : (c & 0xF0) == 0xE0 ? 3
                     : (c & 0xF8) == 0xF0 ? 4
                                          : 0;
        bool ok = len > 0 && i + len <= n;
        uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
        for (size_t k = 1; ok && k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80) ok = false;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        static const uint32_t minv[5] = {0, 0, 0x80, 0x800, 0x10000};
        if (ok && (cp < minv[len] || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)) ok = false;
        if (ok) {
            memcpy(out + o, s + i, len);
            o += len;
            i += len;
        } else {
            memcpy(out + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
            (*bad)++;
        }
        (*cps)++;
    }
    return o;
}

static lam_vocab *build1(lam_tokenizer tok, const char *text, size_t len, bool pad, bool unk,
                         bool lower)
{
    lam_vocab_opts o = lam_vocab_opts_defaults();
    o.tokenizer = tok;
    o.pad = pad;
    o.unk = unk;
    o.lowercase = lower;
    const char *t[1] = {text};
    size_t l[1] = {len};
    lam_vocab *v = NULL;
    lam_status st = lam_vocab_build(&o, t, l, 1, &v);
    CHECK_MSG(st == LAM_OK, "build: %s %s", lam_status_str(st), lam_last_error());
    return v;
}

/* Encode whole text into a fresh array (test helper; caller frees). */
static int32_t *encode_all(const lam_vocab *v, const char *text, size_t len, int64_t *n,
                           lam_text_stats *stats)
{
    int64_t k = 0;
    CHECK_OK(lam_vocab_encode(v, text, len, NULL, 0, &k, NULL, "t"));
    int32_t *ids = malloc((size_t)(k ? k : 1) * sizeof *ids);
    CHECK_OK(lam_vocab_encode(v, text, len, ids, k, n, stats, "t"));
    return ids;
}

static char *decode_all(const lam_vocab *v, const int32_t *ids, int64_t n, size_t *len)
{
    size_t need = 0;
    CHECK_OK(lam_vocab_decode(v, ids, n, NULL, 0, &need));
    char *out = malloc(need + 1);
    CHECK_OK(lam_vocab_decode(v, ids, n, out, need + 1, len));
    CHECK(*len == need);
    return out;
}

/* ---- tokenizers --------------------------------------------------------------- */

static void test_tokenizer_names(void)
{
    for (int t = 0; t < LAM_TOKENIZER_COUNT_; t++) {
        lam_tokenizer back = LAM_TOKENIZER_COUNT_;
        CHECK(lam_tokenizer_from_name(lam_tokenizer_name((lam_tokenizer)t), &back) &&
              back == (lam_tokenizer)t);
    }
    lam_tokenizer keep = LAM_TOKENIZER_WORD;
    CHECK(!lam_tokenizer_from_name("bpe", &keep) && keep == LAM_TOKENIZER_WORD);
    CHECK(!lam_tokenizer_from_name(NULL, &keep));
    CHECK(strcmp(lam_tokenizer_name(LAM_TOKENIZER_COUNT_), "?") == 0);
}

static void test_byte_vocab(void)
{
    uint64_t live0 = t_live_bytes();
    const char text[] = "hello, world\0!";
    size_t len = sizeof text - 1; /* the NUL inside is a byte like any other */
    lam_vocab *v = build1(LAM_TOKENIZER_BYTE, text, len, false, false, false);
    if (!v) return;
    /* the sorted distinct bytes, ids = ranks */
    bool seen[256] = {false};
    for (size_t i = 0; i < len; i++) seen[(unsigned char)text[i]] = true;
    int32_t rank = 0;
    for (int b = 0; b < 256; b++) {
        char c = (char)b;
        if (!seen[b]) {
            CHECK(lam_vocab_find(v, &c, 1) == -1);
            continue;
        }
        CHECK_MSG(lam_vocab_find(v, &c, 1) == rank, "byte %d", b);
        size_t tl;
        const char *tok = lam_vocab_token(v, rank, &tl);
        CHECK(tok && tl == 1 && (unsigned char)tok[0] == b);
        rank++;
    }
    CHECK(lam_vocab_size(v) == rank && rank == 11);
    CHECK(lam_vocab_pad_id(v) == -1 && lam_vocab_unk_id(v) == -1);
    CHECK(lam_vocab_tokenizer(v) == LAM_TOKENIZER_BYTE);
    CHECK(lam_vocab_token(v, rank, NULL) == NULL && lam_vocab_token(v, -1, NULL) == NULL);
    int64_t n;
    lam_text_stats st = {0};
    int32_t *ids = encode_all(v, text, len, &n, &st);
    CHECK(n == (int64_t)len && st.bytes == (int64_t)len && st.tokens == n && st.invalid_utf8 == 0);
    size_t dl;
    char *back = decode_all(v, ids, n, &dl);
    CHECK(dl == len && memcmp(back, text, len) == 0);
    free(back);
    free(ids);
    /* a byte missing from the vocabulary, without <unk>: an error naming it and its offset */
    int64_t k;
    CHECK(lam_vocab_encode(v, "hi x", 4, NULL, 0, &k, NULL, "probe.txt") == LAM_ERR_FORMAT);
    CHECK_MSG(t_err_has("probe.txt") && t_err_has("byte 1") && t_err_has("0x69"), "%s", lam_last_error());
    lam_vocab_free(v);
    CHECK(t_live_bytes() == live0);
}

/* The peer workload: LC_ALL=C cat /usr/share/common-licenses/STAR (every entry) */
static void test_common_licenses_corpus(void)
{
    struct stat sb;
    if (stat("/usr/share/common-licenses", &sb) != 0) {
        printf("# note: /usr/share/common-licenses is missing; corpus facts not checked\n");
        return;
    }
    uint64_t live0 = t_live_bytes();
    char *text = NULL;
    size_t len = 0;
    CHECK_OK(lam_text_read_corpus("/usr/share/common-licenses", true, &text, &len));
    if (!text) return;
    CHECK_MSG(len == 303076, "corpus is %zu bytes", len);
    CHECK(text[len] == 0);
    int distinct = 0;
    bool seen[256] = {false};
    for (size_t i = 0; i < len; i++)
        if (!seen[(unsigned char)text[i]]) seen[(unsigned char)text[i]] = true, distinct++;
    CHECK_MSG(distinct == 86, "%d distinct bytes", distinct);
    lam_vocab *v = build1(LAM_TOKENIZER_BYTE, text, len, false, false, false);
    CHECK(v && lam_vocab_size(v) == 86);
    /* ids are the ranks of the bytes among the distinct ones */
    int32_t rank_of[256];
    for (int b = 0, r = 0; b < 256; b++) rank_of[b] = seen[b] ? r++ : -1;
    lam_dataset *ds = NULL;
    lam_text_stats st = {0};
    if (v) CHECK_OK(lam_dataset_lm_windows(v, text, len, 64, 1, &st, "corpus", &ds));
    if (ds) {
        CHECK(ds->n == 303076 - 64 && ds->ids_stride == 1 && ds->ids_len == 303076 &&
              ds->vocab == 86);
        CHECK(ds->next_token && ds->labels == NULL && ds->nclasses == 86 && ds->x == NULL);
        bool same = true;
        for (size_t i = 0; i < len && same; i++)
            same = ds->ids[i] == rank_of[(unsigned char)text[i]];
        CHECK(same);
        CHECK(st.tokens == 303076 && st.truncated == 0);
        CHECK_OK(lam_dataset_check(ds));
    }
    lam_dataset_free(ds);
    /* without following links GFDL, GPL and LGPL are left out */
    char *t2 = NULL;
    size_t l2 = 0;
    CHECK_OK(lam_text_read_corpus("/usr/share/common-licenses", false, &t2, &l2));
    size_t linked = 0;
    const char *links[] = {"GFDL", "GPL", "LGPL"};
    for (int i = 0; i < 3; i++) {
        char p[128];
        snprintf(p, sizeof p, "/usr/share/common-licenses/%s", links[i]);
        if (lstat(p, &sb) == 0 && S_ISLNK(sb.st_mode) && stat(p, &sb) == 0)
            linked += (size_t)sb.st_size;
    }
    CHECK_MSG(l2 == len - linked, "%zu vs %zu - %zu", l2, len, linked);
    lam_free(t2);
    lam_vocab_free(v);
    lam_free(text);
    CHECK(t_live_bytes() == live0);
}

static void test_char_tokenizer(void)
{
    uint64_t live0 = t_live_bytes();
    /* 1-, 2-, 3- and 4-byte code points, a NUL and a control character */
    const char text[] =
        "h\xC3\xA9llo w\xC3\xB6rld \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x98\x80\x01\0z";
    size_t len = sizeof text - 1;
    lam_vocab *v = build1(LAM_TOKENIZER_CHAR, text, len, false, false, false);
    if (!v) return;
    int64_t n;
    lam_text_stats st = {0};
    int32_t *ids = encode_all(v, text, len, &n, &st);
    CHECK(n == 19 && st.invalid_utf8 == 0 && st.tokens == 19);
    size_t dl;
    char *back = decode_all(v, ids, n, &dl);
    CHECK(dl == len && memcmp(back, text, len) == 0);
    free(back);
    free(ids);
    /* units sorted by code point (= bytewise order of their UTF-8) */
    for (int32_t id = 1; id < lam_vocab_size(v); id++) {
        size_t la, lb;
        const char *a = lam_vocab_token(v, id - 1, &la), *b = lam_vocab_token(v, id, &lb);
        int c = memcmp(a, b, la < lb ? la : lb);
        CHECK(c < 0 || (c == 0 && la < lb));
    }
    CHECK(lam_vocab_find(v, "\xF0\x9F\x98\x80", 4) == lam_vocab_size(v) - 1);
    CHECK(lam_vocab_find(v, "\0", 1) == 0);
    lam_vocab_free(v);
    /* lowercase folds ASCII only */
    v = build1(LAM_TOKENIZER_CHAR, "AbC\xC3\x89", 5, false, false, true);
    if (v) {
        CHECK(lam_vocab_size(v) == 4 && lam_vocab_find(v, "a", 1) >= 0 &&
              lam_vocab_find(v, "A", 1) < 0);
        CHECK(lam_vocab_find(v, "\xC3\x89", 2) >= 0); /* U+00C9 is kept as it is */
    }
    lam_vocab_free(v);
    CHECK(t_live_bytes() == live0);
}

static void test_malformed_utf8(void)
{
    uint64_t live0 = t_live_bytes();
    static const struct {
        const char *what, *in;
        size_t len;
        int64_t bad, cps;
    } cat[] = {
        {"overlong NUL C0 80", "a\xC0\x80z", 4, 2, 4},
        {"overlong C1 BF", "\xC1\xBF", 2, 2, 2},
        {"overlong E0 80 80", "\xE0\x80\x80", 3, 3, 3},
        {"overlong F0 80 80 80", "\xF0\x80\x80\x80", 4, 4, 4},
        {"surrogate ED A0 80", "x\xED\xA0\x80y", 5, 3, 5},
        {"surrogate ED BF BF", "\xED\xBF\xBF", 3, 3, 3},
        {"above U+10FFFF F4 90 80 80", "\xF4\x90\x80\x80", 4, 4, 4},
        {"F5 lead", "\xF5\x80\x80\x80", 4, 4, 4},
        {"FF byte", "\xFF", 1, 1, 1},
        {"truncated 2-byte at end", "ab\xC3", 3, 1, 3},
        {"truncated 3-byte at end", "ab\xE2\x82", 4, 2, 4},
        {"truncated 4-byte at end", "\xF0\x9F\x98", 3, 3, 3},
        {"truncated then ASCII", "\xE2\x82z", 3, 2, 3},
        {"lone continuation", "a\x80" "b", 3, 1, 3},
        {"continuation run", "\x80\xBF\x80", 3, 3, 3},
        {"valid euro and U+10FFFF", "\xE2\x82\xAC\xF4\x8F\xBF\xBF", 7, 0, 2},
        {"valid U+FFFD itself", "\xEF\xBF\xBD", 3, 0, 1},
    };
    for (size_t c = 0; c < sizeof cat / sizeof cat[0]; c++) {
        unsigned char ref[64];
        int64_t bad, cps;
        size_t rl = ref_sanitize((const unsigned char *)cat[c].in, cat[c].len, ref, &bad, &cps);
        CHECK_MSG(bad == cat[c].bad && cps == cat[c].cps,
                  "%s: reference gives %lld bad, %lld code points", cat[c].what, (long long)bad,
                  (long long)cps);
        for (int lower = 0; lower < 2; lower++) {
            lam_vocab *v = build1(LAM_TOKENIZER_CHAR, cat[c].in, cat[c].len, false, false, lower);
            if (!v) continue;
            int64_t n;
            lam_text_stats st = {0};
            int32_t *ids = encode_all(v, cat[c].in, cat[c].len, &n, &st);
            CHECK_MSG(n == cat[c].cps && st.invalid_utf8 == cat[c].bad,
                      "%s: %lld tokens, %lld invalid", cat[c].what, (long long)n,
                      (long long)st.invalid_utf8);
            size_t dl;
            char *back = decode_all(v, ids, n, &dl);
            CHECK_MSG(dl == rl && memcmp(back, ref, rl) == 0, "%s: decoded text differs",
                      cat[c].what);
            free(back);
            free(ids);
            lam_vocab_free(v);
        }
        /* the word tokenizer counts the same bytes; a replaced byte is a token of its own */
        lam_vocab *w = build1(LAM_TOKENIZER_WORD, cat[c].in, cat[c].len, false, false, false);
        if (w) {
            lam_text_stats st = {0};
            int64_t n;
            CHECK_OK(lam_vocab_encode(w, cat[c].in, cat[c].len, NULL, 0, &n, &st, NULL));
            CHECK_MSG(st.invalid_utf8 == cat[c].bad, "%s: word tokenizer counted %lld", cat[c].what,
                      (long long)st.invalid_utf8);
            CHECK(n >= cat[c].bad);
        }
        lam_vocab_free(w);
    }
    /* the byte tokenizer takes the bytes as they are */
    lam_vocab *b = build1(LAM_TOKENIZER_BYTE, "\xC0\x80\xFF", 3, false, false, false);
    lam_text_stats st = {0};
    int64_t n;
    if (b) CHECK_OK(lam_vocab_encode(b, "\xC0\x80\xFF", 3, NULL, 0, &n, &st, NULL));
    CHECK(st.invalid_utf8 == 0 && st.tokens == 3);
    lam_vocab_free(b);
    CHECK(t_live_bytes() == live0);
}

/* The tokens of text with v as strings "a|b|c" (test helper). */
static void word_tokens(const lam_vocab *v, const char *text, char *out, size_t cap)
{
    int64_t n;
    int32_t *ids = encode_all(v, text, strlen(text), &n, NULL);
    size_t k = 0;
    out[0] = 0;
    for (int64_t i = 0; i < n; i++) {
        size_t tl;
        const char *t = lam_vocab_token(v, ids[i], &tl);
        k += (size_t)snprintf(out + k, cap - k, "%s%.*s", i ? "|" : "", (int)tl, t);
    }
    free(ids);
}

static void test_word_tokenizer(void)
{
    uint64_t live0 = t_live_bytes();
    char got[512];
    const char *text = "Hello, world!  Don't\tstop_me now...\n";
    lam_vocab *v = build1(LAM_TOKENIZER_WORD, text, strlen(text), false, false, false);
    if (v) {
        word_tokens(v, text, got, sizeof got);
        CHECK_MSG(strcmp(got, "Hello|,|world|!|Don't|stop_me|now|.|.|.") == 0, "%s", got);
        /* decode joins with one space; encoding that again gives the same ids */
        int64_t n, n2;
        int32_t *ids = encode_all(v, text, strlen(text), &n, NULL);
        size_t dl;
        char *back = decode_all(v, ids, n, &dl);
        CHECK_MSG(strcmp(back, "Hello , world ! Don't stop_me now . . .") == 0, "%s", back);
        int32_t *ids2 = encode_all(v, back, dl, &n2, NULL);
        CHECK(n2 == n && memcmp(ids, ids2, (size_t)n * sizeof *ids) == 0);
        free(ids2);
        /* the same text modulo spacing */
        char squeezed[2][128];
        for (int w = 0; w < 2; w++) {
            const char *src = w ? back : text;
            size_t q = 0;
            for (; *src; src++)
                if (*src != ' ' && *src != '\t' && *src != '\n') squeezed[w][q++] = *src;
            squeezed[w][q] = 0;
        }
        CHECK(strcmp(squeezed[0], squeezed[1]) == 0);
        free(back);
        free(ids);
        /* most frequent first, ties bytewise: '.' x3, then the rest bytewise */
        size_t tl;
        CHECK(strcmp(lam_vocab_token(v, 0, &tl), ".") == 0);
        CHECK(strcmp(lam_vocab_token(v, 1, &tl), "!") == 0 &&
              strcmp(lam_vocab_token(v, 2, &tl), ",") == 0);
        CHECK(strcmp(lam_vocab_token(v, 3, &tl), "Don't") == 0);
    }
    lam_vocab_free(v);
    /* lowercase; Unicode letters and marks inside words, dashes and spaces outside */
    const char *uni = "Na\xC3\xAFve CAF\xC3\x89\xE2\x80\x94ok e\xCC\x81t\xC3\xA9\xC2\xA0x "
                      "\xE4\xB8\xAD\xE6\x96\x87\xE3\x80\x82"
                      "\xF0\x9F\x98\x80\xF0\x9F\x98\x80";
    v = build1(LAM_TOKENIZER_WORD, uni, strlen(uni), false, false, true);
    if (v) {
        word_tokens(v, uni, got, sizeof got);
        CHECK_MSG(strcmp(got, "na\xC3\xAFve|caf\xC3\x89|\xE2\x80\x94|ok|e\xCC\x81t\xC3\xA9|x|"
                              "\xE4\xB8\xAD\xE6\x96\x87|"
                              "\xE3\x80\x82|\xF0\x9F\x98\x80|\xF0\x9F\x98\x80") == 0,
                  "%s", got);
    }
    lam_vocab_free(v);
    /* a word longer than LAM_TOKEN_MAX_BYTES is cut into pieces that long */
    char longw[700];
    memset(longw, 'a', 600);
    memcpy(longw + 600, " b", 3);
    v = build1(LAM_TOKENIZER_WORD, longw, 602, false, false, false);
    if (v) {
        int64_t n;
        int32_t *ids = encode_all(v, longw, 602, &n, NULL);
        CHECK(n == 4);
        size_t l0, l2;
        lam_vocab_token(v, ids[0], &l0);
        lam_vocab_token(v, ids[2], &l2);
        CHECK(l0 == LAM_TOKEN_MAX_BYTES && ids[1] == ids[0] && l2 == 600 - 2 * LAM_TOKEN_MAX_BYTES);
        free(ids);
    }
    lam_vocab_free(v);
    /* pieces are cut between code points: 2-byte letters never split; a
     * stray continuation byte before the word is a token of its own */
    char two[800];
    size_t k = 0;
    two[k++] = '\xA9';
    for (int i = 0; i < 300; i++) two[k++] = '\xC3', two[k++] = '\xA9';
    two[k++] = 'x';
    v = build1(LAM_TOKENIZER_WORD, two, k, false, false, false);
    if (v) {
        lam_text_stats st = {0};
        int64_t n;
        CHECK_OK(lam_vocab_encode(v, two, k, NULL, 0, &n, &st, NULL));
        CHECK(st.invalid_utf8 == 1 &&
              n == 4); /* U+FFFD, 128 letters, 128 letters, 44 letters + x */
        for (int32_t id = 0; id < lam_vocab_size(v); id++) {
            size_t tl;
            const char *t = lam_vocab_token(v, id, &tl);
            unsigned char tmp[3 * 300];
            int64_t bad, cps;
            ref_sanitize((const unsigned char *)t, tl, tmp, &bad, &cps);
            CHECK(tl <= LAM_TOKEN_MAX_BYTES && bad == 0);
        }
    }
    lam_vocab_free(v);
    /* only white space: no token */
    lam_vocab_opts o = lam_vocab_opts_defaults();
    o.tokenizer = LAM_TOKENIZER_WORD;
    const char *ws[1] = {" \t\n\xE3\x80\x80 "};
    size_t wl[1] = {strlen(ws[0])};
    lam_vocab *none = (lam_vocab *)1;
    CHECK(lam_vocab_build(&o, ws, wl, 1, &none) == LAM_ERR_FORMAT && none == NULL);
    CHECK(t_live_bytes() == live0);
}

/* ---- vocabulary rules ------------------------------------------------------------ */

static void test_vocab_rules(void)
{
    uint64_t live0 = t_live_bytes();
    const char *texts[2] = {"aaaa bbb cc d", "bbb e"};
    size_t lens[2] = {strlen(texts[0]), strlen(texts[1])};
    lam_vocab_opts o = lam_vocab_opts_defaults();
    lam_vocab *v = NULL;
    /* byte: min_freq drops rare bytes, ids stay in byte order */
    o.min_freq = 3;
    CHECK_OK(lam_vocab_build(&o, texts, lens, 2, &v));
    if (v) {
        CHECK(lam_vocab_size(v) == 3); /* ' ' (4 times), a (4), b (6) */
        CHECK(lam_vocab_find(v, " ", 1) == 0 && lam_vocab_find(v, "a", 1) == 1 &&
              lam_vocab_find(v, "b", 1) == 2);
        CHECK(lam_vocab_find(v, "c", 1) == -1);
    }
    lam_vocab_free(v);
    /* max_size keeps the most frequent, specials included; then byte order */
    o = lam_vocab_opts_defaults();
    o.max_size = 4;
    o.pad = o.unk = true;
    CHECK_OK(lam_vocab_build(&o, texts, lens, 2, &v));
    if (v) {
        CHECK(lam_vocab_size(v) == 4 && lam_vocab_pad_id(v) == 0 && lam_vocab_unk_id(v) == 1);
        CHECK(lam_vocab_find(v, "b", 1) == 3 && lam_vocab_find(v, " ", 1) == 2 &&
              lam_vocab_find(v, "a", 1) == -1);
        CHECK(lam_vocab_find(v, "<pad>", 5) == 0 && lam_vocab_find(v, "<unk>", 5) == 1);
        size_t tl;
        CHECK(strcmp(lam_vocab_token(v, 0, &tl), "<pad>") == 0 && tl == 5);
        /* unknown units encode as <unk> and are counted */
        lam_text_stats st = {0};
        int32_t ids[8];
        int64_t n;
        CHECK_OK(lam_vocab_encode(v, "b a!", 4, ids, 8, &n, &st, NULL));
        CHECK(n == 4 && ids[0] == 3 && ids[1] == 2 && ids[2] == 1 && ids[3] == 1 &&
              st.unknown == 2);
        /* decode: <pad> skipped, <unk> as U+FFFD */
        int32_t dec[5] = {0, 3, 1, 0, 2};
        char out[32];
        size_t dl;
        CHECK_OK(lam_vocab_decode(v, dec, 5, out, sizeof out, &dl));
        CHECK(dl == 5 && memcmp(out, "b\xEF\xBF\xBD ", 6) == 0);
    }
    lam_vocab_free(v);
    /* words: frequency order with ties bytewise; max_size cuts the tail */
    o = lam_vocab_opts_defaults();
    o.tokenizer = LAM_TOKENIZER_WORD;
    o.max_size = 3;
    CHECK_OK(lam_vocab_build(&o, texts, lens, 2, &v));
    if (v) {
        size_t tl;
        CHECK(lam_vocab_size(v) == 3);
        CHECK(strcmp(lam_vocab_token(v, 0, &tl), "bbb") == 0);
        CHECK(strcmp(lam_vocab_token(v, 1, &tl), "aaaa") == 0 &&
              strcmp(lam_vocab_token(v, 2, &tl), "cc") == 0);
        int64_t n;
        CHECK(lam_vocab_encode(v, "cc e", 4, NULL, 0, &n, NULL, "row 7") == LAM_ERR_FORMAT);
        CHECK_MSG(t_err_has("row 7: byte 3: word \"e\""), "%s", lam_last_error());
    }
    lam_vocab_free(v);
    /* bad options and inputs */
    o = lam_vocab_opts_defaults();
    lam_vocab *bad = (lam_vocab *)1;
    o.min_freq = 0;
    CHECK(lam_vocab_build(&o, texts, lens, 2, &bad) == LAM_ERR_ARG && bad == NULL);
    o = lam_vocab_opts_defaults();
    o.max_size = 2;
    o.pad = o.unk = true;
    CHECK(lam_vocab_build(&o, texts, lens, 2, &bad) == LAM_ERR_ARG);
    o.max_size = LAM_VOCAB_MAX_SIZE + 1;
    CHECK(lam_vocab_build(&o, texts, lens, 2, &bad) == LAM_ERR_ARG);
    o = lam_vocab_opts_defaults();
    o.tokenizer = LAM_TOKENIZER_COUNT_;
    CHECK(lam_vocab_build(&o, texts, lens, 2, &bad) == LAM_ERR_ARG);
    CHECK(lam_vocab_build(NULL, texts, lens, -1, &bad) == LAM_ERR_ARG);
    CHECK(lam_vocab_build(NULL, NULL, lens, 1, &bad) == LAM_ERR_ARG);
    CHECK(lam_vocab_build(NULL, texts, lens, 0, &bad) == LAM_ERR_FORMAT); /* no token at all */
    o.tokenizer = LAM_TOKENIZER_BYTE;
    o.min_freq = 100;
    CHECK(lam_vocab_build(&o, texts, lens, 2, &bad) == LAM_ERR_FORMAT && t_err_has("min_freq"));
    CHECK(t_live_bytes() == live0);
}

static void test_encode_decode_buffers(void)
{
    uint64_t live0 = t_live_bytes();
    const char *text = "abcdefghij";
    lam_vocab *v = build1(LAM_TOKENIZER_BYTE, text, 10, false, false, false);
    if (!v) return;
    int32_t ids[12];
    for (int i = 0; i < 12; i++) ids[i] = -7;
    int64_t n;
    lam_text_stats st = {0};
    CHECK_OK(lam_vocab_encode(v, text, 10, ids, 3, &n, &st, NULL));
    CHECK(n == 10 && ids[0] == 0 && ids[2] == 2 && ids[3] == -7 && st.truncated == 7 &&
          st.tokens == 10);
    CHECK_OK(lam_vocab_encode(v, text, 10, ids, 12, &n, &st, NULL)); /* stats add up */
    CHECK(st.truncated == 7 && st.tokens == 20 && st.bytes == 20);
    /* a failing call adds nothing */
    lam_text_stats before = st;
    CHECK(lam_vocab_encode(v, "abz", 3, ids, 12, &n, &st, NULL) == LAM_ERR_FORMAT);
    CHECK(memcmp(&before, &st, sizeof st) == 0);
    /* decode like snprintf */
    char out[5];
    size_t dl;
    memset(out, 'X', sizeof out);
    CHECK_OK(lam_vocab_decode(v, ids, 10, out, 5, &dl));
    CHECK(dl == 10 && memcmp(out, "abcd", 5) == 0);
    CHECK_OK(lam_vocab_decode(v, ids, 10, NULL, 0, &dl));
    CHECK(dl == 10);
    CHECK_OK(lam_vocab_decode(v, ids, 0, out, 5, &dl));
    CHECK(dl == 0 && out[0] == 0);
    int32_t badid[2] = {1, 10};
    CHECK(lam_vocab_decode(v, badid, 2, out, 5, &dl) == LAM_ERR_ARG && t_err_has("position 1"));
    CHECK(lam_vocab_encode(v, text, 10, NULL, 3, &n, NULL, NULL) == LAM_ERR_ARG);
    CHECK(lam_vocab_encode(v, NULL, 3, NULL, 0, &n, NULL, NULL) == LAM_ERR_ARG);
    CHECK(lam_vocab_encode(NULL, text, 3, NULL, 0, &n, NULL, NULL) == LAM_ERR_ARG);
    CHECK_OK(lam_vocab_encode(v, NULL, 0, NULL, 0, &n, NULL, NULL));
    CHECK(n == 0);
    lam_vocab_free(v);
    CHECK(t_live_bytes() == live0);
}

/* ---- JSON ------------------------------------------------------------------------ */

/* to_json, from_json, to_json again: the same text, the same tokens and ids. */
static void json_roundtrip(const lam_vocab *v, const char *what)
{
    char *j1 = NULL, *j2 = NULL;
    size_t l1 = 0, l2 = 0;
    lam_vocab *w = NULL;
    CHECK_OK(lam_vocab_to_json(v, &j1, &l1));
    if (!j1) return;
    CHECK(strlen(j1) == l1);
    lam_status st = lam_vocab_from_json(j1, l1, &w);
    CHECK_MSG(st == LAM_OK, "%s: %s", what, lam_last_error());
    if (w) {
        CHECK_OK(lam_vocab_to_json(w, &j2, &l2));
        CHECK_MSG(j2 && l1 == l2 && memcmp(j1, j2, l1) == 0, "%s: the JSON changed", what);
        CHECK(lam_vocab_size(w) == lam_vocab_size(v) &&
              lam_vocab_tokenizer(w) == lam_vocab_tokenizer(v));
        CHECK(lam_vocab_pad_id(w) == lam_vocab_pad_id(v) &&
              lam_vocab_unk_id(w) == lam_vocab_unk_id(v));
        for (int32_t id = 0; id < lam_vocab_size(v); id++) {
            size_t a, b;
            const char *ta = lam_vocab_token(v, id, &a), *tb = lam_vocab_token(w, id, &b);
            CHECK_MSG(a == b && memcmp(ta, tb, a) == 0, "%s: token %d", what, (int)id);
            CHECK(lam_vocab_find(w, ta, a) == id);
        }
    }
    lam_free(j1);
    lam_free(j2);
    lam_vocab_free(w);
}

static void test_vocab_json_roundtrip(void)
{
    uint64_t live0 = t_live_bytes();
    /* a byte vocabulary with all 256 values */
    char all[256];
    for (int i = 0; i < 256; i++) all[i] = (char)(255 - i);
    lam_vocab *v = build1(LAM_TOKENIZER_BYTE, all, 256, true, true, false);
    if (v) {
        CHECK(lam_vocab_size(v) == 258);
        json_roundtrip(v, "bytes");
        char *j;
        size_t l;
        CHECK_OK(lam_vocab_to_json(v, &j, &l));
        CHECK(
            j &&
            strncmp(j,
                    "{\"tokenizer\": \"byte\", \"lowercase\": false, \"pad\": true, \"unk\": true, "
                    "\"tokens\": [0, 1, 2,",
                    85) == 0);
        lam_free(j);
    }
    lam_vocab_free(v);
    /* chars: multi-byte code points, NUL, controls, quotes, backslash, U+FFFD from a bad byte */
    const char chars[] =
        "a\"\\\x01\x1f\x7f\0\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\xF4\x8F\xBF\xBF\xFF\n\t";
    v = build1(LAM_TOKENIZER_CHAR, chars, sizeof chars - 1, true, false, false);
    if (v) json_roundtrip(v, "chars");
    lam_vocab_free(v);
    /* words with quotes, backslashes and control characters (each a token of its own) */
    const char words[] = "say \"hi\" \\n don't \x01\x02 \xC3\xA9t\xC3\xA9 \x7f tab\there";
    v = build1(LAM_TOKENIZER_WORD, words, sizeof words - 1, false, true, true);
    if (v) {
        CHECK(lam_vocab_find(v, "\"", 1) >= 0 && lam_vocab_find(v, "\\", 1) >= 0 &&
              lam_vocab_find(v, "\x01", 1) >= 0);
        json_roundtrip(v, "words");
    }
    lam_vocab_free(v);
    /* a long word piece */
    char longw[300];
    memset(longw, 'q', sizeof longw);
    v = build1(LAM_TOKENIZER_WORD, longw, sizeof longw, false, false, false);
    if (v) json_roundtrip(v, "long words");
    lam_vocab_free(v);
    CHECK(t_live_bytes() == live0);
}

static void expect_json_fail(const char *json, size_t len, const char *needle)
{
    lam_vocab *v = (lam_vocab *)1;
    lam_status st = lam_vocab_from_json(json, len, &v);
    CHECK_MSG(st == LAM_ERR_FORMAT, "%.80s: got %s", json, lam_status_str(st));
    CHECK(v == NULL);
    if (st == LAM_OK) lam_vocab_free(v);
    if (needle)
        CHECK_MSG(t_err_has(needle), "%.80s: message lacks \"%s\": %s", json, needle,
                  lam_last_error());
}

static void test_vocab_json_malformed(void)
{
    uint64_t live0 = t_live_bytes();
    const char *good =
        "{\"tokenizer\": \"char\", \"lowercase\": false, \"pad\": true, \"unk\": false, "
        "\"tokens\": [\"a\", \"b\", \"\\u00e9\"]}";
    lam_vocab *v = NULL;
    CHECK_OK(lam_vocab_from_json(good, strlen(good), &v));
    CHECK(v && lam_vocab_size(v) == 4 && lam_vocab_find(v, "\xC3\xA9", 2) == 3);
    lam_vocab_free(v);
    /* every truncation of a valid text fails cleanly */
    for (size_t k = 0; k < strlen(good); k++) expect_json_fail(good, k, "vocabulary JSON");
    struct { const char *json, *needle;
    } cat[] = {
        { "", NULL },
        { "[]", "expected an object" },
        { "{\"tokenizer\": \"char\", \"lowercase\": false, \"pad\": true, \"unk\": false}",
          "\"tokens\" is missing" },
        { "{\"tokenizer\": \"char\", \"lowercase\": 0, \"pad\": true, \"unk\": false, \"tokens\": "
          "[\"a\"]}",
          "\"lowercase\" must be a boolean" },
        { "{\"tokenizer\": 1, \"lowercase\": false, \"pad\": true, \"unk\": false, \"tokens\": "
          "[\"a\"]}",
          "\"tokenizer\" must be a string" },
        { "{\"tokenizer\": \"char\", \"lowercase\": false, \"pad\": true, \"unk\": false, "
          "\"tokens\": {}}",
          "must be an array" },
        { "{\"tokenizer\": \"bpe\", \"lowercase\": false, \"pad\": true, \"unk\": false, "
          "\"tokens\": [\"a\"]}",
          "unknown tokenizer \"bpe\"" },
        { "{\"tokenizer\": \"char\", \"lowercase\": false, \"pad\": true, \"unk\": false, "
          "\"tokens\": [\"a\"], "
          "\"extra\": 1}",
          "unknown field \"extra\"" },
        { "{\"tokenizer\": \"char\", \"tokenizer\": \"char\", \"lowercase\": false, \"pad\": true, "
          "\"unk\": false, "
          "\"tokens\": [\"a\"]}",
          "duplicate" },
        { "{\"tokenizer\": \"char\", \"lowercase\": false, \"pad\": true, \"unk\": false, "
          "\"tokens\": []}",
          "0 tokens" },
        { "{\"tokenizer\": \"char\", \"lowercase\": false, \"pad\": true, \"unk\": false, "
          "\"tokens\": [\"a\", \"a\"]}",
          "a duplicate" },
        { "{\"tokenizer\": \"char\", \"lowercase\": false, \"pad\": true, \"unk\": false, "
          "\"tokens\": [\"b\", \"a\"]}",
          "out of order" },
        { "{\"tokenizer\": \"char\", \"lowercase\": false, \"pad\": true, \"unk\": false, "
          "\"tokens\": [\"ab\"]}",
          "not one char token" },
        { "{\"tokenizer\": \"char\", \"lowercase\": false, \"pad\": true, \"unk\": false, "
          "\"tokens\": [\"\"]}",
          "not one char token" },
        { "{\"tokenizer\": \"char\", \"lowercase\": true, \"pad\": true, \"unk\": false, "
          "\"tokens\": [\"A\"]}",
          "lower-case" },
        { "{\"tokenizer\": \"char\", \"lowercase\": false, \"pad\": true, \"unk\": false, "
          "\"tokens\": [1]}",
          "must be a string" },
        { "{\"tokenizer\": \"byte\", \"lowercase\": false, \"pad\": true, \"unk\": false, "
          "\"tokens\": [256]}",
          "integer in [0, 255]" },
        { "{\"tokenizer\": \"byte\", \"lowercase\": false, \"pad\": true, \"unk\": false, "
          "\"tokens\": [-1]}",
          "integer in [0, 255]" },
        { "{\"tokenizer\": \"byte\", \"lowercase\": false, \"pad\": true, \"unk\": false, "
          "\"tokens\": [1.5]}",
          "integer in [0, 255]" },
        { "{\"tokenizer\": \"byte\", \"lowercase\": false, \"pad\": true, \"unk\": false, "
          "\"tokens\": [1e2]}",
          "integer in [0, 255]" },
        { "{\"tokenizer\": \"byte\", \"lowercase\": false, \"pad\": true, \"unk\": false, "
          "\"tokens\": [99999999999999999999999]}",
          "integer in [0, 255]" },
        { "{\"tokenizer\": \"byte\", \"lowercase\": false, \"pad\": true, \"unk\": false, "
          "\"tokens\": [\"a\"]}",
          "integer in [0, 255]" },
        { "{\"tokenizer\": \"byte\", \"lowercase\": false, \"pad\": true, \"unk\": false, "
          "\"tokens\": [5, 5]}",
          "a duplicate" },
        { "{\"tokenizer\": \"byte\", \"lowercase\": true, \"pad\": true, \"unk\": false, "
          "\"tokens\": [65]}",
          "lower-case" },
        { "{\"tokenizer\": \"word\", \"lowercase\": false, \"pad\": true, \"unk\": false, "
          "\"tokens\": [\"a b\"]}",
          "not one word token" },
        { "{\"tokenizer\": \"word\", \"lowercase\": false, \"pad\": true, \"unk\": false, "
          "\"tokens\": [\"a!\"]}",
          "not one word token" },
        { "{\"tokenizer\": \"word\", \"lowercase\": false, \"pad\": true, \"unk\": false, "
          "\"tokens\": [\"\\ufffd\", "
          "\"x\", \"\\ufffd\"]}",
          "listed twice" },
        { "{\"tokenizer\": \"word\", \"lowercase\": false, \"pad\": true, \"unk\": false, "
          "\"tokens\": [\"<pad>\"]}",
          "not one word token" },
        { "{\"tokenizer\": \"word\", \"lowercase\": false, \"pad\": true, \"unk\": false, "
          "\"tokens\": [\"a\"]} x",
          NULL },
        { "{\"tokenizer\": \"word\", \"lowercase\": false, \"pad\": true, \"unk\": false, "
          "\"tokens\": [\"a\",]}",
          NULL },
        { "{\"tokenizer\": \"word\", \"lowercase\": false, \"pad\": true, \"unk\": false, "
          "\"tokens\": [\"\xC3\"]}",
          NULL },
        { "{\"tokenizer\": \"word\", \"lowercase\": false, \"pad\": true, \"unk\": false, "
          "\"tokens\": [\"\\ud800\"]}",
          NULL },
        { "{\"tokenizer\": \"word\", \"lowercase\": false, \"pad\": true, \"unk\": false, "
          "\"tokens\": [[[[\"a\"]]]]}",
          "must be a string" },
        { "{\"tokenizer\": \"char\\u0000\", \"lowercase\": false, \"pad\": true, \"unk\": false, "
          "\"tokens\": [\"a\"]}",
          "unknown tokenizer" },
    };
    for (size_t c = 0; c < sizeof cat / sizeof cat[0]; c++)
        expect_json_fail(cat[c].json, strlen(cat[c].json), cat[c].needle);
    /* a word token longer than LAM_TOKEN_MAX_BYTES */
    char big[600];
    int k = snprintf(big, sizeof big,
                     "{\"tokenizer\": \"word\", \"lowercase\": false, \"pad\": false, \"unk\": "
                     "false, \"tokens\": [\"");
    memset(big + k, 'w', LAM_TOKEN_MAX_BYTES + 1);
    k += LAM_TOKEN_MAX_BYTES + 1;
    k += snprintf(big + k, sizeof big - (size_t)k, "\"]}");
    expect_json_fail(big, (size_t)k, "not one word token");
    /* more tokens than a vocabulary holds: rejected before parsing, with little memory */
    size_t n = (size_t)LAM_VOCAB_MAX_SIZE + 1, len = 0;
    char *huge = malloc(2 * n + 200);
    len += (size_t)sprintf(
        huge, "{\"tokenizer\": \"byte\", \"lowercase\": false, \"pad\": false, \"unk\": false, "
              "\"tokens\": [");
    for (size_t i = 0; i < n; i++) {
        huge[len++] = '0';
        huge[len++] = ',';
    }
    huge[len - 1] = ']';
    huge[len++] = '}';
    lam_alloc_stats s0, s1;
    lam_alloc_get_stats(&s0);
    expect_json_fail(huge, len, "more than");
    lam_alloc_get_stats(&s1);
    CHECK(s1.n_alloc == s0.n_alloc);
    free(huge);
    /* NULL arguments */
    CHECK(lam_vocab_from_json(good, strlen(good), NULL) == LAM_ERR_ARG);
    CHECK(lam_vocab_from_json(NULL, 5, &v) == LAM_ERR_ARG);
    char *j = (char *)1;
    CHECK(lam_vocab_to_json(NULL, &j, NULL) == LAM_ERR_ARG && j == NULL);
    CHECK(t_live_bytes() == live0);
}

/* ---- random input -------------------------------------------------------------------------- */

/* Random bytes through every tokenizer: no crash, consistent stats, decode
 * agreeing with the reference sanitizer, encode(decode(x)) = x for words. */
static void test_fuzz_tokenizers(void)
{
    uint64_t live0 = t_live_bytes();
    lam_rng r;
    lam_rng_seed(&r, 2024);
    static unsigned char buf[3000], ref[9000];
    static const char alphabet[] =
        "aZ9_' \t\n.,!\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\x80\xFF\xED\xA0";
    for (int it = 0; it < 240; it++) {
        size_t n = 1 + lam_rng_below(&r, sizeof buf - 1);
        bool raw = it % 2 == 0;
        for (size_t i = 0; i < n; i++)
            buf[i] = raw ? (unsigned char)lam_rng_below(&r, 256)
                         : (unsigned char)alphabet[lam_rng_below(&r, sizeof alphabet - 1)];
        lam_tokenizer tok = (lam_tokenizer)(it % 3);
        bool lower = (it / 3) % 2;
        lam_vocab_opts o = lam_vocab_opts_defaults();
        o.tokenizer = tok;
        o.lowercase = lower;
        o.unk = it % 5 == 0;
        o.pad = it % 7 == 0;
        const char *t[1] = {(const char *)buf};
        size_t half = n / 2 + 1, l[1] = {half};
        lam_vocab *v = NULL;
        lam_status st = lam_vocab_build(&o, t, l, 1, &v);
        if (st == LAM_ERR_FORMAT) continue; /* white space only (words) */
        CHECK_MSG(st == LAM_OK, "it %d: %s", it, lam_last_error());
        if (!v) continue;
        /* the second half may hold unknown units: <unk> or an error naming the offset */
        int32_t ids[3000];
        int64_t k;
        lam_text_stats s = {0};
        st = lam_vocab_encode(v, (const char *)buf, n, ids, (int64_t)n, &k, &s, "fuzz");
        CHECK(st == LAM_OK || (st == LAM_ERR_FORMAT && !o.unk && t_err_has("fuzz: byte ")));
        if (st == LAM_OK) {
            CHECK(s.bytes == (int64_t)n && s.tokens == k && k <= (int64_t)n && s.truncated == 0);
            CHECK(s.unknown <= k && (o.unk || s.unknown == 0));
            bool in_range = true;
            for (int64_t i = 0; i < k; i++) in_range &= ids[i] >= 0 && ids[i] < lam_vocab_size(v);
            CHECK(in_range);
            int64_t bad, cps;
            size_t rl = ref_sanitize(buf, n, ref, &bad, &cps);
            CHECK(s.invalid_utf8 == (tok == LAM_TOKENIZER_BYTE ? 0 : bad));
            if (tok == LAM_TOKENIZER_BYTE) CHECK(k == (int64_t)n);
            if (tok == LAM_TOKENIZER_CHAR) CHECK(k == cps);
            size_t dl;
            char *back = decode_all(v, ids, k, &dl);
            if (s.unknown == 0 && !lower) {
                if (tok == LAM_TOKENIZER_BYTE) CHECK(dl == n && memcmp(back, buf, n) == 0);
                if (tok == LAM_TOKENIZER_CHAR) CHECK(dl == rl && memcmp(back, ref, rl) == 0);
            }
            if (tok == LAM_TOKENIZER_WORD && s.unknown == 0) {
                int64_t k2;
                int32_t *ids2 = encode_all(v, back, dl, &k2, NULL);
                CHECK_MSG(k2 == k && memcmp(ids, ids2, (size_t)k * sizeof *ids) == 0,
                          "it %d: words changed", it);
                free(ids2);
            }
            free(back);
        }
        lam_vocab_free(v);
    }
    CHECK(t_live_bytes() == live0);
}

/* The cut of lam_text_split_parts falls between units: the units of the two
 * parts are the units of the whole, and the tail holds ceil(f * n) of them. */
static void test_split_parts_boundaries(void)
{
    uint64_t live0 = t_live_bytes();
    lam_rng r;
    lam_rng_seed(&r, 99);
    static const char alphabet[] = "ab  \n.\xC3\xA9\xE2\x82\xAC\x80";
    char text[400];
    for (int it = 0; it < 120; it++) {
        size_t n = 1 + lam_rng_below(&r, sizeof text - 1);
        for (size_t i = 0; i < n; i++) text[i] = alphabet[lam_rng_below(&r, sizeof alphabet - 1)];
        lam_tokenizer tok = (lam_tokenizer)(it % 3);
        double f = (it % 4 + 1) * 0.2;
        char *tt = text;
        size_t tl = n;
        lam_text_set s = {.n = 1, .text = &tt, .len = &tl, .labels = (int32_t[]){0}, .nclasses = 1};
        const char *part;
        size_t plen;
        lam_text_split_parts(&s, tok, f, &part, &plen);
        CHECK(part == text && plen <= n);
        lam_vocab_opts o = lam_vocab_opts_defaults();
        o.tokenizer = tok;
        const char *tx[1] = {text};
        lam_vocab *v = NULL;
        if (lam_vocab_build(&o, tx, &tl, 1, &v) == LAM_ERR_FORMAT) continue; /* white space only */
        if (!v) continue;
        int64_t a, b, all;
        CHECK_OK(lam_vocab_encode(v, text, plen, NULL, 0, &a, NULL, NULL));
        CHECK_OK(lam_vocab_encode(v, text + plen, n - plen, NULL, 0, &b, NULL, NULL));
        CHECK_OK(lam_vocab_encode(v, text, n, NULL, 0, &all, NULL, NULL));
        CHECK_MSG(a + b == all && b == (int64_t)ceil(f * (double)all), "it %d: %lld + %lld of %lld",
                  it, (long long)a, (long long)b, (long long)all);
        int32_t *ia = encode_all(v, text, plen, &a, NULL),
                *ib = encode_all(v, text + plen, n - plen, &b, NULL);
        int32_t *iw = encode_all(v, text, n, &all, NULL);
        CHECK(memcmp(ia, iw, (size_t)a * 4) == 0 && memcmp(ib, iw + a, (size_t)b * 4) == 0);
        free(ia);
        free(ib);
        free(iw);
        lam_vocab_free(v);
        lam_text_split_parts(&s, tok, 0, &part, &plen);
        CHECK(plen == n);
    }
    CHECK(t_live_bytes() == live0);
}

/* ---- allocation failures -------------------------------------------------------------------- */

static void test_vocab_alloc_failures(void)
{
    const char *texts[2] = {"Hello, W\xC3\xB6rld! hello again \xFF", "more words, more text"};
    size_t lens[2] = {strlen(texts[0]), strlen(texts[1])};
    for (int tok = 0; tok < LAM_TOKENIZER_COUNT_; tok++) {
        lam_vocab_opts o = lam_vocab_opts_defaults();
        o.tokenizer = (lam_tokenizer)tok;
        o.pad = o.unk = true;
        o.lowercase = true;
        int okays = 0;
        for (uint64_t n = 1; n < 200 && !okays; n++) {
            uint64_t live0 = t_live_bytes();
            lam_vocab *v = (lam_vocab *)1;
            char *j = NULL;
            size_t jl;
            lam_alloc_fail_after(n);
            lam_status st = lam_vocab_build(&o, texts, lens, 2, &v);
            if (st == LAM_OK) st = lam_vocab_to_json(v, &j, &jl);
            lam_vocab *w = NULL;
            if (st == LAM_OK) st = lam_vocab_from_json(j, jl, &w);
            lam_alloc_fail_after(0);
            if (st == LAM_OK) okays++;
            else
                CHECK_MSG(st == LAM_ERR_NOMEM, "n=%d: %s %s", (int)n, lam_status_str(st),
                          lam_last_error());
            if (st != LAM_OK && !j) CHECK(v == NULL || v != (lam_vocab *)1);
            if (v != (lam_vocab *)1) lam_vocab_free(v);
            lam_vocab_free(w);
            lam_free(j);
            CHECK_MSG(t_live_bytes() == live0, "n=%d leaked", (int)n);
        }
        CHECK(okays == 1);
    }
}

int main(void)
{
    RUN(test_tokenizer_names);
    RUN(test_byte_vocab);
    RUN(test_common_licenses_corpus);
    RUN(test_char_tokenizer);
    RUN(test_malformed_utf8);
    RUN(test_word_tokenizer);
    RUN(test_vocab_rules);
    RUN(test_encode_decode_buffers);
    RUN(test_vocab_json_roundtrip);
    RUN(test_vocab_json_malformed);
    RUN(test_fuzz_tokenizers);
    RUN(test_split_parts_boundaries);
    RUN(test_vocab_alloc_failures);
    TEST_MAIN_END;
}
