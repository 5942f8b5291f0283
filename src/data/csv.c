/* CSV reader: options, column roles (feature / label / target / ignored),
 * header detection, the missing-value policies, class label mapping
 * (integers 0..K-1 as they are, else sorted distinct values) and assembly of
 * the lam_dataset.  Tokenizing is in csv_lex.c, number parsing and the label
 * string table in csv_values.c.  Everything
 * grows with the data actually read; nothing is sized from file contents
 * before they have been parsed. */
#include "csv_internal.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { ROLE_FEAT, ROLE_LABEL, ROLE_TARGET, ROLE_IGNORE };


typedef struct ctx {
    const char *path;
    lam_csv_opts o;
    csv_src src;
    csv_rec head, rec; /* the first record (header candidate), the current one */
    bool header;
    int ncols;
    unsigned char *role; /* [ncols] */
    int *colpos;         /* [ncols]: index among features / targets */
    int label_col;
    int *tcols, nt;      /* target columns in the order given */
    int *fcols, nfeat;   /* feature columns in file order */
    int64_t *missing;    /* [ncols] */
    float *x, *y;
    int32_t *lab;
    size_t xcap, ycap, lcap; /* elements */
    int64_t rows, kept, dropped, imputed;
    csv_strtab tab;
    int32_t nclasses;
    char **class_names;
    bool labels_only;    /* lam_csv_read_classes: parse the label column only */
} ctx;

lam_csv_opts lam_csv_opts_defaults(void)
{
    return (lam_csv_opts){
        .delimiter = ',',
        .header = LAM_CSV_HEADER_AUTO,
        .task = LAM_TASK_CLASSIFICATION,
        .label = {-1, NULL},
        .missing = LAM_MISSING_ERROR,
        .max_classes = 10000,
        .max_line = (size_t)1 << 20,
    };
}

lam_csv_col lam_csv_col_parse(const char *s)
{
    lam_csv_col c = {0, NULL};
    if (!s) return (lam_csv_col){-1, NULL};
    char *end;
    long v = strtol(s, &end, 10);
    if (end != s && *end == 0 && v >= -INT32_MAX && v <= INT32_MAX) c.index = (int)v;
    else c.name = s;
    return c;
}

void lam_csv_report_clear(lam_csv_report *r)
{
    if (!r) return;
    lam_free(r->missing_per_col);
    memset(r, 0, sizeof *r);
}

char *lam_csv_report_str(const lam_csv_report *r, char *buf, size_t n)
{
    snprintf(buf, n, "%lld rows x %d columns (%s, %s); %lld kept, %lld dropped, %lld imputed",
             (long long)r->rows, r->ncols, r->gzip ? "gzip" : "plain",
             r->header ? "header" : "no header", (long long)r->rows_kept,
             (long long)r->rows_dropped, (long long)r->values_imputed);
    return buf;
}

/* ---- helpers -------------------------------------------------------------- */

static const char *fld(const csv_rec *r, int j) { return csv_field_text(r, j); }

/* "column 'name' (field 3)" or "field 3" */
static const char *col_desc(const ctx *c, int j, char *buf, size_t n)
{
    if (c->header) {
        char shown[200];
        snprintf(buf, n, "column '%s' (field %d)",
                 csv_show(fld(&c->head, j), c->head.f[j].len, shown, sizeof shown), j + 1);
    } else {
        snprintf(buf, n, "field %d", j + 1);
    }
    return buf;
}

/* ---- options and columns ---------------------------------------------------- */

