/* 2x2 stride-2 max pooling on one NCHW plane, forward and backward (see
 * maxpool.h for the winner rule and the code byte).  Portable kernels plus
 * AVX2 ones compiled with per-function target attributes, so the library's
 * default build stays baseline x86-64; the AVX2 ones run only after a CPU
 * check.
 *
 * Why the AVX2 forward gives the portable winner: the portable kernel scans
 * the window in row-major order and replaces its best on BEATS, so it ends
 * on the first NaN, else the first element equal to the maximum.  The AVX2
 * kernel plays a tournament, top pair, bottom pair, then top winner against
 * bottom winner with the earlier side kept unless beaten; every round keeps
 * the earlier element on ties and on a NaN already held, so the tournament
 * ends on the same element.  (Pairing columns first instead of rows would
 * not: top-right against bottom-left would then be decided in the wrong
 * order.)  Values are moved by selects, never by max instructions, so the
 * winner's bits, NaN payloads and the sign of zero included, are what is
 * written. */
#include "kernels/maxpool.h"

#include <stdatomic.h>
#include <string.h>

/* v beats the best so far: larger, or a NaN (which then stays); ties keep
 * the first */
#define BEATS(v, best) ((v) > (best) || ((v) != (v) && (best) == (best)))

/* The codes go through an int32 buffer: with only 4-byte types in the loop
 * the compiler vectorises it 4 windows at a time, as it did the int32
 * arg-max this replaces; a byte store in the loop makes it try 16 at a time,
 * which pooling rows rarely fill, and fall back to branchy scalar code. */
static void fwd_base(const float *x, float *y, uint8_t *code, long W, long OH, long OW)
{
    enum { CHUNK = 64 };
    int32_t kb[CHUNK];
    for (long oh = 0; oh < OH; oh++) {
        const float *r0 = x + 2 * oh * W, *r1 = r0 + W;
        for (long o0 = 0; o0 < OW; o0 += CHUNK) {
            long n = OW - o0 < CHUNK ? OW - o0 : CHUNK;
            const float *s0 = r0 + 2 * o0, *s1 = r1 + 2 * o0;
            float *yr = y + oh * OW + o0;
            for (long i = 0; i < n; i++) {
                float v0 = s0[2 * i], v1 = s0[2 * i + 1], v2 = s1[2 * i], v3 = s1[2 * i + 1];
                /* selects, not branches: random data would mispredict */
                bool c1 = BEATS(v1, v0);
                float b01 = c1 ? v1 : v0;
                int32_t k01 = c1 ? 1 : 0;
                bool c2 = BEATS(v2, b01);
                float b012 = c2 ? v2 : b01;
                int32_t k012 = c2 ? 2 : k01;
                bool c3 = BEATS(v3, b012);
                yr[i] = c3 ? v3 : b012;
                kb[i] = c3 ? 3 : k012;
            }
            uint8_t *cr = code + oh * OW + o0;
            for (long i = 0; i < n; i++) cr[i] = (uint8_t)kb[i];
        }
    }
}

