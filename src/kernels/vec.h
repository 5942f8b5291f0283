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

#endif
