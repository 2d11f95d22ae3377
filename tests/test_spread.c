/* Spread kernels: creation and argument checks, parameters and scale,
 * sampling (reproducibility, raw-noise split, moments, thread count),
 * log-densities against dense formulas, gradients against finite
 * differences, Fourier transforms against closed forms and samples. */
#include "harness.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { NKERNELS = 5 };
static const double PI = 3.14159265358979323846;
static const double DIAG_SIGMA[3] = { 0.5, 1.0, 2.0 };
static const double DIAG_B[3] = { 0.3, 0.8, 1.5 };
/* 3 x 2, row-major */
static const float LOWRANK_L[6] = { 0.6f, -0.2f, 0.3f, 0.9f, -0.5f, 0.4f };

/* Kernel i of the five kinds, in dimension 3. */
static spd_spread *make_kernel(int i)
{
  spd_spread *s = NULL;
  switch (i) {
  case 0: SPDT_OK(spd_spread_create_gaussian(3, 0.7, &s)); break;
  case 1: SPDT_OK(spd_spread_create_gaussian_diag(3, DIAG_SIGMA, &s)); break;
  case 2: SPDT_OK(spd_spread_create_gaussian_lowrank(3, 2, 0.5, LOWRANK_L, &s)); break;
  case 3: SPDT_OK(spd_spread_create_laplace(3, 0.6, &s)); break;
  default: SPDT_OK(spd_spread_create_laplace_diag(3, DIAG_B, &s)); break;
  }
  return s;
}

static float *normal_array(uint64_t seed, size_t n, float scale)
{
  float *x = malloc(n * sizeof *x);
  ck_assert_ptr_nonnull(x);
  spd_rng *rng = NULL;
  SPDT_OK(spd_rng_create(seed, &rng));
  SPDT_OK(spd_rng_normal(rng, x, n));
  for (size_t i = 0; i < n; i++)
    x[i] *= scale;
  spd_rng_free(rng);
  return x;
}

/* Dense covariance of a Gaussian kernel i (3 x 3), for reference checks. */
static void dense_cov(int i, double C[9])
{
  for (int a = 0; a < 9; a++)
    C[a] = 0;
  for (int a = 0; a < 3; a++) {
    double sd = i == 0 ? 0.7 : i == 1 ? DIAG_SIGMA[a] : 0.5;
    C[a * 3 + a] = sd * sd;
  }
  if (i == 2)
    for (int a = 0; a < 3; a++)
      for (int b = 0; b < 3; b++)
        for (int r = 0; r < 2; r++)
          C[a * 3 + b] += (double)LOWRANK_L[a * 2 + r] * LOWRANK_L[b * 2 + r];
}

/* 3 x 3 inverse and log-determinant by cofactors (reference only). */
static double inv3(const double C[9], double Ci[9])
{
  double det = C[0] * (C[4] * C[8] - C[5] * C[7]) - C[1] * (C[3] * C[8] - C[5] * C[6]) +
               C[2] * (C[3] * C[7] - C[4] * C[6]);
  Ci[0] = (C[4] * C[8] - C[5] * C[7]) / det;
  Ci[1] = (C[2] * C[7] - C[1] * C[8]) / det;
  Ci[2] = (C[1] * C[5] - C[2] * C[4]) / det;
  Ci[3] = (C[5] * C[6] - C[3] * C[8]) / det;
  Ci[4] = (C[0] * C[8] - C[2] * C[6]) / det;
  Ci[5] = (C[2] * C[3] - C[0] * C[5]) / det;
  Ci[6] = (C[3] * C[7] - C[4] * C[6]) / det;
  Ci[7] = (C[1] * C[6] - C[0] * C[7]) / det;
  Ci[8] = (C[0] * C[4] - C[1] * C[3]) / det;
  return log(det);
}

