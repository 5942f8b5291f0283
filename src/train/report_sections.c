/* The sections of the HTML run report drawn from the per-epoch log and the
 * run summary's parts: the curves (report_svg.c draws the charts), the
 * evaluation (confusion matrix, per-class table, regression or language
 * model figures, baselines), the model, the data and the training (settings,
 * outcome, timings, stages).  Every value is read through the checked
 * accessors of report.c.  See report_internal.h. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "train/report_internal.h"

#define P(...) lam_report_printf_(d->b, __VA_ARGS__)
#define S(s) lam_report_puts_(d->b, (s))

static void esc_json(doc *d, const lam_json *v) { lam_report_esc_(d->b, v->str, v->len); }

/* a metric to 4 significant digits */
static const char *m4(char *t, size_t n, double x) { return lam_report_sig_(t, n, x, 4); }

/* ---- curves ----------------------------------------------------------------------- */

/* figure with one chart; lines whose values are all NaN are left out, and
 * the chart too when none is left */
static void figure(doc *d, lam_report_chart *c, const char *caption)
{
    int k = 0;
    for (int l = 0; l < c->nlines; l++) {
        bool any = false;
        for (int i = 0; i < c->n && !any; i++)
            any = isfinite(*(const double *)((const char *)c->line[l].y + (size_t)i * c->line[l].stride));
        if (any) c->line[k++] = c->line[l];
    }
    c->nlines = k;
    if (!k) return;
    P("<figure><figcaption>%s</figcaption>", caption);
    lam_report_chart_svg_(d->b, c);
    S("</figure>\n");
}

static void stage_name(doc *d, const lam_json *stages, int stage, const lam_json **name)
{
    char where[48];
    *name = NULL;
    if (!stages || stage < 1 || (size_t)stage > stages->n) return;
    const lam_json *st = stages->items[stage - 1];
    snprintf(where, sizeof where, "training.stages[%d]", stage - 1);
    if (st->type != LAM_JSON_OBJECT) bad(d, st, where, "", "an object");
    else *name = jget(d, st, where, "name", LAM_JSON_STRING);
}

