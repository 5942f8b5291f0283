/* Direct convolution for few input channels (see conv_direct.h).
 *
 * Forward: eight filters at a time, each with an 8-wide accumulator along
 * the output row, so one load of the padded input feeds eight FMAs (the
 * weights are broadcast).  Weight gradient: one filter and one input
 * channel at a time, up to eight kernel taps per pass, each an 8-wide
 * accumulator over every image, row and 8-column chunk.  The portable
 * build does the same operations with fmaf, lane by lane. */
#include "kernels/conv_direct.h"
#include "kernels/vec.h"

#include <math.h>
#include <stddef.h>
#include <stdatomic.h>
#include <string.h>

#define LANES 8
#define KB 8 /* filters per forward pass */
#define QB 9 /* kernel taps per weight-gradient pass (a whole 3x3) */

bool lam_direct_setup(lam_direct *d, int C, int H, int W, int K, int KH, int KW, int ph, int pw)
{
    memset(d, 0, sizeof *d);
    if (C < 1 || K < 1 || KH < 1 || KW < 1 || ph < 0 || pw < 0) return false;
    int OH = H + 2 * ph - KH + 1, OW = W + 2 * pw - KW + 1;
    if (OH < 1 || OW < 1) return false;
    int Wv = (OW + LANES - 1) / LANES * LANES;
    *d = (lam_direct){C, H, W, K, KH, KW, ph, pw, OH, OW, OH + KH - 1, Wv + KW - 1};
    return true;
}

long lam_direct_pad_floats(const lam_direct *d) { return (long)d->C * d->Hp * d->Wp; }

void lam_direct_pad(const lam_direct *d, const float *x, float *pad)
{
    long plane = (long)d->Hp * d->Wp;
    memset(pad, 0, sizeof(float) * (size_t)(plane * d->C));
    for (int c = 0; c < d->C; c++)
        for (int y = 0; y < d->H; y++) {
            int py = y + d->ph;
            if (py >= d->Hp) break; /* rows below the last output's window */
            /* columns past the last output's window are never read */
            int n = d->W < d->Wp - d->pw ? d->W : d->Wp - d->pw;
            memcpy(pad + c * plane + (long)py * d->Wp + d->pw, x + ((long)c * d->H + y) * d->W, sizeof(float) * (size_t)n);
        }
}

/* ---- portable build --------------------------------------------------------- */

static void forward_base(const lam_direct *d, const float *pad, const float *w, const float *bias, float *y)
{
    int taps = d->KH * d->KW, ckk = d->C * taps;
    long plane = (long)d->Hp * d->Wp, ohw = (long)d->OH * d->OW;
    for (int k0 = 0; k0 < d->K; k0 += KB) {
        int kn = d->K - k0 < KB ? d->K - k0 : KB;
        for (int oy = 0; oy < d->OH; oy++)
            for (int ox = 0; ox < d->OW; ox += LANES) {
                float acc[KB][LANES];
                for (int kk = 0; kk < kn; kk++)
                    for (int l = 0; l < LANES; l++) acc[kk][l] = bias ? bias[k0 + kk] : 0.0f;
                for (int c = 0; c < d->C; c++)
                    for (int i = 0; i < d->KH; i++)
                        for (int j = 0; j < d->KW; j++) {
                            const float *src = pad + c * plane + (long)(oy + i) * d->Wp + ox + j;
                            for (int kk = 0; kk < kn; kk++) {
                                float wv = w[(long)(k0 + kk) * ckk + c * taps + i * d->KW + j];
                                for (int l = 0; l < LANES; l++) acc[kk][l] = fmaf(wv, src[l], acc[kk][l]);
                            }
                        }
                int n = d->OW - ox < LANES ? d->OW - ox : LANES;
                for (int kk = 0; kk < kn; kk++)
                    memcpy(y + (k0 + kk) * ohw + (long)oy * d->OW + ox, acc[kk], sizeof(float) * (size_t)n);
            }
    }
}


