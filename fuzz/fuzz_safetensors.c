/* Fuzz the safetensors reader (src/io/safetensors.c and the strict JSON
 * parser under it).  Each input is opened twice, from memory and from a file
 * (the two paths must agree on the status); an accepted file is walked
 * (every tensor's bytes read, lookups by name, metadata) and written back
 * with lam_safetensors_write, and the copy must open to the same tensors and
 * metadata. */
#include "fuzz_common.h"

static void roundtrip(const lam_safetensors *st)
{
    size_t n = lam_safetensors_count(st), nm = lam_safetensors_meta_count(st);
    lam_st_entry *e = calloc(n ? n : 1, sizeof *e);
    lam_st_meta *m = calloc(nm ? nm : 1, sizeof *m);
    FZ_CHECK(e && m, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const lam_st_tensor *t = lam_safetensors_at(st, i);
        e[i] = (lam_st_entry){t->name, t->dtype, t->shape, t->data};
    }
    for (size_t i = 0; i < nm; i++) m[i] = *lam_safetensors_meta_at(st, i);
    const char *p = fz_path("copy.safetensors");
    lam_status s = lam_safetensors_write(p, e, n, m, nm);
    /* everything the reader accepts, the writer must write (except a header
     * that grows past the cap when re-encoded, which the fuzzer cannot reach) */
    FZ_CHECK(s == LAM_OK, "writing back an accepted file failed: %s", lam_status_str(s));
    lam_safetensors *st2 = NULL;
    s = lam_safetensors_open(p, &st2);
    FZ_CHECK(s == LAM_OK, "the written copy does not open: %s", lam_status_str(s));
    FZ_CHECK(lam_safetensors_count(st2) == n && lam_safetensors_meta_count(st2) == nm,
             "the copy has other counts");
    for (size_t i = 0; i < n; i++) {
        const lam_st_tensor *a = lam_safetensors_at(st, i), *b = lam_safetensors_at(st2, i);
        FZ_CHECK(!strcmp(a->name, b->name) && a->dtype == b->dtype && a->nbytes == b->nbytes &&
                     lam_shape_eq(&a->shape, &b->shape) && !memcmp(a->data, b->data, a->nbytes),
                 "tensor %zu differs in the copy", i);
    }
    for (size_t i = 0; i < nm; i++) {
        const lam_st_meta *a = lam_safetensors_meta_at(st, i), *b = lam_safetensors_meta_at(st2, i);
        FZ_CHECK(!strcmp(a->key, b->key) && !strcmp(a->value, b->value), "metadata %zu differs", i);
    }
    lam_safetensors_close(st2);
    free(e);
    free(m);
}

static void walk(const lam_safetensors *st, size_t size)
{
    size_t n = lam_safetensors_count(st);
    for (size_t i = 0; i < n; i++) {
        const lam_st_tensor *t = lam_safetensors_at(st, i);
        FZ_CHECK(t && t->name && t->data, "tensor %zu incomplete", i);
        FZ_CHECK(((uintptr_t)t->data & 63) == 0, "tensor %s not 64-byte aligned", t->name);
        int64_t numel = lam_shape_numel(&t->shape);
        FZ_CHECK(numel >= 0 && (size_t)numel * lam_dtype_size(t->dtype) == t->nbytes,
                 "tensor %s: nbytes %zu disagrees with its shape", t->name, t->nbytes);
        FZ_CHECK(t->file_offset + t->nbytes <= size, "tensor %s extends past the file", t->name);
        if (i) FZ_CHECK(strcmp(lam_safetensors_at(st, i - 1)->name, t->name) < 0, "not in name order");
        fz_touch(t->data, t->nbytes);
        FZ_CHECK(lam_safetensors_find(st, t->name) == t, "find(%s) is another tensor", t->name);
        const lam_st_tensor *g = NULL;
        FZ_CHECK(lam_safetensors_get(st, t->name, t->dtype, &t->shape, &g) == LAM_OK && g == t,
                 "get(%s) with its own dtype and shape failed", t->name);
    }
    FZ_CHECK(lam_safetensors_at(st, n) == NULL, "at(count) is not NULL");
    size_t nm = lam_safetensors_meta_count(st);
    for (size_t i = 0; i < nm; i++) {
        const lam_st_meta *m = lam_safetensors_meta_at(st, i);
        FZ_CHECK(m && m->key && m->value, "metadata %zu incomplete", i);
        FZ_CHECK(lam_safetensors_meta(st, m->key) == m->value, "meta(%s) is another value", m->key);
        fz_touch(m->value, strlen(m->value));
    }
    FZ_CHECK(lam_safetensors_find(st, "__metadata__") == NULL, "__metadata__ is a tensor");
}

FZ_INITIALIZE(FZ_MEM_TRAP, (size_t)256 << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t live = fz_live();
    lam_safetensors *st = (lam_safetensors *)&st; /* must be reset to NULL on failure */
    lam_status s = lam_safetensors_open_mem(data, size, "fuzz", &st);
    const char *p = fz_write("in.safetensors", data, size);
    lam_safetensors *sf = (lam_safetensors *)&sf;
    lam_status sfile = lam_safetensors_open(p, &sf);
    FZ_CHECK(s == sfile, "open_mem says %s, open says %s", lam_status_str(s), lam_status_str(sfile));
    if (s == LAM_OK) {
        walk(st, size);
        walk(sf, size);
        roundtrip(st);
    } else {
        fz_check_failure(s, "lam_safetensors_open_mem");
        FZ_CHECK(st == NULL && sf == NULL, "failure left *out set");
    }
    lam_safetensors_close(s == LAM_OK ? st : NULL);
    lam_safetensors_close(sfile == LAM_OK ? sf : NULL);
    FZ_CHECK_NO_LEAK(live);
    return 0;
}
