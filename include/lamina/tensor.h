/* Lamina tensors: dtype, shape and a data pointer.  f32 is the working type;
 * the dtype field is there for bf16/f16/i8/i32 later.  Shapes use the
 * dimension letters of the design: B,C / B,T,C / B,C,H,W (NCHW). */
#ifndef LAMINA_TENSOR_H
#define LAMINA_TENSOR_H

#include "lamina/base.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LAM_MAX_DIMS 6

typedef enum lam_dtype {
    LAM_DTYPE_F32 = 0,
    LAM_DTYPE_F16,
    LAM_DTYPE_BF16,
    LAM_DTYPE_I32,
    LAM_DTYPE_I8,
    LAM_DTYPE_COUNT_
} lam_dtype;

const char *lam_dtype_name(lam_dtype t);   /* "F32", ... (safetensors spelling) */
size_t lam_dtype_size(lam_dtype t);         /* bytes per element */
/* Parse a safetensors dtype name; false if unknown. */
bool lam_dtype_from_name(const char *name, lam_dtype *out);

typedef struct lam_shape {
    int ndim;
    int64_t d[LAM_MAX_DIMS];
} lam_shape;

lam_shape lam_shape_make(int ndim, const int64_t *d);
lam_shape lam_shape1(int64_t a);
lam_shape lam_shape2(int64_t a, int64_t b);
lam_shape lam_shape3(int64_t a, int64_t b, int64_t c);
lam_shape lam_shape4(int64_t a, int64_t b, int64_t c, int64_t d);
int64_t lam_shape_numel(const lam_shape *s);   /* 1 for ndim 0 */
/* The most elements one tensor of a graph may hold: 2^31 - 4096.  The
 * kernels index with int and round sizes up to their register tiles, and a
 * graph refuses (LAM_ERR_SHAPE) a node whose shape would exceed it. */
#define LAM_MAX_NUMEL (((int64_t)1 << 31) - 4096)
/* Does the shape hold at most `max` elements (every dimension >= 0)?
 * Decided without overflow for any dimensions, unlike the product. */
bool lam_shape_numel_within(const lam_shape *s, int64_t max);
bool lam_shape_eq(const lam_shape *a, const lam_shape *b);
/* "[32, 100]" into buf; returns buf. */
char *lam_shape_str(const lam_shape *s, char *buf, size_t n);

/* A tensor.  `data` is owned when `owns` is set (freed by lam_tensor_free). */
typedef struct lam_tensor {
    lam_dtype dtype;
    lam_shape shape;
    void *data;
    bool owns;
} lam_tensor;

/* Allocate a zeroed tensor; returns NULL (error recorded) on failure. */
lam_tensor *lam_tensor_new(lam_dtype dtype, lam_shape shape);
/* Wrap memory the caller owns (not freed by lam_tensor_free). */
lam_tensor *lam_tensor_wrap(lam_dtype dtype, lam_shape shape, void *data);
void lam_tensor_free(lam_tensor *t);
static inline float *lam_tensor_f32(const lam_tensor *t) { return (float *)t->data; }

#ifdef __cplusplus
}
#endif
#endif
