/* Golden tests against PyTorch for convolution (every stride / padding /
 * dilation combination in the fixtures, with and without bias, fused relu),
 * max and average pooling, global average pooling and BatchNorm1d/2d in
 * training mode (batch statistics, running-statistics update) and in eval mode,
 * from tests/golden/conv.txt (made by tests/golden/make_conv.py).
 *
 * Each case is run twice:
 *  - "param" mode: x is a lam_param (its dimension 0 is the batch), so the
 *    input gradient is available: output, gx and all parameter gradients are
 *    compared after lam_graph_backward_seed with torch's upstream gradient;
 *  - "input" mode: x is a lam_input compiled with a larger max_batch than
 *    the batch that is run, checking the batched path: output and parameter
 *    gradients (an input has no gradient).
 * BatchNorm also compares the running mean and variance after the forward
 * (and checks that backward leaves them alone).
 *
 * Tolerance: |lamina - torch| <= ATOL + RTOL |torch| elementwise, with
 * ATOL = 1e-5 and RTOL = 1e-4; running statistics 1e-6 + 1e-5 relative.  The
 * references are torch's float64 results from the float32 inputs (the script
 * checks that torch's own float32 results are within the same tolerance), so
 * only Lamina's float32 rounding counts; the largest reduction is the weight
 * gradient of conv_big (576 terms), which uses about 0.4 of the tolerance.
 * Convolutions run with im2col; those with stride 1 and dilation 1 also
 * direct, and those among them with a 3x3 kernel also with Winograd F(2x2)
 * and F(4x4) (STOL below). */
#include "golden.h"
#include "lamina/graph.h"
#include "test.h"

#define ATOL 1e-5
#define RTOL 1e-4

/* Winograd rounds differently from a direct sum: its transforms mix the
 * values of a tile before the products, so an output or gradient that is a
 * small difference of large terms carries an error on the scale of the
 * whole tensor, not of itself.  The Winograd comparisons therefore also
 * allow STOL_F2 / STOL_F4 times the largest |value| of the tensor.  Measured
 * here: error / largest |value| at most 3.8e-7 for F(2x2) (im2col: 3.1e-7)
 * and 3.4e-6 for F(4x4), whose transforms scale by up to 8 and 1/24. */
#define STOL_F2 1e-6
#define STOL_F4 1e-5

static golden_file gf;
static double worst_ratio; /* largest |err| / (atol + rtol |ref|) seen over the comparisons of one algorithm */
static double worst_abs;
static double worst_ratio_algo[LAM_CONV_ALGO_COUNT_], worst_abs_algo[LAM_CONV_ALGO_COUNT_];

/* |got - ref| <= atol + rtol |ref| + stol max|ref| */
static void expect_scaled(const char *cs, const char *what, const float *got, const golden_tensor *t, double atol,
                          double rtol, double stol)
{
    if (!t || !got) {
        CHECK_MSG(t && got, "%s %s: missing (fixture %p, value %p)", cs, what, (const void *)t, (const void *)got);
        return;
    }
    int bad = 0;
    double scale = 0;
    for (long i = 0; i < t->n; i++) scale = fmax(scale, fabs(t->v[i]));
    for (long i = 0; i < t->n; i++) {
        double err = fabs(got[i] - t->v[i]), lim = atol + rtol * fabs(t->v[i]) + stol * scale;
        if (err / lim > worst_ratio) worst_ratio = err / lim;
        if (err > worst_abs) worst_abs = err;
        if (!(err <= lim)) {
            if (bad < 5) fprintf(stderr, "  %s %s[%ld] = %.9g, torch %.9g (|diff| %.3g)\n", cs, what, i, got[i], t->v[i], err);
            bad++;
        }
    }
    CHECK_MSG(bad == 0, "%s %s: %d of %ld values differ from PyTorch", cs, what, bad, t->n);
}

static void expect(const char *cs, const char *what, const float *got, const golden_tensor *t, double atol,
                   double rtol)
{
    expect_scaled(cs, what, got, t, atol, rtol, 0.0);
}

