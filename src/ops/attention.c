/* Attention over a sequence, fused: scores (Luong dot / general, Bahdanau
 * additive), a masked softmax over the key positions and the weighted sum of
 * the values, forward and backward in one op (see lam_attention_op).
 *
 * Inputs: q [B, Tq, Dq] or [Tq, Dq] (shared by the batch), kv [B, Tk, D],
 * then the score's weights (general: W [Dq, D]; additive: Wq [A, Dq],
 * Wk [A, D], v [A]), then int32 lengths [B] if present (params.has_lengths).
 *
 * The projections over all positions are GEMMs: general computes
 * Qp = q W [R, D] (R = B*Tq, or Tq for a shared query) so that s = Qp.k;
 * additive computes Pq = q Wq^T [R, A] and Pk = kv Wk^T [B*Tk, A] so that
 * s = v.tanh(Pq_i + Pk_j).  Scores, softmax and context are plain loops over
 * the real key positions only (j < length), one (batch row, query row) per
 * iteration; their dot products keep eight fixed partial sums.  The
 * weights a, the projections and the additive score's tanh values
 * H [B, Tq, Tk, A] (as torch's autograd keeps them; recomputing them took
 * the backward of a 32 x 100 x 64 pooling from 0.8 to 1.7 ms) are saved
 * for backward.
 *
 * Backward runs one batch row per iteration: each writes its own rows of
 * the kv gradient, and its own partial rows of the query-side gradient (dq,
 * dQp or dPq, [B*Tq, .]), of dPk and of dv in scratch; partials over the
 * batch are then summed in batch order, and the weight gradients are GEMMs.
 * No sum is split across threads, so results are the same for any thread
 * count. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "kernels/gemm.h"
#include "kernels/par.h"
#include "ops/op.h"

#define ALIGN64(x) (((x) + 63) & ~(size_t)63)

/* Threads the plan sizes GEMM workspace for; kernels never use more. */

static const char *const score_names[LAM_ATTN_SCORE_COUNT_] = {"dot", "general", "additive"};
const char *lam_attn_score_name(lam_attn_score s) { return (unsigned)s < LAM_ATTN_SCORE_COUNT_ ? score_names[s] : "?"; }
bool lam_attn_score_from_name(const char *name, lam_attn_score *out)
{
    for (int i = 0; i < LAM_ATTN_SCORE_COUNT_; i++)
        if (name && strcmp(name, score_names[i]) == 0) {
            *out = (lam_attn_score)i;
            return true;
        }
    return false;
}

typedef struct attn_dims {
    lam_attn_score score;
    int64_t B, Tq, Tk, Dq, D, A;
    int64_t R;  /* query rows: B*Tq, or Tq for a shared query */
    int64_t X;  /* width of the query-side gradient rows: Dq (dot), D (general), A (additive) */
    bool qb;    /* q has a batch dimension */
    int il;     /* input index of the lengths, or -1 */
} attn_dims;

static int n_weights(lam_attn_score s) { return s == LAM_ATTN_GENERAL ? 1 : s == LAM_ATTN_ADDITIVE ? 3 : 0; }

static attn_dims dims_of(const lam_node *nd)
{
    attn_dims d;
    const lam_shape *q = &nd->in[0]->shape, *kv = &nd->in[1]->shape;
    d.score = nd->p.attention.score;
    d.qb = q->ndim == 3;
    d.B = kv->d[0];
    d.Tk = kv->d[1];
    d.D = kv->d[2];
    d.Tq = q->d[q->ndim - 2];
    d.Dq = q->d[q->ndim - 1];
    d.R = d.qb ? d.B * d.Tq : d.Tq;
    d.A = d.score == LAM_ATTN_ADDITIVE ? nd->in[2]->shape.d[0] : 0;
    d.X = d.score == LAM_ATTN_DOT ? d.Dq : d.score == LAM_ATTN_GENERAL ? d.D : d.A;
    d.il = nd->p.attention.has_lengths ? 2 + n_weights(d.score) : -1;
    return d;
}

/* Offsets (bytes) of the saved tensors: weights a [B*Tq*Tk], then the
 * query-side projection (Qp or Pq, R rows), then Pk [B*Tk, A], then the
 * additive tanh values H [B*Tq*Tk, A]. */
