/* A grid of images written as one PNG, for sample and reconstruction
 * sheets. */
#ifndef EX_GRID_H
#define EX_GRID_H

#include <stddef.h>

/* count images, each channels x height x width floats (CHW, one image after
 * the other: NCHW), values in [0, 1] (clamped; NaN is drawn as 0). */
typedef struct {
  const float *pixels;
  size_t count, channels, height, width;
} ex_images;

enum { EX_GRID_BORDER = 2 }; /* pixels of mid grey between and around cells */
#define EX_GRID_BORDER_VALUE 128

/* Write rows x cols cells, filled row by row with the first rows * cols
 * images (cells past count stay border grey), each image pixel drawn as an
 * upscale x upscale block. channels 1 gives a gray PNG, 3 an RGB one. The
 * PNG is rows * (height * upscale + B) + B pixels high, and likewise wide,
 * with B = EX_GRID_BORDER. Returns 0, or -1 with a message in err that
 * names path. */
int ex_grid_png(const char *path, const ex_images *im, size_t rows,
                size_t cols, size_t upscale, char *err, size_t errlen);

/* The largest upscale factor that keeps a side-pixel image at most 84
 * pixels wide, at least 1 (3 for 28, 2 for 32..42, 1 from 43 up). */
size_t ex_grid_upscale(size_t side);

#endif /* EX_GRID_H */
