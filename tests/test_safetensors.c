/* Tests for the strict JSON parser/writer (src/io/json.c) and the safetensors
 * container (src/io/safetensors.c): round trips, the exact byte format, atomic
 * writes, every header rule, truncations, random byte flips and allocation
 * fault injection with leak accounting. */
#include "lamina/io.h"

#include "io/json.h"
#include "test.h"

#include <locale.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

static void tpath(char *buf, size_t n, const char *name) { snprintf(buf, n, "%s/%s", t_tmpdir, name); }

static lam_json *parse(lam_arena *a, const char *s, lam_status *st)
{
    lam_json *v = NULL;
    *st = lam_json_parse(a, s, strlen(s), NULL, &v, NULL);
    return v;
}

/* ---- JSON --------------------------------------------------------------- */

static void test_json_valid(void)
{
    lam_arena *a = lam_arena_new(0);
    lam_status st;
    const char *doc = " {\"a\": [1, -2, 3.5, -0, 1e2, 9223372036854775807, -9223372036854775808,"
                      " 9223372036854775808, true, false, null],"
                      " \"s\": \"q\\\"b\\\\s\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\xc3\xa9\","
                      " \"z\": \"a\\u0000b\", \"o\": {\"k\": {}}, \"e\": []} \n";
    lam_json *v = parse(a, doc, &st);
    CHECK_OK(st);
    if (!v) goto out;
    CHECK(v->type == LAM_JSON_OBJECT && v->n == 5);
    CHECK(v->offset == 1);
    const lam_json *arr = lam_json_get(v, "a");
    CHECK(arr && arr->type == LAM_JSON_ARRAY && arr->n == 11);
    if (arr && arr->n == 11) {
        CHECK(arr->items[0]->is_int && arr->items[0]->integer == 1);
        CHECK(arr->items[1]->is_int && arr->items[1]->integer == -2);
        CHECK(!arr->items[2]->is_int && arr->items[2]->number == 3.5);
        CHECK(arr->items[3]->is_int && arr->items[3]->integer == 0);
        CHECK(!arr->items[4]->is_int && arr->items[4]->number == 100.0);
        CHECK(arr->items[5]->integer == INT64_MAX && !arr->items[5]->int_overflow);
        CHECK(arr->items[6]->integer == INT64_MIN && !arr->items[6]->int_overflow);
        CHECK(arr->items[7]->is_int && arr->items[7]->int_overflow);
        CHECK(arr->items[8]->type == LAM_JSON_BOOL && arr->items[8]->boolean);
        CHECK(arr->items[9]->type == LAM_JSON_BOOL && !arr->items[9]->boolean);
        CHECK(arr->items[10]->type == LAM_JSON_NULL);
    }
    const lam_json *s = lam_json_get(v, "s");
    const char *want = "q\"b\\s/\b\f\n\r\t\xc3\xa9\xf0\x9f\x98\x80\xc3\xa9";
    CHECK(s && s->type == LAM_JSON_STRING && s->len == strlen(want) && strcmp(s->str, want) == 0);
    const lam_json *z = lam_json_get(v, "z");
    CHECK(z && z->len == 3 && memcmp(z->str, "a\0b", 4) == 0);
    const lam_json *o = lam_json_get(v, "o");
    CHECK(o && lam_json_get(o, "k") && lam_json_get(o, "k")->type == LAM_JSON_OBJECT);
    CHECK(lam_json_get(v, "missing") == NULL && lam_json_get(arr, "a") == NULL);
    CHECK(v->items[0]->key && strcmp(v->items[0]->key, "a") == 0); /* document order */
    /* depth: 64 nested arrays parse, 65 do not */
    char deep[200];
    for (int d = 64; d <= 65; d++) {
        for (int i = 0; i < d; i++) deep[i] = '[', deep[d + i] = ']';
        deep[2 * d] = 0;
        parse(a, deep, &st);
        CHECK(st == (d == 64 ? LAM_OK : LAM_ERR_FORMAT));
    }
    /* scalars at top level, numbers in the C locale */
    v = parse(a, "-12.5e-1", &st);
    CHECK(st == LAM_OK && v && v->number == -1.25);
out:
    lam_arena_free(a);
}

static void test_json_invalid(void)
{
    static const char *const bad[] = {
        "", " ", "{", "}", "[1,]", "{\"a\":1,}", "[1 2]", "[,1]", "01", "-01", "1.", ".5", "+1",
        "-", "1e", "1e+", "tru", "nul", "NaN", "Infinity", "\"abc", "\"\\x\"", "\"\\u12\"",
        "\"\\u12g4\"", "\"\\ud800\"", "\"\\udc00\"", "\"\\ud800\\u0041\"", "\"\\ud800x\"",
        "\"\x01\"", "\"a\tb\"", "\"\xc0\xaf\"", "\"\xe0\x80\xaf\"", "\"\xed\xa0\x80\"",
        "\"\xf4\x90\x80\x80\"", "\"\xff\"", "\"\xc3\"", "\"\xe2\x82\"", "{} x", "{}{}", "[1]]",
        "{\"a\":1,\"a\":2}", "{\"x\":{\"b\":1,\"b\":2}}", "[{\"b\":1,\"c\":1,\"b\":2}]",
        "{\"a\\u0000\":1,\"a\\u0000\":1}", "{1:2}", "{\"a\" 1}", "{\"a\":}", "// c\n{}", "'a'",
        "[01]", "[1,,2]", "\xef\xbb\xbf{}", "{\"a\":1 \"b\":2}", "[true false]", "[nulll]",
    };
    lam_arena *a = lam_arena_new(0);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        lam_status st;
        lam_json_error err;
        lam_json *v = (lam_json *)1;
        st = lam_json_parse(a, bad[i], strlen(bad[i]), NULL, &v, &err);
        CHECK_MSG(st == LAM_ERR_FORMAT && v == NULL, "case %zu: %s", i, bad[i]);
        CHECK_MSG(err.msg[0] && strstr(lam_last_error(), "at byte"), "case %zu", i);
    }
    /* an embedded NUL after the value is trailing garbage */
    lam_json *v;
    CHECK(lam_json_parse(a, "[1]\0", 4, NULL, &v, NULL) == LAM_ERR_FORMAT);
    /* the duplicate is reported at the later value */
    lam_json_error err;
    CHECK(lam_json_parse(a, "{\"k\":1, \"k\":22}", 15, NULL, &v, &err) == LAM_ERR_FORMAT);
    CHECK(err.offset == 12 && strstr(err.msg, "duplicate key"));
    lam_json_options o = {.max_depth = 2};
    CHECK(lam_json_parse(a, "[[1]]", 5, &o, &v, NULL) == LAM_OK);
    CHECK(lam_json_parse(a, "[[[1]]]", 7, &o, &v, NULL) == LAM_ERR_FORMAT);
    lam_arena_free(a);
}

