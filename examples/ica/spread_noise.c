/* Spread noise through the library's isotropic Gaussian spread kernel
 * (spd_spread) and its RNG: y = x + gamma eps, eps ~ N(0, I). */
#include "spread_noise.h"

#include <spreaddiv.h>

#include <math.h>
#include <stdlib.h>

struct ica_spreader {
  spd_spread *kernel;
  spd_rng *rng;
  size_t dim;
};

int ica_spreader_create(size_t dim, double gamma, uint64_t seed,
                        uint64_t stream, ica_spreader **out)
{
  if (!out || dim == 0 || !(gamma > 0.0) || !isfinite(gamma))
    return SPD_E_INVALID;
  ica_spreader *sp = calloc(1, sizeof *sp);
  if (!sp)
    return SPD_E_NOMEM;
  int st = spd_spread_create_gaussian(dim, gamma, &sp->kernel);
  if (st == SPD_OK)
    st = spd_rng_create_stream(seed, stream, &sp->rng);
  if (st != SPD_OK) {
    ica_spreader_free(sp);
    return st;
  }
  sp->dim = dim;
  *out = sp;
  return SPD_OK;
}

void ica_spreader_free(ica_spreader *sp)
{
  if (!sp)
    return;
  spd_spread_free(sp->kernel);
  spd_rng_free(sp->rng);
  free(sp);
}

int ica_spreader_set_gamma(ica_spreader *sp, double gamma)
{
  if (!sp)
    return SPD_E_INVALID;
  /* For the isotropic Gaussian the kernel's scale is its sigma. */
  return spd_spread_set_scale(sp->kernel, gamma);
}

int ica_spreader_apply(ica_spreader *sp, const float *x, size_t n, float *y)
{
  if (!sp)
    return SPD_E_INVALID;
  return spd_spread_sample(sp->kernel, sp->rng, x, n, y);
}
