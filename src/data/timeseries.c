/* Time-series windows from a CSV file of time-ordered rows (through the CSV
 * tokenizer of csv_lex.c): the columns by header name, the time order check,
 * strict numbers, windows of W rows with the value `horizon` rows ahead (or
 * the class of the last row), the split by time (a cut date or the last
 * share of the samples) and the standardisation fitted on the training rows
 * only.  Buffers grow with the rows actually read. */
#include "csv_internal.h"
#include "lamina/text.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

lam_timeseries_opts lam_timeseries_opts_defaults(void)
{
    return (lam_timeseries_opts){.features = NULL, .nfeatures = 0, .target = NULL, .label = NULL,
                                 .window = 1, .horizon = 1, .time_column = NULL, .test_from = NULL,
                                 .test_fraction = 0.2, .delimiter = ','};
}

#define TS_MAX_LINE ((size_t)1 << 20)

typedef struct tsctx {
    const char *path;
    const lam_timeseries_opts *o;
    csv_src src;
    csv_rec head, rec;
    int ncols, F;
    int *fcol;              /* [F] column of each feature */
    int tcol, lcol, timecol;
    float *vals, *tgt;      /* [rows, F], [rows] */
    int32_t *lab;           /* [rows] */
    unsigned char *late;    /* [rows]: time >= test_from */
    size_t vcap, tcap, lcap, latecap; /* elements the buffers hold */
    int64_t rows;
    char *prev;             /* the previous row's time */
    size_t prev_len, prev_cap;
    int64_t prev_line;
    csv_strtab tab;
} tsctx;

/* Times: numbers compare as numbers; other values as strings in which the
 * separators - / . : T and space are one and the same (so 2015/05/31 sorts
 * before 2015-06-01). */
static int time_cmp(const char *a, size_t na, const char *b, size_t nb)
{
    double x, y;
    if (csv_parse_num(a, na, &x) == 0 && csv_parse_num(b, nb, &y) == 0)
        return (x > y) - (x < y);
    for (size_t i = 0; i < na && i < nb; i++) {
        unsigned char p = (unsigned char)a[i], q = (unsigned char)b[i];
        if (p && strchr("-/.:T ", p)) p = '-';
        if (q && strchr("-/.:T ", q)) q = '-';
        if (p != q) return p < q ? -1 : 1;
    }
    return (na > nb) - (na < nb);
}

static lam_status find_col(const tsctx *c, const char *name, const char *what, int *idx)
{
    return csv_resolve_col(c->path, &c->head, c->ncols, (lam_csv_col){0, name}, what, idx);
}

static lam_status check_opts(const lam_timeseries_opts *o)
{
    if (!o->features || o->nfeatures < 1)
        return lam_fail(LAM_ERR_ARG, "lam_timeseries_read: at least one feature column is needed");
    for (int i = 0; i < o->nfeatures; i++)
        if (!o->features[i])
            return lam_fail(LAM_ERR_ARG, "lam_timeseries_read: feature %d is NULL", i);
    if (!o->target == !o->label)
        return lam_fail(LAM_ERR_ARG, "lam_timeseries_read: give exactly one of target (regression) "
                                     "and label (classification)");
    if (o->window < 1 || (o->target && o->horizon < 1))
        return lam_fail(LAM_ERR_ARG, "lam_timeseries_read: window %d and horizon %d must be >= 1",
                        o->window, o->horizon);
    if (o->test_from && !o->time_column)
        return lam_fail(LAM_ERR_ARG, "lam_timeseries_read: test_from needs a time_column");
    if (!o->test_from && !(o->test_fraction >= 0 && o->test_fraction < 1))
        return lam_fail(LAM_ERR_ARG, "lam_timeseries_read: test_fraction %g is outside [0, 1)",
                        o->test_fraction);
    char d = o->delimiter;
    if (d == 0 || d == '"' || d == '\r' || d == '\n')
        return lam_fail(LAM_ERR_ARG, "lam_timeseries_read: delimiter 0x%02x cannot be used",
                        (unsigned char)d);
    if ((int64_t)o->window * o->nfeatures > INT32_MAX)
        return lam_fail(LAM_ERR_ARG, "lam_timeseries_read: window x features is too large");
    return LAM_OK;
}

