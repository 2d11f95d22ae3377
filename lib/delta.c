/* Exact spread divergences between two point masses (fdiv.h, "Exact
 * point-mass divergences"). Everything is in double precision.
 *
 * Gaussian kernels: in whitened coordinates along Delta the problem is
 * one-dimensional with p = N(d, 1), q = N(0, 1), d^2 = Delta^T Sigma^-1
 * Delta. Centring at d/2 (s = d/2 + w) gives log p/q = d w and
 *   D(d) = int K(w) psi(d w) dw,  K(w) = (N(w - d/2) + N(w + d/2)) / 2,
 *   D'(d) = int [dK/dd psi(d w) + K w psi'(d w)] dw,
 *   dK/dd = ((w - d/2) N(w - d/2) - (w + d/2) N(w + d/2)) / 4,
 * and the gradient is dD/dmu_q = -D'(d) Sigma^-1 Delta / d.
 *
 * Laplace kernels, unit scale, one coordinate with offset delta > 0:
 * log p/q is -delta left of 0, +delta right of delta and 2s - delta in
 * between, so with S = psi(delta) + psi(-delta), S' = psi'(delta) -
 * psi'(-delta) and I = int_{-delta/2}^{delta/2} psi(2w) cosh(w) e^{-delta/2} dw:
 *   D = (1 + e^-delta) S / 4 + I / 2,
 *   D' = -e^-delta S / 4 + (1 + e^-delta) S' / 4 - I / 4 + (1 + e^-delta) S / 8.
 * Separable kinds use per-dimension closed forms: KL-type sums of
 * delta + e^-delta - 1 and the power family's product of
 *   A_a(delta) = int p^a q^(1-a) = (e^{-a delta} + e^{-(1-a) delta}
 *                 + e^{-a delta} expm1((2a - 1) delta) / (2a - 1)) / 2,
 *   A_a'(delta) = a (a - 1) e^{-a delta} expm1((2a - 1) delta) / (2a - 1). */
#include "fdiv_internal.h"
#include "quad.h"
#include "spread_internal.h"

#include <math.h>
#include <stdlib.h>

#define QUAD_RTOL 1e-12
static const double INV_SQRT_2PI = 0.39894228040143267794;
static const double SQRT2 = 1.41421356237309504880;

typedef struct {
  const spd_fdiv *f;
  double d; /* Gaussian: Mahalanobis distance; Laplace: delta */
} quad_ctx;

static double npdf(double x)
{
  return INV_SQRT_2PI * exp(-0.5 * x * x);
}

static bool gauss_integrand(double w, void *vctx, double *out)
{
  const quad_ctx *c = vctx;
  const double d = c->d, a = w - 0.5 * d, b = w + 0.5 * d;
  double psi, dpsi;
  if (!spdi_fdiv_psi(c->f, d * w, &psi, &dpsi))
    return false;
  const double na = npdf(a), nb = npdf(b);
  const double k = 0.5 * (na + nb), dk = 0.25 * (a * na - b * nb);
  /* 0 * inf where the kernel underflows: the integrand is 0 there. */
  out[0] = k > 0 ? k * psi : 0;
  out[1] = (dk != 0 ? dk * psi : 0) + (k > 0 ? k * w * dpsi : 0);
  return isfinite(out[0]) && isfinite(out[1]);
}

static int quad_fail(const char *func, int qst)
{
  if (qst == SPDI_QUAD_NOMEM)
    return spdi_set_error(SPD_E_NOMEM, func, "cannot allocate quadrature intervals");
  if (qst == SPDI_QUAD_EVAL)
    return spdi_set_error(SPD_E_NUMERIC, func, "the integrand is not finite (f overflows "
                          "or a custom f returned NaN/Inf)");
  return spdi_set_error(SPD_E_NUMERIC, func, "quadrature did not reach the requested "
                        "accuracy");
}

/* Breakpoints at centre +- 2^k / 2 (k = 0..7) inside [lo, hi]: a peak of
 * unit width anywhere in a long interval is then always resolved (a
 * 21-point rule on [d/2, 3d/2] with d = 1e6 would see none of the peak at
 * its left end and report 0 with 0 error). Returns the new count. */
