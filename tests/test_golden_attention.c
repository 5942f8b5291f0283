/* Golden tests against PyTorch for the attention op (dot, scaled dot,
 * general, additive; batched and shared queries; with and without padding
 * masks) and for sequence pooling (every mode, with lengths), from
 * tests/golden/attention.txt (made by tests/golden/make_attention.py).
 *
 * Attention: one backward pass of loss = sum(y * gy) + sum(a * ga), so the
 * context's gradient and the weights' own gradient (the op's extra output)
 * flow together; the sums are built from mul and seq_pool(SUM) and the
 * per-sample losses [B, 1] seeded with ones.  Compared: context y, weights
 * a, and the gradients of q, kv and every weight.  Batched tensors are
 * inputs plus a zero bias (so that they carry the batch like the lengths);
 * their gradient is the bias_add node's.  The graphs are compiled with
 * no_reuse so that intermediate gradients stay readable after backward.
 *
 * Tolerance: |lamina - torch| <= 1e-6 + 1e-5 |torch|, as in test_golden.c,
 * against torch's float64 evaluation from the same float32 inputs (see the
 * script); values torch gives as exactly 0 (masked weights, the gradients of
 * masked positions) must be exactly 0 here too. */
#include "golden_graph.h"
#include "lamina/graph.h"
#include "test.h"

#define ATOL 1e-6
#define RTOL 1e-5

static golden_file gf;

static const golden_tensor *G(const char *cs, const char *suffix, bool required)
{
    return golden_case(&gf, cs, suffix, required);
}

static void expect(const char *cs, const char *what, const float *got, const golden_tensor *t)
{
    if (!t || !got) {
        CHECK_MSG(t && got, "%s %s: missing", cs, what);
        return;
    }
    int bad = 0;
    for (long i = 0; i < t->n; i++) {
        bool ok = fabs(got[i] - t->v[i]) <= ATOL + RTOL * fabs(t->v[i]);
        if (t->v[i] == 0.0) ok = got[i] == 0.0f; /* masked weights: exactly zero */
        if (!ok) {
            if (bad < 5) fprintf(stderr, "  %s %s[%ld] = %.9g, torch %.9g\n", cs, what, i, got[i], t->v[i]);
            bad++;
        }
    }
    CHECK_MSG(bad == 0, "%s %s: %d of %ld values differ from PyTorch", cs, what, bad, t->n);
}

/* sum over everything but the batch: [B, X, Y] -> [B, 1] */
static lam_node *sum_per_sample(lam_graph *g, lam_node *x)
{
    lam_shape s = lam_node_shape(x);
    lam_node *r = lam_seq_pool(g, x, NULL, LAM_SEQ_POOL_SUM); /* [B, Y] */
    r = lam_reshape(g, r, lam_shape2(s.d[2], 1));
    return lam_seq_pool(g, r, NULL, LAM_SEQ_POOL_SUM);
}

