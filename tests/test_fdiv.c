/* f-divergences: every kind's f against its textbook formula, f(1) = 0,
 * convexity, log-space stability far from u = 1, the mixture-weighted psi
 * used by every integral and estimator, custom f, argument checks. */
#include "harness.h"
#include "fdiv_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { NBUILTIN = 14 };
static const double LOG2 = 0.69314718055994530942;

/* Kind k with the exponent the tests use for the two kinds that take one. */
static spd_fdiv *make(int k, double alpha)
{
  spd_fdiv *f = NULL;
  SPDT_OK(spd_fdiv_create((spd_fdiv_kind)k, alpha, &f));
  return f;
}

/* The table of fdiv.h, written naively in u (fine for moderate u). */
static double textbook(int k, double a, double u)
{
  switch (k) {
  case SPD_FDIV_KL: return u * log(u);
  case SPD_FDIV_REVERSE_KL: return -log(u);
  case SPD_FDIV_JENSEN_SHANNON: return 0.5 * (u * log(u) - (1 + u) * log((1 + u) / 2));
  case SPD_FDIV_SQUARED_HELLINGER: return (sqrt(u) - 1) * (sqrt(u) - 1);
  case SPD_FDIV_TOTAL_VARIATION: return 0.5 * fabs(u - 1);
  case SPD_FDIV_PEARSON_CHI2: return (u - 1) * (u - 1);
  case SPD_FDIV_NEYMAN_CHI2: return (u - 1) * (u - 1) / u;
  case SPD_FDIV_ALPHA: return (pow(u, a) - 1 - a * (u - 1)) / (a * (a - 1));
  case SPD_FDIV_JEFFREYS: return (u - 1) * log(u);
  case SPD_FDIV_TRIANGULAR: return (u - 1) * (u - 1) / (1 + u);
  case SPD_FDIV_ARITHMETIC_GEOMETRIC: return (1 + u) * log((1 + u) / (2 * sqrt(u)));
  case SPD_FDIV_MODIFIED_GAN: return log((1 + u) / (2 * u)) + 0.5 * (u - 1);
  case SPD_FDIV_T_POWER: return (a > 0 && a < 1 ? -1 : 1) * (pow(u, a) - 1);
  case SPD_FDIV_LOG1P_ABS: return u >= 1 ? u - 1 : 1 / u - 1;
  default: return NAN;
  }
}

/* Exponents exercised for ALPHA and T_POWER (every other kind ignores it). */
static const double ALPHAS[] = { -1.5, 0.3, 0.5, 2.0, 3.5 };
#define NALPHA (sizeof ALPHAS / sizeof ALPHAS[0])

START_TEST(f_matches_textbook_and_vanishes_at_one)
{
  const double us[] = { 1e-3, 0.05, 0.3, 0.9, 0.999, 1.001, 1.7, 4.0, 30.0, 400.0 };
  for (int k = 1; k <= NBUILTIN; k++)
    for (size_t ai = 0; ai < NALPHA; ai++) {
      const double a = ALPHAS[ai];
      spd_fdiv *f = make(k, a);
      double v, d;
      SPDT_OK(spd_fdiv_eval(f, 0.0, &v, &d));
      ck_assert_msg(v == 0, "%s: f(1) = %g", spd_fdiv_kind_name(k), v);
      for (size_t i = 0; i < sizeof us / sizeof us[0]; i++) {
        const double t = log(us[i]);
        SPDT_OK(spd_fdiv_eval(f, t, &v, &d));
        /* the naive formula loses ~1e-13 near u = 1 (cancellation) */
        SPDT_CLOSE(v, textbook(k, a, us[i]), 1e-10, 1e-13);
        /* d f(e^t)/dt = u f'(u), against a central difference in t */
        const double h = 1e-6;
        double fd = (textbook(k, a, exp(t + h)) - textbook(k, a, exp(t - h))) / (2 * h);
        SPDT_CLOSE(d, fd, 1e-6, 1e-8);
      }
      spd_fdiv_free(f);
      if (k != SPD_FDIV_ALPHA && k != SPD_FDIV_T_POWER)
        break;
    }
}
END_TEST

