/* Dense helpers for the ICA example. The matrices factorised here are Z x Z
 * (Z <= 16), so plain loops are the right tool; the large products go to
 * BLIS. */
#include "linalg.h"

#include <blis.h>
#include <math.h>
#include <string.h>

static void init_rntm(rntm_t *rntm, int threads)
{
  /* An explicit count makes BLIS ignore BLIS_NUM_THREADS/OMP_NUM_THREADS. */
  bli_rntm_init(rntm);
  bli_rntm_set_num_threads(threads > 0 ? threads : 1, rntm);
  /* BLIS 0.9's small-matrix ("sup") kernels read up to one element past the
   * end of a row-major C (valgrind, haswell kernels). They only serve tiny
   * products here; the packed path does not over-read. */
  bli_rntm_disable_l3_sup(rntm);
}

void ica_dgemm(int threads, bool trans_a, bool trans_b, size_t m, size_t n,
               size_t k, double alpha, const double *a, size_t lda,
               const double *b, size_t ldb, double beta, double *c, size_t ldc)
{
  if (m == 0 || n == 0)
    return;
  rntm_t rntm;
  init_rntm(&rntm, threads);
  /* BLIS takes non-const operands but does not write A or B. */
  bli_dgemm_ex(trans_a ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE,
               trans_b ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE,
               (dim_t)m, (dim_t)n, (dim_t)k, &alpha,
               (double *)a, (inc_t)lda, 1, (double *)b, (inc_t)ldb, 1,
               &beta, c, (inc_t)ldc, 1, NULL, &rntm);
}

void ica_sgemm(int threads, bool trans_a, bool trans_b, size_t m, size_t n,
               size_t k, float alpha, const float *a, size_t lda,
               const float *b, size_t ldb, float beta, float *c, size_t ldc)
{
  if (m == 0 || n == 0)
    return;
  rntm_t rntm;
  init_rntm(&rntm, threads);
  bli_sgemm_ex(trans_a ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE,
               trans_b ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE,
               (dim_t)m, (dim_t)n, (dim_t)k, &alpha,
               (float *)a, (inc_t)lda, 1, (float *)b, (inc_t)ldb, 1,
               &beta, c, (inc_t)ldc, 1, NULL, &rntm);
}

int ica_cholesky(double *a, size_t n)
{
  for (size_t j = 0; j < n; j++) {
    double d = a[j * n + j];
    for (size_t k = 0; k < j; k++)
      d -= a[j * n + k] * a[j * n + k];
    if (!(d > 0.0) || !isfinite(d))
      return -1;
    d = sqrt(d);
    a[j * n + j] = d;
    for (size_t i = j + 1; i < n; i++) {
      double s = a[i * n + j];
      for (size_t k = 0; k < j; k++)
        s -= a[i * n + k] * a[j * n + k];
      a[i * n + j] = s / d;
    }
    for (size_t i = j + 1; i < n; i++)
      a[j * n + i] = 0.0;
  }
  return 0;
}

/* Solve L L^T x = b in place for one right-hand side with stride 1. */
static void chol_solve(const double *l, size_t n, double *x)
{
  for (size_t i = 0; i < n; i++) {
    double s = x[i];
    for (size_t k = 0; k < i; k++)
      s -= l[i * n + k] * x[k];
    x[i] = s / l[i * n + i];
  }
  for (size_t i = n; i-- > 0;) {
    double s = x[i];
    for (size_t k = i + 1; k < n; k++)
      s -= l[k * n + i] * x[k];
    x[i] = s / l[i * n + i];
  }
}

int ica_spd_inverse(const double *a, size_t n, double *inv, double *logdet,
                    double *work)
{
  memcpy(work, a, n * n * sizeof *work);
  if (ica_cholesky(work, n) != 0)
    return -1;
  double ld = 0.0;
  for (size_t i = 0; i < n; i++)
    ld += log(work[i * n + i]);
  /* Column j of the inverse solves L L^T x = e_j; the inverse is
   * symmetric, so write it as row j. */
  for (size_t j = 0; j < n; j++) {
    double *x = inv + j * n;
    memset(x, 0, n * sizeof *x);
    x[j] = 1.0;
    chol_solve(work, n, x);
  }
  /* Symmetrise exactly so later packed (upper-triangle) use loses nothing. */
  for (size_t i = 0; i < n; i++)
    for (size_t j = i + 1; j < n; j++) {
      double s = 0.5 * (inv[i * n + j] + inv[j * n + i]);
      inv[i * n + j] = inv[j * n + i] = s;
    }
  if (logdet)
    *logdet = 2.0 * ld;
  return 0;
}

