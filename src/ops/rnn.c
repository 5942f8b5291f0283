/* The recurrent op: one layer of RNN (tanh, ReLU), LSTM or GRU cells over a
 * whole sequence, in one or two directions, with backpropagation through
 * time.  PyTorch's equations, gate order and parameter layouts.
 *
 * How it runs, per direction d:
 *  - the input is copied time-major in the direction's step order, X_d
 *    [T][B][I] (step s reads time t = s forwards, T-1-s backwards);
 *  - the input projections of all steps are one GEMM, G = X_d W_ih^T, plus
 *    the biases (gates in PyTorch's order, the weights used as they are);
 *  - then per step one product adds the recurrent part h W_hh^T (for GRU
 *    into R, which its n gate needs apart) and the cell kernel applies the
 *    gates; the states of every step are kept (saved) for backward.  With
 *    several threads each owns a block of hidden units, the columns of
 *    every gate for them, and the threads meet once per step;
 *  - backward walks the steps in reverse: the cell kernel turns G into the
 *    gradients of the gate pre-activations, one product per step carries dh
 *    to the previous step, and after the loop the weight gradients are one
 *    GEMM each over all steps (dW_ih += dG^T X_d, dW_hh += dG^T H_prev) and
 *    the input gradient one GEMM (dX_d = dG W_ih).
 * Two directions on two threads run one per thread.
 * Per-sample lengths: a step at or after a sample's length is not valid for
 * it: its state is carried unchanged, its output is zero and it gets no
 * gradient; so the reverse direction starts at each sample's last step.
 * All sums run in a fixed order whatever the thread count (the GEMMs split
 * only independent outputs). */
#include <stdio.h>
#include <string.h>

#include "kernels/gemm.h"
#include "kernels/rnn_cell.h"
#include "ops/op.h"

#ifdef _OPENMP
#include <omp.h>
#else
static int omp_get_thread_num(void) { return 0; }
static int omp_get_num_threads(void) { return 1; }
#endif

#define ALIGN16(n) (((n) + 15) & ~(int64_t)15) /* floats, to 64-byte multiples */

static int nw(const lam_rnn_params *p) { return p->bias ? 4 : 2; }
static int in_wih(const lam_rnn_params *p, int d) { return 1 + d * nw(p); }
static int in_h0(const lam_rnn_params *p) { return 1 + (p->bidir ? 2 : 1) * nw(p); }
static int in_c0(const lam_rnn_params *p) { return in_h0(p) + p->has_h0; }
static int in_len(const lam_rnn_params *p) { return in_c0(p) + p->has_c0; }
static int n_inputs(const lam_rnn_params *p) { return in_len(p) + p->has_len; }

typedef struct rdims {
    int64_t B, T, I, H, G, GW;
    int D;
} rdims;

static rdims dims_of(const lam_node *nd)
{
    const lam_rnn_params *p = &nd->p.rnn;
    rdims r;
    const lam_shape *x = &nd->in[0]->shape, *whh = &nd->in[in_wih(p, 0) + 1]->shape;
    r.B = x->d[0], r.T = x->d[1], r.I = x->d[2];
    r.H = whh->d[1];
    r.G = lam_rnn_cell_gates(p->cell);
    r.GW = r.G * r.H;
    r.D = p->bidir ? 2 : 1;
    return r;
}

/* ---- memory layout ----------------------------------------------------------- */

/* saved, per direction: the gates G [T][B][G*H], GRU's recurrent part R
 * (same size), the hidden states H [T+1][B][H] (H[0] the initial state),
 * LSTM's cell states C (same size) */
typedef struct dir_saved {
    float *g, *r, *hs, *cs;
} dir_saved;

static int64_t saved_floats_dir(const rdims *r, lam_rnn_cell cell)
{
    int64_t gs = ALIGN16(r->T * r->B * r->GW), hs = ALIGN16((r->T + 1) * r->B * r->H);
    return gs * (cell == LAM_RNN_GRU ? 2 : 1) + hs * (cell == LAM_RNN_LSTM ? 2 : 1);
}