/* log K(y|x) by the textbook formula, in double. */
static double ref_log_density(int i, const float *y, const float *x)
{
  double d[3];
  for (int a = 0; a < 3; a++)
    d[a] = (double)y[a] - x[a];
  if (i >= 3) {
    double acc = 0;
    for (int a = 0; a < 3; a++) {
      double b = i == 3 ? 0.6 : DIAG_B[a];
      acc += -log(2 * b) - fabs(d[a]) / b;
    }
    return acc;
  }
  double C[9], Ci[9];
  dense_cov(i, C);
  double logdet = inv3(C, Ci), quad = 0;
  for (int a = 0; a < 3; a++)
    for (int b = 0; b < 3; b++)
      quad += d[a] * Ci[a * 3 + b] * d[b];
  return -0.5 * (3 * log(2 * PI) + logdet + quad);
}

START_TEST(create_rejects_bad_input)
{
  static char dummy;
  spd_spread *const sentinel = (spd_spread *)&dummy; /* must stay untouched */
  spd_spread *s = sentinel;
  const double bad_diag[3] = { 1, 0, 1 }, nan_diag[3] = { 1, NAN, 1 };
  const float bad_L[6] = { 1, 2, NAN, 4, 5, 6 };
  SPDT_FAILS(SPD_E_INVALID, spd_spread_create_gaussian(3, 1.0, NULL));
  SPDT_FAILS(SPD_E_INVALID, spd_spread_create_gaussian(0, 1.0, &s));
  SPDT_FAILS(SPD_E_DOMAIN, spd_spread_create_gaussian(3, 0.0, &s));
  SPDT_FAILS(SPD_E_DOMAIN, spd_spread_create_gaussian(3, -1.0, &s));
  SPDT_FAILS(SPD_E_DOMAIN, spd_spread_create_gaussian(3, NAN, &s));
  SPDT_FAILS(SPD_E_DOMAIN, spd_spread_create_gaussian(3, INFINITY, &s));
  SPDT_FAILS(SPD_E_DOMAIN, spd_spread_create_laplace(3, 0.0, &s));
  SPDT_FAILS(SPD_E_INVALID, spd_spread_create_laplace(0, 1.0, &s));
  SPDT_FAILS(SPD_E_INVALID, spd_spread_create_gaussian_diag(3, NULL, &s));
  SPDT_FAILS(SPD_E_INVALID, spd_spread_create_gaussian_diag(0, DIAG_SIGMA, &s));
  SPDT_FAILS(SPD_E_DOMAIN, spd_spread_create_gaussian_diag(3, bad_diag, &s));
  SPDT_FAILS(SPD_E_DOMAIN, spd_spread_create_laplace_diag(3, nan_diag, &s));
  SPDT_FAILS(SPD_E_INVALID, spd_spread_create_gaussian_lowrank(3, 2, 1.0, NULL, &s));
  SPDT_FAILS(SPD_E_INVALID, spd_spread_create_gaussian_lowrank(3, 0, 1.0, LOWRANK_L, &s));
  SPDT_FAILS(SPD_E_INVALID, spd_spread_create_gaussian_lowrank(0, 2, 1.0, LOWRANK_L, &s));
  SPDT_FAILS(SPD_E_DOMAIN, spd_spread_create_gaussian_lowrank(3, 2, 0.0, LOWRANK_L, &s));
  SPDT_FAILS(SPD_E_DOMAIN, spd_spread_create_gaussian_lowrank(3, 2, 1.0, bad_L, &s));
  SPDT_FAILS(SPD_E_OVERFLOW,
             spd_spread_create_gaussian_lowrank(SIZE_MAX / 2, 4, 1.0, LOWRANK_L, &s));
  ck_assert_ptr_eq(s, sentinel);
  spd_spread_free(NULL);
}
END_TEST

