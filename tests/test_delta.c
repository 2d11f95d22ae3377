/* Exact point-mass spread divergences: closed forms and quadrature against
 * independent numerical integration, the closed forms of MATH.md section 3,
 * gradients against finite differences, D(p||p) = 0, far-apart stability,
 * the unsupported Laplace cases and argument checks. */
#include "harness.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { NKINDS = 14 };
static const double PI = 3.14159265358979323846;
static const double ALPHA = 0.3; /* exponent for ALPHA and T_POWER */

static spd_fdiv *make(int k)
{
  spd_fdiv *f = NULL;
  SPDT_OK(spd_fdiv_create((spd_fdiv_kind)k, ALPHA, &f));
  return f;
}

/* f(e^t) for the reference integrals. No Check assertion here: each
 * passing assertion costs a system call in fork mode, and this runs
 * hundreds of thousands of times; a failure returns NaN, which fails the
 * comparison that follows. */
static double fval(const spd_fdiv *f, double t)
{
  double v;
  return spd_fdiv_eval(f, t, &v, NULL) == SPD_OK ? v : NAN;
}

/* Composite Simpson on [a, b] with n (even) intervals of g(x, ctx). */
static double simpson(double (*g)(double, const void *), const void *ctx, double a, double b,
                      int n)
{
  const double h = (b - a) / n;
  double acc = g(a, ctx) + g(b, ctx);
  for (int i = 1; i < n; i++)
    acc += (i % 2 ? 4 : 2) * g(a + i * h, ctx);
  return acc * h / 3;
}

typedef struct {
  const spd_fdiv *f;
  double d;
} ref_ctx;

/* Gaussian, unit variance along Delta: q(s) f(p(s) / q(s)), p = N(d, 1). */
static double gauss_integrand(double s, const void *vctx)
{
  const ref_ctx *c = vctx;
  const double q = exp(-0.5 * s * s) / sqrt(2 * PI);
  return q * fval(c->f, c->d * s - 0.5 * c->d * c->d);
}

/* Laplace, unit scale: q = exp(-|s|)/2, p = exp(-|s - d|)/2. */
static double laplace_integrand(double s, const void *vctx)
{
  const ref_ctx *c = vctx;
  return 0.5 * exp(-fabs(s)) * fval(c->f, fabs(s) - fabs(s - c->d));
}

/* Independent references: split where the integrand has kinks (u = 1 at
 * s = d/2 for Gaussians; 0 and d for Laplace), 2e4 Simpson intervals per
 * piece (h <= 2e-3, error ~h^4 / 180 relative: below 1e-12). */
static double ref_gauss(const spd_fdiv *f, double d)
{
  ref_ctx c = { f, d };
  return simpson(gauss_integrand, &c, -14, 0.5 * d, 20000) +
         simpson(gauss_integrand, &c, 0.5 * d, d + 14, 20000);
}

static double ref_laplace(const spd_fdiv *f, double d)
{
  ref_ctx c = { f, d };
  return simpson(laplace_integrand, &c, -45, 0, 20000) +
         simpson(laplace_integrand, &c, 0, 0.5 * d, 4000) +
         simpson(laplace_integrand, &c, 0.5 * d, d, 4000) +
         simpson(laplace_integrand, &c, d, d + 45, 20000);
}

START_TEST(gaussian_every_kind_against_integration)
{
  /* Isotropic sigma = 0.8 in 3-D with |Delta| = 1.2: d = 1.5. Closed forms
   * and the library's quadrature must both agree with direct integration
   * to 1e-9 relative (the contract). */
  spd_spread *s = NULL;
  SPDT_OK(spd_spread_create_gaussian(3, 0.8, &s));
  const float mp[3] = { 0.4f, 0.5f, 0.3f }, mq[3] = { -0.4f, 0.5f, 1.1f };
  const double d = sqrt(((double)mp[0] - mq[0]) * ((double)mp[0] - mq[0]) +
           ((double)mp[2] - mq[2]) * ((double)mp[2] - mq[2])) / 0.8;
  for (int k = 1; k <= NKINDS; k++) {
    spd_fdiv *f = make(k);
    double v;
    SPDT_OK(spd_divergence_delta(f, s, mp, mq, &v, NULL));
    SPDT_CLOSE(v, ref_gauss(f, d), 1e-9, 1e-15);
    spd_fdiv_free(f);
  }
  spd_spread_free(s);
}
END_TEST

