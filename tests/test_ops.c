/* The op-table test: every op in ops.def has an entry here (the test fails for
 * one that does not).  Each entry builds the op on random inputs held in
 * parameters, checks forward against a double-precision reference, and checks
 * backward against central finite differences of that double reference
 * (loss = mean((y - t)^2) for non-scalar ops, the op itself for losses). */
#include "graph/graph_internal.h"
#include "lamina/graph.h"
#include "test.h"

#define MAXIN 12
typedef struct entry {
    lam_op op;
    int n_in;                 /* float inputs (parameters) */
    lam_shape in_shape[MAXIN];
    bool labels;              /* a labels input follows the float inputs */
    int nclass;
    float away_from_zero;     /* keep |x| above this (kinks) */
    unsigned positive;        /* bit k: input k drawn from [0.5, 1.5] (variances) */
    unsigned nograd;          /* bit k: input k frozen, its gradient not checked */
    bool eval_mode;           /* run forward in inference mode */
    lam_node *(*build)(lam_graph *g, lam_node **in, lam_node *labels);
    /* reference forward in double: out has numel(op output) entries */
    void (*ref)(double **in, const lam_shape *s, const int32_t *lab, double *out);
    double tol;               /* forward: |y - ref| <= tol (1 + |ref|); 0 means 1e-5 */
} entry;

/* An entry with int32 sequence lengths [n] (attention, sequence pooling):
 * with n > 0 a lengths input holding v follows the float inputs and is
 * handed to build and ref in the place of the labels. */
typedef struct len_entry {
    entry e;
    int n;
    int32_t v[8];
} len_entry;

/* ---- references ---------------------------------------------------------- */
static int64_t nel(const lam_shape *s) { return lam_shape_numel(s); }