START_TEST(every_f_is_convex)
{
  /* Second differences of f(u) on a grid from 1e-3 to 1e3 (in u, where
   * convexity is defined), with a rounding allowance. */
  for (int k = 1; k <= NBUILTIN; k++)
    for (size_t ai = 0; ai < NALPHA; ai++) {
      spd_fdiv *f = make(k, ALPHAS[ai]);
      for (double lu = -6.9; lu < 6.9; lu += 0.05) {
        const double u = exp(lu), h = 0.01 * u;
        double fm, f0, fp;
        SPDT_OK(spd_fdiv_eval(f, log(u - h), &fm, NULL));
        SPDT_OK(spd_fdiv_eval(f, log(u), &f0, NULL));
        SPDT_OK(spd_fdiv_eval(f, log(u + h), &fp, NULL));
        double scale = fabs(fm) + fabs(f0) + fabs(fp);
        ck_assert_msg(fm + fp - 2 * f0 >= -1e-12 * scale, "%s (a = %g) not convex at u = %g",
                      spd_fdiv_kind_name(k), ALPHAS[ai], u);
      }
      spd_fdiv_free(f);
      if (k != SPD_FDIV_ALPHA && k != SPD_FDIV_T_POWER)
        break;
    }
}
END_TEST

START_TEST(psi_is_the_mixture_weighted_f)
{
  /* psi(t) = 2 (f(u) - f'(1)(u - 1)) / (1 + u), psi' against differences;
   * and psi is finite (never NaN) far out, where u over- or underflows. */
  for (int k = 1; k <= NBUILTIN; k++)
    for (size_t ai = 0; ai < NALPHA; ai++) {
      const double a = ALPHAS[ai];
      spd_fdiv *f = make(k, a);
      double f1;
      SPDT_OK(spd_fdiv_eval(f, 0.0, NULL, &f1)); /* u f'(u) at u = 1 */
      if (k == SPD_FDIV_TOTAL_VARIATION || k == SPD_FDIV_LOG1P_ABS)
        f1 = 0; /* kinks: the library uses the subgradient 0 */
      for (double t = -12; t <= 12; t += 0.37) {
        double psi, dpsi, v;
        ck_assert(spdi_fdiv_psi(f, t, &psi, &dpsi));
        SPDT_OK(spd_fdiv_eval(f, t, &v, NULL));
        const double u = exp(t), want = 2 * (v - f1 * (u - 1)) / (1 + u);
        SPDT_CLOSE(psi, want, 1e-9, 1e-12);
        double pp, pm, h = 1e-6;
        ck_assert(spdi_fdiv_psi(f, t + h, &pp, NULL));
        ck_assert(spdi_fdiv_psi(f, t - h, &pm, NULL));
        SPDT_CLOSE(dpsi, (pp - pm) / (2 * h), 1e-5, 1e-8);
      }
      const double far[] = { 1e-300, 1e-10, 30, 700, 710, 745, 800, 1e4, 1e6 };
      for (size_t i = 0; i < 2 * sizeof far / sizeof far[0]; i++) {
        const double t = (i % 2 ? -1 : 1) * far[i / 2];
        double psi, dpsi;
        ck_assert(spdi_fdiv_psi(f, t, &psi, &dpsi));
        ck_assert_msg(!isnan(psi) && !isnan(dpsi), "%s: NaN at t = %g",
                      spd_fdiv_kind_name(k), t);
      }
      spd_fdiv_free(f);
      if (k != SPD_FDIV_ALPHA && k != SPD_FDIV_T_POWER)
        break;
    }
}
END_TEST

