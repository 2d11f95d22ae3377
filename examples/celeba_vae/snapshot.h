/* What a run writes about its model, during and after training: sample
 * grids from a fixed latent batch, reconstructions of held-out images, the
 * held-out loss and checkpoints. */
#ifndef VAE_SNAPSHOT_H
#define VAE_SNAPSHOT_H

#include "images.h"

#include <spreaddiv.h>

#include <stddef.h>
#include <stdint.h>

typedef struct {
  spd_vae *vae;
  const char *out_dir;
  size_t c, size;  /* image shape */
  float *z;        /* the fixed latent batch: VAE_GRID_SIDE^2 rows */
  float *x;        /* room for VAE_GRID_SIDE^2 images */
} vae_snapshot;

/* Allocate the buffers and draw the fixed latent batch from stream
 * VAE_STREAM_LATENT of the model's seed, so every grid of a run (resumed or
 * not, or --sample later) shows the same latent points. Returns 0 or -1. */
int vae_snapshot_init(vae_snapshot *s, spd_vae *vae, const char *out_dir, size_t c,
                      size_t size, char *err, size_t errlen);
void vae_snapshot_free(vae_snapshot *s);

/* The 10 x 10 sample grid to samples.png and, if step > 0, to
 * samples-<step>.png too. */
int vae_snapshot_samples(vae_snapshot *s, uint64_t step, char *err, size_t errlen);

/* Reconstructions of the first (up to 50) images of a set. */
int vae_snapshot_reconstructions(vae_snapshot *s, const vae_images *im, char *err,
                                 size_t errlen);

/* Mean loss (and its parts) over the first max_images images of a set, in
 * batches of `batch`, without training. Returns 0 or -1. */
int vae_snapshot_evaluate(vae_snapshot *s, const vae_images *im, size_t max_images,
                          size_t batch, double *loss, double *recon, double *kl,
                          char *err, size_t errlen);

/* A training checkpoint to out_dir/checkpoint.ckpt (atomically); its path
 * into path. */
int vae_snapshot_checkpoint(vae_snapshot *s, char *path, size_t len, char *err,
                            size_t errlen);

#endif /* VAE_SNAPSHOT_H */