static void test_json_write(void)
{
    const char nasty[] = "line1\nline2\t\"quoted\" back\\slash \x01\x1f\x7f / \xc3\xa9 \xf0\x9f\x98\x80\r\b\f";
    lam_json_buf b = {0};
    lam_json_buf_puts(&b, "[");
    lam_json_write_string(&b, nasty, sizeof nasty - 1);
    lam_json_buf_puts(&b, ",");
    lam_json_write_string(&b, "a\0b", 3);
    static const double xs[] = {0.1, 1e300, -2.5, 1.0 / 3.0, 123456789012345678.0, 5e-324};
    for (size_t i = 0; i < sizeof xs / sizeof *xs; i++) {
        lam_json_buf_puts(&b, ",");
        lam_json_write_double(&b, xs[i]);
    }
    lam_json_buf_puts(&b, ",");
    lam_json_write_double(&b, NAN);
    lam_json_buf_puts(&b, ",");
    lam_json_write_int(&b, INT64_MIN);
    lam_json_buf_puts(&b, "]");
    CHECK_OK(b.status);
    CHECK(strstr(b.data, "0.1,") != NULL); /* shortest round-trip form */
    lam_arena *a = lam_arena_new(0);
    lam_json *v = NULL;
    CHECK_OK(lam_json_parse(a, b.data, b.len, NULL, &v, NULL));
    if (v && v->n == 10) {
        CHECK(v->items[0]->len == sizeof nasty - 1 && memcmp(v->items[0]->str, nasty, sizeof nasty) == 0);
        CHECK(v->items[1]->len == 3 && memcmp(v->items[1]->str, "a\0b", 3) == 0);
        for (size_t i = 0; i < sizeof xs / sizeof *xs; i++) CHECK(v->items[2 + i]->number == xs[i]);
        CHECK(v->items[8]->type == LAM_JSON_NULL);
        CHECK(v->items[9]->integer == INT64_MIN);
    } else
        CHECK(0);
    lam_arena_free(a);
    lam_json_buf_free(&b);
    /* invalid UTF-8 is refused and the status sticks */
    lam_json_write_string(&b, "\xff", 1);
    lam_json_buf_puts(&b, "x");
    CHECK(b.status == LAM_ERR_ARG && b.len == 0);
    lam_json_buf_free(&b);
    CHECK(lam_json_utf8_valid("\xf4\x8f\xbf\xbf", 4) && !lam_json_utf8_valid("\xf8\x88\x80\x80\x80", 5));
}

/* Numbers do not depend on the C locale (runs only where such a locale exists). */
static void test_json_locale(void)
{
    static const char *const locs[] = {"de_DE.UTF-8", "fr_FR.UTF-8", "de_DE", "fr_FR"};
    const char *got = NULL;
    for (size_t i = 0; i < 4 && !got; i++) got = setlocale(LC_NUMERIC, locs[i]);
    if (!got) return; /* no comma-decimal locale installed: nothing to test */
    lam_arena *a = lam_arena_new(0);
    lam_json *v = NULL;
    CHECK_OK(lam_json_parse(a, "[1.5]", 5, NULL, &v, NULL));
    CHECK(v && v->n == 1 && v->items[0]->number == 1.5);
    lam_json_buf b = {0};
    lam_json_write_double(&b, 2.25);
    CHECK(b.data && strcmp(b.data, "2.25") == 0);
    lam_json_buf_free(&b);
    lam_arena_free(a);
    setlocale(LC_NUMERIC, "C");
}

static void test_json_faults(void)
{
    const char *doc = "{\"a\":[1,2,{\"b\":\"ccc\",\"d\":[[],{}]}],\"e\":\"a long string to copy\","
                      "\"f\":1.5e10, \"g\": 0.00000000000000000000000000000000000000000000000000000000000000000001}";
    uint64_t base = t_live_bytes();
    int ok = 0;
    for (uint64_t k = 1; k < 200 && !ok; k++) {
        lam_alloc_fail_after(k);
        lam_arena *a = lam_arena_new(64); /* small blocks: many allocations */
        lam_json *v = NULL;
        lam_status st = a ? lam_json_parse(a, doc, strlen(doc), NULL, &v, NULL) : LAM_ERR_NOMEM;
        lam_alloc_fail_after(0);
        CHECK_MSG(st == LAM_OK || st == LAM_ERR_NOMEM, "k=%d st=%s", (int)k, lam_status_str(st));
        if (st == LAM_OK) {
            ok = 1;
            CHECK(v && v->n == 4);
        }
        lam_arena_free(a);
        CHECK(t_live_bytes() == base);
    }
    CHECK(ok);
}

