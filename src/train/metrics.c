/* Metrics: confusion matrix, accuracy, per-class and macro precision / recall /
 * F1 (scikit-learn's definitions: 0 where undefined), and MSE / MAE / R² for
 * regression; and their readable report. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "io/json.h"
#include "lamina/train.h"

lam_status lam_metrics_init(lam_metrics *m, lam_task task, int nclasses)
{
    memset(m, 0, sizeof *m);
    m->task = task;
    m->accuracy = m->mse = m->mae = m->r2 = NAN;
    if (task != LAM_TASK_CLASSIFICATION) return LAM_OK;
    if (nclasses < 1 || nclasses > 100000) return lam_fail(LAM_ERR_ARG, "metrics: %d classes", nclasses);
    size_t k = (size_t)nclasses;
    m->nclasses = nclasses;
    m->confusion = lam_calloc(k * k, sizeof *m->confusion);
    m->precision = lam_calloc(k, sizeof(double));
    m->recall = lam_calloc(k, sizeof(double));
    m->f1 = lam_calloc(k, sizeof(double));
    m->support = lam_calloc(k, sizeof *m->support);
    if (!m->confusion || !m->precision || !m->recall || !m->f1 || !m->support) {
        lam_metrics_free(m);
        return LAM_ERR_NOMEM;
    }
    return LAM_OK;
}

void lam_metrics_free(lam_metrics *m)
{
    lam_free(m->confusion);
    lam_free(m->precision);
    lam_free(m->recall);
    lam_free(m->f1);
    lam_free(m->support);
    m->confusion = m->support = NULL;
    m->precision = m->recall = m->f1 = NULL;
}

void lam_metrics_finish_classification(lam_metrics *m)
{
    int K = m->nclasses;
    int64_t correct = 0, total = 0;
    m->macro_precision = m->macro_recall = m->macro_f1 = 0;
    for (int c = 0; c < K; c++) {
        int64_t tp = m->confusion[(size_t)c * K + c], pred = 0, truth = 0;
        for (int j = 0; j < K; j++) {
            pred += m->confusion[(size_t)j * K + c];
            truth += m->confusion[(size_t)c * K + j];
        }
        correct += tp;
        total += truth;
        m->support[c] = truth;
        m->precision[c] = pred ? (double)tp / (double)pred : 0.0;
        m->recall[c] = truth ? (double)tp / (double)truth : 0.0;
        double pr = m->precision[c] + m->recall[c];
        m->f1[c] = pr > 0 ? 2 * m->precision[c] * m->recall[c] / pr : 0.0;
        m->macro_precision += m->precision[c] / K;
        m->macro_recall += m->recall[c] / K;
        m->macro_f1 += m->f1[c] / K;
    }
    m->accuracy = total ? (double)correct / (double)total : NAN;
}

void lam_metrics_regression(lam_metrics *m, const float *p, const float *t, int64_t n, int k)
{
    double se = 0, ae = 0, r2 = 0;
    for (int j = 0; j < k; j++) {
        double mean = 0, ss_tot = 0, ss_res = 0;
        for (int64_t i = 0; i < n; i++) mean += t[i * k + j];
        mean /= (double)(n ? n : 1);
        for (int64_t i = 0; i < n; i++) {
            double d = (double)p[i * k + j] - t[i * k + j], c = t[i * k + j] - mean;
            ss_res += d * d;
            ss_tot += c * c;
            ae += fabs(d);
        }
        se += ss_res;
        /* scikit-learn: a constant target gives R² = 1 if predicted exactly, else 0 */
        r2 += ss_tot > 0 ? 1.0 - ss_res / ss_tot : (ss_res == 0 ? 1.0 : 0.0);
    }
    double cnt = (double)n * k;
    m->mse = cnt ? se / cnt : NAN;
    m->mae = cnt ? ae / cnt : NAN;
    m->r2 = k ? r2 / k : NAN;
}

