/* f-divergence handles and log-space evaluation (formulas in fkinds.c). */
#include "fdiv_internal.h"

#include <math.h>

/* Names indexed by kind; keep in step with spd_fdiv_kind. */
static const char *const kind_names[] = {
  [SPD_FDIV_KL] = "KL",
  [SPD_FDIV_REVERSE_KL] = "reverse KL",
  [SPD_FDIV_JENSEN_SHANNON] = "Jensen-Shannon",
  [SPD_FDIV_SQUARED_HELLINGER] = "squared Hellinger",
  [SPD_FDIV_TOTAL_VARIATION] = "total variation",
  [SPD_FDIV_PEARSON_CHI2] = "Pearson chi^2",
  [SPD_FDIV_NEYMAN_CHI2] = "Neyman chi^2",
  [SPD_FDIV_ALPHA] = "alpha",
  [SPD_FDIV_JEFFREYS] = "Jeffreys",
  [SPD_FDIV_TRIANGULAR] = "triangular",
  [SPD_FDIV_ARITHMETIC_GEOMETRIC] = "arithmetic-geometric",
  [SPD_FDIV_MODIFIED_GAN] = "modified GAN",
  [SPD_FDIV_T_POWER] = "t-power",
  [SPD_FDIV_LOG1P_ABS] = "log1p-abs",
  [SPD_FDIV_CUSTOM] = "custom",
};
#define NKINDS ((int)(sizeof kind_names / sizeof kind_names[0]))
_Static_assert(SPD_FDIV_CUSTOM == NKINDS - 1, "kind_names must list every kind");

const char *spd_fdiv_kind_name(int kind)
{
  if (kind <= 0 || kind >= NKINDS)
    return "unknown";
  return kind_names[kind];
}

/* f'(1) of each built-in kind (f~ = f - f'(1) (u - 1) in fdiv_internal.h).
 * The kinks of total variation and log1p-abs get 0, inside their
 * subdifferential. */
static double builtin_f1(spd_fdiv_kind kind, double alpha)
{
  switch (kind) {
  case SPD_FDIV_KL:
    return 1;
  case SPD_FDIV_REVERSE_KL:
    return -1;
  case SPD_FDIV_T_POWER:
    return (alpha > 0 && alpha < 1) ? -alpha : alpha;
  default:
    return 0;
  }
}

int spd_fdiv_create(spd_fdiv_kind kind, double alpha, spd_fdiv **out)
{
  if (out == NULL)
    return SPDI_FAIL(SPD_E_INVALID, "out is NULL");
  if ((int)kind == SPD_FDIV_CUSTOM)
    return SPDI_FAIL(SPD_E_INVALID, "use spd_fdiv_create_custom() for a custom f");
  if ((int)kind <= 0 || (int)kind >= NKINDS)
    return SPDI_FAIL(SPD_E_INVALID, "unknown f-divergence kind %d", (int)kind);
  if (kind == SPD_FDIV_ALPHA || kind == SPD_FDIV_T_POWER) {
    if (!isfinite(alpha) || alpha == 0 || alpha == 1)
      return SPDI_FAIL(SPD_E_DOMAIN, "%s exponent %g must be finite and not 0 or 1",
                       kind_names[kind], alpha);
  } else {
    alpha = 0; /* ignored: keep the handle canonical */
  }
  spd_fdiv *f = spdi_calloc(1, sizeof *f);
  if (f == NULL)
    return SPDI_FAIL(SPD_E_NOMEM, "cannot allocate the divergence");
  f->kind = kind;
  f->alpha = alpha;
  f->f1 = builtin_f1(kind, alpha);
  *out = f;
  return SPD_OK;
}

int spd_fdiv_create_custom(spd_fdiv_fn fn, spd_fdiv_fn fprime, void *user, spd_fdiv **out)
{
  if (out == NULL || fn == NULL)
    return SPDI_FAIL(SPD_E_INVALID, "%s is NULL", out == NULL ? "out" : "f");
  double f_at_1 = fn(1.0, user);
  if (!isfinite(f_at_1) || fabs(f_at_1) > 1e-12)
    return SPDI_FAIL(SPD_E_DOMAIN, "f(1) = %g; an f-divergence needs f(1) = 0", f_at_1);
  double f1;
  if (fprime) {
    f1 = fprime(1.0, user);
  } else { /* only shifts the variance of estimates, never their mean */
    const double h = 1e-5;
    f1 = (fn(exp(h), user) - fn(exp(-h), user)) / (2 * h);
  }
  if (!isfinite(f1))
    return SPDI_FAIL(SPD_E_DOMAIN, "f'(1) = %g is not finite", f1);
  spd_fdiv *f = spdi_calloc(1, sizeof *f);
  if (f == NULL)
    return SPDI_FAIL(SPD_E_NOMEM, "cannot allocate the divergence");
  f->kind = SPD_FDIV_CUSTOM;
  f->f = fn;
  f->fprime = fprime;
  f->user = user;
  f->f1 = f1;
  *out = f;
  return SPD_OK;
}

void spd_fdiv_free(spd_fdiv *f)
{
  spdi_free(f);
}

int spd_fdiv_get_kind(const spd_fdiv *f)
{
  return f ? (int)f->kind : 0;
}

int spd_fdiv_eval(const spd_fdiv *f, double log_u, double *value, double *deriv)
{
  if (f == NULL)
    return SPDI_FAIL(SPD_E_INVALID, "f is NULL");
  if (!isfinite(log_u))
    return SPDI_FAIL(SPD_E_DOMAIN, "log_u = %g must be finite", log_u);
  double v, d;
  if (!spdi_fdiv_f(f, log_u, &v, &d))
    return SPDI_FAIL(SPD_E_NUMERIC, "the custom f returned NaN at u = exp(%g)", log_u);
  if (value)
    *value = v;
  if (deriv)
    *deriv = d;
  return SPD_OK;
}
