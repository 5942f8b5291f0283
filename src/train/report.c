/* The HTML run report (lam_run_report_html): RUN_DIR/report.html made from
 * the run folder's results.json (the run summary, lam_run_summary_json) and
 * metrics.csv (the per-epoch log).  One self-contained HTML5 file: inline
 * CSS, inline SVG, no script and nothing fetched, light and dark palettes,
 * printable.  This file reads results.json, checks it (the top, and every
 * value used, through the accessors here: the message names the key's path
 * and byte offset), and writes the document: its style sheet, head,
 * command, summary cards and footer; report_sections.c the sections,
 * report_svg.c the charts and the heat map, report_text.c escaping and
 * numbers, report_log.c reads metrics.csv.  The output depends only on the
 * two files: no clock, no locale. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "lamina/lamina.h"
#include "train/report_internal.h"


/* Largest results.json read (its JSON tree takes up to 40 times as much). */
#define MAX_SUMMARY ((size_t)64 << 20)

/* ---- reading the summary: every value checked where it is used ------------------ */

void lam_report_bad_(lam_report_doc *d, const lam_json *v, const char *where, const char *key, const char *want)
{
    if (d->s != LAM_OK) return;
    char what[64], num[48];
    if (v->type == LAM_JSON_NUMBER)
        snprintf(what, sizeof what, "the number %s", lam_report_num_(num, sizeof num, "%.6g", v->number));
    else
        snprintf(what, sizeof what, "%s%s",
                 v->type == LAM_JSON_NULL ? "" : v->type == LAM_JSON_ARRAY || v->type == LAM_JSON_OBJECT ? "an " : "a ",
                 lam_json_type_name(v->type));
    d->s = lam_fail(LAM_ERR_FORMAT,
                    "%s: \"%s%s%s\" is %s (byte %zu), expected %s; hint: lamina train writes this file: train again, "
                    "or correct the value",
                    d->file, where, *where && *key ? "." : "", key, what, v->offset, want);
}

/* Member key of obj (NULL: none) if it has type t; NULL when absent or null,
 * and when of another type (then the error is recorded). */
const lam_json *lam_report_get_(lam_report_doc *d, const lam_json *obj, const char *where, const char *key, lam_json_type t)
{
    const lam_json *v = lam_json_get(obj, key);
    if (!v || v->type == LAM_JSON_NULL) return NULL;
    if (v->type != t) {
        bad(d, v, where, key, t == LAM_JSON_NUMBER ? "a number" : t == LAM_JSON_STRING ? "a string"
                              : t == LAM_JSON_OBJECT ? "an object" : t == LAM_JSON_ARRAY ? "an array" : "a boolean");
        return NULL;
    }
    return v;
}

/* A number; NAN when absent or null (JSON's spelling of NaN). */
double lam_report_get_num_(lam_report_doc *d, const lam_json *obj, const char *where, const char *key)
{
    const lam_json *v = jget(d, obj, where, key, LAM_JSON_NUMBER);
    return v ? v->number : NAN;
}

/* A count: an integer in [0, 2^53]; false when absent. */
bool lam_report_get_count_(lam_report_doc *d, const lam_json *obj, const char *where, const char *key, int64_t *out)
{
    const lam_json *v = jget(d, obj, where, key, LAM_JSON_NUMBER);
    if (!v) return false;
    if (!v->is_int || v->int_overflow || v->integer < 0 || v->integer > ((int64_t)1 << 53)) {
        bad(d, v, where, key, "a non-negative integer");
        return false;
    }
    *out = v->integer;
    return true;
}

/* A boolean: 1, 0, or -1 when absent. */
int lam_report_get_bool_(lam_report_doc *d, const lam_json *obj, const char *where, const char *key)
{
    const lam_json *v = jget(d, obj, where, key, LAM_JSON_BOOL);
    return v ? v->boolean : -1;
}

bool lam_report_get_is_(lam_report_doc *d, const lam_json *obj, const char *where, const char *key, const char *want)
{
    const lam_json *v = jget(d, obj, where, key, LAM_JSON_STRING);
    return v && v->len == strlen(want) && !memcmp(v->str, want, v->len);
}

