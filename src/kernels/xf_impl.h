/* The elementwise and row kernels of xf.h, written once and compiled three
 * times by xf.c (AVX-512, AVX2, portable): it defines TGT (the target
 * attribute), SIMD (the loop pragma) and SFX (the name suffix) and includes
 * this file.  Sums go over 16 lanes (lane l takes the elements l, l + 16,
 * ...) and the lanes are added by one fixed tree, so every build gives the
 * same bits. */

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define FN(name) CAT(name, SFX)

TGT static void FN(gelu_n)(const float *x, float *y, long n, bool tanh_form)
{
    if (tanh_form) {
        SIMD
        for (long i = 0; i < n; i++) y[i] = rc_gelu_tanh(x[i]);
    } else {
        SIMD
        for (long i = 0; i < n; i++) y[i] = rc_gelu(x[i]);
    }
}

TGT static void FN(gelu_bwd_n)(const float *restrict x, const float *restrict dy, float *restrict dx, long n,
                               bool tanh_form, bool accumulate)
{
    if (tanh_form && accumulate) {
        SIMD
        for (long i = 0; i < n; i++) dx[i] += dy[i] * rc_gelu_tanh_grad(x[i]);
    } else if (tanh_form) {
        SIMD
        for (long i = 0; i < n; i++) dx[i] = dy[i] * rc_gelu_tanh_grad(x[i]);
    } else if (accumulate) {
        SIMD
        for (long i = 0; i < n; i++) dx[i] += dy[i] * rc_gelu_grad(x[i]);
    } else {
        SIMD
        for (long i = 0; i < n; i++) dx[i] = dy[i] * rc_gelu_grad(x[i]);
    }
}

TGT static void FN(silu_n)(const float *x, float *y, long n)
{
    SIMD
    for (long i = 0; i < n; i++) y[i] = rc_silu(x[i]);
}

TGT static void FN(silu_bwd_n)(const float *restrict x, const float *restrict dy, float *restrict dx, long n,
                               bool accumulate)
{
    if (accumulate) {
        SIMD
        for (long i = 0; i < n; i++) dx[i] += dy[i] * rc_silu_grad(x[i]);
    } else {
        SIMD
        for (long i = 0; i < n; i++) dx[i] = dy[i] * rc_silu_grad(x[i]);
    }
}

/* rows of [a | b] (2H) -> silu(a) b (H) */
TGT static void FN(swiglu_n)(const float *x, float *y, long rows, long H)
{
    for (long r = 0; r < rows; r++) {
        const float *a = x + r * 2 * H, *b = a + H;
        float *yr = y + r * H;
        SIMD
        for (long j = 0; j < H; j++) yr[j] = rc_silu(a[j]) * b[j];
    }
}

TGT static void FN(swiglu_bwd_n)(const float *restrict x, const float *restrict dy, float *restrict dx, long rows,
                                 long H, bool accumulate)
{
    for (long r = 0; r < rows; r++) {
        const float *a = x + r * 2 * H, *b = a + H, *g = dy + r * H;
        float *da = dx + r * 2 * H, *db = da + H;
        if (accumulate) {
            SIMD
            for (long j = 0; j < H; j++) {
                da[j] += g[j] * b[j] * rc_silu_grad(a[j]);
                db[j] += g[j] * rc_silu(a[j]);
            }
        } else {
            SIMD
            for (long j = 0; j < H; j++) {
                da[j] = g[j] * b[j] * rc_silu_grad(a[j]);
                db[j] = g[j] * rc_silu(a[j]);
            }
        }
    }
}

/* sum of x[0..n) over 16 lanes, lanes added by xf_tree16 */
TGT static inline float FN(lane_sum)(const float *x, int n)
{
    float s[16] = {0};
    int j = 0;
    for (; j + 16 <= n; j += 16) {
        SIMD
        for (int l = 0; l < 16; l++) s[l] += x[j + l];
    }
    for (int l = 0; j + l < n; l++) s[l] += x[j + l];
    return xf_tree16(s);
}

