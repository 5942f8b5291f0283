/* 2-D convolution, NCHW, as im2col + one GEMM over the whole batch:
 *   col  [C*KH*KW, B*OH*OW]   (im2col of every image side by side)
 *   Yt   [OC, B*OH*OW]  = W [OC, C*KH*KW] x col
 *   y[b, oc, p] = act(Yt[oc, b*OHW + p] + bias[oc])
 * col is kept from forward to backward (saved), then
 *   dW += dYt x col^T,  db += row sums of dYt,  dcol = W^T x dYt (over col),
 *   dx += col2im(dcol).
 * Every GEMM splits over blocks of its output and every other loop over
 * (image, channel) pairs, so results do not depend on the thread count.
 * Saved: col (reused for dcol) and, for GELU, the pre-activation.
 * Scratch: Yt/dYt + GEMM packing space. */
#include <stdio.h>

#include "kernels/gemm.h"
#include "kernels/im2col.h"
#include "kernels/par.h"
#include "kernels/vec.h"
#include "ops/op.h"

#define ALIGN64(x) (((x) + 63) & ~(size_t)63)

int lam_ops_plan_threads(void);

static lam_conv_geom geom_of(const lam_node *nd)
{
    const lam_shape *x = &nd->in[0]->shape, *w = &nd->in[1]->shape;
    const lam_conv_params *p = &nd->p.conv2d;
    lam_conv_geom g = {(int)x->d[1], (int)x->d[2], (int)x->d[3], (int)w->d[2], (int)w->d[3], p->sh, p->sw,
                       p->ph,        p->pw,        p->dh,        p->dw,        0,           0};
    g.OH = (g.H + 2 * g.ph - g.dh * (g.KH - 1) - 1) / g.sh + 1;
    g.OW = (g.W + 2 * g.pw - g.dw * (g.KW - 1) - 1) / g.sw + 1;
    return g;
}

typedef struct conv_sizes {
    long B, OC, CKK, OHW, BN;
    size_t col_bytes, yt_bytes;
} conv_sizes;

static conv_sizes sizes_of(const lam_node *nd, const lam_conv_geom *g)
{
    conv_sizes z;
    z.B = nd->in[0]->shape.d[0];
    z.OC = nd->in[1]->shape.d[0];
    z.CKK = (long)g->C * g->KH * g->KW;
    z.OHW = (long)g->OH * g->OW;
    z.BN = z.B * z.OHW;
    z.col_bytes = ALIGN64((size_t)(z.CKK * z.BN) * sizeof(float));
    z.yt_bytes = ALIGN64((size_t)(z.OC * z.BN) * sizeof(float));
    return z;
}


/* the first-layer case of the weight gradient (see conv_bwd) */
static bool small_ckk(const conv_sizes *z) { return z->CKK < 16 && z->OC >= 16; }

/* GEMM workspace floats of the three products, and what follows it */
static size_t ws_floats_of(const conv_sizes *z)
{
    size_t a = lam_sgemm_ws_floats((int)z->OC, (int)z->BN, (int)z->CKK, lam_ops_plan_threads());
    size_t b = lam_sgemm_ws_floats((int)z->OC, (int)z->CKK, (int)z->BN, lam_ops_plan_threads());
    size_t c = lam_sgemm_ws_floats((int)z->CKK, (int)z->BN, (int)z->OC, lam_ops_plan_threads());
    size_t d = lam_sgemm_ws_floats((int)z->CKK, (int)z->OC, (int)z->BN, lam_ops_plan_threads());
    size_t m = a > b ? a : b;
    m = m > c ? m : c;
    m = m > d ? m : d;
    return (m + 15) & ~(size_t)15;
}