/* The classes and the confusion matrix of a classification result, checked
 * whole before anything is drawn from them: K objects with a string name,
 * and K rows of K counts. */
bool lam_report_check_classes_(lam_report_doc *d, const lam_json *classes, const lam_json *conf)
{
    char where[64];
    for (size_t i = 0; i < classes->n && d->s == LAM_OK; i++) {
        const lam_json *c = classes->items[i];
        snprintf(where, sizeof where, "results.classes[%zu]", i);
        if (c->type != LAM_JSON_OBJECT) bad(d, c, where, "", "an object");
        else if (!jget(d, c, where, "name", LAM_JSON_STRING) && d->s == LAM_OK)
            d->s = lam_fail(LAM_ERR_FORMAT, "%s: \"%s\" has no \"name\" (byte %zu)", d->file, where, c->offset);
    }
    if (!conf || d->s != LAM_OK) return d->s == LAM_OK;
    if (conf->n != classes->n) {
        d->s = lam_fail(LAM_ERR_FORMAT,
                        "%s: \"results.confusion\" has %zu rows but \"results.classes\" %zu classes (byte %zu)",
                        d->file, conf->n, classes->n, conf->offset);
        return false;
    }
    for (size_t r = 0; r < conf->n && d->s == LAM_OK; r++) {
        const lam_json *row = conf->items[r];
        snprintf(where, sizeof where, "results.confusion[%zu]", r);
        if (row->type != LAM_JSON_ARRAY || row->n != conf->n) {
            d->s = lam_fail(LAM_ERR_FORMAT, "%s: \"%s\" (byte %zu) is not an array of %zu counts", d->file, where,
                            row->offset, conf->n);
            break;
        }
        for (size_t c = 0; c < row->n; c++) {
            const lam_json *v = row->items[c];
            if (v->type != LAM_JSON_NUMBER || !v->is_int || v->int_overflow || v->integer < 0 ||
                v->integer > ((int64_t)1 << 53)) {
                snprintf(where, sizeof where, "results.confusion[%zu][%zu]", r, c);
                bad(d, v, where, "", "a non-negative integer");
                break;
            }
        }
    }
    return d->s == LAM_OK;
}

/* ---- output helpers --------------------------------------------------------------- */

#define P(...) lam_report_printf_(d->b, __VA_ARGS__)
#define S(s) lam_report_puts_(d->b, (s))

static void esc_json(doc *d, const lam_json *v) { lam_report_esc_(d->b, v->str, v->len); }

void lam_report_kv_(lam_report_doc *d, const char *k, const char *v)
{
    P("<tr><th scope=\"row\">%s</th><td>%s</td></tr>", k, v);
}

void lam_report_kv_str_(lam_report_doc *d, const char *k, const lam_json *v, bool code)
{
    if (!v) return;
    P("<tr><th scope=\"row\">%s</th><td>%s", k, code ? "<code>" : "");
    esc_json(d, v);
    P("%s</td></tr>", code ? "</code>" : "");
}

void lam_report_kv_count_(lam_report_doc *d, const lam_json *obj, const char *where, const char *key, const char *label)
{
    int64_t n;
    char t[48];
    if (jcount(d, obj, where, key, &n)) kv(d, label, lam_report_int_(t, sizeof t, n));
}

static void card(doc *d, const char *label, const char *value, const char *sub)
{
    P("<div class=\"card\"><div class=\"k\">%s</div><div class=\"v\">%s</div>", label, value);
    if (sub && *sub) P("<div class=\"s\">%s</div>", sub);
    S("</div>");
}

/* a metric to 4 significant digits */
static const char *m4(char *t, size_t n, double x) { return lam_report_sig_(t, n, x, 4); }

/* ---- the document ------------------------------------------------------------------ */