/* The number in field j of r into *v, or an error naming line and column. */
static lam_status number(const tsctx *c, const csv_rec *r, int j, float *v)
{
    const char *s = csv_field_text(r, j);
    size_t n = r->f[j].len;
    char shown[200], name[200];
    double d;
    csv_show(csv_field_text(&c->head, j), c->head.f[j].len, name, sizeof name);
    if (csv_is_missing(s, n))
        return lam_fail(LAM_ERR_FORMAT,
                        "%s:%lld:%lld: column '%s': missing value (\"%s\"); hint: "
                        "fill or drop the gaps of a time series before windowing it",
                        c->path, (long long)r->f[j].line, (long long)r->f[j].col, name,
                        csv_show(s, n, shown, sizeof shown));
    int pr = csv_parse_num(s, n, &d);
    if (pr != 0)
        return lam_fail(LAM_ERR_FORMAT,
                        "%s:%lld:%lld: column '%s': expected a number, found \"%s\"%s", c->path,
                        (long long)r->f[j].line, (long long)r->f[j].col, name,
                        csv_show(s, n, shown, sizeof shown),
                        pr == 2 ? "; hint: values must be finite and within float range" : "");
    *v = (float)d;
    return LAM_OK;
}

static lam_status ts_row(tsctx *c, const csv_rec *r)
{
    const lam_timeseries_opts *o = c->o;
    lam_status st;
    char shown[200], shown2[200];
    if (r->too_many || r->nf != c->ncols)
        return lam_fail(LAM_ERR_FORMAT,
                        "%s:%lld: expected %d fields (as in the header), found %s%d", c->path,
                        (long long)r->line, c->ncols, r->too_many ? "more than " : "",
                        r->too_many ? c->ncols : r->nf);
    if (c->rows >= LAM_DATASET_MAX_ROWS)
        return lam_fail(LAM_ERR_FORMAT, "%s:%lld: too many rows", c->path, (long long)r->line);
    size_t k = (size_t)c->rows, need;
    if (!lam_mul_size(k + 1, (size_t)c->F, &need))
        return lam_fail(LAM_ERR_NOMEM, "time series size overflows");
    if ((st = lam_grow((void **)&c->vals, &c->vcap, need, sizeof(float), 256, "time series")) != LAM_OK ||
        (st = lam_grow((void **)&c->tgt, &c->tcap, k + 1, sizeof(float), 256, "time series")) != LAM_OK ||
        (st = lam_grow((void **)&c->lab, &c->lcap, k + 1, sizeof(int32_t), 256, "time series")) != LAM_OK ||
        (st = lam_grow((void **)&c->late, &c->latecap, k + 1, 1, 256, "time series")) != LAM_OK)
        return st;
    if (c->timecol >= 0) {
        const char *t = csv_field_text(r, c->timecol);
        size_t n = r->f[c->timecol].len;
        if (n == 0)
            return lam_fail(LAM_ERR_FORMAT, "%s:%lld:%lld: the time is empty", c->path,
                            (long long)r->f[c->timecol].line, (long long)r->f[c->timecol].col);
        if (c->rows > 0 && time_cmp(t, n, c->prev, c->prev_len) < 0)
            return lam_fail(LAM_ERR_FORMAT,
                            "%s:%lld:%lld: time \"%s\" comes before \"%s\" of line %lld: the rows "
                            "are out of time order; hint: sort the file by its time column",
                            c->path, (long long)r->f[c->timecol].line,
                            (long long)r->f[c->timecol].col, csv_show(t, n, shown, sizeof shown),
                            csv_show(c->prev, c->prev_len, shown2, sizeof shown2),
                            (long long)c->prev_line);
        if ((st = lam_grow((void **)&c->prev, &c->prev_cap, n + 1, 1, 256, "time series")) != LAM_OK) return st;
        memcpy(c->prev, t, n);
        c->prev_len = n;
        c->prev_line = r->f[c->timecol].line;
        c->late[k] = o->test_from && time_cmp(t, n, o->test_from, strlen(o->test_from)) >= 0;
    } else {
        c->late[k] = 0;
    }
    for (int f = 0; f < c->F; f++)
        if ((st = number(c, r, c->fcol[f], &c->vals[k * (size_t)c->F + (size_t)f])) != LAM_OK)
            return st;
    if (c->tcol >= 0 && (st = number(c, r, c->tcol, &c->tgt[k])) != LAM_OK) return st;
    if (c->lcol >= 0) {
        const char *s = csv_field_text(r, c->lcol);
        size_t n = r->f[c->lcol].len;
        bool added;
        if (n == 0)
            return lam_fail(LAM_ERR_FORMAT, "%s:%lld:%lld: the class label is empty", c->path,
                            (long long)r->f[c->lcol].line, (long long)r->f[c->lcol].col);
        if ((st = csv_strtab_intern(&c->tab, s, n, &c->lab[k], &added)) != LAM_OK) return st;
    }
    c->rows++;
    return LAM_OK;
}

