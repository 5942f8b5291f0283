/* Sequence models from model files: a character language model that learns
 * a pattern only its state can tell apart, stops after --steps, resumes bit
 * for bit, and generates (the same seed gives the same text, before and
 * after a checkpoint round trip; step-by-step generation gives the logits
 * of the whole window); a text classifier on labelled CSV text with padding
 * and attention; a time-series forecaster against persistence; and the
 * model-file errors of the new sections. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lamina/lamina.h"
#include "test.h"
#include "train/train_internal.h"


static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

static lam_status model_from_text(const char *text, lam_model **m)
{
    lam_cfg *c;
    lam_status s = lam_cfg_parse(text, strlen(text), "test.cfg", &c);
    if (s != LAM_OK) return s;
    return lam_model_from_cfg(c, NULL, m);
}

/* "aab" repeated: after an 'a' the next byte depends on the byte before it */
static char corpus_path[300], lm_cfg[2048];

static void make_lm(void)
{
    snprintf(corpus_path, sizeof corpus_path, "%s/aab.txt", t_tmpdir);
    char text[3001];
    for (int i = 0; i < 3000; i++) text[i] = "aab"[i % 3];
    text[3000] = 0;
    write_file(corpus_path, text);
    snprintf(lm_cfg, sizeof lm_cfg,
             "[net]\ninput = 12\nseed = 3\n"
             "[data]\nformat = corpus\npath = %s\n"
             "[embedding]\nunits = 8\n"
             "[gru]\nunits = 16\n"
             "[dense]\nunits = vocab\n"
             "[train]\nloss = cross_entropy\noptimizer = adam\nlr = 0.02\nbatch = 16\nsteps = 120\n",
             corpus_path);
}

typedef struct text_buf {
    char s[512];
    size_t n;
} text_buf;

static void collect(const char *t, size_t len, void *user)
{
    text_buf *b = user;
    for (size_t i = 0; i < len && b->n + 1 < sizeof b->s; i++) b->s[b->n++] = t[i];
    b->s[b->n] = 0;
}

static void gen_text(lam_model *m, uint64_t seed, double temperature, text_buf *out)
{
    lam_generate_opts g = lam_generate_opts_defaults();
    g.prompt = "ab";
    g.prompt_len = 2;
    g.tokens = 60;
    g.seed = seed;
    g.temperature = temperature;
    memset(out, 0, sizeof *out);
    lam_generate_stats st;
    CHECK_OK(lam_generate(m, &g, collect, out, &st));
    CHECK(st.prompt_tokens == 2 && st.tokens == 60);
}

static void test_language_model(void)
{
    make_lm();
    lam_model *m = NULL;
    CHECK_OK(model_from_text(lm_cfg, &m));
    if (!m) return;
    CHECK(m->vocab && lam_vocab_size(m->vocab) == 2 && m->next_token && m->nout == 2);
    lam_dataset *tr, *va, *te;
    CHECK_OK(lam_model_prepare_data(m, &tr, &va, &te, NULL));
    CHECK(tr && !te && tr->next_token && tr->n == 3000 - 12);
    lam_fit_result fr;
    CHECK_OK(lam_fit(m, tr, NULL, NULL, &fr));
    CHECK_MSG(fr.steps == 120, "%llu steps, expected the budget of 120", (unsigned long long)fr.steps);
    /* the pattern is deterministic: the loss goes near zero */
    CHECK_MSG(fr.last10_loss < 0.05, "final loss %.4f", fr.last10_loss);
    lam_metrics mt;
    CHECK_OK(lam_evaluate(m, tr, &mt));
    /* all but the first position or so of a window, whose phase is unknown */
    CHECK_MSG(mt.accuracy > 0.95, "next-token accuracy %.4f", mt.accuracy);
    CHECK(mt.n == tr->n * 12);
    lam_metrics_free(&mt);

    /* greedy: the pattern continues, which needs the carried state */
    text_buf a, b, c;
    gen_text(m, 1, 0.0, &a);
    CHECK_MSG(!strncmp(a.s, "aabaabaab", 9), "greedy text '%s'", a.s);
    /* sampling: the same seed, the same text; the saved model, the same text */
    gen_text(m, 7, 1.5, &a);
    gen_text(m, 7, 1.5, &b);
    CHECK(!strcmp(a.s, b.s));
    char ck[320];
    snprintf(ck, sizeof ck, "%s/lm.safetensors", t_tmpdir);
    CHECK_OK(lam_checkpoint_save(m, NULL, NULL, ck));
    lam_model *m2 = NULL;
    CHECK_OK(lam_checkpoint_load(ck, &m2, NULL));
    if (m2) {
        CHECK(m2->vocab && lam_vocab_size(m2->vocab) == 2);
        gen_text(m2, 7, 1.5, &c);
        CHECK_MSG(!strcmp(a.s, c.s), "before saving '%s', after '%s'", a.s, c.s);
    }
    /* step by step gives the logits the whole window gives at its last position */
    lam_generate_opts g = lam_generate_opts_defaults();
    (void)g;
    lam_model_free(m2);
    lam_dataset_free(tr);
    lam_model_free(m);
}