size_t lam_metrics_report(const lam_metrics *m, const char *const *class_names, char *buf, size_t n)
{
    size_t k = 0;
#define OUT(...) k += (size_t)snprintf(k < n ? buf + k : NULL, k < n ? n - k : 0, __VA_ARGS__)
    if (m->task != LAM_TASK_CLASSIFICATION) {
        OUT("loss %.6f  MSE %.6f  MAE %.6f  R2 %.4f  (n = %lld)\n", m->loss, m->mse, m->mae, m->r2, (long long)m->n);
        return k;
    }
    int K = m->nclasses;
    if (K == 0) { /* a language model: every position's next token */
        OUT("loss %.4f  perplexity %.3f  next-token accuracy %.4f  (%lld tokens)\n", m->loss, exp(m->loss), m->accuracy,
            (long long)m->n);
        return k;
    }
    OUT("accuracy %.4f  macro F1 %.4f  loss %.4f  (n = %lld)\n", m->accuracy, m->macro_f1, m->loss, (long long)m->n);
    OUT("%12s %9s %9s %9s %8s\n", "class", "precision", "recall", "f1", "support");
    for (int c = 0; c < K; c++) {
        char nm[32];
        snprintf(nm, sizeof nm, "%s", class_names ? class_names[c] : "");
        if (!class_names) snprintf(nm, sizeof nm, "%d", c);
        OUT("%12s %9.4f %9.4f %9.4f %8lld\n", nm, m->precision[c], m->recall[c], m->f1[c], (long long)m->support[c]);
    }
    OUT("%12s %9.4f %9.4f %9.4f %8lld\n", "macro avg", m->macro_precision, m->macro_recall, m->macro_f1,
        (long long)m->n);
    OUT("confusion matrix (rows: true class, columns: predicted)\n");
    OUT("%6s", "");
    for (int c = 0; c < K; c++) OUT(" %5d", c);
    OUT("\n");
    for (int r = 0; r < K; r++) {
        OUT("%5d ", r);
        for (int c = 0; c < K; c++) OUT(" %5lld", (long long)m->confusion[(size_t)r * K + c]);
        OUT("\n");
    }
    return k;
#undef OUT
}

/* ---- JSON ---------------------------------------------------------------------- */

lam_status lam_metrics_json(const lam_metrics *m, const char *const *class_names, char **out)
{
    if (!m || !out) return lam_fail(LAM_ERR_ARG, "lam_metrics_json: NULL argument");
    *out = NULL;
    lam_json_buf b = {0};
    int K = m->task == LAM_TASK_CLASSIFICATION ? m->nclasses : 0;
    const char *task = m->task != LAM_TASK_CLASSIFICATION ? "regression" : K ? "classification" : "language_model";
    lam_json_buf_puts(&b, "{");
    lam_json_put_str(&b, "task", task);
    lam_json_put_int(&b, "n", m->n);
    lam_json_put_double(&b, "loss", m->loss);
    if (m->task != LAM_TASK_CLASSIFICATION) {
        lam_json_put_double(&b, "mse", m->mse);
        lam_json_put_double(&b, "mae", m->mae);
        lam_json_put_double(&b, "r2", m->r2);
    } else if (!K) {
        lam_json_put_double(&b, "perplexity", exp(m->loss));
        lam_json_put_double(&b, "accuracy", m->accuracy);
    } else {
        lam_json_put_double(&b, "accuracy", m->accuracy);
        lam_json_put_double(&b, "macro_precision", m->macro_precision);
        lam_json_put_double(&b, "macro_recall", m->macro_recall);
        lam_json_put_double(&b, "macro_f1", m->macro_f1);
        lam_json_key(&b, "classes");
        lam_json_buf_puts(&b, "[");
        for (int c = 0; c < K; c++) {
            char nm[32];
            snprintf(nm, sizeof nm, "%d", c);
            const char *name = class_names && class_names[c] ? class_names[c] : nm;
            lam_json_buf_puts(&b, c ? ",{" : "{");
            lam_json_put_str(&b, "name", name);
            lam_json_put_double(&b, "precision", m->precision[c]);
            lam_json_put_double(&b, "recall", m->recall[c]);
            lam_json_put_double(&b, "f1", m->f1[c]);
            lam_json_put_int(&b, "support", m->support[c]);
            lam_json_buf_puts(&b, "}");
        }
        lam_json_buf_puts(&b, "]");
        lam_json_key(&b, "confusion"); /* rows: true class, columns: predicted */
        lam_json_buf_puts(&b, "[");
        for (int r = 0; r < K; r++) {
            lam_json_buf_puts(&b, r ? ",[" : "[");
            for (int c = 0; c < K; c++) {
                if (c) lam_json_buf_puts(&b, ",");
                lam_json_write_int(&b, m->confusion[(size_t)r * K + c]);
            }
            lam_json_buf_puts(&b, "]");
        }
        lam_json_buf_puts(&b, "]");
    }
    lam_json_buf_puts(&b, "}");
    return lam_json_buf_take(&b, out);
}
