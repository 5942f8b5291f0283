/* 2-D convolution, NCHW, by one of two algorithms (lam_conv_algo):
 *
 * im2col + one GEMM over the whole batch:
 *   col  [C*KH*KW, B*OH*OW]   (im2col of every image side by side)
 *   Yt   [OC, B*OH*OW]  = W [OC, C*KH*KW] x col
 *   y[b, oc, p] = act(Yt[oc, b*OHW + p] + bias[oc])
 * col is kept from forward to backward (saved), then
 *   dW += dYt x col^T,  db += row sums of dYt,  dcol = W^T x dYt (over col),
 *   dx += col2im(dcol).
 * Saved: col (reused for dcol).  Scratch: Yt/dYt + GEMM packing space.
 *
 * Winograd F(m x m, 3 x 3) (kernels/winograd.h), for 3x3 stride-1 undilated
 * convolutions: U = weights transformed, V = input tiles transformed, one
 * GEMM per transform position (lam_sgemm_batch), the output transform with
 * the bias, then the activation.  Backward transforms dpre into dM, then
 * dU = dM V^T (into dW through G^T . G) and dV = U^T dM (over V, into dx
 * through B . B^T).  Saved: U and V.  Scratch: M/dM, dU, dpre, GEMM space.
 *
 * Every GEMM splits over blocks of its output (or over whole products) and
 * every other loop over channels or (image, channel) pairs, so results do
 * not depend on the thread count.  For GELU the pre-activation is saved too. */
#include <stdio.h>

#include "kernels/conv_direct.h"
#include "kernels/gemm.h"
#include "kernels/im2col.h"
#include "kernels/par.h"
#include "kernels/vec.h"
#include "kernels/winograd.h"
#include "ops/op.h"

#define ALIGN64(x) (((x) + 63) & ~(size_t)63)

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
    size_t a = lam_sgemm_ws_floats(z->OC, z->BN, z->CKK, lam_ops_plan_threads());
    size_t b = lam_sgemm_ws_floats(z->OC, z->CKK, z->BN, lam_ops_plan_threads());
    size_t c = lam_sgemm_ws_floats(z->CKK, z->BN, z->OC, lam_ops_plan_threads());
    size_t d = lam_sgemm_ws_floats(z->CKK, z->OC, z->BN, lam_ops_plan_threads());
    size_t e = lam_sgemm_batch_ws_floats((int)z->OC, (int)z->OHW, (int)z->CKK, lam_ops_plan_threads());
    size_t m = a > b ? a : b;
    m = m > c ? m : c;
    m = m > d ? m : d;
    m = m > e ? m : e;
    return (m + 15) & ~(size_t)15;
}

/* ---- which algorithm ------------------------------------------------------- */

static bool wino_fits(const lam_conv_geom *g)
{
    return g->KH == 3 && g->KW == 3 && g->sh == 1 && g->sw == 1 && g->dh == 1 && g->dw == 1;
}

static bool direct_fits(const lam_conv_geom *g, int max_ckk)
{
    return g->sh == 1 && g->sw == 1 && g->dh == 1 && g->dw == 1 && g->C * g->KH * g->KW <= max_ckk;
}

/* The algorithm this node runs (AUTO resolved; the explicit ones have been
 * checked by conv_infer).  AUTO:
 *  - Winograd F(4x4) for 3x3 / stride 1 / dilation 1 with >= 8 channels in
 *    and out: below that the per-position GEMMs are too thin to gain;
 *  - direct for a first layer on a few channels (input a graph input, so
 *    no input gradient, which is direct's slow part) with 16 <= C*KH*KW
 *    <= 32: on CIFAR's 3x3x3 conv1 a training step was 8 % faster than with
 *    im2col, on Fashion-MNIST's 1x3x3 one 4 % slower (im2col's GEMM has a
 *    transposed weight-gradient path for C*KH*KW < 16);
 *  - im2col otherwise. */
static lam_conv_algo algo_of(const lam_node *nd, const lam_conv_geom *g)
{
    lam_conv_algo a = nd->p.conv2d.algo;
    if (a != LAM_CONV_AUTO) return a;
    long oc = nd->in[1]->shape.d[0];
    if (wino_fits(g) && g->C >= 8 && oc >= 8) return LAM_CONV_WINOGRAD_F4;
    if (direct_fits(g, 32) && g->C * g->KH * g->KW >= 16 && oc >= 8 && nd->in[0]->op == LAM_OP_INPUT)
        return LAM_CONV_DIRECT;
    return LAM_CONV_IM2COL;
}

