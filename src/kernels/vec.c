/* Activation kernels.  GELU is the exact erf form (torch's default). */
#include "kernels/vec.h"

#include <math.h>

static inline float gelu(float x) { return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f)); }
static inline float gelu_grad(float x)
{
    float cdf = 0.5f * (1.0f + erff(x * 0.70710678118654752f));
    float pdf = expf(-0.5f * x * x) * 0.39894228040143268f;
    return cdf + x * pdf;
}
static inline float sigmoid(float x)
{
    /* stable for large |x| */
    if (x >= 0) return 1.0f / (1.0f + expf(-x));
    float e = expf(x);
    return e / (1.0f + e);
}

void lam_k_act_fwd(lam_act a, const float *x, float *y, size_t n)
{
    long N = (long)n;
    switch (a) {
    case LAM_ACT_NONE:
        if (x != y)
            for (long i = 0; i < N; i++) y[i] = x[i];
        break;
    case LAM_ACT_RELU:
#pragma omp parallel for if (N > LAM_VEC_PAR_MIN) schedule(static)
        for (long i = 0; i < N; i++) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
        break;
    case LAM_ACT_SIGMOID:
#pragma omp parallel for if (N > LAM_VEC_PAR_MIN) schedule(static)
        for (long i = 0; i < N; i++) y[i] = sigmoid(x[i]);
        break;
    case LAM_ACT_TANH:
#pragma omp parallel for if (N > LAM_VEC_PAR_MIN) schedule(static)
        for (long i = 0; i < N; i++) y[i] = tanhf(x[i]);
        break;
    case LAM_ACT_GELU:
#pragma omp parallel for if (N > LAM_VEC_PAR_MIN) schedule(static)
        for (long i = 0; i < N; i++) y[i] = gelu(x[i]);
        break;
    default: LAM_ASSERT(0);
    }
}

void lam_k_act_bwd(lam_act a, const float *x, const float *y, const float *dy, float *dx,
                   size_t n, int accumulate)
{
    long N = (long)n;
    /* accumulate == 0 never reads dx */
#define BODY(G)                                                          \
    _Pragma("omp parallel for if (N > LAM_VEC_PAR_MIN) schedule(static)") \
    for (long i = 0; i < N; i++) {                                      \
        float g_ = (G);                                                  \
        dx[i] = accumulate ? dx[i] + g_ : g_;                            \
    }
    switch (a) {
    case LAM_ACT_NONE: BODY(dy[i]) break;
    case LAM_ACT_RELU: BODY(y[i] > 0.0f ? dy[i] : 0.0f) break;
    case LAM_ACT_SIGMOID: BODY(dy[i] * y[i] * (1.0f - y[i])) break;
    case LAM_ACT_TANH: BODY(dy[i] * (1.0f - y[i] * y[i])) break;
    case LAM_ACT_GELU: BODY(dy[i] * gelu_grad(x[i])) break;
    default: LAM_ASSERT(0);
    }
#undef BODY
}