static size_t saved_p1(const attn_dims *d) { return ALIGN64((size_t)(d->B * d->Tq * d->Tk) * sizeof(float)); }
static size_t saved_p2(const attn_dims *d)
{
    size_t w = d->score == LAM_ATTN_GENERAL ? (size_t)d->D : d->score == LAM_ATTN_ADDITIVE ? (size_t)d->A : 0;
    return saved_p1(d) + ALIGN64((size_t)d->R * w * sizeof(float));
}
static size_t saved_h(const attn_dims *d)
{
    return saved_p2(d) + (d->score == LAM_ATTN_ADDITIVE ? ALIGN64((size_t)(d->B * d->Tk * d->A) * sizeof(float)) : 0);
}
static size_t saved_total(const attn_dims *d)
{
    return saved_h(d) + (d->score == LAM_ATTN_ADDITIVE ? ALIGN64((size_t)(d->B * d->Tq * d->Tk * d->A) * sizeof(float)) : 0);
}

/* Backward scratch (bytes from the start): a score-gradient row per batch
 * row [B, Tk], the query-side gradient rows [B*Tq, X], dPk [B*Tk, A] and the
 * per-row dv partials [B, A]; the GEMM workspace follows. */
static size_t sc_dq(const attn_dims *d) { return ALIGN64((size_t)(d->B * d->Tk) * sizeof(float)); }
static size_t sc_dpk(const attn_dims *d) { return sc_dq(d) + ALIGN64((size_t)(d->B * d->Tq * d->X) * sizeof(float)); }
static size_t sc_dv(const attn_dims *d) { return sc_dpk(d) + ALIGN64((size_t)(d->B * d->Tk * d->A) * sizeof(float)); }
static size_t sc_ws(const attn_dims *d) { return sc_dv(d) + ALIGN64((size_t)(d->B * d->A) * sizeof(float)); }

static size_t ws_bytes(int64_t M, int64_t N, int64_t K)
{
    return ALIGN64(lam_sgemm_ws_floats(M, N, K, lam_ops_plan_threads()) * sizeof(float));
}
static size_t maxz(size_t a, size_t b) { return a > b ? a : b; }

