/* Which build of the elementwise vector kernels (rnn_cell.c, xf.c) runs on
 * this CPU.  Every build gives the same bits (fastmath.h), so the choice
 * changes only speed; tests force the portable build to check that. */
#ifndef LAMINA_KERNELS_ISA_H
#define LAMINA_KERNELS_ISA_H

#include <stdbool.h>

typedef enum lam_isa { LAM_ISA_GENERIC = 0, LAM_ISA_AVX2, LAM_ISA_AVX512 } lam_isa;

/* AVX-512 (F, VL, DQ) where the CPU has it, else AVX2 + FMA, else portable C;
 * LAM_ISA_GENERIC while forced. */
lam_isa lam_k_isa(void);
const char *lam_k_isa_name(void); /* "avx512", "avx2", "generic" */
/* Test-only: force the portable builds (process-wide). */
void lam_k_isa_force_generic(bool on);

/* name##_avx512(...), name##_avx2(...) or name##_generic(...) by lam_k_isa() */
#if defined(__x86_64__) || defined(__i386__)
#define LAM_ISA_DISPATCH(name, ...)                          \
    do {                                                     \
        switch (lam_k_isa()) {                               \
        case LAM_ISA_AVX512: name##_avx512(__VA_ARGS__); break; \
        case LAM_ISA_AVX2: name##_avx2(__VA_ARGS__); break;  \
        default: name##_generic(__VA_ARGS__); break;         \
        }                                                    \
    } while (0)
#else
#define LAM_ISA_DISPATCH(name, ...) name##_generic(__VA_ARGS__)
#endif

#endif
