/* Check suite for examples/common: PNG files written and read back with
 * libpng, image grids pixel by pixel, line plots on both axis scales, and
 * error messages that name the file. */
#include "harness.h"

#include "grid.h"
#include "plot.h"
#include "png_io.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A fresh temporary file name (the file exists, empty). */
static void temp_path(char *path, size_t len)
{
  snprintf(path, len, "/tmp/ex-common-XXXXXX");
  int fd = mkstemp(path);
  ck_assert_int_ge(fd, 0);
  close(fd);
}

START_TEST(png_round_trip_gray_and_rgb)
{
  char path[64], err[256];
  temp_path(path, sizeof path);
  uint8_t px[3 * 5 * 3];
  for (size_t i = 0; i < sizeof px; i++)
    px[i] = (uint8_t)(17 * i);
  for (size_t ch = 1; ch <= 3; ch += 2) {
    ck_assert_int_eq(ex_png_write(path, 5, 3, ch, px, err, sizeof err), 0);
    ex_png_image im = {0};
    ck_assert_msg(ex_png_read(path, &im, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(im.width, 5);
    ck_assert_uint_eq(im.height, 3);
    ck_assert_uint_eq(im.channels, ch);
    ck_assert(memcmp(im.px, px, 5 * 3 * ch) == 0);
    ex_png_image_free(&im);
    ck_assert_ptr_null(im.px);
  }
  ex_png_image_free(NULL);
  remove(path);
}
END_TEST

START_TEST(png_errors_name_the_file)
{
  char err[256];
  uint8_t px[4] = {0};
  ck_assert_int_eq(ex_png_write("/nonexistent-dir/a.png", 2, 2, 1, px, err,
                                sizeof err), -1);
  ck_assert_msg(strstr(err, "/nonexistent-dir/a.png"), "%s", err);
  ck_assert_int_eq(ex_png_write("/tmp/x.png", 2, 2, 2, px, err, sizeof err), -1);
  ck_assert_msg(strstr(err, "/tmp/x.png"), "%s", err);

  ex_png_image im = {0};
  ck_assert_int_eq(ex_png_read("/nonexistent-dir/a.png", &im, err, sizeof err), -1);
  ck_assert_msg(strstr(err, "/nonexistent-dir/a.png") && strstr(err, "No such file"),
                "%s", err);
  char path[64];
  temp_path(path, sizeof path);
  FILE *f = fopen(path, "wb");
  ck_assert_ptr_nonnull(f);
  fputs("this is not a PNG file at all", f);
  fclose(f);
  ck_assert_int_eq(ex_png_read(path, &im, err, sizeof err), -1);
  ck_assert_msg(strstr(err, path), "%s", err);
  ck_assert_ptr_null(im.px);
  /* A PNG cut short: libpng's error is caught, not fatal. */
  uint8_t big[64 * 64];
  for (size_t i = 0; i < sizeof big; i++)
    big[i] = (uint8_t)(i * 7919 >> 3);
  ck_assert_int_eq(ex_png_write(path, 64, 64, 1, big, err, sizeof err), 0);
  ck_assert_int_eq(truncate(path, 200), 0);
  ck_assert_int_eq(ex_png_read(path, &im, err, sizeof err), -1);
  ck_assert_msg(strstr(err, path), "%s", err);
  remove(path);
}
END_TEST

START_TEST(grid_layout_and_pixels)
{
  /* 5 gray images of 3 x 4 (h x w) in a 2 x 3 grid, upscaled by 2: the
   * sixth cell stays border grey. */
  enum { N = 5, H = 3, W = 4, U = 2, B = EX_GRID_BORDER };
  float img[N * H * W];
  for (int k = 0; k < N; k++)
    for (int i = 0; i < H * W; i++)
      img[k * H * W + i] = (float)(k * H * W + i) / (N * H * W);
  img[0] = -1.0f; /* clamped to 0 */
  img[1] = NAN;   /* drawn as 0 */
  img[2] = 2.0f;  /* clamped to 1 */
  char path[64], err[256];
  temp_path(path, sizeof path);
  ex_images im = {img, N, 1, H, W};
  ck_assert_msg(ex_grid_png(path, &im, 2, 3, U, err, sizeof err) == 0, "%s", err);
  ex_png_image png = {0};
  ck_assert_int_eq(ex_png_read(path, &png, err, sizeof err), 0);
  ck_assert_uint_eq(png.channels, 1);
  ck_assert_uint_eq(png.height, 2 * (H * U + B) + B);
  ck_assert_uint_eq(png.width, 3 * (W * U + B) + B);
#define AT(x, y) png.px[(size_t)(y) * png.width + (size_t)(x)]
  ck_assert_uint_eq(AT(0, 0), EX_GRID_BORDER_VALUE);
  ck_assert_uint_eq(AT(B, B), 0);
  ck_assert_uint_eq(AT(B + 1, B + 1), 0);        /* same source pixel */
  ck_assert_uint_eq(AT(B + 2, B), 0);            /* NaN */
  ck_assert_uint_eq(AT(B + 4, B + 1), 255);      /* 2.0 */
  /* Image 4 (row 1, col 1), source pixel (y 2, x 3). */
  size_t x0 = B + (W * U + B), y0 = B + (H * U + B);
  float v = img[4 * H * W + 2 * W + 3];
  ck_assert_uint_eq(AT(x0 + 3 * U + 1, y0 + 2 * U + 1), (unsigned)(v * 255.0f + 0.5f));
  ck_assert_uint_eq(AT(x0 - 1, y0), EX_GRID_BORDER_VALUE);
  /* Cell 5 is empty. */
  ck_assert_uint_eq(AT(B + 2 * (W * U + B) + 1, y0 + 1), EX_GRID_BORDER_VALUE);
#undef AT
  ex_png_image_free(&png);

  /* RGB: channel planes become interleaved pixels. */
  float rgb[3 * 2 * 2] = {1, 1, 1, 1, /* R */ 0, 0, 0, 0, /* G */ 0.5f, 0.5f, 0.5f, 0.5f};
  ex_images im3 = {rgb, 1, 3, 2, 2};
  ck_assert_int_eq(ex_grid_png(path, &im3, 1, 1, 1, err, sizeof err), 0);
  ck_assert_int_eq(ex_png_read(path, &png, err, sizeof err), 0);
  ck_assert_uint_eq(png.channels, 3);
  ck_assert_uint_eq(png.width, 2 + 2 * B);
  const uint8_t *p = png.px + (B * png.width + B) * 3;
  ck_assert_uint_eq(p[0], 255);
  ck_assert_uint_eq(p[1], 0);
  ck_assert_uint_eq(p[2], 128);
  ex_png_image_free(&png);

  ex_images bad = {rgb, 1, 2, 2, 2};
  ck_assert_int_eq(ex_grid_png(path, &bad, 1, 1, 1, err, sizeof err), -1);
  ck_assert_msg(strstr(err, path), "%s", err);
  remove(path);

  ck_assert_uint_eq(ex_grid_upscale(28), 3);
  ck_assert_uint_eq(ex_grid_upscale(32), 2);
  ck_assert_uint_eq(ex_grid_upscale(64), 1);
  ck_assert_uint_eq(ex_grid_upscale(500), 1);
}
END_TEST

/* Count the pixels of an RGB image that have exactly this colour. */
static size_t count_colour(const ex_png_image *im, uint8_t r, uint8_t g, uint8_t b)
{
  size_t n = 0;
  for (size_t i = 0; i < im->width * im->height; i++)
    n += im->px[3 * i] == r && im->px[3 * i + 1] == g && im->px[3 * i + 2] == b;
  return n;
}

START_TEST(plot_linear_and_log)
{
  double x[40], loss[40], kl[40];
  for (int t = 0; t < 40; t++) {
    x[t] = 10.0 * t;
    loss[t] = 500.0 * exp(-0.1 * t) - 20.0; /* crosses zero */
    kl[t] = 3.0 + 0.1 * t;
  }
  ex_series s[2] = {{"loss", x, loss, 40, 0}, {"KL", x, kl, 40, 1}};
  ex_plot_style lin = {"loss", "step", "nats", EX_SCALE_LINEAR, 1};
  char path[64], err[256];
  temp_path(path, sizeof path);
  ck_assert_msg(ex_plot_png(path, s, 2, &lin, err, sizeof err) == 0, "%s", err);
  ex_png_image im = {0};
  ck_assert_int_eq(ex_png_read(path, &im, err, sizeof err), 0);
  ck_assert_uint_eq(im.width, 1280);
  ck_assert_uint_eq(im.height, 720);
  ck_assert_uint_eq(im.channels, 3);
  /* White background, and both series' colours drawn (first two palette
   * entries). */
  ck_assert_uint_eq(im.px[0], 255);
  ck_assert_uint_gt(count_colour(&im, 0, 114, 178), 100);
  ck_assert_uint_gt(count_colour(&im, 213, 94, 0), 100);
  ex_png_image_free(&im);

  /* On a log axis the negative losses are skipped, not fatal. */
  ex_plot_style lg = {"loss", "step", "nats", EX_SCALE_LOG, 1};
  ck_assert_int_eq(ex_plot_png(path, s, 2, &lg, err, sizeof err), 0);
  /* A constant series still gets a y range. */
  double c[3] = {2, 2, 2};
  ex_series one = {"c", NULL, c, 3, 0};
  ck_assert_int_eq(ex_plot_png(path, &one, 1, &lin, err, sizeof err), 0);
  /* Nothing drawable. */
  double neg[3] = {-1, -2, NAN};
  ex_series none = {"n", NULL, neg, 3, 0};
  ck_assert_int_eq(ex_plot_png(path, &none, 1, &lg, err, sizeof err), -1);
  ck_assert_str_eq(err, "nothing to plot");
  ex_series single = {"s", NULL, c, 1, 0};
  ck_assert_int_eq(ex_plot_png(path, &single, 1, &lin, err, sizeof err), -1);
  remove(path);
}
END_TEST

Suite *spdt_suite(void)
{
  Suite *s = suite_create("example_common");
  SPDT_ADD(s, png_round_trip_gray_and_rgb, 30);
  SPDT_ADD(s, png_errors_name_the_file, 30);
  SPDT_ADD(s, grid_layout_and_pixels, 30);
  SPDT_ADD(s, plot_linear_and_log, 60);
  return s;
}