static lam_status attn_infer(lam_node *nd, char *err, size_t errlen)
{
    const lam_attention_params *p = &nd->p.attention;
    int nw = n_weights(p->score);
    const lam_shape *q = &nd->in[0]->shape, *kv = &nd->in[1]->shape;
    char sq[64], sk[64], sw[3][64] = {"", "", ""};
    const char *sn = lam_attn_score_name(p->score);
    if (nd->n_in != 2 + nw + (p->has_lengths ? 1 : 0)) {
        snprintf(err, errlen, "attention (%s): %d inputs, expected %d", sn, nd->n_in, 2 + nw + (p->has_lengths ? 1 : 0));
        return LAM_ERR_ARG;
    }
    lam_shape_fmt(q, sq, sizeof sq);
    lam_shape_fmt(kv, sk, sizeof sk);
    for (int k = 0; k < nw; k++) lam_shape_fmt(&nd->in[2 + k]->shape, sw[k], sizeof sw[k]);
    if (kv->ndim != 3 || (q->ndim != 3 && q->ndim != 2) || (q->ndim == 3 && q->d[0] != kv->d[0])) {
        snprintf(err, errlen,
                 "attention (%s): query %s, keys/values %s: expected query [B, Tq, Dq] (or [Tq, Dq], shared by the "
                 "batch) and keys/values [B, Tk, D] with the same B",
                 sn, sq, sk);
        return LAM_ERR_SHAPE;
    }
    if (q->ndim == 2 && nd->in[0]->has_batch) {
        /* [B, Dq] would be read as Tq = B queries shared by the batch */
        snprintf(err, errlen,
                 "attention (%s): query %s has a batch but no time axis: reshape it to [B, 1, Dq] (a query "
                 "[Tq, Dq] without a batch is shared by every sample)",
                 sn, sq);
        return LAM_ERR_SHAPE;
    }
    int64_t Dq = q->d[q->ndim - 1], D = kv->d[2];
    if (p->score == LAM_ATTN_DOT && Dq != D) {
        snprintf(err, errlen, "attention (dot): query %s, keys/values %s: the query size %lld must equal the key size %lld",
                 sq, sk, (long long)Dq, (long long)D);
        return LAM_ERR_SHAPE;
    }
    if (p->score == LAM_ATTN_GENERAL) {
        const lam_shape *w = &nd->in[2]->shape;
        if (w->ndim != 2 || w->d[0] != Dq || w->d[1] != D) {
            snprintf(err, errlen, "attention (general): query %s, keys/values %s, weight %s: expected weight [Dq, D] = [%lld, %lld]",
                     sq, sk, sw[0], (long long)Dq, (long long)D);
            return LAM_ERR_SHAPE;
        }
    }
    if (p->score == LAM_ATTN_ADDITIVE) {
        const lam_shape *wq = &nd->in[2]->shape, *wk = &nd->in[3]->shape, *v = &nd->in[4]->shape;
        int64_t A = wq->ndim == 2 ? wq->d[0] : -1;
        if (wq->ndim != 2 || wq->d[1] != Dq || wk->ndim != 2 || wk->d[0] != A || wk->d[1] != D || v->ndim != 1 ||
            v->d[0] != A) {
            snprintf(err, errlen,
                     "attention (additive): query %s, keys/values %s, query weight %s, key weight %s, v %s: expected "
                     "query weight [A, Dq], key weight [A, D] and v [A] with Dq = %lld, D = %lld",
                     sq, sk, sw[0], sw[1], sw[2], (long long)Dq, (long long)D);
            return LAM_ERR_SHAPE;
        }
    }
    if (p->has_lengths) {
        const lam_shape *l = &nd->in[nd->n_in - 1]->shape;
        if (l->ndim != 1 || l->d[0] != kv->d[0]) {
            char sl[64];
            snprintf(err, errlen, "attention (%s): lengths %s, keys/values %s: expected lengths [B] = [%lld]", sn,
                     lam_shape_fmt(l, sl, sizeof sl), sk, (long long)kv->d[0]);
            return LAM_ERR_SHAPE;
        }
    }
    attn_dims d = dims_of(nd);
    nd->shape = lam_shape3(d.B, d.Tq, d.D);
    nd->has_batch = nd->in[1]->has_batch || (d.qb && nd->in[0]->has_batch);
    nd->dtype = LAM_DTYPE_F32;
    nd->n_aux = 1;
    nd->aux_shape[0] = lam_shape3(d.B, d.Tq, d.Tk);
    nd->saved_bytes = saved_total(&d);
    size_t ws = 0;
    if (d.score == LAM_ATTN_GENERAL) /* Qp = q W; dq = dQp W^T; dW = q^T dQp */
        ws = maxz(maxz(ws_bytes(d.R, d.D, d.Dq), ws_bytes(d.R, d.Dq, d.D)), ws_bytes(d.Dq, d.D, d.R));
    if (d.score == LAM_ATTN_ADDITIVE) {
        /* Pq = q Wq^T; dq = dPq Wq; dWq = dPq^T q; and the same for the keys */
        ws = maxz(maxz(ws_bytes(d.R, d.A, d.Dq), ws_bytes(d.R, d.Dq, d.A)), ws_bytes(d.A, d.Dq, d.R));
        int64_t K = d.B * d.Tk;
        ws = maxz(ws, maxz(maxz(ws_bytes(K, d.A, d.D), ws_bytes(K, d.D, d.A)), ws_bytes(d.A, d.D, K)));
    }
    nd->scratch_bytes = sc_ws(&d) + ws;
    return LAM_OK;
}

/* sum_k x[k] y[k] with eight fixed partial sums (vectorises without
 * reassociation; the same bits wherever it runs) */
static float dot8(const float *x, const float *y, int64_t n)
{
    float acc[8] = {0};
    int64_t k = 0;
    for (; k + 8 <= n; k += 8)
        for (int l = 0; l < 8; l++) acc[l] += x[k + l] * y[k + l];
    for (int l = 0; k < n; k++, l++) acc[l] += x[k] * y[k];
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}
static void axpy(float a, const float *x, float *y, int64_t n)
{
    for (int64_t k = 0; k < n; k++) y[k] += a * x[k];
}