void lam_report_curves_(lam_report_doc *d)
{
    const lam_report_log *log = d->log;
    S("<section id=\"curves\">\n<h2>Curves</h2>\n");
    if (!log->found) {
        S("<p class=\"note\">No curves: the run folder has no per-epoch log (metrics.csv).</p>\n</section>\n");
        return;
    }
    if (log->bad_header || log->too_large) {
        S("<p class=\"warn\">No curves: metrics.csv was not read: ");
        lam_report_escz_(d->b, log->why);
        S(".</p>\n</section>\n");
        return;
    }
    if (log->bad_rows) {
        char t[48];
        P("<p class=\"warn\">%s row%s of metrics.csv could not be read and %s left out (line %lld: ",
          lam_report_int_(t, sizeof t, log->bad_rows), log->bad_rows > 1 ? "s" : "", log->bad_rows > 1 ? "are" : "is",
          (long long)log->first_bad_line);
        lam_report_escz_(d->b, log->why);
        S(").</p>\n");
    }
    if (log->n == 0) {
        S("<p class=\"note\">No curves: metrics.csv holds no epochs.</p>\n</section>\n");
        return;
    }
    if (log->n == 1) { /* a point is not a curve: its values */
        const lam_report_epoch *e = log->rows;
        char t[48];
        S("<p class=\"note\">One epoch logged, so no curves to draw; its figures:</p>\n"
          "<table class=\"kv\" id=\"one-epoch\"><tbody>\n");
        kv(d, "training loss", m4(t, sizeof t, e->train_loss));
        if (isfinite(e->val_loss)) kv(d, "validation loss", m4(t, sizeof t, e->val_loss));
        if (isfinite(e->train_acc))
            kv(d, d->lm ? "next-token accuracy" : "training accuracy", m4(t, sizeof t, e->train_acc));
        if (isfinite(e->val_acc)) kv(d, "validation accuracy", m4(t, sizeof t, e->val_acc));
        kv(d, "learning rate", m4(t, sizeof t, e->lr));
        kv(d, "time", lam_report_seconds_(t, sizeof t, e->seconds));
        S("</tbody></table>\n</section>\n");
        return;
    }
    int n = log->n > 10000000 ? 10000000 : (int)log->n;
    bool *seg = lam_calloc((size_t)n, sizeof *seg);
    lam_report_chart *c = lam_calloc(1, sizeof *c);
    if (!seg || !c) {
        if (d->b->status == LAM_OK) d->b->status = LAM_ERR_NOMEM;
        lam_free(seg);
        lam_free(c);
        return;
    }
    const lam_json *stages = jget(d, d->training, "training", "stages", LAM_JSON_ARRAY);
    /* segments: a new stage, or an epoch count that starts again */
    int nseg = 1, last_start = 0;
    lam_report_mark marks[LAM_REPORT_MAX_MARKS];
    int nmarks = 0;
    char labels[LAM_REPORT_MAX_MARKS][24];
    for (int i = 0; i < n; i++) {
        const lam_report_epoch *e = &log->rows[i];
        seg[i] = i > 0 && (e->stage != log->rows[i - 1].stage || e->epoch <= log->rows[i - 1].epoch);
        if (seg[i]) nseg++, last_start = i;
        if ((i == 0 || seg[i]) && nmarks < LAM_REPORT_MAX_MARKS - 1) {
            const lam_json *nm;
            stage_name(d, stages, e->stage, &nm);
            lam_report_mark *m = &marks[nmarks];
            snprintf(labels[nmarks], sizeof labels[nmarks], "stage %d", e->stage);
            *m = (lam_report_mark){.at = i, .label = labels[nmarks], .label_len = strlen(labels[nmarks])};
            if (nm) m->label = nm->str, m->label_len = nm->len, m->title = nm->str, m->title_len = nm->len;
            nmarks++;
        }
    }
    if (nseg == 1) nmarks = 0; /* one stage: nothing to mark */
    const lam_report_epoch *r0 = log->rows;
    size_t st = sizeof *r0;
    const char *xl = nseg > 1 ? "epoch (all stages, in order)" : "epoch";
    const char *loss_name = jstr_is(d, d->model, "model", "loss", "mse")    ? "Loss (mean squared error)"
                          : jstr_is(d, d->model, "model", "loss", "bce")    ? "Loss (binary cross-entropy)"
                                                                            : "Loss (cross-entropy)";
    int64_t best = 0;
    if (nseg > 1) P("<p class=\"note\">%d stages; dashed lines mark where each begins (names in the tooltips and "
                    "in the stages table below).</p>\n", nseg);
    S("<div class=\"charts\">\n");
    *c = (lam_report_chart){.id = "chart-loss", .ylabel = "loss", .xlabel = xl, .n = n, .seg_start = seg, .nlines = 2,
                            .allow_log = true};
    c->line[0] = (lam_report_line){"training", "c1", &r0->train_loss, st, 1};
    c->line[1] = (lam_report_line){"validation", "c2", &r0->val_loss, st, 1};
    memcpy(c->mark, marks, sizeof marks[0] * (size_t)nmarks);
    c->nmarks = nmarks;
    /* the epoch whose weights the model kept, when it is not the last one */
    if (jcount(d, d->training, "training", "best_epoch", &best) && best > 0 && last_start + best < n)
        c->mark[c->nmarks++] = (lam_report_mark){.at = last_start + (int)best - 1, .best = true, .label = "best",
                                                 .label_len = 4, .title = "the epoch whose weights the model keeps",
                                                 .title_len = 39};
    figure(d, c, loss_name);
    *c = (lam_report_chart){.id = "chart-accuracy", .ylabel = "accuracy", .xlabel = xl, .n = n, .seg_start = seg,
                            .nlines = 2};
    c->line[0] = (lam_report_line){"training", "c1", &r0->train_acc, st, 1};
    c->line[1] = (lam_report_line){"validation", "c2", &r0->val_acc, st, 1};
    memcpy(c->mark, marks, sizeof marks[0] * (size_t)nmarks);
    c->nmarks = nmarks;
    figure(d, c, d->lm ? "Next-token accuracy" : "Accuracy");
    *c = (lam_report_chart){.id = "chart-lr", .ylabel = "learning rate", .xlabel = xl, .n = n, .seg_start = seg,
                            .nlines = 1, .allow_log = true};
    c->line[0] = (lam_report_line){"learning rate", "c3", &r0->lr, st, 1};
    memcpy(c->mark, marks, sizeof marks[0] * (size_t)nmarks);
    c->nmarks = nmarks;
    figure(d, c, "Learning rate (at the start of each epoch)");
    double tmax = 0;
    for (int i = 0; i < n; i++) tmax = r0[i].seconds > tmax ? r0[i].seconds : tmax;
    bool ms = tmax < 1;
    *c = (lam_report_chart){.id = "chart-seconds", .ylabel = ms ? "milliseconds" : "seconds", .xlabel = xl, .n = n,
                            .seg_start = seg, .nlines = 1, .zero_based = true};
    c->line[0] = (lam_report_line){"training time", "c1", &r0->seconds, st, ms ? 1000 : 1};
    memcpy(c->mark, marks, sizeof marks[0] * (size_t)nmarks);
    c->nmarks = nmarks;
    figure(d, c, "Time per epoch (training only)");
    S("</div>\n</section>\n");
    lam_free(seg);
    lam_free(c);
}

