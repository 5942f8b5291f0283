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

int main(int argc, char **argv)
{
    int threads = 0, gen = 500;
    long long steps = 300, seed = -1;
    const char *cfg = "configs/char_lstm.cfg";
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(argv[i], "--threads") && v) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--steps") && v) steps = atoll(argv[++i]);
        else if (!strcmp(argv[i], "--seed") && v) seed = atoll(argv[++i]);
        else if (!strcmp(argv[i], "--gen") && v) gen = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--cfg") && v) cfg = argv[++i];
        else {
            fprintf(stderr, "usage: bench_seq [--threads N] [--steps N] [--seed N] [--gen N] [--cfg PATH]\n");
            return 2;
        }
    }
    lam_set_threads(threads);
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
