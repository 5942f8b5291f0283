/* Gradient clipping over spans of the flat gradient array: by global L2 norm
 * (torch.nn.utils.clip_grad_norm_) and by value (clip_grad_value_), plus the
 * variants that take an optimiser's trainable (non-frozen) spans.  The norm
 * is summed in double in a fixed order, so it is the same on every run and
 * thread count. */
#include "lamina/optim.h"

#include <math.h>

static lam_status check_spans(size_t total, const lam_param_span *spans, size_t nspans,
                              const char *who)
{
    if (nspans && !spans) return lam_fail(LAM_ERR_ARG, "%s: spans is NULL but nspans = %zu", who, nspans);
    for (size_t i = 0; i < nspans; i++) {
        size_t end;
        if (!lam_add_size(spans[i].offset, spans[i].numel, &end) || end > total)
            return lam_fail(LAM_ERR_ARG, "%s: span %zu (%s) covers [%zu, %zu + %zu), outside the %zu "
                            "gradients", who, i, spans[i].name ? spans[i].name : "(unnamed)",
                            spans[i].offset, spans[i].offset, spans[i].numel, total);
    }
    return LAM_OK;
}

/* Sum of squares in double; four accumulators in a fixed pattern (the bits
 * depend only on the data). */
static double sumsq(const float *g, size_t n)
{
    double a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        double x0 = g[i], x1 = g[i + 1], x2 = g[i + 2], x3 = g[i + 3];
        a0 += x0 * x0;
        a1 += x1 * x1;
        a2 += x2 * x2;
        a3 += x3 * x3;
    }
    for (; i < n; i++) a0 += (double)g[i] * g[i];
    return (a0 + a1) + (a2 + a3);
}

static void scale(float *g, size_t n, float s)
{
    for (size_t i = 0; i < n; i++) g[i] *= s;
}

static void clamp(float *g, size_t n, float v)
{
    for (size_t i = 0; i < n; i++) {
        if (g[i] > v) g[i] = v;
        else if (g[i] < -v) g[i] = -v;
    }
}

/* torch: coef = max_norm / (norm + 1e-6), applied when below 1.  A
 * non-finite norm leaves the gradients alone (torch would scale by NaN). */
static bool clip_coef(double norm, double max_norm, float *coef)
{
    if (!isfinite(norm)) return false;
    double c = max_norm / (norm + 1e-6);
    *coef = (float)c;
    return c < 1;
}

lam_status lam_clip_grad_norm(float *grads, size_t total, const lam_param_span *spans,
                              size_t nspans, double max_norm, double *total_norm)
{
    const char *who = "clip_grad_norm";
    if (total && !grads) return lam_fail(LAM_ERR_ARG, "%s: grads is NULL", who);
    if (!(max_norm >= 0))
        return lam_fail(LAM_ERR_ARG, "%s: max_norm = %g must be >= 0", who, max_norm);
    lam_status st = check_spans(total, spans, nspans, who);
    if (st) return st;
    double ss = 0;
    if (!spans) ss = sumsq(grads, total);
    for (size_t i = 0; i < nspans; i++) ss += sumsq(grads + spans[i].offset, spans[i].numel);
    double norm = sqrt(ss);
    if (total_norm) *total_norm = norm;
    float c;
    if (!clip_coef(norm, max_norm, &c)) return LAM_OK;
    if (!spans) scale(grads, total, c);
    for (size_t i = 0; i < nspans; i++) scale(grads + spans[i].offset, spans[i].numel, c);
    return LAM_OK;
}

lam_status lam_clip_grad_value(float *grads, size_t total, const lam_param_span *spans,
                               size_t nspans, float clip_value)
{
    const char *who = "clip_grad_value";
    if (total && !grads) return lam_fail(LAM_ERR_ARG, "%s: grads is NULL", who);
    if (!(clip_value >= 0))
        return lam_fail(LAM_ERR_ARG, "%s: clip value %g must be >= 0", who, (double)clip_value);
    lam_status st = check_spans(total, spans, nspans, who);
    if (st) return st;
    if (!spans) clamp(grads, total, clip_value);
    for (size_t i = 0; i < nspans; i++) clamp(grads + spans[i].offset, spans[i].numel, clip_value);
    return LAM_OK;
}

lam_status lam_optim_clip_grad_norm(const lam_optim *o, float *grads, double max_norm,
                                    double *total_norm)
{
    if (!o) return lam_fail(LAM_ERR_ARG, "clip_grad_norm: optimiser is NULL");
    if (lam_optim_total(o) && !grads) return lam_fail(LAM_ERR_ARG, "clip_grad_norm: grads is NULL");
    if (!(max_norm >= 0))
        return lam_fail(LAM_ERR_ARG, "clip_grad_norm: max_norm = %g must be >= 0", max_norm);
    size_t n = lam_optim_nspans(o);
    lam_param_span sp;
    double ss = 0;
    for (size_t i = 0; i < n; i++) {
        lam_optim_span_at(o, i, &sp);
        if (!lam_optim_group(o, sp.group)->frozen) ss += sumsq(grads + sp.offset, sp.numel);
    }
    double norm = sqrt(ss);
    if (total_norm) *total_norm = norm;
    float c;
    if (!clip_coef(norm, max_norm, &c)) return LAM_OK;
    for (size_t i = 0; i < n; i++) {
        lam_optim_span_at(o, i, &sp);
        if (!lam_optim_group(o, sp.group)->frozen) scale(grads + sp.offset, sp.numel, c);
    }
    return LAM_OK;
}

lam_status lam_optim_clip_grad_value(const lam_optim *o, float *grads, float clip_value)
{
    if (!o) return lam_fail(LAM_ERR_ARG, "clip_grad_value: optimiser is NULL");
    if (lam_optim_total(o) && !grads) return lam_fail(LAM_ERR_ARG, "clip_grad_value: grads is NULL");
    if (!(clip_value >= 0))
        return lam_fail(LAM_ERR_ARG, "clip_grad_value: clip value %g must be >= 0",
                        (double)clip_value);
    size_t n = lam_optim_nspans(o);
    lam_param_span sp;
    for (size_t i = 0; i < n; i++) {
        lam_optim_span_at(o, i, &sp);
        if (!lam_optim_group(o, sp.group)->frozen) clamp(grads + sp.offset, sp.numel, clip_value);
    }
    return LAM_OK;
}
