/* Text sources and token data sets: the corpus reader (a file, or a
 * directory's entries in bytewise order), documents labelled by file name,
 * labelled text in CSV files (through the CSV tokenizer of csv_lex.c),
 * language-modelling windows over one token stream and their split by
 * position, labelled texts as padded rows, and documents cut into labelled
 * windows split by position inside each document.  Every size is known from
 * the file system or from the data already parsed before anything is
 * allocated for it. */
#include "csv_internal.h"
#include "dataset_internal.h"
#include "text_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- files and directories ------------------------------------------------------- */

static char *join(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    char *p = lam_malloc(a + b + 2);
    if (!p) return NULL;
    memcpy(p, dir, a);
    p[a] = '/';
    memcpy(p + a + 1, name, b + 1);
    return p;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b); /* unsigned bytes: bytewise */
}

typedef struct entry { char *name, *path; size_t size; } entry;

static void entries_free(entry *e, size_t n)
{
    for (size_t i = 0; e && i < n; i++) {
        lam_free(e[i].name);
        lam_free(e[i].path);
    }
    lam_free(e);
}

/* The regular files of dir (hidden names skipped), in bytewise name order,
 * with their sizes.  Symbolic links: followed (to regular files) or skipped. */
static lam_status list_files(const char *dir, bool follow_links, entry **out, size_t *nout)
{
    *out = NULL;
    *nout = 0;
    errno = 0;
    DIR *d = opendir(dir);
    if (!d)
        return lam_fail(errno == ENOMEM ? LAM_ERR_NOMEM : LAM_ERR_IO,
                        "%s: cannot open the directory: %s", dir, strerror(errno));
    char **names = NULL;
    size_t n = 0, cap = 0;
    lam_status st = LAM_OK;
    for (;;) {
        errno = 0;
        struct dirent *de = readdir(d);
        if (!de) {
            if (errno)
                st =
                    lam_fail(LAM_ERR_IO, "%s: cannot list the directory: %s", dir, strerror(errno));
            break;
        }
        if (de->d_name[0] == '.') continue;
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 32;
            char **q = lam_realloc(names, cap * sizeof *names, nc * sizeof *names);
            if (!q) {
                st = LAM_ERR_NOMEM;
                break;
            }
            names = q;
            cap = nc;
        }
        if (!(names[n] = lam_strdup(de->d_name))) {
            st = LAM_ERR_NOMEM;
            break;
        }
        n++;
    }
    closedir(d);
    entry *e = NULL;
    size_t ne = 0;
    if (st == LAM_OK && n) {
        qsort(names, n, sizeof *names, cmp_str);
        if (!(e = lam_calloc(n, sizeof *e))) st = LAM_ERR_NOMEM;
    }
    for (size_t i = 0; st == LAM_OK && i < n; i++) {
        char *path = join(dir, names[i]);
        if (!path) {
            st = LAM_ERR_NOMEM;
            break;
        }
        struct stat sb;
        if (lstat(path, &sb) != 0) {
            st = lam_fail(LAM_ERR_IO, "%s: cannot stat: %s", path, strerror(errno));
        } else if (S_ISLNK(sb.st_mode) && follow_links && stat(path, &sb) != 0) {
            st = lam_fail(LAM_ERR_IO,
                          "%s: cannot follow the symbolic link: %s; hint: remove the "
                          "dangling link or do not follow links",
                          path, strerror(errno));
        } else if (S_ISREG(sb.st_mode)) {
            if ((int64_t)sb.st_size > LAM_TEXT_MAX_FILE)
                st = lam_fail(LAM_ERR_FORMAT,
                              "%s: %lld bytes is more than the %lld a text file may hold", path,
                              (long long)sb.st_size, (long long)LAM_TEXT_MAX_FILE);
            else {
                e[ne] = (entry){names[i], path, (size_t)sb.st_size};
                names[i] = NULL;
                path = NULL;
                ne++;
            }
        }
        lam_free(path); /* skipped: links not followed, directories, devices */
    }
    for (size_t i = 0; i < n; i++) lam_free(names[i]);
    lam_free(names);
    if (st != LAM_OK) {
        entries_free(e, ne);
        return st;
    }
    *out = e;
    *nout = ne;
    return LAM_OK;
}

/* Read exactly `size` bytes of path into dst (the size found when listing:
 * a file that changed in between is an error).  follow: the path may be a
 * symbolic link (else one that appeared since the listing is refused). */