static lam_status conv_infer(lam_node *nd, char *err, size_t errlen)
{
    const lam_shape *x = &nd->in[0]->shape, *w = &nd->in[1]->shape;
    const lam_conv_params *p = &nd->p.conv2d;
    char sx[64], sw[64];
    if (x->ndim != 4 || w->ndim != 4 || w->d[1] != x->d[1] ||
        (nd->n_in == 3 && (nd->in[2]->shape.ndim != 1 || nd->in[2]->shape.d[0] != w->d[0]))) {
        snprintf(err, errlen, "conv2d: input %s and weight %s: expected input [B, C, H, W], weight [OC, C, KH, KW], bias [OC]",
                 lam_shape_fmt(x, sx, sizeof sx), lam_shape_fmt(w, sw, sizeof sw));
        return LAM_ERR_SHAPE;
    }
    if (p->sh < 1 || p->sw < 1 || p->dh < 1 || p->dw < 1 || p->ph < 0 || p->pw < 0) {
        snprintf(err, errlen, "conv2d: stride and dilation must be >= 1 and padding >= 0");
        return LAM_ERR_ARG;
    }
    lam_conv_geom g = geom_of(nd);
    if (g.H + 2 * g.ph < g.dh * (g.KH - 1) + 1 || g.W + 2 * g.pw < g.dw * (g.KW - 1) + 1) {
        snprintf(err, errlen, "conv2d: kernel %dx%d (dilation %d,%d) does not fit input %s with padding %d,%d", g.KH,
                 g.KW, g.dh, g.dw, lam_shape_fmt(x, sx, sizeof sx), g.ph, g.pw);
        return LAM_ERR_SHAPE;
    }
    nd->shape = lam_shape4(x->d[0], w->d[0], g.OH, g.OW);
    nd->has_batch = nd->in[0]->has_batch;
    nd->dtype = LAM_DTYPE_F32;
    conv_sizes z = sizes_of(nd, &g);
    size_t ws = ws_floats_of(&z) * sizeof(float);
    if (small_ckk(&z)) ws += ALIGN64((size_t)(z.CKK * z.OC) * sizeof(float)); /* dW^T */
    nd->scratch_bytes = z.yt_bytes + ws;
    nd->saved_bytes = z.col_bytes + (p->act == LAM_ACT_GELU ? (size_t)lam_node_numel(nd) * sizeof(float) : 0);
    return LAM_OK;
}

/* im2col of the whole batch, parallel over (image, channel) */
static void batch_im2col(const lam_conv_geom *g, const conv_sizes *z, const float *x, float *col)
{
    long planes = z->B * g->C, chw = (long)g->C * g->H * g->W;
    LAM_PFOR_WORK(planes, z->CKK * z->BN, bc, {
        long b = bc / g->C;
        int c = (int)(bc % g->C);
        lam_im2col(g, x + b * chw, c, c + 1, col, z->BN, b * z->OHW);
    });
}

static void conv_fwd(const lam_op_ctx *c)
{
    const lam_node *nd = c->node;
    lam_conv_geom g = geom_of(nd);
    conv_sizes z = sizes_of(nd, &g);
    float *col = c->saved, *yt = c->scratch;
    float *ws = (float *)((char *)yt + z.yt_bytes);
    const float *bias = nd->n_in == 3 ? c->in[2] : NULL;
    lam_act act = nd->p.conv2d.act;
    float *pre = act == LAM_ACT_GELU ? (float *)((char *)c->saved + z.col_bytes) : NULL;
    batch_im2col(&g, &z, c->in[0], col);
    lam_sgemm(false, false, (int)z.OC, (int)z.BN, (int)z.CKK, 1.0f, c->in[1], (int)z.CKK, col, (int)z.BN, 0.0f, yt,
              (int)z.BN, ws, c->nthreads);
    long planes = z.B * z.OC;
    float *y = c->out;
    LAM_PFOR_WORK(planes, planes * z.OHW, bo, {
        long b = bo / z.OC, oc = bo % z.OC;
        const float *src = yt + oc * z.BN + b * z.OHW;
        float *dst = y + bo * z.OHW;
        float bv = bias ? bias[oc] : 0.0f;
        for (long i = 0; i < z.OHW; i++) dst[i] = src[i] + bv;
        if (pre)
            for (long i = 0; i < z.OHW; i++) pre[bo * z.OHW + i] = dst[i];
        if (act != LAM_ACT_NONE) lam_k_act_fwd(act, dst, dst, (size_t)z.OHW);
    });
}

