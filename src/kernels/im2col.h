/* im2col / col2im for 2-D convolution over one NCHW image.
 * Geometry: input C x H x W, kernel KH x KW, stride, zero padding, dilation;
 * output OH x OW.  The column matrix has C*KH*KW rows (row r = (c*KH + i)*KW + j)
 * and `ld` columns in all; this image occupies columns [off, off + OH*OW).
 * Nothing is allocated. */
#ifndef LAMINA_KERNELS_IM2COL_H
#define LAMINA_KERNELS_IM2COL_H

typedef struct lam_conv_geom {
    int C, H, W, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW;
} lam_conv_geom;

/* Write channels [c0, c1) of image x into col. */
void lam_im2col(const lam_conv_geom *g, const float *x, int c0, int c1, float *col, long ld, long off);
/* Accumulate the columns of channels [c0, c1) back into image dx (+=). */
void lam_col2im(const lam_conv_geom *g, const float *col, int c0, int c1, float *dx, long ld, long off);

#endif
