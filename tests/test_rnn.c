/* Recurrent layers: RNN (tanh, ReLU), LSTM and GRU stacks against PyTorch
 * (tests/golden/rnn.txt, made by tests/golden/make_rnn.py): outputs, final
 * states, and the gradients of the input, the initial states and every
 * parameter, for several layers, both directions, given initial states and
 * unsorted per-sample lengths.  Also: extra outputs (the op's final states),
 * values at padded positions change nothing, the same bits for 1 and 2
 * threads and for any batch split, the AVX and portable cell kernels give
 * the same bits, and bad lengths and shapes are clean errors. */
#include "golden.h"
#include "graph/graph_internal.h"
#include "kernels/isa.h"
#include "kernels/rnn_cell.h"
#include "lamina/lamina.h"
#include "test.h"

#define FIXTURE "tests/golden/rnn.txt"

typedef struct rcase {
    int cell, I, H, L, bidir, B, T, has_len, has_h0, bias;
} rcase;

/* A built case: the graph with x, h0/c0 and the loss's random weights as
 * parameters (so their gradients are there to compare). */
typedef struct built {
    lam_graph *g;
    lam_node *x, *y, *loss, *len;
    lam_node *layer[LAM_RNN_MAX_LAYERS], *h0[LAM_RNN_MAX_LAYERS], *c0[LAM_RNN_MAX_LAYERS];
    lam_node *hn[LAM_RNN_MAX_LAYERS], *cn[LAM_RNN_MAX_LAYERS];
    rcase k;
} built;

static const golden_tensor *get(const golden_file *gf, int n, const char *what)
{
    char name[256];
    snprintf(name, sizeof name, "case%d.%s", n, what);
    return golden_get(gf, name);
}

/* Build case n; with_loss adds sum(y ry) + sum(h_n rh) (+ sum(c_n rc)). */
static bool build_case(const golden_file *gf, int n, int max_batch, built *bt)
{
    memset(bt, 0, sizeof *bt);
    const golden_tensor *cfg = get(gf, n, "config");
    if (!cfg || cfg->n != 10) return false;
    rcase k = {(int)cfg->v[0], (int)cfg->v[1], (int)cfg->v[2], (int)cfg->v[3], (int)cfg->v[4],
               (int)cfg->v[5], (int)cfg->v[6], (int)cfg->v[7], (int)cfg->v[8], (int)cfg->v[9]};
    bt->k = k;
    int D = k.bidir ? 2 : 1;
    lam_graph *g = bt->g = lam_graph_new(1);
    lam_init z = {LAM_INIT_ZEROS, 0, 0};
    bt->x = lam_param(g, "x", lam_shape3(k.B, k.T, k.I), z);
    if (k.has_len) {
        g->cur_batch = k.B; /* the lengths input is batched; x (a parameter) fixes B */
        bt->len = lam_input_ids(g, "lengths", (lam_shape){0, {0}});
    }
    char nm[64];
    for (int l = 0; l < k.L && k.has_h0; l++) {
        snprintf(nm, sizeof nm, "h0_%d", l);
        bt->h0[l] = lam_param(g, nm, lam_shape3(k.B, D, k.H), z);
        if (k.cell == LAM_RNN_LSTM) {
            snprintf(nm, sizeof nm, "c0_%d", l);
            bt->c0[l] = lam_param(g, nm, lam_shape3(k.B, D, k.H), z);
        }
    }
    lam_rnn_opts o = lam_rnn_opts_defaults((lam_rnn_cell)k.cell, k.H);
    o.layers = k.L;
    o.bidirectional = k.bidir;
    o.bias = k.bias;
    bt->y = lam_nn_rnn(g, bt->x, bt->len, "rnn", &o, k.has_h0 ? bt->h0 : NULL,
                       k.has_h0 && k.cell == LAM_RNN_LSTM ? bt->c0 : NULL, bt->layer);
    lam_node *ry = lam_param(g, "ry", lam_shape3(k.B, k.T, D * k.H), z);
    lam_node *loss = lam_sum(g, lam_mul(g, bt->y, ry));
    for (int l = 0; l < k.L; l++) {
        bt->hn[l] = lam_node_output(g, bt->layer[l], 0);
        snprintf(nm, sizeof nm, "rh_%d", l);
        loss = lam_add(g, loss, lam_sum(g, lam_mul(g, bt->hn[l], lam_param(g, nm, lam_shape3(k.B, D, k.H), z))));
        if (k.cell == LAM_RNN_LSTM) {
            bt->cn[l] = lam_node_output(g, bt->layer[l], 1);
            snprintf(nm, sizeof nm, "rc_%d", l);
            loss = lam_add(g, loss, lam_sum(g, lam_mul(g, bt->cn[l], lam_param(g, nm, lam_shape3(k.B, D, k.H), z))));
        }
        lam_graph_mark_output(g, bt->hn[l]);
        if (bt->cn[l]) lam_graph_mark_output(g, bt->cn[l]);
    }
    bt->loss = loss;
    lam_graph_mark_output(g, bt->y);
    lam_compile_opts co = lam_compile_opts_defaults();
    co.max_batch = max_batch;
    lam_status s = lam_graph_compile(g, &co);
    CHECK_MSG(s == LAM_OK, "case %d: %s", n, lam_last_error());
    if (s != LAM_OK) return false;
    const char *frozen[] = {"ry"};
    lam_graph_set_trainable(g, frozen[0], false);
    return true;
}

