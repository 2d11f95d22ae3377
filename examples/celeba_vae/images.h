/* A set of images held as bytes: the loaders fill one, the training loop
 * gathers batches of floats from it. Bytes rather than floats because a
 * float copy of CelebA at 64 x 64 would take 10 GB (2.5 GB as bytes), and
 * Fashion-MNIST 188 MB (47 MB as bytes); byte v stands for v / 255. */
#ifndef VAE_IMAGES_H
#define VAE_IMAGES_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
  uint8_t *px;      /* n images of c x h x w bytes, NCHW */
  size_t n, c, h, w;
} vae_images;

typedef struct {
  double min, max, mean; /* over every pixel, in [0, 1] */
} vae_pixel_stats;

/* Bytes per image (c * h * w). */
size_t vae_images_dim(const vae_images *im);

/* Allocate n images of c x h x w (contents undefined). Returns 0, or -1 if
 * the size overflows or memory runs out (*im is then left empty). */
int vae_images_alloc(vae_images *im, size_t n, size_t c, size_t h, size_t w);

/* Free the pixels and zero the struct; accepts NULL. */
void vae_images_free(vae_images *im);

/* Keep only the images whose keep[i] is non-zero, in order, in place;
 * returns how many are kept (the memory is shrunk to fit). */
size_t vae_images_compact(vae_images *im, const uint8_t *keep);

/* Write count images as floats in [0, 1] (NCHW) to out: images idx[0..count)
 * or, with idx NULL, images 0..count-1. Indices must be < n. */
void vae_images_gather(const vae_images *im, const size_t *idx, size_t count,
                       float *out);

/* Smallest, largest and mean pixel of the whole set (zeros when empty). */
vae_pixel_stats vae_images_stats(const vae_images *im);

#endif /* VAE_IMAGES_H */