int ica_solve_right_spd(const double *b, size_t m, size_t n, const double *a,
                        double *x, double *work)
{
  memcpy(work, a, n * n * sizeof *work);
  if (ica_cholesky(work, n) != 0)
    return -1;
  /* x a = b  <=>  a x^T = b^T (a symmetric): solve each row of b. */
  for (size_t i = 0; i < m; i++) {
    if (x != b)
      memcpy(x + i * n, b + i * n, n * sizeof *x);
    chol_solve(work, n, x + i * n);
  }
  return 0;
}

void ica_sym_eig(const double *a, size_t n, double *w, double *v, double *work)
{
  double *s = work;
  memcpy(s, a, n * n * sizeof *s);
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < n; j++)
      v[i * n + j] = i == j ? 1.0 : 0.0;

  for (int sweep = 0; sweep < 100; sweep++) {
    double off = 0.0, diag = 0.0;
    for (size_t i = 0; i < n; i++) {
      diag += s[i * n + i] * s[i * n + i];
      for (size_t j = i + 1; j < n; j++)
        off += s[i * n + j] * s[i * n + j];
    }
    if (off <= 1e-30 * diag || off == 0.0)
      break;
    for (size_t p = 0; p < n; p++)
      for (size_t q = p + 1; q < n; q++) {
        double apq = s[p * n + q];
        if (apq == 0.0)
          continue;
        /* Rotation that zeroes s[p][q] (Golub & Van Loan, alg. 8.4.1). */
        double tau = (s[q * n + q] - s[p * n + p]) / (2.0 * apq);
        double t = (tau >= 0 ? 1.0 : -1.0) / (fabs(tau) + sqrt(1.0 + tau * tau));
        double c = 1.0 / sqrt(1.0 + t * t), sn = t * c;
        for (size_t k = 0; k < n; k++) {
          double skp = s[k * n + p], skq = s[k * n + q];
          s[k * n + p] = c * skp - sn * skq;
          s[k * n + q] = sn * skp + c * skq;
        }
        for (size_t k = 0; k < n; k++) {
          double spk = s[p * n + k], sqk = s[q * n + k];
          s[p * n + k] = c * spk - sn * sqk;
          s[q * n + k] = sn * spk + c * sqk;
        }
        for (size_t k = 0; k < n; k++) {
          double vkp = v[k * n + p], vkq = v[k * n + q];
          v[k * n + p] = c * vkp - sn * vkq;
          v[k * n + q] = sn * vkp + c * vkq;
        }
      }
  }
  for (size_t i = 0; i < n; i++)
    w[i] = s[i * n + i];
  /* Selection sort, descending, moving eigenvector columns along. */
  for (size_t i = 0; i < n; i++) {
    size_t best = i;
    for (size_t j = i + 1; j < n; j++)
      if (w[j] > w[best])
        best = j;
    if (best != i) {
      double t = w[i];
      w[i] = w[best];
      w[best] = t;
      for (size_t k = 0; k < n; k++) {
        t = v[k * n + i];
        v[k * n + i] = v[k * n + best];
        v[k * n + best] = t;
      }
    }
  }
}

int ica_orthonormalize_columns(double *a, size_t rows, size_t cols)
{
  for (size_t j = 0; j < cols; j++) {
    for (int pass = 0; pass < 2; pass++)
      for (size_t k = 0; k < j; k++) {
        double d = 0.0;
        for (size_t i = 0; i < rows; i++)
          d += a[i * cols + k] * a[i * cols + j];
        for (size_t i = 0; i < rows; i++)
          a[i * cols + j] -= d * a[i * cols + k];
      }
    double nrm = 0.0;
    for (size_t i = 0; i < rows; i++)
      nrm += a[i * cols + j] * a[i * cols + j];
    nrm = sqrt(nrm);
    if (!(nrm > 1e-12))
      return -1;
    for (size_t i = 0; i < rows; i++)
      a[i * cols + j] /= nrm;
  }
  return 0;
}
