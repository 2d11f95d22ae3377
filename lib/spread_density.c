/* Log-densities of spread kernels and their gradients with respect to y, x
 * and the parameters. Everything per row is computed in double; the
 * low-rank kernel uses the Woodbury factors of spread.c:
 *   d = y - x, u = V^T d, quad = |d|^2 / sigma^2 - |u|^2,
 *   a = Sigma^-1 d = d / sigma^2 - V u,
 *   d logp / d sigma = sigma (|a|^2 - tr Sigma^-1),  tr Sigma^-1 = dim / sigma^2 - |V|_F^2,
 *   d logp / d L     = a (L^T a)^T - Sigma^-1 L,     Sigma^-1 L = V R^-1. */
#include "spread_internal.h"
#include "gemm.h"

#include <math.h>
#include <string.h>

/* Rows per chunk; chunks are processed in order and partial sums are added
 * in order, so results do not depend on the thread count. */
#define CHUNK_ROWS 256

static const double LOG_2PI = 1.8378770664093454836;

/* Per-row work: logp, a = -d logp / d y (n.b. sign) and the
 * scale-gradient contribution(s). For the low-rank kernel only the
 * isotropic part (a = d / sigma^2, sg = |d|^2 / sigma^2); lowrank_chunk
 * finishes it. */
static void row_terms(const spd_spread *s, const float *y, const float *x, double *logp,
                      double *a, double *sg, double c0)
{
  const size_t dim = s->dim, rank = s->rank;
  const bool gauss = spdi_spread_is_gaussian(s);
  double quad = 0, sg_iso = 0;
  for (size_t j = 0; j < dim; j++) {
    double d = (double)y[j] - (double)x[j];
    double sc = spdi_spread_scale_at(s, j);
    double z = (gauss ? d : fabs(d)) / sc;
    if (gauss) {
      quad += z * z;
      a[j] = z / sc;
    } else {
      quad += z;
      a[j] = d > 0 ? 1 / sc : d < 0 ? -1 / sc : 0;
    }
    /* d logp / d scale_j: Gaussian (z^2 - 1) / s, Laplace (z - 1) / s. */
    double g = ((gauss ? z * z : z) - 1) / sc;
    if (s->scales)
      sg[j] = g;
    else
      sg_iso += gauss ? z * z : z;
  }
  if (rank) {
    sg[0] = quad; /* |d|^2 / sigma^2 for lowrank_chunk */
  } else if (s->scales == NULL) {
    sg[0] = (sg_iso - (double)dim) / s->sigma;
  }
  *logp = rank ? c0 : gauss ? c0 - 0.5 * quad : c0 - quad;
}

/* W = V R^-1 (dim x rank, double), through the explicit inverse of the
 * small triangular R (rank x rank) and one GEMM. Rinv: rank^2 scratch. */
static void v_rinv(const spd_spread *s, double *W, double *Rinv)
{
  const size_t rank = s->rank;
  const double *R = s->R;
  for (size_t c = 0; c < rank; c++) /* column c of R^-1 by forward substitution */
    for (size_t i = 0; i < rank; i++) {
      double acc = i == c ? 1 : 0;
      for (size_t k = c; k < i; k++)
        acc -= R[i * rank + k] * Rinv[k * rank + c];
      Rinv[i * rank + c] = i < c ? 0 : acc / R[i * rank + i];
    }
  spdi_dgemm(false, false, s->dim, rank, rank, 1.0, s->V, rank, Rinv, rank, 0.0, W, rank);
}

/* The low-rank part of a chunk of R rows, with GEMMs (dim can be 12288):
 * a holds d / sigma^2 and sg |d|^2 / sigma^2 from row_terms; U, AV, LTA
 * are R x rank scratch. On return a = Sigma^-1 d, lp is final, sg holds
 * |a|^2, and with want_lta LTA = (L^T a_i)_i = sigma^2 (a V) R^T
 * (L = sigma^2 V R^T). */