static dir_saved saved_at(void *saved, const rdims *r, lam_rnn_cell cell, int d)
{
    float *base = (float *)saved + d * saved_floats_dir(r, cell);
    int64_t gs = ALIGN16(r->T * r->B * r->GW), hs = ALIGN16((r->T + 1) * r->B * r->H);
    dir_saved s;
    s.g = base;
    s.r = cell == LAM_RNN_GRU ? base + gs : NULL;
    s.hs = base + gs * (cell == LAM_RNN_GRU ? 2 : 1);
    s.cs = cell == LAM_RNN_LSTM ? s.hs + hs : NULL;
    return s;
}

/* scratch, per direction (the two directions may run at once, one per
 * thread): X_d, the bias of G and of R, the running dh, dh_rec, dc, dhd of
 * backward, the input gradient of the direction, the bias-gradient sums,
 * the GEMM workspace for all threads and one per thread for the per-step
 * products; then the valid flags */
#define MAX_TEAM 64 /* threads that split the hidden units of one direction */
typedef struct dir_scratch {
    float *xd, *bg, *br;
    float *dh, *dh2, *dc, *dhd, *dxd, *db, *ws;
    float *wp;            /* W_hh packed for the per-step products (H a multiple of the panel) */
    float *wst[MAX_TEAM];
} dir_scratch;

/* W_hh is packed once per pass when whole panels of columns fall on unit
 * blocks and there are steps enough to repay it: every step then reads the
 * packed panels instead of packing the same weight again (1 MiB per step
 * for H = 256).  Not for generation, one step at a time. */
static bool packed_steps(const rdims *r) { return r->H % LAM_SGEMM_PACK_NR == 0 && r->T >= 4; }
static size_t packed_floats(const rdims *r)
{
    size_t f = lam_sgemm_packed_b_floats((int)r->GW, (int)r->H), b = lam_sgemm_packed_b_floats((int)r->H, (int)r->GW);
    return f > b ? f : b;
}
typedef struct scratch {
    dir_scratch d[2];
    unsigned char *valid;
} scratch;

static int team_size(void)
{
    int nt = lam_ops_plan_threads();
    return nt < MAX_TEAM ? nt : MAX_TEAM;
}

static size_t gemm_ws_floats(const rdims *r)
{
    int nt = lam_ops_plan_threads();
    int64_t TB = r->T * r->B, W = r->I > r->H ? r->I : r->H;
    size_t m = lam_sgemm_ws_floats(TB, r->GW, r->I, nt);
    size_t v[] = {lam_sgemm_ws_floats(r->GW, W, TB, nt),
                  lam_sgemm_ws_floats(TB, r->I, r->GW, nt)};
    for (int i = 0; i < 2; i++) m = v[i] > m ? v[i] : m;
    return m;
}

/* one thread's per-step products: [B, columns] x [H] forward, [B, units] x [GW] backward */
static size_t step_ws_floats(const rdims *r)
{
    size_t a = lam_sgemm_ws_floats(r->B, r->GW, r->H, 1);
    size_t b = lam_sgemm_ws_floats(r->B, r->H, r->GW, 1);
    size_t c = lam_sgemm_packed_ws_floats((int)r->B, (int)r->H), d = lam_sgemm_packed_ws_floats((int)r->B, (int)r->GW);
    a = a > b ? a : b;
    c = c > d ? c : d;
    return a > c ? a : c;
}

static int64_t scratch_layout(const rdims *r, void *base, scratch *s)
{
    int64_t off = 0;
    float *f = base;
#define TAKE(ptr, n)                       \
    do {                                   \
        if (f) (ptr) = f + off;            \
        off += ALIGN16((int64_t)(n));      \
    } while (0)
    scratch z = {0};
    if (!s) s = &z;
    int nt = team_size();
    for (int d = 0; d < r->D; d++) {
        dir_scratch *x = &s->d[d];
        TAKE(x->xd, r->T * r->B * r->I);
        TAKE(x->bg, r->GW);
        TAKE(x->br, r->GW);
        TAKE(x->dh, r->B * r->H);
        TAKE(x->dh2, r->B * r->H);
        TAKE(x->dc, r->B * r->H);
        TAKE(x->dhd, r->B * r->H);
        TAKE(x->dxd, r->T * r->B * r->I);
        TAKE(x->db, r->GW);
        TAKE(x->ws, gemm_ws_floats(r));
        TAKE(x->wp, packed_steps(r) ? packed_floats(r) : 0);
        for (int t = 0; t < nt; t++) TAKE(x->wst[t], step_ws_floats(r));
    }
    float *v = NULL;
    TAKE(v, (r->T * r->B + 3) / 4);
    s->valid = (unsigned char *)v;
#undef TAKE
    return off;
}

