/* The output directory and what goes in it.
 *
 *   real-train.png, real-heldout.png  the first 100 images of each set
 *   samples-<step>.png, samples.png   10 x 10 sample grids (training)
 *   reconstructions.png               held-out images and their
 *                                     reconstructions, row by row (training)
 *   loss.csv, loss.png                losslog.h (training)
 *   checkpoint.ckpt                   (training)
 */
#ifndef VAE_OUTPUT_H
#define VAE_OUTPUT_H

#include "images.h"

#include <stddef.h>
#include <stdint.h>

#define VAE_OUT_REAL_TRAIN "real-train.png"
#define VAE_OUT_REAL_HELD_OUT "real-heldout.png"
#define VAE_OUT_SAMPLES "samples.png"
#define VAE_OUT_RECONSTRUCTIONS "reconstructions.png"
#define VAE_OUT_LOSS_CSV "loss.csv"
#define VAE_OUT_LOSS_PNG "loss.png"
#define VAE_OUT_CHECKPOINT "checkpoint.ckpt"

enum { VAE_GRID_SIDE = 10 }; /* grids are 10 images wide (and at most tall) */

/* Create dir and its missing parents (mkdir -p) and check that files can
 * be made in it. Returns 0, or -1 with a message naming the directory. */
int vae_mkdirs(const char *dir, char *err, size_t errlen);

/* dir/name into buf. Returns 0, or -1 if it does not fit. */
int vae_out_path(char *buf, size_t len, const char *dir, const char *name);

/* "samples-<step, 8 digits>.png" into buf. */
void vae_out_samples_name(char *buf, size_t len, uint64_t step);

/* A grid of n images (floats, NCHW, [0, 1]): 10 wide, ceil(n / 10) rows (at
 * most 10), upscaled so small images stay visible (ex_grid_upscale). */
int vae_write_grid(const char *path, const float *x, size_t n, size_t c, size_t h,
                   size_t w, char *err, size_t errlen);

/* The first min(100, n) images of a byte set, as vae_write_grid. */
int vae_write_images_grid(const char *path, const vae_images *im, char *err,
                          size_t errlen);

/* Reconstructions: n (<= 50) originals and their reconstructions (both
 * NCHW floats), as pairs of rows: 10 originals, then their 10
 * reconstructions beneath, and so on. */
int vae_write_recon_grid(const char *path, const float *orig, const float *recon,
                         size_t n, size_t c, size_t h, size_t w, char *err,
                         size_t errlen);

#endif /* VAE_OUTPUT_H */