START_TEST(accessors)
{
  const size_t params[NKERNELS] = { 1, 3, 7, 1, 3 };
  const size_t width[NKERNELS] = { 3, 3, 5, 3, 3 };
  const int kind[NKERNELS] = { SPD_SPREAD_GAUSSIAN, SPD_SPREAD_GAUSSIAN_DIAG,
                               SPD_SPREAD_GAUSSIAN_LOWRANK, SPD_SPREAD_LAPLACE,
                               SPD_SPREAD_LAPLACE_DIAG };
  for (int i = 0; i < NKERNELS; i++) {
    spd_spread *s = make_kernel(i);
    ck_assert_int_eq(spd_spread_get_kind(s), kind[i]);
    ck_assert_uint_eq(spd_spread_dim(s), 3);
    ck_assert_uint_eq(spd_spread_rank(s), i == 2 ? 2 : 0);
    ck_assert_uint_eq(spd_spread_num_params(s), params[i]);
    ck_assert_uint_eq(spd_spread_noise_width(s), width[i]);
    spd_spread_free(s);
  }
  ck_assert_int_eq(spd_spread_get_kind(NULL), 0);
  ck_assert_uint_eq(spd_spread_dim(NULL), 0);
  ck_assert_uint_eq(spd_spread_rank(NULL), 0);
  ck_assert_uint_eq(spd_spread_num_params(NULL), 0);
  ck_assert_uint_eq(spd_spread_noise_width(NULL), 0);
}
END_TEST

START_TEST(params_roundtrip_and_clone)
{
  for (int i = 0; i < NKERNELS; i++) {
    spd_spread *s = make_kernel(i), *c = NULL;
    float p[7], q[7], bad[7];
    size_t np = spd_spread_num_params(s);
    SPDT_OK(spd_spread_get_params(s, p));
    if (i == 2) { /* layout: sigma, then L row-major */
      ck_assert_float_eq(p[0], 0.5f);
      ck_assert_mem_eq(p + 1, LOWRANK_L, sizeof LOWRANK_L);
    }
    SPDT_OK(spd_spread_clone(s, &c));
    for (size_t k = 0; k < np; k++)
      q[k] = p[k] * 1.25f;
    SPDT_OK(spd_spread_set_params(s, q));
    SPDT_OK(spd_spread_get_params(s, p));
    ck_assert_mem_eq(p, q, np * sizeof *p);
    /* the clone kept the old values */
    SPDT_OK(spd_spread_get_params(c, p));
    for (size_t k = 0; k < np; k++)
      ck_assert_float_eq(p[k] * 1.25f, q[k]);
    /* invalid parameters leave the spread unchanged */
    memcpy(bad, q, sizeof bad);
    bad[0] = -1;
    SPDT_FAILS(SPD_E_DOMAIN, spd_spread_set_params(s, bad));
    bad[0] = NAN;
    SPDT_FAILS(SPD_E_DOMAIN, spd_spread_set_params(s, bad));
    if (i == 2) {
      memcpy(bad, q, sizeof bad);
      bad[3] = INFINITY;
      SPDT_FAILS(SPD_E_DOMAIN, spd_spread_set_params(s, bad));
    }
    SPDT_OK(spd_spread_get_params(s, p));
    ck_assert_mem_eq(p, q, np * sizeof *p);
    SPDT_FAILS(SPD_E_INVALID, spd_spread_set_params(s, NULL));
    SPDT_FAILS(SPD_E_INVALID, spd_spread_get_params(NULL, p));
    SPDT_FAILS(SPD_E_INVALID, spd_spread_clone(s, NULL));
    spd_spread_free(s);
    spd_spread_free(c);
  }
}
END_TEST

