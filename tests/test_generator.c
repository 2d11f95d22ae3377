/* Generators: construction, shapes and ranges, decode/sample determinism,
 * the tape forward pass, thread-count independence, GENR files (bitwise
 * round trip; truncated and corrupted files rejected), and bad input. */
#include "harness.h"

#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64];

static void make_dir(void)
{
  spdt_tmpdir(dir, sizeof dir, "gen");
}

static void remove_dir(void)
{
  spdt_rmdir(dir);
}

static float *randn(size_t n, uint64_t seed)
{
  float *z = malloc(n * sizeof *z);
  spd_rng *r;
  SPDT_OK(spd_rng_create(seed, &r));
  SPDT_OK(spd_rng_normal(r, z, n));
  spd_rng_free(r);
  return z;
}

START_TEST(linear_is_a_matrix)
{
  spd_generator *g;
  SPDT_OK(spd_generator_create_linear(3, 5, 7, &g));
  ck_assert_int_eq(spd_generator_kind(g), SPD_GENERATOR_LINEAR);
  ck_assert_uint_eq(spd_generator_z_dim(g), 3);
  ck_assert_uint_eq(spd_generator_x_dim(g), 5);
  spd_params *p = spd_generator_params(g);
  ck_assert_uint_eq(spd_params_count(p), 1);
  const float *A = spd_params_data(p, 0);
  float z[6] = {1, -2, 0.5f, 0, 3, -1}, x[10];
  SPDT_OK(spd_generator_decode(g, z, 2, x));
  /* x = A z in float32; a 3-term dot product rounds to ~1e-6 relative. */
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 5; j++) {
      double e = 0;
      for (int k = 0; k < 3; k++)
        e += (double)A[j * 3 + k] * z[i * 3 + k];
      SPDT_CLOSE(x[i * 5 + j], e, 1e-5, 1e-6);
    }
  spd_generator_free(g);
  ck_assert_uint_eq(spdi_live_blocks(), 0);
}
END_TEST

START_TEST(mlp_outputs_and_activation)
{
  spd_generator *g, *h;
  SPDT_OK(spd_generator_create_mlp(2, 4, 16, 2, SPD_OUTPUT_SIGMOID, 1, &g));
  SPDT_OK(spd_generator_create_mlp(2, 4, 16, 2, SPD_OUTPUT_LINEAR, 1, &h));
  ck_assert_int_eq(spd_generator_kind(g), SPD_GENERATOR_MLP);
  float *z = randn(2 * 50, 3), xs[200], xl[200];
  SPDT_OK(spd_generator_decode(g, z, 50, xs));
  SPDT_OK(spd_generator_decode(h, z, 50, xl));
  /* Same seed, same weights: the sigmoid output is sigmoid(linear output). */
  for (int i = 0; i < 200; i++) {
    ck_assert(xs[i] > 0 && xs[i] < 1);
    SPDT_CLOSE(xs[i], 1 / (1 + exp(-(double)xl[i])), 1e-6, 1e-7);
  }
  spd_generator_free(g);
  spd_generator_free(h);
  free(z);
}
END_TEST

START_TEST(conv_sizes)
{
  const size_t sizes[3] = {28, 32, 64};
  for (int s = 0; s < 3; s++) {
    spd_generator *g;
    size_t is = sizes[s];
    SPDT_OK(spd_generator_create_conv(5, 3, is, 16, 2, &g));
    ck_assert_int_eq(spd_generator_kind(g), SPD_GENERATOR_CONV);
    ck_assert_uint_eq(spd_generator_x_dim(g), 3 * is * is);
    float *z = randn(10, 4), *x = malloc(2 * 3 * is * is * sizeof *x);
    SPDT_OK(spd_generator_decode(g, z, 2, x));
    for (size_t i = 0; i < 2 * 3 * is * is; i++)
      ck_assert(x[i] > 0 && x[i] < 1);
    /* The tape forward pass in training mode has the NCHW image shape. */
    spd_tape *t;
    SPDT_OK(spd_tape_create(&t));
    size_t zs[2] = {2, 5}, shape[4];
    spd_tensor *y = spd_generator_forward(t, g, spd_leaf(t, 2, zs, z, 0), 1);
    SPDT_OK(spd_tape_status(t));
    SPDT_OK(spd_tensor_shape(y, shape));
    ck_assert(shape[0] == 2 && shape[1] == 3 && shape[2] == is && shape[3] == is);
    spd_tape_free(t);
    spd_generator_free(g);
    free(z);
    free(x);
  }
  ck_assert_uint_eq(spdi_live_blocks(), 0);
}
END_TEST

