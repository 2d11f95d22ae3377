/* vaeapp tests: loss.csv and its curve, the progress line, the output
 * directory, image grids (read back with libpng) and the SIGINT flag. */
#include "test_vaeapp.h"

#include "interrupt.h"
#include "losslog.h"
#include "output.h"
#include "png_io.h"
#include "progress.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

START_TEST(losslog_rows_plot_and_resume)
{
  char dir[64], csv[128], png[128], err[512];
  vt_tempdir(dir);
  snprintf(csv, sizeof csv, "%s/loss.csv", dir);
  snprintf(png, sizeof png, "%s/loss.png", dir);
  vae_losslog *log;
  ck_assert_int_eq(vae_losslog_open(csv, 0, &log, err, sizeof err), 0);
  for (uint64_t s = 1; s <= 4; s++) {
    vae_loss_row r = {s * 10, s / 3, 500.0 / s + 20.0, 480.0 / s + 5.0, 20.0 / s + 15.0,
                      0.5, 1234.5, 1.25 * s};
    ck_assert_int_eq(vae_losslog_append(log, &r, err, sizeof err), 0);
  }
  char *text = vt_read_file(csv, NULL); /* flushed row by row */
  ck_assert_str_eq(text, VAE_LOSS_CSV_HEADER "\n"
                         "10,0,520,485,35,0.5,1234.5,1.250\n"
                         "20,0,270,245,25,0.5,1234.5,2.500\n"
                         "30,1,186.666667,165,21.6666667,0.5,1234.5,3.750\n"
                         "40,1,145,125,20,0.5,1234.5,5.000\n");
  free(text);
  ck_assert_uint_eq(vae_losslog_count(log), 4);
  ck_assert_msg(vae_losslog_plot(log, png, "spread VAE loss", err, sizeof err) == 0, "%s", err);
  ex_png_image im = {0};
  ck_assert_int_eq(ex_png_read(png, &im, err, sizeof err), 0);
  ck_assert(im.width == 1280 && im.height == 720 && im.channels == 3);
  ex_png_image_free(&im);
  ck_assert_int_eq(vae_losslog_close(log), 0);

  /* Resume at step 20: rows after it are dropped, then the log goes on. */
  ck_assert_int_eq(vae_losslog_open(csv, 20, &log, err, sizeof err), 0);
  ck_assert_uint_eq(vae_losslog_count(log), 2);
  ck_assert(vae_losslog_rows(log)[1].step == 20 && vae_losslog_rows(log)[1].loss == 270.0);
  vae_loss_row r = {30, 1, -12.5, -20.0, 7.5, 0.1, 999, 4.0}; /* a negative loss */
  ck_assert_int_eq(vae_losslog_append(log, &r, err, sizeof err), 0);
  text = vt_read_file(csv, NULL);
  ck_assert_str_eq(text, VAE_LOSS_CSV_HEADER "\n"
                         "10,0,520,485,35,0.5,1234.5,1.250\n"
                         "20,0,270,245,25,0.5,1234.5,2.500\n"
                         "30,1,-12.5,-20,7.5,0.1,999,4.000\n");
  free(text);
  /* Negative values: a linear axis, still a plot. */
  ck_assert_int_eq(vae_losslog_plot(log, png, "t", err, sizeof err), 0);
  ck_assert_int_eq(vae_losslog_close(log), 0);
  ck_assert_int_eq(vae_losslog_close(NULL), 0);

  /* A fresh start replaces the file; one row cannot be plotted. */
  ck_assert_int_eq(vae_losslog_open(csv, 0, &log, err, sizeof err), 0);
  ck_assert_int_eq(vae_losslog_append(log, &r, err, sizeof err), 0);
  ck_assert_int_eq(vae_losslog_plot(log, png, "t", err, sizeof err), -1);
  vt_assert_mentions(err, png, "nothing to plot", NULL);
  vae_losslog_close(log);

  ck_assert_int_eq(vae_losslog_open("/nonexistent-dir/loss.csv", 0, &log, err, sizeof err), -1);
  vt_assert_mentions(err, "/nonexistent-dir/loss.csv", NULL);
  vt_rmtree(dir);
}
END_TEST

