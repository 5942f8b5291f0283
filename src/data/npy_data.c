/* Data sets from NumPy arrays: features from x [N, ...] (any numeric type,
 * converted to float), class labels or regression targets from y, from
 * arrays in memory, two .npy files or an .npz archive (x/y, Keras's
 * x_train/y_train, optional x_test/y_test).  See include/lamina/npy.h. */
#include "lamina/npy.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

lam_npy_data_opts lam_npy_data_opts_defaults(void)
{
    return (lam_npy_data_opts){.task = LAM_TASK_CLASSIFICATION, .nclasses = 0, .max_classes = 10000,
                               .x_name = "x", .y_name = "y"};
}

static const char *shape_of(const lam_npy *a, char *buf, size_t cap)
{
    size_t k = (size_t)snprintf(buf, cap, "(");
    for (int i = 0; i < a->ndim && k < cap; i++)
        k += (size_t)snprintf(buf + k, cap - k, "%s%" PRId64, i ? ", " : "", a->dims[i]);
    if (k < cap) snprintf(buf + k, cap - k, a->ndim == 1 ? ",)" : ")");
    return buf;
}

static bool is_float(lam_npy_dtype t) { return t == LAM_NPY_F2 || t == LAM_NPY_F4 || t == LAM_NPY_F8; }

/* Element i of an integer or bool array; *ok false for a u8 value above
 * INT64_MAX (out of any label range). */
static int64_t int_at(const lam_npy *a, size_t i, bool *ok)
{
    const void *d = a->data;
    *ok = true;
    switch (a->dtype) {
    case LAM_NPY_BOOL: return ((const uint8_t *)d)[i] != 0;
    case LAM_NPY_I1: return ((const int8_t *)d)[i];
    case LAM_NPY_U1: return ((const uint8_t *)d)[i];
    case LAM_NPY_I2: return ((const int16_t *)d)[i];
    case LAM_NPY_U2: return ((const uint16_t *)d)[i];
    case LAM_NPY_I4: return ((const int32_t *)d)[i];
    case LAM_NPY_U4: return ((const uint32_t *)d)[i];
    case LAM_NPY_I8: return ((const int64_t *)d)[i];
    case LAM_NPY_U8: {
        uint64_t v = ((const uint64_t *)d)[i];
        if (v > (uint64_t)INT64_MAX) *ok = false;
        return (int64_t)(v & (uint64_t)INT64_MAX);
    }
    default: break;
    }
    LAM_ASSERT(!"int_at: not an integer type");
    return 0;
}

/* Element i of a float array as a double (half through lam_npy_to_f32). */
static double float_at(const lam_npy *a, size_t i)
{
    if (a->dtype == LAM_NPY_F8) return ((const double *)a->data)[i];
    if (a->dtype == LAM_NPY_F4) return ((const float *)a->data)[i];
    lam_npy one = *a;
    one.ndim = 0;
    one.numel = 1;
    one.data = (unsigned char *)a->data + 2 * i;
    float t;
    return lam_npy_to_f32(&one, &t) == LAM_OK ? t : (double)NAN;
}

/* The labels of y [N] into labels[N]; *nclasses: 0 infers max + 1. */
static lam_status read_labels(const lam_npy *y, const lam_npy_data_opts *o, int32_t *labels, int32_t *nclasses)
{
    int64_t bound = *nclasses > 0 ? *nclasses : o->max_classes, maxv = 0;
    size_t n = (size_t)y->numel;
    for (size_t i = 0; i < n; i++) {
        int64_t v = 0;
        bool ok = true;
        char txt[40];
        if (is_float(y->dtype)) {
            double f = float_at(y, i);
            if (!isfinite(f) || f != floor(f))
                return lam_fail(LAM_ERR_FORMAT,
                                "%s: label %zu is %g, not an integer; hint: class labels are "
                                "integers 0..K-1 (for regression targets use loss = mse)",
                                o->y_name, i, f);
            snprintf(txt, sizeof txt, "%.17g", f);
            if (f < 0) v = -1;
            else if (f >= 2147483648.0) ok = false;
            else v = (int64_t)f;
        } else {
            v = int_at(y, i, &ok);
            if (ok) snprintf(txt, sizeof txt, "%" PRId64, v);
            else snprintf(txt, sizeof txt, "%" PRIu64, ((const uint64_t *)y->data)[i]);
        }
        if (!ok || v < 0 || v >= bound) {
            if (*nclasses > 0)
                return lam_fail(LAM_ERR_FORMAT,
                                "%s: label %zu is %s, outside [0, %d); hint: the labels do not "
                                "belong to this data set, or the class count is wrong",
                                o->y_name, i, txt, (int)*nclasses);
            return lam_fail(LAM_ERR_FORMAT,
                            "%s: label %zu is %s (%s); hint: class labels are integers in [0, %d) "
                            "(raise max_classes for more classes; for regression targets use "
                            "loss = mse)",
                            o->y_name, i, txt, v < 0 ? "negative" : "too large", (int)o->max_classes);
        }
        if (v > maxv) maxv = v;
        labels[i] = (int32_t)v;
    }
    if (*nclasses == 0) *nclasses = (int32_t)(maxv + 1);
    return LAM_OK;
}

