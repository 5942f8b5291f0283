/* Allocation faults across a whole life cycle: the model file parsed, the
 * data read and split, training (steps, a checkpoint each epoch), the
 * checkpoint loaded back, evaluation and generation.  The cycle is run once
 * to count its allocations, then once for every N with the N-th allocation
 * failing: each run must end in a clean error (LAM_ERR_NOMEM, or success if
 * the failed allocation was optional), never a crash, and free everything
 * (bytes_live back where it was; under `make check` LeakSanitizer checks the
 * rest).  Two models: a small GPT on a generated corpus (embedding with
 * positions, a Transformer block, generation with key/value caches) and an
 * MLP on a CSV with a scaler. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lamina/lamina.h"
#include "test.h"

static char corpus[300], csv[300], ckpt[300];

static void write_files(void)
{
    FILE *f = fopen(corpus, "w");
    if (f) {
        for (int i = 0; i < 400; i++) fputc("the cat sat on a mat. "[i % 22], f);
        fclose(f);
    }
    f = fopen(csv, "w");
    if (f) {
        fputs("a,b,c,label\n", f);
        for (int i = 0; i < 60; i++) fprintf(f, "%d,%g,%g,%s\n", i % 7, 0.5 * (i % 5), 1.0 / (1 + i), i % 3 ? "x" : "y");
        fclose(f);
    }
}

typedef lam_status (*cycle_fn)(void);

static lam_status run_model(const char *cfg_text, bool lm)
{
    lam_cfg *c = NULL;
    lam_model *m = NULL, *m2 = NULL;
    lam_dataset *tr = NULL, *va = NULL, *te = NULL;
    lam_status s = lam_cfg_parse(cfg_text, strlen(cfg_text), "faults.cfg", &c);
    if (s == LAM_OK) s = lam_model_from_cfg(c, NULL, &m); /* owns c from here */
    if (s == LAM_OK) s = lam_model_prepare_data(m, &tr, &va, &te, NULL);
    lam_fit_result fr;
    lam_fit_hooks hk = {.checkpoint_path = ckpt};
    if (s == LAM_OK) s = lam_fit(m, tr, va, &hk, &fr);
    lam_train_state ts;
    if (s == LAM_OK) s = lam_checkpoint_load(ckpt, &m2, &ts);
    if (s == LAM_OK && !lm && te) {
        lam_metrics mt;
        s = lam_evaluate(m2, te, &mt);
        if (s == LAM_OK) lam_metrics_free(&mt);
    }
    if (s == LAM_OK && lm) {
        lam_generate_opts g = lam_generate_opts_defaults();
        g.prompt = "the c";
        g.prompt_len = 5;
        g.tokens = 12; /* past the context of 8: the caches are rebuilt once */
        lam_generate_stats st;
        s = lam_generate(m2, &g, NULL, NULL, &st);
    }
    lam_model_free(m2);
    lam_dataset_free(tr);
    lam_dataset_free(va);
    lam_dataset_free(te);
    lam_model_free(m);
    return s;
}

static char gpt_text[1024], mlp_text[1024];
static lam_status cycle_gpt(void) { return run_model(gpt_text, true); }
static lam_status cycle_mlp(void) { return run_model(mlp_text, false); }

static void fault_sweep(const char *what, cycle_fn fn)
{
    lam_alloc_stats a, b;
    lam_alloc_get_stats(&a);
    lam_status s = fn();
    CHECK_MSG(s == LAM_OK, "%s: the cycle without faults fails: %s", what, lam_last_error());
    lam_alloc_get_stats(&b);
    uint64_t count = b.n_alloc - a.n_alloc;
    CHECK_MSG(b.bytes_live == a.bytes_live, "%s: %llu bytes left allocated", what,
              (unsigned long long)(b.bytes_live - a.bytes_live));
    CHECK(count > 10);
    int clean = 0, ok = 0, other = 0;
    for (uint64_t n = 1; n <= count; n++) {
        lam_alloc_get_stats(&a);
        lam_alloc_fail_after(n);
        s = fn();
        lam_alloc_fail_after(0);
        lam_alloc_get_stats(&b);
        if (b.bytes_live != a.bytes_live) {
            CHECK_MSG(false, "%s: allocation %llu failing leaks %lld bytes (%s)", what, (unsigned long long)n,
                      (long long)(b.bytes_live - a.bytes_live), s == LAM_OK ? "ok" : lam_last_error());
            break;
        }
        if (s == LAM_OK) ok++;
        else if (s == LAM_ERR_NOMEM || strstr(lam_last_error(), "memory")) clean++;
        else {
            other++;
            if (other <= 3)
                fprintf(stderr, "  %s: allocation %llu failing gives status %d: %s\n", what, (unsigned long long)n,
                        (int)s, lam_last_error());
        }
    }
    printf("# %s: %llu allocations, each failed in turn: %d clean out-of-memory errors, %d runs that did not "
           "need it, %d other errors\n",
           what, (unsigned long long)count, clean, ok, other);
    CHECK_MSG(other == 0, "%s: %d failures reported as something other than out of memory", what, other);
    CHECK(clean > 0);
}

static void test_gpt_cycle(void) { fault_sweep("gpt", cycle_gpt); }
static void test_mlp_cycle(void) { fault_sweep("mlp", cycle_mlp); }

int main(void)
{
    if (!t_mkdtemp("/tmp/lamina_faults_XXXXXX")) return 1;
    snprintf(corpus, sizeof corpus, "%s/corpus.txt", t_tmpdir);
    snprintf(csv, sizeof csv, "%s/rows.csv", t_tmpdir);
    snprintf(ckpt, sizeof ckpt, "%s/ck.safetensors", t_tmpdir);
    write_files();
    snprintf(gpt_text, sizeof gpt_text,
             "[net]\ninput = 8\n[data]\nformat = corpus\npath = %s\n"
             "[embedding]\nunits = 8\nposition = learned\n[transformer]\nheads = 2\ndropout = 0.1\n"
             "[layernorm]\n[dense]\nunits = vocab\n"
             "[train]\noptimizer = adamw\nbatch = 4\nsteps = 3\nclip_norm = 1\n",
             corpus);
    snprintf(mlp_text, sizeof mlp_text,
             "[net]\ninput = 3\n[data]\npath = %s\nlabel = label\n"
             "[dense]\nunits = 4\nactivation = relu\n[dense]\nunits = 2\n"
             "[train]\noptimizer = adam\nbatch = 8\nepochs = 2\nvalidation_split = 0.2\n",
             csv);
    lam_set_threads(1);
    RUN(test_gpt_cycle);
    RUN(test_mlp_cycle);
    t_rm_tree(t_tmpdir);
    TEST_MAIN_END;
}