static lam_status read_exact(const char *path, char *dst, size_t size, bool follow)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW));
    if (fd < 0) return lam_fail(LAM_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    lam_status st = LAM_OK;
    size_t got = 0;
    while (got < size) {
        ssize_t r = read(fd, dst + got, size - got);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            st = lam_fail(LAM_ERR_IO, "%s: read error at byte %zu: %s", path, got, strerror(errno));
            break;
        }
        if (r == 0) break;
        got += (size_t)r;
    }
    char extra;
    ssize_t r = 0;
    if (st == LAM_OK && got == size) {
        do r = read(fd, &extra, 1);
        while (r < 0 && errno == EINTR);
    }
    if (st == LAM_OK && (got != size || r != 0))
        st = lam_fail(LAM_ERR_IO,
                      "%s: the file changed while it was read (%zu bytes expected); hint: "
                      "read it again when it is complete",
                      path, size);
    close(fd);
    return st;
}

lam_status lam_text_read_corpus(const char *path, bool follow_links, char **text, size_t *len)
{
    if (text) *text = NULL;
    if (len) *len = 0;
    if (!path || !text || !len) return lam_fail(LAM_ERR_ARG, "lam_text_read_corpus: NULL argument");
    struct stat sb;
    if (stat(path, &sb) != 0)
        return lam_fail(LAM_ERR_IO, "%s: cannot open: %s; hint: check the path", path,
                        strerror(errno));
    entry one = {NULL, (char *)path, (size_t)sb.st_size}, *e = &one;
    size_t n = 1;
    lam_status st = LAM_OK;
    if (S_ISDIR(sb.st_mode)) {
        if ((st = list_files(path, follow_links, &e, &n)) != LAM_OK) return st;
    } else if (!S_ISREG(sb.st_mode)) {
        return lam_fail(LAM_ERR_IO, "%s: not a regular file or a directory", path);
    }
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        total += e[i].size;
        if ((int64_t)total > LAM_TEXT_MAX_FILE) {
            st = lam_fail(LAM_ERR_FORMAT,
                          "%s: the corpus holds more than %lld bytes (%s and before)", path,
                          (long long)LAM_TEXT_MAX_FILE, e[i].path);
            goto done;
        }
    }
    if (total == 0) {
        st = lam_fail(LAM_ERR_FORMAT,
                      "%s: the corpus is empty (%zu file(s), no bytes); hint: check the path", path,
                      n);
        goto done;
    }
    char *buf = lam_malloc(total + 1);
    if (!buf) {
        st = LAM_ERR_NOMEM;
        goto done;
    }
    size_t at = 0;
    for (size_t i = 0; i < n && st == LAM_OK; i++) {
        st = read_exact(e[i].path, buf + at, e[i].size, e == &one || follow_links);
        at += e[i].size;
    }
    if (st != LAM_OK) {
        lam_free(buf);
        goto done;
    }
    buf[total] = 0;
    *text = buf;
    *len = total;
done:
    if (e != &one) entries_free(e, n);
    return st;
}

/* ---- text sets ------------------------------------------------------------------------ */

void lam_text_set_free(lam_text_set *s)
{
    if (!s) return;
    for (int64_t i = 0; i < s->n; i++) {
        if (s->text) lam_free(s->text[i]);
        if (s->names) lam_free(s->names[i]);
    }
    lam_free(s->text);
    lam_free(s->names);
    lam_free(s->len);
    lam_free(s->labels);
    lam_names_free_(s->class_names, s->nclasses);
    lam_free(s);
}

/* A text set of room for n texts (arrays zeroed, n = 0 until filled). */
static lam_text_set *set_alloc(size_t n, bool names)
{
    lam_text_set *s = lam_calloc(1, sizeof *s);
    if (!s) return NULL;
    size_t k = n ? n : 1;
    s->text = lam_calloc(k, sizeof *s->text);
    s->len = lam_calloc(k, sizeof *s->len);
    s->labels = lam_calloc(k, sizeof *s->labels);
    if (names) s->names = lam_calloc(k, sizeof *s->names);
    if (!s->text || !s->len || !s->labels || (names && !s->names)) {
        lam_text_set_free(s);
        return NULL;
    }
    return s;
}

/* Number the distinct label strings lab[0..n) in bytewise order: labels[i]
 * and class_names of s. */
static lam_status classes_from_strings(lam_text_set *s, char **lab, int64_t n)
{
    char **sorted = lam_calloc((size_t)(n ? n : 1), sizeof *sorted);
    if (!sorted) return LAM_ERR_NOMEM;
    memcpy(sorted, lab, (size_t)n * sizeof *sorted);
    qsort(sorted, (size_t)n, sizeof *sorted, cmp_str);
    int64_t k = 0;
    for (int64_t i = 0; i < n; i++)
        if (i == 0 || strcmp(sorted[i], sorted[k - 1]) != 0) sorted[k++] = sorted[i];
    lam_status st = LAM_OK;
    if (k > INT32_MAX) st = lam_fail(LAM_ERR_FORMAT, "more than %d classes", INT32_MAX);
    if (st == LAM_OK && !(s->class_names = lam_names_copy_((const char *const *)sorted, k)))
        st = LAM_ERR_NOMEM;
    if (st == LAM_OK) {
        s->nclasses = (int32_t)k;
        for (int64_t i = 0; i < n; i++) {
            size_t lo = 0, hi = (size_t)k;
            while (hi - lo > 1) {
                size_t mid = (lo + hi) / 2;
                if (strcmp(sorted[mid], lab[i]) <= 0) lo = mid;
                else hi = mid;
            }
            s->labels[i] = (int32_t)lo;
        }
    }
    lam_free(sorted);
    return st;
}