START_TEST(progress_line_format_and_pacing)
{
  char buf[256], d[32];
  vae_progress_info i = {2, 3, 1234, 1800, 312.414, 298.1, 14.314, 0.5, 2410.4, 83.0};
  vae_progress_format(buf, sizeof buf, &i);
  ck_assert_str_eq(buf, "epoch 2/3  step 1234/1800  loss 312.41 (recon 298.10 + kl 14.31)"
                        "  sigma 0.500  2410 img/s  ETA 1:23");
  vae_format_duration(d, sizeof d, 42.4);
  ck_assert_str_eq(d, "42s");
  vae_format_duration(d, sizeof d, 185);
  ck_assert_str_eq(d, "3:05");
  vae_format_duration(d, sizeof d, 3723);
  ck_assert_str_eq(d, "1:02:03");
  vae_format_duration(d, sizeof d, NAN);
  ck_assert_str_eq(d, "?");
  vae_format_duration(d, sizeof d, -1);
  ck_assert_str_eq(d, "?");
  SPDT_CLOSE(vae_progress_eta(10, 5.0, 30), 15.0, 1e-12, 0);
  ck_assert(isnan(vae_progress_eta(0, 5.0, 30)));

  /* Not a terminal: a plain line at most every 10 s, or when forced. */
  FILE *f = tmpfile();
  vae_progress p;
  vae_progress_init(&p, f, 0, 10.0);
  vae_progress_update(&p, &i, 100.0, 0); /* first: drawn */
  vae_progress_update(&p, &i, 105.0, 0); /* too soon */
  vae_progress_update(&p, &i, 110.5, 0); /* drawn */
  vae_progress_update(&p, &i, 111.0, 1); /* forced */
  vae_progress_break(&p);                /* nothing to break */
  rewind(f);
  size_t lines = 0;
  while (fgets(buf, sizeof buf, f)) {
    ck_assert(strncmp(buf, "epoch 2/3", 9) == 0 && buf[strlen(buf) - 1] == '\n');
    lines++;
  }
  ck_assert_uint_eq(lines, 3);
  fclose(f);

  /* A terminal: redrawn in place, at most every 0.1 s, ended by a newline. */
  f = tmpfile();
  vae_progress_init(&p, f, 1, 10.0);
  vae_progress_update(&p, &i, 1.0, 0);
  vae_progress_update(&p, &i, 1.05, 0);
  vae_progress_update(&p, &i, 1.2, 0);
  vae_progress_break(&p);
  rewind(f);
  char all[1024] = {0};
  size_t n = fread(all, 1, sizeof all - 1, f);
  fclose(f);
  ck_assert_int_eq(all[0], '\r');
  ck_assert(strstr(all, "\033[K\r") != NULL); /* two draws */
  ck_assert(strstr(strstr(all, "\033[K\r") + 4, "\r") == NULL);
  ck_assert_int_eq(all[n - 1], '\n');
  ck_assert(strstr(all, "\n") == all + n - 1);
}
END_TEST

START_TEST(output_directory)
{
  char dir[64], path[256], err[512];
  vt_tempdir(dir);
  snprintf(path, sizeof path, "%s/a/b//c/", dir);
  ck_assert_msg(vae_mkdirs(path, err, sizeof err) == 0, "%s", err);
  struct stat st;
  snprintf(path, sizeof path, "%s/a/b/c", dir);
  ck_assert(stat(path, &st) == 0 && S_ISDIR(st.st_mode));
  ck_assert_int_eq(vae_mkdirs(path, err, sizeof err), 0); /* exists: fine */
  snprintf(path, sizeof path, "%s/file", dir);
  vt_write_file(path, "x", 1);
  char below[300];
  snprintf(below, sizeof below, "%s/sub", path);
  ck_assert_int_eq(vae_mkdirs(below, err, sizeof err), -1);
  vt_assert_mentions(err, below, NULL);
  ck_assert_int_eq(vae_mkdirs(path, err, sizeof err), -1);
  vt_assert_mentions(err, path, "not a directory", NULL);
  ck_assert_int_eq(vae_mkdirs("", err, sizeof err), -1);

  char small[16];
  ck_assert_int_eq(vae_out_path(small, sizeof small, "out", "loss.csv"), 0);
  ck_assert_str_eq(small, "out/loss.csv");
  ck_assert_int_eq(vae_out_path(small, sizeof small, "a-long-directory", "loss.csv"), -1);
  vae_out_samples_name(path, sizeof path, 1200);
  ck_assert_str_eq(path, "samples-00001200.png");
  vt_rmtree(dir);
}
END_TEST

