/* Fused multi-head scaled dot-product attention, softmax(Q K^T s) V, over a
 * packed projection qkv [B, T, (NH + 2 NKV) HS]: columns [0, NH HS) are the
 * query heads, then NKV key heads, then NKV value heads (the split of one
 * Linear(C, 3C) as nanoGPT and torch do it; NKV < NH is grouped-query
 * attention, query head h reading key/value head h / (NH / NKV)).  Output
 * [B, T, NH HS], heads side by side.  Causal: query i sees keys j <= i;
 * lengths (int32 [B], optional): keys j >= lengths[b] are masked.
 *
 * No T x T matrix is kept.  Work goes by (batch row, key/value head) --
 * independent outputs, so the same bits for any thread count -- and within
 * it by tiles of LAM_XF_R query rows: the tile's scores against the keys it
 * may see (a causal tile stops at its last row: the masked half is never
 * computed), the exact row softmax over them, and its output rows.  Forward
 * saves only the row log-sum-exp [B, NH, T]; backward recomputes each tile's
 * probabilities from it (FlashAttention's scheme), with delta_i = dO_i . O_i:
 *   dV += P^T dO,  dS = s P (dP - delta),  dP = dO V^T,  dQ = dS K,  dK += dS^T Q.
 * Key and value gradients of a head are summed in thread-local scratch in
 * query order, then written.
 *
 * Cached (a decoding step, inference only): inputs kcache [B, NKV HS, CAP]
 * (keys stored transposed, the layout the score tiles read), vcache [B, CAP,
 * NKV HS] and pos int32 [B].  The step's T new keys and values go to cache
 * positions pos .. pos + T - 1, and its queries (at those positions) attend
 * causally over cache positions 0 .. pos + t: one new token costs one row
 * of attention over the prefix, never the prefix again.  Each output is the
 * same fma chain as the uncached op's for the same position, so cached and
 * uncached decoding give the same bits.
 *
 * Attention dropout (training): probability (b, h, i, j) is kept iff a hash
 * of (seed, b, h, i, j) clears the rate, and kept ones are scaled by
 * 1/(1 - rate).  The seed is drawn from the graph's RNG once per forward and
 * saved beside the log-sum-exp, so backward rebuilds the same mask with no
 * T x T storage; delta_i = dO_i . O_i still holds for the dropped
 * probabilities, the mask multiplies dP before the softmax backward and P
 * after it. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "kernels/xf.h"
#include "ops/op.h"

#ifdef _OPENMP
#include <omp.h>
#else
static int omp_get_thread_num(void) { return 0; }
#endif

#define ALIGN16(n) (((n) + 15) & ~(int64_t)15) /* floats, to 64-byte multiples */

typedef struct mha_dims {
    int64_t B, T, W, C; /* W: qkv row width; C: output row width NH*HS */
    int nh, nkv, hs, grp;
    int64_t cap;       /* keys a query can see: T, or the cache's capacity */
    int64_t Tp;        /* cap rounded up to 16 (row stride of the transposed panels) */
} mha_dims;

static mha_dims mha_get(const lam_node *nd)
{
    const lam_mha_params *p = &nd->p.mha;
    const lam_shape *x = &nd->in[0]->shape;
    mha_dims d;
    d.B = x->d[0];
    d.T = x->d[1];
    d.W = x->d[2];
    d.nh = p->nh;
    d.nkv = p->nkv;
    d.hs = p->hs;
    d.grp = p->nkv ? p->nh / p->nkv : 1;
    d.C = (int64_t)p->nh * p->hs;
    d.cap = p->cached ? nd->in[1]->shape.d[2] : d.T;
    d.Tp = ALIGN16(d.cap);
    return d;
}

/* Per-thread scratch, in floats: KT, VT [HS][Tp]; S, P, dP [R][Tp]; dK, dV
 * [T][HS]; delta, lim [R]. */
static int64_t thread_floats(const mha_dims *d)
{
    return 2 * ALIGN16(d->hs * d->Tp) + 3 * ALIGN16(LAM_XF_R * d->Tp) + 2 * ALIGN16(d->cap * d->hs) + 2 * 16;
}