static int wino_tile(lam_conv_algo a) { return a == LAM_CONV_WINOGRAD_F2 ? 2 : a == LAM_CONV_WINOGRAD_F4 ? 4 : 0; }

/* ---- direct: the buffers ----------------------------------------------------- */

/* saved: the padded input of every image (then the GELU pre-activation);
 * scratch: dpre [B][K][OH*OW] */
static lam_direct direct_of(const lam_node *nd, const lam_conv_geom *g)
{
    lam_direct d;
    lam_direct_setup(&d, g->C, g->H, g->W, (int)nd->in[1]->shape.d[0], g->KH, g->KW, g->ph, g->pw);
    return d;
}

/* ---- Winograd: the buffers ------------------------------------------------- */

#define F16(n) (((size_t)(n) + 15) & ~(size_t)15) /* floats, rounded to 64 bytes */

/* Scratch for the bias gradient's partial sums, B*OC*8 floats, kept at the
 * end of every algorithm's scratch. */
static size_t part_floats(const lam_node *nd) { return F16(nd->in[0]->shape.d[0] * nd->in[1]->shape.d[0] * 8); }

/* Float offsets of the Winograd buffers.  saved: U [a*a][K][C], V [a*a][C][P]
 * (then the pre-activation for GELU).  scratch: M/dM [a*a][K][P], dU
 * [a*a][K][C], dpre [B][K][OH*OW], GEMM workspace. */
typedef struct wino_plan {
    lam_wino w;
    size_t u, v, saved;               /* saved: U at 0, V at u */
    size_t m, du, dpre, ws, scratch;  /* scratch: M at 0, then dU, dpre, ws */
} wino_plan;

static wino_plan wino_plan_of(const lam_node *nd, const lam_conv_geom *g, int m)
{
    wino_plan q;
    long B = nd->in[0]->shape.d[0];
    int K = (int)nd->in[1]->shape.d[0];
    lam_wino_setup(&q.w, m, B, g->C, K, g->H, g->W, g->ph, g->pw);
    long aa = (long)q.w.a * q.w.a, P = q.w.P;
    int nt = lam_ops_plan_threads();
    q.u = F16(aa * q.w.su);
    q.v = F16(aa * q.w.sv);
    q.saved = q.u + q.v;
    q.m = F16(aa * q.w.sm);
    q.du = F16(aa * q.w.su);
    q.dpre = F16(B * K * (long)g->OH * g->OW);
    size_t w1 = lam_sgemm_batch_ws_floats(K, (int)P, g->C, nt);      /* M = U V */
    size_t w2 = lam_sgemm_batch_ws_floats(K, g->C, (int)P, nt);      /* dU = dM V^T */
    size_t w3 = lam_sgemm_batch_ws_floats(g->C, (int)P, K, nt);      /* dV = U^T dM */
    q.ws = F16(w1 > w2 ? (w1 > w3 ? w1 : w3) : (w2 > w3 ? w2 : w3));
    q.scratch = q.m + q.du + q.dpre + q.ws;
    return q;
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
    size_t pre_bytes = lam_act_reads_input(p->act) ? (size_t)lam_node_numel(nd) * sizeof(float) : 0;
    if ((p->algo == LAM_CONV_WINOGRAD_F2 || p->algo == LAM_CONV_WINOGRAD_F4) && !wino_fits(&g)) {
        snprintf(err, errlen, "conv2d: Winograd needs a 3x3 kernel, stride 1 and dilation 1 (got %dx%d, stride %d,%d, dilation %d,%d); use algorithm = auto or im2col",
                 g.KH, g.KW, g.sh, g.sw, g.dh, g.dw);
        return LAM_ERR_ARG;
    }
    if (p->algo == LAM_CONV_DIRECT && !direct_fits(&g, LAM_DIRECT_MAX_CKK)) {
        snprintf(err, errlen, "conv2d: direct needs stride 1, dilation 1 and C*KH*KW <= %d (got C %d, kernel %dx%d, stride %d,%d, dilation %d,%d); use algorithm = auto or im2col",
                 LAM_DIRECT_MAX_CKK, g.C, g.KH, g.KW, g.sh, g.sw, g.dh, g.dw);
        return LAM_ERR_ARG;
    }
    lam_conv_algo algo = algo_of(nd, &g);
    if (algo == LAM_CONV_DIRECT) {
        lam_direct d = direct_of(nd, &g);
        long B = x->d[0];
        nd->scratch_bytes = (F16(B * d.K * (long)d.OH * d.OW) + part_floats(nd)) * sizeof(float);
        nd->saved_bytes = F16(B * lam_direct_pad_floats(&d)) * sizeof(float) + pre_bytes;
        return LAM_OK;
    }
    int m = wino_tile(algo);
    if (m) {
        wino_plan q = wino_plan_of(nd, &g, m);
        nd->scratch_bytes = (q.scratch + part_floats(nd)) * sizeof(float);
        nd->saved_bytes = q.saved * sizeof(float) + pre_bytes;
        return LAM_OK;
    }
    conv_sizes z = sizes_of(nd, &g);
    size_t ws = ws_floats_of(&z) * sizeof(float);
    if (small_ckk(&z)) ws += ALIGN64((size_t)(z.CKK * z.OC) * sizeof(float)); /* dW^T */
    nd->scratch_bytes = z.yt_bytes + ws + part_floats(nd) * sizeof(float);
    nd->saved_bytes = z.col_bytes + pre_bytes;
    return LAM_OK;
}