/* torch's state layout (L*D, B, H) <-> ours per layer [B, D, H] */
static void state_from_torch(const golden_tensor *t, int l, const rcase *k, float *dst)
{
    int D = k->bidir ? 2 : 1;
    for (int d = 0; d < D; d++)
        for (int b = 0; b < k->B; b++)
            for (int j = 0; j < k->H; j++)
                dst[(b * D + d) * k->H + j] = (float)t->v[((l * D + d) * k->B + b) * k->H + j];
}

static void set_param(lam_graph *g, const char *name, const golden_tensor *t)
{
    const lam_param_info *p = lam_graph_param_find(g, name);
    CHECK_MSG(p && t && (long)p->numel == t->n, "parameter %s", name);
    if (p && t && (long)p->numel == t->n) golden_to_f32(t, lam_graph_params(g) + p->offset);
}

/* Load inputs, states, parameters and loss weights of case n into bt. */
static void load_case(const golden_file *gf, int n, built *bt)
{
    const rcase *k = &bt->k;
    lam_graph *g = bt->g;
    int D = k->bidir ? 2 : 1;
    set_param(g, "x", get(gf, n, "x"));
    set_param(g, "ry", get(gf, n, "ry"));
    if (k->has_len) {
        const golden_tensor *t = get(gf, n, "lengths");
        for (int b = 0; b < k->B && t; b++) lam_node_ids(bt->len)[b] = (int32_t)t->v[b];
    }
    char nm[160];
    for (int l = 0; l < k->L; l++) {
        const lam_param_info *p;
        if (k->has_h0) {
            snprintf(nm, sizeof nm, "h0_%d", l);
            p = lam_graph_param_find(g, nm);
            state_from_torch(get(gf, n, "h0"), l, k, lam_graph_params(g) + p->offset);
            if (k->cell == LAM_RNN_LSTM) {
                snprintf(nm, sizeof nm, "c0_%d", l);
                p = lam_graph_param_find(g, nm);
                state_from_torch(get(gf, n, "c0"), l, k, lam_graph_params(g) + p->offset);
            }
        }
        snprintf(nm, sizeof nm, "rh_%d", l);
        p = lam_graph_param_find(g, nm);
        state_from_torch(get(gf, n, "rh"), l, k, lam_graph_params(g) + p->offset);
        if (k->cell == LAM_RNN_LSTM) {
            snprintf(nm, sizeof nm, "rc_%d", l);
            p = lam_graph_param_find(g, nm);
            state_from_torch(get(gf, n, "rc"), l, k, lam_graph_params(g) + p->offset);
        }
        for (int d = 0; d < D; d++)
            for (int w = 0; w < (k->bias ? 4 : 2); w++) {
                static const char *const kinds[] = {"weight_ih", "weight_hh", "bias_ih", "bias_hh"};
                char tn[96];
                snprintf(tn, sizeof tn, "%s_l%d%s", kinds[w], l, d ? "_reverse" : "");
                snprintf(nm, sizeof nm, "rnn.%s", tn);
                set_param(g, nm, get(gf, n, tn));
            }
    }
}

