/* The lam_dataset object: allocation (float features or token ids), names,
 * sample shape, invariant checks, row gathering (subset) and per-class
 * counts.  Splits live in split.c, the CSV reader in csv.c, the text and
 * time-series readers in text.c and timeseries.c. */
#include "dataset_internal.h"

#include <math.h>
#include <string.h>

const char *lam_task_name(lam_task t)
{
    switch (t) {
    case LAM_TASK_CLASSIFICATION: return "classification";
    case LAM_TASK_REGRESSION: return "regression";
    }
    return "?";
}

static void free_names(char **names, int64_t k)
{
    if (!names) return;
    for (int64_t i = 0; i < k; i++) lam_free(names[i]);
    lam_free(names);
}

void lam_names_free_(char **names, int64_t k) { free_names(names, k); }

void lam_dataset_free(lam_dataset *ds)
{
    if (!ds) return;
    lam_free(ds->x);
    lam_free(ds->labels);
    lam_free(ds->y);
    lam_free(ds->ids);
    lam_free(ds->lengths);
    free_names(ds->feature_names, ds->nfeat);
    free_names(ds->class_names, ds->nclasses);
    free_names(ds->target_names, ds->ntargets);
    lam_free(ds);
}

lam_status lam_dataset_new(lam_task task, int64_t n, int64_t nfeat, int32_t nout,
                           lam_dataset **out)
{
    if (!out) return lam_fail(LAM_ERR_ARG, "lam_dataset_new: out is NULL");
    *out = NULL;
    if (task != LAM_TASK_CLASSIFICATION && task != LAM_TASK_REGRESSION)
        return lam_fail(LAM_ERR_ARG, "lam_dataset_new: unknown task %d", (int)task);
    if (n < 0 || n > LAM_DATASET_MAX_ROWS)
        return lam_fail(LAM_ERR_ARG, "lam_dataset_new: n = %lld outside [0, %lld]",
                        (long long)n, (long long)LAM_DATASET_MAX_ROWS);
    if (nfeat < 1 || nout < 1)
        return lam_fail(LAM_ERR_ARG,
                        "lam_dataset_new: nfeat = %lld and %s = %d must be >= 1",
                        (long long)nfeat,
                        task == LAM_TASK_CLASSIFICATION ? "nclasses" : "ntargets", (int)nout);
    size_t nx, ny;
    if (!lam_mul_size((size_t)n, (size_t)nfeat, &nx) || !lam_mul_size(nx, sizeof(float), &nx) ||
        !lam_mul_size((size_t)n, (size_t)nout, &ny) || !lam_mul_size(ny, sizeof(float), &ny))
        return lam_fail(LAM_ERR_NOMEM, "lam_dataset_new: %lld x %lld floats overflow size_t",
                        (long long)n, (long long)nfeat);
    lam_dataset *ds = lam_calloc(1, sizeof *ds);
    if (!ds) return LAM_ERR_NOMEM;
    ds->task = task;
    ds->n = n;
    ds->nfeat = nfeat;
    ds->sample_shape = lam_shape1(nfeat);
    ds->x = lam_calloc(1, nx ? nx : 1);
    if (task == LAM_TASK_CLASSIFICATION) {
        ds->nclasses = nout;
        ds->labels = lam_calloc(n ? (size_t)n : 1, sizeof(int32_t));
    } else {
        ds->ntargets = nout;
        ds->y = lam_calloc(1, ny ? ny : 1);
    }
    if (!ds->x || (!ds->labels && !ds->y)) {
        lam_dataset_free(ds);
        return LAM_ERR_NOMEM;
    }
    *out = ds;
    return LAM_OK;
}