typedef struct cls_ent { const char *s; size_t len; int32_t id; } cls_ent;

static int cmp_cls(const void *pa, const void *pb)
{
    const cls_ent *a = pa, *b = pb;
    int r = memcmp(a->s, b->s, a->len < b->len ? a->len : b->len);
    return r ? r : (a->len > b->len) - (a->len < b->len);
}

/* Class names in bytewise order and rank[id] of each interned label. */
static lam_status ts_classes(tsctx *c, char ***names, int32_t **rank)
{
    int32_t k = c->tab.n;
    cls_ent *e = lam_calloc((size_t)k, sizeof *e);
    *rank = lam_calloc((size_t)k, sizeof **rank);
    *names = lam_calloc((size_t)k, sizeof **names);
    lam_status st = LAM_ERR_NOMEM;
    if (!e || !*rank || !*names) goto done;
    for (int32_t i = 0; i < k; i++)
        e[i] = (cls_ent){ csv_strtab_str(&c->tab, i), c->tab.ent[i].len, i };
    qsort(e, (size_t)k, sizeof *e, cmp_cls);
    for (int32_t r = 0; r < k; r++) {
        (*rank)[e[r].id] = r;
        if (!((*names)[r] = lam_malloc(e[r].len + 1))) goto done;
        memcpy((*names)[r], e[r].s, e[r].len);
        (*names)[r][e[r].len] = 0;
    }
    st = LAM_OK;
done:
    lam_free(e);
    return st;
}

/* Samples [first, first + m) as a data set. */
static lam_status ts_part(const tsctx *c, int64_t first, int64_t m, char **names,
                          const int32_t *rank, lam_dataset **out)
{
    const lam_timeseries_opts *o = c->o;
    int W = o->window, F = c->F;
    bool cls = c->lcol >= 0;
    lam_dataset *ds;
    lam_status st = lam_dataset_new(cls ? LAM_TASK_CLASSIFICATION : LAM_TASK_REGRESSION, m,
                                    (int64_t)W * F, cls ? c->tab.n : 1, &ds);
    if (st != LAM_OK) return st;
    if ((st = lam_dataset_set_sample_shape(ds, lam_shape2(W, F))) != LAM_OK ||
        (cls && (st = lam_dataset_set_class_names(ds, (const char *const *)names)) != LAM_OK) ||
        (!cls &&
         (st = lam_dataset_set_target_names(ds, (const char *const *)&o->target)) != LAM_OK)) {
        lam_dataset_free(ds);
        return st;
    }
    size_t row = (size_t)W * (size_t)F;
    for (int64_t i = 0; i < m; i++) {
        int64_t s0 = first + i; /* first row of the window */
        memcpy(ds->x + (size_t)i * row, c->vals + (size_t)s0 * (size_t)F, row * sizeof(float));
        if (cls) ds->labels[i] = rank[c->lab[s0 + W - 1]];
        else ds->y[i] = c->tgt[s0 + W - 1 + o->horizon];
    }
    *out = ds;
    return LAM_OK;
}