lam_status lam_text_files_read(const char *dir, char sep, lam_text_set **out)
{
    if (!out) return lam_fail(LAM_ERR_ARG, "lam_text_files_read: out is NULL");
    *out = NULL;
    if (!dir) return lam_fail(LAM_ERR_ARG, "lam_text_files_read: dir is NULL");
    entry *e;
    size_t n;
    lam_status st = list_files(dir, false, &e, &n);
    if (st != LAM_OK) return st;
    lam_text_set *s = NULL;
    char **lab = NULL;
    if (n == 0) {
        st = lam_fail(LAM_ERR_FORMAT,
                      "%s: no regular files (hidden entries, links and directories are "
                      "skipped); hint: one file per document, named CLASS%cNAME",
                      dir, sep ? sep : '-');
        goto done;
    }
    if (!(s = set_alloc(n, true)) || !(lab = lam_calloc(n, sizeof *lab))) {
        st = LAM_ERR_NOMEM;
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        s->n = (int64_t)i + 1; /* so that lam_text_set_free releases what is filled */
        char *cut = sep ? strchr(e[i].name, sep) : NULL;
        size_t cl = cut ? (size_t)(cut - e[i].name) : strlen(e[i].name);
        if (!(s->text[i] = lam_malloc(e[i].size + 1)) || !(lab[i] = lam_malloc(cl + 1))) {
            st = LAM_ERR_NOMEM;
            goto done;
        }
        memcpy(lab[i], e[i].name, cl);
        lab[i][cl] = 0;
        if ((st = read_exact(e[i].path, s->text[i], e[i].size, false)) != LAM_OK) goto done;
        s->text[i][e[i].size] = 0;
        s->len[i] = e[i].size;
        s->names[i] = e[i].name;
        e[i].name = NULL;
    }
    st = classes_from_strings(s, lab, s->n);
done:
    for (size_t i = 0; lab && i < n; i++) lam_free(lab[i]);
    lam_free(lab);
    entries_free(e, n);
    if (st != LAM_OK) lam_text_set_free(s);
    else *out = s;
    return st;
}

/* ---- labelled text in CSV files ------------------------------------------------------------ */

typedef struct tctx {
    const char *path;
    lam_csv_opts o;
    csv_src src;
    csv_rec head, rec;
    int ncols, label_col, text_col;
    bool header;
    lam_text_set *s;
    size_t cap;       /* rows the arrays of s hold */
    csv_strtab tab;
} tctx;

static lam_status grow_set(tctx *c)
{
    lam_text_set *s = c->s;
    if ((size_t)s->n < c->cap) return LAM_OK;
    if (s->n >= LAM_DATASET_MAX_ROWS)
        return lam_fail(LAM_ERR_FORMAT, "%s: more than %lld texts", c->path,
                        (long long)LAM_DATASET_MAX_ROWS);
    size_t nc = c->cap * 2, o = c->cap;
    char **t = lam_realloc(s->text, o * sizeof *t, nc * sizeof *t);
    if (!t) return LAM_ERR_NOMEM;
    s->text = t;
    char **nm = lam_realloc(s->names, o * sizeof *nm, nc * sizeof *nm);
    if (!nm) return LAM_ERR_NOMEM;
    s->names = nm;
    size_t *l = lam_realloc(s->len, o * sizeof *l, nc * sizeof *l);
    if (!l) return LAM_ERR_NOMEM;
    s->len = l;
    int32_t *lb = lam_realloc(s->labels, o * sizeof *lb, nc * sizeof *lb);
    if (!lb) return LAM_ERR_NOMEM;
    s->labels = lb;
    c->cap = nc;
    return LAM_OK;
}