#define PEAK_BREAKS 17
static size_t add_peak_breaks(double *br, size_t n, double centre, double lo, double hi)
{
  for (int k = -1; k < 8; k++)
    for (int sgn = -1; sgn <= 1; sgn += 2) {
      if (k == -1 && sgn == 1)
        continue; /* the centre itself, once */
      double x = k < 0 ? centre : centre + sgn * ldexp(1.0, k) * 0.5;
      if (x > lo && x < hi)
        br[n++] = x;
    }
  return n;
}

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* D and D'(d) by quadrature for a Gaussian kernel. The window holds every
 * place the integrand can peak for f growing at most like u^2 or 1/u (w =
 * +-d/2, +-3d/2) plus 40 standard deviations; for faster-growing custom f
 * it is widened until the integrand at its edges is negligible. */
static int gauss_quad(const char *func, const spd_fdiv *f, double d, double *D, double *dD)
{
  quad_ctx c = { f, d };
  double half = 1.5 * d + 40;
  for (int attempt = 0; attempt < 8; attempt++, half *= 2) {
    double br[2 + 5 * PEAK_BREAKS];
    size_t n = 0;
    br[n++] = -half;
    br[n++] = half;
    const double centres[5] = { -1.5 * d, -0.5 * d, 0, 0.5 * d, 1.5 * d };
    for (int i = 0; i < 5; i++)
      n = add_peak_breaks(br, n, centres[i], -half, half);
    qsort(br, n, sizeof *br, cmp_double);
    double res[2];
    int qst = spdi_quad(gauss_integrand, &c, 2, br, n, QUAD_RTOL, res);
    if (qst != SPDI_QUAD_OK)
      return quad_fail(func, qst);
    double edge[2][2];
    if (!gauss_integrand(-half, &c, edge[0]) || !gauss_integrand(half, &c, edge[1]))
      return quad_fail(func, SPDI_QUAD_EVAL);
    double tail = (fabs(edge[0][0]) + fabs(edge[1][0])) * half;
    if (tail <= 1e-15 * fabs(res[0])) {
      *D = res[0];
      *dD = res[1];
      return SPD_OK;
    }
  }
  return spdi_set_error(SPD_E_NUMERIC, func, "the integrand does not decay (f grows too "
                        "fast for the divergence to be finite?)");
}

/* Gaussian kernels: value and G = dD / d(d^2) from d^2. */
static int gauss_1d(const char *func, const spd_fdiv *f, double d2, double *D, double *G)
{
  double a, coef;
  switch (f->kind) {
  case SPD_FDIV_KL:
  case SPD_FDIV_REVERSE_KL:
    *D = 0.5 * d2;
    *G = 0.5;
    return SPD_OK;
  case SPD_FDIV_JEFFREYS:
    *D = d2;
    *G = 1;
    return SPD_OK;
  case SPD_FDIV_TOTAL_VARIATION: {
    double d = sqrt(d2);
    *D = erf(d / (2 * SQRT2));
    *G = INV_SQRT_2PI * exp(-0.125 * d2) / (2 * d);
    return SPD_OK;
  }
  default:
    break;
  }
  if (spdi_fdiv_power(f, &a, &coef)) { /* int p^a q^(1-a) = exp(a (a-1) d^2 / 2) */
    double la = 0.5 * a * (a - 1) * d2;
    *D = coef * expm1(la);
    *G = coef * exp(la) * 0.5 * a * (a - 1);
    return SPD_OK;
  }
  double d = sqrt(d2), dD = 0;
  int st = gauss_quad(func, f, d, D, &dD);
  if (st == SPD_OK)
    *G = dD / (2 * d);
  return st;
}

/* log(expm1(x) / x), x != 0, without cancellation or overflow. */
static double log_expm1_over(double x)
{
  if (fabs(x) < 1)
    return log(expm1(x) / x);
  if (x > 0)
    return x + log1p(-exp(-x)) - log(x);
  return log(-expm1(x)) - log(-x);
}

