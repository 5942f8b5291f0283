/* Properties of the attention and sequence-pooling ops and layers (their
 * values are checked in test_ops.c against double references and in
 * test_golden_attention.c against PyTorch):
 *  - masked key positions get weight exactly 0, gradient exactly 0, and
 *    changing the values there changes no bit of any output or gradient;
 *  - results are bitwise the same for 1 and 2 threads, with and without
 *    buffer reuse in the memory plan, and a smaller batch gives the same
 *    bits for its rows (batch-size invariance of the forward pass);
 *  - forward and backward allocate nothing;
 *  - the layers' parameter names and shapes, the pooling layer's weights
 *    node, and the errors (shapes, arguments, lengths at run time). */
#include "lamina/nn.h"
#include "test.h"

#define B 8
#define TQ 6
#define TK 40
#define DQ 24
#define D 32

typedef struct run_cfg {
    lam_attn_score score;
    bool pool;      /* lam_nn_attention_pool (shared learned query) */
    bool scaled;
    bool no_reuse;
    int threads;
    int batch;      /* rows run (<= B) */
    bool mutate;    /* overwrite the values at masked positions */
} run_cfg;

static const int32_t LENGTHS[B] = {40, 1, 17, 33, 5, 40, 2, 28};

/* The results of one training step, flattened: context, weights, the
 * gradients of q and kv and all parameter gradients. */
typedef struct results {
    float *v;
    size_t n;
    size_t kv_grad_at, w_at; /* where the kv gradient and the weights start */
} results;

static void fill(float *x, size_t n, lam_rng *r)
{
    for (size_t i = 0; i < n; i++) x[i] = 2.0f * lam_rng_uniform(r) - 1.0f;
}

static results run(const run_cfg *c)
{
    results res = {0};
    lam_graph *g = lam_graph_new(42);
    lam_node *kv_in = lam_input(g, "kv_in", lam_shape2(TK, D));
    lam_node *kv = lam_bias_add(g, kv_in, lam_param(g, "kv_zero", lam_shape1(D), (lam_init){0}));
    int64_t dq = c->score == LAM_ATTN_DOT ? D : DQ;
    lam_node *q_in = c->pool ? NULL : lam_input(g, "q_in", lam_shape2(TQ, dq));
    lam_node *q = c->pool ? NULL : lam_bias_add(g, q_in, lam_param(g, "q_zero", lam_shape1(dq), (lam_init){0}));
    lam_node *len = lam_input_ids(g, "lengths", (lam_shape){0, {0}});
    lam_attention_opts o = lam_attention_opts_defaults(c->score);
    o.units = 20;
    o.scaled = c->scaled;
    lam_node *y = c->pool ? lam_nn_attention_pool(g, kv, len, "att", &o) : lam_nn_attention(g, q, kv, len, "att", &o);
    lam_node *att = c->pool ? lam_node_input(y, 0) : y;
    lam_node *a = lam_node_output(g, att, 0);
    lam_shape ys = lam_node_shape(y), as = lam_node_shape(a);
    ys.ndim--, as.ndim--;
    for (int i = 0; i < ys.ndim; i++) ys.d[i] = ys.d[i + 1];
    for (int i = 0; i < as.ndim; i++) as.d[i] = as.d[i + 1];
    lam_node *ty = lam_input(g, "ty", ys), *ta = lam_input(g, "ta", as);
    lam_node *loss = lam_add(g, lam_mse_loss(g, y, ty), lam_mse_loss(g, a, ta));
    lam_graph_mark_output(g, y);
    lam_graph_mark_output(g, a);
    CHECK_MSG(loss != NULL, "%s", lam_graph_error(g));
    lam_compile_opts co = lam_compile_opts_defaults();
    co.max_batch = B;
    co.no_reuse = c->no_reuse;
    CHECK_OK(lam_graph_compile(g, &co));
    if (!loss || lam_graph_status(g) != LAM_OK) {
        lam_graph_free(g);
        return res;
    }
    lam_rng r;
    lam_rng_seed(&r, 7);
    float *kvd = lam_node_data(kv_in);
    fill(kvd, (size_t)B * TK * D, &r);
    if (q_in) fill(lam_node_data(q_in), (size_t)(B * TQ * dq), &r);
    fill(lam_node_data(ty), (size_t)(lam_shape_numel(&ys) * B), &r);
    fill(lam_node_data(ta), (size_t)(lam_shape_numel(&as) * B), &r);
    for (int b = 0; b < B; b++) lam_node_ids(len)[b] = LENGTHS[b];
    if (c->mutate)
        for (int b = 0; b < B; b++)
            for (int j = LENGTHS[b]; j < TK; j++)
                for (int k = 0; k < D; k++) kvd[((size_t)b * TK + j) * D + k] = 100.0f * (lam_rng_uniform(&r) - 0.5f);
    lam_set_threads(c->threads);
    CHECK_OK(lam_graph_forward(g, c->batch, true));
    lam_graph_zero_grad(g);
    CHECK_OK(lam_graph_backward(g, loss));
    lam_set_threads(0);
    size_t ny = (size_t)lam_shape_numel(&ys) * (size_t)c->batch, na = (size_t)lam_shape_numel(&as) * (size_t)c->batch;
    size_t nq = q_in ? (size_t)(c->batch * TQ * dq) : 0, nkv = (size_t)c->batch * TK * D;
    size_t np = lam_graph_param_total(g);
    res.n = ny + na + nq + nkv + np;
    res.v = malloc(res.n * sizeof(float));
    float *p = res.v;
    memcpy(p, lam_node_data(y), ny * sizeof(float)), p += ny;
    res.w_at = (size_t)(p - res.v);
    memcpy(p, lam_node_data(a), na * sizeof(float)), p += na;
    if (nq) memcpy(p, lam_node_grad(q), nq * sizeof(float)), p += nq;
    res.kv_grad_at = (size_t)(p - res.v);
    memcpy(p, lam_node_grad(kv), nkv * sizeof(float)), p += nkv;
    memcpy(p, lam_graph_grads(g), np * sizeof(float));
    lam_graph_free(g);
    return res;
}

