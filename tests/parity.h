/* The shared half of the end-to-end training-parity tests with PyTorch, in
 * the spirit of llm.c (test_gpt_parity.c, test_lm_parity.c).  A test gives a
 * parity_spec: its fixture (tests/golden/NAME_parity.txt, made by the committed
 * make_NAME_parity.py), the model built with the public C API from int32 ids
 * x and labels y [B, T] to a loss, and one optimiser.  parity_train starts
 * the model from the fixture's initial weights (every parameter comes from
 * the fixture, and every initial tensor of the fixture is a parameter),
 * trains it on the fixture's batches (stepK.x, stepK.y) and keeps the loss
 * of every step and the final parameters; the checks compare them with the
 * fixture's (lossK, final.NAME) and with a second run.  Test-only code. */
#ifndef LAMINA_TESTS_PARITY_H
#define LAMINA_TESTS_PARITY_H

#include "golden.h"
#include "lamina/lamina.h"
#include "test.h"

enum { PARITY_MAX_STEPS = 64, PARITY_MAX_PARAMS = 40, PARITY_MAX_CONFIG = 16 };

typedef struct parity_spec {
    const char *fixture;
    int B, T;
    /* the fixture's "config" tensor: ncfg values, each equal to cfg[i] but
     * cfg[steps_at], which is the number of steps (10 to PARITY_MAX_STEPS) */
    int ncfg, steps_at;
    double cfg[PARITY_MAX_CONFIG];
    size_t nparams; /* the model's parameter tensors */
    lam_node *(*build)(lam_graph *g, lam_node *x, lam_node *y); /* the loss */
    lam_optim_kind optim;
    lam_param_group group;
    /* per-step loss: relative to torch's; final parameters: |got - torch| <=
     * param_atol + param_rtol |torch|, and some parameter moved by more
     * than min_move (the run is not trivial) */
    double loss_rtol, param_atol, param_rtol, min_move;
} parity_spec;

typedef struct parity_run {
    bool ok;
    int steps;
    float loss[PARITY_MAX_STEPS];
    size_t total;
    float *final; /* lam_graph_param_total floats, in the graph's layout */
    size_t nparams;
    char names[PARITY_MAX_PARAMS][64];
    size_t offset[PARITY_MAX_PARAMS], numel[PARITY_MAX_PARAMS];
} parity_run;

static void parity_free(parity_run *r)
{
    free(r->final);
    memset(r, 0, sizeof *r);
}

/* Build the model, load torch's initial weights, train on the fixture's
 * batches with `threads` threads; the losses and final parameters in *r. */
