/* Our own elementary functions for the vector kernels: exp, sigmoid, tanh
 * and erfc (for GELU), written with IEEE operations and fmaf only, so that
 * the AVX-512, AVX2 and portable builds of a kernel that includes this
 * header (rnn_cell_impl.h, xf_impl.h) round alike and give the same bits.
 * Everything is static inline: each build compiles its own copy with its
 * own target attributes. */
#ifndef LAMINA_KERNELS_FASTMATH_H
#define LAMINA_KERNELS_FASTMATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

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
 * above (|x| clamped at 10: tanh rounds to 1 in float from 8.7 on, and the
 * formula gives exactly 1 there), sign restored. */
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
    float e = rc_exp(2.0f * (a > 10.0f ? 10.0f : a));
    float big = 1.0f - 2.0f / (e + 1.0f);
    big = x < 0.0f ? -big : big;
    return a < 0.625f ? small : big;
}

/* erfc(z) for z >= 0, relative error about 2e-7 where the result is a
 * normal float: erfc(z) = t exp(-z^2 + P(t)), t = 1 / (1 + z/2), the form
 * of Numerical Recipes' erfcc with our own degree-10 least-squares fit of
 * P (tools: a numpy fit against mpmath on [0, 10]). */
static inline __attribute__((always_inline)) float rc_erfc_pos(float z)
{
    float t = 1.0f / fmaf(0.5f, z, 1.0f);
    float p = -1.322231966e-01f;
    p = fmaf(p, t, 9.186638643e-01f);
    p = fmaf(p, t, -2.660632669e+00f);
    p = fmaf(p, t, 4.066195844e+00f);
    p = fmaf(p, t, -3.408038841e+00f);
    p = fmaf(p, t, 1.589802150e+00f);
    p = fmaf(p, t, -6.849140295e-01f);
    p = fmaf(p, t, 2.197799926e-01f);
    p = fmaf(p, t, 3.553098921e-01f);
    p = fmaf(p, t, 1.001627704e+00f);
    p = fmaf(p, t, -1.265570686e+00f);
    return t * rc_exp(fmaf(-z, z, p));
}

/* The standard normal CDF Phi(x) = erfc(-x / sqrt 2) / 2, accurate in
 * relative terms in both tails (no 1 + erf cancellation). */
static inline __attribute__((always_inline)) float rc_phi(float x)
{
    float z = (x < 0.0f ? -x : x) * 0.70710678118654752f;
    float h = 0.5f * rc_erfc_pos(z);
    return x < 0.0f ? h : 1.0f - h;
}

/* GELU, exact form: x Phi(x); its derivative Phi(x) + x phi(x). */
static inline __attribute__((always_inline)) float rc_gelu(float x) { return x * rc_phi(x); }
static inline __attribute__((always_inline)) float rc_gelu_grad(float x)
{
    float pdf = 0.39894228040143268f * rc_exp(-0.5f * x * x);
    return fmaf(x, pdf, rc_phi(x));
}

/* GELU, tanh form (torch approximate="tanh"):
 * x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). */
/* 1 + tanh(u), without the cancellation below u = -0.625: 2 / (e^-2u + 1) */
static inline __attribute__((always_inline)) float rc_one_plus_tanh(float u)
{
    float e = rc_exp(-2.0f * u);
    return u < -0.625f ? 2.0f / (e + 1.0f) : 1.0f + rc_tanh(u);
}
static inline __attribute__((always_inline)) float rc_gelu_tanh(float x)
{
    float u = 0.79788456080286536f * fmaf(0.044715f * x, x * x, x);
    return 0.5f * x * rc_one_plus_tanh(u);
}
/* Its derivative 0.5 (1 + tanh u) + 0.5 x sech^2(u) u'.  sech^2 = 1 - tanh^2
 * cancels where tanh is near 1, and x u' grows like x^3, so above |u| =
 * 0.625 sech^2 = 4 e / (e + 1)^2 with e = e^2|u| (0 once e overflows the
 * square: the derivative then goes to 0 or 1 as it should). */
static inline __attribute__((always_inline)) float rc_gelu_tanh_grad(float x)
{
    float x2 = x * x;
    float u = 0.79788456080286536f * fmaf(0.044715f * x, x2, x);
    float th = rc_tanh(u);
    float du = 0.79788456080286536f * fmaf(3.0f * 0.044715f, x2, 1.0f);
    float a = u < 0.0f ? -u : u;
    float e = rc_exp(2.0f * a), e1 = e + 1.0f;
    float sech2 = a < 0.625f ? 1.0f - th * th : 4.0f * (e / e1) / e1;
    return 0.5f * rc_one_plus_tanh(u) + 0.5f * x * sech2 * du;
}

/* SiLU (swish): x sigmoid(x); its derivative s (1 + x (1 - s)). */
static inline __attribute__((always_inline)) float rc_silu(float x) { return x * rc_sigmoid(x); }
static inline __attribute__((always_inline)) float rc_silu_grad(float x)
{
    float sg = rc_sigmoid(x);
    return sg * fmaf(x, 1.0f - sg, 1.0f);
}

#endif
