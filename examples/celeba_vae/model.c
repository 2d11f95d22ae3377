/* Building and loading the run's spread VAE (model.h). */
#include "model.h"

#include <stdio.h>

/* Set one option, with the library's message on failure. */
static int set(spd_vae *v, spd_vae_option opt, const char *what, double value, char *err,
               size_t errlen)
{
  if (spd_vae_set(v, opt, value) == SPD_OK)
    return 0;
  snprintf(err, errlen, "setting %s to %g: %s", what, value, spd_last_error());
  return -1;
}

static int apply_options(spd_vae *v, const vae_config *cfg, char *err, size_t errlen)
{
  if (set(v, SPD_VAE_LEARNING_RATE, "the learning rate", cfg->lr, err, errlen))
    return -1;
  if (cfg->no_spread)
    return set(v, SPD_VAE_SPREAD, "spread", 0, err, errlen) ||
           set(v, SPD_VAE_SIGMA, "sigma", VAE_BASELINE_SIGMA, err, errlen);
  if (set(v, SPD_VAE_SIGMA, "sigma", cfg->sigma, err, errlen))
    return -1;
  if (cfg->anneal &&
      (set(v, SPD_VAE_ANNEAL_FACTOR, "the anneal factor", cfg->anneal_factor, err, errlen) ||
       set(v, SPD_VAE_ANNEAL_PERIOD, "the anneal period", (double)cfg->anneal_period, err,
           errlen) ||
       set(v, SPD_VAE_ANNEAL_FLOOR, "the anneal floor", cfg->anneal_floor, err, errlen)))
    return -1;
  if (cfg->learn_spread &&
      set(v, SPD_VAE_LEARN_SPREAD_RANK, "the learned spread's rank", VAE_LEARNED_SPREAD_RANK,
          err, errlen))
    return -1;
  return 0;
}

int vae_model_create(const vae_config *cfg, size_t c, size_t size, spd_vae **out,
                     char *err, size_t errlen)
{
  spd_generator *g = NULL;
  spd_vae *v = NULL;
  if (spd_generator_create_conv(cfg->z_dim, c, size, cfg->width, cfg->seed, &g) != SPD_OK) {
    snprintf(err, errlen, "cannot build the %zu x %zu x %zu generator of width %zu: %s", c,
             size, size, cfg->width, spd_last_error());
    return -1;
  }
  if (spd_vae_create(g, cfg->seed, &v) != SPD_OK) {
    snprintf(err, errlen, "cannot build the spread VAE: %s", spd_last_error());
    spd_generator_free(g); /* still ours: create failed */
    return -1;
  }
  if (apply_options(v, cfg, err, errlen) != 0) {
    spd_vae_free(v);
    return -1;
  }
  *out = v;
  return 0;
}

int vae_model_load(const char *path, spd_vae **out, char *err, size_t errlen)
{
  if (spd_vae_load(path, out) == SPD_OK)
    return 0;
  snprintf(err, errlen, "cannot load checkpoint %s: %s", path, spd_last_error());
  return -1;
}

int vae_model_image_shape(spd_vae *v, size_t *c, size_t *size, char *err, size_t errlen)
{
  size_t h = 0, w = 0;
  if (spd_generator_image_shape(spd_vae_generator(v), c, &h, &w) != SPD_OK || h != w) {
    snprintf(err, errlen, "the checkpoint's generator does not make square images: %s",
             spd_last_error());
    return -1;
  }
  *size = h;
  return 0;
}

int vae_model_check_shape(spd_vae *v, const char *path, size_t c, size_t size, char *err,
                          size_t errlen)
{
  size_t mc, msize;
  if (vae_model_image_shape(v, &mc, &msize, err, errlen) != 0)
    return -1;
  if (mc == c && msize == size)
    return 0;
  snprintf(err, errlen, "checkpoint %s makes %zu x %zu x %zu images but the data are "
           "%zu x %zu x %zu", path, mc, msize, msize, c, size, size);
  return -1;
}