static lam_status check_opts(const lam_csv_opts *o)
{
    char d = o->delimiter;
    if (d == 0 || d == '"' || d == '\r' || d == '\n')
        return lam_fail(LAM_ERR_ARG, "lam_csv_read: delimiter 0x%02x cannot be used; hint: "
                                     "',', ';', '\\t' or ' '", (unsigned char)d);
    if ((unsigned)o->header > LAM_CSV_HEADER_NO || (unsigned)o->task > LAM_TASK_REGRESSION ||
        (unsigned)o->missing > LAM_MISSING_MEAN)
        return lam_fail(LAM_ERR_ARG, "lam_csv_read: header, task or missing policy out of range");
    if (o->max_line < 1 || o->max_classes < 1)
        return lam_fail(LAM_ERR_ARG, "lam_csv_read: max_line and max_classes must be >= 1");
    if (o->ntargets < 0 || (o->ntargets > 0 && !o->targets) || o->nignore < 0 ||
        (o->nignore > 0 && !o->ignore))
        return lam_fail(LAM_ERR_ARG, "lam_csv_read: targets/ignore arrays do not match counts");
    if (o->class_names) {
        if (o->nclasses < 1)
            return lam_fail(LAM_ERR_ARG, "lam_csv_read: class_names given with nclasses %d",
                            (int)o->nclasses);
        for (int32_t k = 0; k < o->nclasses; k++)
            if (!o->class_names[k])
                return lam_fail(LAM_ERR_ARG, "lam_csv_read: class_names[%d] is NULL", (int)k);
    }
    if (o->nclasses < 0) return lam_fail(LAM_ERR_ARG, "lam_csv_read: nclasses < 0");
    return LAM_OK;
}

static lam_status resolve_col(ctx *c, lam_csv_col col, const char *what, int *idx)
{
    return csv_resolve_col(c->path, &c->head, c->ncols, col, what, idx);
}

static bool any_by_name(const lam_csv_opts *o)
{
    bool outputs = !o->features_only;
    if (outputs && o->task == LAM_TASK_CLASSIFICATION && o->label.name) return true;
    for (int i = 0; outputs && o->task == LAM_TASK_REGRESSION && i < o->ntargets; i++)
        if (o->targets[i].name) return true;
    for (int i = 0; i < o->nignore; i++)
        if (o->ignore[i].name) return true;
    return false;
}

static lam_status setup_columns(ctx *c)
{
    int n = c->ncols;
    lam_status st;
    c->role = lam_calloc((size_t)n, 1);
    c->colpos = lam_calloc((size_t)n, sizeof *c->colpos);
    c->fcols = lam_calloc((size_t)n, sizeof *c->fcols);
    c->missing = lam_calloc((size_t)n, sizeof *c->missing);
    bool outputs = !c->o.features_only;
    int nt = outputs && c->o.task == LAM_TASK_REGRESSION ? (c->o.ntargets ? c->o.ntargets : 1) : 0;
    c->tcols = lam_calloc((size_t)(nt ? nt : 1), sizeof *c->tcols);
    if (!c->role || !c->colpos || !c->fcols || !c->missing || !c->tcols) return LAM_ERR_NOMEM;
    for (int i = 0; i < c->o.nignore; i++) {
        int j;
        if ((st = resolve_col(c, c->o.ignore[i], "ignored", &j)) != LAM_OK) return st;
        c->role[j] = ROLE_IGNORE;
    }
    c->label_col = -1;
    if (!outputs) {
        /* features only: no label, no targets */
    } else if (c->o.task == LAM_TASK_CLASSIFICATION) {
        int j;
        if ((st = resolve_col(c, c->o.label, "label", &j)) != LAM_OK) return st;
        if (c->role[j] == ROLE_IGNORE)
            return lam_fail(LAM_ERR_ARG, "%s: the label column (field %d) is also ignored",
                            c->path, j + 1);
        c->role[j] = ROLE_LABEL;
        c->label_col = j;
    } else {
        for (int i = 0; i < nt; i++) {
            lam_csv_col tc = c->o.ntargets ? c->o.targets[i] : (lam_csv_col){-1, NULL};
            int j;
            if ((st = resolve_col(c, tc, "target", &j)) != LAM_OK) return st;
            if (c->role[j] != ROLE_FEAT)
                return lam_fail(LAM_ERR_ARG, "%s: target column (field %d) is %s", c->path,
                                j + 1, c->role[j] == ROLE_TARGET ? "given twice" : "also ignored");
            c->role[j] = ROLE_TARGET;
            c->colpos[j] = i;
            c->tcols[i] = j;
        }
        c->nt = nt;
    }
    for (int j = 0; j < n; j++)
        if (c->role[j] == ROLE_FEAT) {
            c->colpos[j] = c->nfeat;
            c->fcols[c->nfeat++] = j;
        }
    if (c->nfeat == 0)
        return lam_fail(LAM_ERR_FORMAT,
                        "%s:%lld: no feature columns: the file has %d column(s), all of them "
                        "label, target or ignored; hint: check the delimiter ('%c')",
                        c->path, (long long)c->head.line, n, c->o.delimiter);
    return LAM_OK;
}

