/* Tests of the optim layer: every optimiser config, the schedules and the
 * clipping against torch fixtures (tests/golden/optim_*.txt, made by
 * tests/golden/make_optim.py), plus properties: frozen groups untouched,
 * per-group lr, lr_factor, save/restore resumes bit for bit, bad
 * hyper-parameters rejected, allocation faults clean, no allocation in a
 * step, thread-count invariance.  Run from the repository root. */
#include "lamina/optim.h"

#include "golden.h"
#include "test.h"

#include <stdint.h>

#ifndef ATOL
#define ATOL 1e-6
#endif
#ifndef RTOL
#define RTOL 1e-5
#endif

/* Golden layout: p1 (5) at offset 0, p0 (3x4) at offset 5, then a gap of 3
 * elements that belongs to no span and must never change. */
#define OFF_P1 0
#define OFF_P0 5
#define N_P0 12
#define N_P1 5
#define TOTAL 20

static const lam_param_span golden_spans[2] = {
    {"p0", OFF_P0, N_P0, 0},
    {"p1", OFF_P1, N_P1, 1},
};

/* golden_get without the "missing" message, for optional entries. */
static const golden_tensor *gfind(const golden_file *g, const char *name)
{
    for (int i = 0; i < g->count; i++)
        if (strcmp(g->t[i].name, name) == 0) return &g->t[i];
    return NULL;
}

/* Compare n floats with a golden tensor; prints the first few mismatches. */
static int cmp_vec(const char *what, const float *got, const golden_tensor *want, long n)
{
    if (!want) {
        t_failed_checks_++;
        fprintf(stderr, "  %s: golden tensor missing\n", what);
        return 1;
    }
    if (want->n != n) {
        t_failed_checks_++;
        fprintf(stderr, "  %s: golden has %ld values, expected %ld\n", what, want->n, n);
        return 1;
    }
    int bad = 0;
    for (long i = 0; i < n; i++) {
        double a = got[i], b = want->v[i];
        if (!(fabs(a - b) <= ATOL + RTOL * fabs(b))) {
            if (bad < 3) fprintf(stderr, "  %s[%ld] = %.9g, torch %.9g\n", what, i, a, b);
            bad++;
        }
    }
    if (bad) t_failed_checks_++;
    return bad;
}

static double gscalar(const golden_file *g, const char *name, double dflt)
{
    const golden_tensor *t = gfind(g, name);
    return t ? t->v[0] : dflt;
}

