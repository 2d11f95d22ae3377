/* Synthetic IDX files and CelebA-like JPEG directories. */
#include "fixtures.h"

#include "jpeg_io.h"
#include "output.h"
#include "resize.h"

#include <spreaddiv.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* A 28 x 28-style garment scaled to rows x cols: class k of 4 shapes. */
static void garment(uint8_t *px, size_t rows, size_t cols, const float *u)
{
  int k = (int)(u[0] * 4.0f);
  double shade = 90.0 + 165.0 * u[1], dx = (u[2] - 0.5) * 3.0;
  memset(px, 0, rows * cols);
  for (size_t r = 0; r < rows; r++)
    for (size_t c = 0; c < cols; c++) {
      /* Coordinates on the 28 x 28 design grid. */
      double y = (r + 0.5) * 28.0 / rows, x = (c + 0.5) * 28.0 / cols - dx;
      int on = 0;
      switch (k) {
      case 0: /* shirt: body and sleeves */
        on = (x > 8 && x < 20 && y > 5 && y < 25) || (y > 5 && y < 12 && x > 3 && x < 25);
        break;
      case 1: /* trousers: two legs */
        on = y > 3 && y < 26 && ((x > 8 && x < 13) || (x > 15 && x < 20) || (y < 8 && x > 8 && x < 20));
        break;
      case 2: /* bag: body and handle */
        on = (x > 5 && x < 23 && y > 11 && y < 24) ||
             (y > 5 && y <= 11 && ((x > 9 && x < 11) || (x > 17 && x < 19) || (y < 7 && x > 9 && x < 19)));
        break;
      default: /* shoe */
        on = y > 15 && y < 22 && x > 3 && x < 25 && !(y < 18 && x > 14);
      }
      if (on)
        px[r * cols + c] = (uint8_t)(shade * (0.8 + 0.2 * (y / 28.0)));
    }
}

int vae_fixture_idx(const char *path, uint32_t magic, size_t n, size_t rows,
                    size_t cols, int gz, uint64_t seed, char *err, size_t errlen)
{
  spd_rng *rng = NULL;
  uint8_t *px = malloc(rows * cols > 0 ? rows * cols : 1);
  if (!px || spd_rng_create(seed, &rng) != SPD_OK) {
    free(px);
    snprintf(err, errlen, "%s: out of memory", path);
    return -1;
  }
  errno = 0;
  gzFile f = gzopen(path, gz ? "wb6" : "wbT"); /* T: plain, no gzip */
  if (!f) {
    snprintf(err, errlen, "cannot open %s for writing: %s", path,
             errno ? strerror(errno) : "out of memory");
    free(px);
    spd_rng_free(rng);
    return -1;
  }
  unsigned char h[16];
  uint32_t v[4] = {magic, (uint32_t)n, (uint32_t)rows, (uint32_t)cols};
  for (int i = 0; i < 4; i++)
    for (int b = 0; b < 4; b++)
      h[4 * i + b] = (unsigned char)(v[i] >> (24 - 8 * b));
  int ok = gzwrite(f, h, sizeof h) == (int)sizeof h;
  for (size_t i = 0; i < n && ok; i++) {
    float u[4];
    ok = spd_rng_uniform(rng, u, 4) == SPD_OK;
    garment(px, rows, cols, u);
    ok = ok && gzwrite(f, px, (unsigned)(rows * cols)) == (int)(rows * cols);
  }
  ok = gzclose(f) == Z_OK && ok;
  free(px);
  spd_rng_free(rng);
  if (!ok) {
    snprintf(err, errlen, "cannot write %s", path);
    return -1;
  }
  return 0;
}

int vae_fixture_fashion_dir(const char *dir, size_t n_train, size_t n_test,
                            uint64_t seed, char *err, size_t errlen)
{
  char path[4200];
  if (vae_mkdirs(dir, err, errlen) != 0)
    return -1;
  snprintf(path, sizeof path, "%s/train-images-idx3-ubyte.gz", dir);
  if (vae_fixture_idx(path, 0x803, n_train, 28, 28, 1, seed, err, errlen) != 0)
    return -1;
  snprintf(path, sizeof path, "%s/t10k-images-idx3-ubyte.gz", dir);
  return vae_fixture_idx(path, 0x803, n_test, 28, 28, 1, seed + 1, err, errlen);
}

static void ellipse(uint8_t *rgb, size_t width, size_t height, double cx, double cy,
                    double rx, double ry, const double col[3])
{
  for (size_t y = 0; y < height; y++)
    for (size_t x = 0; x < width; x++) {
      double ex = ((double)x + 0.5 - cx) / rx, ey = ((double)y + 0.5 - cy) / ry;
      if (ex * ex + ey * ey <= 1.0)
        for (int c = 0; c < 3; c++)
          rgb[(y * width + x) * 3 + c] = (uint8_t)col[c];
    }
}

