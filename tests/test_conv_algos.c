/* The convolution algorithms (lam_conv_algo: im2col, Winograd F(2x2) and
 * F(4x4), direct) through the conv2d op on the shapes of the shipped CNNs,
 * against a float64 direct convolution:
 *  - output, input gradient, weight gradient and bias gradient, error
 *    measured against the largest |value| of each tensor (Winograd mixes a
 *    tile's values before the products, so its error follows the scale of
 *    the tensor, not of each element);
 *  - the same bits with 1 and 2 threads, for every batch size an image is
 *    run in, and from the AVX2 and baseline builds of the kernels;
 *  - an explicit algorithm on a geometry it cannot do is an error, not a
 *    crash. */
#include "kernels/conv_direct.h"
#include "kernels/winograd.h"
#include "lamina/graph.h"
#include "test.h"

typedef struct shape_case {
    const char *name;
    int B, C, H, W, K, pad;
} shape_case;

static const shape_case CASES[] = {
    {"fashion conv2 (32->64, 13x13, valid)", 2, 32, 13, 13, 64, 0},
    {"cifar conv2 (32->64, 16x16, same)", 2, 32, 16, 16, 64, 1},
    {"odd sizes (9->12, 7x10, pad 1)", 3, 9, 7, 10, 12, 1},
    {"fashion conv1 (1->32, 28x28, valid)", 2, 1, 28, 28, 32, 0},
    {"cifar conv1 (3->32, 32x32, same)", 2, 3, 32, 32, 32, 1},
};
#define NCASES (sizeof CASES / sizeof CASES[0])
#define FIRST_LAYERS 3 /* CASES[3..]: few channels, where direct applies */

typedef struct conv_run {
    lam_graph *g;
    lam_node *x, *w, *b, *y;
    long ny, nx, nw;
} conv_run;

static void fill(float *v, long n, lam_rng *r, float scale)
{
    for (long i = 0; i < n; i++) v[i] = (lam_rng_uniform(r) * 2.0f - 1.0f) * scale;
}

/* Build x (a parameter, so that it has a gradient), w, b and the conv; fill
 * them from `seed`; run forward and backward with upstream gradient gy
 * (filled from seed too) at batch `batch` (<= c->B).  *out gets the graph. */
static bool run_conv(const shape_case *c, lam_conv_algo algo, int batch, uint64_t seed, conv_run *out)
{
    conv_run r = {0};
    r.g = lam_graph_new(1);
    r.x = lam_param(r.g, "x", lam_shape4(batch, c->C, c->H, c->W), (lam_init){0});
    r.w = lam_param(r.g, "w", lam_shape4(c->K, c->C, 3, 3), (lam_init){0});
    r.b = lam_param(r.g, "b", lam_shape1(c->K), (lam_init){0});
    lam_conv2d_args a = lam_conv2d_args_defaults();
    a.pad_h = a.pad_w = c->pad;
    a.algo = algo;
    r.y = lam_conv2d_op(r.g, r.x, r.w, r.b, &a);
    lam_compile_opts co = lam_compile_opts_defaults();
    lam_status s = r.y ? lam_graph_compile(r.g, &co) : LAM_ERR_ARG;
    CHECK_MSG(s == LAM_OK, "%s: %s", c->name, lam_graph_error(r.g));
    if (s != LAM_OK) {
        lam_graph_free(r.g);
        return false;
    }
    lam_rng rng;
    lam_rng_seed(&rng, seed);
    /* the first `batch` images of the full-batch draw, so batch sizes agree */
    long per_img = (long)c->C * c->H * c->W;
    float *xs = malloc(sizeof(float) * (size_t)(per_img * c->B));
    fill(xs, per_img * c->B, &rng, 1.0f);
    memcpy(lam_node_data(r.x), xs, sizeof(float) * (size_t)(per_img * batch));
    free(xs);
    r.nw = (long)c->K * c->C * 9;
    fill(lam_node_data(r.w), r.nw, &rng, 0.1f);
    fill(lam_node_data(r.b), c->K, &rng, 0.1f);
    CHECK_OK(lam_graph_forward(r.g, 1, true));
    lam_shape ys = lam_node_shape(r.y);
    r.ny = lam_shape_numel(&ys);
    r.nx = per_img * batch;
    long per_out = r.ny / batch;
    float *gy = malloc(sizeof(float) * (size_t)(per_out * c->B));
    fill(gy, per_out * c->B, &rng, 1.0f);
    lam_graph_zero_grad(r.g);
    CHECK_OK(lam_graph_backward_seed(r.g, r.y, gy));
    free(gy);
    *out = r;
    return true;
}

/* float64 direct convolution and its gradients from the same inputs */
typedef struct ref_out {
    double *y, *gx, *gw, *gb;
} ref_out;

