/* MMD^2 with the spread's autocorrelation kernel: against brute force in
 * double, the L2 identity of MATH.md section 4 by numerical integration,
 * the GEMM path, thread-count independence, argument checks. */
#include "harness.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

static const double PI = 3.14159265358979323846;

static void fill(float *x, size_t n, uint64_t seed, float scale, float shift)
{
  spd_rng *rng = NULL;
  SPDT_OK(spd_rng_create(seed, &rng));
  SPDT_OK(spd_rng_normal(rng, x, n));
  for (size_t i = 0; i < n; i++)
    x[i] = scale * x[i] + shift;
  spd_rng_free(rng);
}

/* Reference kernels: Gaussian with precision P (d x d), or Laplace with
 * scales b; k2 normalised to 1 at 0. */
typedef struct {
  size_t d;
  bool laplace;
  double P[16];
  double b[4];
} kern;

static double k2(const kern *k, const float *x, const float *y)
{
  double acc = 0;
  if (k->laplace) {
    double prod = 1;
    for (size_t i = 0; i < k->d; i++) {
      double t = fabs((double)x[i] - y[i]) / k->b[i];
      prod *= (1 + t) * exp(-t);
    }
    return prod;
  }
  for (size_t i = 0; i < k->d; i++)
    for (size_t j = 0; j < k->d; j++)
      acc += ((double)x[i] - y[i]) * k->P[i * k->d + j] * ((double)x[j] - y[j]);
  return exp(-acc / 4);
}

static void ref_mmd(const kern *k, const float *xp, size_t np, const float *xq, size_t nq,
                    double *u, double *v)
{
  double spp = 0, sqq = 0, spq = 0;
  for (size_t i = 0; i < np; i++)
    for (size_t j = 0; j < np; j++)
      spp += i == j ? 0 : k2(k, xp + i * k->d, xp + j * k->d);
  for (size_t i = 0; i < nq; i++)
    for (size_t j = 0; j < nq; j++)
      sqq += i == j ? 0 : k2(k, xq + i * k->d, xq + j * k->d);
  for (size_t i = 0; i < np; i++)
    for (size_t j = 0; j < nq; j++)
      spq += k2(k, xp + i * k->d, xq + j * k->d);
  const double a = (double)np, b = (double)nq;
  *u = spp / (a * (a - 1)) + sqq / (b * (b - 1)) - 2 * spq / (a * b);
  *v = (spp + a) / (a * a) + (sqq + b) / (b * b) - 2 * spq / (a * b);
}

START_TEST(matches_brute_force)
{
  /* Five kernels in 3-D, 9 x 7 points. Float kernel values: 1e-6 of the
   * kernel sums (which are O(1) here), so an absolute 2e-6. */
  const double sd[3] = { 0.5, 1.0, 1.5 };
  const float L[6] = { 0.6f, -0.2f, 0.3f, 0.9f, -0.5f, 0.4f };
  float xp[27], xq[21];
  fill(xp, 27, 1, 1.0f, 0.0f);
  fill(xq, 21, 2, 1.0f, 0.4f);
  for (int ki = 0; ki < 5; ki++) {
    spd_spread *s = NULL;
    kern k = { 3, ki > 2, { 0 }, { 0 } };
    double C[9] = { 0 };
    for (int a = 0; a < 3; a++) {
      double v = ki == 0 ? 0.8 : ki == 1 ? sd[a] : ki == 2 ? 0.5 : ki == 3 ? 0.7 : sd[a];
      C[a * 4] = v * v;
      k.b[a] = v;
    }
    switch (ki) {
    case 0: SPDT_OK(spd_spread_create_gaussian(3, 0.8, &s)); break;
    case 1: SPDT_OK(spd_spread_create_gaussian_diag(3, sd, &s)); break;
    case 2: SPDT_OK(spd_spread_create_gaussian_lowrank(3, 2, 0.5, L, &s)); break;
    case 3: SPDT_OK(spd_spread_create_laplace(3, 0.7, &s)); break;
    default: SPDT_OK(spd_spread_create_laplace_diag(3, sd, &s)); break;
    }
    if (ki == 2)
      for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++)
          C[a * 3 + b] += (double)L[a * 2] * L[b * 2] + (double)L[a * 2 + 1] * L[b * 2 + 1];
    spdt_inverse3(C, k.P);
    double u, v, ru, rv;
    SPDT_OK(spd_mmd2(s, xp, 9, xq, 7, &u));
    SPDT_OK(spd_mmd2_biased(s, xp, 9, xq, 7, &v));
    ref_mmd(&k, xp, 9, xq, 7, &ru, &rv);
    SPDT_CLOSE(u, ru, 0, 2e-6);
    SPDT_CLOSE(v, rv, 0, 2e-6);
    spd_spread_free(s);
  }
}
END_TEST

