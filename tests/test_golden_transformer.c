/* Golden tests against PyTorch for the Transformer ops and blocks, from
 * tests/golden/transformer.txt (made by tests/golden/make_transformer.py,
 * whose header gives the formulas torch evaluates):
 *   lam_mha_op     per head softmax(scale q k^T + mask) v on a packed qkv
 *                  [B, T, (NH + 2 NKV) HS]: causal (T 7); padded, not
 *                  causal; grouped-query (NH 4, NKV 2, T 9: two query tiles
 *                  of 8 rows); causal and padded (a length of 1) with an
 *                  explicit scale 0.3; multi-query (NKV 1, HS 8) and padded
 *   lam_layernorm_op  with and without bias;  lam_rmsnorm_op  eps 1e-6
 *   lam_rope_op    rotate_half pairing, theta 10000 and 500, and from start
 *                  positions {3, 0}
 *   lam_swiglu, lam_gelu_tanh, lam_silu
 *   lam_nn_transformer_block  pre-LN, causal: GPT (LayerNorm, exact-GELU
 *                  MLP of 4 C, biases) and LLaMA (RMSNorm, RoPE, NKV 2,
 *                  SwiGLU of hidden 24, no biases, lengths {9, 6})
 *
 * Each case is one forward pass and one backward pass seeded with torch's
 * upstream gradient gy (so loss = sum(y * gy), as in the script).  Compared:
 * the output and the gradients of every float input and parameter.  Batched
 * float inputs are inputs plus a zero bias (their gradient is the bias_add
 * node's); the graphs are compiled with no_reuse so that intermediate
 * gradients stay readable after backward.  A padded attention case first
 * runs once with nothing masked, then with its lengths.  The blocks'
 * parameters are all set from the fixture (none keeps Lamina's own init)
 * and read back, values and gradients, through lam_graph_node(g,
 * "blk.qkv.weight") etc.
 *
 * Tolerance: |lamina - torch| <= 1e-6 + 1e-5 |torch|, as in test_golden.c,
 * against torch's float64 evaluation from the same float32 inputs (see the
 * script).  In the padded attention cases the gradients of the masked keys
 * and values (positions t >= lengths[b]) must be exactly 0, as torch's are.
 * The whole blocks get 5e-6 + 5e-5 |torch|: their parameter gradients sum
 * B T = 14 or 18 rows of products that went through five or six ops, and
 * cancel; torch's own float32 run is up to 1.4 x (1e-6 + 1e-5 |f64|) from
 * its float64 one (blk_llama's qkv.weight gradient) and Lamina's up to
 * 2.3 x (blk_llama's fc1.weight gradient; 5.7e-6 absolute at most, in
 * blk_gpt's qkv.weight gradient), so the looser bound is the scale of
 * agreement two correct float32 implementations reach, with a margin of 2. */
#include "golden_graph.h"
#include "lamina/graph.h"
#include "lamina/nn.h"
#include "test.h"

#define ATOL 1e-6
#define RTOL 1e-5
#define BLOCK_ATOL 5e-6 /* whole blocks: see above */
#define BLOCK_RTOL 5e-5

static golden_file gf;

static const golden_tensor *G(const char *cs, const char *suffix, bool required)
{
    return golden_case(&gf, cs, suffix, required);
}

/* got (n's value or gradient, as many floats as n has) against torch's t:
 * |got - t| <= atol + rtol |t| everywhere */
static void expect(const char *cs, const char *what, const lam_node *n, const float *got, const golden_tensor *t,
                   double atol, double rtol)
{
    if (!t || !n || !got) {
        CHECK_MSG(t && n && got, "%s %s: missing", cs, what);
        return;
    }
    lam_shape s = lam_node_shape(n);
    if (lam_shape_numel(&s) != t->n) {
        CHECK_MSG(lam_shape_numel(&s) == t->n, "%s %s: %lld values, torch %ld", cs, what,
                  (long long)lam_shape_numel(&s), t->n);
        return;
    }
    int bad = 0;
    for (long i = 0; i < t->n; i++) {
        bool ok = fabs(got[i] - t->v[i]) <= atol + rtol * fabs(t->v[i]);
        if (!ok) {
            if (bad < 5) fprintf(stderr, "  %s %s[%ld] = %.9g, torch %.9g\n", cs, what, i, got[i], t->v[i]);
            bad++;
        }
    }
    CHECK_MSG(bad == 0, "%s %s: %d of %ld values differ from PyTorch", cs, what, bad, t->n);
}

/* int32 [B] input (lengths, start positions) */
static lam_node *ids_of(lam_graph *g, const char *name, const golden_tensor *t)
{
    return t ? lam_input_ids(g, name, (lam_shape){0, {0}}) : NULL;
}

