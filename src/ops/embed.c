/* Embedding: token ids [B, ...] (int32) index the rows of a weight [V, E],
 * giving [B, ..., E], as torch.nn.Embedding.  An id outside 0..V-1 stops the
 * forward pass with an error naming the batch row and position; the row of
 * padding_idx (when >= 0) receives no gradient.  Backward scatters the output
 * gradient into the weight rows: work is split over column blocks of E, each
 * thread adding every token's contribution in token order, so the sums do
 * not depend on the thread count.  Also pos_embed: position vectors added
 * to a sequence. */
#include <stdio.h>
#include <string.h>

#include "kernels/par.h"
#include "ops/op.h"

static lam_status emb_infer(lam_node *nd, char *err, size_t errlen)
{
    const lam_shape *ids = &nd->in[0]->shape, *w = &nd->in[1]->shape;
    char si[64], sw[64];
    if (ids->ndim + 1 > LAM_MAX_DIMS || w->ndim != 2 || nd->p.embedding.padding_idx >= w->d[0]) {
        snprintf(err, errlen, "embedding: ids %s, weight %s: expected int ids [B, ...] and weight [vocab, dim]%s",
                 lam_shape_fmt(ids, si, sizeof si), lam_shape_fmt(w, sw, sizeof sw),
                 nd->p.embedding.padding_idx >= 0 ? " with padding_idx < vocab" : "");
        return LAM_ERR_SHAPE;
    }
    nd->shape = *ids;
    nd->shape.d[nd->shape.ndim++] = w->d[1];
    nd->has_batch = nd->in[0]->has_batch;
    nd->dtype = LAM_DTYPE_F32;
    nd->scratch_bytes = nd->saved_bytes = 0;
    return LAM_OK;
}

/* Row and position of the flat token index i, for messages. */
static void where(const lam_node *nd, int64_t i, long long *row, long long *pos)
{
    const lam_shape *s = &nd->in[0]->shape;
    int64_t per = s->ndim > 1 ? lam_shape_numel(s) / s->d[0] : 1;
    *row = (long long)(i / per);
    *pos = (long long)(i % per);
}

static void emb_fwd(const lam_op_ctx *c)
{
    const lam_node *nd = c->node;
    const int32_t *ids = (const int32_t *)c->in[0];
    int64_t n = lam_node_numel(nd->in[0]), V = nd->in[1]->shape.d[0], E = nd->in[1]->shape.d[1];
    for (int64_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= V) {
            long long row, pos;
            where(nd, i, &row, &pos);
            *c->status = LAM_ERR_ARG;
            snprintf(c->errmsg, c->errlen, "embedding: token id %d at batch row %lld, position %lld is outside 0..%lld",
                     (int)ids[i], row, pos, (long long)(V - 1));
            return;
        }
    const float *w = c->in[1];
    LAM_PFOR_WORK(n, n * E, i, memcpy(c->out + i * E, w + (int64_t)ids[i] * E, (size_t)E * sizeof(float)));
}

static void emb_bwd(const lam_op_ctx *c)
{
    float *dw = c->din[1];
    if (!dw) return;
    const lam_node *nd = c->node;
    const int32_t *ids = (const int32_t *)c->in[0];
    int64_t n = lam_node_numel(nd->in[0]), E = nd->in[1]->shape.d[1];
    int pad = nd->p.embedding.padding_idx;
    const float *dy = c->dout;
    LAM_PFOR_WORK((E + 63) / 64, n * E, jb, {
        int64_t j0 = jb * 64, j1 = j0 + 64 < E ? j0 + 64 : E;
        for (int64_t i = 0; i < n; i++) {
            if (ids[i] == pad) continue;
            float *d = dw + (int64_t)ids[i] * E;
            const float *g = dy + i * E;
            for (int64_t j = j0; j < j1; j++) d[j] += g[j];
        }
    });
}

