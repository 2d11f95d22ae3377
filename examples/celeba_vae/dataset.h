/* The data of a run, whichever the data set: training and held-out images
 * as bytes (images.h), loaded as the config says.
 *
 * Fashion-MNIST: <dir>/train-images-idx3-ubyte.gz trains and
 * <dir>/t10k-images-idx3-ubyte.gz is held out (each also accepted without
 * .gz), dir = --data-dir or VAE_FASHION_MNIST_DIR; --image-size other than
 * 28 resizes them (Lanczos-3, resize.h); --max-images keeps the first
 * training images. CelebA: celeba.h; the cache is --cache, or
 * <data-dir>/spread-vae-cache-<size>.u8, or none with --no-cache. */
#ifndef VAE_DATASET_H
#define VAE_DATASET_H

#include "celeba.h"
#include "cli.h"
#include "images.h"

#include <stdio.h>

typedef struct {
  vae_images train, held_out;
  vae_dataset kind;
  char train_source[4200];    /* file or directory the images came from */
  char held_out_source[4200]; /* likewise, or how they were split off */
  vae_celeba_info celeba;     /* CelebA only */
} vae_data;

/* Load the run's data. Notes and warnings go to log (NULL: none). Returns
 * 0, or -1 with a message naming the file or directory at fault. */
int vae_data_load(const vae_config *cfg, vae_data *d, FILE *log, char *err,
                  size_t errlen);

void vae_data_free(vae_data *d);

/* The path of the default CelebA cache for data_dir and image size. */
int vae_default_cache_path(char *buf, size_t len, const char *data_dir, size_t size);

/* What was loaded: counts, shape, where from, pixel min / max / mean. */
void vae_data_print_summary(const vae_data *d, FILE *f);

#endif /* VAE_DATASET_H */