START_TEST(paper_decoder_layers)
{
  /* 64 x 64: dense to width x 4 x 4, deconvs to width/2 .. width/16. */
  spd_generator *g;
  SPDT_OK(spd_generator_create_conv(100, 3, 64, 64, 1, &g));
  spd_params *p = spd_generator_params(g);
  size_t i, shape[4];
  int nd;
  SPDT_OK(spd_params_find(p, "dense0.w", &i));
  SPDT_OK(spd_params_shape(p, i, &nd, shape));
  ck_assert(nd == 2 && shape[0] == 64 * 16 && shape[1] == 100);
  const char *names[5] = {"deconv1.w", "deconv2.w", "deconv3.w", "deconv4.w", "deconv_out.w"};
  const size_t cin[5] = {64, 32, 16, 8, 4}, cout[5] = {32, 16, 8, 4, 3};
  for (int k = 0; k < 5; k++) {
    SPDT_OK(spd_params_find(p, names[k], &i));
    SPDT_OK(spd_params_shape(p, i, &nd, shape));
    ck_assert(nd == 4 && shape[0] == cin[k] && shape[1] == cout[k] && shape[2] == 5);
  }
  SPDT_OK(spd_params_find(p, "bn4.running_var", &i));
  ck_assert_int_eq(spd_params_trainable(p, i), 0);
  SPDT_FAILS(SPD_E_NOT_FOUND, spd_params_find(p, "deconv5.w", &i));
  spd_generator_free(g);
}
END_TEST

START_TEST(sample_is_normal_then_decode)
{
  spd_generator *g;
  SPDT_OK(spd_generator_create_conv(4, 1, 28, 8, 9, &g));
  spd_rng *r;
  SPDT_OK(spd_rng_create(11, &r));
  float a[3 * 784], b[3 * 784];
  SPDT_OK(spd_generator_sample(g, r, 3, a));
  float *z = randn(12, 11);
  SPDT_OK(spd_generator_decode(g, z, 3, b));
  ck_assert_mem_eq(a, b, sizeof a);
  /* Decoding is deterministic: the same z again gives the same bits. */
  SPDT_OK(spd_generator_decode(g, z, 3, b));
  ck_assert_mem_eq(a, b, sizeof a);
  spd_rng_free(r);
  spd_generator_free(g);
  free(z);
}
END_TEST

START_TEST(threads_do_not_change_outputs)
{
  spd_generator *g;
  SPDT_OK(spd_generator_create_conv(8, 3, 32, 32, 5, &g));
  float *z = randn(8 * 6, 2);
  size_t n = 6 * 3 * 32 * 32;
  float *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
  SPDT_OK(spd_generator_decode(g, z, 6, a));
  SPDT_OK(spd_set_num_threads(2));
  SPDT_OK(spd_generator_decode(g, z, 6, b));
  SPDT_OK(spd_set_num_threads(1));
  ck_assert_mem_eq(a, b, n * sizeof *a);
  spd_generator_free(g);
  free(z);
  free(a);
  free(b);
}
END_TEST

static void round_trip(spd_generator *g, const char *name)
{
  char path[128];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  SPDT_OK(spd_generator_save(g, path));
  spd_generator *h;
  SPDT_OK(spd_generator_load(path, &h));
  ck_assert_int_eq(spd_generator_kind(h), spd_generator_kind(g));
  spd_params *p = spd_generator_params(g), *q = spd_generator_params(h);
  ck_assert_uint_eq(spd_params_count(p), spd_params_count(q));
  for (size_t i = 0; i < spd_params_count(p); i++) {
    ck_assert_str_eq(spd_params_name(p, i), spd_params_name(q, i));
    ck_assert_mem_eq(spd_params_data(p, i), spd_params_data(q, i),
                     spd_params_size(p, i) * sizeof(float));
  }
  size_t zd = spd_generator_z_dim(g), xd = spd_generator_x_dim(g);
  float *z = randn(4 * zd, 1), *a = malloc(4 * xd * 4), *b = malloc(4 * xd * 4);
  SPDT_OK(spd_generator_decode(g, z, 4, a));
  SPDT_OK(spd_generator_decode(h, z, 4, b));
  ck_assert_mem_eq(a, b, 4 * xd * sizeof(float));
  free(z);
  free(a);
  free(b);
  spd_generator_free(h);
}