START_TEST(laplace_single_coordinate_against_integration)
{
  /* One coordinate differs (delta = 1.7 / 0.6 in b units): every kind is
   * exact, closed form or quadrature. */
  spd_spread *s = NULL;
  SPDT_OK(spd_spread_create_laplace(2, 0.6, &s));
  const float mp[2] = { 0.2f, 1.0f }, mq[2] = { 0.2f, -0.7f };
  const double d = ((double)mp[1] - mq[1]) / 0.6;
  for (int k = 1; k <= NKINDS; k++) {
    spd_fdiv *f = make(k);
    double v;
    SPDT_OK(spd_divergence_delta(f, s, mp, mq, &v, NULL));
    SPDT_CLOSE(v, ref_laplace(f, d), 1e-9, 1e-15);
    spd_fdiv_free(f);
  }
  spd_spread_free(s);
}
END_TEST

/* int p^a q^(1-a) for unit Laplace offset d, by integration. */
static double ref_laplace_power(double a, double d)
{
  const double L = 45;
  const int n = 20000;
  double acc = 0;
  const double breaks[4] = { -L, 0, d, d + L };
  for (int piece = 0; piece < 3; piece++) {
    const double lo = breaks[piece], h = (breaks[piece + 1] - lo) / n;
    for (int i = 0; i <= n; i++) {
      double s = lo + i * h, w = (i == 0 || i == n) ? 1 : (i % 2 ? 4 : 2);
      acc += w * h / 3 * 0.5 * exp(-a * fabs(s - d) - (1 - a) * fabs(s));
    }
  }
  return acc;
}

START_TEST(laplace_separable_kinds_in_several_dimensions)
{
  /* Diagonal Laplace, all three coordinates differ: KL-type kinds are sums
   * and power kinds products of 1-D integrals. */
  const double b[3] = { 0.5, 1.0, 2.0 };
  spd_spread *s = NULL;
  SPDT_OK(spd_spread_create_laplace_diag(3, b, &s));
  const float mp[3] = { 0.3f, -1.0f, 2.5f }, mq[3] = { -0.4f, 0.2f, 0.5f };
  double dd[3];
  for (int i = 0; i < 3; i++)
    dd[i] = fabs((double)mp[i] - mq[i]) / b[i];
  const struct { int kind; double a, coef; } power[] = {
    { SPD_FDIV_SQUARED_HELLINGER, 0.5, -2 },
    { SPD_FDIV_PEARSON_CHI2, 2, 1 },
    { SPD_FDIV_NEYMAN_CHI2, -1, 1 },
    { SPD_FDIV_ALPHA, ALPHA, 1 / (ALPHA * (ALPHA - 1)) },
    { SPD_FDIV_T_POWER, ALPHA, -1 },
  };
  for (size_t i = 0; i < sizeof power / sizeof power[0]; i++) {
    spd_fdiv *f = make(power[i].kind);
    double prod = 1, v;
    for (int j = 0; j < 3; j++)
      prod *= ref_laplace_power(power[i].a, dd[j]);
    SPDT_OK(spd_divergence_delta(f, s, mp, mq, &v, NULL));
    SPDT_CLOSE(v, power[i].coef * (prod - 1), 1e-9, 1e-15);
    spd_fdiv_free(f);
  }
  const int sums[3] = { SPD_FDIV_KL, SPD_FDIV_REVERSE_KL, SPD_FDIV_JEFFREYS };
  for (int i = 0; i < 3; i++) {
    spd_fdiv *f = make(sums[i]);
    double acc = 0, v;
    for (int j = 0; j < 3; j++)
      acc += ref_laplace(f, dd[j]);
    SPDT_OK(spd_divergence_delta(f, s, mp, mq, &v, NULL));
    SPDT_CLOSE(v, acc, 1e-9, 1e-15);
    spd_fdiv_free(f);
  }
  /* The rest are not separable: no exact method, and the message says so. */
  const int others[] = { SPD_FDIV_JENSEN_SHANNON, SPD_FDIV_TOTAL_VARIATION,
                         SPD_FDIV_TRIANGULAR, SPD_FDIV_ARITHMETIC_GEOMETRIC,
                         SPD_FDIV_MODIFIED_GAN, SPD_FDIV_LOG1P_ABS };
  for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
    spd_fdiv *f = make(others[i]);
    double v = 42;
    float g[3] = { 9, 9, 9 };
    SPDT_FAILS(SPD_E_UNSUPPORTED, spd_divergence_delta(f, s, mp, mq, &v, g));
    ck_assert_ptr_nonnull(strstr(spd_last_error(), "no exact method"));
    ck_assert_double_eq(v, 42);
    ck_assert_float_eq(g[0], 9);
    spd_fdiv_free(f);
  }
  spd_spread_free(s);
}
END_TEST

