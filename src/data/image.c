/* Image transforms on NCHW float images: shift with zero fill, horizontal
 * flip, random crop with zero padding, random shift, random flip, Gaussian
 * noise, scaling by 1/255, per-channel statistics and standardisation, and
 * lam_augment_batch, which chains them in a fixed order.  Nothing here
 * allocates; random numbers come only from the caller's lam_rng, drawn
 * serially, so a seed fixes every output bit. */
#include "lamina/data.h"

#include <math.h>
#include <string.h>

/* Largest crop padding / shift accepted: keeps 2k + 1 far inside uint32. */
#define MAX_SHIFT 65535

void lam_image_shift(const float *src, float *dst, int C, int H, int W, int dy, int dx)
{
    /* rows y in [y0, y1) and columns x in [x0, x1) read from inside src */
    int y0 = dy > 0 ? dy : 0, y1 = dy < 0 ? H + dy : H;
    int x0 = dx > 0 ? dx : 0, x1 = dx < 0 ? W + dx : W;
    if (y0 > H) y0 = H;
    if (y1 < 0) y1 = 0;
    if (x0 > W) x0 = W;
    if (x1 < 0) x1 = 0;
    size_t HW = (size_t)H * (size_t)W;
    for (int c = 0; c < C; c++) {
        const float *s = src + (size_t)c * HW;
        float *d = dst + (size_t)c * HW;
        for (int y = 0; y < H; y++) {
            float *row = d + (size_t)y * (size_t)W;
            if (y < y0 || y >= y1 || x0 >= x1) {
                memset(row, 0, (size_t)W * sizeof(float));
                continue;
            }
            const float *srow = s + (size_t)(y - dy) * (size_t)W;
            if (x0 > 0) memset(row, 0, (size_t)x0 * sizeof(float));
            memcpy(row + x0, srow + (x0 - dx), (size_t)(x1 - x0) * sizeof(float));
            if (x1 < W) memset(row + x1, 0, (size_t)(W - x1) * sizeof(float));
        }
    }
}

void lam_image_flip_h(float *x, int C, int H, int W)
{
    size_t rows = (size_t)C * (size_t)H;
    for (size_t r = 0; r < rows; r++) {
        float *row = x + r * (size_t)W;
        for (int i = 0, j = W - 1; i < j; i++, j--) {
            float t = row[i];
            row[i] = row[j];
            row[j] = t;
        }
    }
}

/* Shift x in place through tmp (skipped when the shift is zero). */
static void shift_inplace(float *x, int C, int H, int W, int dy, int dx, float *tmp)
{
    if (dy == 0 && dx == 0) return;
    size_t n = (size_t)C * (size_t)H * (size_t)W;
    lam_image_shift(x, tmp, C, H, W, dy, dx);
    memcpy(x, tmp, n * sizeof(float));
}

void lam_image_random_crop(float *x, int C, int H, int W, int pad, lam_rng *rng, float *tmp)
{
    if (pad <= 0) return;
    uint32_t span = 2 * (uint32_t)pad + 1;
    int oy = (int)lam_rng_below(rng, span);
    int ox = (int)lam_rng_below(rng, span);
    /* output[y][x] = padded[y + oy][x + ox] = src[y + oy - pad][x + ox - pad] */
    shift_inplace(x, C, H, W, pad - oy, pad - ox, tmp);
}

void lam_image_random_shift(float *x, int C, int H, int W, int k, lam_rng *rng, float *tmp)
{
    if (k <= 0) return;
    uint32_t span = 2 * (uint32_t)k + 1;
    int dy = (int)lam_rng_below(rng, span) - k;
    int dx = (int)lam_rng_below(rng, span) - k;
    shift_inplace(x, C, H, W, dy, dx, tmp);
}

void lam_image_random_flip(float *x, int C, int H, int W, lam_rng *rng)
{
    if (lam_rng_u64(rng) >> 63) lam_image_flip_h(x, C, H, W);
}

void lam_image_add_noise(float *x, size_t n, float std, lam_rng *rng)
{
    for (size_t i = 0; i < n; i++) x[i] += std * lam_rng_normal(rng);
}

void lam_image_scale255(float *x, size_t n)
{
    /* a division, not a multiplication by 1/255: 255 maps to exactly 1 and
     * the result matches the readers' u8 / 255 bit for bit */
    for (size_t i = 0; i < n; i++) x[i] /= 255.0f;
}

lam_status lam_image_channel_stats(const float *x, int64_t N, int C, int64_t HW, float *mean,
                                   float *std)
{
    if (!x || !mean || !std || N < 1 || C < 1 || HW < 1)
        return lam_fail(LAM_ERR_ARG,
                        "lam_image_channel_stats: needs data and output arrays and N, C, HW "
                        ">= 1 (got N = %lld, C = %d, HW = %lld)",
                        (long long)N, C, (long long)HW);
    /* channel by channel, two passes in double: a constant channel has
     * variance exactly 0 */
    for (int c = 0; c < C; c++) {
        double sum = 0;
        for (int64_t b = 0; b < N; b++) {
            const float *p = x + ((size_t)b * (size_t)C + (size_t)c) * (size_t)HW;
            for (int64_t i = 0; i < HW; i++) {
                if (!isfinite(p[i]))
                    return lam_fail(LAM_ERR_ARG,
                                    "lam_image_channel_stats: sample %lld, channel %d, pixel "
                                    "%lld is %g; hint: images must be finite",
                                    (long long)b, c, (long long)i, (double)p[i]);
                sum += p[i];
            }
        }
        double cnt = (double)N * (double)HW, m = sum / cnt, ss = 0;
        for (int64_t b = 0; b < N; b++) {
            const float *p = x + ((size_t)b * (size_t)C + (size_t)c) * (size_t)HW;
            for (int64_t i = 0; i < HW; i++) {
                double d = p[i] - m;
                ss += d * d;
            }
        }
        double sd = sqrt(ss / cnt); /* population std */
        mean[c] = (float)m;
        std[c] = sd > 0 && (float)sd > 0 ? (float)sd : 1.0f;
    }
    return LAM_OK;
}