/* ---- evaluation -------------------------------------------------------------------- */

static void per_class(doc *d, const lam_json *classes)
{
    char a[48], b[48], c[48], e[48];
    double wp = 0, wr = 0, wf = 0, wsum = 0;
    S("<div><h3>Per class</h3><table class=\"classes\" id=\"per-class\"><thead><tr><th>class</th>"
      "<th class=\"n\">precision</th><th class=\"n\">recall</th><th class=\"n\">F1</th><th class=\"n\">support</th>"
      "</tr></thead><tbody>\n");
    char where[48];
    for (size_t i = 0; i < classes->n; i++) {
        const lam_json *k = classes->items[i];
        snprintf(where, sizeof where, "results.classes[%zu]", i);
        double p = jnum(d, k, where, "precision"), r = jnum(d, k, where, "recall"), f = jnum(d, k, where, "f1");
        int64_t sup = 0;
        bool hs = jcount(d, k, where, "support", &sup);
        if (hs && isfinite(p) && isfinite(r) && isfinite(f)) {
            wp += p * (double)sup, wr += r * (double)sup, wf += f * (double)sup, wsum += (double)sup;
        }
        S("<tr><td class=\"name\">");
        esc_json(d, lam_json_get(k, "name"));
        P("</td><td class=\"n\">%s</td><td class=\"n\">%s</td><td class=\"n\">%s", m4(a, sizeof a, p), m4(b, sizeof b, r),
          m4(c, sizeof c, f));
        if (isfinite(f) && f >= 0 && f <= 1)
            P("<span class=\"f1bar\"><span style=\"width:%d%%\"></span></span>", (int)lround(100 * f));
        else S("<span class=\"f1bar\"></span>");
        P("</td><td class=\"n\">%s</td></tr>\n", hs ? lam_report_int_(e, sizeof e, sup) : "\xe2\x80\x94");
    }
    const lam_json *r = d->results;
    int64_t n = 0;
    bool hn = jcount(d, r, "results", "n", &n);
    P("<tr class=\"avg first\"><td>macro average</td><td class=\"n\">%s</td><td class=\"n\">%s</td><td class=\"n\">%s"
      "<span class=\"f1bar\" style=\"visibility:hidden\"></span></td><td class=\"n\">%s</td></tr>\n",
      m4(a, sizeof a, jnum(d, r, "results", "macro_precision")), m4(b, sizeof b, jnum(d, r, "results", "macro_recall")),
      m4(c, sizeof c, jnum(d, r, "results", "macro_f1")), hn ? lam_report_int_(e, sizeof e, n) : "");
    if (wsum > 0)
        P("<tr class=\"avg\"><td>weighted average</td><td class=\"n\">%s</td><td class=\"n\">%s</td><td class=\"n\">%s"
          "<span class=\"f1bar\" style=\"visibility:hidden\"></span></td><td class=\"n\">%s</td></tr>\n",
          m4(a, sizeof a, wp / wsum), m4(b, sizeof b, wr / wsum), m4(c, sizeof c, wf / wsum),
          lam_report_int_(e, sizeof e, (int64_t)wsum));
    P("<tr class=\"avg\"><td>accuracy</td><td></td><td></td><td class=\"n\">%s<span class=\"f1bar\" "
      "style=\"visibility:hidden\"></span></td><td class=\"n\">%s</td></tr>\n",
      m4(a, sizeof a, jnum(d, r, "results", "accuracy")), hn ? lam_report_int_(e, sizeof e, n) : "");
    S("</tbody></table></div>\n");
}