static ref_out reference(const shape_case *c, const conv_run *r, const float *gy)
{
    int B = c->B, C = c->C, H = c->H, W = c->W, K = c->K, p = c->pad;
    int OH = H + 2 * p - 2, OW = W + 2 * p - 2;
    const float *x = lam_node_data(r->x), *w = lam_node_data(r->w), *b = lam_node_data(r->b);
    ref_out o = {calloc((size_t)B * K * OH * OW, sizeof(double)), calloc((size_t)B * C * H * W, sizeof(double)),
                 calloc((size_t)K * C * 9, sizeof(double)), calloc((size_t)K, sizeof(double))};
    for (int n = 0; n < B; n++)
        for (int k = 0; k < K; k++)
            for (int oy = 0; oy < OH; oy++)
                for (int ox = 0; ox < OW; ox++) {
                    long yi = (((long)n * K + k) * OH + oy) * OW + ox;
                    double acc = b[k], g = gy[yi];
                    o.gb[k] += g;
                    for (int ch = 0; ch < C; ch++)
                        for (int i = 0; i < 3; i++)
                            for (int j = 0; j < 3; j++) {
                                int iy = oy - p + i, ix = ox - p + j;
                                if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                                long xi = (((long)n * C + ch) * H + iy) * W + ix, wi = (((long)k * C + ch) * 3 + i) * 3 + j;
                                acc += (double)x[xi] * w[wi];
                                o.gx[xi] += g * w[wi];
                                o.gw[wi] += g * x[xi];
                            }
                    o.y[yi] = acc;
                }
    return o;
}

/* max |got - ref| / max |ref| */
static double scaled_err(const float *got, const double *ref, long n)
{
    double e = 0, s = 0;
    for (long i = 0; i < n; i++) {
        e = fmax(e, fabs(got[i] - ref[i]));
        s = fmax(s, fabs(ref[i]));
    }
    return s > 0 ? e / s : e;
}

static void test_matches_float64_reference(void)
{
    static const lam_conv_algo algos[] = {LAM_CONV_IM2COL, LAM_CONV_WINOGRAD_F2, LAM_CONV_WINOGRAD_F4,
                                          LAM_CONV_DIRECT};
    static const char *const names[] = {"im2col", "F(2x2)", "F(4x4)", "direct"};
    /* limits: about 3x the worst measured over these cases */
    static const double limit[] = {1e-6, 2e-6, 1e-5, 2e-6};
    for (size_t ci = 0; ci < NCASES; ci++) {
        const shape_case *c = &CASES[ci];
        for (int ai = 0; ai < 4; ai++) {
            if (algos[ai] == LAM_CONV_DIRECT && ci < FIRST_LAYERS) continue;
            conv_run r;
            if (!run_conv(c, algos[ai], c->B, 11, &r)) continue;
            /* the same upstream gradient as run_conv drew */
            lam_rng rng;
            lam_rng_seed(&rng, 11);
            long per_img = (long)c->C * c->H * c->W;
            float *tmp = malloc(sizeof(float) * (size_t)(per_img * c->B + r.nw + c->K + r.ny));
            fill(tmp, per_img * c->B + r.nw + c->K, &rng, 1.0f); /* x, w, b draws (scales do not matter here) */
            fill(tmp, r.ny, &rng, 1.0f);
            ref_out o = reference(c, &r, tmp);
            double e[4] = {scaled_err(lam_node_data(r.y), o.y, r.ny), scaled_err(lam_node_grad(r.x), o.gx, r.nx),
                           scaled_err(lam_node_grad(r.w), o.gw, r.nw), scaled_err(lam_node_grad(r.b), o.gb, c->K)};
            printf("# %-38s %-7s error / scale: y %.2g, dx %.2g, dw %.2g, db %.2g\n", c->name, names[ai], e[0], e[1],
                   e[2], e[3]);
            for (int t = 0; t < 4; t++)
                CHECK_MSG(e[t] <= limit[ai], "%s %s tensor %d: error %.3g of scale > %.3g", c->name, names[ai], t, e[t],
                          limit[ai]);
            free(o.y), free(o.gx), free(o.gw), free(o.gb), free(tmp);
            lam_graph_free(r.g);
        }
    }
}

static bool same_bits(const float *a, const float *b, long n)
{
    return memcmp(a, b, sizeof(float) * (size_t)n) == 0;
}

static void compare_runs(const char *what, const conv_run *a, const conv_run *b)
{
    CHECK_MSG(same_bits(lam_node_data(a->y), lam_node_data(b->y), a->ny), "%s: outputs differ", what);
    CHECK_MSG(same_bits(lam_node_grad(a->x), lam_node_grad(b->x), a->nx), "%s: input gradients differ", what);
    CHECK_MSG(same_bits(lam_node_grad(a->w), lam_node_grad(b->w), a->nw), "%s: weight gradients differ", what);
}

