/* vaeapp tests: JPEG reading and writing, the crop, the Lanczos-3 resize
 * (against hand-computed values) and quantisation. */
#include "test_vaeapp.h"

#include "jpeg_io.h"
#include "resize.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PI 3.14159265358979323846

/* The kernel written out independently: 3 sin(pi x) sin(pi x / 3) / (pi x)^2. */
static double lanczos_by_hand(double x)
{
  return x == 0.0 ? 1.0 : 3.0 * sin(PI * x) * sin(PI * x / 3.0) / (PI * x * PI * x);
}

START_TEST(lanczos_kernel_values)
{
  ck_assert(vae_lanczos3(0.0) == 1.0);
  for (int k = 1; k <= 4; k++) {
    ck_assert(vae_lanczos3(k) == 0.0); /* exactly, not sin(pi k) ~ 1e-16 */
    ck_assert(vae_lanczos3(-k) == 0.0);
  }
  SPDT_CLOSE(vae_lanczos3(0.5), 6.0 / (PI * PI), 1e-14, 0); /* 3 * 1 * 1/2 / (pi/2)^2 */
  SPDT_CLOSE(vae_lanczos3(-0.5), 6.0 / (PI * PI), 1e-14, 0);
  SPDT_CLOSE(vae_lanczos3(1.5), lanczos_by_hand(1.5), 1e-14, 0);
  ck_assert(vae_lanczos3(1.5) < 0.0); /* the negative lobe */
  ck_assert(vae_lanczos3(3.2) == 0.0);
}
END_TEST

START_TEST(crop_geometry)
{
  vae_rect r = vae_celeba_crop(178, 218);
  ck_assert(r.x == 19 && r.y == 39 && r.w == 140 && r.h == 140);
  r = vae_celeba_crop(356, 436); /* twice the size: everything doubles */
  ck_assert(r.x == 38 && r.y == 78 && r.w == 280 && r.h == 280);
  r = vae_celeba_crop(89, 109); /* half: 9.5 and 19.5 round up */
  ck_assert(r.x == 10 && r.y == 20 && r.w == 70 && r.h == 70);
  /* 200 x 250: s = 200/178, window 200 x 244.94 centred (oy = 2.53),
   * side round(157.30) = 157, x round(21.35) = 21, y round(46.35) = 46. */
  r = vae_celeba_crop(200, 250);
  ck_assert_msg(r.x == 21 && r.y == 46 && r.w == 157 && r.h == 157, "%zu %zu %zu %zu",
                r.x, r.y, r.w, r.h);
  r = vae_celeba_crop(1, 1);
  ck_assert(r.x == 0 && r.y == 0 && r.w == 1 && r.h == 1);
}
END_TEST

START_TEST(resize_constant_stays_constant)
{
  enum { W = 178, H = 218, S = 64 };
  uint8_t *src = malloc(W * H * 3);
  float *out = malloc(3 * S * S * sizeof *out);
  uint8_t q[3 * S * S];
  for (size_t i = 0; i < W * H; i++) {
    src[3 * i] = 200;
    src[3 * i + 1] = 100;
    src[3 * i + 2] = 7;
  }
  ck_assert_int_eq(vae_resample(src, W, H, 3, vae_celeba_crop(W, H), S, S, out), 0);
  const double want[3] = {200, 100, 7};
  double worst = 0.0; /* normalised weights: only rounding (one check per
                         test: Check's asserts are slow under valgrind) */
  size_t wrong = 0;
  vae_quantize(out, 3 * S * S, q);
  for (int c = 0; c < 3; c++)
    for (int i = 0; i < S * S; i++) {
      worst = fmax(worst, fabs(out[c * S * S + i] - want[c] / 255.0));
      wrong += q[c * S * S + i] != (unsigned)want[c];
    }
  ck_assert_msg(worst < 1e-6, "off by %g", worst);
  ck_assert_uint_eq(wrong, 0);
  free(src);
  free(out);
}
END_TEST

START_TEST(resize_at_scale_one_is_the_crop)
{
  /* Output size = crop size: every tap sits at a whole-pixel distance, where
   * the kernel is 1 or exactly 0, so the result is the crop itself. */
  enum { W = 178, H = 218, S = 140 };
  uint8_t *src = malloc(W * H * 3);
  float *out = malloc(3 * S * S * sizeof *out);
  uint8_t *q = malloc(3 * S * S);
  for (size_t i = 0; i < W * H * 3; i++)
    src[i] = (uint8_t)(i * 2654435761u >> 13);
  ck_assert_int_eq(vae_resample(src, W, H, 3, vae_celeba_crop(W, H), S, S, out), 0);
  vae_quantize(out, 3 * S * S, q);
  size_t wrong = 0;
  double worst = 0.0;
  for (int c = 0; c < 3; c++)
    for (int y = 0; y < S; y++)
      for (int x = 0; x < S; x++) {
        unsigned want = src[((39 + y) * W + 19 + x) * 3 + c];
        wrong += q[(c * S + y) * S + x] != want;
        worst = fmax(worst, fabs(out[(c * S + y) * S + x] - want / 255.0));
      }
  ck_assert_uint_eq(wrong, 0);
  ck_assert_msg(worst < 1e-7, "off by %g", worst);
  free(src);
  free(out);
  free(q);
}
END_TEST

