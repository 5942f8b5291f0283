/* Graph properties: the memory plan (reuse gives the same bits as no reuse,
 * and saves memory), no allocation inside a training step, same seed same
 * bits, 1 and 2 threads same bits, batch-split invariance, freezing, sticky
 * build errors, and clean failure under injected allocation faults. */
#include <string.h>

#include "graph/graph_internal.h"
#include "lamina/lamina.h"
#include "test.h"

typedef struct mlp {
    lam_graph *g;
    lam_node *x, *y, *out, *loss;
} mlp;

/* in -> h -> h -> k MLP with dropout and every activation kind */
static mlp build_mlp(uint64_t seed, int in, int h, int k, float drop)
{
    mlp m;
    m.g = lam_graph_new(seed);
    m.x = lam_input(m.g, "x", lam_shape1(in));
    lam_dense_opts o = lam_dense_opts_defaults(h, LAM_ACT_RELU);
    lam_node *a = lam_nn_dense(m.g, m.x, "fc1", &o);
    if (drop > 0) a = lam_dropout(m.g, a, drop);
    o.act = LAM_ACT_GELU;
    a = lam_nn_dense(m.g, a, "fc2", &o);
    a = lam_tanh(m.g, a);
    o = lam_dense_opts_defaults(k, LAM_ACT_NONE);
    m.out = lam_nn_dense(m.g, a, "out", &o);
    m.y = lam_input_labels(m.g, "y");
    m.loss = lam_softmax_ce_loss(m.g, m.out, m.y);
    return m;
}

static void fill_batch(mlp *m, int b, int in, int k, uint64_t seed)
{
    lam_rng r;
    lam_rng_seed(&r, seed);
    float *x = lam_node_data(m->x);
    for (int i = 0; i < b * in; i++) x[i] = lam_rng_normal(&r);
    for (int i = 0; i < b; i++) lam_node_labels(m->y)[i] = (int32_t)lam_rng_below(&r, (uint32_t)k);
}

/* n SGD-momentum steps on random batches; returns the optimiser (caller frees) */
static lam_optim *train_steps(mlp *m, int steps, int b, int in, int k)
{
    size_t np = 0;
    lam_param_span spans[16];
    for (size_t i = 0; i < lam_graph_param_count(m->g); i++) {
        const lam_param_info *p = lam_graph_param_at(m->g, i);
        if (p->trainable) spans[np++] = (lam_param_span){p->name, p->offset, p->numel, 0}; /* as lam_fit does */
    }
    lam_param_group grp = lam_param_group_defaults(LAM_OPTIM_SGD);
    grp.lr = 0.05;
    grp.momentum = 0.9;
    lam_optim *o = lam_optim_new(LAM_OPTIM_SGD, lam_graph_param_total(m->g), spans, np, &grp, 1);
    for (int s = 0; s < steps; s++) {
        fill_batch(m, b, in, k, 100 + (uint64_t)s);
        CHECK_OK(lam_graph_forward(m->g, b, true));
        lam_graph_zero_grad(m->g);
        CHECK_OK(lam_graph_backward(m->g, m->loss));
        CHECK_OK(lam_optim_step(o, lam_graph_params(m->g), lam_graph_grads(m->g), 1.0f));
    }
    return o;
}

static void test_plan_reuse_matches_no_reuse(void)
{
    float *res[2];
    size_t total = 0;
    lam_mem_plan plans[2];
    for (int v = 0; v < 2; v++) {
        mlp m = build_mlp(3, 20, 32, 5, 0.2f);
        lam_compile_opts co = lam_compile_opts_defaults();
        co.max_batch = 16;
        co.no_reuse = v == 1;
        CHECK_OK(lam_graph_compile(m.g, &co));
        lam_optim_free(train_steps(&m, 5, 16, 20, 5));
        total = lam_graph_param_total(m.g);
        res[v] = malloc(total * sizeof(float));
        memcpy(res[v], lam_graph_params(m.g), total * sizeof(float));
        plans[v] = lam_graph_mem_plan(m.g);
        lam_graph_free(m.g);
    }
    CHECK(memcmp(res[0], res[1], total * sizeof(float)) == 0);
    CHECK_MSG(plans[0].arena_bytes < plans[1].arena_bytes, "planned %zu bytes, unplanned %zu", plans[0].arena_bytes,
              plans[1].arena_bytes);
    CHECK(plans[1].arena_bytes == plans[0].arena_naive_bytes);
    free(res[0]);
    free(res[1]);
}