static void baselines(doc *d)
{
    const lam_json *bl = d->baselines, *r = d->results;
    if (!bl) return;
    const lam_json *maj = jget(d, bl, "baselines", "majority", LAM_JSON_OBJECT);
    const lam_json *per = jget(d, bl, "baselines", "persistence", LAM_JSON_OBJECT);
    if (!maj && !per) return;
    char a[48], b[48];
    S("<h3>Baselines</h3><p class=\"note\">What a model that learns nothing scores on the same test part.</p>\n"
      "<table class=\"baselines\" id=\"baselines\"><thead><tr><th>baseline</th><th>measure</th>"
      "<th class=\"n\">baseline</th><th class=\"n\">this model</th></tr></thead><tbody>\n");
    if (maj) {
        const lam_json *cls = jget(d, maj, "baselines.majority", "class", LAM_JSON_STRING);
        S("<tr><td rowspan=\"2\">always the most frequent training class");
        if (cls) {
            S(" (<b>");
            esc_json(d, cls);
            S("</b>)");
        }
        P("</td><td>accuracy</td><td class=\"n\">%s</td><td class=\"n\">%s</td></tr>\n",
          m4(a, sizeof a, jnum(d, maj, "baselines.majority", "accuracy")),
          m4(b, sizeof b, jnum(d, r, "results", "accuracy")));
        P("<tr><td>macro F1</td><td class=\"n\">%s</td><td class=\"n\">%s</td></tr>\n",
          m4(a, sizeof a, jnum(d, maj, "baselines.majority", "macro_f1")),
          m4(b, sizeof b, jnum(d, r, "results", "macro_f1")));
    }
    if (per) {
        S("<tr><td rowspan=\"2\">persistence (the next value is the last one seen)</td>");
        P("<td>MAE</td><td class=\"n\">%s</td><td class=\"n\">%s</td></tr>\n",
          m4(a, sizeof a, jnum(d, per, "baselines.persistence", "mae")), m4(b, sizeof b, jnum(d, r, "results", "mae")));
        P("<tr><td>RMSE</td><td class=\"n\">%s</td><td class=\"n\">%s</td></tr>\n",
          m4(a, sizeof a, jnum(d, per, "baselines.persistence", "rmse")),
          m4(b, sizeof b, sqrt(jnum(d, r, "results", "mse"))));
    }
    S("</tbody></table>\n");
}

