/* Linear op family: matmul and the fused dense op act(x W^T + b), on the
 * packed GEMM kernel.  Backward accumulates (GEMM with beta = 1). */
#include <stdio.h>

#include "kernels/gemm.h"
#include "kernels/par.h"
#include "kernels/vec.h"
#include "ops/op.h"

#define ALIGN64(x) (((x) + 63) & ~(size_t)63)

/* Threads the plan sizes GEMM workspace for; kernels never use more. */

static size_t ws_bytes(int64_t M, int64_t N, int64_t K)
{
    return ALIGN64(lam_sgemm_ws_floats(M, N, K, lam_ops_plan_threads()) * sizeof(float));
}
static size_t max3(size_t a, size_t b, size_t c) { return a > b ? (a > c ? a : c) : (b > c ? b : c); }

/* ---- matmul: op(a) [.., M, K] x op(b) [K, N] ------------------------------ */
/* a may be [M,K] (or [K,M] with trans_a) or [B,M,K] (rows flattened, no trans_a);
 * b is 2-D: [K,N] or [N,K] with trans_b. */
typedef struct mm_dims { int64_t M, N, K; } mm_dims;

static mm_dims mm_get(const lam_node *nd)
{
    const lam_shape *a = &nd->in[0]->shape, *b = &nd->in[1]->shape;
    mm_dims d;
    if (nd->p.matmul.trans_a) {
        d.K = a->d[0];
        d.M = a->d[1];
    } else {
        d.K = a->d[a->ndim - 1];
        d.M = lam_shape_numel(a) / (d.K ? d.K : 1);
    }
    d.N = nd->p.matmul.trans_b ? b->d[0] : b->d[1];
    return d;
}

static lam_status mm_infer(lam_node *nd, char *err, size_t errlen)
{
    const lam_shape *a = &nd->in[0]->shape, *b = &nd->in[1]->shape;
    bool ta = nd->p.matmul.trans_a, tb = nd->p.matmul.trans_b;
    char sa[64], sb[64];
    if (a->ndim < 2 || b->ndim != 2 || (ta && a->ndim != 2)) goto bad;
    int64_t ka = ta ? a->d[0] : a->d[a->ndim - 1];
    int64_t kb = tb ? b->d[1] : b->d[0];
    if (ka != kb) goto bad;
    nd->shape = *a;
    if (ta) {
        nd->shape.d[0] = a->d[1];
    }
    nd->shape.d[nd->shape.ndim - 1] = tb ? b->d[0] : b->d[1];
    nd->has_batch = nd->in[0]->has_batch && !ta;
    nd->dtype = LAM_DTYPE_F32;
    nd->saved_bytes = 0;
    mm_dims d = mm_get(nd);
    nd->scratch_bytes = max3(ws_bytes(d.M, d.N, d.K), ws_bytes(d.M, d.K, d.N), ws_bytes(d.K, d.N, d.M));
    return LAM_OK;
bad:
    snprintf(err, errlen, "matmul%s%s: shapes %s and %s do not multiply", ta ? " (a transposed)" : "",
             tb ? " (b transposed)" : "", lam_shape_fmt(a, sa, sizeof sa), lam_shape_fmt(b, sb, sizeof sb));
    return LAM_ERR_SHAPE;
}

static void mm_fwd(const lam_op_ctx *c)
{
    mm_dims d = mm_get(c->node);
    bool ta = c->node->p.matmul.trans_a, tb = c->node->p.matmul.trans_b;
    lam_sgemm(ta, tb, (int)d.M, (int)d.N, (int)d.K, 1.0f, c->in[0], (int)(ta ? d.M : d.K), c->in[1],
              (int)(tb ? d.K : d.N), 0.0f, c->out, (int)d.N, c->scratch, c->nthreads);
}

static void mm_bwd(const lam_op_ctx *c)
{
    mm_dims d = mm_get(c->node);
    int M = (int)d.M, N = (int)d.N, K = (int)d.K;
    bool ta = c->node->p.matmul.trans_a, tb = c->node->p.matmul.trans_b;
    const float *A = c->in[0], *B = c->in[1], *dY = c->dout;
    int lda = ta ? M : K, ldb = tb ? K : N;
    if (c->din[0]) {
        float beta = c->din_fresh[0] ? 0.0f : 1.0f;
        if (!ta) /* dA[M,K] (+)= dY[M,N] op(B)^T */
            lam_sgemm(false, !tb, M, K, N, 1.0f, dY, N, B, ldb, beta, c->din[0], K, c->scratch, c->nthreads);
        else /* dA[K,M] (+)= op(B) dY^T */
            lam_sgemm(tb, true, K, M, N, 1.0f, B, ldb, dY, N, beta, c->din[0], M, c->scratch, c->nthreads);
    }
    if (c->din[1]) {
        if (!tb) /* dB[K,N] += op(A)^T dY */
            lam_sgemm(!ta, false, K, N, M, 1.0f, A, lda, dY, N, 1.0f, c->din[1], N, c->scratch, c->nthreads);
        else /* dB[N,K] += dY^T op(A) */
            lam_sgemm(true, ta, N, K, M, 1.0f, dY, N, A, lda, 1.0f, c->din[1], K, c->scratch, c->nthreads);
    }
}

static double mm_flops(const lam_node *nd)
{
    mm_dims d = mm_get(nd);
    return 2.0 * (double)d.M * (double)d.N * (double)d.K;
}

const lam_op_def lam_opdef_matmul = {.name = "matmul", .min_in = 2, .max_in = 2, .infer = mm_infer, .forward = mm_fwd, .backward = mm_bwd, .flops = mm_flops, .fresh = 1};

