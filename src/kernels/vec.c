/* Activation kernels.  GELU is the exact erf form (torch's default), with
 * our own vectorised erfc (xf.h).  The
 * loops take restrict pointers so that they vectorise; in-place forward calls
 * (x == y) have their own loops. */
#include <math.h>

#include "kernels/par.h"
#include "kernels/vec.h"
#include "kernels/xf.h"

/* GELU runs in blocks of this many (one block per loop iteration, so that
 * LAM_PFOR splits it when it is large) */
#define GELU_BLOCK 1024

static inline float sigmoid(float x)
{
    /* stable for large |x| */
    if (x >= 0) return 1.0f / (1.0f + expf(-x));
    float e = expf(x);
    return e / (1.0f + e);
}
static inline float relu(float x) { return x > 0.0f ? x : 0.0f; }
/* both values loaded unconditionally, so the select vectorises */
static inline float relu_mask(float y, float d) { return y > 0.0f ? d : 0.0f; }

/* y = f(x) for distinct or identical arrays */
#define MAP(F)                                                              \
    static void map_##F(const float *restrict x, float *restrict y, long n) \
    {                                                                      \
        LAM_PFOR(n, i, y[i] = F(x[i]));                                    \
    }                                                                      \
    static void map_inplace_##F(float *y, long n) { LAM_PFOR(n, i, y[i] = F(y[i])); }
MAP(relu)
MAP(sigmoid)
MAP(tanhf)
#undef MAP

void lam_k_act_fwd(lam_act a, const float *x, float *y, size_t n)
{
    long N = (long)n;
    bool inplace = x == y;
    switch (a) {
    case LAM_ACT_NONE:
        if (!inplace) LAM_PFOR(N, i, y[i] = x[i]);
        break;
#define CASE(A, F)                          \
    case A:                                 \
        if (inplace) map_inplace_##F(y, N); \
        else map_##F(x, y, N);              \
        break;
        CASE(LAM_ACT_RELU, relu)
        CASE(LAM_ACT_SIGMOID, sigmoid)
        CASE(LAM_ACT_TANH, tanhf)
#undef CASE
    case LAM_ACT_GELU: /* our own erfc, vectorised (xf.c), in blocks over threads */
    case LAM_ACT_GELU_TANH:
        LAM_PFOR_WORK((N + GELU_BLOCK - 1) / GELU_BLOCK, N, k, {
            long i0 = k * GELU_BLOCK;
            lam_k_gelu(x + i0, y + i0, N - i0 < GELU_BLOCK ? N - i0 : GELU_BLOCK, a == LAM_ACT_GELU_TANH);
        });
        break;
    case LAM_ACT_SILU:
        LAM_PFOR_WORK((N + GELU_BLOCK - 1) / GELU_BLOCK, N, k, {
            long i0 = k * GELU_BLOCK;
            lam_k_silu(x + i0, y + i0, N - i0 < GELU_BLOCK ? N - i0 : GELU_BLOCK);
        });
        break;
    default: LAM_ASSERT(0);
    }
}

/* dx (+)= dy * f'(x, y); dx must not alias the inputs */
#define GRAD(NAME, G)                                                                              \
    static void NAME(const float *restrict x, const float *restrict y, const float *restrict dy,   \
                     float *restrict dx, long N, int accumulate)                                   \
    {                                                                                              \
        (void)x;                                                                                   \
        (void)y;                                                                                   \
        if (accumulate) LAM_PFOR(N, i, dx[i] += (G));                                              \
        else LAM_PFOR(N, i, dx[i] = (G)); /* never reads dx */                                     \
    }
GRAD(grad_none, dy[i])
GRAD(grad_relu, relu_mask(y[i], dy[i]))
GRAD(grad_sigmoid, dy[i] * y[i] * (1.0f - y[i]))
GRAD(grad_tanh, dy[i] * (1.0f - y[i] * y[i]))
#undef GRAD

void lam_k_act_bwd(lam_act a, const float *x, const float *y, const float *dy, float *dx, size_t n,
                   int accumulate)
{
    long N = (long)n;
    switch (a) {
    case LAM_ACT_NONE: grad_none(x, y, dy, dx, N, accumulate); break;
    case LAM_ACT_RELU: grad_relu(x, y, dy, dx, N, accumulate); break;
    case LAM_ACT_SIGMOID: grad_sigmoid(x, y, dy, dx, N, accumulate); break;
    case LAM_ACT_TANH: grad_tanh(x, y, dy, dx, N, accumulate); break;
    case LAM_ACT_GELU:
    case LAM_ACT_GELU_TANH:
        LAM_PFOR_WORK((N + GELU_BLOCK - 1) / GELU_BLOCK, N, k, {
            long i0 = k * GELU_BLOCK;
            lam_k_gelu_bwd(x + i0, dy + i0, dx + i0, N - i0 < GELU_BLOCK ? N - i0 : GELU_BLOCK, a == LAM_ACT_GELU_TANH,
                           accumulate);
        });
        break;
    case LAM_ACT_SILU:
        LAM_PFOR_WORK((N + GELU_BLOCK - 1) / GELU_BLOCK, N, k, {
            long i0 = k * GELU_BLOCK;
            lam_k_silu_bwd(x + i0, dy + i0, dx + i0, N - i0 < GELU_BLOCK ? N - i0 : GELU_BLOCK, accumulate);
        });
        break;
    default: LAM_ASSERT(0);
    }
}

/* ---- dot products of one row with a few others ------------------------------ */

#define RB 9 /* rows per pass over x: nine accumulators, x and a load in registers */

static void rowdots_base(const float *x, const float *rows, long ld, int nrows, long n, float *acc)
{
    for (int r = 0; r < nrows; r++) {
        const float *y = rows + r * ld;
        float *a = acc + r * 8;
        for (long i = 0; i < n; i++) a[i % 8] = fmaf(x[i], y[i], a[i % 8]);
    }
}

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
__attribute__((target("avx2,fma"))) static void rowdots_avx2(const float *x, const float *rows, long ld, int nrows,
                                                               long n, float *acc)
{
    long n8 = n / 8 * 8;
    for (int r0 = 0; r0 < nrows; r0 += RB) {
        int rn = nrows - r0 < RB ? nrows - r0 : RB;
        __m256 a[RB];
        const float *y[RB];
        for (int r = 0; r < RB; r++) {
            int rr = r0 + (r < rn ? r : rn - 1); /* rows past the last repeat it and are not stored */
            y[r] = rows + rr * ld;
            a[r] = _mm256_loadu_ps(acc + rr * 8);
        }
        for (long i = 0; i < n8; i += 8) {
            __m256 xv = _mm256_loadu_ps(x + i);
            for (int r = 0; r < RB; r++) a[r] = _mm256_fmadd_ps(xv, _mm256_loadu_ps(y[r] + i), a[r]);
        }
        for (int r = 0; r < rn; r++) {
            float *o = acc + (r0 + r) * 8;
            _mm256_storeu_ps(o, a[r]);
            for (long i = n8; i < n; i++) o[i % 8] = fmaf(x[i], y[r][i], o[i % 8]);
        }
    }
}
#endif

void lam_k_rowdots(const float *x, const float *rows, long ld, int nrows, long n, float *acc)
{
#if defined(__x86_64__) || defined(__i386__)
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        rowdots_avx2(x, rows, ld, nrows, n, acc);
        return;
    }
#endif
    rowdots_base(x, rows, ld, nrows, n, acc);
}