/* The group settings a config file records (torch's resolved param_groups). */
static lam_param_group golden_group(const golden_file *g, lam_optim_kind kind, int gi)
{
    lam_param_group p = lam_param_group_defaults(kind);
    char k[64];
#define FIELD(f)                                        \
    snprintf(k, sizeof k, "g%d_%s", gi, #f);            \
    p.f = gscalar(g, k, p.f)
#define FLAG(f)                                         \
    snprintf(k, sizeof k, "g%d_%s", gi, #f);            \
    p.f = gscalar(g, k, p.f ? 1 : 0) != 0
    FIELD(lr);
    FIELD(momentum);
    FIELD(dampening);
    FLAG(nesterov);
    FIELD(weight_decay);
    FIELD(eps);
    FIELD(alpha);
    FLAG(centered);
    FIELD(lr_decay);
    FIELD(initial_accumulator_value);
    FLAG(amsgrad);
    FIELD(beta1);
    FIELD(beta2);
#undef FIELD
#undef FLAG
    return p;
}

static void load_p(const golden_file *in, const char *n0, const char *n1, float *buf)
{
    const golden_tensor *a = golden_get(in, n0), *b = golden_get(in, n1);
    if (a) golden_to_f32(a, buf + OFF_P0);
    if (b) golden_to_f32(b, buf + OFF_P1);
}

static void run_golden_config(const golden_file *in, const char *cfg, lam_optim_kind kind)
{
    char path[256], name[192];
    snprintf(path, sizeof path, "tests/golden/optim_%s.txt", cfg);
    golden_file g;
    if (golden_load(path, &g) != 0) {
        t_failed_checks_++;
        return;
    }
    lam_param_group groups[2] = {golden_group(&g, kind, 0), golden_group(&g, kind, 1)};
    lam_optim *o = NULL;
    CHECK_OK(lam_optim_create(kind, TOTAL, golden_spans, 2, groups, 2, &o));
    if (!o) {
        golden_free(&g);
        return;
    }
    float p[TOTAL], gr[TOTAL];
    for (int i = 0; i < TOTAL; i++) p[i] = gr[i] = 7.0f + (float)i; /* gap sentinels */
    load_p(in, "p0", "p1", p);
    lam_schedule cos = lam_schedule_defaults(LAM_SCHEDULE_COSINE);
    cos.t_max = (long)gscalar(&g, "cosine_t_max", 0);
    int diverged = 0;
    for (int s = 1; s <= 5 && !diverged; s++) {
        char n0[32], n1[32];
        snprintf(n0, sizeof n0, "g%d_p0", s);
        snprintf(n1, sizeof n1, "g%d_p1", s);
        load_p(in, n0, n1, gr);
        float f = cos.t_max ? lam_schedule_factor(&cos, s - 1) : 1.0f;
        CHECK_OK(lam_optim_step(o, p, gr, f));
        snprintf(name, sizeof name, "%s step%d p0", cfg, s);
        snprintf(n0, sizeof n0, "step%d_p0", s);
        diverged = cmp_vec(name, p + OFF_P0, gfind(&g, n0), N_P0);
        snprintf(name, sizeof name, "%s step%d p1", cfg, s);
        snprintf(n1, sizeof n1, "step%d_p1", s);
        diverged += cmp_vec(name, p + OFF_P1, gfind(&g, n1), N_P1);
    }
    if (diverged) { /* later comparisons would only repeat the news */
        lam_optim_free(o);
        golden_free(&g);
        return;
    }
    for (int i = N_P0 + N_P1; i < TOTAL; i++) CHECK(p[i] == 7.0f + (float)i);
    if (cos.t_max) {
        float f[5];
        for (int s = 0; s < 5; s++) f[s] = lam_schedule_factor(&cos, s);
        cmp_vec("adam_cosine lr_factor", f, gfind(&g, "lr_factor"), 5);
    }
    /* Every torch state tensor has a buffer of the same name and value. */
    int torch_states = 0, matched = 0;
    for (int i = 0; i < g.count; i++)
        if (strncmp(g.t[i].name, "state_", 6) == 0 && strcmp(g.t[i].name, "state_step") != 0)
            torch_states++;
    for (int i = 0; i < lam_optim_state_count(o); i++) {
        lam_optim_state st;
        CHECK_OK(lam_optim_state_at(o, i, &st));
        CHECK(st.numel == TOTAL);
        for (int pi = 0; pi < 2; pi++) {
            char key[96];
            snprintf(key, sizeof key, "state_%s_p%d", st.name, pi);
            const golden_tensor *t = gfind(&g, key);
            if (!t) continue;
            snprintf(name, sizeof name, "%s %s", cfg, key);
            cmp_vec(name, st.data + (pi ? OFF_P1 : OFF_P0), t, pi ? N_P1 : N_P0);
            matched++;
        }
    }
    CHECK_MSG(matched == torch_states, "%s: %d of %d torch state tensors matched", cfg, matched,
              torch_states);
    const golden_tensor *ts = gfind(&g, "state_step");
    if (ts) {
        CHECK(lam_optim_group_get_step(o, 0) == (uint64_t)ts->v[0]);
        CHECK(lam_optim_group_get_step(o, 1) == (uint64_t)ts->v[0]);
    }
    CHECK(lam_optim_get_step(o) == 5);
    lam_optim_free(o);
    golden_free(&g);
}

static void test_golden_optimizers(void)
{
    static const struct { const char *cfg; lam_optim_kind kind; } cfgs[] = {
        {"sgd_plain", LAM_OPTIM_SGD},       {"sgd_momentum", LAM_OPTIM_SGD},
        {"sgd_nesterov", LAM_OPTIM_SGD},    {"adam", LAM_OPTIM_ADAM},
        {"adam_wd", LAM_OPTIM_ADAM},        {"adam_amsgrad", LAM_OPTIM_ADAM},
        {"adamw", LAM_OPTIM_ADAMW},         {"rmsprop", LAM_OPTIM_RMSPROP},
        {"rmsprop_centered", LAM_OPTIM_RMSPROP}, {"adagrad", LAM_OPTIM_ADAGRAD},
        {"adam_cosine", LAM_OPTIM_ADAM},
    };
    golden_file in;
    if (golden_load("tests/golden/optim_inputs.txt", &in) != 0) {
        t_failed_checks_++;
        return;
    }
    for (size_t i = 0; i < sizeof cfgs / sizeof cfgs[0]; i++)
        run_golden_config(&in, cfgs[i].cfg, cfgs[i].kind);
    golden_free(&in);
}

/* ---- schedules ---------------------------------------------------------- */

static void check_schedule(const golden_file *g, const char *prefix, lam_schedule s)
{
    char k[96];
    snprintf(k, sizeof k, "%s_factor", prefix);
    const golden_tensor *want = golden_get(g, k);
    if (!want) {
        t_failed_checks_++;
        return;
    }
    CHECK_OK(lam_schedule_check(&s));
    float f[64];
    for (long t = 0; t < want->n && t < 64; t++) f[t] = lam_schedule_factor(&s, t);
    cmp_vec(prefix, f, want, want->n);
}

static void test_golden_schedules(void)
{
    golden_file g;
    if (golden_load("tests/golden/optim_schedules.txt", &g) != 0) {
        t_failed_checks_++;
        return;
    }
    lam_schedule s = lam_schedule_defaults(LAM_SCHEDULE_STEP);
    s.step_size = (long)gscalar(&g, "steplr_step_size", 0);
    s.gamma = gscalar(&g, "steplr_gamma", 0);
    check_schedule(&g, "steplr", s);

    s = lam_schedule_defaults(LAM_SCHEDULE_MULTISTEP);
    const golden_tensor *ms = golden_get(&g, "multistep_milestones");
    for (long i = 0; ms && i < ms->n; i++) s.milestones[s.n_milestones++] = (long)ms->v[i];
    s.gamma = gscalar(&g, "multistep_gamma", 0);
    check_schedule(&g, "multistep", s);

    s = lam_schedule_defaults(LAM_SCHEDULE_EXPONENTIAL);
    s.gamma = gscalar(&g, "exponential_gamma", 0);
    check_schedule(&g, "exponential", s);

    s = lam_schedule_defaults(LAM_SCHEDULE_COSINE);
    s.t_max = (long)gscalar(&g, "cosine_t_max", 0);
    s.eta_min = gscalar(&g, "cosine_eta_min", 0);
    check_schedule(&g, "cosine", s);
    /* held at eta_min after t_max */
    CHECK_NEAR(lam_schedule_factor(&s, s.t_max + 3), s.eta_min, 1e-7, 0);

    CHECK(lam_schedule_from_name("warmup", &s));
    s.warmup = (long)gscalar(&g, "linear_warmup", 0);
    s.warmup_start_factor = gscalar(&g, "linear_warmup_start", 0);
    check_schedule(&g, "linear", s);

    CHECK(lam_schedule_from_name("warmup_cosine", &s));
    s.warmup = (long)gscalar(&g, "warmup_cosine_warmup", 0);
    s.warmup_start_factor = gscalar(&g, "warmup_cosine_warmup_start", 0);
    s.t_max = (long)gscalar(&g, "warmup_cosine_t_max", 0);
    check_schedule(&g, "warmup_cosine", s);

    CHECK(lam_schedule_from_name("WARMUP_STEP", &s));
    s.warmup = (long)gscalar(&g, "warmup_step_warmup", 0);
    s.warmup_start_factor = gscalar(&g, "warmup_step_warmup_start", 0);
    s.step_size = (long)gscalar(&g, "warmup_step_step_size", 0);
    s.gamma = gscalar(&g, "warmup_step_gamma", 0);
    check_schedule(&g, "warmup_step", s);
    golden_free(&g);
}

static void test_schedule_names_and_checks(void)
{
    static const char *const names[] = {"constant", "step", "multistep", "exponential", "cosine",
                                        "warmup_constant", "warmup_step", "warmup_multistep",
                                        "warmup_exponential", "warmup_cosine"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        lam_schedule s;
        CHECK(lam_schedule_from_name(names[i], &s));
        CHECK(strcmp(lam_schedule_name(&s), names[i]) == 0);
        CHECK(s.warmup == (i >= 5 ? 5 : 0));
        CHECK_OK(lam_schedule_check(&s));
    }
    lam_schedule s = lam_schedule_defaults(LAM_SCHEDULE_CONSTANT);
    CHECK(!lam_schedule_from_name("cosin", &s));
    CHECK(!lam_schedule_from_name("", &s));
    CHECK(s.kind == LAM_SCHEDULE_CONSTANT);
    CHECK(lam_schedule_factor(&s, 1000) == 1.0f);
    /* cosine with t_max unset is constant until the trainer fills it in */
    s = lam_schedule_defaults(LAM_SCHEDULE_COSINE);
    CHECK(lam_schedule_factor(&s, 7) == 1.0f);
    CHECK(lam_schedule_factor(&s, -3) == 1.0f);

    lam_schedule b = lam_schedule_defaults(LAM_SCHEDULE_STEP);
    b.step_size = 0;
    CHECK(lam_schedule_check(&b) == LAM_ERR_ARG);
    b = lam_schedule_defaults(LAM_SCHEDULE_EXPONENTIAL);
    b.gamma = 0;
    CHECK(lam_schedule_check(&b) == LAM_ERR_ARG);
    b = lam_schedule_defaults(LAM_SCHEDULE_MULTISTEP);
    b.n_milestones = 2;
    b.milestones[0] = 5;
    b.milestones[1] = 3;
    CHECK(lam_schedule_check(&b) == LAM_ERR_ARG);
    b = lam_schedule_defaults(LAM_SCHEDULE_COSINE);
    b.eta_min = -0.5;
    CHECK(lam_schedule_check(&b) == LAM_ERR_ARG);
    b = lam_schedule_defaults(LAM_SCHEDULE_CONSTANT);
    b.warmup = 3;
    b.warmup_start_factor = 1.5;
    CHECK(lam_schedule_check(&b) == LAM_ERR_ARG);
    CHECK(strstr(lam_last_error(), "warmup_start_factor") != NULL);
}

/* ---- clipping ----------------------------------------------------------- */

static void test_golden_clip(void)
{
    golden_file in, g;
    if (golden_load("tests/golden/optim_inputs.txt", &in) != 0) {
        t_failed_checks_++;
        return;
    }
    if (golden_load("tests/golden/optim_clip.txt", &g) != 0) {
        golden_free(&in);
        t_failed_checks_++;
        return;
    }
    static const char *const tags[] = {"norm1", "norm100"};
    for (int i = 0; i < 2; i++) {
        float gr[TOTAL];
        char k[64], k0[64], k1[64];
        for (int j = 0; j < TOTAL; j++) gr[j] = 100.0f; /* gap: outside the spans */
        load_p(&in, "g1_p0", "g1_p1", gr);
        snprintf(k, sizeof k, "%s_max_norm", tags[i]);
        double norm = -1, max_norm = gscalar(&g, k, 0);
        CHECK_OK(lam_clip_grad_norm(gr, TOTAL, golden_spans, 2, max_norm, &norm));
        snprintf(k, sizeof k, "%s_total", tags[i]);
        CHECK_NEAR(norm, gscalar(&g, k, 0), 0, 1e-6);
        snprintf(k0, sizeof k0, "%s_p0", tags[i]);
        snprintf(k1, sizeof k1, "%s_p1", tags[i]);
        cmp_vec(k0, gr + OFF_P0, golden_get(&g, k0), N_P0);
        cmp_vec(k1, gr + OFF_P1, golden_get(&g, k1), N_P1);
        for (int j = N_P0 + N_P1; j < TOTAL; j++) CHECK(gr[j] == 100.0f);
    }
    float gr[TOTAL];
    for (int j = 0; j < TOTAL; j++) gr[j] = 100.0f;
    load_p(&in, "g1_p0", "g1_p1", gr);
    CHECK_OK(lam_clip_grad_value(gr, TOTAL, golden_spans, 2, (float)gscalar(&g, "value_clip", 0)));
    cmp_vec("value_p0", gr + OFF_P0, golden_get(&g, "value_p0"), N_P0);
    cmp_vec("value_p1", gr + OFF_P1, golden_get(&g, "value_p1"), N_P1);
    for (int j = N_P0 + N_P1; j < TOTAL; j++) CHECK(gr[j] == 100.0f);
    /* whole array, and argument errors */
    float w[4] = {3, 4, 0, 0};
    double n = 0;
    CHECK_OK(lam_clip_grad_norm(w, 4, NULL, 0, 1.0, &n));
    CHECK_NEAR(n, 5.0, 0, 1e-12);
    CHECK_NEAR(w[0], 3.0 / (5.0 + 1e-6), 1e-7, 0);
    lam_param_span bad = {"bad", 3, 2, 0};
    CHECK(lam_clip_grad_norm(w, 4, &bad, 1, 1.0, &n) == LAM_ERR_ARG);
    CHECK(lam_clip_grad_value(w, 4, NULL, 0, -1.0f) == LAM_ERR_ARG);
    CHECK(lam_clip_grad_norm(w, 4, NULL, 0, -1.0, &n) == LAM_ERR_ARG);
    golden_free(&g);
    golden_free(&in);
}

/* Optimiser-level clipping sees only the trainable (non-frozen) spans. */
static void test_clip_skips_frozen(void)
{
    lam_param_group gs[2] = {lam_param_group_defaults(LAM_OPTIM_SGD),
                             lam_param_group_defaults(LAM_OPTIM_SGD)};
    gs[1].frozen = true;
    lam_param_span sp[2] = {{"a", 0, 2, 0}, {"b", 2, 2, 1}};
    lam_optim *o = lam_optim_new(LAM_OPTIM_SGD, 4, sp, 2, gs, 2);
    CHECK(o != NULL);
    if (!o) return;
    float g[4] = {3, 4, 100, -100};
    double n = 0;
    CHECK_OK(lam_optim_clip_grad_norm(o, g, 1.0, &n));
    CHECK_NEAR(n, 5.0, 0, 1e-12);
    CHECK(g[2] == 100 && g[3] == -100);
    CHECK(fabsf(g[0] - 0.6f) < 1e-6f && fabsf(g[1] - 0.8f) < 1e-6f);
    CHECK_OK(lam_optim_clip_grad_value(o, g, 0.7f));
    CHECK(g[1] == 0.7f && g[2] == 100 && g[3] == -100);
    lam_optim_free(o);
}

/* ---- properties --------------------------------------------------------- */

static void fill_normal(lam_rng *r, float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) x[i] = lam_rng_normal(r);
}

/* A config per kind exercising its state buffers. */
static lam_param_group prop_group(lam_optim_kind kind)
{
    lam_param_group g = lam_param_group_defaults(kind);
    switch (kind) {
    case LAM_OPTIM_SGD: g.momentum = 0.9; g.nesterov = true; g.weight_decay = 1e-3; break;
    case LAM_OPTIM_ADAM: g.amsgrad = true; g.weight_decay = 1e-3; g.l1 = 1e-4; break;
    case LAM_OPTIM_ADAMW: g.weight_decay = 0.05; break;
    case LAM_OPTIM_RMSPROP: g.momentum = 0.5; g.centered = true; break;
    case LAM_OPTIM_ADAGRAD: g.lr_decay = 0.01; g.initial_accumulator_value = 0.1; break;
    default: break;
    }
    return g;
}

static void test_frozen_group(void)
{
    enum { N = 64 };
    for (int kind = 0; kind < LAM_OPTIM_COUNT_; kind++) {
        lam_param_group gs[2] = {prop_group(kind), prop_group(kind)};
        gs[1].frozen = true;
        lam_param_span sp[2] = {{"train", 0, N / 2, 0}, {"frozen", N / 2, N / 2, 1}};
        lam_optim *o = lam_optim_new(kind, N, sp, 2, gs, 2);
        CHECK(o != NULL);
        if (!o) continue;
        /* snapshot the frozen half of every state buffer */
        float before[3][N / 2];
        int ns = lam_optim_state_count(o);
        for (int i = 0; i < ns; i++) {
            lam_optim_state st;
            lam_optim_state_at(o, i, &st);
            memcpy(before[i], st.data + N / 2, sizeof before[i]);
        }
        lam_rng r;
        lam_rng_seed(&r, 7);
        float p[N], p0[N], g[N];
        fill_normal(&r, p, N);
        memcpy(p0, p, sizeof p);
        for (int s = 0; s < 3; s++) {
            fill_normal(&r, g, N);
            CHECK_OK(lam_optim_step(o, p, g, 1.0f));
        }
        CHECK(memcmp(p + N / 2, p0 + N / 2, sizeof(float) * N / 2) == 0);
        CHECK(memcmp(p, p0, sizeof(float) * N / 2) != 0);
        for (int i = 0; i < ns; i++) {
            lam_optim_state st;
            lam_optim_state_at(o, i, &st);
            CHECK_MSG(memcmp(before[i], st.data + N / 2, sizeof before[i]) == 0, "%s %s touched",
                      lam_optim_kind_name(kind), st.name);
            CHECK(st.initialised[1] == 0);
            CHECK(st.initialised[0] == 1);
        }
        CHECK(lam_optim_group_get_step(o, 0) == 3 && lam_optim_group_get_step(o, 1) == 0);
        CHECK(lam_optim_get_step(o) == 3);

        /* Unfrozen, the group's first update is a first step (fresh state,
         * bias correction at t = 1), exactly as a new optimiser would do it. */
        lam_param_group ug = gs[1];
        ug.frozen = false;
        CHECK_OK(lam_optim_set_group(o, 1, &ug));
        lam_param_span one = {"x", 0, N / 2, 0};
        lam_optim *fresh = lam_optim_new(kind, N / 2, &one, 1, &ug, 1);
        CHECK(fresh != NULL);
        float q[N / 2];
        memcpy(q, p + N / 2, sizeof q);
        fill_normal(&r, g, N);
        CHECK_OK(lam_optim_step(o, p, g, 1.0f));
        if (fresh) CHECK_OK(lam_optim_step(fresh, q, g + N / 2, 1.0f));
        CHECK(memcmp(q, p + N / 2, sizeof q) == 0);
        CHECK(lam_optim_group_get_step(o, 1) == 1);
        lam_optim_free(fresh);
        lam_optim_free(o);
    }
}

static void test_group_lr(void)
{
    lam_param_group gs[2] = {lam_param_group_defaults(LAM_OPTIM_SGD),
                             lam_param_group_defaults(LAM_OPTIM_SGD)};
    gs[0].lr = 0.1;
    gs[1].lr = 0.01;
    lam_param_span sp[2] = {{"a", 0, 3, 0}, {"b", 3, 3, 1}};
    lam_optim *o = lam_optim_new(LAM_OPTIM_SGD, 6, sp, 2, gs, 2);
    CHECK(o != NULL);
    if (!o) return;
    CHECK(lam_optim_state_count(o) == 0); /* plain SGD keeps no state */
    float p[6] = {0}, g[6] = {1, 1, 1, 1, 1, 1};
    CHECK_OK(lam_optim_step(o, p, g, 1.0f));
    for (int i = 0; i < 3; i++) CHECK(p[i] == -0.1f && p[i + 3] == -0.01f);
    /* a trainer changes group 1's lr for a stage */
    lam_param_group ng = *lam_optim_group(o, 1);
    ng.lr = 0.5;
    CHECK_OK(lam_optim_set_group(o, 1, &ng));
    CHECK(lam_optim_group(o, 1)->lr == 0.5);
    CHECK(lam_optim_group(o, 2) == NULL);
    memset(p, 0, sizeof p);
    CHECK_OK(lam_optim_step(o, p, g, 0.5f));
    for (int i = 0; i < 3; i++) CHECK(p[i] == -0.05f && p[i + 3] == -0.25f);
    lam_optim_free(o);
}

static void test_l1(void)
{
    lam_param_group g = lam_param_group_defaults(LAM_OPTIM_SGD);
    g.lr = 0.1;
    g.l1 = 0.5;
    lam_param_span sp = {"w", 0, 3, 0};
    lam_optim *o = lam_optim_new(LAM_OPTIM_SGD, 3, &sp, 1, &g, 1);
    CHECK(o != NULL);
    if (!o) return;
    float p[3] = {1, -2, 0}, gr[3] = {0, 0, 0};
    CHECK_OK(lam_optim_step(o, p, gr, 1.0f));
    CHECK(p[0] == 1.0f - 0.05f && p[1] == -2.0f + 0.05f && p[2] == 0.0f);
    lam_optim_free(o);
}

/* lr scaled by lr_factor equals the scaled lr, bit for bit. */
static void test_lr_factor(void)
{
    enum { N = 40 };
    for (int kind = 0; kind < LAM_OPTIM_COUNT_; kind++) {
        lam_param_group a = prop_group(kind), b = a;
        a.lr = 0.2;
        b.lr = 0.1;
        lam_param_span sp = {"w", 0, N, 0};
        lam_optim *oa = lam_optim_new(kind, N, &sp, 1, &a, 1);
        lam_optim *ob = lam_optim_new(kind, N, &sp, 1, &b, 1);
        CHECK(oa && ob);
        if (oa && ob) {
            lam_rng r;
            lam_rng_seed(&r, 3);
            float pa[N], pb[N], g[N];
            fill_normal(&r, pa, N);
            memcpy(pb, pa, sizeof pa);
            for (int s = 0; s < 4; s++) {
                fill_normal(&r, g, N);
                CHECK_OK(lam_optim_step(oa, pa, g, 0.5f));
                CHECK_OK(lam_optim_step(ob, pb, g, 1.0f));
            }
            CHECK_MSG(memcmp(pa, pb, sizeof pa) == 0, "%s", lam_optim_kind_name(kind));
            /* bad factors are rejected before anything changes */
            CHECK(lam_optim_step(oa, pa, g, -1.0f) == LAM_ERR_ARG);
            CHECK(lam_optim_step(oa, pa, g, NAN) == LAM_ERR_ARG);
            CHECK(lam_optim_step(oa, pa, g, INFINITY) == LAM_ERR_ARG);
            CHECK(memcmp(pa, pb, sizeof pa) == 0);
            CHECK(lam_optim_get_step(oa) == 4);
        }
        lam_optim_free(oa);
        lam_optim_free(ob);
    }
}

/* Save everything after k steps, restore into a fresh optimiser, continue:
 * bitwise the same params and state as an uninterrupted run. */
static void test_resume(void)
{
    enum { N = 50, STEPS = 6, CUT = 3 };
    for (int kind = 0; kind < LAM_OPTIM_COUNT_; kind++) {
        lam_param_group gs[2] = {prop_group(kind), prop_group(kind)};
        gs[1].lr *= 0.5;
        lam_param_span sp[2] = {{"a", 0, 30, 0}, {"b", 30, 20, 1}};
        float grads[STEPS][N], init[N], pa[N], pb[N];
        lam_rng r;
        lam_rng_seed(&r, 11 + (uint64_t)kind);
        fill_normal(&r, init, N);
        for (int s = 0; s < STEPS; s++) fill_normal(&r, grads[s], N);

        lam_optim *a = lam_optim_new(kind, N, sp, 2, gs, 2);
        CHECK(a != NULL);
        if (!a) continue;
        memcpy(pa, init, sizeof pa);
        for (int s = 0; s < STEPS; s++) CHECK_OK(lam_optim_step(a, pa, grads[s], 1.0f));

        lam_optim *b = lam_optim_new(kind, N, sp, 2, gs, 2);
        CHECK(b != NULL);
        if (!b) {
            lam_optim_free(a);
            continue;
        }
        memcpy(pb, init, sizeof pb);
        for (int s = 0; s < CUT; s++) CHECK_OK(lam_optim_step(b, pb, grads[s], 1.0f));
        /* "checkpoint" */
        int ns = lam_optim_state_count(b);
        float saved[3][N];
        uint8_t flags[3][2];
        const char *names[3];
        for (int i = 0; i < ns; i++) {
            lam_optim_state st;
            CHECK_OK(lam_optim_state_at(b, i, &st));
            names[i] = st.name;
            memcpy(saved[i], st.data, sizeof saved[i]);
            memcpy(flags[i], st.initialised, 2);
        }
        uint64_t step = lam_optim_get_step(b);
        uint64_t gstep[2] = {lam_optim_group_get_step(b, 0), lam_optim_group_get_step(b, 1)};
        lam_optim_free(b);

        /* Resume.  For SGD, start from a model file without momentum: the
         * buffer is allocated by the restore and the settings by set_group. */
        lam_param_group g2[2] = {gs[0], gs[1]};
        if (kind == LAM_OPTIM_SGD) g2[0] = g2[1] = lam_param_group_defaults(kind);
        lam_optim *c = lam_optim_new(kind, N, sp, 2, g2, 2);
        CHECK(c != NULL);
        if (!c) {
            lam_optim_free(a);
            continue;
        }
        if (kind == LAM_OPTIM_SGD) {
            CHECK(lam_optim_state_count(c) == 0);
            CHECK_OK(lam_optim_set_group(c, 0, &gs[0]));
            CHECK_OK(lam_optim_set_group(c, 1, &gs[1]));
        }
        for (int i = 0; i < ns; i++) CHECK_OK(lam_optim_state_set(c, names[i], saved[i], N, flags[i]));
        lam_optim_set_step(c, step);
        CHECK_OK(lam_optim_group_set_step(c, 0, gstep[0]));
        CHECK_OK(lam_optim_group_set_step(c, 1, gstep[1]));
        CHECK(lam_optim_state_count(c) == ns);
        for (int s = CUT; s < STEPS; s++) CHECK_OK(lam_optim_step(c, pb, grads[s], 1.0f));
        CHECK_MSG(memcmp(pa, pb, sizeof pa) == 0, "%s resume differs", lam_optim_kind_name(kind));
        for (int i = 0; i < ns; i++) {
            lam_optim_state sa, sc;
            lam_optim_state_at(a, i, &sa);
            lam_optim_state_at(c, lam_optim_state_find(c, sa.name), &sc);
            CHECK(memcmp(sa.data, sc.data, sizeof(float) * N) == 0);
        }
        /* Without the flags SGD's momentum buffer would restart from the
         * gradient: the flags matter. */
        CHECK(lam_optim_state_set(c, "exp_avg_bogus", saved[0], N, NULL) == LAM_ERR_ARG);
        CHECK(lam_optim_state_set(c, ns ? names[0] : "sum", saved[0], N - 1, NULL) == LAM_ERR_ARG);
        lam_optim_free(a);
        lam_optim_free(c);
    }
}

/* SGD momentum switched on later: first momentum step copies the gradient. */
static void test_momentum_switched_on(void)
{
    lam_param_group g = lam_param_group_defaults(LAM_OPTIM_SGD);
    g.lr = 0.5;
    lam_param_span sp = {"w", 0, 2, 0};
    lam_optim *o = lam_optim_new(LAM_OPTIM_SGD, 2, &sp, 1, &g, 1);
    CHECK(o != NULL);
    if (!o) return;
    float p[2] = {0, 0}, gr[2] = {1, -2};
    CHECK_OK(lam_optim_step(o, p, gr, 1.0f));
    CHECK(lam_optim_state_find(o, "momentum_buffer") == -1);
    g.momentum = 0.9;
    g.dampening = 0.5;
    CHECK_OK(lam_optim_set_group(o, 0, &g));
    int i = lam_optim_state_find(o, "momentum_buffer");
    CHECK(i == 0);
    lam_optim_state st;
    CHECK_OK(lam_optim_state_at(o, 0, &st));
    CHECK(st.initialised[0] == 0);
    CHECK_OK(lam_optim_step(o, p, gr, 1.0f));
    CHECK(st.data[0] == 1.0f && st.data[1] == -2.0f); /* buf = grad, no dampening */
    CHECK(st.initialised[0] == 1);
    CHECK(p[0] == -1.0f && p[1] == 2.0f);
    CHECK_OK(lam_optim_step(o, p, gr, 1.0f)); /* buf = 0.9 + 0.5 */
    CHECK(fabsf(st.data[0] - 1.4f) < 1e-6f);
    CHECK(lam_optim_state_bytes(o) >= 2 * sizeof(float));
    lam_optim_free(o);
}

static void test_bad_hyperparams(void)
{
    lam_alloc_stats s0, s1;
    lam_alloc_get_stats(&s0);
    lam_param_span sp = {"w", 0, 4, 0};
    struct { lam_optim_kind kind; const char *field; lam_param_group g; } cases[16];
    int n = 0;
#define BAD(k, f, v)                                                         \
    do {                                                                     \
        cases[n].kind = k;                                                   \
        cases[n].field = #f;                                                 \
        cases[n].g = lam_param_group_defaults(k);                            \
        cases[n].g.f = v;                                                    \
        n++;                                                                 \
    } while (0)
    BAD(LAM_OPTIM_SGD, lr, -0.1);
    BAD(LAM_OPTIM_ADAM, lr, NAN);
    BAD(LAM_OPTIM_SGD, momentum, -0.5);
    BAD(LAM_OPTIM_SGD, nesterov, true); /* momentum 0 */
    BAD(LAM_OPTIM_ADAM, beta1, 1.0);
    BAD(LAM_OPTIM_ADAMW, beta2, -0.1);
    BAD(LAM_OPTIM_ADAM, eps, 0.0);
    BAD(LAM_OPTIM_RMSPROP, eps, -1e-8);
    BAD(LAM_OPTIM_RMSPROP, alpha, 1.5);
    BAD(LAM_OPTIM_RMSPROP, momentum, -0.1);
    BAD(LAM_OPTIM_ADAGRAD, lr_decay, -1);
    BAD(LAM_OPTIM_ADAGRAD, initial_accumulator_value, -1);
    BAD(LAM_OPTIM_ADAM, weight_decay, -1e-4);
    BAD(LAM_OPTIM_SGD, l1, -1);
#undef BAD
    cases[n].kind = LAM_OPTIM_SGD; /* nesterov with dampening */
    cases[n].field = "nesterov";
    cases[n].g = lam_param_group_defaults(LAM_OPTIM_SGD);
    cases[n].g.nesterov = true;
    cases[n].g.momentum = 0.9;
    cases[n].g.dampening = 0.1;
    n++;
    for (int i = 0; i < n; i++) {
        lam_optim *o = (lam_optim *)&cases; /* must be reset to NULL */
        lam_clear_error();
        lam_status st = lam_optim_create(cases[i].kind, 4, &sp, 1, &cases[i].g, 1, &o);
        CHECK_MSG(st == LAM_ERR_ARG && o == NULL, "case %d (%s)", i, cases[i].field);
        CHECK_MSG(strstr(lam_last_error(), cases[i].field) != NULL, "message \"%s\" lacks %s",
                  lam_last_error(), cases[i].field);
        CHECK(lam_optim_new(cases[i].kind, 4, &sp, 1, &cases[i].g, 1) == NULL);
    }
    /* spans and groups */
    lam_param_group g = lam_param_group_defaults(LAM_OPTIM_ADAM);
    lam_optim *o = NULL;
    lam_param_span out_of_range = {"w", 2, 3, 0};
    CHECK(lam_optim_create(LAM_OPTIM_ADAM, 4, &out_of_range, 1, &g, 1, &o) == LAM_ERR_ARG);
    lam_param_span huge = {"w", SIZE_MAX, 2, 0};
    CHECK(lam_optim_create(LAM_OPTIM_ADAM, 4, &huge, 1, &g, 1, &o) == LAM_ERR_ARG);
    lam_param_span bad_group = {"w", 0, 4, 1};
    CHECK(lam_optim_create(LAM_OPTIM_ADAM, 4, &bad_group, 1, &g, 1, &o) == LAM_ERR_ARG);
    lam_param_span overlap[3] = {{"a", 0, 2, 0}, {"e", 1, 0, 0}, {"b", 1, 2, 0}};
    CHECK(lam_optim_create(LAM_OPTIM_ADAM, 4, overlap, 3, &g, 1, &o) == LAM_ERR_ARG);
    CHECK(strstr(lam_last_error(), "overlap") != NULL);
    CHECK(lam_optim_create(LAM_OPTIM_ADAM, 4, &sp, 1, &g, 0, &o) == LAM_ERR_ARG);
    CHECK(lam_optim_create(LAM_OPTIM_COUNT_, 4, &sp, 1, &g, 1, &o) == LAM_ERR_ARG);
    CHECK(o == NULL);
    /* set_group checks too, and leaves the group as it was */
    o = lam_optim_new(LAM_OPTIM_ADAM, 4, &sp, 1, &g, 1);
    CHECK(o != NULL);
    if (o) {
        lam_param_group b = g;
        b.beta2 = 1.0;
        CHECK(lam_optim_set_group(o, 0, &b) == LAM_ERR_ARG);
        CHECK(lam_optim_group(o, 0)->beta2 == g.beta2);
        CHECK(lam_optim_set_group(o, 1, &g) == LAM_ERR_ARG);
        float p[4] = {0}, gr[4] = {0};
        CHECK(lam_optim_step(o, NULL, gr, 1.0f) == LAM_ERR_ARG);
        CHECK(lam_optim_step(o, p, NULL, 1.0f) == LAM_ERR_ARG);
        lam_optim_free(o);
    }
    lam_alloc_get_stats(&s1);
    CHECK(s1.bytes_live == s0.bytes_live);
}

static void test_names(void)
{
    for (int k = 0; k < LAM_OPTIM_COUNT_; k++) {
        lam_optim_kind out = LAM_OPTIM_COUNT_;
        CHECK(lam_optim_kind_from_name(lam_optim_kind_name(k), &out) && out == (lam_optim_kind)k);
    }
    lam_optim_kind out = LAM_OPTIM_SGD;
    CHECK(lam_optim_kind_from_name("AdamW", &out) && out == LAM_OPTIM_ADAMW);
    CHECK(lam_optim_kind_from_name("RMSprop", &out) && out == LAM_OPTIM_RMSPROP);
    CHECK(!lam_optim_kind_from_name("adamax", &out) && out == LAM_OPTIM_RMSPROP);
    CHECK(strcmp(lam_optim_kind_name(LAM_OPTIM_COUNT_), "?") == 0);
    lam_param_group g = lam_param_group_defaults(LAM_OPTIM_ADAMW);
    CHECK(g.lr == 1e-3 && g.weight_decay == 1e-2 && g.beta2 == 0.999 && g.eps == 1e-8);
    g = lam_param_group_defaults(LAM_OPTIM_ADAGRAD);
    CHECK(g.eps == 1e-10 && g.lr == 1e-2);
    g = lam_param_group_defaults(LAM_OPTIM_RMSPROP);
    CHECK(g.alpha == 0.99 && g.momentum == 0 && !g.centered);
}

/* Every allocation in creation (and the lazy ones) can fail cleanly. */
static void test_alloc_faults(void)
{
    lam_param_group gs[2] = {prop_group(LAM_OPTIM_ADAM), prop_group(LAM_OPTIM_ADAM)};
    lam_param_span sp[2] = {{"a", 0, 10, 0}, {"b", 10, 6, 1}};
    lam_alloc_stats s0, s1;
    lam_alloc_get_stats(&s0);
    int failures = 0;
    for (uint64_t n = 1; n < 50; n++) {
        lam_optim *o = NULL;
        lam_alloc_fail_after(n);
        lam_status st = lam_optim_create(LAM_OPTIM_ADAM, 16, sp, 2, gs, 2, &o);
        lam_alloc_fail_after(0);
        if (st == LAM_OK) {
            CHECK(o != NULL);
            lam_optim_free(o);
            break;
        }
        failures++;
        CHECK(st == LAM_ERR_NOMEM && o == NULL);
        lam_alloc_get_stats(&s1);
        CHECK_MSG(s1.bytes_live == s0.bytes_live, "leak after fault %d", (int)n);
    }
    CHECK(failures >= 5); /* struct, groups, steps, spans, buffers */

    /* lazy allocation in set_group and state_set */
    lam_param_group g = lam_param_group_defaults(LAM_OPTIM_SGD);
    lam_optim *o = lam_optim_new(LAM_OPTIM_SGD, 16, sp, 1, &g, 1);
    CHECK(o != NULL);
    if (o) {
        lam_param_group m = g;
        m.momentum = 0.9;
        lam_alloc_fail_after(1);
        CHECK(lam_optim_set_group(o, 0, &m) == LAM_ERR_NOMEM);
        CHECK(lam_optim_group(o, 0)->momentum == 0 && lam_optim_state_count(o) == 0);
        lam_alloc_fail_after(2);
        CHECK(lam_optim_set_group(o, 0, &m) == LAM_ERR_NOMEM);
        CHECK(lam_optim_state_count(o) == 0);
        float buf[16] = {0};
        lam_alloc_fail_after(1);
        CHECK(lam_optim_state_set(o, "momentum_buffer", buf, 16, NULL) == LAM_ERR_NOMEM);
        lam_alloc_fail_after(0);
        CHECK(lam_optim_state_count(o) == 0);
        CHECK_OK(lam_optim_set_group(o, 0, &m));
        CHECK(lam_optim_state_count(o) == 1);
        lam_optim_free(o);
    }
    lam_alloc_get_stats(&s1);
    CHECK(s1.bytes_live == s0.bytes_live);
}

/* No allocation in a step, on the serial and the OpenMP paths. */
static void test_step_no_alloc(void)
{
    enum { BIG = 70000, SMALL = 100, N = BIG + SMALL };
    float *p = calloc(N, sizeof *p), *g = calloc(N, sizeof *g);
    if (!p || !g) {
        free(p);
        free(g);
        t_failed_checks_++;
        return;
    }
    lam_rng r;
    lam_rng_seed(&r, 5);
    for (int kind = 0; kind < LAM_OPTIM_COUNT_; kind++) {
        lam_param_group gs[2] = {prop_group(kind), prop_group(kind)};
        lam_param_span sp[2] = {{"big", 0, BIG, 0}, {"small", BIG, SMALL, 1}};
        lam_optim *o = lam_optim_new(kind, N, sp, 2, gs, 2);
        CHECK(o != NULL);
        if (!o) continue;
        fill_normal(&r, g, N);
        lam_alloc_stats a, b;
        lam_alloc_get_stats(&a);
        for (int s = 0; s < 3; s++) CHECK_OK(lam_optim_step(o, p, g, 0.9f));
        double norm;
        CHECK_OK(lam_optim_clip_grad_norm(o, g, 1.0, &norm));
        lam_alloc_get_stats(&b);
        CHECK_MSG(a.n_alloc == b.n_alloc, "%s allocated in step", lam_optim_kind_name(kind));
        lam_optim_free(o);
    }
    free(p);
    free(g);
}

/* Same bits for 1 and several threads. */
static void test_thread_invariance(void)
{
    enum { N = 100000 };
    int saved = lam_get_threads();
    float *p1 = malloc(N * sizeof(float)), *p4 = malloc(N * sizeof(float));
    float *g = malloc(N * sizeof(float));
    if (!p1 || !p4 || !g) {
        free(p1);
        free(p4);
        free(g);
        t_failed_checks_++;
        return;
    }
    for (int kind = 0; kind < LAM_OPTIM_COUNT_; kind++) {
        lam_param_group gr = prop_group(kind);
        lam_param_span sp = {"w", 0, N, 0};
        lam_optim *a = lam_optim_new(kind, N, &sp, 1, &gr, 1);
        lam_optim *b = lam_optim_new(kind, N, &sp, 1, &gr, 1);
        CHECK(a && b);
        if (a && b) {
            lam_rng r;
            lam_rng_seed(&r, 99);
            fill_normal(&r, p1, N);
            memcpy(p4, p1, N * sizeof(float));
            for (int s = 0; s < 2; s++) {
                fill_normal(&r, g, N);
                lam_set_threads(1);
                CHECK_OK(lam_optim_step(a, p1, g, 1.0f));
                lam_set_threads(4);
                CHECK_OK(lam_optim_step(b, p4, g, 1.0f));
            }
            CHECK_MSG(memcmp(p1, p4, N * sizeof(float)) == 0, "%s", lam_optim_kind_name(kind));
        }
        lam_optim_free(a);
        lam_optim_free(b);
    }
    lam_set_threads(saved);
    free(p1);
    free(p4);
    free(g);
}

int main(void)
{
    RUN(test_golden_optimizers);
    RUN(test_golden_schedules);
    RUN(test_schedule_names_and_checks);
    RUN(test_golden_clip);
    RUN(test_clip_skips_frozen);
    RUN(test_frozen_group);
    RUN(test_group_lr);
    RUN(test_l1);
    RUN(test_lr_factor);
    RUN(test_resume);
    RUN(test_momentum_switched_on);
    RUN(test_bad_hyperparams);
    RUN(test_names);
    RUN(test_alloc_faults);
    RUN(test_step_no_alloc);
    RUN(test_thread_invariance);
    TEST_MAIN_END;
}