START_TEST(scale_semantics)
{
  double v;
  spd_spread *s = make_kernel(0);
  SPDT_OK(spd_spread_get_scale(s, &v));
  ck_assert_double_eq(v, 0.7);
  SPDT_OK(spd_spread_set_scale(s, 0.35));
  SPDT_OK(spd_spread_get_scale(s, &v));
  ck_assert_double_eq(v, 0.35);
  SPDT_FAILS(SPD_E_DOMAIN, spd_spread_set_scale(s, 0));
  SPDT_FAILS(SPD_E_DOMAIN, spd_spread_set_scale(s, NAN));
  SPDT_FAILS(SPD_E_INVALID, spd_spread_get_scale(s, NULL));
  SPDT_OK(spd_spread_get_scale(s, &v));
  ck_assert_double_eq(v, 0.35);
  spd_spread_free(s);

  /* diagonal: the geometric mean; setting it keeps the ratios */
  s = make_kernel(1);
  SPDT_OK(spd_spread_get_scale(s, &v));
  SPDT_CLOSE(v, 1.0, 1e-15, 0); /* (0.5 * 1 * 2)^(1/3) */
  SPDT_OK(spd_spread_set_scale(s, 0.5));
  float p[3];
  SPDT_OK(spd_spread_get_params(s, p));
  SPDT_CLOSE(p[0], 0.25, 1e-7, 0);
  SPDT_CLOSE(p[1], 0.5, 1e-7, 0);
  SPDT_CLOSE(p[2], 1.0, 1e-7, 0);
  spd_spread_free(s);

  /* low-rank: sigma changes, L does not, the density follows */
  s = make_kernel(2);
  SPDT_OK(spd_spread_set_scale(s, 0.25));
  float q[7];
  SPDT_OK(spd_spread_get_params(s, q));
  ck_assert_float_eq(q[0], 0.25f);
  ck_assert_mem_eq(q + 1, LOWRANK_L, sizeof LOWRANK_L);
  spd_spread *t = NULL;
  SPDT_OK(spd_spread_create_gaussian_lowrank(3, 2, 0.25, LOWRANK_L, &t));
  const float y[3] = { 0.3f, -0.1f, 0.2f }, x[3] = { 0, 0, 0 };
  double a, b;
  SPDT_OK(spd_spread_log_density(s, y, x, 1, &a));
  SPDT_OK(spd_spread_log_density(t, y, x, 1, &b));
  ck_assert_double_eq(a, b);
  spd_spread_free(s);
  spd_spread_free(t);
}
END_TEST

START_TEST(sample_reproducible_and_split)
{
  const size_t n = 1001; /* several chunks of 256, not a multiple of 4 */
  for (int i = 0; i < NKERNELS; i++) {
    spd_spread *s = make_kernel(i);
    const size_t w = spd_spread_noise_width(s);
    float *x = normal_array(1, n * 3, 2.0f);
    float *y1 = malloc(n * 3 * sizeof *y1), *y2 = malloc(n * 3 * sizeof *y2);
    float *y3 = malloc(n * 3 * sizeof *y3), *raw = malloc(n * w * sizeof *raw);
    spd_rng *a = NULL, *b = NULL;
    SPDT_OK(spd_rng_create(42, &a));
    SPDT_OK(spd_rng_create(42, &b));
    SPDT_OK(spd_spread_sample(s, a, x, n, y1));
    /* draw + apply is the same, bit for bit */
    SPDT_OK(spd_spread_draw_noise(s, b, n, raw));
    SPDT_OK(spd_spread_apply_noise(s, x, raw, n, y2));
    ck_assert_mem_eq(y1, y2, n * 3 * sizeof *y1);
    uint64_t pa, pb;
    SPDT_OK(spd_rng_get_state(a, NULL, NULL, &pa));
    SPDT_OK(spd_rng_get_state(b, NULL, NULL, &pb));
    ck_assert_uint_eq(pa, pb);
    ck_assert_uint_eq(pa, (n * w + 3) / 4);
    /* in place gives the same */
    memcpy(y3, x, n * 3 * sizeof *x);
    SPDT_OK(spd_rng_set_state(a, 42, 0, 0));
    SPDT_OK(spd_spread_sample(s, a, y3, n, y3));
    ck_assert_mem_eq(y1, y3, n * 3 * sizeof *y1);
    /* and so does a different thread count */
    SPDT_OK(spd_set_num_threads(2));
    SPDT_OK(spd_rng_set_state(a, 42, 0, 0));
    SPDT_OK(spd_spread_sample(s, a, x, n, y3));
    SPDT_OK(spd_set_num_threads(1));
    ck_assert_mem_eq(y1, y3, n * 3 * sizeof *y1);
    spd_rng_free(a);
    spd_rng_free(b);
    free(x), free(y1), free(y2), free(y3), free(raw);
    spd_spread_free(s);
  }
}
END_TEST

