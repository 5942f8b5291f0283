/* The recurrent cell kernels (rnn_cell.h): the three builds of
 * rnn_cell_impl.h (AVX-512, AVX2, portable), with our own exp, sigmoid and
 * tanh (fastmath.h), and the run-time choice between them.  Allocates
 * nothing. */
#include "kernels/rnn_cell.h"

#include "kernels/fastmath.h"
#include "kernels/isa.h"

/* ---- the three builds ---- */

#if defined(__x86_64__) || defined(__i386__)
#define TGT __attribute__((target("avx512f,avx512vl,avx512dq,avx2,fma")))
#define SIMD _Pragma("omp simd simdlen(16)")
#define SFX _avx512
#include "kernels/rnn_cell_impl.h"
#undef TGT
#undef SIMD
#undef SFX

#define TGT __attribute__((target("avx2,fma")))
#define SIMD _Pragma("omp simd simdlen(8)")
#define SFX _avx2
#include "kernels/rnn_cell_impl.h"
#undef TGT
#undef SIMD
#undef SFX
#endif

#define TGT
#define SIMD
#define SFX _generic
#include "kernels/rnn_cell_impl.h"
#undef TGT
#undef SIMD
#undef SFX

void lam_k_rnn_step_fwd(const lam_rnn_step *s) { LAM_ISA_DISPATCH(step_fwd, s); }
void lam_k_rnn_step_bwd(const lam_rnn_step *s) { LAM_ISA_DISPATCH(step_bwd, s); }
void lam_k_sigmoid(const float *x, float *y, long n) { LAM_ISA_DISPATCH(sigmoid_n, x, y, n); }
void lam_k_tanh(const float *x, float *y, long n) { LAM_ISA_DISPATCH(tanh_n, x, y, n); }