static bool same_bits(results a, results b) { return a.n == b.n && a.n && memcmp(a.v, b.v, a.n * sizeof(float)) == 0; }

static const lam_attn_score SCORES[3] = {LAM_ATTN_DOT, LAM_ATTN_GENERAL, LAM_ATTN_ADDITIVE};

static void test_masked_positions(void)
{
    for (int pool = 0; pool < 2; pool++)
        for (int s = 0; s < 3; s++) {
            run_cfg c = {SCORES[s], pool, s == 0, false, 1, B, false};
            results base = run(&c);
            c.mutate = true;
            results mut = run(&c);
            CHECK_MSG(same_bits(base, mut), "%s%s: values at masked positions changed a result",
                      lam_attn_score_name(SCORES[s]), pool ? " pool" : "");
            int tq = pool ? 1 : TQ;
            for (int b = 0; base.n && b < B; b++)
                for (int j = LENGTHS[b]; j < TK; j++) {
                    for (int i = 0; i < tq; i++) CHECK(base.v[base.w_at + ((size_t)b * tq + i) * TK + j] == 0.0f);
                    for (int k = 0; k < D; k++) CHECK(base.v[base.kv_grad_at + ((size_t)b * TK + j) * D + k] == 0.0f);
                }
            free(base.v);
            free(mut.v);
        }
}

static void test_thread_and_plan_invariance(void)
{
    for (int pool = 0; pool < 2; pool++)
        for (int s = 0; s < 3; s++) {
            run_cfg c = {SCORES[s], pool, false, false, 1, B, false};
            results one = run(&c);
            c.threads = 2;
            results two = run(&c);
            c.no_reuse = true;
            results own = run(&c);
            CHECK_MSG(same_bits(one, two), "%s%s: 1 and 2 threads differ", lam_attn_score_name(SCORES[s]), pool ? " pool" : "");
            CHECK_MSG(same_bits(two, own), "%s%s: the memory plan changed a result", lam_attn_score_name(SCORES[s]),
                      pool ? " pool" : "");
            /* a smaller batch: the same context and weights for its rows */
            c.batch = 3;
            results small = run(&c);
            size_t per = one.w_at / B;
            CHECK(small.n && memcmp(small.v, one.v, 3 * per * sizeof(float)) == 0);
            CHECK(small.n && memcmp(small.v + small.w_at, one.v + one.w_at, 3 * (size_t)(pool ? 1 : TQ) * TK * sizeof(float)) == 0);
            free(one.v);
            free(two.v);
            free(own.v);
            free(small.v);
        }
}