static double worst;
static void near(const char *what, int n, const float *got, const golden_tensor *ref, long count)
{
    CHECK_MSG(ref && ref->n == count, "case %d %s: size %ld vs %ld", n, what, count, ref ? ref->n : -1);
    if (!ref || ref->n != count) return;
    for (long i = 0; i < count; i++) {
        double e = fabs(got[i] - ref->v[i]) / (1e-5 + 1e-4 * fabs(ref->v[i]));
        if (e > worst) worst = e;
        CHECK_MSG(e <= 1.0, "case %d %s[%ld] = %.8g, torch %.8g", n, what, i, got[i], ref->v[i]);
    }
}

static void near_state(const char *what, int n, const built *bt, int l, const float *got, const golden_tensor *ref)
{
    const rcase *k = &bt->k;
    int D = k->bidir ? 2 : 1;
    float *conv = malloc(sizeof(float) * (size_t)(k->B * D * k->H));
    state_from_torch(ref, l, k, conv);
    for (long i = 0; i < (long)k->B * D * k->H; i++) {
        double e = fabs(got[i] - conv[i]) / (1e-5 + 1e-4 * fabs(conv[i]));
        if (e > worst) worst = e;
        CHECK_MSG(e <= 1.0, "case %d %s layer %d [%ld] = %.8g, torch %.8g", n, what, l, i, got[i], conv[i]);
    }
    free(conv);
}

static int count_cases(const golden_file *gf)
{
    int n = 0;
    char name[64];
    for (;;) {
        snprintf(name, sizeof name, "case%d.config", n + 1);
        bool found = false;
        for (int i = 0; i < gf->count && !found; i++) found = !strcmp(gf->t[i].name, name);
        if (!found) return n;
        n++;
    }
}

static void check_case(const golden_file *gf, int n)
{
    built bt;
    const golden_tensor *cfg = get(gf, n, "config");
    if (!cfg || !build_case(gf, n, (int)cfg->v[5], &bt)) {
        CHECK(0);
        lam_graph_free(bt.g);
        return;
    }
    const rcase *k = &bt.k;
    int D = k->bidir ? 2 : 1;
    load_case(gf, n, &bt);
    lam_graph *g = bt.g;
    CHECK_OK(lam_graph_forward(g, k->B, true));
    near("y", n, lam_node_data(bt.y), get(gf, n, "y"), (long)k->B * k->T * D * k->H);
    for (int l = 0; l < k->L; l++) {
        near_state("h_n", n, &bt, l, lam_node_data(bt.hn[l]), get(gf, n, "h_n"));
        if (bt.cn[l]) near_state("c_n", n, &bt, l, lam_node_data(bt.cn[l]), get(gf, n, "c_n"));
    }
    const golden_tensor *lt = get(gf, n, "loss");
    if (lt) CHECK_NEAR(lam_node_data(bt.loss)[0], lt->v[0], 1e-4, 1e-4);
    lam_graph_zero_grad(g);
    CHECK_OK(lam_graph_backward(g, bt.loss));
    const lam_param_info *px = lam_graph_param_find(g, "x");
    near("grad.x", n, lam_graph_grads(g) + px->offset, get(gf, n, "grad.x"), (long)px->numel);
    char nm[160], tn[160];
    for (int l = 0; l < k->L; l++) {
        if (k->has_h0) {
            snprintf(nm, sizeof nm, "h0_%d", l);
            near_state("grad.h0", n, &bt, l, lam_graph_grads(g) + lam_graph_param_find(g, nm)->offset,
                       get(gf, n, "grad.h0"));
            if (k->cell == LAM_RNN_LSTM) {
                snprintf(nm, sizeof nm, "c0_%d", l);
                near_state("grad.c0", n, &bt, l, lam_graph_grads(g) + lam_graph_param_find(g, nm)->offset,
                           get(gf, n, "grad.c0"));
            }
        }
        for (int d = 0; d < D; d++)
            for (int w = 0; w < (k->bias ? 4 : 2); w++) {
                static const char *const kinds[] = {"weight_ih", "weight_hh", "bias_ih", "bias_hh"};
                snprintf(tn, sizeof tn, "grad.%s_l%d%s", kinds[w], l, d ? "_reverse" : "");
                snprintf(nm, sizeof nm, "rnn.%s_l%d%s", kinds[w], l, d ? "_reverse" : "");
                const lam_param_info *p = lam_graph_param_find(g, nm);
                if (p) near(tn, n, lam_graph_grads(g) + p->offset, get(gf, n, tn), (long)p->numel);
            }
    }
    lam_graph_free(g);
}