/* ---- shape inference ---------------------------------------------------------------- */

static unsigned rnn_int_inputs(const lam_op_params *p, int n_in)
{
    (void)n_in;
    return p->rnn.has_len ? 1u << in_len(&p->rnn) : 0;
}

static lam_status rnn_infer(lam_node *nd, char *err, size_t errlen)
{
    const lam_rnn_params *p = &nd->p.rnn;
    char s1[64], s2[64], s3[64];
    if (nd->n_in != n_inputs(p) || (unsigned)p->cell >= LAM_RNN_CELL_COUNT_ || (p->has_c0 && p->cell != LAM_RNN_LSTM)) {
        snprintf(err, errlen, "rnn: %d inputs do not fit the options (cell %d%s)", nd->n_in, (int)p->cell,
                 p->has_c0 && p->cell != LAM_RNN_LSTM ? ", a cell state for a cell without one" : "");
        return LAM_ERR_ARG;
    }
    const lam_shape *x = &nd->in[0]->shape;
    if (x->ndim != 3) {
        snprintf(err, errlen, "%s: input %s, expected [batch, time, features]", lam_rnn_cell_name(p->cell),
                 lam_shape_fmt(x, s1, sizeof s1));
        return LAM_ERR_SHAPE;
    }
    int D = p->bidir ? 2 : 1;
    int64_t G = lam_rnn_cell_gates(p->cell), H = nd->in[in_wih(p, 0) + 1]->shape.d[1];
    for (int d = 0; d < D; d++) {
        const lam_shape *wih = &nd->in[in_wih(p, d)]->shape, *whh = &nd->in[in_wih(p, d) + 1]->shape;
        bool ok = wih->ndim == 2 && whh->ndim == 2 && whh->d[1] == H && wih->d[0] == G * H && whh->d[0] == G * H &&
                  wih->d[1] == x->d[2];
        for (int k = 2; ok && p->bias && k < 4; k++) {
            const lam_shape *b = &nd->in[in_wih(p, d) + k]->shape;
            ok = b->ndim == 1 && b->d[0] == G * H;
        }
        if (!ok) {
            snprintf(err, errlen,
                     "%s: input %s, weights %s and %s: expected w_ih [%lld, %lld], w_hh [%lld, %lld]%s (%lld gates)",
                     lam_rnn_cell_name(p->cell), lam_shape_fmt(x, s1, sizeof s1), lam_shape_fmt(wih, s2, sizeof s2),
                     lam_shape_fmt(whh, s3, sizeof s3), (long long)(G * H), (long long)x->d[2], (long long)(G * H),
                     (long long)H, p->bias ? " and biases of the rows" : "", (long long)G);
            return LAM_ERR_SHAPE;
        }
    }
    for (int k = 0; k < 2; k++) {
        bool has = k ? p->has_c0 : p->has_h0;
        if (!has) continue;
        const lam_shape *st = &nd->in[k ? in_c0(p) : in_h0(p)]->shape;
        if (st->ndim != 3 || st->d[0] != x->d[0] || st->d[1] != D || st->d[2] != H) {
            snprintf(err, errlen, "%s: initial %s state %s, expected [%lld, %d, %lld] (batch, directions, hidden)",
                     lam_rnn_cell_name(p->cell), k ? "cell" : "hidden", lam_shape_fmt(st, s1, sizeof s1),
                     (long long)x->d[0], D, (long long)H);
            return LAM_ERR_SHAPE;
        }
    }
    if (p->has_len) {
        const lam_shape *ls = &nd->in[in_len(p)]->shape;
        if (ls->ndim != 1 || ls->d[0] != x->d[0]) {
            snprintf(err, errlen, "%s: lengths %s, expected one per sample [%lld]", lam_rnn_cell_name(p->cell),
                     lam_shape_fmt(ls, s1, sizeof s1), (long long)x->d[0]);
            return LAM_ERR_SHAPE;
        }
    }
    rdims r = dims_of(nd);
    nd->shape = p->last_only ? lam_shape2(r.B, D * H) : lam_shape3(r.B, r.T, D * H);
    nd->has_batch = nd->in[0]->has_batch;
    nd->dtype = LAM_DTYPE_F32;
    nd->n_aux = p->cell == LAM_RNN_LSTM ? 2 : 1;
    for (int k = 0; k < nd->n_aux; k++) nd->aux_shape[k] = lam_shape3(r.B, D, H);
    nd->saved_bytes = (size_t)(D * saved_floats_dir(&r, p->cell)) * sizeof(float);
    nd->scratch_bytes = (size_t)scratch_layout(&r, NULL, NULL) * sizeof(float);
    return LAM_OK;
}