static void fill_ids(lam_node *n, const golden_tensor *t)
{
    if (n && t)
        for (long b = 0; b < t->n; b++) lam_node_ids(n)[b] = (int32_t)t->v[b];
}

/* Compile for batch B with no_reuse; false (and the graph freed) on error. */
static bool compile(const char *cs, lam_graph *g, lam_node *y, int B)
{
    CHECK_MSG(y != NULL, "%s: %s", cs, lam_graph_error(g));
    lam_compile_opts co = lam_compile_opts_defaults();
    co.max_batch = B;
    co.no_reuse = true;
    CHECK_OK(lam_graph_compile(g, &co));
    if (!y || lam_graph_status(g) != LAM_OK) {
        lam_graph_free(g);
        return false;
    }
    return true;
}

/* Forward for batch B, then backward seeded with torch's gy. */
static bool forward_backward(const char *cs, lam_graph *g, lam_node *y, int B)
{
    const golden_tensor *tgy = G(cs, "gy", true);
    lam_shape s = lam_node_shape(y);
    if (!tgy || tgy->n != lam_shape_numel(&s)) {
        CHECK_MSG(tgy && tgy->n == lam_shape_numel(&s), "%s: output has %lld values, gy %ld", cs,
                  (long long)lam_shape_numel(&s), tgy ? tgy->n : 0L);
        return false;
    }
    float *seed = malloc(sizeof(float) * (size_t)tgy->n);
    golden_to_f32(tgy, seed);
    lam_status fs = lam_graph_forward(g, B, true);
    CHECK_OK(fs);
    lam_graph_zero_grad(g);
    lam_status bs = fs == LAM_OK ? lam_graph_backward_seed(g, y, seed) : fs;
    CHECK_OK(bs);
    free(seed);
    return fs == LAM_OK && bs == LAM_OK;
}

/* ---- fused attention ------------------------------------------------------ */

/* The keys and values of positions t >= lengths[b] are masked: their
 * gradient must be exactly 0 (torch's is), not merely small, after a pass
 * in which they were not masked. */
static void expect_masked_zero(const char *cs, const float *gqkv, const golden_tensor *tqkv, const golden_tensor *tl,
                               int nh, int hs)
{
    long B = tqkv->d[0], T = tqkv->d[1], W = tqkv->d[2];
    int bad = 0, masked = 0;
    for (long b = 0; b < B; b++)
        for (long t = (long)tl->v[b]; t < T; t++)
            for (long c = (long)nh * hs; c < W; c++) {
                masked++;
                if (gqkv[(b * T + t) * W + c] != 0.0f) {
                    if (bad < 5)
                        fprintf(stderr, "  %s grad qkv[%ld, %ld, %ld] = %.9g at a masked key/value\n", cs, b, t, c,
                                gqkv[(b * T + t) * W + c]);
                    bad++;
                }
            }
    CHECK_MSG(masked > 0, "%s: no masked position", cs);
    CHECK_MSG(bad == 0, "%s: %d masked key/value gradients are not 0", cs, bad);
}

static void mha_case(const char *cs)
{
    const golden_tensor *cfg = G(cs, "cfg", true), *tqkv = G(cs, "qkv", true);
    if (!cfg || !tqkv) return;
    lam_mha_args ma = {.heads = (int)cfg->v[0], .kv_heads = (int)cfg->v[1], .head_size = (int)cfg->v[2],
                       .causal = cfg->v[3] != 0, .scale = (float)cfg->v[5]};
    const golden_tensor *tl = cfg->v[4] != 0 ? G(cs, "lengths", true) : NULL;
    int B = (int)tqkv->d[0];
    lam_graph *g = lam_graph_new(0);
    lam_node *qkv_in, *qkv = golden_batched(g, "qkv", tqkv, &qkv_in), *len = ids_of(g, "lengths", tl);
    lam_node *y = lam_mha_op(g, qkv, len, &ma);
    if (!compile(cs, g, y, B)) return;
    golden_to_f32(tqkv, lam_node_data(qkv_in));
    bool ran = true;
    if (len) { /* first a pass with nothing masked, so that zeros left over would not pass for written ones */
        for (int b = 0; b < B; b++) lam_node_ids(len)[b] = (int32_t)tqkv->d[1];
        ran = forward_backward(cs, g, y, B);
    }
    fill_ids(len, tl);
    if (ran && forward_backward(cs, g, y, B)) {
        expect(cs, "y", y, lam_node_data(y), G(cs, "y", true), ATOL, RTOL);
        expect(cs, "grad qkv", qkv, lam_node_grad(qkv), G(cs, "gqkv", true), ATOL, RTOL);
        if (tl && tl->n == B && lam_node_grad(qkv))
            expect_masked_zero(cs, lam_node_grad(qkv), tqkv, tl, ma.heads, ma.head_size);
    }
    lam_graph_free(g);
}