static void ref_matmul_nt(double **in, const lam_shape *s, const int32_t *l, double *o)
{   /* a [M,K] x b [N,K]^T */
    int64_t M = s[0].d[0], K = s[0].d[1], N = s[1].d[0];
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++) {
            double a = 0;
            for (int64_t k = 0; k < K; k++) a += in[0][i * K + k] * in[1][j * K + k];
            o[i * N + j] = a;
        }
}
static void ref_matmul_tn(double **in, const lam_shape *s, const int32_t *l, double *o)
{   /* a [K,M]^T x b [K,N] */
    int64_t K = s[0].d[0], M = s[0].d[1], N = s[1].d[1];
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++) {
            double a = 0;
            for (int64_t k = 0; k < K; k++) a += in[0][k * M + i] * in[1][k * N + j];
            o[i * N + j] = a;
        }
}
static double gelu_d(double x) { return 0.5 * x * (1 + erf(x / sqrt(2.0))); }
static double act_d(lam_act a, double x)
{
    switch (a) {
    case LAM_ACT_RELU: return x > 0 ? x : 0;
    case LAM_ACT_SIGMOID: return 1 / (1 + exp(-x));
    case LAM_ACT_TANH: return tanh(x);
    case LAM_ACT_GELU: return gelu_d(x);
    case LAM_ACT_GELU_TANH: return 0.5 * x * (1 + tanh(sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
    case LAM_ACT_SILU: return x / (1 + exp(-x));
    default: return x;
    }
}
static void ref_dense(double **in, const lam_shape *s, lam_act act, double *o)
{
    int64_t B = s[0].d[0], I = s[0].d[1], O = s[1].d[0];
    for (int64_t b = 0; b < B; b++)
        for (int64_t j = 0; j < O; j++) {
            double a = in[2][j];
            for (int64_t k = 0; k < I; k++) a += in[0][b * I + k] * in[1][j * I + k];
            o[b * O + j] = act_d(act, a);
        }
}
static void ref_dense_gelu(double **in, const lam_shape *s, const int32_t *l, double *o) { ref_dense(in, s, LAM_ACT_GELU, o); }
static void ref_dense_relu(double **in, const lam_shape *s, const int32_t *l, double *o) { ref_dense(in, s, LAM_ACT_RELU, o); }
static void ref_dense_tanh(double **in, const lam_shape *s, const int32_t *l, double *o) { ref_dense(in, s, LAM_ACT_TANH, o); }
static void ref_dense_sig(double **in, const lam_shape *s, const int32_t *l, double *o) { ref_dense(in, s, LAM_ACT_SIGMOID, o); }
static void ref_dense_silu(double **in, const lam_shape *s, const int32_t *l, double *o) { ref_dense(in, s, LAM_ACT_SILU, o); }
static void ref_add(double **in, const lam_shape *s, const int32_t *l, double *o)
{
    for (int64_t i = 0; i < nel(&s[0]); i++) o[i] = in[0][i] + in[1][i];
}
static void ref_mul(double **in, const lam_shape *s, const int32_t *l, double *o)
{
    for (int64_t i = 0; i < nel(&s[0]); i++) o[i] = in[0][i] * in[1][i];
}
static void ref_bias(double **in, const lam_shape *s, const int32_t *l, double *o)
{
    int64_t C = s[1].d[0];
    for (int64_t i = 0; i < nel(&s[0]); i++) o[i] = in[0][i] + in[1][i % C];
}
#define REF_ACT(NAME, A) \
    static void NAME(double **in, const lam_shape *s, const int32_t *l, double *o) \
    { for (int64_t i = 0; i < nel(&s[0]); i++) o[i] = act_d(A, in[0][i]); }
REF_ACT(ref_relu, LAM_ACT_RELU)
REF_ACT(ref_sigmoid, LAM_ACT_SIGMOID)
REF_ACT(ref_tanh, LAM_ACT_TANH)
REF_ACT(ref_gelu, LAM_ACT_GELU)
REF_ACT(ref_gelu_tanh, LAM_ACT_GELU_TANH)
REF_ACT(ref_silu, LAM_ACT_SILU)
static void ref_softmax(double **in, const lam_shape *s, const int32_t *l, double *o)
{
    int64_t C = s[0].d[s[0].ndim - 1], R = nel(&s[0]) / C;
    for (int64_t r = 0; r < R; r++) {
        double m = -1e300, z = 0;
        for (int64_t j = 0; j < C; j++) m = fmax(m, in[0][r * C + j]);
        for (int64_t j = 0; j < C; j++) z += exp(in[0][r * C + j] - m);
        for (int64_t j = 0; j < C; j++) o[r * C + j] = exp(in[0][r * C + j] - m) / z;
    }
}
static void ref_mse(double **in, const lam_shape *s, const int32_t *l, double *o)
{
    double a = 0;
    for (int64_t i = 0; i < nel(&s[0]); i++) a += (in[0][i] - in[1][i]) * (in[0][i] - in[1][i]);
    o[0] = a / (double)nel(&s[0]);
}
static void ref_ce(double **in, const lam_shape *s, const int32_t *l, double *o)
{
    int64_t C = s[0].d[1], B = s[0].d[0];
    double a = 0;
    for (int64_t r = 0; r < B; r++) {
        double m = -1e300, z = 0;
        for (int64_t j = 0; j < C; j++) m = fmax(m, in[0][r * C + j]);
        for (int64_t j = 0; j < C; j++) z += exp(in[0][r * C + j] - m);
        a += log(z) + m - in[0][r * C + l[r]];
    }
    o[0] = a / (double)B;
}
static void ref_bce(double **in, const lam_shape *s, const int32_t *l, double *o)
{
    double a = 0;
    for (int64_t i = 0; i < nel(&s[0]); i++) {
        double x = in[0][i], t = in[1][i];
        a += -(t * log(1 / (1 + exp(-x))) + (1 - t) * log(1 - 1 / (1 + exp(-x))));
    }
    o[0] = a / (double)nel(&s[0]);
}

/* ---- builders ------------------------------------------------------------ */
static lam_node *b_mm_nt(lam_graph *g, lam_node **i, lam_node *l) { return lam_matmul(g, i[0], i[1], false, true); }
static lam_node *b_mm_tn(lam_graph *g, lam_node **i, lam_node *l) { return lam_matmul(g, i[0], i[1], true, false); }
static lam_node *b_dense_gelu(lam_graph *g, lam_node **i, lam_node *l) { return lam_dense_op(g, i[0], i[1], i[2], LAM_ACT_GELU); }
static lam_node *b_dense_relu(lam_graph *g, lam_node **i, lam_node *l) { return lam_dense_op(g, i[0], i[1], i[2], LAM_ACT_RELU); }
static lam_node *b_dense_tanh(lam_graph *g, lam_node **i, lam_node *l) { return lam_dense_op(g, i[0], i[1], i[2], LAM_ACT_TANH); }
static lam_node *b_dense_sig(lam_graph *g, lam_node **i, lam_node *l) { return lam_dense_op(g, i[0], i[1], i[2], LAM_ACT_SIGMOID); }
static lam_node *b_add(lam_graph *g, lam_node **i, lam_node *l) { return lam_add(g, i[0], i[1]); }
static lam_node *b_mul(lam_graph *g, lam_node **i, lam_node *l) { return lam_mul(g, i[0], i[1]); }
static lam_node *b_bias(lam_graph *g, lam_node **i, lam_node *l) { return lam_bias_add(g, i[0], i[1]); }
static lam_node *b_relu(lam_graph *g, lam_node **i, lam_node *l) { return lam_relu(g, i[0]); }
static lam_node *b_sigmoid(lam_graph *g, lam_node **i, lam_node *l) { return lam_sigmoid(g, i[0]); }
static lam_node *b_tanh(lam_graph *g, lam_node **i, lam_node *l) { return lam_tanh(g, i[0]); }
static lam_node *b_gelu(lam_graph *g, lam_node **i, lam_node *l) { return lam_gelu(g, i[0]); }
static lam_node *b_gelu_tanh(lam_graph *g, lam_node **i, lam_node *l) { return lam_gelu_tanh(g, i[0]); }
static lam_node *b_silu(lam_graph *g, lam_node **i, lam_node *l) { return lam_silu(g, i[0]); }
static lam_node *b_dense_silu(lam_graph *g, lam_node **i, lam_node *l) { return lam_dense_op(g, i[0], i[1], i[2], LAM_ACT_SILU); }
static lam_node *b_swiglu(lam_graph *g, lam_node **i, lam_node *l) { return lam_swiglu(g, i[0]); }
static void ref_swiglu(double **in, const lam_shape *s, const int32_t *l, double *o)
{
    int64_t H = s[0].d[s[0].ndim - 1] / 2, R = nel(&s[0]) / (2 * H);
    for (int64_t r = 0; r < R; r++)
        for (int64_t j = 0; j < H; j++) {
            double a = in[0][r * 2 * H + j], b = in[0][r * 2 * H + H + j];
            o[r * H + j] = a / (1 + exp(-a)) * b;
        }
}
static lam_node *b_softmax(lam_graph *g, lam_node **i, lam_node *l) { return lam_softmax(g, i[0]); }
static lam_node *b_mse(lam_graph *g, lam_node **i, lam_node *l) { return lam_mse_loss(g, i[0], i[1]); }
static lam_node *b_sum(lam_graph *g, lam_node **i, lam_node *l) { return lam_sum(g, i[0]); }
static void ref_sum(double **in, const lam_shape *s, const int32_t *l, double *o)
{
    o[0] = 0;
    for (int64_t i = 0; i < nel(&s[0]); i++) o[0] += in[0][i];
}
static lam_node *b_ce(lam_graph *g, lam_node **i, lam_node *l) { return lam_softmax_ce_loss(g, i[0], l); }
static lam_node *b_bce(lam_graph *g, lam_node **i, lam_node *l) { return lam_bce_logits_loss(g, i[0], i[1]); }


/* ---- convolution, pooling, normalisation, reshape ------------------------- */
typedef struct convcfg {
    int sh, sw, ph, pw, dh, dw;
    lam_act act;
    bool bias;
    lam_conv_algo algo;
} convcfg;
static const convcfg CONV[] = {
    {1, 1, 0, 0, 1, 1, LAM_ACT_NONE, true, LAM_CONV_AUTO},
    {2, 2, 1, 1, 1, 1, LAM_ACT_TANH, true, LAM_CONV_AUTO},
    {1, 2, 2, 1, 2, 1, LAM_ACT_GELU, false, LAM_CONV_AUTO},
    /* Winograd: partial edge tiles, both tile sizes, asymmetric padding,
     * and AUTO choosing it (8 channels in and out) */
    {1, 1, 1, 1, 1, 1, LAM_ACT_RELU, true, LAM_CONV_WINOGRAD_F4},
    {1, 1, 0, 0, 1, 1, LAM_ACT_GELU, true, LAM_CONV_WINOGRAD_F2},
    {1, 1, 2, 0, 1, 1, LAM_ACT_NONE, false, LAM_CONV_WINOGRAD_F4},
    {1, 1, 1, 1, 1, 1, LAM_ACT_TANH, true, LAM_CONV_AUTO},
    /* direct: a remainder filter block, padding, 5x5 (taps in three passes) */
    {1, 1, 1, 0, 1, 1, LAM_ACT_RELU, true, LAM_CONV_DIRECT},
    {1, 1, 2, 2, 1, 1, LAM_ACT_GELU, false, LAM_CONV_DIRECT},
};
static void ref_conv(const convcfg *k, double **in, const lam_shape *s, double *o)
{
    int64_t B = s[0].d[0], C = s[0].d[1], H = s[0].d[2], W = s[0].d[3];
    int64_t OC = s[1].d[0], KH = s[1].d[2], KW = s[1].d[3];
    int64_t OH = (H + 2 * k->ph - k->dh * (KH - 1) - 1) / k->sh + 1, OW = (W + 2 * k->pw - k->dw * (KW - 1) - 1) / k->sw + 1;
    for (int64_t b = 0; b < B; b++)
        for (int64_t oc = 0; oc < OC; oc++)
            for (int64_t oh = 0; oh < OH; oh++)
                for (int64_t ow = 0; ow < OW; ow++) {
                    double a = k->bias ? in[2][oc] : 0.0;
                    for (int64_t c = 0; c < C; c++)
                        for (int64_t i = 0; i < KH; i++)
                            for (int64_t j = 0; j < KW; j++) {
                                int64_t ih = oh * k->sh - k->ph + i * k->dh, iw = ow * k->sw - k->pw + j * k->dw;
                                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                                a += in[0][((b * C + c) * H + ih) * W + iw] * in[1][((oc * C + c) * KH + i) * KW + j];
                            }
                    o[((b * OC + oc) * OH + oh) * OW + ow] = act_d(k->act, a);
                }
}
#define CONV_CASE(I)                                                                              \
    static lam_node *b_conv##I(lam_graph *g, lam_node **in, lam_node *l)                          \
    {                                                                                             \
        const convcfg *k = &CONV[I];                                                              \
        lam_conv2d_args a = {k->sh, k->sw, k->ph, k->pw, k->dh, k->dw, k->act, k->algo};         \
        return lam_conv2d_op(g, in[0], in[1], k->bias ? in[2] : NULL, &a);                        \
    }                                                                                             \
    static void ref_conv##I(double **in, const lam_shape *s, const int32_t *l, double *o) { ref_conv(&CONV[I], in, s, o); }
CONV_CASE(0)
CONV_CASE(1)
CONV_CASE(2)
CONV_CASE(3)
CONV_CASE(4)
CONV_CASE(5)
CONV_CASE(6)
CONV_CASE(7)
CONV_CASE(8)

typedef struct poolcfg {
    int k, s, p;
    bool max;
} poolcfg;
static const poolcfg POOL[] = {{2, 2, 0, true}, {3, 2, 1, true}, {3, 2, 1, false}, {2, 1, 0, false}};
static void ref_pool(const poolcfg *k, double **in, const lam_shape *s, double *o)
{
    int64_t P = s[0].d[0] * s[0].d[1], H = s[0].d[2], W = s[0].d[3];
    int64_t OH = (H + 2 * k->p - k->k) / k->s + 1, OW = (W + 2 * k->p - k->k) / k->s + 1;
    for (int64_t pl = 0; pl < P; pl++)
        for (int64_t oh = 0; oh < OH; oh++)
            for (int64_t ow = 0; ow < OW; ow++) {
                double m = -1e300, sum = 0;
                for (int i = 0; i < k->k; i++)
                    for (int j = 0; j < k->k; j++) {
                        int64_t ih = oh * k->s - k->p + i, iw = ow * k->s - k->p + j;
                        if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                        double v = in[0][(pl * H + ih) * W + iw];
                        m = fmax(m, v);
                        sum += v;
                    }
                o[(pl * OH + oh) * OW + ow] = k->max ? m : sum / (k->k * k->k);
            }
}
#define POOL_CASE(I)                                                                     \
    static lam_node *b_pool##I(lam_graph *g, lam_node **in, lam_node *l)                 \
    {                                                                                    \
        const poolcfg *k = &POOL[I];                                                     \
        lam_pool2d_args a = {k->k, k->k, k->s, k->s, k->p, k->p};                        \
        return k->max ? lam_maxpool2d(g, in[0], &a) : lam_avgpool2d(g, in[0], &a);       \
    }                                                                                    \
    static void ref_pool##I(double **in, const lam_shape *s, const int32_t *l, double *o) { ref_pool(&POOL[I], in, s, o); }
POOL_CASE(0)
POOL_CASE(1)
POOL_CASE(2)
POOL_CASE(3)

static lam_node *b_gap(lam_graph *g, lam_node **in, lam_node *l) { return lam_global_avgpool(g, in[0]); }
static void ref_gap(double **in, const lam_shape *s, const int32_t *l, double *o)
{
    int64_t P = s[0].d[0] * s[0].d[1], HW = s[0].d[2] * s[0].d[3];
    for (int64_t p = 0; p < P; p++) {
        double a = 0;
        for (int64_t i = 0; i < HW; i++) a += in[0][p * HW + i];
        o[p] = a / (double)HW;
    }
}

static lam_node *b_bn(lam_graph *g, lam_node **in, lam_node *l)
{
    return lam_batchnorm_op(g, in[0], in[1], in[2], in[3], in[4], 1e-5f, 0.1f);
}
static void ref_bn(double **in, const lam_shape *s, bool train, double *o)
{
    int64_t B = s[0].d[0], C = s[0].d[1], HW = s[0].ndim == 4 ? s[0].d[2] * s[0].d[3] : 1;
    for (int64_t c = 0; c < C; c++) {
        double mean = 0, var = 0, n = (double)(B * HW);
        for (int64_t b = 0; b < B; b++)
            for (int64_t i = 0; i < HW; i++) mean += in[0][(b * C + c) * HW + i];
        mean /= n;
        for (int64_t b = 0; b < B; b++)
            for (int64_t i = 0; i < HW; i++) var += pow(in[0][(b * C + c) * HW + i] - mean, 2);
        var /= n;
        if (!train) mean = in[3][c], var = in[4][c];
        for (int64_t b = 0; b < B; b++)
            for (int64_t i = 0; i < HW; i++) {
                int64_t k = (b * C + c) * HW + i;
                o[k] = (in[0][k] - mean) / sqrt(var + 1e-5) * in[1][c] + in[2][c];
            }
    }
}
static void ref_bn_train(double **in, const lam_shape *s, const int32_t *l, double *o) { ref_bn(in, s, true, o); }
static void ref_bn_eval(double **in, const lam_shape *s, const int32_t *l, double *o) { ref_bn(in, s, false, o); }

/* embedding: the harness's labels are the ids, one per row of the weight */
static lam_node *b_embedding(lam_graph *g, lam_node **in, lam_node *l) { return lam_embedding_op(g, l, in[0], -1); }
static void ref_embedding(double **in, const lam_shape *s, const int32_t *l, double *o)
{
    int64_t V = s[0].d[0], E = s[0].d[1];
    for (int64_t b = 0; b < V; b++)
        for (int64_t j = 0; j < E; j++) o[b * E + j] = in[0][l[b] * E + j];
}

/* ---- recurrent layers: a double-precision reference of one layer --------- */
typedef struct rnncfg {
    lam_rnn_cell cell;
    bool bidir, last, bias, h0, c0;
} rnncfg;
static const rnncfg RNN[] = {
    {LAM_RNN_LSTM, false, false, true, false, false}, {LAM_RNN_LSTM, true, false, true, true, true},
    {LAM_RNN_GRU, true, true, true, true, false},     {LAM_RNN_GRU, false, false, false, false, false},
    {LAM_RNN_TANH, true, false, true, true, false},   {LAM_RNN_RELU, false, true, true, false, false},
    {LAM_RNN_LSTM, false, true, false, false, true},
};
static double sig_d(double x) { return 1 / (1 + exp(-x)); }
static void ref_rnn(const rnncfg *k, double **in, const lam_shape *s, const int32_t *len, double *o)
{
    int64_t B = s[0].d[0], T = s[0].d[1], I = s[0].d[2], G = lam_rnn_cell_gates(k->cell);
    int nw = k->bias ? 4 : 2, D = k->bidir ? 2 : 1;
    int64_t H = s[2].d[1];
    double *h0 = k->h0 ? in[1 + D * nw] : NULL, *c0 = k->c0 ? in[1 + D * nw + k->h0] : NULL;
    for (int d = 0; d < D; d++) {
        double *wih = in[1 + d * nw], *whh = in[2 + d * nw];
        double *bih = k->bias ? in[3 + d * nw] : NULL, *bhh = k->bias ? in[4 + d * nw] : NULL;
        for (int64_t b = 0; b < B; b++) {
            double h[64] = {0}, c[64] = {0}, pre_i[256], pre_h[256];
            for (int64_t j = 0; j < H; j++) {
                if (h0) h[j] = h0[(b * D + d) * H + j];
                if (c0) c[j] = c0[(b * D + d) * H + j];
            }
            for (int64_t st = 0; st < T; st++) {
                int64_t t = d ? T - 1 - st : st;
                if (len && t >= len[b]) { /* past the sample's end: state kept, output zero */
                    if (!k->last)
                        for (int64_t j = 0; j < H; j++) o[(b * T + t) * D * H + d * H + j] = 0;
                    continue;
                }
                for (int64_t r = 0; r < G * H; r++) {
                    double a = bih ? bih[r] : 0, e = bhh ? bhh[r] : 0;
                    for (int64_t i = 0; i < I; i++) a += wih[r * I + i] * in[0][(b * T + t) * I + i];
                    for (int64_t i = 0; i < H; i++) e += whh[r * H + i] * h[i];
                    pre_i[r] = a, pre_h[r] = e;
                }
                for (int64_t j = 0; j < H; j++) {
                    if (k->cell == LAM_RNN_LSTM) {
                        double ig = sig_d(pre_i[j] + pre_h[j]), fg = sig_d(pre_i[H + j] + pre_h[H + j]);
                        double gg = tanh(pre_i[2 * H + j] + pre_h[2 * H + j]), og = sig_d(pre_i[3 * H + j] + pre_h[3 * H + j]);
                        c[j] = fg * c[j] + ig * gg;
                        pre_i[j] = og * tanh(c[j]); /* new h, kept apart until all units are done */
                    } else if (k->cell == LAM_RNN_GRU) {
                        double rg = sig_d(pre_i[j] + pre_h[j]), zg = sig_d(pre_i[H + j] + pre_h[H + j]);
                        double ng = tanh(pre_i[2 * H + j] + rg * pre_h[2 * H + j]);
                        pre_i[j] = (1 - zg) * ng + zg * h[j];
                    } else {
                        double v = pre_i[j] + pre_h[j];
                        pre_i[j] = k->cell == LAM_RNN_TANH ? tanh(v) : (v > 0 ? v : 0);
                    }
                }
                for (int64_t j = 0; j < H; j++) h[j] = pre_i[j];
                if (!k->last)
                    for (int64_t j = 0; j < H; j++) o[(b * T + t) * D * H + d * H + j] = h[j];
            }
            if (k->last)
                for (int64_t j = 0; j < H; j++) o[b * D * H + d * H + j] = h[j];
        }
    }
}
static lam_node *build_rnn(const rnncfg *k, lam_graph *g, lam_node **in, lam_node *lengths)
{
    int nw = k->bias ? 4 : 2, D = k->bidir ? 2 : 1;
    lam_node *wih[2], *whh[2], *bih[2], *bhh[2];
    for (int d = 0; d < D; d++) {
        wih[d] = in[1 + d * nw], whh[d] = in[2 + d * nw];
        if (k->bias) bih[d] = in[3 + d * nw], bhh[d] = in[4 + d * nw];
    }
    lam_rnn_args a = {k->cell, k->bidir, k->last};
    return lam_rnn_op(g, in[0], wih, whh, k->bias ? bih : NULL, k->bias ? bhh : NULL, k->h0 ? in[1 + D * nw] : NULL,
                      k->c0 ? in[1 + D * nw + k->h0] : NULL, lengths, &a);
}
#define RNN_CASE(I)                                                                                 \
    static lam_node *b_rnn##I(lam_graph *g, lam_node **in, lam_node *l) { return build_rnn(&RNN[I], g, in, l); } \
    static void ref_rnn##I(double **in, const lam_shape *s, const int32_t *l, double *o) { ref_rnn(&RNN[I], in, s, l, o); }
RNN_CASE(0)
RNN_CASE(1)
RNN_CASE(2)
RNN_CASE(3)
RNN_CASE(4)
RNN_CASE(5)
RNN_CASE(6)

static lam_node *b_reshape(lam_graph *g, lam_node **in, lam_node *l) { return lam_reshape(g, in[0], lam_shape2(4, 3)); }
static void ref_copy(double **in, const lam_shape *s, const int32_t *l, double *o)
{
    for (int64_t i = 0; i < nel(&s[0]); i++) o[i] = in[0][i];
}

/* ---- transformer ops ------------------------------------------------------ */
static void ref_norm(double **in, const lam_shape *s, bool rms, bool bias, double *o)
{
    int64_t C = s[0].d[s[0].ndim - 1], rows = nel(&s[0]) / C;
    for (int64_t r = 0; r < rows; r++) {
        const double *x = in[0] + r * C;
        double m = 0, v = 0;
        if (!rms) {
            for (int64_t j = 0; j < C; j++) m += x[j];
            m /= (double)C;
        }
        for (int64_t j = 0; j < C; j++) v += (x[j] - m) * (x[j] - m);
        v /= (double)C;
        double rs = 1.0 / sqrt(v + 1e-5);
        for (int64_t j = 0; j < C; j++) o[r * C + j] = (x[j] - m) * rs * in[1][j] + (bias ? in[2][j] : 0.0);
    }
}
static lam_node *b_layernorm(lam_graph *g, lam_node **in, lam_node *l) { return lam_layernorm_op(g, in[0], in[1], in[2], 1e-5f); }
static void ref_layernorm(double **in, const lam_shape *s, const int32_t *l, double *o) { ref_norm(in, s, false, true, o); }
static lam_node *b_layernorm_nb(lam_graph *g, lam_node **in, lam_node *l) { return lam_layernorm_op(g, in[0], in[1], NULL, 1e-5f); }
static void ref_layernorm_nb(double **in, const lam_shape *s, const int32_t *l, double *o) { ref_norm(in, s, false, false, o); }
static lam_node *b_rmsnorm(lam_graph *g, lam_node **in, lam_node *l) { return lam_rmsnorm_op(g, in[0], in[1], 1e-5f); }
static void ref_rmsnorm(double **in, const lam_shape *s, const int32_t *l, double *o) { ref_norm(in, s, true, false, o); }

typedef struct mhacfg {
    int nh, nkv, hs;
    bool causal;
} mhacfg;
static const mhacfg MHA[] = {{2, 2, 3, true}, {4, 2, 2, true}, {2, 2, 3, false}, {3, 1, 2, true}};
/* qkv [B, T, (nh + 2 nkv) hs]; len NULL or [B] */
static void ref_mha(const mhacfg *k, double **in, const lam_shape *s, const int32_t *len, double *o)
{
    int64_t B = s[0].d[0], T = s[0].d[1], W = s[0].d[2], C = (int64_t)k->nh * k->hs;
    double scale = (double)(1.0f / sqrtf((float)k->hs)), sc[64];
    for (int64_t b = 0; b < B; b++)
        for (int h = 0; h < k->nh; h++) {
            int g = h / (k->nh / k->nkv);
            int64_t L = len ? len[b] : T;
            for (int64_t i = 0; i < T; i++) {
                const double *q = in[0] + (b * T + i) * W + h * k->hs;
                int64_t n = k->causal ? (i + 1 < L ? i + 1 : L) : L;
                double m = -1e300, z = 0;
                for (int64_t j = 0; j < n; j++) {
                    const double *kj = in[0] + (b * T + j) * W + (k->nh + g) * k->hs;
                    double a = 0;
                    for (int d = 0; d < k->hs; d++) a += q[d] * kj[d];
                    sc[j] = scale * a;
                    m = fmax(m, sc[j]);
                }
                for (int64_t j = 0; j < n; j++) z += exp(sc[j] - m);
                double *orow = o + (b * T + i) * C + h * k->hs;
                for (int d = 0; d < k->hs; d++) orow[d] = 0;
                for (int64_t j = 0; j < n; j++)
                    for (int d = 0; d < k->hs; d++)
                        orow[d] += exp(sc[j] - m) / z * in[0][(b * T + j) * W + (k->nh + k->nkv + g) * k->hs + d];
            }
        }
}
#define MHA_CASE(I)                                                                            \
    static lam_node *b_mha##I(lam_graph *g, lam_node **in, lam_node *l)                        \
    {                                                                                          \
        lam_mha_args a = {MHA[I].nh, MHA[I].nkv, MHA[I].hs, MHA[I].causal, 0.0f, 0.0f};            \
        return lam_mha_op(g, in[0], l, &a);                                                    \
    }                                                                                          \
    static void ref_mha##I(double **in, const lam_shape *s, const int32_t *l, double *o) { ref_mha(&MHA[I], in, s, l, o); }
MHA_CASE(0)
MHA_CASE(1)
MHA_CASE(2)
MHA_CASE(3)

/* rope over qkv [B, T, (nh + 2 nkv) hs]; start positions from the harness's lengths (or 0) */
typedef struct ropecfg {
    int nh, nkv, hs;
    float theta;
} ropecfg;
static const ropecfg ROPE[] = {{2, 1, 4, 10000.0f}, {1, 1, 6, 50.0f}};
static void ref_rope(const ropecfg *k, double **in, const lam_shape *s, const int32_t *start, double *o)
{
    int64_t B = s[0].d[0], T = s[0].d[1], W = s[0].d[2];
    int half = k->hs / 2;
    for (int64_t r = 0; r < B * T; r++) {
        double p = (double)((start ? start[r / T] : 0) + r % T);
        const double *x = in[0] + r * W;
        double *y = o + r * W;
        for (int64_t j = 0; j < W; j++) y[j] = x[j];
        for (int h = 0; h < k->nh + k->nkv; h++)
            for (int i = 0; i < half; i++) {
                double a = p * pow((double)k->theta, -(double)(2 * i) / k->hs), c = cos(a), sn = sin(a);
                double u = x[h * k->hs + i], v = x[h * k->hs + half + i];
                y[h * k->hs + i] = u * c - v * sn;
                y[h * k->hs + half + i] = v * c + u * sn;
            }
    }
}
#define ROPE_CASE(I)                                                                           \
    static lam_node *b_rope##I(lam_graph *g, lam_node **in, lam_node *l)                       \
    {                                                                                          \
        lam_rope_args a = {ROPE[I].nh, ROPE[I].nkv, ROPE[I].hs, ROPE[I].theta};                \
        return lam_rope_op(g, in[0], l, &a);                                                   \
    }                                                                                          \
    static void ref_rope##I(double **in, const lam_shape *s, const int32_t *l, double *o) { ref_rope(&ROPE[I], in, s, l, o); }
ROPE_CASE(0)
ROPE_CASE(1)

static lam_node *b_pos_embed(lam_graph *g, lam_node **in, lam_node *l) { return lam_pos_embed_op(g, in[0], in[1]); }
static void ref_pos_embed(double **in, const lam_shape *s, const int32_t *l, double *o)
{
    int64_t B = s[0].d[0], T = s[0].d[1], C = s[0].d[2];
    for (int64_t i = 0; i < B * T * C; i++) o[i] = in[0][i] + in[1][(i / C % T) * C + i % C];
}

/* ---- attention and sequence pooling (lengths from the harness) ------------ */
typedef struct attncfg {
    lam_attn_score score;
    bool scaled; /* scale 1/sqrt(D) */
} attncfg;
static const attncfg ATTN[] = {{LAM_ATTN_DOT, false}, {LAM_ATTN_DOT, true}, {LAM_ATTN_GENERAL, false},
                               {LAM_ATTN_ADDITIVE, false}, {LAM_ATTN_GENERAL, true}};
/* in: q [B, Tq, Dq] or [Tq, Dq], kv [B, Tk, D], the score's weights; len NULL or [B] */
static void ref_attn(const attncfg *k, double **in, const lam_shape *s, const int32_t *len, double *o)
{
    bool qb = s[0].ndim == 3;
    int64_t B = s[1].d[0], Tk = s[1].d[1], D = s[1].d[2], Tq = s[0].d[qb], Dq = s[0].d[qb + 1];
    int64_t A = k->score == LAM_ATTN_ADDITIVE ? s[2].d[0] : 0;
    double scale = k->scaled ? (double)(float)(1.0 / sqrt((double)D)) : 1.0, sc[64];
    for (int64_t b = 0; b < B; b++)
        for (int64_t i = 0; i < Tq; i++) {
            const double *q = in[0] + ((qb ? b * Tq : 0) + i) * Dq;
            int64_t L = len ? len[b] : Tk;
            double m = -1e300, z = 0;
            for (int64_t j = 0; j < L; j++) {
                const double *kj = in[1] + (b * Tk + j) * D;
                double a = 0;
                if (k->score == LAM_ATTN_DOT)
                    for (int64_t e = 0; e < D; e++) a += q[e] * kj[e];
                if (k->score == LAM_ATTN_GENERAL)
                    for (int64_t e = 0; e < Dq; e++)
                        for (int64_t f = 0; f < D; f++) a += q[e] * in[2][e * D + f] * kj[f];
                for (int64_t u = 0; u < A; u++) {
                    double pre = 0;
                    for (int64_t e = 0; e < Dq; e++) pre += in[2][u * Dq + e] * q[e];
                    for (int64_t f = 0; f < D; f++) pre += in[3][u * D + f] * kj[f];
                    a += in[4][u] * tanh(pre);
                }
                sc[j] = scale * a;
                m = fmax(m, sc[j]);
            }
            for (int64_t j = 0; j < L; j++) z += exp(sc[j] - m);
            double *orow = o + (b * Tq + i) * D;
            for (int64_t f = 0; f < D; f++) orow[f] = 0;
            for (int64_t j = 0; j < L; j++)
                for (int64_t f = 0; f < D; f++) orow[f] += exp(sc[j] - m) / z * in[1][(b * Tk + j) * D + f];
        }
}
#define ATTN_CASE(I)                                                                                       \
    static lam_node *b_attn##I(lam_graph *g, lam_node **in, lam_node *l)                                   \
    {                                                                                                      \
        const attncfg *k = &ATTN[I];                                                                       \
        bool gen = k->score == LAM_ATTN_GENERAL, add = k->score == LAM_ATTN_ADDITIVE;                      \
        float scale = k->scaled ? (float)(1.0 / sqrt((double)lam_node_shape(in[1]).d[2])) : 1.0f;          \
        return lam_attention_op(g, in[0], in[1], l, k->score, gen ? in[2] : NULL, add ? in[2] : NULL,      \
                                add ? in[3] : NULL, add ? in[4] : NULL, scale);                            \
    }                                                                                                      \
    static void ref_attn##I(double **in, const lam_shape *s, const int32_t *l, double *o) { ref_attn(&ATTN[I], in, s, l, o); }
ATTN_CASE(0)
ATTN_CASE(1)
ATTN_CASE(2)
ATTN_CASE(3)
ATTN_CASE(4)

static void ref_seq_pool(lam_seq_pool_mode mode, double **in, const lam_shape *s, const int32_t *len, double *o)
{
    int64_t B = s[0].d[0], T = s[0].d[1], C = s[0].d[2];
    for (int64_t b = 0; b < B; b++)
        for (int64_t c = 0; c < C; c++) {
            int64_t L = len ? len[b] : T;
            double a = mode == LAM_SEQ_POOL_MAX ? -1e300 : 0;
            for (int64_t t = 0; t < L; t++) {
                double x = in[0][(b * T + t) * C + c];
                a = mode == LAM_SEQ_POOL_MAX ? fmax(a, x) : a + x;
            }
            if (mode == LAM_SEQ_POOL_MEAN) a /= (double)L;
            if (mode == LAM_SEQ_POOL_LAST) a = in[0][(b * T + L - 1) * C + c];
            if (mode == LAM_SEQ_POOL_FIRST) a = in[0][b * T * C + c];
            o[b * C + c] = a;
        }
}
#define SEQ_POOL_CASE(M)                                                                                  \
    static lam_node *b_sp_##M(lam_graph *g, lam_node **in, lam_node *l) { return lam_seq_pool(g, in[0], l, LAM_SEQ_POOL_##M); } \
    static void ref_sp_##M(double **in, const lam_shape *s, const int32_t *l, double *o) { ref_seq_pool(LAM_SEQ_POOL_##M, in, s, l, o); }
SEQ_POOL_CASE(MEAN)
SEQ_POOL_CASE(MAX)
SEQ_POOL_CASE(SUM)
SEQ_POOL_CASE(LAST)
SEQ_POOL_CASE(FIRST)

#define S2(a, b) {2, {a, b}}
#define S1(a) {1, {a}}
#define S3(a, b, c) {3, {a, b, c}}
#define S4(a, b, c, d) {4, {a, b, c, d}}
static const entry entries[] = {
    {LAM_OP_MATMUL, 2, {S2(5, 7), S2(6, 7)}, false, 0, 0, 0, 0, false, b_mm_nt, ref_matmul_nt, 0},
    {LAM_OP_MATMUL, 2, {S2(7, 5), S2(7, 6)}, false, 0, 0, 0, 0, false, b_mm_tn, ref_matmul_tn, 0},
    {LAM_OP_DENSE, 3, {S2(4, 9), S2(6, 9), S1(6)}, false, 0, 0, 0, 0, false, b_dense_gelu, ref_dense_gelu, 0},
    {LAM_OP_DENSE, 3, {S2(4, 9), S2(6, 9), S1(6)}, false, 0, 0, 0, 0, false, b_dense_tanh, ref_dense_tanh, 0},
    {LAM_OP_DENSE, 3, {S2(4, 9), S2(6, 9), S1(6)}, false, 0, 0, 0, 0, false, b_dense_sig, ref_dense_sig, 0},
    {LAM_OP_DENSE, 3, {S2(3, 4), S2(2, 4), S1(2)}, false, 0, 0.0f, 0, 0, false, b_dense_relu, ref_dense_relu, 0},
    {LAM_OP_ADD, 2, {S3(2, 3, 4), S3(2, 3, 4)}, false, 0, 0, 0, 0, false, b_add, ref_add, 0},
    {LAM_OP_MUL, 2, {S3(2, 3, 4), S3(2, 3, 4)}, false, 0, 0, 0, 0, false, b_mul, ref_mul, 0},
    {LAM_OP_BIAS_ADD, 2, {S3(2, 3, 4), S1(4)}, false, 0, 0, 0, 0, false, b_bias, ref_bias, 0},
    {LAM_OP_RELU, 1, {S2(4, 5)}, false, 0, 0.05f, 0, 0, false, b_relu, ref_relu, 0},
    {LAM_OP_SIGMOID, 1, {S2(4, 5)}, false, 0, 0, 0, 0, false, b_sigmoid, ref_sigmoid, 0},
    {LAM_OP_TANH, 1, {S2(4, 5)}, false, 0, 0, 0, 0, false, b_tanh, ref_tanh, 0},
    {LAM_OP_GELU, 1, {S2(4, 5)}, false, 0, 0, 0, 0, false, b_gelu, ref_gelu, 0},
    {LAM_OP_GELU_TANH, 1, {S2(4, 5)}, false, 0, 0, 0, 0, false, b_gelu_tanh, ref_gelu_tanh, 0},
    {LAM_OP_SILU, 1, {S2(4, 5)}, false, 0, 0, 0, 0, false, b_silu, ref_silu, 0},
    {LAM_OP_DENSE, 3, {S2(4, 9), S2(6, 9), S1(6)}, false, 0, 0, 0, 0, false, b_dense_silu, ref_dense_silu, 0},
    {LAM_OP_SWIGLU, 1, {S3(2, 3, 10)}, false, 0, 0, 0, 0, false, b_swiglu, ref_swiglu, 0},
    {LAM_OP_SOFTMAX, 1, {S2(3, 6)}, false, 0, 0, 0, 0, false, b_softmax, ref_softmax, 0},
    {LAM_OP_MSE_LOSS, 2, {S2(4, 3), S2(4, 3)}, false, 0, 0, 0, 0, false, b_mse, ref_mse, 0},
    {LAM_OP_SUM, 1, {S3(2, 3, 4)}, false, 0, 0, 0, 0, false, b_sum, ref_sum, 0},
    {LAM_OP_SOFTMAX_CE, 1, {S2(5, 4)}, true, 4, 0, 0, 0, false, b_ce, ref_ce, 0},
    {LAM_OP_BCE_LOGITS, 2, {S2(4, 3), S2(4, 3)}, false, 0, 0, 0, 0, false, b_bce, ref_bce, 0},
    {LAM_OP_CONV2D, 3, {S4(2, 3, 7, 6), S4(4, 3, 3, 2), S1(4)}, false, 0, 0, 0, 0, false, b_conv0, ref_conv0, 0},
    {LAM_OP_CONV2D, 3, {S4(2, 3, 7, 6), S4(4, 3, 3, 3), S1(4)}, false, 0, 0, 0, 0, false, b_conv1, ref_conv1, 0},
    {LAM_OP_CONV2D, 2, {S4(1, 2, 8, 7), S4(3, 2, 2, 3)}, false, 0, 0, 0, 0, false, b_conv2, ref_conv2, 0},
    /* a first layer: one channel, C*KH*KW < 16 filters-wide weight gradient path */
    {LAM_OP_CONV2D, 3, {S4(2, 1, 6, 5), S4(17, 1, 3, 3), S1(17)}, false, 0, 0, 0, 0, false, b_conv0, ref_conv0, 0},
    {LAM_OP_CONV2D, 3, {S4(2, 3, 9, 7), S4(4, 3, 3, 3), S1(4)}, false, 0, 0, 0, 0, false, b_conv3, ref_conv3, 5e-5},
    {LAM_OP_CONV2D, 3, {S4(2, 3, 7, 6), S4(5, 3, 3, 3), S1(5)}, false, 0, 0, 0, 0, false, b_conv4, ref_conv4, 0},
    {LAM_OP_CONV2D, 2, {S4(1, 2, 6, 8), S4(3, 2, 3, 3)}, false, 0, 0, 0, 0, false, b_conv5, ref_conv5, 5e-5},
    {LAM_OP_CONV2D, 3, {S4(2, 8, 6, 6), S4(8, 8, 3, 3), S1(8)}, false, 0, 0, 0, 0, false, b_conv6, ref_conv6, 5e-5},
    {LAM_OP_CONV2D, 3, {S4(2, 2, 7, 6), S4(9, 2, 3, 2), S1(9)}, false, 0, 0, 0, 0, false, b_conv7, ref_conv7, 0},
    {LAM_OP_CONV2D, 2, {S4(2, 1, 9, 11), S4(3, 1, 5, 5)}, false, 0, 0, 0, 0, false, b_conv8, ref_conv8, 0},
    /* 2x2 stride 2 with 10 and 5 output columns: the vector kernels' blocks */
    {LAM_OP_MAXPOOL2D, 1, {S4(2, 3, 10, 21)}, false, 0, 0, 0, 0, false, b_pool0, ref_pool0, 0},
    {LAM_OP_MAXPOOL2D, 1, {S4(3, 2, 11, 11)}, false, 0, 0, 0, 0, false, b_pool0, ref_pool0, 0},
    {LAM_OP_MAXPOOL2D, 1, {S4(2, 3, 6, 5)}, false, 0, 0, 0, 0, false, b_pool0, ref_pool0, 0},
    {LAM_OP_MAXPOOL2D, 1, {S4(2, 2, 7, 6)}, false, 0, 0, 0, 0, false, b_pool1, ref_pool1, 0},
    {LAM_OP_AVGPOOL2D, 1, {S4(2, 2, 7, 6)}, false, 0, 0, 0, 0, false, b_pool2, ref_pool2, 0},
    {LAM_OP_AVGPOOL2D, 1, {S4(1, 2, 4, 5)}, false, 0, 0, 0, 0, false, b_pool3, ref_pool3, 0},
    {LAM_OP_GLOBAL_AVGPOOL, 1, {S4(2, 3, 4, 5)}, false, 0, 0, 0, 0, false, b_gap, ref_gap, 0},
    {LAM_OP_BATCHNORM, 5, {S4(4, 3, 2, 3), S1(3), S1(3), S1(3), S1(3)}, false, 0, 0, 1u << 4, 3u << 3, false, b_bn, ref_bn_train, 0},
    {LAM_OP_BATCHNORM, 5, {S2(6, 4), S1(4), S1(4), S1(4), S1(4)}, false, 0, 0, 1u << 4, 3u << 3, false, b_bn, ref_bn_train, 0},
    {LAM_OP_BATCHNORM, 5, {S4(3, 2, 2, 2), S1(2), S1(2), S1(2), S1(2)}, false, 0, 0, 1u << 4, 3u << 3, true, b_bn, ref_bn_eval, 0},
    {LAM_OP_RESHAPE, 1, {S3(2, 3, 4)}, false, 0, 0, 0, 0, false, b_reshape, ref_copy, 0},
    /* recurrent layers (B, T, I) = (2, 3, 3), H = 2 or 3: x, then per direction
     * w_ih, w_hh (b_ih, b_hh), then h0 (c0) [B, D, H] */
    {LAM_OP_RNN, 5, {S3(2, 3, 3), S2(8, 3), S2(8, 2), S1(8), S1(8)}, false, 0, 0, 0, 0, false, b_rnn0, ref_rnn0, 0},
    {LAM_OP_RNN, 11, {S3(2, 3, 3), S2(8, 3), S2(8, 2), S1(8), S1(8), S2(8, 3), S2(8, 2), S1(8), S1(8), S3(2, 2, 2), S3(2, 2, 2)},
     false, 0, 0, 0, 0, false, b_rnn1, ref_rnn1, 0},
    {LAM_OP_RNN, 10, {S3(2, 3, 3), S2(9, 3), S2(9, 3), S1(9), S1(9), S2(9, 3), S2(9, 3), S1(9), S1(9), S3(2, 2, 3)},
     false, 0, 0, 0, 0, false, b_rnn2, ref_rnn2, 0},
    {LAM_OP_RNN, 3, {S3(2, 3, 3), S2(6, 3), S2(6, 2)}, false, 0, 0, 0, 0, false, b_rnn3, ref_rnn3, 0},
    {LAM_OP_RNN, 10, {S3(2, 3, 3), S2(3, 3), S2(3, 3), S1(3), S1(3), S2(3, 3), S2(3, 3), S1(3), S1(3), S3(2, 2, 3)},
     false, 0, 0, 0, 0, false, b_rnn4, ref_rnn4, 0},
    {LAM_OP_RNN, 5, {S3(2, 3, 3), S2(3, 3), S2(3, 3), S1(3), S1(3)}, false, 0, 0, 0, 0, false, b_rnn5, ref_rnn5, 0},
    {LAM_OP_RNN, 4, {S3(2, 3, 3), S2(8, 3), S2(8, 2), S3(2, 1, 2)}, false, 0, 0, 0, 0, false, b_rnn6, ref_rnn6, 0},
    /* 7 ids drawn from the first 5 rows: repeats accumulate, 2 rows unused */
    {LAM_OP_EMBEDDING, 1, {S2(7, 3)}, true, 5, 0, 0, 0, false, b_embedding, ref_embedding, 0},
    /* normalisation over the last dimension of [B, T, C] and [B, C] */
    {LAM_OP_LAYERNORM, 3, {S3(2, 3, 5), S1(5), S1(5)}, false, 0, 0, 0, 0, false, b_layernorm, ref_layernorm, 0},
    {LAM_OP_LAYERNORM, 2, {S2(4, 7), S1(7)}, false, 0, 0, 0, 0, false, b_layernorm_nb, ref_layernorm_nb, 0},
    {LAM_OP_RMSNORM, 2, {S3(2, 3, 5), S1(5)}, false, 0, 0, 0, 0, false, b_rmsnorm, ref_rmsnorm, 0},
    /* fused attention: causal over T = 5 and over two query tiles (T = 11),
     * grouped-query (4 heads over 2, 3 over 1), bidirectional */
    {LAM_OP_MHA, 1, {S3(2, 5, 18)}, false, 0, 0, 0, 0, false, b_mha0, ref_mha0, 0},
    {LAM_OP_MHA, 1, {S3(2, 11, 18)}, false, 0, 0, 0, 0, false, b_mha0, ref_mha0, 0},
    {LAM_OP_MHA, 1, {S3(2, 9, 16)}, false, 0, 0, 0, 0, false, b_mha1, ref_mha1, 0},
    {LAM_OP_MHA, 1, {S3(2, 6, 18)}, false, 0, 0, 0, 0, false, b_mha2, ref_mha2, 0},
    {LAM_OP_MHA, 1, {S3(1, 10, 10)}, false, 0, 0, 0, 0, false, b_mha3, ref_mha3, 0},
    {LAM_OP_POS_EMBED, 2, {S3(2, 3, 4), S2(5, 4)}, false, 0, 0, 0, 0, false, b_pos_embed, ref_pos_embed, 0},
    /* rope: 2 query heads over 1 kv head (value columns pass through), and theta 50 */
    {LAM_OP_ROPE, 1, {S3(2, 5, 16)}, false, 0, 0, 0, 0, false, b_rope0, ref_rope0, 0},
    {LAM_OP_ROPE, 1, {S3(1, 7, 18)}, false, 0, 0, 0, 0, false, b_rope1, ref_rope1, 0},
};
#define NENTRIES ((int)(sizeof entries / sizeof entries[0]))

static const len_entry len_entries[] = {
    /* attention: B = 3, Tq = 2, Tk = 4; lengths include Tk and 1.  Dot, scaled
     * dot, general (Dq = 5 != D = 3), additive (A = 4), each with a batched
     * query and a shared one ([Tq, Dq]; a pooling query when Tq = 1) */
    {{LAM_OP_ATTENTION, 2, {S3(3, 2, 3), S3(3, 4, 3)}, false, 0, 0, 0, 0, false, b_attn0, ref_attn0, 0}, 0, {0}},
    {{LAM_OP_ATTENTION, 2, {S3(3, 2, 3), S3(3, 4, 3)}, false, 0, 0, 0, 0, false, b_attn0, ref_attn0, 0}, 3, {2, 4, 1}},
    {{LAM_OP_ATTENTION, 2, {S2(2, 3), S3(3, 4, 3)}, false, 0, 0, 0, 0, false, b_attn1, ref_attn1, 0}, 3, {4, 2, 1}},
    {{LAM_OP_ATTENTION, 2, {S3(3, 3, 4), S3(3, 5, 4)}, false, 0, 0, 0, 0, false, b_attn1, ref_attn1, 0}, 0, {0}},
    {{LAM_OP_ATTENTION, 3, {S3(3, 2, 5), S3(3, 4, 3), S2(5, 3)}, false, 0, 0, 0, 0, false, b_attn2, ref_attn2, 0}, 3, {3, 1, 4}},
    {{LAM_OP_ATTENTION, 3, {S2(2, 5), S3(3, 4, 3), S2(5, 3)}, false, 0, 0, 0, 0, false, b_attn2, ref_attn2, 0}, 0, {0}},
    {{LAM_OP_ATTENTION, 3, {S2(2, 5), S3(3, 4, 3), S2(5, 3)}, false, 0, 0, 0, 0, false, b_attn4, ref_attn4, 0}, 3, {1, 4, 2}},
    {{LAM_OP_ATTENTION, 5, {S3(3, 2, 5), S3(3, 4, 3), S2(4, 5), S2(4, 3), S1(4)}, false, 0, 0, 0, 0, false, b_attn3, ref_attn3, 0}, 3, {4, 1, 3}},
    {{LAM_OP_ATTENTION, 5, {S2(1, 5), S3(3, 4, 3), S2(4, 5), S2(4, 3), S1(4)}, false, 0, 0, 0, 0, false, b_attn3, ref_attn3, 0}, 3, {2, 3, 4}},
    {{LAM_OP_ATTENTION, 5, {S3(2, 3, 2), S3(2, 5, 3), S2(9, 2), S2(9, 3), S1(9)}, false, 0, 0, 0, 0, false, b_attn3, ref_attn3, 0}, 0, {0}},
    /* recurrent layers with per-sample lengths (B = 3, T = 4: 4, 2, 1): every
     * cell, both directions, the last state, initial states */
    {{LAM_OP_RNN, 5, {S3(3, 4, 2), S2(8, 2), S2(8, 2), S1(8), S1(8)}, false, 0, 0, 0, 0, false, b_rnn0, ref_rnn0, 0}, 3, {4, 2, 1}},
    {{LAM_OP_RNN, 11, {S3(3, 4, 2), S2(8, 2), S2(8, 2), S1(8), S1(8), S2(8, 2), S2(8, 2), S1(8), S1(8), S3(3, 2, 2), S3(3, 2, 2)},
      false, 0, 0, 0, 0, false, b_rnn1, ref_rnn1, 0}, 3, {2, 4, 1}},
    {{LAM_OP_RNN, 10, {S3(3, 4, 2), S2(6, 2), S2(6, 2), S1(6), S1(6), S2(6, 2), S2(6, 2), S1(6), S1(6), S3(3, 2, 2)},
      false, 0, 0, 0, 0, false, b_rnn2, ref_rnn2, 0}, 3, {1, 3, 4}},
    {{LAM_OP_RNN, 10, {S3(3, 4, 2), S2(3, 2), S2(3, 3), S1(3), S1(3), S2(3, 2), S2(3, 3), S1(3), S1(3), S3(3, 2, 3)},
      false, 0, 0, 0, 0, false, b_rnn4, ref_rnn4, 0}, 3, {4, 1, 2}},
    {{LAM_OP_RNN, 4, {S3(3, 4, 2), S2(8, 2), S2(8, 2), S3(3, 1, 2)}, false, 0, 0, 0, 0, false, b_rnn6, ref_rnn6, 0}, 3, {3, 4, 2}},
    /* fused attention with padded keys: bidirectional and causal, T = 9 (two tiles) */
    {{LAM_OP_MHA, 1, {S3(3, 9, 18)}, false, 0, 0, 0, 0, false, b_mha2, ref_mha2, 0}, 3, {9, 4, 1}},
    {{LAM_OP_MHA, 1, {S3(3, 9, 16)}, false, 0, 0, 0, 0, false, b_mha1, ref_mha1, 0}, 3, {2, 9, 5}},
    /* rope from start positions (a decoding step later in the sequence) */
    {{LAM_OP_ROPE, 1, {S3(2, 3, 16)}, false, 0, 0, 0, 0, false, b_rope0, ref_rope0, 0}, 2, {5, 0}},
    /* sequence pooling, every mode with lengths (T, a middle one, 1), three without */
    {{LAM_OP_SEQ_POOL, 1, {S3(3, 5, 4)}, false, 0, 0, 0, 0, false, b_sp_MEAN, ref_sp_MEAN, 0}, 3, {5, 2, 1}},
    {{LAM_OP_SEQ_POOL, 1, {S3(3, 5, 4)}, false, 0, 0, 0, 0, false, b_sp_MAX, ref_sp_MAX, 0}, 3, {5, 2, 1}},
    {{LAM_OP_SEQ_POOL, 1, {S3(3, 5, 4)}, false, 0, 0, 0, 0, false, b_sp_SUM, ref_sp_SUM, 0}, 3, {5, 2, 1}},
    {{LAM_OP_SEQ_POOL, 1, {S3(3, 5, 4)}, false, 0, 0, 0, 0, false, b_sp_LAST, ref_sp_LAST, 0}, 3, {5, 2, 1}},
    {{LAM_OP_SEQ_POOL, 1, {S3(3, 5, 4)}, false, 0, 0, 0, 0, false, b_sp_FIRST, ref_sp_FIRST, 0}, 3, {5, 2, 1}},
    {{LAM_OP_SEQ_POOL, 1, {S3(2, 4, 3)}, false, 0, 0, 0, 0, false, b_sp_MEAN, ref_sp_MEAN, 0}, 0, {0}},
    {{LAM_OP_SEQ_POOL, 1, {S3(2, 4, 3)}, false, 0, 0, 0, 0, false, b_sp_MAX, ref_sp_MAX, 0}, 0, {0}},
    {{LAM_OP_SEQ_POOL, 1, {S3(2, 4, 3)}, false, 0, 0, 0, 0, false, b_sp_LAST, ref_sp_LAST, 0}, 0, {0}},
};
#define NLEN_ENTRIES ((int)(sizeof len_entries / sizeof len_entries[0]))

/* loss as the test defines it, in double */
static double ref_loss(const entry *e, double **in, const int32_t *lab, const double *t, int64_t nout, bool scalar)
{
    static double out[4096];
    e->ref(in, e->in_shape, lab, out);
    if (scalar) return out[0];
    double a = 0;
    for (int64_t i = 0; i < nout; i++) a += (out[i] - t[i]) * (out[i] - t[i]);
    return a / (double)nout;
}

/* idx: the entry's place in its table, for messages; len / n_len: the
 * lengths of a len_entry (n_len = 0: none) */
static int check_entry(const entry *e, int idx, const int32_t *len, int n_len, uint64_t seed)
{
    int fails_before = t_failed_checks_;
    lam_graph *g = lam_graph_new(seed);
    lam_node *in[MAXIN] = {0}, *lab = NULL;
    char nm[16];
    for (int k = 0; k < e->n_in; k++) {
        snprintf(nm, sizeof nm, "x%d", k);
        in[k] = lam_param(g, nm, e->in_shape[k], (lam_init){LAM_INIT_ZEROS, 0, 0});
    }
    if (e->labels) {
        /* the labels' batch must match the logits, which are a parameter here */
        g->cur_batch = (int)e->in_shape[0].d[0];
        lab = lam_input_labels(g, "labels");
    } else if (n_len) {
        g->cur_batch = n_len;
        lab = lam_input_ids(g, "lengths", (lam_shape){0, {0}});
    }
    lam_node *y = e->build(g, in, lab);
    CHECK_MSG(y != NULL, "%s: %s", lam_op_name(e->op), lam_graph_error(g));
    if (!y) {
        lam_graph_free(g);
        return 1;
    }
    CHECK(y->op == e->op);
    bool scalar = y->shape.ndim == 0;
    lam_node *loss = y, *tgt = NULL;
    if (!scalar) {
        tgt = lam_param(g, "target", y->shape, (lam_init){LAM_INIT_ZEROS, 0, 0});
        loss = lam_mse_loss(g, y, tgt);
        lam_graph_mark_output(g, y);
    }
    lam_compile_opts co = lam_compile_opts_defaults();
    co.max_batch = e->labels ? (int)e->in_shape[0].d[0] : n_len ? n_len : 1;
    CHECK_OK(lam_graph_compile(g, &co));
    if (tgt) lam_graph_set_trainable(g, "target", false);
    for (int k = 0; k < e->n_in; k++)
        if (e->nograd >> k & 1) {
            snprintf(nm, sizeof nm, "x%d", k);
            lam_graph_set_trainable(g, nm, false);
        }
    lam_rng r;
    lam_rng_seed(&r, seed);
    double *din[MAXIN];
    for (int k = 0; k < e->n_in; k++) {
        float *v = lam_node_data(in[k]);
        int64_t n = nel(&e->in_shape[k]);
        din[k] = malloc(sizeof(double) * (size_t)n);
        for (int64_t i = 0; i < n; i++) {
            float x = lam_rng_uniform(&r) * 2.0f - 1.0f;
            if (e->op == LAM_OP_BCE_LOGITS && k == 1) x = lam_rng_uniform(&r);       /* targets in [0,1] */
            if (e->away_from_zero > 0 && fabsf(x) < e->away_from_zero) x = x < 0 ? -0.5f : 0.5f;
            if (e->positive >> k & 1) x = 0.5f + lam_rng_uniform(&r);
            v[i] = x;
            din[k][i] = x;
        }
    }
    int32_t labels[64] = {0};
    const int32_t *ints = e->labels || n_len ? labels : NULL; /* what ref sees */
    if (lab && e->labels)
        for (int64_t i = 0; i < e->in_shape[0].d[0]; i++) lam_node_labels(lab)[i] = labels[i] = (int32_t)lam_rng_below(&r, (uint32_t)e->nclass);
    for (int i = 0; lab && i < n_len; i++) lam_node_ids(lab)[i] = labels[i] = len[i];
    int64_t nout = lam_node_numel(y);
    double *t = calloc((size_t)nout, sizeof(double));
    if (tgt)
        for (int64_t i = 0; i < nout; i++) t[i] = lam_node_data(tgt)[i] = lam_rng_uniform(&r);

    CHECK_OK(lam_graph_forward(g, co.max_batch, !e->eval_mode));
    lam_graph_zero_grad(g);
    CHECK_OK(lam_graph_backward(g, loss));

    /* forward against the double reference */
    double ref[4096];
    e->ref(din, e->in_shape, ints, ref);
    double tol = e->tol > 0 ? e->tol : 1e-5; /* Winograd F(4x4) rounds more (see winograd.h) */
    for (int64_t i = 0; i < nout; i++)
        CHECK_MSG(fabs(lam_node_data(y)[i] - ref[i]) <= tol + tol * fabs(ref[i]), "%s (entry %d) forward[%lld] = %.8g, reference %.8g",
                  lam_op_name(e->op), idx, (long long)i, lam_node_data(y)[i], ref[i]);
    /* backward against central differences of the double reference */
    for (int k = 0; k < e->n_in; k++) {
        if (e->nograd >> k & 1) continue;
        const float *gk = lam_node_grad(in[k]);
        for (int64_t i = 0; i < nel(&e->in_shape[k]); i++) {
            double save = din[k][i], h = 1e-6;
            din[k][i] = save + h;
            double lp = ref_loss(e, din, ints, t, nout, scalar);
            din[k][i] = save - h;
            double lm = ref_loss(e, din, ints, t, nout, scalar);
            din[k][i] = save;
            double num = (lp - lm) / (2 * h);
            CHECK_MSG(fabs(gk[i] - num) <= 2e-5 + 2e-3 * fabs(num), "%s d input %d [%lld] = %.8g, numeric %.8g",
                      lam_op_name(e->op), k, (long long)i, gk[i], num);
        }
    }
    for (int k = 0; k < e->n_in; k++) free(din[k]);
    free(t);
    lam_graph_free(g);
    return t_failed_checks_ - fails_before;
}

static void test_every_op_has_an_entry(void)
{
    for (int op = 0; op < LAM_OP_COUNT_; op++) {
        /* dropout: tested below; output (an op's extra outputs): tested with
         * the ops that have them, in test_rnn */
        bool found = op == LAM_OP_INPUT || op == LAM_OP_PARAM || op == LAM_OP_DROPOUT || op == LAM_OP_OUTPUT;
        for (int i = 0; i < NENTRIES; i++) found |= entries[i].op == (lam_op)op;
        for (int i = 0; i < NLEN_ENTRIES; i++) found |= len_entries[i].e.op == (lam_op)op;
        CHECK_MSG(found, "op %s has no entry in tests/test_ops.c", lam_op_name((lam_op)op));
    }
}

static void test_ops_against_reference(void)
{
    for (int i = 0; i < NENTRIES; i++)
        for (uint64_t seed = 1; seed <= 3; seed++) check_entry(&entries[i], i, NULL, 0, seed);
    for (int i = 0; i < NLEN_ENTRIES; i++)
        for (uint64_t seed = 1; seed <= 3; seed++) check_entry(&len_entries[i].e, i, len_entries[i].v, len_entries[i].n, seed);
}

/* Dropout: mask values, scaling, gradient = mask, rate close to p, identity in eval. */
static void test_dropout(void)
{
    lam_graph *g = lam_graph_new(7);
    lam_node *x = lam_param(g, "x", lam_shape2(100, 100), (lam_init){LAM_INIT_ONES, 0, 0});
    lam_node *y = lam_dropout(g, x, 0.3f);
    lam_node *t = lam_param(g, "t", lam_shape2(100, 100), (lam_init){LAM_INIT_ZEROS, 0, 0});
    lam_node *loss = lam_mse_loss(g, y, t);
    lam_graph_mark_output(g, y);
    CHECK_OK(lam_graph_compile(g, NULL));
    CHECK_OK(lam_graph_forward(g, 1, true));
    lam_graph_zero_grad(g);
    CHECK_OK(lam_graph_backward(g, loss));
    int dropped = 0;
    float keep = 1.0f / 0.7f;
    for (int i = 0; i < 10000; i++) {
        float v = lam_node_data(y)[i];
        CHECK(v == 0.0f || v == keep);
        dropped += v == 0.0f;
        /* d/dx mean((x*m)^2) = 2 x m^2 / n */
        CHECK_NEAR(lam_node_grad(x)[i], 2.0 * v * v / 10000.0, 1e-9, 1e-5);
    }
    CHECK(dropped > 2700 && dropped < 3300);
    CHECK_OK(lam_graph_forward(g, 1, false));
    for (int i = 0; i < 10000; i++) CHECK(lam_node_data(y)[i] == 1.0f);
    lam_graph_free(g);
}

/* Spatial dropout: one draw per (sample, channel), shared over H and W. */
static void test_dropout2d(void)
{
    lam_graph *g = lam_graph_new(3);
    lam_node *x = lam_param(g, "x", lam_shape4(8, 50, 3, 4), (lam_init){LAM_INIT_ONES, 0, 0});
    lam_node *y = lam_dropout2d(g, x, 0.5f);
    CHECK_OK(lam_graph_compile(g, NULL));
    CHECK_OK(lam_graph_forward(g, 1, true));
    int dropped = 0;
    for (int pl = 0; pl < 400; pl++) {
        const float *v = lam_node_data(y) + pl * 12;
        for (int i = 1; i < 12; i++) CHECK(v[i] == v[0]);
        CHECK(v[0] == 0.0f || v[0] == 2.0f);
        dropped += v[0] == 0.0f;
    }
    CHECK(dropped > 150 && dropped < 250);
    CHECK(lam_dropout2d(g, lam_param(g, "flat", lam_shape2(2, 3), (lam_init){0}), 0.5f) == NULL);
    lam_graph_free(g);
}

int main(void)
{
    RUN(test_every_op_has_an_entry);
    RUN(test_ops_against_reference);
    RUN(test_dropout);
    RUN(test_dropout2d);
    TEST_MAIN_END;
}