/* Header detection for LAM_CSV_HEADER_AUTO (see data.h). */
static bool looks_like_header(const ctx *c, const csv_rec *second, bool have_second)
{
    double v;
    for (int j = 0; j < c->ncols; j++) {
        if (c->role[j] != ROLE_FEAT && c->role[j] != ROLE_TARGET) continue;
        const char *s = fld(&c->head, j);
        size_t n = c->head.f[j].len;
        if (!csv_is_missing(s, n) && csv_parse_num(s, n, &v) == 1) return true;
    }
    if (c->label_col >= 0 && have_second && !second->too_many && second->nf == c->ncols) {
        int j = c->label_col;
        const char *a = fld(&c->head, j), *b = fld(second, j);
        size_t na = c->head.f[j].len, nb = second->f[j].len;
        if (!csv_is_missing(a, na) && csv_parse_num(a, na, &v) == 1 && csv_parse_num(b, nb, &v) == 0)
            return true;
    }
    return false;
}

/* ---- rows ------------------------------------------------------------------- */

static lam_status label_of(ctx *c, const csv_rec *r, int j, int32_t *out)
{
    const char *s = fld(r, j);
    size_t n = r->f[j].len;
    char shown[200];
    if (c->o.class_names) {
        int32_t id = csv_strtab_find(&c->tab, s, n, NULL);
        if (id < 0) {
            char list[160] = "";
            size_t k = 0;
            for (int32_t i = 0; i < c->o.nclasses && k + 40 < sizeof list; i++)
                k += (size_t)snprintf(list + k, sizeof list - k, "%s'%.30s'", i ? ", " : "",
                                      c->o.class_names[i]);
            return lam_fail(LAM_ERR_FORMAT,
                            "%s:%lld:%lld: label \"%s\" is not one of the %d given class names "
                            "(%s%s); hint: read the test file with the training file's classes",
                            c->path, (long long)r->f[j].line, (long long)r->f[j].col,
                            csv_show(s, n, shown, sizeof shown), (int)c->o.nclasses, list,
                            k + 40 >= sizeof list ? ", ..." : "");
        }
        *out = id;
        return LAM_OK;
    }
    if (c->o.nclasses > 0) {
        double v;
        if (csv_parse_num(s, n, &v) != 0 || v != floor(v) || v < 0 || v >= c->o.nclasses)
            return lam_fail(LAM_ERR_FORMAT,
                            "%s:%lld:%lld: label \"%s\" is not an integer in [0, %d) "
                            "(nclasses = %d)",
                            c->path, (long long)r->f[j].line, (long long)r->f[j].col,
                            csv_show(s, n, shown, sizeof shown), (int)c->o.nclasses,
                            (int)c->o.nclasses);
        *out = (int32_t)v;
        return LAM_OK;
    }
    bool added;
    lam_status st = csv_strtab_intern(&c->tab, s, n, out, &added);
    if (st != LAM_OK) return st;
    if (added && c->tab.n > c->o.max_classes)
        return lam_fail(LAM_ERR_FORMAT,
                        "%s:%lld:%lld: the label column has more than %d distinct values "
                        "(\"%s\" is one more); hint: is it a regression target? set task = "
                        "regression, or raise max_classes",
                        c->path, (long long)r->f[j].line, (long long)r->f[j].col,
                        (int)c->o.max_classes, csv_show(s, n, shown, sizeof shown));
    return LAM_OK;
}

