/* Spread noise through the library's RNG. This is the isotropic Gaussian
 * spread kernel written out by hand; it becomes spd_spread_sample() once the
 * library's spread module is available (see README.md). */
#include "spread_noise.h"

#include <spreaddiv.h>

#include <math.h>
#include <stdlib.h>

/* Noise is drawn in blocks of this many values: a multiple of 4, so the
 * stream of draws is the same as one call for all values (rng.h). */
#define BLOCK 4096

struct ica_spreader {
  spd_rng *rng;
  size_t dim;
  double gamma;
  float noise[BLOCK];
};

int ica_spreader_create(size_t dim, double gamma, uint64_t seed,
                        uint64_t stream, ica_spreader **out)
{
  if (!out || dim == 0 || !(gamma > 0.0) || !isfinite(gamma))
    return SPD_E_INVALID;
  ica_spreader *sp = malloc(sizeof *sp);
  if (!sp)
    return SPD_E_NOMEM;
  int st = spd_rng_create_stream(seed, stream, &sp->rng);
  if (st != SPD_OK) {
    free(sp);
    return st;
  }
  sp->dim = dim;
  sp->gamma = gamma;
  *out = sp;
  return SPD_OK;
}

void ica_spreader_free(ica_spreader *sp)
{
  if (!sp)
    return;
  spd_rng_free(sp->rng);
  free(sp);
}

int ica_spreader_set_gamma(ica_spreader *sp, double gamma)
{
  if (!sp || !(gamma > 0.0) || !isfinite(gamma))
    return SPD_E_INVALID;
  sp->gamma = gamma;
  return SPD_OK;
}

int ica_spreader_apply(ica_spreader *sp, const float *x, size_t n, float *y)
{
  if (!sp || !x || !y || n == 0 || n > SIZE_MAX / sp->dim)
    return SPD_E_INVALID;
  size_t total = n * sp->dim;
  const float g = (float)sp->gamma;
  for (size_t i0 = 0; i0 < total; i0 += BLOCK) {
    size_t m = total - i0 < BLOCK ? total - i0 : BLOCK;
    int st = spd_rng_normal(sp->rng, sp->noise, m);
    if (st != SPD_OK)
      return st;
    for (size_t i = 0; i < m; i++)
      y[i0 + i] = x[i0 + i] + g * sp->noise[i];
  }
  return SPD_OK;
}