/* ---- safetensors fixtures ----------------------------------------------- */

#define NASTY_CONFIG                                                                          \
    "[net]\ninput = 1,28,28\tseed = 42\n# \"quoted\" and back\\slash \\n not a newline\r\n" \
    "[dense]\nunits = 10 ; caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80 \x01\x1f end"

typedef struct fixture {
    float w[6], scalar, b[1];
    uint16_t h[4], bf[6];
    int32_t idx[5];
    int8_t q[7];
    lam_st_entry e[8];
    lam_st_meta m[4];
} fixture;

static void make_fixture(fixture *f)
{
    for (int i = 0; i < 6; i++) f->w[i] = (float)i * 0.5f - 1.0f, f->bf[i] = (uint16_t)(0x3f80 + i);
    for (int i = 0; i < 4; i++) f->h[i] = (uint16_t)(0x3c00 + i);
    for (int i = 0; i < 5; i++) f->idx[i] = -1000 * i;
    for (int i = 0; i < 7; i++) f->q[i] = (int8_t)(i * 37 - 128);
    f->scalar = 3.25f;
    int n = 0;
    f->e[n++] = (lam_st_entry){"conv1.weight", LAM_DTYPE_F32, lam_shape2(2, 3), f->w};
    f->e[n++] = (lam_st_entry){"q8", LAM_DTYPE_I8, lam_shape1(7), f->q}; /* odd size */
    f->e[n++] = (lam_st_entry){"half", LAM_DTYPE_F16, lam_shape1(4), f->h};
    f->e[n++] = (lam_st_entry){"bf", LAM_DTYPE_BF16, lam_shape3(3, 1, 2), f->bf};
    f->e[n++] = (lam_st_entry){"idx", LAM_DTYPE_I32, lam_shape1(5), f->idx};
    f->e[n++] = (lam_st_entry){"scalar", LAM_DTYPE_F32, lam_shape_make(0, NULL), &f->scalar};
    f->e[n++] = (lam_st_entry){"empty", LAM_DTYPE_F32, lam_shape2(0, 3), NULL};
    f->e[n++] = (lam_st_entry){"na\"me\\ \xc3\xa9/x", LAM_DTYPE_F32, lam_shape1(1), f->b};
    f->b[0] = -7.0f;
    f->m[0] = (lam_st_meta){"model", NASTY_CONFIG};
    f->m[1] = (lam_st_meta){"format_version", "1"};
    f->m[2] = (lam_st_meta){"empty value", ""};
    f->m[3] = (lam_st_meta){"k\"ey\n\\", "v"};
}

static void check_fixture(const lam_safetensors *st, const fixture *f)
{
    CHECK(lam_safetensors_count(st) == 8);
    for (int i = 0; i < 8; i++) {
        const lam_st_entry *e = &f->e[i];
        const lam_st_tensor *t = lam_safetensors_find(st, e->name);
        CHECK_MSG(t != NULL, "%s missing", e->name);
        if (!t) continue;
        size_t nb = (size_t)lam_shape_numel(&e->shape) * lam_dtype_size(e->dtype);
        CHECK(strcmp(t->name, e->name) == 0 && t->dtype == e->dtype);
        CHECK(lam_shape_eq(&t->shape, &e->shape) && t->nbytes == nb);
        CHECK(t->data != NULL && ((uintptr_t)t->data % 64) == 0);
        if (nb) CHECK(memcmp(t->data, e->data, nb) == 0);
    }
    for (size_t i = 1; i < lam_safetensors_count(st); i++)
        CHECK(strcmp(lam_safetensors_at(st, i - 1)->name, lam_safetensors_at(st, i)->name) < 0);
    CHECK(lam_safetensors_at(st, 8) == NULL && lam_safetensors_find(st, "nope") == NULL);
    CHECK(lam_safetensors_meta_count(st) == 4);
    for (int i = 0; i < 4; i++) {
        const char *v = lam_safetensors_meta(st, f->m[i].key);
        CHECK_MSG(v && strcmp(v, f->m[i].value) == 0, "meta %s", f->m[i].key);
    }
    CHECK(lam_safetensors_meta(st, "absent") == NULL && lam_safetensors_meta_at(st, 4) == NULL);
    CHECK(strcmp(lam_safetensors_meta_at(st, 0)->key, "empty value") == 0);
}

static unsigned char *fixture_bytes(size_t *size)
{
    fixture f;
    make_fixture(&f);
    char p[128];
    tpath(p, sizeof p, "fixture.safetensors");
    if (lam_safetensors_write(p, f.e, 8, f.m, 4) != LAM_OK) return NULL;
    return t_slurp_exact(p, size);
}

/* ---- safetensors tests -------------------------------------------------- */