static double rnn_flops(const lam_node *nd)
{
    rdims r = dims_of(nd);
    double gh = (double)(r.G * r.H);
    return r.D * (double)(r.T * r.B) * (2.0 * gh * (double)(r.I + r.H) + 6.0 * (double)r.H);
}

/* ---- shared pieces ------------------------------------------------------------------- */

static int64_t t_of(const rdims *r, int d, int64_t s) { return d ? r->T - 1 - s : s; }

/* valid[t*B + b]: step t is within sample b's length.  False (with a message)
 * for a length outside 1..T. */
static bool make_valid(const lam_op_ctx *c, const rdims *r, unsigned char *valid)
{
    const lam_rnn_params *p = &c->node->p.rnn;
    const int32_t *len = p->has_len ? (const int32_t *)c->in[in_len(p)] : NULL;
    for (int64_t b = 0; b < r->B; b++) {
        int64_t L = len ? len[b] : r->T;
        if (L < 1 || L > r->T) {
            *c->status = LAM_ERR_ARG;
            snprintf(c->errmsg, c->errlen, "%s: length %lld of batch row %lld is outside 1..%lld",
                     lam_rnn_cell_name(p->cell), (long long)L, (long long)b, (long long)r->T);
            return false;
        }
        for (int64_t t = 0; t < r->T; t++) valid[t * r->B + b] = t < L;
    }
    return true;
}

/* X_d[s][b][:] = x[b][t(s)][:] */
static void load_x(const float *x, const rdims *r, int d, float *xd)
{
    for (int64_t s = 0; s < r->T; s++)
        for (int64_t b = 0; b < r->B; b++)
            memcpy(xd + (s * r->B + b) * r->I, x + (b * r->T + t_of(r, d, s)) * r->I, (size_t)r->I * sizeof(float));
}

/* The bias of G (b_ih + b_hh) and, for GRU, of R (b_hn, which its n gate
 * keeps inside r * (W_hn h + b_hn)); zeros without biases. */
static void load_biases(const lam_op_ctx *c, const rdims *r, int d, const dir_scratch *x)
{
    const lam_rnn_params *p = &c->node->p.rnn;
    memset(x->bg, 0, (size_t)r->GW * sizeof(float));
    memset(x->br, 0, (size_t)r->GW * sizeof(float));
    if (!p->bias) return;
    int k = in_wih(p, d);
    const float *bih = c->in[k + 2], *bhh = c->in[k + 3];
    int64_t n_both = p->cell == LAM_RNN_GRU ? 2 * r->H : r->GW;
    for (int64_t i = 0; i < r->GW; i++) {
        if (i < n_both) x->bg[i] = bih[i] + bhh[i];
        else x->bg[i] = bih[i], x->br[i] = bhh[i];
    }
}

/* The recurrent product for units [j0, j1) of every gate on this thread:
 * dst[:, q*H + j] += h W_hh[q*H + j, :]^T; one GEMM when the thread owns
 * all the units. */
