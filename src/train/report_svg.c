/* The run report's pictures, as inline SVG that needs no script: line
 * charts of the per-epoch log (axes, "nice" ticks, a log scale for losses
 * spanning decades, legend, stage boundaries, the best epoch) and the
 * confusion matrix as a heat map coloured by the share of each true class.
 * Colours come from CSS classes (the report's style sheet), so the pictures
 * follow its light and dark palettes.  See report_internal.h. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "train/report_internal.h"

/* chart geometry (SVG user units; the element scales to its container) */
enum { CW = 560, CH = 304, ML = 64, MR = 18, MT = 40, MB = 42 };
#define PW ((double)(CW - ML - MR))
#define PH ((double)(CH - MT - MB))

/* 1, 2 or 5 times a power of ten, at least x */
static double nice_step(double x)
{
    if (!(x > 0)) return 1;
    double p = pow(10, floor(log10(x))), f = x / p;
    return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
}

static double yval(const lam_report_line *l, int i)
{
    return *(const double *)((const char *)l->y + (size_t)i * l->stride) * (l->scale != 0 ? l->scale : 1);
}

typedef struct scale {
    bool log;
    double lo, hi;   /* the axis range (values) */
    double x0, x1;   /* the x range */
} scale;

static double px(const scale *s, double x) { return ML + (x - s->x0) / (s->x1 - s->x0) * PW; }

static double py(const scale *s, double y)
{
    double t = s->log ? log10(y) : y, lo = s->log ? log10(s->lo) : s->lo, hi = s->log ? log10(s->hi) : s->hi;
    return MT + PH - (t - lo) / (hi - lo) * PH;
}

static const char *coord(char *out, size_t cap, double v) { return lam_report_num_(out, cap, "%.1f", v); }

static void tick_y(lam_json_buf *b, const scale *s, double v, const char *label)
{
    char a[48], c[48];
    double y = py(s, v);
    lam_report_printf_(b, "<line class=\"gr\" x1=\"%d\" x2=\"%d\" y1=\"%s\" y2=\"%s\"/>", ML, CW - MR, coord(a, sizeof a, y),
                       coord(c, sizeof c, y));
    lam_report_printf_(b, "<text class=\"tk\" x=\"%d\" y=\"%s\" text-anchor=\"end\">%s</text>", ML - 6,
                       coord(a, sizeof a, y + 3.5), label);
}

/* 10^e as "×10⁻³" (superscript digits) */
static void power_of_ten(char *out, size_t cap, int e)
{
    static const char *const sup[10] = {"\xe2\x81\xb0", "\xc2\xb9", "\xc2\xb2", "\xc2\xb3", "\xe2\x81\xb4",
                                        "\xe2\x81\xb5", "\xe2\x81\xb6", "\xe2\x81\xb7", "\xe2\x81\xb8", "\xe2\x81\xb9"};
    char d[16];
    snprintf(d, sizeof d, "%d", e < 0 ? -e : e);
    size_t k = (size_t)snprintf(out, cap, "\xc3\x97" "10%s", e < 0 ? "\xe2\x81\xbb" : "");
    for (int i = 0; d[i] && k + 4 < cap; i++) k += (size_t)snprintf(out + k, cap - k, "%s", sup[d[i] - '0']);
}

/* y ticks and grid lines; the range is widened to whole ticks (linear) or
 * decades (log).  Linear ticks of very small or large values are written
 * as multiples of a power of ten, put in *factor ("×10⁻³", else ""). */