void lam_report_evaluation_(lam_report_doc *d)
{
    const lam_json *r = d->results;
    char t[48], u[48];
    S("<section id=\"evaluation\">\n<h2>Evaluation</h2>\n");
    if (!r) {
        S(d->lm ? "<p class=\"note\">No evaluation: the language model was trained on all of its text "
                  "([data] test_split = 0), so nothing was held out to score.  The training loss is in the cards "
                  "above and the curves.</p>\n"
                : "<p class=\"note\">No evaluation was recorded for this run.</p>\n");
        baselines(d);
        S("</section>\n");
        return;
    }
    const lam_json *split = jget(d, r, "results", "split", LAM_JSON_STRING);
    int64_t n = 0;
    bool hn = jcount(d, r, "results", "n", &n);
    S("<p class=\"note\">On the ");
    if (split) esc_json(d, split);
    else S("test");
    P(" part%s%s%s.%s</p>\n", hn ? " (" : "", hn ? lam_report_int_(t, sizeof t, n) : "", hn ? " samples)" : "",
      split && split->len == 8 && !memcmp(split->str, "training", 8)
          ? " No test part was held out, so these figures are on the data the model was trained on."
          : "");
    if (d->task && !strcmp(d->task, "classification")) {
        const lam_json *classes = jget(d, r, "results", "classes", LAM_JSON_ARRAY);
        const lam_json *conf = jget(d, r, "results", "confusion", LAM_JSON_ARRAY);
        if (classes && lam_report_check_classes_(d, classes, conf) && classes->n > 0) {
            S("<div class=\"pair\">\n<div><h3>Confusion matrix</h3>");
            if (!conf) {
                S("<p class=\"note\">Not recorded.</p>");
            } else if (classes->n <= LAM_REPORT_MAX_HEATMAP) {
                S("<p class=\"note\">Rows: the true class; columns: the predicted one.<br>Colour: the share of the "
                  "row's samples (hover a cell for its count).</p>\n");
                lam_report_heatmap_svg_(d->b, classes, conf);
            } else {
                P("<p class=\"note\">%s classes: too many to draw (the matrix is in results.json).</p>",
                  lam_report_int_(t, sizeof t, (int64_t)classes->n));
            }
            S("</div>\n");
            per_class(d, classes);
            S("</div>\n");
        } else if (classes && d->s == LAM_OK) {
            S("<p class=\"note\">The result holds no classes.</p>\n");
        }
    } else if (d->task && !strcmp(d->task, "regression")) {
        double mse = jnum(d, r, "results", "mse");
        S("<table class=\"kv\" id=\"regression\"><tbody>\n");
        kv(d, "mean squared error", m4(t, sizeof t, mse));
        kv(d, "root mean squared error", m4(t, sizeof t, sqrt(mse)));
        kv(d, "mean absolute error", m4(t, sizeof t, jnum(d, r, "results", "mae")));
        kv(d, "R\xc2\xb2", m4(t, sizeof t, jnum(d, r, "results", "r2")));
        kv(d, "loss", m4(t, sizeof t, jnum(d, r, "results", "loss")));
        S("</tbody></table>\n<p class=\"note\">Errors in the units of the targets, averaged over the targets.</p>\n");
    } else if (d->task && !strcmp(d->task, "language_model")) {
        S("<table class=\"kv\" id=\"language-model\"><tbody>\n");
        kv(d, "perplexity", m4(t, sizeof t, jnum(d, r, "results", "perplexity")));
        snprintf(u, sizeof u, "%s nats per token", m4(t, sizeof t, jnum(d, r, "results", "loss")));
        kv(d, "loss (cross-entropy)", u);
        kv(d, "next-token accuracy", m4(t, sizeof t, jnum(d, r, "results", "accuracy")));
        S("</tbody></table>\n");
    } else {
        S("<table class=\"kv\"><tbody>\n");
        kv(d, "loss", m4(t, sizeof t, jnum(d, r, "results", "loss")));
        S("</tbody></table>\n");
    }
    baselines(d);
    S("</section>\n");
}

/* ---- model, data, training ------------------------------------------------------------- */

/* a per-sample shape: "100", "128 × 128", "scalar" */
static void put_shape(doc *d, const lam_json *sh, const char *where)
{
    if (!sh || sh->n == 0) {
        S(sh ? "scalar" : "\xe2\x80\x94");
        return;
    }
    char t[48], k[80];
    for (size_t i = 0; i < sh->n; i++) {
        const lam_json *v = sh->items[i];
        if (v->type != LAM_JSON_NUMBER || !v->is_int || v->int_overflow || v->integer < 0) {
            snprintf(k, sizeof k, "%s[%zu]", where, i);
            bad(d, v, k, "", "a non-negative integer");
            return;
        }
        P("%s%s", i ? " \xc3\x97 " : "", lam_report_int_(t, sizeof t, v->integer));
    }
}

/* Open section `id` headed `title`, for the run summary's part of that name:
 * false, with a note and the section closed, when that part is missing. */
static bool open_part(doc *d, const char *id, const char *title, const lam_json *part)
{
    P("<section id=\"%s\">\n<h2>%s</h2>\n", id, title);
    if (part) return true;
    P("<p class=\"note\">The %s was not recorded.</p>\n</section>\n", id);
    return false;
}