static lam_status mha_infer(lam_node *nd, char *err, size_t errlen)
{
    const lam_mha_params *p = &nd->p.mha;
    const lam_shape *x = &nd->in[0]->shape;
    char sx[64];
    if (x->ndim != 3 || p->nh < 1 || p->nkv < 1 || p->hs < 1 || p->nh % p->nkv ||
        x->d[2] != (int64_t)(p->nh + 2 * p->nkv) * p->hs || x->d[1] < 1) {
        snprintf(err, errlen,
                 "mha: input %s, expected [B, T, (heads + 2 kv_heads) * head_size] = [B, T, %lld] with %d heads, %d "
                 "kv heads (dividing the heads) and head size %d",
                 lam_shape_fmt(x, sx, sizeof sx), (long long)(p->nh + 2 * p->nkv) * p->hs, p->nh, p->nkv, p->hs);
        return LAM_ERR_SHAPE;
    }
    if (p->cached) {
        const lam_shape *kc = &nd->in[1]->shape, *vc = &nd->in[2]->shape, *ps = &nd->in[3]->shape;
        int64_t KV = (int64_t)p->nkv * p->hs;
        if (kc->ndim != 3 || vc->ndim != 3 || kc->d[1] != KV || vc->d[2] != KV || kc->d[2] != vc->d[1] ||
            kc->d[2] < x->d[1] || ps->ndim != 1) {
            char sk[64], sv[64];
            snprintf(err, errlen, "mha (cached): caches %s and %s, expected [B, %lld, capacity] and [B, capacity, %lld] "
                     "with capacity >= T = %lld, and int32 positions [B]",
                     lam_shape_fmt(kc, sk, sizeof sk), lam_shape_fmt(vc, sv, sizeof sv), (long long)KV, (long long)KV,
                     (long long)x->d[1]);
            return LAM_ERR_SHAPE;
        }
    }
    if (p->has_lengths && (nd->in[1]->shape.ndim != 1 || nd->in[1]->shape.d[0] != x->d[0])) {
        snprintf(err, errlen, "mha: lengths must be int32 [B]");
        return LAM_ERR_SHAPE;
    }
    nd->shape = lam_shape3(x->d[0], x->d[1], (int64_t)p->nh * p->hs);
    nd->has_batch = nd->in[0]->has_batch;
    nd->dtype = LAM_DTYPE_F32;
    mha_dims d = mha_get(nd);
    nd->saved_bytes = (size_t)(ALIGN16(d.B * d.nh * d.T) + 16) * sizeof(float); /* lse, then the dropout seed */
    nd->scratch_bytes = (size_t)(thread_floats(&d) * lam_ops_plan_threads()) * sizeof(float);
    return LAM_OK;
}

/* ---- attention dropout ------------------------------------------------- */
typedef struct drop_mask {
    uint64_t seed;
    uint32_t thresh; /* keep iff hash >= thresh */
    float scale;     /* 1 / (1 - rate) */
} drop_mask;

static inline uint32_t drop_hash(uint64_t seed, uint64_t k)
{
    uint64_t z = seed + k * 0x9e3779b97f4a7c15ull; /* splitmix64's finaliser */
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return (uint32_t)((z ^ (z >> 31)) >> 32);
}

/* M[r][j] *= mask(b, h, i0 + r, j) / (1 - rate) for r < R, j < n */
static void drop_apply(const drop_mask *dm, const mha_dims *d, int64_t b, int64_t h, int64_t i0, int R, int n,
                       float *M, long ldm)
{
    for (int r = 0; r < R; r++) {
        uint64_t base = ((uint64_t)(b * d->nh + h) * (uint64_t)d->T + (uint64_t)(i0 + r)) * (uint64_t)d->T;
        float *m = M + r * ldm;
        for (int j = 0; j < n; j++) m[j] = drop_hash(dm->seed, base + (uint64_t)j) >= dm->thresh ? m[j] * dm->scale : 0.0f;
    }
}

/* the mask of this pass, or NULL when there is no dropout */
static const drop_mask *drop_get(const lam_op_ctx *c, const mha_dims *d, drop_mask *dm, bool forward)
{
    float rate = c->node->p.mha.dropout;
    if (!(rate > 0.0f) || !c->training) return NULL;
    uint64_t *slot = (uint64_t *)((float *)c->saved + ALIGN16(d->B * d->nh * d->T));
    if (forward) *slot = lam_rng_u64(c->rng);
    dm->seed = *slot;
    double t = (double)rate * 4294967296.0;
    dm->thresh = t >= 4294967295.0 ? 0xffffffffu : (uint32_t)t;
    dm->scale = 1.0f / (1.0f - rate);
    return dm;
}

