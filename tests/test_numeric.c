/* Numerical robustness at extreme but legal inputs: sigma 1e-6 and 1e6,
 * points 1e8 apart, dim 12288, a single point per set. Every call must
 * give a finite value close to the closed form, or one of its documented
 * errors (SPD_E_NUMERIC for an estimate that overflows a double), never
 * NaN. Closed forms, for Gaussian spreads N(0, s^2 I):
 *   log K(y | x) = -d/2 log(2 pi s^2) - |y - x|^2 / (2 s^2)
 *   KL between point masses a and b = |a - b|^2 / (2 s^2)
 *   JS between point masses far apart (> 40 s) = log 2 to double precision. */
#include "harness.h"

#include <math.h>
#include <stdlib.h>

#define LOG_2PI 1.8378770664093453

static double ref_log_density(size_t dim, double s, const float *y, const float *x)
{
  double q = 0;
  for (size_t i = 0; i < dim; i++) {
    double d = (double)y[i] - (double)x[i];
    q += d * d;
  }
  return -0.5 * (double)dim * (LOG_2PI + 2 * log(s)) - q / (2 * s * s);
}

static spd_spread *gauss(size_t dim, double s)
{
  spd_spread *sp = NULL;
  SPDT_OK(spd_spread_create_gaussian(dim, s, &sp));
  return sp;
}

static double delta(spd_fdiv_kind kind, spd_spread *s, const float *a, const float *b,
                    float *grad)
{
  spd_fdiv *f = NULL;
  SPDT_OK(spd_fdiv_create(kind, 0.0, &f));
  double v = NAN;
  SPDT_OK(spd_divergence_delta(f, s, a, b, &v, grad));
  spd_fdiv_free(f);
  ck_assert_msg(isfinite(v), "delta divergence %g", v);
  return v;
}

/* The estimate, or NAN when the call reported SPD_E_NUMERIC (documented). */
static double estimate(spd_fdiv_kind kind, spd_spread *s, const float *xp, size_t np,
                       const float *xq, size_t nq, float *grad)
{
  spd_fdiv *f = NULL;
  spd_estimator *e = NULL;
  SPDT_OK(spd_fdiv_create(kind, 0.0, &f));
  SPDT_OK(spd_estimator_create(f, s, 17, &e));
  SPDT_OK(spd_estimator_set_samples(e, 64));
  double v = -1234.5, se = -1;
  int st = spd_estimate(e, xp, np, xq, nq, &v, &se, grad);
  spd_estimator_free(e);
  spd_fdiv_free(f);
  if (st == SPD_E_NUMERIC) {
    ck_assert(v == -1234.5); /* untouched */
    return NAN;
  }
  ck_assert_msg(st == SPD_OK, "estimate: %d %s", st, spd_last_error());
  ck_assert_msg(isfinite(v) && !isnan(se), "estimate %g, std error %g", v, se);
  return v;
}

START_TEST(tiny_and_huge_sigma)
{
  const double sig[2] = {1e-6, 1e6};
  for (int k = 0; k < 2; k++) {
    const double s = sig[k];
    spd_spread *sp = gauss(3, s);
    /* points s apart in each coordinate: |a-b|^2 / (2 s^2) = 1.5 */
    const float a[3] = {0, 0, 0};
    const float b[3] = {(float)s, (float)-s, (float)s};
    double db[3] = {(double)b[0], (double)b[1], (double)b[2]};
    double want = (db[0] * db[0] + db[1] * db[1] + db[2] * db[2]) / (2 * s * s);
    float g[3];
    /* closed form evaluated in double vs the library's double path */
    SPDT_CLOSE(delta(SPD_FDIV_KL, sp, a, b, g), want, 1e-9, 0);
    for (int i = 0; i < 3; i++)
      SPDT_CLOSE(g[i], db[i] / (s * s), 1e-6, 0);
    double lp[2];
    const float y[6] = {0, 0, 0, (float)(2 * s), 0, (float)(-s)};
    const float x[6] = {(float)s, 0, 0, 0, 0, 0};
    SPDT_OK(spd_spread_log_density(sp, y, x, 2, lp));
    for (int i = 0; i < 2; i++)
      SPDT_CLOSE(lp[i], ref_log_density(3, s, y + 3 * i, x + 3 * i), 1e-9, 1e-9);
    /* Monte Carlo: KL of two points s apart per coordinate; the estimate
     * is within a few standard errors of 1.5 (64 draws per point: the
     * per-draw log ratio has std sqrt(3) ~ 1.7, so 0.6 is > 4 sigma). */
    double v = estimate(SPD_FDIV_KL, sp, a, 1, b, 1, g);
    SPDT_CLOSE(v, want, 0, 0.6);
    const float xp[6] = {0, 0, 0, (float)s, 0, 0}, xq[6] = {0, (float)s, 0, 0, 0, (float)s};
    double m;
    SPDT_OK(spd_mmd2(sp, xp, 2, xq, 2, &m));
    ck_assert(isfinite(m));
    SPDT_OK(spd_mmd2_biased(sp, xp, 2, xq, 2, &m));
    ck_assert(isfinite(m) && m >= -1e-12);
    spd_spread_free(sp);
  }
}
END_TEST

