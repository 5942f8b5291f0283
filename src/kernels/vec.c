/* Activation kernels.  GELU is the exact erf form (torch's default).  The
 * loops take restrict pointers so that they vectorise; in-place forward calls
 * (x == y) have their own loops. */
#include <math.h>

#include "kernels/par.h"
#include "kernels/vec.h"

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
MAP(gelu)
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
        CASE(LAM_ACT_GELU, gelu)
#undef CASE
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
GRAD(grad_gelu, dy[i] * gelu_grad(x[i]))
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
    case LAM_ACT_GELU: grad_gelu(x, y, dy, dx, N, accumulate); break;
    default: LAM_ASSERT(0);
    }
}
