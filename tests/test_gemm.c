/* The internal GEMM entry point against a naive double-precision product. */
#include "harness.h"
#include "gemm.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Reference: C = alpha op(A) op(B) + beta C, row-major, in double. */
static void naive(bool ta, bool tb, size_t m, size_t n, size_t k, double alpha,
                  const float *a, size_t lda, const float *b, size_t ldb,
                  double beta, const float *c0, double *c, size_t ldc)
{
  for (size_t i = 0; i < m; i++)
    for (size_t j = 0; j < n; j++) {
      double s = 0;
      for (size_t p = 0; p < k; p++) {
        double av = ta ? a[p * lda + i] : a[i * lda + p];
        double bv = tb ? b[j * ldb + p] : b[p * ldb + j];
        s += av * bv;
      }
      c[i * ldc + j] = alpha * s + (beta != 0 ? beta * c0[i * ldc + j] : 0);
    }
}

static float *random_matrix(spd_rng *rng, size_t count)
{
  float *x = malloc(count * sizeof *x);
  ck_assert_ptr_nonnull(x);
  SPDT_OK(spd_rng_normal(rng, x, count));
  return x;
}

START_TEST(sgemm_all_transposes_with_padding)
{
  spd_rng *rng = NULL;
  SPDT_OK(spd_rng_create(3, &rng));
  const size_t m = 37, n = 23, k = 51, pad = 5;
  for (int ta = 0; ta < 2; ta++)
    for (int tb = 0; tb < 2; tb++) {
      size_t lda = (ta ? m : k) + pad, ldb = (tb ? k : n) + pad, ldc = n + pad;
      float *a = random_matrix(rng, (ta ? k : m) * lda);
      float *b = random_matrix(rng, (tb ? n : k) * ldb);
      float *c = random_matrix(rng, m * ldc);
      float *c0 = malloc(m * ldc * sizeof *c0);
      double *want = malloc(m * ldc * sizeof *want);
      memcpy(c0, c, m * ldc * sizeof *c);
      spdi_sgemm(ta, tb, m, n, k, 0.5f, a, lda, b, ldb, 2.0f, c, ldc);
      naive(ta, tb, m, n, k, 0.5, a, lda, b, ldb, 2.0, c0, want, ldc);
      for (size_t i = 0; i < m; i++) {
        for (size_t j = 0; j < n; j++)
          /* float sums of 51 products of N(0,1): error ~ 1e-5 absolute */
          SPDT_CLOSE(c[i * ldc + j], want[i * ldc + j], 1e-5, 1e-4);
        for (size_t j = n; j < ldc; j++) /* padding untouched */
          ck_assert(c[i * ldc + j] == c0[i * ldc + j]);
      }
      free(a);
      free(b);
      free(c);
      free(c0);
      free(want);
    }
  spd_rng_free(rng);
}
END_TEST

START_TEST(beta_zero_ignores_nan_in_c)
{
  float a[4] = { 1, 2, 3, 4 }, b[4] = { 1, 0, 0, 1 };
  float c[4] = { NAN, NAN, NAN, NAN };
  spdi_sgemm(false, false, 2, 2, 2, 1.0f, a, 2, b, 2, 0.0f, c, 2);
  for (int i = 0; i < 4; i++)
    ck_assert(c[i] == a[i]);
  /* k == 0: C = beta C */
  float d[2] = { 3, 4 };
  spdi_sgemm(false, false, 1, 2, 0, 1.0f, a, 1, b, 2, 0.5f, d, 2);
  ck_assert(d[0] == 1.5f && d[1] == 2.0f);
}
END_TEST

START_TEST(dgemm_matches)
{
  double a[6] = { 1, 2, 3, 4, 5, 6 }; /* 2 x 3 */
  double b[6] = { 1, 0, 0, 1, 1, 1 }; /* 3 x 2 */
  double c[4];
  spdi_dgemm(false, false, 2, 2, 3, 1.0, a, 3, b, 2, 0.0, c, 2);
  ck_assert(c[0] == 4 && c[1] == 5 && c[2] == 10 && c[3] == 11);
  /* op(A) = A^T (3 x 2), op(B) = B^T (2 x 3): element (i, j) = sum_p a[p][i] b[j][p] */
  double t[9];
  spdi_dgemm(true, true, 3, 3, 2, 1.0, a, 3, b, 2, 0.0, t, 3);
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 3; j++)
      ck_assert(t[i * 3 + j] == a[i] * b[j * 2] + a[3 + i] * b[j * 2 + 1]);
}
END_TEST

START_TEST(thread_count_does_not_change_result)
{
  spd_rng *rng = NULL;
  SPDT_OK(spd_rng_create(4, &rng));
  const size_t m = 301, n = 257, k = 513;
  float *a = random_matrix(rng, m * k), *b = random_matrix(rng, k * n);
  float *c1 = calloc(m * n, sizeof *c1), *c2 = calloc(m * n, sizeof *c2);
  SPDT_OK(spd_set_num_threads(1));
  spdi_sgemm(false, true, m, n, k, 1.0f, a, k, b, k, 0.0f, c1, n);
  SPDT_OK(spd_set_num_threads(2));
  spdi_sgemm(false, true, m, n, k, 1.0f, a, k, b, k, 0.0f, c2, n);
  SPDT_OK(spd_set_num_threads(1));
  ck_assert_mem_eq(c1, c2, m * n * sizeof *c1);
  free(a);
  free(b);
  free(c1);
  free(c2);
  spd_rng_free(rng);
}
END_TEST

Suite *spdt_suite(void)
{
  Suite *s = suite_create("gemm");
  SPDT_ADD(s, sgemm_all_transposes_with_padding, 30);
  SPDT_ADD(s, beta_zero_ignores_nan_in_c, 10);
  SPDT_ADD(s, dgemm_matches, 10);
  SPDT_ADD(s, thread_count_does_not_change_result, 60);
  return s;
}
