/* Spread kernels: creation, parameters, scale, Fourier transform, and the
 * Woodbury factorisation of the low-rank Gaussian. Sampling lives in
 * spread_noise.c, densities in spread_density.c. */
#include "spread_internal.h"
#include "gemm.h"

#include <math.h>
#include <string.h>

int spdi_check_spread(const char *func, const spd_spread *s)
{
  if (s == NULL)
    return spdi_set_error(SPD_E_INVALID, func, "spread is NULL");
  return SPD_OK;
}

static bool positive_finite(double v)
{
  return isfinite(v) && v > 0;
}

/* ---- low-rank factorisation ---------------------------------------------- */

/* Factor M = I + L^T L / sigma^2 and fill R (rank x rank), V (dim x rank)
 * and log det Sigma for the given sigma and L, using Ld (dim x rank) as
 * work space; the three arrays are the caller's (lowrank_work()). Returns
 * SPD_OK or SPD_E_NUMERIC (message set). */
static int lowrank_factor(const char *func, size_t dim, size_t rank, double sigma,
                          const float *L, double *Ld, double *R, double *V, double *logdet)
{
  for (size_t i = 0; i < dim * rank; i++)
    Ld[i] = L[i];
  memset(R, 0, rank * rank * sizeof *R);
  /* M in R's storage, then Cholesky in place (lower triangle). The Gram
   * matrix is formed in double: dim can be 12288 and float sums of that
   * many products would cost digits the log-density needs. */
  const double inv_s2 = 1.0 / (sigma * sigma);
  spdi_dgemm(true, false, rank, rank, dim, inv_s2, Ld, rank, Ld, rank, 0.0, R, rank);
  for (size_t j = 0; j < rank; j++)
    R[j * rank + j] += 1.0;
  double half_logdet_m = 0;
  for (size_t j = 0; j < rank; j++) {
    double d = R[j * rank + j];
    for (size_t k = 0; k < j; k++)
      d -= R[j * rank + k] * R[j * rank + k];
    /* M >= I, so d >= 1 in exact arithmetic; anything else is overflow. */
    if (!(d > 0) || !isfinite(d)) {
      return spdi_set_error(SPD_E_NUMERIC, func, "I + L^T L / sigma^2 is not finite "
                            "(L too large for sigma %g)", sigma);
    }
    d = sqrt(d);
    R[j * rank + j] = d;
    half_logdet_m += log(d);
    for (size_t i = j + 1; i < rank; i++) {
      double v = R[i * rank + j];
      for (size_t k = 0; k < j; k++)
        v -= R[i * rank + k] * R[j * rank + k];
      R[i * rank + j] = v / d;
    }
    for (size_t k = j + 1; k < rank; k++)
      R[j * rank + k] = 0; /* clear the upper triangle of M */
  }
  /* V = L R^-T / sigma^2: row i solves R v_i = l_i / sigma^2. */
  const size_t nrows = dim;
  SPDI_PARALLEL_FOR(nrows >= 256 ? spdi_threads() : 1, i, nrows, {
    const double *l = Ld + i * rank;
    double *v = V + i * rank;
    for (size_t j = 0; j < rank; j++) {
      double a = l[j] * inv_s2;
      for (size_t k = 0; k < j; k++)
        a -= R[j * rank + k] * v[k];
      v[j] = a / R[j * rank + j];
    }
  });
  *logdet = 2 * half_logdet_m + 2 * (double)dim * log(sigma);
  return SPD_OK;
}

/* The arrays a refactorisation writes: L in double and the next R and V,
 * allocated on first use and kept in the handle, so that spd_spread_set_scale()
 * and spd_spread_set_params() on a low-rank spread (every step of a
 * learned-spread VAE) allocate nothing once warm. The new factors are
 * written to next_R / next_V and swapped in on success. */
static int lowrank_work(const char *func, spd_spread *s)
{
  const size_t dr = s->dim * s->rank, rr = s->rank * s->rank;
  if (s->Ld == NULL)
    s->Ld = spdi_malloc(dr * sizeof *s->Ld);
  if (s->next_R == NULL)
    s->next_R = spdi_malloc(rr * sizeof *s->next_R);
  if (s->next_V == NULL)
    s->next_V = spdi_malloc(dr * sizeof *s->next_V);
  if (s->Ld == NULL || s->next_R == NULL || s->next_V == NULL)
    return spdi_set_error(SPD_E_NOMEM, func, "cannot allocate the low-rank factorisation "
                          "(dim %zu, rank %zu)", s->dim, s->rank);
  return SPD_OK;
}