static void test_golden_against_torch(void)
{
    golden_file gf;
    if (golden_load(FIXTURE, &gf) != 0) {
        CHECK(0);
        return;
    }
    int n = count_cases(&gf);
    CHECK(n >= 8);
    worst = 0;
    for (int i = 1; i <= n; i++) check_case(&gf, i);
    printf("  %d cases; worst error %.3f of the tolerance (1e-5 + 1e-4 |torch|)\n", n, worst);
    golden_free(&gf);
}

/* The same case run with the portable cell kernels gives the same bits. */
static void test_cell_builds_same_bits(void)
{
    golden_file gf;
    if (golden_load(FIXTURE, &gf) != 0) {
        CHECK(0);
        return;
    }
    int n = count_cases(&gf);
    for (int c = 1; c <= n; c++) {
        float *out[2] = {0}, *grad[2] = {0};
        size_t no = 0, ng = 0;
        for (int pass = 0; pass < 2; pass++) {
            lam_k_isa_force_generic(pass == 1);
            built bt;
            const golden_tensor *cfg = get(&gf, c, "config");
            if (!cfg || !build_case(&gf, c, (int)cfg->v[5], &bt)) break;
            load_case(&gf, c, &bt);
            CHECK_OK(lam_graph_forward(bt.g, bt.k.B, true));
            lam_graph_zero_grad(bt.g);
            CHECK_OK(lam_graph_backward(bt.g, bt.loss));
            no = (size_t)lam_node_numel(bt.y);
            ng = lam_graph_param_total(bt.g);
            out[pass] = malloc(no * sizeof(float));
            grad[pass] = malloc(ng * sizeof(float));
            memcpy(out[pass], lam_node_data(bt.y), no * sizeof(float));
            memcpy(grad[pass], lam_graph_grads(bt.g), ng * sizeof(float));
            lam_graph_free(bt.g);
        }
        lam_k_isa_force_generic(false);
        if (out[0] && out[1]) {
            CHECK_MSG(!memcmp(out[0], out[1], no * sizeof(float)), "case %d: outputs differ between builds (%s)", c,
                      lam_k_isa_name());
            CHECK_MSG(!memcmp(grad[0], grad[1], ng * sizeof(float)), "case %d: gradients differ between builds", c);
        }
        for (int p = 0; p < 2; p++) free(out[p]), free(grad[p]);
    }
    golden_free(&gf);
}

/* H = 256 (pre-packed per-step products, units split over threads): the
 * forward pass against a double-precision LSTM, and gradients of a sample
 * of weights against central differences of it. */
static double ref_lstm(int B, int T, int I, int H, const double *x, const double *wih, const double *whh,
                       const double *bih, const double *bhh, const double *ry, double *y)
{
    double L = 0, *h = calloc((size_t)H, 8), *c = calloc((size_t)H, 8), *pre = malloc(8 * 4 * (size_t)H);
    for (int b = 0; b < B; b++) {
        for (int j = 0; j < H; j++) h[j] = c[j] = 0;
        for (int t = 0; t < T; t++) {
            for (int r = 0; r < 4 * H; r++) {
                double a = bih[r] + bhh[r];
                for (int i = 0; i < I; i++) a += wih[r * I + i] * x[(b * T + t) * I + i];
                for (int i = 0; i < H; i++) a += whh[r * H + i] * h[i];
                pre[r] = a;
            }
            for (int j = 0; j < H; j++) {
                double ig = 1 / (1 + exp(-pre[j])), fg = 1 / (1 + exp(-pre[H + j])), gg = tanh(pre[2 * H + j]),
                       og = 1 / (1 + exp(-pre[3 * H + j]));
                c[j] = fg * c[j] + ig * gg;
                h[j] = og * tanh(c[j]);
            }
            for (int j = 0; j < H; j++) {
                if (y) y[(b * T + t) * H + j] = h[j];
                L += h[j] * ry[(b * T + t) * H + j];
            }
        }
    }
    free(h), free(c), free(pre);
    return L;
}

