/* Rotary position embedding and the SwiGLU gate: the two pieces a
 * LLaMA-style block adds to GPT's.
 *
 * rope: on the packed projection qkv [B, T, (NH + 2 NKV) HS] of the
 * attention op, every query and key head is rotated by its position (the
 * value heads pass through): with HF LLaMA's and GPT-NeoX's pairing
 * ("rotate_half"), for i < HS/2, a pair (x_i, x_{i + HS/2}) at position p
 * turns by the angle p theta^(-2i / HS):
 *   y_i = x_i cos - x_{i+HS/2} sin,   y_{i+HS/2} = x_{i+HS/2} cos + x_i sin.
 * Positions are t, or start[b] + t with the optional int32 input start [B]
 * (a decoding step).  The rotation is orthogonal, so backward turns the
 * gradient back by the same angles.  Angles in float as torch computes
 * them: inv_freq_i = 1 / theta^(2i / HS), angle = p inv_freq_i.
 *
 * swiglu: x [..., 2H] = [a | b] -> silu(a) b [..., H] (the gate and the up
 * projection of LLaMA's MLP as one Linear(C, 2H)). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "kernels/par.h"
#include "kernels/xf.h"
#include "ops/op.h"

/* ROPE_MAX_HALF (op.h): HS / 2 at most (the row's angles live on the stack) */

static lam_status rope_infer(lam_node *nd, char *err, size_t errlen)
{
    const lam_rope_params *p = &nd->p.rope;
    const lam_shape *x = &nd->in[0]->shape;
    char sx[64];
    int64_t W = (int64_t)(p->nh + 2 * p->nkv) * p->hs;
    if (x->ndim != 3 || x->d[2] != W) {
        snprintf(err, errlen, "rope: input %s: expected [B, T, (heads + 2 kv_heads) head_size] = [B, T, %lld]",
                 lam_shape_fmt(x, sx, sizeof sx), (long long)W);
        return LAM_ERR_SHAPE;
    }
    if (nd->n_in > 1 && (nd->in[1]->shape.ndim != 1 || nd->in[1]->shape.d[0] != x->d[0])) {
        snprintf(err, errlen, "rope: start positions %s: expected [B] = [%lld]",
                 lam_shape_fmt(&nd->in[1]->shape, sx, sizeof sx), (long long)x->d[0]);
        return LAM_ERR_SHAPE;
    }
    nd->shape = *x;
    nd->has_batch = nd->in[0]->has_batch;
    nd->dtype = LAM_DTYPE_F32;
    nd->scratch_bytes = nd->saved_bytes = 0;
    return LAM_OK;
}

/* the cos and sin of row position pos */
static void rope_angles(const lam_rope_params *p, int64_t pos, float *cs, float *sn)
{
    int half = p->hs / 2;
    for (int i = 0; i < half; i++) {
        float inv = 1.0f / powf(p->theta, (float)(2 * i) / (float)p->hs);
        float a = (float)pos * inv;
        cs[i] = cosf(a);
        sn[i] = sinf(a);
    }
}

/* y = R(sign * angle) x over one row's rotated heads; the value heads copied
 * (or added, for a gradient with accumulate) */
static void rope_row(const lam_rope_params *p, const float *x, float *y, const float *cs, const float *sn, float sign,
                     bool accumulate)
{
    int half = p->hs / 2, nrot = p->nh + p->nkv;
    for (int h = 0; h < nrot; h++) {
        const float *a = x + (int64_t)h * p->hs, *b = a + half;
        float *ya = y + (int64_t)h * p->hs, *yb = ya + half;
        for (int i = 0; i < half; i++) {
            float s = sign * sn[i];
            float u = a[i] * cs[i] - b[i] * s, v = b[i] * cs[i] + a[i] * s;
            if (accumulate) ya[i] += u, yb[i] += v;
            else ya[i] = u, yb[i] = v;
        }
    }
    int64_t off = (int64_t)nrot * p->hs, nv = (int64_t)p->nkv * p->hs;
    if (accumulate)
        for (int64_t j = 0; j < nv; j++) y[off + j] += x[off + j];
    else
        memcpy(y + off, x + off, (size_t)nv * sizeof(float));
}

static bool rope_check_start(const lam_op_ctx *c, const int32_t *start, int64_t B)
{
    for (int64_t b = 0; start && b < B; b++)
        if (start[b] < 0) {
            *c->status = LAM_ERR_ARG;
            snprintf(c->errmsg, c->errlen, "rope: batch row %lld: start position %d < 0", (long long)b, (int)start[b]);
            return false;
        }
    return true;
}

