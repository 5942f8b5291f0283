/* bench_seq: Lamina's side of the char_lstm and char_gpt workloads of
 * ../shared/peers/char_lstm.py and char_gpt.py, from configs/char_lstm.cfg
 * (the default) or configs/char_gpt.cfg (--cfg) through the public API.
 * Below, the LSTM's workload; the GPT's is described in its model file.
 *
 * Workload (as the peer script defines it): the bytes of
 * /usr/share/common-licenses (symbolic links followed, names in bytewise
 * order; 303,076 bytes, 86 distinct), windows of 64 bytes, batches of 32;
 * Embedding(86, 64) -> LSTM 256 x 2 -> Linear(256, 86); mean
 * cross-entropy over the 32 x 64 positions; Adam lr 2e-3; 300 steps.
 * Differences: the batches are drawn by Lamina's own RNG (a new permutation
 * of every window each epoch, not torch.randint), and the initial weights by
 * its own RNG from the same distributions (torch's defaults).
 * Timed as the peer times it: each whole step (batch gather, forward, loss,
 * backward, Adam), the first 5 are warm-up, tokens/s = 2048 / median step.
 * Then generation: GEN tokens after a 32-byte prompt, temperature 1,
 * carrying the recurrent state (tokens/s of generation).
 *
 * usage: bench_seq [--threads N] [--steps N] [--seed N] [--gen N] [--cfg PATH]
 *        bench_seq --cfg PATH --gen-contexts 32,128,512 (generation only, below)
 * Prints a line of figures, then one JSON line last:
 *   {"bench": "char_lstm", "threads", "steps", "tokens_per_s", "step_s": {"median", "min"... },
 *    "loss_last", "loss_last10_mean", "gen_tokens_per_s", "steal_pct"} */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels/gemm.h"
#include "lamina/lamina.h"

static void cpu_stat(unsigned long long v[8])
{
    memset(v, 0, 8 * sizeof v[0]);
    FILE *f = fopen("/proc/stat", "r");
    if (!f) return;
    if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6],
               &v[7]) != 8)
        memset(v, 0, 8 * sizeof v[0]);
    fclose(f);
}

static void sink(const char *t, size_t n, void *user)
{
    (void)t;
    *(size_t *)user += n;
}

/* --gen-contexts: generation tokens/s of the model file's network with its
 * context (the [net] input) set to each C, cached and recomputing the window
 * (--no-cache), after a prompt of C - G tokens, G = min(32, C / 2) generated
 * (so the last token sees C positions and the caches never fill).  The
 * weights are the initial ones: the time of a step does not depend on them.
 * One JSON line per context. */
static int gen_contexts(const char *cfg, const char *list)
{
    FILE *f = fopen(cfg, "rb");
    if (!f) {
        fprintf(stderr, "bench_seq: cannot read %s\n", cfg);
        return 1;
    }
    static char text[1 << 16];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = 0;
    char *in = strstr(text, "\ninput = ");
    if (!in) {
        fprintf(stderr, "bench_seq: %s has no 'input = ' line\n", cfg);
        return 1;
    }
    in += strlen("\ninput = ");
    char *rest = in + strcspn(in, " \n#");
    for (const char *p = list; *p;) {
        int C = atoi(p);
        p += strcspn(p, ",");
        if (*p == ',') p++;
        if (C < 4) continue;
        static char patched[(1 << 16) + 16];
        snprintf(patched, sizeof patched, "%.*s%d%s", (int)(in - text), text, C, rest);
        lam_cfg *c;
        lam_model *m = NULL;
        lam_dataset *tr = NULL, *va = NULL, *te = NULL;
        lam_status s = lam_cfg_parse(patched, strlen(patched), cfg, &c);
        if (s == LAM_OK) s = lam_model_from_cfg(c, NULL, &m);
        if (s == LAM_OK) s = lam_model_prepare_data(m, &tr, &va, &te, NULL);
        if (s == LAM_OK) s = lam_model_compile(m, 1);
        if (s != LAM_OK) {
            fprintf(stderr, "bench_seq: context %d: %s\n", C, lam_last_error());
            lam_model_free(m);
            return 1;
        }
        int G = C / 2 < 32 ? C / 2 : 32;
        static char prompt[1 << 14];
        static const char src[] = "Everyone is permitted to copy and distribute verbatim copies of this license document. ";
        for (int i = 0; i < C - G && i < (int)sizeof prompt - 1; i++) prompt[i] = src[i % (sizeof src - 1)];
        prompt[C - G] = 0;
        double tps[2];
        for (int nc = 0; nc < 2; nc++) {
            lam_generate_opts g = lam_generate_opts_defaults();
            g.prompt = prompt;
            g.prompt_len = (size_t)(C - G);
            g.tokens = G;
            g.seed = 1;
            g.no_cache = nc;
            size_t bytes = 0;
            lam_generate_stats gs = {0};
            /* the best of 3 (the first run also warms the caches of the CPU) */
            tps[nc] = 0;
            for (int r = 0; r < 3 && s == LAM_OK; r++) {
                s = lam_generate(m, &g, sink, &bytes, &gs);
                double t = gs.generate_s > 0 ? (double)gs.tokens / gs.generate_s : 0.0;
                if (t > tps[nc]) tps[nc] = t;
            }
        }
        if (s != LAM_OK) {
            fprintf(stderr, "bench_seq: generate at context %d: %s\n", C, lam_last_error());
            return 1;
        }
        printf("{\"bench\": \"generation\", \"cfg\": \"%s\", \"threads\": %d, \"context\": %d, \"prompt\": %d, "
               "\"tokens\": %d, \"cached_tokens_per_s\": %.1f, \"uncached_tokens_per_s\": %.1f, \"speedup\": %.2f}\n",
               cfg, lam_get_threads(), C, C - G, G, tps[0], tps[1], tps[1] > 0 ? tps[0] / tps[1] : 0.0);
        fflush(stdout);
        lam_dataset_free(tr);
        lam_dataset_free(va);
        lam_dataset_free(te);
        lam_model_free(m);
    }
    return 0;
}