/* sum of (x - m)^2 over 16 lanes */
TGT static inline float FN(lane_sqdev)(const float *x, int n, float m)
{
    float s[16] = {0};
    int j = 0;
    for (; j + 16 <= n; j += 16) {
        SIMD
        for (int l = 0; l < 16; l++) {
            float d = x[j + l] - m;
            s[l] += d * d;
        }
    }
    for (int l = 0; j + l < n; l++) {
        float d = x[j + l] - m;
        s[l] += d * d;
    }
    return xf_tree16(s);
}

/* sum of a * b over 16 lanes */
TGT static inline float FN(lane_dot)(const float *a, const float *b, int n)
{
    float s[16] = {0};
    int j = 0;
    for (; j + 16 <= n; j += 16) {
        SIMD
        for (int l = 0; l < 16; l++) s[l] += a[j + l] * b[j + l];
    }
    for (int l = 0; j + l < n; l++) s[l] += a[j + l] * b[j + l];
    return xf_tree16(s);
}

TGT static void FN(norm_fwd)(const float *x, const float *g, const float *b, float *y, float *stat, long rows, int C,
                             float eps, bool rms)
{
    for (long r = 0; r < rows; r++) {
        const float *xr = x + r * C;
        float *yr = y + r * C;
        float mean = rms ? 0.0f : FN(lane_sum)(xr, C) / (float)C;
        float var = FN(lane_sqdev)(xr, C, mean) / (float)C;
        float rstd = 1.0f / sqrtf(var + eps);
        stat[2 * r] = mean;
        stat[2 * r + 1] = rstd;
        if (g && b) {
            SIMD
            for (int j = 0; j < C; j++) yr[j] = (xr[j] - mean) * rstd * g[j] + b[j];
        } else if (g) {
            SIMD
            for (int j = 0; j < C; j++) yr[j] = (xr[j] - mean) * rstd * g[j];
        } else {
            SIMD
            for (int j = 0; j < C; j++) yr[j] = (xr[j] - mean) * rstd;
        }
    }
}

/* dxhat = dy g; dx = rstd (dxhat - mean(dxhat) - xhat mean(dxhat xhat)), the
 * mean(dxhat) term absent for RMS.  The row sums for dg, db are added into
 * dg_part, db_part in row order. */
TGT static void FN(norm_bwd)(const float *x, const float *g, const float *stat, const float *dy, float *dx,
                             float *dg_part, float *db_part, long rows, int C, bool rms, bool accumulate)
{
    float xh[LAM_XF_NORM_MAX_C], dxh[LAM_XF_NORM_MAX_C];
    for (long r = 0; r < rows; r++) {
        const float *xr = x + r * C, *dyr = dy + r * C;
        float mean = stat[2 * r], rstd = stat[2 * r + 1];
        SIMD
        for (int j = 0; j < C; j++) {
            xh[j] = (xr[j] - mean) * rstd;
            dxh[j] = g ? dyr[j] * g[j] : dyr[j];
        }
        if (dg_part) {
            SIMD
            for (int j = 0; j < C; j++) dg_part[j] += dyr[j] * xh[j];
        }
        if (db_part) {
            SIMD
            for (int j = 0; j < C; j++) db_part[j] += dyr[j];
        }
        if (!dx) continue;
        float m1 = rms ? 0.0f : FN(lane_sum)(dxh, C) / (float)C;
        float m2 = FN(lane_dot)(dxh, xh, C) / (float)C;
        float *dxr = dx + r * C;
        if (accumulate) {
            SIMD
            for (int j = 0; j < C; j++) dxr[j] += rstd * (dxh[j] - m1 - xh[j] * m2);
        } else {
            SIMD
            for (int j = 0; j < C; j++) dxr[j] = rstd * (dxh[j] - m1 - xh[j] * m2);
        }
    }
}