static const golden_tensor *G(const char *cs, const char *suffix)
{
    char k[160];
    snprintf(k, sizeof k, "%s.%s", cs, suffix);
    return golden_get(&gf, k);
}

static lam_shape shape_of(const golden_tensor *t, int from)
{
    int64_t d[8];
    for (int i = from; i < t->ndim; i++) d[i - from] = t->d[i];
    return lam_shape_make(t->ndim - from, d);
}

static void set_param(lam_graph *g, const char *name, const golden_tensor *t)
{
    const lam_param_info *p = lam_graph_param_find(g, name);
    CHECK_MSG(p != NULL, "parameter %s not found", name);
    if (!p) return;
    CHECK_MSG((long)p->numel == t->n, "parameter %s: %zu values, fixture %ld", name, p->numel, t->n);
    if ((long)p->numel != t->n) return;
    golden_to_f32(t, lam_graph_params(g) + p->offset);
}

static const float *param_value(lam_graph *g, const char *name)
{
    const lam_param_info *p = lam_graph_param_find(g, name);
    return p ? lam_graph_params(g) + p->offset : NULL;
}

/* The case's x: a parameter holding the whole batch, or an input run at its
 * batch with room for two more rows. */
typedef struct xcase {
    lam_graph *g;
    lam_node *x;
    bool as_input;
    int B;
} xcase;

static xcase begin(const golden_tensor *x, bool as_input)
{
    xcase c = {lam_graph_new(7), NULL, as_input, (int)x->d[0]};
    c.x = as_input ? lam_input(c.g, "x", shape_of(x, 1)) : lam_param(c.g, "x", shape_of(x, 0), (lam_init){0});
    return c;
}

/* compile, fill x, run forward; false if anything failed */
static bool compile_fill_forward(xcase *c, const golden_tensor *x, bool training,
                                 void (*fill)(lam_graph *, void *), void *ctx)
{
    lam_compile_opts co = lam_compile_opts_defaults();
    co.max_batch = c->B + 2;
    lam_status s = lam_graph_compile(c->g, &co);
    CHECK_MSG(s == LAM_OK, "compile: %s", lam_graph_error(c->g));
    if (s != LAM_OK) return false;
    if (c->as_input)
        golden_to_f32(x, lam_node_data(c->x));
    else
        set_param(c->g, "x", x);
    if (fill) fill(c->g, ctx);
    s = lam_graph_forward(c->g, c->as_input ? c->B : 1, training);
    CHECK_MSG(s == LAM_OK, "forward: %s", lam_last_error());
    return s == LAM_OK;
}

static bool seed_backward(xcase *c, lam_node *y, const golden_tensor *gy)
{
    lam_shape ys = lam_node_shape(y);
    CHECK_MSG(lam_shape_numel(&ys) == gy->n, "output has %lld values, torch %ld", (long long)lam_shape_numel(&ys),
              gy->n);
    if (lam_shape_numel(&ys) != gy->n) return false;
    float *seed = malloc(sizeof(float) * (size_t)gy->n);
    golden_to_f32(gy, seed);
    lam_graph_zero_grad(c->g);
    lam_status s = lam_graph_backward_seed(c->g, y, seed);
    free(seed);
    CHECK_MSG(s == LAM_OK, "backward: %s", lam_last_error());
    return s == LAM_OK;
}

/* ---- convolution ------------------------------------------------------------ */

typedef struct conv_fill {
    const golden_tensor *w, *b;
} conv_fill;
static void fill_conv(lam_graph *g, void *ctx)
{
    conv_fill *f = ctx;
    set_param(g, "w", f->w);
    if (f->b) set_param(g, "b", f->b);
}

