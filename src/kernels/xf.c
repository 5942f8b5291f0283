/* The transformer kernels (xf.h): three builds of xf_impl.h (AVX-512, AVX2,
 * portable) with our own exp and erfc (fastmath.h), AVX-512 and AVX2
 * register tiles for the attention products (xf_tiles.h), and the run-time
 * choice (isa.h).  Allocates
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

/* AVX-512 tiles: 8 rows x 32 columns */
static inline TGT __mmask16 mask16(int w) { return w >= 16 ? (__mmask16)0xFFFF : w <= 0 ? 0 : (__mmask16)((1u << w) - 1); }
#define VT __m512
#define VW 16
#define MT __mmask16
#define MASK(w) mask16(w)
#define LD(m, p) _mm512_maskz_loadu_ps((m), (p))
#define ST(p, m, v) _mm512_mask_storeu_ps((p), (m), (v))
#define FMA _mm512_fmadd_ps
#define SET1 _mm512_set1_ps
#define ZERO _mm512_setzero_ps
#define MUL _mm512_mul_ps
#include "kernels/xf_tiles.h"
#undef VT
#undef VW
#undef MT
#undef MASK
#undef LD
#undef ST
#undef FMA
#undef SET1
#undef ZERO
#undef MUL
#undef TGT
#undef SIMD
#undef SFX

#define TGT __attribute__((target("avx2,fma")))
#define SIMD _Pragma("omp simd simdlen(8)")
#define SFX _avx2
#define XF_OWN_TILES /* below */
#include "kernels/xf_impl.h"
#undef XF_OWN_TILES

/* AVX2 tiles: 8 rows x 16 columns; masked lanes are neither read nor written */
static inline TGT __m256i mask8(int w)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(w), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
#define VT __m256
#define VW 8
#define MT __m256i
#define MASK(w) mask8(w)
#define LD(m, p) _mm256_maskload_ps((p), (m))
#define ST(p, m, v) _mm256_maskstore_ps((p), (m), (v))
#define FMA _mm256_fmadd_ps
#define SET1 _mm256_set1_ps
#define ZERO _mm256_setzero_ps
#define MUL _mm256_mul_ps
#include "kernels/xf_tiles.h"
#undef VT
#undef VW
#undef MT
#undef MASK
#undef LD
#undef ST
#undef FMA
#undef SET1
#undef ZERO
#undef MUL
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
void lam_k_silu(const float *x, float *y, long n) { LAM_ISA_DISPATCH(silu_n, x, y, n); }
void lam_k_silu_bwd(const float *x, const float *dy, float *dx, long n, bool accumulate)
{
    LAM_ISA_DISPATCH(silu_bwd_n, x, dy, dx, n, accumulate);
}
void lam_k_swiglu(const float *x, float *y, long rows, long H) { LAM_ISA_DISPATCH(swiglu_n, x, y, rows, H); }
void lam_k_swiglu_bwd(const float *x, const float *dy, float *dx, long rows, long H, bool accumulate)
{
    LAM_ISA_DISPATCH(swiglu_bwd_n, x, dy, dx, rows, H, accumulate);
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
        case LAM_ISA_AVX2: tile##_tile_avx2(__VA_ARGS__); break;                    \
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