static void recurrent_product(const rdims *r, const float *h, const float *whh, const float *wp, float *dst, int64_t j0,
                              int64_t j1, float *ws)
{
    if (wp) { /* W_hh^T packed: columns q*H + [j0, j1) of every gate */
        for (int64_t q = 0; q < r->G; q++)
            lam_sgemm_packed(false, (int)r->B, (int)r->GW, (int)r->H, 1.0f, h, (int)r->H, wp, 1.0f, dst, (int)r->GW, ws,
                             (int)(q * r->H + j0), (int)(q * r->H + j1));
        return;
    }
    if (j0 == 0 && j1 == r->H) {
        lam_sgemm(false, true, (int)r->B, (int)r->GW, (int)r->H, 1.0f, h, (int)r->H, whh, (int)r->H, 1.0f, dst,
                  (int)r->GW, ws, 1);
        return;
    }
    for (int64_t q = 0; q < r->G; q++)
        lam_sgemm(false, true, (int)r->B, (int)(j1 - j0), (int)r->H, 1.0f, h, (int)r->H, whh + (q * r->H + j0) * r->H,
                  (int)r->H, 1.0f, dst + q * r->H + j0, (int)r->GW, ws, 1);
}

static void rows_set(float *dst, const float *row, int64_t n, int64_t w)
{
    for (int64_t i = 0; i < n; i++) memcpy(dst + i * w, row, (size_t)w * sizeof(float));
}

/* The units [j0, j1) thread t of nt owns: whole blocks of LAM_RNN_UB. */
static void unit_range(const rdims *r, int t, int nt, int64_t *j0, int64_t *j1)
{
    int64_t nb = (r->H + LAM_RNN_UB - 1) / LAM_RNN_UB;
    *j0 = nb * t / nt * LAM_RNN_UB;
    *j1 = nb * (t + 1) / nt * LAM_RNN_UB;
    if (*j1 > r->H) *j1 = r->H;
}

/* Threads that split the units of one direction's steps: one per 32 units
 * at most, and one alone when a step is too small to pay for the barrier
 * (generation: one sample, one step). */
static int step_team(const rdims *r, int nthreads)
{
    if ((double)r->B * (double)r->GW * (double)r->H < (double)(1 << 20)) return 1;
    int64_t nb = (r->H + 31) / 32;
    int nt = nthreads < MAX_TEAM ? nthreads : MAX_TEAM;
    if (nt > nb) nt = (int)nb;
    return nt < 1 ? 1 : nt;
}

/* ---- forward ------------------------------------------------------------------------ */

/* The steps of direction d on thread t of nt, which owns units [j0, j1)
 * and their gate columns: per step its part of the recurrent product, its
 * units' cell update, then a barrier (the next product needs every unit). */
static void fwd_steps(const lam_op_ctx *c, const rdims *r, int d, const dir_scratch *x, const unsigned char *valid,
                      int t, int nt)
{
    const lam_rnn_params *p = &c->node->p.rnn;
    dir_saved sv = saved_at(c->saved, r, p->cell, d);
    const float *whh = c->in[in_wih(p, d) + 1];
    int64_t BH = r->B * r->H, j0, j1;
    unit_range(r, t, nt, &j0, &j1);
    for (int64_t s = 0; s < r->T; s++) {
        float *g = sv.g + s * r->B * r->GW, *hp = sv.hs + s * BH;
        float *rr = sv.r ? sv.r + s * r->B * r->GW : NULL;
        if (j1 > j0) {
            if (rr) /* R = b_hn (+ the product) for this thread's units of every gate */
                for (int64_t b = 0; b < r->B; b++)
                    for (int64_t q = 0; q < r->G; q++)
                        memcpy(rr + b * r->GW + q * r->H + j0, x->br + q * r->H + j0, (size_t)(j1 - j0) * sizeof(float));
            recurrent_product(r, hp, whh, packed_steps(r) ? x->wp : NULL, rr ? rr : g, j0, j1, x->wst[t]);
            lam_rnn_step st = {p->cell, (int)r->B, (int)r->H, (int)r->GW, (int)j0, (int)j1, g, rr, hp,
                               sv.cs ? sv.cs + s * BH : NULL, sv.hs + (s + 1) * BH, sv.cs ? sv.cs + (s + 1) * BH : NULL,
                               valid + t_of(r, d, s) * r->B, NULL, NULL, NULL};
            lam_k_rnn_step_fwd(&st);
        }
        if (nt > 1) {
#pragma omp barrier
        }
    }
}

