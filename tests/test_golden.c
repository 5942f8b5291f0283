/* Golden tests against PyTorch: dense forward/backward for every fused
 * activation, and every loss with its gradient, from tests/golden/core.txt
 * (made by tests/golden/make_core.py).  Optimiser steps are checked against
 * PyTorch in test_optim.c. */
#include "golden.h"
#include "lamina/graph.h"
#include "test.h"

static golden_file gf;

static void expect(const char *what, const float *got, const golden_tensor *t, double atol, double rtol)
{
    if (!t) {
        CHECK(t != NULL);
        return;
    }
    int bad = 0;
    for (long i = 0; i < t->n && bad < 5; i++)
        if (!(fabs(got[i] - t->v[i]) <= atol + rtol * fabs(t->v[i]))) {
            fprintf(stderr, "  %s[%ld] = %.9g, torch %.9g\n", what, i, got[i], t->v[i]);
            bad++;
        }
    CHECK_MSG(bad == 0, "%s differs from PyTorch", what);
}

static void set_param(lam_graph *g, const char *name, const golden_tensor *t)
{
    const lam_param_info *p = lam_graph_param_find(g, name);
    golden_to_f32(t, lam_graph_params(g) + p->offset);
}

static void dense_case(const char *act_name, lam_act act)
{
    char k[64];
#define G(suffix) (snprintf(k, sizeof k, "dense_%s.%s", act_name, suffix), golden_get(&gf, k))
    const golden_tensor *x = G("x"), *w = G("w"), *b = G("b"), *gy = G("gy");
    if (!x || !w || !b || !gy) {
        CHECK(0);
        return;
    }
    lam_graph *g = lam_graph_new(0);
    lam_node *nx = lam_param(g, "x", lam_shape2(x->d[0], x->d[1]), (lam_init){0});
    lam_node *nw = lam_param(g, "w", lam_shape2(w->d[0], w->d[1]), (lam_init){0});
    lam_node *nb = lam_param(g, "b", lam_shape1(b->d[0]), (lam_init){0});
    lam_node *y = lam_dense_op(g, nx, nw, nb, act);
    CHECK_OK(lam_graph_compile(g, NULL));
    set_param(g, "x", x);
    set_param(g, "w", w);
    set_param(g, "b", b);
    float seed[256];
    golden_to_f32(gy, seed);
    CHECK_OK(lam_graph_forward(g, 1, true));
    lam_graph_zero_grad(g);
    CHECK_OK(lam_graph_backward_seed(g, y, seed));
    snprintf(k, sizeof k, "dense_%s y", act_name);
    expect(k, lam_node_data(y), G("y"), 1e-6, 1e-5);
    expect("grad x", lam_node_grad(nx), G("gx"), 1e-6, 1e-5);
    expect("grad weight", lam_node_grad(nw), G("gw"), 1e-6, 1e-5);
    expect("grad bias", lam_node_grad(nb), G("gb"), 1e-6, 1e-5);
    lam_graph_free(g);
#undef G
}

static void test_dense_matches_torch(void)
{
    dense_case("none", LAM_ACT_NONE);
    dense_case("relu", LAM_ACT_RELU);
    dense_case("sigmoid", LAM_ACT_SIGMOID);
    dense_case("tanh", LAM_ACT_TANH);
    dense_case("gelu", LAM_ACT_GELU);
}

/* loss(pred, target) with a float target or int labels */
static void loss_case(const char *name, const char *in_name, const char *tgt_name, const char *grad_name)
{
    char k[64];
    snprintf(k, sizeof k, "%s.%s", name, in_name);
    const golden_tensor *x = golden_get(&gf, k);
    snprintf(k, sizeof k, "%s.%s", name, tgt_name);
    const golden_tensor *t = golden_get(&gf, k);
    if (!x || !t) {
        CHECK(0);
        return;
    }
    int B = (int)x->d[0];
    lam_graph *g = lam_graph_new(0);
    lam_node *nx, *loss;
    if (!strcmp(name, "ce")) {
        /* labels carry the batch, so the logits do too: an input plus a zero
         * bias (a parameter), through which the gradient is read */
        lam_node *xin = lam_input(g, "xin", lam_shape1(x->d[1]));
        nx = lam_bias_add(g, xin, lam_param(g, "zero", lam_shape1(x->d[1]), (lam_init){0}));
        lam_node *nt = lam_input_labels(g, "labels");
        loss = lam_softmax_ce_loss(g, nx, nt);
        lam_compile_opts co = lam_compile_opts_defaults();
        co.max_batch = B;
        CHECK_OK(lam_graph_compile(g, &co));
        golden_to_f32(x, lam_node_data(xin));
        for (int i = 0; i < B; i++) lam_node_labels(nt)[i] = (int32_t)t->v[i];
        CHECK_OK(lam_graph_forward(g, B, true));
    } else {
        nx = lam_param(g, "x", lam_shape2(x->d[0], x->d[1]), (lam_init){0});
        lam_node *nt = lam_param(g, "t", lam_shape2(t->d[0], t->d[1]), (lam_init){0});
        loss = !strcmp(name, "mse") ? lam_mse_loss(g, nx, nt) : lam_bce_logits_loss(g, nx, nt);
        CHECK_OK(lam_graph_compile(g, NULL));
        set_param(g, "x", x);
        set_param(g, "t", t);
        CHECK_OK(lam_graph_forward(g, 1, true));
    }
    lam_graph_zero_grad(g);
    CHECK_OK(lam_graph_backward(g, loss));
    snprintf(k, sizeof k, "%s.loss", name);
    expect(k, lam_node_data(loss), golden_get(&gf, k), 1e-6, 1e-5);
    snprintf(k, sizeof k, "%s.%s", name, grad_name);
    expect(k, lam_node_grad(nx), golden_get(&gf, k), 1e-7, 1e-5);
    lam_graph_free(g);
}

static void test_losses_match_torch(void)
{
    loss_case("mse", "pred", "target", "gpred");
    loss_case("ce", "logits", "labels", "glogits");
    loss_case("bce", "logits", "target", "glogits");
}

int main(void)
{
    if (golden_load("tests/golden/core.txt", &gf) != 0) {
        printf("FAIL load_fixtures\n");
        return 1;
    }
    RUN(test_dense_matches_torch);
    RUN(test_losses_match_torch);
    golden_free(&gf);
    TEST_MAIN_END;
}