int main(int argc, char **argv)
{
    int threads = 0, gen = 500;
    long long steps = 300, seed = -1;
    const char *cfg = "configs/char_lstm.cfg", *contexts = NULL;
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(argv[i], "--threads") && v) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--steps") && v) steps = atoll(argv[++i]);
        else if (!strcmp(argv[i], "--seed") && v) seed = atoll(argv[++i]);
        else if (!strcmp(argv[i], "--gen") && v) gen = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--cfg") && v) cfg = argv[++i];
        else if (!strcmp(argv[i], "--gen-contexts") && v) contexts = argv[++i];
        else {
            fprintf(stderr, "usage: bench_seq [--threads N] [--steps N] [--seed N] [--gen N] [--cfg PATH] "
                            "[--gen-contexts C1,C2,...]\n");
            return 2;
        }
    }
    lam_set_threads(threads);
    if (contexts) return gen_contexts(cfg, contexts);
    lam_model_overrides ov = lam_model_overrides_none();
    ov.steps = steps;
    ov.seed = seed;
    lam_model *m;
    lam_dataset *tr, *va, *te;
    lam_status s = lam_model_load(cfg, &ov, &m);
    if (s == LAM_OK) s = lam_model_prepare_data(m, &tr, &va, &te, NULL);
    if (s != LAM_OK) {
        fprintf(stderr, "bench_seq: %s\n", lam_last_error());
        return 1;
    }
    unsigned long long c0[8], c1[8];
    cpu_stat(c0);
    lam_fit_result fr;
    if ((s = lam_fit(m, tr, va, NULL, &fr)) != LAM_OK) {
        fprintf(stderr, "bench_seq: %s\n", lam_last_error());
        return 1;
    }
    cpu_stat(c1);
    unsigned long long tot = 0;
    for (int i = 0; i < 8; i++) tot += c1[i] - c0[i];
    double steal = tot ? 100.0 * (double)(c1[7] - c0[7]) / (double)tot : 0.0;
    double tokens = (double)m->train.batch * (m->train.accumulate > 1 ? m->train.accumulate : 1) * (double)m->sample.d[0];
    /* generation: a prompt from the corpus, then gen tokens */
    lam_generate_opts g = lam_generate_opts_defaults();
    g.prompt = "Everyone is permitted to copy an";
    g.prompt_len = strlen(g.prompt);
    g.tokens = gen;
    g.seed = 1;
    size_t bytes = 0;
    lam_generate_stats gs = {0};
    if (gen > 0 && (s = lam_generate(m, &g, sink, &bytes, &gs)) != LAM_OK) {
        fprintf(stderr, "bench_seq: generate: %s\n", lam_last_error());
        return 1;
    }
    double gen_tps = gs.generate_s > 0 ? (double)gs.tokens / gs.generate_s : 0.0;
    /* the workload's name: the model file's, without folder and .cfg */
    char name[64];
    const char *base = strrchr(cfg, '/') ? strrchr(cfg, '/') + 1 : cfg;
    snprintf(name, sizeof name, "%.*s", (int)(strstr(base, ".cfg") ? strstr(base, ".cfg") - base : (long)strlen(base)), base);
    printf("%s: %d threads, %llu steps: %.0f tokens/s (median step %.2f ms), loss %.4f (last 10: %.4f); "
           "generation %.0f tokens/s\n",
           name, lam_get_threads(), (unsigned long long)fr.steps, tokens / fr.step_median_s, 1e3 * fr.step_median_s,
           fr.last_loss, fr.last10_loss, gen_tps);
    printf("{\"bench\": \"%s\", \"threads\": %d, \"steps\": %llu, \"tokens_per_s\": %.1f, \"step_median_s\": %.6f, "
           "\"train_s\": %.3f, \"loss_last\": %.4f, \"loss_last10_mean\": %.4f, \"gen_tokens\": %lld, "
           "\"gen_tokens_per_s\": %.1f, \"kernels\": \"%s\", \"steal_pct\": %.1f}\n",
           name, lam_get_threads(), (unsigned long long)fr.steps, tokens / fr.step_median_s, fr.step_median_s, fr.seconds,
           fr.last_loss, fr.last10_loss, (long long)gs.tokens, gen_tps, lam_sgemm_kernel_name(), steal);
    lam_dataset_free(tr);
    lam_dataset_free(va);
    lam_dataset_free(te);
    lam_model_free(m);
    return 0;
}
