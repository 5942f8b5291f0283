/* Batch normalisation over the channel dimension of [B, C] or [B, C, H, W]
 * (torch's BatchNorm1d/2d).  Inputs: x, gamma, beta, running_mean,
 * running_var (the last two are parameter buffers, updated in place by a
 * training forward with torch's momentum rule and the unbiased variance).
 * Training mode normalises with the batch statistics (biased variance) and
 * saves mean and 1/std per channel; inference mode uses the running
 * statistics, and its backward treats them as constants; a frozen layer
 * (gamma and beta not trainable) runs as in inference even while the rest of
 * the network trains, so its statistics stay fixed.  Sums run in double
 * per channel; work is split over channels. */
#include <math.h>
#include <stdio.h>

#include "kernels/par.h"
#include "ops/op.h"

static lam_status bn_infer(lam_node *nd, char *err, size_t errlen)
{
    const lam_shape *x = &nd->in[0]->shape;
    char sx[64];
    if ((x->ndim != 2 && x->ndim != 4)) {
        snprintf(err, errlen, "batchnorm: input %s, expected [B, C] or [B, C, H, W]", lam_shape_fmt(x, sx, sizeof sx));
        return LAM_ERR_SHAPE;
    }
    for (int k = 1; k < 5; k++)
        if (nd->in[k]->shape.ndim != 1 || nd->in[k]->shape.d[0] != x->d[1]) {
            snprintf(err, errlen, "batchnorm: parameter %d must be [%lld]", k, (long long)x->d[1]);
            return LAM_ERR_SHAPE;
        }
    nd->shape = *x;
    nd->has_batch = nd->in[0]->has_batch;
    nd->dtype = LAM_DTYPE_F32;
    nd->scratch_bytes = (2 * (size_t)x->d[1] + 1) * sizeof(double); /* synchronised statistics' sums */
    nd->saved_bytes = 2 * (size_t)x->d[1] * sizeof(float);
    return LAM_OK;
}

typedef struct bg {
    long B, C, HW;
} bg;
static bg bgeom(const lam_node *nd)
{
    const lam_shape *x = &nd->in[0]->shape;
    return (bg){x->d[0], x->d[1], x->ndim == 4 ? x->d[2] * x->d[3] : 1};
}

/* ---- per-channel pieces, shared by the one-process and synchronised paths */

/* Sum of channel ch's values, and of their squared deviations from mean. */
static double ch_sum(const float *x, bg g, long ch)
{
    double s = 0.0;
    for (long b = 0; b < g.B; b++)
        for (long i = 0; i < g.HW; i++) s += x[(b * g.C + ch) * g.HW + i];
    return s;
}

static double ch_sq_dev(const float *x, bg g, long ch, double mean)
{
    double s2 = 0.0;
    for (long b = 0; b < g.B; b++)
        for (long i = 0; i < g.HW; i++) {
            double d = x[(b * g.C + ch) * g.HW + i] - mean;
            s2 += d * d;
        }
    return s2;
}

/* The running statistics' update from the batch's mean and variance over n values. */
static void ch_running(const lam_bn_params *p, float *rmean, float *rvar, long ch, double mean, double var, double n)
{
    rmean[ch] = (float)((1.0 - p->momentum) * rmean[ch] + p->momentum * mean);
    rvar[ch] = (float)((1.0 - p->momentum) * rvar[ch] + p->momentum * var * n / (n - 1));
}

/* y = gamma (x - mean) / sqrt(var + eps) + beta for channel ch; mean and
 * 1/std saved for backward. */
static void ch_normalize(const lam_op_ctx *c, bg g, long ch, double mean, double var)
{
    const lam_bn_params *p = &c->node->p.batchnorm;
    const float *x = c->in[0], *gamma = c->in[1], *beta = c->in[2];
    float *mean_s = c->saved, *istd_s = (float *)c->saved + g.C;
    float istd = (float)(1.0 / sqrt(var + p->eps));
    mean_s[ch] = (float)mean;
    istd_s[ch] = istd;
    float a = gamma[ch] * istd, bsh = beta[ch] - (float)mean * a;
    for (long b = 0; b < g.B; b++) {
        const float *xr = x + (b * g.C + ch) * g.HW;
        float *yr = c->out + (b * g.C + ch) * g.HW;
        for (long i = 0; i < g.HW; i++) yr[i] = xr[i] * a + bsh;
    }
}

/* Channel ch's sums of dy and dy * xhat; they are also the gradients of
 * beta and gamma, added into dbeta / dgamma when given. */
static void ch_dsums(const lam_op_ctx *c, bg g, long ch, double *sdy_out, double *sdyx_out)
{
    const float *x = c->in[0], *dy = c->dout, *mean_s = c->saved, *istd_s = (const float *)c->saved + g.C;
    float mean = mean_s[ch], istd = istd_s[ch];
    double sdy = 0.0, sdyx = 0.0;
    for (long b = 0; b < g.B; b++) {
        const float *xr = x + (b * g.C + ch) * g.HW, *dr = dy + (b * g.C + ch) * g.HW;
        for (long i = 0; i < g.HW; i++) {
            sdy += dr[i];
            sdyx += (double)dr[i] * ((xr[i] - mean) * istd);
        }
    }
    if (c->din[1]) c->din[1][ch] += (float)sdyx;
    if (c->din[2]) c->din[2][ch] += (float)sdy;
    *sdy_out = sdy;
    *sdyx_out = sdyx;
}

/* dx += gamma / std (dy - m1 - xhat m2), m1 and m2 the means of dy and
 * dy * xhat over the batch (0 in inference mode). */
