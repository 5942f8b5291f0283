/* lamina train: read the model file and its data, train, evaluate on the
 * test part, and leave the run folder: model.safetensors, the checkpoint,
 * metrics.csv, report.txt, results.json, report.html.  SIGINT / SIGTERM are
 * caught around training only (interrupt.c): the step finishes, the
 * checkpoint is written, exit 3. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

static const char *const train_help =
    "usage: lamina train CFG [options]\n"
    "Train the model described by the model file CFG, then evaluate it on the held-out\n"
    "test part of the data ([data] test_split): accuracy, per-class precision/recall/F1\n"
    "and the confusion matrix (or MSE/MAE/R2 for regression).\n"
    "  --data PATH     data file (CSV, plain or .gz) or data directory, instead of [data] path\n"
    "  --strategy S    end_to_end, layerwise_supervised, layerwise_autoencoder or stages\n"
    "  --epochs N      number of epochs (with --resume: the total, counting the done ones)\n"
    "  --steps N       stop after N optimiser steps (any model); sequence models print their\n"
    "                  training tokens/s (or samples/s) and the final training loss\n"
    "  --batch N       batch size\n"
    "  --lr X          learning rate\n"
    "  --seed N        seed for initialisation, shuffling and dropout\n"
    "  --threads N     kernel threads (default: all cores)\n"
    "  --out DIR       run folder (default runs/NAME, NAME the model file's name without\n"
    "                  extension): model.safetensors (final weights), checkpoint.safetensors\n"
    "                  (written every epoch, or every stage of a layer-wise strategy, for\n"
    "                  --resume), metrics.csv, report.txt, results.json (the run summary),\n"
    "                  report.html (curves, confusion matrix, model: open it in a browser)\n"
    "  --checkpoint-every N  also write the checkpoint every N optimiser steps, mid-epoch\n"
    "                  (end_to_end): a run killed at any moment loses at most N steps\n"
    "  --resume CKPT   continue from a checkpoint of the same model file, with the same\n"
    "                  options: exactly from the step it was written at (end_to_end), bit\n"
    "                  for bit as if training had not stopped, or after its last completed\n"
    "                  stage\n"
    "  --quiet         no progress output (results are still printed)\n"
    "  --json          print the run summary (results.json) as one JSON document on standard\n"
    "                  output instead of the text; progress and errors stay on standard error\n"
    "  --profile       time every op of the graph and print the table at the end\n"
    "Checkpoints are written atomically (temporary file, fsync, rename): after a crash or\n"
    "kill -9 the checkpoint is the previous one or the new one, whole.\n"
    "SIGINT (Ctrl-C) or SIGTERM during training: the current step is finished, the\n"
    "checkpoint written and lamina exits with code 3; --resume CKPT continues (a layer-wise\n"
    "strategy repeats the stage it was in; a semi-supervised run, labelled_fraction < 1,\n"
    "is ended as by default).  A second signal ends the process at once; the checkpoint on\n"
    "disk stays whole.\n"
    "exit codes: 0 success, 1 failure, 2 usage error, 3 interrupted (checkpoint written)\n";

/* ---- train ---------------------------------------------------------------------------- */


void on_batch(const lam_batch_log *b, void *user)
{
    progress *p = user;
    if (!p->tty || p->quiet) return;
    if (b->batch % 5 != 0 && b->batch != b->batches) return;
    int64_t nb = b->batches > 0 ? b->batches : 1;
    double eta = b->elapsed / (double)b->batch * (double)(nb - b->batch);
    int w = 24, fill = (int)(w * b->batch / nb);
    char bar[32];
    for (int i = 0; i < w; i++) bar[i] = i < fill ? '=' : i == fill ? '>' : ' ';
    bar[w] = 0;
    int n = fprintf(stderr, "\repoch %d/%d [%s] %lld/%lld loss %.4f ETA %.1fs", b->epoch, b->epochs, bar,
                    (long long)b->batch, (long long)b->batches, b->loss, eta);
    if (n > 1 && n - 1 < p->width) fprintf(stderr, "%*s", p->width - (n - 1), ""); /* erase a longer line */
    if (n - 1 > p->width) p->width = n - 1;
}