static void test_large_against_reference(void)
{
    int B = 3, T = 5, I = 24, H = 256;
    lam_set_threads(2);
    lam_graph *g = lam_graph_new(3);
    lam_node *x = lam_param(g, "x", lam_shape3(B, T, I), (lam_init){LAM_INIT_UNIFORM, 1.0f, 0});
    lam_rnn_opts o = lam_rnn_opts_defaults(LAM_RNN_LSTM, H);
    lam_node *y = lam_nn_rnn(g, x, NULL, "l", &o, NULL, NULL, NULL);
    lam_node *ry = lam_param(g, "ry", lam_shape3(B, T, H), (lam_init){LAM_INIT_UNIFORM, 1.0f, 0});
    lam_node *loss = lam_sum(g, lam_mul(g, y, ry));
    lam_graph_mark_output(g, y);
    CHECK_OK(lam_graph_compile(g, NULL));
    CHECK_OK(lam_graph_forward(g, 1, true));
    lam_graph_zero_grad(g);
    CHECK_OK(lam_graph_backward(g, loss));
    static const char *const nm[] = {"x", "l.weight_ih_l0", "l.weight_hh_l0", "l.bias_ih_l0", "l.bias_hh_l0", "ry"};
    double *P[6];
    const lam_param_info *pi[6];
    for (int k = 0; k < 6; k++) {
        pi[k] = lam_graph_param_find(g, nm[k]);
        P[k] = malloc(8 * pi[k]->numel);
        for (size_t i = 0; i < pi[k]->numel; i++) P[k][i] = lam_graph_params(g)[pi[k]->offset + i];
    }
    double *yr = malloc(8 * (size_t)(B * T * H));
    double L = ref_lstm(B, T, I, H, P[0], P[1], P[2], P[3], P[4], P[5], yr);
    CHECK_NEAR(lam_node_data(loss)[0], L, 1e-5, 1e-5);
    double worst = 0;
    for (int i = 0; i < B * T * H; i++) worst = fmax(worst, fabs(yr[i] - lam_node_data(y)[i]));
    CHECK_MSG(worst < 1e-6, "forward max error %.3g", worst);
    lam_rng r;
    lam_rng_seed(&r, 5);
    for (int k = 0; k < 5; k++)
        for (int n = 0; n < 12; n++) {
            size_t i = lam_rng_below(&r, (uint32_t)pi[k]->numel);
            double sv = P[k][i], h = 1e-5;
            P[k][i] = sv + h;
            double lp = ref_lstm(B, T, I, H, P[0], P[1], P[2], P[3], P[4], P[5], NULL);
            P[k][i] = sv - h;
            double lm = ref_lstm(B, T, I, H, P[0], P[1], P[2], P[3], P[4], P[5], NULL);
            P[k][i] = sv;
            double num = (lp - lm) / (2 * h), got = lam_graph_grads(g)[pi[k]->offset + i];
            CHECK_MSG(fabs(num - got) <= 1e-4 + 1e-3 * fabs(num), "%s[%zu]: %.6g, numeric %.6g", nm[k], i, got, num);
        }
    for (int k = 0; k < 6; k++) free(P[k]);
    free(yr);
    lam_graph_free(g);
    lam_set_threads(0);
}

/* A model of its own: ids -> embedding -> 2-layer bidirectional LSTM with
 * lengths -> dense, cross-entropy over every position (a tagger). */
typedef struct tagger {
    lam_graph *g;
    lam_node *ids, *len, *labels, *out, *loss, *rnn[2];
} tagger;

/* H: 40 takes the plain per-step products, a multiple of 32 the pre-packed
 * W_hh (with T >= 4) */
