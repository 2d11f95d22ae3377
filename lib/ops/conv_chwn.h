/* The weight gradient on batch-innermost copies (conv_chwn.c): what
 * form_wgrad() in conv.c computes, with the same index arrays and
 * spdi_chwn_wgrad_pad() floats of copy space. */
#ifndef SPDI_CONV_CHWN_H
#define SPDI_CONV_CHWN_H

#include "conv_forms.h"

/* Whether g's weight gradient takes the batch-innermost copies (shapes
 * only). */
bool spdi_conv_chwn(const struct geom *g);

/* Floats of padded-copy space spdi_chwn_wgrad() needs. */
size_t spdi_chwn_wgrad_pad(const struct geom *g);

/* WGRAD: dw (M x C kh kw) += grid im2col(image)^T. */
void spdi_chwn_wgrad(const struct geom *g, size_t M, const float *grid, const float *image,
                     float *dw, struct work *w);

#endif /* SPDI_CONV_CHWN_H */