/* log A_a(delta) and (log A_a)'(delta) for the Laplace power family. */
static void laplace_log_a(double a, double delta, double *la, double *dla)
{
  if (delta == 0) {
    *la = 0;
    *dla = 0;
    return;
  }
  const double c = 2 * a - 1;
  double l1 = -a * delta, l2 = -(1 - a) * delta;
  double l3 = -a * delta + log(delta) + (c != 0 ? log_expm1_over(c * delta) : 0);
  double m = fmax(l1, fmax(l2, l3));
  double lA = log(0.5) + m + log(exp(l1 - m) + exp(l2 - m) + exp(l3 - m));
  *la = lA;
  *dla = a * (a - 1) * exp(l3 - lA);
}

static bool laplace_integrand(double w, void *vctx, double *out)
{
  const quad_ctx *c = vctx;
  double psi;
  if (!spdi_fdiv_psi(c->f, 2 * w, &psi, NULL))
    return false;
  out[0] = psi * 0.5 * (exp(w - 0.5 * c->d) + exp(-w - 0.5 * c->d));
  return isfinite(out[0]);
}

/* One differing coordinate, unit scale: D(delta) and dD/ddelta. */
static int laplace_1d(const char *func, const spd_fdiv *f, double delta, double *D,
                      double *dD)
{
  if (f->kind == SPD_FDIV_TOTAL_VARIATION) {
    *D = -expm1(-0.5 * delta);
    *dD = 0.5 * exp(-0.5 * delta);
    return SPD_OK;
  }
  double pp, dpp, pm, dpm;
  if (!spdi_fdiv_psi(f, delta, &pp, &dpp) || !spdi_fdiv_psi(f, -delta, &pm, &dpm))
    return quad_fail(func, SPDI_QUAD_EVAL);
  quad_ctx c = { f, delta };
  const double h = 0.5 * delta;
  /* the integrand peaks at both ends (width ~1) and, for small delta, 0 */
  double br[3 + 3 * PEAK_BREAKS];
  size_t n = 0;
  br[n++] = -h;
  br[n++] = 0;
  br[n++] = h;
  n = add_peak_breaks(br, n, -h, -h, h);
  n = add_peak_breaks(br, n, h, -h, h);
  qsort(br, n, sizeof *br, cmp_double);
  double I;
  int qst = spdi_quad(laplace_integrand, &c, 1, br, n, QUAD_RTOL, &I);
  if (qst != SPDI_QUAD_OK)
    return quad_fail(func, qst);
  const double S = pp + pm, Sd = dpp - dpm, e = exp(-delta);
  *D = 0.25 * (1 + e) * S + 0.5 * I;
  *dD = -0.25 * e * S + 0.25 * (1 + e) * Sd - 0.25 * I + 0.125 * (1 + e) * S;
  return SPD_OK;
}

/* Laplace kernels: D and dD/ddelta_i (into g) from per-dimension offsets. */
static int laplace_nd(const char *func, const spd_fdiv *f, const double *delta, size_t dim,
                      double *D, double *g)
{
  double a, coef;
  switch (f->kind) {
  case SPD_FDIV_KL:
  case SPD_FDIV_REVERSE_KL:
  case SPD_FDIV_JEFFREYS: {
    const double k = f->kind == SPD_FDIV_JEFFREYS ? 2 : 1;
    double acc = 0;
    for (size_t i = 0; i < dim; i++) {
      acc += k * (delta[i] + expm1(-delta[i]));
      g[i] = k * -expm1(-delta[i]);
    }
    *D = acc;
    return SPD_OK;
  }
  default:
    break;
  }
  if (spdi_fdiv_power(f, &a, &coef)) {
    double lA = 0;
    for (size_t i = 0; i < dim; i++) {
      double la;
      laplace_log_a(a, delta[i], &la, &g[i]);
      lA += la;
    }
    *D = coef * expm1(lA);
    const double scale = coef * exp(lA);
    for (size_t i = 0; i < dim; i++)
      g[i] *= scale;
    return SPD_OK;
  }
  size_t nz = 0, which = 0;
  for (size_t i = 0; i < dim; i++)
    if (delta[i] != 0) {
      nz++;
      which = i;
    }
  if (nz > 1)
    return spdi_set_error(SPD_E_UNSUPPORTED, func, "%s with a Laplace spread is not "
                          "separable over dimensions and %zu coordinates differ; no exact "
                          "method (only one differing coordinate is supported)",
                          spd_fdiv_kind_name((int)f->kind), nz);
  for (size_t i = 0; i < dim; i++)
    g[i] = 0;
  return laplace_1d(func, f, delta[which], D, &g[which]);
}

