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

/* Record a failed cross-rank sum in the op's status. */
static bool summed(const lam_op_ctx *c, double *buf, size_t n)
{
    lam_status s = c->sum(c->sum_user, buf, n);
    if (s == LAM_OK) return true;
    *c->status = s;
    snprintf(c->errmsg, c->errlen, "batchnorm: synchronising the batch statistics: %s", lam_last_error());
    return false;
}

/* Training forward with the statistics of the global batch (data parallel,
 * [train] sync_batchnorm): each rank's per-channel sums and count are added
 * over the ranks, then the squared deviations from the global mean; the
 * running statistics follow the global values, the same on every rank. */
static void bn_fwd_sync(const lam_op_ctx *c, bg g)
{
    const lam_bn_params *p = &c->node->p.batchnorm;
    const float *x = c->in[0], *gamma = c->in[1], *beta = c->in[2];
    float *rmean = c->in[3], *rvar = c->in[4];
    float *mean_s = c->saved, *istd_s = (float *)c->saved + g.C;
    double *sum = c->scratch, *sq = sum + g.C; /* [C] sums, then [C] squared deviations, then the count */
    long N = g.B * g.HW;
    LAM_PFOR_WORK(g.C, N * g.C, ch, {
        double s = 0.0;
        for (long b = 0; b < g.B; b++)
            for (long i = 0; i < g.HW; i++) s += x[(b * g.C + ch) * g.HW + i];
        sum[ch] = s;
    });
    sum[g.C] = (double)N; /* the count goes with the sums */
    if (!summed(c, sum, (size_t)g.C + 1)) return;
    double n_all = sum[g.C];
    if (n_all < 2) {
        *c->status = LAM_ERR_ARG;
        snprintf(c->errmsg, c->errlen, "batchnorm: training needs more than one value per channel");
        return;
    }
    LAM_PFOR_WORK(g.C, N * g.C, ch, {
        double mean = sum[ch] / n_all, s2 = 0.0;
        for (long b = 0; b < g.B; b++)
            for (long i = 0; i < g.HW; i++) {
                double d = x[(b * g.C + ch) * g.HW + i] - mean;
                s2 += d * d;
            }
        sq[ch] = s2;
    });
    for (long ch = 0; ch < g.C; ch++) sum[ch] /= n_all; /* the global means, before sq is summed over them */
    if (!summed(c, sq, (size_t)g.C)) return;
    LAM_PFOR_WORK(g.C, N * g.C, ch, {
        double mean = sum[ch], var = sq[ch] / n_all;
        rmean[ch] = (float)((1.0 - p->momentum) * rmean[ch] + p->momentum * mean);
        rvar[ch] = (float)((1.0 - p->momentum) * rvar[ch] + p->momentum * var * n_all / (n_all - 1));
        float istd = (float)(1.0 / sqrt(var + p->eps));
        mean_s[ch] = (float)mean;
        istd_s[ch] = istd;
        float a = gamma[ch] * istd, bsh = beta[ch] - (float)mean * a;
        for (long b = 0; b < g.B; b++) {
            const float *xr = x + (b * g.C + ch) * g.HW;
            float *yr = c->out + (b * g.C + ch) * g.HW;
            for (long i = 0; i < g.HW; i++) yr[i] = xr[i] * a + bsh;
        }
    });
}

static void bn_fwd(const lam_op_ctx *c)
{
    const lam_node *nd = c->node;
    bg g = bgeom(nd);
    const lam_bn_params *p = &nd->p.batchnorm;
    const float *x = c->in[0], *gamma = c->in[1], *beta = c->in[2];
    float *rmean = c->in[3], *rvar = c->in[4];
    float *mean_s = c->saved, *istd_s = (float *)c->saved + g.C;
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
        double mean, var;
        if (train) {
            double s = 0.0, s2 = 0.0;
            for (long b = 0; b < g.B; b++)
                for (long i = 0; i < g.HW; i++) s += x[(b * g.C + ch) * g.HW + i];
            mean = s / (double)N;
            for (long b = 0; b < g.B; b++)
                for (long i = 0; i < g.HW; i++) {
                    double d = x[(b * g.C + ch) * g.HW + i] - mean;
                    s2 += d * d;
                }
            var = s2 / (double)N;
            rmean[ch] = (float)((1.0 - p->momentum) * rmean[ch] + p->momentum * mean);
            rvar[ch] = (float)((1.0 - p->momentum) * rvar[ch] + p->momentum * var * (double)N / (double)(N - 1));
        } else {
            mean = rmean[ch];
            var = rvar[ch];
        }
        float istd = (float)(1.0 / sqrt(var + p->eps));
        mean_s[ch] = (float)mean;
        istd_s[ch] = istd;
        float a = gamma[ch] * istd, bsh = beta[ch] - (float)mean * a;
        for (long b = 0; b < g.B; b++) {
            const float *xr = x + (b * g.C + ch) * g.HW;
            float *yr = c->out + (b * g.C + ch) * g.HW;
            for (long i = 0; i < g.HW; i++) yr[i] = xr[i] * a + bsh;
        }
    });
}