static void test_no_allocation_in_training_step(void)
{
    mlp m = build_mlp(1, 20, 64, 5, 0.1f);
    lam_compile_opts co = lam_compile_opts_defaults();
    co.max_batch = 32;
    CHECK_OK(lam_graph_compile(m.g, &co));
    lam_optim *o = train_steps(&m, 1, 32, 20, 5); /* warm-up: state buffers exist */
    lam_alloc_stats before, after;
    lam_alloc_get_stats(&before);
    for (int s = 0; s < 10; s++) {
        int b = s % 2 ? 32 : 17; /* a short last batch too */
        fill_batch(&m, b, 20, 5, (uint64_t)s);
        CHECK_OK(lam_graph_forward(m.g, b, true));
        lam_graph_zero_grad(m.g);
        CHECK_OK(lam_graph_backward(m.g, m.loss));
        CHECK_OK(lam_optim_clip_grad_norm(o, lam_graph_grads(m.g), 1.0, NULL));
        CHECK_OK(lam_optim_step(o, lam_graph_params(m.g), lam_graph_grads(m.g), 1.0f));
    }
    lam_alloc_get_stats(&after);
    CHECK_MSG(after.n_alloc == before.n_alloc, "%llu allocations in 10 training steps",
              (unsigned long long)(after.n_alloc - before.n_alloc));
    lam_optim_free(o);
    lam_graph_free(m.g);
}

static float *run_and_copy(uint64_t seed, int threads, int in, int h, int b, size_t *total)
{
    lam_set_threads(threads);
    mlp m = build_mlp(seed, in, h, 10, 0.1f);
    lam_compile_opts co = lam_compile_opts_defaults();
    co.max_batch = b;
    CHECK_OK(lam_graph_compile(m.g, &co));
    lam_optim_free(train_steps(&m, 4, b, in, 10));
    *total = lam_graph_param_total(m.g);
    float *p = malloc(*total * sizeof(float));
    memcpy(p, lam_graph_params(m.g), *total * sizeof(float));
    lam_graph_free(m.g);
    lam_set_threads(0);
    return p;
}

static void test_same_seed_same_bits(void)
{
    size_t n1, n2, n3;
    float *a = run_and_copy(42, 2, 30, 50, 24, &n1), *b = run_and_copy(42, 2, 30, 50, 24, &n2);
    float *c = run_and_copy(43, 2, 30, 50, 24, &n3);
    CHECK(n1 == n2 && memcmp(a, b, n1 * sizeof(float)) == 0);
    CHECK(memcmp(a, c, n1 * sizeof(float)) != 0);
    free(a);
    free(b);
    free(c);
}

static void test_thread_count_invariance(void)
{
    /* big enough that GEMMs and elementwise kernels split across threads */
    size_t n1, n2;
    float *a = run_and_copy(5, 1, 256, 512, 256, &n1), *b = run_and_copy(5, 2, 256, 512, 256, &n2);
    CHECK(n1 == n2 && memcmp(a, b, n1 * sizeof(float)) == 0);
    free(a);
    free(b);
}

