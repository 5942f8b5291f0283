/* Winograd minimal filtering F(m x m, 3 x 3) for stride-1, undilated 3x3
 * convolutions (Lavin & Gray, "Fast Algorithms for Convolutional Neural
 * Networks", 2016), m = 2 or 4, with the transforms of all three passes:
 *
 *   forward      Y = A^T [ (G g G^T) . (B^T d B) ] A        per m x m output tile
 *   data grad    dd += B [ (G g G^T) . (A dY A^T) ] B^T      (the adjoint)
 *   weight grad  dg += G^T [ sum over tiles (B^T d B) . (A dY A^T) ] G
 *
 * The elementwise products summed over channels become, for each of the
 * a*a = (m+2)^2 transform positions xi, one GEMM (conv.c makes them):
 *   M[xi]  [K x P] = U[xi] [K x C] . V[xi] [C x P]
 *   dU[xi] [K x C] = dM[xi] [K x P] . V[xi]^T
 *   dV[xi] [C x P] = U[xi]^T . dM[xi]
 * where P = B * tiles counts the output tiles of the whole batch (tile p =
 * b*T + ty*tw + tx) and every array is [xi][row][column], row-major, with
 * the padded strides su, sv, sm between transform positions.
 *
 * F(4x4) does 36 multiplies per 16 outputs and channel against 144 for the
 * direct form (F(2x2): 16 per 4); the price is rounding: the transforms of
 * F(4x4) scale values by up to 8 and 1/24, which costs about two decimal
 * digits of float precision (measured in tests/test_conv_algos.c).
 *
 * The transforms work on eight tiles (or eight weights) at a time, one per
 * vector lane, and each tile's arithmetic is the same in whichever lane it
 * lands, so results do not depend on the batch size or the thread count.
 * Each call handles one channel (or a range of weights); callers split the
 * channels over threads.  Nothing is allocated. */
#ifndef LAMINA_KERNELS_WINOGRAD_H
#define LAMINA_KERNELS_WINOGRAD_H

#include <stdbool.h>

typedef struct lam_wino {
    int m, a;               /* output tile m x m, input tile a x a, a = m + 2 */
    int C, K, H, W, ph, pw; /* input channels, output channels, input size, padding */
    int OH, OW;             /* output size */
    int th, tw;             /* tiles per image: ceil(OH/m) x ceil(OW/m) */
    long B, T, P;           /* batch, tiles per image th*tw, tiles in all B*T */
    /* floats from one transform position to the next in U / dU (K*C), V / dV
     * (C*P) and M / dM (K*P), each rounded up to 16 and one cache line more:
     * with an exact multiple of 4 KiB the a*a rows a kernel streams through
     * would all fall into the same L1 set (measured 2.5x slower) */
    long su, sv, sm;
} lam_wino;

/* Fill w for a 3x3, stride-1, undilated convolution of [B, C, H, W] with K
 * filters and padding ph, pw.  false if m is not 2 or 4 or the output is
 * empty. */
bool lam_wino_setup(lam_wino *w, int m, long B, int C, int K, int H, int W, int ph, int pw);

/* U[xi][q] = (G g_q G^T)[xi] for weights q in [q0, q1), q = k*C + c, of wt
 * [K][C][3][3]. */
void lam_wino_weights(const lam_wino *w, const float *wt, float *U, long q0, long q1);
/* dwt[q] += G^T dU_q G for q in [q0, q1) (the weight gradient). */
void lam_wino_weights_grad(const lam_wino *w, const float *dU, float *dwt, long q0, long q1);
/* V[xi][c][p] = (B^T d B)[xi] for every tile p of input channel c of
 * x [B, C, H, W] (zero padding). */
void lam_wino_input(const lam_wino *w, const float *x, float *V, int c);
/* dx[:, c] += B dV B^T of every tile of channel c, clipped to the image. */
void lam_wino_input_grad(const lam_wino *w, const float *dV, float *dx, int c);
/* y[:, k] = A^T M A + bias of every tile of output channel k, clipped to
 * OH x OW, then max(., 0) with relu (NaN -> 0, as the ReLU kernel); y is
 * [B, K, OH, OW]. */
void lam_wino_output(const lam_wino *w, const float *M, float bias, bool relu, float *y, int k);
/* dM[xi][k][p] = (A dy A^T)[xi] for every tile of output channel k of dy
 * [B, K, OH, OW] (outside the image counts as zero). */
void lam_wino_output_grad(const lam_wino *w, const float *dy, float *dM, int k);

/* Test-only: run the baseline x86-64 build of the kernels even where AVX2
 * exists (the tests check that both give the same bits).  Process-wide. */
void lam_wino_force_base(bool on);

#endif
