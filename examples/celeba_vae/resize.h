/* Cropping and antialiased resizing of 8-bit images (MATH.md section 5:
 * the aligned CelebA JPEGs are 178 x 218; the paper crops 140 x 140 at
 * top-left corner (x 19, y 39) and resizes to 64 x 64 with a Lanczos
 * filter).
 *
 * The filter is Lanczos-3, L(x) = sinc(x) sinc(x / 3) for |x| < 3, the one
 * PIL's Image.resize(LANCZOS) uses: output pixel i of a side of `out`
 * pixels taken from `in` source pixels has its centre at source coordinate
 * c = (i + 0.5) * in / out; with f = max(in / out, 1) (the filter widens
 * when shrinking, which is the antialiasing), source pixel j weighs
 * L((j + 0.5 - c) / f), over the pixels of the crop only (crop, then
 * resize), normalised to sum 1. Rows then columns (separable), in double,
 * without rounding between the passes; the result is clamped to [0, 1]. */
#ifndef VAE_RESIZE_H
#define VAE_RESIZE_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
  size_t x, y, w, h; /* top-left corner and size, in pixels */
} vae_rect;

/* The paper's face crop for an aligned CelebA image of width x height:
 * (19, 39, 140, 140) for 178 x 218. Other sizes get the same crop, scaled,
 * in the largest 178:218 window centred in the image (rounded to whole
 * pixels and kept inside the image). */
vae_rect vae_celeba_crop(size_t width, size_t height);

/* The Lanczos-3 kernel (exactly 0 at non-zero integers, 1 at 0). */
double vae_lanczos3(double x);

/* Resample rectangle r of src (height rows of width * channels bytes,
 * channels interleaved) to out_h x out_w: out receives channels planes of
 * out_h x out_w floats in [0, 1] (CHW). r must lie inside the image.
 * Returns 0, or -1 if memory runs out or an argument is bad. */
int vae_resample(const uint8_t *src, size_t width, size_t height,
                 size_t channels, vae_rect r, size_t out_w, size_t out_h,
                 float *out);

/* Floats to bytes: round(v * 255), with v clamped to [0, 1] (NaN gives 0). */
void vae_quantize(const float *in, size_t n, uint8_t *out);

#endif /* VAE_RESIZE_H */
