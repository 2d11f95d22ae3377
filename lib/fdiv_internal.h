/* f-divergence handle layout and the log-space evaluation that the exact
 * divergences, the estimator and the public spd_fdiv_eval() share. */
#ifndef SPDI_FDIV_INTERNAL_H
#define SPDI_FDIV_INTERNAL_H

#include "internal.h"

struct spd_fdiv {
  spd_fdiv_kind kind;
  double alpha;        /* ALPHA, T_POWER exponent */
  spd_fdiv_fn f;       /* CUSTOM */
  spd_fdiv_fn fprime;  /* CUSTOM, may be NULL */
  void *user;          /* CUSTOM, borrowed */
  double f1;           /* f'(1): f~(u) = f(u) - f1 (u - 1) has f~'(1) = 0 */
};

/* The mixture-weighted integrand of every exact and Monte Carlo method:
 * psi(t) = 2 f~(e^t) / (1 + e^t), with f~ = f - f'(1) (u - 1), so that
 * D_f(p||q) = E_m[psi(log p/q)] for m = (p + q) / 2. *psi and (if dpsi is
 * non-NULL) *dpsi = psi'(t). t must be finite. Returns false only when a
 * custom f produced a non-finite value (no error message is set). */
bool spdi_fdiv_psi(const spd_fdiv *f, double t, double *psi, double *dpsi);

/* f(e^t) and d f(e^t) / dt, as documented for spd_fdiv_eval(). */
bool spdi_fdiv_f(const spd_fdiv *f, double t, double *value, double *deriv);

/* Power family: kinds whose divergence is coef * (integral p^a q^(1-a) - 1)
 * (squared Hellinger, chi^2, alpha, t-power). Returns false for others. */
bool spdi_fdiv_power(const spd_fdiv *f, double *a, double *coef);

/* Numerically stable helpers shared with the exact divergences. */
double spdi_log_cosh(double x);
double spdi_sech2(double x); /* 1 / cosh(x)^2 without overflow */

#endif /* SPDI_FDIV_INTERNAL_H */