/* The steps of generation equal a forward pass over the whole window. */
static void test_generation_matches_window(void)
{
    lam_model *m = NULL;
    CHECK_OK(model_from_text(lm_cfg, &m));
    if (!m) return;
    CHECK_OK(lam_model_compile(m, 1));
    /* a window of 12 bytes through the training graph */
    const char *w = "abaabaaabbab";
    int32_t ids[12];
    int64_t n;
    CHECK_OK(lam_vocab_encode(m->vocab, w, 12, ids, 12, &n, NULL, NULL));
    memcpy(lam_node_ids(m->x), ids, sizeof ids);
    CHECK_OK(lam_graph_forward_to(m->g, m->out, 1, false));
    float full[2];
    memcpy(full, lam_node_data(m->out) + 11 * 2, sizeof full);
    /* greedy generation of one token from the 12-byte prompt: its choice is
     * the argmax of the same logits */
    text_buf t;
    memset(&t, 0, sizeof t);
    lam_generate_opts g = lam_generate_opts_defaults();
    g.prompt = w;
    g.prompt_len = 12;
    g.tokens = 1;
    g.temperature = 0;
    CHECK_OK(lam_generate(m, &g, collect, &t, NULL));
    size_t len;
    const char *want = lam_vocab_token(m->vocab, full[1] > full[0] ? 1 : 0, &len);
    CHECK(t.n == 1 && t.s[0] == want[0]);
    lam_model_free(m);
}

/* A tiny GPT: generation with the key/value caches gives the tokens that
 * recomputing the whole window for every token gives (while the context is
 * not full), one cached step gives the argmax of the training graph's logits,
 * and a prompt longer than the context is cut to its end. */
