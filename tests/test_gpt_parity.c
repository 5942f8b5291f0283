/* End-to-end training parity with PyTorch, as llm.c tests its GPT-2: a
 * tiny GPT (token and learned position embeddings, two pre-LN blocks of
 * two heads with the fused causal attention, final LayerNorm, Linear head)
 * built with the public C API, started from PyTorch's initial weights and
 * trained for ten AdamW steps (lr 1e-2, weight decay 0.1 on every
 * parameter) on PyTorch's batches, gives PyTorch's loss at every step
 * (relative difference <= 1e-4) and its parameters at the end
 * (tests/golden/gpt_parity.txt, made by tests/golden/make_gpt_parity.py).
 * The whole run gives the same bits for 1 and 2 threads and with the
 * portable kernels. */
#include "golden.h"
#include "kernels/isa.h"
#include "lamina/lamina.h"
#include "test.h"

#define FIXTURE "tests/golden/gpt_parity.txt"

enum { V = 11, C = 16, NH = 2, L = 2, B = 3, T = 10, MAX_STEPS = 64, MAX_PARAMS = 40 };

/* Per-step loss: relative to torch's (the bound).  Final parameters:
 * |got - torch| <= PARAM_ATOL + PARAM_RTOL |torch|; torch's own float32 run
 * is up to 39 x (1e-6 + 1e-4 |f64|) from its float64 run (AdamW's steps
 * amplify rounding where a gradient is near zero), so this is the scale of
 * agreement two correct float32 implementations reach. */
#define LOSS_RTOL 1e-4
#define PARAM_ATOL 2e-4
#define PARAM_RTOL 2e-3

typedef struct run_result {
    bool ok;
    int steps;
    float loss[MAX_STEPS];
    size_t total;
    float *final; /* lam_graph_param_total floats, in the graph's layout */
    size_t nparams;
    char names[MAX_PARAMS][64];
    size_t offset[MAX_PARAMS], numel[MAX_PARAMS];
} run_result;

static void run_free(run_result *r)
{
    free(r->final);
    memset(r, 0, sizeof *r);
}

/* Build the model, load torch's initial weights, train on the fixture's
 * batches with `threads` threads; the losses and final parameters in *r. */