bool on_epoch(const lam_epoch_log *e, void *user)
{
    progress *p = user;
    if (p->quiet) return true;
    if (p->width) fprintf(stderr, "\r%*s\r", p->width, "");
    p->width = 0;
    if (e->stage_name && strcmp(e->stage_name, "end to end") != 0) fprintf(stderr, "[%d %s] ", e->stage, e->stage_name);
    fprintf(stderr, "epoch %d/%d  loss %.4f", e->epoch, e->epochs, e->train_loss);
    if (e->train_acc == e->train_acc) fprintf(stderr, "  acc %.4f", e->train_acc);
    if (e->val_loss == e->val_loss) fprintf(stderr, "  val_loss %.4f", e->val_loss);
    if (e->val_acc == e->val_acc) fprintf(stderr, "  val_acc %.4f", e->val_acc);
    bool best = e->improved && e->val_loss == e->val_loss;
    fprintf(stderr, "  lr %.3g  %.2fs%s%s%s\n", e->lr, e->seconds, best ? color(stderr, COLOR_GOOD) : "",
            best ? "  (best)" : "", best ? color(stderr, COLOR_OFF) : "");
    return true;
}

/* Create dir and its parents (like mkdir -p).  On failure returns -1 with
 * errno set, including ENOTDIR when a component exists but is not a folder. */
int mkdir_p(const char *dir)
{
    char tmp[PATH_MAX];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof tmp) {
        errno = n ? ENAMETOOLONG : ENOENT;
        return -1;
    }
    memcpy(tmp, dir, n + 1);
    while (n > 1 && tmp[n - 1] == '/') tmp[--n] = 0;
    for (char *p = tmp + 1;; p++) {
        if (*p != '/' && *p != 0) continue;
        char c = *p;
        *p = 0;
        if (mkdir(tmp, 0777) != 0) {
            int e = errno;
            struct stat st;
            if (e != EEXIST || stat(tmp, &st) != 0 || !S_ISDIR(st.st_mode)) {
                errno = e == EEXIST ? ENOTDIR : e;
                return -1;
            }
        }
        *p = c;
        if (!c) return 0;
    }
}

/* The run folder: --out, or runs/NAME with NAME the model file's base name
 * without its extension. */
bool run_dir(const cli_opts *o, char *buf, size_t n)
{
    int k;
    if (o->out) {
        k = snprintf(buf, n, "%s", o->out);
    } else {
        const char *base = strrchr(o->file, '/');
        base = base ? base + 1 : o->file;
        const char *dot = strrchr(base, '.');
        int len = (int)(dot && dot != base ? (size_t)(dot - base) : strlen(base));
        k = snprintf(buf, n, "runs/%.*s", len, base);
    }
    return k > 0 && (size_t)k < n;
}

/* results.json in the run folder: the run summary (lam_run_summary_json),
 * also printed under --json; an interrupted run only prints it. */
static lam_status write_results(lam_model *m, const char *out_dir, lam_run_info *ri, bool json)
{
    if (lam_comm_rank(m->comm) > 0) return LAM_OK; /* one writer */
    char path[PATH_MAX + 32], *js = NULL;
    snprintf(path, sizeof path, "%s/results.json", out_dir);
    ri->command = command_line();
    ri->run_dir = out_dir;
    ri->peak_rss_mib = peak_rss_mib();
    lam_status s = lam_run_summary_json(m, ri, &js);
    if (s == LAM_OK && !ri->interrupted) s = lam_write_file_atomic(path, js, strlen(js));
    if (s == LAM_OK && !ri->interrupted) s = lam_run_report_html(out_dir); /* report.html from it and metrics.csv */
    if (s == LAM_OK && json) fputs(js, stdout);
    lam_free(js);
    return s;
}