static void test_gpt_generation(void)
{
    char cfg[2048];
    snprintf(cfg, sizeof cfg,
             "[net]\ninput = 24\nseed = 5\n"
             "[data]\nformat = corpus\npath = %s\n"
             "[embedding]\nunits = 16\nposition = learned\n"
             "[transformer]\nheads = 2\nkv_heads = 1\nrepeat = 2\n"
             "[layernorm]\n"
             "[dense]\nunits = vocab\n"
             "[train]\nloss = cross_entropy\noptimizer = adamw\nlr = 0.01\nbatch = 8\nsteps = 60\n",
             corpus_path);
    lam_model *m = NULL;
    CHECK_OK(model_from_text(cfg, &m));
    if (!m) return;
    lam_dataset *tr, *va, *te;
    CHECK_OK(lam_model_prepare_data(m, &tr, &va, &te, NULL));
    lam_fit_result fr;
    CHECK_OK(lam_fit(m, tr, NULL, NULL, &fr));
    CHECK_MSG(fr.last10_loss < 0.3, "final loss %.4f", fr.last10_loss);

    /* sampled text, 2 prompt + 22 generated tokens: within the context of 24 */
    lam_generate_opts g = lam_generate_opts_defaults();
    g.prompt = "ab";
    g.prompt_len = 2;
    g.tokens = 22;
    g.seed = 11;
    g.temperature = 1.5;
    text_buf a, b, c;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    lam_generate_stats st;
    CHECK_OK(lam_generate(m, &g, collect, &a, &st));
    CHECK(st.tokens == 22 && a.n == 22);
    g.no_cache = true;
    CHECK_OK(lam_generate(m, &g, collect, &b, &st));
    CHECK_MSG(!strcmp(a.s, b.s), "cached '%s', recomputed '%s'", a.s, b.s);
    /* greedy from the trained pattern */
    g.no_cache = false;
    g.temperature = 0;
    memset(&c, 0, sizeof c);
    CHECK_OK(lam_generate(m, &g, collect, &c, &st));
    CHECK_MSG(!strncmp(c.s, "aabaabaab", 9), "greedy text '%s'", c.s);

    /* past the context: both modes go on (the cache is rebuilt from the last half) */
    g.tokens = 60;
    g.temperature = 1;
    memset(&a, 0, sizeof a);
    CHECK_OK(lam_generate(m, &g, collect, &a, &st));
    CHECK(st.tokens == 60 && a.n == 60);
    g.no_cache = true;
    memset(&b, 0, sizeof b);
    CHECK_OK(lam_generate(m, &g, collect, &b, &st));
    CHECK(st.tokens == 60 && b.n == 60);

    /* a prompt of 26 > 24 tokens: cut to its last 24 */
    const char *longp = "baabaabaabaabaabaabaabaaba";
    g.no_cache = false;
    g.prompt = longp;
    g.prompt_len = strlen(longp);
    g.tokens = 1;
    g.temperature = 0;
    memset(&a, 0, sizeof a);
    CHECK_OK(lam_generate(m, &g, collect, &a, &st));
    CHECK_MSG(st.prompt_tokens == 24, "prompt tokens %lld", (long long)st.prompt_tokens);
    /* the one greedy token is the argmax of the training graph's logits at
     * the last position of the same 24 tokens */
    CHECK_OK(lam_model_compile(m, 1));
    int32_t ids[24];
    int64_t n;
    CHECK_OK(lam_vocab_encode(m->vocab, longp + strlen(longp) - 24, 24, ids, 24, &n, NULL, NULL));
    memcpy(lam_node_ids(m->x), ids, sizeof ids);
    CHECK_OK(lam_graph_forward_to(m->g, m->out, 1, false));
    const float *lg = lam_node_data(m->out) + 23 * 2;
    size_t len;
    const char *want = lam_vocab_token(m->vocab, lg[1] > lg[0] ? 1 : 0, &len);
    CHECK(a.n == 1 && a.s[0] == want[0]);

    /* saved and reloaded: the same text */
    g.prompt = "ab";
    g.prompt_len = 2;
    g.tokens = 40;
    g.temperature = 1.2;
    memset(&a, 0, sizeof a);
    CHECK_OK(lam_generate(m, &g, collect, &a, &st));
    char ck[320];
    snprintf(ck, sizeof ck, "%s/gpt.safetensors", t_tmpdir);
    CHECK_OK(lam_checkpoint_save(m, NULL, NULL, ck));
    lam_model *m2 = NULL;
    CHECK_OK(lam_checkpoint_load(ck, &m2, NULL));
    if (m2) {
        memset(&b, 0, sizeof b);
        CHECK_OK(lam_generate(m2, &g, collect, &b, &st));
        CHECK_MSG(!strcmp(a.s, b.s), "before saving '%s', after '%s'", a.s, b.s);
    }
    lam_model_free(m2);
    lam_dataset_free(tr);
    lam_model_free(m);
}

/* --steps ends mid-epoch; resuming from the checkpoint continues bit for
 * bit, as if training had not stopped. */
static void test_steps_and_resume(void)
{
    lam_model *a = NULL, *b = NULL;
    lam_model_overrides ov = lam_model_overrides_none();
    CHECK_OK(model_from_text(lm_cfg, &a));
    CHECK_OK(model_from_text(lm_cfg, &b));
    if (!a || !b) goto out;
    lam_dataset *tr, *va, *te, *tr2, *va2, *te2;
    CHECK_OK(lam_model_prepare_data(a, &tr, &va, &te, NULL));
    CHECK_OK(lam_model_prepare_data(b, &tr2, &va2, &te2, NULL));
    a->train.steps = 40;
    lam_fit_result fr;
    CHECK_OK(lam_fit(a, tr, NULL, NULL, &fr));
    /* b: 25 steps with a checkpoint each epoch (one partial epoch), then resume to 40 */
    char ck[320];
    snprintf(ck, sizeof ck, "%s/steps.safetensors", t_tmpdir);
    b->train.steps = 25;
    lam_fit_hooks hk = {.checkpoint_path = ck};
    CHECK_OK(lam_fit(b, tr2, NULL, &hk, &fr));
    CHECK(fr.steps == 25);
    b->train.steps = 40;
    lam_fit_hooks hr = {.resume_path = ck};
    CHECK_OK(lam_fit(b, tr2, NULL, &hr, &fr));
    CHECK_MSG(fr.steps == 15, "resumed run took %llu steps", (unsigned long long)fr.steps);
    size_t np = lam_graph_param_total(a->g);
    CHECK_MSG(!memcmp(lam_graph_params(a->g), lam_graph_params(b->g), np * sizeof(float)),
              "40 steps in one go and 25 + 15 after a resume differ");
    lam_dataset_free(tr);
    lam_dataset_free(tr2);
    (void)ov;
out:
    lam_model_free(a);
    lam_model_free(b);
}

