/* Transformer kernels: GELU (exact and tanh forms), layer and RMS
 * normalisation of rows, and the small products and row softmax of fused
 * attention.  Each is written once (xf_impl.h) and built three times
 * (AVX-512, AVX2, portable); every output is computed by the same sequence
 * of IEEE operations and fmaf in every build (sums as chains in index order,
 * or over 16 lanes summed by one fixed tree), so the builds give the same
 * bits and the choice (kernels/isa.h) changes only speed.  They allocate
 * nothing and run on the calling thread; callers split work over
 * independent outputs. */
#ifndef LAMINA_KERNELS_XF_H
#define LAMINA_KERNELS_XF_H

#include <stdbool.h>
#include <stddef.h>

/* y[i] = gelu(x[i]) (x == y allowed); tanh_form: torch's approximate="tanh". */
void lam_k_gelu(const float *x, float *y, long n, bool tanh_form);
/* dx[i] (+)= dy[i] gelu'(x[i]) */
void lam_k_gelu_bwd(const float *x, const float *dy, float *dx, long n, bool tanh_form, bool accumulate);

/* y[i] = silu(x[i]) = x[i] sigmoid(x[i]); dx[i] (+)= dy[i] silu'(x[i]) */
void lam_k_silu(const float *x, float *y, long n);
void lam_k_silu_bwd(const float *x, const float *dy, float *dx, long n, bool accumulate);
/* SwiGLU over `rows` rows of x = [a | b] (2H floats each): y = silu(a) b
 * (H floats per row); backward: da = dy b silu'(a), db = dy silu(a), into
 * dx laid out as x (set, or added with accumulate). */
void lam_k_swiglu(const float *x, float *y, long rows, long H);
void lam_k_swiglu_bwd(const float *x, const float *dy, float *dx, long rows, long H, bool accumulate);

/* Widest row the normalisation kernels take (their per-row buffers live on
 * the stack); the ops check it. */
#define LAM_XF_NORM_MAX_C 8192

/* Normalisation of `rows` rows of C floats (row stride C):
 *   layer (rms false): y = (x - mean) rstd g + b,  rstd = 1 / sqrt(var + eps)
 *   RMS   (rms true):  y = x rstd g (+ b),          rstd = 1 / sqrt(mean(x^2) + eps)
 * g or b NULL: 1 or 0.  stat[2r], stat[2r+1] receive the row's mean (0 for
 * RMS) and rstd. */
void lam_k_norm_fwd(const float *x, const float *g, const float *b, float *y, float *stat, long rows, int C,
                    float eps, bool rms);
/* Backward of the rows above: dx (+)= (accumulate) the input gradient; the
 * row sums of dy * xhat and dy (for dg, db) are ADDED into dg_part and
 * db_part (C floats each; NULL to skip), rows in order. */
void lam_k_norm_bwd(const float *x, const float *g, const float *stat, const float *dy, float *dx, float *dg_part,
                    float *db_part, long rows, int C, bool rms, bool accumulate);

/* ---- attention tiles (R <= LAM_XF_R rows of queries) -------------------- */
#define LAM_XF_R 8

/* S[r][j] = scale * sum_d A[r][d] BT[d][j]   (r < R, j < n, d < D): scores
 * of R query rows against n keys stored transposed (BT [D][ldb]). */
void lam_k_xf_scores(int R, int n, int D, float scale, const float *A, long lda, const float *BT, long ldb, float *S,
                     long lds);
/* O[r][:D] = (accumulate ? O[r] : 0) + sum_j P[r][j] V[j][:D]   (j < n, in order) */
void lam_k_xf_pv(int R, int n, int D, const float *P, long ldp, const float *V, long ldv, float *O, long ldo,
                 bool accumulate);
/* G[j][:D] += sum_r P[r][j] A[r][:D]   (j < n; r in order): the products of
 * transposed probabilities, for the key and value gradients. */
void lam_k_xf_pta(int R, int n, int D, const float *P, long ldp, const float *A, long lda, float *G, long ldg);

/* Row softmax of S[r][0..n) for r < R in place, with row r's last allowed
 * column lim[r] (columns above it get probability 0; lim NULL: all n):
 * P = exp(S - max) / sum.  lse[r] = max + log(sum) (for the backward). */
void lam_k_xf_softmax(int R, int n, float *S, long lds, const int *lim, float *lse);
/* Backward of the rows: S holds the scores again; P = exp(S - lse) (0 above
 * lim), then S = scale * P * (dP - delta[r]), the score gradients; dP [R][ldp]. */
void lam_k_xf_softmax_bwd(int R, int n, float *S, long lds, const int *lim, const float *lse, const float *dP, long ldp,
                          const float *delta, float scale, float *P, long ldpp);

/* D[r] = sum_d A[r][d] B[r][d] for r < R (16 lanes, fixed tree). */
void lam_k_xf_rowdot(int R, int D, const float *A, long lda, const float *B, long ldb, float *out);

#endif