/* gradient of a batch = mean of the gradients of its halves (mean losses) */
static void test_batch_split_invariance(void)
{
    mlp m = build_mlp(9, 12, 16, 4, 0.0f);
    lam_compile_opts co = lam_compile_opts_defaults();
    co.max_batch = 8;
    CHECK_OK(lam_graph_compile(m.g, &co));
    size_t total = lam_graph_param_total(m.g);
    fill_batch(&m, 8, 12, 4, 77);
    float xs[8 * 12];
    int32_t ys[8];
    memcpy(xs, lam_node_data(m.x), sizeof xs);
    memcpy(ys, lam_node_labels(m.y), sizeof ys);
    lam_graph_zero_grad(m.g);
    CHECK_OK(lam_graph_forward(m.g, 8, true));
    CHECK_OK(lam_graph_backward(m.g, m.loss));
    float *full = malloc(total * sizeof(float));
    memcpy(full, lam_graph_grads(m.g), total * sizeof(float));
    lam_graph_zero_grad(m.g);
    for (int half = 0; half < 2; half++) {
        memcpy(lam_node_data(m.x), xs + half * 4 * 12, 4 * 12 * sizeof(float));
        memcpy(lam_node_labels(m.y), ys + half * 4, 4 * sizeof(int32_t));
        CHECK_OK(lam_graph_forward(m.g, 4, true));
        CHECK_OK(lam_graph_backward(m.g, m.loss)); /* accumulates */
    }
    const float *acc = lam_graph_grads(m.g);
    for (size_t i = 0; i < total; i++) CHECK_NEAR(acc[i] / 2, full[i], 1e-6, 1e-4);
    free(full);
    lam_graph_free(m.g);
}

static void test_frozen_layer_unchanged(void)
{
    mlp m = build_mlp(11, 20, 32, 5, 0.0f);
    CHECK_OK(lam_graph_compile(m.g, NULL));
    int fc2 = -1;
    for (int l = 0; l < lam_graph_layer_count(m.g); l++)
        if (!strcmp(lam_graph_layer_name(m.g, l), "fc2")) fc2 = l;
    CHECK(fc2 >= 0);
    lam_graph_set_layer_trainable(m.g, fc2, false);
    const lam_param_info *w1 = lam_graph_param_find(m.g, "fc1.weight"), *w2 = lam_graph_param_find(m.g, "fc2.weight");
    CHECK(!w2->trainable && w1->trainable);
    float *before2 = malloc(w2->numel * sizeof(float)), *before1 = malloc(w1->numel * sizeof(float));
    memcpy(before2, lam_graph_params(m.g) + w2->offset, w2->numel * sizeof(float));
    memcpy(before1, lam_graph_params(m.g) + w1->offset, w1->numel * sizeof(float));
    /* poison the frozen gradient: backward must not touch it */
    for (size_t i = 0; i < w2->numel; i++) lam_graph_grads(m.g)[w2->offset + i] = 12345.0f;
    lam_optim_free(train_steps(&m, 3, 16, 20, 5));
    CHECK(memcmp(before2, lam_graph_params(m.g) + w2->offset, w2->numel * sizeof(float)) == 0);
    CHECK(lam_graph_grads(m.g)[w2->offset] == 12345.0f);
    /* gradient still flows through the frozen layer to fc1 */
    CHECK(memcmp(before1, lam_graph_params(m.g) + w1->offset, w1->numel * sizeof(float)) != 0);
    free(before1);
    free(before2);
    lam_graph_free(m.g);
}