/* Labelled text in CSV: two classes told apart by their words, padded rows
 * with lengths, an LSTM with attention pooling. */
static void test_text_classifier(void)
{
    char csv[300];
    snprintf(csv, sizeof csv, "%s/texts.csv", t_tmpdir);
    FILE *f = fopen(csv, "w");
    CHECK(f != NULL);
    if (!f) return;
    fputs("label,text\n", f);
    lam_rng r;
    lam_rng_seed(&r, 9);
    static const char *const good[] = {"great", "fine", "lovely", "superb"}, *const bad[] = {"awful", "poor", "dull", "grim"};
    static const char *const filler[] = {"the", "film", "was", "quite", "and", "plot"};
    for (int i = 0; i < 300; i++) {
        int cls = i % 2, nw = 2 + (int)lam_rng_below(&r, 6);
        fprintf(f, "%s,\"", cls ? "pos" : "neg");
        for (int k = 0; k < nw; k++)
            fprintf(f, "%s%s", k ? " " : "", k == nw / 2 ? (cls ? good : bad)[lam_rng_below(&r, 4)] : filler[lam_rng_below(&r, 6)]);
        fputs("\"\n", f);
    }
    fclose(f);
    char cfg[1024];
    snprintf(cfg, sizeof cfg,
             "[net]\ninput = 8\n[data]\nformat = text_csv\npath = %s\ntokenizer = word\n"
             "[embedding]\nunits = 12\n[lstm]\nunits = 16\nbidirectional = true\n[attention]\nunits = 8\n"
             "[dense]\nunits = 2\n[train]\noptimizer = adam\nlr = 0.02\nepochs = 15\nbatch = 16\n",
             csv);
    lam_model *m = NULL;
    CHECK_OK(model_from_text(cfg, &m));
    if (!m) return;
    CHECK(m->lengths != NULL && lam_vocab_pad_id(m->vocab) == 0 && lam_vocab_unk_id(m->vocab) == 1);
    lam_dataset *tr, *va, *te;
    CHECK_OK(lam_model_prepare_data(m, &tr, &va, &te, NULL));
    CHECK(tr && te && tr->lengths && te->n == 60 && tr->n == 240);
    CHECK(m->baselines && m->baselines->majority && fabs(m->baselines->majority_accuracy - 0.5) < 0.1);
    lam_fit_result fr;
    CHECK_OK(lam_fit(m, tr, va, NULL, &fr));
    lam_metrics mt;
    CHECK_OK(lam_evaluate(m, te, &mt));
    CHECK_MSG(mt.accuracy >= 0.95, "text classifier test accuracy %.4f", mt.accuracy);
    /* the attention weights of the last batch: a distribution over the real tokens */
    lam_node *w = lam_graph_node(m->g, "attention1.weights");
    CHECK(w != NULL);
    if (w) {
        const float *a = lam_node_data(w);
        double sum = 0;
        for (int t = 0; t < 8; t++) sum += a[t];
        CHECK_NEAR(sum, 1.0, 1e-5, 0);
    }
    lam_metrics_free(&mt);
    lam_dataset_free(tr);
    lam_dataset_free(te);
    lam_model_free(m);
}