static void conv_case(const char *cs, bool as_input, lam_conv_algo algo)
{
    const golden_tensor *cfg = G(cs, "cfg"), *x = G(cs, "x"), *w = G(cs, "w"), *gy = G(cs, "gy");
    if (!cfg || !x || !w || !gy || cfg->n != 8) {
        CHECK_MSG(0, "%s: fixture incomplete", cs);
        return;
    }
    bool has_bias = cfg->v[7] != 0;
    const golden_tensor *b = has_bias ? G(cs, "b") : NULL;
    lam_conv2d_args a = lam_conv2d_args_defaults();
    a.stride_h = (int)cfg->v[0];
    a.stride_w = (int)cfg->v[1];
    a.pad_h = (int)cfg->v[2];
    a.pad_w = (int)cfg->v[3];
    a.dil_h = (int)cfg->v[4];
    a.dil_w = (int)cfg->v[5];
    a.act = cfg->v[6] != 0 ? LAM_ACT_RELU : LAM_ACT_NONE;
    a.algo = algo;
    bool wino = algo == LAM_CONV_WINOGRAD_F2 || algo == LAM_CONV_WINOGRAD_F4;
    bool unit = a.stride_h == 1 && a.stride_w == 1 && a.dil_h == 1 && a.dil_w == 1;
    if (wino && (w->d[2] != 3 || w->d[3] != 3 || !unit)) return; /* not a Winograd geometry */
    if (algo == LAM_CONV_DIRECT && (!unit || w->d[1] * w->d[2] * w->d[3] > 64)) return;
    double stol = algo == LAM_CONV_WINOGRAD_F4 ? STOL_F4 : algo == LAM_CONV_WINOGRAD_F2 ? STOL_F2 : 0.0;
    double save_ratio = worst_ratio, save_abs = worst_abs;
    worst_ratio = worst_ratio_algo[algo], worst_abs = worst_abs_algo[algo];
    xcase c = begin(x, as_input);
    lam_node *nw = lam_param(c.g, "w", shape_of(w, 0), (lam_init){0});
    lam_node *nb = has_bias ? lam_param(c.g, "b", shape_of(b, 0), (lam_init){0}) : NULL;
    lam_node *y = lam_conv2d_op(c.g, c.x, nw, nb, &a);
    conv_fill f = {w, b};
    char tag[128];
    static const char *const algo_name[] = {"auto", "im2col", "winograd F2", "winograd F4", "direct"};
    snprintf(tag, sizeof tag, "%s[%s, %s]", cs, as_input ? "input" : "param", algo_name[algo]);
    if (compile_fill_forward(&c, x, true, fill_conv, &f)) {
        expect_scaled(tag, "y", lam_node_data(y), G(cs, "y"), ATOL, RTOL, stol);
        if (seed_backward(&c, y, gy)) {
            if (!as_input) expect_scaled(tag, "grad x", lam_node_grad(c.x), G(cs, "gx"), ATOL, RTOL, stol);
            expect_scaled(tag, "grad w", lam_node_grad(nw), G(cs, "gw"), ATOL, RTOL, stol);
            if (has_bias) expect_scaled(tag, "grad b", lam_node_grad(nb), G(cs, "gb"), ATOL, RTOL, stol);
        }
    }
    lam_graph_free(c.g);
    worst_ratio_algo[algo] = worst_ratio, worst_abs_algo[algo] = worst_abs;
    worst_ratio = save_ratio, worst_abs = save_abs;
}

/* ---- pooling ------------------------------------------------------------------ */

enum pool_kind { POOL_MAX, POOL_AVG, POOL_GLOBAL };

