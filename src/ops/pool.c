/* Pooling op family, NCHW: max pooling (saves the arg-max of each window for
 * backward, as a byte per window for the common 2x2 stride-2 unpadded case,
 * whose kernels are in src/kernels/maxpool.c, else as the input index;
 * padding never wins, like torch's -inf padding), average pooling
 * (padding counted in the divisor, torch's count_include_pad=True default) and
 * global average pooling [B, C, H, W] -> [B, C].  Work is split over
 * (image, channel) planes. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "kernels/maxpool.h"
#include "kernels/par.h"
#include "ops/op.h"

/* the common 2x2 window, stride 2, no padding: lam_maxpool2x2_* kernels */
static bool pool_2x2(const lam_pool_params *p)
{
    return p->kh == 2 && p->kw == 2 && p->sh == 2 && p->sw == 2 && p->ph == 0 && p->pw == 0;
}

static lam_status pool_infer(lam_node *nd, char *err, size_t errlen)
{
    const lam_shape *x = &nd->in[0]->shape;
    const lam_pool_params *p = &nd->p.maxpool2d;
    char sx[64];
    if (x->ndim != 4) {
        snprintf(err, errlen, "%s: input %s, expected [B, C, H, W]", lam_op_name(nd->op), lam_shape_fmt(x, sx, sizeof sx));
        return LAM_ERR_SHAPE;
    }
    if (p->kh < 1 || p->kw < 1 || p->sh < 1 || p->sw < 1 || p->ph < 0 || p->pw < 0 || 2 * p->ph > p->kh ||
        2 * p->pw > p->kw) {
        snprintf(err, errlen, "%s: window %dx%d, stride %d,%d, padding %d,%d: sizes must be positive and padding at most half the window",
                 lam_op_name(nd->op), p->kh, p->kw, p->sh, p->sw, p->ph, p->pw);
        return LAM_ERR_ARG;
    }
    int64_t oh = (x->d[2] + 2 * p->ph - p->kh) / p->sh + 1, ow = (x->d[3] + 2 * p->pw - p->kw) / p->sw + 1;
    if (x->d[2] + 2 * p->ph < p->kh || x->d[3] + 2 * p->pw < p->kw) {
        snprintf(err, errlen, "%s: window %dx%d larger than input %s", lam_op_name(nd->op), p->kh, p->kw,
                 lam_shape_fmt(x, sx, sizeof sx));
        return LAM_ERR_SHAPE;
    }
    nd->shape = lam_shape4(x->d[0], x->d[1], oh, ow);
    nd->has_batch = nd->in[0]->has_batch;
    nd->dtype = LAM_DTYPE_F32;
    nd->scratch_bytes = 0;
    nd->saved_bytes = nd->op != LAM_OP_MAXPOOL2D ? 0
                      : (size_t)lam_node_numel(nd) * (pool_2x2(p) ? sizeof(uint8_t) : sizeof(int32_t));
    return LAM_OK;
}

typedef struct pg {
    long planes, H, W, OH, OW;
} pg;
static pg geom(const lam_node *nd)
{
    const lam_shape *x = &nd->in[0]->shape;
    return (pg){x->d[0] * x->d[1], x->d[2], x->d[3], nd->shape.d[2], nd->shape.d[3]};
}

/* v beats the best so far: larger, or a NaN (which then stays: torch
 * propagates NaN); ties keep the first, as torch does */
#define BEATS(v, best) ((v) > (best) || ((v) != (v) && (best) == (best)))

static void maxpool_any(const lam_pool_params *p, const float *x, float *y, int32_t *a, long H, long W, long OH,
                        long OW)
{
    for (long oh = 0; oh < OH; oh++) {
        long ih0 = oh * p->sh - p->ph, ih1 = ih0 + p->kh;
        if (ih0 < 0) ih0 = 0;
        if (ih1 > H) ih1 = H;
        for (long ow = 0; ow < OW; ow++) {
            long iw0 = ow * p->sw - p->pw, iw1 = iw0 + p->kw;
            if (iw0 < 0) iw0 = 0;
            if (iw1 > W) iw1 = W;
            /* padding at most half the window, so every window has an input */
            float best = x[ih0 * W + iw0];
            int32_t bi = (int32_t)(ih0 * W + iw0);
            for (long ih = ih0; ih < ih1; ih++)
                for (long iw = iw0; iw < iw1; iw++)
                    if (BEATS(x[ih * W + iw], best)) best = x[ih * W + iw], bi = (int32_t)(ih * W + iw);
            y[oh * OW + ow] = best;
            a[oh * OW + ow] = bi;
        }
    }
}
#undef BEATS

