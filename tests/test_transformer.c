/* Transformer training features from model files and the graph API:
 * attention dropout inside the fused op (its gradient by finite differences
 * under a fixed mask; inference unaffected), activation recomputation (the
 * same bits as keeping every value, with less planned memory), gradient
 * accumulation (one step over 2 x 8 samples = one over 16), AdamW's decay
 * rule (matrices decay; biases, norms and embedding tables do not), weight
 * tying, sinusoidal positions (a fixed buffer), and a LLaMA-style model
 * (RMSNorm, RoPE, SwiGLU, grouped-query attention, no biases) that learns
 * and generates the same tokens with and without its key/value caches. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lamina/lamina.h"
#include "test.h"
#include "train/train_internal.h"

static char corpus[300];

static lam_status model_from_text(const char *text, lam_model **m)
{
    lam_cfg *c;
    lam_status s = lam_cfg_parse(text, strlen(text), "test.cfg", &c);
    if (s != LAM_OK) return s;
    return lam_model_from_cfg(c, NULL, m);
}

/* a tiny GPT on the "aab" corpus; extra: lines added to [transformer], train: to [train] */
static void gpt_cfg(char *buf, size_t n, const char *emb, const char *block, const char *dense, const char *train)
{
    snprintf(buf, n,
             "[net]\ninput = 12\nseed = 4\n"
             "[data]\nformat = corpus\npath = %s\n"
             "[embedding]\nunits = 16\n%s"
             "[transformer]\nheads = 2\nrepeat = 2\n%s"
             "[layernorm]\n"
             "[dense]\nunits = vocab\n%s"
             "[train]\nloss = cross_entropy\noptimizer = adamw\nlr = 0.01\nbatch = 8\nsteps = 6\n%s",
             corpus, emb, block, dense, train);
}

static lam_model *trained(const char *cfg, int64_t steps, lam_fit_result *fr)
{
    lam_model *m = NULL;
    CHECK_OK(model_from_text(cfg, &m));
    if (!m) return NULL;
    lam_dataset *tr, *va, *te;
    CHECK_OK(lam_model_prepare_data(m, &tr, &va, &te, NULL));
    m->train.steps = steps;
    lam_fit_result r;
    CHECK_OK(lam_fit(m, tr, NULL, NULL, fr ? fr : &r));
    lam_dataset_free(tr);
    return m;
}

static bool same_params(lam_model *a, lam_model *b)
{
    size_t n = lam_graph_param_total(a->g);
    return n == lam_graph_param_total(b->g) && !memcmp(lam_graph_params(a->g), lam_graph_params(b->g), n * sizeof(float));
}

/* ---- attention dropout --------------------------------------------------- */

/* loss(qkv) = sum(mha(qkv) * t), forward from a fixed RNG state (so a fixed mask) */
static double dropout_loss(lam_graph *g, lam_node *loss, const lam_rng *st, bool training)
{
    *lam_graph_rng(g) = *st;
    CHECK_OK(lam_graph_forward(g, 1, training));
    return lam_node_data(loss)[0];
}

static void test_attention_dropout(void)
{
    lam_graph *g = lam_graph_new(3);
    lam_node *x = lam_param(g, "qkv", lam_shape3(1, 9, 18), (lam_init){LAM_INIT_NORMAL, 1.0f, 0});
    lam_node *t = lam_param(g, "t", lam_shape3(1, 9, 6), (lam_init){LAM_INIT_NORMAL, 1.0f, 0});
    lam_mha_args a = {2, 2, 3, true, 0.0f, 0.4f};
    lam_node *y = lam_mha_op(g, x, NULL, &a);
    lam_node *loss = lam_sum(g, lam_mul(g, y, t));
    lam_compile_opts co = lam_compile_opts_defaults();
    co.max_batch = 1;
    CHECK_OK(lam_graph_compile(g, &co));
    if (lam_graph_status(g) != LAM_OK) {
        lam_graph_free(g);
        return;
    }
    lam_rng st = *lam_graph_rng(g);
    /* inference: no dropout, so the same as an op without it */
    double l_eval = dropout_loss(g, loss, &st, false);
    float y_eval[54];
    memcpy(y_eval, lam_node_data(y), sizeof y_eval);
    double l_train = dropout_loss(g, loss, &st, true);
    int zeros = 0, changed = 0;
    for (int i = 0; i < 54; i++) changed += lam_node_data(y)[i] != y_eval[i];
    CHECK_MSG(changed > 20 && l_train != l_eval, "dropout changed %d of 54 outputs", changed);
    /* the same state, the same mask */
    float y1[54];
    memcpy(y1, lam_node_data(y), sizeof y1);
    dropout_loss(g, loss, &st, true);
    CHECK(!memcmp(y1, lam_node_data(y), sizeof y1));
    /* gradient against central differences under that mask */
    lam_graph_zero_grad(g);
    CHECK_OK(lam_graph_backward(g, loss));
    float *xv = lam_node_data(x), *gx = lam_node_grad(x);
    float an[162];
    memcpy(an, gx, sizeof an);
    double worst = 0;
    for (int i = 0; i < 162; i++) {
        float keep = xv[i];
        const float h = 1e-2f;
        xv[i] = keep + h;
        double lp = dropout_loss(g, loss, &st, true);
        xv[i] = keep - h;
        double lm = dropout_loss(g, loss, &st, true);
        xv[i] = keep;
        double num = (lp - lm) / (2 * h), err = fabs(num - an[i]) / (1 + fabs(num));
        if (err > worst) worst = err;
        zeros += an[i] == 0.0f;
    }
    CHECK_MSG(worst < 2e-3, "attention dropout gradient: worst relative error %.3g", worst);
    (void)zeros;
    lam_graph_free(g);
}

