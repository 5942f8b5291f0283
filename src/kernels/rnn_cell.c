/* The recurrent cell kernels (rnn_cell.h): our own exp, sigmoid and tanh,
 * and the three builds of rnn_cell_impl.h (AVX-512, AVX2, portable) with the
 * run-time choice between them.  Allocates nothing. */
#include "kernels/rnn_cell.h"

#include <math.h>
#include <stdatomic.h>
#include <string.h>

/* ---- math: IEEE operations and fmaf only, so every build rounds alike ---- */

static inline __attribute__((always_inline)) uint32_t rc_bits(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}
static inline __attribute__((always_inline)) float rc_float(uint32_t u)
{
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* e^x for x in [-87, 88] (clamped outside; NaN stays NaN): x = n ln2 + r,
 * |r| <= ln2/2, e^r by Cephes's degree-6 polynomial, 2^n from the exponent
 * bits.  n is rounded with the 1.5 * 2^23 trick, which needs no rint and
 * leaves n in the low mantissa bits. */
static inline __attribute__((always_inline)) float rc_exp(float x)
{
    x = x < -87.0f ? -87.0f : x;
    x = x > 88.0f ? 88.0f : x;
    const float shift = 12582912.0f; /* 1.5 * 2^23 */
    float t = fmaf(x, 1.44269504088896341f, shift);
    float n = t - shift;
    uint32_t ni = rc_bits(t) - rc_bits(shift); /* n as a two's complement integer */
    float r = fmaf(n, -0.693359375f, x);
    r = fmaf(n, 2.12194440e-4f, r);
    float p = 1.9875691500e-4f;
    p = fmaf(p, r, 1.3981999507e-3f);
    p = fmaf(p, r, 8.3334519073e-3f);
    p = fmaf(p, r, 4.1665795894e-2f);
    p = fmaf(p, r, 1.6666665459e-1f);
    p = fmaf(p, r, 5.0000001201e-1f);
    p = fmaf(p, r * r, r) + 1.0f;
    return p * rc_float((ni + 127u) << 23);
}

static inline __attribute__((always_inline)) float rc_sigmoid(float x) { return 1.0f / (1.0f + rc_exp(-x)); }

/* tanh: Cephes's odd polynomial below |x| = 0.625, 1 - 2 / (e^2|x| + 1)
 * above (|x| clamped at 9, where tanh is 1 in float), sign restored. */
static inline __attribute__((always_inline)) float rc_tanh(float x)
{
    float a = x < 0.0f ? -x : x;
    float z = x * x;
    float p = -5.70498872745e-3f;
    p = fmaf(p, z, 2.06390887954e-2f);
    p = fmaf(p, z, -5.37397155531e-2f);
    p = fmaf(p, z, 1.33314422036e-1f);
    p = fmaf(p, z, -3.33332819422e-1f);
    float small = fmaf(p * z, x, x);
    float e = rc_exp(2.0f * (a > 9.0f ? 9.0f : a));
    float big = 1.0f - 2.0f / (e + 1.0f);
    big = x < 0.0f ? -big : big;
    return a < 0.625f ? small : big;
}

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

static atomic_bool force_generic_;
void lam_k_rnn_force_generic(bool on) { atomic_store_explicit(&force_generic_, on, memory_order_relaxed); }

typedef enum isa { ISA_GENERIC, ISA_AVX2, ISA_AVX512 } isa;

static isa pick(void)
{
    if (atomic_load_explicit(&force_generic_, memory_order_relaxed)) return ISA_GENERIC;
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
        return ISA_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return ISA_AVX2;
#endif
    return ISA_GENERIC;
}

const char *lam_k_rnn_isa(void)
{
    static const char *const names[] = {"generic", "avx2", "avx512"};
    return names[pick()];
}

#if defined(__x86_64__) || defined(__i386__)
#define DISPATCH(name, ...)                                  \
    do {                                                     \
        switch (pick()) {                                    \
        case ISA_AVX512: name##_avx512(__VA_ARGS__); break;  \
        case ISA_AVX2: name##_avx2(__VA_ARGS__); break;      \
        default: name##_generic(__VA_ARGS__); break;         \
        }                                                    \
    } while (0)
#else
#define DISPATCH(name, ...) name##_generic(__VA_ARGS__)
#endif

void lam_k_rnn_step_fwd(const lam_rnn_step *s) { DISPATCH(step_fwd, s); }
void lam_k_rnn_step_bwd(const lam_rnn_step *s) { DISPATCH(step_bwd, s); }
void lam_k_sigmoid(const float *x, float *y, long n) { DISPATCH(sigmoid_n, x, y, n); }
void lam_k_tanh(const float *x, float *y, long n) { DISPATCH(tanh_n, x, y, n); }