static void y_axis(lam_json_buf *b, scale *s, double mn, double mx, bool zero, char *factor, size_t fcap)
{
    char lab[64];
    factor[0] = 0;
    if (s->log) {
        int e0 = (int)floor(log10(mn) + 1e-9), e1 = (int)ceil(log10(mx) - 1e-9);
        if (e1 <= e0) e1 = e0 + 1;
        /* the bounds: 1, 2 or 5 times a power of ten, as close as they come */
        s->lo = pow(10, e0);
        s->hi = pow(10, e1);
        if (5 * s->lo <= mn) s->lo *= 5;
        else if (2 * s->lo <= mn) s->lo *= 2;
        if (s->hi / 5 >= mx && s->hi / 5 > s->lo * 3) s->hi /= 5;
        else if (s->hi / 2 >= mx && s->hi / 2 > s->lo * 3) s->hi /= 2;
        for (int e = e0; e <= e1; e++) {
            static const double mult[3] = {1, 2, 5};
            for (int k = 0; k < (e1 - e0 <= 2 ? 3 : 1); k++) {
                double v = mult[k] * pow(10, e);
                if (v > s->hi * (1 + 1e-9)) break;
                if (v < s->lo * (1 - 1e-9)) continue;
                tick_y(b, s, v, lam_report_sig_(lab, sizeof lab, v, 1));
            }
        }
        if (e1 - e0 > 2) { /* only decades were ticked: label bounds that are not */
            if (s->lo > pow(10, e0) * (1 + 1e-9)) tick_y(b, s, s->lo, lam_report_sig_(lab, sizeof lab, s->lo, 1));
            if (s->hi < pow(10, e1) * (1 - 1e-9)) tick_y(b, s, s->hi, lam_report_sig_(lab, sizeof lab, s->hi, 1));
        }
        return;
    }
    double lo = zero && mn > 0 ? 0 : mn, hi = zero && mx < 0 ? 0 : mx;
    if (hi - lo <= fabs(hi) * 1e-12) {
        double pad = fabs(lo) > 0 ? fabs(lo) * 0.1 : 1;
        lo = zero && lo >= 0 ? 0 : lo - pad;
        hi += pad;
    }
    double step = nice_step((hi - lo) / 5);
    s->lo = floor(lo / step + 1e-9) * step;
    s->hi = ceil(hi / step - 1e-9) * step;
    double big = fmax(fabs(s->lo), fabs(s->hi));
    int e = big > 0 && (big < 1e-2 || big >= 1e5) ? (int)floor(log10(big)) : 0;
    double f = pow(10, -e), fstep = step * f;
    if (e) power_of_ten(factor, fcap, e);
    int dec = fstep >= 1 ? 0 : (int)ceil(-log10(fstep) - 1e-9);
    char fmt[16];
    snprintf(fmt, sizeof fmt, "%%.%df", dec > 9 ? 9 : dec);
    for (int k = 0; k <= 12; k++) {
        double v = s->lo + k * step;
        if (v > s->hi + step * 1e-6) break;
        if (fabs(v) < step * 1e-6) v = 0;
        if (fstep >= 1) lam_report_int_(lab, sizeof lab, (int64_t)llround(v * f));
        else lam_report_num_(lab, sizeof lab, fmt, v * f);
        tick_y(b, s, v, lab);
    }
}

static void x_axis(lam_json_buf *b, const scale *s, int n)
{
    char a[48], c[48];
    int step = (int)ceil(nice_step((double)(n > 1 ? n - 1 : 1) / 8));
    if (step < 1) step = 1;
    for (int x = 1; x <= n; x = x == 1 && step > 1 ? step : x + step) {
        double X = px(s, x);
        lam_report_printf_(b, "<line class=\"ax\" x1=\"%s\" x2=\"%s\" y1=\"%d\" y2=\"%d\"/>", coord(a, sizeof a, X),
                           coord(c, sizeof c, X), CH - MB, CH - MB + 4);
        lam_report_printf_(b, "<text class=\"tk\" x=\"%s\" y=\"%d\" text-anchor=\"middle\">%d</text>",
                           coord(a, sizeof a, X), CH - MB + 16, x);
    }
}

static void marks(lam_json_buf *b, const lam_report_chart *c, const scale *s)
{
    char a[48], d[48];
    for (int k = 0; k < c->nmarks; k++) {
        const lam_report_mark *m = &c->mark[k];
        if (m->at < 0 || m->at >= c->n) continue;
        double X = m->best ? px(s, m->at + 1) : m->at == 0 ? ML : px(s, m->at + 0.5);
        lam_report_printf_(b, "<g class=\"%s\">", m->best ? "best" : "stage");
        if (m->title) {
            lam_report_puts_(b, "<title>");
            lam_report_esc_(b, m->title, m->title_len);
            lam_report_puts_(b, "</title>");
        }
        if (m->at > 0 || m->best)
            lam_report_printf_(b, "<line x1=\"%s\" x2=\"%s\" y1=\"%d\" y2=\"%d\"/>", coord(a, sizeof a, X),
                               coord(d, sizeof d, X), MT, CH - MB);
        if (m->label) {
            /* stage labels at the top, cut to the room before the next boundary */
            double room = CW - MR - X - 6;
            for (int j = k + 1; !m->best && j < c->nmarks; j++)
                if (!c->mark[j].best && c->mark[j].at > m->at) {
                    room = px(s, c->mark[j].at + 0.5) - X - 6;
                    break;
                }
            size_t chars = m->best ? 8 : room > 0 ? (size_t)(room / 6) : 0;
            if (chars >= 2) {
                lam_report_printf_(b, "<text x=\"%s\" y=\"%d\">", coord(a, sizeof a, X + 4),
                                   m->best ? CH - MB - 6 : MT - 5);
                lam_report_esc_cut_(b, m->label, m->label_len, chars);
                lam_report_puts_(b, "</text>");
            }
        }
        lam_report_puts_(b, "</g>");
    }
}

