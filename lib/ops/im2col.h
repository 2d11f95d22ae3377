/* im2col / col2im for the convolution ops (lib/ops/im2col.c). */
#ifndef SPDI_IM2COL_H
#define SPDI_IM2COL_H

#include <stddef.h>

/* A convolution seen from its "image" side (C x H x W planes, the input of
 * conv2d or the output of conv2d_transpose) and its "column" side (the
 * Ho x Wo grid of kernel positions). */
struct spdi_conv_geom {
  size_t C, H, W;   /* image planes */
  size_t kh, kw;    /* kernel */
  size_t stride, pad;
  size_t Ho, Wo;    /* kernel positions */
};

/* col is K = C kh kw rows by nimg Ho Wo columns, row-major; column
 * g Ho Wo + oh Wo + ow of row (c kh + i) kw + j holds image g's pixel
 * (c, oh stride - pad + i, ow stride - pad + j), or 0 in the padding.
 * The nimg images are contiguous at x. Parallel over rows. */
void spdi_im2col(const struct spdi_conv_geom *g, size_t nimg, const float *x, float *col);

/* The adjoint: x += col2im(col). Parallel over image planes, each summed in
 * a fixed order, so the result does not depend on the thread count. */
void spdi_col2im_add(const struct spdi_conv_geom *g, size_t nimg, const float *col, float *x);

#endif /* SPDI_IM2COL_H */