START_TEST(resize_ramp_stays_a_ramp)
{
  /* Halving a ramp v(x) = 3x: away from the edges the taps are symmetric
   * about the output centre (source position 2i + 1), so the normalised
   * filter returns the ramp there: 3 (2i + 0.5). Taps reach 6 source
   * pixels each way, so outputs 3..28 of 32 see no edge. */
  enum { W = 64, H = 8, OW = 32, OH = 4 };
  uint8_t src[W * H];
  float out[OW * OH];
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++)
      src[y * W + x] = (uint8_t)(3 * x);
  ck_assert_int_eq(vae_resample(src, W, H, 1, (vae_rect){0, 0, W, H}, OW, OH, out), 0);
  for (int y = 0; y < OH; y++)
    for (int i = 3; i <= 28; i++)
      SPDT_CLOSE(out[y * OW + i] * 255.0, 3.0 * (2 * i + 0.5), 1e-5, 0); /* float output */
  /* At the edges the filter is cut and renormalised: still increasing. */
  for (int i = 1; i < OW; i++)
    ck_assert(out[i] > out[i - 1]);
}
END_TEST

START_TEST(resize_weights_by_hand)
{
  /* An impulse of 255 at source pixel 21 of a 64-pixel row, halved: output
   * i has its centre at 2i + 1 and the filter stretched by 2, so output i
   * weighs it L((21.5 - (2i + 1)) / 2) / S (output 10: L(0.25) / S), where
   * S = 2 sum_k L((k + 0.5) / 2) over k = 0..5 is the sum of all twelve
   * weights of an output whose taps are all inside the row. */
  enum { W = 64, OW = 32 };
  uint8_t src[W] = {0};
  float out[OW];
  src[21] = 255;
  ck_assert_int_eq(vae_resample(src, W, 1, 1, (vae_rect){0, 0, W, 1}, OW, 1, out), 0);
  double sum = 0.0;
  for (int k = 0; k < 6; k++)
    sum += 2.0 * lanczos_by_hand((k + 0.5) / 2.0);
  SPDT_CLOSE(out[10], lanczos_by_hand(0.25) / sum, 1e-6, 0);
  SPDT_CLOSE(out[11], lanczos_by_hand(-0.75) / sum, 1e-6, 0);
  SPDT_CLOSE(out[8], lanczos_by_hand(2.25) / sum, 1e-6, 0);  /* outer lobe */
  SPDT_CLOSE(out[13], lanczos_by_hand(-2.75) / sum, 1e-6, 0);
  /* Outputs 9 and 12 (offsets 1.25 and -1.75) fall in the negative lobe
   * and are clamped to 0; output 20 is beyond the support. */
  ck_assert(lanczos_by_hand(1.25) < 0.0 && lanczos_by_hand(-1.75) < 0.0);
  ck_assert(out[9] == 0.0f && out[12] == 0.0f);
  ck_assert(out[20] == 0.0f);
}
END_TEST

START_TEST(resize_upscale_and_bad_arguments)
{
  /* Upscaling (28 -> 56, filter not stretched) keeps a constant and stays
   * in [0, 1] even across a hard edge (Lanczos rings; the clamp holds). */
  enum { S = 28, O = 56 };
  uint8_t src[S * S];
  float out[O * O];
  for (int i = 0; i < S * S; i++)
    src[i] = (i % S) < S / 2 ? 0 : 255;
  ck_assert_int_eq(vae_resample(src, S, S, 1, (vae_rect){0, 0, S, S}, O, O, out), 0);
  size_t outside = 0;
  for (int i = 0; i < O * O; i++)
    outside += !(out[i] >= 0.0f && out[i] <= 1.0f);
  ck_assert_uint_eq(outside, 0);
  ck_assert(out[0] == 0.0f && out[O - 1] == 1.0f);
  ck_assert_int_eq(vae_resample(src, S, S, 1, (vae_rect){20, 0, 10, S}, O, O, out), -1);
  ck_assert_int_eq(vae_resample(src, S, S, 1, (vae_rect){0, 0, 0, S}, O, O, out), -1);
  ck_assert_int_eq(vae_resample(src, S, S, 1, (vae_rect){0, 0, S, S}, 0, O, out), -1);
}
END_TEST

START_TEST(quantize_rounds_and_clamps)
{
  float in[7] = {-0.1f, 0.0f, 1.0f / 255.0f, 0.5f, 1.0f, 1.2f, NAN};
  uint8_t out[7];
  vae_quantize(in, 7, out);
  const uint8_t want[7] = {0, 0, 1, 128, 255, 255, 0};
  for (int i = 0; i < 7; i++)
    ck_assert_uint_eq(out[i], want[i]);
  for (int v = 0; v < 256; v++) { /* bytes survive the round trip */
    float f = (float)v / 255.0f;
    vae_quantize(&f, 1, out);
    ck_assert_uint_eq(out[0], v);
  }
}
END_TEST

