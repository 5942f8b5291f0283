/* The run-time choice of vector-kernel build (isa.h). */
#include "kernels/isa.h"

#include <stdatomic.h>

static atomic_bool force_generic_;
void lam_k_isa_force_generic(bool on) { atomic_store_explicit(&force_generic_, on, memory_order_relaxed); }

lam_isa lam_k_isa(void)
{
    if (atomic_load_explicit(&force_generic_, memory_order_relaxed)) return LAM_ISA_GENERIC;
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
        return LAM_ISA_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return LAM_ISA_AVX2;
#endif
    return LAM_ISA_GENERIC;
}

const char *lam_k_isa_name(void)
{
    static const char *const names[] = {"generic", "avx2", "avx512"};
    return names[lam_k_isa()];
}