/* ---- recomputation, accumulation, decay, tying, positions ------------------ */

static void test_recompute(void)
{
    char a[2048], b[2048];
    gpt_cfg(a, sizeof a, "position = learned\n", "dropout = 0.1\n", "", "");
    gpt_cfg(b, sizeof b, "position = learned\n", "dropout = 0.1\nrecompute = true\n", "", "");
    lam_model *ma = trained(a, 6, NULL), *mb = trained(b, 6, NULL);
    if (ma && mb) {
        CHECK_MSG(same_params(ma, mb), "6 steps with recomputation differ from 6 without");
        lam_mem_plan pa = lam_graph_mem_plan(ma->g), pb = lam_graph_mem_plan(mb->g);
        CHECK_MSG(pb.arena_bytes < pa.arena_bytes && pb.arena_no_recompute_bytes == pa.arena_bytes,
                  "planned %zu bytes with recomputation, %zu without (%zu planned without it in the same graph)",
                  pb.arena_bytes, pa.arena_bytes, pb.arena_no_recompute_bytes);
        /* and at 2 threads */
        lam_set_threads(2);
        lam_model *mc = trained(b, 6, NULL);
        lam_set_threads(1);
        if (mc) CHECK(same_params(ma, mc));
        lam_model_free(mc);
    }
    lam_model_free(ma);
    lam_model_free(mb);
}

static void test_accumulate(void)
{
    char a[2048], b[2048];
    gpt_cfg(a, sizeof a, "position = learned\n", "", "", "shuffle = false\n");
    gpt_cfg(b, sizeof b, "position = learned\n", "", "", "shuffle = false\naccumulate = 2\n");
    /* b: micro-batches of 4, two per step = a's batches of 8; plain SGD,
     * whose update is linear in the gradient (Adam's divides by its root
     * mean square, which magnifies rounding where gradients are near 0) */
    char *p = strstr(b, "batch = 8");
    if (p) p[8] = '4';
    for (char *c = a; c; c = c == a ? b : NULL) {
        char *o = strstr(c, "optimizer = adamw");
        if (o) memcpy(o, "optimizer = sgd  ", 17);
    }
    lam_fit_result fa, fb;
    lam_model *ma = trained(a, 3, &fa), *mb = trained(b, 3, &fb);
    lam_model *m0 = NULL; /* the initial weights, to compare the updates */
    CHECK_OK(model_from_text(a, &m0));
    if (m0) CHECK_OK(lam_model_compile(m0, 8));
    if (ma && mb && m0) {
        CHECK(fa.steps == 3 && fb.steps == 3 && fb.samples == fa.samples);
        const float *x = lam_graph_params(ma->g), *y = lam_graph_params(mb->g), *x0 = lam_graph_params(m0->g);
        double worst = 0, big = 0;
        for (size_t i = 0; i < lam_graph_param_total(ma->g); i++) big = fmax(big, fabs(x[i] - x0[i]));
        for (size_t i = 0; i < lam_graph_param_total(ma->g); i++) worst = fmax(worst, fabs(x[i] - y[i]) / big);
        CHECK_MSG(big > 1e-3 && worst < 1e-4,
                  "3 steps of 2 x 4 against 3 of 8: updates up to %.3g differ by up to %.3g of that", big, worst);
        CHECK_MSG(fabs(fa.last_loss - fb.last_loss) < 1e-4 * (1 + fabs(fa.last_loss)), "losses %.7f and %.7f",
                  fa.last_loss, fb.last_loss);
    }
    lam_model_free(m0);
    lam_model_free(ma);
    lam_model_free(mb);
}