static void tagger_build(tagger *m, lam_rnn_cell cell, int B, int T, bool bidir, int H)
{
    m->g = lam_graph_new(5);
    m->ids = lam_input_ids(m->g, "ids", lam_shape1(T));
    m->len = lam_input_ids(m->g, "lengths", (lam_shape){0, {0}});
    m->labels = lam_input_ids(m->g, "labels", lam_shape1(T));
    lam_embedding_opts eo = lam_embedding_opts_defaults(30, 24);
    lam_node *e = lam_nn_embedding(m->g, m->ids, "emb", &eo);
    lam_rnn_opts o = lam_rnn_opts_defaults(cell, H);
    o.layers = 2;
    o.bidirectional = bidir;
    lam_node *h = lam_nn_rnn(m->g, e, m->len, "rnn", &o, NULL, NULL, m->rnn);
    lam_dense_opts d = lam_dense_opts_defaults(7, LAM_ACT_NONE);
    m->out = lam_nn_dense(m->g, h, "out", &d);
    m->loss = lam_softmax_ce_loss(m->g, m->out, m->labels);
    lam_graph_mark_output(m->g, m->out);
    lam_compile_opts co = lam_compile_opts_defaults();
    co.max_batch = B;
    CHECK_OK(lam_graph_compile(m->g, &co));
}

static void tagger_fill(tagger *m, int B, int T, uint64_t seed)
{
    lam_rng r;
    lam_rng_seed(&r, seed);
    for (int b = 0; b < B; b++) {
        lam_node_ids(m->len)[b] = 1 + (int32_t)lam_rng_below(&r, (uint32_t)T);
        for (int t = 0; t < T; t++) {
            lam_node_ids(m->ids)[b * T + t] = (int32_t)lam_rng_below(&r, 30);
            lam_node_ids(m->labels)[b * T + t] = (int32_t)lam_rng_below(&r, 7);
        }
    }
}

/* Forward + backward; returns a copy of the outputs followed by the gradients. */
static float *tagger_run(tagger *m, int B, size_t *n)
{
    CHECK_OK(lam_graph_forward(m->g, B, true));
    lam_graph_zero_grad(m->g);
    CHECK_OK(lam_graph_backward(m->g, m->loss));
    size_t no = (size_t)lam_node_numel(m->out), ng = lam_graph_param_total(m->g);
    float *v = malloc((no + ng) * sizeof(float));
    memcpy(v, lam_node_data(m->out), no * sizeof(float));
    memcpy(v + no, lam_graph_grads(m->g), ng * sizeof(float));
    *n = no + ng;
    return v;
}

/* 1 and 2 threads: the same bits, for every cell, one and two directions,
 * plain and pre-packed per-step products. */
static void test_threads_same_bits(void)
{
    for (int H = 40; H <= 64; H += 24)
    for (int cell = 0; cell < LAM_RNN_CELL_COUNT_; cell++)
        for (int bidir = 0; bidir < 2; bidir++) {
            float *v[2];
            size_t n[2];
            for (int k = 0; k < 2; k++) {
                lam_set_threads(k + 1);
                tagger m;
                tagger_build(&m, (lam_rnn_cell)cell, 16, 12, bidir, H);
                tagger_fill(&m, 16, 12, 3);
                v[k] = tagger_run(&m, 16, &n[k]);
                lam_graph_free(m.g);
            }
            lam_set_threads(0);
            CHECK_MSG(n[0] == n[1] && !memcmp(v[0], v[1], n[0] * sizeof(float)), "%s%s: 1 and 2 threads differ",
                      lam_rnn_cell_name((lam_rnn_cell)cell), bidir ? " bidirectional" : "");
            free(v[0]), free(v[1]);
        }
}

/* Tokens at padded positions change nothing in the recurrent layers'
 * outputs, which are zero there. */
static void test_padding_ignored(void)
{
    for (int cell = 0; cell < LAM_RNN_CELL_COUNT_; cell++) {
        tagger m;
        int B = 6, T = 9;
        tagger_build(&m, (lam_rnn_cell)cell, B, T, true, 40);
        tagger_fill(&m, B, T, 11);
        lam_node *y = m.rnn[1];
        int64_t ny = lam_node_numel(y);
        CHECK_OK(lam_graph_forward(m.g, B, false));
        float *y0 = malloc((size_t)ny * sizeof(float));
        memcpy(y0, lam_node_data(y), (size_t)ny * sizeof(float));
        int32_t *ids = lam_node_ids(m.ids), *len = lam_node_ids(m.len);
        for (int b = 0; b < B; b++)
            for (int t = len[b]; t < T; t++) ids[b * T + t] = (ids[b * T + t] + 7) % 30;
        CHECK_OK(lam_graph_forward(m.g, B, false));
        CHECK_MSG(!memcmp(y0, lam_node_data(y), (size_t)ny * sizeof(float)), "%s: padded tokens changed the output",
                  lam_rnn_cell_name((lam_rnn_cell)cell));
        const float *yv = lam_node_data(y);
        for (int b = 0; b < B; b++)
            for (int t = len[b]; t < T; t++)
                for (int j = 0; j < 80; j++) CHECK(yv[(b * T + t) * 80 + j] == 0.0f);
        free(y0);
        lam_graph_free(m.g);
    }
}