static void legend(lam_json_buf *b, const lam_report_chart *c, bool log)
{
    double x = ML;
    for (int l = 0; l < c->nlines; l++) {
        char a[48], d[48];
        lam_report_printf_(b, "<g class=\"lg\"><line class=\"%s\" x1=\"%s\" x2=\"%s\" y1=\"12\" y2=\"12\"/>",
                           c->line[l].cls, coord(a, sizeof a, x), coord(d, sizeof d, x + 18));
        lam_report_printf_(b, "<text x=\"%s\" y=\"16\">", coord(a, sizeof a, x + 24));
        lam_report_escz_(b, c->line[l].label);
        lam_report_puts_(b, "</text></g>");
        x += 24 + 6.6 * (double)strlen(c->line[l].label) + 18;
    }
    if (log) lam_report_printf_(b, "<text class=\"tk\" x=\"%d\" y=\"16\" text-anchor=\"end\">log scale</text>", CW - MR);
}

/* the curves: one polyline per line and segment, markers when few points */
static void curves(lam_json_buf *b, const lam_report_chart *c, const scale *s)
{
    bool dots = c->n <= 60;
    int every = (c->n + LAM_REPORT_MAX_POINTS - 1) / LAM_REPORT_MAX_POINTS; /* thinning */
    char a[48], d[48], v[48];
    for (int l = 0; l < c->nlines; l++) {
        const lam_report_line *ln = &c->line[l];
        bool open = false;
        for (int i = 0; i <= c->n; i++) {
            bool ok = i < c->n && isfinite(yval(ln, i)) && (!s->log || yval(ln, i) > 0);
            bool brk = i == c->n || !ok || (c->seg_start && c->seg_start[i]);
            if (open && brk) {
                lam_report_puts_(b, "\"/>");
                open = false;
            }
            if (!ok) continue;
            bool last = i + 1 == c->n || (c->seg_start && c->seg_start[i + 1]) || !isfinite(yval(ln, i + 1));
            if (open && every > 1 && i % every != 0 && !last) continue;
            if (!open) {
                lam_report_printf_(b, "<polyline class=\"%s\" data-series=\"", ln->cls);
                lam_report_escz_(b, ln->label);
                lam_report_puts_(b, "\" points=\"");
                open = true;
            } else {
                lam_report_puts_(b, " ");
            }
            lam_report_printf_(b, "%s,%s", coord(a, sizeof a, px(s, i + 1)), coord(d, sizeof d, py(s, yval(ln, i))));
        }
        for (int i = 0; i < c->n; i++) {
            double y = yval(ln, i);
            if (!isfinite(y) || (s->log && y <= 0)) continue;
            bool alone = (i == 0 || (c->seg_start && c->seg_start[i]) || !isfinite(yval(ln, i - 1))) &&
                         (i + 1 == c->n || (c->seg_start && c->seg_start[i + 1]) || !isfinite(yval(ln, i + 1)));
            if (!dots && !alone) continue;
            lam_report_printf_(b, "<circle class=\"%s\" cx=\"%s\" cy=\"%s\" r=\"2.6\"><title>", ln->cls,
                               coord(a, sizeof a, px(s, i + 1)), coord(d, sizeof d, py(s, y)));
            lam_report_escz_(b, ln->label);
            lam_report_printf_(b, ", epoch %d: %s</title></circle>", i + 1, lam_report_sig_(v, sizeof v, y, 4));
        }
    }
}