static void lowrank_chunk(const spd_spread *s, size_t R, double *a, double *lp, double *sg,
                          double *U, double *AV, double *LTA, bool want_lta)
{
  const size_t dim = s->dim, rank = s->rank;
  const double s2 = s->sigma * s->sigma;
  /* U = d V = sigma^2 a V */
  spdi_dgemm(false, false, R, rank, dim, s2, a, dim, s->V, rank, 0.0, U, rank);
  for (size_t i = 0; i < R; i++) {
    double u2 = 0;
    for (size_t k = 0; k < rank; k++)
      u2 += U[i * rank + k] * U[i * rank + k];
    double quad = sg[i] - u2;
    lp[i] -= 0.5 * (quad > 0 ? quad : 0); /* rounding: Sigma is positive definite */
  }
  /* a = d / sigma^2 - V u */
  spdi_dgemm(false, true, R, dim, rank, -1.0, U, rank, s->V, rank, 1.0, a, dim);
  SPDI_PARALLEL_FOR(R >= 16 ? spdi_threads() : 1, i, R, {
    double acc = 0;
    for (size_t j = 0; j < dim; j++)
      acc += a[i * dim + j] * a[i * dim + j];
    sg[i] = acc;
  });
  if (want_lta) {
    spdi_dgemm(false, false, R, rank, dim, 1.0, a, dim, s->V, rank, 0.0, AV, rank);
    spdi_dgemm(false, true, R, rank, rank, s2, AV, rank, s->R, rank, 0.0, LTA, rank);
  }
}

/* Work space of spdi_spread_density() for n rows, in doubles (0 if it
 * overflows). */
size_t spdi_spread_density_work(const spd_spread *s, size_t n)
{
  const size_t dim = s->dim, rank = s->rank, nsg = s->scales ? dim : 1;
  const size_t chunk = n < CHUNK_ROWS ? n : CHUNK_ROWS;
  size_t a, dr;
  if (!spdi_size_mul(chunk, dim, &a) || dim + rank < dim || !spdi_size_mul(dim + rank, rank, &dr))
    return 0;
  /* a; sg, lp, lta (3 chunk rank), gL (dim rank), sgsum, W ((dim + rank) rank) */
  const size_t parts[6] = {chunk * nsg, chunk, 3 * chunk * rank, dim * rank, nsg, dr};
  size_t total = a;
  for (int i = 0; i < 6; i++) {
    if (total + parts[i] < total)
      return 0;
    total += parts[i];
  }
  return total > SIZE_MAX / sizeof(double) ? 0 : total;
}

