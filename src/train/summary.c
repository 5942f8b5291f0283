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

static void key(lam_json_buf *b, const char *k)
{
    if (b->len && b->data[b->len - 1] != '{') lam_json_buf_puts(b, ",");
    lam_json_write_string(b, k, strlen(k));
    lam_json_buf_puts(b, ":");
}

static void str(lam_json_buf *b, const char *k, const char *v)
{
    key(b, k);
    if (v) lam_json_write_string(b, v, strlen(v));
    else lam_json_buf_puts(b, "null");
}

static void i64(lam_json_buf *b, const char *k, int64_t v)
{
    key(b, k);
    lam_json_write_int(b, v);
}

static void dbl(lam_json_buf *b, const char *k, double v)
{
    key(b, k);
    lam_json_write_double(b, v);
}

static void boolean(lam_json_buf *b, const char *k, bool v)
{
    key(b, k);
    lam_json_buf_puts(b, v ? "true" : "false");
}

/* an object from a library JSON function, under key k (null when absent) */
static lam_status embed(lam_json_buf *b, const char *k, lam_status s, char *json)
{
    key(b, k);
    if (s == LAM_OK) lam_json_buf_puts(b, json);
    lam_free(json);
    return s;
}

static void data_part(lam_json_buf *b, const lam_model *m, const lam_run_info *ri)
{
    const lam_dataset *tr = ri->train, *va = ri->val, *te = ri->test;
    key(b, "data");
    lam_json_buf_puts(b, "{");
    str(b, "path", m->data.path);
    str(b, "format", lam_data_format_name(m->data.format));
    i64(b, "train", tr ? tr->n : 0);
    i64(b, "validation", va ? va->n : 0);
    i64(b, "test", te ? te->n : 0);
    if (tr) {
        i64(b, tr->ids ? "tokens_per_sample" : "features", tr->nfeat);
        if (tr->task == LAM_TASK_CLASSIFICATION && !tr->next_token) i64(b, "classes", tr->nclasses);
        if (tr->task == LAM_TASK_REGRESSION) i64(b, "targets", tr->ntargets);
        if (tr->ids) i64(b, "vocabulary", tr->vocab);
    }
    if (ri->data_report) {
        i64(b, "rows", ri->data_report->rows);
        i64(b, "rows_dropped", ri->data_report->rows_dropped);
        i64(b, "values_imputed", ri->data_report->values_imputed);
    }
    lam_json_buf_puts(b, "}");
}

static void training_part(lam_json_buf *b, const lam_model *m, const lam_run_info *ri)
{
    const lam_train_result *r = ri->result;
    key(b, "training");
    lam_json_buf_puts(b, "{");
    str(b, "strategy", lam_strategy_name(m->train.strategy));
    str(b, "optimizer", lam_optim_kind_name(m->train.optimizer));
    dbl(b, "lr", m->train.group.lr);
    i64(b, "batch", m->train.batch);
    i64(b, "accumulate", m->train.accumulate > 1 ? m->train.accumulate : 1);
    i64(b, "epochs", m->train.epochs);
    if (m->train.steps > 0) i64(b, "steps_budget", m->train.steps);
    i64(b, "seed", (int64_t)m->seed);
    i64(b, "threads", ri->threads > 0 ? ri->threads : lam_get_threads());
    boolean(b, "interrupted", ri->interrupted);
    if (r && r->n_stages > 0) {
        const lam_fit_result *last = &r->stage[r->n_stages - 1].fit;
        int epochs = 0;
        for (int i = 0; i < r->n_stages; i++) epochs += r->stage[i].epochs_run;
        i64(b, "epochs_run", epochs);
        i64(b, "best_epoch", r->best_epoch);
        i64(b, "steps", (int64_t)last->total_steps);
        dbl(b, "seconds", r->seconds);
        dbl(b, "seconds_per_epoch", r->seconds / (epochs ? epochs : 1));
        boolean(b, "stopped_early", last->stopped_early);
        if (last->step_median_s > 0) {
            double per = m->tokens ? (double)m->sample.d[0] : 1.0,
                   B = (double)m->train.batch * (m->train.accumulate > 1 ? m->train.accumulate : 1);
            dbl(b, "median_step_seconds", last->step_median_s);
            dbl(b, m->tokens ? "tokens_per_second" : "samples_per_second", B * per / last->step_median_s);
        }
        dbl(b, "final_loss", last->last_loss);
        dbl(b, "final_loss_last10", last->last10_loss);
        key(b, "stages");
        lam_json_buf_puts(b, "[");
        for (int i = 0; i < r->n_stages; i++) {
            const lam_stage_report *st = &r->stage[i];
            lam_json_buf_puts(b, i ? ",{" : "{");
            str(b, "name", st->name);
            i64(b, "params_updated", (int64_t)st->params_updated);
            i64(b, "epochs_run", st->epochs_run);
            i64(b, "best_epoch", st->best_epoch);
            dbl(b, "seconds", st->seconds);
            dbl(b, "final_loss", st->final_loss);
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
    key(b, "baselines");
    lam_json_buf_puts(b, "{");
    if (bl->majority) {
        char idx[16];
        snprintf(idx, sizeof idx, "%d", bl->majority_class);
        const char *const *cn = ri->class_names;
        key(b, "majority");
        lam_json_buf_puts(b, "{");
        str(b, "class", cn && cn[bl->majority_class] ? cn[bl->majority_class] : idx);
        dbl(b, "accuracy", bl->majority_accuracy);
        dbl(b, "macro_f1", bl->majority_macro_f1);
        lam_json_buf_puts(b, "}");
    }
    if (bl->persistence) {
        key(b, "persistence");
        lam_json_buf_puts(b, "{");
        dbl(b, "mae", bl->persistence_mae);
        dbl(b, "rmse", bl->persistence_rmse);
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
    str(&b, "format", "lamina-run");
    i64(&b, "version", 1);
    str(&b, "lamina", LAMINA_VERSION);
    str(&b, "command", ri->command);
    str(&b, "time", when);
    str(&b, "run_dir", ri->run_dir);
    s = lam_model_json(m, &js);
    if ((s = embed(&b, "model", s, js)) != LAM_OK) goto fail;
    data_part(&b, m, ri);
    training_part(&b, m, ri);
    if (ri->metrics) {
        s = lam_metrics_json(ri->metrics, ri->class_names, &js);
        if (s != LAM_OK) goto fail;
        key(&b, "results"); /* the metrics' object with the split first */
        lam_json_buf_puts(&b, "{\"split\":");
        lam_json_write_string(&b, ri->split ? ri->split : "test", strlen(ri->split ? ri->split : "test"));
        lam_json_buf_puts(&b, ",");
        lam_json_buf_puts(&b, js + 1);
        lam_free(js);
    } else {
        key(&b, "results");
        lam_json_buf_puts(&b, "null");
    }
    baselines_part(&b, m, ri);
    if (ri->peak_rss_mib > 0) dbl(&b, "peak_rss_mib", ri->peak_rss_mib);
    lam_json_buf_puts(&b, "}\n");
    if ((s = b.status) != LAM_OK) goto fail;
    *out = b.data;
    return LAM_OK;
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