lam_status lam_dataset_from_npy(const lam_npy *x, const lam_npy *y, const lam_npy_data_opts *opts,
                                lam_dataset **out)
{
    if (!out) return lam_fail(LAM_ERR_ARG, "lam_dataset_from_npy: out is NULL");
    *out = NULL;
    if (!x || !y) return lam_fail(LAM_ERR_ARG, "lam_dataset_from_npy: x or y is NULL");
    lam_npy_data_opts o = opts ? *opts : lam_npy_data_opts_defaults();
    if (!o.x_name) o.x_name = "x";
    if (!o.y_name) o.y_name = "y";
    if ((o.task != LAM_TASK_CLASSIFICATION && o.task != LAM_TASK_REGRESSION) || o.nclasses < 0 ||
        o.max_classes < 1)
        return lam_fail(LAM_ERR_ARG,
                        "lam_dataset_from_npy: task %d, nclasses = %d, max_classes = %d; hint: "
                        "nclasses >= 0 (0 infers it), max_classes >= 1",
                        (int)o.task, (int)o.nclasses, (int)o.max_classes);
    char a[256], b[256];
    if (x->ndim < 1)
        return lam_fail(LAM_ERR_FORMAT, "%s: a scalar, not samples; hint: x has shape (N, ...), one "
                                        "row per sample", o.x_name);
    int64_t n = x->dims[0], nfeat = x->numel / (n ? n : 1);
    if (n == 0)
        return lam_fail(LAM_ERR_FORMAT, "%s: shape %s holds no samples; hint: x has shape (N, ...) with "
                                        "N >= 1", o.x_name, shape_of(x, a, sizeof a));
    if (nfeat == 0)
        return lam_fail(LAM_ERR_FORMAT, "%s: shape %s: each sample holds 0 values; hint: every "
                                        "dimension after the first must be >= 1",
                        o.x_name, shape_of(x, a, sizeof a));
    if (n > LAM_DATASET_MAX_ROWS)
        return lam_fail(LAM_ERR_FORMAT, "%s: %" PRId64 " samples, more than a data set holds (%" PRId64 ")",
                        o.x_name, n, (int64_t)LAM_DATASET_MAX_ROWS);
    if (x->ndim - 1 > LAM_MAX_DIMS)
        return lam_fail(LAM_ERR_SHAPE, "%s: shape %s: samples of %d dimensions; hint: at most %d",
                        o.x_name, shape_of(x, a, sizeof a), x->ndim - 1, LAM_MAX_DIMS);
    bool cls = o.task == LAM_TASK_CLASSIFICATION;
    if (y->ndim < 1 || y->dims[0] != n || (cls && y->ndim != 1) || (!cls && y->ndim > 2))
        return lam_fail(LAM_ERR_FORMAT,
                        "%s: shape %s does not go with %s's %s; hint: %s", o.y_name, shape_of(y, b, sizeof b),
                        o.x_name, shape_of(x, a, sizeof a),
                        cls ? "class labels have shape (N,), one per sample of x"
                            : "regression targets have shape (N,) or (N, k), one row per sample of x");
    int64_t k = cls ? 1 : y->ndim == 2 ? y->dims[1] : 1;
    if (!cls && (k < 1 || k > INT32_MAX))
        return lam_fail(LAM_ERR_FORMAT, "%s: shape %s: %" PRId64 " targets per sample; hint: 1 to 2^31 - 1",
                        o.y_name, shape_of(y, b, sizeof b), k);
    /* labels first (cheap), then the features */
    int32_t nclasses = o.nclasses;
    int32_t *labels = NULL;
    lam_status st = LAM_OK;
    if (cls) {
        labels = lam_malloc((size_t)n * sizeof *labels);
        if (!labels) return LAM_ERR_NOMEM;
        if ((st = read_labels(y, &o, labels, &nclasses))) goto done;
    }
    lam_dataset *ds = NULL;
    if ((st = lam_dataset_new(o.task, n, nfeat, cls ? nclasses : (int32_t)k, &ds))) goto done;
    if ((st = lam_npy_to_f32(x, ds->x))) {
        st = lam_fail(st, "%s: %s", o.x_name, lam_last_error());
    } else if (cls) {
        memcpy(ds->labels, labels, (size_t)n * sizeof *labels);
    } else if ((st = lam_npy_to_f32(y, ds->y))) {
        st = lam_fail(st, "%s: %s", o.y_name, lam_last_error());
    }
    if (!st) {
        lam_shape s = x->ndim == 1 ? lam_shape1(1) : lam_shape_make(x->ndim - 1, x->dims + 1);
        st = lam_dataset_set_sample_shape(ds, s);
    }
    if (st) lam_dataset_free(ds);
    else *out = ds;
done:
    lam_free(labels);
    return st;
}

