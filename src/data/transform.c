/* Feature transforms: the lam_scaler (standardisation and min-max scaling,
 * x' = (x - shift) / scale per column, fitted in double precision) and
 * one-hot encoding of class labels. */
#include "lamina/data.h"

#include <float.h>
#include <math.h>
#include <string.h>

struct lam_scaler {
    lam_scaler_kind kind;
    int64_t ncols;
    float *shift; /* [ncols] */
    float *scale; /* [ncols], never zero */
};

void lam_scaler_free(lam_scaler *s)
{
    if (!s) return;
    lam_free(s->shift);
    lam_free(s->scale);
    lam_free(s);
}

static lam_status scaler_alloc(lam_scaler_kind kind, int64_t ncols, lam_scaler **out)
{
    lam_scaler *s = lam_calloc(1, sizeof *s);
    if (!s) return LAM_ERR_NOMEM;
    s->kind = kind;
    s->ncols = ncols;
    s->shift = lam_calloc((size_t)ncols, sizeof(float));
    s->scale = lam_calloc((size_t)ncols, sizeof(float));
    if (!s->shift || !s->scale) {
        lam_scaler_free(s);
        return LAM_ERR_NOMEM;
    }
    *out = s;
    return LAM_OK;
}

static bool kind_ok(lam_scaler_kind k) { return k == LAM_SCALER_STANDARD || k == LAM_SCALER_MINMAX; }

lam_status lam_scaler_fit_rows(lam_scaler_kind kind, const float *m, int64_t n, int64_t ncols,
                               lam_scaler **out)
{
    if (!out) return lam_fail(LAM_ERR_ARG, "lam_scaler_fit: out is NULL");
    *out = NULL;
    if (!kind_ok(kind)) return lam_fail(LAM_ERR_ARG, "lam_scaler_fit: unknown kind %d", (int)kind);
    if (!m || n < 1 || ncols < 1)
        return lam_fail(LAM_ERR_ARG,
                        "lam_scaler_fit: needs at least one row and one column (got %lld x %lld)",
                        (long long)n, (long long)ncols);
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < ncols; j++)
            if (!isfinite(m[i * ncols + j]))
                return lam_fail(LAM_ERR_ARG,
                                "lam_scaler_fit: row %lld, column %lld is %g; hint: impute or "
                                "drop missing values before fitting",
                                (long long)i, (long long)j, (double)m[i * ncols + j]);
    lam_scaler *s;
    lam_status st = scaler_alloc(kind, ncols, &s);
    if (st != LAM_OK) return st;
    /* column by column, two passes in double: exact enough that a constant
     * column has variance exactly 0 */
    for (int64_t j = 0; j < ncols; j++) {
        double lo = m[j], hi = m[j], sum = 0;
        for (int64_t i = 0; i < n; i++) {
            double v = m[i * ncols + j];
            sum += v;
            if (v < lo) lo = v;
            if (v > hi) hi = v;
        }
        if (kind == LAM_SCALER_STANDARD) {
            double mean = sum / (double)n, ss = 0;
            for (int64_t i = 0; i < n; i++) {
                double d = m[i * ncols + j] - mean;
                ss += d * d;
            }
            double sd = sqrt(ss / (double)n); /* population std, ddof = 0 */
            s->shift[j] = (float)mean;
            s->scale[j] = (hi == lo || !((float)sd > 0)) ? 1.0f : (float)sd;
        } else {
            double range = hi - lo;
            s->shift[j] = (float)lo;
            s->scale[j] = (hi == lo || !((float)range > 0) || !isfinite((float)range))
                              ? 1.0f : (float)range;
        }
    }
    *out = s;
    return LAM_OK;
}

lam_status lam_scaler_fit(lam_scaler_kind kind, const lam_dataset *ds, lam_scaler **out)
{
    if (!ds) {
        if (out) *out = NULL;
        return lam_fail(LAM_ERR_ARG, "lam_scaler_fit: ds is NULL");
    }
    if (!ds->x) {
        if (out) *out = NULL;
        return lam_fail(LAM_ERR_ARG, "lam_scaler_fit: a token data set has no float features to "
                                     "scale");
    }
    return lam_scaler_fit_rows(kind, ds->x, ds->n, ds->nfeat, out);
}

