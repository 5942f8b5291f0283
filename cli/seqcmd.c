/* eval and predict for text and time-series models: their data is read
 * and split as their model file says (the checkpoint keeps the vocabulary
 * and the scaler), and the test part is scored or predicted.  predict
 * --attention adds the weights of the model's attention layer per position. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

bool is_sequence_model(const lam_model *m) { return m->tokens || m->data.format == LAM_DATA_TIMESERIES; }

/* The test part of the model's data (all of it without one). */
static lam_status test_part(lam_model *m, const char *data, lam_dataset **ds)
{
    if (data) m->data.path = data;
    lam_dataset *tr = NULL, *te = NULL;
    lam_status s = lam_model_prepare_data(m, &tr, NULL, &te, NULL);
    if (s != LAM_OK) return s;
    if (te) {
        lam_dataset_free(tr);
        *ds = te;
    } else {
        *ds = tr;
    }
    return LAM_OK;
}

int seq_eval(lam_model *m, const char *ckpt, const char *data)
{
    lam_dataset *ds = NULL;
    lam_metrics mt = {0};
    int rc = 0;
    lam_status s = test_part(m, data, &ds);
    if (s == LAM_OK) s = lam_evaluate(m, ds, &mt);
    if (s == LAM_OK) rc = print_evaluation(ckpt, m->data.path, ds->n, "samples", &mt, (const char *const *)m->class_names);
    lam_metrics_free(&mt);
    lam_dataset_free(ds);
    lam_model_free(m);
    return s == LAM_OK ? rc : fail(s);
}

/* The node holding the attention weights of the model's first [attention]
 * layer (named NAME.weights), or NULL. */
static lam_node *attention_weights(lam_model *m)
{
    for (int i = 0; i < lam_graph_node_count(m->g); i++) {
        lam_node *n = lam_graph_node_at(m->g, i);
        const char *nm = lam_node_name(n);
        size_t len = strlen(nm);
        if (len > 8 && !strcmp(nm + len - 8, ".weights") && !strcmp(lam_node_op_name(n), "output")) return n;
    }
    return NULL;
}

static void put_class(FILE *f, const lam_model *m, int k)
{
    if (m->class_names && k < m->n_class_names) put_field(f, m->class_names[k]);
    else fprintf(f, "%d", k);
}

int seq_predict(lam_model *m, const cli_opts *o)
{
    lam_dataset *ds = NULL;
    float *pred = NULL, *att = NULL;
    char *text = NULL;
    FILE *f = stdout;
    lam_node *wn = o->attention ? attention_weights(m) : NULL;
    lam_status s = LAM_OK;
    int rc = 0;
    if (o->attention && !wn) s = lam_fail(LAM_ERR_ARG, "--attention: %s has no [attention] layer", m->cfg->path);
    if (s == LAM_OK && m->next_token)
        s = lam_fail(LAM_ERR_ARG, "%s is a language model: lamina generate writes its text", m->cfg->path);
    if (s == LAM_OK) s = test_part(m, o->data, &ds);
    if (s != LAM_OK) goto out;
    int k = m->nout;
    int64_t T = m->sample.d[0];
    pred = lam_calloc((size_t)ds->n * (size_t)k, sizeof *pred);
    att = wn ? lam_calloc((size_t)ds->n * (size_t)T, sizeof *att) : NULL;
    size_t cap = m->vocab ? (size_t)T * LAM_TOKEN_MAX_BYTES + 1 : 1;
    text = lam_malloc(cap);
    if (!pred || !text || (wn && !att)) {
        s = LAM_ERR_NOMEM;
        goto out;
    }
    if ((s = lam_predict(m, ds, pred)) != LAM_OK) goto out;
    if (wn && (s = lam_encode(m, wn, ds, att)) != LAM_OK) goto out;
    if (o->out && !(f = fopen(o->out, "w"))) {
        f = stdout;
        s = lam_fail(LAM_ERR_IO, "%s: cannot write the predictions: %s", o->out, strerror(errno));
        goto out;
    }
    bool cls = ds->labels != NULL;
    fputs(cls ? "true,predicted" : "true", f);
    for (int j = 0; j < k; j++) fprintf(f, cls ? ",p%d" : ",y%d", j);
    if (m->vocab) fputs(",text", f);
    for (int64_t t = 0; wn && t < T; t++) fprintf(f, ",a%lld", (long long)t);
    fputc('\n', f);
    for (int64_t i = 0; i < ds->n; i++) {
        const float *p = pred + i * k;
        if (cls) {
            int best = 0;
            for (int j = 1; j < k; j++)
                if (p[j] > p[best]) best = j;
            put_class(f, m, ds->labels[i]);
            fputc(',', f);
            put_class(f, m, best);
        } else {
            fprintf(f, "%.6g", (double)ds->y[i * ds->ntargets]);
        }
        for (int j = 0; j < k; j++) fprintf(f, ",%.6g", (double)p[j]);
        if (m->vocab) {
            int64_t len = ds->lengths ? ds->lengths[i] : T;
            size_t tl;
            if ((s = lam_vocab_decode(m->vocab, ds->ids + i * ds->ids_stride, len, text, cap, &tl)) != LAM_OK) goto out;
            fputc(',', f);
            put_field(f, text);
        }
        for (int64_t t = 0; wn && t < T; t++) fprintf(f, ",%.4g", (double)att[i * T + t]);
        fputc('\n', f);
    }
    if (f != stdout && fclose(f) != 0) s = lam_fail(LAM_ERR_IO, "%s: write error", o->out);
    else if (f == stdout && fflush(stdout) != 0) s = lam_fail(LAM_ERR_IO, "standard output: write error");
    f = stdout;
    if (s == LAM_OK && o->out && !o->json)
        fprintf(stderr, "lamina: wrote %lld predictions to %s\n", (long long)ds->n, o->out);
    if (s == LAM_OK && o->json) rc = print_prediction_summary(o, ds->n, k);
out:
    if (f != stdout) fclose(f);
    lam_free(pred);
    lam_free(att);
    lam_free(text);
    lam_dataset_free(ds);
    lam_model_free(m);
    return s == LAM_OK ? rc : fail(s);
}
