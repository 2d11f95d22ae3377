/* Loading either data set into a vae_data. */
#include "dataset.h"

#include "idx.h"
#include "resize.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* <dir>/<name>.gz, or <dir>/<name> if only that exists. */
static void idx_path(char *buf, size_t len, const char *dir, const char *name)
{
  struct stat st;
  snprintf(buf, len, "%s/%s", dir, name);
  int plain = stat(buf, &st) == 0;
  snprintf(buf, len, "%s/%s.gz", dir, name);
  if (plain && stat(buf, &st) != 0)
    snprintf(buf, len, "%s/%s", dir, name);
}

/* Resize every image of *im to size x size (Lanczos-3), in place. */
static int resize_all(vae_images *im, size_t size, int threads, char *err, size_t errlen)
{
  vae_images out;
  if (vae_images_alloc(&out, im->n, im->c, size, size) != 0) {
    snprintf(err, errlen, "out of memory resizing %zu images to %zu x %zu", im->n,
             size, size);
    return -1;
  }
  const size_t din = vae_images_dim(im), dout = vae_images_dim(&out);
  int failed = 0;
#pragma omp parallel num_threads(threads)
  {
    float *tmp = malloc(dout * sizeof *tmp);
    uint8_t *hwc = malloc(din);
#pragma omp for schedule(static)
    for (size_t i = 0; i < im->n; i++) {
      vae_rect all = {0, 0, im->w, im->h};
      const uint8_t *src = im->px + i * din;
      if (tmp && hwc) /* CHW bytes to the interleaved layout vae_resample reads */
        for (size_t c = 0; c < im->c; c++)
          for (size_t p = 0; p < im->h * im->w; p++)
            hwc[p * im->c + c] = src[c * im->h * im->w + p];
      if (tmp && hwc && vae_resample(hwc, im->w, im->h, im->c, all, size, size, tmp) == 0)
        vae_quantize(tmp, dout, out.px + i * dout);
      else {
#pragma omp atomic write
        failed = 1;
      }
    }
    free(tmp);
    free(hwc);
  }
  if (failed) {
    vae_images_free(&out);
    snprintf(err, errlen, "out of memory resizing images");
    return -1;
  }
  vae_images_free(im);
  *im = out;
  return 0;
}

static int load_fashion(const vae_config *cfg, vae_data *d, char *err, size_t errlen)
{
  const char *dir = cfg->data_dir ? cfg->data_dir : VAE_FASHION_MNIST_DIR;
  idx_path(d->train_source, sizeof d->train_source, dir, "train-images-idx3-ubyte");
  idx_path(d->held_out_source, sizeof d->held_out_source, dir, "t10k-images-idx3-ubyte");
  if (vae_idx_read_images(d->train_source, cfg->max_images, &d->train, err, errlen) != 0 ||
      vae_idx_read_images(d->held_out_source, 0, &d->held_out, err, errlen) != 0)
    return -1;
  if (d->train.h != d->held_out.h || d->train.w != d->held_out.w) {
    snprintf(err, errlen, "%s holds %zu x %zu images but %s holds %zu x %zu",
             d->train_source, d->train.h, d->train.w, d->held_out_source,
             d->held_out.h, d->held_out.w);
    return -1;
  }
  size_t size = vae_config_image_size(cfg);
  if (size != d->train.h || size != d->train.w)
    if (resize_all(&d->train, size, cfg->threads, err, errlen) != 0 ||
        resize_all(&d->held_out, size, cfg->threads, err, errlen) != 0)
      return -1;
  return 0;
}

int vae_default_cache_path(char *buf, size_t len, const char *data_dir, size_t size)
{
  int n = snprintf(buf, len, "%s/spread-vae-cache-%zu.u8", data_dir, size);
  return n < 0 || (size_t)n >= len ? -1 : 0;
}

static int load_celeba(const vae_config *cfg, vae_data *d, FILE *log, char *err,
                       size_t errlen)
{
  char cache[4200];
  size_t size = vae_config_image_size(cfg);
  const char *cache_path = NULL;
  if (cfg->cache)
    cache_path = cfg->cache;
  else if (!cfg->no_cache) {
    if (vae_default_cache_path(cache, sizeof cache, cfg->data_dir, size) != 0) {
      snprintf(err, errlen, "--data-dir %s: path too long", cfg->data_dir);
      return -1;
    }
    cache_path = cache;
  }
  vae_celeba_options o = {cfg->data_dir, size, cfg->max_images, cfg->held_out,
                          cfg->seed, cfg->threads, cache_path, log};
  if (vae_celeba_load(&o, &d->train, &d->held_out, &d->celeba, err, errlen) != 0)
    return -1;
  snprintf(d->train_source, sizeof d->train_source, "%s", d->celeba.image_dir);
  if (d->celeba.partition[0])
    snprintf(d->held_out_source, sizeof d->held_out_source,
             "partition 1 (validation) of %s", d->celeba.partition);
  else
    snprintf(d->held_out_source, sizeof d->held_out_source,
             "a seeded split (seed %llu)", (unsigned long long)cfg->seed);
  return 0;
}

int vae_data_load(const vae_config *cfg, vae_data *d, FILE *log, char *err,
                  size_t errlen)
{
  *d = (vae_data){.kind = cfg->data};
  int rc = cfg->data == VAE_DATA_CELEBA ? load_celeba(cfg, d, log, err, errlen)
                                        : load_fashion(cfg, d, err, errlen);
  if (rc != 0)
    vae_data_free(d);
  return rc;
}

void vae_data_free(vae_data *d)
{
  if (!d)
    return;
  vae_images_free(&d->train);
  vae_images_free(&d->held_out);
}

void vae_data_print_summary(const vae_data *d, FILE *f)
{
  vae_pixel_stats a = vae_images_stats(&d->train), b = vae_images_stats(&d->held_out);
  fprintf(f, "spread-vae: %s: %zu training images from %s\n",
          vae_dataset_name(d->kind), d->train.n, d->train_source);
  fprintf(f, "spread-vae: %s: %zu held-out images from %s\n",
          vae_dataset_name(d->kind), d->held_out.n, d->held_out_source);
  if (d->kind == VAE_DATA_CELEBA)
    fprintf(f, "spread-vae: celeba: %zu JPEG files, %zu skipped, %s in %.1f s\n",
            d->celeba.files, d->celeba.skipped,
            d->celeba.from_cache ? "read from the cache" : "decoded", d->celeba.seconds);
  fprintf(f, "spread-vae: shape %zu x %zu x %zu (C x H x W); pixels in [0, 1]: "
          "training min %.3f max %.3f mean %.4f, held-out min %.3f max %.3f mean %.4f\n",
          d->train.c, d->train.h, d->train.w, a.min, a.max, a.mean, b.min, b.max, b.mean);
}