static void test_roundtrip(void)
{
    uint64_t base = t_live_bytes();
    fixture f;
    make_fixture(&f);
    char p[128];
    tpath(p, sizeof p, "rt.safetensors");
    CHECK_OK(lam_safetensors_write(p, f.e, 8, f.m, 4));
    lam_safetensors *st = NULL;
    CHECK_OK(lam_safetensors_open(p, &st));
    if (st) check_fixture(st, &f);
    /* typed lookup for loading parameters */
    const lam_st_tensor *t;
    lam_shape s23 = lam_shape2(2, 3), s32 = lam_shape2(3, 2);
    CHECK_OK(lam_safetensors_get(st, "conv1.weight", LAM_DTYPE_F32, &s23, &t));
    CHECK(lam_safetensors_get(st, "conv1.weight", LAM_DTYPE_F32, &s32, &t) == LAM_ERR_SHAPE);
    CHECK(strstr(lam_last_error(), "[2, 3]") && strstr(lam_last_error(), "[3, 2]"));
    CHECK(lam_safetensors_get(st, "conv1.weight", LAM_DTYPE_F16, &s23, &t) == LAM_ERR_SHAPE);
    CHECK(lam_safetensors_get(st, "conv2.weight", LAM_DTYPE_F32, &s23, &t) == LAM_ERR_FORMAT);
    lam_safetensors_close(st);
    /* the same bytes in memory, and the writer is deterministic whatever the order given */
    size_t n1;
    unsigned char *b1 = t_slurp_exact(p, &n1);
    lam_st_entry rev[8];
    lam_st_meta mrev[4];
    for (int i = 0; i < 8; i++) rev[i] = f.e[7 - i];
    for (int i = 0; i < 4; i++) mrev[i] = f.m[3 - i];
    tpath(p, sizeof p, "rt2.safetensors");
    CHECK_OK(lam_safetensors_write(p, rev, 8, mrev, 4));
    size_t n2;
    unsigned char *b2 = t_slurp_exact(p, &n2);
    CHECK(b1 && b2 && n1 == n2 && memcmp(b1, b2, n1) == 0);
    st = NULL;
    CHECK_OK(lam_safetensors_open_mem(b1, n1, "mem", &st));
    if (st) check_fixture(st, &f);
    lam_safetensors_close(st);
    /* layout: header length multiple of 8, tensors naturally aligned in the file */
    if (b1 && n1 >= 8) {
        uint64_t h = 0;
        for (int i = 7; i >= 0; i--) h = h << 8 | b1[i];
        CHECK(h % 8 == 0 && b1[8] == '{' && b1[8 + h - 1] == ' ');
    }
    free(b1);
    free(b2);
    /* no tensors, no metadata */
    tpath(p, sizeof p, "empty.safetensors");
    CHECK_OK(lam_safetensors_write(p, NULL, 0, NULL, 0));
    st = NULL;
    CHECK_OK(lam_safetensors_open(p, &st));
    CHECK(st && lam_safetensors_count(st) == 0 && lam_safetensors_meta_count(st) == 0);
    lam_safetensors_close(st);
    CHECK(t_live_bytes() == base);
}

/* The exact bytes of a small file. */
static void test_exact_format(void)
{
    float x[2] = {1.0f, 2.0f};
    int8_t y[3] = {1, 2, 3};
    lam_st_entry e[2] = {{"b", LAM_DTYPE_I8, lam_shape1(3), y}, {"a", LAM_DTYPE_F32, lam_shape1(2), x}};
    lam_st_meta m = {"k", "v\n"};
    char p[128];
    tpath(p, sizeof p, "exact.safetensors");
    CHECK_OK(lam_safetensors_write(p, e, 2, &m, 1));
    size_t n;
    unsigned char *b = t_slurp_exact(p, &n);
    const char *json = "{\"__metadata__\":{\"k\":\"v\\n\"},"
                       "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                       "\"b\":{\"dtype\":\"I8\",\"shape\":[3],\"data_offsets\":[8,11]}}";
    size_t jl = strlen(json), hl = (jl + 7) / 8 * 8;
    CHECK(b && n == 8 + hl + 11);
    if (b && n == 8 + hl + 11) {
        CHECK(b[0] == (hl & 0xff) && b[1] == 0 && b[7] == 0);
        CHECK(memcmp(b + 8, json, jl) == 0);
        for (size_t i = jl; i < hl; i++) CHECK(b[8 + i] == ' ');
        CHECK(memcmp(b + 8 + hl, x, 8) == 0 && memcmp(b + 8 + hl + 8, y, 3) == 0);
    }
    free(b);
}

static void test_atomic_replace(void)
{
    fixture f;
    make_fixture(&f);
    char p[128];
    tpath(p, sizeof p, "atomic.safetensors");
    CHECK_OK(lam_safetensors_write(p, f.e, 2, NULL, 0));
    CHECK(chmod(p, 0640) == 0);
    CHECK_OK(lam_safetensors_write(p, f.e, 8, f.m, 4)); /* replaces */
    struct stat sb;
    CHECK(stat(p, &sb) == 0 && (sb.st_mode & 0777) == 0640);
    lam_safetensors *st = NULL;
    CHECK_OK(lam_safetensors_open(p, &st));
    if (st) check_fixture(st, &f);
    lam_safetensors_close(st);
    CHECK(t_count_files(t_tmpdir, ".tmp.") == 0);
}

static void test_write_failures(void)
{
    fixture f;
    make_fixture(&f);
    char p[192];
    /* a directory that does not exist */
    snprintf(p, sizeof p, "%s/no/such/dir/x.safetensors", t_tmpdir);
    CHECK(lam_safetensors_write(p, f.e, 8, f.m, 4) == LAM_ERR_IO);
    CHECK(strstr(lam_last_error(), p) && strstr(lam_last_error(), "No such file"));
    CHECK(t_count_files(t_tmpdir, ".tmp.") == 0 && t_count_files(t_tmpdir, "no") == 0);
    /* the target is a directory: the rename fails, the temporary file goes */
    tpath(p, sizeof p, "adir");
    CHECK(mkdir(p, 0755) == 0);
    CHECK(lam_safetensors_write(p, f.e, 8, f.m, 4) == LAM_ERR_IO);
    CHECK(t_count_files(t_tmpdir, ".tmp.") == 0);
    rmdir(p);
    /* a write that fails half way (file size limit) leaves the old file intact */
    tpath(p, sizeof p, "keep.safetensors");
    CHECK_OK(lam_safetensors_write(p, f.e, 1, NULL, 0));
    size_t n0, n1;
    unsigned char *before = t_slurp_exact(p, &n0);
    struct rlimit old, lim;
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    if (getrlimit(RLIMIT_FSIZE, &old) == 0) {
        lim = old;
        lim.rlim_cur = 100;
        if (setrlimit(RLIMIT_FSIZE, &lim) == 0) {
            float big[64] = {0};
            lam_st_entry e = {"big", LAM_DTYPE_F32, lam_shape1(64), big};
            lam_status s = lam_safetensors_write(p, &e, 1, NULL, 0);
            setrlimit(RLIMIT_FSIZE, &old);
            CHECK(s == LAM_ERR_IO && strstr(lam_last_error(), "write failed"));
        }
    }
    signal(SIGXFSZ, prev);
    unsigned char *after = t_slurp_exact(p, &n1);
    CHECK(before && after && n0 == n1 && memcmp(before, after, n0) == 0);
    CHECK(t_count_files(t_tmpdir, ".tmp.") == 0);
    free(before);
    free(after);
}