/* The length of batch row b's keys (T without lengths); -1 if invalid. */
static int64_t key_len(const lam_op_ctx *c, const mha_dims *d, int64_t b)
{
    if (!c->node->p.mha.has_lengths) return d->T;
    int32_t L = ((const int32_t *)c->in[1])[b];
    return L >= 1 && L <= d->T ? L : -1;
}

static bool check_lengths(const lam_op_ctx *c, const mha_dims *d)
{
    for (int64_t b = 0; b < d->B; b++)
        if (key_len(c, d, b) < 0) {
            *c->status = LAM_ERR_ARG;
            snprintf(c->errmsg, c->errlen, "mha: batch row %lld has length %d, expected 1..%lld", (long long)b,
                     (int)((const int32_t *)c->in[1])[b], (long long)d->T);
            return false;
        }
    return true;
}

/* Keys a tile of rows [i0, i0 + R) sees: n columns, row r up to lim[r]. */
static int64_t tile_keys(const lam_mha_params *p, int64_t i0, int R, int64_t L, int *lim)
{
    int64_t n = p->causal ? (i0 + R < L ? i0 + R : L) : L;
    for (int r = 0; r < R; r++) {
        int64_t m = p->causal ? i0 + r : L - 1;
        lim[r] = (int)(m < L - 1 ? m : L - 1);
    }
    return n;
}

/* Threads for `tasks` tasks: no more than the scratch was planned for, and
 * one for small problems. */
static int team(const lam_op_ctx *c, int64_t per, int64_t tasks)
{
    int64_t cap = (int64_t)(c->node->scratch_bytes / sizeof(float)) / per, nt = c->nthreads;
    if (nt > cap) nt = cap;
    if (nt > tasks) nt = tasks;
    const mha_dims d = mha_get(c->node);
    if (d.B * d.T * d.T * d.hs < 65536) nt = 1;
    return nt < 1 ? 1 : (int)nt;
}

/* KT[d][j] = X[j][d] for j < n (rows of stride ld), HS x Tp */
static void transpose_panel(const float *X, int64_t ld, int64_t n, int hs, int64_t Tp, float *KT)
{
    for (int64_t j = 0; j < n; j++)
        for (int dd = 0; dd < hs; dd++) KT[dd * Tp + j] = X[j * ld + dd];
}

/* A decoding step: store the new keys and values, attend over the cache. */
static void mha_fwd_cached(const lam_op_ctx *c, const mha_dims *dp)
{
    const mha_dims d = *dp;
    const lam_mha_params *p = &c->node->p.mha;
    const float *qkv = c->in[0];
    float *kc = c->in[1], *vc = c->in[2], *out = c->out, *lse_all = c->saved;
    const int32_t *pos = (const int32_t *)c->in[3];
    int64_t KV = (int64_t)d.nkv * d.hs;
    for (int64_t b = 0; b < d.B; b++)
        if (pos[b] < 0 || pos[b] + d.T > d.cap) {
            *c->status = LAM_ERR_ARG;
            snprintf(c->errmsg, c->errlen, "mha: batch row %lld: positions %d..%lld do not fit a key/value cache of %lld",
                     (long long)b, (int)pos[b], (long long)(pos[b] + d.T - 1), (long long)d.cap);
            return;
        }
    for (int64_t b = 0; b < d.B; b++) {
        float *kb = kc + b * KV * d.cap, *vb = vc + b * d.cap * KV;
        for (int64_t t = 0; t < d.T; t++) {
            const float *row = qkv + (b * d.T + t) * d.W;
            int64_t at = pos[b] + t;
            for (int64_t e = 0; e < KV; e++) kb[e * d.cap + at] = row[d.nh * d.hs + e];
            memcpy(vb + at * KV, row + (d.nh + d.nkv) * d.hs, (size_t)KV * sizeof(float));
        }
    }
    float *S = c->scratch;
    int lim[LAM_XF_R];
    for (int64_t task = 0; task < d.B * d.nh; task++) {
        int64_t b = task / d.nh, h = task % d.nh, g = h / d.grp;
        const float *KT = kc + b * KV * d.cap + g * d.hs * d.cap, *V = vc + b * d.cap * KV + g * d.hs;
        for (int64_t i0 = 0; i0 < d.T; i0 += LAM_XF_R) {
            int R = (int)(d.T - i0 < LAM_XF_R ? d.T - i0 : LAM_XF_R);
            int64_t first = pos[b] + i0; /* position of the tile's first query */
            int n = (int)tile_keys(p, first, R, pos[b] + d.T, lim);
            const float *Q = qkv + (b * d.T + i0) * d.W + h * d.hs;
            lam_k_xf_scores(R, n, d.hs, p->scale, Q, d.W, KT, d.cap, S, d.Tp);
            lam_k_xf_softmax(R, n, S, d.Tp, lim, lse_all + (b * d.nh + h) * d.T + i0);
            lam_k_xf_pv(R, n, d.hs, S, d.Tp, V, KV, out + (b * d.T + i0) * d.C + h * d.hs, d.C, false);
        }
    }
}