lam_status lam_dataset_from_npy_files(const char *x_path, const char *y_path, const lam_npy_data_opts *opts,
                                      lam_dataset **out)
{
    if (!out) return lam_fail(LAM_ERR_ARG, "lam_dataset_from_npy_files: out is NULL");
    *out = NULL;
    if (!x_path || !y_path) return lam_fail(LAM_ERR_ARG, "lam_dataset_from_npy_files: a path is NULL");
    lam_npy_data_opts o = opts ? *opts : lam_npy_data_opts_defaults();
    o.x_name = x_path;
    o.y_name = y_path;
    lam_npy *x = NULL, *y = NULL;
    lam_status st = lam_npy_read(y_path, &y);
    if (!st) st = lam_npy_read(x_path, &x);
    if (!st) st = lam_dataset_from_npy(x, y, &o, out);
    lam_npy_free(x);
    lam_npy_free(y);
    return st;
}

/* x and y of one part from an open archive. */
static lam_status npz_part(const lam_npz *z, const char *path, const char *xn, const char *yn,
                           const lam_npy_data_opts *opts, lam_dataset **out)
{
    char xl[600], yl[600];
    snprintf(xl, sizeof xl, "%.500s[%s]", path, xn);
    snprintf(yl, sizeof yl, "%.500s[%s]", path, yn);
    lam_npy_data_opts o = *opts;
    o.x_name = xl;
    o.y_name = yl;
    lam_npy *x = NULL, *y = NULL;
    lam_status st = lam_npz_read(z, yn, &y);
    if (!st) st = lam_npz_read(z, xn, &x);
    if (!st) st = lam_dataset_from_npy(x, y, &o, out);
    lam_npy_free(x);
    lam_npy_free(y);
    return st;
}

lam_status lam_dataset_from_npz(const char *path, const lam_npy_data_opts *opts, lam_dataset **train,
                                lam_dataset **test)
{
    if (train) *train = NULL;
    if (test) *test = NULL;
    if (!path || !train) return lam_fail(LAM_ERR_ARG, "lam_dataset_from_npz: path or train is NULL");
    lam_npy_data_opts o = opts ? *opts : lam_npy_data_opts_defaults();
    lam_npz *z = NULL;
    lam_status st = lam_npz_open(path, &z);
    if (st) return st;
    const char *xn = NULL, *yn = NULL;
    bool has_x = lam_npz_find(z, "x") >= 0, has_y = lam_npz_find(z, "y") >= 0;
    bool has_xt = lam_npz_find(z, "x_train") >= 0, has_yt = lam_npz_find(z, "y_train") >= 0;
    bool has_xs = lam_npz_find(z, "x_test") >= 0, has_ys = lam_npz_find(z, "y_test") >= 0;
    if (has_x && has_y) xn = "x", yn = "y";
    else if (has_xt && has_yt) xn = "x_train", yn = "y_train";
    lam_dataset *tr = NULL, *te = NULL;
    if (!xn)
        st = lam_fail(LAM_ERR_FORMAT,
                      "%s: no training arrays: the archive holds %s%s%s%s; hint: save them as "
                      "np.savez(path, x=features, y=labels) (or Keras's x_train, y_train)",
                      path, has_x ? "x but no y" : has_y ? "y but no x" : "neither x and y",
                      has_xt || has_yt ? ", " : "",
                      has_xt ? "x_train but no y_train" : has_yt ? "y_train but no x_train" : "",
                      !has_xt && !has_yt ? " nor x_train and y_train" : "");
    else if (has_xs != has_ys)
        st = lam_fail(LAM_ERR_FORMAT,
                      "%s: the archive holds %s but not %s; hint: a test part needs both x_test and "
                      "y_test",
                      path, has_xs ? "x_test" : "y_test", has_xs ? "y_test" : "x_test");
    if (!st) st = npz_part(z, path, xn, yn, &o, &tr);
    if (!st && has_xs && test) {
        if (tr->task == LAM_TASK_CLASSIFICATION) o.nclasses = tr->nclasses;
        st = npz_part(z, path, "x_test", "y_test", &o, &te);
    }
    lam_npz_close(z);
    if (st) {
        lam_dataset_free(tr);
        return st;
    }
    *train = tr;
    if (test) *test = te;
    return LAM_OK;
}