START_TEST(sample_moments)
{
  /* Noise covariance (and Laplace's variance 2 b^2) from 2^16 draws; the
   * bound is 6 standard errors of each second moment. */
  const size_t n = 1u << 16;
  float *x = calloc(n * 3, sizeof *x), *y = malloc(n * 3 * sizeof *y);
  ck_assert_ptr_nonnull(x);
  ck_assert_ptr_nonnull(y);
  for (int i = 0; i < NKERNELS; i++) {
    spd_spread *s = make_kernel(i);
    spd_rng *rng = NULL;
    SPDT_OK(spd_rng_create(7 + (uint64_t)i, &rng));
    SPDT_OK(spd_spread_sample(s, rng, x, n, y));
    double C[9];
    if (i < 3) {
      dense_cov(i, C);
    } else {
      for (int a = 0; a < 9; a++)
        C[a] = 0;
      for (int a = 0; a < 3; a++) {
        double b = i == 3 ? 0.6 : DIAG_B[a];
        C[a * 3 + a] = 2 * b * b;
      }
    }
    for (int a = 0; a < 3; a++)
      for (int b = 0; b < 3; b++) {
        double m = 0;
        for (size_t k = 0; k < n; k++)
          m += (double)y[k * 3 + a] * y[k * 3 + b];
        m /= (double)n;
        /* Var(y_a y_b) <= kurtosis-bounded C_aa C_bb (6 for Laplace) */
        double se = sqrt(6 * C[a * 4] * C[b * 4] / (double)n);
        ck_assert_msg(fabs(m - C[a * 3 + b]) < 6 * se, "kernel %d C[%d][%d] = %g, want %g",
                      i, a, b, m, C[a * 3 + b]);
      }
    spd_rng_free(rng);
    spd_spread_free(s);
  }
  free(x);
  free(y);
}
END_TEST

START_TEST(log_density_matches_dense_formula)
{
  const size_t n = 50;
  float *x = normal_array(3, n * 3, 1.0f), *y = normal_array(4, n * 3, 1.5f);
  double lp[50];
  for (int i = 0; i < NKERNELS; i++) {
    spd_spread *s = make_kernel(i);
    SPDT_OK(spd_spread_log_density(s, y, x, n, lp));
    for (size_t k = 0; k < n; k++) /* double throughout: 1e-12 */
      SPDT_CLOSE(lp[k], ref_log_density(i, y + 3 * k, x + 3 * k), 1e-12, 1e-12);
    spd_spread_free(s);
  }
  free(x);
  free(y);
}
END_TEST

START_TEST(lowrank_woodbury_at_image_size)
{
  /* dim 12288 (64x64x3), rank 100. With orthogonal columns L e_j = c_j
   * e_{k_j}, Sigma is diagonal, so the diagonal Gaussian is an exact
   * reference for the Woodbury log-density and its gradients. */
  const size_t dim = 12288, rank = 100;
  float *L = calloc(dim * rank, sizeof *L);
  double *sd = malloc(dim * sizeof *sd);
  ck_assert_ptr_nonnull(L);
  ck_assert_ptr_nonnull(sd);
  const double sigma = 0.3;
  for (size_t i = 0; i < dim; i++)
    sd[i] = sigma;
  for (size_t j = 0; j < rank; j++) {
    size_t row = (j * 97) % dim;
    float c = 0.1f + 0.01f * (float)j;
    L[row * rank + j] = c;
    sd[row] = sqrt(sigma * sigma + (double)c * c);
  }
  spd_spread *lr = NULL, *dg = NULL;
  SPDT_OK(spd_spread_create_gaussian_lowrank(dim, rank, sigma, L, &lr));
  SPDT_OK(spd_spread_create_gaussian_diag(dim, sd, &dg));
  const size_t n = 2;
  float *x = normal_array(5, n * dim, 1.0f), *y = normal_array(6, n * dim, 1.0f);
  float *g1 = malloc(n * dim * sizeof *g1), *g2 = malloc(n * dim * sizeof *g2);
  double a[2], b[2];
  SPDT_OK(spd_spread_log_density_grad(lr, y, x, n, a, g1, NULL, NULL));
  SPDT_OK(spd_spread_log_density_grad(dg, y, x, n, b, g2, NULL, NULL));
  for (size_t k = 0; k < n; k++) /* sums of 12288 terms in double */
    SPDT_CLOSE(a[k], b[k], 1e-11, 1e-9);
  for (size_t k = 0; k < n * dim; k++)
    SPDT_CLOSE(g1[k], g2[k], 1e-5, 1e-5);
  spd_spread_free(lr);
  spd_spread_free(dg);
  free(L), free(sd), free(x), free(y), free(g1), free(g2);
}
END_TEST

