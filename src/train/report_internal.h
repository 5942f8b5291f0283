/* Internal to the HTML run report (lam_run_report_html): the pieces shared by
 * report.c (reading and checking results.json, the document, its head and
 * summary cards), report_sections.c (curves, evaluation, model, data,
 * training), report_text.c (HTML output: escaping, numbers for people),
 * report_log.c (reading metrics.csv) and report_svg.c (the line charts and
 * the confusion-matrix heat map).  Output goes into a lam_json_buf, whose
 * sticky status turns the first allocation failure into the result. */
#ifndef LAMINA_TRAIN_REPORT_INTERNAL_H
#define LAMINA_TRAIN_REPORT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "io/json.h"
#include "lamina/base.h"

/* ---- HTML output (report_text.c) ------------------------------------------ */

/* Append text verbatim (markup). */
void lam_report_puts_(lam_json_buf *b, const char *s);
/* Append printf-formatted markup.  Only for markup and numbers made by the
 * formatters below: never pass strings from the files (use _esc), nor
 * floating conversions (their decimal point follows the locale: use
 * lam_report_num_). */
void lam_report_printf_(lam_json_buf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Append s[0..n) as HTML text or attribute value: & < > " ' as entities,
 * control characters (and NUL) other than tab and line breaks as U+FFFD.
 * s is valid UTF-8 (the JSON parser checked it). */
void lam_report_esc_(lam_json_buf *b, const char *s, size_t n);
/* The same for a NUL-terminated string. */
void lam_report_escz_(lam_json_buf *b, const char *s);
/* Like _esc but at most max_chars characters (UTF-8 code points), the last
 * one an ellipsis when cut (axis labels). */
void lam_report_esc_cut_(lam_json_buf *b, const char *s, size_t n, size_t max_chars);
/* Code points of s[0..n) (UTF-8). */
size_t lam_report_chars_(const char *s, size_t n);

/* Number formatting into out (cap bytes, at least 48), which is returned.
 * Every result is independent of the C locale ('.' as the decimal point),
 * and NaN or infinity is an em dash. */
/* printf of one double with one floating conversion ("%.1f", "%.3e"), the
 * decimal point forced to '.' */
const char *lam_report_num_(char *out, size_t cap, const char *fmt, double x);
/* sig significant digits, trailing zeros kept (0.9750, 8.609, 2.337);
 * |x| >= 10^sig as a grouped integer (12,346); below 1e-3 as 5.363e-4 */
const char *lam_report_sig_(char *out, size_t cap, double x, int sig);
/* an integer with thousands separators: 17,610 */
const char *lam_report_int_(char *out, size_t cap, int64_t x);
/* bytes: 512 B, 59.44 KiB, 79.94 MiB, 1.250 GiB */
const char *lam_report_bytes_(char *out, size_t cap, double bytes);
/* seconds: 33.46 µs, 50.15 ms, 14.71 s, 12 min 5 s, 2 h 03 min */
const char *lam_report_seconds_(char *out, size_t cap, double s);
/* SI prefixes, 4 significant digits: 950, 35.25 k, 223.6 M, 1.200 G */
const char *lam_report_si_(char *out, size_t cap, double x);

/* ---- the per-epoch log (report_log.c) ---------------------------------------- */

/* One row of metrics.csv; NAN where the value does not apply. */
typedef struct lam_report_epoch {
    int stage, epoch;
    double train_loss, train_acc, val_loss, val_acc, lr, seconds;
} lam_report_epoch;

typedef struct lam_report_log {
    bool found;               /* metrics.csv exists */
    bool bad_header;          /* ... but does not start with the expected header */
    bool too_large;           /* ... or is larger than LAM_REPORT_MAX_LOG (not read) */
    lam_report_epoch *rows;   /* the rows read, in file order (lam_malloc) */
    size_t n, cap;
    int64_t bad_rows;         /* rows left out (malformed) */
    int64_t first_bad_line;   /* 1-based line of the first one */
    char why[160];            /* what was wrong with it, or with the header (printable ASCII) */
} lam_report_log;

/* Largest metrics.csv read (64 MiB: about a million epochs). */
#define LAM_REPORT_MAX_LOG ((size_t)64 << 20)

/* Read path into *log (zeroed first).  A missing file is not an error
 * (found false); a wrong header or malformed rows are recorded in the log,
 * not errors: the report says so.  Errors: LAM_ERR_IO (the file exists but
 * cannot be read), LAM_ERR_NOMEM.  Free with lam_report_log_free_. */
lam_status lam_report_log_read_(const char *path, lam_report_log *log);
void lam_report_log_free_(lam_report_log *log);

/* ---- SVG (report_svg.c) -------------------------------------------------------- */

/* One curve of a chart: y values of the chart's points, read as
 * *(const double *)((const char *)y + i * stride); NAN is a gap. */
typedef struct lam_report_line {
    const char *label;        /* legend text (escaped) */
    const char *cls;          /* CSS class giving its colour: "c1", "c2", "c3" */
    const double *y;
    size_t stride;
    double scale;             /* values are multiplied by this (0: 1) */
} lam_report_line;

/* A vertical marker at point `at` (0-based): a stage boundary (dashed,
 * before the point; at 0 only its label), or the best epoch (dotted,
 * through the point).  label: short text drawn, cut to the room it has;
 * title: the tooltip; either may be NULL (both escaped). */
typedef struct lam_report_mark {
    int at;
    bool best;
    const char *label;
    size_t label_len;
    const char *title;
    size_t title_len;
} lam_report_mark;

#define LAM_REPORT_MAX_MARKS 66

typedef struct lam_report_chart {
    const char *id;           /* element id and data-chart attribute (markup-free) */
    const char *ylabel, *xlabel; /* axis titles (markup-free) */
    int n;                    /* points: x = 1..n */
    const bool *seg_start;    /* [n]: point i starts a new segment (stage), or NULL */
    lam_report_line line[3];
    int nlines;
    bool allow_log;           /* a log scale when the positive values span a factor of 30 or more */
    bool zero_based;          /* a linear axis includes 0 (times, counts) */
    lam_report_mark mark[LAM_REPORT_MAX_MARKS];
    int nmarks;
} lam_report_chart;

/* Points drawn per curve at most: longer logs are thinned to every k-th
 * epoch, each segment's first and last kept. */
#define LAM_REPORT_MAX_POINTS 4000

/* An inline SVG line chart: axes with ticks and labels, grid, legend, one
 * <polyline data-series=LABEL> per curve and segment (its points the
 * segment's finite values, thinned beyond LAM_REPORT_MAX_POINTS), markers
 * with tooltips when there are 60 points or fewer (and for isolated
 * points), the vertical marks. */
void lam_report_chart_svg_(lam_json_buf *b, const lam_report_chart *c);

/* Largest confusion matrix drawn as a heat map. */
#define LAM_REPORT_MAX_HEATMAP 150

/* The confusion matrix as an SVG heat map: K x K <rect class="cm"> cells,
 * colour the count's share of its row (true class), counts in the cells
 * while they fit, a <title> tooltip on every cell, class names on both axes
 * (cut to 18 characters), a colour bar.  classes: the checked array of K
 * objects with a string "name"; confusion: the checked K x K array of
 * arrays of non-negative integers (rows: true class). */
void lam_report_heatmap_svg_(lam_json_buf *b, const lam_json *classes, const lam_json *confusion);

/* ---- the document (report.c, report_sections.c) ------------------------------- */

typedef struct lam_report_doc {
    const char *file;         /* RUN_DIR/results.json, for messages */
    lam_status s;             /* the first problem found in the file (sticky) */
    lam_json_buf *b;          /* the HTML */
    const lam_json *root, *model, *data, *training, *results, *baselines; /* NULL: absent */
    const lam_report_log *log;
    const char *task;         /* results.task, or NULL */
    bool lm;                  /* a language model (next-token prediction) */
} lam_report_doc;

/* Checked reads of the run summary (report.c).  A value of the wrong type
 * or range records LAM_ERR_FORMAT in d->s (the first one: file, key path
 * "where.key", byte offset, what was expected) and reads as absent; null
 * reads as absent.  obj may be NULL. */
void lam_report_bad_(lam_report_doc *d, const lam_json *v, const char *where, const char *key, const char *want);
/* member key of obj if it has type t, else NULL */
const lam_json *lam_report_get_(lam_report_doc *d, const lam_json *obj, const char *where, const char *key,
                                lam_json_type t);
/* a number; NAN when absent or null */
double lam_report_get_num_(lam_report_doc *d, const lam_json *obj, const char *where, const char *key);
/* an integer in [0, 2^53]; false when absent */
bool lam_report_get_count_(lam_report_doc *d, const lam_json *obj, const char *where, const char *key, int64_t *out);
/* 1, 0, or -1 when absent */
int lam_report_get_bool_(lam_report_doc *d, const lam_json *obj, const char *where, const char *key);
/* the string member equals want */
bool lam_report_get_is_(lam_report_doc *d, const lam_json *obj, const char *where, const char *key, const char *want);
/* results.classes (K objects with a string "name") and results.confusion
 * (K rows of K counts; may be NULL: none recorded) checked whole; false on a
 * problem (recorded) */
bool lam_report_check_classes_(lam_report_doc *d, const lam_json *classes, const lam_json *conf);

/* A row of a key-value table: the key and value are markup (value made by
 * the formatters); _str escapes a string of the file (code: in <code>);
 * _count a checked count, formatted, when present. */
void lam_report_kv_(lam_report_doc *d, const char *k, const char *v);
void lam_report_kv_str_(lam_report_doc *d, const char *k, const lam_json *v, bool code);
void lam_report_kv_count_(lam_report_doc *d, const lam_json *obj, const char *where, const char *key,
                          const char *label);

/* The sections (report_sections.c), each a <section> with its id. */
void lam_report_curves_(lam_report_doc *d);     /* id "curves" */
void lam_report_evaluation_(lam_report_doc *d); /* id "evaluation" */
void lam_report_model_(lam_report_doc *d);      /* id "model" */
void lam_report_data_(lam_report_doc *d);       /* id "data" */
void lam_report_training_(lam_report_doc *d);   /* id "training" */

/* Short names inside report.c and report_sections.c */
#define jget lam_report_get_
#define jnum lam_report_get_num_
#define jcount lam_report_get_count_
#define jbool lam_report_get_bool_
#define jstr_is lam_report_get_is_
#define bad lam_report_bad_
#define kv lam_report_kv_
#define kv_str lam_report_kv_str_
#define kv_count lam_report_kv_count_
typedef lam_report_doc doc;

#endif