static const char *const css =
    ":root{color-scheme:light dark;--bg:#fff;--fg:#1f2328;--muted:#5b6670;--line:#d9dee3;--soft:#f6f8fa;"
    "--accent:#0a5bc4;--c1:#1f6feb;--c2:#e0620d;--c3:#1a7f37;--heat:#0b4aa8;--cell:#eef1f4;--warn-bg:#fff3e0;"
    "--warn:#8a4600}\n"
    "@media (prefers-color-scheme:dark){:root{--bg:#0e1116;--fg:#e6e9ec;--muted:#9ba5ae;--line:#2b3139;"
    "--soft:#161b22;--accent:#5ca7ff;--c1:#58a6ff;--c2:#f0883e;--c3:#3fb950;--heat:#4a96ff;--cell:#1b2129;"
    "--warn-bg:#2c2214;--warn:#f2b661}}\n"
    "*{box-sizing:border-box}\n"
    "body{margin:0;background:var(--bg);color:var(--fg);font:14px/1.5 system-ui,-apple-system,\"Segoe UI\",Roboto,"
    "\"Helvetica Neue\",Arial,sans-serif}\n"
    "main{max-width:1160px;margin:0 auto;padding:28px 32px 40px}\n"
    "h1{font-size:24px;line-height:1.25;margin:2px 0 6px;font-weight:650;letter-spacing:-.01em;word-break:break-word}\n"
    "h2{font-size:17px;margin:0 0 14px;padding-bottom:6px;border-bottom:1px solid var(--line);font-weight:620}\n"
    "h3{font-size:14px;margin:20px 0 8px;font-weight:620}\n"
    "section{margin-top:34px}\n"
    "code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,\"Liberation Mono\",monospace;font-size:12.5px}\n"
    ".kicker{text-transform:uppercase;letter-spacing:.08em;font-size:11px;color:var(--muted);font-weight:650}\n"
    ".meta{color:var(--muted);margin:0}\n"
    "nav{margin:14px 0 0;display:flex;flex-wrap:wrap;gap:4px 16px;font-size:13px}\n"
    "nav a{color:var(--accent);text-decoration:none}\n"
    "pre.cmd{background:var(--soft);border:1px solid var(--line);border-radius:6px;padding:10px 12px;margin:0;"
    "white-space:pre-wrap;word-break:break-all}\n"
    "pre.cmd code{user-select:all}\n"
    ".cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(128px,1fr));gap:10px;margin-top:18px}\n"
    ".card{border:1px solid var(--line);border-radius:8px;padding:10px 12px;background:var(--soft)}\n"
    ".card .k{font-size:12px;color:var(--muted)}\n"
    ".card .v{font-size:21px;font-weight:620;font-variant-numeric:tabular-nums;margin-top:1px;white-space:nowrap}\n"
    ".card .s{font-size:12px;color:var(--muted)}\n"
    ".charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(430px,1fr));gap:16px}\n"
    "figure{margin:0;border:1px solid var(--line);border-radius:8px;padding:10px 12px 4px}\n"
    "figcaption{font-weight:620;font-size:13px}\n"
    "svg{overflow:visible}\n"
    "svg.chart{width:100%;height:auto;display:block}\n"
    "svg.heat{max-width:100%;height:auto;display:block}\n"
    "svg text{fill:var(--fg);font-size:11px;font-family:inherit}\n"
    "svg .tk{fill:var(--muted);font-size:10.5px;font-variant-numeric:tabular-nums}\n"
    "svg .al{fill:var(--muted);font-size:11.5px}\n"
    "svg .gr{stroke:var(--line);stroke-width:1}\n"
    "svg .ax{stroke:var(--muted);stroke-width:1}\n"
    "svg polyline{fill:none;stroke-width:2;stroke-linejoin:round;stroke-linecap:round}\n"
    "svg .c1{stroke:var(--c1)}svg .c2{stroke:var(--c2)}svg .c3{stroke:var(--c3)}\n"
    "svg circle.c1{fill:var(--c1)}svg circle.c2{fill:var(--c2)}svg circle.c3{fill:var(--c3)}\n"
    "svg .lg line{stroke-width:2.5}\n"
    "svg .stage line{stroke:var(--muted);stroke-dasharray:4 3}\n"
    "svg .stage text,svg .best text{fill:var(--muted);font-size:10px}\n"
    "svg .best line{stroke:var(--c3);stroke-width:1.5;stroke-dasharray:2 3}\n"
    "svg.heat .cm{fill:var(--heat);stroke:var(--bg);stroke-width:1}\n"
    "svg.heat .cmbg{fill:var(--cell)}\n"
    "svg.heat .cv{text-anchor:middle;font-variant-numeric:tabular-nums}\n"
    "svg.heat .cv.hi{fill:#fff}\n"
    "svg.heat .cv.z{fill:var(--muted);opacity:.5}\n"
    "svg.heat .gs{stop-color:var(--heat)}\n"
    "table{border-collapse:collapse;font-variant-numeric:tabular-nums}\n"
    "th,td{padding:5px 12px 5px 0;border-bottom:1px solid var(--line);text-align:left;vertical-align:baseline}\n"
    "thead th{font-size:12px;color:var(--muted);font-weight:600;border-bottom:1.5px solid var(--muted)}\n"
    "td.n,th.n{text-align:right;white-space:nowrap;padding-left:12px}\n"
    "td.name{word-break:break-word;max-width:280px}\n"
    "tr.avg td{font-weight:600}\n"
    "tr.avg.first td{border-top:1.5px solid var(--muted)}\n"
    "table.kv th{font-weight:500;color:var(--muted);padding-right:18px;white-space:nowrap}\n"
    "table.kv td{word-break:break-word}\n"
    "span.f1bar{display:inline-block;width:40px;height:7px;margin-left:8px;border-radius:2px;background:var(--cell);"
    "vertical-align:middle;overflow:hidden}\n"
    "span.f1bar>span{display:block;height:100%;background:var(--c1);opacity:.8}\n"
    ".pair{display:flex;flex-wrap:wrap;gap:18px 36px;align-items:flex-start}\n"
    ".pair>div{min-width:0;max-width:100%}\n"
    ".cols{display:grid;grid-template-columns:repeat(auto-fit,minmax(320px,1fr));gap:8px 40px;align-items:start}\n"
    ".note{color:var(--muted);font-size:13px;margin:6px 0}\n"
    ".warn{background:var(--warn-bg);color:var(--warn);border-radius:6px;padding:8px 12px;margin:14px 0 0}\n"
    "footer{margin-top:40px;color:var(--muted);font-size:12px;border-top:1px solid var(--line);padding-top:10px}\n"
    "@media print{:root{--bg:#fff;--fg:#000;--muted:#4a4f55;--line:#cfd4d9;--soft:#fff;--c1:#1f6feb;--c2:#e0620d;"
    "--c3:#1a7f37;--heat:#0b4aa8;--cell:#eef1f4}nav{display:none}main{max-width:none;padding:0}"
    "section,figure,.card,tr{break-inside:avoid}h2{break-after:avoid}"
    "svg,.f1bar,.card{print-color-adjust:exact;-webkit-print-color-adjust:exact}"
    ".charts{grid-template-columns:1fr 1fr}}\n";