START_TEST(math_md_closed_forms)
{
  /* MATH.md section 3, written out: Gaussian sigma, |Delta| = r. */
  const double sg = 0.9, r = 1.3;
  spd_spread *g = NULL, *l = NULL;
  SPDT_OK(spd_spread_create_gaussian(1, sg, &g));
  SPDT_OK(spd_spread_create_laplace(1, sg, &l));
  const float mp[1] = { (float)r }, mq[1] = { 0 };
  const double R = (double)mp[0], x = R * R / (sg * sg);
  const struct { int kind; double want; } gauss[] = {
    { SPD_FDIV_KL, x / 2 },
    { SPD_FDIV_REVERSE_KL, x / 2 },
    { SPD_FDIV_JEFFREYS, x },
    { SPD_FDIV_SQUARED_HELLINGER, 2 * (1 - exp(-x / 8)) },
    { SPD_FDIV_TOTAL_VARIATION, 2 * (0.5 * erfc(-R / (2 * sg) / sqrt(2.0))) - 1 },
    { SPD_FDIV_PEARSON_CHI2, exp(x) - 1 },
    { SPD_FDIV_NEYMAN_CHI2, exp(x) - 1 },
    { SPD_FDIV_ALPHA, (exp(ALPHA * (ALPHA - 1) * x / 2) - 1) / (ALPHA * (ALPHA - 1)) },
  };
  for (size_t i = 0; i < sizeof gauss / sizeof gauss[0]; i++) {
    spd_fdiv *f = make(gauss[i].kind);
    double v;
    SPDT_OK(spd_divergence_delta(f, g, mp, mq, &v, NULL));
    SPDT_CLOSE(v, gauss[i].want, 1e-13, 0);
    spd_fdiv_free(f);
  }
  const double dl = R / sg, bc = (1 + dl / 2) * exp(-dl / 2);
  const struct { int kind; double want; } lap[] = {
    { SPD_FDIV_KL, dl + exp(-dl) - 1 },
    { SPD_FDIV_JEFFREYS, 2 * (dl + exp(-dl) - 1) },
    { SPD_FDIV_TOTAL_VARIATION, 1 - exp(-dl / 2) },
    { SPD_FDIV_SQUARED_HELLINGER, 2 * (1 - bc) },
  };
  for (size_t i = 0; i < sizeof lap / sizeof lap[0]; i++) {
    spd_fdiv *f = make(lap[i].kind);
    double v;
    SPDT_OK(spd_divergence_delta(f, l, mp, mq, &v, NULL));
    SPDT_CLOSE(v, lap[i].want, 1e-13, 0);
    spd_fdiv_free(f);
  }
  spd_spread_free(g);
  spd_spread_free(l);
}
END_TEST