START_TEST(points_far_apart)
{
  spd_spread *sp = gauss(2, 1.0);
  const float a[2] = {0, 0}, b[2] = {1e8f, 0};
  float g[2];
  /* KL = (1e8)^2 / 2 = 5e15; JS = log 2 (supports effectively disjoint). */
  SPDT_CLOSE(delta(SPD_FDIV_KL, sp, a, b, g), 5e15, 1e-12, 0);
  SPDT_CLOSE(g[0], 1e8, 1e-9, 0);
  /* JS comes from a 1-D quadrature along a - b: ~1e-12 relative seen */
  SPDT_CLOSE(delta(SPD_FDIV_JENSEN_SHANNON, sp, a, b, NULL), log(2.0), 1e-9, 0);
  SPDT_CLOSE(delta(SPD_FDIV_TOTAL_VARIATION, sp, a, b, NULL), 1.0, 1e-12, 0);
  /* Chi-squared overflows a double: a documented error or a finite value. */
  spd_fdiv *f = NULL;
  SPDT_OK(spd_fdiv_create(SPD_FDIV_PEARSON_CHI2, 0.0, &f));
  double v = -7;
  int st = spd_divergence_delta(f, sp, a, b, &v, NULL);
  ck_assert_msg(st == SPD_E_NUMERIC || (st == SPD_OK && isfinite(v)), "chi2: %d %g", st, v);
  spd_fdiv_free(f);

  /* Monte Carlo with one point per set: the per-draw log ratio is
   * 5e15 - 1e8 y with y ~ N(0, 1), so the estimate is 5e15 to ~1e-7
   * relative; float logits near |x| = 5e7 (after centring) add ~1e8. */
  double e = estimate(SPD_FDIV_KL, sp, a, 1, b, 1, g);
  SPDT_CLOSE(e, 5e15, 1e-6, 0);
  e = estimate(SPD_FDIV_JENSEN_SHANNON, sp, a, 1, b, 1, g);
  SPDT_CLOSE(e, log(2.0), 1e-6, 0);
  e = estimate(SPD_FDIV_PEARSON_CHI2, sp, a, 1, b, 1, NULL);
  ck_assert(isnan(e) || isfinite(e)); /* NUMERIC (NaN here) or finite */

  /* Two clusters 1e8 apart, each spread over a few sigma. */
  float xp[8], xq[8];
  for (int i = 0; i < 4; i++) {
    xp[2 * i] = (float)i * 0.5f;
    xp[2 * i + 1] = (float)i * -0.25f;
    xq[2 * i] = 1e8f + (float)(8 * i); /* representable: float ulp at 1e8 is 8 */
    xq[2 * i + 1] = (float)i * 0.25f;
  }
  e = estimate(SPD_FDIV_JENSEN_SHANNON, sp, xp, 4, xq, 4, NULL);
  SPDT_CLOSE(e, log(2.0), 1e-6, 0);
  double m;
  st = spd_mmd2_biased(sp, xp, 4, xq, 4, &m);
  ck_assert_msg(st == SPD_OK && isfinite(m), "mmd: %d %g", st, m);
  double lp;
  SPDT_OK(spd_spread_log_density(sp, b, a, 1, &lp));
  SPDT_CLOSE(lp, ref_log_density(2, 1.0, b, a), 1e-12, 0);
  spd_spread_free(sp);
}
END_TEST