void lam_report_model_(lam_report_doc *d)
{
    const lam_json *m = d->model;
    char t[64], u[160], where[48];
    if (!open_part(d, "model", "Model", m)) return;
    const lam_json *layers = jget(d, m, "model", "layers", LAM_JSON_ARRAY);
    S("<div class=\"pair\">\n");
    if (layers) {
        S("<div><table class=\"layers\" id=\"layers\"><thead><tr><th>layer</th><th>op</th><th class=\"n\">shape per "
          "sample</th><th class=\"n\">parameters</th></tr></thead><tbody>\n");
        for (size_t i = 0; i < layers->n; i++) {
            const lam_json *l = layers->items[i];
            snprintf(where, sizeof where, "model.layers[%zu]", i);
            if (l->type != LAM_JSON_OBJECT) {
                bad(d, l, where, "", "an object");
                break;
            }
            const lam_json *name = jget(d, l, where, "name", LAM_JSON_STRING);
            const lam_json *op = jget(d, l, where, "op", LAM_JSON_STRING);
            int64_t np = 0;
            bool hp = jcount(d, l, where, "params", &np);
            S("<tr><td class=\"name\"><code>");
            if (name) esc_json(d, name);
            S("</code></td><td>");
            if (op) esc_json(d, op);
            S("</td><td class=\"n\">");
            char sw[64];
            snprintf(sw, sizeof sw, "%s.shape", where);
            put_shape(d, jget(d, l, where, "shape", LAM_JSON_ARRAY), sw);
            P("</td><td class=\"n\">%s</td></tr>\n", hp && np ? lam_report_int_(t, sizeof t, np) : hp ? "" : "\xe2\x80\x94");
        }
        int64_t total = 0;
        if (jcount(d, m, "model", "parameters", &total))
            P("<tr class=\"avg first\"><td>total</td><td></td><td></td><td class=\"n\">%s</td></tr>\n",
              lam_report_int_(t, sizeof t, total));
        S("</tbody></table></div>\n");
    }
    S("<div><table class=\"kv\"><tbody>\n");
    const lam_json *in = jget(d, m, "model", "input", LAM_JSON_ARRAY);
    if (in) {
        P("<tr><th scope=\"row\">input per sample</th><td>");
        put_shape(d, in, "model.input");
        S(jbool(d, m, "model", "tokens") == 1 ? " tokens" : "");
        S("</td></tr>\n");
    }
    kv_str(d, "loss", jget(d, m, "model", "loss", LAM_JSON_STRING), false);
    kv_count(d, m, "model", "parameters", "parameters");
    kv_count(d, m, "model", "trainable", "trainable");
    double fl = jnum(d, m, "model", "flops_per_sample");
    if (isfinite(fl)) {
        char sfl[48];
        snprintf(u, sizeof u, "%sFLOP", lam_report_si_(sfl, sizeof sfl, fl));
        if (fabs(fl) < 1000) snprintf(u, sizeof u, "%s FLOP", lam_report_si_(sfl, sizeof sfl, fl));
        kv(d, "FLOPs per sample (forward)", u);
    }
    const lam_json *voc = jget(d, m, "model", "vocabulary", LAM_JSON_OBJECT);
    if (voc) {
        int64_t vs = 0;
        const lam_json *tok = jget(d, voc, "model.vocabulary", "tokenizer", LAM_JSON_STRING);
        if (jcount(d, voc, "model.vocabulary", "size", &vs)) {
            P("<tr><th scope=\"row\">vocabulary</th><td>%s tokens", lam_report_int_(t, sizeof t, vs));
            if (tok) {
                S(" (");
                esc_json(d, tok);
                S(" tokenizer)");
            }
            S("</td></tr>\n");
        }
    }
    const lam_json *mem = jget(d, m, "model", "memory", LAM_JSON_OBJECT);
    int64_t batch = 0;
    bool hb = jcount(d, m, "model", "batch", &batch);
    if (mem) {
        int64_t act = 0, un = 0, nr = 0, scr = 0, par = 0;
        char a[48], b[48];
        bool ha = jcount(d, mem, "model.memory", "activations", &act), hu = jcount(d, mem, "model.memory",
                                                                                   "activations_unplanned", &un);
        bool hr = jcount(d, mem, "model.memory", "activations_without_recompute", &nr);
        if (ha) {
            snprintf(u, sizeof u, "%s%s%s%s%s", lam_report_bytes_(a, sizeof a, (double)act), hb ? " for a batch of " : "",
                     hb ? lam_report_int_(t, sizeof t, batch) : "", hu ? " (" : "",
                     hu ? lam_report_bytes_(b, sizeof b, (double)un) : "");
            if (hu) snprintf(u + strlen(u), sizeof u - strlen(u), " without the plan)");
            kv(d, "activations (planned)", u);
        }
        if (hr && ha && nr != act) kv(d, "activations without recomputation", lam_report_bytes_(a, sizeof a, (double)nr));
        if (jcount(d, mem, "model.memory", "scratch", &scr)) kv(d, "scratch", lam_report_bytes_(a, sizeof a, (double)scr));
        if (jcount(d, mem, "model.memory", "parameters", &par))
            kv(d, "parameters (bytes)", lam_report_bytes_(a, sizeof a, (double)par));
    }
    S("</tbody></table></div>\n</div>\n</section>\n");
}