/* ---- dense: act(x W^T + b); x [.., in], W [out, in], b [out] --------------- */
static lam_status dense_infer(lam_node *nd, char *err, size_t errlen)
{
    const lam_shape *x = &nd->in[0]->shape, *w = &nd->in[1]->shape;
    char sa[64], sb[64], sc[64];
    if (x->ndim < 1 || w->ndim != 2 || w->d[1] != x->d[x->ndim - 1] ||
        (nd->n_in == 3 && (nd->in[2]->shape.ndim != 1 || nd->in[2]->shape.d[0] != w->d[0]))) {
        snprintf(err, errlen, "dense: input %s, weight %s, bias %s: expected input [.., in], weight [out, in], bias [out]",
                 lam_shape_fmt(x, sa, sizeof sa), lam_shape_fmt(w, sb, sizeof sb),
                 nd->n_in == 3 ? lam_shape_fmt(&nd->in[2]->shape, sc, sizeof sc) : "none");
        return LAM_ERR_SHAPE;
    }
    nd->shape = *x;
    nd->shape.d[x->ndim - 1] = w->d[0];
    nd->has_batch = nd->in[0]->has_batch;
    nd->dtype = LAM_DTYPE_F32;
    int64_t rows = lam_shape_numel(x) / (x->d[x->ndim - 1] ? x->d[x->ndim - 1] : 1);
    int64_t in = w->d[1], out = w->d[0];
    size_t ybytes = ALIGN64((size_t)(rows * out) * sizeof(float));
    /* GELU's derivative needs the pre-activation; the others use the output */
    nd->saved_bytes = lam_act_reads_input(nd->p.dense.act) ? ybytes : 0;
    nd->scratch_bytes = ybytes + max3(ws_bytes(rows, out, in), ws_bytes(rows, in, out), ws_bytes(out, in, rows));
    return LAM_OK;
}

static void dense_fwd(const lam_op_ctx *c)
{
    const lam_node *nd = c->node;
    int64_t out = nd->in[1]->shape.d[0], in = nd->in[1]->shape.d[1];
    int64_t rows = lam_node_numel(nd) / (out ? out : 1);
    float *y = c->out, *pre = c->saved;
    const float *b = nd->n_in == 3 ? c->in[2] : NULL;
    float *ws = (float *)((char *)c->scratch + ALIGN64((size_t)(rows * out) * sizeof(float)));
    lam_sgemm(false, true, (int)rows, (int)out, (int)in, 1.0f, c->in[0], (int)in, c->in[1], (int)in, 0.0f,
              y, (int)out, ws, c->nthreads);
    lam_act act = nd->p.dense.act;
    /* epilogue: bias + activation, one pass over y */
    LAM_PFOR_WORK(rows, rows * out, r, {
        float *yr = y + r * out;
        if (b)
            for (int64_t j = 0; j < out; j++) yr[j] += b[j];
        if (pre)
            for (int64_t j = 0; j < out; j++) pre[r * out + j] = yr[j];
        if (act != LAM_ACT_NONE) lam_k_act_fwd(act, yr, yr, (size_t)out);
    });
}

static void dense_bwd(const lam_op_ctx *c)
{
    const lam_node *nd = c->node;
    int64_t out = nd->in[1]->shape.d[0], in = nd->in[1]->shape.d[1];
    int64_t rows = lam_node_numel(nd) / (out ? out : 1);
    size_t ybytes = ALIGN64((size_t)(rows * out) * sizeof(float));
    float *ws = (float *)((char *)c->scratch + ybytes);
    const float *dpre = c->dout;
    if (nd->p.dense.act != LAM_ACT_NONE) {
        float *tmp = c->scratch;
        lam_k_act_bwd(nd->p.dense.act, c->saved, c->out, c->dout, tmp, (size_t)(rows * out), 0);
        dpre = tmp;
    }
    if (nd->n_in == 3 && c->din[2]) {
        float *db = c->din[2];
        /* rows in order, columns contiguous (vectorises); blocks of 64
         * columns per thread when large: the same sums for any thread count */
        LAM_PFOR_WORK((out + 63) / 64, rows * out, jb, {
            int64_t j0 = jb * 64, j1 = j0 + 64 < out ? j0 + 64 : out;
            float acc[64];
            for (int64_t j = j0; j < j1; j++) acc[j - j0] = 0.0f;
            for (int64_t r = 0; r < rows; r++)
                for (int64_t j = j0; j < j1; j++) acc[j - j0] += dpre[r * out + j];
            for (int64_t j = j0; j < j1; j++) db[j] += acc[j - j0];
        });
    }
    if (c->din[1]) /* dW[out,in] += dpre^T x */
        lam_sgemm(true, false, (int)out, (int)in, (int)rows, 1.0f, dpre, (int)out, c->in[0], (int)in, 1.0f,
                  c->din[1], (int)in, ws, c->nthreads);
    if (c->din[0]) /* dx[rows,in] (+)= dpre W */
        lam_sgemm(false, false, (int)rows, (int)in, (int)out, 1.0f, dpre, (int)out, c->in[1], (int)in,
                  c->din_fresh[0] ? 0.0f : 1.0f, c->din[0], (int)in, ws, c->nthreads);
}

static double dense_flops(const lam_node *nd)
{
    int64_t out = nd->in[1]->shape.d[0], in = nd->in[1]->shape.d[1];
    int64_t rows = lam_node_numel(nd) / (out ? out : 1);
    return 2.0 * (double)rows * (double)out * (double)in + 2.0 * (double)rows * (double)out;
}

const lam_op_def lam_opdef_dense = {.name = "dense", .min_in = 2, .max_in = 3, .infer = dense_infer, .forward = dense_fwd, .backward = dense_bwd, .flops = dense_flops, .fresh = 1};