/* Spread density (1-D or 2-D) of an empirical set at y. */
typedef struct {
  bool laplace;
  size_t d;
  double sd[2];
} dens;

static double density(const dens *k, const float *x, size_t n, const double *y)
{
  double acc = 0;
  for (size_t i = 0; i < n; i++) {
    double p = 1;
    for (size_t a = 0; a < k->d; a++) {
      double z = (y[a] - x[i * k->d + a]) / k->sd[a];
      p *= k->laplace ? exp(-fabs(z)) / (2 * k->sd[a])
                      : exp(-0.5 * z * z) / (sqrt(2 * PI) * k->sd[a]);
    }
    acc += p;
  }
  return acc / (double)n;
}

START_TEST(l2_identity)
{
  /* integral (p~ - q~)^2 = k2(0) MMD^2_biased, with k2(0) = (4 pi)^(-d/2)
   * det(Sigma)^(-1/2) (Gaussian) or prod 1 / (4 b_i) (Laplace). The
   * integral is a Simpson sum on [-12, 12]^d (1-D: 24000 intervals, 2-D:
   * 600^2; the Laplace kink makes the 2-D Laplace grid the least accurate,
   * hence the 1e-4 relative bound there). The library's kernel values are
   * float (1e-7 relative), so no bound is below 1e-6. */
  const float xp1[4] = { -0.5f, 0.3f, 1.2f, 0.1f }, xq1[3] = { 0.9f, 2.0f, -0.2f };
  const float xp2[6] = { 0.2f, -0.4f, 1.0f, 0.5f, -0.8f, 0.1f };
  const float xq2[4] = { 1.1f, 1.0f, 0.4f, -0.9f };
  struct { dens k; double rtol; } cases[4] = {
    { { false, 1, { 0.6, 0 } }, 1e-6 },
    { { true, 1, { 0.6, 0 } }, 1e-6 },
    { { false, 2, { 0.5, 0.9 } }, 1e-6 },
    { { true, 2, { 0.5, 0.9 } }, 1e-4 },
  };
  for (int c = 0; c < 4; c++) {
    const dens *k = &cases[c].k;
    const size_t d = k->d, np = d == 1 ? 4 : 3, nq = d == 1 ? 3 : 2;
    const float *xp = d == 1 ? xp1 : xp2, *xq = d == 1 ? xq1 : xq2;
    spd_spread *s = NULL;
    if (k->laplace)
      SPDT_OK(spd_spread_create_laplace_diag(d, k->sd, &s));
    else
      SPDT_OK(spd_spread_create_gaussian_diag(d, k->sd, &s));
    double v;
    SPDT_OK(spd_mmd2_biased(s, xp, np, xq, nq, &v));
    double k0 = 1;
    for (size_t a = 0; a < d; a++)
      k0 *= k->laplace ? 1 / (4 * k->sd[a]) : 1 / (sqrt(4 * PI) * k->sd[a]);
    const int n = d == 1 ? 24000 : 600;
    const double lo = -12, h = 24.0 / n;
    double integral = 0;
    for (int i = 0; i <= n; i++)
      for (int j = 0; j <= (d == 2 ? n : 0); j++) {
        double y[2] = { lo + i * h, lo + j * h };
        double w = (i == 0 || i == n ? 1 : i % 2 ? 4 : 2) * h / 3;
        if (d == 2)
          w *= (j == 0 || j == n ? 1 : j % 2 ? 4 : 2) * h / 3;
        double diff = density(k, xp, np, y) - density(k, xq, nq, y);
        integral += w * diff * diff;
      }
    SPDT_CLOSE(k0 * v, integral, cases[c].rtol, 1e-12);
    spd_spread_free(s);
  }
}
END_TEST