static lam_status text_row(tctx *c, const csv_rec *r)
{
    lam_status st;
    char shown[200];
    if (r->too_many || r->nf != c->ncols)
        return lam_fail(LAM_ERR_FORMAT,
                        "%s:%lld: expected %d fields (as on line %lld), found %s%d; hint: "
                        "quote texts that hold the delimiter ('%c') or line breaks",
                        c->path, (long long)r->line, c->ncols, (long long)c->head.line,
                        r->too_many ? "more than " : "", r->too_many ? c->ncols : r->nf,
                        c->o.delimiter);
    const csv_field *lf = &r->f[c->label_col], *tf = &r->f[c->text_col];
    const char *ls = csv_field_text(r, c->label_col);
    if (lf->len == 0)
        return lam_fail(LAM_ERR_FORMAT,
                        "%s:%lld:%lld: the label is empty; hint: every text needs its class",
                        c->path, (long long)lf->line, (long long)lf->col);
    if (memchr(ls, 0, lf->len))
        return lam_fail(LAM_ERR_FORMAT, "%s:%lld:%lld: the label holds a NUL byte", c->path,
                        (long long)lf->line, (long long)lf->col);
    int32_t id;
    if (c->o.class_names) {
        if ((id = csv_strtab_find(&c->tab, ls, lf->len, NULL)) < 0)
            return lam_fail(LAM_ERR_FORMAT,
                            "%s:%lld:%lld: label \"%s\" is not one of the %d given class names; "
                            "hint: read test files with the training file's classes",
                            c->path, (long long)lf->line, (long long)lf->col,
                            csv_show(ls, lf->len, shown, sizeof shown), (int)c->o.nclasses);
    } else {
        bool added;
        if ((st = csv_strtab_intern(&c->tab, ls, lf->len, &id, &added)) != LAM_OK) return st;
        if (added && c->tab.n > c->o.max_classes)
            return lam_fail(LAM_ERR_FORMAT,
                            "%s:%lld:%lld: the label column has more than %d distinct values "
                            "(\"%s\" is one more); hint: check the label column, or raise "
                            "max_classes",
                            c->path, (long long)lf->line, (long long)lf->col, (int)c->o.max_classes,
                            csv_show(ls, lf->len, shown, sizeof shown));
    }
    if ((st = grow_set(c)) != LAM_OK) return st;
    lam_text_set *s = c->s;
    int64_t i = s->n;
    char *t = lam_malloc(tf->len + 1), *nm = lam_malloc(32);
    if (!t || !nm) {
        lam_free(t);
        lam_free(nm);
        return LAM_ERR_NOMEM;
    }
    memcpy(t, csv_field_text(r, c->text_col), tf->len);
    t[tf->len] = 0;
    snprintf(nm, 32, "line %lld", (long long)r->line);
    s->text[i] = t;
    s->names[i] = nm;
    s->len[i] = tf->len;
    s->labels[i] = id;
    s->n++;
    return LAM_OK;
}

typedef struct cls_ent { const char *s; size_t len; int32_t id; } cls_ent;

static int cmp_cls(const void *pa, const void *pb)
{
    const cls_ent *a = pa, *b = pb;
    int r = memcmp(a->s, b->s, a->len < b->len ? a->len : b->len);
    return r ? r : (a->len > b->len) - (a->len < b->len);
}

/* Number the inferred classes in bytewise order; copy the given ones. */
static lam_status text_classes(tctx *c)
{
    lam_text_set *s = c->s;
    int32_t k = c->tab.n;
    if (c->o.class_names) {
        if (!(s->class_names = lam_names_copy_(c->o.class_names, c->o.nclasses)))
            return LAM_ERR_NOMEM;
        s->nclasses = c->o.nclasses;
        return LAM_OK;
    }
    cls_ent *e = lam_calloc((size_t)k, sizeof *e);
    int32_t *rank = lam_calloc((size_t)k, sizeof *rank);
    lam_status st = LAM_ERR_NOMEM;
    if (!e || !rank || !(s->class_names = lam_calloc((size_t)k, sizeof *s->class_names))) goto done;
    s->nclasses = k;
    for (int32_t i = 0; i < k; i++)
        e[i] = (cls_ent){ csv_strtab_str(&c->tab, i), c->tab.ent[i].len, i };
    qsort(e, (size_t)k, sizeof *e, cmp_cls);
    for (int32_t r = 0; r < k; r++) {
        rank[e[r].id] = r;
        if (!(s->class_names[r] = lam_malloc(e[r].len + 1))) goto done;
        memcpy(s->class_names[r], e[r].s, e[r].len);
        s->class_names[r][e[r].len] = 0;
    }
    for (int64_t i = 0; i < s->n; i++) s->labels[i] = rank[s->labels[i]];
    st = LAM_OK;
done:
    lam_free(e);
    lam_free(rank);
    return st;
}

static lam_status text_csv_all(tctx *c)
{
    lam_status st;
    const lam_csv_opts *o = &c->o;
    bool got;
    if ((st = csv_src_open(&c->src, c->path)) != LAM_OK) return st;
    for (int32_t k = 0; o->class_names && k < o->nclasses; k++) {
        int32_t id;
        bool added;
        if ((st = csv_strtab_intern(&c->tab, o->class_names[k], strlen(o->class_names[k]), &id,
                                    &added)) != LAM_OK)
            return st;
        if (!added)
            return lam_fail(LAM_ERR_ARG, "lam_text_csv_read: class name '%s' is given twice",
                            o->class_names[k]);
    }
    if ((st = csv_next(&c->src, &c->head, o->delimiter, o->max_line, 0, &got)) != LAM_OK) return st;
    if (!got) return lam_fail(LAM_ERR_FORMAT, "%s: the file is empty (no rows)", c->path);
    c->ncols = c->head.nf;
    return LAM_OK;
}