START_TEST(dim_12288)
{
  const size_t dim = 12288;
  spd_spread *sp = gauss(dim, 0.5);
  float *a = calloc(dim, sizeof *a), *b = calloc(dim, sizeof *b), *g = malloc(dim * 4);
  float *xp = malloc(2 * dim * 4), *xq = malloc(2 * dim * 4);
  double sq = 0;
  for (size_t i = 0; i < dim; i++) {
    b[i] = (float)((int)(i % 7) - 3) * 0.01f;
    sq += (double)b[i] * b[i];
    xp[i] = 0.0f;
    xp[dim + i] = 0.01f;
    xq[i] = b[i];
    xq[dim + i] = b[i] + 0.01f;
  }
  /* KL = |b|^2 / (2 * 0.25); summed in double by the library. */
  SPDT_CLOSE(delta(SPD_FDIV_KL, sp, a, b, g), sq / 0.5, 1e-9, 0);
  double lp;
  SPDT_OK(spd_spread_log_density(sp, b, a, 1, &lp));
  SPDT_CLOSE(lp, ref_log_density(dim, 0.5, b, a), 1e-12, 0);
  /* Estimator with one point per set and with two: finite, and near the
   * exact value |b|^2/(2 s^2) ~ 1.4e2 (std of the per-draw log ratio is
   * |b|/s ~ 1.1e1, 64 draws: 10 is > 5 sigma). */
  double e = estimate(SPD_FDIV_KL, sp, a, 1, b, 1, g);
  SPDT_CLOSE(e, sq / 0.5, 0, 10);
  e = estimate(SPD_FDIV_KL, sp, xp, 2, xq, 2, NULL);
  ck_assert(isfinite(e));
  double m;
  SPDT_OK(spd_mmd2(sp, xp, 2, xq, 2, &m));
  ck_assert(isfinite(m));
  free(a), free(b), free(g), free(xp), free(xq);
  spd_spread_free(sp);
}
END_TEST

START_TEST(one_point_per_set)
{
  spd_spread *sp = gauss(2, 1.0);
  const float a[2] = {0, 0}, b[2] = {1, 1};
  double v = estimate(SPD_FDIV_KL, sp, a, 1, b, 1, NULL);
  SPDT_CLOSE(v, 1.0, 0, 0.5); /* exact: |b|^2 / 2 = 1; per-draw std 1.4, 64 draws */
  /* a single draw in total: the standard error is +inf, the value finite */
  spd_fdiv *f = NULL;
  spd_estimator *e = NULL;
  SPDT_OK(spd_fdiv_create(SPD_FDIV_KL, 0.0, &f));
  SPDT_OK(spd_estimator_create(f, sp, 3, &e));
  SPDT_OK(spd_estimator_set_samples(e, 1));
  double se = 0;
  SPDT_OK(spd_estimate(e, a, 1, b, 1, &v, &se, NULL));
  ck_assert(isfinite(v) && isinf(se) && se > 0);
  spd_estimator_free(e);
  spd_fdiv_free(f);
  double m;
  SPDT_FAILS(SPD_E_INVALID, spd_mmd2(sp, a, 1, b, 1, &m)); /* documented: np >= 2 */
  SPDT_OK(spd_mmd2_biased(sp, a, 1, b, 1, &m));
  ck_assert(isfinite(m) && m >= 0);
  spd_spread_free(sp);
}
END_TEST

START_TEST(laplace_extremes)
{
  const double bs[2] = {1e-6, 1e6};
  for (int k = 0; k < 2; k++) {
    spd_spread *sp = NULL;
    SPDT_OK(spd_spread_create_laplace(2, bs[k], &sp));
    const float a[2] = {0, 0}, b[2] = {(float)bs[k], 0};
    double v = delta(SPD_FDIV_KL, sp, a, b, NULL);
    /* KL of Laplace(0, b) to Laplace(d, b) per coordinate:
     * |d|/b + exp(-|d|/b) - 1; here |d|/b = 1. */
    SPDT_CLOSE(v, exp(-1.0), 1e-6, 0);
    double lp;
    SPDT_OK(spd_spread_log_density(sp, b, a, 1, &lp));
    SPDT_CLOSE(lp, -2 * log(2 * bs[k]) - 1.0, 1e-9, 1e-9);
    double e = estimate(SPD_FDIV_KL, sp, a, 1, b, 1, NULL);
    ck_assert(isfinite(e));
    spd_spread_free(sp);
  }
  spd_spread *sp = NULL;
  SPDT_OK(spd_spread_create_laplace(1, 1.0, &sp));
  const float a[1] = {0}, b[1] = {1e8f};
  SPDT_CLOSE(delta(SPD_FDIV_KL, sp, a, b, NULL), 1e8 - 1, 1e-9, 0);
  spd_spread_free(sp);
}
END_TEST

Suite *spdt_suite(void)
{
  Suite *s = suite_create("numeric");
  SPDT_ADD(s, tiny_and_huge_sigma, 60);
  SPDT_ADD(s, points_far_apart, 60);
  SPDT_ADD(s, dim_12288, 120);
  SPDT_ADD(s, one_point_per_set, 60);
  SPDT_ADD(s, laplace_extremes, 60);
  return s;
}