static lam_status bad_count(const ctx *c, const csv_rec *r)
{
    char found[32];
    if (r->too_many) snprintf(found, sizeof found, "more");
    else snprintf(found, sizeof found, "%d", r->nf);
    return lam_fail(LAM_ERR_FORMAT,
                    "%s:%lld:%lld: expected %d fields (as on line %lld%s), found %s; hint: "
                    "check the delimiter ('%c') and quote fields that contain it",
                    c->path, (long long)r->end_line, (long long)r->end_col, c->ncols,
                    (long long)c->head.line, c->header ? ", the header" : "", found,
                    c->o.delimiter);
}

static lam_status process_row(ctx *c, const csv_rec *r)
{
    lam_status st;
    char what[256], shown[200];
    c->rows++;
    if (r->too_many || r->nf != c->ncols) return bad_count(c, r);
    if (c->kept >= LAM_DATASET_MAX_ROWS)
        return lam_fail(LAM_ERR_FORMAT, "%s:%lld: more than %lld data rows", c->path,
                        (long long)r->line, (long long)LAM_DATASET_MAX_ROWS);
    size_t k1 = (size_t)c->kept + 1, need;
    if (!c->labels_only) {
        if (!lam_mul_size(k1, (size_t)c->nfeat, &need))
            return lam_fail(LAM_ERR_NOMEM, "CSV data size overflows");
        if ((st = lam_grow((void **)&c->x, &c->xcap, need, sizeof(float), 256, "CSV data")) != LAM_OK) return st;
    }
    if (c->nt) {
        if (!lam_mul_size(k1, (size_t)c->nt, &need))
            return lam_fail(LAM_ERR_NOMEM, "CSV data size overflows");
        if ((st = lam_grow((void **)&c->y, &c->ycap, need, sizeof(float), 256, "CSV data")) != LAM_OK) return st;
    } else if (c->label_col >= 0 &&
               (st = lam_grow((void **)&c->lab, &c->lcap, k1, sizeof(int32_t), 256, "CSV data")) != LAM_OK) {
        return st;
    }
    float *xr = c->labels_only ? NULL : c->x + (size_t)c->kept * (size_t)c->nfeat;
    float *yr = c->nt ? c->y + (size_t)c->kept * (size_t)c->nt : NULL;
    int nmiss = 0;
    for (int j = 0; j < c->ncols; j++) {
        int role = c->role[j];
        if (role == ROLE_IGNORE) continue;
        const char *s = fld(r, j);
        size_t n = r->f[j].len;
        long long L = (long long)r->f[j].line, C = (long long)r->f[j].col;
        if (csv_is_missing(s, n)) {
            c->missing[j]++;
            nmiss++;
            if (c->o.missing == LAM_MISSING_DROP) continue;
            if (role != ROLE_FEAT)
                return lam_fail(LAM_ERR_FORMAT,
                                "%s:%lld:%lld: missing %s (\"%s\") in %s; hint: %s cannot be "
                                "imputed; set missing = drop to skip such rows",
                                c->path, L, C, role == ROLE_LABEL ? "label" : "target",
                                csv_show(s, n, shown, sizeof shown), col_desc(c, j, what, 200),
                                role == ROLE_LABEL ? "labels" : "targets");
            if (c->labels_only) continue; /* features are not read */
            if (c->o.missing == LAM_MISSING_ERROR)
                return lam_fail(LAM_ERR_FORMAT,
                                "%s:%lld:%lld: missing value (\"%s\") in %s; hint: set missing "
                                "= drop or mean to accept missing values",
                                c->path, L, C, csv_show(s, n, shown, sizeof shown),
                                col_desc(c, j, what, 200));
            xr[c->colpos[j]] = NAN;
            continue;
        }
        if (role == ROLE_LABEL || c->labels_only) continue;
        double v;
        int pr = csv_parse_num(s, n, &v);
        if (pr != 0) {
            const char *hint =
                pr == 2 ? "values must be finite and within float range"
                : (c->o.delimiter != ',' && memchr(s, ',', n))
                    ? "decimal commas are not supported; use '.'"
                : (r == &c->head && !c->header)
                    ? "if the first row holds column names, set header = yes or auto"
                    : "a non-numeric column must be the label or be ignored";
            return lam_fail(LAM_ERR_FORMAT, "%s:%lld:%lld: %s: expected a number, found \"%s\"; "
                                            "hint: %s",
                            c->path, L, C, col_desc(c, j, what, 200),
                            csv_show(s, n, shown, sizeof shown), hint);
        }
        if (role == ROLE_FEAT) xr[c->colpos[j]] = (float)v;
        else yr[c->colpos[j]] = (float)v;
    }
    if (nmiss && c->o.missing == LAM_MISSING_DROP) {
        c->dropped++;
        return LAM_OK;
    }
    if (c->label_col >= 0 && (st = label_of(c, r, c->label_col, &c->lab[c->kept])) != LAM_OK)
        return st;
    c->kept++;
    return LAM_OK;
}

