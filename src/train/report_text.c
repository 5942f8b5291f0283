/* HTML output for the run report: markup appended to a lam_json_buf,
 * strings from the run's files escaped for HTML, and numbers formatted for
 * people (thousands separators, significant digits, bytes, durations, SI
 * prefixes), all independent of the C locale.  See report_internal.h. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train/report_internal.h"

#define DASH "\xe2\x80\x94" /* U+2014, for values that are not numbers */

void lam_report_puts_(lam_json_buf *b, const char *s) { lam_json_buf_puts(b, s); }

void lam_report_printf_(lam_json_buf *b, const char *fmt, ...)
{
    if (b->status != LAM_OK) return;
    char tmp[1024];
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) {
        va_end(ap2);
        return;
    }
    if ((size_t)n < sizeof tmp) {
        lam_json_buf_append(b, tmp, (size_t)n);
    } else {
        char *big = lam_malloc((size_t)n + 1);
        if (big) {
            vsnprintf(big, (size_t)n + 1, fmt, ap2);
            lam_json_buf_append(b, big, (size_t)n);
            lam_free(big);
        } else {
            b->status = LAM_ERR_NOMEM;
        }
    }
    va_end(ap2);
}

void lam_report_esc_(lam_json_buf *b, const char *s, size_t n)
{
    size_t run = 0; /* start of the pending verbatim run */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *e;
        switch (c) {
        case '&': e = "&amp;"; break;
        case '<': e = "&lt;"; break;
        case '>': e = "&gt;"; break;
        case '"': e = "&quot;"; break;
        case '\'': e = "&#39;"; break;
        case '\t': case '\n': case '\r': continue;
        default:
            if (c >= 0x20 && c != 0x7f) continue;
            e = "\xef\xbf\xbd"; /* control characters (NUL too) are not allowed in HTML text */
        }
        lam_json_buf_append(b, s + run, i - run);
        lam_json_buf_puts(b, e);
        run = i + 1;
    }
    lam_json_buf_append(b, s + run, n - run);
}

void lam_report_escz_(lam_json_buf *b, const char *s) { lam_report_esc_(b, s, strlen(s)); }

size_t lam_report_chars_(const char *s, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) k += ((unsigned char)s[i] & 0xc0) != 0x80;
    return k;
}

void lam_report_esc_cut_(lam_json_buf *b, const char *s, size_t n, size_t max_chars)
{
    if (max_chars < 2 || lam_report_chars_(s, n) <= max_chars) {
        lam_report_esc_(b, s, n);
        return;
    }
    size_t i = 0, k = 0; /* keep max_chars - 1 characters, then the ellipsis */
    for (; i < n; i++) {
        if (((unsigned char)s[i] & 0xc0) != 0x80 && k++ == max_chars - 1) break;
    }
    lam_report_esc_(b, s, i);
    lam_json_buf_puts(b, "\xe2\x80\xa6");
}

/* ---- numbers -------------------------------------------------------------------- */

const char *lam_report_num_(char *out, size_t cap, const char *fmt, double x)
{
    if (!isfinite(x)) {
        snprintf(out, cap, "%s", DASH);
        return out;
    }
    char t[128];
    snprintf(t, sizeof t, fmt, x);
    lam_c_decimal(out, cap, t); /* whatever the locale's decimal point, write '.' */
    return out;
}

const char *lam_report_int_(char *out, size_t cap, int64_t x)
{
    char d[32];
    uint64_t u = x < 0 ? (uint64_t)0 - (uint64_t)x : (uint64_t)x;
    int nd = snprintf(d, sizeof d, "%llu", (unsigned long long)u);
    size_t k = 0;
    if (x < 0 && k + 1 < cap) out[k++] = '-';
    for (int i = 0; i < nd && k + 1 < cap; i++) {
        if (i && (nd - i) % 3 == 0 && k + 2 < cap) out[k++] = ',';
        out[k++] = d[i];
    }
    out[k] = 0;
    return out;
}

const char *lam_report_sig_(char *out, size_t cap, double x, int sig)
{
    if (!isfinite(x)) return lam_report_num_(out, cap, "%f", x);
    if (x == 0) {
        snprintf(out, cap, "0");
        return out;
    }
    if (sig < 1) sig = 1;
    if (sig > 12) sig = 12;
    char e[64], fmt[16];
    snprintf(fmt, sizeof fmt, "%%.%de", sig - 1);
    lam_report_num_(e, sizeof e, fmt, x); /* d.ddde[+-]XX, rounded: its exponent is the real one */
    const char *ep = strchr(e, 'e');
    int ex = ep ? atoi(ep + 1) : 0;
    if (ex >= sig && fabs(x) < 9e18) return lam_report_int_(out, cap, llround(x));
    if (ex < -3 || ex >= sig) { /* 5.363e-4: the mantissa and a short exponent */
        snprintf(out, cap, "%.*se%d", (int)(ep ? ep - e : 0), e, ex);
        return out;
    }
    snprintf(fmt, sizeof fmt, "%%.%df", sig - 1 - ex > 0 ? sig - 1 - ex : 0);
    return lam_report_num_(out, cap, fmt, x);
}

const char *lam_report_bytes_(char *out, size_t cap, double bytes)
{
    static const char *const unit[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
    if (!isfinite(bytes) || bytes < 0) return lam_report_num_(out, cap, "%f", NAN);
    if (bytes < 1024) {
        snprintf(out, cap, "%lld B", (long long)bytes);
        return out;
    }
    int u = 0;
    double v = bytes / 1024;
    while (v >= 1024 && u < 4) v /= 1024, u++;
    if (v >= 999.95 && u < 4) v /= 1024, u++; /* 1.000 MiB, not 1,024 KiB */
    char num[48];
    snprintf(out, cap, "%s %s", lam_report_sig_(num, sizeof num, v, 4), unit[u]);
    return out;
}

const char *lam_report_seconds_(char *out, size_t cap, double s)
{
    char num[48];
    if (!isfinite(s) || s < 0) return lam_report_num_(out, cap, "%f", NAN);
    if (s == 0) snprintf(out, cap, "0 s");
    else if (s < 1e-3) snprintf(out, cap, "%s \xc2\xb5s", lam_report_sig_(num, sizeof num, s * 1e6, 4));
    else if (s < 1) snprintf(out, cap, "%s ms", lam_report_sig_(num, sizeof num, s * 1e3, 4));
    else if (s < 59.995) snprintf(out, cap, "%s s", lam_report_sig_(num, sizeof num, s, 4));
    else if (s < 3599.5) {
        long long t = llround(s);
        snprintf(out, cap, "%lld min %lld s", t / 60, t % 60);
    } else {
        double h = floor(s / 3600);
        long long min = llround((s - h * 3600) / 60);
        if (min == 60) h += 1, min = 0;
        snprintf(out, cap, "%s h %02lld min", lam_report_int_(num, sizeof num, (int64_t)h), min);
    }
    return out;
}

const char *lam_report_si_(char *out, size_t cap, double x)
{
    static const char *const prefix[] = {"k", "M", "G", "T", "P", "E"};
    if (!isfinite(x)) return lam_report_num_(out, cap, "%f", x);
    char num[48];
    if (fabs(x) < 999.5) {
        if (x == floor(x)) return lam_report_int_(out, cap, (int64_t)x);
        return lam_report_sig_(out, cap, x, 4);
    }
    int p = 0;
    double v = x / 1000;
    while (fabs(v) >= 999.95 && p < 5) v /= 1000, p++;
    snprintf(out, cap, "%s %s", lam_report_sig_(num, sizeof num, v, 4), prefix[p]);
    return out;
}
