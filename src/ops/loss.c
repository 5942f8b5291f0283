/* Loss op family: mean squared error, softmax cross-entropy over class labels
 * (fused: saves the probabilities for backward) and binary cross-entropy with
 * logits.  All reduce by the mean to a scalar; sums run in double, serially
 * in a fixed order, so the loss is the same for any thread count. */
#include <math.h>
#include <stdio.h>

#include "kernels/par.h"
#include "ops/op.h"

double lam_softmax_row(const float *x, float *y, int64_t C);

static void set_scalar(lam_node *nd)
{
    nd->shape.ndim = 0;
    nd->has_batch = false;
    nd->dtype = LAM_DTYPE_F32;
    nd->scratch_bytes = nd->saved_bytes = 0;
}

static lam_status infer_pair(lam_node *nd, char *err, size_t errlen)
{
    const lam_node *a = nd->in[0], *b = nd->in[1];
    if (!lam_shape_eq(&a->shape, &b->shape) || b->dtype != LAM_DTYPE_F32) {
        char sa[64], sb[64];
        snprintf(err, errlen, "%s: prediction %s and target %s must have the same shape (float targets)",
                 lam_op_name(nd->op), lam_shape_fmt(&a->shape, sa, sizeof sa),
                 lam_shape_fmt(&b->shape, sb, sizeof sb));
        return LAM_ERR_SHAPE;
    }
    set_scalar(nd);
    return LAM_OK;
}

static double flops_in(const lam_node *nd) { return 3.0 * (double)lam_node_numel(nd->in[0]); }

/* ---- MSE ---------------------------------------------------------------- */
static void mse_fwd(const lam_op_ctx *c)
{
    int64_t n = lam_node_numel(c->node->in[0]);
    const float *p = c->in[0], *t = c->in[1];
    double s = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double d = (double)p[i] - t[i];
        s += d * d;
    }
    c->out[0] = (float)(n ? s / (double)n : 0.0);
}
static void mse_bwd(const lam_op_ctx *c)
{
    int64_t n = lam_node_numel(c->node->in[0]);
    const float *p = c->in[0], *t = c->in[1];
    float k = n ? 2.0f * c->dout[0] / (float)n : 0.0f;
    for (int64_t i = 0; i < n; i++) {
        float g = k * (p[i] - t[i]);
        if (c->din[0]) c->din[0][i] += g;
        if (c->din[1]) c->din[1][i] -= g;
    }
}
const lam_op_def lam_opdef_mse_loss = {.name = "mse_loss", .min_in = 2, .max_in = 2, .infer = infer_pair, .forward = mse_fwd, .backward = mse_bwd, .flops = flops_in};

/* ---- softmax cross-entropy over labels ----------------------------------- */
static lam_status ce_infer(lam_node *nd, char *err, size_t errlen)
{
    const lam_node *x = nd->in[0], *y = nd->in[1];
    char sa[64], sb[64];
    int64_t C = x->shape.ndim ? x->shape.d[x->shape.ndim - 1] : 0;
    int64_t rows = C ? lam_shape_numel(&x->shape) / C : 0;
    if (x->shape.ndim < 1 || y->dtype != LAM_DTYPE_I32 || lam_shape_numel(&y->shape) != rows) {
        snprintf(err, errlen, "softmax_ce: logits %s and labels %s: expected logits [B, K] and int labels [B]",
                 lam_shape_fmt(&x->shape, sa, sizeof sa), lam_shape_fmt(&y->shape, sb, sizeof sb));
        return LAM_ERR_SHAPE;
    }
    set_scalar(nd);
    nd->saved_bytes = (size_t)lam_shape_numel(&x->shape) * sizeof(float);
    nd->scratch_bytes = (size_t)rows * sizeof(double);
    return LAM_OK;
}

static void ce_fwd(const lam_op_ctx *c)
{
    const lam_shape *xs = &c->node->in[0]->shape;
    int64_t C = xs->d[xs->ndim - 1], rows = lam_shape_numel(xs) / C;
    const int32_t *lab = (const int32_t *)c->in[1];
    float *prob = c->saved;
    for (int64_t r = 0; r < rows; r++)
        if (lab[r] < 0 || lab[r] >= C) {
            *c->status = LAM_ERR_ARG;
            snprintf(c->errmsg, c->errlen, "softmax_ce: label %d of row %lld is outside 0..%lld",
                     (int)lab[r], (long long)r, (long long)(C - 1));
            c->out[0] = NAN;
            return;
        }
    /* per row, in parallel: the softmax and -log p = logsumexp - x[label]
     * (from the logits, for accuracy); then the terms summed serially in
     * row order, so the loss does not depend on the thread count */
    double *term = c->scratch;
    LAM_PFOR_WORK(rows, rows * C, r,
                  term[r] = lam_softmax_row(c->in[0] + r * C, prob + r * C, C) - c->in[0][r * C + lab[r]]);
    double s = 0.0;
    for (int64_t r = 0; r < rows; r++) s += term[r];
    c->out[0] = (float)(rows ? s / (double)rows : 0.0);
}

static void ce_bwd(const lam_op_ctx *c)
{
    if (!c->din[0]) return;
    const lam_shape *xs = &c->node->in[0]->shape;
    int64_t C = xs->d[xs->ndim - 1], rows = lam_shape_numel(xs) / C;
    const int32_t *lab = (const int32_t *)c->in[1];
    const float *prob = c->saved;
    float k = rows ? c->dout[0] / (float)rows : 0.0f;
    float *dx = c->din[0];
    for (int64_t r = 0; r < rows; r++)
        for (int64_t j = 0; j < C; j++)
            dx[r * C + j] += k * (prob[r * C + j] - (j == lab[r] ? 1.0f : 0.0f));
}
const lam_op_def lam_opdef_softmax_ce = {.name = "softmax_ce", .min_in = 2, .max_in = 2, .infer = ce_infer, .forward = ce_fwd, .backward = ce_bwd, .flops = flops_in, .int_in = 1u << 1};

/* ---- BCE with logits: mean(max(x,0) - x t + log(1 + exp(-|x|))) ----------- */
static void bce_fwd(const lam_op_ctx *c)
{
    int64_t n = lam_node_numel(c->node->in[0]);
    const float *x = c->in[0], *t = c->in[1];
    double s = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double xi = x[i];
        s += (xi > 0 ? xi : 0) - xi * t[i] + log1p(exp(-fabs(xi)));
    }
    c->out[0] = (float)(n ? s / (double)n : 0.0);
}
static void bce_bwd(const lam_op_ctx *c)
{
    int64_t n = lam_node_numel(c->node->in[0]);
    const float *x = c->in[0], *t = c->in[1];
    float k = n ? c->dout[0] / (float)n : 0.0f;
    for (int64_t i = 0; i < n; i++) {
        float sig = x[i] >= 0 ? 1.0f / (1.0f + expf(-x[i])) : expf(x[i]) / (1.0f + expf(x[i]));
        if (c->din[0]) c->din[0][i] += k * (sig - t[i]);
        if (c->din[1]) c->din[1][i] -= k * x[i]; /* d/dt of -x t */
    }
}
const lam_op_def lam_opdef_bce_logits = {.name = "bce_logits", .min_in = 2, .max_in = 2, .infer = infer_pair, .forward = bce_fwd, .backward = bce_bwd, .flops = flops_in};