/* Replace the NaN placeholders of missing features by their column's mean. */
static lam_status impute_means(ctx *c)
{
    for (int k = 0; k < c->nfeat; k++) {
        int j = c->fcols[k];
        if (!c->missing[j]) continue;
        double sum = 0;
        int64_t cnt = 0;
        for (int64_t i = 0; i < c->kept; i++) {
            float v = c->x[i * c->nfeat + k];
            if (!isnan(v)) {
                sum += v;
                cnt++;
            }
        }
        if (cnt == 0) {
            char what[256];
            return lam_fail(LAM_ERR_FORMAT,
                            "%s: %s has no values (all %lld missing), so it has no mean to "
                            "impute; hint: ignore this column",
                            c->path, col_desc(c, j, what, sizeof what), (long long)c->missing[j]);
        }
        float mean = (float)(sum / (double)cnt);
        for (int64_t i = 0; i < c->kept; i++) {
            float *p = &c->x[i * c->nfeat + k];
            if (isnan(*p)) *p = mean;
        }
        c->imputed += c->missing[j];
    }
    return LAM_OK;
}

typedef struct lab_ent {
    double v;
    const char *s;
    size_t len;
    int32_t id;
} lab_ent;

static int cmp_bytes(const lab_ent *a, const lab_ent *b)
{
    size_t n = a->len < b->len ? a->len : b->len;
    int r = memcmp(a->s, b->s, n);
    if (r) return r;
    return (a->len > b->len) - (a->len < b->len);
}
static int cmp_ent_bytes(const void *pa, const void *pb) { return cmp_bytes(pa, pb); }
static int cmp_ent_num(const void *pa, const void *pb)
{
    const lab_ent *a = pa, *b = pb;
    if (a->v != b->v) return a->v < b->v ? -1 : 1;
    return cmp_bytes(a, b);
}