int cmd_train(int argc, char **argv)
{
    cli_opts o;
    int rc = parse_opts(argc, argv, &o,
                        " data epochs steps batch lr seed threads out resume quiet strategy profile checkpoint-every json timeout ");
    if (rc) return rc;
    if ((rc = help_or_usage(&o, train_help, o.file != NULL)) >= 0) return rc;
    lam_model_overrides ov = lam_model_overrides_none();
    ov.data_path = o.data;
    ov.steps = o.steps;
    ov.epochs = o.epochs;
    ov.batch = o.batch;
    ov.lr = o.lr;
    ov.seed = o.seed;
    ov.strategy = o.strategy;
    lam_model *m = NULL;
    char *report = NULL;
    lam_dataset *tr = NULL, *va = NULL, *te = NULL;
    lam_metrics mt = {0};
    lam_csv_report rep = {0};
    class_names cn = {0};
    saved_signals sigs = {0};
    bool interrupted = false;
    char out_dir[PATH_MAX];
    if (!run_dir(&o, out_dir, sizeof out_dir)) {
        return fail(lam_fail(LAM_ERR_ARG, "the run folder name is too long"));
    }
    lam_status s = lam_model_load(o.file, &ov, &m);
    if (s != LAM_OK) return fail(s);
    lam_comm *comm = cli_comm();
    const bool lead = lam_comm_rank(comm) == 0; /* rank 0 prints and writes; the others train */
    m->comm = comm;
    if (o.timeout > 0) lam_comm_set_timeout(comm, o.timeout);
    bool semi = m->train.labelled_fraction < 1.0;
    if (o.checkpoint_every && (m->train.strategy != LAM_STRATEGY_END_TO_END || semi)) {
        fprintf(stderr, "lamina: --checkpoint-every needs end_to_end training (this is %s%s): a layer-wise "
                        "strategy writes its checkpoint after each stage\n",
                lam_strategy_name(m->train.strategy), semi ? ", semi-supervised" : "");
        lam_model_free(m);
        return EXIT_USAGE;
    }
    if ((s = lam_model_prepare_data(m, &tr, &va, &te, &rep)) != LAM_OK) goto out;
    if (mkdir_p(out_dir) != 0) {
        s = lam_fail(LAM_ERR_IO, "cannot create the run folder %s: %s", out_dir, strerror(errno));
        goto out;
    }
    int stale = lead ? remove_stale_temporaries(out_dir) : 0;
    if (stale && !o.quiet)
        fprintf(stderr, "lamina: removed %d temporary file%s left in %s by an interrupted checkpoint write\n", stale,
                stale > 1 ? "s" : "", out_dir);
    char buf[16384];
    if (tr->ids)
        say("data: %s (%s): %lld %s of %lld tokens", m->data.path, lam_data_format_name(m->data.format),
               (long long)rep.rows_kept, tr->next_token ? "windows" : "texts", (long long)tr->nfeat);
    else
        say("data: %s: %lld rows x %lld features", m->data.path, (long long)rep.rows_kept, (long long)tr->nfeat);
    if (tr->task == LAM_TASK_CLASSIFICATION && !tr->next_token) say(", %d classes", (int)tr->nclasses);
    if (rep.rows_dropped) say(", %lld rows with missing values dropped", (long long)rep.rows_dropped);
    if (rep.values_imputed) say(", %lld missing values imputed with column means", (long long)rep.values_imputed);
    say("; train %lld, validation %lld, test %lld\n", (long long)tr->n, (long long)(va ? va->n : 0),
           (long long)(te ? te->n : 0));
    if ((s = lam_model_compile(m, m->train.batch)) != LAM_OK) goto out;
    print_description(m);
    /* from here SIGINT / SIGTERM stop training cleanly (a semi-supervised
     * run cannot resume mid-way: it keeps the default) */
    if (!semi) catch_stop_signals(&sigs);
    if (m->train.steps > 0)
        say("training: %s, %s lr %g, batch %d, %lld steps, %d threads\n", lam_strategy_name(m->train.strategy),
               lam_optim_kind_name(m->train.optimizer), m->train.group.lr, m->train.batch, (long long)m->train.steps,
               lam_get_threads());
    else
        say("training: %s, %s lr %g, batch %d, %d epochs, %d threads\n", lam_strategy_name(m->train.strategy),
               lam_optim_kind_name(m->train.optimizer), m->train.group.lr, m->train.batch, m->train.epochs,
               lam_get_threads());
    fflush(stdout);
    char ckpt[PATH_MAX + 32], model_path[PATH_MAX + 32], csv_path[PATH_MAX + 32], report_path[PATH_MAX + 32];
    snprintf(ckpt, sizeof ckpt, "%s/checkpoint.safetensors", out_dir);
    snprintf(model_path, sizeof model_path, "%s/model.safetensors", out_dir);
    snprintf(csv_path, sizeof csv_path, "%s/metrics.csv", out_dir);
    snprintf(report_path, sizeof report_path, "%s/report.txt", out_dir);
    progress pg = {isatty(2) != 0, o.quiet || !lead, 0};
    lam_fit_hooks hk = {.on_batch = on_batch,
                        .on_epoch = on_epoch,
                        .user = &pg,
                        .checkpoint_path = ckpt,
                        .resume_path = o.resume,
                        .csv_log_path = csv_path,
                        .should_stop = semi ? NULL : should_stop,
                        .checkpoint_every = o.checkpoint_every};
    if (!o.resume && lead) remove(csv_path); /* a fresh run starts a fresh log */
    if (o.profile) lam_graph_set_profiling(m->g, true);
    lam_train_result tres = {0};
    lam_run_info ri = {.train = tr, .val = va, .test = te, .data_report = &rep, .result = &tres};
    if (m->train.labelled_fraction < 1.0) {
        lam_semi_report sr;
        if ((s = lam_train_semi(m, tr, va, te, &hk, &sr)) != LAM_OK) goto out;
        tres = sr.train;
        say("semi-supervised: %lld labelled, %lld unlabelled training rows; labelled only: test accuracy %.4f\n",
               (long long)sr.n_labelled, (long long)sr.n_unlabelled, sr.labelled_only_accuracy);
        for (int i = 0; i < sr.rounds; i++)
            say("  round %d: %lld pseudo-labels (top probability >= %g), %.2f%% of them right; test accuracy %.4f\n",
                   i + 1, (long long)sr.round[i].n_pseudo, m->train.pseudo_threshold,
                   sr.round[i].n_pseudo ? 100.0 * (double)sr.round[i].n_correct / (double)sr.round[i].n_pseudo : 0.0,
                   sr.round[i].test_accuracy);
    } else if ((s = lam_train_model(m, tr, va, &hk, &tres)) != LAM_OK) goto out;
    restore_signals(&sigs);
    if (stop_signal_received()) { /* exit 3: the checkpoint holds the state; a resume goes on */
        const char *sig = stop_signal_received() == SIGINT ? "SIGINT" : "SIGTERM";
        interrupted = ri.interrupted = true;
        if (o.json && (s = write_results(m, out_dir, &ri, true)) != LAM_OK) goto out;
        if (m->train.strategy == LAM_STRATEGY_END_TO_END && tres.n_stages == 1 && tres.stage[0].fit.interrupted) {
            if (lead)
                fprintf(stderr,
                        "lamina: %s: training stopped after step %llu (%d epochs complete); the state is in %s\n"
                        "lamina: continue with: lamina train %s --resume %s (and the same options)\n",
                        sig, (unsigned long long)tres.stage[0].fit.total_steps, tres.stage[0].fit.epochs_run, ckpt,
                        o.file, ckpt);
            goto out;
        }
        if (m->train.strategy != LAM_STRATEGY_END_TO_END) {
            if (lead && access(ckpt, F_OK) == 0)
                fprintf(stderr,
                        "lamina: %s: training stopped; %s holds the stages completed so far\n"
                        "lamina: continue with: lamina train %s --resume %s (and the same options; the interrupted "
                        "stage starts again)\n",
                        sig, ckpt, o.file, ckpt);
            else if (lead)
                fprintf(stderr, "lamina: %s: training stopped in its first stage: there is no checkpoint to resume\n", sig);
            goto out;
        }
        /* the signal came as training ended: keep the model, skip the evaluation */
        if (lead && (s = lam_checkpoint_save(m, NULL, NULL, model_path)) == LAM_OK)
            fprintf(stderr, "lamina: %s: training had finished: saved %s, evaluation skipped\n", sig, model_path);
        goto out;
    }
    if (lead && (s = lam_checkpoint_save(m, NULL, NULL, model_path)) != LAM_OK) goto out;
    int epochs_run = 0;
    for (int i = 0; i < tres.n_stages; i++) epochs_run += tres.stage[i].epochs_run;
    if (o.profile) {
        lam_graph_profile_report(m->g, buf, sizeof buf);
        say("time per op (training steps of the model's own graph):\n%s", buf);
    }
    if (tres.n_stages > 1) {
        say("%s: %d stages\n  %-44s %12s %7s %5s %9s\n", lam_strategy_name(m->train.strategy), tres.n_stages,
               "stage", "params", "epochs", "best", "seconds");
        for (int i = 0; i < tres.n_stages; i++)
            say("  %-44s %12zu %7d %5d %9.2f\n", tres.stage[i].name, tres.stage[i].params_updated,
                   tres.stage[i].epochs_run, tres.stage[i].best_epoch, tres.stage[i].seconds);
    }
    if (lam_comm_size(comm) > 1 && tres.n_stages > 0)
        say("data parallel on %d ranks x %d threads: %.2f s waiting for the other ranks in all (%.1f%% of each "
            "training step after the first 5)\n",
            lam_comm_size(comm), lam_get_threads(), lam_comm_wait_seconds(comm),
            100.0 * tres.stage[tres.n_stages - 1].fit.step_wait_share);
    say("trained %d epochs in %.2f s (%.4f s/epoch); best epoch %d%s\n", epochs_run, tres.seconds,
           tres.seconds / (epochs_run ? epochs_run : 1), tres.best_epoch, tres.n_stages > 1 ? " (of the last stage)" : "");
    if (tres.n_stages > 0 && (m->tokens || m->sample.ndim == 2)) {
        /* sequence models: throughput as the peer benchmarks measure it */
        const lam_fit_result *fr = &tres.stage[tres.n_stages - 1].fit;
        double per = m->tokens ? (double)m->sample.d[0] : 1.0,
               B = (double)m->train.batch * (m->train.accumulate > 1 ? m->train.accumulate : 1);
        const char *unit = m->tokens ? "tokens" : "samples";
        say("steps %llu: training %s/s %.0f (median step %.2f ms after 5 warm-up steps; %.0f over the whole run); "
               "final loss %.4f (mean of the last 10 steps %.4f)\n",
               (unsigned long long)fr->steps, unit, fr->step_median_s > 0 ? B * per / fr->step_median_s : 0.0,
               1e3 * fr->step_median_s, fr->seconds > 0 ? (double)fr->samples * per / fr->seconds : 0.0, fr->last_loss,
               fr->last10_loss);
    }
    if (m->next_token && !te) { /* a language model on all its text: nothing held out to score */
        if ((s = write_results(m, out_dir, &ri, o.json)) != LAM_OK) goto out;
        say("saved %s (and checkpoint.safetensors, metrics.csv, results.json, report.html); lamina generate %s "
            "--prompt TEXT writes text\n",
               model_path, model_path);
        say("peak memory: %.1f MiB measured (resident set)\n", peak_rss_mib());
        goto out;
    }
    const lam_dataset *evs = te ? te : tr;
    if ((s = lam_evaluate(m, evs, &mt)) != LAM_OK) goto out;
    if ((s = class_names_make((const char *const *)evs->class_names, evs->nclasses, mt.nclasses, &cn)) != LAM_OK)
        goto out;
    const char *which = te ? "test" : "training-set";
    report = metrics_text(&mt, (const char *const *)cn.v);
    say("%s results:\n%s", which, report ? report : "");
    if (te && m->baselines && m->baselines->majority) {
        char num[16];
        int mc = m->baselines->majority_class;
        snprintf(num, sizeof num, "%d", mc);
        say("baseline on the test part: always '%s' (the most frequent training class): accuracy %.4f, macro F1 %.4f\n",
               cn.v && mc < cn.k ? cn.v[mc] : num, m->baselines->majority_accuracy, m->baselines->majority_macro_f1);
    }
    if (te && m->baselines && m->baselines->persistence)
        say("baseline on the test part: persistence (the next value is the last one seen): MAE %.4f, RMSE %.4f\n",
               m->baselines->persistence_mae, m->baselines->persistence_rmse);
    FILE *f = lead ? fopen(report_path, "w") : NULL;
    if (!lead) goto saved;
    if (!f) {
        s = lam_fail(LAM_ERR_IO, "%s: cannot write the report: %s", report_path, strerror(errno));
        goto out;
    }
    fprintf(f, "model %s, data %s, strategy %s, %d epochs\n%s results:\n%s", o.file,
            m->data.path ? m->data.path : lam_data_format_name(m->data.format), lam_strategy_name(m->train.strategy),
            epochs_run, which, report ? report : "");
    if (fclose(f) != 0) {
        s = lam_fail(LAM_ERR_IO, "%s: write error", report_path);
        goto out;
    }
saved:
    ri.metrics = &mt;
    ri.class_names = (const char *const *)cn.v;
    ri.split = te ? "test" : "training";
    if ((s = write_results(m, out_dir, &ri, o.json)) != LAM_OK) goto out;
    say("saved %s (and checkpoint.safetensors, metrics.csv, report.txt, results.json, report.html)\n", model_path);
    say("peak memory: %.1f MiB measured (resident set)\n", peak_rss_mib());
out:
    restore_signals(&sigs);
    free(report);
    class_names_free(&cn);
    lam_metrics_free(&mt);
    lam_csv_report_clear(&rep);
    lam_dataset_free(tr);
    lam_dataset_free(va);
    lam_dataset_free(te);
    lam_model_free(m);
    if (s != LAM_OK && lam_comm_size(comm) > 1) { /* the other ranks would wait for this one: end the job */
        fail(s);
        lam_comm_abort(comm, EXIT_FAILURE);
    }
    return s != LAM_OK ? fail(s) : interrupted ? EXIT_INTERRUPTED : 0;
}