void vae_fixture_face(uint8_t *rgb, size_t width, size_t height, const float *u)
{
  /* Design coordinates are those of a 178 x 218 image, mapped like the
   * crop (vae_celeba_crop). */
  double s = width / 178.0 < height / 218.0 ? width / 178.0 : height / 218.0;
  double ox = 0.5 * (width - 178.0 * s), oy = 0.5 * (height - 218.0 * s);
  double bg[3] = {60 + 150 * u[0], 60 + 150 * u[1], 60 + 150 * u[2]};
  double skin[3] = {170 + 70 * u[3], 120 + 70 * u[3], 90 + 60 * u[3]};
  double hair[3] = {20 + 120 * u[4], 15 + 90 * u[4], 10 + 60 * u[4]};
  double eye[3] = {30, 25, 20}, lips[3] = {180 * (0.8 + 0.2 * u[5]), 70, 70};
  double fx = 89 + 8 * (u[6] - 0.5), fy = 117 + 6 * (u[7] - 0.5);
  double spread = 16 + 4 * u[8], mouth = 10 + 6 * u[9];
  for (size_t i = 0; i < width * height; i++)
    for (int c = 0; c < 3; c++)
      rgb[3 * i + c] = (uint8_t)(bg[c] * (0.85 + 0.15 * (double)(i / width) / height));
#define E(cx, cy, rx, ry, col) ellipse(rgb, width, height, ox + s * (cx), oy + s * (cy), s * (rx), s * (ry), col)
  E(fx, fy - 30, 50 + 6 * u[10], 42 + 8 * u[11], hair);
  E(fx, fy + 4, 42, 56, skin);
  E(fx - spread, fy - 10, 6, 4, eye);
  E(fx + spread, fy - 10, 6, 4, eye);
  double nose[3] = {skin[0] * 0.85, skin[1] * 0.85, skin[2] * 0.85};
  E(fx, fy + 8, 4, 9, nose);
  E(fx, fy + 30, mouth, 4, lips);
#undef E
}

int vae_fixture_celeba_dir(const char *dir, size_t n, int partition, uint64_t seed,
                           char *err, size_t errlen)
{
  char path[4200];
  snprintf(path, sizeof path, "%s/img_align_celeba", dir);
  if (vae_mkdirs(path, err, errlen) != 0)
    return -1;
  enum { W = 178, H = 218 };
  uint8_t *rgb = malloc(W * H * 3);
  spd_rng *rng = NULL;
  if (!rgb || spd_rng_create(seed, &rng) != SPD_OK) {
    free(rgb);
    snprintf(err, errlen, "%s: out of memory", dir);
    return -1;
  }
  int rc = 0;
  for (size_t i = 1; i <= n && rc == 0; i++) {
    float u[12];
    if (spd_rng_uniform(rng, u, 12) != SPD_OK) {
      snprintf(err, errlen, "%s: %s", dir, spd_last_error());
      rc = -1;
      break;
    }
    vae_fixture_face(rgb, W, H, u);
    snprintf(path, sizeof path, "%s/img_align_celeba/%06zu.jpg", dir, i);
    rc = vae_jpeg_write(path, rgb, W, H, 3, 90, err, errlen);
  }
  free(rgb);
  spd_rng_free(rng);
  if (rc != 0 || !partition)
    return rc;
  snprintf(path, sizeof path, "%s/list_eval_partition.txt", dir);
  FILE *f = fopen(path, "w");
  if (!f) {
    snprintf(err, errlen, "cannot open %s for writing: %s", path, strerror(errno));
    return -1;
  }
  size_t train = n * 8 / 10, valid = n / 10;
  for (size_t i = 1; i <= n; i++)
    fprintf(f, "%06zu.jpg %d\n", i, i <= train ? 0 : i <= train + valid ? 1 : 2);
  if (fclose(f) != 0) {
    snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
    return -1;
  }
  return 0;
}

void vae_fixture_remove(const char *path)
{
  struct stat st;
  if (lstat(path, &st) != 0)
    return;
  if (!S_ISDIR(st.st_mode)) {
    unlink(path);
    return;
  }
  DIR *d = opendir(path);
  struct dirent *de;
  while (d && (de = readdir(d))) {
    char sub[4200];
    if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0 &&
        snprintf(sub, sizeof sub, "%s/%s", path, de->d_name) < (int)sizeof sub)
      vae_fixture_remove(sub);
  }
  if (d)
    closedir(d);
  rmdir(path);
}