START_TEST(far_from_one_in_log_space)
{
  /* KL's f at t = 700 is 700 e^700 (finite), at t = 800 it overflows to
   * +inf; none is NaN. The bounded kinds stay bounded in psi. */
  spd_fdiv *kl = make(SPD_FDIV_KL, 0), *js = make(SPD_FDIV_JENSEN_SHANNON, 0);
  double v;
  SPDT_OK(spd_fdiv_eval(kl, 700, &v, NULL));
  SPDT_CLOSE(v, 700 * exp(700.0), 1e-13, 0);
  SPDT_OK(spd_fdiv_eval(kl, 800, &v, NULL));
  ck_assert(isinf(v) && v > 0);
  SPDT_OK(spd_fdiv_eval(kl, -800, &v, NULL));
  ck_assert(v <= 0 && v > -1e-300);
  SPDT_OK(spd_fdiv_eval(js, -800, &v, NULL));
  SPDT_CLOSE(v, 0.5 * LOG2, 1e-15, 0); /* f(0) = log(2) / 2 */
  /* JS's psi: in [0, log 2], never negative, even where t is tiny */
  for (double t = 1e-300; t < 1e6; t *= 3.1)
    for (int sgn = -1; sgn <= 1; sgn += 2) {
      double psi;
      ck_assert(spdi_fdiv_psi(js, sgn * t, &psi, NULL));
      /* < log 2 mathematically; rounds to it beyond |t| ~ 50 */
      ck_assert_msg(psi >= 0 && psi <= LOG2, "JS psi(%g) = %g", sgn * t, psi);
    }
  double psi;
  ck_assert(spdi_fdiv_psi(js, 1e-4, &psi, NULL)); /* = t^2 / 8 + O(t^4) */
  SPDT_CLOSE(psi, 1e-8 / 8, 1e-7, 0);
  ck_assert(spdi_fdiv_psi(kl, 1e5, &psi, NULL)); /* 2 (t - 1) + O(e^-t) */
  SPDT_CLOSE(psi, 2 * (1e5 - 1), 1e-15, 0);
  spd_fdiv_free(kl);
  spd_fdiv_free(js);
}
END_TEST

static double user_kl(double u, void *user)
{
  ++*(int *)user;
  return u * log(u);
}

static double user_kl_prime(double u, void *user)
{
  (void)user;
  return log(u) + 1;
}

static double not_zero_at_one(double u, void *user)
{
  (void)user;
  return u;
}

static double nan_f(double u, void *user)
{
  (void)user;
  return u == 1 ? 0 : NAN;
}

START_TEST(custom_f)
{
  int calls = 0;
  spd_fdiv *c1 = NULL, *c2 = NULL, *kl = make(SPD_FDIV_KL, 0);
  SPDT_OK(spd_fdiv_create_custom(user_kl, user_kl_prime, &calls, &c1));
  SPDT_OK(spd_fdiv_create_custom(user_kl, NULL, &calls, &c2));
  ck_assert_int_eq(spd_fdiv_get_kind(c1), SPD_FDIV_CUSTOM);
  for (double t = -5; t <= 5; t += 0.5) {
    double a, b, pa, pb, pc, da, db, dc;
    SPDT_OK(spd_fdiv_eval(kl, t, &a, NULL));
    SPDT_OK(spd_fdiv_eval(c1, t, &b, NULL));
    SPDT_CLOSE(b, a, 1e-14, 1e-15);
    ck_assert(spdi_fdiv_psi(kl, t, &pa, &da));
    ck_assert(spdi_fdiv_psi(c1, t, &pb, &db));
    ck_assert(spdi_fdiv_psi(c2, t, &pc, &dc));
    SPDT_CLOSE(pb, pa, 1e-12, 1e-15);
    SPDT_CLOSE(db, da, 1e-12, 1e-14);
    SPDT_CLOSE(pc, pa, 1e-9, 1e-12); /* f'(1) by differences */
    SPDT_CLOSE(dc, da, 1e-7, 1e-9);  /* derivative by differences */
  }
  ck_assert_int_gt(calls, 0);
  spd_fdiv *bad = (spd_fdiv *)&calls;
  SPDT_FAILS(SPD_E_DOMAIN, spd_fdiv_create_custom(not_zero_at_one, NULL, NULL, &bad));
  SPDT_FAILS(SPD_E_INVALID, spd_fdiv_create_custom(NULL, NULL, NULL, &bad));
  SPDT_FAILS(SPD_E_INVALID, spd_fdiv_create_custom(user_kl, NULL, &calls, NULL));
  ck_assert_ptr_eq(bad, (spd_fdiv *)&calls);
  spd_fdiv *nf = NULL;
  SPDT_FAILS(SPD_E_DOMAIN, spd_fdiv_create_custom(nan_f, NULL, NULL, &nf)); /* f'(1) NaN */
  SPDT_OK(spd_fdiv_create_custom(nan_f, user_kl_prime, NULL, &nf));
  double v = 7;
  SPDT_FAILS(SPD_E_NUMERIC, spd_fdiv_eval(nf, 0.5, &v, NULL));
  ck_assert_double_eq(v, 7);
  spd_fdiv_free(nf);
  spd_fdiv_free(c1);
  spd_fdiv_free(c2);
  spd_fdiv_free(kl);
}
END_TEST

