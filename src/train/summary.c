/* The run summary: one JSON document (results.json in a run folder) with
 * everything a training run reports — the command that reproduces it, the
 * resolved model, the data and its split, the training (strategy, epochs,
 * stages, timings), the evaluation with per-class metrics and the confusion
 * matrix, the baselines and the memory used.  The CLI writes it and prints
 * it for --json; the HTML report (report.c) is made from it and the
 * per-epoch log metrics.csv.  Format: include/lamina/train.h, lam_run_info. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "io/json.h"
#include "lamina/lamina.h"
#include "train/train_internal.h"

/* an object from a library JSON function, under key k (null when absent) */
static lam_status embed(lam_json_buf *b, const char *k, lam_status s, char *json)
{
    lam_json_key(b, k);
    if (s == LAM_OK) lam_json_buf_puts(b, json);
    lam_free(json);
    return s;
}

static void data_part(lam_json_buf *b, const lam_model *m, const lam_run_info *ri)
{
    const lam_dataset *tr = ri->train, *va = ri->val, *te = ri->test;
    lam_json_key(b, "data");
    lam_json_buf_puts(b, "{");
    lam_json_put_str(b, "path", m->data.path);
    lam_json_put_str(b, "format", lam_data_format_name(m->data.format));
    lam_json_put_int(b, "train", tr ? tr->n : 0);
    lam_json_put_int(b, "validation", va ? va->n : 0);
    lam_json_put_int(b, "test", te ? te->n : 0);
    if (tr) {
        lam_json_put_int(b, tr->ids ? "tokens_per_sample" : "features", tr->nfeat);
        if (tr->task == LAM_TASK_CLASSIFICATION && !tr->next_token) lam_json_put_int(b, "classes", tr->nclasses);
        if (tr->task == LAM_TASK_REGRESSION) lam_json_put_int(b, "targets", tr->ntargets);
        if (tr->ids) lam_json_put_int(b, "vocabulary", tr->vocab);
    }
    if (ri->data_report) {
        lam_json_put_int(b, "rows", ri->data_report->rows);
        lam_json_put_int(b, "rows_dropped", ri->data_report->rows_dropped);
        lam_json_put_int(b, "values_imputed", ri->data_report->values_imputed);
    }
    lam_json_buf_puts(b, "}");
}

static void training_part(lam_json_buf *b, const lam_model *m, const lam_run_info *ri)
{
    const lam_train_result *r = ri->result;
    lam_json_key(b, "training");
    lam_json_buf_puts(b, "{");
    lam_json_put_str(b, "strategy", lam_strategy_name(m->train.strategy));
    lam_json_put_str(b, "optimizer", lam_optim_kind_name(m->train.optimizer));
    lam_json_put_double(b, "lr", m->train.group.lr);
    lam_json_put_int(b, "batch", m->train.batch);
    lam_json_put_int(b, "accumulate", m->train.accumulate > 1 ? m->train.accumulate : 1);
    lam_json_put_int(b, "epochs", m->train.epochs);
    if (m->train.steps > 0) lam_json_put_int(b, "steps_budget", m->train.steps);
    lam_json_put_int(b, "seed", (int64_t)m->seed);
    lam_json_put_int(b, "threads", ri->threads > 0 ? ri->threads : lam_get_threads());
    lam_json_put_int(b, "ranks", lam_comm_size(m->comm));
    lam_json_put_bool(b, "interrupted", ri->interrupted);
    if (r && r->n_stages > 0) {
        const lam_fit_result *last = &r->stage[r->n_stages - 1].fit;
        int epochs = 0;
        for (int i = 0; i < r->n_stages; i++) epochs += r->stage[i].epochs_run;
        lam_json_put_int(b, "epochs_run", epochs);
        lam_json_put_int(b, "best_epoch", r->best_epoch);
        lam_json_put_int(b, "steps", (int64_t)last->total_steps);
        lam_json_put_double(b, "seconds", r->seconds);
        lam_json_put_double(b, "seconds_per_epoch", r->seconds / (epochs ? epochs : 1));
        lam_json_put_bool(b, "stopped_early", last->stopped_early);
        if (lam_comm_size(m->comm) > 1) { /* rank 0's time blocked on the others (gradient sums, agreements) */
            lam_json_put_double(b, "comm_wait_seconds", lam_comm_wait_seconds(m->comm));
            lam_json_put_double(b, "comm_wait_share", last->step_wait_share);
        }
        if (last->step_median_s > 0) {
            double per = m->tokens ? (double)m->sample.d[0] : 1.0,
                   B = (double)m->train.batch * (m->train.accumulate > 1 ? m->train.accumulate : 1);
            lam_json_put_double(b, "median_step_seconds", last->step_median_s);
            lam_json_put_double(b, m->tokens ? "tokens_per_second" : "samples_per_second", B * per / last->step_median_s);
        }
        lam_json_put_double(b, "final_loss", last->last_loss);
        lam_json_put_double(b, "final_loss_last10", last->last10_loss);
        lam_json_key(b, "stages");
        lam_json_buf_puts(b, "[");
        for (int i = 0; i < r->n_stages; i++) {
            const lam_stage_report *st = &r->stage[i];
            lam_json_buf_puts(b, i ? ",{" : "{");
            lam_json_put_str(b, "name", st->name);
            lam_json_put_int(b, "params_updated", (int64_t)st->params_updated);
            lam_json_put_int(b, "epochs_run", st->epochs_run);
            lam_json_put_int(b, "best_epoch", st->best_epoch);
            lam_json_put_double(b, "seconds", st->seconds);
            lam_json_put_double(b, "final_loss", st->final_loss);
            lam_json_buf_puts(b, "}");
        }
        lam_json_buf_puts(b, "]");
    }
    lam_json_buf_puts(b, "}");
}

