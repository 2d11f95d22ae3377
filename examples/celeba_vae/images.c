/* Byte image sets: allocation, compaction, float batches, statistics. */
#include "images.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

size_t vae_images_dim(const vae_images *im)
{
  return im->c * im->h * im->w;
}

int vae_images_alloc(vae_images *im, size_t n, size_t c, size_t h, size_t w)
{
  *im = (vae_images){0};
  if (c == 0 || h == 0 || w == 0 || h > SIZE_MAX / w || c > SIZE_MAX / (h * w))
    return -1;
  size_t dim = c * h * w;
  if (n > SIZE_MAX / dim)
    return -1;
  uint8_t *px = malloc(n * dim > 0 ? n * dim : 1);
  if (!px)
    return -1;
  *im = (vae_images){px, n, c, h, w};
  return 0;
}

void vae_images_free(vae_images *im)
{
  if (!im)
    return;
  free(im->px);
  *im = (vae_images){0};
}

size_t vae_images_compact(vae_images *im, const uint8_t *keep)
{
  size_t dim = vae_images_dim(im), m = 0;
  for (size_t i = 0; i < im->n; i++)
    if (keep[i]) {
      if (m != i)
        memmove(im->px + m * dim, im->px + i * dim, dim);
      m++;
    }
  im->n = m;
  uint8_t *p = realloc(im->px, m * dim > 0 ? m * dim : 1);
  if (p) /* a failed shrink keeps the larger block */
    im->px = p;
  return m;
}

void vae_images_gather(const vae_images *im, const size_t *idx, size_t count,
                       float *out)
{
  size_t dim = vae_images_dim(im);
  for (size_t k = 0; k < count; k++) {
    const uint8_t *src = im->px + (idx ? idx[k] : k) * dim;
    float *dst = out + k * dim;
    for (size_t j = 0; j < dim; j++)
      dst[j] = (float)src[j] / 255.0f; /* correctly rounded; 255 gives 1 */
  }
}

vae_pixel_stats vae_images_stats(const vae_images *im)
{
  size_t total = im->n * vae_images_dim(im);
  if (total == 0)
    return (vae_pixel_stats){0, 0, 0};
  uint8_t lo = 255, hi = 0;
  uint64_t sum = 0;
  for (size_t i = 0; i < total; i++) {
    uint8_t v = im->px[i];
    lo = v < lo ? v : lo;
    hi = v > hi ? v : hi;
    sum += v;
  }
  return (vae_pixel_stats){lo / 255.0, hi / 255.0, (double)sum / (double)total / 255.0};
}