START_TEST(mahalanobis_kernels)
{
  /* Diagonal and low-rank Gaussians: KL = Delta^T Sigma^-1 Delta / 2 with
   * Sigma written out densely, and JS (quadrature) equal to the isotropic
   * JS at the same Mahalanobis distance. */
  const double sd[2] = { 0.5, 2.0 };
  const float L[2] = { 0.8f, -0.6f }; /* 2 x 1 */
  spd_spread *dg = NULL, *lr = NULL, *iso = NULL;
  SPDT_OK(spd_spread_create_gaussian_diag(2, sd, &dg));
  SPDT_OK(spd_spread_create_gaussian_lowrank(2, 1, 0.7, L, &lr));
  SPDT_OK(spd_spread_create_gaussian(1, 1.0, &iso));
  const float mp[2] = { 1.0f, 0.5f }, mq[2] = { 0.25f, -1.5f };
  const double D0 = (double)mp[0] - mq[0], D1 = (double)mp[1] - mq[1];
  double m2[2];
  m2[0] = D0 * D0 / (sd[0] * sd[0]) + D1 * D1 / (sd[1] * sd[1]);
  const double l0 = L[0], l1 = L[1]; /* the library uses the float values */
  const double S00 = 0.49 + l0 * l0, S01 = l0 * l1, S11 = 0.49 + l1 * l1;
  const double det = S00 * S11 - S01 * S01;
  m2[1] = (S11 * D0 * D0 - 2 * S01 * D0 * D1 + S00 * D1 * D1) / det;
  spd_fdiv *kl = make(SPD_FDIV_KL), *js = make(SPD_FDIV_JENSEN_SHANNON);
  spd_spread *ks[2] = { dg, lr };
  for (int i = 0; i < 2; i++) {
    double v, w;
    SPDT_OK(spd_divergence_delta(kl, ks[i], mp, mq, &v, NULL));
    SPDT_CLOSE(v, m2[i] / 2, 1e-12, 0);
    SPDT_OK(spd_divergence_delta(js, ks[i], mp, mq, &v, NULL));
    const float a[1] = { (float)sqrt(m2[i]) }, z[1] = { 0 };
    SPDT_OK(spd_divergence_delta(js, iso, a, z, &w, NULL));
    SPDT_CLOSE(v, w, 1e-6, 0); /* a[] is rounded to float */
    SPDT_CLOSE(v, ref_gauss(js, sqrt(m2[i])), 1e-9, 0);
  }
  spd_fdiv_free(kl);
  spd_fdiv_free(js);
  spd_spread_free(dg);
  spd_spread_free(lr);
  spd_spread_free(iso);
}
END_TEST

/* Central difference of the delta divergence in mu_q[i] (float steps). */
static double fd_delta(const spd_fdiv *f, const spd_spread *s, const float *mp, float *mq,
                       size_t i, float h)
{
  const float keep = mq[i];
  double hi, lo;
  mq[i] = keep + h;
  SPDT_OK(spd_divergence_delta(f, s, mp, mq, &hi, NULL));
  mq[i] = keep - h;
  SPDT_OK(spd_divergence_delta(f, s, mp, mq, &lo, NULL));
  mq[i] = keep;
  return (hi - lo) / ((double)(keep + h) - (double)(keep - h));
}

START_TEST(gradients_match_finite_differences)
{
  /* Steps 2^-9: truncation ~1e-6 relative, well inside the 1e-4 bound. */
  const double sd[3] = { 0.6, 1.1, 0.9 };
  const float L[6] = { 0.5f, 0.1f, -0.3f, 0.4f, 0.2f, 0.6f };
  spd_spread *ks[4] = { NULL };
  SPDT_OK(spd_spread_create_gaussian(3, 0.8, &ks[0]));
  SPDT_OK(spd_spread_create_gaussian_diag(3, sd, &ks[1]));
  SPDT_OK(spd_spread_create_gaussian_lowrank(3, 2, 0.6, L, &ks[2]));
  SPDT_OK(spd_spread_create_laplace_diag(3, sd, &ks[3]));
  const float mp[3] = { 0.3f, -0.2f, 0.9f };
  float mq[3] = { -0.5f, 0.6f, 0.1f }, mq1[3] = { -0.5f, -0.2f, 0.9f };
  for (int ki = 0; ki < 4; ki++)
    for (int k = 1; k <= NKINDS; k++) {
      spd_fdiv *f = make(k);
      float g[3];
      double v;
      /* Laplace: non-separable kinds only with one differing coordinate */
      float *q = mq;
      int st = spd_divergence_delta(f, ks[ki], mp, q, &v, g);
      if (st == SPD_E_UNSUPPORTED) {
        q = mq1;
        SPDT_OK(spd_divergence_delta(f, ks[ki], mp, q, &v, g));
      } else {
        SPDT_OK(st);
      }
      for (size_t i = 0; i < 3; i++) {
        if (q[i] == mp[i])
          continue; /* a kink of the Laplace kernel */
        double fd = fd_delta(f, ks[ki], mp, q, i, 1.0f / 512);
        ck_assert_msg(fabs(g[i] - fd) <= 1e-4 * (fabs(fd) + 1e-2),
                      "kernel %d %s: grad[%zu] = %g, fd = %g", ki, spd_fdiv_kind_name(k), i,
                      (double)g[i], fd);
      }
      spd_fdiv_free(f);
    }
  for (int ki = 0; ki < 4; ki++)
    spd_spread_free(ks[ki]);
}
END_TEST