lam_status lam_text_csv_read(const char *path, const lam_csv_opts *opts, lam_csv_col text_col,
                             lam_text_set **out)
{
    if (!out) return lam_fail(LAM_ERR_ARG, "lam_text_csv_read: out is NULL");
    *out = NULL;
    if (!path) return lam_fail(LAM_ERR_ARG, "lam_text_csv_read: path is NULL");
    tctx c;
    memset(&c, 0, sizeof c);
    c.path = path;
    c.o = opts ? *opts : lam_csv_opts_defaults();
    lam_csv_opts *o = &c.o;
    /* the default label column {-1, NULL} means the first column here */
    if (!o->label.name && o->label.index == -1) o->label.index = 0;
    char d = o->delimiter;
    lam_status st = LAM_OK;
    bool by_name = o->label.name || text_col.name;
    if (d == 0 || d == '"' || d == '\r' || d == '\n')
        st = lam_fail(LAM_ERR_ARG, "lam_text_csv_read: delimiter 0x%02x cannot be used",
                      (unsigned char)d);
    else if ((unsigned)o->header > LAM_CSV_HEADER_NO || o->max_line < 1 || o->max_classes < 1)
        st = lam_fail(LAM_ERR_ARG,
                      "lam_text_csv_read: header, max_line or max_classes out of range");
    else if (o->class_names && o->nclasses < 1)
        st = lam_fail(LAM_ERR_ARG, "lam_text_csv_read: class_names given with nclasses %d",
                      (int)o->nclasses);
    else if (o->header == LAM_CSV_HEADER_NO && by_name)
        st = lam_fail(LAM_ERR_ARG, "%s: columns are selected by name but header = no", path);
    for (int32_t k = 0; st == LAM_OK && o->class_names && k < o->nclasses; k++)
        if (!o->class_names[k])
            st = lam_fail(LAM_ERR_ARG, "lam_text_csv_read: class_names[%d] is NULL", (int)k);
    if (st == LAM_OK) st = text_csv_all(&c);
    if (st == LAM_OK) {
        c.header = o->header == LAM_CSV_HEADER_YES || by_name;
        st = csv_resolve_col(c.path, &c.head, c.ncols, o->label, "label", &c.label_col);
    }
    if (st == LAM_OK) st = csv_resolve_col(c.path, &c.head, c.ncols, text_col, "text", &c.text_col);
    if (st == LAM_OK && c.label_col == c.text_col)
        st = lam_fail(LAM_ERR_ARG,
                      "%s: the label and the text are the same column (field %d); hint: the "
                      "label defaults to the first column, the text to the last",
                      path, c.label_col + 1);
    if (st == LAM_OK && !(c.s = set_alloc(64, true))) st = LAM_ERR_NOMEM;
    c.cap = 64;
    if (st == LAM_OK && !c.header) st = text_row(&c, &c.head);
    for (bool got = true; st == LAM_OK;) {
        if ((st = csv_next(&c.src, &c.rec, o->delimiter, o->max_line, c.ncols, &got)) != LAM_OK ||
            !got)
            break;
        st = text_row(&c, &c.rec);
    }
    if (st == LAM_OK && c.s->n == 0)
        st = lam_fail(LAM_ERR_FORMAT, "%s: no data rows after the header (line %lld)", path,
                      (long long)c.head.line);
    if (st == LAM_OK) st = text_classes(&c);
    csv_src_close(&c.src);
    csv_rec_free(&c.head);
    csv_rec_free(&c.rec);
    csv_strtab_free(&c.tab);
    if (st != LAM_OK) lam_text_set_free(c.s);
    else *out = c.s;
    return st;
}

/* ---- token data sets ------------------------------------------------------------------------ */

/* Tokens in at least one of w windows of `width` tokens every `stride`. */
static int64_t covered(int64_t w, int64_t width, int64_t stride)
{
    if (w == 0) return 0;
    return stride >= width ? w * width : (w - 1) * stride + width;
}

/* Windows of `seq` every `stride` tokens in ntok tokens. */
static int64_t nwin(int64_t ntok, int64_t seq, int64_t stride)
{
    return ntok >= seq ? (ntok - seq) / stride + 1 : 0;
}

