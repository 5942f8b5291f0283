/* Values of CSV fields shared by the readers of csv.c, text.c and
 * timeseries.c: the missing-value markers, strict number parsing (the same
 * bits as strtod) and interned label strings with a hash index. */
#include "csv_internal.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool ieq(const char *a, size_t n, const char *b)
{
    if (strlen(b) != n) return false;
    for (size_t i = 0; i < n; i++) {
        char x = a[i] >= 'A' && a[i] <= 'Z' ? (char)(a[i] - 'A' + 'a') : a[i];
        if (x != b[i]) return false;
    }
    return true;
}

/* Missing-value markers: empty, NA, N/A, NaN (any case), "?". */
bool csv_is_missing(const char *s, size_t n)
{
    if (n == 0) return true;
    if (n > 3) return false;
    if (n == 1) return s[0] == '?';
    return ieq(s, n, "na") || ieq(s, n, "nan") || ieq(s, n, "n/a");
}

/* Clinger's fast path for plain decimals ([+-]digits[.digits][e[+-]digits]):
 * with a mantissa below 2^53 and a power of ten up to 22 one IEEE operation
 * is correctly rounded, so the result equals strtod's bit for bit.  Returns
 * false to fall back to strtod. */
static bool parse_fast(const char *s, size_t n, double *v)
{
#if FLT_EVAL_METHOD == 0
    static const double p10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                   1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                   1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    size_t i = 0;
    bool neg = false, any = false;
    if (i < n && (s[i] == '-' || s[i] == '+')) neg = s[i++] == '-';
    uint64_t m = 0;
    int e10 = 0;
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++, any = true) {
        m = m * 10 + (uint64_t)(s[i] - '0');
        if (m > ((uint64_t)1 << 53)) return false;
    }
    if (i < n && s[i] == '.')
        for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++, any = true, e10--) {
            m = m * 10 + (uint64_t)(s[i] - '0');
            if (m > ((uint64_t)1 << 53)) return false;
        }
    if (!any) return false;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        bool eneg = false;
        int e = 0, nd = 0;
        i++;
        if (i < n && (s[i] == '-' || s[i] == '+')) eneg = s[i++] == '-';
        for (; i < n && s[i] >= '0' && s[i] <= '9' && nd < 4; i++, nd++) e = e * 10 + (s[i] - '0');
        if (nd == 0) return false;
        e10 += eneg ? -e : e;
    }
    if (i != n || e10 < -22 || e10 > 22) return false;
    double d = (double)m;
    d = e10 < 0 ? d / p10[-e10] : d * p10[e10];
    *v = neg ? -d : d;
    return true;
#else
    (void)s, (void)n, (void)v;
    return false;
#endif
}

/* 0: a finite number in *v; 1: not a number; 2: infinite / out of float range. */
int csv_parse_num(const char *s, size_t n, double *v)
{
    if (n == 0 || s[0] == ' ' || s[0] == '\t' || s[0] == '\n' || s[0] == '\r') return 1;
    if (parse_fast(s, n, v)) return fabs(*v) > FLT_MAX ? 2 : 0;
    char *end;
    double d = strtod(s, &end);
    if (end == s || end != s + n) return 1;
    if (!isfinite(d) || fabs(d) > FLT_MAX) return 2;
    *v = d;
    return 0;
}

/* ---- label strings ---------------------------------------------------------- */

static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return h;
}

void csv_strtab_free(csv_strtab *t)
{
    lam_free(t->pool);
    lam_free(t->ent);
    lam_free(t->h);
    memset(t, 0, sizeof *t);
}

int32_t csv_strtab_find(const csv_strtab *t, const char *s, size_t n, size_t *slot)
{
    if (!t->hcap) return -1;
    size_t m = t->hcap - 1, i = (size_t)hash_bytes(s, n) & m;
    while (t->h[i] >= 0) {
        int32_t id = t->h[i];
        if (t->ent[id].len == n && memcmp(t->pool + t->ent[id].off, s, n) == 0) return id;
        i = (i + 1) & m;
    }
    if (slot) *slot = i;
    return -1;
}