/* One AdamW step on zero gradients moves only the decayed parameters (by
 * the factor 1 - lr wd). */
static void test_decay_rule(void)
{
    static const char *const rules[] = {"", "decay = all\n"};
    for (int r = 0; r < 2; r++) {
        char cfg[2048], tr[128];
        snprintf(tr, sizeof tr, "weight_decay = 0.5\n%s", rules[r]);
        gpt_cfg(cfg, sizeof cfg, "position = learned\n", "", "", tr);
        lam_model *m = NULL;
        CHECK_OK(model_from_text(cfg, &m));
        if (!m) continue;
        CHECK_OK(lam_model_compile(m, 8));
        lam_optim *o = NULL;
        CHECK_OK(lam_fit_make_optim_(m, &o));
        size_t np = lam_graph_param_total(m->g);
        float *before = malloc(np * sizeof(float)), *zero = calloc(np, sizeof(float));
        memcpy(before, lam_graph_params(m->g), np * sizeof(float));
        CHECK_OK(lam_optim_step(o, lam_graph_params(m->g), zero, 1.0f));
        float f = 1.0f - 0.01f * 0.5f;
        for (size_t i = 0; i < lam_graph_param_count(m->g); i++) {
            const lam_param_info *p = lam_graph_param_at(m->g, i);
            const float *v = lam_graph_params(m->g) + p->offset, *v0 = before + p->offset;
            bool table = strstr(p->name, "emb") == p->name; /* the token and position tables */
            bool decays = r == 1 || (p->shape.ndim >= 2 && !table);
            int wrong = 0;
            for (size_t k = 0; k < p->numel; k++)
                wrong += decays ? fabsf(v[k] - v0[k] * f) > 1e-7f * fabsf(v0[k]) + 1e-12f : v[k] != v0[k];
            CHECK_MSG(wrong == 0, "rule %d: %s should %sdecay (%d values wrong)", r, p->name, decays ? "" : "not ",
                      wrong);
        }
        free(before);
        free(zero);
        lam_optim_free(o);
        lam_model_free(m);
    }
}

static void test_tying_and_sinusoidal(void)
{
    char cfg[2048];
    gpt_cfg(cfg, sizeof cfg, "name = emb\nposition = sinusoidal\n", "", "tie = emb\nbias = false\n", "");
    lam_fit_result fr;
    lam_model *m = trained(cfg, 40, &fr);
    if (!m) return;
    lam_graph *g = m->g;
    CHECK(lam_graph_node(g, "fc1.weight") == NULL && lam_graph_node(g, "emb.weight") != NULL);
    CHECK_MSG(fr.last10_loss < 0.5, "tied model's loss after 40 steps %.4f", fr.last10_loss);
    /* the position table: Vaswani's sinusoids, a buffer that training left alone */
    bool found = false;
    for (size_t i = 0; i < lam_graph_param_count(g); i++) {
        const lam_param_info *p = lam_graph_param_at(g, i);
        if (strcmp(p->name, "emb.pos.weight")) continue;
        found = true;
        CHECK(p->buffer && !p->trainable && p->shape.d[0] == 12 && p->shape.d[1] == 16);
        const float *v = lam_graph_params(g) + p->offset;
        double worst = 0;
        for (int t = 0; t < 12; t++)
            for (int j = 0; j < 16; j++) {
                double w = pow(10000.0, -(double)(j / 2 * 2) / 16.0), want = j % 2 ? cos(t * w) : sin(t * w);
                if (fabs(v[t * 16 + j] - want) > worst) worst = fabs(v[t * 16 + j] - want);
            }
        CHECK_MSG(worst < 1e-6, "sinusoidal table off by %.3g", worst);
    }
    CHECK(found);
    /* generation reads the tied weight and the table too */
    lam_generate_opts go = lam_generate_opts_defaults();
    go.prompt = "ab";
    go.prompt_len = 2;
    go.tokens = 9;
    go.temperature = 0;
    lam_generate_stats st;
    CHECK_OK(lam_generate(m, &go, NULL, NULL, &st));
    CHECK(st.tokens == 9);
    lam_model_free(m);
}

