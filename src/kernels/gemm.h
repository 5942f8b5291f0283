/* Single-precision GEMM: C[M,N] = alpha * op(A) * op(B) + beta * C, row-major.
 *   op(A) is A[M,K] (lda >= K) or, with trans_a, A stored as [K,M] (lda >= M);
 *   op(B) is B[K,N] (ldb >= N) or, with trans_b, B stored as [N,K] (ldb >= K).
 * beta == 0 means C is written without being read (NaNs in C are ignored).
 *
 * The kernels allocate nothing: packing space comes from the caller, sized by
 * lam_sgemm_ws_floats().  Work is split over independent blocks of C only,
 * never over K, so results are bitwise identical for every thread count.
 * The implementation is packed and cache-blocked with an AVX2/FMA micro-kernel
 * chosen at run time, and a portable C fallback. */
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

/* Which micro-kernel lam_sgemm uses on this CPU: "avx2-fma", "generic", or
 * "openblas" when built with BLAS=openblas. */
const char *lam_sgemm_kernel_name(void);

#endif