int spdi_spread_density(const char *func, const spd_spread *s, const float *y, const float *x,
                        size_t n, double *logp, float *gy, float *gx, float *gp, double *work)
{
  int st = spdi_check_spread(func, s);
  if (st != SPD_OK)
    return st;
  if (y == NULL || x == NULL)
    return spdi_set_error(SPD_E_INVALID, func, "%s is NULL", y == NULL ? "y" : "x");
  if (n == 0)
    return spdi_set_error(SPD_E_INVALID, func, "n is 0");
  const size_t dim = s->dim, rank = s->rank;
  size_t count, bytes;
  if (!spdi_size_mul(n, dim, &count) || !spdi_size_mul(count, sizeof(double), &bytes))
    return spdi_set_error(SPD_E_OVERFLOW, func, "n %zu x dim %zu overflows", n, dim);
  if (!spdi_all_finite(y, count) || !spdi_all_finite(x, count))
    return spdi_set_error(SPD_E_DOMAIN, func, "%s contains NaN or Inf",
                          spdi_all_finite(y, count) ? "x" : "y");

  const size_t nsg = s->scales ? dim : 1; /* scale-gradient entries per row */
  const size_t chunk = n < CHUNK_ROWS ? n : CHUNK_ROWS;
  double *own = NULL;
  if (work == NULL) {
    const size_t need = spdi_spread_density_work(s, n);
    if (need == 0)
      return spdi_set_error(SPD_E_OVERFLOW, func, "work space for dim %zu overflows", dim);
    work = own = spdi_malloc(need * sizeof *work);
    if (work == NULL)
      return spdi_set_error(SPD_E_NOMEM, func, "cannot allocate work buffers");
  }
  double *a = work;
  double *sg = a + chunk * dim;
  double *lp = sg + chunk * nsg;
  double *lta = lp + chunk;
  double *gL = rank && gp ? lta + 3 * chunk * rank : NULL;
  double *sgsum = lta + 3 * chunk * rank + dim * rank;
  double *W = rank && gp ? sgsum + nsg : NULL;
  if (gL)
    memset(gL, 0, dim * rank * sizeof *gL);
  memset(sgsum, 0, nsg * sizeof *sgsum);

  const bool gauss = spdi_spread_is_gaussian(s);
  const double c0 = gauss ? -0.5 * ((double)dim * LOG_2PI + s->log_norm) : -s->log_norm;
  for (size_t r0 = 0; r0 < n; r0 += chunk) {
    const size_t rows = n - r0 < chunk ? n - r0 : chunk;
    SPDI_PARALLEL_FOR(rows >= 16 ? spdi_threads() : 1, i, rows, {
      row_terms(s, y + (r0 + i) * dim, x + (r0 + i) * dim, lp + i, a + i * dim,
                sg + i * nsg, c0);
    });
    if (rank)
      lowrank_chunk(s, rows, a, lp, sg, lta + chunk * rank, lta + 2 * chunk * rank, lta,
                    gL != NULL);
    for (size_t i = 0; i < rows; i++) {
      if (logp)
        logp[r0 + i] = lp[i];
      for (size_t j = 0; j < nsg; j++)
        sgsum[j] += sg[i * nsg + j];
      for (size_t j = 0; j < dim && (gy || gx); j++) {
        double v = a[i * dim + j];
        if (gy)
          gy[(r0 + i) * dim + j] = (float)-v;
        if (gx)
          gx[(r0 + i) * dim + j] = (float)v;
      }
    }
    if (gL) /* sum_i a_i (L^T a_i)^T */
      spdi_dgemm(true, false, dim, rank, rows, 1.0, a, dim, lta, rank, 1.0, gL, rank);
  }

  if (gp && rank) {
    /* sigma: sigma (sum_i |a_i|^2 - n tr Sigma^-1) */
    double vf = 0;
    for (size_t i = 0; i < dim * rank; i++)
      vf += s->V[i] * s->V[i];
    const double sig = s->sigma;
    const double tr = (double)dim / (sig * sig) - vf;
    gp[0] = (float)(sig * (sgsum[0] - (double)n * tr));
    /* L: sum_i a_i (L^T a_i)^T - n Sigma^-1 L, Sigma^-1 L = V R^-1. */
    v_rinv(s, W, W + dim * rank);
    for (size_t i = 0; i < dim * rank; i++)
      gp[1 + i] = (float)(gL[i] - (double)n * W[i]);
  } else if (gp) {
    for (size_t j = 0; j < nsg; j++)
      gp[j] = (float)sgsum[j];
  }
  spdi_free(own);
  return SPD_OK;
}

int spd_spread_log_density(const spd_spread *s, const float *y, const float *x, size_t n,
                           double *logp)
{
  if (logp == NULL)
    return SPDI_FAIL(SPD_E_INVALID, "logp is NULL");
  return spdi_spread_density(__func__, s, y, x, n, logp, NULL, NULL, NULL, NULL);
}

int spd_spread_log_density_grad(const spd_spread *s, const float *y, const float *x, size_t n,
                                double *logp, float *grad_y, float *grad_x, float *grad_params)
{
  return spdi_spread_density(__func__, s, y, x, n, logp, grad_y, grad_x, grad_params,
                             NULL);
}