static void parity_train(const parity_spec *sp, const golden_file *gf, int threads, parity_run *r)
{
    memset(r, 0, sizeof *r);
    const golden_tensor *cfg = golden_get(gf, "config");
    CHECK(cfg && cfg->n == sp->ncfg);
    if (!cfg || cfg->n != sp->ncfg) return;
    for (int i = 0; i < sp->ncfg; i++)
        CHECK_MSG(i == sp->steps_at || fabs(cfg->v[i] - sp->cfg[i]) < 1e-9,
                  "fixture config[%d] = %g, the test's model has %g", i, cfg->v[i], sp->cfg[i]);
    r->steps = (int)cfg->v[sp->steps_at];
    CHECK(r->steps >= 10 && r->steps <= PARITY_MAX_STEPS);
    if (r->steps < 1 || r->steps > PARITY_MAX_STEPS) return;
    const int B = sp->B, T = sp->T;

    int prev_threads = lam_get_threads();
    lam_set_threads(threads);

    lam_graph *g = lam_graph_new(0);
    lam_node *x = lam_input_ids(g, "x", lam_shape1(T)); /* int32 ids [B, T] */
    lam_node *y = lam_input_ids(g, "labels", lam_shape1(T));
    lam_node *loss = sp->build(g, x, y);
    lam_compile_opts co = lam_compile_opts_defaults();
    co.max_batch = B;
    lam_status s = lam_graph_compile(g, &co);
    CHECK_MSG(s == LAM_OK, "compile: %s", lam_last_error());
    lam_optim *opt = NULL;
    if (s != LAM_OK) goto done;

    r->nparams = lam_graph_param_count(g);
    r->total = lam_graph_param_total(g);
    CHECK_MSG(r->nparams == sp->nparams, "%zu parameters", r->nparams);
    if (r->nparams > PARITY_MAX_PARAMS) goto done;
    lam_param_span spans[PARITY_MAX_PARAMS];
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

    opt = lam_optim_new(sp->optim, r->total, spans, r->nparams, &sp->group, 1);
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

static golden_file parity_gf;
static bool parity_loaded;
static parity_run parity_run1; /* 1 thread, shared by the checks below */

static bool parity_setup(const parity_spec *sp)
{
    if (!parity_loaded) {
        if (golden_load(sp->fixture, &parity_gf) != 0) return false;
        parity_loaded = true;
        parity_train(sp, &parity_gf, 1, &parity_run1);
    }
    return parity_run1.ok;
}

static void parity_end(void)
{
    parity_free(&parity_run1);
    golden_free(&parity_gf);
}

/* torch's loss at every step */
static void parity_check_losses(const parity_spec *sp)
{
    CHECK(parity_setup(sp));
    const parity_run *r = &parity_run1;
    if (!r->ok) return;
    double worst = 0;
    int worst_k = 0;
    for (int k = 1; k <= r->steps; k++) {
        char name[32];
        snprintf(name, sizeof name, "loss%d", k);
        const golden_tensor *t = golden_get(&parity_gf, name);
        CHECK(t && t->n == 1);
        if (!t) continue;
        double rel = fabs(r->loss[k - 1] - t->v[0]) / fabs(t->v[0]);
        CHECK_MSG(rel <= sp->loss_rtol, "step %d: loss %.9g, torch %.9g (relative %.3g)", k, r->loss[k - 1],
                  t->v[0], rel);
        if (rel >= worst) worst = rel, worst_k = k;
    }
    /* the run is not trivial: the loss falls */
    CHECK(r->loss[r->steps - 1] < r->loss[0] - 0.1f);
    printf("# %d steps: loss %.6f -> %.6f; worst relative loss difference from torch %.3g (step %d)\n", r->steps,
           r->loss[0], r->loss[r->steps - 1], worst, worst_k);
}

/* torch's parameters at the end */
static void parity_check_final(const parity_spec *sp)
{
    CHECK(parity_setup(sp));
    const parity_run *r = &parity_run1;
    if (!r->ok) return;
    double worst = 0, worst_abs = 0, moved = 0;
    const char *worst_name = "";
    for (size_t i = 0; i < r->nparams; i++) {
        char name[96];
        snprintf(name, sizeof name, "final.%s", r->names[i]);
        const golden_tensor *t = golden_get(&parity_gf, name), *t0 = golden_get(&parity_gf, r->names[i]);
        CHECK(t && t0 && (long)r->numel[i] == t->n);
        if (!t || !t0 || (long)r->numel[i] != t->n) continue;
        const float *got = r->final + r->offset[i];
        int bad = 0;
        for (long j = 0; j < t->n; j++) {
            double diff = fabs(got[j] - t->v[j]);
            double q = diff / (sp->param_atol + sp->param_rtol * fabs(t->v[j]));
            if (q > 1.0 && bad++ < 5) /* the first few */
                CHECK_MSG(q <= 1.0, "%s[%ld] = %.9g, torch %.9g", name, j, got[j], t->v[j]);
            if (q > worst) worst = q, worst_name = r->names[i];
            if (diff > worst_abs) worst_abs = diff;
            if (fabs(t->v[j] - t0->v[j]) > moved) moved = fabs(t->v[j] - t0->v[j]);
        }
    }
    /* the parameters did move, by far more than the tolerance */
    CHECK(moved > sp->min_move);
    printf("# final parameters: worst |got - torch| = %.3g, %.3f of the tolerance (%g + %g |torch|, in %s); "
           "largest move %.3f\n",
           worst_abs, worst, sp->param_atol, sp->param_rtol, worst_name, moved);
}

/* A second run with `threads` threads gives the first run's bits: every
 * loss and every final parameter. */
static void parity_check_rerun(const parity_spec *sp, int threads)
{
    CHECK(parity_setup(sp));
    if (!parity_run1.ok) return;
    parity_run r2;
    parity_train(sp, &parity_gf, threads, &r2);
    CHECK(r2.ok);
    if (r2.ok) {
        CHECK(r2.total == parity_run1.total &&
              memcmp(r2.final, parity_run1.final, sizeof(float) * parity_run1.total) == 0);
        CHECK(memcmp(r2.loss, parity_run1.loss, sizeof r2.loss) == 0);
    }
    parity_free(&r2);
}

#endif
