/* Fuzz the NumPy readers (src/io/npy.c, npz.c, npz_write.c and
 * src/data/npy_data.c).  Each input is read as a .npy file from memory and
 * from a file (the two must agree on the status and, when accepted, on the
 * array), and as an .npz archive, opened from memory and from a file (again
 * agreeing), with every member read both ways.  An accepted array must
 * agree with its own description (shape, element count, byte count no
 * larger than the input could hold, 64-byte aligned data), convert to float
 * or fail cleanly, make a data set that passes lam_dataset_check or fail
 * cleanly, and survive a write-back: lam_npy_write / lam_npz_write (stored
 * or deflated) and a re-read must give the same arrays. */
#include "fuzz_common.h"

static void check_array(const lam_npy *a, size_t limit, const char *what)
{
    FZ_CHECK(a && a->data, "%s: no array or no data", what);
    FZ_CHECK((unsigned)a->dtype < LAM_NPY_DTYPE_COUNT_, "%s: dtype %d", what, (int)a->dtype);
    FZ_CHECK(a->ndim >= 0 && a->ndim <= LAM_NPY_MAX_DIMS, "%s: ndim %d", what, a->ndim);
    int64_t numel = 1;
    for (int i = 0; i < a->ndim; i++) {
        FZ_CHECK(a->dims[i] >= 0, "%s: dimension %d is %lld", what, i, (long long)a->dims[i]);
        numel *= a->dims[i];
    }
    FZ_CHECK(numel == a->numel, "%s: numel %lld, dims give %lld", what, (long long)a->numel, (long long)numel);
    FZ_CHECK(a->nbytes == (size_t)numel * lam_npy_dtype_size(a->dtype), "%s: nbytes %zu", what, a->nbytes);
    FZ_CHECK(a->nbytes <= limit, "%s: %zu bytes from at most %zu", what, a->nbytes, limit);
    FZ_CHECK(((uintptr_t)a->data & 63) == 0, "%s: data not 64-byte aligned", what);
    fz_touch(a->data, a->nbytes);
}

static bool same(const lam_npy *a, const lam_npy *b)
{
    if (a->dtype != b->dtype || a->ndim != b->ndim || a->nbytes != b->nbytes) return false;
    for (int i = 0; i < a->ndim; i++)
        if (a->dims[i] != b->dims[i]) return false;
    return !memcmp(a->data, b->data, a->nbytes);
}

/* Conversion to float and a data set (x = a; y = a as labels when a is a
 * vector, as targets when it is a matrix). */
static void convert(const lam_npy *a)
{
    float *f = malloc(a->numel ? (size_t)a->numel * sizeof *f : 1);
    FZ_CHECK(f != NULL, "out of memory");
    lam_status s = lam_npy_to_f32(a, f);
    if (s != LAM_OK) {
        FZ_CHECK(s == LAM_ERR_FORMAT, "lam_npy_to_f32 returned %s", lam_status_str(s));
        fz_check_failure(s, "lam_npy_to_f32");
    }
    free(f);
    if (a->ndim < 1 || a->ndim > 2) return;
    lam_npy_data_opts o = lam_npy_data_opts_defaults();
    o.task = a->ndim == 1 ? LAM_TASK_CLASSIFICATION : LAM_TASK_REGRESSION;
    lam_dataset *ds = (lam_dataset *)&ds;
    s = lam_dataset_from_npy(a, a, &o, &ds);
    if (s != LAM_OK) {
        fz_check_failure(s, "lam_dataset_from_npy");
        FZ_CHECK(ds == NULL, "failure left *out set");
        return;
    }
    FZ_CHECK(lam_dataset_check(ds) == LAM_OK, "a data set that fails the check: %s", lam_last_error());
    FZ_CHECK(ds->n == a->dims[0] && lam_shape_numel(&ds->sample_shape) == ds->nfeat, "data set shape");
    lam_dataset_free(ds);
}

static void rewrite_npy(const lam_npy *a)
{
    const char *p = fz_path("copy.npy");
    lam_status s = lam_npy_write(p, a->dtype, a->ndim, a->dims, a->data);
    FZ_CHECK(s == LAM_OK, "writing back an accepted array failed: %s", lam_last_error());
    lam_npy *b = NULL;
    s = lam_npy_read(p, &b);
    FZ_CHECK(s == LAM_OK, "the written copy does not read: %s", lam_last_error());
    FZ_CHECK(same(a, b), "the copy differs");
    lam_npy_free(b);
}