/* The rows of a batch do not depend on each other: a batch of 5 gives the
 * bits of the first 5 rows of a batch of 16 (forward). */
static void test_batch_rows_independent(void)
{
    tagger m;
    tagger_build(&m, LAM_RNN_LSTM, 16, 10, true, 64);
    tagger_fill(&m, 16, 10, 21);
    CHECK_OK(lam_graph_forward(m.g, 16, false));
    size_t per = 10 * 7;
    float *full = malloc(16 * per * sizeof(float));
    memcpy(full, lam_node_data(m.out), 16 * per * sizeof(float));
    CHECK_OK(lam_graph_forward(m.g, 5, false));
    CHECK(!memcmp(full, lam_node_data(m.out), 5 * per * sizeof(float)));
    free(full);
    lam_graph_free(m.g);
}

/* A training step of a recurrent model allocates nothing. */
static void test_no_allocation_in_step(void)
{
    tagger m;
    tagger_build(&m, LAM_RNN_GRU, 8, 6, true, 64);
    tagger_fill(&m, 8, 6, 2);
    CHECK_OK(lam_graph_forward(m.g, 8, true));
    lam_alloc_stats before, after;
    lam_alloc_get_stats(&before);
    for (int i = 0; i < 3; i++) {
        CHECK_OK(lam_graph_forward(m.g, 8, true));
        lam_graph_zero_grad(m.g);
        CHECK_OK(lam_graph_backward(m.g, m.loss));
    }
    lam_alloc_get_stats(&after);
    CHECK(after.n_alloc == before.n_alloc);
    lam_graph_free(m.g);
}

/* Only the final state feeds the loss: the sequence output has no reader,
 * its gradient is zero, and gradients still reach every parameter. */
static void test_final_state_only(void)
{
    lam_graph *g = lam_graph_new(2);
    lam_node *x = lam_param(g, "x", lam_shape3(3, 4, 5), (lam_init){LAM_INIT_UNIFORM, 1.0f, 0});
    lam_rnn_opts o = lam_rnn_opts_defaults(LAM_RNN_LSTM, 6);
    lam_node *layer;
    lam_node *y = lam_nn_rnn(g, x, NULL, "lstm", &o, NULL, NULL, &layer);
    lam_node *cn = lam_node_output(g, layer, 1);
    CHECK(lam_node_output(g, layer, 1) == cn);
    CHECK(lam_node_output(g, layer, 2) == NULL); /* an LSTM has two extra outputs */
    lam_graph *g2 = lam_graph_new(2);
    lam_node *x2 = lam_param(g2, "x", lam_shape3(3, 4, 5), (lam_init){LAM_INIT_UNIFORM, 1.0f, 0});
    lam_rnn_opts o2 = lam_rnn_opts_defaults(LAM_RNN_GRU, 6);
    lam_node *l2;
    lam_nn_rnn(g2, x2, NULL, "gru", &o2, NULL, NULL, &l2);
    CHECK(lam_node_output(g2, l2, 1) == NULL); /* a GRU has one */
    CHECK(lam_graph_status(g2) == LAM_ERR_ARG);
    lam_graph_free(g2);
    lam_clear_error();
    (void)y;
    g->status = LAM_OK; /* the failed request above was on g2 */
    lam_node *loss = lam_sum(g, cn);
    CHECK_OK(lam_graph_compile(g, NULL));
    CHECK_OK(lam_graph_forward(g, 1, true));
    lam_graph_zero_grad(g);
    CHECK_OK(lam_graph_backward(g, loss));
    const lam_param_info *p = lam_graph_param_find(g, "lstm.weight_hh_l0");
    double s = 0;
    for (size_t i = 0; i < p->numel; i++) s += fabs(lam_graph_grads(g)[p->offset + i]);
    CHECK(s > 0);
    lam_graph_free(g);
}