START_TEST(same_point_is_exactly_zero)
{
  spd_spread *ks[3] = { NULL };
  const float L[2] = { 1, 1 };
  SPDT_OK(spd_spread_create_gaussian(2, 0.5, &ks[0]));
  SPDT_OK(spd_spread_create_gaussian_lowrank(2, 1, 0.5, L, &ks[1]));
  SPDT_OK(spd_spread_create_laplace(2, 0.5, &ks[2]));
  const float mu[2] = { 3.5f, -1.25f };
  for (int ki = 0; ki < 3; ki++)
    for (int k = 1; k <= NKINDS; k++) {
      spd_fdiv *f = make(k);
      double v = 1;
      float g[2] = { 1, 1 };
      SPDT_OK(spd_divergence_delta(f, ks[ki], mu, mu, &v, g));
      ck_assert(v == 0 && g[0] == 0 && g[1] == 0);
      spd_fdiv_free(f);
    }
  for (int ki = 0; ki < 3; ki++)
    spd_spread_free(ks[ki]);
}
END_TEST

START_TEST(far_apart_is_exact_and_finite)
{
  /* |Delta| = 1e3 with sigma = 1e-3: KL is exactly 5e11 (MATH.md). */
  spd_spread *g = NULL, *l = NULL;
  SPDT_OK(spd_spread_create_gaussian(1, 1e-3, &g));
  SPDT_OK(spd_spread_create_laplace(1, 1e-3, &l));
  const float mp[1] = { 1000 }, mq[1] = { 0 };
  /* closed forms to the last bit; quadrature (JS, triangular) to 1e-9 */
  const struct { int kind; double want, rtol; } lim[] = {
    { SPD_FDIV_KL, 5e11, 1e-15 },
    { SPD_FDIV_REVERSE_KL, 5e11, 1e-15 },
    { SPD_FDIV_JEFFREYS, 1e12, 1e-15 },
    { SPD_FDIV_JENSEN_SHANNON, log(2.0), 1e-9 },
    { SPD_FDIV_SQUARED_HELLINGER, 2, 1e-15 },
    { SPD_FDIV_TOTAL_VARIATION, 1, 1e-15 },
    { SPD_FDIV_TRIANGULAR, 2, 1e-9 },
  };
  for (size_t i = 0; i < sizeof lim / sizeof lim[0]; i++) {
    spd_fdiv *f = make(lim[i].kind);
    double v;
    float gr[1];
    SPDT_OK(spd_divergence_delta(f, g, mp, mq, &v, gr));
    if (lim[i].rtol == 1e-15) /* "exactly 5e11" (MATH.md): to the bit */
      ck_assert_msg(v == lim[i].want, "%s: %.17g", spd_fdiv_kind_name(lim[i].kind), v);
    SPDT_CLOSE(v, lim[i].want, lim[i].rtol, 0);
    ck_assert(isfinite(gr[0]));
    spd_fdiv_free(f);
  }
  /* Every kind: finite, or NUMERIC when the value overflows a double. */
  for (int k = 1; k <= NKINDS; k++) {
    spd_fdiv *f = make(k);
    double v = 0;
    float gr[1];
    int st = spd_divergence_delta(f, g, mp, mq, &v, gr);
    ck_assert(st == SPD_OK || st == SPD_E_NUMERIC);
    if (st == SPD_OK)
      ck_assert(isfinite(v) && isfinite(gr[0]));
    if (k == SPD_FDIV_PEARSON_CHI2 || k == SPD_FDIV_NEYMAN_CHI2)
      ck_assert_int_eq(st, SPD_E_NUMERIC); /* exp(1e12) */
    st = spd_divergence_delta(f, l, mp, mq, &v, gr);
    ck_assert(st == SPD_OK || st == SPD_E_NUMERIC);
    if (st == SPD_OK)
      ck_assert(isfinite(v) && isfinite(gr[0]));
    spd_fdiv_free(f);
  }
  /* Laplace: KL linear in |Delta|, gradient bounded by 1/b. */
  spd_fdiv *kl = make(SPD_FDIV_KL);
  double v;
  float gr[1];
  SPDT_OK(spd_divergence_delta(kl, l, mp, mq, &v, gr));
  SPDT_CLOSE(v, 1e6 - 1, 1e-15, 0);
  SPDT_CLOSE(gr[0], -1e3, 1e-7, 0);
  spd_fdiv_free(kl);
  spd_spread_free(g);
  spd_spread_free(l);
}
END_TEST

