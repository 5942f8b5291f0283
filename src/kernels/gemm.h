/* Single-precision GEMM: C[M,N] = alpha * op(A) * op(B) + beta * C, row-major.
 *   op(A) is A[M,K] (lda >= K) or, with trans_a, A stored as [K,M] (lda >= M);
 *   op(B) is B[K,N] (ldb >= N) or, with trans_b, B stored as [N,K] (ldb >= K).
 * beta == 0 means C is written without being read (NaNs in C are ignored).
 *
 * The kernels allocate nothing: packing space comes from the caller, sized by
 * lam_sgemm_ws_floats().  Work is split over independent blocks of C only,
 * never over K.
 *
 * The arithmetic of one element (the contract every kernel keeps):
 *   K is cut into blocks of kc_step(K) = ceil(K / ceil(K / 256)) (the last
 *   one shorter), which depends on K alone.  In block b, acc = 0 and then
 *   acc = fma(a[i][k], b[k][j], acc) for k in order (one fused multiply-add,
 *   one rounding, per k).  The first block writes c = alpha*acc when
 *   beta == 0, else c = fma(beta, c, alpha*acc); every later block writes
 *   c = fma(1, c, alpha*acc), i.e. c + alpha*acc rounded once.
 * So results are bitwise identical for every thread count, for every kernel
 * below, on every machine whose float arithmetic is IEEE (the portable
 * kernel uses C's fmaf), and a row of C does not depend on how many other
 * rows are computed with it (batch-size invariance).
 *
 * Kernels, chosen at run time (lam_sgemm_kernel_name()):
 *   "avx512"   AVX-512F, an 8 x 32 register tile (16 zmm accumulators), B
 *              panels 32 columns wide; used where __builtin_cpu_supports
 *              says "avx512f";
 *   "avx2-fma" AVX2 + FMA, a 6 x 16 register tile;
 *   "generic"  portable C (fmaf), 6 x 16, the fallback elsewhere.
 * The library is built for baseline x86-64: the AVX2 and AVX-512 code is
 * compiled with per-function target attributes and only called after the
 * CPU check.  All are packed and cache-blocked (GotoBLAS/BLIS style), with
 * unpacked paths for M == 1, N == 1 and small M.  With BLAS=openblas,
 * lam_sgemm forwards to cblas_sgemm (other summation orders) while the
 * pre-packed product below keeps Lamina's kernels. */
#ifndef LAMINA_KERNELS_GEMM_H
#define LAMINA_KERNELS_GEMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Floats of workspace lam_sgemm needs for these sizes with `nthreads` threads
 * (nthreads <= 0: lam_get_threads()).  A bound that does not depend on M, N, K
 * beyond their caps is fine: callers plan it once.  The sizes are int64 so
 * that shape inference may ask before it has checked them against the int
 * range of lam_sgemm; any value is safe. */
size_t lam_sgemm_ws_floats(int64_t M, int64_t N, int64_t K, int nthreads);

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

/* ---- a pre-packed B operand ---------------------------------------------
 * For a weight used in many products (an LSTM multiplies the same W_hh at
 * every time step): op(B) is packed once into the kernels' panel layout for
 * all K blocks, and each product reads the panels directly.  The layout is
 * the same for every kernel (panels of LAM_SGEMM_PACK_NR columns), so a
 * packed operand stays valid whichever kernel runs. */
#define LAM_SGEMM_PACK_NR 32

/* Floats of a packed [K, N] operand: K * round_up(N, LAM_SGEMM_PACK_NR). */
size_t lam_sgemm_packed_b_floats(int N, int K);

/* Packs the [K, N] operand Bp[k][n] = op(B)[kperm[k]][nperm[n]] into
 * `packed` (lam_sgemm_packed_b_floats(N, K) floats, 64-byte aligned is
 * best).  op(B) is B (trans_b false, row stride ldb) or B^T (B stored [.][ldb]
 * with op(B)[k][n] = B[n*ldb + k]).  kperm / nperm: NULL for the identity;
 * an entry -1 makes that row / column zero (padding, interleaved LSTM
 * gates); other entries must index op(B) (the caller owns its extent).
 * Allocates nothing; single-threaded. */
void lam_sgemm_pack_b(bool trans_b, int N, int K, const float *B, int ldb, const int *kperm,
                      const int *nperm, float *packed);

/* Floats of workspace one thread of lam_sgemm_packed needs (any kernel). */
size_t lam_sgemm_packed_ws_floats(int M, int K);

/* Columns [n0, n1) of C[M,N] = alpha * op(A) * Bp + beta * C with Bp packed by
 * lam_sgemm_pack_b(.., N, K, ..), on the calling thread only: a caller with
 * its own OpenMP team gives each thread a column range.  n0 and n1 are
 * multiples of LAM_SGEMM_PACK_NR, except n1 == N.  ws: per thread, at least
 * lam_sgemm_packed_ws_floats(M, K) floats, 64-byte aligned.  Bitwise equal to
 * lam_sgemm (Lamina's kernels) on the unpacked Bp, for any split. */
void lam_sgemm_packed(bool trans_a, int M, int N, int K, float alpha, const float *A, int lda,
                      const float *packed, float beta, float *C, int ldc, float *ws, int n0,
                      int n1);

/* Which kernel lam_sgemm uses on this CPU: "avx512", "avx2-fma", "generic",
 * or "openblas" when built with BLAS=openblas. */
const char *lam_sgemm_kernel_name(void);
/* The kernel lam_sgemm_packed uses (Lamina's own in every build). */
const char *lam_sgemm_packed_kernel_name(void);

/* Test-only: force the portable kernel even where AVX2/FMA exists, or the
 * AVX2 one where AVX-512 exists (so the tests can compare all of them on one
 * machine); generic wins if both are on.  Process-wide; do not toggle while
 * another thread is inside lam_sgemm.  With BLAS=openblas they only affect
 * lam_sgemm_packed. */
void lam_sgemm_force_generic(bool on);
void lam_sgemm_force_avx2(bool on);

#endif
