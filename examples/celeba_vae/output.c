/* Output directory and image grids. */
#include "output.h"

#include "grid.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int vae_mkdirs(const char *dir, char *err, size_t errlen)
{
  char buf[4096];
  size_t len = strlen(dir);
  if (len == 0 || len >= sizeof buf) {
    snprintf(err, errlen, "output directory '%s': empty or too long a path", dir);
    return -1;
  }
  memcpy(buf, dir, len + 1);
  for (char *p = buf + 1;; p++) {
    if (*p != '/' && *p != '\0')
      continue;
    char c = *p;
    *p = '\0';
    struct stat st;
    if (p[-1] != '/') {
      if (mkdir(buf, 0777) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create output directory %s: %s: %s", dir, buf,
                 strerror(errno));
        return -1;
      }
      if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "cannot create output directory %s: %s exists and is "
                 "not a directory", dir, buf);
        return -1;
      }
    }
    *p = c;
    if (c == '\0')
      break;
  }
  if (access(dir, W_OK | X_OK) != 0) {
    snprintf(err, errlen, "output directory %s is not writable: %s", dir, strerror(errno));
    return -1;
  }
  return 0;
}

int vae_out_path(char *buf, size_t len, const char *dir, const char *name)
{
  int n = snprintf(buf, len, "%s/%s", dir, name);
  return n < 0 || (size_t)n >= len ? -1 : 0;
}

void vae_out_samples_name(char *buf, size_t len, uint64_t step)
{
  snprintf(buf, len, "samples-%08" PRIu64 ".png", step);
}

int vae_write_grid(const char *path, const float *x, size_t n, size_t c, size_t h,
                   size_t w, char *err, size_t errlen)
{
  size_t cols = n < VAE_GRID_SIDE ? (n ? n : 1) : VAE_GRID_SIDE;
  size_t rows = (n + cols - 1) / cols;
  rows = rows < 1 ? 1 : rows > VAE_GRID_SIDE ? VAE_GRID_SIDE : rows;
  ex_images im = {x, n, c, h, w};
  return ex_grid_png(path, &im, rows, cols, ex_grid_upscale(h > w ? h : w), err, errlen);
}

int vae_write_images_grid(const char *path, const vae_images *im, char *err,
                          size_t errlen)
{
  size_t n = im->n < VAE_GRID_SIDE * VAE_GRID_SIDE ? im->n : VAE_GRID_SIDE * VAE_GRID_SIDE;
  float *x = malloc((n ? n : 1) * vae_images_dim(im) * sizeof *x);
  if (!x) {
    snprintf(err, errlen, "cannot write %s: out of memory", path);
    return -1;
  }
  vae_images_gather(im, NULL, n, x);
  int rc = vae_write_grid(path, x, n, im->c, im->h, im->w, err, errlen);
  free(x);
  return rc;
}

int vae_write_recon_grid(const char *path, const float *orig, const float *recon,
                         size_t n, size_t c, size_t h, size_t w, char *err,
                         size_t errlen)
{
  const size_t S = VAE_GRID_SIDE, dim = c * h * w;
  if (n == 0 || n > S * S / 2) {
    snprintf(err, errlen, "cannot write %s: %zu reconstructions (1..%d fit)", path, n,
             (int)(S * S / 2));
    return -1;
  }
  size_t pairs = (n + S - 1) / S, cells = 2 * pairs * S;
  float *x = malloc(cells * dim * sizeof *x);
  if (!x) {
    snprintf(err, errlen, "cannot write %s: out of memory", path);
    return -1;
  }
  for (size_t k = 0; k < cells * dim; k++) /* empty cells: the border grey */
    x[k] = EX_GRID_BORDER_VALUE / 255.0f;
  for (size_t i = 0; i < n; i++) {
    size_t row = 2 * (i / S), col = i % S;
    memcpy(x + (row * S + col) * dim, orig + i * dim, dim * sizeof *x);
    memcpy(x + ((row + 1) * S + col) * dim, recon + i * dim, dim * sizeof *x);
  }
  ex_images im = {x, cells, c, h, w};
  int rc = ex_grid_png(path, &im, 2 * pairs, S, ex_grid_upscale(h > w ? h : w), err,
                       errlen);
  free(x);
  return rc;
}