static void test_mha_matches_torch(void)
{
    mha_case("mha_causal");
    mha_case("mha_padded");
    mha_case("mha_gqa");
    mha_case("mha_causal_padded");
    mha_case("mha_mqa_padded");
}

/* ---- normalisation -------------------------------------------------------- */

static void norm_case(const char *cs, bool rms)
{
    const golden_tensor *cfg = G(cs, "cfg", true), *tx = G(cs, "x", true), *tw = G(cs, "w", true);
    if (!cfg || !tx || !tw) return;
    float eps = (float)cfg->v[0];
    const golden_tensor *tb = !rms && cfg->v[1] != 0 ? G(cs, "b", true) : NULL;
    int B = (int)tx->d[0];
    lam_graph *g = lam_graph_new(0);
    lam_node *x_in, *x = golden_batched(g, "x", tx, &x_in), *w = golden_param(g, "w", tw), *b = golden_param(g, "b", tb);
    lam_node *y = rms ? lam_rmsnorm_op(g, x, w, eps) : lam_layernorm_op(g, x, w, b, eps);
    if (!compile(cs, g, y, B)) return;
    golden_to_f32(tx, lam_node_data(x_in));
    golden_to_f32(tw, lam_node_data(w));
    if (b) golden_to_f32(tb, lam_node_data(b));
    if (forward_backward(cs, g, y, B)) {
        expect(cs, "y", y, lam_node_data(y), G(cs, "y", true), ATOL, RTOL);
        expect(cs, "grad x", x, lam_node_grad(x), G(cs, "gx", true), ATOL, RTOL);
        expect(cs, "grad w", w, lam_node_grad(w), G(cs, "gw", true), ATOL, RTOL);
        if (b) expect(cs, "grad b", b, lam_node_grad(b), G(cs, "gb", true), ATOL, RTOL);
    }
    lam_graph_free(g);
}

static void test_norms_match_torch(void)
{
    norm_case("ln", false);
    norm_case("ln_nobias", false);
    norm_case("rms", true);
}

/* ---- rotary embedding ----------------------------------------------------- */

static void rope_case(const char *cs)
{
    const golden_tensor *cfg = G(cs, "cfg", true), *tqkv = G(cs, "qkv", true);
    if (!cfg || !tqkv) return;
    lam_rope_args ra = {.heads = (int)cfg->v[0], .kv_heads = (int)cfg->v[1], .head_size = (int)cfg->v[2],
                        .theta = (float)cfg->v[3]};
    const golden_tensor *ts = cfg->v[4] != 0 ? G(cs, "start", true) : NULL;
    int B = (int)tqkv->d[0];
    lam_graph *g = lam_graph_new(0);
    lam_node *qkv_in, *qkv = golden_batched(g, "qkv", tqkv, &qkv_in), *start = ids_of(g, "start", ts);
    lam_node *y = lam_rope_op(g, qkv, start, &ra);
    if (!compile(cs, g, y, B)) return;
    golden_to_f32(tqkv, lam_node_data(qkv_in));
    fill_ids(start, ts);
    if (forward_backward(cs, g, y, B)) {
        expect(cs, "y", y, lam_node_data(y), G(cs, "y", true), ATOL, RTOL);
        expect(cs, "grad qkv", qkv, lam_node_grad(qkv), G(cs, "gqkv", true), ATOL, RTOL);
    }
    lam_graph_free(g);
}

static void test_rope_matches_torch(void)
{
    rope_case("rope");
    rope_case("rope_theta500");
    rope_case("rope_start");
}

/* ---- gates and activations ------------------------------------------------ */

static void unary_case(const char *cs, lam_node *(*op)(lam_graph *, lam_node *))
{
    const golden_tensor *tx = G(cs, "x", true);
    if (!tx) return;
    int B = (int)tx->d[0];
    lam_graph *g = lam_graph_new(0);
    lam_node *x_in, *x = golden_batched(g, "x", tx, &x_in);
    lam_node *y = op(g, x);
    if (!compile(cs, g, y, B)) return;
    golden_to_f32(tx, lam_node_data(x_in));
    if (forward_backward(cs, g, y, B)) {
        expect(cs, "y", y, lam_node_data(y), G(cs, "y", true), ATOL, RTOL);
        expect(cs, "grad x", x, lam_node_grad(x), G(cs, "gx", true), ATOL, RTOL);
    }
    lam_graph_free(g);
}