static void bwd_base(const uint8_t *code, const float *dy, float *dx, long W, long OH, long OW)
{
    const long off[4] = {0, 1, W, W + 1};
    for (long oh = 0; oh < OH; oh++) {
        float *d = dx + 2 * oh * W;
        const float *g = dy + oh * OW;
        const uint8_t *cr = code + oh * OW;
        for (long ow = 0; ow < OW; ow++) d[2 * ow + off[cr[ow]]] += g[ow];
    }
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define TGT __attribute__((target("avx2")))
#define INL static inline __attribute__((always_inline)) TGT

INL __m256 beats(__m256 v, __m256 best)
{
    /* !(v <= best) is v > best or either one NaN; a NaN best never loses */
    return _mm256_and_ps(_mm256_cmp_ps(v, best, _CMP_NLE_UQ), _mm256_cmp_ps(best, best, _CMP_ORD_Q));
}

INL __m128 beats4(__m128 v, __m128 best)
{
    return _mm_and_ps(_mm_cmp_ps(v, best, _CMP_NLE_UQ), _mm_cmp_ps(best, best, _CMP_ORD_Q));
}

/* Eight windows at column 2 * ow of rows r0, r1: their maxima in window
 * order, and their codes as the low 8 bytes of *code. */
INL __m256 win8(const float *r0, const float *r1, __m128i *code)
{
    __m256 a = _mm256_loadu_ps(r0), b = _mm256_loadu_ps(r0 + 8);
    __m256 c = _mm256_loadu_ps(r1), d = _mm256_loadu_ps(r1 + 8);
    /* even and odd columns; lanes then hold windows 0 1 4 5 | 2 3 6 7 */
    __m256 e0 = _mm256_shuffle_ps(a, b, 0x88), o0 = _mm256_shuffle_ps(a, b, 0xDD);
    __m256 e1 = _mm256_shuffle_ps(c, d, 0x88), o1 = _mm256_shuffle_ps(c, d, 0xDD);
    __m256 c1 = beats(o0, e0), top = _mm256_blendv_ps(e0, o0, c1);
    __m256 c2 = beats(o1, e1), bot = _mm256_blendv_ps(e1, o1, c2);
    __m256 c3 = beats(bot, top);
    __m256 v = _mm256_blendv_ps(top, bot, c3);
    __m256i col = _mm256_srli_epi32(_mm256_castps_si256(_mm256_blendv_ps(c1, c2, c3)), 31);
    __m256i k = _mm256_or_si256(col, _mm256_and_si256(_mm256_castps_si256(c3), _mm256_set1_epi32(2)));
    __m128i k16 = _mm_packs_epi32(_mm256_castsi256_si128(k), _mm256_extracti128_si256(k, 1));
    __m128i k8 = _mm_packus_epi16(k16, k16);
    *code = _mm_shuffle_epi8(k8, _mm_setr_epi8(0, 1, 4, 5, 2, 3, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(v), 0xD8));
}

/* The same for four windows (lanes are then already in window order). */
INL __m128 win4(const float *r0, const float *r1, uint32_t *code)
{
    __m128 a = _mm_loadu_ps(r0), b = _mm_loadu_ps(r0 + 4), c = _mm_loadu_ps(r1), d = _mm_loadu_ps(r1 + 4);
    __m128 e0 = _mm_shuffle_ps(a, b, 0x88), o0 = _mm_shuffle_ps(a, b, 0xDD);
    __m128 e1 = _mm_shuffle_ps(c, d, 0x88), o1 = _mm_shuffle_ps(c, d, 0xDD);
    __m128 c1 = beats4(o0, e0), top = _mm_blendv_ps(e0, o0, c1);
    __m128 c2 = beats4(o1, e1), bot = _mm_blendv_ps(e1, o1, c2);
    __m128 c3 = beats4(bot, top);
    __m128i col = _mm_srli_epi32(_mm_castps_si128(_mm_blendv_ps(c1, c2, c3)), 31);
    __m128i k = _mm_or_si128(col, _mm_and_si128(_mm_castps_si128(c3), _mm_set1_epi32(2)));
    k = _mm_packs_epi32(k, k);
    *code = (uint32_t)_mm_cvtsi128_si32(_mm_packus_epi16(k, k));
    return _mm_blendv_ps(top, bot, c3);
}

/* Row tails are done by a block that ends at the last window and overlaps
 * the block before it (recomputing a window writes the same bits), so no
 * access leaves the row: no masked loads or stores, which are slow on some
 * CPUs, and nothing past the plane that another thread may own. */
TGT static void fwd_avx2(const float *x, float *y, uint8_t *code, long W, long OH, long OW)
{
    for (long oh = 0; oh < OH; oh++) {
        const float *r0 = x + 2 * oh * W, *r1 = r0 + W;
        float *yr = y + oh * OW;
        uint8_t *cr = code + oh * OW;
        if (OW >= 8) {
            __m128i k;
            for (long ow = 0;; ow += 8) {
                if (ow + 8 > OW) ow = OW - 8;
                _mm256_storeu_ps(yr + ow, win8(r0 + 2 * ow, r1 + 2 * ow, &k));
                _mm_storel_epi64((__m128i *)(cr + ow), k);
                if (ow + 8 == OW) break;
            }
        } else if (OW >= 4) {
            uint32_t k;
            _mm_storeu_ps(yr, win4(r0, r1, &k));
            memcpy(cr, &k, 4);
            _mm_storeu_ps(yr + OW - 4, win4(r0 + 2 * OW - 8, r1 + 2 * OW - 8, &k));
            memcpy(cr + OW - 4, &k, 4);
        } else {
            fwd_base(r0, yr, cr, W, 1, OW);
        }
    }
}

/* dx[i] += g[i] where m[i] is set; other lanes are stored back unchanged.
 * The add is written in assembly to pin its operand order: when both are
 * NaN, x86 returns the first source's, and the portable `dx += dy` compiles
 * to an addss with dx first, so dx's NaN is the one kept there too (the
 * compiler would otherwise be free to swap the operands of _mm256_add_ps). */
INL __m256 add_where(__m256 dx, __m256 g, __m256i m)
{
    __m256 s;
    __asm__("vaddps %2, %1, %0" : "=x"(s) : "x"(dx), "x"(g));
    return _mm256_blendv_ps(dx, s, _mm256_castsi256_ps(m));
}

/* Backward of eight windows whose gradients are gv and codes k (one per
 * int32 lane; a code of 4 or more routes nothing): v[0..3] hold the input
 * gradients of the 16 top-row then the 16 bottom-row columns, updated in
 * place. */
INL void route8(__m256 gv, __m256i k, __m256 v[4])
{
    const __m256i lo = _mm256_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3), hi = _mm256_setr_epi32(4, 4, 5, 5, 6, 6, 7, 7);
    const __m256i top = _mm256_setr_epi32(0, 1, 0, 1, 0, 1, 0, 1), bot = _mm256_setr_epi32(2, 3, 2, 3, 2, 3, 2, 3);
    /* each window's gradient and code twice, once per column of the window */
    __m256 gl = _mm256_permutevar8x32_ps(gv, lo), gh = _mm256_permutevar8x32_ps(gv, hi);
    __m256i kl = _mm256_permutevar8x32_epi32(k, lo), kh = _mm256_permutevar8x32_epi32(k, hi);
    v[0] = add_where(v[0], gl, _mm256_cmpeq_epi32(kl, top));
    v[1] = add_where(v[1], gh, _mm256_cmpeq_epi32(kh, top));
    v[2] = add_where(v[2], gl, _mm256_cmpeq_epi32(kl, bot));
    v[3] = add_where(v[3], gh, _mm256_cmpeq_epi32(kh, bot));
}