/* ---- shared by both algorithms ------------------------------------------ */

/* One output plane holding pre-activations: keep them for GELU, apply act. */
static void finish_plane(float *y, float *pre, lam_act act, long n)
{
    if (pre)
        for (long i = 0; i < n; i++) pre[i] = y[i];
    if (act != LAM_ACT_NONE) lam_k_act_fwd(act, y, y, (size_t)n);
}

static float *part_of(const lam_op_ctx *c)
{
    return (float *)((char *)c->scratch + c->node->scratch_bytes) - part_floats(c->node);
}

/* Eight interleaved partial sums of a plane (so that they vectorise). */
static void sum8(const float *r, long n, float acc[8])
{
    for (int k = 0; k < 8; k++) acc[k] = 0.0f;
    long i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++) acc[k] += r[i + k];
    for (; i < n; i++) acc[i % 8] += r[i];
}

/* dpre of every output plane (b, oc) into dst + b*sb + oc*so, and with a
 * bias, db[oc] += the sum of its planes: sum8 of each plane (in the same
 * pass), kept in part_of(c), then added over b in order: a fixed order, the
 * same for any thread count.  When the gradient arrives already masked
 * (c->dout_masked) and NCHW is the layout wanted (sb = OC*OHW, so = OHW),
 * nothing is written: the result is c->dout itself and only the bias sums
 * run.  Returns where dpre is. */
static const float *act_grad(const lam_op_ctx *c, const float *pre_all, long B, long OC, long OHW, float *dst_all,
                             long sb, long so)
{
    lam_act act = c->node->p.conv2d.act;
    long planes = B * OC;
    float *db = c->node->n_in == 3 ? c->din[2] : NULL, *part = part_of(c);
    bool in_place = c->dout_masked && act == LAM_ACT_RELU && sb == OC * OHW && so == OHW;
    if (in_place && !db) return c->dout;
    LAM_PFOR_WORK(planes, planes * OHW, bo, {
        long b = bo / OC, oc = bo % OC;
        float *restrict dst = in_place ? NULL : dst_all + b * sb + oc * so;
        const float *restrict yv = c->out + bo * OHW, *restrict dy = c->dout + bo * OHW;
        if (in_place) {
            sum8(dy, OHW, part + bo * 8);
        } else if (act == LAM_ACT_RELU) { /* the common case, inline: both loads unconditional so it vectorises */
            for (long i = 0; i < OHW; i++) {
                float d = dy[i], v = yv[i];
                dst[i] = v > 0.0f ? d : 0.0f;
            }
        } else {
            const float *pre = pre_all ? pre_all + bo * OHW : NULL;
            lam_k_act_bwd(act, pre, yv, dy, dst, (size_t)OHW, 0);
        }
        if (db && !in_place) sum8(dst, OHW, part + bo * 8);
    });
    if (db)
        for (long oc = 0; oc < OC; oc++) {
            float acc[8] = {0};
            for (long b = 0; b < B; b++)
                for (int k = 0; k < 8; k++) acc[k] += part[(b * OC + oc) * 8 + k];
            db[oc] += lam_k_sum8(acc);
        }
    return in_place ? c->dout : dst_all;
}

