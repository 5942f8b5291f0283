/* Direct 2-D convolution for layers with few input channels (a network's
 * first layer: 1 or 3 channels), stride 1, dilation 1, any kernel size and
 * zero padding.  im2col would turn such a layer into a GEMM with an inner
 * dimension of 9 or 27, which runs at a third of the machine's peak and
 * writes a column matrix KH*KW times the size of the input; here each
 * output row is computed in registers from a zero-padded copy of the input.
 *
 * Layout: the padded input of one image is [C][Hp][Wp] with Hp = OH + KH - 1
 * and Wp = round_up(OW, 8) + KW - 1: image pixel (y, x) of channel c sits at
 * [c][y + ph][x + pw], everything else is zero, so every 8-wide load of an
 * output row is in bounds.
 *
 * Arithmetic: every output and weight-gradient element is one fused
 * multiply-add chain in a fixed order (bias first, then c, i, j; the
 * gradient over b, oy, ox in 8 lanes, then the lanes in a fixed tree), in an
 * AVX2/FMA build and a portable one (fmaf) that give the same bits.
 * Callers split images (forward) and filters (weight gradient) over
 * threads, so results do not depend on the thread count.  Nothing is
 * allocated. */
#ifndef LAMINA_KERNELS_CONV_DIRECT_H
#define LAMINA_KERNELS_CONV_DIRECT_H

#include <stdbool.h>

/* The largest C*KH*KW the kernels take (the forward keeps the weights of
 * eight filters on the stack); the conv op rejects larger ones. */
#define LAM_DIRECT_MAX_CKK 64

typedef struct lam_direct {
    int C, H, W, K, KH, KW, ph, pw; /* input, filters, kernel, padding */
    int OH, OW;                     /* output */
    int Hp, Wp;                     /* padded input plane */
} lam_direct;

/* false unless the geometry gives a non-empty output */
bool lam_direct_setup(lam_direct *d, int C, int H, int W, int K, int KH, int KW, int ph, int pw);
/* floats of one image's padded input */
long lam_direct_pad_floats(const lam_direct *d);

/* pad = the padded copy of one image x [C][H][W] */
void lam_direct_pad(const lam_direct *d, const float *x, float *pad);
/* y [K][OH][OW] of one image = bias + w [K][C][KH][KW] * pad (bias may be
 * NULL) */
void lam_direct_forward(const lam_direct *d, const float *pad, const float *w, const float *bias, float *y);
/* dw[k] += sum over the B images of dy[b][k] correlated with pad[b], for
 * filters [k0, k1); dy is [B][K][OH][OW], pad B padded images */
void lam_direct_weight_grad(const lam_direct *d, long B, const float *dy, const float *pad, float *dw, int k0,
                            int k1);
/* dx [C][H][W] of one image += the input gradient from dy [K][OH][OW] */
void lam_direct_input_grad(const lam_direct *d, const float *dy, const float *w, float *dx);

/* Test-only: use the portable build even where AVX2/FMA exists. */
void lam_direct_force_base(bool on);

#endif