START_TEST(jpeg_round_trip_rgb_and_gray)
{
  char dir[64], path[128], err[512];
  vt_tempdir(dir);
  snprintf(path, sizeof path, "%s/a.jpg", dir);
  enum { W = 17, H = 13 }; /* odd sizes: partial MCUs */
  uint8_t rgb[W * H * 3];
  for (int i = 0; i < W * H; i++) {
    rgb[3 * i] = 200;
    rgb[3 * i + 1] = 40;
    rgb[3 * i + 2] = 90;
  }
  ck_assert_int_eq(vae_jpeg_write(path, rgb, W, H, 3, 100, err, sizeof err), 0);
  uint8_t *px = NULL;
  size_t w = 0, h = 0;
  ck_assert_msg(vae_jpeg_read(path, &px, &w, &h, err, sizeof err) == 0, "%s", err);
  ck_assert(w == W && h == H);
  int worst = 0; /* flat colour, quality 100: near exact */
  for (int i = 0; i < W * H * 3; i++)
    worst = abs(px[i] - rgb[i]) > worst ? abs(px[i] - rgb[i]) : worst;
  ck_assert_int_le(worst, 3);
  free(px);

  uint8_t gray[W * H];
  for (int i = 0; i < W * H; i++)
    gray[i] = 77;
  ck_assert_int_eq(vae_jpeg_write(path, gray, W, H, 1, 95, err, sizeof err), 0);
  ck_assert_int_eq(vae_jpeg_read(path, &px, &w, &h, err, sizeof err), 0);
  size_t wrong = 0; /* gray becomes three equal channels */
  for (int i = 0; i < W * H; i++)
    wrong += px[3 * i] != px[3 * i + 1] || px[3 * i] != px[3 * i + 2] ||
             abs(px[3 * i] - 77) > 2;
  ck_assert_uint_eq(wrong, 0);
  free(px);
  vt_rmtree(dir);
}
END_TEST

START_TEST(jpeg_errors_name_the_file)
{
  char dir[64], path[128], err[512];
  vt_tempdir(dir);
  uint8_t *px = NULL;
  size_t w = 0, h = 0;
  snprintf(path, sizeof path, "%s/missing.jpg", dir);
  ck_assert_int_eq(vae_jpeg_read(path, &px, &w, &h, err, sizeof err), -1);
  vt_assert_mentions(err, path, "No such file", NULL);

  snprintf(path, sizeof path, "%s/text.jpg", dir);
  vt_write_file(path, "hello, not a JPEG\n", 18);
  ck_assert_int_eq(vae_jpeg_read(path, &px, &w, &h, err, sizeof err), -1);
  vt_assert_mentions(err, path, "Not a JPEG", NULL);

  snprintf(path, sizeof path, "%s/empty.jpg", dir);
  vt_write_file(path, "", 0);
  ck_assert_int_eq(vae_jpeg_read(path, &px, &w, &h, err, sizeof err), -1);
  vt_assert_mentions(err, path, NULL);

  /* Truncated: libjpeg only warns ("Premature end of JPEG file") and would
   * fill the rest with grey; the reader makes it an error. */
  enum { W = 64, H = 64 };
  uint8_t img[W * H * 3];
  for (int i = 0; i < W * H * 3; i++)
    img[i] = (uint8_t)(i * 37 >> 2);
  snprintf(path, sizeof path, "%s/cut.jpg", dir);
  ck_assert_int_eq(vae_jpeg_write(path, img, W, H, 3, 90, err, sizeof err), 0);
  size_t len;
  free(vt_read_file(path, &len));
  vt_truncate(path, len / 2);
  ck_assert_int_eq(vae_jpeg_read(path, &px, &w, &h, err, sizeof err), -1);
  vt_assert_mentions(err, path, "Premature end", NULL);
  ck_assert_ptr_null(px);

  ck_assert_int_eq(vae_jpeg_write("/nonexistent-dir/x.jpg", img, W, H, 3, 90, err,
                                  sizeof err), -1);
  vt_assert_mentions(err, "/nonexistent-dir/x.jpg", NULL);
  ck_assert_int_eq(vae_jpeg_write(path, img, W, H, 2, 90, err, sizeof err), -1);
  vt_rmtree(dir);
}
END_TEST

void vt_add_image_tests(Suite *s)
{
  SPDT_ADD(s, lanczos_kernel_values, 10);
  SPDT_ADD(s, crop_geometry, 10);
  SPDT_ADD(s, resize_constant_stays_constant, 30);
  SPDT_ADD(s, resize_at_scale_one_is_the_crop, 30);
  SPDT_ADD(s, resize_ramp_stays_a_ramp, 10);
  SPDT_ADD(s, resize_weights_by_hand, 10);
  SPDT_ADD(s, resize_upscale_and_bad_arguments, 10);
  SPDT_ADD(s, quantize_rounds_and_clamps, 10);
  SPDT_ADD(s, jpeg_round_trip_rgb_and_gray, 30);
  SPDT_ADD(s, jpeg_errors_name_the_file, 30);
}