static lam_status tab_rehash(csv_strtab *t, size_t hcap)
{
    int32_t *h = lam_malloc(hcap * sizeof *h);
    if (!h) return LAM_ERR_NOMEM;
    for (size_t i = 0; i < hcap; i++) h[i] = -1;
    for (int32_t id = 0; id < t->n; id++) {
        size_t i = (size_t)hash_bytes(t->pool + t->ent[id].off, t->ent[id].len) & (hcap - 1);
        while (h[i] >= 0) i = (i + 1) & (hcap - 1);
        h[i] = id;
    }
    lam_free(t->h);
    t->h = h;
    t->hcap = hcap;
    return LAM_OK;
}

/* Id of string s, added when new (*added set). */
lam_status csv_strtab_intern(csv_strtab *t, const char *s, size_t n, int32_t *id, bool *added)
{
    lam_status st;
    *added = false;
    if ((size_t)(t->n + 1) * 2 > t->hcap) {
        size_t nh;
        if (!lam_mul_size(t->hcap ? t->hcap : 32, 2, &nh))
            return lam_fail(LAM_ERR_NOMEM, "label table overflows");
        if ((st = tab_rehash(t, nh)) != LAM_OK) return st;
    }
    size_t slot = 0;
    if ((*id = csv_strtab_find(t, s, n, &slot)) >= 0) return LAM_OK;
    size_t need;
    if (!lam_add_size(t->used, n, &need) || !lam_add_size(need, 1, &need))
        return lam_fail(LAM_ERR_NOMEM, "label table overflows");
    if ((st = lam_grow((void **)&t->pool, &t->cap, need, 1, 256, "CSV data")) != LAM_OK) return st;
    if ((st = lam_grow((void **)&t->ent, &t->ecap, (size_t)t->n + 1, sizeof *t->ent, 256, "CSV data")) != LAM_OK)
        return st;
    memcpy(t->pool + t->used, s, n);
    t->pool[t->used + n] = 0;
    t->ent[t->n].off = t->used;
    t->ent[t->n].len = n;
    t->used = need;
    t->h[slot] = t->n;
    *id = t->n++;
    *added = true;
    return LAM_OK;
}

lam_status csv_resolve_col(const char *path, const csv_rec *head, int ncols, lam_csv_col col, const char *what,
                           int *idx)
{
    if (col.name) {
        int found = -1;
        for (int j = 0; j < ncols; j++) {
            if (head->f[j].len == strlen(col.name) && memcmp(csv_field_text(head, j), col.name, head->f[j].len) == 0) {
                if (found >= 0)
                    return lam_fail(LAM_ERR_ARG,
                                    "%s:%lld: %s column '%s' appears twice in the header "
                                    "(fields %d and %d); hint: select it by index",
                                    path, (long long)head->line, what, col.name, found + 1, j + 1);
                found = j;
            }
        }
        if (found < 0) {
            char list[256] = "", shown[64];
            size_t k = 0;
            for (int j = 0; j < ncols && k + 70 < sizeof list; j++)
                k += (size_t)snprintf(list + k, sizeof list - k, "%s'%s'", j ? ", " : "",
                                      csv_show(csv_field_text(head, j), head->f[j].len, shown, sizeof shown));
            return lam_fail(LAM_ERR_ARG, "%s:%lld: no %s column named '%s' in the header; the columns are %s%s", path,
                            (long long)head->line, what, col.name, list, ncols > 0 && k + 70 >= sizeof list ? ", ..." : "");
        }
        *idx = found;
        return LAM_OK;
    }
    long j = col.index < 0 ? (long)ncols + col.index : col.index;
    if (j < 0 || j >= ncols)
        return lam_fail(LAM_ERR_ARG,
                        "%s: %s column %d is out of range: the file has %d columns (line %lld); "
                        "hint: indices start at 0, negative ones count from the end",
                        path, what, col.index, ncols, (long long)head->line);
    *idx = (int)j;
    return LAM_OK;
}