static void pool_case(const char *cs, enum pool_kind kind, bool as_input)
{
    const golden_tensor *x = G(cs, "x"), *gy = G(cs, "gy");
    const golden_tensor *cfg = kind == POOL_GLOBAL ? NULL : G(cs, "cfg");
    if (!x || !gy || (kind != POOL_GLOBAL && (!cfg || cfg->n != 6))) {
        CHECK_MSG(0, "%s: fixture incomplete", cs);
        return;
    }
    xcase c = begin(x, as_input);
    /* a parameter multiplied in after pooling would change the values; instead
     * the pooled node's own output and x's gradient are compared (param mode),
     * and in input mode only the output */
    lam_node *y;
    if (kind == POOL_GLOBAL) {
        y = lam_global_avgpool(c.g, c.x);
    } else {
        lam_pool2d_args a = {(int)cfg->v[0], (int)cfg->v[1], (int)cfg->v[2], (int)cfg->v[3], (int)cfg->v[4],
                             (int)cfg->v[5]};
        y = kind == POOL_MAX ? lam_maxpool2d(c.g, c.x, &a) : lam_avgpool2d(c.g, c.x, &a);
    }
    char tag[128];
    snprintf(tag, sizeof tag, "%s[%s]", cs, as_input ? "input" : "param");
    if (compile_fill_forward(&c, x, true, NULL, NULL)) {
        expect(tag, "y", lam_node_data(y), G(cs, "y"), ATOL, RTOL);
        if (!as_input && seed_backward(&c, y, gy)) expect(tag, "grad x", lam_node_grad(c.x), G(cs, "gx"), ATOL, RTOL);
    }
    lam_graph_free(c.g);
}

/* ---- batch normalisation ------------------------------------------------------- */

typedef struct bn_fill {
    const golden_tensor *gamma, *beta, *rm, *rv;
} bn_fill;
static void fill_bn(lam_graph *g, void *ctx)
{
    bn_fill *f = ctx;
    set_param(g, "gamma", f->gamma);
    set_param(g, "beta", f->beta);
    set_param(g, "running_mean", f->rm);
    set_param(g, "running_var", f->rv);
}

static void bn_case(const char *cs, bool as_input)
{
    const golden_tensor *cfg = G(cs, "cfg"), *x = G(cs, "x"), *gy = G(cs, "gy");
    bn_fill f = {G(cs, "gamma"), G(cs, "beta"), G(cs, "rm"), G(cs, "rv")};
    if (!cfg || cfg->n != 3 || !x || !gy || !f.gamma || !f.beta || !f.rm || !f.rv) {
        CHECK_MSG(0, "%s: fixture incomplete", cs);
        return;
    }
    bool training = cfg->v[0] != 0;
    float eps = (float)cfg->v[1], momentum = (float)cfg->v[2];
    long C = x->d[1];
    xcase c = begin(x, as_input);
    lam_node *gamma = lam_param(c.g, "gamma", lam_shape1(C), (lam_init){LAM_INIT_ONES, 0, 0});
    lam_node *beta = lam_param(c.g, "beta", lam_shape1(C), (lam_init){0});
    lam_node *rm = lam_buffer(c.g, "running_mean", lam_shape1(C), (lam_init){0});
    lam_node *rv = lam_buffer(c.g, "running_var", lam_shape1(C), (lam_init){LAM_INIT_ONES, 0, 0});
    lam_node *y = lam_batchnorm_op(c.g, c.x, gamma, beta, rm, rv, eps, momentum);
    char tag[128];
    snprintf(tag, sizeof tag, "%s[%s]", cs, as_input ? "input" : "param");
    if (compile_fill_forward(&c, x, training, fill_bn, &f)) {
        expect(tag, "y", lam_node_data(y), G(cs, "y"), ATOL, RTOL);
        expect(tag, "running_mean", param_value(c.g, "running_mean"), G(cs, "rm_after"), 1e-6, 1e-5);
        expect(tag, "running_var", param_value(c.g, "running_var"), G(cs, "rv_after"), 1e-6, 1e-5);
        if (seed_backward(&c, y, gy)) {
            if (!as_input) expect(tag, "grad x", lam_node_grad(c.x), G(cs, "gx"), ATOL, RTOL);
            expect(tag, "grad gamma", lam_node_grad(gamma), G(cs, "ggamma"), ATOL, RTOL);
            expect(tag, "grad beta", lam_node_grad(beta), G(cs, "gbeta"), ATOL, RTOL);
            /* backward must not touch the running statistics */
            expect(tag, "running_mean after backward", param_value(c.g, "running_mean"), G(cs, "rm_after"), 1e-6,
                   1e-5);
            expect(tag, "running_var after backward", param_value(c.g, "running_var"), G(cs, "rv_after"), 1e-6,
                   1e-5);
        }
        /* buffers are not trainable and get no gradient */
        const lam_param_info *pi = lam_graph_param_find(c.g, "running_var");
        CHECK(pi && pi->buffer && !pi->trainable);
    }
    lam_graph_free(c.g);
}