void lam_report_chart_svg_(lam_json_buf *b, const lam_report_chart *c)
{
    double mn = INFINITY, mx = -INFINITY;
    for (int l = 0; l < c->nlines; l++)
        for (int i = 0; i < c->n; i++) {
            double y = yval(&c->line[l], i);
            if (!isfinite(y)) continue;
            mn = y < mn ? y : mn;
            mx = y > mx ? y : mx;
        }
    if (!(mn <= mx)) mn = 0, mx = 1;
    scale s = {.log = c->allow_log && mn > 0 && mx / mn >= 30};
    s.x0 = c->n > 1 ? 1 : 0;
    s.x1 = c->n > 1 ? c->n : 2;
    lam_report_printf_(b, "<svg class=\"chart\" id=\"%s\" data-chart=\"%s\" viewBox=\"0 0 %d %d\" role=\"img\" "
                          "aria-label=\"%s by %s\">",
                       c->id, c->id, CW, CH, c->ylabel, c->xlabel);
    char factor[64];
    y_axis(b, &s, mn, mx, c->zero_based, factor, sizeof factor);
    x_axis(b, &s, c->n);
    lam_report_printf_(b, "<line class=\"ax\" x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\"/>", ML, CW - MR, CH - MB, CH - MB);
    lam_report_printf_(b, "<line class=\"ax\" x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\"/>", ML, ML, MT, CH - MB);
    lam_report_printf_(b, "<text class=\"al\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s</text>", ML + (int)PW / 2,
                       CH - 6, c->xlabel);
    lam_report_printf_(b,
                       "<text class=\"al\" transform=\"rotate(-90 13 %d)\" x=\"13\" y=\"%d\" text-anchor=\"middle\">"
                       "%s%s%s</text>",
                       MT + (int)PH / 2, MT + (int)PH / 2, c->ylabel, factor[0] ? " " : "", factor);
    marks(b, c, &s);
    curves(b, c, &s);
    legend(b, c, s.log);
    lam_report_puts_(b, "</svg>");
}

/* ---- the confusion matrix --------------------------------------------------------- */

static const lam_json *class_name(const lam_json *classes, int i) { return lam_json_get(classes->items[i], "name"); }

