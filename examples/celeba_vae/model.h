/* The spread VAE of a run: built from the command line, or loaded from a
 * checkpoint (--resume, --sample), and checked against the data's shape. */
#ifndef VAE_MODEL_H
#define VAE_MODEL_H

#include "cli.h"

#include <spreaddiv.h>

#include <stddef.h>

/* Output noise of --no-spread: the "deterministic" decoder of the failing
 * baseline (MATH.md section 5: sigma -> 0 without a spread). */
#define VAE_BASELINE_SIGMA 0.01

/* Rank of the learned low-rank spread covariance (--learn-spread). */
#define VAE_LEARNED_SPREAD_RANK 8

/* A conv spread VAE for c x size x size images with cfg's width, z_dim,
 * seed and training options. Returns 0, or -1 with a message. */
int vae_model_create(const vae_config *cfg, size_t c, size_t size, spd_vae **out,
                     char *err, size_t errlen);

/* Load a training checkpoint. Returns 0, or -1 with a message naming path. */
int vae_model_load(const char *path, spd_vae **out, char *err, size_t errlen);

/* The image shape of v's generator (channels, side). Returns 0, or -1 with
 * a message if the checkpoint does not hold a conv generator. */
int vae_model_image_shape(spd_vae *v, size_t *c, size_t *size, char *err, size_t errlen);

/* Check that v generates c x size x size images; -1 with a message if not. */
int vae_model_check_shape(spd_vae *v, const char *path, size_t c, size_t size,
                          char *err, size_t errlen);

#endif /* VAE_MODEL_H */
