/* Layer normalisation and RMS normalisation over the last dimension of
 * [..., C] (torch.nn.LayerNorm(C) and torch.nn.RMSNorm(C)).  Inputs: x, the
 * gain g [C], and (layernorm only, optional) the shift b [C].  Forward saves
 * each row's mean and 1/std.  Rows are split over threads; the parameter
 * gradients are summed per block of LN_BLOCK rows (a fixed partition, so the
 * same for any thread count) and the blocks added in order. */
#include <stdio.h>
#include <string.h>

#include "kernels/xf.h"
#include "ops/op.h"

#define LN_BLOCK 64
#define ALIGN64(x) (((x) + 63) & ~(size_t)63)

typedef struct ln_dims {
    int64_t rows;
    int C;
} ln_dims;

static ln_dims ln_get(const lam_node *nd)
{
    const lam_shape *x = &nd->in[0]->shape;
    int64_t C = x->d[x->ndim - 1];
    return (ln_dims){C ? lam_shape_numel(x) / C : 0, (int)C};
}

static lam_status ln_infer(lam_node *nd, char *err, size_t errlen)
{
    const lam_shape *x = &nd->in[0]->shape;
    const char *nm = lam_op_name(nd->op);
    char sx[64], sg[64];
    if (x->ndim < 2 || x->d[x->ndim - 1] < 1 || x->d[x->ndim - 1] > LAM_XF_NORM_MAX_C) {
        snprintf(err, errlen, "%s: input %s, expected [B, ..., C] with 1 <= C <= %d", nm, lam_shape_fmt(x, sx, sizeof sx),
                 LAM_XF_NORM_MAX_C);
        return LAM_ERR_SHAPE;
    }
    for (int k = 1; k < nd->n_in; k++) {
        const lam_shape *g = &nd->in[k]->shape;
        if (g->ndim != 1 || g->d[0] != x->d[x->ndim - 1]) {
            snprintf(err, errlen, "%s: input %s, %s %s: expected [%lld]", nm, lam_shape_fmt(x, sx, sizeof sx),
                     k == 1 ? "weight" : "bias", lam_shape_fmt(g, sg, sizeof sg), (long long)x->d[x->ndim - 1]);
            return LAM_ERR_SHAPE;
        }
    }
    nd->shape = *x;
    nd->has_batch = nd->in[0]->has_batch;
    nd->dtype = LAM_DTYPE_F32;
    ln_dims d = ln_get(nd);
    nd->saved_bytes = ALIGN64((size_t)(2 * d.rows) * sizeof(float));
    int64_t blocks = (d.rows + LN_BLOCK - 1) / LN_BLOCK;
    nd->scratch_bytes = ALIGN64((size_t)(blocks * 2 * d.C) * sizeof(float));
    return LAM_OK;
}

static void ln_fwd(const lam_op_ctx *c)
{
    const lam_node *nd = c->node;
    ln_dims d = ln_get(nd);
    const float *g = c->in[1], *b = nd->n_in > 2 ? c->in[2] : NULL;
    bool rms = nd->op == LAM_OP_RMSNORM;
    float eps = rms ? nd->p.rmsnorm.eps : nd->p.layernorm.eps;
    int64_t blocks = (d.rows + LN_BLOCK - 1) / LN_BLOCK;
#pragma omp parallel for schedule(static) if (d.rows * d.C > 32768 && blocks > 1)
    for (int64_t k = 0; k < blocks; k++) {
        int64_t r0 = k * LN_BLOCK, n = d.rows - r0 < LN_BLOCK ? d.rows - r0 : LN_BLOCK;
        lam_k_norm_fwd(c->in[0] + r0 * d.C, g, b, c->out + r0 * d.C, (float *)c->saved + 2 * r0, n, d.C, eps, rms);
    }
}

static void ln_bwd(const lam_op_ctx *c)
{
    const lam_node *nd = c->node;
    ln_dims d = ln_get(nd);
    bool rms = nd->op == LAM_OP_RMSNORM;
    float *dg = c->din[1], *db = nd->n_in > 2 ? c->din[2] : NULL;
    int64_t blocks = (d.rows + LN_BLOCK - 1) / LN_BLOCK;
    float *part = c->scratch; /* [blocks][2][C]: dg and db partial sums */
#pragma omp parallel for schedule(static) if (d.rows * d.C > 32768 && blocks > 1)
    for (int64_t k = 0; k < blocks; k++) {
        int64_t r0 = k * LN_BLOCK, n = d.rows - r0 < LN_BLOCK ? d.rows - r0 : LN_BLOCK;
        float *pg = dg ? part + k * 2 * d.C : NULL, *pb = db ? part + k * 2 * d.C + d.C : NULL;
        if (pg) memset(pg, 0, (size_t)d.C * sizeof(float));
        if (pb) memset(pb, 0, (size_t)d.C * sizeof(float));
        lam_k_norm_bwd(c->in[0] + r0 * d.C, c->in[1], (const float *)c->saved + 2 * r0, c->dout + r0 * d.C,
                       c->din[0] ? c->din[0] + r0 * d.C : NULL, pg, pb, n, d.C, rms, !c->din_fresh[0]);
    }
    for (int64_t k = 0; k < blocks; k++) {
        if (dg)
            for (int j = 0; j < d.C; j++) dg[j] += part[k * 2 * d.C + j];
        if (db)
            for (int j = 0; j < d.C; j++) db[j] += part[k * 2 * d.C + d.C + j];
    }
}

static double ln_flops(const lam_node *nd) { return 8.0 * (double)lam_node_numel(nd); }

const lam_op_def lam_opdef_layernorm = {.name = "layernorm", .min_in = 2, .max_in = 3, .infer = ln_infer, .forward = ln_fwd, .backward = ln_bwd, .flops = ln_flops, .fresh = 1};
const lam_op_def lam_opdef_rmsnorm = {.name = "rmsnorm", .min_in = 2, .max_in = 2, .infer = ln_infer, .forward = ln_fwd, .backward = ln_bwd, .flops = ln_flops, .fresh = 1};
