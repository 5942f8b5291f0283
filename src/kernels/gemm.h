/* Single-precision GEMM: C[M,N] = alpha * op(A) * op(B) + beta * C, row-major.
 *   op(A) is A[M,K] (lda >= K) or, with trans_a, A stored as [K,M] (lda >= M);
 *   op(B) is B[K,N] (ldb >= N) or, with trans_b, B stored as [N,K] (ldb >= K).
 * beta == 0 means C is written without being read (NaNs in C are ignored).
 *
 * The kernels allocate nothing: packing space comes from the caller, sized by
 * lam_sgemm_ws_floats().  Work is split over independent blocks of C only,
 * never over K.  Each element of C gets the same arithmetic (K blocks fixed
 * by K alone, one FMA chain per block, the same epilogue) whatever M, N, the
 * thread count and where tile edges fall, so results are bitwise identical
 * for every thread count, and a row of C does not depend on how many other
 * rows are computed with it (batch-size invariance).
 * The implementation is packed and cache-blocked with an AVX2/FMA micro-kernel
 * chosen at run time (plus unpacked paths for M == 1, N == 1 and M <= 6), and
 * a portable C fallback. */
#ifndef LAMINA_KERNELS_GEMM_H
#define LAMINA_KERNELS_GEMM_H

#include <stdbool.h>
#include <stddef.h>

/* Floats of workspace lam_sgemm needs for these sizes with `nthreads` threads
 * (nthreads <= 0: lam_get_threads()).  A bound that does not depend on M, N, K
 * beyond their caps is fine: callers plan it once. */
size_t lam_sgemm_ws_floats(int M, int N, int K, int nthreads);

/* ws: at least lam_sgemm_ws_floats(M,N,K,nthreads) floats, 64-byte aligned.
 * nthreads <= 0: lam_get_threads().  Small problems run on one thread. */
void lam_sgemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha,
               const float *A, int lda, const float *B, int ldb, float beta,
               float *C, int ldc, float *ws, int nthreads);

/* `count` independent products C_i = alpha op(A_i) op(B_i) + beta C_i with
 * A_i = A + i*stride_a (likewise B, C), all of one shape.  Threads take whole
 * products and run each on one thread, so small products (Winograd's, one
 * per transform position) keep both cores busy, and every product gets the
 * arithmetic of lam_sgemm whatever the thread count.  ws: at least
 * lam_sgemm_batch_ws_floats(M, N, K, nthreads) floats, 64-byte aligned. */
size_t lam_sgemm_batch_ws_floats(int M, int N, int K, int nthreads);
void lam_sgemm_batch(int count, bool trans_a, bool trans_b, int M, int N, int K, float alpha,
                     const float *A, int lda, ptrdiff_t stride_a, const float *B, int ldb,
                     ptrdiff_t stride_b, float beta, float *C, int ldc, ptrdiff_t stride_c,
                     float *ws, int nthreads);
/* The same, calling then(ctx, i) on the thread that computed product i right
 * after it (while C_i is still in that core's cache). */
void lam_sgemm_batch_then(int count, bool trans_a, bool trans_b, int M, int N, int K, float alpha,
                          const float *A, int lda, ptrdiff_t stride_a, const float *B, int ldb,
                          ptrdiff_t stride_b, float beta, float *C, int ldc, ptrdiff_t stride_c,
                          float *ws, int nthreads, void (*then)(void *ctx, int i), void *ctx);

/* Which micro-kernel lam_sgemm uses on this CPU: "avx2-fma", "generic", or
 * "openblas" when built with BLAS=openblas. */
const char *lam_sgemm_kernel_name(void);

/* Test-only: force the portable micro-kernel even where AVX2/FMA exists (so
 * the tests can compare both on one machine).  Process-wide; do not toggle
 * while another thread is inside lam_sgemm.  No effect with BLAS=openblas. */
void lam_sgemm_force_generic(bool on);

/* ---- internal: shared by gemm.c and gemm_avx2.c only -------------------- */

/* Register tile: a micro-kernel computes an MR x NR block of C from an A
 * micro-panel packed as [kc][MR] and a B micro-panel packed as [kc][NR]. */
#define LAM_SGEMM_MR 6
#define LAM_SGEMM_NR 16

#if defined(__x86_64__) || defined(__i386__)
/* Full MR x NR tile: c = alpha*acc (beta == 0, c not read) or
 * c = fma(beta, c, alpha*acc).  With alpha = 1, beta = 0 it stores the raw
 * accumulators, which lam_sgemm_edge_avx2 then applies with the same rounding
 * so that edge tiles are bit-identical to full ones. */
void lam_sgemm_ukr_avx2(int kc, const float *pa, const float *pb, float *c, ptrdiff_t ldc,
                        float alpha, float beta);
/* Raw sums of the top-left mr x nr (rounded up to 8 columns) of a tile into
 * `tile` (row stride NR), with the same per-element arithmetic as above. */
void lam_sgemm_ukr_edge_avx2(int mr, int nr, int kc, const float *pa, const float *pb,
                             float *tile);
/* Raw sums of mr <= MR rows x NR columns into `tile`, reading B in place
 * (row-major, row stride ldb, NR valid columns) instead of packed. */
void lam_sgemm_ukr_rows_avx2(int mr, int kc, const float *pa, const float *b, ptrdiff_t ldb,
                             float *tile);
/* Apply the epilogue above to the top-left m x n of an MR x NR raw tile. */
void lam_sgemm_edge_avx2(int m, int n, const float *tile, float *c, ptrdiff_t ldc, float alpha,
                         float beta);
/* Packing of one micro-panel with AVX2 (plain copies, so they cannot change
 * results): MR rows of a row-major A (row stride lda) into [kc][MR], and NR
 * rows of a row-major B^T (row stride ldb) into [kc][NR]. */
void lam_sgemm_pack_a_rows_avx2(int kc, const float *a, ptrdiff_t lda, float *dst);
void lam_sgemm_pack_bt_rows_avx2(int kc, const float *b, ptrdiff_t ldb, float *dst);
/* nr <= NR columns of a row-major B into [kc][NR], zero-padded. */
void lam_sgemm_pack_b_cols_avx2(int kc, int nr, const float *b, ptrdiff_t ldb, float *dst);
/* Vector shapes without packing: c[j*ldo] = alpha * sum_k x[k*incx] *
 * y[k*ldy + j] (+ beta * c[j*ldo]) for j < n, with K in blocks of kcs and
 * the tile kernels' per-element arithmetic. */
void lam_sgemm_gemv_avx2(int n, int K, int kcs, const float *x, ptrdiff_t incx, const float *y,
                         ptrdiff_t ldy, float *c, ptrdiff_t ldo, float alpha, float beta);
/* The same with y read by rows: c[r*ldo] = alpha * sum_k y[r*ldy + k] *
 * x[k*incx] (+ beta * c[r*ldo]) for r < n. */
void lam_sgemm_gemv_t_avx2(int n, int K, int kcs, const float *x, ptrdiff_t incx, const float *y,
                           ptrdiff_t ldy, float *c, ptrdiff_t ldo, float alpha, float beta);
#endif

#endif
