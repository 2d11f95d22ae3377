/* The f of every built-in kind, in log space (t = log u), in two forms:
 * f(e^t) itself and the mixture-weighted psi(t) = 2 f~(e^t) / (1 + e^t)
 * used by every integral and estimator (fdiv_internal.h). Each formula is
 * arranged so that it neither cancels near t = 0 nor overflows where the
 * true value is finite; the comments give the identities used. */
#include "fdiv_internal.h"

#include <math.h>

static const double LOG2 = 0.69314718055994530942;

static double sigm(double t) /* 1 / (1 + e^-t) */
{
  if (t >= 0)
    return 1 / (1 + exp(-t));
  double e = exp(t);
  return e / (1 + e);
}

static double softplus(double t) /* log(1 + e^t) */
{
  return (t > 0 ? t : 0) + log1p(exp(-fabs(t)));
}

double spdi_log_cosh(double x)
{
  x = fabs(x);
  if (x < 1) { /* cosh x - 1 = 2 sinh^2(x/2): no cancellation near 0 */
    double sh = sinh(0.5 * x);
    return log1p(2 * sh * sh);
  }
  return x + log1p(exp(-2 * x)) - LOG2;
}

double spdi_sech2(double x)
{
  double e = exp(-2 * fabs(x));
  return 4 * e / ((1 + e) * (1 + e));
}

/* t e^t - e^t + 1 (KL with f'(1) removed), by its series near 0. */
static double kl_tilde(double t)
{
  if (fabs(t) < 0.5) { /* sum_{k>=2} (k - 1) t^k / k! */
    double term = t, acc = 0;
    for (int k = 2; k < 22; k++) {
      term *= t / k;
      acc += (k - 1) * term;
    }
    return acc;
  }
  return t * exp(t) - expm1(t);
}

/* e^t - 1 - t (reverse KL with f'(1) removed). */
static double rkl_tilde(double t)
{
  if (fabs(t) < 0.5) {
    double term = t, acc = 0;
    for (int k = 2; k < 22; k++) {
      term *= t / k;
      acc += term;
    }
    return acc;
  }
  return expm1(t) - t;
}

/* Amari f(e^t) = (e^{at} - 1 - a (e^t - 1)) / (a (a - 1)). */
static double alpha_f(double a, double t)
{
  double big = fabs(a) > 1 ? fabs(a) : 1;
  if (fabs(t) * big < 0.1) { /* sum_{k>=2} (1 + a + ... + a^{k-2}) t^k / k! */
    double term = t, ck = 0, ak = 1, acc = 0;
    for (int k = 2; k < 16; k++) {
      term *= t / k;
      ck += ak;
      ak *= a;
      acc += ck * term;
    }
    return acc;
  }
  if (t > 0) /* factor e^t out so overflow gives +-inf, never inf - inf */
    return (exp(t) * (exp((a - 1) * t) - a) + (a - 1)) / (a * (a - 1));
  return (exp(a * t) - a * exp(t) + (a - 1)) / (a * (a - 1));
}

static void alpha_psi(double a, double t, double *psi, double *dpsi)
{
  const double big = fabs(a) > 1 ? fabs(a) : 1, c = 2 / (a * (a - 1));
  double p, dp;
  if (fabs(t) * big < 0.1) {
    p = 2 * alpha_f(a, t) / (1 + exp(t));
    /* sigma(t) (2 f'(u) - psi), f'(u) = (u^{a-1} - 1) / (a - 1) */
    dp = sigm(t) * (2 * expm1((a - 1) * t) / (a - 1) - p);
  } else if (t > 0) { /* numerator and denominator divided by e^t */
    const double e = exp(-t), d = 1 + e;
    p = c * (exp((a - 1) * t) - a + (a - 1) * e) / d;
    dp = c * ((a - 1) * exp((a - 1) * t) + a * exp((a - 2) * t) - (2 * a - 1) * e) / (d * d);
  } else {
    const double e = exp(t), d = 1 + e;
    p = c * (exp(a * t) + (a - 1) - a * e) / d;
    dp = c * (a * exp(a * t) + (a - 1) * exp((a + 1) * t) - (2 * a - 1) * e) / (d * d);
  }
  *psi = p;
  if (dpsi) /* each form's terms share one sign where they overflow: no NaN */
    *dpsi = dp;
}