/* Inferred mapping: number the sorted distinct label strings. */
static lam_status finalize_labels(ctx *c)
{
    if (c->o.class_names || c->o.nclasses > 0) {
        c->nclasses = c->o.nclasses;
        if (!c->o.class_names) return LAM_OK;
        c->class_names = lam_calloc((size_t)c->nclasses, sizeof(char *));
        if (!c->class_names) return LAM_ERR_NOMEM;
        for (int32_t k = 0; k < c->nclasses; k++)
            if (!(c->class_names[k] = lam_strdup(c->o.class_names[k]))) return LAM_ERR_NOMEM;
        return LAM_OK;
    }
    csv_strtab *t = &c->tab;
    int32_t K0 = t->n;
    lab_ent *e = lam_calloc((size_t)K0, sizeof *e);
    int32_t *map = lam_calloc((size_t)K0, sizeof *map);
    lam_status st = LAM_ERR_NOMEM;
    if (!e || !map) goto done;
    bool all_num = true;
    for (int32_t i = 0; i < K0; i++) {
        e[i] = (lab_ent){0, t->pool + t->ent[i].off, t->ent[i].len, i};
        if (csv_parse_num(e[i].s, e[i].len, &e[i].v) != 0) all_num = false;
    }
    qsort(e, (size_t)K0, sizeof *e, all_num ? cmp_ent_num : cmp_ent_bytes);
    int32_t K = 0;
    bool direct = all_num;
    for (int32_t i = 0; i < K0; i++) {
        if (i == 0 || !all_num || e[i].v != e[i - 1].v) {
            if (e[i].v != (double)K) direct = false;
            K++;
        }
        map[e[i].id] = K - 1;
    }
    c->nclasses = K;
    if (!direct) {
        c->class_names = lam_calloc((size_t)K, sizeof(char *));
        if (!c->class_names) goto done;
        for (int32_t i = 0, k = -1; i < K0; i++) {
            if (map[e[i].id] == k) continue;
            k = map[e[i].id];
            if (!(c->class_names[k] = lam_malloc(e[i].len + 1))) goto done;
            memcpy(c->class_names[k], e[i].s, e[i].len);
            c->class_names[k][e[i].len] = 0;
        }
    }
    for (int64_t i = 0; i < c->kept; i++) c->lab[i] = map[c->lab[i]];
    st = LAM_OK;
done:
    lam_free(e);
    lam_free(map);
    return st;
}

/* Copies of the header names of columns cols[0..k-1]; NULL on NOMEM. */
static char **header_names(const ctx *c, const int *cols, int k)
{
    char **names = lam_calloc((size_t)k, sizeof *names);
    if (!names) return NULL;
    for (int i = 0; i < k; i++) {
        size_t n = c->head.f[cols[i]].len;
        if (!(names[i] = lam_malloc(n + 1))) {
            for (int q = 0; q < i; q++) lam_free(names[q]);
            lam_free(names);
            return NULL;
        }
        memcpy(names[i], fld(&c->head, cols[i]), n);
        names[i][n] = 0;
    }
    return names;
}

/* Shrink buffer *p of cap elements to n elements. */
static lam_status shrink(void **p, size_t cap, size_t n, size_t elem)
{
    if (cap == n) return LAM_OK;
    void *q = lam_realloc(*p, cap * elem, (n ? n : 1) * elem);
    if (!q) return LAM_ERR_NOMEM;
    *p = q;
    return LAM_OK;
}

static lam_status build(ctx *c, lam_dataset **out)
{
    lam_status st;
    size_t nx = (size_t)c->kept * (size_t)c->nfeat; /* fits: the buffer exists */
    if ((st = shrink((void **)&c->x, c->xcap, nx, sizeof(float))) != LAM_OK) return st;
    c->xcap = nx;
    if (c->nt) {
        size_t ny = (size_t)c->kept * (size_t)c->nt;
        if ((st = shrink((void **)&c->y, c->ycap, ny, sizeof(float))) != LAM_OK) return st;
        c->ycap = ny;
    } else if (c->label_col >= 0) {
        if ((st = shrink((void **)&c->lab, c->lcap, (size_t)c->kept, sizeof(int32_t))) != LAM_OK)
            return st;
        c->lcap = (size_t)c->kept;
    }
    lam_dataset *ds = lam_calloc(1, sizeof *ds);
    if (!ds) return LAM_ERR_NOMEM;
    /* features only: a regression set with no targets (see data.h) */
    ds->task = c->label_col < 0 && !c->nt ? LAM_TASK_REGRESSION : c->o.task;
    ds->n = c->kept;
    ds->nfeat = c->nfeat;
    ds->sample_shape = lam_shape1(c->nfeat);
    if (c->header) {
        ds->feature_names = header_names(c, c->fcols, c->nfeat);
        if (c->nt) ds->target_names = header_names(c, c->tcols, c->nt);
        if (!ds->feature_names || (c->nt && !ds->target_names)) {
            ds->ntargets = c->nt; /* so that lam_dataset_free frees the names */
            lam_dataset_free(ds);
            return LAM_ERR_NOMEM;
        }
    }
    ds->x = c->x;
    c->x = NULL;
    if (c->nt) {
        ds->ntargets = c->nt;
        ds->y = c->y;
        c->y = NULL;
    } else if (c->label_col >= 0) {
        ds->nclasses = c->nclasses;
        ds->labels = c->lab;
        c->lab = NULL;
        ds->class_names = c->class_names;
        c->class_names = NULL;
    }
    *out = ds;
    return LAM_OK;
}