static void test_no_allocation_in_step(void)
{
    lam_graph *g = lam_graph_new(1);
    lam_node *kv = lam_input(g, "kv", lam_shape2(TK, D));
    lam_node *len = lam_input_ids(g, "lengths", (lam_shape){0, {0}});
    lam_node *pooled = lam_nn_attention_pool(g, kv, len, "pool", NULL);
    lam_node *mx = lam_nn_seq_pool(g, kv, len, "max", LAM_SEQ_POOL_MAX);
    lam_node *t = lam_input(g, "t", lam_shape1(D));
    lam_node *loss = lam_add(g, lam_mse_loss(g, pooled, t), lam_mse_loss(g, mx, t));
    lam_compile_opts co = lam_compile_opts_defaults();
    co.max_batch = B;
    CHECK_OK(lam_graph_compile(g, &co));
    for (int b = 0; b < B; b++) lam_node_ids(len)[b] = LENGTHS[b];
    lam_alloc_stats before, after;
    lam_alloc_get_stats(&before);
    for (int step = 0; step < 2; step++) {
        CHECK_OK(lam_graph_forward(g, step ? 5 : B, true));
        lam_graph_zero_grad(g);
        CHECK_OK(lam_graph_backward(g, loss));
    }
    lam_alloc_get_stats(&after);
    CHECK(after.n_alloc == before.n_alloc);
    lam_graph_free(g);
}

static lam_shape param_shape(lam_graph *g, const char *name)
{
    const lam_param_info *p = lam_graph_param_find(g, name);
    CHECK_MSG(p != NULL, "no parameter %s", name);
    return p ? p->shape : (lam_shape){0, {0}};
}
static bool shape_is(lam_shape s, int n, int64_t a, int64_t b)
{
    return s.ndim == n && s.d[0] == a && (n < 2 || s.d[1] == b);
}

static void test_layers(void)
{
    lam_graph *g = lam_graph_new(3);
    lam_node *q = lam_input(g, "q", lam_shape2(TQ, DQ)), *kv = lam_input(g, "kv", lam_shape2(TK, D));
    lam_attention_opts o = lam_attention_opts_defaults(LAM_ATTN_GENERAL);
    lam_node *gen = lam_nn_attention(g, q, kv, NULL, "gen", &o);
    CHECK(gen && !strcmp(lam_node_name(gen), "gen") && !strcmp(lam_node_op_name(gen), "attention"));
    CHECK(shape_is(param_shape(g, "gen.weight"), 2, DQ, D));
    lam_node *add = lam_nn_attention(g, q, kv, NULL, "add", NULL); /* additive, 64 units */
    CHECK(add && shape_is(param_shape(g, "add.query_proj"), 2, 64, DQ));
    CHECK(shape_is(param_shape(g, "add.key_proj"), 2, 64, D) && shape_is(param_shape(g, "add.v"), 1, 64, 0));
    lam_shape s = lam_node_shape(add);
    CHECK(s.ndim == 3 && s.d[1] == TQ && s.d[2] == D);
    lam_node *pool = lam_nn_attention_pool(g, kv, NULL, "han", NULL);
    s = lam_node_shape(pool);
    CHECK(pool && s.ndim == 2 && s.d[1] == D && !strcmp(lam_node_name(pool), "han"));
    CHECK(shape_is(param_shape(g, "han.query"), 2, 1, 64) && shape_is(param_shape(g, "han.query_proj"), 2, 64, 64));
    lam_node *att = lam_node_input(pool, 0);
    CHECK(att && att == lam_graph_node(g, "han.attention"));
    lam_node *w = lam_node_output(g, att, 0);
    s = lam_node_shape(w);
    CHECK(w && s.ndim == 3 && s.d[1] == 1 && s.d[2] == TK);
    CHECK(lam_node_output(g, att, 0) == w && lam_node_output(g, att, 1) == NULL);
    lam_graph_free(g);

    g = lam_graph_new(3);
    kv = lam_input(g, "kv", lam_shape2(TK, D));
    o = lam_attention_opts_defaults(LAM_ATTN_DOT);
    o.scaled = true;
    pool = lam_nn_attention_pool(g, kv, NULL, "dotpool", &o);
    CHECK(pool && shape_is(param_shape(g, "dotpool.query"), 2, 1, D) && lam_graph_param_count(g) == 1);
    lam_node *mean = lam_nn_seq_pool(g, kv, NULL, "mean", LAM_SEQ_POOL_MEAN);
    CHECK(mean && !strcmp(lam_node_name(mean), "mean") && lam_node_shape(mean).d[1] == D);
    /* a dot layer has no parameters and the query must match */
    lam_node *q2 = lam_input(g, "q2", lam_shape2(3, D));
    CHECK(lam_nn_attention(g, q2, kv, NULL, "dot", &o) != NULL && lam_graph_param_count(g) == 1);
    CHECK_OK(lam_graph_compile(g, NULL));
    lam_graph_free(g);

    lam_attn_score sc;
    lam_seq_pool_mode m;
    CHECK(lam_attn_score_from_name("additive", &sc) && sc == LAM_ATTN_ADDITIVE && !lam_attn_score_from_name("x", &sc));
    CHECK(lam_seq_pool_mode_from_name("last", &m) && m == LAM_SEQ_POOL_LAST && !strcmp(lam_seq_pool_mode_name(m), "last"));
}

