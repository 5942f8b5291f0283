/* The batch loader: a per-epoch permutation (identity, then Fisher-Yates with
 * the loader's own lam_rng when shuffling), batches gathered into caller
 * buffers without allocating, and a plain state struct for exact resume.
 * The permutation of an epoch is a function of the RNG state at the start of
 * that epoch alone, which is what the state saves. */
#include "lamina/data.h"

#include <string.h>

struct lam_loader {
    const lam_dataset *ds;
    lam_loader_opts o;
    uint32_t *perm;    /* [n] order of the current epoch */
    lam_rng rng;       /* advanced by each epoch's shuffle */
    lam_rng epoch_rng; /* rng before the current epoch's shuffle */
    uint64_t epoch, pos, n;
};

lam_loader_opts lam_loader_opts_defaults(void)
{
    return (lam_loader_opts){.batch_size = 32, .shuffle = true, .drop_last = false, .seed = 0};
}

/* Build the permutation of the epoch that starts with l->rng. */
static void start_epoch(lam_loader *l)
{
    l->epoch_rng = l->rng;
    for (uint64_t i = 0; i < l->n; i++) l->perm[i] = (uint32_t)i;
    if (l->o.shuffle) lam_rng_shuffle_u32(&l->rng, l->perm, (size_t)l->n);
    l->pos = 0;
}

lam_status lam_loader_new(const lam_dataset *ds, const lam_loader_opts *opts, lam_loader **out)
{
    if (!out) return lam_fail(LAM_ERR_ARG, "lam_loader_new: out is NULL");
    *out = NULL;
    lam_loader_opts o = opts ? *opts : lam_loader_opts_defaults();
    if (!ds || ds->n < 1 || ds->n > LAM_DATASET_MAX_ROWS)
        return lam_fail(LAM_ERR_ARG, "lam_loader_new: the data set is %s",
                        ds ? "empty" : "NULL");
    if (o.batch_size < 1)
        return lam_fail(LAM_ERR_ARG, "lam_loader_new: batch_size %d must be >= 1", o.batch_size);
    lam_loader *l = lam_calloc(1, sizeof *l);
    if (!l) return LAM_ERR_NOMEM;
    l->ds = ds;
    l->o = o;
    l->n = (uint64_t)ds->n;
    l->perm = lam_calloc((size_t)l->n, sizeof *l->perm);
    if (!l->perm) {
        lam_free(l);
        return LAM_ERR_NOMEM;
    }
    lam_rng_seed(&l->rng, o.seed);
    start_epoch(l);
    *out = l;
    return LAM_OK;
}

void lam_loader_free(lam_loader *l)
{
    if (!l) return;
    lam_free(l->perm);
    lam_free(l);
}

/* Rows of the next batch: start l->pos, count *k; false at the epoch end, in
 * which case the next epoch is started. */
static bool next_range(lam_loader *l, uint64_t *k)
{
    uint64_t left = l->n - l->pos, bs = (uint64_t)l->o.batch_size;
    if (left == 0 || (l->o.drop_last && left < bs)) {
        l->epoch++;
        start_epoch(l);
        *k = 0;
        return false;
    }
    *k = left < bs ? left : bs;
    return true;
}

bool lam_loader_next_indices(lam_loader *l, uint32_t *idx, int *batch_n)
{
    uint64_t k;
    if (batch_n) *batch_n = 0;
    if (!l) return false;
    if (!next_range(l, &k)) return false;
    if (idx) memcpy(idx, l->perm + l->pos, (size_t)k * sizeof *idx);
    l->pos += k;
    if (batch_n) *batch_n = (int)k;
    return true;
}

bool lam_loader_next(lam_loader *l, float *xbuf, int32_t *labels, float *ybuf, int *batch_n)
{
    uint64_t k;
    if (batch_n) *batch_n = 0;
    if (!l) return false;
    if (!next_range(l, &k)) return false;
    const lam_dataset *ds = l->ds;
    const uint32_t *p = l->perm + l->pos;
    size_t fx = (size_t)ds->nfeat, fy = (size_t)ds->ntargets;
    for (uint64_t i = 0; i < k; i++) {
        size_t r = p[i];
        if (xbuf && ds->x) memcpy(xbuf + i * fx, ds->x + r * fx, fx * sizeof(float));
        if (labels && ds->labels) labels[i] = ds->labels[r];
        if (ybuf && ds->y) memcpy(ybuf + i * fy, ds->y + r * fy, fy * sizeof(float));
    }
    l->pos += k;
    if (batch_n) *batch_n = (int)k;
    return true;
}

int64_t lam_loader_num_batches(const lam_loader *l)
{
    uint64_t bs = (uint64_t)l->o.batch_size;
    return (int64_t)(l->o.drop_last ? l->n / bs : (l->n + bs - 1) / bs);
}

uint64_t lam_loader_epoch(const lam_loader *l) { return l->epoch; }

void lam_loader_get_state(const lam_loader *l, lam_loader_state *st)
{
    st->epoch_rng = l->epoch_rng;
    st->epoch = l->epoch;
    st->pos = l->pos;
    st->n = l->n;
}

lam_status lam_loader_set_state(lam_loader *l, const lam_loader_state *st)
{
    if (!l || !st) return lam_fail(LAM_ERR_ARG, "lam_loader_set_state: NULL argument");
    if (st->n != l->n)
        return lam_fail(LAM_ERR_ARG,
                        "lam_loader_set_state: the saved loader ran over %llu samples, this "
                        "data set has %llu; hint: resume with the same data and split",
                        (unsigned long long)st->n, (unsigned long long)l->n);
    if (st->pos > st->n)
        return lam_fail(LAM_ERR_ARG,
                        "lam_loader_set_state: position %llu is past the %llu samples",
                        (unsigned long long)st->pos, (unsigned long long)st->n);
    if (!(st->epoch_rng.s[0] | st->epoch_rng.s[1] | st->epoch_rng.s[2] | st->epoch_rng.s[3]))
        return lam_fail(LAM_ERR_ARG, "lam_loader_set_state: the RNG state is all zero "
                                     "(not a saved state)");
    l->rng = st->epoch_rng;
    l->epoch = st->epoch;
    start_epoch(l);
    l->pos = st->pos;
    return LAM_OK;
}
