/* SGEMM AVX-512F kernels: an 8 x 32 register tile (16 zmm accumulators,
 * two 16-float B vectors per k), its smaller variants for edge tiles, and
 * packing into the 8-row A and 32-column B micro-panels.  Columns past n are
 * masked (loads of B, loads and stores of C), so one kernel per row count
 * serves full and partial tiles, packed B and B read in place.  Every
 * element gets the recipe of gemm.h: one FMA chain over k in order, then
 * alpha * acc and fma(beta, c, .), exactly as the AVX2 and portable kernels
 * do it, so the bits match theirs.  Vector shapes (M == 1, N == 1) use the
 * AVX2 kernels, which keep the same recipe.
 * Compiled with per-function target attributes (the library's default build
 * stays baseline x86-64); gemm.c only calls in here after checking the CPU
 * for avx512f.  Only AVX-512F instructions are used.  On other architectures
 * this file compiles to nothing. */
#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>

#include "kernels/gemm_kernels.h"

#define TGT __attribute__((target("avx512f")))
#define INLINE static inline __attribute__((always_inline))

enum { MR = 8, NR = 32 };

/* Masks of the valid columns of the two 16-float halves of a 32-wide row. */
INLINE TGT __mmask16 half_mask(int n, int v)
{
    int r = n - 16 * v;
    return r >= 16 ? (__mmask16)0xFFFF : r <= 0 ? (__mmask16)0 : (__mmask16)((1u << r) - 1);
}

/* R rows x V vectors of 16 columns (n <= 16 * V valid).  Two B loads per k
 * feed 2R independent FMA chains (16 for the full tile: twice the 2 pipes x
 * 4 cycles of FMA latency); A is broadcast from the packed micro-panel.
 * With R, V constants every loop unrolls and acc[][] lives in registers. */
INLINE TGT void tile_body(const int R, const int V, int n, int kc, const float *pa,
                          const float *pb, ptrdiff_t ldb, float *c, ptrdiff_t ldc, float alpha,
                          float beta)
{
    __mmask16 mk[2] = {half_mask(n, 0), half_mask(n, 1)};
    __m512 acc[MR][2];
    _Pragma("GCC unroll 8") for (int i = 0; i < R; i++)
        _Pragma("GCC unroll 2") for (int v = 0; v < V; v++) acc[i][v] = _mm512_setzero_ps();

    /* Touch the C tile early so its lines arrive while the k loop runs. */
    _Pragma("GCC unroll 8") for (int i = 0; i < R; i++) {
        _mm_prefetch((const char *)(c + i * ldc), _MM_HINT_T0);
        if (V == 2) _mm_prefetch((const char *)(c + i * ldc + 31), _MM_HINT_T0);
    }

    _Pragma("GCC unroll 4") for (int k = 0; k < kc; k++) {
        __m512 b[2];
        _Pragma("GCC unroll 2") for (int v = 0; v < V; v++)
            b[v] = _mm512_maskz_loadu_ps(mk[v], pb + 16 * v);
        _Pragma("GCC unroll 8") for (int i = 0; i < R; i++) {
            __m512 a = _mm512_set1_ps(pa[i]);
            _Pragma("GCC unroll 2") for (int v = 0; v < V; v++)
                acc[i][v] = _mm512_fmadd_ps(a, b[v], acc[i][v]);
        }
        pa += MR;
        pb += ldb;
    }

    /* The epilogue: one rounded multiply by alpha, then (beta != 0) one fused
     * multiply-add with beta * c, as in every other kernel. */
    __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    _Pragma("GCC unroll 8") for (int i = 0; i < R; i++)
        _Pragma("GCC unroll 2") for (int v = 0; v < V; v++) {
            float *cr = c + i * ldc + 16 * v;
            __m512 t = _mm512_mul_ps(va, acc[i][v]);
            if (beta != 0.0f) t = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(mk[v], cr), t);
            _mm512_mask_storeu_ps(cr, mk[v], t);
        }
}

#define DEF_TILE(R, V)                                                                      \
    static TGT void tile_##R##x##V(int n, int kc, const float *pa, const float *pb,          \
                                   ptrdiff_t ldb, float *c, ptrdiff_t ldc, float alpha,      \
                                   float beta)                                               \
    {                                                                                        \
        tile_body(R, V, n, kc, pa, pb, ldb, c, ldc, alpha, beta);                            \
    }

