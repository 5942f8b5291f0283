/* The recurrent op: one layer of RNN (tanh, ReLU), LSTM or GRU cells over a
 * whole sequence, in one or two directions, with backpropagation through
 * time.  PyTorch's equations, gate order and parameter layouts.
 *
 * How it runs, per direction d:
 *  - the input is copied time-major in the direction's step order, X_d
 *    [T][B][I] (step s reads time t = s forwards, T-1-s backwards), and the
 *    weights into the permuted gate layout of kernels/rnn_cell.h (a padded
 *    column order that puts the gates of each block of units side by side);
 *  - the input projections of all steps are one GEMM, G = X_d W_ih^T, plus
 *    the biases;
 *  - then per step one GEMM adds the recurrent product h W_hh^T (for GRU
 *    into R, which its n gate needs apart) and the cell kernel applies the
 *    gates; the states of every step are kept (saved) for backward;
 *  - backward walks the steps in reverse: the cell kernel turns G into the
 *    gradients of the gate pre-activations, one GEMM per step carries dh
 *    to the previous step, and after the loop the weight gradients are one
 *    GEMM each over all steps (dW_ih = dG^T X_d, dW_hh = dG^T H_prev) and
 *    the input gradient one GEMM (dX_d = dG W_ih).
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

#define ALIGN16(n) (((n) + 15) & ~(int64_t)15) /* floats, to 64-byte multiples */

int lam_ops_plan_threads(void);

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
    r.GW = r.G * ((r.H + LAM_RNN_UB - 1) / LAM_RNN_UB * LAM_RNN_UB);
    r.D = p->bidir ? 2 : 1;
    return r;
}

/* ---- memory layout ----------------------------------------------------------- */

/* saved, per direction: the gates G [T][B][GW], GRU's recurrent part R
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

/* scratch: per direction X_d, the permuted W_ih, W_hh, bias of G and bias
 * of R; the valid flags; then (backward) the running dh, dh_rec, dc, dhd,
 * the input gradient of one direction, a weight-gradient buffer; then the
 * GEMM workspace */
typedef struct scratch {
    float *xd[2], *wih[2], *whh[2], *bg[2], *br[2];
    unsigned char *valid;
    float *dh, *dh2, *dc, *dhd, *dxd, *dw, *ws;
} scratch;

static size_t gemm_ws_floats(const rdims *r)
{
    int nt = lam_ops_plan_threads();
    int64_t TB = r->T * r->B, W = r->I > r->H ? r->I : r->H;
    size_t m = lam_sgemm_ws_floats((int)TB, (int)r->GW, (int)r->I, nt);
    size_t v[] = {lam_sgemm_ws_floats((int)r->B, (int)r->GW, (int)r->H, nt),
                  lam_sgemm_ws_floats((int)r->B, (int)r->H, (int)r->GW, nt),
                  lam_sgemm_ws_floats((int)r->GW, (int)W, (int)TB, nt),
                  lam_sgemm_ws_floats((int)TB, (int)r->I, (int)r->GW, nt)};
    for (int i = 0; i < 4; i++) m = v[i] > m ? v[i] : m;
    return m;
}