START_TEST(save_load_round_trip_is_bitwise)
{
  make_dir();
  spd_generator *g;
  SPDT_OK(spd_generator_create_linear(3, 4, 1, &g));
  round_trip(g, "lin.spd");
  spd_generator_free(g);
  SPDT_OK(spd_generator_create_mlp(3, 4, 8, 3, SPD_OUTPUT_SIGMOID, 2, &g));
  round_trip(g, "mlp.spd");
  spd_generator_free(g);
  SPDT_OK(spd_generator_create_conv(3, 2, 28, 8, 3, &g));
  /* Non-default running statistics must travel too. */
  spd_params *p = spd_generator_params(g);
  size_t i;
  SPDT_OK(spd_params_find(p, "bn1.running_mean", &i));
  spd_params_data(p, i)[0] = 0.25f;
  SPDT_OK(spd_generator_set_bn_momentum(g, 0.3));
  round_trip(g, "conv.spd");
  spd_generator_free(g);
  remove_dir();
  ck_assert_uint_eq(spdi_live_blocks(), 0);
}
END_TEST

static int load_generator(const char *path, void **out)
{
  spd_generator *g = NULL;
  int st = spd_generator_load(path, &g);
  *out = g;
  return st;
}

static void release_generator(void *g)
{
  spd_generator_free(g);
}

static const spdt_loader generator_loader = {load_generator, release_generator};

START_TEST(damaged_files_are_rejected)
{
  make_dir();
  char path[128], bad[128];
  snprintf(path, sizeof path, "%s/g.spd", dir);
  snprintf(bad, sizeof bad, "%s/bad.spd", dir);
  spd_generator *g, *h = NULL;
  SPDT_OK(spd_generator_create_mlp(2, 3, 4, 1, SPD_OUTPUT_LINEAR, 1, &g));
  SPDT_OK(spd_generator_save(g, path));
  spd_generator_free(g);
  spdt_check_damaged(path, bad, 5, &generator_loader);
  /* A VAE checkpoint is not a generator file. */
  spd_vae *v;
  SPDT_OK(spd_generator_create_linear(2, 3, 1, &g));
  SPDT_OK(spd_vae_create(g, 1, &v));
  SPDT_OK(spd_vae_save(v, bad));
  SPDT_FAILS(SPD_E_FORMAT, spd_generator_load(bad, &h));
  spd_vae_free(v);
  snprintf(bad, sizeof bad, "%s/missing.spd", dir);
  SPDT_FAILS(SPD_E_IO, spd_generator_load(bad, &h));
  remove_dir();
  ck_assert_uint_eq(spdi_live_blocks(), 0);
}
END_TEST