/* "2026-12-06T17:44:03Z" as "2026-12-06 17:44:03 UTC"; other forms as they are */
static void put_time(doc *d, const lam_json *t)
{
    if (t->len == 20 && t->str[10] == 'T' && t->str[19] == 'Z') {
        lam_report_esc_(d->b, t->str, 10);
        S(" ");
        lam_report_esc_(d->b, t->str + 11, 8);
        S(" UTC");
    } else {
        esc_json(d, t);
    }
}

static void header(doc *d)
{
    const lam_json *mf = jget(d, d->model, "model", "model_file", LAM_JSON_STRING);
    const lam_json *tm = jget(d, d->root, "", "time", LAM_JSON_STRING);
    const lam_json *ver = jget(d, d->root, "", "lamina", LAM_JSON_STRING);
    const lam_json *rd = jget(d, d->root, "", "run_dir", LAM_JSON_STRING);
    S("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      "<meta name=\"color-scheme\" content=\"light dark\">\n<title>Run report");
    if (mf) {
        S(": ");
        esc_json(d, mf);
    }
    P("</title>\n<style>\n%s</style>\n</head>\n<body>\n<main>\n<header>\n<div class=\"kicker\">Lamina training run</div>\n"
      "<h1>",
      css);
    if (mf) esc_json(d, mf);
    else S("(model file not recorded)");
    S("</h1>\n<p class=\"meta\">");
    const char *sep = "";
    if (tm) {
        put_time(d, tm);
        sep = " \xc2\xb7 ";
    }
    if (ver) {
        P("%slamina ", sep);
        esc_json(d, ver);
        sep = " \xc2\xb7 ";
    }
    if (rd) {
        P("%srun folder <code>", sep);
        esc_json(d, rd);
        S("</code>");
    }
    S("</p>\n");
    if (jbool(d, d->training, "training", "interrupted") == 1)
        S("<p class=\"warn\">Training was interrupted by a signal before it finished: these figures are those of "
          "the state it stopped in.</p>\n");
    S("<nav><a href=\"#reproduce\">Reproduce</a><a href=\"#curves\">Curves</a><a href=\"#evaluation\">Evaluation</a>"
      "<a href=\"#model\">Model</a><a href=\"#data\">Data</a><a href=\"#training\">Training</a></nav>\n</header>\n");
}