void lam_report_data_(lam_report_doc *d)
{
    const lam_json *dt = d->data;
    char t[48], u[128], p[48];
    if (!open_part(d, "data", "Data", dt)) return;
    S("<table class=\"kv\" id=\"data-table\"><tbody>\n");
    kv_str(d, "path", jget(d, dt, "data", "path", LAM_JSON_STRING), true);
    kv_str(d, "format", jget(d, dt, "data", "format", LAM_JSON_STRING), false);
    int64_t part[3] = {0, 0, 0}, total = 0;
    static const char *const key[3] = {"train", "validation", "test"};
    static const char *const label[3] = {"training part", "validation part", "test part"};
    bool has[3];
    for (int i = 0; i < 3; i++) has[i] = jcount(d, dt, "data", key[i], &part[i]), total += part[i];
    for (int i = 0; i < 3; i++) {
        if (!has[i]) continue;
        snprintf(u, sizeof u, "%s%s%s%s", lam_report_int_(t, sizeof t, part[i]), total > 0 ? " (" : "",
                 total > 0 ? lam_report_num_(p, sizeof p, "%.1f", 100.0 * (double)part[i] / (double)total) : "",
                 total > 0 ? "%)" : "");
        kv(d, label[i], u);
    }
    kv_count(d, dt, "data", "features", "features per sample");
    kv_count(d, dt, "data", "tokens_per_sample", "tokens per sample");
    kv_count(d, dt, "data", "classes", "classes");
    kv_count(d, dt, "data", "targets", "targets");
    kv_count(d, dt, "data", "vocabulary", "vocabulary");
    kv_count(d, dt, "data", "rows", d->lm ? "windows read" : "rows read");
    kv_count(d, dt, "data", "rows_dropped", "rows dropped (missing values)");
    kv_count(d, dt, "data", "values_imputed", "values imputed (column means)");
    S("</tbody></table>\n</section>\n");
}