/* Checks the lengths (NULL: none); false after recording the error. */
static bool lengths_ok(const lam_op_ctx *c, const int32_t *len, int64_t B, int64_t Tk)
{
    for (int64_t b = 0; len && b < B; b++)
        if (len[b] < 1 || len[b] > Tk) {
            *c->status = LAM_ERR_ARG;
            snprintf(c->errmsg, c->errlen, "attention: length %d at batch row %lld is outside 1..%lld (the number of key positions)",
                     (int)len[b], (long long)b, (long long)Tk);
            return false;
        }
    return true;
}

/* the raw score s_ij (before `scale`) of query row qr against key j of batch
 * row b; the additive score stores its tanh values in h [A] */
static float score_of(const attn_dims *d, const float *q, const float *kvb, const float *p1, const float *pkb,
                      const float *v, int64_t qr, int64_t j, float *h)
{
    switch (d->score) {
    case LAM_ATTN_DOT: return dot8(q + qr * d->Dq, kvb + j * d->D, d->D);
    case LAM_ATTN_GENERAL: return dot8(p1 + qr * d->D, kvb + j * d->D, d->D);
    default: {
        const float *pq = p1 + qr * d->A, *pk = pkb + j * d->A;
        float acc[8] = {0};
        for (int64_t a = 0; a < d->A; a++) {
            h[a] = tanhf(pq[a] + pk[a]);
            acc[a & 7] += v[a] * h[a];
        }
        return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    }
    }
}

static void attn_fwd(const lam_op_ctx *c)
{
    const lam_node *nd = c->node;
    attn_dims d = dims_of(nd);
    const int32_t *len = d.il >= 0 ? (const int32_t *)c->in[d.il] : NULL;
    if (!lengths_ok(c, len, d.B, d.Tk)) return;
    const float *q = c->in[0], *kv = c->in[1];
    float *a = c->saved, *p1 = (float *)((char *)c->saved + saved_p1(&d));
    float *pk = (float *)((char *)c->saved + saved_p2(&d)), *H = (float *)((char *)c->saved + saved_h(&d));
    float *ws = (float *)((char *)c->scratch + sc_ws(&d));
    const float *v = NULL;
    int R = (int)d.R, Dq = (int)d.Dq, D = (int)d.D, A = (int)d.A;
    if (d.score == LAM_ATTN_GENERAL) /* Qp [R, D] = q [R, Dq] W [Dq, D] */
        lam_sgemm(false, false, R, D, Dq, 1.0f, q, Dq, c->in[2], D, 0.0f, p1, D, ws, c->nthreads);
    if (d.score == LAM_ATTN_ADDITIVE) { /* Pq = q Wq^T, Pk = kv Wk^T */
        lam_sgemm(false, true, R, A, Dq, 1.0f, q, Dq, c->in[2], Dq, 0.0f, p1, A, ws, c->nthreads);
        lam_sgemm(false, true, (int)(d.B * d.Tk), A, D, 1.0f, kv, D, c->in[3], D, 0.0f, pk, A, ws, c->nthreads);
        v = c->in[4];
    }
    float scale = nd->p.attention.scale;
    int64_t rows = d.B * d.Tq, work = rows * d.Tk * (2 * d.D + 4 * d.A);
    LAM_PFOR_WORK(rows, work, r, {
        int64_t b = r / d.Tq, i = r % d.Tq, L = len ? len[b] : d.Tk;
        const float *kvb = kv + b * d.Tk * d.D;
        int64_t qr = d.qb ? r : i;
        float *ar = a + r * d.Tk, *o = c->out + r * d.D;
        float m = -INFINITY;
        for (int64_t j = 0; j < L; j++) {
            ar[j] = scale * score_of(&d, q, kvb, p1, pk + b * d.Tk * d.A, v, qr, j, H + (r * d.Tk + j) * d.A);
            m = ar[j] > m ? ar[j] : m;
        }
        double z = 0.0;
        for (int64_t j = 0; j < L; j++) {
            ar[j] = expf(ar[j] - m);
            z += ar[j];
        }
        float inv = (float)(1.0 / z);
        for (int64_t j = 0; j < L; j++) ar[j] *= inv;
        for (int64_t j = L; j < d.Tk; j++) ar[j] = 0.0f;
        memset(o, 0, (size_t)d.D * sizeof(float));
        for (int64_t j = 0; j < L; j++) axpy(ar[j], kvb + j * d.D, o, d.D);
    });
    if (c->aux[0]) memcpy(c->aux[0], a, (size_t)(rows * d.Tk) * sizeof(float));
}