static void reproduce(doc *d)
{
    const lam_json *cmd = jget(d, d->root, "", "command", LAM_JSON_STRING);
    S("<section id=\"reproduce\">\n<h2>Reproduce</h2>\n");
    if (cmd) {
        S("<pre class=\"cmd\"><code>");
        esc_json(d, cmd);
        S("</code></pre>\n<p class=\"note\">Run from the folder it was run from; the same seed gives the same weights "
          "bit for bit, for any thread count.</p>\n");
    } else {
        S("<p class=\"note\">The command line was not recorded.</p>\n");
    }
    S("</section>\n");
}

/* the cards at the top: the headline metric(s), then the run's size and cost */
static void cards(doc *d)
{
    char v[64], s[160], t[64];
    const lam_json *r = d->results, *tr = d->training;
    const char *split = jstr_is(d, r, "results", "split", "training") ? "Training-set" : "Test";
    S("<div class=\"cards\">\n");
    if (d->task && !strcmp(d->task, "classification")) {
        int64_t n = 0;
        bool hn = jcount(d, r, "results", "n", &n);
        snprintf(s, sizeof s, "%s%s", hn ? lam_report_int_(t, sizeof t, n) : "", hn ? " samples" : "");
        snprintf(v, sizeof v, "%s accuracy", split);
        card(d, v, m4(t, sizeof t, jnum(d, r, "results", "accuracy")), s);
        card(d, "Macro F1", m4(t, sizeof t, jnum(d, r, "results", "macro_f1")), "mean over the classes");
    } else if (d->task && !strcmp(d->task, "regression")) {
        double mse = jnum(d, r, "results", "mse");
        snprintf(s, sizeof s, "RMSE %s", m4(t, sizeof t, sqrt(mse)));
        snprintf(v, sizeof v, "%s MSE", split);
        card(d, v, m4(t, sizeof t, mse), s);
        card(d, "MAE", m4(t, sizeof t, jnum(d, r, "results", "mae")), "mean absolute error");
        card(d, "R\xc2\xb2", m4(t, sizeof t, jnum(d, r, "results", "r2")), "1 = perfect, 0 = the mean");
    } else if (d->task && !strcmp(d->task, "language_model")) {
        snprintf(v, sizeof v, "%s perplexity", split);
        snprintf(s, sizeof s, "loss %s", m4(t, sizeof t, jnum(d, r, "results", "loss")));
        card(d, v, m4(t, sizeof t, jnum(d, r, "results", "perplexity")), s);
        card(d, "Next-token accuracy", m4(t, sizeof t, jnum(d, r, "results", "accuracy")), "");
    } else if (d->lm) { /* trained on all its text: the training loss is what there is */
        double l10 = jnum(d, tr, "training", "final_loss_last10");
        snprintf(s, sizeof s, "exp of the loss, last 10 steps");
        card(d, "Training perplexity", m4(t, sizeof t, exp(l10)), s);
        snprintf(s, sizeof s, "mean of the last 10 steps");
        card(d, "Training loss", m4(t, sizeof t, l10), s);
    } else if (r) {
        card(d, "Loss", m4(t, sizeof t, jnum(d, r, "results", "loss")), "");
    }
    int64_t epochs = 0, steps = 0, best = 0;
    bool he = jcount(d, tr, "training", "epochs_run", &epochs), hs = jcount(d, tr, "training", "steps", &steps);
    if (he && epochs == 0 && hs) { /* a step budget ended training inside its first epoch */
        card(d, "Optimiser steps", lam_report_int_(v, sizeof v, steps), "within the first epoch");
    } else {
        s[0] = 0;
        if (hs) snprintf(s, sizeof s, "%s steps", lam_report_int_(t, sizeof t, steps));
        card(d, "Epochs", he ? lam_report_int_(v, sizeof v, epochs) : "\xe2\x80\x94", s);
    }
    const lam_json *stages = jget(d, tr, "training", "stages", LAM_JSON_ARRAY);
    int sb = jbool(d, tr, "training", "stopped_early");
    snprintf(s, sizeof s, "%s%s", stages && stages->n > 1 ? "of the last stage" : "",
             sb == 1 ? (stages && stages->n > 1 ? "; stopped early" : "stopped early, its weights kept") : "");
    if (jcount(d, tr, "training", "best_epoch", &best) && best > 0)
        card(d, "Best epoch", lam_report_int_(v, sizeof v, best), s);
    double sec = jnum(d, tr, "training", "seconds"), spe = jnum(d, tr, "training", "seconds_per_epoch");
    s[0] = 0;
    if (isfinite(spe) && he && epochs > 0) snprintf(s, sizeof s, "%s / epoch", lam_report_seconds_(t, sizeof t, spe));
    card(d, "Training time", lam_report_seconds_(v, sizeof v, sec), s);
    double sps = jnum(d, tr, "training", "samples_per_second"), tps = jnum(d, tr, "training", "tokens_per_second");
    double med = jnum(d, tr, "training", "median_step_seconds");
    s[0] = 0;
    if (isfinite(med)) snprintf(s, sizeof s, "%s / step", lam_report_seconds_(t, sizeof t, med));
    if (isfinite(tps)) card(d, "Tokens / second", lam_report_si_(v, sizeof v, tps), s);
    else card(d, "Samples / second", lam_report_si_(v, sizeof v, sps), s);
    double rss = jnum(d, d->root, "", "peak_rss_mib");
    card(d, "Peak memory", lam_report_bytes_(v, sizeof v, rss * 1048576.0), isfinite(rss) ? "resident set" : "not measured");
    S("</div>\n");
}