lam_status lam_scaler_from_params(lam_scaler_kind kind, const float *shift, const float *scale,
                                  int64_t ncols, lam_scaler **out)
{
    if (!out) return lam_fail(LAM_ERR_ARG, "lam_scaler_from_params: out is NULL");
    *out = NULL;
    if (!kind_ok(kind))
        return lam_fail(LAM_ERR_ARG, "lam_scaler_from_params: unknown kind %d", (int)kind);
    if (!shift || !scale || ncols < 1)
        return lam_fail(LAM_ERR_ARG, "lam_scaler_from_params: needs two vectors of ncols >= 1");
    for (int64_t j = 0; j < ncols; j++)
        if (!isfinite(shift[j]) || !isfinite(scale[j]) || scale[j] == 0)
            return lam_fail(LAM_ERR_ARG,
                            "lam_scaler_from_params: column %lld has shift %g, scale %g; the "
                            "shift must be finite and the scale finite and non-zero",
                            (long long)j, (double)shift[j], (double)scale[j]);
    lam_scaler *s;
    lam_status st = scaler_alloc(kind, ncols, &s);
    if (st != LAM_OK) return st;
    memcpy(s->shift, shift, (size_t)ncols * sizeof(float));
    memcpy(s->scale, scale, (size_t)ncols * sizeof(float));
    *out = s;
    return LAM_OK;
}

void lam_scaler_params(const lam_scaler *s, const float **shift, const float **scale,
                       int64_t *ncols)
{
    if (shift) *shift = s->shift;
    if (scale) *scale = s->scale;
    if (ncols) *ncols = s->ncols;
}

lam_scaler_kind lam_scaler_get_kind(const lam_scaler *s) { return s->kind; }

static lam_status check_cols(const lam_scaler *s, const float *m, int64_t n, int64_t ncols,
                             const char *fn)
{
    if (!s || (!m && n > 0) || n < 0)
        return lam_fail(LAM_ERR_ARG, "%s: NULL scaler or data", fn);
    if (ncols != s->ncols)
        return lam_fail(LAM_ERR_SHAPE,
                        "%s: the scaler was fitted on %lld columns, the data has %lld; hint: "
                        "fit and apply on the same feature columns",
                        fn, (long long)s->ncols, (long long)ncols);
    return LAM_OK;
}

lam_status lam_scaler_transform(const lam_scaler *s, float *m, int64_t n, int64_t ncols)
{
    lam_status st = check_cols(s, m, n, ncols, "lam_scaler_transform");
    if (st != LAM_OK) return st;
    for (int64_t i = 0; i < n; i++) {
        float *row = m + i * ncols;
        for (int64_t j = 0; j < ncols; j++) row[j] = (row[j] - s->shift[j]) / s->scale[j];
    }
    return LAM_OK;
}

lam_status lam_scaler_inverse(const lam_scaler *s, float *m, int64_t n, int64_t ncols)
{
    lam_status st = check_cols(s, m, n, ncols, "lam_scaler_inverse");
    if (st != LAM_OK) return st;
    for (int64_t i = 0; i < n; i++) {
        float *row = m + i * ncols;
        for (int64_t j = 0; j < ncols; j++) row[j] = row[j] * s->scale[j] + s->shift[j];
    }
    return LAM_OK;
}

lam_status lam_scaler_apply(const lam_scaler *s, lam_dataset *ds)
{
    if (!ds) return lam_fail(LAM_ERR_ARG, "lam_scaler_apply: ds is NULL");
    if (!ds->x)
        return lam_fail(LAM_ERR_ARG, "lam_scaler_apply: a token data set has no float features");
    return lam_scaler_transform(s, ds->x, ds->n, ds->nfeat);
}

lam_status lam_onehot(const int32_t *labels, int64_t n, int32_t nclasses, float *out)
{
    if ((n > 0 && (!labels || !out)) || n < 0 || nclasses < 1)
        return lam_fail(LAM_ERR_ARG, "lam_onehot: bad arguments (n = %lld, nclasses = %d)",
                        (long long)n, (int)nclasses);
    for (int64_t i = 0; i < n; i++) {
        int32_t c = labels[i];
        if (c < 0 || c >= nclasses)
            return lam_fail(LAM_ERR_ARG, "lam_onehot: labels[%lld] = %d is outside [0, %d)",
                            (long long)i, (int)c, (int)nclasses);
        float *row = out + i * (int64_t)nclasses;
        memset(row, 0, (size_t)nclasses * sizeof(float));
        row[c] = 1.0f;
    }
    return LAM_OK;
}
