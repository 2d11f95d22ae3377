/* Separable Lanczos-3 resampling; see resize.h for the exact definition. */
#include "resize.h"

#include <math.h>
#include <stdlib.h>

#define PI 3.14159265358979323846

vae_rect vae_celeba_crop(size_t width, size_t height)
{
  double s = fmin((double)width / 178.0, (double)height / 218.0);
  double ox = 0.5 * ((double)width - 178.0 * s), oy = 0.5 * ((double)height - 218.0 * s);
  size_t side = (size_t)lround(140.0 * s);
  size_t lim = width < height ? width : height;
  side = side < 1 ? 1 : side > lim ? lim : side;
  double fx = round(ox + 19.0 * s), fy = round(oy + 39.0 * s);
  size_t x = fx > 0 ? (size_t)fx : 0, y = fy > 0 ? (size_t)fy : 0;
  if (x + side > width)
    x = width - side;
  if (y + side > height)
    y = height - side;
  return (vae_rect){x, y, side, side};
}

double vae_lanczos3(double x)
{
  x = fabs(x);
  if (x >= 3.0)
    return 0.0;
  if (x == floor(x)) /* sin(pi k) is not exactly 0 in floating point */
    return x == 0.0 ? 1.0 : 0.0;
  double p = PI * x;
  return 3.0 * sin(p) * sin(p / 3.0) / (p * p);
}

/* Weights of one axis: output i reads `count` source pixels from first[i],
 * with weights w[i * taps ..]. */
typedef struct {
  size_t taps, *first, *count;
  double *w;
} axis_weights;

static void weights_free(axis_weights *a)
{
  free(a->first);
  free(a->count);
  free(a->w);
}

static int weights_make(size_t in, size_t out, axis_weights *a)
{
  double scale = (double)in / (double)out, f = scale > 1.0 ? scale : 1.0;
  double support = 3.0 * f;
  a->taps = (size_t)ceil(2.0 * support) + 2;
  a->first = malloc(out * sizeof *a->first);
  a->count = malloc(out * sizeof *a->count);
  a->w = malloc(out * a->taps * sizeof *a->w);
  if (!a->first || !a->count || !a->w) {
    weights_free(a);
    return -1;
  }
  for (size_t i = 0; i < out; i++) {
    double c = ((double)i + 0.5) * scale;
    double lo = fmax(floor(c - support), 0.0), hi = fmin(ceil(c + support), (double)in - 1.0);
    size_t j0 = (size_t)lo, n = (size_t)(hi - lo) + 1;
    double *w = a->w + i * a->taps, sum = 0.0;
    for (size_t k = 0; k < n; k++) {
      w[k] = vae_lanczos3(((double)(j0 + k) + 0.5 - c) / f);
      sum += w[k];
    }
    if (!(sum > 0.0)) { /* cannot happen for Lanczos-3; nearest pixel then */
      size_t near = (size_t)fmin(floor(c), (double)in - 1.0);
      for (size_t k = 0; k < n; k++)
        w[k] = j0 + k == near;
      sum = 1.0;
    }
    for (size_t k = 0; k < n; k++)
      w[k] /= sum;
    a->first[i] = j0;
    a->count[i] = n;
  }
  return 0;
}

int vae_resample(const uint8_t *src, size_t width, size_t height,
                 size_t channels, vae_rect r, size_t out_w, size_t out_h,
                 float *out)
{
  if (!src || !out || channels == 0 || out_w == 0 || out_h == 0 || r.w == 0 ||
      r.h == 0 || r.x > width || r.w > width - r.x || r.y > height ||
      r.h > height - r.y)
    return -1;
  axis_weights ax = {0}, ay = {0};
  /* Rows first: tmp holds the r.h cropped rows resized to out_w. */
  double *tmp = malloc(r.h * out_w * channels * sizeof *tmp);
  if (!tmp || weights_make(r.w, out_w, &ax) != 0 || weights_make(r.h, out_h, &ay) != 0) {
    free(tmp);
    weights_free(&ax);
    weights_free(&ay);
    return -1;
  }
  for (size_t y = 0; y < r.h; y++) {
    const uint8_t *row = src + ((r.y + y) * width + r.x) * channels;
    for (size_t i = 0; i < out_w; i++) {
      const double *w = ax.w + i * ax.taps;
      const uint8_t *p = row + ax.first[i] * channels;
      for (size_t c = 0; c < channels; c++) {
        double s = 0.0;
        for (size_t k = 0; k < ax.count[i]; k++)
          s += w[k] * p[k * channels + c];
        tmp[(y * out_w + i) * channels + c] = s;
      }
    }
  }
  for (size_t i = 0; i < out_h; i++) {
    const double *w = ay.w + i * ay.taps;
    for (size_t x = 0; x < out_w; x++)
      for (size_t c = 0; c < channels; c++) {
        double s = 0.0;
        for (size_t k = 0; k < ay.count[i]; k++)
          s += w[k] * tmp[((ay.first[i] + k) * out_w + x) * channels + c];
        s /= 255.0;
        out[(c * out_h + i) * out_w + x] = (float)(s < 0.0 ? 0.0 : s > 1.0 ? 1.0 : s);
      }
  }
  free(tmp);
  weights_free(&ax);
  weights_free(&ay);
  return 0;
}

void vae_quantize(const float *in, size_t n, uint8_t *out)
{
  for (size_t i = 0; i < n; i++) {
    float v = in[i];
    out[i] = !(v > 0.0f) ? 0 : v >= 1.0f ? 255 : (uint8_t)(v * 255.0f + 0.5f);
  }
}