/* codes 4 (route nothing) in the first s of 8 lanes */
INL __m256i skip_first(int s)
{
    static const int32_t fours[16] = {4, 4, 4, 4, 4, 4, 4, 4};
    return _mm256_loadu_si256((const __m256i *)(fours + 8 - s));
}

INL void load4(__m256 v[4], const float *p0, const float *p1)
{
    v[0] = _mm256_loadu_ps(p0), v[1] = _mm256_loadu_ps(p0 + 8);
    v[2] = _mm256_loadu_ps(p1), v[3] = _mm256_loadu_ps(p1 + 8);
}

INL void store4(const __m256 v[4], float *p0, float *p1)
{
    _mm256_storeu_ps(p0, v[0]), _mm256_storeu_ps(p0 + 8, v[1]);
    _mm256_storeu_ps(p1, v[2]), _mm256_storeu_ps(p1 + 8, v[3]);
}

/* The row tail is again a block ending at the last window, overlapping the
 * block before it; that one adds only to the windows the other does not
 * cover, and both are loaded before either is stored, the tail block first,
 * so the overlap ends with the earlier block's sums. */
TGT static void bwd_avx2(const uint8_t *code, const float *dy, float *dx, long W, long OH, long OW)
{
    for (long oh = 0; oh < OH; oh++) {
        float *d0 = dx + 2 * oh * W, *d1 = d0 + W;
        const float *g = dy + oh * OW;
        const uint8_t *cr = code + oh * OW;
        if (OW >= 8) {
            int t = (int)(OW & 7);
            for (long ow = 0; ow + 8 <= OW; ow += 8) {
                __m256 v[4], u[4];
                load4(v, d0 + 2 * ow, d1 + 2 * ow);
                __m256i k = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(cr + ow)));
                __m256 gv = _mm256_loadu_ps(g + ow);
                if (t && ow + 16 > OW) {
                    long tw = OW - 8;
                    load4(u, d0 + 2 * tw, d1 + 2 * tw);
                    __m256i kt = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(cr + tw)));
                    route8(_mm256_loadu_ps(g + tw), _mm256_or_si256(kt, skip_first(8 - t)), u);
                    store4(u, d0 + 2 * tw, d1 + 2 * tw);
                }
                route8(gv, k, v);
                store4(v, d0 + 2 * ow, d1 + 2 * ow);
            }
        } else if (OW >= 4) {
            /* four windows, 8 columns a row: one vector per row */
            __m256 v[4], u[4];
            uint32_t k4, kt4;
            memcpy(&k4, cr, 4);
            memcpy(&kt4, cr + OW - 4, 4);
            v[0] = _mm256_loadu_ps(d0), v[2] = _mm256_loadu_ps(d1);
            u[0] = _mm256_loadu_ps(d0 + 2 * OW - 8), u[2] = _mm256_loadu_ps(d1 + 2 * OW - 8);
            v[1] = v[3] = u[1] = u[3] = _mm256_setzero_ps();
            /* windows 4..7 of the 8-window routine get code 4 and route nothing */
            __m256i k = _mm256_cvtepu8_epi32(_mm_cvtsi32_si128((int)k4));
            __m256i kt = _mm256_cvtepu8_epi32(_mm_cvtsi32_si128((int)kt4));
            const __m256i none_hi = _mm256_setr_epi32(0, 0, 0, 0, 4, 4, 4, 4);
            k = _mm256_or_si256(k, none_hi);
            kt = _mm256_or_si256(_mm256_or_si256(kt, none_hi), skip_first((int)(8 - OW)));
            route8(_mm256_castps128_ps256(_mm_loadu_ps(g + OW - 4)), kt, u);
            route8(_mm256_castps128_ps256(_mm_loadu_ps(g)), k, v);
            _mm256_storeu_ps(d0 + 2 * OW - 8, u[0]), _mm256_storeu_ps(d1 + 2 * OW - 8, u[2]);
            _mm256_storeu_ps(d0, v[0]), _mm256_storeu_ps(d1, v[2]);
        } else {
            bwd_base(cr, g, d0, W, 1, OW);
        }
    }
}

static atomic_bool force_base_; /* test hook only */
void lam_maxpool_force_base(bool on) { atomic_store_explicit(&force_base_, on, memory_order_relaxed); }
static bool use_avx2(void)
{
    return !atomic_load_explicit(&force_base_, memory_order_relaxed) && __builtin_cpu_supports("avx2");
}
#else
void lam_maxpool_force_base(bool on) { (void)on; }
static bool use_avx2(void) { return false; }
#define fwd_avx2 fwd_base
#define bwd_avx2 bwd_base
#endif

void lam_maxpool2x2_fwd(const float *x, float *y, uint8_t *code, long W, long OH, long OW)
{
    if (use_avx2()) fwd_avx2(x, y, code, W, OH, OW);
    else fwd_base(x, y, code, W, OH, OW);
}

void lam_maxpool2x2_bwd(const uint8_t *code, const float *dy, float *dx, long W, long OH, long OW)
{
    if (use_avx2()) bwd_avx2(code, dy, dx, W, OH, OW);
    else bwd_base(code, dy, dx, W, OH, OW);
}