static void test_sticky_build_errors(void)
{
    lam_graph *g = lam_graph_new(0);
    lam_node *x = lam_input(g, "x", lam_shape1(10));
    lam_node *w = lam_param(g, "w", lam_shape2(5, 7), (lam_init){0});
    lam_node *y = lam_dense_op(g, x, w, NULL, LAM_ACT_NONE); /* 10 != 7 */
    CHECK(y == NULL);
    CHECK(lam_graph_status(g) == LAM_ERR_SHAPE);
    CHECK(strstr(lam_graph_error(g), "[1, 10]") && strstr(lam_graph_error(g), "[5, 7]"));
    CHECK(lam_relu(g, y) == NULL);
    CHECK(lam_relu(g, x) == NULL); /* sticky: later builders fail too */
    CHECK(lam_graph_compile(g, NULL) == LAM_ERR_SHAPE);
    CHECK(lam_graph_forward(g, 1, false) == LAM_ERR_STATE);
    lam_graph_free(g);

    g = lam_graph_new(0);
    x = lam_input(g, "x", lam_shape1(3));
    CHECK(lam_input(g, "x", lam_shape1(3)) == NULL); /* duplicate name */
    CHECK(lam_graph_status(g) == LAM_ERR_ARG);
    lam_graph_free(g);

    g = lam_graph_new(0);
    x = lam_input(g, "x", lam_shape1(3));
    CHECK(lam_dropout(g, x, 1.5f) == NULL);
    lam_graph_free(g);

    /* a bad initialiser is an error, not an abort at compile */
    g = lam_graph_new(0);
    CHECK(lam_param(g, "w", lam_shape1(3), (lam_init){(lam_init_kind)99, 0, 0}) == NULL);
    CHECK(lam_graph_status(g) == LAM_ERR_ARG);
    lam_graph_free(g);

    /* labels out of range: a clean error from forward, not a crash */
    mlp m = build_mlp(1, 4, 4, 3, 0);
    CHECK_OK(lam_graph_compile(m.g, NULL));
    fill_batch(&m, 2, 4, 3, 1);
    lam_node_labels(m.y)[1] = 7;
    CHECK(lam_graph_forward(m.g, 2, true) == LAM_ERR_ARG);
    CHECK(strstr(lam_last_error(), "label 7") != NULL);
    CHECK(lam_graph_backward(m.g, m.loss) == LAM_ERR_STATE);
    CHECK(lam_graph_forward(m.g, 33, true) == LAM_ERR_ARG); /* above max_batch */
    lam_graph_free(m.g);
}

/* inputs filled once keep their contents across steps: the plan must not
 * hand their memory to a gradient that lives after the loss's backward */
static void test_inputs_persist(void)
{
    mlp m = build_mlp(4, 30, 64, 10, 0.0f);
    lam_compile_opts co = lam_compile_opts_defaults();
    co.max_batch = 16;
    CHECK_OK(lam_graph_compile(m.g, &co));
    fill_batch(&m, 16, 30, 10, 3);
    int32_t labels[16];
    float x0 = lam_node_data(m.x)[0];
    memcpy(labels, lam_node_labels(m.y), sizeof labels);
    for (int step = 0; step < 3; step++) {
        CHECK_OK(lam_graph_forward(m.g, 16, true));
        lam_graph_zero_grad(m.g);
        CHECK_OK(lam_graph_backward(m.g, m.loss));
    }
    CHECK(memcmp(labels, lam_node_labels(m.y), sizeof labels) == 0);
    CHECK(lam_node_data(m.x)[0] == x0);
    lam_graph_free(m.g);
}

static void test_fault_injection(void)
{
    int ok = 0, nomem = 0;
    for (uint64_t n = 1; n < 200; n++) {
        lam_alloc_fail_after(n);
        mlp m = build_mlp(1, 8, 8, 3, 0.1f);
        lam_status s = m.g ? lam_graph_compile(m.g, NULL) : LAM_ERR_NOMEM;
        lam_alloc_fail_after(0);
        if (s == LAM_OK) ok++;
        else {
            CHECK_MSG(s == LAM_ERR_NOMEM, "fault %llu gave %s", (unsigned long long)n, lam_status_str(s));
            nomem++;
        }
        lam_graph_free(m.g);
        if (s == LAM_OK && n > 20) break;
    }
    CHECK(nomem > 5 && ok >= 1);
    lam_alloc_stats st;
    lam_alloc_get_stats(&st);
    CHECK_MSG(st.bytes_live == 0, "%llu bytes still allocated", (unsigned long long)st.bytes_live);
}