static void attn_case(const char *cs)
{
    const golden_tensor *cfg = G(cs, "cfg", true), *tq = G(cs, "q", true), *tkv = G(cs, "kv", true);
    const golden_tensor *tgy = G(cs, "gy", true), *tga = G(cs, "ga", true);
    if (!cfg || !tq || !tkv || !tgy || !tga) return;
    lam_attn_score score = (lam_attn_score)cfg->v[0];
    float scale = (float)cfg->v[1];
    bool has_len = cfg->v[2] != 0, shared = cfg->v[3] != 0;
    int B = (int)tkv->d[0];
    lam_graph *g = lam_graph_new(0);
    lam_node *q_in = NULL, *kv_in, *len = NULL;
    lam_node *q = shared ? golden_param(g, "q", tq) : golden_batched(g, "q", tq, &q_in);
    lam_node *kv = golden_batched(g, "kv", tkv, &kv_in);
    if (has_len) len = lam_input_ids(g, "lengths", (lam_shape){0, {0}});
    lam_node *w = golden_param(g, "w", G(cs, "w", false)), *wq = golden_param(g, "wq", G(cs, "wq", false));
    lam_node *wk = golden_param(g, "wk", G(cs, "wk", false)), *v = golden_param(g, "v", G(cs, "v", false));
    lam_node *y = lam_attention_op(g, q, kv, len, score, w, wq, wk, v, scale);
    lam_node *a = lam_node_output(g, y, 0);
    lam_node *gy = lam_input(g, "gy", golden_shape(tgy, 1)), *ga = lam_input(g, "ga", golden_shape(tga, 1));
    lam_node *loss = lam_add(g, sum_per_sample(g, lam_mul(g, y, gy)), sum_per_sample(g, lam_mul(g, a, ga)));
    lam_graph_mark_output(g, y);
    lam_graph_mark_output(g, a);
    CHECK_MSG(loss != NULL, "%s: %s", cs, lam_graph_error(g));
    lam_compile_opts co = lam_compile_opts_defaults();
    co.max_batch = B;
    co.no_reuse = true;
    CHECK_OK(lam_graph_compile(g, &co));
    if (!loss || lam_graph_status(g) != LAM_OK) {
        lam_graph_free(g);
        return;
    }
    golden_to_f32(tkv, lam_node_data(kv_in));
    golden_to_f32(tq, shared ? lam_node_data(q) : lam_node_data(q_in));
    golden_to_f32(tgy, lam_node_data(gy));
    golden_to_f32(tga, lam_node_data(ga));
    if (len) {
        const golden_tensor *tl = G(cs, "lengths", true);
        for (int b = 0; tl && b < B; b++) lam_node_ids(len)[b] = (int32_t)tl->v[b];
    }
    const char *wn[4] = {"w", "wq", "wk", "v"};
    lam_node *wnode[4] = {w, wq, wk, v};
    for (int k = 0; k < 4; k++)
        if (wnode[k]) golden_to_f32(G(cs, wn[k], true), lam_node_data(wnode[k]));
    CHECK_OK(lam_graph_forward(g, B, true));
    lam_graph_zero_grad(g);
    float ones[64];
    for (int i = 0; i < 64; i++) ones[i] = 1.0f;
    CHECK_OK(lam_graph_backward_seed(g, loss, ones));
    expect(cs, "context", lam_node_data(y), G(cs, "y", true));
    expect(cs, "weights", lam_node_data(a), G(cs, "a", true));
    expect(cs, "grad q", lam_node_grad(q), G(cs, "gq", true));
    expect(cs, "grad kv", lam_node_grad(kv), G(cs, "gkv", true));
    for (int k = 0; k < 4; k++) {
        char gn[8];
        snprintf(gn, sizeof gn, "g%s", wn[k]);
        if (wnode[k]) expect(cs, gn, lam_node_grad(wnode[k]), G(cs, gn, true));
    }
    lam_graph_free(g);
}

static void test_attention_matches_torch(void)
{
    attn_case("attn_dot");
    attn_case("attn_dot_scaled");
    attn_case("attn_dot_shared");
    attn_case("attn_general");
    attn_case("attn_general_shared");
    attn_case("attn_additive");
    attn_case("attn_additive_nomask");
    attn_case("attn_additive_pool");
}

static void pool_case(const char *cs, lam_seq_pool_mode mode)
{
    const golden_tensor *tx = G(cs, "x", true), *tl = G(cs, "lengths", true), *tgy = G(cs, "gy", true);
    if (!tx || !tl || !tgy) return;
    int B = (int)tx->d[0];
    lam_graph *g = lam_graph_new(0);
    lam_node *x_in, *x = golden_batched(g, "x", tx, &x_in);
    lam_node *len = lam_input_ids(g, "lengths", (lam_shape){0, {0}});
    lam_node *y = lam_seq_pool(g, x, len, mode);
    lam_compile_opts co = lam_compile_opts_defaults();
    co.max_batch = B;
    co.no_reuse = true;
    CHECK_OK(lam_graph_compile(g, &co));
    golden_to_f32(tx, lam_node_data(x_in));
    for (int b = 0; b < B; b++) lam_node_ids(len)[b] = (int32_t)tl->v[b];
    float seed[256];
    golden_to_f32(tgy, seed);
    CHECK_OK(lam_graph_forward(g, B, true));
    lam_graph_zero_grad(g);
    CHECK_OK(lam_graph_backward_seed(g, y, seed));
    expect(cs, "y", lam_node_data(y), G(cs, "y", true));
    expect(cs, "grad x", lam_node_grad(x), G(cs, "gx", true));
    lam_graph_free(g);
}

static void test_seq_pool_matches_torch(void)
{
    pool_case("pool_mean", LAM_SEQ_POOL_MEAN);
    pool_case("pool_max", LAM_SEQ_POOL_MAX);
    pool_case("pool_sum", LAM_SEQ_POOL_SUM);
    pool_case("pool_last", LAM_SEQ_POOL_LAST);
    pool_case("pool_first", LAM_SEQ_POOL_FIRST);
}

int main(void)
{
    if (golden_load("tests/golden/attention.txt", &gf) != 0) {
        printf("FAIL load_fixtures\n");
        return 1;
    }
    RUN(test_attention_matches_torch);
    RUN(test_seq_pool_matches_torch);
    golden_free(&gf);
    TEST_MAIN_END;
}