lam_status lam_dataset_new_ids_strided_(int64_t n, int64_t nfeat, int64_t stride, int32_t vocab,
                                        int32_t nclasses, bool next_token, bool with_lengths,
                                        lam_dataset **out)
{
    if (!out) return lam_fail(LAM_ERR_ARG, "lam_dataset_new_ids: out is NULL");
    *out = NULL;
    if (n < 0 || n > LAM_DATASET_MAX_ROWS)
        return lam_fail(LAM_ERR_ARG, "lam_dataset_new_ids: n = %lld outside [0, %lld]",
                        (long long)n, (long long)LAM_DATASET_MAX_ROWS);
    if (nfeat < 1 || nfeat > INT32_MAX || stride < 1 || stride > INT32_MAX)
        return lam_fail(LAM_ERR_ARG,
                        "lam_dataset_new_ids: nfeat = %lld and stride = %lld must be in [1, %d]",
                        (long long)nfeat, (long long)stride, INT32_MAX);
    if (vocab < 1 || (!next_token && nclasses < 1))
        return lam_fail(LAM_ERR_ARG,
                        "lam_dataset_new_ids: vocab = %d and nclasses = %d must be >= 1",
                        (int)vocab, (int)nclasses);
    /* ids_len = (n - 1) * stride + nfeat + next_token; every factor < 2^32 */
    uint64_t len = n ? (uint64_t)(n - 1) * (uint64_t)stride + (uint64_t)nfeat + next_token : 0;
    size_t bytes;
    if (len > (uint64_t)INT64_MAX || !lam_mul_size((size_t)len, sizeof(int32_t), &bytes))
        return lam_fail(LAM_ERR_NOMEM,
                        "lam_dataset_new_ids: %lld rows of %lld ids overflow the address space",
                        (long long)n, (long long)nfeat);
    lam_dataset *ds = lam_calloc(1, sizeof *ds);
    if (!ds) return LAM_ERR_NOMEM;
    ds->task = LAM_TASK_CLASSIFICATION;
    ds->n = n;
    ds->nfeat = nfeat;
    ds->sample_shape = lam_shape1(nfeat);
    ds->vocab = vocab;
    ds->ids_stride = stride;
    ds->ids_len = (int64_t)len;
    ds->next_token = next_token;
    ds->nclasses = next_token ? vocab : nclasses;
    ds->ids = lam_calloc(1, bytes ? bytes : 1);
    bool ok = ds->ids != NULL;
    if (ok && !next_token)
        ok = (ds->labels = lam_calloc(n ? (size_t)n : 1, sizeof(int32_t))) != NULL;
    if (ok && with_lengths) {
        ok = (ds->lengths = lam_calloc(n ? (size_t)n : 1, sizeof(int32_t))) != NULL;
        for (int64_t i = 0; ok && i < n; i++) ds->lengths[i] = (int32_t)nfeat;
    }
    if (!ok) {
        lam_dataset_free(ds);
        return LAM_ERR_NOMEM;
    }
    *out = ds;
    return LAM_OK;
}

lam_status lam_dataset_from_arrays(const float *x, int64_t n, int64_t nfeat, const int32_t *labels, int32_t nclasses,
                                   const float *y, int32_t ntargets, lam_dataset **out)
{
    if (!out) return lam_fail(LAM_ERR_ARG, "lam_dataset_from_arrays: out is NULL");
    *out = NULL;
    if (!x || n < 1 || n > LAM_DATASET_MAX_ROWS || nfeat < 1)
        return lam_fail(LAM_ERR_ARG, "lam_dataset_from_arrays: %lld rows of %lld features (x %s): need x, 1 to %lld "
                        "rows and at least one feature", (long long)n, (long long)nfeat, x ? "given" : "NULL",
                        (long long)LAM_DATASET_MAX_ROWS);
    if ((labels && y) || nclasses < 0 || (y && ntargets < 1))
        return lam_fail(LAM_ERR_ARG, "lam_dataset_from_arrays: give labels (with nclasses >= 0) or y (with ntargets "
                        ">= 1), not both");
    int32_t k = nclasses;
    if (labels && !k)
        for (int64_t i = 0; i < n; i++)
            if (labels[i] >= k) k = labels[i] == INT32_MAX ? INT32_MAX : labels[i] + 1;
    lam_task task = labels ? LAM_TASK_CLASSIFICATION : LAM_TASK_REGRESSION;
    lam_dataset *ds;
    lam_status s = lam_dataset_new(task, n, nfeat, labels ? (k > 0 ? k : 1) : y ? ntargets : 1, &ds);
    if (s != LAM_OK) return s;
    memcpy(ds->x, x, (size_t)n * (size_t)nfeat * sizeof(float));
    if (labels) {
        memcpy(ds->labels, labels, (size_t)n * sizeof(int32_t));
    } else if (y) {
        memcpy(ds->y, y, (size_t)n * (size_t)ntargets * sizeof(float));
    } else { /* features only */
        lam_free(ds->y);
        ds->y = NULL;
        ds->ntargets = 0;
    }
    if ((s = lam_dataset_check(ds)) != LAM_OK) {
        lam_dataset_free(ds);
        return s;
    }
    *out = ds;
    return LAM_OK;
}