static void weight_grad_base(const lam_direct *d, long B, const float *dy, const float *pad, float *dw, int k0, int k1)
{
    int taps = d->KH * d->KW;
    long plane = (long)d->Hp * d->Wp, ohw = (long)d->OH * d->OW, padsz = plane * d->C;
    for (int k = k0; k < k1; k++)
        for (int c = 0; c < d->C; c++)
            for (int q0 = 0; q0 < taps; q0 += QB) {
                int qn = taps - q0 < QB ? taps - q0 : QB;
                float acc[QB][LANES] = {{0}};
                for (long b = 0; b < B; b++)
                    for (int oy = 0; oy < d->OH; oy++)
                        for (int ox = 0; ox < d->OW; ox += LANES) {
                            const float *g = dy + (b * d->K + k) * ohw + (long)oy * d->OW + ox;
                            const float *src = pad + b * padsz + c * plane + (long)oy * d->Wp + ox;
                            int n = d->OW - ox < LANES ? d->OW - ox : LANES;
                            for (int q = 0; q < qn; q++) {
                                int i = (q0 + q) / d->KW, j = (q0 + q) % d->KW;
                                for (int l = 0; l < LANES; l++) {
                                    float gv = l < n ? g[l] : 0.0f, xv = l < n ? src[i * d->Wp + j + l] : 0.0f;
                                    acc[q][l] = fmaf(gv, xv, acc[q][l]);
                                }
                            }
                        }
                for (int q = 0; q < qn; q++) dw[((long)k * d->C + c) * taps + q0 + q] += lam_k_sum8(acc[q]);
            }
}

/* ---- AVX2 / FMA build ------------------------------------------------------- */

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define TGT __attribute__((target("avx2,fma")))

/* Eight accumulators as named variables, so that they stay in registers. */
#define REP8(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)
#define REP9(X) REP8(X) X(8)

TGT static void forward_avx2(const lam_direct *d, const float *pad, const float *w, const float *bias, float *y)
{
    int taps = d->KH * d->KW, ckk = d->C * taps;
    long plane = (long)d->Hp * d->Wp, ohw = (long)d->OH * d->OW;
    float wb[LAM_DIRECT_MAX_CKK * KB], bk[KB];
    for (int k0 = 0; k0 < d->K; k0 += KB) {
        int kn = d->K - k0 < KB ? d->K - k0 : KB;
        /* weights of eight filters interleaved: wb[t*8 + kk]; filters past K
         * repeat the last one and their results are not stored */
        for (int kk = 0; kk < KB; kk++) {
            int k = k0 + (kk < kn ? kk : kn - 1);
            for (int t = 0; t < ckk; t++) wb[t * KB + kk] = w[(long)k * ckk + t];
            bk[kk] = bias ? bias[k] : 0.0f;
        }
        for (int oy = 0; oy < d->OH; oy++)
            for (int ox = 0; ox < d->OW; ox += LANES) {
#define INIT(q) __m256 a##q = _mm256_set1_ps(bk[q]);
                REP8(INIT)
#undef INIT
                const float *wp = wb;
                for (int c = 0; c < d->C; c++)
                    for (int i = 0; i < d->KH; i++) {
                        const float *src = pad + c * plane + (long)(oy + i) * d->Wp + ox;
                        for (int j = 0; j < d->KW; j++, wp += KB) {
                            __m256 xv = _mm256_loadu_ps(src + j);
#define STEP(q) a##q = _mm256_fmadd_ps(_mm256_broadcast_ss(wp + q), xv, a##q);
                            REP8(STEP)
#undef STEP
                        }
                    }
                __m256 acc[KB] = {a0, a1, a2, a3, a4, a5, a6, a7};
                int n = d->OW - ox < LANES ? d->OW - ox : LANES;
                for (int kk = 0; kk < kn; kk++) {
                    float *dst = y + (k0 + kk) * ohw + (long)oy * d->OW + ox;
                    if (n == LANES) {
                        _mm256_storeu_ps(dst, acc[kk]);
                    } else {
                        float t[LANES];
                        _mm256_storeu_ps(t, acc[kk]);
                        memcpy(dst, t, sizeof(float) * (size_t)n);
                    }
                }
            }
    }
}

