/* The kernel thread count (OpenMP). */
#include "lamina/base.h"

#ifdef _OPENMP
#include <omp.h>
#endif

void lam_set_threads(int n)
{
#ifdef _OPENMP
    if (n <= 0) n = omp_get_num_procs();
    omp_set_num_threads(n);
#else
    (void)n;
#endif
}

int lam_get_threads(void)
{
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}