static void test_write_bad_args(void)
{
    float x[4] = {0};
    char p[128];
    tpath(p, sizeof p, "bad.safetensors");
    struct {
        lam_st_entry e[2];
        size_t n;
        lam_st_meta m[2];
        size_t nm;
    } cases[] = {
        {{{"a", LAM_DTYPE_F32, {1, {4}}, x}, {"a", LAM_DTYPE_F32, {1, {1}}, x}}, 2, {{0}}, 0},
        {{{"__metadata__", LAM_DTYPE_F32, {1, {4}}, x}}, 1, {{0}}, 0},
        {{{"", LAM_DTYPE_F32, {1, {4}}, x}}, 1, {{0}}, 0},
        {{{NULL, LAM_DTYPE_F32, {1, {4}}, x}}, 1, {{0}}, 0},
        {{{"a", LAM_DTYPE_F32, {1, {-1}}, x}}, 1, {{0}}, 0},
        {{{"a", LAM_DTYPE_F32, {7, {1, 1, 1, 1, 1, 1}}, x}}, 1, {{0}}, 0},
        {{{"a", LAM_DTYPE_F32, {1, {4}}, NULL}}, 1, {{0}}, 0},
        {{{"a", (lam_dtype)99, {1, {4}}, x}}, 1, {{0}}, 0},
        {{{"a\xff", LAM_DTYPE_F32, {1, {4}}, x}}, 1, {{0}}, 0},
        {{{"a", LAM_DTYPE_F32, {3, {1 << 30, 1 << 30, 1 << 30}}, x}}, 1, {{0}}, 0},
        {{{"a", LAM_DTYPE_F32, {1, {4}}, x}}, 1, {{"k", "1"}, {"k", "2"}}, 2},
        {{{"a", LAM_DTYPE_F32, {1, {4}}, x}}, 1, {{"k", NULL}}, 1},
        {{{"a", LAM_DTYPE_F32, {1, {4}}, x}}, 1, {{"k", "\xc0\x80"}}, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        lam_status s = lam_safetensors_write(p, cases[i].e, cases[i].n, cases[i].m, cases[i].nm);
        CHECK_MSG(s == LAM_ERR_ARG, "case %zu: %s", i, lam_status_str(s));
    }
    CHECK(access(p, F_OK) != 0 && t_count_files(t_tmpdir, ".tmp.") == 0);
    CHECK(lam_safetensors_write(NULL, NULL, 0, NULL, 0) == LAM_ERR_ARG);
    CHECK(lam_safetensors_write(p, NULL, 1, NULL, 0) == LAM_ERR_ARG);
}

/* A file from a header text and `data_len` bytes of data (malloc'd). */
static unsigned char *make_st(const char *json, size_t data_len, size_t *size)
{
    size_t jl = strlen(json);
    *size = 8 + jl + data_len;
    unsigned char *b = calloc(1, *size);
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)((uint64_t)jl >> (8 * i));
    memcpy(b + 8, json, jl);
    return b;
}

static lam_status open_json(const char *json, size_t data_len)
{
    size_t n;
    unsigned char *b = make_st(json, data_len, &n);
    lam_safetensors *st = (lam_safetensors *)1;
    lam_status s = lam_safetensors_open_mem(b, n, "t.safetensors", &st);
    if (s != LAM_OK) CHECK(st == NULL);
    lam_safetensors_close(s == LAM_OK ? st : NULL);
    free(b);
    return s;
}

#define E(dt, shape, offs) "{\"dtype\":\"" dt "\",\"shape\":" shape ",\"data_offsets\":" offs "}"