static void baselines_part(lam_json_buf *b, const lam_model *m, const lam_run_info *ri)
{
    const lam_baselines *bl = m->baselines;
    if (!bl || !ri->test || (!bl->majority && !bl->persistence)) return;
    lam_json_key(b, "baselines");
    lam_json_buf_puts(b, "{");
    if (bl->majority) {
        char idx[16];
        snprintf(idx, sizeof idx, "%d", bl->majority_class);
        const char *const *cn = ri->class_names;
        lam_json_key(b, "majority");
        lam_json_buf_puts(b, "{");
        lam_json_put_str(b, "class", cn && cn[bl->majority_class] ? cn[bl->majority_class] : idx);
        lam_json_put_double(b, "accuracy", bl->majority_accuracy);
        lam_json_put_double(b, "macro_f1", bl->majority_macro_f1);
        lam_json_buf_puts(b, "}");
    }
    if (bl->persistence) {
        lam_json_key(b, "persistence");
        lam_json_buf_puts(b, "{");
        lam_json_put_double(b, "mae", bl->persistence_mae);
        lam_json_put_double(b, "rmse", bl->persistence_rmse);
        lam_json_buf_puts(b, "}");
    }
    lam_json_buf_puts(b, "}");
}

lam_status lam_run_summary_json(lam_model *m, const lam_run_info *ri, char **out)
{
    if (!m || !ri || !out) return lam_fail(LAM_ERR_ARG, "lam_run_summary_json: NULL argument");
    *out = NULL;
    lam_json_buf b = {0};
    char *js = NULL;
    lam_status s;
    char when[32] = "";
    time_t now = ri->time ? (time_t)ri->time : time(NULL);
    struct tm tm;
    if (gmtime_r(&now, &tm)) strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    lam_json_buf_puts(&b, "{");
    lam_json_put_str(&b, "format", "lamina-run");
    lam_json_put_int(&b, "version", 1);
    lam_json_put_str(&b, "lamina", LAMINA_VERSION);
    lam_json_put_str(&b, "command", ri->command);
    lam_json_put_str(&b, "time", when);
    lam_json_put_str(&b, "run_dir", ri->run_dir);
    s = lam_model_json(m, &js);
    if ((s = embed(&b, "model", s, js)) != LAM_OK) goto fail;
    data_part(&b, m, ri);
    training_part(&b, m, ri);
    if (ri->metrics) {
        s = lam_metrics_json(ri->metrics, ri->class_names, &js);
        if (s != LAM_OK) goto fail;
        lam_json_key(&b, "results"); /* the metrics' object with the split first */
        lam_json_buf_puts(&b, "{\"split\":");
        lam_json_write_string(&b, ri->split ? ri->split : "test", strlen(ri->split ? ri->split : "test"));
        lam_json_buf_puts(&b, ",");
        lam_json_buf_puts(&b, js + 1);
        lam_free(js);
    } else {
        lam_json_key(&b, "results");
        lam_json_buf_puts(&b, "null");
    }
    baselines_part(&b, m, ri);
    if (ri->peak_rss_mib > 0) lam_json_put_double(&b, "peak_rss_mib", ri->peak_rss_mib);
    lam_json_buf_puts(&b, "}\n");
    return lam_json_buf_take(&b, out);
fail:
    lam_json_buf_free(&b);
    return s;
}

lam_status lam_run_write_summary(lam_model *m, const lam_run_info *ri, const char *path)
{
    char *js = NULL;
    lam_status s = lam_run_summary_json(m, ri, &js);
    if (s == LAM_OK) s = lam_write_file_atomic(path, js, strlen(js));
    lam_free(js);
    return s;
}

lam_status lam_model_train_json(lam_model *m, const lam_dataset *train, const lam_dataset *val, const lam_dataset *test,
                                const lam_fit_hooks *hooks, char **json)
{
    if (!m || !train || !json) return lam_fail(LAM_ERR_ARG, "lam_model_train_json: NULL argument");
    *json = NULL;
    lam_train_result res;
    TRY(lam_train_model(m, train, val, hooks, &res));
    lam_metrics mt = {0};
    const lam_dataset *evs = test ? test : train;
    lam_status s = lam_evaluate(m, evs, &mt);
    if (s == LAM_OK) {
        const char *const *names = mt.nclasses <= m->n_class_names ? (const char *const *)m->class_names : NULL;
        lam_run_info ri = {.train = train, .val = val, .test = test, .result = &res, .metrics = &mt,
                           .class_names = names, .split = test ? "test" : "training"};
        s = lam_run_summary_json(m, &ri, json);
    }
    lam_metrics_free(&mt);
    return s;
}

lam_status lam_evaluate_json(lam_model *m, const lam_dataset *ds, char **json)
{
    if (!m || !ds || !json) return lam_fail(LAM_ERR_ARG, "lam_evaluate_json: NULL argument");
    *json = NULL;
    lam_metrics mt = {0};
    lam_status s = lam_evaluate(m, ds, &mt);
    if (s == LAM_OK)
        s = lam_metrics_json(&mt, mt.nclasses <= m->n_class_names ? (const char *const *)m->class_names : NULL, json);
    lam_metrics_free(&mt);
    return s;
}