static lam_status ts_read(tsctx *c, lam_dataset **train, lam_dataset **test,
                          lam_timeseries_info *info)
{
    const lam_timeseries_opts *o = c->o;
    lam_status st;
    bool got;
    if ((st = csv_src_open(&c->src, c->path)) != LAM_OK) return st;
    if ((st = csv_next(&c->src, &c->head, o->delimiter, TS_MAX_LINE, 0, &got)) != LAM_OK) return st;
    if (!got)
        return lam_fail(LAM_ERR_FORMAT,
                        "%s: the file is empty; hint: a header row naming the "
                        "columns, then one row per time step",
                        c->path);
    c->ncols = c->head.nf;
    c->F = o->nfeatures;
    if (!(c->fcol = lam_calloc((size_t)c->F, sizeof *c->fcol))) return LAM_ERR_NOMEM;
    for (int f = 0; f < c->F; f++)
        if ((st = find_col(c, o->features[f], "feature", &c->fcol[f])) != LAM_OK) return st;
    c->tcol = c->lcol = c->timecol = -1;
    if (o->target && (st = find_col(c, o->target, "target", &c->tcol)) != LAM_OK) return st;
    if (o->label && (st = find_col(c, o->label, "label", &c->lcol)) != LAM_OK) return st;
    if (o->time_column && (st = find_col(c, o->time_column, "time", &c->timecol)) != LAM_OK)
        return st;
    for (;;) {
        if ((st = csv_next(&c->src, &c->rec, o->delimiter, TS_MAX_LINE, c->ncols, &got)) != LAM_OK)
            return st;
        if (!got) break;
        if ((st = ts_row(c, &c->rec)) != LAM_OK) return st;
    }
    int64_t W = o->window, h = c->lcol >= 0 ? 0 : o->horizon;
    int64_t n = c->rows - W - h + 1; /* samples; sample i's target row is i + W - 1 + h */
    if (n < 1)
        return lam_fail(LAM_ERR_FORMAT, "%s: %lld rows are too few for one window of %lld rows%s",
                        c->path, (long long)c->rows, (long long)W, h ? " and its target" : "");
    int64_t ntest;
    if (o->test_from) {
        int64_t i = 0;
        while (i < n && !c->late[i + W - 1 + h]) i++;
        ntest = n - i;
    } else {
        ntest = (int64_t)ceil(o->test_fraction * (double)n);
    }
    int64_t ntrain = n - ntest;
    bool want_test = o->test_from || o->test_fraction > 0;
    if (ntrain < 1 || (want_test && ntest < 1))
        return lam_fail(LAM_ERR_FORMAT,
                        "%s: the split by time leaves %lld training and %lld test "
                        "samples of %lld; both parts need one%s",
                        c->path, (long long)ntrain, (long long)ntest, (long long)n,
                        o->test_from ? "; hint: check test_from against the times in the file"
                                     : "");
    if (want_test && !test)
        return lam_fail(LAM_ERR_ARG,
                        "lam_timeseries_read: a test part is asked for but test is NULL");
    char **names = NULL;
    int32_t *rank = NULL;
    if (c->lcol >= 0 && (st = ts_classes(c, &names, &rank)) != LAM_OK) goto done;
    if ((st = ts_part(c, 0, ntrain, names, rank, train)) != LAM_OK) goto done;
    if (want_test && (st = ts_part(c, ntrain, ntest, names, rank, test)) != LAM_OK) {
        lam_dataset_free(*train);
        *train = NULL;
        goto done;
    }
    if (info) {
        info->rows = c->rows;
        info->train_rows_end = ntrain - 1 + W;
        info->target_feature = -1;
        for (int f = 0; f < c->F && c->tcol >= 0; f++)
            if (c->fcol[f] == c->tcol) {
                info->target_feature = f;
                break;
            }
    }
done:
    for (int32_t k = 0; names && k < c->tab.n; k++) lam_free(names[k]);
    lam_free(names);
    lam_free(rank);
    return st;
}