START_TEST(create_and_eval_reject_bad_input)
{
  static char dummy;
  spd_fdiv *const sentinel = (spd_fdiv *)&dummy;
  spd_fdiv *f = sentinel;
  SPDT_FAILS(SPD_E_INVALID, spd_fdiv_create((spd_fdiv_kind)0, 0, &f));
  SPDT_FAILS(SPD_E_INVALID, spd_fdiv_create((spd_fdiv_kind)-1, 0, &f));
  SPDT_FAILS(SPD_E_INVALID, spd_fdiv_create((spd_fdiv_kind)16, 0, &f));
  SPDT_FAILS(SPD_E_INVALID, spd_fdiv_create(SPD_FDIV_CUSTOM, 0, &f));
  SPDT_FAILS(SPD_E_INVALID, spd_fdiv_create(SPD_FDIV_KL, 0, NULL));
  const double bad_alpha[] = { 0, 1, NAN, INFINITY };
  for (int i = 0; i < 4; i++) {
    SPDT_FAILS(SPD_E_DOMAIN, spd_fdiv_create(SPD_FDIV_ALPHA, bad_alpha[i], &f));
    SPDT_FAILS(SPD_E_DOMAIN, spd_fdiv_create(SPD_FDIV_T_POWER, bad_alpha[i], &f));
  }
  ck_assert_ptr_eq(f, sentinel);
  /* alpha is ignored (even NaN) by kinds that do not use it */
  SPDT_OK(spd_fdiv_create(SPD_FDIV_KL, NAN, &f));
  double v = 3;
  SPDT_FAILS(SPD_E_INVALID, spd_fdiv_eval(NULL, 0, &v, NULL));
  SPDT_FAILS(SPD_E_DOMAIN, spd_fdiv_eval(f, NAN, &v, NULL));
  SPDT_FAILS(SPD_E_DOMAIN, spd_fdiv_eval(f, INFINITY, &v, NULL));
  SPDT_FAILS(SPD_E_DOMAIN, spd_fdiv_eval(f, -INFINITY, &v, NULL));
  ck_assert_double_eq(v, 3);
  SPDT_OK(spd_fdiv_eval(f, 0, NULL, NULL));
  spd_fdiv_free(f);
  spd_fdiv_free(NULL);
  ck_assert_int_eq(spd_fdiv_get_kind(NULL), 0);
}
END_TEST

START_TEST(kind_names)
{
  ck_assert_str_eq(spd_fdiv_kind_name(SPD_FDIV_KL), "KL");
  ck_assert_str_eq(spd_fdiv_kind_name(SPD_FDIV_JENSEN_SHANNON), "Jensen-Shannon");
  ck_assert_str_eq(spd_fdiv_kind_name(0), "unknown");
  ck_assert_str_eq(spd_fdiv_kind_name(SPD_FDIV_CUSTOM + 1), "unknown");
  for (int k = 1; k <= SPD_FDIV_CUSTOM; k++)
    for (int j = k + 1; j <= SPD_FDIV_CUSTOM; j++)
      ck_assert_str_ne(spd_fdiv_kind_name(k), spd_fdiv_kind_name(j));
  /* contract values are pinned */
  ck_assert_int_eq(SPD_FDIV_KL, 1);
  ck_assert_int_eq(SPD_FDIV_JEFFREYS, 9);
}
END_TEST

Suite *spdt_suite(void)
{
  Suite *s = suite_create("fdiv");
  SPDT_ADD(s, f_matches_textbook_and_vanishes_at_one, 10);
  SPDT_ADD(s, every_f_is_convex, 30);
  SPDT_ADD(s, psi_is_the_mixture_weighted_f, 30);
  SPDT_ADD(s, far_from_one_in_log_space, 10);
  SPDT_ADD(s, custom_f, 10);
  SPDT_ADD(s, create_and_eval_reject_bad_input, 10);
  SPDT_ADD(s, kind_names, 10);
  return s;
}