lam_status lam_dataset_new_ids(int64_t n, int64_t nfeat, int32_t vocab, int32_t nclasses,
                               bool next_token, bool with_lengths, lam_dataset **out)
{
    return lam_dataset_new_ids_strided_(n, nfeat, nfeat + (next_token ? 1 : 0), vocab, nclasses,
                                        next_token, with_lengths, out);
}

/* Deep copy of k strings into a new array; NULL on NOMEM (nothing leaked). */
static char **copy_names(const char *const *names, int64_t k)
{
    char **c = lam_calloc((size_t)k, sizeof *c);
    if (!c) return NULL;
    for (int64_t i = 0; i < k; i++) {
        c[i] = lam_strdup(names[i]);
        if (!c[i]) {
            free_names(c, i);
            return NULL;
        }
    }
    return c;
}

char **lam_names_copy_(const char *const *names, int64_t k) { return copy_names(names, k); }

static lam_status set_names(char ***slot, int64_t k, const char *const *names, const char *what)
{
    if (names) {
        for (int64_t i = 0; i < k; i++)
            if (!names[i])
                return lam_fail(LAM_ERR_ARG, "lam_dataset_set_%s_names: name %lld is NULL",
                                what, (long long)i);
    }
    char **c = NULL;
    if (names && !(c = copy_names(names, k))) return LAM_ERR_NOMEM;
    free_names(*slot, k);
    *slot = c;
    return LAM_OK;
}

lam_status lam_dataset_set_feature_names(lam_dataset *ds, const char *const *names)
{
    if (!ds) return lam_fail(LAM_ERR_ARG, "lam_dataset_set_feature_names: ds is NULL");
    return set_names(&ds->feature_names, ds->nfeat, names, "feature");
}

lam_status lam_dataset_set_class_names(lam_dataset *ds, const char *const *names)
{
    if (!ds || ds->task != LAM_TASK_CLASSIFICATION)
        return lam_fail(LAM_ERR_ARG,
                        "lam_dataset_set_class_names: needs a classification data set");
    return set_names(&ds->class_names, ds->nclasses, names, "class");
}

lam_status lam_dataset_set_target_names(lam_dataset *ds, const char *const *names)
{
    if (!ds || ds->task != LAM_TASK_REGRESSION)
        return lam_fail(LAM_ERR_ARG,
                        "lam_dataset_set_target_names: needs a regression data set");
    return set_names(&ds->target_names, ds->ntargets, names, "target");
}

lam_status lam_dataset_set_sample_shape(lam_dataset *ds, lam_shape shape)
{
    if (!ds) return lam_fail(LAM_ERR_ARG, "lam_dataset_set_sample_shape: ds is NULL");
    bool ok = shape.ndim >= 1 && shape.ndim <= LAM_MAX_DIMS;
    int64_t numel = 1;
    for (int i = 0; ok && i < shape.ndim; i++) {
        if (shape.d[i] < 1 || numel > ds->nfeat / shape.d[i]) ok = false;
        else numel *= shape.d[i];
    }
    if (!ok || numel != ds->nfeat) {
        char buf[96];
        if (shape.ndim < 0 || shape.ndim > LAM_MAX_DIMS) shape.ndim = 0;
        return lam_fail(LAM_ERR_SHAPE,
                        "sample shape %s does not hold the %lld features of a sample; "
                        "hint: its dimensions must multiply to nfeat",
                        lam_shape_str(&shape, buf, sizeof buf), (long long)ds->nfeat);
    }
    ds->sample_shape = shape;
    return LAM_OK;
}