static void maxpool_fwd(const lam_op_ctx *c)
{
    const lam_pool_params *p = &c->node->p.maxpool2d;
    pg g = geom(c->node);
    if (pool_2x2(p)) {
        uint8_t *code = c->saved;
        LAM_PFOR_WORK(g.planes, g.planes * g.H * g.W, pl, {
            lam_maxpool2x2_fwd(c->in[0] + pl * g.H * g.W, c->out + pl * g.OH * g.OW, code + pl * g.OH * g.OW, g.W,
                               g.OH, g.OW);
        });
        return;
    }
    int32_t *arg = c->saved;
    LAM_PFOR_WORK(g.planes, g.planes * g.H * g.W, pl, {
        const float *x = c->in[0] + pl * g.H * g.W;
        float *y = c->out + pl * g.OH * g.OW;
        int32_t *a = arg + pl * g.OH * g.OW;
        maxpool_any(p, x, y, a, g.H, g.W, g.OH, g.OW);
    });
}

static void maxpool_bwd(const lam_op_ctx *c)
{
    if (!c->din[0]) return;
    pg g = geom(c->node);
    if (pool_2x2(&c->node->p.maxpool2d)) {
        const uint8_t *code = c->saved;
        bool set = c->din_fresh[0], mask = c->node->pool_masks_relu;
        LAM_PFOR_WORK(g.planes, g.planes * g.H * g.W, pl, {
            const uint8_t *cp = code + pl * g.OH * g.OW;
            const float *dy = c->dout + pl * g.OH * g.OW;
            float *dx = c->din[0] + pl * g.H * g.W;
            float masked[LAM_RELU_POOL_MAX_PLANE];
            if (mask) {
                const float *y = c->out + pl * g.OH * g.OW;
                for (long o = 0; o < g.OH * g.OW; o++) { /* both loads unconditional: a select, not a branch */
                    float d = dy[o], v = y[o];
                    masked[o] = v > 0.0f ? d : 0.0f;
                }
                dy = masked;
            }
            /* a fresh gradient is zeroed plane by plane, just before the
             * kernel adds into it while the plane is in cache */
            if (set) memset(dx, 0, sizeof(float) * (size_t)(g.H * g.W));
            lam_maxpool2x2_bwd(cp, dy, dx, g.W, g.OH, g.OW);
        });
        return;
    }
    const int32_t *arg = c->saved;
    bool set = c->din_fresh[0], mask = c->node->pool_masks_relu;
    LAM_PFOR_WORK(g.planes, g.planes * g.OH * g.OW, pl, {
        float *dx = c->din[0] + pl * g.H * g.W;
        if (set) memset(dx, 0, sizeof(float) * (size_t)(g.H * g.W));
        const float *dy = c->dout + pl * g.OH * g.OW, *y = c->out + pl * g.OH * g.OW;
        const int32_t *a = arg + pl * g.OH * g.OW;
        for (long o = 0; o < g.OH * g.OW; o++)
            if (a[o] >= 0) dx[a[o]] += mask && !(y[o] > 0.0f) ? 0.0f : dy[o];
    });
}

static double pool_flops(const lam_node *nd)
{
    return (double)lam_node_numel(nd) * nd->p.maxpool2d.kh * nd->p.maxpool2d.kw;
}

const lam_op_def lam_opdef_maxpool2d = {.name = "maxpool2d", .min_in = 1, .max_in = 1, .infer = pool_infer, .forward = maxpool_fwd, .backward = maxpool_bwd, .flops = pool_flops, .fresh = 1};