const lam_op_def lam_opdef_embedding = {.name = "embedding", .min_in = 2, .max_in = 2, .infer = emb_infer, .forward = emb_fwd, .backward = emb_bwd, .int_in = 1u << 0};

/* ---- pos_embed: learned or fixed position vectors -------------------------
 * x [B, T, C] + table [Tmax, C] (row t added at position t, T <= Tmax), as
 * GPT's x = tok_emb + pos_emb[0..T-1]; with a third input, int32 start [B],
 * row start[b] + t (a decoding step at a later position; start + T <= Tmax).  The table's gradient sums over the
 * batch, rows split over threads (each row's sum in batch order). */
static lam_status pos_infer(lam_node *nd, char *err, size_t errlen)
{
    const lam_shape *x = &nd->in[0]->shape, *t = &nd->in[1]->shape;
    char sx[64], st[64];
    if (x->ndim != 3 || t->ndim != 2 || t->d[1] != x->d[2] || x->d[1] > t->d[0] ||
        (nd->n_in > 2 && nd->in[2]->shape.ndim != 1)) {
        snprintf(err, errlen, "pos_embed: input %s, table %s: expected [B, T, C] and [Tmax, C] with T <= Tmax",
                 lam_shape_fmt(x, sx, sizeof sx), lam_shape_fmt(t, st, sizeof st));
        return LAM_ERR_SHAPE;
    }
    nd->shape = *x;
    nd->has_batch = nd->in[0]->has_batch;
    nd->dtype = LAM_DTYPE_F32;
    nd->scratch_bytes = nd->saved_bytes = 0;
    return LAM_OK;
}

static void pos_fwd(const lam_op_ctx *c)
{
    const lam_shape *s = &c->node->shape;
    int64_t B = s->d[0], T = s->d[1], C = s->d[2];
    const float *x = c->in[0], *tab = c->in[1];
    const int32_t *start = c->node->n_in > 2 ? (const int32_t *)c->in[2] : NULL;
    int64_t Tmax = c->node->in[1]->shape.d[0];
    for (int64_t b = 0; start && b < B; b++)
        if (start[b] < 0 || start[b] + T > Tmax) {
            *c->status = LAM_ERR_ARG;
            snprintf(c->errmsg, c->errlen, "pos_embed: batch row %lld: positions %d..%lld beyond the %lld of the table",
                     (long long)b, (int)start[b], (long long)(start[b] + T - 1), (long long)Tmax);
            return;
        }
    float *y = c->out;
    LAM_PFOR_WORK(B * T, B * T * C, r, {
        const float *xr = x + r * C, *pr = tab + ((start ? start[r / T] : 0) + r % T) * C;
        float *yr = y + r * C;
        for (int64_t j = 0; j < C; j++) yr[j] = xr[j] + pr[j];
    });
}

static void pos_bwd(const lam_op_ctx *c)
{
    const lam_shape *s = &c->node->shape;
    int64_t B = s->d[0], T = s->d[1], C = s->d[2], n = B * T * C;
    const float *dy = c->dout;
    float *dx = c->din[0], *dt = c->din[1];
    if (dx && c->din_fresh[0]) memcpy(dx, dy, (size_t)n * sizeof(float));
    else if (dx) LAM_PFOR(n, i, dx[i] += dy[i]);
    if (dt && c->node->n_in == 2)
        LAM_PFOR_WORK(T, n, t, {
            float *d = dt + t * C;
            for (int64_t b = 0; b < B; b++) {
                const float *g = dy + (b * T + t) * C;
                for (int64_t j = 0; j < C; j++) d[j] += g[j];
            }
        });
}

static double pos_flops(const lam_node *nd) { return (double)lam_node_numel(nd); }

const lam_op_def lam_opdef_pos_embed = {.name = "pos_embed", .min_in = 2, .max_in = 3, .infer = pos_infer, .forward = pos_fwd, .backward = pos_bwd, .flops = pos_flops, .fresh = 1, .int_in = 1u << 2};