/* The token fields of a token data set: sizes, ids in [0, vocab), lengths. */
static lam_status check_ids(const lam_dataset *ds)
{
    int64_t w = ds->nfeat + (ds->next_token ? 1 : 0); /* ids read per row */
    if (ds->vocab < 1 || ds->ids_stride < 1 ||
        (ds->n > 0 && (ds->ids_len < w || (ds->ids_len - w) / ds->ids_stride < ds->n - 1)))
        return lam_fail(LAM_ERR_FORMAT,
                        "token data set: %lld rows of %lld ids at stride %lld do not fit in the "
                        "%lld ids (vocab %d)",
                        (long long)ds->n, (long long)w, (long long)ds->ids_stride,
                        (long long)ds->ids_len, (int)ds->vocab);
    if (ds->next_token && (ds->labels || ds->nclasses != ds->vocab))
        return lam_fail(LAM_ERR_FORMAT,
                        "token data set: next-token targets need labels NULL and nclasses = "
                        "vocab (%d), found nclasses %d",
                        (int)ds->vocab, (int)ds->nclasses);
    for (int64_t i = 0; i < ds->n; i++) {
        const int32_t *row = ds->ids + i * ds->ids_stride;
        for (int64_t j = 0; j < w; j++)
            if (row[j] < 0 || row[j] >= ds->vocab)
                return lam_fail(LAM_ERR_FORMAT,
                                "data set row %lld, %s %lld: token id %d outside [0, %d)",
                                (long long)i, j < ds->nfeat ? "position" : "next token",
                                (long long)(j < ds->nfeat ? j : j - 1), (int)row[j],
                                (int)ds->vocab);
        if (ds->lengths && (ds->lengths[i] < 1 || ds->lengths[i] > ds->nfeat))
            return lam_fail(LAM_ERR_FORMAT, "data set row %lld: length %d outside [1, %lld]",
                            (long long)i, (int)ds->lengths[i], (long long)ds->nfeat);
    }
    return LAM_OK;
}

lam_status lam_dataset_check(const lam_dataset *ds)
{
    if (!ds) return lam_fail(LAM_ERR_ARG, "lam_dataset_check: ds is NULL");
    if (ds->ids) {
        lam_status st = check_ids(ds);
        if (st != LAM_OK) return st;
    }
    for (int64_t i = 0; i < ds->n; i++) {
        const float *row = ds->x ? ds->x + i * ds->nfeat : NULL;
        for (int64_t j = 0; row && j < ds->nfeat; j++)
            if (!isfinite(row[j]))
                return lam_fail(LAM_ERR_FORMAT, "data set row %lld, feature %lld is %g",
                                (long long)i, (long long)j, (double)row[j]);
        if (ds->task == LAM_TASK_CLASSIFICATION) {
            if (ds->labels && (ds->labels[i] < 0 || ds->labels[i] >= ds->nclasses))
                return lam_fail(LAM_ERR_FORMAT,
                                "data set row %lld: label %d outside [0, %d)", (long long)i,
                                (int)ds->labels[i], (int)ds->nclasses);
        } else {
            for (int32_t k = 0; ds->y && k < ds->ntargets; k++)
                if (!isfinite(ds->y[i * ds->ntargets + k]))
                    return lam_fail(LAM_ERR_FORMAT, "data set row %lld, target %d is %g",
                                    (long long)i, (int)k, (double)ds->y[i * ds->ntargets + k]);
        }
    }
    return LAM_OK;
}

/* Token rows idx[0..m) of ds as rows of their own (ids_stride = nfeat, or
 * nfeat + 1 with next_token: each row keeps its window and next token). */