void lam_report_heatmap_svg_(lam_json_buf *b, const lam_json *classes, const lam_json *confusion)
{
    int K = (int)confusion->n;
    int cs = K > 0 ? 560 / K : 44; /* cell size */
    cs = cs < 8 ? 8 : cs > 40 ? 40 : cs;
    int lf = cs >= 20 ? 12 : cs - 1;               /* label font */
    int nf = cs >= 36 ? 12 : cs >= 24 ? 10 : 0;    /* count font (0: counts in the tooltips only) */
    size_t maxc = 1;
    for (int i = 0; i < K; i++) {
        const lam_json *nm = class_name(classes, i);
        size_t ch = lam_report_chars_(nm->str, nm->len);
        if (ch > maxc) maxc = ch;
    }
    if (maxc > 18) maxc = 18;
    double lw = (double)maxc * lf * 0.62 + 8; /* widest label */
    /* predicted-class labels: horizontal when they fit in a cell, else at
     * -45 degrees, or upright when the columns are too close for that */
    int rot = lw - 8 <= cs - 4 ? 0 : cs >= 16 ? 45 : 90;
    double rise = rot == 90 ? lw - 8 : rot == 45 ? (lw - 8) * 0.71 : 0;
    int left = 24 + (int)ceil(lw);
    int top = 24 + (rot ? (int)ceil(rise) + 8 : lf + 6);
    int side = K * cs;
    int bar_x = left + side + 18, bar_h = side < 240 ? side : 240;
    int width = bar_x + 12 + 44;
    int reach = left + side - cs / 2 + (int)ceil(rise) + 10; /* the last slanted label's end */
    if (rot == 45 && reach > width) width = reach;
    int height = top + side + 12;
    char a[48], d[48], v[48];
    lam_report_printf_(b, "<svg class=\"heat\" id=\"confusion-matrix\" data-classes=\"%d\" viewBox=\"0 0 %d %d\" "
                          "width=\"%d\" height=\"%d\" role=\"img\" aria-label=\"confusion matrix\">",
                       K, width, height, width, height);
    lam_report_puts_(b, "<defs><linearGradient id=\"cm-scale\" x1=\"0\" y1=\"1\" x2=\"0\" y2=\"0\">"
                        "<stop offset=\"0\" class=\"gs\" stop-opacity=\"0.08\"/><stop offset=\"1\" class=\"gs\"/>"
                        "</linearGradient></defs>");
    /* axis titles */
    lam_report_printf_(b, "<text class=\"al\" x=\"%d\" y=\"14\" text-anchor=\"middle\">predicted class</text>",
                       left + side / 2);
    lam_report_printf_(b, "<text class=\"al\" transform=\"rotate(-90 12 %d)\" x=\"12\" y=\"%d\" text-anchor=\"middle\">"
                          "true class</text>",
                       top + side / 2, top + side / 2);
    lam_report_printf_(b, "<rect class=\"cmbg\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\"/>", left, top, side, side);
    for (int r = 0; r < K; r++) {
        const lam_json *row = confusion->items[r], *rn = class_name(classes, r);
        double total = 0;
        for (int c = 0; c < K; c++) total += (double)row->items[c]->integer;
        /* the row's label, and the column's */
        lam_report_printf_(b, "<text class=\"cl\" x=\"%d\" y=\"%s\" text-anchor=\"end\" style=\"font-size:%dpx\">", left - 6,
                           lam_report_num_(a, sizeof a, "%.1f", top + r * cs + cs / 2.0 + lf * 0.36), lf);
        lam_report_esc_cut_(b, rn->str, rn->len, 18);
        lam_report_puts_(b, "</text>");
        double cx = left + r * cs + cs / 2.0;
        if (rot)
            lam_report_printf_(b, "<text class=\"cl\" transform=\"translate(%s %d) rotate(-%d)\" style=\"font-size:%dpx\">",
                               lam_report_num_(a, sizeof a, "%.1f", cx + lf * (rot == 90 ? 0.36 : 0.3)), top - 6, rot, lf);
        else
            lam_report_printf_(b, "<text class=\"cl\" x=\"%s\" y=\"%d\" text-anchor=\"middle\" style=\"font-size:%dpx\">",
                               lam_report_num_(a, sizeof a, "%.1f", cx), top - 6, lf);
        lam_report_esc_cut_(b, rn->str, rn->len, 18);
        lam_report_puts_(b, "</text>");
        for (int c = 0; c < K; c++) {
            int64_t n = row->items[c]->integer;
            double frac = total > 0 ? (double)n / total : 0;
            const lam_json *cn = class_name(classes, c);
            lam_report_printf_(b, "<rect class=\"cm\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill-opacity=\"%s\">",
                               left + c * cs, top + r * cs, cs, cs,
                               lam_report_num_(a, sizeof a, "%.3f", n > 0 ? 0.08 + 0.92 * frac : 0.0));
            lam_report_puts_(b, "<title>true ");
            lam_report_esc_(b, rn->str, rn->len);
            lam_report_puts_(b, " \xe2\x86\x92 predicted ");
            lam_report_esc_(b, cn->str, cn->len);
            lam_report_printf_(b, ": %s", lam_report_int_(v, sizeof v, n));
            if (total > 0) {
                lam_report_printf_(b, " (%s%% of ", lam_report_num_(d, sizeof d, "%.1f", 100 * frac));
                lam_report_esc_(b, rn->str, rn->len);
                lam_report_puts_(b, ")");
            } else {
                lam_report_puts_(b, " (no samples of this class)");
            }
            lam_report_puts_(b, "</title></rect>");
            lam_report_int_(v, sizeof v, n);
            if (nf && strlen(v) * nf * 0.62 <= cs - 4)
                lam_report_printf_(b, "<text class=\"cv%s\" x=\"%s\" y=\"%s\" style=\"font-size:%dpx\">%s</text>",
                                   n == 0 ? " z" : frac > 0.55 ? " hi" : "",
                                   lam_report_num_(a, sizeof a, "%.1f", left + c * cs + cs / 2.0),
                                   lam_report_num_(d, sizeof d, "%.1f", top + r * cs + cs / 2.0 + nf * 0.36), nf, v);
        }
    }
    /* the colour bar: the share of the true class's samples */
    lam_report_printf_(b, "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"%d\" fill=\"url(#cm-scale)\" class=\"cbar\"/>",
                       bar_x, top, bar_h);
    static const int pct[3] = {100, 50, 0};
    for (int k = 0; k < 3; k++)
        lam_report_printf_(b, "<text class=\"tk\" x=\"%d\" y=\"%s\">%d%%</text>", bar_x + 16,
                           lam_report_num_(a, sizeof a, "%.1f",
                                           top + bar_h * (100 - pct[k]) / 100.0 + (k == 0 ? 8 : k == 2 ? 0 : 4)),
                           pct[k]);
    lam_report_puts_(b, "</svg>");
}