static void ctx_free(ctx *c)
{
    csv_src_close(&c->src);
    csv_rec_free(&c->head);
    csv_rec_free(&c->rec);
    lam_free(c->role);
    lam_free(c->colpos);
    lam_free(c->tcols);
    lam_free(c->fcols);
    lam_free(c->missing);
    lam_free(c->x);
    lam_free(c->y);
    lam_free(c->lab);
    csv_strtab_free(&c->tab);
    if (c->class_names)
        for (int32_t k = 0; k < c->nclasses; k++) lam_free(c->class_names[k]);
    lam_free(c->class_names);
}

/* The whole read; c is cleaned up by the caller. */
static lam_status read_all(ctx *c, lam_dataset **out)
{
    lam_status st;
    const lam_csv_opts *o = &c->o;
    bool got, have2 = false;
    if ((st = csv_src_open(&c->src, c->path)) != LAM_OK) return st;
    if (o->class_names) { /* the given classes, in their order */
        for (int32_t k = 0; k < o->nclasses; k++) {
            int32_t id;
            bool added;
            const char *s = o->class_names[k];
            if ((st = csv_strtab_intern(&c->tab, s, strlen(s), &id, &added)) != LAM_OK) return st;
            if (!added)
                return lam_fail(LAM_ERR_ARG, "lam_csv_read: class name '%s' is given twice", s);
        }
    }
    if ((st = csv_next(&c->src, &c->head, o->delimiter, o->max_line, 0, &got)) != LAM_OK)
        return st;
    if (!got)
        return lam_fail(LAM_ERR_FORMAT, "%s: the file is empty (no rows); hint: check the path "
                                        "and that the file was written completely", c->path);
    c->ncols = c->head.nf;
    bool by_name = any_by_name(o);
    if (o->header == LAM_CSV_HEADER_NO && by_name)
        return lam_fail(LAM_ERR_ARG, "%s: columns are selected by name but header = no; hint: "
                                     "select them by index", c->path);
    c->header = o->header == LAM_CSV_HEADER_YES || by_name;
    if ((st = setup_columns(c)) != LAM_OK) return st;
    if (o->header == LAM_CSV_HEADER_AUTO && !by_name) {
        st = csv_next(&c->src, &c->rec, o->delimiter, o->max_line, c->ncols, &have2);
        if (st != LAM_OK) return st;
        c->header = looks_like_header(c, &c->rec, have2);
    }
    if (!c->header && (st = process_row(c, &c->head)) != LAM_OK) return st;
    if (have2 && (st = process_row(c, &c->rec)) != LAM_OK) return st;
    for (;;) {
        if ((st = csv_next(&c->src, &c->rec, o->delimiter, o->max_line, c->ncols, &got)) != LAM_OK)
            return st;
        if (!got) break;
        if ((st = process_row(c, &c->rec)) != LAM_OK) return st;
    }
    if (c->kept == 0) {
        if (c->rows == 0)
            return lam_fail(LAM_ERR_FORMAT, "%s: no data rows after the header (line %lld)",
                            c->path, (long long)c->head.line);
        return lam_fail(LAM_ERR_FORMAT, "%s: all %lld rows have missing values and were dropped",
                        c->path, (long long)c->rows);
    }
    if (c->labels_only) return finalize_labels(c);
    if (o->missing == LAM_MISSING_MEAN && (st = impute_means(c)) != LAM_OK) return st;
    if (c->label_col >= 0 && (st = finalize_labels(c)) != LAM_OK) return st;
    return build(c, out);
}