static lam_status subset_ids(const lam_dataset *ds, const uint32_t *idx, int64_t m,
                             lam_dataset **out)
{
    lam_dataset *s;
    lam_status st = lam_dataset_new_ids(m, ds->nfeat, ds->vocab, ds->nclasses, ds->next_token,
                                        ds->lengths != NULL, &s);
    if (st != LAM_OK) return st;
    size_t w = (size_t)s->ids_stride;
    for (int64_t i = 0; i < m; i++) {
        int64_t r = idx ? (int64_t)idx[i] : i;
        memcpy(s->ids + (size_t)i * w, ds->ids + r * ds->ids_stride, w * sizeof(int32_t));
        if (s->labels && ds->labels) s->labels[i] = ds->labels[r];
        if (s->lengths) s->lengths[i] = ds->lengths[r];
    }
    *out = s;
    return LAM_OK;
}

lam_status lam_dataset_subset(const lam_dataset *ds, const uint32_t *idx, int64_t m,
                              lam_dataset **out)
{
    if (!out) return lam_fail(LAM_ERR_ARG, "lam_dataset_subset: out is NULL");
    *out = NULL;
    if (!ds) return lam_fail(LAM_ERR_ARG, "lam_dataset_subset: ds is NULL");
    if (!idx) m = ds->n;
    if (m < 0) return lam_fail(LAM_ERR_ARG, "lam_dataset_subset: m = %lld", (long long)m);
    for (int64_t i = 0; idx && i < m; i++)
        if ((int64_t)idx[i] >= ds->n)
            return lam_fail(LAM_ERR_ARG,
                            "lam_dataset_subset: idx[%lld] = %u is out of range for %lld rows",
                            (long long)i, idx[i], (long long)ds->n);
    bool cls = ds->task == LAM_TASK_CLASSIFICATION;
    lam_dataset *s;
    lam_status st = ds->ids ? subset_ids(ds, idx, m, &s)
                            : lam_dataset_new(ds->task, m, ds->nfeat,
                                              cls ? ds->nclasses : ds->ntargets, &s);
    if (st != LAM_OK) return st;
    s->sample_shape = ds->sample_shape;
    if ((ds->feature_names &&
         !(s->feature_names = copy_names((const char *const *)ds->feature_names, ds->nfeat))) ||
        (ds->class_names &&
         !(s->class_names = copy_names((const char *const *)ds->class_names, ds->nclasses))) ||
        (ds->target_names &&
         !(s->target_names = copy_names((const char *const *)ds->target_names, ds->ntargets)))) {
        lam_dataset_free(s);
        return LAM_ERR_NOMEM;
    }
    if (ds->ids) {
        *out = s;
        return LAM_OK;
    }
    size_t rowx = (size_t)ds->nfeat * sizeof(float);
    size_t rowy = cls ? 0 : (size_t)ds->ntargets * sizeof(float);
    for (int64_t i = 0; i < m; i++) {
        int64_t r = idx ? (int64_t)idx[i] : i;
        memcpy(s->x + i * ds->nfeat, ds->x + r * ds->nfeat, rowx);
        if (cls) s->labels[i] = ds->labels[r];
        else memcpy(s->y + i * ds->ntargets, ds->y + r * ds->ntargets, rowy);
    }
    *out = s;
    return LAM_OK;
}

lam_status lam_dataset_class_counts(const lam_dataset *ds, int64_t *counts)
{
    if (!ds || !counts || ds->task != LAM_TASK_CLASSIFICATION)
        return lam_fail(LAM_ERR_ARG,
                        "lam_dataset_class_counts: needs a classification data set and a "
                        "counts array");
    if (!ds->labels)
        return lam_fail(LAM_ERR_ARG,
                        "lam_dataset_class_counts: this data set has no per-row labels (%s)",
                        ds->next_token ? "next-token targets" : "no outputs");
    memset(counts, 0, (size_t)ds->nclasses * sizeof *counts);
    for (int64_t i = 0; i < ds->n; i++) {
        int32_t c = ds->labels[i];
        if (c < 0 || c >= ds->nclasses)
            return lam_fail(LAM_ERR_FORMAT, "data set row %lld: label %d outside [0, %d)",
                            (long long)i, (int)c, (int)ds->nclasses);
        counts[c]++;
    }
    return LAM_OK;
}