TGT static void weight_grad_avx2(const lam_direct *d, long B, const float *dy, const float *pad, float *dw, int k0,
                                 int k1)
{
    int taps = d->KH * d->KW;
    long plane = (long)d->Hp * d->Wp, ohw = (long)d->OH * d->OW, padsz = plane * d->C;
    int full = d->OW / LANES * LANES, tail = d->OW - full;
    int mask_i[LANES];
    for (int l = 0; l < LANES; l++) mask_i[l] = l < tail ? -1 : 0;
    __m256 mask = _mm256_castsi256_ps(_mm256_loadu_si256((const __m256i *)mask_i));
    for (int k = k0; k < k1; k++)
        for (int c = 0; c < d->C; c++)
            for (int q0 = 0; q0 < taps; q0 += QB) {
                int qn = taps - q0 < QB ? taps - q0 : QB;
                /* taps past the last repeat it and are not stored */
#define OFF(q)                                                                 \
    int qq##q = q0 + (q < qn ? q : qn - 1);                                    \
    ptrdiff_t o##q = (qq##q / d->KW) * (ptrdiff_t)d->Wp + qq##q % d->KW;       \
    __m256 a##q = _mm256_setzero_ps();
                REP9(OFF)
#undef OFF
                for (long b = 0; b < B; b++)
                    for (int oy = 0; oy < d->OH; oy++) {
                        const float *g = dy + (b * d->K + k) * ohw + (long)oy * d->OW;
                        const float *src = pad + b * padsz + c * plane + (long)oy * d->Wp;
                        int ox = 0;
                        for (; ox < full; ox += LANES) {
                            __m256 gv = _mm256_loadu_ps(g + ox);
                            const float *sx = src + ox;
#define STEP(q) a##q = _mm256_fmadd_ps(gv, _mm256_loadu_ps(sx + o##q), a##q);
                            REP9(STEP)
#undef STEP
                        }
                        if (tail) { /* lanes past OW: 0 * 0, as the portable build */
                            float t[LANES] = {0};
                            memcpy(t, g + ox, sizeof(float) * (size_t)tail);
                            __m256 gv = _mm256_loadu_ps(t);
                            const float *sx = src + ox;
#define STEP(q) a##q = _mm256_fmadd_ps(gv, _mm256_and_ps(mask, _mm256_loadu_ps(sx + o##q)), a##q);
                            REP9(STEP)
#undef STEP
                        }
                    }
                __m256 acc[QB] = {a0, a1, a2, a3, a4, a5, a6, a7, a8};
                for (int q = 0; q < qn; q++) {
                    float t[LANES];
                    _mm256_storeu_ps(t, acc[q]);
                    dw[((long)k * d->C + c) * taps + q0 + q] += lam_k_sum8(t);
                }
            }
}

static atomic_bool force_base_; /* test hook only */
void lam_direct_force_base(bool on) { atomic_store_explicit(&force_base_, on, memory_order_relaxed); }
static bool use_avx2(void)
{
    return !atomic_load_explicit(&force_base_, memory_order_relaxed) && __builtin_cpu_supports("avx2") &&
           __builtin_cpu_supports("fma");
}
#else
void lam_direct_force_base(bool on) { (void)on; }
static bool use_avx2(void) { return false; }
#define forward_avx2 forward_base
#define weight_grad_avx2 weight_grad_base
#endif

void lam_direct_forward(const lam_direct *d, const float *pad, const float *w, const float *bias, float *y)
{
    (use_avx2() ? forward_avx2 : forward_base)(d, pad, w, bias, y);
}

void lam_direct_weight_grad(const lam_direct *d, long B, const float *dy, const float *pad, float *dw, int k0,
                            int k1)
{
    (use_avx2() ? weight_grad_avx2 : weight_grad_base)(d, B, dy, pad, dw, k0, k1);
}

/* Plain loops: only an explicit algorithm = direct on a layer whose input
 * needs a gradient comes here (AUTO picks direct for first layers only). */
void lam_direct_input_grad(const lam_direct *d, const float *dy, const float *w, float *dx)
{
    int taps = d->KH * d->KW;
    long ohw = (long)d->OH * d->OW;
    for (int c = 0; c < d->C; c++)
        for (int k = 0; k < d->K; k++)
            for (int i = 0; i < d->KH; i++)
                for (int j = 0; j < d->KW; j++) {
                    float wv = w[((long)k * d->C + c) * taps + i * d->KW + j];
                    for (int oy = 0; oy < d->OH; oy++) {
                        int yy = oy + i - d->ph;
                        if (yy < 0 || yy >= d->H) continue;
                        const float *g = dy + k * ohw + (long)oy * d->OW;
                        float *dst = dx + ((long)c * d->H + yy) * d->W;
                        for (int ox = 0; ox < d->OW; ox++) {
                            int xx = ox + j - d->pw;
                            if (xx >= 0 && xx < d->W) dst[xx] += wv * g[ox];
                        }
                    }
                }
}