static void test_swiglu_matches_torch(void) { unary_case("swiglu", lam_swiglu); }
static void test_gelu_tanh_matches_torch(void) { unary_case("gelu_tanh", lam_gelu_tanh); }
static void test_silu_matches_torch(void) { unary_case("silu", lam_silu); }

/* ---- whole blocks --------------------------------------------------------- */

static void block_case(const char *cs)
{
    const golden_tensor *cfg = G(cs, "cfg", true), *tx = G(cs, "x", true);
    if (!cfg || !tx) return;
    CHECK_MSG(cfg->n == 12, "%s: cfg has %ld values", cs, cfg->n);
    if (cfg->n != 12) return;
    lam_transformer_opts o = lam_transformer_opts_defaults((int)cfg->v[1]);
    o.kv_heads = (int)cfg->v[2];
    o.causal = cfg->v[3] != 0;
    o.norm = cfg->v[4] != 0 ? LAM_NORM_RMS : LAM_NORM_LAYER;
    o.norm_eps = (float)cfg->v[5];
    o.rope = cfg->v[6] != 0;
    o.rope_theta = (float)cfg->v[7];
    o.swiglu = cfg->v[8] != 0;
    o.mlp_hidden = (int)cfg->v[9];
    o.bias = cfg->v[10] != 0;
    const golden_tensor *tl = cfg->v[11] != 0 ? G(cs, "lengths", true) : NULL;
    CHECK(tx->ndim == 3 && tx->d[2] == (long)cfg->v[0]);
    int B = (int)tx->d[0];
    lam_graph *g = lam_graph_new(0);
    lam_node *x_in, *x = golden_batched(g, "x", tx, &x_in), *len = ids_of(g, "lengths", tl);
    lam_node *y = lam_nn_transformer_block(g, x, len, "blk", &o);
    if (!compile(cs, g, y, B)) return;
    golden_to_f32(tx, lam_node_data(x_in));
    fill_ids(len, tl);

    /* every parameter of the block comes from the fixture, and every
     * parameter of the fixture is one of the block's */
    char pre[64];
    int plen = snprintf(pre, sizeof pre, "%s.p.", cs), in_fixture = 0, in_graph = 0;
    for (int i = 0; i < gf.count; i++) {
        if (strncmp(gf.t[i].name, pre, (size_t)plen) != 0) continue;
        const char *pn = gf.t[i].name + plen;
        lam_node *p = lam_graph_node(g, pn);
        lam_shape s = p ? lam_node_shape(p) : (lam_shape){0, {0}};
        CHECK_MSG(p && lam_shape_numel(&s) == gf.t[i].n, "%s: parameter %s missing or of another size", cs, pn);
        if (p && lam_shape_numel(&s) == gf.t[i].n) golden_to_f32(&gf.t[i], lam_node_data(p));
        in_fixture++;
    }
    for (size_t i = 0; i < lam_graph_param_count(g); i++)
        in_graph += strncmp(lam_graph_param_at(g, i)->name, "blk.", 4) == 0;
    CHECK_MSG(in_fixture == in_graph && in_graph > 0, "%s: %d parameters in the fixture, %d in the block", cs,
              in_fixture, in_graph);

    if (forward_backward(cs, g, y, B)) {
        expect(cs, "y", y, lam_node_data(y), G(cs, "y", true), BLOCK_ATOL, BLOCK_RTOL);
        expect(cs, "grad x", x, lam_node_grad(x), G(cs, "gx", true), BLOCK_ATOL, BLOCK_RTOL);
        for (size_t i = 0; i < lam_graph_param_count(g); i++) {
            const char *pn = lam_graph_param_at(g, i)->name;
            if (strncmp(pn, "blk.", 4) != 0) continue;
            char gn[160], what[160];
            snprintf(gn, sizeof gn, "g.%s", pn);
            snprintf(what, sizeof what, "grad %s", pn);
            lam_node *p = lam_graph_node(g, pn);
            expect(cs, what, p, p ? lam_node_grad(p) : NULL, G(cs, gn, true), BLOCK_ATOL, BLOCK_RTOL);
        }
    }
    lam_graph_free(g);
}

static void test_blocks_match_torch(void)
{
    block_case("blk_gpt");
    block_case("blk_llama");
}

int main(void)
{
    if (golden_load("tests/golden/transformer.txt", &gf) != 0) {
        printf("FAIL load_fixtures\n");
        return 1;
    }
    RUN(test_mha_matches_torch);
    RUN(test_norms_match_torch);
    RUN(test_rope_matches_torch);
    RUN(test_swiglu_matches_torch);
    RUN(test_gelu_tanh_matches_torch);
    RUN(test_silu_matches_torch);
    RUN(test_blocks_match_torch);
    golden_free(&gf);
    TEST_MAIN_END;
}