/* The first op to write an intermediate gradient sets it instead of the
 * executor zeroing it and the op adding (pools 2x2 and generic, reshape,
 * dense, matmul): the gradients equal those of the zero-then-add path. */
static void test_fresh_gradients_match_zeroed(void)
{
    float *got[2][8];
    size_t n[8] = {0};
    int np = 0;
    for (int pass = 0; pass < 2; pass++) {
        lam_graph *g = lam_graph_new(3);
        lam_node *x = lam_param(g, "x", lam_shape4(2, 3, 9, 11), (lam_init){LAM_INIT_XAVIER_UNIFORM, 0, 0});
        lam_node *h = lam_tanh(g, x);
        lam_pool2d_args p2 = lam_pool2d_args_square(2, 2), p3 = {3, 3, 2, 2, 1, 1};
        h = lam_tanh(g, lam_maxpool2d(g, h, &p2)); /* [2, 3, 4, 5] */
        h = lam_flatten(g, lam_maxpool2d(g, h, &p3)); /* [2, 3*2*3] */
        lam_dense_opts o = lam_dense_opts_defaults(5, LAM_ACT_RELU);
        h = lam_nn_dense(g, h, "fc", &o);
        lam_node *w = lam_param(g, "w", lam_shape2(5, 4), (lam_init){LAM_INIT_XAVIER_UNIFORM, 0, 0});
        lam_node *y = lam_matmul(g, h, w, false, false);
        lam_node *t = lam_param(g, "t", lam_shape2(2, 4), (lam_init){LAM_INIT_ONES, 0, 0});
        lam_node *loss = lam_mse_loss(g, y, t);
        lam_compile_opts co = lam_compile_opts_defaults();
        CHECK_OK(lam_graph_compile(g, &co));
        g->no_fresh = pass == 1;
        for (int step = 0; step < 2; step++) { /* the second pass finds stale gradients in the buffers */
            CHECK_OK(lam_graph_forward(g, 1, true));
            lam_graph_zero_grad(g);
            CHECK_OK(lam_graph_backward(g, loss));
        }
        np = (int)lam_graph_param_count(g);
        for (int i = 0; i < np && i < 8; i++) {
            const lam_param_info *pi = lam_graph_param_at(g, i);
            n[i] = pi->numel;
            got[pass][i] = malloc(pi->numel * sizeof(float));
            memcpy(got[pass][i], lam_graph_grads(g) + pi->offset, pi->numel * sizeof(float));
        }
        lam_graph_free(g);
    }
    for (int i = 0; i < np && i < 8; i++) {
        int bad = 0, nonzero = 0;
        for (size_t j = 0; j < n[i]; j++) {
            bad += !(got[0][i][j] == got[1][i][j]);
            nonzero += got[0][i][j] != 0.0f;
        }
        CHECK_MSG(bad == 0, "parameter %d: %d of %zu gradients differ", i, bad, n[i]);
        CHECK_MSG(nonzero > 0 || i == np - 1, "parameter %d: all gradients zero", i);
        free(got[0][i]);
        free(got[1][i]);
    }
}

/* A max pool that alone reads a ReLU convolution applies the ReLU mask to
 * the gradient it passes back, and the convolution skips its own pass: the
 * gradients match those of the unfused graph (to rounding: the first layer's
 * weight gradient is then summed in another order), for a first layer
 * (im2col with C*KH*KW < 16), a Winograd layer and a generic 3x3 pool. */