static void test_same_bits_for_threads_and_kernels(void)
{
    static const lam_conv_algo algos[] = {LAM_CONV_WINOGRAD_F2, LAM_CONV_WINOGRAD_F4, LAM_CONV_DIRECT};
    for (int m = 0; m < 3; m++) {
        lam_conv_algo algo = algos[m];
        const shape_case *c = &CASES[algo == LAM_CONV_DIRECT ? 4 : 0];
        conv_run r1, r2, rb;
        lam_set_threads(1);
        bool ok1 = run_conv(c, algo, c->B, 5, &r1);
        lam_set_threads(2);
        bool ok2 = run_conv(c, algo, c->B, 5, &r2);
        lam_wino_force_base(true);
        lam_direct_force_base(true);
        bool ok3 = run_conv(c, algo, c->B, 5, &rb);
        lam_wino_force_base(false);
        lam_direct_force_base(false);
        lam_set_threads(0);
        if (ok1 && ok2) compare_runs("1 vs 2 threads", &r1, &r2);
        if (ok1 && ok3) compare_runs("AVX2 vs baseline kernels", &r1, &rb);
        if (ok1) lam_graph_free(r1.g);
        if (ok2) lam_graph_free(r2.g);
        if (ok3) lam_graph_free(rb.g);
    }
}

/* image 0's output does not depend on how many images run with it */
static void test_batch_invariance(void)
{
    for (int m = 0; m < 2; m++) {
        const shape_case *c = &CASES[m ? 4 : 2];
        lam_conv_algo algo = m ? LAM_CONV_DIRECT : LAM_CONV_WINOGRAD_F4;
        conv_run full, one;
        if (!run_conv(c, algo, c->B, 9, &full)) return;
        if (run_conv(c, algo, 1, 9, &one)) {
            CHECK_MSG(same_bits(lam_node_data(full.y), lam_node_data(one.y), one.ny), "batch 1 vs %d: image 0 differs",
                      c->B);
            lam_graph_free(one.g);
        }
        lam_graph_free(full.g);
    }
}

static void test_rejects_other_geometries(void)
{
    static const struct {
        int k, stride, dil;
    } bad[] = {{5, 1, 1}, {3, 2, 1}, {3, 1, 2}};
    for (int i = 0; i < 3; i++) {
        lam_graph *g = lam_graph_new(1);
        lam_node *x = lam_input(g, "x", lam_shape3(4, 12, 12));
        lam_node *w = lam_param(g, "w", lam_shape4(8, 4, bad[i].k, bad[i].k), (lam_init){0});
        lam_conv2d_args a = lam_conv2d_args_defaults();
        a.stride_h = a.stride_w = bad[i].stride;
        a.dil_h = a.dil_w = bad[i].dil;
        a.algo = LAM_CONV_WINOGRAD_F4;
        lam_node *y = lam_conv2d_op(g, x, w, NULL, &a);
        CHECK(y == NULL);
        CHECK(lam_graph_status(g) == LAM_ERR_ARG);
        CHECK_MSG(strstr(lam_graph_error(g), "Winograd needs a 3x3 kernel") != NULL, "message: %s", lam_graph_error(g));
        lam_graph_free(g);
        /* AUTO on the same geometry falls back to im2col */
        g = lam_graph_new(1);
        x = lam_input(g, "x", lam_shape3(4, 12, 12));
        w = lam_param(g, "w", lam_shape4(8, 4, bad[i].k, bad[i].k), (lam_init){0});
        a.algo = LAM_CONV_AUTO;
        CHECK(lam_conv2d_op(g, x, w, NULL, &a) != NULL);
        if (bad[i].k == 3) { /* direct: stride 2 and dilation 2 are errors too */
            a.algo = LAM_CONV_DIRECT;
            CHECK(lam_conv2d_op(g, x, w, NULL, &a) == NULL);
            CHECK_MSG(strstr(lam_graph_error(g), "direct needs stride 1") != NULL, "message: %s", lam_graph_error(g));
            lam_graph_free(g);
            g = lam_graph_new(1);
            x = lam_input(g, "x", lam_shape3(4, 12, 12));
            w = lam_param(g, "w", lam_shape4(8, 4, bad[i].k, bad[i].k), (lam_init){0});
        }
        a.algo = (lam_conv_algo)99;
        CHECK(lam_conv2d_op(g, x, w, NULL, &a) == NULL);
        lam_graph_free(g);
    }
}

int main(void)
{
    RUN(test_matches_float64_reference);
    RUN(test_same_bits_for_threads_and_kernels);
    RUN(test_batch_invariance);
    RUN(test_rejects_other_geometries);
    TEST_MAIN_END;
}