TGT static void FN(softmax_rows)(int R, int n, float *S, long lds, const int *lim, float *lse)
{
    for (int r = 0; r < R; r++) {
        float *s = S + r * lds;
        int m_ = lim ? lim[r] + 1 : n; /* allowed columns [0, m_) */
        if (m_ > n) m_ = n;
        float mx = -INFINITY;
        for (int j = 0; j < m_; j++) mx = s[j] > mx ? s[j] : mx;
        SIMD
        for (int j = 0; j < m_; j++) s[j] = rc_exp(s[j] - mx);
        for (int j = m_; j < n; j++) s[j] = 0.0f;
        float sum = FN(lane_sum)(s, m_);
        float inv = 1.0f / sum;
        SIMD
        for (int j = 0; j < m_; j++) s[j] *= inv;
        lse[r] = mx + logf(sum);
    }
}

TGT static void FN(softmax_bwd_rows)(int R, int n, float *S, long lds, const int *lim, const float *lse,
                                     const float *dP, long ldp, const float *delta, float scale, float *P, long ldpp)
{
    for (int r = 0; r < R; r++) {
        float *s = S + r * lds, *p = P + r * ldpp;
        const float *dp = dP + r * ldp;
        int m_ = lim ? lim[r] + 1 : n;
        if (m_ > n) m_ = n;
        float l = lse[r], dl = delta[r];
        SIMD
        for (int j = 0; j < m_; j++) {
            float pj = rc_exp(s[j] - l);
            p[j] = pj;
            s[j] = scale * (pj * (dp[j] - dl));
        }
        for (int j = m_; j < n; j++) p[j] = s[j] = 0.0f;
    }
}

TGT static void FN(rowdot)(int R, int D, const float *A, long lda, const float *B, long ldb, float *out)
{
    for (int r = 0; r < R; r++) out[r] = FN(lane_dot)(A + r * lda, B + r * ldb, D);
}

#ifndef XF_OWN_TILES
/* ---- attention tiles, portable form: every output a fmaf chain in index
 * order (the AVX-512 tiles in xf.c compute the same chains) ---- */
TGT static void FN(scores)(int R, int n, int D, float scale, const float *A, long lda, const float *BT, long ldb,
                           float *S, long lds)
{
    for (int r = 0; r < R; r++) {
        float *s = S + r * lds;
        const float *a = A + r * lda;
        for (int j = 0; j < n; j++) s[j] = 0.0f;
        for (int d = 0; d < D; d++) {
            float ad = a[d];
            const float *bt = BT + d * ldb;
            SIMD
            for (int j = 0; j < n; j++) s[j] = fmaf(ad, bt[j], s[j]);
        }
        SIMD
        for (int j = 0; j < n; j++) s[j] *= scale;
    }
}

TGT static void FN(pv)(int R, int n, int D, const float *P, long ldp, const float *V, long ldv, float *O, long ldo,
                       bool accumulate)
{
    for (int r = 0; r < R; r++) {
        float *o = O + r * ldo;
        const float *p = P + r * ldp;
        if (!accumulate)
            for (int d = 0; d < D; d++) o[d] = 0.0f;
        for (int j = 0; j < n; j++) {
            float pj = p[j];
            const float *v = V + j * ldv;
            SIMD
            for (int d = 0; d < D; d++) o[d] = fmaf(pj, v[d], o[d]);
        }
    }
}

TGT static void FN(pta)(int R, int n, int D, const float *P, long ldp, const float *A, long lda, float *G, long ldg)
{
    for (int j = 0; j < n; j++) {
        float *gj = G + j * ldg;
        for (int r = 0; r < R; r++) {
            float prj = P[r * ldp + j];
            const float *a = A + r * lda;
            SIMD
            for (int d = 0; d < D; d++) gj[d] = fmaf(prj, a[d], gj[d]);
        }
    }
}

#endif

#undef FN
#undef CAT
#undef CAT_
