/* Fuzz the text readers and tokenisers (src/data/text.c, tokenize.c):
 *   - lam_text_read_corpus on the input as a file, and cut in two as a
 *     directory of two files (the text must come back as the input);
 *   - a byte, char or word vocabulary built on it (tokenizer and options
 *     from the first byte: lowercase, <pad>, <unk>, min_freq, max_size),
 *     the text encoded and decoded (byte and char vocabularies must give the
 *     text back when nothing was unknown, lowered or replaced), every token
 *     found by its text, language-modelling windows over it;
 *   - the vocabulary written as JSON and read back (the same tokens), and
 *     lam_vocab_from_json on the input itself: the vocabulary reader of
 *     checkpoints (seeds: the .json files of fuzz/corpus/text). */
#include "fuzz_common.h"

#include <sys/stat.h>

static void check_vocab_same(const lam_vocab *a, const lam_vocab *b)
{
    FZ_CHECK(lam_vocab_size(a) == lam_vocab_size(b) && lam_vocab_tokenizer(a) == lam_vocab_tokenizer(b) &&
                 lam_vocab_pad_id(a) == lam_vocab_pad_id(b) && lam_vocab_unk_id(a) == lam_vocab_unk_id(b),
             "vocabulary differs after a JSON round trip");
    for (int32_t i = 0; i < lam_vocab_size(a); i++) {
        size_t la, lb;
        const char *ta = lam_vocab_token(a, i, &la), *tb = lam_vocab_token(b, i, &lb);
        FZ_CHECK(ta && tb && la == lb && !memcmp(ta, tb, la), "token %d differs after a round trip", (int)i);
    }
}

/* JSON out and back in; also the fixpoint of the writer. */
static void json_roundtrip(const lam_vocab *v)
{
    char *j1 = NULL, *j2 = NULL;
    size_t n1, n2;
    FZ_CHECK(lam_vocab_to_json(v, &j1, &n1) == LAM_OK, "to_json failed");
    lam_vocab *w = NULL;
    lam_status s = lam_vocab_from_json(j1, n1, &w);
    FZ_CHECK(s == LAM_OK, "from_json rejects to_json's text: %s\n  %.*s", lam_last_error(), (int)(n1 < 400 ? n1 : 400), j1);
    check_vocab_same(v, w);
    FZ_CHECK(lam_vocab_to_json(w, &j2, &n2) == LAM_OK && n1 == n2 && !memcmp(j1, j2, n1), "to_json is not a fixpoint");
    lam_free(j1);
    lam_free(j2);
    lam_vocab_free(w);
}

static void exercise_vocab(const lam_vocab *v, const char *text, size_t len, bool exact, uint8_t b)
{
    int32_t V = lam_vocab_size(v);
    FZ_CHECK(V >= 1 && V <= LAM_VOCAB_MAX_SIZE, "vocabulary of %d tokens", (int)V);
    for (int32_t i = 0; i < V; i++) {
        size_t tl;
        const char *t = lam_vocab_token(v, i, &tl);
        FZ_CHECK(t != NULL, "token %d missing", (int)i);
        FZ_CHECK(lam_vocab_find(v, t, tl) == i, "find(token %d) gives %d", (int)i, (int)lam_vocab_find(v, t, tl));
    }
    FZ_CHECK(lam_vocab_token(v, V, NULL) == NULL && lam_vocab_token(v, -1, NULL) == NULL, "token out of range");
    lam_text_stats st = {0};
    int64_t n = -1;
    lam_status s = lam_vocab_encode(v, text, len, NULL, 0, &n, &st, "fuzz");
    if (s != LAM_OK) {
        fz_check_failure(s, "lam_vocab_encode");
        FZ_CHECK(lam_vocab_unk_id(v) < 0, "encode failed with <unk> in the vocabulary");
        return;
    }
    FZ_CHECK(n >= 0 && (size_t)n <= len && st.bytes == (int64_t)len, "%lld tokens of %zu bytes", (long long)n, len);
    int32_t *ids = malloc(((size_t)n + 1) * sizeof *ids);
    FZ_CHECK(ids != NULL, "out of memory");
    int64_t n2 = -1;
    lam_text_stats st2 = {0};
    FZ_CHECK(lam_vocab_encode(v, text, len, ids, n, &n2, &st2, NULL) == LAM_OK && n2 == n, "second encode differs");
    for (int64_t i = 0; i < n; i++) FZ_CHECK(ids[i] >= 0 && ids[i] < V, "id %d out of range", (int)ids[i]);
    size_t need = 0;
    FZ_CHECK(lam_vocab_decode(v, ids, n, NULL, 0, &need) == LAM_OK, "decode (length) failed");
    char *out = malloc(need + 1);
    FZ_CHECK(out != NULL, "out of memory");
    size_t got = 0;
    FZ_CHECK(lam_vocab_decode(v, ids, n, out, need + 1, &got) == LAM_OK && got == need && out[need] == 0,
             "decode gave %zu bytes, said %zu", got, need);
    if (exact && st.unknown == 0 && st.invalid_utf8 == 0)
        FZ_CHECK(need == len && !memcmp(out, text, len), "decode(encode(text)) is not the text");
    free(out);
    free(ids);

    int64_t seq = 1 + b % 5, stride = 1 + (b >> 3) % 3;
    lam_dataset *ds = (lam_dataset *)&ds;
    s = lam_dataset_lm_windows(v, text, len, seq, stride, NULL, "fuzz", &ds);
    if (s == LAM_OK) {
        FZ_CHECK(lam_dataset_check(ds) == LAM_OK, "lm_windows set fails the check: %s", lam_last_error());
        FZ_CHECK(ds->n == (n - seq - 1) / stride + 1, "%lld windows of %lld tokens", (long long)ds->n, (long long)n);
        if (ds->n >= 2) {
            lam_dataset *h = NULL, *t = NULL;
            s = lam_dataset_lm_split(ds, 0.3, &h, &t);
            if (s == LAM_OK) {
                FZ_CHECK(lam_dataset_check(h) == LAM_OK && lam_dataset_check(t) == LAM_OK, "split parts fail the check");
                lam_dataset_free(h);
                lam_dataset_free(t);
            } else {
                fz_check_failure(s, "lam_dataset_lm_split");
            }
        }
        lam_dataset_free(ds);
    } else {
        fz_check_failure(s, "lam_dataset_lm_windows");
        FZ_CHECK(ds == NULL, "failure left *out set");
    }
    json_roundtrip(v);
}