static void footer(doc *d)
{
    S("<footer>Made by <code>lamina report</code> from the run folder's results.json and metrics.csv; "
      "self-contained (no scripts, nothing fetched).</footer>\n</main>\n</body>\n</html>\n");
}

/* ---- files ------------------------------------------------------------------------- */

/* The whole of results.json into a lam_malloc'd buffer. */
static lam_status read_summary(const char *path, char **text, size_t *len)
{
    *text = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return lam_fail(LAM_ERR_IO, "%s: cannot open the run summary: %s; hint: lamina train writes results.json in "
                                    "its run folder (--out DIR, default runs/NAME)",
                        path, strerror(errno));
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        fclose(f);
        return lam_fail(LAM_ERR_IO, "%s: the run summary is not a regular file", path);
    }
    if ((uint64_t)sb.st_size > MAX_SUMMARY) {
        fclose(f);
        return lam_fail(LAM_ERR_FORMAT, "%s: %lld bytes, larger than a run summary can be (%d MiB)", path,
                        (long long)sb.st_size, (int)(MAX_SUMMARY >> 20));
    }
    char *buf = lam_malloc((size_t)sb.st_size + 1);
    if (!buf) {
        fclose(f);
        return LAM_ERR_NOMEM;
    }
    size_t n = fread(buf, 1, (size_t)sb.st_size, f);
    int err = ferror(f);
    fclose(f);
    if (err) {
        lam_free(buf);
        return lam_fail(LAM_ERR_IO, "%s: read error", path);
    }
    *text = buf;
    *len = n;
    return LAM_OK;
}