/* ---- drivers: every case of each family in the fixture file ----------------------- */

/* Calls fn(case, as_input) for every case whose name starts with `prefix`
 * (found by its ".x" tensor); returns the number of cases. */
static int each_case(const char *prefix, void (*fn)(const char *, bool))
{
    int n = 0;
    size_t pl = strlen(prefix);
    for (int i = 0; i < gf.count; i++) {
        const char *name = gf.t[i].name;
        size_t len = strlen(name);
        if (strncmp(name, prefix, pl) != 0 || len < 2 || strcmp(name + len - 2, ".x") != 0) continue;
        char cs[128];
        snprintf(cs, sizeof cs, "%.*s", (int)(len - 2), name);
        fn(cs, false);
        fn(cs, true);
        n++;
    }
    return n;
}

/* every case with im2col; the 3x3 stride-1 ones also with both Winograd
 * tiles, the stride-1 undilated ones also direct */
static void conv_fn(const char *cs, bool in)
{
    conv_case(cs, in, LAM_CONV_IM2COL);
    conv_case(cs, in, LAM_CONV_DIRECT);
    conv_case(cs, in, LAM_CONV_WINOGRAD_F2);
    conv_case(cs, in, LAM_CONV_WINOGRAD_F4);
}
static void maxpool_fn(const char *cs, bool in) { pool_case(cs, POOL_MAX, in); }
static void avgpool_fn(const char *cs, bool in) { pool_case(cs, POOL_AVG, in); }
static void gap_fn(const char *cs, bool in) { pool_case(cs, POOL_GLOBAL, in); }
static void bn_fn(const char *cs, bool in) { bn_case(cs, in); }

static void test_conv2d_matches_torch(void) { CHECK(each_case("conv_", conv_fn) >= 12); }
static void test_maxpool2d_matches_torch(void) { CHECK(each_case("maxpool_", maxpool_fn) >= 4); }
static void test_avgpool2d_matches_torch(void) { CHECK(each_case("avgpool_", avgpool_fn) >= 4); }
static void test_global_avgpool_matches_torch(void) { CHECK(each_case("gap_", gap_fn) >= 2); }
static void test_batchnorm2d_matches_torch(void) { CHECK(each_case("bn2d_", bn_fn) >= 4); }
static void test_batchnorm1d_matches_torch(void) { CHECK(each_case("bn1d_", bn_fn) >= 4); }

int main(void)
{
    if (golden_load("tests/golden/conv.txt", &gf) != 0) {
        printf("FAIL load_fixtures\n");
        return 1;
    }
    RUN(test_conv2d_matches_torch);
    RUN(test_maxpool2d_matches_torch);
    RUN(test_avgpool2d_matches_torch);
    RUN(test_global_avgpool_matches_torch);
    RUN(test_batchnorm2d_matches_torch);
    RUN(test_batchnorm1d_matches_torch);
    printf("# largest error: %.3g absolute, %.3g of the tolerance\n", worst_abs, worst_ratio);
    printf("# conv largest error: im2col %.3g (%.3g of the tolerance), direct %.3g (%.3g), Winograd F2 %.3g (%.3g of its own), F4 %.3g (%.3g of its own)\n",
           worst_abs_algo[LAM_CONV_IM2COL], worst_ratio_algo[LAM_CONV_IM2COL], worst_abs_algo[LAM_CONV_DIRECT],
           worst_ratio_algo[LAM_CONV_DIRECT], worst_abs_algo[LAM_CONV_WINOGRAD_F2],
           worst_ratio_algo[LAM_CONV_WINOGRAD_F2], worst_abs_algo[LAM_CONV_WINOGRAD_F4],
           worst_ratio_algo[LAM_CONV_WINOGRAD_F4]);
    golden_free(&gf);
    TEST_MAIN_END;
}