START_TEST(log_density_gradients_match_finite_differences)
{
  /* Central differences in double on the double-precision log-density:
   * the Gaussian is quadratic in y and x, so steps of 2^-8 are exact up
   * to rounding; parameters use a relative step 2^-10 (error ~1e-6). */
  const size_t n = 4;
  float *x = normal_array(8, n * 3, 1.0f), *y = normal_array(9, n * 3, 1.2f);
  for (int i = 0; i < NKERNELS; i++) {
    spd_spread *s = make_kernel(i);
    const size_t np = spd_spread_num_params(s);
    float gy[12], gx[12], gp[7], p[7], pp[7];
    double lp[4], lo[4], hi[4];
    SPDT_OK(spd_spread_log_density_grad(s, y, x, n, lp, gy, gx, gp));
    const float h = 1.0f / 256;
    for (size_t k = 0; k < n * 3; k++) {
      float keep = y[k];
      y[k] = keep + h;
      SPDT_OK(spd_spread_log_density(s, y, x, n, hi));
      y[k] = keep - h;
      SPDT_OK(spd_spread_log_density(s, y, x, n, lo));
      y[k] = keep;
      double fd = (hi[k / 3] - lo[k / 3]) / (2.0 * h);
      SPDT_CLOSE(gy[k], fd, 1e-5, 1e-5);
      ck_assert_float_eq(gx[k], -gy[k]);
    }
    SPDT_OK(spd_spread_get_params(s, p));
    for (size_t k = 0; k < np; k++) {
      float step = fabsf(p[k]) > 0.1f ? fabsf(p[k]) / 1024 : 1.0f / 1024;
      memcpy(pp, p, sizeof pp);
      pp[k] = p[k] + step;
      SPDT_OK(spd_spread_set_params(s, pp));
      SPDT_OK(spd_spread_log_density(s, y, x, n, hi));
      pp[k] = p[k] - step;
      SPDT_OK(spd_spread_set_params(s, pp));
      SPDT_OK(spd_spread_log_density(s, y, x, n, lo));
      SPDT_OK(spd_spread_set_params(s, p));
      double fd = 0;
      for (size_t r = 0; r < n; r++)
        fd += (hi[r] - lo[r]) / ((double)(p[k] + step) - (double)(p[k] - step));
      SPDT_CLOSE(gp[k], fd, 1e-4, 1e-4);
    }
    spd_spread_free(s);
  }
  free(x);
  free(y);
}
END_TEST

START_TEST(density_thread_count_independent)
{
  /* Rows are split over threads and parameter gradients summed by chunk:
   * 1 and 2 threads must agree to the bit (low-rank: GEMM accumulation). */
  const size_t n = 1000;
  float *x = normal_array(30, n * 3, 1.0f), *y = normal_array(31, n * 3, 1.0f);
  float *g1 = malloc(n * 3 * sizeof *g1), *g2 = malloc(n * 3 * sizeof *g2);
  double *l1 = malloc(n * sizeof *l1), *l2 = malloc(n * sizeof *l2);
  for (int i = 0; i < NKERNELS; i++) {
    spd_spread *s = make_kernel(i);
    float p1[7], p2[7];
    SPDT_OK(spd_spread_log_density_grad(s, y, x, n, l1, g1, NULL, p1));
    SPDT_OK(spd_set_num_threads(2));
    SPDT_OK(spd_spread_log_density_grad(s, y, x, n, l2, g2, NULL, p2));
    SPDT_OK(spd_set_num_threads(1));
    ck_assert_mem_eq(l1, l2, n * sizeof *l1);
    ck_assert_mem_eq(g1, g2, n * 3 * sizeof *g1);
    ck_assert_mem_eq(p1, p2, spd_spread_num_params(s) * sizeof *p1);
    spd_spread_free(s);
  }
  free(x), free(y), free(g1), free(g2), free(l1), free(l2);
}
END_TEST

