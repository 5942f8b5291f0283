/* Vector kernels: activations forward and backward over flat arrays.  They
 * allocate nothing; above LAM_PAR_MIN (par.h) elements they split the range over
 * threads (elementwise, so results do not depend on the thread count). */
#ifndef LAMINA_KERNELS_VEC_H
#define LAMINA_KERNELS_VEC_H

#include <stddef.h>

#include "lamina/graph.h"

/* y[i] = act(x[i]); x and y may alias. */
void lam_k_act_fwd(lam_act a, const float *x, float *y, size_t n);
/* dx[i] (+)= dy[i] * act'(x[i]) where x is the pre-activation and y = act(x);
 * dx must not overlap x, y or dy
 * (each activation uses whichever is cheaper; GELU needs x).  accumulate:
 * add into dx instead of writing. */
void lam_k_act_bwd(lam_act a, const float *x, const float *y, const float *dy, float *dx,
                   size_t n, int accumulate);

/* The sum of eight partial sums, in one fixed tree. */
static inline float lam_k_sum8(const float a[8])
{
    return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
}

/* acc[r*8 + l] += x[i] * rows[r*ld + i] over i = l, l + 8, l + 16, ... < n (one
 * fused multiply-add chain per lane, in order), for r < nrows: eight running
 * partial dot products per row, which the caller sums.  The AVX2/FMA build
 * and the portable one (fmaf) give the same bits.  For a few long rows,
 * where a GEMM would spend more on packing than on the products. */
void lam_k_rowdots(const float *x, const float *rows, long ld, int nrows, long n, float *acc);

#endif
