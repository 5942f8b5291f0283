/* The 2x2 stride-2 max-pooling kernels (src/kernels/maxpool.c): the AVX2
 * and portable builds against a naive scan on planes whose widths reach
 * every code path (scalar rows, 4-wide and 8-wide blocks, the overlapping
 * last block, odd sizes), with ties, signed zeros, infinities and NaNs with
 * payloads, bit for bit: values, winner codes, and the backward's additions
 * into a gradient that already holds values (elements that win no window
 * keep their bits). */
#include <stdint.h>

#include "kernels/maxpool.h"
#include "lamina/base.h"
#include "test.h"

static float special(lam_rng *r)
{
    static const uint32_t bits[] = {0x00000000u, 0x80000000u, 0x7f800000u, 0xff800000u, 0x7fc00001u, 0xffc12345u};
    uint32_t b = bits[lam_rng_below(r, 6)];
    float f;
    memcpy(&f, &b, sizeof f);
    return f;
}

/* the winner rule: the first NaN in row-major order, else the first maximum */
static int ref_winner(const float v[4])
{
    int w = 0;
    for (int i = 1; i < 4; i++) {
        if (isnan(v[w])) break;
        if (isnan(v[i]) || v[i] > v[w]) w = i;
    }
    return w;
}

static void test_kernels_match_naive_scan(void)
{
    static const int sizes[][2] = {{6, 8}, {7, 9}, {9, 11}, {8, 16}, {10, 26}, {26, 26}, {11, 11},
                                   {5, 15}, {4, 34}, {3, 2}, {2, 5}, {13, 41}};
    lam_rng r;
    lam_rng_seed(&r, 3);
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
        long H = sizes[si][0], W = sizes[si][1], OH = H / 2, OW = W / 2;
        float x[41 * 41], dy[20 * 20], y[2][20 * 20], dx[2][41 * 41], dx0[41 * 41];
        uint8_t code[2][20 * 20];
        for (int rep = 0; rep < 20; rep++) {
            for (long i = 0; i < H * W; i++) {
                x[i] = lam_rng_uniform(&r) < 0.1f ? special(&r) : (float)((int)lam_rng_below(&r, 3) - 1);
                if (rep == 0) x[i] = -INFINITY;
                dx0[i] = lam_rng_uniform(&r) < 0.1f ? special(&r) : lam_rng_uniform(&r);
            }
            for (long i = 0; i < OH * OW; i++) dy[i] = lam_rng_uniform(&r) < 0.05f ? special(&r) : lam_rng_normal(&r);
            for (int base = 0; base < 2; base++) {
                lam_maxpool_force_base(base == 1);
                lam_maxpool2x2_fwd(x, y[base], code[base], W, OH, OW);
                memcpy(dx[base], dx0, sizeof(float) * (size_t)(H * W));
                lam_maxpool2x2_bwd(code[base], dy, dx[base], W, OH, OW);
            }
            lam_maxpool_force_base(false);
            float want_dx[41 * 41];
            memcpy(want_dx, dx0, sizeof want_dx);
            int bad = 0;
            for (long oy = 0; oy < OH; oy++)
                for (long ox = 0; ox < OW; ox++) {
                    long at[4] = {2 * oy * W + 2 * ox, 2 * oy * W + 2 * ox + 1, (2 * oy + 1) * W + 2 * ox,
                                  (2 * oy + 1) * W + 2 * ox + 1};
                    float v[4] = {x[at[0]], x[at[1]], x[at[2]], x[at[3]]};
                    int w = ref_winner(v);
                    long o = oy * OW + ox;
                    want_dx[at[w]] += dy[o];
                    for (int base = 0; base < 2; base++)
                        bad += code[base][o] != w || memcmp(&y[base][o], &v[w], sizeof(float)) != 0;
                }
            for (int base = 0; base < 2; base++)
                bad += memcmp(dx[base], want_dx, sizeof(float) * (size_t)(H * W)) != 0;
            CHECK_MSG(bad == 0, "%ldx%ld plane, repetition %d: %d mismatches", H, W, rep, bad);
        }
    }
}

int main(void)
{
    RUN(test_kernels_match_naive_scan);
    TEST_MAIN_END;
}