/* Pearson chi^2: psi = 2 (e^t - 1) tanh(t/2). */
static void pearson_psi(double t, double *psi, double *dpsi)
{
  double th = tanh(0.5 * t);
  *psi = 2 * expm1(t) * th;
  if (dpsi) {
    /* 2 e^t tanh(t/2) + expm1(t) sech^2(t/2); for t > 0 the second term is
     * 4 (1 - e^-t) / (1 + e^-t)^2, which cannot form inf * 0. */
    double second = t > 0 ? 4 * -expm1(-t) / ((1 + exp(-t)) * (1 + exp(-t)))
                          : expm1(t) * spdi_sech2(0.5 * t);
    *dpsi = 2 * exp(t) * th + second;
  }
}

/* Jensen-Shannon: psi = m(|t|/2), m(h) = h tanh h - log cosh h, in
 * [0, log 2); psi' = (t/4) sech^2(t/2). */
static double js_psi(double t)
{
  double h = 0.5 * fabs(t);
  if (h < 1)
    return fmax(0, h * tanh(h) - spdi_log_cosh(h));
  double e = exp(-2 * h);
  return LOG2 - log1p(e) - 2 * h * e / (1 + e);
}

static void builtin_psi(const spd_fdiv *f, double t, double *psi, double *dpsi)
{
  double p = 0, dp = 0;
  switch (f->kind) {
  case SPD_FDIV_KL: /* 2 (t e^t - e^t + 1) / (1 + e^t) */
    p = t > 0.5 ? 2 * (t - 1 + exp(-t)) / (1 + exp(-t)) : 2 * kl_tilde(t) / (1 + exp(t));
    dp = sigm(t) * (2 * t - p);
    break;
  case SPD_FDIV_REVERSE_KL: /* 2 (e^t - 1 - t) / (1 + e^t) */
    p = t > 0.5 ? 2 * (1 - exp(-t) - t * exp(-t)) / (1 + exp(-t))
                : 2 * rkl_tilde(t) / (1 + exp(t));
    dp = 2 * tanh(0.5 * t) - sigm(t) * p;
    break;
  case SPD_FDIV_JENSEN_SHANNON:
    p = js_psi(t);
    dp = 0.25 * t * spdi_sech2(0.5 * t);
    break;
  case SPD_FDIV_SQUARED_HELLINGER: /* 2 (1 - sech(t/2)) = 4 sinh^2(t/4) / cosh(t/2) */
    if (fabs(t) < 2) {
      double sh = sinh(0.25 * t);
      p = 4 * sh * sh / cosh(0.5 * t);
    } else {
      p = 2 * (1 - 1 / cosh(0.5 * t));
    }
    dp = tanh(0.5 * t) / cosh(0.5 * t);
    break;
  case SPD_FDIV_TOTAL_VARIATION: /* |tanh(t/2)| */
    p = fabs(tanh(0.5 * t));
    dp = (t > 0 ? 0.5 : t < 0 ? -0.5 : 0) * spdi_sech2(0.5 * t);
    break;
  case SPD_FDIV_PEARSON_CHI2:
    pearson_psi(t, &p, &dp);
    break;
  case SPD_FDIV_NEYMAN_CHI2: /* mirror image of Pearson */
    pearson_psi(-t, &p, &dp);
    dp = -dp;
    break;
  case SPD_FDIV_ALPHA:
    alpha_psi(f->alpha, t, &p, &dp);
    break;
  case SPD_FDIV_JEFFREYS: /* 2 t tanh(t/2) */
    p = 2 * t * tanh(0.5 * t);
    dp = 2 * tanh(0.5 * t) + t * spdi_sech2(0.5 * t);
    break;
  case SPD_FDIV_TRIANGULAR: /* 2 tanh^2(t/2) */
    p = 2 * tanh(0.5 * t) * tanh(0.5 * t);
    dp = 2 * tanh(0.5 * t) * spdi_sech2(0.5 * t);
    break;
  case SPD_FDIV_ARITHMETIC_GEOMETRIC: /* 2 log cosh(t/2) */
    p = 2 * spdi_log_cosh(0.5 * t);
    dp = tanh(0.5 * t);
    break;
  case SPD_FDIV_MODIFIED_GAN:
    /* 2 f = 2 log cosh(t/2) + (e^t - 1 - t); psi = 2f / (1 + e^t), or
     * (2 log cosh(t/2) - t) sigma(-t) + tanh(t/2) away from 0. */
    if (fabs(t) < 1)
      p = (2 * spdi_log_cosh(0.5 * t) + rkl_tilde(t)) / (1 + exp(t));
    else
      p = (2 * spdi_log_cosh(0.5 * t) - t) * sigm(-t) + tanh(0.5 * t);
    dp = sigm(t) - 2 * sigm(-t) * sigm(-t) - sigm(t) * p;
    break;
  case SPD_FDIV_T_POWER: { /* s t(t - 1) times the Amari psi */
    double a = f->alpha, s = (a > 0 && a < 1) ? -1 : 1;
    alpha_psi(a, t, &p, &dp);
    p *= s * a * (a - 1);
    dp *= s * a * (a - 1);
    break;
  }
  case SPD_FDIV_LOG1P_ABS: /* 2 tanh(t/2) for t >= 0, 2 (e^-t - 1) / (1 + e^t) below */
    if (t >= 0) {
      p = 2 * tanh(0.5 * t);
      dp = t > 0 ? spdi_sech2(0.5 * t) : 0;
    } else {
      double e = exp(t);
      p = 2 * expm1(-t) / (1 + e);
      dp = (2 * e - 4 - 2 / e) / ((1 + e) * (1 + e));
    }
    break;
  case SPD_FDIV_CUSTOM:
    break;
  }
  *psi = p;
  if (dpsi)
    *dpsi = dp;
}