START_TEST(noise_gradient_matches_finite_differences)
{
  /* l(y) = sum w . y is linear in the noise parameters, so central
   * differences are exact up to float rounding of y. */
  const size_t n = 20;
  float *x = normal_array(10, n * 3, 1.0f), *w = normal_array(11, n * 3, 1.0f);
  for (int i = 0; i < NKERNELS; i++) {
    spd_spread *s = make_kernel(i);
    const size_t np = spd_spread_num_params(s), width = spd_spread_noise_width(s);
    float *raw = malloc(n * width * sizeof *raw), y[60], gp[7], p[7], pp[7];
    spd_rng *rng = NULL;
    SPDT_OK(spd_rng_create(12, &rng));
    SPDT_OK(spd_spread_draw_noise(s, rng, n, raw));
    SPDT_OK(spd_spread_apply_noise_grad(s, raw, n, w, gp));
    SPDT_OK(spd_spread_get_params(s, p));
    for (size_t k = 0; k < np; k++) {
      double l[2];
      for (int side = 0; side < 2; side++) {
        memcpy(pp, p, sizeof pp);
        pp[k] = p[k] + (side ? 0.125f : -0.125f);
        SPDT_OK(spd_spread_set_params(s, pp));
        SPDT_OK(spd_spread_apply_noise(s, x, raw, n, y));
        l[side] = 0;
        for (size_t r = 0; r < n * 3; r++)
          l[side] += (double)w[r] * y[r];
      }
      SPDT_OK(spd_spread_set_params(s, p));
      SPDT_CLOSE(gp[k], (l[1] - l[0]) / 0.25, 1e-4, 1e-4);
    }
    spd_rng_free(rng);
    free(raw);
    spd_spread_free(s);
  }
  free(x);
  free(w);
}
END_TEST

START_TEST(fourier_transform)
{
  const float omega[3] = { 0.7f, -1.1f, 0.4f };
  for (int i = 0; i < NKERNELS; i++) {
    spd_spread *s = make_kernel(i);
    double ft, want = 1;
    SPDT_OK(spd_spread_fourier(s, omega, &ft));
    if (i < 3) {
      double C[9], q = 0;
      dense_cov(i, C);
      for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++)
          q += omega[a] * C[a * 3 + b] * omega[b];
      want = exp(-0.5 * q);
    } else {
      for (int a = 0; a < 3; a++) {
        double b = i == 3 ? 0.6 : DIAG_B[a];
        want /= 1 + b * b * omega[a] * omega[a];
      }
    }
    SPDT_CLOSE(ft, want, 1e-12, 0);
    ck_assert(ft > 0);
    /* E[cos(omega . noise)] over 2^15 samples: within 5 standard errors */
    const size_t n = 1u << 15;
    float *x = calloc(n * 3, sizeof *x), *y = malloc(n * 3 * sizeof *y);
    spd_rng *rng = NULL;
    SPDT_OK(spd_rng_create(20 + (uint64_t)i, &rng));
    SPDT_OK(spd_spread_sample(s, rng, x, n, y));
    double acc = 0;
    for (size_t k = 0; k < n; k++)
      acc += cos(omega[0] * y[3 * k] + omega[1] * y[3 * k + 1] + omega[2] * y[3 * k + 2]);
    ck_assert_double_le(fabs(acc / (double)n - ft), 5 / sqrt(2.0 * (double)n));
    spd_rng_free(rng);
    free(x);
    free(y);
    SPDT_FAILS(SPD_E_INVALID, spd_spread_fourier(s, NULL, &ft));
    const float bad[3] = { 0, NAN, 0 };
    SPDT_FAILS(SPD_E_DOMAIN, spd_spread_fourier(s, bad, &ft));
    spd_spread_free(s);
  }
}
END_TEST

