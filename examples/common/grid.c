/* Image grids as PNG: quantise [0, 1] floats to bytes, lay the images out
 * in cells separated by a grey border, write with png_io. */
#include "grid.h"

#include "png_io.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint8_t to_byte(float v)
{
  if (!(v > 0.0f)) /* also NaN */
    return 0;
  if (v >= 1.0f)
    return 255;
  return (uint8_t)(v * 255.0f + 0.5f);
}

int ex_grid_png(const char *path, const ex_images *im, size_t rows,
                size_t cols, size_t upscale, char *err, size_t errlen)
{
  const size_t b = EX_GRID_BORDER;
  if (!im || (!im->pixels && im->count) || (im->channels != 1 && im->channels != 3) ||
      im->height == 0 || im->width == 0 || rows == 0 || cols == 0 ||
      upscale == 0 || upscale > 64 || rows > 1000 || cols > 1000 ||
      im->height > 4096 || im->width > 4096) {
    snprintf(err, errlen, "cannot write %s: bad grid (%zu x %zu cells, upscale %zu)",
             path, rows, cols, upscale);
    return -1;
  }
  const size_t ch = im->channels, ih = im->height, iw = im->width;
  const size_t cell_h = ih * upscale, cell_w = iw * upscale;
  const size_t H = rows * (cell_h + b) + b, W = cols * (cell_w + b) + b;
  uint8_t *px = malloc(H * W * ch);
  if (!px) {
    snprintf(err, errlen, "cannot write %s: out of memory", path);
    return -1;
  }
  memset(px, EX_GRID_BORDER_VALUE, H * W * ch);
  size_t n = im->count < rows * cols ? im->count : rows * cols;
  for (size_t k = 0; k < n; k++) {
    const float *src = im->pixels + k * ch * ih * iw;
    size_t y0 = b + (k / cols) * (cell_h + b), x0 = b + (k % cols) * (cell_w + b);
    for (size_t y = 0; y < cell_h; y++) {
      uint8_t *row = px + ((y0 + y) * W + x0) * ch;
      for (size_t x = 0; x < cell_w; x++)
        for (size_t c = 0; c < ch; c++)
          row[x * ch + c] = to_byte(src[(c * ih + y / upscale) * iw + x / upscale]);
    }
  }
  int rc = ex_png_write(path, W, H, ch, px, err, errlen);
  free(px);
  return rc;
}

size_t ex_grid_upscale(size_t side)
{
  size_t u = side ? 84 / side : 1;
  return u < 1 ? 1 : u;
}
