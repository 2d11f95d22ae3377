/* im2col and its adjoint col2im: the data movement around the GEMMs of the
 * convolution ops. */
#include "im2col.h"
#include "tape_impl.h"

#include <string.h>

/* Kernel positions p in [*lo, *hi) whose input index p stride - pad + off
 * lies in [0, n). */
static void valid_range(size_t n, size_t npos, size_t stride, size_t pad, size_t off,
                        size_t *lo, size_t *hi)
{
  const long s = (long)stride, a = (long)pad - (long)off; /* need p s >= a */
  const long b = (long)n - 1 + a;                          /* and p s <= b */
  long l = a <= 0 ? 0 : (a + s - 1) / s;
  long h = b < 0 ? 0 : b / s + 1;
  if (h > (long)npos)
    h = (long)npos;
  if (l > h)
    l = h;
  *lo = (size_t)l;
  *hi = (size_t)h;
}

void spdi_im2col(const struct spdi_conv_geom *g, size_t nimg, const float *x, float *col)
{
  const size_t K = g->C * g->kh * g->kw, P = g->Ho * g->Wo, ncols = nimg * P;
  const size_t H = g->H, W = g->W, Ho = g->Ho, Wo = g->Wo, s = g->stride;
#pragma omp parallel for if(K * ncols >= SPDI_PAR_MIN) num_threads(spdi_threads()) schedule(static)
  for (size_t r = 0; r < K; r++) {
    const size_t c = r / (g->kh * g->kw), i = r / g->kw % g->kh, j = r % g->kw;
    size_t oh_lo, oh_hi, ow_lo, ow_hi;
    valid_range(H, Ho, s, g->pad, i, &oh_lo, &oh_hi);
    valid_range(W, Wo, s, g->pad, j, &ow_lo, &ow_hi);
    for (size_t n = 0; n < nimg; n++) {
      float *dst = col + r * ncols + n * P;
      const float *plane = x + (n * g->C + c) * H * W;
      memset(dst, 0, oh_lo * Wo * sizeof *dst);
      if (ow_lo == ow_hi) { /* this kernel column only ever sees padding */
        memset(dst, 0, P * sizeof *dst);
        continue;
      }
      for (size_t oh = oh_lo; oh < oh_hi; oh++) {
        float *d = dst + oh * Wo;
        /* ow s - pad + j >= 0 for ow >= ow_lo, so this offset is valid. */
        const float *src = plane + (oh * s + i - g->pad) * W + ow_lo * s + j - g->pad;
        for (size_t ow = 0; ow < ow_lo; ow++)
          d[ow] = 0.0f;
        if (s == 1) {
          memcpy(d + ow_lo, src, (ow_hi - ow_lo) * sizeof *d);
        } else {
          for (size_t ow = ow_lo; ow < ow_hi; ow++)
            d[ow] = src[(ow - ow_lo) * s];
        }
        for (size_t ow = ow_hi; ow < Wo; ow++)
          d[ow] = 0.0f;
      }
      memset(dst + oh_hi * Wo, 0, (Ho - oh_hi) * Wo * sizeof *dst);
    }
  }
}

void spdi_col2im_add(const struct spdi_conv_geom *g, size_t nimg, const float *col, float *x)
{
  const size_t P = g->Ho * g->Wo, ncols = nimg * P;
  const size_t W = g->W, Wo = g->Wo, s = g->stride, planes = nimg * g->C;
  const size_t kk = g->kh * g->kw;
#pragma omp parallel for if(planes * g->H * W * kk >= SPDI_PAR_MIN) num_threads(spdi_threads()) schedule(static)
  for (size_t pl = 0; pl < planes; pl++) {
    const size_t n = pl / g->C, c = pl % g->C;
    float *plane = x + pl * g->H * W;
    for (size_t i = 0; i < g->kh; i++) {
      size_t oh_lo, oh_hi;
      valid_range(g->H, g->Ho, s, g->pad, i, &oh_lo, &oh_hi);
      for (size_t j = 0; j < g->kw; j++) {
        size_t ow_lo, ow_hi;
        valid_range(W, Wo, s, g->pad, j, &ow_lo, &ow_hi);
        if (ow_lo == ow_hi)
          continue;
        const float *src = col + ((c * g->kh + i) * g->kw + j) * ncols + n * P;
        for (size_t oh = oh_lo; oh < oh_hi; oh++) {
          float *d = plane + (oh * s + i - g->pad) * W + ow_lo * s + j - g->pad;
          const float *sr = src + oh * Wo;
          if (s == 1) {
            for (size_t ow = ow_lo; ow < ow_hi; ow++)
              d[ow - ow_lo] += sr[ow];
          } else {
            for (size_t ow = ow_lo; ow < ow_hi; ow++)
              d[(ow - ow_lo) * s] += sr[ow];
          }
        }
      }
    }
  }
}