static void avgpool_fwd(const lam_op_ctx *c)
{
    const lam_pool_params *p = &c->node->p.avgpool2d;
    pg g = geom(c->node);
    float inv = 1.0f / (float)(p->kh * p->kw);
    LAM_PFOR_WORK(g.planes, g.planes * g.H * g.W, pl, {
        const float *x = c->in[0] + pl * g.H * g.W;
        float *y = c->out + pl * g.OH * g.OW;
        for (long oh = 0; oh < g.OH; oh++)
            for (long ow = 0; ow < g.OW; ow++) {
                float s = 0.0f;
                for (int i = 0; i < p->kh; i++) {
                    long ih = oh * p->sh - p->ph + i;
                    if (ih < 0 || ih >= g.H) continue;
                    for (int j = 0; j < p->kw; j++) {
                        long iw = ow * p->sw - p->pw + j;
                        if (iw >= 0 && iw < g.W) s += x[ih * g.W + iw];
                    }
                }
                y[oh * g.OW + ow] = s * inv;
            }
    });
}

static void avgpool_bwd(const lam_op_ctx *c)
{
    if (!c->din[0]) return;
    const lam_pool_params *p = &c->node->p.avgpool2d;
    pg g = geom(c->node);
    float inv = 1.0f / (float)(p->kh * p->kw);
    LAM_PFOR_WORK(g.planes, g.planes * g.H * g.W, pl, {
        float *dx = c->din[0] + pl * g.H * g.W;
        const float *dy = c->dout + pl * g.OH * g.OW;
        for (long oh = 0; oh < g.OH; oh++)
            for (long ow = 0; ow < g.OW; ow++) {
                float d = dy[oh * g.OW + ow] * inv;
                for (int i = 0; i < p->kh; i++) {
                    long ih = oh * p->sh - p->ph + i;
                    if (ih < 0 || ih >= g.H) continue;
                    for (int j = 0; j < p->kw; j++) {
                        long iw = ow * p->sw - p->pw + j;
                        if (iw >= 0 && iw < g.W) dx[ih * g.W + iw] += d;
                    }
                }
            }
    });
}

const lam_op_def lam_opdef_avgpool2d = {.name = "avgpool2d", .min_in = 1, .max_in = 1, .infer = pool_infer, .forward = avgpool_fwd, .backward = avgpool_bwd, .flops = pool_flops};

/* ---- global average pooling ------------------------------------------------ */
static lam_status gap_infer(lam_node *nd, char *err, size_t errlen)
{
    const lam_shape *x = &nd->in[0]->shape;
    char sx[64];
    if (x->ndim != 4) {
        snprintf(err, errlen, "global_avgpool: input %s, expected [B, C, H, W]", lam_shape_fmt(x, sx, sizeof sx));
        return LAM_ERR_SHAPE;
    }
    nd->shape = lam_shape2(x->d[0], x->d[1]);
    nd->has_batch = nd->in[0]->has_batch;
    nd->dtype = LAM_DTYPE_F32;
    nd->scratch_bytes = nd->saved_bytes = 0;
    return LAM_OK;
}

static void gap_fwd(const lam_op_ctx *c)
{
    const lam_shape *x = &c->node->in[0]->shape;
    long planes = x->d[0] * x->d[1], hw = x->d[2] * x->d[3];
    LAM_PFOR_WORK(planes, planes * hw, pl, {
        const float *xp = c->in[0] + pl * hw;
        double s = 0.0;
        for (long i = 0; i < hw; i++) s += xp[i];
        c->out[pl] = (float)(s / (double)hw);
    });
}

static void gap_bwd(const lam_op_ctx *c)
{
    if (!c->din[0]) return;
    const lam_shape *x = &c->node->in[0]->shape;
    long planes = x->d[0] * x->d[1], hw = x->d[2] * x->d[3];
    LAM_PFOR_WORK(planes, planes * hw, pl, {
        float d = c->dout[pl] / (float)hw;
        float *dx = c->din[0] + pl * hw;
        for (long i = 0; i < hw; i++) dx[i] += d;
    });
}

static double gap_flops(const lam_node *nd) { return (double)lam_node_numel(nd->in[0]); }

const lam_op_def lam_opdef_global_avgpool = {.name = "global_avgpool", .min_in = 1, .max_in = 1, .infer = gap_infer, .forward = gap_fwd, .backward = gap_bwd, .flops = gap_flops};