/* Backward of batch row b: the gradients of its kv rows (value part: a_ij
 * dctx_i; key part through the score) and its partial rows of the
 * query-side gradient dQ [Tq, X], dPk [Tk, A] and dv [A]. */
static void bwd_row(const lam_op_ctx *c, const attn_dims *d, const int32_t *len, int64_t b)
{
    const float *q = c->in[0], *kvb = c->in[1] + b * d->Tk * d->D;
    const float *a = c->saved, *p1 = (const float *)((const char *)c->saved + saved_p1(d));
    const float *H = (const float *)((const char *)c->saved + saved_h(d));
    float *g = (float *)c->scratch + b * d->Tk;
    float *dQ = (float *)((char *)c->scratch + sc_dq(d)) + b * d->Tq * d->X;
    float *dpk = (float *)((char *)c->scratch + sc_dpk(d)) + b * d->Tk * d->A;
    float *dv = (float *)((char *)c->scratch + sc_dv(d)) + b * d->A;
    float *dkv = c->din[1] ? c->din[1] + b * d->Tk * d->D : NULL;
    const float *v = d->score == LAM_ATTN_ADDITIVE ? c->in[4] : NULL;
    const float *daux = c->daux[0];
    float scale = c->node->p.attention.scale;
    int64_t L = len ? len[b] : d->Tk;
    memset(dQ, 0, (size_t)(d->Tq * d->X) * sizeof(float));
    memset(dpk, 0, (size_t)(d->Tk * d->A) * sizeof(float));
    memset(dv, 0, (size_t)d->A * sizeof(float));
    for (int64_t i = 0; i < d->Tq; i++) {
        int64_t r = b * d->Tq + i, qr = d->qb ? r : i;
        const float *ar = a + r * d->Tk, *dctx = c->dout + r * d->D;
        /* da_ij = dctx_i . v_j (+ the weights' own gradient); softmax backward */
        double s = 0.0;
        for (int64_t j = 0; j < L; j++) {
            g[j] = dot8(dctx, kvb + j * d->D, d->D) + (daux ? daux[r * d->Tk + j] : 0.0f);
            s += (double)ar[j] * g[j];
        }
        for (int64_t j = 0; j < L; j++) g[j] = scale * (ar[j] * (g[j] - (float)s));
        if (dkv)
            for (int64_t j = 0; j < L; j++) axpy(ar[j], dctx, dkv + j * d->D, d->D);
        float *dq = dQ + i * d->X;
        if (d->score != LAM_ATTN_ADDITIVE) {
            /* s = x . k_j with x = q_i (dot) or Qp_i (general) */
            const float *x = d->score == LAM_ATTN_DOT ? q + qr * d->Dq : p1 + qr * d->D;
            for (int64_t j = 0; j < L; j++) {
                axpy(g[j], kvb + j * d->D, dq, d->D);
                if (dkv) axpy(g[j], x, dkv + j * d->D, d->D);
            }
        } else {
            for (int64_t j = 0; j < L; j++) {
                const float *h = H + (r * d->Tk + j) * d->A;
                float *dk = dpk + j * d->A;
                for (int64_t k = 0; k < d->A; k++) {
                    float dpre = g[j] * v[k] * (1.0f - h[k] * h[k]);
                    dv[k] += g[j] * h[k];
                    dq[k] += dpre;
                    dk[k] += dpre;
                }
            }
        }
    }
}