/* ---- a LLaMA-style model ----------------------------------------------------- */

typedef struct text_buf {
    char s[256];
    size_t n;
} text_buf;

static void collect(const char *t, size_t len, void *user)
{
    text_buf *b = user;
    for (size_t i = 0; i < len && b->n + 1 < sizeof b->s; i++) b->s[b->n++] = t[i];
    b->s[b->n] = 0;
}

static void test_llama(void)
{
    char cfg[2048];
    snprintf(cfg, sizeof cfg,
             "[net]\ninput = 16\nseed = 2\n"
             "[data]\nformat = corpus\npath = %s\n"
             "[embedding]\nunits = 16\ninit_std = 0.02\n"
             "[transformer]\nheads = 4\nkv_heads = 2\nrepeat = 2\nnorm = rmsnorm\nposition = rope\n"
             "activation = swiglu\nbias = false\n"
             "[rmsnorm]\n"
             "[dense]\nunits = vocab\nbias = false\n"
             "[train]\nloss = cross_entropy\noptimizer = adamw\nlr = 0.01\nbatch = 8\nsteps = 80\n",
             corpus);
    lam_fit_result fr;
    lam_model *m = trained(cfg, 80, &fr);
    if (!m) return;
    CHECK(lam_graph_node(m->g, "block1.0.fc1.weight") && !lam_graph_node(m->g, "block1.0.fc1.bias"));
    lam_shape fs = lam_node_shape(lam_graph_node(m->g, "block1.0.fc1.weight"));
    CHECK_MSG(fs.d[0] == 2 * 48, "SwiGLU fc1 has %lld rows, expected 2 x 48 (8 x 16 / 3 rounded up to 8)",
              (long long)fs.d[0]);
    CHECK_MSG(fr.last10_loss < 0.3, "LLaMA-style model's loss after 80 steps %.4f", fr.last10_loss);
    /* cached and recomputed generation: the same tokens within the context */
    lam_generate_opts go = lam_generate_opts_defaults();
    go.prompt = "baa";
    go.prompt_len = 3;
    go.tokens = 13;
    go.seed = 5;
    go.temperature = 1.3;
    text_buf a = {0}, b = {0};
    lam_generate_stats st;
    CHECK_OK(lam_generate(m, &go, collect, &a, &st));
    go.no_cache = true;
    CHECK_OK(lam_generate(m, &go, collect, &b, &st));
    CHECK_MSG(a.n == 13 && !strcmp(a.s, b.s), "cached '%s', recomputed '%s'", a.s, b.s);
    lam_model_free(m);
}

/* ---- model-file errors ------------------------------------------------------ */

static void expect_error(const char *text, const char *needle)
{
    lam_model *m = NULL;
    lam_status s = model_from_text(text, &m);
    CHECK_MSG(s != LAM_OK && strstr(lam_last_error(), needle), "expected an error with '%s', got '%s'", needle,
              s == LAM_OK ? "success" : lam_last_error());
    lam_model_free(m);
}

static void test_errors(void)
{
    char cfg[2048];
    gpt_cfg(cfg, sizeof cfg, "", "", "tie = nothing\n", "");
    expect_error(cfg, "tie = nothing");
    gpt_cfg(cfg, sizeof cfg, "", "rope_theta = 100\n", "", "");
    expect_error(cfg, "rope_theta goes with position = rope");
    gpt_cfg(cfg, sizeof cfg, "", "activation = swish\n", "", "");
    expect_error(cfg, "activation 'swish'");
    gpt_cfg(cfg, sizeof cfg, "", "", "", "decay = some\n");
    expect_error(cfg, "decay");
    gpt_cfg(cfg, sizeof cfg, "", "", "", "accumulate = 0\n");
    expect_error(cfg, "accumulate");
}

int main(void)
{
    if (!t_mkdtemp("/tmp/lamina_xf_XXXXXX")) return 1;
    snprintf(corpus, sizeof corpus, "%s/aab.txt", t_tmpdir);
    FILE *f = fopen(corpus, "w");
    if (!f) return 1;
    for (int i = 0; i < 3000; i++) fputc("aab"[i % 3], f);
    fclose(f);
    lam_set_threads(1);
    RUN(test_attention_dropout);
    RUN(test_recompute);
    RUN(test_accumulate);
    RUN(test_decay_rule);
    RUN(test_tying_and_sinusoidal);
    RUN(test_llama);
    RUN(test_errors);
    t_rm_tree(t_tmpdir);
    TEST_MAIN_END;
}