/* Commit a new sigma (and L, when L_new is non-NULL) to a low-rank kernel:
 * factor into the spare arrays first, swap them in only on success. */
static int lowrank_commit(const char *func, spd_spread *s, double sigma, const float *L_new)
{
  double logdet = 0;
  const float *L = L_new ? L_new : s->L;
  int st = lowrank_work(func, s);
  if (st == SPD_OK)
    st = lowrank_factor(func, s->dim, s->rank, sigma, L, s->Ld, s->next_R, s->next_V, &logdet);
  if (st != SPD_OK)
    return st;
  if (L_new)
    memcpy(s->L, L_new, s->dim * s->rank * sizeof *s->L);
  double *R = s->R, *V = s->V;
  s->R = s->next_R;
  s->V = s->next_V;
  s->next_R = R; /* NULL after the first factorisation: allocated on the next */
  s->next_V = V;
  s->sigma = sigma;
  s->log_norm = logdet;
  return SPD_OK;
}

/* ---- creation ------------------------------------------------------------ */

/* Larger dimensions cannot describe arrays that exist (dim doubles, or a
 * point of dim floats plus its noise, would not fit in the address space);
 * refusing them at creation keeps every later dim-sized access in bounds.
 * Found by tests/test_badinput.c: an isotropic spread of dim SIZE_MAX was
 * accepted and spd_spread_fourier then read past omega. */
#define SPDI_SPREAD_MAX_DIM (SIZE_MAX / (4 * sizeof(double)))

static int new_spread(const char *func, spd_spread_kind kind, size_t dim, spd_spread **out,
                      spd_spread **s_out)
{
  if (out == NULL)
    return spdi_set_error(SPD_E_INVALID, func, "out is NULL");
  if (dim == 0)
    return spdi_set_error(SPD_E_INVALID, func, "dim is 0");
  if (dim > SPDI_SPREAD_MAX_DIM)
    return spdi_set_error(SPD_E_OVERFLOW, func, "dim = %zu is too large", dim);
  spd_spread *s = spdi_calloc(1, sizeof *s);
  if (s == NULL)
    return spdi_set_error(SPD_E_NOMEM, func, "cannot allocate the spread");
  s->kind = kind;
  s->dim = dim;
  *s_out = s;
  return SPD_OK;
}

static double iso_log_norm(spd_spread_kind kind, size_t dim, double scale)
{
  if (kind == SPD_SPREAD_GAUSSIAN)
    return 2 * (double)dim * log(scale);
  return (double)dim * log(2 * scale);
}

static double diag_log_norm(spd_spread_kind kind, size_t dim, const double *scales)
{
  double acc = 0;
  for (size_t i = 0; i < dim; i++)
    acc += kind == SPD_SPREAD_GAUSSIAN_DIAG ? 2 * log(scales[i]) : log(2 * scales[i]);
  return acc;
}

static int create_iso(const char *func, spd_spread_kind kind, size_t dim, double scale,
                      spd_spread **out)
{
  spd_spread *s = NULL;
  int st = new_spread(func, kind, dim, out, &s);
  if (st != SPD_OK)
    return st;
  if (!positive_finite(scale)) {
    spdi_free(s);
    return spdi_set_error(SPD_E_DOMAIN, func, "%s = %g must be finite and > 0",
                          kind == SPD_SPREAD_GAUSSIAN ? "sigma" : "b", scale);
  }
  s->sigma = scale;
  s->log_norm = iso_log_norm(kind, dim, scale);
  *out = s;
  return SPD_OK;
}