/* Dropout between stacked layers: active in training only, on every layer
 * but the last (torch's rule): in inference the stack equals the same
 * weights without dropout. */
static void test_dropout_between_layers(void)
{
    float *y[3];
    for (int k = 0; k < 2; k++) {
        lam_graph *g = lam_graph_new(4);
        lam_node *x = lam_param(g, "x", lam_shape3(2, 5, 3), (lam_init){LAM_INIT_UNIFORM, 1.0f, 0});
        lam_rnn_opts o = lam_rnn_opts_defaults(LAM_RNN_GRU, 8);
        o.layers = 3;
        o.dropout = k ? 0.5f : 0.0f;
        lam_node *h = lam_nn_rnn(g, x, NULL, "gru", &o, NULL, NULL, NULL);
        CHECK(h && !strcmp(lam_node_name(h), "gru") && !strcmp(lam_node_op_name(h), "rnn"));
        CHECK((lam_graph_node(g, "gru.dropout0") != NULL) == (k == 1));
        CHECK(lam_graph_node(g, "gru.dropout2") == NULL); /* not after the last layer */
        CHECK_OK(lam_graph_compile(g, NULL));
        CHECK_OK(lam_graph_forward(g, 1, false));
        y[k] = malloc(80 * sizeof(float));
        memcpy(y[k], lam_node_data(h), 80 * sizeof(float));
        if (k) {
            CHECK_OK(lam_graph_forward(g, 1, true));
            y[2] = malloc(80 * sizeof(float));
            memcpy(y[2], lam_node_data(h), 80 * sizeof(float));
        }
        lam_graph_free(g);
    }
    CHECK(!memcmp(y[0], y[1], 80 * sizeof(float)));
    CHECK(memcmp(y[1], y[2], 80 * sizeof(float)) != 0);
    for (int k = 0; k < 3; k++) free(y[k]);
}

/* Bad lengths stop the forward pass with a message; shapes are checked. */
static void test_errors(void)
{
    tagger m;
    tagger_build(&m, LAM_RNN_LSTM, 4, 5, false, 40);
    tagger_fill(&m, 4, 5, 1);
    lam_node_ids(m.len)[2] = 6;
    CHECK(lam_graph_forward(m.g, 4, true) == LAM_ERR_ARG);
    CHECK(strstr(lam_last_error(), "batch row 2") != NULL);
    lam_node_ids(m.len)[2] = 0;
    CHECK(lam_graph_forward(m.g, 4, true) == LAM_ERR_ARG);
    lam_graph_free(m.g);

    lam_graph *g = lam_graph_new(1);
    lam_node *x = lam_input(g, "x", lam_shape2(5, 3));
    lam_node *w1 = lam_param(g, "w1", lam_shape2(16, 4), (lam_init){0});
    lam_node *w2 = lam_param(g, "w2", lam_shape2(16, 4), (lam_init){0});
    lam_rnn_args a = {LAM_RNN_LSTM, false, false};
    CHECK(lam_rnn_op(g, x, &w1, &w2, NULL, NULL, NULL, NULL, NULL, &a) == NULL); /* w_ih has 4 columns, x 3 */
    CHECK(strstr(lam_graph_error(g), "w_ih [16, 3]") != NULL);
    lam_graph_free(g);

    g = lam_graph_new(1);
    lam_node *ids = lam_input_ids(g, "ids", lam_shape1(5));
    lam_rnn_opts o = lam_rnn_opts_defaults(LAM_RNN_GRU, 4);
    CHECK(lam_nn_rnn(g, ids, NULL, "gru", &o, NULL, NULL, NULL) == NULL); /* ids, not vectors */
    lam_graph_free(g);
    lam_clear_error();
}

int main(void)
{
    RUN(test_golden_against_torch);
    RUN(test_cell_builds_same_bits);
    RUN(test_threads_same_bits);
    RUN(test_large_against_reference);
    RUN(test_padding_ignored);
    RUN(test_batch_rows_independent);
    RUN(test_no_allocation_in_step);
    RUN(test_final_state_only);
    RUN(test_dropout_between_layers);
    RUN(test_errors);
    TEST_MAIN_END;
}
