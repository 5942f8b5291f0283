/* Tensor objects, dtypes and shape helpers. */
#include "lamina/tensor.h"

#include <stdio.h>
#include <string.h>

static const struct { const char *name; size_t size; } dtypes[LAM_DTYPE_COUNT_] = {
    [LAM_DTYPE_F32] = {"F32", 4}, [LAM_DTYPE_F16] = {"F16", 2}, [LAM_DTYPE_BF16] = {"BF16", 2},
    [LAM_DTYPE_I32] = {"I32", 4}, [LAM_DTYPE_I8] = {"I8", 1},
};

const char *lam_dtype_name(lam_dtype t)
{
    return (unsigned)t < LAM_DTYPE_COUNT_ ? dtypes[t].name : "?";
}
size_t lam_dtype_size(lam_dtype t) { return (unsigned)t < LAM_DTYPE_COUNT_ ? dtypes[t].size : 0; }

bool lam_dtype_from_name(const char *name, lam_dtype *out)
{
    for (int i = 0; i < LAM_DTYPE_COUNT_; i++)
        if (strcmp(name, dtypes[i].name) == 0) {
            *out = (lam_dtype)i;
            return true;
        }
    return false;
}

lam_shape lam_shape_make(int ndim, const int64_t *d)
{
    lam_shape s = {0};
    LAM_ASSERT(ndim >= 0 && ndim <= LAM_MAX_DIMS);
    s.ndim = ndim;
    for (int i = 0; i < ndim; i++) s.d[i] = d[i];
    return s;
}
lam_shape lam_shape1(int64_t a) { return (lam_shape){1, {a}}; }
lam_shape lam_shape2(int64_t a, int64_t b) { return (lam_shape){2, {a, b}}; }
lam_shape lam_shape3(int64_t a, int64_t b, int64_t c) { return (lam_shape){3, {a, b, c}}; }
lam_shape lam_shape4(int64_t a, int64_t b, int64_t c, int64_t d) { return (lam_shape){4, {a, b, c, d}}; }

int64_t lam_shape_numel(const lam_shape *s)
{
    int64_t n = 1;
    for (int i = 0; i < s->ndim; i++) n *= s->d[i];
    return n;
}

bool lam_shape_numel_within(const lam_shape *s, int64_t max)
{
    int64_t n = 1;
    for (int i = 0; i < s->ndim; i++) {
        if (s->d[i] < 0) return false;
        if (s->d[i] == 0) n = 0;
        else if (n > max / s->d[i]) n = max + 1; /* stays above max; a later 0 still empties it */
        else n *= s->d[i];
    }
    return n <= max;
}

bool lam_shape_eq(const lam_shape *a, const lam_shape *b)
{
    if (a->ndim != b->ndim) return false;
    for (int i = 0; i < a->ndim; i++)
        if (a->d[i] != b->d[i]) return false;
    return true;
}

char *lam_shape_str(const lam_shape *s, char *buf, size_t n)
{
    size_t k = 0;
    k += (size_t)snprintf(buf + k, n - k, "[");
    for (int i = 0; i < s->ndim && k < n; i++)
        k += (size_t)snprintf(buf + k, n - k, i ? ", %lld" : "%lld", (long long)s->d[i]);
    if (k < n) snprintf(buf + k, n - k, "]");
    return buf;
}

lam_tensor *lam_tensor_new(lam_dtype dtype, lam_shape shape)
{
    size_t bytes;
    int64_t n = lam_shape_numel(&shape);
    if (n < 0 || !lam_mul_size((size_t)n, lam_dtype_size(dtype), &bytes)) {
        lam_fail(LAM_ERR_ARG, "tensor size overflows");
        return NULL;
    }
    lam_tensor *t = lam_calloc(1, sizeof *t);
    if (!t) return NULL;
    t->data = lam_calloc(1, bytes ? bytes : 1);
    if (!t->data) {
        lam_free(t);
        return NULL;
    }
    t->dtype = dtype;
    t->shape = shape;
    t->owns = true;
    return t;
}

lam_tensor *lam_tensor_wrap(lam_dtype dtype, lam_shape shape, void *data)
{
    lam_tensor *t = lam_calloc(1, sizeof *t);
    if (!t) return NULL;
    t->dtype = dtype;
    t->shape = shape;
    t->data = data;
    return t;
}

void lam_tensor_free(lam_tensor *t)
{
    if (!t) return;
    if (t->owns) lam_free(t->data);
    lam_free(t);
}
