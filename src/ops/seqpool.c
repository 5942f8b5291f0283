/* Sequence pooling: x [B, T, C] reduced over time to [B, C] (mean, max, sum,
 * last real step, first step), with optional int32 lengths [B] that hide
 * the padded steps t >= lengths[b] (never read, no gradient).  Max keeps the
 * winning step of every (b, c) (int32, saved) for backward.  Work is split
 * over batch rows, each summing its own steps in order, so results are the
 * same for any thread count. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "kernels/par.h"
#include "ops/op.h"

static const char *const mode_names[LAM_SEQ_POOL_MODE_COUNT_] = {"mean", "max", "sum", "last", "first"};
const char *lam_seq_pool_mode_name(lam_seq_pool_mode m)
{
    return (unsigned)m < LAM_SEQ_POOL_MODE_COUNT_ ? mode_names[m] : "?";
}
bool lam_seq_pool_mode_from_name(const char *name, lam_seq_pool_mode *out)
{
    for (int i = 0; i < LAM_SEQ_POOL_MODE_COUNT_; i++)
        if (name && strcmp(name, mode_names[i]) == 0) {
            *out = (lam_seq_pool_mode)i;
            return true;
        }
    return false;
}

static lam_status sp_infer(lam_node *nd, char *err, size_t errlen)
{
    const lam_seq_pool_params *p = &nd->p.seq_pool;
    const lam_shape *x = &nd->in[0]->shape;
    char sx[64], sl[64];
    if (nd->n_in != (p->has_lengths ? 2 : 1)) {
        snprintf(err, errlen, "seq_pool: %d inputs, expected %d", nd->n_in, p->has_lengths ? 2 : 1);
        return LAM_ERR_ARG;
    }
    if (x->ndim != 3 || x->d[1] < 1) {
        snprintf(err, errlen, "seq_pool (%s): input %s: expected [B, T, C] with T >= 1", lam_seq_pool_mode_name(p->mode),
                 lam_shape_fmt(x, sx, sizeof sx));
        return LAM_ERR_SHAPE;
    }
    if (p->has_lengths) {
        const lam_shape *l = &nd->in[1]->shape;
        if (l->ndim != 1 || l->d[0] != x->d[0]) {
            snprintf(err, errlen, "seq_pool (%s): input %s, lengths %s: expected lengths [B] = [%lld]",
                     lam_seq_pool_mode_name(p->mode), lam_shape_fmt(x, sx, sizeof sx), lam_shape_fmt(l, sl, sizeof sl),
                     (long long)x->d[0]);
            return LAM_ERR_SHAPE;
        }
    }
    nd->shape = lam_shape2(x->d[0], x->d[2]);
    nd->has_batch = nd->in[0]->has_batch;
    nd->dtype = LAM_DTYPE_F32;
    nd->scratch_bytes = 0;
    nd->saved_bytes = p->mode == LAM_SEQ_POOL_MAX ? (size_t)(x->d[0] * x->d[2]) * sizeof(int32_t) : 0;
    return LAM_OK;
}

/* The lengths (or NULL) after checking them; false after recording the error. */
static bool lengths_ok(const lam_op_ctx *c, const int32_t *len, int64_t B, int64_t T)
{
    for (int64_t b = 0; len && b < B; b++)
        if (len[b] < 1 || len[b] > T) {
            *c->status = LAM_ERR_ARG;
            snprintf(c->errmsg, c->errlen, "seq_pool: length %d at batch row %lld is outside 1..%lld (the number of steps)",
                     (int)len[b], (long long)b, (long long)T);
            return false;
        }
    return true;
}

static void sp_fwd(const lam_op_ctx *c)
{
    const lam_node *nd = c->node;
    const lam_shape *s = &nd->in[0]->shape;
    int64_t B = s->d[0], T = s->d[1], C = s->d[2];
    const int32_t *len = nd->p.seq_pool.has_lengths ? (const int32_t *)c->in[1] : NULL;
    if (!lengths_ok(c, len, B, T)) return;
    lam_seq_pool_mode mode = nd->p.seq_pool.mode;
    int32_t *arg = c->saved;
    LAM_PFOR_WORK(B, B * T * C, b, {
        int64_t L = len ? len[b] : T;
        const float *xb = c->in[0] + b * T * C;
        float *o = c->out + b * C;
        switch (mode) {
        case LAM_SEQ_POOL_LAST:
        case LAM_SEQ_POOL_FIRST:
            memcpy(o, xb + (mode == LAM_SEQ_POOL_LAST ? L - 1 : 0) * C, (size_t)C * sizeof(float));
            break;
        case LAM_SEQ_POOL_MAX:
            memcpy(o, xb, (size_t)C * sizeof(float));
            for (int64_t k = 0; k < C; k++) arg[b * C + k] = 0;
            for (int64_t t = 1; t < L; t++)
                for (int64_t k = 0; k < C; k++)
                    if (xb[t * C + k] > o[k]) {
                        o[k] = xb[t * C + k];
                        arg[b * C + k] = (int32_t)t;
                    }
            break;
        default: /* mean, sum */
            memset(o, 0, (size_t)C * sizeof(float));
            for (int64_t t = 0; t < L; t++)
                for (int64_t k = 0; k < C; k++) o[k] += xb[t * C + k];
            if (mode == LAM_SEQ_POOL_MEAN)
                for (int64_t k = 0; k < C; k++) o[k] /= (float)L;
            break;
        }
    });
}

static void sp_bwd(const lam_op_ctx *c)
{
    float *dx = c->din[0];
    if (!dx) return;
    const lam_node *nd = c->node;
    const lam_shape *s = &nd->in[0]->shape;
    int64_t B = s->d[0], T = s->d[1], C = s->d[2];
    const int32_t *len = nd->p.seq_pool.has_lengths ? (const int32_t *)c->in[1] : NULL;
    if (!lengths_ok(c, len, B, T)) return;
    lam_seq_pool_mode mode = nd->p.seq_pool.mode;
    const int32_t *arg = c->saved;
    LAM_PFOR_WORK(B, B * T * C, b, {
        int64_t L = len ? len[b] : T;
        float *db = dx + b * T * C;
        const float *g = c->dout + b * C;
        switch (mode) {
        case LAM_SEQ_POOL_LAST:
        case LAM_SEQ_POOL_FIRST: {
            float *d = db + (mode == LAM_SEQ_POOL_LAST ? L - 1 : 0) * C;
            for (int64_t k = 0; k < C; k++) d[k] += g[k];
            break;
        }
        case LAM_SEQ_POOL_MAX:
            for (int64_t k = 0; k < C; k++) db[(int64_t)arg[b * C + k] * C + k] += g[k];
            break;
        default: {
            float inv = mode == LAM_SEQ_POOL_MEAN ? 1.0f / (float)L : 1.0f;
            for (int64_t t = 0; t < L; t++)
                for (int64_t k = 0; k < C; k++) db[t * C + k] += g[k] * inv;
            break;
        }
        }
    });
}

static double sp_flops(const lam_node *nd) { return (double)lam_node_numel(nd->in[0]); }

static unsigned sp_int_inputs(const lam_op_params *p, int n_in)
{
    return p->seq_pool.has_lengths && n_in > 1 ? 1u << 1 : 0u;
}

const lam_op_def lam_opdef_seq_pool = {.name = "seq_pool", .min_in = 1, .max_in = 2, .infer = sp_infer, .forward = sp_fwd, .backward = sp_bwd, .flops = sp_flops, .int_inputs = sp_int_inputs};