DEF_TILE(1, 1)
DEF_TILE(2, 1)
DEF_TILE(3, 1)
DEF_TILE(4, 1)
DEF_TILE(5, 1)
DEF_TILE(6, 1)
DEF_TILE(7, 1)
DEF_TILE(8, 1)
DEF_TILE(1, 2)
DEF_TILE(2, 2)
DEF_TILE(3, 2)
DEF_TILE(4, 2)
DEF_TILE(5, 2)
DEF_TILE(6, 2)
DEF_TILE(7, 2)
DEF_TILE(8, 2)

typedef void (*tile_kernel)(int n, int kc, const float *pa, const float *pb, ptrdiff_t ldb,
                            float *c, ptrdiff_t ldc, float alpha, float beta);
static const tile_kernel tiles[2][MR] = {
    {tile_1x1, tile_2x1, tile_3x1, tile_4x1, tile_5x1, tile_6x1, tile_7x1, tile_8x1},
    {tile_1x2, tile_2x2, tile_3x2, tile_4x2, tile_5x2, tile_6x2, tile_7x2, tile_8x2},
};

static TGT void tile_avx512(int m, int n, int kc, const float *pa, const float *pb, ptrdiff_t ldb,
                            float *c, ptrdiff_t ldc, float alpha, float beta)
{
    tiles[n > 16][m - 1](n, kc, pa, pb, ldb, c, ldc, alpha, beta);
}

/* A is row-major: 8 k at a time, an 8 x 8 transpose of the 8 rows gives
 * eight 8-float groups [k][0..7]. */
static TGT void pack_a_rows(int kc, const float *a, ptrdiff_t lda, float *dst)
{
    int k = 0;
    for (; k + 8 <= kc; k += 8, dst += 64) {
        __m256 x[8];
        for (int i = 0; i < 8; i++) x[i] = _mm256_loadu_ps(a + i * lda + k);
        LAM_TRANSPOSE8(x);
        for (int kk = 0; kk < 8; kk++) _mm256_storeu_ps(dst + 8 * kk, x[kk]);
    }
    for (; k < kc; k++, dst += 8)
        for (int i = 0; i < 8; i++) dst[i] = a[i * lda + k];
}

/* B^T is row-major [N][K]: 8 k at a time, four 8 x 8 transposes (panel
 * columns 0-7, ..., 24-31) give eight 32-float rows of the panel. */
static TGT void pack_bt_rows(int kc, const float *b, ptrdiff_t ldb, float *dst)
{
    int k = 0;
    for (; k + 8 <= kc; k += 8, dst += 8 * NR) {
        for (int h = 0; h < 4; h++) {
            __m256 x[8];
            for (int j = 0; j < 8; j++) x[j] = _mm256_loadu_ps(b + (8 * h + j) * ldb + k);
            LAM_TRANSPOSE8(x);
            for (int kk = 0; kk < 8; kk++) _mm256_storeu_ps(dst + NR * kk + 8 * h, x[kk]);
        }
    }
    for (; k < kc; k++, dst += NR)
        for (int j = 0; j < NR; j++) dst[j] = b[j * ldb + k];
}

/* B is row-major [K][ldb]: each k row of the panel is ncols <= 32
 * contiguous floats, zero-padded to 32 (masked loads never touch memory
 * past ncols). */
static TGT void pack_b_cols(int kc, int ncols, const float *b, ptrdiff_t ldb, float *dst)
{
    __mmask16 m0 = half_mask(ncols, 0), m1 = half_mask(ncols, 1);
    for (int k = 0; k < kc; k++, b += ldb, dst += NR) {
        _mm512_storeu_ps(dst, _mm512_maskz_loadu_ps(m0, b));
        _mm512_storeu_ps(dst + 16, _mm512_maskz_loadu_ps(m1, b + 16));
    }
}

const lam_sgemm_kset lam_sgemm_kset_avx512 = {
    .name = "avx512",
    .mr = MR,
    .nr = NR,
    /* Blocking for Zen 5 (48 KiB L1d, 1 MiB L2 per core): the KC x 32 B
     * micro-panel (32 KiB at KC = 256) stays in L1 while 8-row A micro-panels
     * (8 KiB) stream from the A block in L2 (MC x KC = 480 KiB); the
     * KC x NC B block (2 MiB) lives in L3. */
    .mc = 480,
    .nc = 2048,
    .b_masked = true,
    .tile = tile_avx512,
    .pack_a_rows = pack_a_rows,
    .pack_bt_rows = pack_bt_rows,
    .pack_b_cols = pack_b_cols,
    .gemv = lam_sgemm_gemv_avx2,
    .gemv_t = lam_sgemm_gemv_t_avx2,
};

#else
/* ISO C forbids an empty translation unit. */
typedef int lam_gemm_avx512_unused_;
#endif
