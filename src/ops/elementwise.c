/* Elementwise op family: add, mul, bias_add, the activations relu,
 * sigmoid, tanh, gelu, and sum (all elements to a scalar).  Shape inference, forward and backward side by side.
 * Backward accumulates into the input gradients it is given. */
#include <stdio.h>

#include "kernels/par.h"
#include "kernels/vec.h"
#include "ops/op.h"

static lam_status infer_same2(lam_node *nd, char *err, size_t errlen)
{
    const lam_node *a = nd->in[0], *b = nd->in[1];
    if (!lam_shape_eq(&a->shape, &b->shape)) {
        char sa[64], sb[64];
        snprintf(err, errlen, "%s: operands have shapes %s and %s, expected equal shapes",
                 lam_op_name(nd->op), lam_shape_fmt(&a->shape, sa, sizeof sa),
                 lam_shape_fmt(&b->shape, sb, sizeof sb));
        return LAM_ERR_SHAPE;
    }
    nd->shape = a->shape;
    nd->has_batch = a->has_batch || b->has_batch;
    nd->dtype = LAM_DTYPE_F32;
    nd->scratch_bytes = nd->saved_bytes = 0;
    return LAM_OK;
}

static lam_status infer_unary(lam_node *nd, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    nd->shape = nd->in[0]->shape;
    nd->has_batch = nd->in[0]->has_batch;
    nd->dtype = LAM_DTYPE_F32;
    nd->scratch_bytes = nd->saved_bytes = 0;
    return LAM_OK;
}

static double flops_numel(const lam_node *nd) { return (double)lam_node_numel(nd); }

/* ---- add ---------------------------------------------------------------- */
static void add_fwd(const lam_op_ctx *c)
{
    long n = (long)lam_node_numel(c->node);
    const float *a = c->in[0], *b = c->in[1];
    float *y = c->out;
    LAM_PFOR(n, i, y[i] = a[i] + b[i]);
}
static void add_bwd(const lam_op_ctx *c)
{
    long n = (long)lam_node_numel(c->node);
    const float *dy = c->dout;
    for (int k = 0; k < 2; k++) {
        float *d = c->din[k];
        if (!d) continue;
        LAM_PFOR(n, i, d[i] += dy[i]);
    }
}
const lam_op_def lam_opdef_add = {.name = "add", .min_in = 2, .max_in = 2, .infer = infer_same2, .forward = add_fwd, .backward = add_bwd, .flops = flops_numel};

/* ---- mul ---------------------------------------------------------------- */
static void mul_fwd(const lam_op_ctx *c)
{
    long n = (long)lam_node_numel(c->node);
    const float *a = c->in[0], *b = c->in[1];
    float *y = c->out;
    LAM_PFOR(n, i, y[i] = a[i] * b[i]);
}
static void mul_bwd(const lam_op_ctx *c)
{
    long n = (long)lam_node_numel(c->node);
    const float *dy = c->dout;
    for (int k = 0; k < 2; k++) {
        float *d = c->din[k];
        const float *other = c->in[1 - k];
        if (!d) continue;
        LAM_PFOR(n, i, d[i] += dy[i] * other[i]);
    }
}
const lam_op_def lam_opdef_mul = {.name = "mul", .min_in = 2, .max_in = 2, .infer = infer_same2, .forward = mul_fwd, .backward = mul_bwd, .flops = flops_numel};