/* The top of the document: an object with "format": "lamina-run" and "version": 1. */
static lam_status check_root(doc *d)
{
    const lam_json *r = d->root;
    if (r->type != LAM_JSON_OBJECT)
        return lam_fail(LAM_ERR_FORMAT, "%s: not a run summary: the document is %s, expected an object with "
                                        "\"format\": \"lamina-run\"",
                        d->file, lam_json_type_name(r->type));
    const lam_json *f = lam_json_get(r, "format");
    if (!f || f->type != LAM_JSON_STRING || f->len != 10 || memcmp(f->str, "lamina-run", 10) != 0)
        return lam_fail(LAM_ERR_FORMAT, "%s: not a run summary: %s, expected \"format\": \"lamina-run\"", d->file,
                        !f ? "no key \"format\"" : f->type != LAM_JSON_STRING ? "\"format\" is not a string"
                                                                              : "\"format\" has another value");
    const lam_json *v = lam_json_get(r, "version");
    if (!v || v->type != LAM_JSON_NUMBER || !v->is_int || v->int_overflow || v->integer < 1)
        return lam_fail(LAM_ERR_FORMAT, "%s: \"version\" is %s, expected the integer 1", d->file,
                        v ? lam_json_type_name(v->type) : "missing");
    if (v->integer != 1)
        return lam_fail(LAM_ERR_UNSUPPORTED, "%s: run summary version %lld; this lamina reads version 1 (hint: a newer "
                                             "lamina wrote it: use that one)",
                        d->file, (long long)v->integer);
    d->model = jget(d, r, "", "model", LAM_JSON_OBJECT);
    d->data = jget(d, r, "", "data", LAM_JSON_OBJECT);
    d->training = jget(d, r, "", "training", LAM_JSON_OBJECT);
    d->results = jget(d, r, "", "results", LAM_JSON_OBJECT);
    d->baselines = jget(d, r, "", "baselines", LAM_JSON_OBJECT);
    const lam_json *task = jget(d, d->results, "results", "task", LAM_JSON_STRING);
    d->task = task ? task->str : NULL;
    /* next-token prediction: token input, cross-entropy, and no classes in the data */
    d->lm = (d->task && !strcmp(d->task, "language_model")) ||
            (jbool(d, d->model, "model", "tokens") == 1 && jstr_is(d, d->model, "model", "loss", "cross_entropy") &&
             d->data && !lam_json_get(d->data, "classes"));
    return d->s;
}

lam_status lam_run_report_html(const char *run_dir)
{
    if (!run_dir || !*run_dir) return lam_fail(LAM_ERR_ARG, "lam_run_report_html: no run folder given");
    size_t n = strlen(run_dir);
    bool slash = run_dir[n - 1] == '/';
    size_t cap = n + 16;
    char *paths = lam_malloc(3 * cap);
    if (!paths) return LAM_ERR_NOMEM;
    char *summary = paths, *csv = paths + cap, *html = paths + 2 * cap;
    snprintf(summary, cap, "%s%sresults.json", run_dir, slash ? "" : "/");
    snprintf(csv, cap, "%s%smetrics.csv", run_dir, slash ? "" : "/");
    snprintf(html, cap, "%s%sreport.html", run_dir, slash ? "" : "/");
    char *text = NULL;
    size_t len = 0;
    lam_arena *arena = NULL;
    lam_report_log log = {0};
    lam_json_buf out = {0};
    doc d = {.file = summary, .b = &out, .log = &log};
    lam_status s = read_summary(summary, &text, &len);
    if (s == LAM_OK && !(arena = lam_arena_new(len < 4096 ? 4096 : len))) s = LAM_ERR_NOMEM;
    if (s == LAM_OK) {
        lam_json_error je;
        lam_json *root = NULL;
        s = lam_json_parse(arena, text, len, NULL, &root, &je);
        d.root = root;
        if (s == LAM_ERR_FORMAT)
            s = lam_fail(LAM_ERR_FORMAT, "%s: malformed JSON: %s at byte %zu", summary, je.msg, je.offset);
    }
    if (s == LAM_OK) s = check_root(&d);
    if (s == LAM_OK) s = lam_report_log_read_(csv, &log);
    if (s == LAM_OK) {
        header(&d);
        reproduce(&d);
        cards(&d);
        lam_report_curves_(&d);
        lam_report_evaluation_(&d);
        lam_report_model_(&d);
        lam_report_data_(&d);
        lam_report_training_(&d);
        footer(&d);
        s = d.s != LAM_OK ? d.s : out.status;
    }
    if (s == LAM_OK) s = lam_write_file_atomic(html, out.data, out.len);
    lam_json_buf_free(&out);
    lam_report_log_free_(&log);
    lam_arena_free(arena);
    lam_free(text);
    lam_free(paths);
    return s;
}