static int64_t scratch_layout(const rdims *r, void *base, scratch *s)
{
    int64_t off = 0, W = r->I > r->H ? r->I : r->H;
    float *f = base;
#define TAKE(ptr, n)                       \
    do {                                   \
        if (f) (ptr) = f + off;            \
        off += ALIGN16((int64_t)(n));      \
    } while (0)
    scratch z = {0};
    if (!s) s = &z;
    for (int d = 0; d < r->D; d++) {
        TAKE(s->xd[d], r->T * r->B * r->I);
        TAKE(s->wih[d], r->GW * r->I);
        TAKE(s->whh[d], r->GW * r->H);
        TAKE(s->bg[d], r->GW);
        TAKE(s->br[d], r->GW);
    }
    float *v = NULL;
    TAKE(v, (r->T * r->B + 3) / 4);
    s->valid = (unsigned char *)v;
    TAKE(s->dh, r->B * r->H);
    TAKE(s->dh2, r->B * r->H);
    TAKE(s->dc, r->B * r->H);
    TAKE(s->dhd, r->B * r->H);
    TAKE(s->dxd, r->T * r->B * r->I);
    TAKE(s->dw, r->GW * W);
    TAKE(s->ws, gemm_ws_floats(r));
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

/* The direction's weights in the permuted gate layout (padded rows zero),
 * the bias of G and, for GRU, the bias of R. */
static void load_weights(const lam_op_ctx *c, const rdims *r, int d, const scratch *sc)
{
    const lam_rnn_params *p = &c->node->p.rnn;
    int k = in_wih(p, d);
    const float *wih = c->in[k], *whh = c->in[k + 1];
    const float *bih = p->bias ? c->in[k + 2] : NULL, *bhh = p->bias ? c->in[k + 3] : NULL;
    memset(sc->wih[d], 0, (size_t)(r->GW * r->I) * sizeof(float));
    memset(sc->whh[d], 0, (size_t)(r->GW * r->H) * sizeof(float));
    memset(sc->bg[d], 0, (size_t)r->GW * sizeof(float));
    memset(sc->br[d], 0, (size_t)r->GW * sizeof(float));
    bool gru = p->cell == LAM_RNN_GRU;
    for (int64_t q = 0; q < r->G; q++)
        for (int64_t j = 0; j < r->H; j++) {
            int64_t col = lam_rnn_gate_col(q, j, (int)r->G), row = q * r->H + j;
            memcpy(sc->wih[d] + col * r->I, wih + row * r->I, (size_t)r->I * sizeof(float));
            memcpy(sc->whh[d] + col * r->H, whh + row * r->H, (size_t)r->H * sizeof(float));
            if (!bih) continue;
            /* GRU's n gate keeps b_hn inside r * (W_hn h + b_hn) */
            if (gru && q == 2) sc->bg[d][col] = bih[row], sc->br[d][col] = bhh[row];
            else sc->bg[d][col] = bih[row] + bhh[row];
        }
}

static void rows_set(float *dst, const float *row, int64_t n, int64_t w)
{
    for (int64_t i = 0; i < n; i++) memcpy(dst + i * w, row, (size_t)w * sizeof(float));
}

/* ---- forward ------------------------------------------------------------------------ */

static void run_direction(const lam_op_ctx *c, const rdims *r, int d, const scratch *sc)
{
    const lam_rnn_params *p = &c->node->p.rnn;
    dir_saved sv = saved_at(c->saved, r, p->cell, d);
    int64_t TB = r->T * r->B, BH = r->B * r->H;
    load_x(c->in[0], r, d, sc->xd[d]);
    load_weights(c, r, d, sc);
    /* G = X_d W_ih^T + bias, all steps at once */
    rows_set(sv.g, sc->bg[d], TB, r->GW);
    lam_sgemm(false, true, (int)TB, (int)r->GW, (int)r->I, 1.0f, sc->xd[d], (int)r->I, sc->wih[d], (int)r->I, 1.0f,
              sv.g, (int)r->GW, sc->ws, c->nthreads);
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
    for (int64_t s = 0; s < r->T; s++) {
        float *g = sv.g + s * r->B * r->GW, *hp = sv.hs + s * BH;
        float *rr = sv.r ? sv.r + s * r->B * r->GW : NULL;
        if (rr) rows_set(rr, sc->br[d], r->B, r->GW);
        lam_sgemm(false, true, (int)r->B, (int)r->GW, (int)r->H, 1.0f, hp, (int)r->H, sc->whh[d], (int)r->H, 1.0f,
                  rr ? rr : g, (int)r->GW, sc->ws, c->nthreads);
        lam_rnn_step st = {p->cell, (int)r->B, (int)r->H, (int)r->GW, 0, (int)r->H, g, rr, hp,
                           sv.cs ? sv.cs + s * BH : NULL, sv.hs + (s + 1) * BH, sv.cs ? sv.cs + (s + 1) * BH : NULL,
                           sc->valid + t_of(r, d, s) * r->B, NULL, NULL, NULL};
        lam_k_rnn_step_fwd(&st);
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
            if (sc->valid[t * r->B + b]) memcpy(y, sv.hs + (s + 1) * BH + b * r->H, (size_t)r->H * sizeof(float));
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

static void rnn_fwd(const lam_op_ctx *c)
{
    rdims r = dims_of(c->node);
    scratch sc;
    scratch_layout(&r, c->scratch, &sc);
    if (!make_valid(c, &r, sc.valid)) return;
    for (int d = 0; d < r.D; d++) run_direction(c, &r, d, &sc);
}

/* ---- backward ----------------------------------------------------------------------- */

/* dst[q*H + j][:] += src[col(q, j)][:] (rows of w columns): un-permute a gradient */
static void add_unpermuted(float *dst, const float *src, const rdims *r, int64_t w)
{
    for (int64_t q = 0; q < r->G; q++)
        for (int64_t j = 0; j < r->H; j++) {
            const float *s = src + lam_rnn_gate_col(q, j, (int)r->G) * w;
            float *o = dst + (q * r->H + j) * w;
            for (int64_t i = 0; i < w; i++) o[i] += s[i];
        }
}

/* bias gradient: column sums of m [rows][GW] in row order, un-permuted */
static void add_bias_grad(float *db, const float *m, int64_t rows, const rdims *r, float *tmp)
{
    memset(tmp, 0, (size_t)r->GW * sizeof(float));
    for (int64_t i = 0; i < rows; i++) {
        const float *mr = m + i * r->GW;
        for (int64_t k = 0; k < r->GW; k++) tmp[k] += mr[k];
    }
    add_unpermuted(db, tmp, r, 1);
}

static void back_direction(const lam_op_ctx *c, const rdims *r, int d, const scratch *sc)
{
    const lam_rnn_params *p = &c->node->p.rnn;
    dir_saved sv = saved_at(c->saved, r, p->cell, d);
    int64_t TB = r->T * r->B, BH = r->B * r->H, DH = r->D * r->H;
    int k = in_wih(p, d);
    float *dwih = c->din[k], *dwhh = c->din[k + 1];
    float *dbih = p->bias ? c->din[k + 2] : NULL, *dbhh = p->bias ? c->din[k + 3] : NULL;
    load_weights(c, r, d, sc);
    /* the running gradients of h and c after the current step */
    float *dh = sc->dh, *dh2 = sc->dh2;
    for (int64_t b = 0; b < r->B; b++)
        for (int64_t j = 0; j < r->H; j++) {
            float v = c->daux[0] ? c->daux[0][(b * r->D + d) * r->H + j] : 0.0f;
            if (p->last_only) v += c->dout[b * DH + d * r->H + j];
            dh[b * r->H + j] = v;
            if (p->cell == LAM_RNN_LSTM)
                sc->dc[b * r->H + j] = c->daux[1] ? c->daux[1][(b * r->D + d) * r->H + j] : 0.0f;
        }
    for (int64_t s = r->T - 1; s >= 0; s--) {
        int64_t t = t_of(r, d, s);
        const unsigned char *valid = sc->valid + t * r->B;
        if (!p->last_only)
            for (int64_t b = 0; b < r->B; b++) {
                if (!valid[b]) continue;
                const float *dy = c->dout + (b * r->T + t) * DH + d * r->H;
                for (int64_t j = 0; j < r->H; j++) dh[b * r->H + j] += dy[j];
            }
        float *g = sv.g + s * r->B * r->GW, *rr = sv.r ? sv.r + s * r->B * r->GW : NULL;
        lam_rnn_step st = {p->cell, (int)r->B, (int)r->H, (int)r->GW, 0, (int)r->H, g, rr, sv.hs + s * BH,
                           sv.cs ? sv.cs + s * BH : NULL, NULL, sv.cs ? sv.cs + (s + 1) * BH : NULL, valid, dh,
                           sc->dhd, sc->dc};
        lam_k_rnn_step_bwd(&st);
        /* dh before the step: through the recurrent product, plus (GRU) the
         * direct path z dh; rows not valid carry dh unchanged */
        lam_sgemm(false, false, (int)r->B, (int)r->H, (int)r->GW, 1.0f, rr ? rr : g, (int)r->GW, sc->whh[d], (int)r->H,
                  0.0f, dh2, (int)r->H, sc->ws, c->nthreads);
        for (int64_t b = 0; b < r->B; b++) {
            float *o = dh2 + b * r->H;
            if (rr) {
                const float *a = sc->dhd + b * r->H;
                for (int64_t j = 0; j < r->H; j++) o[j] += a[j];
            } else if (!valid[b]) {
                memcpy(o, dh + b * r->H, (size_t)r->H * sizeof(float));
            }
        }
        float *tmp = dh;
        dh = dh2, dh2 = tmp;
    }
    /* gradients of the initial states */
    for (int kk = 0; kk < 2; kk++) {
        bool given = kk ? p->has_c0 : p->has_h0;
        float *dst = given ? c->din[kk ? in_c0(p) : in_h0(p)] : NULL;
        const float *src = kk ? sc->dc : dh;
        if (!dst) continue;
        for (int64_t b = 0; b < r->B; b++) {
            float *o = dst + (b * r->D + d) * r->H;
            for (int64_t j = 0; j < r->H; j++) o[j] += src[b * r->H + j];
        }
    }
    const float *dg = sv.g, *drec = sv.r ? sv.r : sv.g; /* now gradients */
    if (dwih || c->din[0]) load_x(c->in[0], r, d, sc->xd[d]);
    if (dwih) {
        lam_sgemm(true, false, (int)r->GW, (int)r->I, (int)TB, 1.0f, dg, (int)r->GW, sc->xd[d], (int)r->I, 0.0f, sc->dw,
                  (int)r->I, sc->ws, c->nthreads);
        add_unpermuted(dwih, sc->dw, r, r->I);
    }
    if (dwhh) {
        lam_sgemm(true, false, (int)r->GW, (int)r->H, (int)TB, 1.0f, drec, (int)r->GW, sv.hs, (int)r->H, 0.0f, sc->dw,
                  (int)r->H, sc->ws, c->nthreads);
        add_unpermuted(dwhh, sc->dw, r, r->H);
    }
    if (dbih) add_bias_grad(dbih, dg, TB, r, sc->dw);
    if (dbhh) add_bias_grad(dbhh, drec, TB, r, sc->dw);
    if (c->din[0]) {
        lam_sgemm(false, false, (int)TB, (int)r->I, (int)r->GW, 1.0f, dg, (int)r->GW, sc->wih[d], (int)r->I, 0.0f,
                  sc->dxd, (int)r->I, sc->ws, c->nthreads);
        for (int64_t s = 0; s < r->T; s++)
            for (int64_t b = 0; b < r->B; b++) {
                float *o = c->din[0] + (b * r->T + t_of(r, d, s)) * r->I;
                const float *a = sc->dxd + (s * r->B + b) * r->I;
                for (int64_t i = 0; i < r->I; i++) o[i] += a[i];
            }
    }
}

static void rnn_bwd(const lam_op_ctx *c)
{
    rdims r = dims_of(c->node);
    scratch sc;
    scratch_layout(&r, c->scratch, &sc);
    if (!make_valid(c, &r, sc.valid)) return;
    for (int d = 0; d < r.D; d++) back_direction(c, &r, d, &sc);
}

const lam_op_def lam_opdef_rnn = {.name = "rnn", .min_in = 3, .max_in = LAM_MAX_INPUTS, .infer = rnn_infer,
                                  .forward = rnn_fwd, .backward = rnn_bwd, .flops = rnn_flops,
                                  .int_inputs = rnn_int_inputs};