/* ---- im2col -------------------------------------------------------------- */

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

typedef struct epi_ctx {
    const conv_sizes *z;
    float *y;
    const float *bias;
} epi_ctx;

/* bias + ReLU over image i's planes, in place (the select of the ReLU kernel) */
static void bias_relu_image(void *ctx, int i)
{
    const epi_ctx *e = ctx;
    for (long oc = 0; oc < e->z->OC; oc++) {
        float *d = e->y + ((long)i * e->z->OC + oc) * e->z->OHW, bv = e->bias ? e->bias[oc] : 0.0f;
        for (long k = 0; k < e->z->OHW; k++) {
            float v = d[k] + bv;
            d[k] = v > 0.0f ? v : 0.0f;
        }
    }
}

static void im2col_fwd(const lam_op_ctx *c)
{
    const lam_node *nd = c->node;
    lam_conv_geom g = geom_of(nd);
    conv_sizes z = sizes_of(nd, &g);
    float *col = c->saved, *yt = c->scratch;
    float *ws = (float *)((char *)yt + z.yt_bytes);
    const float *bias = nd->n_in == 3 ? c->in[2] : NULL;
    lam_act act = nd->p.conv2d.act;
    float *pre = lam_act_reads_input(act) ? (float *)((char *)c->saved + z.col_bytes) : NULL;
    batch_im2col(&g, &z, c->in[0], col);
    float *y = c->out;
    if (z.B > 1 && act == LAM_ACT_RELU) {
        /* one product per image, written straight into its NCHW planes, and
         * bias + ReLU applied by the same thread while they are in cache */
        epi_ctx e = {&z, y, bias};
        lam_sgemm_batch_then((int)z.B, false, false, (int)z.OC, (int)z.OHW, (int)z.CKK, 1.0f, c->in[1], (int)z.CKK, 0,
                             col, (int)z.BN, z.OHW, 0.0f, y, (int)z.OHW, z.OC * z.OHW, ws, c->nthreads, bias_relu_image,
                             &e);
        return;
    }
    lam_sgemm(false, false, (int)z.OC, (int)z.BN, (int)z.CKK, 1.0f, c->in[1], (int)z.CKK, col, (int)z.BN, 0.0f, yt,
              (int)z.BN, ws, c->nthreads);
    long planes = z.B * z.OC;
    LAM_PFOR_WORK(planes, planes * z.OHW, bo, {
        long b = bo / z.OC, oc = bo % z.OC;
        const float *src = yt + oc * z.BN + b * z.OHW;
        float *dst = y + bo * z.OHW;
        float bv = bias ? bias[oc] : 0.0f;
        if (act == LAM_ACT_RELU) { /* one pass; the same select as the ReLU kernel */
            for (long i = 0; i < z.OHW; i++) {
                float v = src[i] + bv;
                dst[i] = v > 0.0f ? v : 0.0f;
            }
        } else {
            for (long i = 0; i < z.OHW; i++) dst[i] = src[i] + bv;
            finish_plane(dst, pre ? pre + bo * z.OHW : NULL, act, z.OHW);
        }
    });
}