static void run_direction(const lam_op_ctx *c, const rdims *r, int d, const dir_scratch *x, const unsigned char *valid,
                          int nthreads)
{
    const lam_rnn_params *p = &c->node->p.rnn;
    dir_saved sv = saved_at(c->saved, r, p->cell, d);
    int64_t TB = r->T * r->B, BH = r->B * r->H;
    load_x(c->in[0], r, d, x->xd);
    load_biases(c, r, d, x);
    /* G = X_d W_ih^T + bias, all steps at once */
    rows_set(sv.g, x->bg, TB, r->GW);
    lam_sgemm(false, true, (int)TB, (int)r->GW, (int)r->I, 1.0f, x->xd, (int)r->I, c->in[in_wih(p, d)], (int)r->I, 1.0f,
              sv.g, (int)r->GW, x->ws, nthreads);
    /* initial states */
    for (int k = 0; k < 2; k++) {
        float *st = k ? sv.cs : sv.hs;
        if (!st) continue;
        bool given = k ? p->has_c0 : p->has_h0;
        const float *src = given ? c->in[k ? in_c0(p) : in_h0(p)] : NULL;
        for (int64_t b = 0; b < r->B; b++) {
            if (src) memcpy(st + b * r->H, src + (b * r->D + d) * r->H, (size_t)r->H * sizeof(float));
            else memset(st + b * r->H, 0, (size_t)r->H * sizeof(float));
        }
    }
    if (packed_steps(r)) /* op(B) = W_hh^T [H, G*H] */
        lam_sgemm_pack_b(true, (int)r->GW, (int)r->H, c->in[in_wih(p, d) + 1], (int)r->H, NULL, NULL, x->wp);
    int nt = step_team(r, nthreads);
    if (nt > 1) {
#pragma omp parallel num_threads(nt)
        fwd_steps(c, r, d, x, valid, omp_get_thread_num(), omp_get_num_threads());
    } else {
        fwd_steps(c, r, d, x, valid, 0, 1);
    }
    /* outputs: the sequence (zero where not valid) or the final states */
    int64_t DH = r->D * r->H;
    for (int64_t b = 0; b < r->B; b++) {
        if (p->last_only) {
            memcpy(c->out + b * DH + d * r->H, sv.hs + r->T * BH + b * r->H, (size_t)r->H * sizeof(float));
            continue;
        }
        for (int64_t s = 0; s < r->T; s++) {
            int64_t t = t_of(r, d, s);
            float *y = c->out + (b * r->T + t) * DH + d * r->H;
            if (valid[t * r->B + b]) memcpy(y, sv.hs + (s + 1) * BH + b * r->H, (size_t)r->H * sizeof(float));
            else memset(y, 0, (size_t)r->H * sizeof(float));
        }
    }
    for (int k = 0; k < c->node->n_aux; k++) {
        if (!c->aux[k]) continue;
        const float *st = (k ? sv.cs : sv.hs) + r->T * BH;
        for (int64_t b = 0; b < r->B; b++)
            memcpy(c->aux[k] + (b * r->D + d) * r->H, st + b * r->H, (size_t)r->H * sizeof(float));
    }
}

/* Two directions on two or more threads: one direction per thread, each
 * with single-threaded products (no barrier at all); otherwise one after
 * the other, each with every thread. */
static void for_directions(const lam_op_ctx *c, const rdims *r, const scratch *sc,
                           void (*fn)(const lam_op_ctx *, const rdims *, int, const dir_scratch *, const unsigned char *,
                                      int))
{
    if (r->D == 2 && c->nthreads >= 2) {
#pragma omp parallel num_threads(2)
        {
            int d = omp_get_thread_num();
            if (omp_get_num_threads() == 2) fn(c, r, d, &sc->d[d], sc->valid, 1);
            else
                for (d = 0; d < 2; d++) fn(c, r, d, &sc->d[d], sc->valid, 1);
        }
        return;
    }
    for (int d = 0; d < r->D; d++) fn(c, r, d, &sc->d[d], sc->valid, c->nthreads);
}

static void rnn_fwd(const lam_op_ctx *c)
{
    rdims r = dims_of(c->node);
    scratch sc;
    scratch_layout(&r, c->scratch, &sc);
    if (!make_valid(c, &r, sc.valid)) return;
    for_directions(c, &r, &sc, run_direction);
}

/* ---- backward ----------------------------------------------------------------------- */