static int create_diag(const char *func, spd_spread_kind kind, size_t dim,
                       const double *scales, spd_spread **out)
{
  if (out == NULL || scales == NULL)
    return spdi_set_error(SPD_E_INVALID, func, "%s is NULL", out ? "scales" : "out");
  if (dim == 0)
    return spdi_set_error(SPD_E_INVALID, func, "dim is 0");
  if (dim > SPDI_SPREAD_MAX_DIM) /* before reading dim scales */
    return spdi_set_error(SPD_E_OVERFLOW, func, "dim = %zu is too large", dim);
  for (size_t i = 0; i < dim; i++)
    if (!positive_finite(scales[i]))
      return spdi_set_error(SPD_E_DOMAIN, func, "scale %zu = %g must be finite and > 0",
                            i, scales[i]);
  spd_spread *s = NULL;
  int st = new_spread(func, kind, dim, out, &s);
  if (st != SPD_OK)
    return st;
  s->scales = spdi_malloc(dim * sizeof *s->scales);
  if (s->scales == NULL) {
    spdi_free(s);
    return spdi_set_error(SPD_E_NOMEM, func, "cannot allocate %zu scales", dim);
  }
  memcpy(s->scales, scales, dim * sizeof *scales);
  s->log_norm = diag_log_norm(kind, dim, scales);
  *out = s;
  return SPD_OK;
}

int spd_spread_create_gaussian(size_t dim, double sigma, spd_spread **out)
{
  return create_iso(__func__, SPD_SPREAD_GAUSSIAN, dim, sigma, out);
}

int spd_spread_create_laplace(size_t dim, double b, spd_spread **out)
{
  return create_iso(__func__, SPD_SPREAD_LAPLACE, dim, b, out);
}

int spd_spread_create_gaussian_diag(size_t dim, const double *sigma, spd_spread **out)
{
  return create_diag(__func__, SPD_SPREAD_GAUSSIAN_DIAG, dim, sigma, out);
}

int spd_spread_create_laplace_diag(size_t dim, const double *b, spd_spread **out)
{
  return create_diag(__func__, SPD_SPREAD_LAPLACE_DIAG, dim, b, out);
}

int spd_spread_create_gaussian_lowrank(size_t dim, size_t rank, double sigma, const float *L,
                                       spd_spread **out)
{
  if (out == NULL)
    return SPDI_FAIL(SPD_E_INVALID, "out is NULL");
  if (L == NULL)
    return SPDI_FAIL(SPD_E_INVALID, "L is NULL");
  if (dim == 0 || rank == 0)
    return SPDI_FAIL(SPD_E_INVALID, "dim %zu and rank %zu must both be > 0", dim, rank);
  size_t count, bytes;
  if (!spdi_size_mul(dim, rank, &count) || !spdi_size_mul(count, sizeof(double), &bytes))
    return SPDI_FAIL(SPD_E_OVERFLOW, "dim %zu x rank %zu overflows", dim, rank);
  if (!positive_finite(sigma))
    return SPDI_FAIL(SPD_E_DOMAIN, "sigma = %g must be finite and > 0", sigma);
  if (!spdi_all_finite(L, count))
    return SPDI_FAIL(SPD_E_DOMAIN, "L contains NaN or Inf");
  spd_spread *s = NULL;
  int st = new_spread(__func__, SPD_SPREAD_GAUSSIAN_LOWRANK, dim, out, &s);
  if (st != SPD_OK)
    return st;
  s->rank = rank;
  s->sigma = sigma;
  s->L = spdi_malloc(count * sizeof *s->L);
  if (s->L == NULL) {
    spdi_free(s);
    return SPDI_FAIL(SPD_E_NOMEM, "cannot allocate L (%zu x %zu)", dim, rank);
  }
  memcpy(s->L, L, count * sizeof *L);
  st = lowrank_commit(__func__, s, sigma, NULL);
  if (st != SPD_OK) {
    spd_spread_free(s);
    return st;
  }
  *out = s;
  return SPD_OK;
}

void spd_spread_free(spd_spread *s)
{
  if (s == NULL)
    return;
  spdi_free(s->scales);
  spdi_free(s->L);
  spdi_free(s->R);
  spdi_free(s->V);
  spdi_free(s->Ld);
  spdi_free(s->next_R);
  spdi_free(s->next_V);
  spdi_free(s);
}

/* Copy an array of count elements of size bytes, or report NOMEM. */
static bool dup_array(void **dst, const void *src, size_t count, size_t size)
{
  *dst = NULL;
  if (src == NULL)
    return true;
  *dst = spdi_malloc(count * size);
  if (*dst == NULL)
    return false;
  memcpy(*dst, src, count * size);
  return true;
}