static void im2col_bwd(const lam_op_ctx *c)
{
    const lam_node *nd = c->node;
    lam_conv_geom g = geom_of(nd);
    conv_sizes z = sizes_of(nd, &g);
    float *col = c->saved, *dyt = c->scratch; /* col from forward */
    float *ws = (float *)((char *)dyt + z.yt_bytes);
    const float *pre_all = lam_act_reads_input(nd->p.conv2d.act) ? (const float *)((const char *)c->saved + z.col_bytes)
                                                             : NULL;
    if (c->dout_masked && nd->p.conv2d.act == LAM_ACT_RELU && small_ckk(&z) && c->din[1] && !c->din[0]) {
        /* a first layer whose gradient arrives masked: each dW[oc][k] is a
         * sum over images of dot products of an output-gradient plane with
         * a col row (both contiguous), so the gradient is read once, in
         * place, for the weight and the bias gradient together */
        float *dw = c->din[1], *db = nd->n_in == 3 ? c->din[2] : NULL;
        enum { OB = 8 }; /* filters per block: an image's col rows stay in L1 across them */
        long nblk = (z.OC + OB - 1) / OB;
        LAM_PFOR_WORK(nblk, z.OC * z.CKK * z.BN, blk, {
            long oc0 = blk * OB, on = z.OC - oc0 < OB ? z.OC - oc0 : OB;
            float accw[OB][16 * 8] = {{0}}, accb[OB][8] = {{0}}, pb[8];
            for (long b = 0; b < z.B; b++)
                for (long o = 0; o < on; o++) {
                    const float *d = c->dout + (b * z.OC + oc0 + o) * z.OHW;
                    if (db) {
                        sum8(d, z.OHW, pb);
                        for (int k = 0; k < 8; k++) accb[o][k] += pb[k];
                    }
                    lam_k_rowdots(d, col + b * z.OHW, z.BN, (int)z.CKK, z.OHW, accw[o]);
                }
            for (long o = 0; o < on; o++) {
                for (long k = 0; k < z.CKK; k++) dw[(oc0 + o) * z.CKK + k] += lam_k_sum8(accw[o] + k * 8);
                if (db) db[oc0 + o] += lam_k_sum8(accb[o]);
            }
        });
        return;
    }
    act_grad(c, pre_all, z.B, z.OC, z.OHW, dyt, z.OHW, z.BN); /* dpre in [OC, B*OHW] layout */
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

/* ---- Winograd ------------------------------------------------------------ */

static void wino_fwd(const lam_op_ctx *c, int m)
{
    const lam_node *nd = c->node;
    lam_conv_geom g = geom_of(nd);
    wino_plan q = wino_plan_of(nd, &g, m);
    const lam_wino *w = &q.w;
    long aa = (long)w->a * w->a, KC = (long)w->K * w->C, ohw = (long)w->OH * w->OW;
    float *U = c->saved, *V = U + q.u, *M = c->scratch, *ws = M + q.m + q.du + q.dpre;
    float *pre = lam_act_reads_input(nd->p.conv2d.act) ? V + q.v : NULL;
    const float *bias = nd->n_in == 3 ? c->in[2] : NULL;
    long chunks = (KC + 63) / 64;
    LAM_PFOR_WORK(chunks, KC * aa, i, {
        long q1 = (i + 1) * 64 < KC ? (i + 1) * 64 : KC;
        lam_wino_weights(w, c->in[1], U, i * 64, q1);
    });
    LAM_PFOR_WORK(w->C, w->C * w->P * aa, ch, lam_wino_input(w, c->in[0], V, (int)ch));
    lam_sgemm_batch((int)aa, false, false, w->K, (int)w->P, w->C, 1.0f, U, w->C, w->su, V, (int)w->P, w->sv, 0.0f,
                    M, (int)w->P, w->sm, ws, c->nthreads);
    lam_act act = nd->p.conv2d.act;
    LAM_PFOR_WORK(w->K, w->K * w->P * aa, k, {
        lam_wino_output(w, M, bias ? bias[k] : 0.0f, act == LAM_ACT_RELU, c->out, (int)k);
        if (act != LAM_ACT_RELU)
            for (long b = 0; b < w->B; b++) {
                long plane = (b * w->K + k) * ohw;
                finish_plane(c->out + plane, pre ? pre + plane : NULL, act, ohw);
            }
    });
}

static void wino_bwd(const lam_op_ctx *c, int m)
{
    const lam_node *nd = c->node;
    lam_conv_geom g = geom_of(nd);
    wino_plan q = wino_plan_of(nd, &g, m);
    const lam_wino *w = &q.w;
    long aa = (long)w->a * w->a, KC = (long)w->K * w->C, ohw = (long)w->OH * w->OW;
    float *U = c->saved, *V = U + q.u;
    float *dM = c->scratch, *dU = dM + q.m, *dpre = dU + q.du, *ws = dpre + q.dpre;
    const float *pre_all = lam_act_reads_input(nd->p.conv2d.act) ? V + q.v : NULL;
    const float *dp = act_grad(c, pre_all, w->B, w->K, ohw, dpre, w->K * ohw, ohw); /* [B, K, OH*OW] */
    if (!c->din[0] && !c->din[1]) return;
    LAM_PFOR_WORK(w->K, w->K * w->P * aa, k, lam_wino_output_grad(w, dp, dM, (int)k));
    if (c->din[1]) {
        lam_sgemm_batch((int)aa, false, true, w->K, w->C, (int)w->P, 1.0f, dM, (int)w->P, w->sm, V, (int)w->P,
                        w->sv, 0.0f, dU, w->C, w->su, ws, c->nthreads);
        long chunks = (KC + 63) / 64;
        LAM_PFOR_WORK(chunks, KC * aa, i, {
            long q1 = (i + 1) * 64 < KC ? (i + 1) * 64 : KC;
            lam_wino_weights_grad(w, dU, c->din[1], i * 64, q1);
        });
    }
    if (c->din[0]) { /* dV = U^T dM, written over V */
        lam_sgemm_batch((int)aa, true, false, w->C, (int)w->P, w->K, 1.0f, U, w->C, w->su, dM, (int)w->P, w->sm,
                        0.0f, V, (int)w->P, w->sv, ws, c->nthreads);
        LAM_PFOR_WORK(w->C, w->C * w->P * aa, ch, lam_wino_input_grad(w, V, c->din[0], (int)ch));
    }
}

/* ---- direct ------------------------------------------------------------------ */

static void direct_fwd(const lam_op_ctx *c)
{
    const lam_node *nd = c->node;
    lam_conv_geom g = geom_of(nd);
    lam_direct d = direct_of(nd, &g);
    long B = nd->in[0]->shape.d[0], padn = lam_direct_pad_floats(&d), ohw = (long)d.OH * d.OW;
    long chw = (long)d.C * d.H * d.W, kohw = d.K * ohw;
    float *pad = c->saved, *pre = lam_act_reads_input(nd->p.conv2d.act) ? pad + F16(B * padn) : NULL;
    const float *bias = nd->n_in == 3 ? c->in[2] : NULL;
    lam_act act = nd->p.conv2d.act;
    LAM_PFOR_WORK(B, B * kohw * d.C * d.KH * d.KW, b, {
        lam_direct_pad(&d, c->in[0] + b * chw, pad + b * padn);
        lam_direct_forward(&d, pad + b * padn, c->in[1], bias, c->out + b * kohw);
        for (long k = 0; k < d.K; k++) {
            long plane = b * kohw + k * ohw;
            finish_plane(c->out + plane, pre ? pre + plane : NULL, act, ohw);
        }
    });
}

static void direct_bwd(const lam_op_ctx *c)
{
    const lam_node *nd = c->node;
    lam_conv_geom g = geom_of(nd);
    lam_direct d = direct_of(nd, &g);
    long B = nd->in[0]->shape.d[0], padn = lam_direct_pad_floats(&d), ohw = (long)d.OH * d.OW;
    long kohw = d.K * ohw, taps = (long)d.KH * d.KW;
    const float *pad = c->saved, *pre_all = lam_act_reads_input(nd->p.conv2d.act) ? pad + F16(B * padn) : NULL;
    float *dpre = c->scratch;
    const float *dp = act_grad(c, pre_all, B, d.K, ohw, dpre, kohw, ohw); /* [B, K, OH*OW] */
    if (c->din[1])
        LAM_PFOR_WORK(d.K, B * kohw * d.C * taps, k,
                      lam_direct_weight_grad(&d, B, dp, pad, c->din[1], (int)k, (int)k + 1));
    if (c->din[0]) {
        long chw = (long)d.C * d.H * d.W;
        LAM_PFOR_WORK(B, B * kohw * d.C * taps, b,
                      lam_direct_input_grad(&d, dp + b * kohw, c->in[1], c->din[0] + b * chw));
    }
}

static void conv_fwd(const lam_op_ctx *c)
{
    lam_conv_geom g = geom_of(c->node);
    lam_conv_algo a = algo_of(c->node, &g);
    if (a == LAM_CONV_DIRECT) direct_fwd(c);
    else if (wino_tile(a)) wino_fwd(c, wino_tile(a));
    else im2col_fwd(c);
}

static void conv_bwd(const lam_op_ctx *c)
{
    lam_conv_geom g = geom_of(c->node);
    lam_conv_algo a = algo_of(c->node, &g);
    if (a == LAM_CONV_DIRECT) direct_bwd(c);
    else if (wino_tile(a)) wino_bwd(c, wino_tile(a));
    else im2col_bwd(c);
}

static double conv_flops(const lam_node *nd)
{
    lam_conv_geom g = geom_of(nd);
    conv_sizes z = sizes_of(nd, &g);
    return 2.0 * (double)z.OC * (double)z.CKK * (double)z.BN + (double)z.OC * (double)z.BN;
}

const lam_op_def lam_opdef_conv2d = {.name = "conv2d", .min_in = 2, .max_in = 3, .infer = conv_infer, .forward = conv_fwd, .backward = conv_bwd, .flops = conv_flops};