void lam_report_training_(lam_report_doc *d)
{
    const lam_json *tr = d->training;
    char t[64], u[160], a[48];
    if (!open_part(d, "training", "Training", tr)) return;
    S("<div class=\"cols\">\n<div><h3>Settings</h3><table class=\"kv\" id=\"settings\"><tbody>\n");
    kv_str(d, "strategy", jget(d, tr, "training", "strategy", LAM_JSON_STRING), false);
    kv_str(d, "optimizer", jget(d, tr, "training", "optimizer", LAM_JSON_STRING), false);
    double lr = jnum(d, tr, "training", "lr");
    if (isfinite(lr)) kv(d, "learning rate", lam_report_sig_(t, sizeof t, lr, 4));
    int64_t batch = 0, acc = 1, v = 0;
    if (jcount(d, tr, "training", "batch", &batch)) {
        jcount(d, tr, "training", "accumulate", &acc);
        snprintf(u, sizeof u, "%s", lam_report_int_(t, sizeof t, batch));
        if (acc > 1)
            snprintf(u + strlen(u), sizeof u - strlen(u), " \xc3\x97 %s micro-batches accumulated",
                     lam_report_int_(a, sizeof a, acc));
        kv(d, "batch", u);
    }
    kv_count(d, tr, "training", "epochs", "epochs (planned)");
    kv_count(d, tr, "training", "steps_budget", "step budget");
    if (jcount(d, tr, "training", "seed", &v)) {
        snprintf(u, sizeof u, "%lld", (long long)v);
        kv(d, "seed", u);
    }
    kv_count(d, tr, "training", "threads", "threads");
    S("</tbody></table></div>\n<div><h3>Outcome and timings</h3><table class=\"kv\" id=\"timings\"><tbody>\n");
    kv_count(d, tr, "training", "epochs_run", "epochs run");
    kv_count(d, tr, "training", "best_epoch", "best epoch");
    kv_count(d, tr, "training", "steps", "optimiser steps");
    int se = jbool(d, tr, "training", "stopped_early"), in = jbool(d, tr, "training", "interrupted");
    if (se >= 0) kv(d, "stopped early", se ? "yes (the best weights restored)" : "no");
    if (in >= 0) kv(d, "interrupted", in ? "yes, by a signal" : "no");
    double fl = jnum(d, tr, "training", "final_loss"), f10 = jnum(d, tr, "training", "final_loss_last10");
    if (isfinite(fl)) kv(d, "final training loss (last step)", m4(t, sizeof t, fl));
    if (isfinite(f10)) kv(d, "mean of the last 10 steps", m4(t, sizeof t, f10));
    double sec = jnum(d, tr, "training", "seconds");
    if (isfinite(sec)) kv(d, "training time", lam_report_seconds_(t, sizeof t, sec));
    double spe = jnum(d, tr, "training", "seconds_per_epoch");
    if (isfinite(spe)) kv(d, "per epoch", lam_report_seconds_(t, sizeof t, spe));
    double med = jnum(d, tr, "training", "median_step_seconds");
    if (isfinite(med)) kv(d, "median step (after 5 warm-up steps)", lam_report_seconds_(t, sizeof t, med));
    double sps = jnum(d, tr, "training", "samples_per_second"), tps = jnum(d, tr, "training", "tokens_per_second");
    if (isfinite(sps)) kv(d, "samples per second", lam_report_si_(t, sizeof t, sps));
    if (isfinite(tps)) kv(d, "tokens per second", lam_report_si_(t, sizeof t, tps));
    double rss = jnum(d, d->root, "", "peak_rss_mib");
    if (isfinite(rss)) kv(d, "peak memory (resident set)", lam_report_bytes_(t, sizeof t, rss * 1048576.0));
    S("</tbody></table></div>\n</div>\n");
    const lam_json *stages = jget(d, tr, "training", "stages", LAM_JSON_ARRAY);
    if (stages && stages->n > 1) {
        S("<h3>Stages</h3><table class=\"stages\" id=\"stages\"><thead><tr><th class=\"n\">#</th><th>stage</th>"
          "<th class=\"n\">parameters trained</th><th class=\"n\">epochs</th><th class=\"n\">best epoch</th>"
          "<th class=\"n\">time</th><th class=\"n\">final loss</th></tr></thead><tbody>\n");
        char where[48], b[48], c[48];
        for (size_t i = 0; i < stages->n; i++) {
            const lam_json *st = stages->items[i];
            snprintf(where, sizeof where, "training.stages[%zu]", i);
            if (st->type != LAM_JSON_OBJECT) {
                bad(d, st, where, "", "an object");
                break;
            }
            const lam_json *nm = jget(d, st, where, "name", LAM_JSON_STRING);
            int64_t pu = 0, er = 0, be = 0;
            bool hp = jcount(d, st, where, "params_updated", &pu), he = jcount(d, st, where, "epochs_run", &er),
                 hb = jcount(d, st, where, "best_epoch", &be);
            P("<tr><td class=\"n\">%zu</td><td class=\"name\">", i + 1);
            if (nm) esc_json(d, nm);
            P("</td><td class=\"n\">%s</td><td class=\"n\">%s</td><td class=\"n\">%s</td><td class=\"n\">%s</td>"
              "<td class=\"n\">%s</td></tr>\n",
              hp ? lam_report_int_(t, sizeof t, pu) : "\xe2\x80\x94", he ? lam_report_int_(a, sizeof a, er) : "\xe2\x80\x94",
              hb && be ? lam_report_int_(b, sizeof b, be) : "\xe2\x80\x94",
              lam_report_seconds_(c, sizeof c, jnum(d, st, where, "seconds")),
              m4(u, sizeof u, jnum(d, st, where, "final_loss")));
        }
        S("</tbody></table>\n");
    }
    S("</section>\n");
}