static void rope_run(const lam_op_ctx *c, const float *x, float *y, float sign, bool accumulate)
{
    const lam_node *nd = c->node;
    const lam_rope_params *p = &nd->p.rope;
    const lam_shape *s = &nd->shape;
    int64_t B = s->d[0], T = s->d[1], W = s->d[2];
    const int32_t *start = nd->n_in > 1 ? (const int32_t *)c->in[1] : NULL;
    LAM_PFOR_WORK(B * T, B * T * W, r, {
        float cs[ROPE_MAX_HALF], sn[ROPE_MAX_HALF];
        rope_angles(p, (start ? start[r / T] : 0) + r % T, cs, sn);
        rope_row(p, x + r * W, y + r * W, cs, sn, sign, accumulate);
    });
}

static void rope_fwd(const lam_op_ctx *c)
{
    const int32_t *start = c->node->n_in > 1 ? (const int32_t *)c->in[1] : NULL;
    if (!rope_check_start(c, start, c->node->shape.d[0])) return;
    rope_run(c, c->in[0], c->out, 1.0f, false);
}

static void rope_bwd(const lam_op_ctx *c)
{
    if (c->din[0]) rope_run(c, c->dout, c->din[0], -1.0f, !c->din_fresh[0]);
}

static double rope_flops(const lam_node *nd)
{
    const lam_rope_params *p = &nd->p.rope;
    return 3.0 * (double)nd->shape.d[0] * (double)nd->shape.d[1] * (double)(p->nh + p->nkv) * p->hs;
}

static unsigned rope_int_inputs(const lam_op_params *p, int n_in)
{
    (void)p;
    return n_in > 1 ? 1u << 1 : 0;
}

const lam_op_def lam_opdef_rope = {.name = "rope", .min_in = 1, .max_in = 2, .infer = rope_infer, .forward = rope_fwd, .backward = rope_bwd, .flops = rope_flops, .fresh = 1, .int_inputs = rope_int_inputs};

/* ---- swiglu ----------------------------------------------------------------- */
static lam_status swiglu_infer(lam_node *nd, char *err, size_t errlen)
{
    const lam_shape *x = &nd->in[0]->shape;
    char sx[64];
    if (x->ndim < 1 || x->d[x->ndim - 1] % 2 || x->d[x->ndim - 1] == 0) {
        snprintf(err, errlen, "swiglu: input %s: the last dimension must be even (the gate and the value halves)",
                 lam_shape_fmt(x, sx, sizeof sx));
        return LAM_ERR_SHAPE;
    }
    nd->shape = *x;
    nd->shape.d[x->ndim - 1] /= 2;
    nd->has_batch = nd->in[0]->has_batch;
    nd->dtype = LAM_DTYPE_F32;
    nd->scratch_bytes = nd->saved_bytes = 0;
    return LAM_OK;
}

#define SWIGLU_ROWS_MIN 8 /* rows per task at least */

static void swiglu_fwd(const lam_op_ctx *c)
{
    const lam_shape *s = &c->node->shape;
    int64_t H = s->d[s->ndim - 1], rows = lam_node_numel(c->node) / H;
    const float *x = c->in[0];
    float *y = c->out;
    int64_t nb = (rows + SWIGLU_ROWS_MIN - 1) / SWIGLU_ROWS_MIN;
    LAM_PFOR_WORK(nb, rows * H * 2, k, {
        int64_t r0 = k * SWIGLU_ROWS_MIN, n = rows - r0 < SWIGLU_ROWS_MIN ? rows - r0 : SWIGLU_ROWS_MIN;
        lam_k_swiglu(x + r0 * 2 * H, y + r0 * H, (long)n, (long)H);
    });
}

static void swiglu_bwd(const lam_op_ctx *c)
{
    if (!c->din[0]) return;
    const lam_shape *s = &c->node->shape;
    int64_t H = s->d[s->ndim - 1], rows = lam_node_numel(c->node) / H;
    const float *x = c->in[0], *dy = c->dout;
    float *dx = c->din[0];
    bool acc = !c->din_fresh[0];
    int64_t nb = (rows + SWIGLU_ROWS_MIN - 1) / SWIGLU_ROWS_MIN;
    LAM_PFOR_WORK(nb, rows * H * 4, k, {
        int64_t r0 = k * SWIGLU_ROWS_MIN, n = rows - r0 < SWIGLU_ROWS_MIN ? rows - r0 : SWIGLU_ROWS_MIN;
        lam_k_swiglu_bwd(x + r0 * 2 * H, dy + r0 * H, dx + r0 * 2 * H, (long)n, (long)H, acc);
    });
}

static double swiglu_flops(const lam_node *nd) { return 4.0 * (double)lam_node_numel(nd); }

const lam_op_def lam_opdef_swiglu = {.name = "swiglu", .min_in = 1, .max_in = 1, .infer = swiglu_infer, .forward = swiglu_fwd, .backward = swiglu_bwd, .flops = swiglu_flops, .fresh = 1};