static void train_run(const golden_file *gf, int threads, run_result *r)
{
    memset(r, 0, sizeof *r);
    const golden_tensor *cfg = golden_get(gf, "config");
    CHECK(cfg && cfg->n == 9);
    if (!cfg || cfg->n != 9) return;
    CHECK_MSG(cfg->v[0] == V && cfg->v[1] == C && cfg->v[2] == NH && cfg->v[3] == L && cfg->v[4] == B &&
                  cfg->v[5] == T && fabs(cfg->v[7] - 1e-2) < 1e-9 && fabs(cfg->v[8] - 0.1) < 1e-9,
              "fixture config differs from the test's model");
    r->steps = (int)cfg->v[6];
    CHECK(r->steps >= 10 && r->steps <= MAX_STEPS);
    if (r->steps < 1 || r->steps > MAX_STEPS) return;

    int prev_threads = lam_get_threads();
    lam_set_threads(threads);

    lam_graph *g = lam_graph_new(0);
    lam_node *x = lam_input_ids(g, "x", lam_shape1(T)); /* int32 ids [B, T] */
    lam_node *y = lam_input_ids(g, "labels", lam_shape1(T));
    lam_embedding_opts eo = lam_embedding_opts_defaults(V, C);
    lam_node *h = lam_nn_embedding(g, x, "tok", &eo);
    h = lam_nn_pos_embedding(g, h, "pos", T, 0.02f);
    lam_transformer_opts to = lam_transformer_opts_defaults(NH);
    for (int l = 0; l < L; l++) {
        char bn[32];
        snprintf(bn, sizeof bn, "blocks.%d", l);
        h = lam_nn_transformer_block(g, h, NULL, bn, &to);
    }
    h = lam_nn_norm(g, h, "ln_f", LAM_NORM_LAYER, 1e-5f, true);
    lam_dense_opts d = lam_dense_opts_defaults(V, LAM_ACT_NONE);
    lam_node *logits = lam_nn_dense(g, h, "head", &d); /* [B, T, V] */
    lam_node *loss = lam_softmax_ce_loss(g, logits, y); /* mean over B*T rows */
    lam_compile_opts co = lam_compile_opts_defaults();
    co.max_batch = B;
    lam_status s = lam_graph_compile(g, &co);
    CHECK_MSG(s == LAM_OK, "compile: %s", lam_last_error());
    lam_optim *opt = NULL;
    if (s != LAM_OK) goto done;

    /* every parameter comes from the fixture (none keeps Lamina's own init)
     * and every initial tensor of the fixture is a parameter */
    r->nparams = lam_graph_param_count(g);
    r->total = lam_graph_param_total(g);
    CHECK_MSG(r->nparams == 2 + 12 * L + 4, "%zu parameters", r->nparams);
    if (r->nparams > MAX_PARAMS) goto done;
    lam_param_span spans[MAX_PARAMS];
    for (size_t i = 0; i < r->nparams; i++) {
        const lam_param_info *p = lam_graph_param_at(g, i);
        snprintf(r->names[i], sizeof r->names[i], "%s", p->name);
        r->offset[i] = p->offset;
        r->numel[i] = p->numel;
        const golden_tensor *t = golden_get(gf, p->name);
        CHECK_MSG(t && (long)p->numel == t->n, "initial %s", p->name);
        if (!t || (long)p->numel != t->n) goto done;
        CHECK(lam_graph_param_find(g, p->name) == p);
        golden_to_f32(t, lam_graph_params(g) + lam_graph_param_find(g, p->name)->offset);
        spans[i] = (lam_param_span){p->name, p->offset, p->numel, 0};
    }
    size_t in_fixture = 0; /* the fixture's initial parameters: all but config, step*, loss*, final.* */
    for (int i = 0; i < gf->count; i++) {
        const char *n = gf->t[i].name;
        in_fixture += strcmp(n, "config") && strncmp(n, "step", 4) && strncmp(n, "loss", 4) && strncmp(n, "final.", 6);
    }
    CHECK_MSG(in_fixture == r->nparams, "%zu initial tensors in the fixture, %zu parameters", in_fixture, r->nparams);

    lam_param_group adamw = lam_param_group_defaults(LAM_OPTIM_ADAMW);
    adamw.lr = 1e-2;
    adamw.beta1 = 0.9;
    adamw.beta2 = 0.999;
    adamw.eps = 1e-8;
    adamw.weight_decay = 0.1;
    opt = lam_optim_new(LAM_OPTIM_ADAMW, r->total, spans, r->nparams, &adamw, 1);
    CHECK_MSG(opt != NULL, "optimiser: %s", lam_last_error());
    if (!opt) goto done;

    for (int k = 1; k <= r->steps; k++) {
        char nx[32], ny[32];
        snprintf(nx, sizeof nx, "step%d.x", k);
        snprintf(ny, sizeof ny, "step%d.y", k);
        const golden_tensor *bx = golden_get(gf, nx), *by = golden_get(gf, ny);
        CHECK(bx && by && bx->n == B * T && by->n == B * T);
        if (!bx || !by || bx->n != B * T || by->n != B * T) goto done;
        for (int i = 0; i < B * T; i++) {
            lam_node_ids(x)[i] = (int32_t)bx->v[i];
            lam_node_ids(y)[i] = (int32_t)by->v[i];
        }
        CHECK_OK(lam_graph_forward(g, B, true));
        r->loss[k - 1] = lam_node_data(loss)[0];
        lam_graph_zero_grad(g);
        CHECK_OK(lam_graph_backward(g, loss));
        CHECK_OK(lam_optim_step(opt, lam_graph_params(g), lam_graph_grads(g), 1.0f));
    }
    r->final = malloc(sizeof(float) * r->total);
    if (r->final) {
        memcpy(r->final, lam_graph_params(g), sizeof(float) * r->total);
        r->ok = true;
    }
done:
    lam_optim_free(opt);
    lam_graph_free(g);
    lam_set_threads(prev_threads);
}

static golden_file gf;
static bool gf_loaded;
static run_result run1; /* 1 thread, shared by the tests below */

static bool setup(void)
{
    if (!gf_loaded) {
        if (golden_load(FIXTURE, &gf) != 0) return false;
        gf_loaded = true;
        train_run(&gf, 1, &run1);
    }
    return run1.ok;
}