lam_status lam_dataset_lm_windows(const lam_vocab *v, const char *text, size_t len, int64_t seq,
                                  int64_t stride, lam_text_stats *stats, const char *where,
                                  lam_dataset **out)
{
    if (!out) return lam_fail(LAM_ERR_ARG, "lam_dataset_lm_windows: out is NULL");
    *out = NULL;
    if (!v || (!text && len)) return lam_fail(LAM_ERR_ARG, "lam_dataset_lm_windows: NULL argument");
    if (seq < 1 || seq > INT32_MAX - 1 || stride < 1 || stride > INT32_MAX)
        return lam_fail(LAM_ERR_ARG,
                        "lam_dataset_lm_windows: seq %lld and stride %lld must be in [1, %d]",
                        (long long)seq, (long long)stride, INT32_MAX - 1);
    lam_text_stats ls = {0};
    int64_t ntok;
    lam_status st = lam_vocab_encode(v, text, len, NULL, 0, &ntok, &ls, where);
    if (st != LAM_OK) return st;
    if (ntok < seq + 1)
        return lam_fail(LAM_ERR_FORMAT,
                        "%s: %lld tokens are too few for one window of %lld tokens and its "
                        "next token; hint: a shorter seq or a longer text",
                        where ? where : "text", (long long)ntok, (long long)seq);
    int64_t n = (ntok - seq - 1) / stride + 1;
    if (n > LAM_DATASET_MAX_ROWS)
        return lam_fail(LAM_ERR_FORMAT,
                        "%s: %lld windows are more than a data set holds; hint: a larger stride",
                        where ? where : "text", (long long)n);
    lam_dataset *ds;
    if ((st = lam_dataset_new_ids_strided_(n, seq, stride, lam_vocab_size(v), 0, true, false,
                                           &ds)) != LAM_OK)
        return st;
    int64_t got;
    st = lam_vocab_encode(v, text, len, ds->ids, ds->ids_len, &got, NULL, where);
    LAM_ASSERT(st != LAM_OK || got == ntok);
    if (st != LAM_OK) {
        lam_dataset_free(ds);
        return st;
    }
    if (stats) {
        stats->bytes += ls.bytes;
        stats->tokens += ls.tokens;
        stats->invalid_utf8 += ls.invalid_utf8;
        stats->unknown += ls.unknown;
        stats->truncated += ntok - covered(n, seq + 1, stride); /* tokens in no window */
    }
    *out = ds;
    return LAM_OK;
}

/* A copy of windows [first, first + m) of a next-token set, same stride. */
static lam_status lm_part(const lam_dataset *ds, int64_t first, int64_t m, lam_dataset **out)
{
    lam_dataset *p;
    lam_status st =
        lam_dataset_new_ids_strided_(m, ds->nfeat, ds->ids_stride, ds->vocab, 0, true, false, &p);
    if (st != LAM_OK) return st;
    memcpy(p->ids, ds->ids + first * ds->ids_stride, (size_t)p->ids_len * sizeof(int32_t));
    p->sample_shape = ds->sample_shape;
    *out = p;
    return LAM_OK;
}

lam_status lam_dataset_lm_split(const lam_dataset *ds, double tail_fraction, lam_dataset **head,
                                lam_dataset **tail)
{
    if (!head || !tail) return lam_fail(LAM_ERR_ARG, "lam_dataset_lm_split: output is NULL");
    *head = *tail = NULL;
    if (!ds || !ds->ids || !ds->next_token || ds->lengths || ds->n < 1)
        return lam_fail(LAM_ERR_ARG, "lam_dataset_lm_split: needs a windowed next-token data set "
                                     "(lam_dataset_lm_windows)");
    if (!(tail_fraction > 0 && tail_fraction < 1))
        return lam_fail(LAM_ERR_ARG, "lam_dataset_lm_split: tail_fraction %g is outside (0, 1)",
                        tail_fraction);
    int64_t S = ds->ids_stride, W = ds->nfeat + 1; /* ids a window reads */
    int64_t L = (ds->n - 1) * S + W;               /* the stream the windows cover */
    int64_t cut = L - (int64_t)ceil(tail_fraction * (double)L);
    /* head: windows i with i*S + W <= cut; tail: windows with i*S >= cut */
    int64_t nh = cut >= W ? (cut - W) / S + 1 : 0;
    if (nh > ds->n) nh = ds->n;
    int64_t t0 = (cut + S - 1) / S, nt = t0 < ds->n ? ds->n - t0 : 0;
    if (nh < 1 || nt < 1)
        return lam_fail(LAM_ERR_FORMAT,
                        "lam_dataset_lm_split: a tail of %g of %lld tokens leaves %lld head and "
                        "%lld tail windows of %lld tokens; both parts need one",
                        tail_fraction, (long long)L, (long long)nh, (long long)nt,
                        (long long)ds->nfeat);
    lam_status st = lm_part(ds, 0, nh, head);
    if (st == LAM_OK) st = lm_part(ds, t0, nt, tail);
    if (st != LAM_OK) {
        lam_dataset_free(*head);
        *head = NULL;
    }
    return st;
}