/* A seasonal series: the LSTM beats persistence on the later part. */
static void test_forecaster(void)
{
    char csv[300];
    snprintf(csv, sizeof csv, "%s/series.csv", t_tmpdir);
    FILE *f = fopen(csv, "w");
    CHECK(f != NULL);
    if (!f) return;
    fputs("day,value,other\n", f);
    lam_rng r;
    lam_rng_seed(&r, 4);
    for (int i = 0; i < 600; i++)
        fprintf(f, "%04d,%.4f,%.4f\n", i, 10 * sin(i * 2 * M_PI / 12) + lam_rng_normal(&r) * 0.3, lam_rng_uniform(&r));
    fclose(f);
    char cfg[1024];
    snprintf(cfg, sizeof cfg,
             "[net]\ninput = 12, 2\n[data]\nformat = timeseries\npath = %s\nfeatures = value, other\ntarget = value\n"
             "time_column = day\ntest_from = 0480\n[lstm]\nunits = 16\nreturn = last\n[dense]\nunits = 1\n"
             "[train]\nloss = mse\noptimizer = adam\nlr = 0.01\nepochs = 25\nbatch = 32\n",
             csv);
    lam_model *m = NULL;
    CHECK_OK(model_from_text(cfg, &m));
    if (!m) return;
    lam_dataset *tr, *va, *te;
    CHECK_OK(lam_model_prepare_data(m, &tr, &va, &te, NULL));
    CHECK(tr && te && te->n == 120);
    CHECK(m->baselines && m->baselines->persistence && m->baselines->persistence_mae > 1.0);
    lam_fit_result fr;
    CHECK_OK(lam_fit(m, tr, va, NULL, &fr));
    lam_metrics mt;
    CHECK_OK(lam_evaluate(m, te, &mt));
    CHECK_MSG(mt.mae < 0.5 * m->baselines->persistence_mae, "MAE %.4f, persistence %.4f", mt.mae,
              m->baselines->persistence_mae);
    lam_metrics_free(&mt);
    lam_dataset_free(tr);
    lam_dataset_free(te);
    lam_model_free(m);
}

static void expect_error(const char *text, const char *needle)
{
    lam_model *m = NULL;
    lam_status s = model_from_text(text, &m);
    CHECK_MSG(s != LAM_OK, "accepted:\n%s", text);
    CHECK_MSG(strstr(lam_last_error(), needle) != NULL, "error '%s' lacks '%s'", lam_last_error(), needle);
    lam_model_free(m);
}

static void test_model_file_errors(void)
{
    char head[600];
    snprintf(head, sizeof head, "[net]\ninput = 12\n[data]\nformat = corpus\npath = %s\n", corpus_path);
    char t[1200];
    snprintf(t, sizeof t, "%s[lstm]\nunits = 8\n[dense]\nunits = vocab\n", head);
    expect_error(t, "an [embedding] first turns token ids into vectors");
    snprintf(t, sizeof t, "%s[embedding]\nunits = 4\n[lstm]\nunits = 8\nreturn = last\n[dense]\nunits = vocab\n", head);
    expect_error(t, "a language model's last layer must give [batch, 12, vocabulary]");
    snprintf(t, sizeof t, "%s[embedding]\nunits = 4\n[gru]\nunits = 8\nretrun = last\n[dense]\nunits = vocab\n", head);
    expect_error(t, "unknown key 'retrun'");
    expect_error("[net]\ninput = 4\n[dense]\nunits = vocab\n", "units = vocab needs text data");
    expect_error("[net]\ninput = 4\n[embedding]\nunits = 3\n[dense]\nunits = 2\n", "takes its vocabulary from text data");
    snprintf(t, sizeof t, "[net]\ninput = 12\n[data]\nformat = corpus\npath = %s/missing.txt\n[embedding]\nunits = 4\n",
             t_tmpdir);
    expect_error(t, "missing.txt");
    expect_error("[net]\ninput = 3, 2\n[data]\nformat = timeseries\npath = x.csv\nfeatures = a\ntarget = a\n[dense]\nunits = 1\n"
                 "[train]\nloss = mse\n",
                 "1 features, but [net] input = 3, 2 has 2 per step");
}

int main(void)
{
    if (!t_mkdtemp("/tmp/lamina_seq_XXXXXX")) return 1;
    lam_set_threads(2);
    RUN(test_language_model);
    RUN(test_generation_matches_window);
    RUN(test_gpt_generation);
    RUN(test_steps_and_resume);
    RUN(test_text_classifier);
    RUN(test_forecaster);
    RUN(test_model_file_errors);
    t_rm_tree(t_tmpdir);
    TEST_MAIN_END;
}