static void test_relu_pool_fusion_matches(void)
{
    float *got[2][16];
    size_t n[16] = {0};
    int np = 0;
    for (int pass = 0; pass < 2; pass++) {
        lam_graph *g = lam_graph_new(5);
        lam_node *x = lam_input(g, "x", lam_shape3(1, 14, 14));
        lam_conv2d_opts c1 = lam_conv2d_opts_defaults(16, 3, LAM_ACT_RELU), c2 = lam_conv2d_opts_defaults(8, 3, LAM_ACT_RELU);
        c2.padding = LAM_PAD_SAME;
        lam_pool2d_args p2 = lam_pool2d_args_square(2, 2), p3 = {3, 3, 2, 2, 1, 1};
        lam_node *h = lam_maxpool2d(g, lam_nn_conv2d(g, x, "c1", &c1), &p2); /* [16, 6, 6] */
        lam_node *cv2 = lam_nn_conv2d(g, h, "c2", &c2);
        h = lam_flatten(g, lam_maxpool2d(g, cv2, &p3)); /* [8*3*3] */
        lam_dense_opts o = lam_dense_opts_defaults(3, LAM_ACT_NONE);
        lam_node *out = lam_nn_dense(g, h, "fc", &o);
        lam_node *y = lam_input_labels(g, "y");
        lam_node *loss = lam_softmax_ce_loss(g, out, y);
        g->no_relu_pool = pass == 1;
        lam_compile_opts co = lam_compile_opts_defaults();
        co.max_batch = 4;
        CHECK_OK(lam_graph_compile(g, &co));
        int fused = 0;
        for (int i = 0; i < g->n_nodes; i++) fused += g->nodes[i]->pool_masks_relu;
        CHECK_MSG(fused == (pass == 0 ? 2 : 0), "pass %d: %d pools mask the ReLU", pass, fused);
        lam_rng r;
        lam_rng_seed(&r, 9);
        for (int step = 0; step < 2; step++) {
            for (int i = 0; i < 4 * 196; i++) lam_node_data(x)[i] = lam_rng_normal(&r);
            for (int i = 0; i < 4; i++) lam_node_labels(y)[i] = (int32_t)lam_rng_below(&r, 3);
            CHECK_OK(lam_graph_forward(g, 4, true));
            lam_graph_zero_grad(g);
            CHECK_OK(lam_graph_backward(g, loss));
        }
        np = (int)lam_graph_param_count(g);
        for (int i = 0; i < np && i < 16; i++) {
            const lam_param_info *pi = lam_graph_param_at(g, i);
            n[i] = pi->numel;
            got[pass][i] = malloc(pi->numel * sizeof(float));
            memcpy(got[pass][i], lam_graph_grads(g) + pi->offset, pi->numel * sizeof(float));
        }
        lam_graph_free(g);
    }
    for (int i = 0; i < np && i < 16; i++) {
        double scale = 0, err = 0;
        for (size_t j = 0; j < n[i]; j++) {
            scale = fmax(scale, fabs(got[1][i][j]));
            err = fmax(err, fabs(got[0][i][j] - got[1][i][j]));
        }
        CHECK_MSG(scale > 0 && err <= 1e-6 * scale, "parameter %d: error %.3g of scale %.3g", i, err, scale);
        free(got[0][i]);
        free(got[1][i]);
    }
}

/* Node names are looked up through a hash index: after renames (old slots
 * left stale) and rebuilds, every current name finds its node, an old name
 * finds nothing and can be taken again, a taken name is refused, and a
 * parameter is found by its new name.  Building 60,000 named nodes takes
 * well under a second (a linear lookup per new node took minutes). */
