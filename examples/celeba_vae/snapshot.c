/* Sample grids, reconstructions, held-out loss and checkpoints (snapshot.h). */
#include "snapshot.h"

#include "batch.h"
#include "output.h"

#include <stdio.h>
#include <stdlib.h>

enum { GRID_IMAGES = VAE_GRID_SIDE * VAE_GRID_SIDE, RECON_IMAGES = 50 };

static size_t image_dim(const vae_snapshot *s)
{
  return s->c * s->size * s->size;
}

int vae_snapshot_init(vae_snapshot *s, spd_vae *vae, const char *out_dir, size_t c,
                      size_t size, char *err, size_t errlen)
{
  *s = (vae_snapshot){vae, out_dir, c, size, NULL, NULL};
  size_t z_dim = spd_generator_z_dim(spd_vae_generator(vae));
  spd_rng *rng = NULL;
  s->z = malloc(GRID_IMAGES * z_dim * sizeof *s->z);
  s->x = malloc(GRID_IMAGES * image_dim(s) * sizeof *s->x);
  if (!s->z || !s->x) {
    snprintf(err, errlen, "out of memory for the sample grids");
    vae_snapshot_free(s);
    return -1;
  }
  if (spd_rng_create_stream(spd_vae_seed(vae), VAE_STREAM_LATENT, &rng) != SPD_OK ||
      spd_rng_normal(rng, s->z, GRID_IMAGES * z_dim) != SPD_OK) {
    snprintf(err, errlen, "drawing the fixed latent batch: %s", spd_last_error());
    spd_rng_free(rng);
    vae_snapshot_free(s);
    return -1;
  }
  spd_rng_free(rng);
  return 0;
}

void vae_snapshot_free(vae_snapshot *s)
{
  free(s->z);
  free(s->x);
  s->z = s->x = NULL;
}

static int write_grid(vae_snapshot *s, const char *name, char *err, size_t errlen)
{
  char path[4200];
  if (vae_out_path(path, sizeof path, s->out_dir, name) != 0) {
    snprintf(err, errlen, "--out %s: path too long", s->out_dir);
    return -1;
  }
  return vae_write_grid(path, s->x, GRID_IMAGES, s->c, s->size, s->size, err, errlen);
}

int vae_snapshot_samples(vae_snapshot *s, uint64_t step, char *err, size_t errlen)
{
  if (spd_generator_decode(spd_vae_generator(s->vae), s->z, GRID_IMAGES, s->x) != SPD_OK) {
    snprintf(err, errlen, "decoding the sample grid: %s", spd_last_error());
    return -1;
  }
  char name[64];
  vae_out_samples_name(name, sizeof name, step);
  if (step > 0 && write_grid(s, name, err, errlen) != 0)
    return -1;
  return write_grid(s, VAE_OUT_SAMPLES, err, errlen);
}

int vae_snapshot_reconstructions(vae_snapshot *s, const vae_images *im, char *err,
                                 size_t errlen)
{
  size_t n = im->n < RECON_IMAGES ? im->n : RECON_IMAGES;
  if (n == 0)
    return 0;
  size_t idx[RECON_IMAGES];
  for (size_t i = 0; i < n; i++)
    idx[i] = i;
  float *orig = s->x, *recon = s->x + n * image_dim(s); /* 2n <= GRID_IMAGES */
  vae_images_gather(im, idx, n, orig);
  if (spd_vae_reconstruct(s->vae, orig, n, recon) != SPD_OK) {
    snprintf(err, errlen, "reconstructing held-out images: %s", spd_last_error());
    return -1;
  }
  char path[4200];
  if (vae_out_path(path, sizeof path, s->out_dir, VAE_OUT_RECONSTRUCTIONS) != 0) {
    snprintf(err, errlen, "--out %s: path too long", s->out_dir);
    return -1;
  }
  return vae_write_recon_grid(path, orig, recon, n, s->c, s->size, s->size, err, errlen);
}

int vae_snapshot_evaluate(vae_snapshot *s, const vae_images *im, size_t max_images,
                          size_t batch, double *loss, double *recon, double *kl,
                          char *err, size_t errlen)
{
  size_t n = im->n < max_images ? im->n : max_images;
  double sum[3] = {0, 0, 0};
  size_t *idx = malloc(batch * sizeof *idx);
  float *x = malloc(batch * image_dim(s) * sizeof *x);
  int rc = idx && x ? 0 : -1;
  if (rc)
    snprintf(err, errlen, "out of memory for the held-out loss");
  for (size_t start = 0; rc == 0 && start < n; start += batch) {
    size_t m = n - start < batch ? n - start : batch;
    double part[3];
    for (size_t i = 0; i < m; i++)
      idx[i] = start + i;
    vae_images_gather(im, idx, m, x);
    if (spd_vae_evaluate(s->vae, x, m, &part[0], &part[1], &part[2]) != SPD_OK) {
      snprintf(err, errlen, "held-out loss: %s", spd_last_error());
      rc = -1;
    }
    for (int k = 0; rc == 0 && k < 3; k++)
      sum[k] += part[k] * (double)m;
  }
  free(idx);
  free(x);
  if (rc == 0 && n > 0) {
    *loss = sum[0] / (double)n;
    *recon = sum[1] / (double)n;
    *kl = sum[2] / (double)n;
  }
  return rc;
}

int vae_snapshot_checkpoint(vae_snapshot *s, char *path, size_t len, char *err,
                            size_t errlen)
{
  if (vae_out_path(path, len, s->out_dir, VAE_OUT_CHECKPOINT) != 0) {
    snprintf(err, errlen, "--out %s: path too long", s->out_dir);
    return -1;
  }
  if (spd_vae_save(s->vae, path) != SPD_OK) {
    snprintf(err, errlen, "saving checkpoint %s: %s", path, spd_last_error());
    return -1;
  }
  return 0;
}