static const char *dir_path;

FZ_INITIALIZE(FZ_MEM_TRAP, (size_t)256 << 20)

static void corpus_dir(const uint8_t *data, size_t size)
{
    /* a directory of two files, "a" and "b": the input cut in the middle */
    static char a[300], bpath[300];
    if (!dir_path) {
        dir_path = fz_path("dir");
        mkdir(dir_path, 0700);
        snprintf(a, sizeof a, "%s/a", dir_path);
        snprintf(bpath, sizeof bpath, "%s/b", dir_path);
    }
    size_t half = size / 2;
    fz_write_file(a, data, half);
    fz_write_file(bpath, data + half, size - half);
    char *text = NULL;
    size_t len = 0;
    lam_status s = lam_text_read_corpus(dir_path, false, &text, &len);
    if (size == 0) {
        FZ_CHECK(s == LAM_ERR_FORMAT, "an empty directory corpus gave %s", lam_status_str(s));
    } else {
        FZ_CHECK(s == LAM_OK && len == size && !memcmp(text, data, size), "the directory corpus is not the input");
    }
    lam_free(text);
    unlink(a);
    unlink(bpath);
}

static void cleanup_dir(void)
{
    if (dir_path) rmdir(dir_path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool registered;
    if (!registered) {
        atexit(cleanup_dir); /* runs after fz_cleanup, which is registered later */
        registered = true;
    }
    uint64_t live = fz_live();
    const char *p = fz_write("corpus.txt", data, size);
    char *text = (char *)&text;
    size_t len = 7;
    lam_status s = lam_text_read_corpus(p, false, &text, &len);
    if (size == 0) {
        FZ_CHECK(s == LAM_ERR_FORMAT && text == NULL && len == 0, "an empty corpus gave %s", lam_status_str(s));
    } else {
        FZ_CHECK(s == LAM_OK, "reading a %zu-byte corpus failed: %s", size, lam_last_error());
        FZ_CHECK(len == size && !memcmp(text, data, size) && text[len] == 0, "the corpus is not the file");
    }
    corpus_dir(data, size);

    if (s == LAM_OK) {
        uint8_t b = data[0];
        lam_vocab_opts o = lam_vocab_opts_defaults();
        o.tokenizer = (lam_tokenizer)(b % 3);
        o.lowercase = b & 4;
        o.pad = b & 8;
        o.unk = b & 16;
        o.min_freq = b & 32 ? 2 : 1;
        o.max_size = b & 64 ? 3 + (b >> 7) * 7 : 0;
        const char *texts[1] = {text};
        size_t lens[1] = {len};
        lam_vocab *v = (lam_vocab *)&v;
        s = lam_vocab_build(&o, texts, lens, 1, &v);
        if (s == LAM_OK) {
            exercise_vocab(v, text, len, o.tokenizer != LAM_TOKENIZER_WORD && !o.lowercase, b);
            lam_vocab_free(v);
        } else {
            fz_check_failure(s, "lam_vocab_build");
            FZ_CHECK(v == NULL, "failure left *out set");
        }
        lam_free(text);
    }

    /* the input as a vocabulary JSON */
    lam_vocab *v = (lam_vocab *)&v;
    s = lam_vocab_from_json((const char *)data, size, &v);
    if (s == LAM_OK) {
        json_roundtrip(v);
        lam_vocab_free(v);
    } else {
        fz_check_failure(s, "lam_vocab_from_json");
        FZ_CHECK(v == NULL, "failure left *out set");
    }
    FZ_CHECK_NO_LEAK(live);
    return 0;
}