static void test_node_names(void)
{
    enum { N = 60000 };
    lam_graph *g = lam_graph_new(0);
    lam_node *x = lam_input(g, "x", lam_shape1(2)), *w;
    static lam_node *nodes[N];
    char nm[32];
    double t0 = t_now();
    for (int i = 0; i < N; i++) {
        nodes[i] = lam_add(g, i ? nodes[i - 1] : x, x);
        snprintf(nm, sizeof nm, "n%d", i);
        CHECK_OK(lam_node_set_name(g, nodes[i], nm));
        if (i % 2) {
            snprintf(nm, sizeof nm, "renamed%d", i);
            CHECK_OK(lam_node_set_name(g, nodes[i], nm));
        }
    }
    double secs = t_now() - t0;
    CHECK_MSG(secs < 1.0, "%d named nodes took %.2f s", N, secs);
    int wrong = 0;
    for (int i = 0; i < N; i++) {
        snprintf(nm, sizeof nm, i % 2 ? "renamed%d" : "n%d", i);
        wrong += lam_graph_node(g, nm) != nodes[i];
        snprintf(nm, sizeof nm, "n%d", i);
        if (i % 2) wrong += lam_graph_node(g, nm) != NULL;
    }
    CHECK_MSG(wrong == 0, "%d lookups wrong", wrong);
    CHECK_OK(lam_node_set_name(g, nodes[1], "n1"));          /* a freed name can be taken again */
    CHECK(lam_graph_node(g, "n1") == nodes[1] && lam_graph_node(g, "renamed1") == NULL);
    CHECK(lam_node_set_name(g, nodes[3], "n2") == LAM_ERR_ARG); /* taken */
    CHECK(strstr(lam_graph_error(g), "'n2' exists already"));
    lam_graph_free(g);

    g = lam_graph_new(0);
    w = lam_param(g, "w", lam_shape1(3), (lam_init){0});
    CHECK(lam_graph_param_find(g, "w") != NULL);
    CHECK_OK(lam_node_set_name(g, w, "weights"));
    CHECK(lam_graph_param_find(g, "w") == NULL);
    CHECK(lam_graph_param_find(g, "weights") && !strcmp(lam_graph_param_find(g, "weights")->name, "weights"));
    CHECK_OK(lam_graph_set_trainable(g, "weights", false));
    CHECK(!lam_graph_param_find(g, "weights")->trainable);
    CHECK(lam_graph_set_trainable(g, "w", false) == LAM_ERR_ARG);
    CHECK(lam_input(g, "weights", lam_shape1(3)) == NULL); /* a parameter's name is taken too */
    lam_graph_free(g);
}

/* check_finite names the first node to produce a NaN or an infinity, in
 * forward and in backward; without it the values simply flow on */
/* No tensor may hold more than LAM_MAX_NUMEL (2^31 - 4096) elements: an
 * input, a parameter or an op output past it is a clean LAM_ERR_SHAPE at
 * build time, and at compile time when the batch makes it so (the kernels
 * index with int: a model file asking for 2^31 - 1 tokens per window
 * overflowed the GEMM workspace arithmetic). */
static void test_size_limit(void)
{
    lam_shape s = lam_shape3(1 << 20, 1 << 10, 2);
    CHECK(lam_shape_numel_within(&s, (int64_t)1 << 31) && !lam_shape_numel_within(&s, ((int64_t)1 << 31) - 1));
    s = lam_shape4(INT64_MAX, INT64_MAX, 3, 0);
    CHECK(lam_shape_numel_within(&s, 1)); /* a zero dimension empties it, after any overflow */
    s = lam_shape3(INT64_MAX, INT64_MAX, INT64_MAX);
    CHECK(!lam_shape_numel_within(&s, LAM_MAX_NUMEL));
    s = lam_shape2(-1, 5);
    CHECK(!lam_shape_numel_within(&s, LAM_MAX_NUMEL));

    lam_graph *g = lam_graph_new(0);
    CHECK(lam_input(g, "x", lam_shape1(LAM_MAX_NUMEL + 1)) == NULL && lam_graph_status(g) == LAM_ERR_SHAPE);
    CHECK(strstr(lam_graph_error(g), "node x: shape [1, 2147479553] holds more than 2^31 - 4096 elements"));
    lam_graph_free(g);

    g = lam_graph_new(0);
    CHECK(lam_param(g, "w", lam_shape2(1 << 16, 1 << 16), (lam_init){0}) == NULL);
    CHECK(strstr(lam_graph_error(g), "parameter w: shape [65536, 65536] holds more than"));
    lam_graph_free(g);

    /* ids [B, 2^26] through an embedding of 64 units: 2^32 per sample */
    g = lam_graph_new(0);
    lam_node *ids = lam_input_ids(g, "ids", lam_shape1((int64_t)1 << 26));
    lam_embedding_opts eo = lam_embedding_opts_defaults(10, 64);
    CHECK(ids && lam_nn_embedding(g, ids, "emb", &eo) == NULL);
    CHECK(strstr(lam_graph_error(g), ": shape [1, 67108864, 64] holds more than"));
    lam_graph_free(g);

    /* fine at batch 1, too big at the compiled batch */
    g = lam_graph_new(0);
    lam_node *x = lam_input(g, "x", lam_shape1((int64_t)1 << 24));
    lam_dense_opts d = lam_dense_opts_defaults(32, LAM_ACT_RELU);
    lam_node *h = lam_nn_dense(g, x, "fc", &d);
    CHECK(h != NULL);
    lam_compile_opts co = lam_compile_opts_defaults();
    co.max_batch = 200;
    CHECK(lam_graph_compile(g, &co) == LAM_ERR_SHAPE);
    CHECK(strstr(lam_graph_error(g), "node x: shape [200, 16777216] holds more than"));
    lam_graph_free(g);
}