/* "where" of text i of s for messages. */
static const char *text_where(const lam_text_set *s, int64_t i, char *buf, size_t n)
{
    if (s->names && s->names[i]) snprintf(buf, n, "text %lld (%s)", (long long)i, s->names[i]);
    else snprintf(buf, n, "text %lld", (long long)i);
    return buf;
}

static lam_status check_set(const lam_text_set *s, const char *fn)
{
    if (!s || s->n < 0 || (s->n > 0 && (!s->text || !s->len || !s->labels)) || s->nclasses < 1)
        return lam_fail(LAM_ERR_ARG, "%s: not a text set (NULL arrays or no classes)", fn);
    for (int64_t i = 0; i < s->n; i++)
        if ((!s->text[i] && s->len[i]) || s->labels[i] < 0 || s->labels[i] >= s->nclasses)
            return lam_fail(LAM_ERR_ARG, "%s: text %lld is NULL or has label %d outside [0, %d)",
                            fn, (long long)i, (int)s->labels[i], (int)s->nclasses);
    return LAM_OK;
}

lam_status lam_dataset_from_texts(const lam_text_set *s, const uint32_t *idx, int64_t m,
                                  const lam_vocab *v, int64_t seq, lam_text_stats *stats,
                                  lam_dataset **out)
{
    if (!out) return lam_fail(LAM_ERR_ARG, "lam_dataset_from_texts: out is NULL");
    *out = NULL;
    lam_status st = check_set(s, "lam_dataset_from_texts");
    if (st != LAM_OK) return st;
    if (!v || seq < 1 || seq > INT32_MAX)
        return lam_fail(LAM_ERR_ARG,
                        "lam_dataset_from_texts: needs a vocabulary and seq in [1, %d] (%lld)",
                        INT32_MAX, (long long)seq);
    if (!idx) m = s->n;
    if (m < 0) return lam_fail(LAM_ERR_ARG, "lam_dataset_from_texts: m = %lld", (long long)m);
    for (int64_t i = 0; idx && i < m; i++)
        if ((int64_t)idx[i] >= s->n)
            return lam_fail(LAM_ERR_ARG,
                            "lam_dataset_from_texts: idx[%lld] = %u is out of range for %lld texts",
                            (long long)i, idx[i], (long long)s->n);
    lam_dataset *ds;
    if ((st = lam_dataset_new_ids(m, seq, lam_vocab_size(v), s->nclasses, false, true, &ds)) !=
        LAM_OK)
        return st;
    if (s->class_names &&
        !(ds->class_names = lam_names_copy_((const char *const *)s->class_names, s->nclasses))) {
        lam_dataset_free(ds);
        return LAM_ERR_NOMEM;
    }
    int32_t pad = lam_vocab_pad_id(v), fill = pad >= 0 ? pad : 0;
    lam_text_stats ls = {0};
    char where[300];
    for (int64_t i = 0; i < m && st == LAM_OK; i++) {
        int64_t r = idx ? (int64_t)idx[i] : i, ntok;
        int32_t *row = ds->ids + i * seq;
        st = lam_vocab_encode(v, s->text[r], s->len[r], row, seq, &ntok, &ls,
                              text_where(s, r, where, sizeof where));
        if (st != LAM_OK) break;
        int64_t kept = ntok < seq ? ntok : seq;
        if (ntok == 0) {
            if (pad < 0) {
                st = lam_fail(LAM_ERR_FORMAT,
                              "%s: the text holds no token; hint: build the vocabulary with "
                              "pad = true (an empty text becomes one <pad>) or drop empty texts",
                              where);
                break;
            }
            row[0] = pad;
            kept = 1;
        }
        for (int64_t j = kept; j < seq; j++) row[j] = fill;
        ds->lengths[i] = (int32_t)kept;
        ds->labels[i] = s->labels[r];
    }
    if (st != LAM_OK) {
        lam_dataset_free(ds);
        return st;
    }
    if (stats) {
        stats->bytes += ls.bytes;
        stats->tokens += ls.tokens;
        stats->invalid_utf8 += ls.invalid_utf8;
        stats->unknown += ls.unknown;
        stats->truncated += ls.truncated;
    }
    *out = ds;
    return LAM_OK;
}

