/* Fuzz the IDX reader (src/data/idx.c, gzsrc.c): lam_idx_read and
 * lam_idx_peek on the input as one file, and lam_dataset_from_idx on an
 * image file and a label file.  An input holding the separator SEP is cut
 * there: the bytes before it are the image file, the bytes after it the
 * label file (seeds in fuzz/corpus/idx are built that way); an input
 * without it is used as both.  Either file may be gzip (zlib decides from
 * the content).  Every accepted array must agree with its header; every
 * accepted data set must pass lam_dataset_check. */
#include "fuzz_common.h"

#define SEP "\n--lamina-idx-labels--\n"

static void check_idx(const char *path, size_t size)
{
    lam_idx *m = (lam_idx *)&m;
    lam_status s = lam_idx_read(path, &m);
    lam_idx h;
    lam_status sp = lam_idx_peek(path, &h);
    if (s != LAM_OK) {
        fz_check_failure(s, "lam_idx_read");
        FZ_CHECK(m == NULL, "failure left *out set");
        return;
    }
    FZ_CHECK(sp == LAM_OK, "lam_idx_read accepts what lam_idx_peek rejects: %s", lam_last_error());
    FZ_CHECK(m->ndim >= 1 && m->ndim <= LAM_IDX_MAX_DIMS, "ndim %d", m->ndim);
    int64_t numel = 1;
    for (int i = 0; i < m->ndim; i++) {
        FZ_CHECK(m->dims[i] >= 1, "dimension %d is %lld", i, (long long)m->dims[i]);
        numel *= m->dims[i];
    }
    FZ_CHECK(numel == m->numel && numel <= LAM_IDX_MAX_ELEMS, "numel %lld, dims give %lld",
             (long long)m->numel, (long long)numel);
    FZ_CHECK(h.numel == m->numel && h.type == m->type && h.ndim == m->ndim, "peek disagrees");
    size_t bytes = (size_t)m->numel * lam_idx_type_size(m->type);
    if (!m->gzip) FZ_CHECK(bytes + 4 + 4 * (size_t)m->ndim == size, "plain file of %zu bytes, header says %zu", size, bytes);
    fz_touch(m->data, bytes);
    lam_idx_free(m);
}

static void check_pair(const char *im, const char *lb, bool raw, int32_t nclasses)
{
    lam_idx_opts o = lam_idx_opts_defaults();
    o.raw = raw;
    o.nclasses = nclasses;
    lam_dataset *ds = (lam_dataset *)&ds;
    lam_status s = lam_dataset_from_idx(im, lb, &o, &ds);
    if (s != LAM_OK) {
        fz_check_failure(s, "lam_dataset_from_idx");
        FZ_CHECK(ds == NULL, "failure left *out set");
        return;
    }
    FZ_CHECK(lam_dataset_check(ds) == LAM_OK, "from_idx returned a data set that fails the check: %s",
             lam_last_error());
    FZ_CHECK(ds->labels && ds->nclasses >= 1 && (nclasses == 0 || ds->nclasses == nclasses), "classes");
    FZ_CHECK(lam_shape_numel(&ds->sample_shape) == ds->nfeat, "sample shape");
    fz_touch(ds->x, (size_t)ds->n * (size_t)ds->nfeat * sizeof(float));
    lam_dataset_free(ds);
}

FZ_INITIALIZE(FZ_MEM_TRAP, (size_t)256 << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t live = fz_live();
    const uint8_t *cut = memmem(data, size, SEP, sizeof SEP - 1);
    size_t na = cut ? (size_t)(cut - data) : size;
    const char *pa = fz_write("images.idx", data, na);
    const char *pb = pa;
    size_t nb = na;
    if (cut) {
        nb = size - na - (sizeof SEP - 1);
        pb = fz_write("labels.idx", cut + sizeof SEP - 1, nb);
    }
    check_idx(pa, na);
    if (cut) check_idx(pb, nb);
    check_pair(pa, pb, size & 1, 0);
    check_pair(pa, pb, false, 10);
    FZ_CHECK_NO_LEAK(live);
    return 0;
}