/* builder errors: NULL result, the graph's message mentions `what` */
static void expect_build_error(lam_node *(*build)(lam_graph *g), const char *what)
{
    lam_graph *g = lam_graph_new(0);
    lam_node *n = build(g);
    CHECK_MSG(n == NULL && lam_graph_status(g) != LAM_OK && strstr(lam_graph_error(g), what),
              "expected an error mentioning '%s', got: %s", what, lam_graph_error(g));
    lam_graph_free(g);
}
static lam_node *kv_of(lam_graph *g) { return lam_input(g, "kv", lam_shape2(5, 4)); }
static lam_node *p2(lam_graph *g, const char *n, int64_t a, int64_t b) { return lam_param(g, n, lam_shape2(a, b), (lam_init){0}); }
static lam_node *e_dot_size(lam_graph *g)
{
    return lam_attention_op(g, lam_input(g, "q", lam_shape2(2, 3)), kv_of(g), NULL, LAM_ATTN_DOT, NULL, NULL, NULL, NULL, 1);
}
static lam_node *e_general_w(lam_graph *g)
{
    return lam_attention_op(g, lam_input(g, "q", lam_shape2(2, 3)), kv_of(g), NULL, LAM_ATTN_GENERAL, p2(g, "w", 4, 3),
                            NULL, NULL, NULL, 1);
}
static lam_node *e_additive_v(lam_graph *g)
{
    return lam_attention_op(g, lam_input(g, "q", lam_shape2(2, 3)), kv_of(g), NULL, LAM_ATTN_ADDITIVE, NULL,
                            p2(g, "wq", 6, 3), p2(g, "wk", 6, 4), lam_param(g, "v", lam_shape1(5), (lam_init){0}), 1);
}
static lam_node *e_dot_weights(lam_graph *g)
{
    return lam_attention_op(g, lam_input(g, "q", lam_shape2(2, 4)), kv_of(g), NULL, LAM_ATTN_DOT, p2(g, "w", 4, 4), NULL,
                            NULL, NULL, 1);
}
static lam_node *e_additive_missing(lam_graph *g)
{
    return lam_attention_op(g, lam_input(g, "q", lam_shape2(2, 3)), kv_of(g), NULL, LAM_ATTN_ADDITIVE, NULL,
                            p2(g, "wq", 6, 3), NULL, NULL, 1);
}
static lam_node *e_scale(lam_graph *g)
{
    return lam_attention_op(g, lam_input(g, "q", lam_shape2(2, 4)), kv_of(g), NULL, LAM_ATTN_DOT, NULL, NULL, NULL, NULL,
                            INFINITY);
}
static lam_node *e_float_lengths(lam_graph *g)
{
    return lam_attention_op(g, lam_input(g, "q", lam_shape2(2, 4)), kv_of(g), lam_input(g, "len", (lam_shape){0, {0}}),
                            LAM_ATTN_DOT, NULL, NULL, NULL, NULL, 1);
}
static lam_node *e_lengths_shape(lam_graph *g)
{
    return lam_attention_op(g, lam_input(g, "q", lam_shape2(2, 4)), kv_of(g), lam_input_ids(g, "len", lam_shape1(2)),
                            LAM_ATTN_DOT, NULL, NULL, NULL, NULL, 1);
}
static lam_node *e_kv_rank(lam_graph *g)
{
    return lam_attention_op(g, lam_input(g, "q", lam_shape2(2, 4)), lam_input(g, "kv", lam_shape1(4)), NULL, LAM_ATTN_DOT,
                            NULL, NULL, NULL, NULL, 1);
}
static lam_node *e_query_batch(lam_graph *g)
{
    return lam_attention_op(g, lam_input(g, "q", lam_shape1(4)), kv_of(g), NULL, LAM_ATTN_DOT, NULL, NULL, NULL, NULL, 1);
}
static lam_node *e_score(lam_graph *g)
{
    return lam_attention_op(g, lam_input(g, "q", lam_shape2(2, 4)), kv_of(g), NULL, (lam_attn_score)7, NULL, NULL, NULL,
                            NULL, 1);
}
static lam_node *e_pool_rank(lam_graph *g) { return lam_seq_pool(g, lam_input(g, "x", lam_shape1(4)), NULL, LAM_SEQ_POOL_SUM); }
static lam_node *e_pool_mode(lam_graph *g) { return lam_seq_pool(g, kv_of(g), NULL, (lam_seq_pool_mode)9); }
static lam_node *e_layer_units(lam_graph *g)
{
    lam_attention_opts o = lam_attention_opts_defaults(LAM_ATTN_ADDITIVE);
    o.units = 0;
    return lam_nn_attention_pool(g, kv_of(g), NULL, "p", &o);
}