static void conv_bwd(const lam_op_ctx *c)
{
    const lam_node *nd = c->node;
    lam_conv_geom g = geom_of(nd);
    conv_sizes z = sizes_of(nd, &g);
    float *col = c->saved, *dyt = c->scratch; /* col from forward */
    float *ws = (float *)((char *)dyt + z.yt_bytes);
    lam_act act = nd->p.conv2d.act;
    const float *pre_all = act == LAM_ACT_GELU ? (const float *)((const char *)c->saved + z.col_bytes) : NULL;
    long planes = z.B * z.OC;
    /* dpre in [OC, B*OHW] layout */
    LAM_PFOR_WORK(planes, planes * z.OHW, bo, {
        long b = bo / z.OC, oc = bo % z.OC;
        float *restrict dst = dyt + oc * z.BN + b * z.OHW;
        const float *restrict yv = c->out + bo * z.OHW, *restrict dy = c->dout + bo * z.OHW;
        if (act == LAM_ACT_RELU) { /* the common case, inline: both loads unconditional so it vectorises */
            for (long i = 0; i < z.OHW; i++) {
                float d = dy[i], v = yv[i];
                dst[i] = v > 0.0f ? d : 0.0f;
            }
        } else {
            const float *pre = pre_all ? pre_all + bo * z.OHW : NULL;
            lam_k_act_bwd(act, pre, yv, dy, dst, (size_t)z.OHW, 0);
        }
    });
    if (nd->n_in == 3 && c->din[2]) {
        float *db = c->din[2];
        /* eight interleaved partial sums (a fixed order, so the same for
         * any thread count) let the long row sum vectorise */
        LAM_PFOR_WORK(z.OC, z.OC * z.BN, oc, {
            float acc[8] = {0};
            const float *r = dyt + oc * z.BN;
            long i = 0;
            for (; i + 8 <= z.BN; i += 8)
                for (int k = 0; k < 8; k++) acc[k] += r[i + k];
            for (; i < z.BN; i++) acc[i % 8] += r[i];
            db[oc] += ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
        });
    }
    if (c->din[1] && !small_ckk(&z)) {
        lam_sgemm(false, true, (int)z.OC, (int)z.CKK, (int)z.BN, 1.0f, dyt, (int)z.BN, col, (int)z.BN, 1.0f,
                  c->din[1], (int)z.CKK, ws, c->nthreads);
    } else if (c->din[1]) {
        /* few columns (a first layer: C*KH*KW < 16) waste most of a 16-wide
         * register tile; dW^T = col dYt^T has them as rows instead (twice as
         * fast for 3x3 on one channel), then transposed into dW */
        float *dwt = ws + ws_floats_of(&z);
        lam_sgemm(false, true, (int)z.CKK, (int)z.OC, (int)z.BN, 1.0f, col, (int)z.BN, dyt, (int)z.BN, 0.0f, dwt,
                  (int)z.OC, ws, c->nthreads);
        float *dw = c->din[1];
        for (long oc = 0; oc < z.OC; oc++)
            for (long k = 0; k < z.CKK; k++) dw[oc * z.CKK + k] += dwt[k * z.OC + oc];
    }
    if (c->din[0]) {
        /* dcol = W^T dYt, written over col */
        lam_sgemm(true, false, (int)z.CKK, (int)z.BN, (int)z.OC, 1.0f, c->in[1], (int)z.CKK, dyt, (int)z.BN, 0.0f,
                  col, (int)z.BN, ws, c->nthreads);
        long chw = (long)g.C * g.H * g.W, pl = z.B * g.C;
        float *dx = c->din[0];
        LAM_PFOR_WORK(pl, z.CKK * z.BN, bc, {
            long b = bc / g.C;
            int ch = (int)(bc % g.C);
            lam_col2im(&g, col, ch, ch + 1, dx + b * chw, z.BN, b * z.OHW);
        });
    }
}

static double conv_flops(const lam_node *nd)
{
    lam_conv_geom g = geom_of(nd);
    conv_sizes z = sizes_of(nd, &g);
    return 2.0 * (double)z.OC * (double)z.CKK * (double)z.BN + (double)z.OC * (double)z.BN;
}

const lam_op_def lam_opdef_conv2d = {"conv2d", 2, 3, conv_infer, conv_fwd, conv_bwd, conv_flops};