/* Backward with the statistics of the global batch: dgamma and dbeta get
 * this rank's sums (the parameter gradients are summed over the ranks with
 * the others), dx the global means of dy and dy * xhat. */
static void bn_bwd_sync(const lam_op_ctx *c, bg g)
{
    const float *x = c->in[0], *gamma = c->in[1], *dy = c->dout;
    const float *mean_s = c->saved, *istd_s = (const float *)c->saved + g.C;
    float *dx = c->din[0], *dgamma = c->din[1], *dbeta = c->din[2];
    double *s = c->scratch; /* [C] sums of dy, [C] of dy * xhat, the count */
    long N = g.B * g.HW;
    LAM_PFOR_WORK(g.C, N * g.C, ch, {
        float mean = mean_s[ch], istd = istd_s[ch];
        double sdy = 0.0, sdyx = 0.0;
        for (long b = 0; b < g.B; b++) {
            const float *xr = x + (b * g.C + ch) * g.HW, *dr = dy + (b * g.C + ch) * g.HW;
            for (long i = 0; i < g.HW; i++) {
                sdy += dr[i];
                sdyx += (double)dr[i] * ((xr[i] - mean) * istd);
            }
        }
        if (dgamma) dgamma[ch] += (float)sdyx;
        if (dbeta) dbeta[ch] += (float)sdy;
        s[ch] = sdy;
        s[g.C + ch] = sdyx;
    });
    s[2 * g.C] = (double)N;
    if (!summed(c, s, 2 * (size_t)g.C + 1) || !dx) return;
    double n_all = s[2 * g.C];
    LAM_PFOR_WORK(g.C, N * g.C, ch, {
        float mean = mean_s[ch], istd = istd_s[ch], k = gamma[ch] * istd;
        float m1 = (float)(s[ch] / n_all), m2 = (float)(s[g.C + ch] / n_all);
        for (long b = 0; b < g.B; b++) {
            const float *xr = x + (b * g.C + ch) * g.HW, *dr = dy + (b * g.C + ch) * g.HW;
            float *dxr = dx + (b * g.C + ch) * g.HW;
            for (long i = 0; i < g.HW; i++) dxr[i] += k * (dr[i] - m1 - (xr[i] - mean) * istd * m2);
        }
    });
}

static void bn_bwd(const lam_op_ctx *c)
{
    const lam_node *nd = c->node;
    bg g = bgeom(nd);
    const float *x = c->in[0], *gamma = c->in[1], *dy = c->dout;
    const float *mean_s = c->saved, *istd_s = (const float *)c->saved + g.C;
    float *dx = c->din[0], *dgamma = c->din[1], *dbeta = c->din[2];
    long N = g.B * g.HW;
    bool train = c->training && !c->frozen;
    if (train && c->sum) {
        bn_bwd_sync(c, g);
        return;
    }
    LAM_PFOR_WORK(g.C, N * g.C, ch, {
        float mean = mean_s[ch], istd = istd_s[ch];
        double sdy = 0.0, sdyx = 0.0;
        for (long b = 0; b < g.B; b++) {
            const float *xr = x + (b * g.C + ch) * g.HW, *dr = dy + (b * g.C + ch) * g.HW;
            for (long i = 0; i < g.HW; i++) {
                sdy += dr[i];
                sdyx += (double)dr[i] * ((xr[i] - mean) * istd);
            }
        }
        if (dgamma) dgamma[ch] += (float)sdyx;
        if (dbeta) dbeta[ch] += (float)sdy;
        if (dx) {
            float k = gamma[ch] * istd;
            float m1 = train ? (float)(sdy / (double)N) : 0.0f, m2 = train ? (float)(sdyx / (double)N) : 0.0f;
            for (long b = 0; b < g.B; b++) {
                const float *xr = x + (b * g.C + ch) * g.HW, *dr = dy + (b * g.C + ch) * g.HW;
                float *dxr = dx + (b * g.C + ch) * g.HW;
                for (long i = 0; i < g.HW; i++) dxr[i] += k * (dr[i] - m1 - (xr[i] - mean) * istd * m2);
            }
        }
    });
}

static double bn_flops(const lam_node *nd) { return 4.0 * (double)lam_node_numel(nd); }

const lam_op_def lam_opdef_batchnorm = {.name = "batchnorm", .min_in = 5, .max_in = 5, .infer = bn_infer, .forward = bn_fwd, .backward = bn_bwd, .flops = bn_flops};
