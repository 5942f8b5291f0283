/* The per-epoch log of a run folder, metrics.csv, read for the run report's
 * curves.  lam_fit writes it: the header
 * stage,epoch,train_loss,train_acc,val_loss,val_acc,lr,seconds then one row
 * per epoch, "nan" where a value does not apply.  The report is made from
 * results.json; the log only adds curves, so it is read leniently: a missing
 * file, a wrong header or malformed rows (a line cut short by a killed
 * process, an edit) are recorded for the report to mention, and the rows
 * that parse are kept.  Only a file that exists but cannot be read is an
 * error. */
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "train/report_internal.h"

#define LOG_HEADER "stage,epoch,train_loss,train_acc,val_loss,val_acc,lr,seconds"

static const char *const field_name[8] = {"stage", "epoch", "train_loss", "train_acc",
                                          "val_loss", "val_acc", "lr", "seconds"};

/* s[0..n) for a message: at most 24 bytes, anything but printable ASCII as '?' */
static void quote(char *out, size_t cap, const char *s, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n && i < 24 && k + 1 < cap; i++) out[k++] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
    if (n > 24 && k + 3 < cap) out[k++] = '.', out[k++] = '.', out[k++] = '.';
    out[k] = 0;
}

/* A number of the log: what %.6f / %.6g / %.4f wrote, or nan / inf. */
static bool parse_value(const char *s, size_t n, locale_t cloc, double *v)
{
    char t[64];
    if (n == 0 || n >= sizeof t || s[0] == ' ' || s[0] == '\t') return false;
    memcpy(t, s, n);
    t[n] = 0;
    const char *u = t[0] == '-' || t[0] == '+' ? t + 1 : t;
    if (!strcmp(u, "nan") || !strcmp(u, "NaN")) {
        *v = NAN;
        return true;
    }
    char *end;
    *v = cloc ? strtod_l(t, &end, cloc) : strtod(t, &end);
    return end == t + n;
}

static bool parse_count(const char *s, size_t n, int *v)
{
    if (n == 0 || n > 9) return false;
    int x = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        x = x * 10 + (s[i] - '0');
    }
    *v = x;
    return x >= 1;
}

/* One data row; false with *why set when it is malformed. */
static bool parse_row(const char *s, size_t n, locale_t cloc, lam_report_epoch *r, char *why, size_t cap)
{
    const char *f[8];
    size_t len[8];
    int nf = 0;
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && s[i] != ',') continue;
        if (nf < 8) {
            f[nf] = s + start;
            len[nf] = i - start;
        }
        nf++;
        start = i + 1;
    }
    if (nf != 8) {
        snprintf(why, cap, "%d fields, expected 8", nf);
        return false;
    }
    double *val[6] = {&r->train_loss, &r->train_acc, &r->val_loss, &r->val_acc, &r->lr, &r->seconds};
    char q[32];
    for (int k = 0; k < 8; k++) {
        bool ok = k == 0 ? parse_count(f[0], len[0], &r->stage)
                : k == 1 ? parse_count(f[1], len[1], &r->epoch)
                         : parse_value(f[k], len[k], cloc, val[k - 2]);
        if (!ok) {
            quote(q, sizeof q, f[k], len[k]);
            snprintf(why, cap, "%s is not %s: '%s'", field_name[k], k < 2 ? "a positive integer" : "a number", q);
            return false;
        }
    }
    return true;
}

static void parse_lines(lam_report_log *log, const char *buf, size_t size, lam_status *st)
{
    locale_t cloc = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    int64_t line = 0;
    for (size_t pos = 0; pos < size && *st == LAM_OK;) {
        const char *nl = memchr(buf + pos, '\n', size - pos);
        size_t end = nl ? (size_t)(nl - buf) : size, n = end - pos;
        const char *s = buf + pos;
        pos = end + 1;
        line++;
        if (n && s[n - 1] == '\r') n--;
        if (line == 1) {
            if (n != strlen(LOG_HEADER) || memcmp(s, LOG_HEADER, n) != 0) {
                char q[32];
                quote(q, sizeof q, s, n);
                log->bad_header = true;
                snprintf(log->why, sizeof log->why, "the first line is '%s', not the header %s", q, LOG_HEADER);
                break;
            }
            continue;
        }
        if (n == 0) continue;
        lam_report_epoch r;
        char why[128];
        if (!parse_row(s, n, cloc, &r, why, sizeof why)) {
            if (log->bad_rows++ == 0) {
                log->first_bad_line = line;
                snprintf(log->why, sizeof log->why, "%s", why);
            }
            continue;
        }
        void *rows = log->rows;
        *st = lam_grow(&rows, &log->cap, log->n + 1, sizeof r, 64, "the rows of metrics.csv");
        log->rows = rows;
        if (*st == LAM_OK) log->rows[log->n++] = r;
    }
    if (cloc) freelocale(cloc);
}

lam_status lam_report_log_read_(const char *path, lam_report_log *log)
{
    memset(log, 0, sizeof *log);
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (errno == ENOENT) return LAM_OK;
        return lam_fail(LAM_ERR_IO, "%s: cannot open the per-epoch log: %s", path, strerror(errno));
    }
    log->found = true;
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        fclose(f);
        return lam_fail(LAM_ERR_IO, "%s: the per-epoch log is not a regular file", path);
    }
    if ((uint64_t)sb.st_size > LAM_REPORT_MAX_LOG) {
        fclose(f);
        log->too_large = true;
        snprintf(log->why, sizeof log->why, "it holds %lld bytes, more than the %d MiB the report reads",
                 (long long)sb.st_size, (int)(LAM_REPORT_MAX_LOG >> 20));
        return LAM_OK;
    }
    size_t size = (size_t)sb.st_size;
    char *buf = lam_malloc(size + 1);
    if (!buf) {
        fclose(f);
        return LAM_ERR_NOMEM;
    }
    size = fread(buf, 1, size, f); /* a log still being written may have grown: its start is enough */
    int err = ferror(f);
    fclose(f);
    lam_status st = LAM_OK;
    if (err) st = lam_fail(LAM_ERR_IO, "%s: read error in the per-epoch log", path);
    else parse_lines(log, buf, size, &st);
    lam_free(buf);
    if (st != LAM_OK) lam_report_log_free_(log);
    return st;
}

void lam_report_log_free_(lam_report_log *log)
{
    lam_free(log->rows);
    log->rows = NULL;
    log->n = log->cap = 0;
}