static void mha_fwd(const lam_op_ctx *c)
{
    const lam_node *nd = c->node;
    const lam_mha_params *p = &nd->p.mha;
    mha_dims d = mha_get(nd);
    if (p->cached) {
        mha_fwd_cached(c, &d);
        return;
    }
    if (!check_lengths(c, &d)) return;
    const float *qkv = c->in[0];
    float *lse_all = c->saved, *out = c->out;
    drop_mask dmv;
    const drop_mask *dm = drop_get(c, &d, &dmv, true);
    int64_t tasks = d.B * d.nkv, per = thread_floats(&d);
    int nt = team(c, per, tasks);
    (void)nt; /* used by the pragma only: unused without OpenMP */
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t task = 0; task < tasks; task++) {
        float *ws = (float *)c->scratch + (int64_t)omp_get_thread_num() * per;
        float *KT = ws, *S = ws + 2 * ALIGN16(d.hs * d.Tp);
        int *lim = (int *)(S + 3 * ALIGN16(LAM_XF_R * d.Tp) + 2 * ALIGN16(d.T * d.hs) + 16);
        int64_t b = task / d.nkv, kvh = task % d.nkv, L = key_len(c, &d, b);
        const float *row0 = qkv + b * d.T * d.W;
        const float *K = row0 + (d.nh + kvh) * d.hs, *V = row0 + (d.nh + d.nkv + kvh) * d.hs;
        transpose_panel(K, d.W, L, d.hs, d.Tp, KT);
        for (int hq = 0; hq < d.grp; hq++) {
            int64_t h = kvh * d.grp + hq;
            float *lse = lse_all + (b * d.nh + h) * d.T;
            for (int64_t i0 = 0; i0 < d.T; i0 += LAM_XF_R) {
                int R = (int)(d.T - i0 < LAM_XF_R ? d.T - i0 : LAM_XF_R);
                int n = (int)tile_keys(p, i0, R, L, lim);
                const float *Q = row0 + i0 * d.W + h * d.hs;
                lam_k_xf_scores(R, n, d.hs, p->scale, Q, d.W, KT, d.Tp, S, d.Tp);
                lam_k_xf_softmax(R, n, S, d.Tp, lim, lse + i0);
                if (dm) drop_apply(dm, &d, b, h, i0, R, n, S, d.Tp);
                lam_k_xf_pv(R, n, d.hs, S, d.Tp, V, d.W, out + (b * d.T + i0) * d.C + h * d.hs, d.C, false);
            }
        }
    }
}