/* ---- bias_add: x [..., C] + b [C] ---------------------------------------- */
static lam_status infer_bias(lam_node *nd, char *err, size_t errlen)
{
    const lam_node *x = nd->in[0], *b = nd->in[1];
    if (x->shape.ndim < 1 || b->shape.ndim != 1 || b->shape.d[0] != x->shape.d[x->shape.ndim - 1]) {
        char sa[64], sb[64];
        snprintf(err, errlen, "bias_add: x has shape %s and bias %s, expected bias [C] with C = last dim of x",
                 lam_shape_fmt(&x->shape, sa, sizeof sa), lam_shape_fmt(&b->shape, sb, sizeof sb));
        return LAM_ERR_SHAPE;
    }
    return infer_unary(nd, err, errlen);
}
static void bias_fwd(const lam_op_ctx *c)
{
    const lam_shape *s = &c->node->shape;
    long C = (long)s->d[s->ndim - 1], rows = (long)(lam_node_numel(c->node) / (C ? C : 1));
    long n = rows * C;
    const float *x = c->in[0], *b = c->in[1];
    float *y = c->out;
    LAM_PFOR_WORK(rows, n, r, for (long j = 0; j < C; j++) y[r * C + j] = x[r * C + j] + b[j]);
}
static void bias_bwd(const lam_op_ctx *c)
{
    const lam_shape *s = &c->node->shape;
    long C = (long)s->d[s->ndim - 1], rows = (long)(lam_node_numel(c->node) / (C ? C : 1));
    long n = rows * C;
    const float *dy = c->dout;
    if (c->din[0]) {
        float *dx = c->din[0];
        LAM_PFOR(n, i, dx[i] += dy[i]);
    }
    if (c->din[1]) {
        /* reduce over rows per channel: one thread per channel range, fixed order */
        float *db = c->din[1];
        LAM_PFOR_WORK(C, n, j, float acc = 0.0f; for (long r = 0; r < rows; r++) acc += dy[r * C + j]; db[j] += acc);
    }
}
const lam_op_def lam_opdef_bias_add = {.name = "bias_add", .min_in = 2, .max_in = 2, .infer = infer_bias, .forward = bias_fwd, .backward = bias_bwd, .flops = flops_numel};

/* ---- sum: every element to a scalar (torch.sum), in double, in order ------ */
static lam_status infer_sum(lam_node *nd, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    nd->shape.ndim = 0;
    nd->has_batch = false;
    nd->dtype = LAM_DTYPE_F32;
    nd->scratch_bytes = nd->saved_bytes = 0;
    return LAM_OK;
}
static void sum_fwd(const lam_op_ctx *c)
{
    long n = (long)lam_node_numel(c->node->in[0]);
    double a = 0.0;
    for (long i = 0; i < n; i++) a += c->in[0][i];
    c->out[0] = (float)a;
}
static void sum_bwd(const lam_op_ctx *c)
{
    if (!c->din[0]) return;
    long n = (long)lam_node_numel(c->node->in[0]);
    float g = c->dout[0], *dx = c->din[0];
    LAM_PFOR(n, i, dx[i] += g);
}
const lam_op_def lam_opdef_sum = {.name = "sum", .min_in = 1, .max_in = 1, .infer = infer_sum, .forward = sum_fwd,
                                  .backward = sum_bwd, .flops = flops_numel};

/* ---- activations -------------------------------------------------------- */
#define ACT_OP(NAME, ACT)                                                            \
    static void NAME##_fwd(const lam_op_ctx *c)                                      \
    {                                                                                \
        lam_k_act_fwd(ACT, c->in[0], c->out, (size_t)lam_node_numel(c->node));       \
    }                                                                                \
    static void NAME##_bwd(const lam_op_ctx *c)                                      \
    {                                                                                \
        if (c->din[0])                                                               \
            lam_k_act_bwd(ACT, c->in[0], c->out, c->dout, c->din[0],                 \
                          (size_t)lam_node_numel(c->node), 1);                       \
    }                                                                                \
    const lam_op_def lam_opdef_##NAME = {.name = #NAME, .min_in = 1, .max_in = 1, .infer = infer_unary, .forward = NAME##_fwd, .backward = NAME##_bwd, .flops = flops_numel};

ACT_OP(relu, LAM_ACT_RELU)
ACT_OP(sigmoid, LAM_ACT_SIGMOID)
ACT_OP(tanh, LAM_ACT_TANH)
ACT_OP(gelu, LAM_ACT_GELU)
ACT_OP(gelu_tanh, LAM_ACT_GELU_TANH)
ACT_OP(silu, LAM_ACT_SILU)