START_TEST(grids_read_back)
{
  char dir[64], path[128], err[512];
  vt_tempdir(dir);
  snprintf(path, sizeof path, "%s/g.png", dir);
  /* 100 gray 28 x 28 images: 10 x 10 cells of 84 + 2 pixels (upscale 3). */
  vae_images im;
  ck_assert_int_eq(vae_images_alloc(&im, 150, 1, 28, 28), 0);
  for (size_t k = 0; k < im.n; k++)
    memset(im.px + k * 784, (int)(k % 200), 784);
  ck_assert_int_eq(vae_write_images_grid(path, &im, err, sizeof err), 0);
  ex_png_image png = {0};
  ck_assert_int_eq(ex_png_read(path, &png, err, sizeof err), 0);
  ck_assert(png.width == 862 && png.height == 862 && png.channels == 1);
  /* Image 37 (row 3, column 7) is the byte 37 everywhere. */
  ck_assert_uint_eq(png.px[(2 + 3 * 86 + 40) * 862 + 2 + 7 * 86 + 40], 37);
  ex_png_image_free(&png);
  im.n = 7; /* fewer than 10: one row */
  ck_assert_int_eq(vae_write_images_grid(path, &im, err, sizeof err), 0);
  ck_assert_int_eq(ex_png_read(path, &png, err, sizeof err), 0);
  ck_assert(png.width == 7 * 86 + 2 && png.height == 88);
  ex_png_image_free(&png);
  vae_images_free(&im);

  /* Reconstructions of 15 RGB 64 x 64 images: 4 rows (2 pairs), 10 wide;
   * originals white, reconstructions black, missing cells border grey. */
  enum { N = 15, D = 3 * 64 * 64 };
  float *orig = malloc(N * D * sizeof *orig), *rec = malloc(N * D * sizeof *rec);
  for (size_t i = 0; i < N * D; i++) {
    orig[i] = 1.0f;
    rec[i] = 0.0f;
  }
  ck_assert_int_eq(vae_write_recon_grid(path, orig, rec, N, 3, 64, 64, err, sizeof err), 0);
  ck_assert_int_eq(ex_png_read(path, &png, err, sizeof err), 0);
  ck_assert(png.width == 10 * 66 + 2 && png.height == 4 * 66 + 2 && png.channels == 3);
#define PIX(row, col) png.px[((2 + (row) * 66 + 30) * png.width + 2 + (col) * 66 + 30) * 3]
  ck_assert_uint_eq(PIX(0, 9), 255); /* original 9 */
  ck_assert_uint_eq(PIX(1, 9), 0);   /* its reconstruction */
  ck_assert_uint_eq(PIX(2, 4), 255); /* original 14 */
  ck_assert_uint_eq(PIX(3, 4), 0);
  ck_assert_uint_eq(PIX(2, 5), 128); /* no image 15 */
  ck_assert_uint_eq(PIX(3, 9), 128);
#undef PIX
  ex_png_image_free(&png);
  ck_assert_int_eq(vae_write_recon_grid(path, orig, rec, 51, 3, 64, 64, err, sizeof err), -1);
  ck_assert_int_eq(vae_write_grid("/nonexistent-dir/g.png", orig, 3, 3, 64, 64, err,
                                  sizeof err), -1);
  vt_assert_mentions(err, "/nonexistent-dir/g.png", NULL);
  free(orig);
  free(rec);
  vt_rmtree(dir);
}
END_TEST

START_TEST(interrupt_sets_a_flag)
{
  ck_assert_int_eq(vae_interrupt_install(), 0);
  ck_assert_int_eq(vae_interrupted(), 0);
  ck_assert_int_eq(raise(SIGINT), 0); /* caught: the test goes on */
  ck_assert_int_eq(vae_interrupted(), SIGINT);
  vae_interrupt_clear();
  ck_assert_int_eq(vae_interrupted(), 0);
  ck_assert_int_eq(raise(SIGTERM), 0);
  ck_assert_int_eq(vae_interrupted(), SIGTERM);
  /* One-shot (SA_RESETHAND): the handlers are back to the default now. */
  struct sigaction sa;
  ck_assert_int_eq(sigaction(SIGINT, NULL, &sa), 0);
  ck_assert(sa.sa_handler == SIG_DFL);
  vae_interrupt_clear();
}
END_TEST

void vt_add_output_tests(Suite *s)
{
  SPDT_ADD(s, losslog_rows_plot_and_resume, 30);
  SPDT_ADD(s, progress_line_format_and_pacing, 10);
  SPDT_ADD(s, output_directory, 10);
  SPDT_ADD(s, grids_read_back, 30);
  SPDT_ADD(s, interrupt_sets_a_flag, 10);
}
