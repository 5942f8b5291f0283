/* im2col / col2im.  Each output row is one (channel, kernel offset) pair; the
 * inner loop runs along output columns with the in-bounds range computed once
 * per row, so the common interior is a plain strided copy. */
#include <string.h>

#include "kernels/im2col.h"

/* output positions o in [lo, hi) read input index o*s - p + k*d inside [0, n) */
static void valid_range(int n, int out, int s, int p, int kd, int *lo, int *hi)
{
    /* smallest o with o*s - p + kd >= 0, largest o with o*s - p + kd <= n-1 */
    int a = p - kd;
    int l = a <= 0 ? 0 : (a + s - 1) / s;
    int b = n - 1 + p - kd;
    int h = b < 0 ? 0 : b / s + 1;
    if (h > out) h = out;
    if (l > h) l = h;
    *lo = l;
    *hi = h;
}

void lam_im2col(const lam_conv_geom *g, const float *x, int c0, int c1, float *col, long ld, long off)
{
    for (int c = c0; c < c1; c++) {
        const float *xc = x + (long)c * g->H * g->W;
        for (int i = 0; i < g->KH; i++) {
            int oh_lo, oh_hi;
            valid_range(g->H, g->OH, g->sh, g->ph, i * g->dh, &oh_lo, &oh_hi);
            for (int j = 0; j < g->KW; j++) {
                int ow_lo, ow_hi;
                valid_range(g->W, g->OW, g->sw, g->pw, j * g->dw, &ow_lo, &ow_hi);
                float *row = col + ((long)(c * g->KH + i) * g->KW + j) * ld + off;
                for (int oh = 0; oh < g->OH; oh++) {
                    float *dst = row + (long)oh * g->OW;
                    if (oh < oh_lo || oh >= oh_hi) {
                        memset(dst, 0, sizeof(float) * (size_t)g->OW);
                        continue;
                    }
                    const float *src = xc + (long)(oh * g->sh - g->ph + i * g->dh) * g->W - g->pw + j * g->dw;
                    for (int ow = 0; ow < ow_lo; ow++) dst[ow] = 0.0f;
                    /* rows are short (OW floats): a plain loop beats memcpy's call */
                    if (g->sw == 1)
                        for (int ow = ow_lo; ow < ow_hi; ow++) dst[ow] = src[ow];
                    else
                        for (int ow = ow_lo; ow < ow_hi; ow++) dst[ow] = src[(long)ow * g->sw];
                    for (int ow = ow_hi; ow < g->OW; ow++) dst[ow] = 0.0f;
                }
            }
        }
    }
}

void lam_col2im(const lam_conv_geom *g, const float *col, int c0, int c1, float *dx, long ld, long off)
{
    for (int c = c0; c < c1; c++) {
        float *xc = dx + (long)c * g->H * g->W;
        for (int i = 0; i < g->KH; i++) {
            int oh_lo, oh_hi;
            valid_range(g->H, g->OH, g->sh, g->ph, i * g->dh, &oh_lo, &oh_hi);
            for (int j = 0; j < g->KW; j++) {
                int ow_lo, ow_hi;
                valid_range(g->W, g->OW, g->sw, g->pw, j * g->dw, &ow_lo, &ow_hi);
                const float *row = col + ((long)(c * g->KH + i) * g->KW + j) * ld + off;
                for (int oh = oh_lo; oh < oh_hi; oh++) {
                    const float *srow = row + (long)oh * g->OW;
                    float *d = xc + (long)(oh * g->sh - g->ph + i * g->dh) * g->W - g->pw + j * g->dw;
                    for (int ow = ow_lo; ow < ow_hi; ow++) d[(long)ow * g->sw] += srow[ow];
                }
            }
        }
    }
}
