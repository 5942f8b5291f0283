/* Max pooling kernels for the common 2x2 window, stride 2, no padding, on one
 * NCHW plane: forward writes the maximum of each window and a one-byte code
 * of the winner (0..3 = top-left, top-right, bottom-left, bottom-right);
 * backward adds each output gradient into the winner's input gradient.
 *
 * Winner rule (the one of the generic max pooling in src/ops/pool.c): the
 * first NaN of the window in row-major order if there is one (torch
 * propagates NaN), else the first element equal to the maximum (ties, +0 and
 * -0 included, keep the first).  The value written is the winner's bits.
 *
 * An AVX2 version is chosen at run time when the CPU has it; it computes the
 * same winners and adds the same numbers as the portable one, so results do
 * not depend on which runs.  Each call handles one plane; callers split the
 * planes over threads.  Nothing is allocated. */
#ifndef LAMINA_KERNELS_MAXPOOL_H
#define LAMINA_KERNELS_MAXPOOL_H

#include <stdbool.h>
#include <stdint.h>

/* x [H, W] -> y [OH, OW] and code [OH, OW], OH = H / 2, OW = W / 2 (an odd
 * last row or column belongs to no window).  Rows of x are W floats apart. */
void lam_maxpool2x2_fwd(const float *x, float *y, uint8_t *code, long W, long OH, long OW);

/* dx [H, W] += the dy [OH, OW] routed by code [OH, OW]; input-gradient
 * elements that win no window keep their bits. */
void lam_maxpool2x2_bwd(const uint8_t *code, const float *dy, float *dx, long W, long OH, long OW);

/* Test hook: force the portable kernels even where AVX2 is available. */
void lam_maxpool_force_base(bool on);

#endif