static void mha_bwd(const lam_op_ctx *c)
{
    const lam_node *nd = c->node;
    const lam_mha_params *p = &nd->p.mha;
    mha_dims d = mha_get(nd);
    float *dqkv = c->din[0];
    if (!dqkv || p->cached) return; /* a decoding step has no backward */
    bool fresh = c->din_fresh[0];
    const float *qkv = c->in[0], *lse_all = c->saved, *out = c->out, *dout = c->dout;
    drop_mask dmv;
    const drop_mask *dm = drop_get(c, &d, &dmv, false);
    int64_t tasks = d.B * d.nkv, per = thread_floats(&d);
    int nt = team(c, per, tasks);
    (void)nt; /* used by the pragma only: unused without OpenMP */
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t task = 0; task < tasks; task++) {
        float *ws = (float *)c->scratch + (int64_t)omp_get_thread_num() * per;
        float *KT = ws, *VT = KT + ALIGN16(d.hs * d.Tp);
        float *S = VT + ALIGN16(d.hs * d.Tp), *P = S + ALIGN16(LAM_XF_R * d.Tp), *dP = P + ALIGN16(LAM_XF_R * d.Tp);
        float *dK = dP + ALIGN16(LAM_XF_R * d.Tp), *dV = dK + ALIGN16(d.T * d.hs), *delta = dV + ALIGN16(d.T * d.hs);
        int *lim = (int *)(delta + 16);
        int64_t b = task / d.nkv, kvh = task % d.nkv, L = key_len(c, &d, b);
        const float *row0 = qkv + b * d.T * d.W;
        const float *K = row0 + (d.nh + kvh) * d.hs, *V = row0 + (d.nh + d.nkv + kvh) * d.hs;
        float *drow0 = dqkv + b * d.T * d.W;
        transpose_panel(K, d.W, L, d.hs, d.Tp, KT);
        transpose_panel(V, d.W, L, d.hs, d.Tp, VT);
        memset(dK, 0, (size_t)(d.T * d.hs) * sizeof(float));
        memset(dV, 0, (size_t)(d.T * d.hs) * sizeof(float));
        for (int hq = 0; hq < d.grp; hq++) {
            int64_t h = kvh * d.grp + hq;
            const float *lse = lse_all + (b * d.nh + h) * d.T;
            for (int64_t i0 = 0; i0 < d.T; i0 += LAM_XF_R) {
                int R = (int)(d.T - i0 < LAM_XF_R ? d.T - i0 : LAM_XF_R);
                int n = (int)tile_keys(p, i0, R, L, lim);
                const float *Q = row0 + i0 * d.W + h * d.hs;
                const float *dO = dout + (b * d.T + i0) * d.C + h * d.hs, *O = out + (b * d.T + i0) * d.C + h * d.hs;
                lam_k_xf_scores(R, n, d.hs, p->scale, Q, d.W, KT, d.Tp, S, d.Tp);
                lam_k_xf_scores(R, n, d.hs, 1.0f, dO, d.C, VT, d.Tp, dP, d.Tp);
                lam_k_xf_rowdot(R, d.hs, dO, d.C, O, d.C, delta);
                if (dm) drop_apply(dm, &d, b, h, i0, R, n, dP, d.Tp);
                lam_k_xf_softmax_bwd(R, n, S, d.Tp, lim, lse + i0, dP, d.Tp, delta, p->scale, P, d.Tp);
                if (dm) drop_apply(dm, &d, b, h, i0, R, n, P, d.Tp);
                lam_k_xf_pta(R, n, d.hs, P, d.Tp, dO, d.C, dV, d.hs);
                lam_k_xf_pta(R, n, d.hs, S, d.Tp, Q, d.W, dK, d.hs);
                lam_k_xf_pv(R, n, d.hs, S, d.Tp, K, d.W, drow0 + i0 * d.W + h * d.hs, d.W, !fresh);
            }
        }
        float *dKo = drow0 + (d.nh + kvh) * d.hs, *dVo = drow0 + (d.nh + d.nkv + kvh) * d.hs;
        for (int64_t j = 0; j < d.T; j++)
            for (int dd = 0; dd < d.hs; dd++) {
                if (fresh) {
                    dKo[j * d.W + dd] = dK[j * d.hs + dd];
                    dVo[j * d.W + dd] = dV[j * d.hs + dd];
                } else {
                    dKo[j * d.W + dd] += dK[j * d.hs + dd];
                    dVo[j * d.W + dd] += dV[j * d.hs + dd];
                }
            }
    }
}

static double mha_flops(const lam_node *nd)
{
    mha_dims d = mha_get(nd);
    /* two products per query row over the keys it sees */
    double keys = nd->p.mha.causal ? (double)d.T * (double)(d.T + 1) / 2.0 : (double)d.T * (double)d.T;
    return 4.0 * (double)d.B * d.nh * keys * d.hs;
}

static unsigned mha_int_inputs(const lam_op_params *p, int n_in)
{
    (void)n_in;
    return p->mha.cached ? 8u : p->mha.has_lengths ? 2u : 0u;
}

const lam_op_def lam_opdef_mha = {.name = "mha", .min_in = 1, .max_in = 4, .infer = mha_infer, .forward = mha_fwd, .backward = mha_bwd, .flops = mha_flops, .fresh = 1, .int_inputs = mha_int_inputs};