/* f'(u) of a custom f: the callback, or a central difference in t. */
static double custom_fprime(const spd_fdiv *f, double t)
{
  double u = exp(t);
  if (f->fprime)
    return f->fprime(u, f->user);
  double h = 1e-5 * (fabs(t) > 1 ? fabs(t) : 1);
  double fp = f->f(exp(t + h), f->user), fm = f->f(exp(t - h), f->user);
  return (fp - fm) / (2 * h) / u;
}

bool spdi_fdiv_psi(const spd_fdiv *f, double t, double *psi, double *dpsi)
{
  if (f->kind != SPD_FDIV_CUSTOM) {
    builtin_psi(f, t, psi, dpsi);
    return true;
  }
  double u = exp(t);
  double p = 2 * (f->f(u, f->user) - f->f1 * expm1(t)) / (1 + u);
  if (!isfinite(p))
    return false;
  *psi = p;
  if (dpsi) {
    double d = sigm(t) * (2 * (custom_fprime(f, t) - f->f1) - p);
    if (!isfinite(d))
      return false;
    *dpsi = d;
  }
  return true;
}

bool spdi_fdiv_f(const spd_fdiv *f, double t, double *value, double *deriv)
{
  double v = 0, d = 0, e = exp(t);
  switch (f->kind) {
  case SPD_FDIV_KL:
    v = t * e;
    d = e * (1 + t);
    break;
  case SPD_FDIV_REVERSE_KL:
    v = -t;
    d = -1;
    break;
  case SPD_FDIV_JENSEN_SHANNON:
    v = js_psi(t) * 0.5 * (1 + e);
    /* (e^t / 2) (log 2 - softplus(-t)) = (e^t / 2) log(1 + tanh(t/2)) */
    d = 0.5 * e * (t > -1 ? log1p(tanh(0.5 * t)) : LOG2 + t - softplus(t));
    break;
  case SPD_FDIV_SQUARED_HELLINGER:
    v = expm1(0.5 * t) * expm1(0.5 * t);
    d = expm1(0.5 * t) * exp(0.5 * t);
    break;
  case SPD_FDIV_TOTAL_VARIATION:
    v = 0.5 * fabs(expm1(t));
    d = (t > 0 ? 0.5 : t < 0 ? -0.5 : 0) * e;
    break;
  case SPD_FDIV_PEARSON_CHI2:
    v = expm1(t) * expm1(t);
    d = 2 * expm1(t) * e;
    break;
  case SPD_FDIV_NEYMAN_CHI2: /* e^t - 2 + e^-t */
    v = 4 * sinh(0.5 * t) * sinh(0.5 * t);
    d = 2 * sinh(t);
    break;
  case SPD_FDIV_ALPHA:
    v = alpha_f(f->alpha, t);
    d = e * expm1((f->alpha - 1) * t) / (f->alpha - 1);
    break;
  case SPD_FDIV_JEFFREYS:
    v = t * expm1(t);
    d = expm1(t) + t * e;
    break;
  case SPD_FDIV_TRIANGULAR:
    v = expm1(t) * tanh(0.5 * t);
    d = e * tanh(0.5 * t) +
        (t > 0 ? 2 * -expm1(-t) / ((1 + exp(-t)) * (1 + exp(-t)))
               : 0.5 * expm1(t) * spdi_sech2(0.5 * t));
    break;
  case SPD_FDIV_ARITHMETIC_GEOMETRIC:
    v = (1 + e) * spdi_log_cosh(0.5 * t);
    d = e * spdi_log_cosh(0.5 * t) + 0.5 * (1 + e) * tanh(0.5 * t);
    break;
  case SPD_FDIV_MODIFIED_GAN:
    v = spdi_log_cosh(0.5 * t) + 0.5 * rkl_tilde(t);
    d = 0.5 * e - sigm(-t);
    break;
  case SPD_FDIV_T_POWER: {
    double a = f->alpha, s = (a > 0 && a < 1) ? -1 : 1;
    v = s * expm1(a * t);
    d = s * a * exp(a * t);
    break;
  }
  case SPD_FDIV_LOG1P_ABS:
    v = expm1(fabs(t));
    d = t > 0 ? e : t < 0 ? -1 / e : 0;
    break;
  case SPD_FDIV_CUSTOM:
    v = f->f(e, f->user);
    d = e * custom_fprime(f, t);
    if (isnan(v) || isnan(d))
      return false;
    break;
  }
  if (value)
    *value = v;
  if (deriv)
    *deriv = d;
  return true;
}

bool spdi_fdiv_power(const spd_fdiv *f, double *a, double *coef)
{
  switch (f->kind) {
  case SPD_FDIV_SQUARED_HELLINGER: /* 2 - 2 int sqrt(p q) */
    *a = 0.5;
    *coef = -2;
    return true;
  case SPD_FDIV_PEARSON_CHI2: /* int p^2 / q - 1 */
    *a = 2;
    *coef = 1;
    return true;
  case SPD_FDIV_NEYMAN_CHI2: /* int q^2 / p - 1 */
    *a = -1;
    *coef = 1;
    return true;
  case SPD_FDIV_ALPHA:
    *a = f->alpha;
    *coef = 1 / (f->alpha * (f->alpha - 1));
    return true;
  case SPD_FDIV_T_POWER:
    *a = f->alpha;
    *coef = (f->alpha > 0 && f->alpha < 1) ? -1 : 1;
    return true;
  default:
    return false;
  }
}
