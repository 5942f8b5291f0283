/* The transformer kernels (xf.h): three builds of xf_impl.h (AVX-512, AVX2,
 * portable) with our own exp and erfc (fastmath.h), AVX-512 register tiles
 * for the attention products, and the run-time choice (isa.h).  Allocates
 * nothing. */
#include "kernels/xf.h"

#include "kernels/fastmath.h"
#include "kernels/isa.h"

static inline __attribute__((always_inline)) float xf_tree16(const float s[16])
{
    return (((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]))) +
           (((s[8] + s[9]) + (s[10] + s[11])) + ((s[12] + s[13]) + (s[14] + s[15])));
}

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define TGT __attribute__((target("avx512f,avx512vl,avx512dq,avx2,fma")))
#define SIMD _Pragma("omp simd simdlen(16)")
#define SFX _avx512
#define XF_OWN_TILES /* below */
#include "kernels/xf_impl.h"
#undef XF_OWN_TILES
#undef SFX
#undef SIMD

/* ---- AVX-512 attention tiles: 8 rows x 32 columns in 16 registers; the
 * same fma chains as the portable loops (zero start, one fma per term in
 * index order, the scale applied after) ---- */
static inline TGT __mmask16 mask_lo(int w) { return w >= 16 ? (__mmask16)0xFFFF : w <= 0 ? 0 : (__mmask16)((1u << w) - 1); }

TGT static void scores_tile_avx512(int R, int n, int D, float scale, const float *A, long lda, const float *BT, long ldb,
                                   float *S, long lds)
{
    const float *ar[LAM_XF_R];
    for (int r = 0; r < LAM_XF_R; r++) ar[r] = A + (r < R ? r : R - 1) * lda;
    const __m512 vs = _mm512_set1_ps(scale);
    for (int j0 = 0; j0 < n; j0 += 32) {
        int w = n - j0 < 32 ? n - j0 : 32;
        __mmask16 m0 = mask_lo(w), m1 = mask_lo(w - 16);
        __m512 c[LAM_XF_R][2];
#pragma GCC unroll 8
        for (int r = 0; r < LAM_XF_R; r++) c[r][0] = c[r][1] = _mm512_setzero_ps();
        for (int d = 0; d < D; d++) {
            const float *bt = BT + d * ldb + j0;
            __m512 b0 = _mm512_maskz_loadu_ps(m0, bt), b1 = _mm512_maskz_loadu_ps(m1, bt + 16);
#pragma GCC unroll 8
            for (int r = 0; r < LAM_XF_R; r++) {
                __m512 a = _mm512_set1_ps(ar[r][d]);
                c[r][0] = _mm512_fmadd_ps(a, b0, c[r][0]);
                c[r][1] = _mm512_fmadd_ps(a, b1, c[r][1]);
            }
        }
#pragma GCC unroll 8
        for (int r = 0; r < LAM_XF_R; r++)
            if (r < R) {
                _mm512_mask_storeu_ps(S + r * lds + j0, m0, _mm512_mul_ps(c[r][0], vs));
                _mm512_mask_storeu_ps(S + r * lds + j0 + 16, m1, _mm512_mul_ps(c[r][1], vs));
            }
    }
}

TGT static void pv_tile_avx512(int R, int n, int D, const float *P, long ldp, const float *V, long ldv, float *O,
                               long ldo, bool accumulate)
{
    const float *pr[LAM_XF_R];
    for (int r = 0; r < LAM_XF_R; r++) pr[r] = P + (r < R ? r : R - 1) * ldp;
    for (int d0 = 0; d0 < D; d0 += 32) {
        int w = D - d0 < 32 ? D - d0 : 32;
        __mmask16 m0 = mask_lo(w), m1 = mask_lo(w - 16);
        __m512 c[LAM_XF_R][2];
#pragma GCC unroll 8
        for (int r = 0; r < LAM_XF_R; r++) {
            if (accumulate && r < R) {
                c[r][0] = _mm512_maskz_loadu_ps(m0, O + r * ldo + d0);
                c[r][1] = _mm512_maskz_loadu_ps(m1, O + r * ldo + d0 + 16);
            } else {
                c[r][0] = c[r][1] = _mm512_setzero_ps();
            }
        }
        for (int j = 0; j < n; j++) {
            const float *v = V + j * ldv + d0;
            __m512 v0 = _mm512_maskz_loadu_ps(m0, v), v1 = _mm512_maskz_loadu_ps(m1, v + 16);
#pragma GCC unroll 8
            for (int r = 0; r < LAM_XF_R; r++) {
                __m512 p = _mm512_set1_ps(pr[r][j]);
                c[r][0] = _mm512_fmadd_ps(p, v0, c[r][0]);
                c[r][1] = _mm512_fmadd_ps(p, v1, c[r][1]);
            }
        }
#pragma GCC unroll 8
        for (int r = 0; r < LAM_XF_R; r++)
            if (r < R) {
                _mm512_mask_storeu_ps(O + r * ldo + d0, m0, c[r][0]);
                _mm512_mask_storeu_ps(O + r * ldo + d0 + 16, m1, c[r][1]);
            }
    }
}