static void test_losses_match_torch(void)
{
    CHECK(setup());
    if (!run1.ok) return;
    double worst = 0;
    int worst_k = 0;
    for (int k = 1; k <= run1.steps; k++) {
        char name[32];
        snprintf(name, sizeof name, "loss%d", k);
        const golden_tensor *t = golden_get(&gf, name);
        CHECK(t && t->n == 1);
        if (!t) continue;
        double rel = fabs(run1.loss[k - 1] - t->v[0]) / fabs(t->v[0]);
        CHECK_MSG(rel <= LOSS_RTOL, "step %d: loss %.9g, torch %.9g (relative %.3g)", k, run1.loss[k - 1],
                  t->v[0], rel);
        if (rel >= worst) worst = rel, worst_k = k;
    }
    /* the run is not trivial: the loss falls */
    CHECK(run1.loss[run1.steps - 1] < run1.loss[0] - 0.1f);
    printf("# %d steps: loss %.6f -> %.6f; worst relative loss difference from torch %.3g (step %d)\n",
           run1.steps, run1.loss[0], run1.loss[run1.steps - 1], worst, worst_k);
}

static void test_final_params_match_torch(void)
{
    CHECK(setup());
    if (!run1.ok) return;
    double worst = 0, worst_abs = 0, moved = 0;
    const char *worst_name = "";
    for (size_t i = 0; i < run1.nparams; i++) {
        char name[96];
        snprintf(name, sizeof name, "final.%s", run1.names[i]);
        const golden_tensor *t = golden_get(&gf, name), *t0 = golden_get(&gf, run1.names[i]);
        CHECK(t && t0 && (long)run1.numel[i] == t->n);
        if (!t || !t0 || (long)run1.numel[i] != t->n) continue;
        const float *got = run1.final + run1.offset[i];
        int bad = 0;
        for (long j = 0; j < t->n; j++) {
            double diff = fabs(got[j] - t->v[j]);
            double r = diff / (PARAM_ATOL + PARAM_RTOL * fabs(t->v[j]));
            if (r > 1.0 && bad++ < 5) /* the first few */
                CHECK_MSG(r <= 1.0, "%s[%ld] = %.9g, torch %.9g", name, j, got[j], t->v[j]);
            if (r > worst) worst = r, worst_name = run1.names[i];
            if (diff > worst_abs) worst_abs = diff;
            if (fabs(t->v[j] - t0->v[j]) > moved) moved = fabs(t->v[j] - t0->v[j]);
        }
    }
    /* the parameters did move, by far more than the tolerance */
    CHECK(moved > 0.02);
    printf("# final parameters: worst |got - torch| = %.3g, %.3f of the tolerance (%g + %g |torch|, in %s); "
           "largest move %.3f\n",
           worst_abs, worst, PARAM_ATOL, PARAM_RTOL, worst_name, moved);
}

static void test_portable_kernels_same_bits(void)
{
    CHECK(setup());
    if (!run1.ok) return;
    run_result rg;
    lam_k_isa_force_generic(true);
    train_run(&gf, 1, &rg);
    lam_k_isa_force_generic(false);
    CHECK(rg.ok);
    if (rg.ok) {
        CHECK(rg.total == run1.total && memcmp(rg.final, run1.final, sizeof(float) * run1.total) == 0);
        CHECK(memcmp(rg.loss, run1.loss, sizeof run1.loss) == 0);
    }
    run_free(&rg);
}

static void test_threads_same_bits(void)
{
    CHECK(setup());
    if (!run1.ok) return;
    run_result run2;
    train_run(&gf, 2, &run2);
    CHECK(run2.ok);
    if (run2.ok) {
        CHECK(run2.total == run1.total);
        CHECK(run2.total == run1.total && memcmp(run2.final, run1.final, sizeof(float) * run1.total) == 0);
        CHECK(memcmp(run2.loss, run1.loss, sizeof run1.loss) == 0);
    }
    run_free(&run2);
}

int main(void)
{
    RUN(test_losses_match_torch);
    RUN(test_final_params_match_torch);
    RUN(test_threads_same_bits);
    RUN(test_portable_kernels_same_bits);
    run_free(&run1);
    golden_free(&gf);
    TEST_MAIN_END;
}
