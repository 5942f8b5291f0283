/* xoshiro256** (Blackman & Vigna) seeded by splitmix64; normal variates by
 * Box-Muller.  All state is in the lam_rng object. */
#include "lamina/base.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void lam_rng_seed(lam_rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&seed);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t lam_rng_u64(lam_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint32_t lam_rng_below(lam_rng *r, uint32_t n)
{
    if (n <= 1) return 0;
    /* Lemire's multiply-shift with rejection: unbiased */
    uint64_t m = (uint64_t)(uint32_t)(lam_rng_u64(r) >> 32) * n;
    uint32_t l = (uint32_t)m;
    if (l < n) {
        uint32_t t = (uint32_t)(-n) % n;
        while (l < t) {
            m = (uint64_t)(uint32_t)(lam_rng_u64(r) >> 32) * n;
            l = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

float lam_rng_uniform(lam_rng *r) { return (float)(lam_rng_u64(r) >> 40) * 0x1.0p-24f; }
double lam_rng_uniform_d(lam_rng *r) { return (double)(lam_rng_u64(r) >> 11) * 0x1.0p-53; }

float lam_rng_normal(lam_rng *r)
{
    double u1 = 1.0 - lam_rng_uniform_d(r); /* (0, 1] */
    double u2 = lam_rng_uniform_d(r);
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

void lam_rng_shuffle_u32(lam_rng *r, uint32_t *a, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = lam_rng_below(r, (uint32_t)i);
        uint32_t t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}