static void test_check_finite(void)
{
    lam_graph *g = lam_graph_new(1);
    lam_node *p = lam_param(g, "p", lam_shape2(2, 3), (lam_init){LAM_INIT_ONES, 0, 0});
    lam_node *q = lam_param(g, "q", lam_shape2(2, 3), (lam_init){LAM_INIT_ONES, 0, 0});
    lam_node *a = lam_add(g, p, q);
    lam_node_set_name(g, a, "the_add");
    lam_node *t = lam_tanh(g, a);
    lam_node *loss = lam_sum(g, t);
    lam_node_set_name(g, loss, "the_sum");
    lam_compile_opts co = lam_compile_opts_defaults();
    co.max_batch = 1;
    CHECK_OK(lam_graph_compile(g, &co));
    if (lam_graph_status(g) != LAM_OK) {
        lam_graph_free(g);
        return;
    }
    CHECK_OK(lam_graph_forward(g, 1, true));
    lam_graph_set_check_finite(g, true);
    CHECK_OK(lam_graph_forward(g, 1, true)); /* all finite: no complaint */
    lam_node_data(q)[4] = INFINITY;
    lam_status s = lam_graph_forward(g, 1, true);
    CHECK(s == LAM_ERR_NUMERIC && strstr(lam_last_error(), "the_add") && strstr(lam_last_error(), "element 4"));
    lam_node_data(q)[4] = 1.0f;
    CHECK_OK(lam_graph_forward(g, 1, true));
    const float inf = INFINITY;
    lam_graph_zero_grad(g);
    s = lam_graph_backward_seed(g, loss, &inf);
    CHECK_MSG(s == LAM_ERR_NUMERIC && strstr(lam_last_error(), "the_sum"), "%s", lam_last_error());
    lam_graph_set_check_finite(g, false);
    lam_node_data(q)[4] = NAN;
    CHECK_OK(lam_graph_forward(g, 1, true));
    CHECK(isnan(lam_node_data(loss)[0]));
    lam_graph_free(g);
}

int main(void)
{
    RUN(test_plan_reuse_matches_no_reuse);
    RUN(test_no_allocation_in_training_step);
    RUN(test_same_seed_same_bits);
    RUN(test_thread_count_invariance);
    RUN(test_batch_split_invariance);
    RUN(test_frozen_layer_unchanged);
    RUN(test_sticky_build_errors);
    RUN(test_inputs_persist);
    RUN(test_fault_injection);
    RUN(test_fresh_gradients_match_zeroed);
    RUN(test_relu_pool_fusion_matches);
    RUN(test_check_finite);
    RUN(test_node_names);
    RUN(test_size_limit);
    TEST_MAIN_END;
}