static double ulogu(double u, void *user)
{
  (void)user;
  return u * log(u);
}

static double ulogu_prime(double u, void *user)
{
  (void)user;
  return log(u) + 1;
}

START_TEST(custom_f_uses_quadrature)
{
  /* A custom u log u goes through the quadrature paths and must reproduce
   * the closed-form KL to the contract's 1e-9 (gradients: float output). */
  spd_fdiv *c = NULL, *kl = make(SPD_FDIV_KL);
  SPDT_OK(spd_fdiv_create_custom(ulogu, ulogu_prime, NULL, &c));
  spd_spread *g = NULL, *l = NULL;
  SPDT_OK(spd_spread_create_gaussian(2, 0.7, &g));
  SPDT_OK(spd_spread_create_laplace(2, 0.7, &l));
  const float mp[2] = { 0.5f, 1.5f }, mq[2] = { -0.25f, 0.5f }, mq1[2] = { 0.5f, 0.25f };
  double a, b;
  float ga[2], gb[2];
  SPDT_OK(spd_divergence_delta(kl, g, mp, mq, &a, ga));
  SPDT_OK(spd_divergence_delta(c, g, mp, mq, &b, gb));
  SPDT_CLOSE(b, a, 1e-9, 0);
  SPDT_CLOSE(gb[0], ga[0], 1e-6, 0);
  SPDT_CLOSE(gb[1], ga[1], 1e-6, 0);
  SPDT_OK(spd_divergence_delta(kl, l, mp, mq1, &a, ga));
  SPDT_OK(spd_divergence_delta(c, l, mp, mq1, &b, gb));
  SPDT_CLOSE(b, a, 1e-9, 0);
  SPDT_CLOSE(gb[1], ga[1], 1e-6, 0);
  SPDT_FAILS(SPD_E_UNSUPPORTED, spd_divergence_delta(c, l, mp, mq, &b, gb));
  spd_fdiv_free(c);
  spd_fdiv_free(kl);
  spd_spread_free(g);
  spd_spread_free(l);
}
END_TEST

START_TEST(bad_input_leaves_outputs)
{
  spd_spread *s = NULL;
  SPDT_OK(spd_spread_create_gaussian(2, 1.0, &s));
  spd_fdiv *f = make(SPD_FDIV_KL);
  const float a[2] = { 0, 1 }, nan2[2] = { 0, NAN };
  double v = 5;
  float g[2] = { 5, 5 };
  SPDT_FAILS(SPD_E_INVALID, spd_divergence_delta(NULL, s, a, a, &v, g));
  SPDT_FAILS(SPD_E_INVALID, spd_divergence_delta(f, NULL, a, a, &v, g));
  SPDT_FAILS(SPD_E_INVALID, spd_divergence_delta(f, s, NULL, a, &v, g));
  SPDT_FAILS(SPD_E_INVALID, spd_divergence_delta(f, s, a, NULL, &v, g));
  SPDT_FAILS(SPD_E_INVALID, spd_divergence_delta(f, s, a, a, NULL, g));
  SPDT_FAILS(SPD_E_DOMAIN, spd_divergence_delta(f, s, nan2, a, &v, g));
  SPDT_FAILS(SPD_E_DOMAIN, spd_divergence_delta(f, s, a, nan2, &v, g));
  ck_assert(v == 5 && g[0] == 5 && g[1] == 5);
  spd_fdiv_free(f);
  spd_spread_free(s);
}
END_TEST

Suite *spdt_suite(void)
{
  Suite *s = suite_create("delta");
  SPDT_ADD(s, gaussian_every_kind_against_integration, 60);
  SPDT_ADD(s, laplace_single_coordinate_against_integration, 60);
  SPDT_ADD(s, laplace_separable_kinds_in_several_dimensions, 60);
  SPDT_ADD(s, math_md_closed_forms, 10);
  SPDT_ADD(s, mahalanobis_kernels, 30);
  SPDT_ADD(s, gradients_match_finite_differences, 30);
  SPDT_ADD(s, same_point_is_exactly_zero, 10);
  SPDT_ADD(s, far_apart_is_exact_and_finite, 30);
  SPDT_ADD(s, custom_f_uses_quadrature, 30);
  SPDT_ADD(s, bad_input_leaves_outputs, 10);
  return s;
}