int spd_spread_clone(const spd_spread *s, spd_spread **out)
{
  int st = spdi_check_spread(__func__, s);
  if (st != SPD_OK)
    return st;
  if (out == NULL)
    return SPDI_FAIL(SPD_E_INVALID, "out is NULL");
  spd_spread *c = spdi_malloc(sizeof *c);
  if (c == NULL)
    return SPDI_FAIL(SPD_E_NOMEM, "cannot allocate the copy");
  *c = *s;
  c->Ld = c->next_R = c->next_V = NULL; /* work arrays: the copy gets its own */
  const size_t dr = s->dim * s->rank;
  bool ok = dup_array((void **)&c->scales, s->scales, s->dim, sizeof *s->scales);
  ok = dup_array((void **)&c->L, s->L, dr, sizeof *s->L) && ok;
  ok = dup_array((void **)&c->R, s->R, s->rank * s->rank, sizeof *s->R) && ok;
  ok = dup_array((void **)&c->V, s->V, dr, sizeof *s->V) && ok;
  if (!ok) {
    spd_spread_free(c);
    return SPDI_FAIL(SPD_E_NOMEM, "cannot allocate the copy");
  }
  *out = c;
  return SPD_OK;
}

/* ---- accessors ----------------------------------------------------------- */

int spd_spread_get_kind(const spd_spread *s)
{
  return s ? (int)s->kind : 0;
}

size_t spd_spread_dim(const spd_spread *s)
{
  return s ? s->dim : 0;
}

size_t spd_spread_rank(const spd_spread *s)
{
  return s ? s->rank : 0;
}

size_t spd_spread_num_params(const spd_spread *s)
{
  if (s == NULL)
    return 0;
  if (s->scales)
    return s->dim;
  return 1 + s->dim * s->rank;
}

size_t spd_spread_noise_width(const spd_spread *s)
{
  return s ? s->dim + s->rank : 0;
}

static double geometric_mean(const double *v, size_t n)
{
  double acc = 0;
  for (size_t i = 0; i < n; i++)
    acc += log(v[i]);
  return exp(acc / (double)n);
}

int spd_spread_get_scale(const spd_spread *s, double *scale)
{
  int st = spdi_check_spread(__func__, s);
  if (st != SPD_OK)
    return st;
  if (scale == NULL)
    return SPDI_FAIL(SPD_E_INVALID, "scale is NULL");
  *scale = s->scales ? geometric_mean(s->scales, s->dim) : s->sigma;
  return SPD_OK;
}

int spd_spread_set_scale(spd_spread *s, double scale)
{
  int st = spdi_check_spread(__func__, s);
  if (st != SPD_OK)
    return st;
  if (!positive_finite(scale))
    return SPDI_FAIL(SPD_E_DOMAIN, "scale = %g must be finite and > 0", scale);
  if (s->kind == SPD_SPREAD_GAUSSIAN_LOWRANK)
    return lowrank_commit(__func__, s, scale, NULL);
  if (s->scales == NULL) {
    s->sigma = scale;
    s->log_norm = iso_log_norm(s->kind, s->dim, scale);
    return SPD_OK;
  }
  const double factor = scale / geometric_mean(s->scales, s->dim);
  for (size_t i = 0; i < s->dim; i++)
    if (!positive_finite(s->scales[i] * factor))
      return SPDI_FAIL(SPD_E_DOMAIN, "scale %zu would become %g", i, s->scales[i] * factor);
  for (size_t i = 0; i < s->dim; i++)
    s->scales[i] *= factor;
  s->log_norm = diag_log_norm(s->kind, s->dim, s->scales);
  return SPD_OK;
}

int spd_spread_get_params(const spd_spread *s, float *params)
{
  int st = spdi_check_spread(__func__, s);
  if (st != SPD_OK)
    return st;
  if (params == NULL)
    return SPDI_FAIL(SPD_E_INVALID, "params is NULL");
  if (s->scales) {
    for (size_t i = 0; i < s->dim; i++)
      params[i] = (float)s->scales[i];
    return SPD_OK;
  }
  params[0] = (float)s->sigma;
  if (s->L)
    memcpy(params + 1, s->L, s->dim * s->rank * sizeof *s->L);
  return SPD_OK;
}

