/* The weight gradient and, for the shortest rows, the forward GEMM and
 * the stride-phase gather on batch-innermost copies (conv_chwn.c): what
 * form_wgrad(), form_fwd() and form_phase() in conv.c compute. */
#ifndef SPDI_CONV_CHWN_H
#define SPDI_CONV_CHWN_H

#include "conv_forms.h"

/* Whether g's weight gradient takes the batch-innermost copies (shapes
 * only). */
bool spdi_conv_chwn(const struct geom *g);

/* Floats of padded-copy space spdi_chwn_wgrad() needs. */
size_t spdi_chwn_wgrad_pad(const struct geom *g);

/* WGRAD: dw (M x C kh kw) += grid im2col(image)^T, M = g->G. */
void spdi_chwn_wgrad(const struct geom *g, size_t M, const float *grid, const float *image,
                     float *dw, struct work *w);

/* Whether g's forward GEMM (M output channels) takes the batch-innermost
 * copy (shapes and CPU only). */
bool spdi_chwn_fwd_suits(const struct geom *g, size_t M);

/* Index entries and floats of copy space spdi_chwn_fwd() needs. */
size_t spdi_chwn_fwd_idx(const struct geom *g, size_t M);
size_t spdi_chwn_fwd_pad(const struct geom *g, size_t M);

/* FWD: grid (N x M x Ho x Wo) += Wt (M x C kh kw, row-major)
 * im2col(image); = with overwrite. */
void spdi_chwn_fwd(const struct geom *g, size_t M, const float *wt, const float *image,
                   float *grid, bool overwrite, struct work *w);

/* Whether g's PHASE form (conv2d's input gradient, conv2d_transpose's
 * forward) takes the batch-innermost copies (shapes and CPU only). */
bool spdi_chwn_phase_suits(const struct geom *g);

/* Index entries and floats of copy space spdi_chwn_phase() needs. */
size_t spdi_chwn_phase_idx(const struct geom *g);
size_t spdi_chwn_phase_pad(const struct geom *g);

/* PHASE: image (N x C x H x W) += the gather of grid (N x G x Ho x Wo)
 * through the weights (G x C x kh x kw); = with overwrite. */
void spdi_chwn_phase(const struct geom *g, const float *wt, const float *grid, float *image,
                     bool overwrite, struct work *w);

#endif /* SPDI_CONV_CHWN_H */