static void fuzz_npy(const uint8_t *data, size_t size, const char *path)
{
    lam_npy *a = (lam_npy *)&a, *b = (lam_npy *)&b;
    lam_status s = lam_npy_read_mem(data, size, "fuzz", &a);
    lam_status sf = lam_npy_read(path, &b);
    FZ_CHECK(s == sf, "read_mem says %s, read says %s", lam_status_str(s), lam_status_str(sf));
    if (s != LAM_OK) {
        fz_check_failure(s, "lam_npy_read_mem");
        FZ_CHECK(a == NULL && b == NULL, "failure left *out set");
        return;
    }
    check_array(a, size, "npy");
    FZ_CHECK(same(a, b), "memory and file reads differ");
    convert(a);
    rewrite_npy(a);
    lam_npy_free(a);
    lam_npy_free(b);
}

static void fuzz_npz(const uint8_t *data, size_t size, const char *path)
{
    lam_npz *z = (lam_npz *)&z, *zf = (lam_npz *)&zf;
    lam_status s = lam_npz_open_mem(data, size, "fuzz", &z);
    lam_status sf = lam_npz_open(path, &zf);
    FZ_CHECK(s == sf, "open_mem says %s, open says %s", lam_status_str(s), lam_status_str(sf));
    if (s != LAM_OK) {
        fz_check_failure(s, "lam_npz_open_mem");
        FZ_CHECK(z == NULL && zf == NULL, "failure left *out set");
        return;
    }
    size_t n = lam_npz_count(z);
    FZ_CHECK(n == lam_npz_count(zf) && n <= size / 46 + 1, "%zu members", n);
    FZ_CHECK(lam_npz_name(z, n) == NULL, "name(count) is not NULL");
    lam_npy **arr = calloc(n ? n : 1, sizeof *arr);
    lam_npz_entry *e = calloc(n ? n : 1, sizeof *e);
    FZ_CHECK(arr && e, "out of memory");
    size_t good = 0;
    for (size_t i = 0; i < n; i++) {
        const char *name = lam_npz_name(z, i);
        FZ_CHECK(name && !strcmp(name, lam_npz_name(zf, i)), "member %zu's name", i);
        FZ_CHECK(lam_npz_find(z, name) == (int64_t)i, "find(%s) is not %zu", name, i);
        lam_npy *a = (lam_npy *)&a, *b = (lam_npy *)&b;
        lam_status r = lam_npz_read(z, name, &a), rf = lam_npz_read(zf, name, &b);
        FZ_CHECK(r == rf, "member %zu: memory says %s, file says %s", i, lam_status_str(r), lam_status_str(rf));
        if (r != LAM_OK) {
            fz_check_failure(r, "lam_npz_read");
            FZ_CHECK(a == NULL && b == NULL, "failure left *out set");
            continue;
        }
        /* deflate gives at most 1032 bytes per compressed byte */
        check_array(a, size * 1032 + 1032, "npz member");
        FZ_CHECK(same(a, b), "member %zu: memory and file reads differ", i);
        lam_npy_free(b);
        arr[good] = a;
        e[good] = (lam_npz_entry){name, a->dtype, a->ndim, a->dims, a->data};
        good++;
    }
    /* the members that read, written back and read again */
    const char *p = fz_path("copy.npz");
    s = lam_npz_write(p, e, good, size & 1);
    FZ_CHECK(s == LAM_OK, "writing back %zu members failed: %s", good, lam_last_error());
    lam_npz *z2 = NULL;
    s = lam_npz_open(p, &z2);
    FZ_CHECK(s == LAM_OK && lam_npz_count(z2) == good, "the written copy does not open: %s", lam_last_error());
    for (size_t i = 0; i < good; i++) {
        lam_npy *c = NULL;
        s = lam_npz_read(z2, e[i].name, &c);
        FZ_CHECK(s == LAM_OK && same(arr[i], c), "member %s differs in the copy: %s", e[i].name, lam_last_error());
        lam_npy_free(c);
    }
    lam_npz_close(z2);
    for (size_t i = 0; i < good; i++) lam_npy_free(arr[i]);
    free(arr);
    free(e);
    lam_npz_close(z);
    lam_npz_close(zf);
}

FZ_INITIALIZE(FZ_MEM_TRAP, (size_t)256 << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t live = fz_live();
    const char *path = fz_write("in.bin", data, size);
    fuzz_npy(data, size, path);
    fuzz_npz(data, size, path);
    FZ_CHECK_NO_LEAK(live);
    return 0;
}