static void ch_dx(const lam_op_ctx *c, bg g, long ch, float m1, float m2)
{
    const float *x = c->in[0], *gamma = c->in[1], *dy = c->dout;
    const float *mean_s = c->saved, *istd_s = (const float *)c->saved + g.C;
    float mean = mean_s[ch], istd = istd_s[ch], k = gamma[ch] * istd;
    for (long b = 0; b < g.B; b++) {
        const float *xr = x + (b * g.C + ch) * g.HW, *dr = dy + (b * g.C + ch) * g.HW;
        float *dxr = c->din[0] + (b * g.C + ch) * g.HW;
        for (long i = 0; i < g.HW; i++) dxr[i] += k * (dr[i] - m1 - (xr[i] - mean) * istd * m2);
    }
}

/* Record a failed cross-rank sum in the op's status. */
static bool summed(const lam_op_ctx *c, double *buf, size_t n)
{
    lam_status s = c->sum(c->sum_user, buf, n);
    if (s == LAM_OK) return true;
    *c->status = s;
    snprintf(c->errmsg, c->errlen, "batchnorm: synchronising the batch statistics: %s", lam_last_error());
    return false;
}

/* ---- forward ------------------------------------------------------------- */

/* Training forward with the statistics of the global batch (data parallel,
 * [train] sync_batchnorm): each rank's per-channel sums and count are added
 * over the ranks, then the squared deviations from the global mean; the
 * running statistics follow the global values, the same on every rank. */
static void bn_fwd_sync(const lam_op_ctx *c, bg g)
{
    const float *x = c->in[0];
    double *sum = c->scratch, *sq = sum + g.C; /* [C] sums, [C] squared deviations, the count */
    long N = g.B * g.HW;
    LAM_PFOR_WORK(g.C, N * g.C, ch, { sum[ch] = ch_sum(x, g, ch); });
    sum[g.C] = (double)N; /* the count goes with the sums */
    if (!summed(c, sum, (size_t)g.C + 1)) return;
    double n_all = sum[g.C];
    if (n_all < 2) {
        *c->status = LAM_ERR_ARG;
        snprintf(c->errmsg, c->errlen, "batchnorm: training needs more than one value per channel");
        return;
    }
    for (long ch = 0; ch < g.C; ch++) sum[ch] /= n_all; /* the global means */
    LAM_PFOR_WORK(g.C, N * g.C, ch, { sq[ch] = ch_sq_dev(x, g, ch, sum[ch]); });
    if (!summed(c, sq, (size_t)g.C)) return;
    LAM_PFOR_WORK(g.C, N * g.C, ch, {
        ch_running(&c->node->p.batchnorm, c->in[3], c->in[4], ch, sum[ch], sq[ch] / n_all, n_all);
        ch_normalize(c, g, ch, sum[ch], sq[ch] / n_all);
    });
}

static void bn_fwd(const lam_op_ctx *c)
{
    bg g = bgeom(c->node);
    const float *x = c->in[0];
    const float *rmean = c->in[3], *rvar = c->in[4];
    long N = g.B * g.HW;
    bool train = c->training && !c->frozen; /* frozen: statistics stay fixed */
    if (train && c->sum) {
        bn_fwd_sync(c, g);
        return;
    }
    if (train && N < 2) {
        *c->status = LAM_ERR_ARG;
        snprintf(c->errmsg, c->errlen, "batchnorm: training needs more than one value per channel (batch %ld)", g.B);
        return;
    }
    LAM_PFOR_WORK(g.C, N * g.C, ch, {
        double mean = rmean[ch], var = rvar[ch];
        if (train) {
            mean = ch_sum(x, g, ch) / (double)N;
            var = ch_sq_dev(x, g, ch, mean) / (double)N;
            ch_running(&c->node->p.batchnorm, c->in[3], c->in[4], ch, mean, var, (double)N);
        }
        ch_normalize(c, g, ch, mean, var);
    });
}

/* ---- backward ------------------------------------------------------------ */

/* Backward with the statistics of the global batch: dgamma and dbeta get
 * this rank's sums (the parameter gradients are summed over the ranks with
 * the others), dx the global means of dy and dy * xhat. */
static void bn_bwd_sync(const lam_op_ctx *c, bg g)
{
    double *s = c->scratch; /* [C] sums of dy, [C] of dy * xhat, the count */
    long N = g.B * g.HW;
    LAM_PFOR_WORK(g.C, N * g.C, ch, { ch_dsums(c, g, ch, &s[ch], &s[g.C + ch]); });
    s[2 * g.C] = (double)N;
    if (!summed(c, s, 2 * (size_t)g.C + 1) || !c->din[0]) return;
    double n_all = s[2 * g.C];
    LAM_PFOR_WORK(g.C, N * g.C, ch, { ch_dx(c, g, ch, (float)(s[ch] / n_all), (float)(s[g.C + ch] / n_all)); });
}

static void bn_bwd(const lam_op_ctx *c)
{
    bg g = bgeom(c->node);
    long N = g.B * g.HW;
    bool train = c->training && !c->frozen;
    if (train && c->sum) {
        bn_bwd_sync(c, g);
        return;
    }
    LAM_PFOR_WORK(g.C, N * g.C, ch, {
        double sdy, sdyx;
        ch_dsums(c, g, ch, &sdy, &sdyx);
        if (c->din[0])
            ch_dx(c, g, ch, train ? (float)(sdy / (double)N) : 0.0f, train ? (float)(sdyx / (double)N) : 0.0f);
    });
}

static double bn_flops(const lam_node *nd) { return 4.0 * (double)lam_node_numel(nd); }

const lam_op_def lam_opdef_batchnorm = {.name = "batchnorm", .min_in = 5, .max_in = 5, .infer = bn_infer, .forward = bn_fwd, .backward = bn_bwd, .flops = bn_flops};
