/* Seeded train/test splits of a lam_dataset: plain (scikit-learn ShuffleSplit
 * rule: permute, the first ceil(f*n) rows are the test part) and stratified
 * (per-class quotas by largest remainders).  Only lam_rng draws decide the
 * split, so a seed gives the same split on every platform.  Token data sets
 * split through lam_dataset_subset like any other (each part gets rows of
 * its own); windows of one language-modelling stream overlap, so those are
 * split by position with lam_dataset_lm_split (text.c) instead. */
#include "lamina/data.h"

#include <math.h>
#include <string.h>

lam_split_opts lam_split_opts_defaults(void)
{
    return (lam_split_opts){.test_fraction = 0.25, .seed = 0, .stratify = false};
}

/* Per-class test quotas: floor(n_test * n_c / n) plus one for the classes with
 * the largest remainders until the quotas sum to n_test (ties: lower class). */
static void class_quotas(const int64_t *counts, int32_t k, int64_t n, int64_t n_test,
                         int64_t *quota, uint64_t *rem)
{
    int64_t sum = 0;
    for (int32_t c = 0; c < k; c++) {
        uint64_t p = (uint64_t)n_test * (uint64_t)counts[c]; /* < 2^64: both <= 2^32-1 */
        quota[c] = (int64_t)(p / (uint64_t)n);
        rem[c] = p % (uint64_t)n;
        sum += quota[c];
    }
    /* at most k-1 leftovers; each pass gives one to the largest remainder */
    while (sum < n_test) {
        int32_t best = -1;
        for (int32_t c = 0; c < k; c++)
            if (quota[c] < counts[c] && (best < 0 || rem[c] > rem[best])) best = c;
        LAM_ASSERT(best >= 0);
        quota[best]++;
        rem[best] = 0;
        sum++;
    }
}

/* Fill perm[0..n) with the row order: test rows first (n_test of them), then
 * the training rows.  Returns LAM_ERR_NOMEM / LAM_ERR_FORMAT (bad label). */
static lam_status split_order(const lam_dataset *ds, const lam_split_opts *o, int64_t n_test,
                              uint32_t *perm)
{
    int64_t n = ds->n;
    lam_rng rng;
    lam_rng_seed(&rng, o->seed);
    if (!o->stratify) {
        for (int64_t i = 0; i < n; i++) perm[i] = (uint32_t)i;
        lam_rng_shuffle_u32(&rng, perm, (size_t)n);
        return LAM_OK;
    }
    int32_t k = ds->nclasses;
    int64_t *counts = lam_calloc((size_t)k, sizeof *counts);
    int64_t *quota = lam_calloc((size_t)k, sizeof *quota);
    uint64_t *rem = lam_calloc((size_t)k, sizeof *rem);
    uint32_t *bycls = lam_calloc((size_t)n, sizeof *bycls);
    lam_status st = LAM_ERR_NOMEM;
    if (!counts || !quota || !rem || !bycls) goto done;
    if ((st = lam_dataset_class_counts(ds, counts)) != LAM_OK) goto done;
    class_quotas(counts, k, n, n_test, quota, rem);
    /* rows grouped by class (stable), then each class shuffled and dealt */
    int64_t start = 0, t = 0, r = n_test;
    for (int32_t c = 0; c < k; c++) {
        int64_t m = 0;
        for (int64_t i = 0; i < n; i++)
            if (ds->labels[i] == c) bycls[start + m++] = (uint32_t)i;
        lam_rng_shuffle_u32(&rng, bycls + start, (size_t)m);
        for (int64_t i = 0; i < m; i++) {
            if (i < quota[c]) perm[t++] = bycls[start + i];
            else perm[r++] = bycls[start + i];
        }
        start += m;
    }
    LAM_ASSERT(t == n_test && r == n);
    lam_rng_shuffle_u32(&rng, perm, (size_t)n_test);
    lam_rng_shuffle_u32(&rng, perm + n_test, (size_t)(n - n_test));
    st = LAM_OK;
done:
    lam_free(counts);
    lam_free(quota);
    lam_free(rem);
    lam_free(bycls);
    return st;
}

lam_status lam_dataset_split_ex(const lam_dataset *ds, const lam_split_opts *opts,
                                lam_dataset **train, lam_dataset **test)
{
    if (!train || !test) return lam_fail(LAM_ERR_ARG, "lam_dataset_split: output is NULL");
    *train = *test = NULL;
    if (!ds) return lam_fail(LAM_ERR_ARG, "lam_dataset_split: ds is NULL");
    lam_split_opts o = opts ? *opts : lam_split_opts_defaults();
    if (!(o.test_fraction > 0.0 && o.test_fraction < 1.0))
        return lam_fail(LAM_ERR_ARG,
                        "lam_dataset_split: test_fraction %g is outside (0, 1); hint: 0.2 "
                        "keeps 20%% of the rows for testing",
                        o.test_fraction);
    if (o.stratify && (ds->task != LAM_TASK_CLASSIFICATION || !ds->labels))
        return lam_fail(LAM_ERR_ARG,
                        "lam_dataset_split: stratify needs class labels, this is a %s data set%s",
                        lam_task_name(ds->task),
                        ds->next_token ? " with next-token targets (no per-row label)" : "");
    int64_t n = ds->n;
    double t = ceil(o.test_fraction * (double)n);
    int64_t n_test = (int64_t)t;
    if (n_test < 1 || n_test >= n)
        return lam_fail(LAM_ERR_ARG,
                        "lam_dataset_split: test_fraction %g of %lld rows leaves %lld test and "
                        "%lld training rows; both parts need at least one row",
                        o.test_fraction, (long long)n, (long long)n_test,
                        (long long)(n - n_test));
    uint32_t *perm = lam_calloc((size_t)n, sizeof *perm);
    if (!perm) return LAM_ERR_NOMEM;
    lam_status st = split_order(ds, &o, n_test, perm);
    if (st == LAM_OK) st = lam_dataset_subset(ds, perm, n_test, test);
    if (st == LAM_OK) st = lam_dataset_subset(ds, perm + n_test, n - n_test, train);
    lam_free(perm);
    if (st != LAM_OK) {
        lam_dataset_free(*train);
        lam_dataset_free(*test);
        *train = *test = NULL;
    }
    return st;
}

lam_status lam_dataset_split(const lam_dataset *ds, double test_fraction, uint64_t seed,
                             lam_dataset **train, lam_dataset **test)
{
    lam_split_opts o = lam_split_opts_defaults();
    o.test_fraction = test_fraction;
    o.seed = seed;
    return lam_dataset_split_ex(ds, &o, train, test);
}