static void test_malformed_headers(void)
{
    uint64_t base = t_live_bytes();
    static const struct {
        const char *json;
        size_t data_len;
        lam_status want;
        const char *msg; /* a substring of the message */
    } cases[] = {
        {"{\"a\":" E("F32", "[2]", "[0,8]") "}", 8, LAM_OK, ""},
        {"{\"a\":" E("F32", "[2]", "[0,8]") "}   ", 8, LAM_OK, ""},
        {"{}", 0, LAM_OK, ""},
        {"{\"__metadata__\":{}}", 0, LAM_OK, ""},
        {"{\"a\":" E("F32", "[2]", "[0,-0]") "}", 0, LAM_ERR_FORMAT, "needs 8 bytes"},
        {" {}", 0, LAM_ERR_FORMAT, "must begin with '{'"},
        {"[]", 0, LAM_ERR_FORMAT, "must begin with '{'"},
        {"{abc}", 0, LAM_ERR_FORMAT, "not valid JSON"},
        {"{} x", 0, LAM_ERR_FORMAT, "not valid JSON"},
        {"{\"a\":" E("F32", "[2]", "[0,8]") ",}", 8, LAM_ERR_FORMAT, "trailing comma"},
        {"{\"a\":" E("F32", "[2]", "[0,8]") ",\"a\":" E("F32", "[2]", "[0,8]") "}", 8,
         LAM_ERR_FORMAT, "duplicate key \"a\""},
        {"{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8,
         LAM_ERR_FORMAT, "duplicate key \"dtype\""},
        {"{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}", 0, LAM_ERR_FORMAT, "duplicate key"},
        {"{\"a\":" E("Q7", "[2]", "[0,8]") "}", 8, LAM_ERR_FORMAT, "unknown dtype"},
        {"{\"a\":" E("f32", "[2]", "[0,8]") "}", 8, LAM_ERR_FORMAT, "unknown dtype"},
        {"{\"a\":" E("F64", "[1]", "[0,8]") "}", 8, LAM_ERR_UNSUPPORTED, "F64"},
        {"{\"a\":" E("F32", "[3]", "[0,8]") "}", 8, LAM_ERR_FORMAT, "needs 12 bytes"},
        {"{\"a\":" E("F32", "[2]", "[0,8]") "}", 12, LAM_ERR_FORMAT, "trailing bytes"},
        {"{\"a\":" E("F32", "[2]", "[4,12]") "}", 8, LAM_ERR_FORMAT, "extend past"},
        {"{\"a\":" E("F32", "[2]", "[4,12]") "}", 12, LAM_ERR_FORMAT, "gap of 4 bytes"},
        {"{\"a\":" E("F32", "[2]", "[0,8]") ",\"b\":" E("F32", "[2]", "[4,12]") "}", 12,
         LAM_ERR_FORMAT, "overlap"},
        {"{\"a\":" E("F32", "[2]", "[0,8]") ",\"b\":" E("F32", "[2]", "[0,8]") "}", 8,
         LAM_ERR_FORMAT, "overlap"},
        {"{\"a\":" E("F32", "[0]", "[4,4]") ",\"b\":" E("F32", "[2]", "[0,8]") "}", 8,
         LAM_ERR_FORMAT, "overlap"},
        {"{\"a\":" E("F32", "[0]", "[8,8]") ",\"b\":" E("F32", "[2]", "[0,8]") "}", 8, LAM_OK, ""},
        {"{\"a\":" E("F32", "[2]", "[8,0]") "}", 8, LAM_ERR_FORMAT, "begin > end"},
        {"{\"a\":" E("F32", "[-2]", "[0,8]") "}", 8, LAM_ERR_FORMAT, "negative"},
        {"{\"a\":" E("F32", "[2.0]", "[0,8]") "}", 8, LAM_ERR_FORMAT, "fraction"},
        {"{\"a\":" E("F32", "[2e0]", "[0,8]") "}", 8, LAM_ERR_FORMAT, "fraction"},
        {"{\"a\":" E("F32", "[2]", "[0.0,8]") "}", 8, LAM_ERR_FORMAT, "fraction"},
        {"{\"a\":" E("F32", "[2]", "[-0.5,8]") "}", 8, LAM_ERR_FORMAT, "fraction"},
        {"{\"a\":" E("F32", "[2]", "[-8,0]") "}", 8, LAM_ERR_FORMAT, "negative"},
        {"{\"a\":" E("F32", "[\"2\"]", "[0,8]") "}", 8, LAM_ERR_FORMAT, "found a string"},
        {"{\"a\":" E("F32", "[2]", "[0,9007199254740993]") "}", 8, LAM_ERR_FORMAT, "2^53"},
        {"{\"a\":" E("F32", "[2]", "[0,99999999999999999999999]") "}", 8, LAM_ERR_FORMAT, "2^53"},
        {"{\"a\":" E("F32", "[2]", "[0,-99999999999999999999999]") "}", 8, LAM_ERR_FORMAT, "negative"},
        {"{\"a\":" E("F32", "[9007199254740992,9007199254740992,9007199254740992]", "[0,0]") "}",
         0, LAM_ERR_FORMAT, "overflows"},
        {"{\"a\":" E("F32", "[4294967296,4294967296]", "[0,0]") "}", 0, LAM_ERR_FORMAT, "overflows"},
        {"{\"a\":" E("F32", "[4294967296,4294967296,0]", "[0,0]") "}", 0, LAM_OK, ""},
        {"{\"a\":" E("F32", "[1073741824]", "[0,4294967296]") "}", 8, LAM_ERR_FORMAT, "extend past"},
        {"{\"a\":" E("F32", "[1,1,1,1,1,1,1]", "[0,4]") "}", 4, LAM_ERR_FORMAT, "rank 7"},
        {"{\"a\":" E("F32", "[]", "[0,4]") "}", 4, LAM_OK, ""},
        {"{\"a\":" E("F32", "2", "[0,4]") "}", 4, LAM_ERR_FORMAT, "shape must be an array"},
        {"{\"a\":" E("F32", "[1]", "[0,4,8]") "}", 4, LAM_ERR_FORMAT, "two integers"},
        {"{\"a\":" E("F32", "[1]", "{}") "}", 4, LAM_ERR_FORMAT, "two integers"},
        {"{\"a\":{\"dtype\":7,\"shape\":[1],\"data_offsets\":[0,4]}}", 4, LAM_ERR_FORMAT, "string"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":1}}", 4,
         LAM_ERR_FORMAT, "unknown field \"x\""},
        {"{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4, LAM_ERR_FORMAT, "missing field \"shape\""},
        {"{\"a\":[1]}", 0, LAM_ERR_FORMAT, "must be an object"},
        {"{\"a\\u0000b\":" E("F32", "[1]", "[0,4]") "}", 4, LAM_ERR_FORMAT, "NUL"},
        {"{\"a\xff\":" E("F32", "[1]", "[0,4]") "}", 4, LAM_ERR_FORMAT, "UTF-8"},
        {"{\"__metadata__\":{\"a\":1}}", 0, LAM_ERR_FORMAT, "must be a string"},
        {"{\"__metadata__\":{\"a\":null}}", 0, LAM_ERR_FORMAT, "must be a string"},
        {"{\"__metadata__\":{\"a\":{\"b\":\"c\"}}}", 0, LAM_ERR_FORMAT, "must be a string"},
        {"{\"__metadata__\":[\"a\"]}", 0, LAM_ERR_FORMAT, "must be an object"},
        {"{\"__metadata__\":{\"a\":\"x\\u0000y\"}}", 0, LAM_ERR_FORMAT, "NUL"},
        {"{\"a\":" E("I8", "[3]", "[0,3]") "}", 3, LAM_OK, ""},
        {"{}", 5, LAM_ERR_FORMAT, "5 trailing bytes"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        lam_status s = open_json(cases[i].json, cases[i].data_len);
        CHECK_MSG(s == cases[i].want && strstr(lam_last_error(), cases[i].msg), "case %zu: %s: %s",
                  i, lam_status_str(s), lam_last_error());
        if (s == LAM_ERR_FORMAT) CHECK(strstr(lam_last_error(), "t.safetensors: ") == lam_last_error());
    }
    /* messages carry the file offset of the offending value */
    open_json("{\"a\":" E("F32", "[2]", "[0,8]") ",\"b\":" E("F32", "[1]", "[0,-4]") "}", 8);
    CHECK_MSG(strstr(lam_last_error(), "tensor \"b\"") && strstr(lam_last_error(), "file offset 111"),
              "%s", lam_last_error());
    /* deep nesting in metadata is bounded */
    char deep[400] = "{\"__metadata__\":{\"a\":";
    for (int i = 0; i < 100; i++) strcat(deep, "[");
    for (int i = 0; i < 100; i++) strcat(deep, "]");
    strcat(deep, "}}");
    CHECK(open_json(deep, 0) == LAM_ERR_FORMAT && strstr(lam_last_error(), "nesting"));
    CHECK(t_live_bytes() == base);
}

static void test_bad_lengths(void)
{
    size_t n;
    unsigned char *b = make_st("{}      ", 0, &n);
    lam_safetensors *st;
    uint64_t lens[] = {9, (uint64_t)1 << 63, UINT64_MAX, 0, 1};
    const char *msgs[] = {"exceeds the 8 bytes", "exceeds the 8 bytes", "exceeds", "cannot hold", "cannot hold"};
    for (size_t k = 0; k < 5; k++) {
        for (int i = 0; i < 8; i++) b[i] = (unsigned char)(lens[k] >> (8 * i));
        CHECK(lam_safetensors_open_mem(b, n, "f", &st) == LAM_ERR_FORMAT && !st);
        CHECK_MSG(strstr(lam_last_error(), msgs[k]), "%s", lam_last_error());
    }
    /* padding must be whitespace: a NUL after the object is trailing garbage */
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)(i == 0 ? 8 : 0);
    CHECK_OK(lam_safetensors_open_mem(b, n, "f", &st));
    lam_safetensors_close(st);
    b[8 + 2] = 0;
    CHECK(lam_safetensors_open_mem(b, n, "f", &st) == LAM_ERR_FORMAT && strstr(lam_last_error(), "0x00"));
    free(b);
    /* over the cap: a file with a 101 MiB "header" is refused before reading it */
    char p[128];
    tpath(p, sizeof p, "cap.safetensors");
    FILE *f = fopen(p, "wb");
    if (f) {
        uint64_t h = LAM_ST_MAX_HEADER + 1;
        unsigned char l[8];
        for (int i = 0; i < 8; i++) l[i] = (unsigned char)(h >> (8 * i));
        fwrite(l, 1, 8, f);
        fclose(f);
        CHECK(truncate(p, (off_t)(8 + h)) == 0); /* sparse */
        CHECK(lam_safetensors_open(p, &st) == LAM_ERR_FORMAT && strstr(lam_last_error(), "cap"));
        unlink(p);
    }
    CHECK(lam_safetensors_open_mem("1234567", 7, "f", &st) == LAM_ERR_FORMAT);
    CHECK(strstr(lam_last_error(), "shorter than the 8-byte"));
    tpath(p, sizeof p, "does-not-exist");
    CHECK(lam_safetensors_open(p, &st) == LAM_ERR_IO && strstr(lam_last_error(), "No such file"));
    CHECK(lam_safetensors_open(t_tmpdir, &st) == LAM_ERR_IO && strstr(lam_last_error(), "regular"));
    CHECK(lam_safetensors_open(NULL, &st) == LAM_ERR_ARG);
}