static void test_build_errors(void)
{
    expect_build_error(e_dot_size, "must equal the key size");
    expect_build_error(e_general_w, "expected weight [Dq, D] = [3, 4]");
    expect_build_error(e_additive_v, "v [5]");
    expect_build_error(e_dot_weights, "takes no weights");
    expect_build_error(e_additive_missing, "needs wq, wk and v");
    expect_build_error(e_scale, "must be finite");
    expect_build_error(e_float_lengths, "expected integers");
    expect_build_error(e_lengths_shape, "expected lengths [B]");
    expect_build_error(e_kv_rank, "keys/values [B, Tk, D]");
    expect_build_error(e_query_batch, "reshape it to [B, 1, Dq]");
    expect_build_error(e_score, "unknown score");
    expect_build_error(e_pool_rank, "expected [B, T, C]");
    expect_build_error(e_pool_mode, "unknown mode");
    expect_build_error(e_layer_units, "units = 0");
}

/* a length of 0 or above the sequence stops the forward pass, naming the row */
static void test_bad_lengths_at_run_time(void)
{
    for (int op = 0; op < 2; op++)
        for (int bad = 0; bad < 2; bad++) {
            lam_graph *g = lam_graph_new(0);
            lam_node *kv = lam_input(g, "kv", lam_shape2(5, 4)), *len = lam_input_ids(g, "len", (lam_shape){0, {0}});
            lam_node *y = op ? lam_seq_pool(g, kv, len, LAM_SEQ_POOL_LAST)
                             : lam_nn_attention_pool(g, kv, len, "p", NULL);
            CHECK(y != NULL);
            lam_compile_opts co = lam_compile_opts_defaults();
            co.max_batch = 3;
            CHECK_OK(lam_graph_compile(g, &co));
            int32_t *l = lam_node_ids(len);
            l[0] = 5, l[1] = 2, l[2] = bad ? 6 : 0;
            lam_status s = lam_graph_forward(g, 3, false);
            CHECK(s == LAM_ERR_ARG && strstr(lam_last_error(), "batch row 2"));
            l[2] = 5;
            CHECK_OK(lam_graph_forward(g, 3, false));
            lam_graph_free(g);
        }
}

int main(void)
{
    RUN(test_masked_positions);
    RUN(test_thread_and_plan_invariance);
    RUN(test_no_allocation_in_step);
    RUN(test_layers);
    RUN(test_build_errors);
    RUN(test_bad_lengths_at_run_time);
    TEST_MAIN_END;
}