START_TEST(gemm_path_and_threads)
{
  /* 300 x 400 points in 40-D (GEMM path, several row chunks and tiles):
   * brute force agrees, and 1 and 2 threads agree to the bit. */
  const size_t np = 300, nq = 400, d = 40;
  float *xp = malloc(np * d * sizeof *xp), *xq = malloc(nq * d * sizeof *xq);
  fill(xp, np * d, 3, 0.2f, 0.0f);
  fill(xq, nq * d, 4, 0.2f, 0.05f);
  spd_spread *s = NULL;
  SPDT_OK(spd_spread_create_gaussian(d, 0.7, &s));
  double u1, u2, v1;
  SPDT_OK(spd_mmd2(s, xp, np, xq, nq, &u1));
  SPDT_OK(spd_mmd2_biased(s, xp, np, xq, nq, &v1));
  SPDT_OK(spd_set_num_threads(2));
  SPDT_OK(spd_mmd2(s, xp, np, xq, nq, &u2));
  SPDT_OK(spd_set_num_threads(1));
  ck_assert(u1 == u2);
  /* brute force, isotropic: k2 = exp(-|x - y|^2 / (4 sigma^2)) */
  const float *sets[2] = { xp, xq };
  const size_t ns[2] = { np, nq };
  double S[3] = { 0, 0, 0 }; /* pp (off-diagonal), qq (off-diagonal), pq */
  for (int a = 0; a < 2; a++)
    for (int b = a; b < 2; b++)
      for (size_t i = 0; i < ns[a]; i++)
        for (size_t j = 0; j < ns[b]; j++) {
          if (a == b && i == j)
            continue;
          double r2 = 0;
          for (size_t l = 0; l < d; l++) {
            double t = (double)sets[a][i * d + l] - sets[b][j * d + l];
            r2 += t * t;
          }
          S[a == b ? a : 2] += exp(-r2 / (4 * 0.49));
        }
  const double A = (double)np, B = (double)nq;
  const double ru = S[0] / (A * (A - 1)) + S[1] / (B * (B - 1)) - 2 * S[2] / (A * B);
  const double rv = (S[0] + A) / (A * A) + (S[1] + B) / (B * B) - 2 * S[2] / (A * B);
  SPDT_CLOSE(u1, ru, 0, 1e-6); /* float kernel values */
  SPDT_CLOSE(v1, rv, 0, 1e-6);
  spd_spread_free(s);
  free(xp);
  free(xq);
}
END_TEST

START_TEST(identical_sets_and_bad_input)
{
  float x[10];
  fill(x, 10, 5, 1.0f, 0.0f);
  spd_spread *s = NULL;
  SPDT_OK(spd_spread_create_gaussian(2, 0.5, &s));
  double v = 3;
  SPDT_OK(spd_mmd2_biased(s, x, 5, x, 5, &v));
  ck_assert_double_le(fabs(v), 1e-6); /* float kernel values on the diagonal */
  v = 3;
  SPDT_FAILS(SPD_E_INVALID, spd_mmd2(s, x, 1, x, 5, &v));
  SPDT_FAILS(SPD_E_INVALID, spd_mmd2(s, x, 5, x, 1, &v));
  SPDT_FAILS(SPD_E_INVALID, spd_mmd2_biased(s, x, 0, x, 5, &v));
  SPDT_FAILS(SPD_E_INVALID, spd_mmd2(NULL, x, 5, x, 5, &v));
  SPDT_FAILS(SPD_E_INVALID, spd_mmd2(s, NULL, 5, x, 5, &v));
  SPDT_FAILS(SPD_E_INVALID, spd_mmd2(s, x, 5, x, 5, NULL));
  SPDT_FAILS(SPD_E_OVERFLOW, spd_mmd2(s, x, SIZE_MAX / 2, x, 5, &v));
  x[3] = NAN;
  SPDT_FAILS(SPD_E_DOMAIN, spd_mmd2(s, x, 5, x, 5, &v));
  ck_assert_double_eq(v, 3);
  SPDT_OK(spd_mmd2_biased(s, x + 4, 1, x + 6, 2, &v)); /* np = 1 is fine for V */
  spd_spread_free(s);
}
END_TEST

Suite *spdt_suite(void)
{
  Suite *s = suite_create("mmd");
  SPDT_ADD(s, matches_brute_force, 10);
  SPDT_ADD(s, l2_identity, 60);
  SPDT_ADD(s, gemm_path_and_threads, 60);
  SPDT_ADD(s, identical_sets_and_bad_input, 10);
  return s;
}