/* Validation comes before allocation: a tiny file that declares 16 GiB of
 * data must not make the reader allocate it. */
static void test_no_alloc_before_validation(void)
{
    lam_alloc_stats s0, s1;
    lam_alloc_get_stats(&s0);
    CHECK(open_json("{\"a\":" E("F32", "[4294967296]", "[0,17179869184]") "}", 16) == LAM_ERR_FORMAT);
    lam_alloc_get_stats(&s1);
    CHECK(s1.bytes_peak <= (s0.bytes_peak > s0.bytes_live + (1 << 20) ? s0.bytes_peak
                                                                       : s0.bytes_live + (1 << 20)));
}

static void test_truncated_prefixes(void)
{
    size_t n;
    unsigned char *b = fixture_bytes(&n);
    CHECK(b != NULL);
    if (!b) return;
    uint64_t base = t_live_bytes();
    lam_safetensors *st;
    for (size_t len = 0; len < n; len++) {
        lam_status s = lam_safetensors_open_mem(b, len, "trunc", &st);
        CHECK_MSG(s == LAM_ERR_FORMAT && st == NULL, "prefix %zu: %s", len, lam_status_str(s));
    }
    CHECK_OK(lam_safetensors_open_mem(b, n, "full", &st));
    lam_safetensors_close(st);
    /* a few through real files */
    char p[128];
    tpath(p, sizeof p, "trunc.safetensors");
    for (size_t len = 0; len < n; len += 37) {
        t_spit(p, b, len);
        CHECK(lam_safetensors_open(p, &st) == LAM_ERR_FORMAT);
    }
    CHECK(t_live_bytes() == base);
    free(b);
}