int spd_spread_set_params(spd_spread *s, const float *params)
{
  int st = spdi_check_spread(__func__, s);
  if (st != SPD_OK)
    return st;
  if (params == NULL)
    return SPDI_FAIL(SPD_E_INVALID, "params is NULL");
  const size_t nscale = s->scales ? s->dim : 1;
  for (size_t i = 0; i < nscale; i++)
    if (!positive_finite(params[i]))
      return SPDI_FAIL(SPD_E_DOMAIN, "parameter %zu (a scale) = %g must be finite and > 0",
                       i, (double)params[i]);
  if (s->kind == SPD_SPREAD_GAUSSIAN_LOWRANK) {
    if (!spdi_all_finite(params + 1, s->dim * s->rank))
      return SPDI_FAIL(SPD_E_DOMAIN, "L contains NaN or Inf");
    return lowrank_commit(__func__, s, params[0], params + 1);
  }
  if (s->scales) {
    for (size_t i = 0; i < s->dim; i++)
      s->scales[i] = params[i];
    s->log_norm = diag_log_norm(s->kind, s->dim, s->scales);
  } else {
    s->sigma = params[0];
    s->log_norm = iso_log_norm(s->kind, s->dim, s->sigma);
  }
  return SPD_OK;
}

/* ---- Fourier transform --------------------------------------------------- */

int spd_spread_fourier(const spd_spread *s, const float *omega, double *value)
{
  int st = spdi_check_spread(__func__, s);
  if (st != SPD_OK)
    return st;
  if (omega == NULL || value == NULL)
    return SPDI_FAIL(SPD_E_INVALID, "%s is NULL", omega == NULL ? "omega" : "value");
  if (!spdi_all_finite(omega, s->dim))
    return SPDI_FAIL(SPD_E_DOMAIN, "omega contains NaN or Inf");
  double expo = 0; /* log of the transform */
  for (size_t i = 0; i < s->dim; i++) {
    double w = omega[i] * spdi_spread_scale_at(s, i);
    expo -= spdi_spread_is_gaussian(s) ? 0.5 * w * w : log1p(w * w);
  }
  for (size_t j = 0; j < s->rank; j++) { /* |L^T omega|^2 / 2 */
    double u = 0;
    for (size_t i = 0; i < s->dim; i++)
      u += (double)s->L[i * s->rank + j] * omega[i];
    expo -= 0.5 * u * u;
  }
  *value = exp(expo);
  return SPD_OK;
}

/* ---- precision (Sigma^-1) helpers for the fdiv module -------------------- */

void spdi_spread_precision_apply(const spd_spread *s, const double *v, double *out,
                                 double *scratch)
{
  const size_t dim = s->dim, rank = s->rank;
  if (!spdi_spread_is_gaussian(s)) {
    for (size_t i = 0; i < dim; i++)
      out[i] = v[i] / spdi_spread_scale_at(s, i);
    return;
  }
  /* u = V^T v, computed before out is written (out may alias v). */
  for (size_t j = 0; j < rank; j++)
    scratch[j] = 0;
  for (size_t i = 0; rank > 0 && i < dim; i++)
    for (size_t j = 0; j < rank; j++)
      scratch[j] += s->V[i * rank + j] * v[i];
  for (size_t i = 0; i < dim; i++) {
    double sc = spdi_spread_scale_at(s, i);
    double acc = v[i] / (sc * sc);
    for (size_t j = 0; j < rank; j++)
      acc -= s->V[i * rank + j] * scratch[j];
    out[i] = acc;
  }
}

double spdi_spread_mahalanobis2(const spd_spread *s, const double *delta)
{
  const size_t dim = s->dim, rank = s->rank;
  double acc = 0;
  for (size_t i = 0; i < dim; i++) {
    double z = delta[i] / spdi_spread_scale_at(s, i); /* divide first: no overflow */
    acc += z * z;
  }
  for (size_t j = 0; j < rank; j++) {
    double u = 0;
    for (size_t i = 0; i < dim; i++)
      u += s->V[i * rank + j] * delta[i];
    acc -= u * u;
  }
  return acc > 0 ? acc : 0;
}