/* bias gradient: db += the column sums of m [rows][GW], each summed in row order */
static void add_bias_grad(float *db, const float *m, int64_t rows, const rdims *r, float *tmp)
{
    memset(tmp, 0, (size_t)r->GW * sizeof(float));
    for (int64_t i = 0; i < rows; i++) {
        const float *mr = m + i * r->GW;
        for (int64_t k = 0; k < r->GW; k++) tmp[k] += mr[k];
    }
    for (int64_t k = 0; k < r->GW; k++) db[k] += tmp[k];
}

/* The steps of direction d backwards on thread t of nt (units [j0, j1)):
 * its units' gate gradients, a barrier (the product needs every gate),
 * then its units' part of dh before the step.  dh and dh2 swap roles
 * every step. */
static void bwd_steps(const lam_op_ctx *c, const rdims *r, int d, const dir_scratch *x, const unsigned char *valid_all,
                      int t, int nt)
{
    const lam_rnn_params *p = &c->node->p.rnn;
    dir_saved sv = saved_at(c->saved, r, p->cell, d);
    int64_t BH = r->B * r->H, DH = r->D * r->H, j0, j1;
    unit_range(r, t, nt, &j0, &j1);
    const float *whh = c->in[in_wih(p, d) + 1];
    float *dh = x->dh, *dh2 = x->dh2;
    for (int64_t s = r->T - 1; s >= 0; s--) {
        int64_t tt = t_of(r, d, s);
        const unsigned char *valid = valid_all + tt * r->B;
        float *g = sv.g + s * r->B * r->GW, *rr = sv.r ? sv.r + s * r->B * r->GW : NULL;
        if (j1 > j0) {
            if (!p->last_only)
                for (int64_t b = 0; b < r->B; b++) {
                    if (!valid[b]) continue;
                    const float *dy = c->dout + (b * r->T + tt) * DH + d * r->H;
                    for (int64_t j = j0; j < j1; j++) dh[b * r->H + j] += dy[j];
                }
            lam_rnn_step st = {p->cell, (int)r->B, (int)r->H, (int)r->GW, (int)j0, (int)j1, g, rr, sv.hs + s * BH,
                               sv.cs ? sv.cs + s * BH : NULL, NULL, sv.cs ? sv.cs + (s + 1) * BH : NULL, valid, dh,
                               x->dhd, x->dc};
            lam_k_rnn_step_bwd(&st);
        }
        if (nt > 1) {
#pragma omp barrier
        }
        if (j1 > j0) {
            /* dh before the step, for this thread's units: through the
             * recurrent product, plus (GRU) the direct path z dh; rows not
             * valid carry dh unchanged */
            if (packed_steps(r))
                lam_sgemm_packed(false, (int)r->B, (int)r->H, (int)r->GW, 1.0f, rr ? rr : g, (int)r->GW, x->wp, 0.0f, dh2,
                                 (int)r->H, x->wst[t], (int)j0, (int)j1);
            else
                lam_sgemm(false, false, (int)r->B, (int)(j1 - j0), (int)r->GW, 1.0f, rr ? rr : g, (int)r->GW, whh + j0,
                          (int)r->H, 0.0f, dh2 + j0, (int)r->H, x->wst[t], 1);
            for (int64_t b = 0; b < r->B; b++) {
                float *o = dh2 + b * r->H;
                if (rr) {
                    const float *a = x->dhd + b * r->H;
                    for (int64_t j = j0; j < j1; j++) o[j] += a[j];
                } else if (!valid[b]) {
                    for (int64_t j = j0; j < j1; j++) o[j] = dh[b * r->H + j];
                }
            }
        }
        float *tmp = dh;
        dh = dh2, dh2 = tmp;
    }
}