int spd_divergence_delta(const spd_fdiv *f, const spd_spread *s, const float *mu_p,
                         const float *mu_q, double *value, float *grad_mu_q)
{
  if (f == NULL)
    return SPDI_FAIL(SPD_E_INVALID, "f is NULL");
  int st = spdi_check_spread(__func__, s);
  if (st != SPD_OK)
    return st;
  if (mu_p == NULL || mu_q == NULL || value == NULL)
    return SPDI_FAIL(SPD_E_INVALID, "%s is NULL",
                     mu_p == NULL ? "mu_p" : mu_q == NULL ? "mu_q" : "value");
  const size_t dim = s->dim;
  if (!spdi_all_finite(mu_p, dim) || !spdi_all_finite(mu_q, dim))
    return SPDI_FAIL(SPD_E_DOMAIN, "%s contains NaN or Inf",
                     spdi_all_finite(mu_p, dim) ? "mu_q" : "mu_p");
  /* Delta | per-dimension offsets | gradient | low-rank scratch */
  const size_t nbuf = 3 * dim + s->rank;
  double *buf = spdi_malloc(nbuf * sizeof *buf);
  if (buf == NULL)
    return SPDI_FAIL(SPD_E_NOMEM, "cannot allocate %zu doubles", nbuf);
  double *delta = buf, *off = buf + dim, *g = buf + 2 * dim, *scratch = buf + 3 * dim;
  bool same = true;
  for (size_t i = 0; i < dim; i++) {
    delta[i] = (double)mu_p[i] - (double)mu_q[i];
    same = same && delta[i] == 0;
    g[i] = 0;
  }
  double D = 0;
  if (same) {
    /* D(p||p) = 0 exactly, with the zero subgradient. */
  } else if (spdi_spread_is_gaussian(s)) {
    double d2 = spdi_spread_mahalanobis2(s, delta), G = 0;
    st = d2 > 0 ? gauss_1d(__func__, f, d2, &D, &G) : SPD_OK;
    if (st == SPD_OK && d2 > 0) { /* dD/dmu_q = -2 G Sigma^-1 Delta */
      spdi_spread_precision_apply(s, delta, g, scratch);
      for (size_t i = 0; i < dim; i++)
        g[i] *= -2 * G;
    }
  } else {
    for (size_t i = 0; i < dim; i++)
      off[i] = fabs(delta[i]) / spdi_spread_scale_at(s, i);
    st = laplace_nd(__func__, f, off, dim, &D, g);
    /* offset_i = |Delta_i| / b_i with Delta = mu_p - mu_q */
    for (size_t i = 0; st == SPD_OK && i < dim; i++)
      g[i] *= (delta[i] > 0 ? -1 : delta[i] < 0 ? 1 : 0) / spdi_spread_scale_at(s, i);
  }
  if (st == SPD_OK && !isfinite(D))
    st = SPDI_FAIL(SPD_E_NUMERIC, "%s divergence overflows a double",
                   spd_fdiv_kind_name((int)f->kind));
  for (size_t i = 0; st == SPD_OK && grad_mu_q && i < dim; i++)
    if (!isfinite((float)g[i]))
      st = SPDI_FAIL(SPD_E_NUMERIC, "%s gradient overflows (component %zu = %g)",
                     spd_fdiv_kind_name((int)f->kind), i, g[i]);
  if (st == SPD_OK) {
    *value = D;
    for (size_t i = 0; grad_mu_q && i < dim; i++)
      grad_mu_q[i] = (float)g[i];
  }
  spdi_free(buf);
  return st;
}
