/* Softmax over the last dimension, and dropout.  (Softmax fused with
 * cross-entropy lives in loss.c.) */
#include <math.h>
#include <stdio.h>

#include "kernels/par.h"
#include "ops/op.h"

static lam_status infer_unary(lam_node *nd, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    if (nd->in[0]->shape.ndim < 1) {
        snprintf(err, errlen, "%s: needs at least one dimension", lam_op_name(nd->op));
        return LAM_ERR_SHAPE;
    }
    nd->shape = nd->in[0]->shape;
    nd->has_batch = nd->in[0]->has_batch;
    nd->dtype = LAM_DTYPE_F32;
    nd->scratch_bytes = 0;
    nd->saved_bytes = nd->op == LAM_OP_DROPOUT ? (size_t)lam_node_numel(nd) * sizeof(float) : 0;
    return LAM_OK;
}

static void rows_of(const lam_node *nd, int64_t *rows, int64_t *C)
{
    *C = nd->shape.d[nd->shape.ndim - 1];
    *rows = *C ? lam_node_numel(nd) / *C : 0;
}

/* one row: y = exp(x - max) / sum; returns log(sum) + max, the log of the
 * normaliser (cross-entropy's logsumexp) */
double lam_softmax_row(const float *x, float *y, int64_t C)
{
    float m = -INFINITY;
    for (int64_t j = 0; j < C; j++) m = x[j] > m ? x[j] : m;
    double s = 0.0;
    for (int64_t j = 0; j < C; j++) {
        y[j] = expf(x[j] - m);
        s += y[j];
    }
    float inv = (float)(1.0 / s);
    for (int64_t j = 0; j < C; j++) y[j] *= inv;
    return log(s) + m;
}

static void softmax_fwd(const lam_op_ctx *c)
{
    int64_t rows, C;
    rows_of(c->node, &rows, &C);
    LAM_PFOR_WORK(rows, rows * C, r, lam_softmax_row(c->in[0] + r * C, c->out + r * C, C));
}

static void softmax_bwd(const lam_op_ctx *c)
{
    if (!c->din[0]) return;
    int64_t rows, C;
    rows_of(c->node, &rows, &C);
    const float *y = c->out, *dy = c->dout;
    float *dx = c->din[0];
    LAM_PFOR_WORK(rows, rows * C, r, {
        const float *yr = y + r * C, *dyr = dy + r * C;
        double dot = 0.0;
        for (int64_t j = 0; j < C; j++) dot += (double)yr[j] * dyr[j];
        for (int64_t j = 0; j < C; j++) dx[r * C + j] += yr[j] * (dyr[j] - (float)dot);
    });
}

static double flops_5n(const lam_node *nd) { return 5.0 * (double)lam_node_numel(nd); }

const lam_op_def lam_opdef_softmax = {.name = "softmax", .min_in = 1, .max_in = 1, .infer = infer_unary, .forward = softmax_fwd, .backward = softmax_bwd, .flops = flops_5n};

/* ---- dropout: inverted; the mask (0 or 1/(1-p)) is saved for backward ---- */
static void dropout_fwd(const lam_op_ctx *c)
{
    int64_t n = lam_node_numel(c->node);
    float p = c->node->p.dropout.p;
    float *mask = c->saved;
    if (!c->training || p <= 0.0f) {
        for (int64_t i = 0; i < n; i++) {
            c->out[i] = c->in[0][i];
            mask[i] = 1.0f;
        }
        return;
    }
    float keep = 1.0f / (1.0f - p);
    /* serial draws: the mask depends only on the RNG state, not on threads */
    if (c->node->p.dropout.spatial) {
        const lam_shape *s = &c->node->shape;
        int64_t planes = s->d[0] * s->d[1], hw = n / (planes ? planes : 1);
        for (int64_t pl = 0; pl < planes; pl++) {
            float v = lam_rng_uniform(c->rng) < p ? 0.0f : keep;
            for (int64_t i = 0; i < hw; i++) mask[pl * hw + i] = v;
        }
    } else {
        for (int64_t i = 0; i < n; i++) mask[i] = lam_rng_uniform(c->rng) < p ? 0.0f : keep;
    }
    LAM_PFOR(n, i, c->out[i] = c->in[0][i] * mask[i]);
}

static void dropout_bwd(const lam_op_ctx *c)
{
    if (!c->din[0]) return;
    int64_t n = lam_node_numel(c->node);
    const float *mask = c->saved;
    LAM_PFOR(n, i, c->din[0][i] += c->dout[i] * mask[i]);
}

const lam_op_def lam_opdef_dropout = {.name = "dropout", .min_in = 1, .max_in = 1, .infer = infer_unary, .forward = dropout_fwd, .backward = dropout_bwd};