static void attn_bwd(const lam_op_ctx *c)
{
    const lam_node *nd = c->node;
    attn_dims d = dims_of(nd);
    const int32_t *len = d.il >= 0 ? (const int32_t *)c->in[d.il] : NULL;
    if (!lengths_ok(c, len, d.B, d.Tk)) return;
    int64_t work = d.B * d.Tq * d.Tk * (3 * d.D + 6 * d.A);
    LAM_PFOR_WORK(d.B, work, b, bwd_row(c, &d, len, b));

    float *dQ = (float *)((char *)c->scratch + sc_dq(&d)), *dpk = (float *)((char *)c->scratch + sc_dpk(&d));
    float *dvp = (float *)((char *)c->scratch + sc_dv(&d)), *ws = (float *)((char *)c->scratch + sc_ws(&d));
    /* a shared query: sum its gradient rows over the batch, in batch order */
    if (!d.qb)
        for (int64_t b = 1; b < d.B; b++)
            for (int64_t k = 0; k < d.Tq * d.X; k++) dQ[k] += dQ[b * d.Tq * d.X + k];
    const float *q = c->in[0], *kv = c->in[1];
    int R = (int)d.R, Dq = (int)d.Dq, D = (int)d.D, A = (int)d.A, K = (int)(d.B * d.Tk);
    switch (d.score) {
    case LAM_ATTN_DOT:
        if (c->din[0])
            for (int64_t k = 0; k < d.R * d.Dq; k++) c->din[0][k] += dQ[k];
        break;
    case LAM_ATTN_GENERAL:
        if (c->din[0]) /* dq += dQp W^T */
            lam_sgemm(false, true, R, Dq, D, 1.0f, dQ, D, c->in[2], D, 1.0f, c->din[0], Dq, ws, c->nthreads);
        if (c->din[2]) /* dW += q^T dQp */
            lam_sgemm(true, false, Dq, D, R, 1.0f, q, Dq, dQ, D, 1.0f, c->din[2], D, ws, c->nthreads);
        break;
    default:
        if (c->din[0]) /* dq += dPq Wq */
            lam_sgemm(false, false, R, Dq, A, 1.0f, dQ, A, c->in[2], Dq, 1.0f, c->din[0], Dq, ws, c->nthreads);
        if (c->din[2]) /* dWq += dPq^T q */
            lam_sgemm(true, false, A, Dq, R, 1.0f, dQ, A, q, Dq, 1.0f, c->din[2], Dq, ws, c->nthreads);
        if (c->din[1]) /* dkv += dPk Wk */
            lam_sgemm(false, false, K, D, A, 1.0f, dpk, A, c->in[3], D, 1.0f, c->din[1], D, ws, c->nthreads);
        if (c->din[3]) /* dWk += dPk^T kv */
            lam_sgemm(true, false, A, D, K, 1.0f, dpk, A, kv, D, 1.0f, c->din[3], D, ws, c->nthreads);
        if (c->din[4])
            for (int64_t b = 0; b < d.B; b++)
                for (int64_t k = 0; k < d.A; k++) c->din[4][k] += dvp[b * d.A + k];
        break;
    }
}

static double attn_flops(const lam_node *nd)
{
    attn_dims d = dims_of(nd);
    double pairs = (double)(d.B * d.Tq * d.Tk);
    double f = pairs * (4.0 * (double)d.D + 5.0); /* scores, softmax, weighted sum */
    if (d.score == LAM_ATTN_GENERAL) f += 2.0 * (double)(d.R * d.Dq * d.D);
    if (d.score == LAM_ATTN_ADDITIVE)
        f += 2.0 * (double)(d.R * d.Dq * d.A) + 2.0 * (double)(d.B * d.Tk * d.D * d.A) + pairs * 3.0 * (double)d.A;
    return f;
}

static unsigned attn_int_inputs(const lam_op_params *p, int n_in)
{
    return p->attention.has_lengths && n_in > 0 ? 1u << (n_in - 1) : 0u;
}

const lam_op_def lam_opdef_attention = {.name = "attention", .min_in = 2, .max_in = 6, .infer = attn_infer, .forward = attn_fwd, .backward = attn_bwd, .flops = attn_flops, .int_inputs = attn_int_inputs};