TGT static void pta_tile_avx512(int R, int n, int D, const float *P, long ldp, const float *A, long lda, float *G,
                                long ldg)
{
    for (int j0 = 0; j0 < n; j0 += 8) {
        int nj = n - j0 < 8 ? n - j0 : 8;
        for (int d0 = 0; d0 < D; d0 += 32) {
            int w = D - d0 < 32 ? D - d0 : 32;
            __mmask16 m0 = mask_lo(w), m1 = mask_lo(w - 16);
            __m512 c[8][2];
#pragma GCC unroll 8
            for (int k = 0; k < 8; k++) {
                if (k < nj) {
                    c[k][0] = _mm512_maskz_loadu_ps(m0, G + (j0 + k) * ldg + d0);
                    c[k][1] = _mm512_maskz_loadu_ps(m1, G + (j0 + k) * ldg + d0 + 16);
                } else {
                    c[k][0] = c[k][1] = _mm512_setzero_ps();
                }
            }
            for (int r = 0; r < R; r++) {
                const float *a = A + r * lda + d0, *p = P + r * ldp + j0;
                __m512 a0 = _mm512_maskz_loadu_ps(m0, a), a1 = _mm512_maskz_loadu_ps(m1, a + 16);
#pragma GCC unroll 8
                for (int k = 0; k < 8; k++) {
                    __m512 pk = _mm512_set1_ps(p[k < nj ? k : nj - 1]);
                    c[k][0] = _mm512_fmadd_ps(pk, a0, c[k][0]);
                    c[k][1] = _mm512_fmadd_ps(pk, a1, c[k][1]);
                }
            }
#pragma GCC unroll 8
            for (int k = 0; k < 8; k++)
                if (k < nj) {
                    _mm512_mask_storeu_ps(G + (j0 + k) * ldg + d0, m0, c[k][0]);
                    _mm512_mask_storeu_ps(G + (j0 + k) * ldg + d0 + 16, m1, c[k][1]);
                }
        }
    }
}
#undef TGT

#define TGT __attribute__((target("avx2,fma")))
#define SIMD _Pragma("omp simd simdlen(8)")
#define SFX _avx2
#include "kernels/xf_impl.h"
#undef TGT
#undef SIMD
#undef SFX
#endif

#define TGT
#define SIMD
#define SFX _generic
#include "kernels/xf_impl.h"
#undef TGT
#undef SIMD
#undef SFX

void lam_k_gelu(const float *x, float *y, long n, bool tanh_form) { LAM_ISA_DISPATCH(gelu_n, x, y, n, tanh_form); }
void lam_k_gelu_bwd(const float *x, const float *dy, float *dx, long n, bool tanh_form, bool accumulate)
{
    LAM_ISA_DISPATCH(gelu_bwd_n, x, dy, dx, n, tanh_form, accumulate);
}
void lam_k_norm_fwd(const float *x, const float *g, const float *b, float *y, float *stat, long rows, int C, float eps,
                    bool rms)
{
    LAM_ISA_DISPATCH(norm_fwd, x, g, b, y, stat, rows, C, eps, rms);
}
void lam_k_norm_bwd(const float *x, const float *g, const float *stat, const float *dy, float *dx, float *dg_part,
                    float *db_part, long rows, int C, bool rms, bool accumulate)
{
    LAM_ISA_DISPATCH(norm_bwd, x, g, stat, dy, dx, dg_part, db_part, rows, C, rms, accumulate);
}
void lam_k_xf_softmax(int R, int n, float *S, long lds, const int *lim, float *lse)
{
    LAM_ISA_DISPATCH(softmax_rows, R, n, S, lds, lim, lse);
}
void lam_k_xf_softmax_bwd(int R, int n, float *S, long lds, const int *lim, const float *lse, const float *dP, long ldp,
                          const float *delta, float scale, float *P, long ldpp)
{
    LAM_ISA_DISPATCH(softmax_bwd_rows, R, n, S, lds, lim, lse, dP, ldp, delta, scale, P, ldpp);
}
void lam_k_xf_rowdot(int R, int D, const float *A, long lda, const float *B, long ldb, float *out)
{
    LAM_ISA_DISPATCH(rowdot, R, D, A, lda, B, ldb, out);
}

#if defined(__x86_64__) || defined(__i386__)
#define TILE_DISPATCH(tile, port, ...)                                              \
    do {                                                                            \
        switch (lam_k_isa()) {                                                      \
        case LAM_ISA_AVX512: tile##_tile_avx512(__VA_ARGS__); break;                \
        case LAM_ISA_AVX2: port##_avx2(__VA_ARGS__); break;                         \
        default: port##_generic(__VA_ARGS__); break;                                \
        }                                                                           \
    } while (0)
#else
#define TILE_DISPATCH(tile, port, ...) port##_generic(__VA_ARGS__)
#endif

void lam_k_xf_scores(int R, int n, int D, float scale, const float *A, long lda, const float *BT, long ldb, float *S,
                     long lds)
{
    if (R <= 0 || n <= 0) return;
    TILE_DISPATCH(scores, scores, R, n, D, scale, A, lda, BT, ldb, S, lds);
}
void lam_k_xf_pv(int R, int n, int D, const float *P, long ldp, const float *V, long ldv, float *O, long ldo,
                 bool accumulate)
{
    if (R <= 0) return;
    TILE_DISPATCH(pv, pv, R, n, D, P, ldp, V, ldv, O, ldo, accumulate);
}
void lam_k_xf_pta(int R, int n, int D, const float *P, long ldp, const float *A, long lda, float *G, long ldg)
{
    if (R <= 0 || n <= 0) return;
    TILE_DISPATCH(pta, pta, R, n, D, P, ldp, A, lda, G, ldg);
}