lam_status lam_dataset_channel_stats(const lam_dataset *ds, float *mean, float *std)
{
    if (!ds) return lam_fail(LAM_ERR_ARG, "lam_dataset_channel_stats: ds is NULL");
    const lam_shape *s = &ds->sample_shape;
    if (s->ndim != 3) {
        char buf[96];
        return lam_fail(LAM_ERR_SHAPE,
                        "lam_dataset_channel_stats: sample shape %s is not [C, H, W]; hint: "
                        "declare it with lam_dataset_set_sample_shape",
                        lam_shape_str(s, buf, sizeof buf));
    }
    if (s->d[0] > INT32_MAX)
        return lam_fail(LAM_ERR_SHAPE, "lam_dataset_channel_stats: %lld channels",
                        (long long)s->d[0]);
    return lam_image_channel_stats(ds->x, ds->n, (int)s->d[0], s->d[1] * s->d[2], mean, std);
}

void lam_image_standardize(float *x, int64_t B, int C, int64_t HW, const float *mean,
                           const float *std)
{
    for (int64_t b = 0; b < B; b++)
        for (int c = 0; c < C; c++) {
            float *p = x + ((size_t)b * (size_t)C + (size_t)c) * (size_t)HW;
            float m = mean[c], sd = std[c];
            /* a division like the scalers, so results match lam_scaler */
            for (int64_t i = 0; i < HW; i++) p[i] = (p[i] - m) / sd;
        }
}

lam_augment lam_augment_defaults(void)
{
    return (lam_augment){
        .crop_pad = 4,
        .shift_max = 2,
        .noise_std = 0.05f,
    };
}

lam_status lam_augment_batch(const lam_augment *a, float *x, int B, int C, int H, int W,
                             lam_rng *rng, float *tmp)
{
    if (!a) return LAM_OK;
    if (B < 0 || C < 1 || H < 1 || W < 1 || (B > 0 && (!x || !rng)))
        return lam_fail(LAM_ERR_ARG,
                        "lam_augment_batch: bad batch [%d, %d, %d, %d] or NULL x / rng", B, C,
                        H, W);
    size_t chw;
    if (!lam_mul_size((size_t)C, (size_t)H, &chw) || !lam_mul_size(chw, (size_t)W, &chw) ||
        chw > SIZE_MAX / sizeof(float) / ((size_t)B + 1))
        return lam_fail(LAM_ERR_ARG, "lam_augment_batch: batch [%d, %d, %d, %d] overflows", B,
                        C, H, W);
    if (a->crop && (a->crop_pad < 0 || a->crop_pad > MAX_SHIFT))
        return lam_fail(LAM_ERR_ARG, "lam_augment_batch: crop_pad = %d outside [0, %d]",
                        a->crop_pad, MAX_SHIFT);
    if (a->shift && (a->shift_max < 0 || a->shift_max > MAX_SHIFT))
        return lam_fail(LAM_ERR_ARG, "lam_augment_batch: shift_max = %d outside [0, %d]",
                        a->shift_max, MAX_SHIFT);
    if (a->noise && !(isfinite(a->noise_std) && a->noise_std >= 0))
        return lam_fail(LAM_ERR_ARG, "lam_augment_batch: noise_std = %g; hint: a finite "
                                     "standard deviation >= 0",
                        (double)a->noise_std);
    if ((a->crop || a->shift) && !tmp)
        return lam_fail(LAM_ERR_ARG, "lam_augment_batch: crop and shift need tmp scratch of "
                                     "C*H*W = %zu floats",
                        chw);
    if (a->standardize) {
        if (!a->mean || !a->std)
            return lam_fail(LAM_ERR_ARG, "lam_augment_batch: standardize needs mean and std "
                                         "(%d channels each); hint: lam_dataset_channel_stats",
                            C);
        for (int c = 0; c < C; c++)
            if (!(isfinite(a->std[c]) && a->std[c] > 0) || !isfinite(a->mean[c]))
                return lam_fail(LAM_ERR_ARG,
                                "lam_augment_batch: channel %d has mean %g, std %g; hint: "
                                "finite values with std > 0",
                                c, (double)a->mean[c], (double)a->std[c]);
    }
    int64_t HW = (int64_t)H * W;
    for (int b = 0; b < B; b++) {
        float *s = x + (size_t)b * chw;
        if (a->scale255) lam_image_scale255(s, chw);
        if (a->crop) lam_image_random_crop(s, C, H, W, a->crop_pad, rng, tmp);
        if (a->shift) lam_image_random_shift(s, C, H, W, a->shift_max, rng, tmp);
        if (a->flip) lam_image_random_flip(s, C, H, W, rng);
        if (a->noise && a->noise_std > 0) lam_image_add_noise(s, chw, a->noise_std, rng);
        if (a->standardize) lam_image_standardize(s, 1, C, HW, a->mean, a->std);
    }
    return LAM_OK;
}