lam_status lam_timeseries_read(const char *path, const lam_timeseries_opts *opts,
                               lam_dataset **train, lam_dataset **test, lam_timeseries_info *info)
{
    if (train) *train = NULL;
    if (test) *test = NULL;
    if (info) memset(info, 0, sizeof *info);
    if (!path || !opts || !train)
        return lam_fail(LAM_ERR_ARG, "lam_timeseries_read: NULL path, options or output");
    lam_status st = check_opts(opts);
    if (st != LAM_OK) return st;
    tsctx c;
    memset(&c, 0, sizeof c);
    c.path = path;
    c.o = opts;
    st = ts_read(&c, train, test, info);
    csv_src_close(&c.src);
    csv_rec_free(&c.head);
    csv_rec_free(&c.rec);
    csv_strtab_free(&c.tab);
    lam_free(c.fcol);
    lam_free(c.vals);
    lam_free(c.tgt);
    lam_free(c.lab);
    lam_free(c.late);
    lam_free(c.prev);
    if (st != LAM_OK && info) memset(info, 0, sizeof *info);
    return st;
}

lam_status lam_timeseries_fit_scaler(const lam_dataset *train, int window, int nfeatures,
                                     lam_scaler **out)
{
    if (!out) return lam_fail(LAM_ERR_ARG, "lam_timeseries_fit_scaler: out is NULL");
    *out = NULL;
    if (!train || !train->x || train->n < 1 || window < 1 || nfeatures < 1 ||
        train->nfeat != (int64_t)window * nfeatures)
        return lam_fail(LAM_ERR_ARG,
                        "lam_timeseries_fit_scaler: needs a non-empty window data set of "
                        "window x nfeatures (%d x %d) features per sample",
                        window, nfeatures);
    int64_t W = window, F = nfeatures, n = train->n, R = n + W - 1;
    size_t row = (size_t)(W * F);
    /* consecutive samples must be windows one row apart: sample i's rows 1..W-1
     * are sample i+1's rows 0..W-2 */
    for (int64_t i = 0; i + 1 < n; i++)
        if (memcmp(train->x + (size_t)i * row + (size_t)F, train->x + (size_t)(i + 1) * row,
                   (size_t)((W - 1) * F) * sizeof(float)) != 0)
            return lam_fail(LAM_ERR_ARG, "lam_timeseries_fit_scaler: samples %lld and %lld are not "
                                         "windows one row apart; hint: fit on the training part as "
                                         "lam_timeseries_read returns it, before any shuffle",
                            (long long)i, (long long)i + 1);
    size_t nm;
    if (!lam_mul_size((size_t)R, (size_t)F, &nm)) return lam_fail(LAM_ERR_NOMEM, "size overflows");
    float *m = lam_malloc(nm * sizeof *m);
    float *shift = lam_malloc(row * sizeof *shift), *scale = lam_malloc(row * sizeof *scale);
    lam_scaler *s1 = NULL;
    lam_status st = LAM_ERR_NOMEM;
    if (!m || !shift || !scale) goto done;
    memcpy(m, train->x, row * sizeof(float)); /* the first window's W rows */
    for (int64_t i = 1; i < n; i++)          /* each later window's last row */
        memcpy(m + (size_t)(W - 1 + i) * (size_t)F,
               train->x + (size_t)i * row + (size_t)((W - 1) * F), (size_t)F * sizeof(float));
    if ((st = lam_scaler_fit_rows(LAM_SCALER_STANDARD, m, R, F, &s1)) != LAM_OK) goto done;
    const float *sh, *sc;
    lam_scaler_params(s1, &sh, &sc, NULL);
    for (int64_t w = 0; w < W; w++) {
        memcpy(shift + w * F, sh, (size_t)F * sizeof(float));
        memcpy(scale + w * F, sc, (size_t)F * sizeof(float));
    }
    st = lam_scaler_from_params(LAM_SCALER_STANDARD, shift, scale, W * F, out);
done:
    lam_scaler_free(s1);
    lam_free(m);
    lam_free(shift);
    lam_free(scale);
    return st;
}
