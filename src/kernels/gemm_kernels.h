/* Internal to the SGEMM files (gemm.c, gemm_avx2.c, gemm_avx512.c): the
 * interface between the blocked driver and one set of kernels.  A kernel set
 * fixes the register tile (mr x nr), the packed layouts that follow from it
 * and the cache blocks; the driver does the rest.  Every kernel keeps the
 * per-element arithmetic stated in gemm.h, so which set runs, and which of
 * its kernels computes an element, never changes a bit. */
#ifndef LAMINA_KERNELS_GEMM_KERNELS_H
#define LAMINA_KERNELS_GEMM_KERNELS_H

#include <stdbool.h>
#include <stddef.h>

/* The K block is the one constant every kernel must share (it fixes the
 * rounding); see kc_step() in gemm.c. */
#define LAM_SGEMM_KC_MAX 256

/* m x n block (m <= mr, n <= nr) of C from an A micro-panel packed [kc][mr]
 * (rows past m may be anything) and kc rows of B at pb, pb + ldb, ...
 * (packed panels: ldb = the panel's width, zero-padded past n), with the
 * epilogue c = alpha*acc (beta == 0, c not read) or fma(beta, c, alpha*acc).
 * Only the m x n block of C is read or written. */
typedef void (*lam_sgemm_tile_fn)(int m, int n, int kc, const float *pa, const float *pb,
                                  ptrdiff_t ldb, float *c, ptrdiff_t ldc, float alpha,
                                  float beta);
/* Packing of one full micro-panel (plain copies: they cannot change results):
 * mr rows of a row-major A (row stride lda) into [kc][mr], or nr rows of a
 * row-major B^T (row stride ldb) into [kc][nr]. */
typedef void (*lam_sgemm_pack_fn)(int kc, const float *src, ptrdiff_t ld, float *dst);
/* nr' <= nr columns of a row-major B into [kc][nr], zero-padded. */
typedef void (*lam_sgemm_pack_cols_fn)(int kc, int ncols, const float *b, ptrdiff_t ldb,
                                       float *dst);
/* Vector shapes without packing: c[j*ldo] = alpha * sum_k x[k*incx] *
 * y[k*ldy + j] (+ beta * c[j*ldo]) for j < n (axpy form), or with y read by
 * rows, c[r*ldo] = alpha * sum_k y[r*ldy + k] * x[k*incx] (dot form); K in
 * blocks of kcs, the tile kernels' per-element arithmetic. */
typedef void (*lam_sgemm_gemv_fn)(int n, int K, int kcs, const float *x, ptrdiff_t incx,
                                  const float *y, ptrdiff_t ldy, float *c, ptrdiff_t ldo,
                                  float alpha, float beta);

typedef struct lam_sgemm_kset {
    const char *name;
    int mr, nr; /* register tile */
    int mc, nc; /* cache blocks: rows of the packed A block (multiple of mr),
                 * columns of the packed B block (multiple of nr) */
    /* tile() reads only the n valid columns of each B row (masked loads),
     * so B may be read in place even for a partial panel */
    bool b_masked;
    lam_sgemm_tile_fn tile;
    lam_sgemm_pack_fn pack_a_rows, pack_bt_rows;
    lam_sgemm_pack_cols_fn pack_b_cols;
    lam_sgemm_gemv_fn gemv, gemv_t; /* NULL: vector shapes take the packed path */
} lam_sgemm_kset;

/* The portable set (gemm.c), always available. */
extern const lam_sgemm_kset lam_sgemm_kset_generic;

/* The set for this CPU and the test hooks (gemm.c). */
const lam_sgemm_kset *lam_sgemm_kset_pick(void);
/* Every set compiled in, for workspace bounds that hold whichever runs:
 * sets[0..*count-1]. */
const lam_sgemm_kset *const *lam_sgemm_ksets(int *count);
/* The K block size for this K: ceil(K / ceil(K / LAM_SGEMM_KC_MAX)). */
int lam_sgemm_kc_step(int K);
/* Rows [i0, i0+mc) x cols [k0, k0+kc) of op(A) into micro-panels [kc][mr],
 * one per mr rows, the last one zero-padded. */
void lam_sgemm_pack_a(const lam_sgemm_kset *ks, bool ta, int mc, int kc, const float *A, int lda,
                      int i0, int k0, float *dst);
/* C = beta*C for an M x N block (beta == 0 writes zeros over NaNs). */
void lam_sgemm_scale_c(int M, int N, float beta, float *C, int ldc);

#if defined(__x86_64__) || defined(__i386__)
/* In-register 8x8 transpose of __m256 x[0..7] (rows) into columns, for the
 * AVX2 and AVX-512 packing routines (expanded inside their target attributes). */
#define LAM_TRANSPOSE8(x)                                                                   \
    do {                                                                                \
        __m256 u0 = _mm256_unpacklo_ps(x[0], x[1]), u1 = _mm256_unpackhi_ps(x[0], x[1]); \
        __m256 u2 = _mm256_unpacklo_ps(x[2], x[3]), u3 = _mm256_unpackhi_ps(x[2], x[3]); \
        __m256 u4 = _mm256_unpacklo_ps(x[4], x[5]), u5 = _mm256_unpackhi_ps(x[4], x[5]); \
        __m256 u6 = _mm256_unpacklo_ps(x[6], x[7]), u7 = _mm256_unpackhi_ps(x[6], x[7]); \
        __m256 v0 = _mm256_shuffle_ps(u0, u2, 0x44), v1 = _mm256_shuffle_ps(u0, u2, 0xEE); \
        __m256 v2 = _mm256_shuffle_ps(u1, u3, 0x44), v3 = _mm256_shuffle_ps(u1, u3, 0xEE); \
        __m256 v4 = _mm256_shuffle_ps(u4, u6, 0x44), v5 = _mm256_shuffle_ps(u4, u6, 0xEE); \
        __m256 v6 = _mm256_shuffle_ps(u5, u7, 0x44), v7 = _mm256_shuffle_ps(u5, u7, 0xEE); \
        x[0] = _mm256_permute2f128_ps(v0, v4, 0x20);                                    \
        x[1] = _mm256_permute2f128_ps(v1, v5, 0x20);                                    \
        x[2] = _mm256_permute2f128_ps(v2, v6, 0x20);                                    \
        x[3] = _mm256_permute2f128_ps(v3, v7, 0x20);                                    \
        x[4] = _mm256_permute2f128_ps(v0, v4, 0x31);                                    \
        x[5] = _mm256_permute2f128_ps(v1, v5, 0x31);                                    \
        x[6] = _mm256_permute2f128_ps(v2, v6, 0x31);                                    \
        x[7] = _mm256_permute2f128_ps(v3, v7, 0x31);                                    \
    } while (0)

extern const lam_sgemm_kset lam_sgemm_kset_avx2;   /* gemm_avx2.c */
extern const lam_sgemm_kset lam_sgemm_kset_avx512; /* gemm_avx512.c */
/* The AVX2 vector-shape kernels, shared by the AVX-512 set. */
void lam_sgemm_gemv_avx2(int n, int K, int kcs, const float *x, ptrdiff_t incx, const float *y,
                         ptrdiff_t ldy, float *c, ptrdiff_t ldo, float alpha, float beta);
void lam_sgemm_gemv_t_avx2(int n, int K, int kcs, const float *x, ptrdiff_t incx, const float *y,
                           ptrdiff_t ldy, float *c, ptrdiff_t ldo, float alpha, float beta);
#endif

#endif