START_TEST(calls_reject_bad_input)
{
  spd_spread *s = make_kernel(2);
  spd_rng *rng = NULL;
  SPDT_OK(spd_rng_create(1, &rng));
  float x[15] = { 0 }, y[15], raw[25], g[7];
  double lp[5] = { 7, 7, 7, 7, 7 };
  memset(y, 0x55, sizeof y);
  const float y0 = y[0];
  SPDT_FAILS(SPD_E_INVALID, spd_spread_sample(NULL, rng, x, 5, y));
  SPDT_FAILS(SPD_E_INVALID, spd_spread_sample(s, NULL, x, 5, y));
  SPDT_FAILS(SPD_E_INVALID, spd_spread_sample(s, rng, NULL, 5, y));
  SPDT_FAILS(SPD_E_INVALID, spd_spread_sample(s, rng, x, 0, y));
  SPDT_FAILS(SPD_E_INVALID, spd_spread_sample(s, rng, x, 5, x + 1)); /* partial overlap */
  SPDT_FAILS(SPD_E_OVERFLOW, spd_spread_sample(s, rng, x, SIZE_MAX / 2, y));
  x[4] = NAN;
  SPDT_FAILS(SPD_E_DOMAIN, spd_spread_sample(s, rng, x, 5, y));
  SPDT_FAILS(SPD_E_DOMAIN, spd_spread_log_density(s, y, x, 5, lp));
  x[4] = 0;
  uint64_t pos;
  SPDT_OK(spd_rng_get_state(rng, NULL, NULL, &pos));
  ck_assert_uint_eq(pos, 0); /* failures did not advance the generator */
  ck_assert_float_eq(y[0], y0);
  SPDT_FAILS(SPD_E_INVALID, spd_spread_draw_noise(s, rng, 0, raw));
  SPDT_FAILS(SPD_E_INVALID, spd_spread_draw_noise(s, rng, 5, NULL));
  SPDT_OK(spd_spread_draw_noise(s, rng, 5, raw));
  SPDT_FAILS(SPD_E_INVALID, spd_spread_apply_noise(s, x, raw, 5, raw + 2)); /* y over raw */
  SPDT_FAILS(SPD_E_INVALID, spd_spread_apply_noise(s, x, NULL, 5, y));
  raw[3] = INFINITY;
  SPDT_FAILS(SPD_E_DOMAIN, spd_spread_apply_noise(s, x, raw, 5, y));
  SPDT_FAILS(SPD_E_DOMAIN, spd_spread_apply_noise_grad(s, raw, 5, x, g));
  SPDT_FAILS(SPD_E_INVALID, spd_spread_apply_noise_grad(s, raw, 5, x, NULL));
  SPDT_FAILS(SPD_E_INVALID, spd_spread_log_density(s, y, x, 5, NULL));
  SPDT_FAILS(SPD_E_INVALID, spd_spread_log_density(s, NULL, x, 5, lp));
  SPDT_FAILS(SPD_E_INVALID, spd_spread_log_density(s, y, x, 0, lp));
  SPDT_FAILS(SPD_E_INVALID, spd_spread_log_density_grad(NULL, y, x, 5, lp, NULL, NULL, g));
  ck_assert_double_eq(lp[0], 7);
  spd_rng_free(rng);
  spd_spread_free(s);
}
END_TEST

Suite *spdt_suite(void)
{
  Suite *s = suite_create("spread");
  SPDT_ADD(s, create_rejects_bad_input, 10);
  SPDT_ADD(s, accessors, 10);
  SPDT_ADD(s, params_roundtrip_and_clone, 10);
  SPDT_ADD(s, scale_semantics, 10);
  SPDT_ADD(s, sample_reproducible_and_split, 30);
  SPDT_ADD(s, sample_moments, 60);
  SPDT_ADD(s, log_density_matches_dense_formula, 10);
  SPDT_ADD(s, lowrank_woodbury_at_image_size, 60);
  SPDT_ADD(s, log_density_gradients_match_finite_differences, 10);
  SPDT_ADD(s, density_thread_count_independent, 30);
  SPDT_ADD(s, noise_gradient_matches_finite_differences, 10);
  SPDT_ADD(s, fourier_transform, 60);
  SPDT_ADD(s, calls_reject_bad_input, 10);
  return s;
}