lam_status lam_csv_read(const char *path, const lam_csv_opts *opts, lam_dataset **out,
                        lam_csv_report *report)
{
    if (report) memset(report, 0, sizeof *report);
    if (!out) return lam_fail(LAM_ERR_ARG, "lam_csv_read: out is NULL");
    *out = NULL;
    if (!path) return lam_fail(LAM_ERR_ARG, "lam_csv_read: path is NULL");
    ctx c;
    memset(&c, 0, sizeof c);
    c.path = path;
    c.o = opts ? *opts : lam_csv_opts_defaults();
    lam_status st = check_opts(&c.o);
    if (st == LAM_OK) st = read_all(&c, out);
    if (st == LAM_OK && report) {
        report->rows = c.rows;
        report->rows_kept = c.kept;
        report->rows_dropped = c.dropped;
        report->values_imputed = c.imputed;
        report->ncols = c.ncols;
        report->header = c.header;
        report->gzip = csv_src_is_gzip(&c.src);
        report->missing_per_col = c.missing;
        c.missing = NULL;
    }
    ctx_free(&c);
    return st;
}

lam_status lam_csv_count_columns(const char *path, const lam_csv_opts *opts, int *ncols)
{
    if (!path || !ncols) return lam_fail(LAM_ERR_ARG, "lam_csv_count_columns: NULL argument");
    *ncols = 0;
    lam_csv_opts o = opts ? *opts : lam_csv_opts_defaults();
    lam_status st = check_opts(&o);
    if (st != LAM_OK) return st;
    csv_src src;
    csv_rec rec;
    memset(&rec, 0, sizeof rec);
    bool got = false;
    if ((st = csv_src_open(&src, path)) != LAM_OK) return st;
    st = csv_next(&src, &rec, o.delimiter, o.max_line, 0, &got);
    if (st == LAM_OK && !got)
        st = lam_fail(LAM_ERR_FORMAT, "%s: the file is empty (no rows); hint: check the path "
                                      "and that the file was written completely", path);
    if (st == LAM_OK) *ncols = rec.nf;
    csv_rec_free(&rec);
    csv_src_close(&src);
    return st;
}

void lam_csv_names_free(char **names, int32_t n)
{
    if (!names) return;
    for (int32_t k = 0; k < n; k++) lam_free(names[k]);
    lam_free(names);
}

lam_status lam_csv_read_classes(const char *path, const lam_csv_opts *opts, char ***names,
                                int32_t *nclasses)
{
    if (!names || !nclasses) return lam_fail(LAM_ERR_ARG, "lam_csv_read_classes: NULL output");
    *names = NULL;
    *nclasses = 0;
    if (!path) return lam_fail(LAM_ERR_ARG, "lam_csv_read_classes: path is NULL");
    ctx c;
    memset(&c, 0, sizeof c);
    c.path = path;
    c.o = opts ? *opts : lam_csv_opts_defaults();
    c.o.class_names = NULL; /* infer, as the training read did */
    c.o.nclasses = 0;
    c.o.features_only = false;
    c.labels_only = true;
    lam_status st = check_opts(&c.o);
    if (st == LAM_OK && c.o.task != LAM_TASK_CLASSIFICATION)
        st = lam_fail(LAM_ERR_ARG, "lam_csv_read_classes: needs task = classification");
    if (st == LAM_OK) st = read_all(&c, NULL);
    if (st == LAM_OK) {
        *names = c.class_names; /* NULL when the labels are 0..K-1 */
        *nclasses = c.nclasses;
        c.class_names = NULL;
    }
    ctx_free(&c);
    return st;
}