static void back_direction(const lam_op_ctx *c, const rdims *r, int d, const dir_scratch *x, const unsigned char *valid,
                           int nthreads)
{
    const lam_rnn_params *p = &c->node->p.rnn;
    dir_saved sv = saved_at(c->saved, r, p->cell, d);
    int64_t TB = r->T * r->B, DH = r->D * r->H;
    int k = in_wih(p, d);
    float *dwih = c->din[k], *dwhh = c->din[k + 1];
    float *dbih = p->bias ? c->din[k + 2] : NULL, *dbhh = p->bias ? c->din[k + 3] : NULL;
    /* the gradients of h and c after the last step */
    for (int64_t b = 0; b < r->B; b++)
        for (int64_t j = 0; j < r->H; j++) {
            float v = c->daux[0] ? c->daux[0][(b * r->D + d) * r->H + j] : 0.0f;
            if (p->last_only) v += c->dout[b * DH + d * r->H + j];
            x->dh[b * r->H + j] = v;
            if (p->cell == LAM_RNN_LSTM)
                x->dc[b * r->H + j] = c->daux[1] ? c->daux[1][(b * r->D + d) * r->H + j] : 0.0f;
        }
    int nt = step_team(r, nthreads);
    /* T steps swap dh and dh2 T times: dh before the first step ends in dh2 when T is odd */
    const float *dh0 = r->T % 2 ? x->dh2 : x->dh;
    if (packed_steps(r)) /* op(B) = W_hh [G*H, H] */
        lam_sgemm_pack_b(false, (int)r->H, (int)r->GW, c->in[k + 1], (int)r->H, NULL, NULL, x->wp);
    if (nt > 1) {
#pragma omp parallel num_threads(nt)
        bwd_steps(c, r, d, x, valid, omp_get_thread_num(), omp_get_num_threads());
    } else {
        bwd_steps(c, r, d, x, valid, 0, 1);
    }
    /* gradients of the initial states */
    for (int kk = 0; kk < 2; kk++) {
        bool given = kk ? p->has_c0 : p->has_h0;
        float *dst = given ? c->din[kk ? in_c0(p) : in_h0(p)] : NULL;
        const float *src = kk ? x->dc : dh0;
        if (!dst) continue;
        for (int64_t b = 0; b < r->B; b++) {
            float *o = dst + (b * r->D + d) * r->H;
            for (int64_t j = 0; j < r->H; j++) o[j] += src[b * r->H + j];
        }
    }
    const float *dg = sv.g, *drec = sv.r ? sv.r : sv.g; /* now gradients */
    if (dwih || c->din[0]) load_x(c->in[0], r, d, x->xd);
    if (dwih)
        lam_sgemm(true, false, (int)r->GW, (int)r->I, (int)TB, 1.0f, dg, (int)r->GW, x->xd, (int)r->I, 1.0f, dwih,
                  (int)r->I, x->ws, nthreads);
    if (dwhh)
        lam_sgemm(true, false, (int)r->GW, (int)r->H, (int)TB, 1.0f, drec, (int)r->GW, sv.hs, (int)r->H, 1.0f, dwhh,
                  (int)r->H, x->ws, nthreads);
    if (dbih) add_bias_grad(dbih, dg, TB, r, x->db);
    if (dbhh) add_bias_grad(dbhh, drec, TB, r, x->db);
    /* the input gradient of this direction, time-major in its step order
     * (rnn_bwd adds the directions into dx, in order) */
    if (c->din[0])
        lam_sgemm(false, false, (int)TB, (int)r->I, (int)r->GW, 1.0f, dg, (int)r->GW, c->in[k], (int)r->I, 0.0f, x->dxd,
                  (int)r->I, x->ws, nthreads);
}

static void rnn_bwd(const lam_op_ctx *c)
{
    rdims r = dims_of(c->node);
    scratch sc;
    scratch_layout(&r, c->scratch, &sc);
    if (!make_valid(c, &r, sc.valid)) return;
    for_directions(c, &r, &sc, back_direction);
    if (!c->din[0]) return;
    for (int d = 0; d < r.D; d++)
        for (int64_t s = 0; s < r.T; s++)
            for (int64_t b = 0; b < r.B; b++) {
                float *o = c->din[0] + (b * r.T + t_of(&r, d, s)) * r.I;
                const float *a = sc.d[d].dxd + (s * r.B + b) * r.I;
                for (int64_t i = 0; i < r.I; i++) o[i] += a[i];
            }
}

const lam_op_def lam_opdef_rnn = {.name = "rnn", .min_in = 3, .max_in = LAM_MAX_INPUTS, .infer = rnn_infer,
                                  .forward = rnn_fwd, .backward = rnn_bwd, .flops = rnn_flops,
                                  .int_inputs = rnn_int_inputs};