START_TEST(bad_input)
{
  spd_generator *g = NULL;
  SPDT_FAILS(SPD_E_INVALID, spd_generator_create_linear(0, 3, 1, &g));
  SPDT_FAILS(SPD_E_INVALID, spd_generator_create_linear(3, 0, 1, &g));
  SPDT_FAILS(SPD_E_INVALID, spd_generator_create_linear(3, 3, 1, NULL));
  SPDT_FAILS(SPD_E_INVALID, spd_generator_create_mlp(2, 3, 0, 1, SPD_OUTPUT_LINEAR, 1, &g));
  SPDT_FAILS(SPD_E_INVALID, spd_generator_create_mlp(2, 3, 4, 17, SPD_OUTPUT_LINEAR, 1, &g));
  SPDT_FAILS(SPD_E_INVALID, spd_generator_create_mlp(2, 3, 4, 1, 7, 1, &g));
  SPDT_FAILS(SPD_E_INVALID, spd_generator_create_conv(2, 3, 48, 16, 1, &g));
  SPDT_FAILS(SPD_E_INVALID, spd_generator_create_conv(2, 3, 64, 24, 1, &g));
  SPDT_FAILS(SPD_E_INVALID, spd_generator_create_conv(2, 3, 64, 8, 1, &g));
  SPDT_FAILS(SPD_E_INVALID, spd_generator_create_conv(2, 0, 64, 16, 1, &g));
  SPDT_FAILS(SPD_E_INVALID, spd_generator_create_conv(0, 3, 64, 16, 1, &g));
  ck_assert_ptr_null(g);
  ck_assert_int_eq(spd_generator_kind(NULL), SPD_E_INVALID);
  ck_assert_uint_eq(spd_generator_z_dim(NULL), 0);
  ck_assert_ptr_null(spd_generator_params(NULL));
  spd_generator_free(NULL);

  SPDT_OK(spd_generator_create_mlp(2, 3, 4, 1, SPD_OUTPUT_LINEAR, 1, &g));
  float z[4] = {0, 1, NAN, 2}, x[6] = {9, 9, 9, 9, 9, 9};
  SPDT_FAILS(SPD_E_DOMAIN, spd_generator_decode(g, z, 2, x));
  ck_assert(x[0] == 9 && x[5] == 9); /* untouched */
  SPDT_FAILS(SPD_E_INVALID, spd_generator_decode(g, z, 0, x));
  SPDT_FAILS(SPD_E_INVALID, spd_generator_decode(g, NULL, 1, x));
  SPDT_FAILS(SPD_E_INVALID, spd_generator_decode(NULL, z, 1, x));
  SPDT_FAILS(SPD_E_OVERFLOW, spd_generator_decode(g, z, SIZE_MAX / 2, x));
  spd_rng *r;
  SPDT_OK(spd_rng_create(1, &r));
  SPDT_FAILS(SPD_E_INVALID, spd_generator_sample(g, NULL, 1, x));
  SPDT_FAILS(SPD_E_INVALID, spd_generator_sample(g, r, 0, x));
  SPDT_FAILS(SPD_E_OVERFLOW, spd_generator_sample(g, r, SIZE_MAX / 2, x));
  SPDT_FAILS(SPD_E_DOMAIN, spd_generator_set_bn_momentum(g, 1.5));
  SPDT_FAILS(SPD_E_INVALID, spd_generator_save(g, NULL));
  SPDT_FAILS(SPD_E_INVALID, spd_generator_load(NULL, &g));

  /* The tape forward pass records shape errors in the tape. */
  spd_tape *t;
  SPDT_OK(spd_tape_create(&t));
  size_t bad_shape[2] = {2, 3};
  ck_assert_ptr_null(spd_generator_forward(t, g, spd_leaf(t, 2, bad_shape, NULL, 0), 1));
  ck_assert_int_eq(spd_tape_status(t), SPD_E_SHAPE);
  spd_tape_reset(t);
  ck_assert_ptr_null(spd_generator_forward(t, NULL, spd_leaf(t, 2, bad_shape, NULL, 0), 1));
  ck_assert_int_eq(spd_tape_status(t), SPD_E_INVALID);
  spd_tape_free(t);
  spd_rng_free(r);
  spd_generator_free(g);
  ck_assert_uint_eq(spdi_live_blocks(), 0);
}
END_TEST

Suite *spdt_suite(void)
{
  Suite *s = suite_create("generator");
  SPDT_ADD(s, linear_is_a_matrix, 30);
  SPDT_ADD(s, mlp_outputs_and_activation, 30);
  SPDT_ADD(s, conv_sizes, 60);
  SPDT_ADD(s, paper_decoder_layers, 30);
  SPDT_ADD(s, sample_is_normal_then_decode, 30);
  SPDT_ADD(s, threads_do_not_change_outputs, 60);
  SPDT_ADD(s, save_load_round_trip_is_bitwise, 60);
  SPDT_ADD(s, damaged_files_are_rejected, 120);
  SPDT_ADD(s, bad_input, 30);
  return s;
}