lam_status lam_dataset_doc_windows(const lam_text_set *s, const lam_vocab *v, int64_t seq,
                                   int64_t stride, double test_fraction, lam_text_stats *stats,
                                   lam_dataset **train, lam_dataset **test)
{
    if (train) *train = NULL;
    if (test) *test = NULL;
    if (!train || (!test && test_fraction != 0))
        return lam_fail(LAM_ERR_ARG, "lam_dataset_doc_windows: output is NULL");
    lam_status st = check_set(s, "lam_dataset_doc_windows");
    if (st != LAM_OK) return st;
    if (!v || seq < 1 || seq > INT32_MAX || stride < 1 || stride > INT32_MAX)
        return lam_fail(LAM_ERR_ARG,
                        "lam_dataset_doc_windows: needs a vocabulary, seq and stride in [1, %d]",
                        INT32_MAX);
    if (!(test_fraction >= 0 && test_fraction < 1))
        return lam_fail(LAM_ERR_ARG, "lam_dataset_doc_windows: test_fraction %g is outside [0, 1)",
                        test_fraction);
    lam_tokenizer tok = lam_vocab_tokenizer(v);
    bool want_test = test_fraction > 0;
    /* pass 1: token counts of every part (and the encoder's errors) */
    int64_t ntr = 0, nte = 0, maxtok = 0, incl = 0;
    lam_text_stats ls = {0};
    char where[300];
    for (int64_t i = 0; i < s->n; i++) {
        size_t cut = text_cut(tok, s->text[i], s->len[i], test_fraction);
        int64_t a, b = 0;
        text_where(s, i, where, sizeof where);
        if ((st = lam_vocab_encode(v, s->text[i], cut, NULL, 0, &a, &ls, where)) != LAM_OK)
            return st;
        if (want_test && (st = lam_vocab_encode(v, s->text[i] + cut, s->len[i] - cut, NULL, 0, &b,
                                                &ls, where)) != LAM_OK)
            return st;
        int64_t wa = nwin(a, seq, stride), wb = want_test ? nwin(b, seq, stride) : 0;
        ntr += wa;
        nte += wb;
        incl += covered(wa, seq, stride) + covered(wb, seq, stride);
        if (a > maxtok) maxtok = a;
        if (b > maxtok) maxtok = b;
        if (ntr > LAM_DATASET_MAX_ROWS || nte > LAM_DATASET_MAX_ROWS)
            return lam_fail(LAM_ERR_FORMAT,
                            "lam_dataset_doc_windows: more windows than a data set holds; "
                            "hint: a larger stride");
    }
    if (ntr == 0)
        return lam_fail(LAM_ERR_FORMAT,
                        "lam_dataset_doc_windows: no training window: the training part of "
                        "every one of the %lld documents is shorter than %lld tokens; hint: a "
                        "shorter seq",
                        (long long)s->n, (long long)seq);
    if (want_test && nte == 0)
        return lam_fail(LAM_ERR_FORMAT,
                        "lam_dataset_doc_windows: no test window: the test part (%g) of every "
                        "document is shorter than %lld tokens; hint: a shorter seq or a larger "
                        "test_fraction",
                        test_fraction, (long long)seq);
    lam_dataset *parts[2] = {NULL, NULL};
    int32_t *buf = lam_calloc((size_t)(maxtok ? maxtok : 1), sizeof *buf);
    if (!buf) return LAM_ERR_NOMEM;
    for (int k = 0; k < 2 && st == LAM_OK; k++) {
        if (k == 1 && !want_test) break;
        st = lam_dataset_new_ids(k ? nte : ntr, seq, lam_vocab_size(v), s->nclasses, false, false,
                                 &parts[k]);
        if (st == LAM_OK && s->class_names &&
            !(parts[k]->class_names =
                  lam_names_copy_((const char *const *)s->class_names, s->nclasses)))
            st = LAM_ERR_NOMEM;
    }
    /* pass 2: the windows */
    int64_t row[2] = {0, 0};
    for (int64_t i = 0; i < s->n && st == LAM_OK; i++) {
        size_t cut = text_cut(tok, s->text[i], s->len[i], test_fraction);
        for (int k = 0; k < (want_test ? 2 : 1) && st == LAM_OK; k++) {
            const char *t = k ? s->text[i] + cut : s->text[i];
            size_t n = k ? s->len[i] - cut : cut;
            int64_t ntok;
            if ((st = lam_vocab_encode(v, t, n, buf, maxtok, &ntok, NULL, NULL)) != LAM_OK) break;
            lam_dataset *p = parts[k];
            for (int64_t w = 0; w < nwin(ntok, seq, stride); w++, row[k]++) {
                memcpy(p->ids + row[k] * seq, buf + w * stride, (size_t)seq * sizeof(int32_t));
                p->labels[row[k]] = s->labels[i];
            }
        }
    }
    lam_free(buf);
    if (st != LAM_OK) {
        lam_dataset_free(parts[0]);
        lam_dataset_free(parts[1]);
        return st;
    }
    LAM_ASSERT(row[0] == ntr && row[1] == nte);
    if (stats) {
        stats->bytes += ls.bytes;
        stats->tokens += ls.tokens;
        stats->invalid_utf8 += ls.invalid_utf8;
        stats->unknown += ls.unknown;
        stats->truncated += ls.tokens - incl; /* tokens in no window */
    }
    *train = parts[0];
    if (test) *test = parts[1];
    return LAM_OK;
}