static void test_byte_flips(void)
{
    size_t n;
    unsigned char *b = fixture_bytes(&n);
    CHECK(b != NULL);
    if (!b) return;
    unsigned char *c = malloc(n);
    uint64_t base = t_live_bytes();
    lam_rng rng;
    lam_rng_seed(&rng, 12345);
    int n_ok = 0, n_fmt = 0;
    for (int trial = 0; trial < 4000; trial++) {
        memcpy(c, b, n);
        int flips = 1 + (int)lam_rng_below(&rng, 3);
        for (int k = 0; k < flips; k++) {
            /* mostly the header, where the rules are */
            size_t at = lam_rng_below(&rng, 4) ? lam_rng_below(&rng, (uint32_t)(n < 400 ? n : 400))
                                               : lam_rng_below(&rng, (uint32_t)n);
            if (lam_rng_below(&rng, 2)) c[at] ^= (unsigned char)(1u << lam_rng_below(&rng, 8));
            else c[at] = (unsigned char)lam_rng_below(&rng, 256);
        }
        lam_safetensors *st = NULL;
        lam_status s = lam_safetensors_open_mem(c, n, "flip", &st);
        CHECK_MSG(s == LAM_OK || s == LAM_ERR_FORMAT || s == LAM_ERR_UNSUPPORTED, "%s",
                  lam_status_str(s));
        if (s == LAM_OK) {
            n_ok++;
            for (size_t i = 0; i < lam_safetensors_count(st); i++) {
                const lam_st_tensor *t = lam_safetensors_at(st, i);
                CHECK(t->data && (size_t)lam_shape_numel(&t->shape) * lam_dtype_size(t->dtype) == t->nbytes);
                CHECK(t->file_offset + t->nbytes <= n);
            }
        } else {
            n_fmt++;
            CHECK(st == NULL && lam_last_error()[0]);
        }
        lam_safetensors_close(st);
    }
    CHECK(n_ok > 0 && n_fmt > 0);
    CHECK(t_live_bytes() == base);
    free(c);
    free(b);
}

static void test_fault_injection(void)
{
    fixture f;
    make_fixture(&f);
    char p[128];
    tpath(p, sizeof p, "faults.safetensors");
    CHECK_OK(lam_safetensors_write(p, f.e, 2, NULL, 0)); /* the "old" file */
    size_t n0;
    unsigned char *old = t_slurp_exact(p, &n0);
    uint64_t base = t_live_bytes();
    bool done = false;
    for (uint64_t k = 1; k < 100 && !done; k++) {
        lam_alloc_fail_after(k);
        lam_status s = lam_safetensors_write(p, f.e, 8, f.m, 4);
        lam_alloc_fail_after(0);
        CHECK_MSG(s == LAM_OK || s == LAM_ERR_NOMEM, "write k=%d: %s", (int)k, lam_status_str(s));
        CHECK(t_live_bytes() == base && t_count_files(t_tmpdir, ".tmp.") == 0);
        if (s == LAM_OK) done = true;
        else {
            size_t n1;
            unsigned char *now = t_slurp_exact(p, &n1);
            CHECK(now && n1 == n0 && memcmp(now, old, n0) == 0);
            free(now);
        }
    }
    CHECK(done);
    free(old);
    for (int mode = 0; mode < 2; mode++) {
        size_t n = 0;
        unsigned char *b = t_slurp_exact(p, &n);
        done = false;
        for (uint64_t k = 1; k < 100 && !done; k++) {
            lam_safetensors *st = NULL;
            lam_alloc_fail_after(k);
            lam_status s = mode ? lam_safetensors_open_mem(b, n, "m", &st) : lam_safetensors_open(p, &st);
            lam_alloc_fail_after(0);
            CHECK_MSG(s == LAM_OK || s == LAM_ERR_NOMEM, "open k=%d: %s", (int)k, lam_status_str(s));
            if (s == LAM_OK) {
                done = true;
                check_fixture(st, &f);
            } else
                CHECK(st == NULL);
            lam_safetensors_close(st);
            CHECK(t_live_bytes() == base);
        }
        CHECK(done);
        free(b);
    }
}

int main(void)
{
    if (!t_mkdtemp("/tmp/lamina_st_XXXXXX")) return 1;
    RUN(test_json_valid);
    RUN(test_json_invalid);
    RUN(test_json_write);
    RUN(test_json_locale);
    RUN(test_json_faults);
    RUN(test_no_alloc_before_validation);
    RUN(test_roundtrip);
    RUN(test_exact_format);
    RUN(test_atomic_replace);
    RUN(test_write_failures);
    RUN(test_write_bad_args);
    RUN(test_malformed_headers);
    RUN(test_bad_lengths);
    RUN(test_truncated_prefixes);
    RUN(test_byte_flips);
    RUN(test_fault_injection);
    t_rm_tree(t_tmpdir);
    TEST_MAIN_END;
}
