/* MMD^2 with the spread's autocorrelation kernel k2 = K * K, normalised to
 * k2(x, x) = 1 (fdiv.h). Gaussian: exp(-Delta^T Sigma^-1 Delta / 4), i.e.
 * the Gaussian logits of pairwise.h on features scaled by 1/sqrt 2; Laplace:
 * prod_i (1 + d_i) exp(-d_i), d_i = |Delta_i| / b_i.
 *
 * Rows (all points, p then q) are processed in chunks of ROWS, in parallel;
 * each chunk writes its three partial sums (p-p, q-q, p-q) to its own slot
 * and the slots are added in order, so the result does not depend on the
 * thread count. Self-pairs are left out of the sums (their kernel value is
 * exactly 1) and added back for the biased form. */
#include "pairwise.h"
#include "spread_internal.h"

#include <math.h>
#include <omp.h>
#include <string.h>

#define ROWS 128
#define TILE 512

typedef struct {
  spdi_pw pw;
  size_t n[2], N, kf;
  float *ra;             /* N x kf row (a-form) features */
  float *rh;             /* N half norms of the rows (Gaussian) */
  float *bf, *bh;        /* point features in the logits layout, half norms */
  spdi_pw_points pts[2];
  float *work;           /* threads x ROWS x TILE */
} mmd_ctx;

/* Sum of k2 over one row against the points [n0, n0 + T) of one set,
 * given the tile's logits (Gaussian) or computing the Laplace product. */
static double tile_sums(const mmd_ctx *M, int set, const float *L, float *buf, size_t i_row,
                        size_t n0, size_t T, long self)
{
  float *kv = buf;
  if (M->pw.laplace) {
    const size_t dim = M->pw.dim;
    for (size_t j = 0; j < T; j++)
      kv[j] = 1;
    const float *a = M->ra + i_row * M->kf;
    for (size_t l = 0; l < dim; l++)
      spdi_row_laplace_k2(kv, M->pts[set].b + l * M->pts[set].ld + n0, T, a[l]);
    if (self >= 0)
      kv[self] = 0;
    float acc = 0;
    for (size_t j = 0; j < T; j++)
      acc += kv[j];
    return acc;
  }
  memcpy(kv, L, T * sizeof *kv);
  if (self >= 0)
    kv[self] = -INFINITY; /* exp gives exactly 0 */
  return spdi_row_expsum(kv, T, M->rh[i_row]);
}

/* Partial sums of one chunk of rows: out[0] p-p, out[1] q-q, out[2] p-q. */
static void chunk_sums(const mmd_ctx *M, size_t r0, size_t R, float *L, float *buf,
                       double out[3])
{
  out[0] = out[1] = out[2] = 0;
  /* Rows of p are compared with both sets, rows of q with q only (q-p is
   * the same sum as p-q). A chunk never straddles the two sets. */
  const int row_set = r0 >= M->n[0];
  for (int set = row_set; set < 2; set++) {
    const size_t npts = M->n[set];
    for (size_t n0 = 0; n0 < npts; n0 += TILE) {
      const size_t T = npts - n0 < TILE ? npts - n0 : TILE;
      if (!M->pw.laplace)
        spdi_pw_logits(&M->pw, M->ra + r0 * M->kf, R, &M->pts[set], n0, T, L);
      for (size_t i = 0; i < R; i++) {
        const size_t row = r0 + i, local = row - (row_set ? M->n[0] : 0);
        long self = -1;
        if (set == row_set && local >= n0 && local < n0 + T)
          self = (long)(local - n0);
        double v = tile_sums(M, set, L + i * T, buf, row, n0, T, self);
        out[row_set == set ? set : 2] += v;
      }
    }
  }
}

static int mmd(const char *func, const spd_spread *s, const float *xp, size_t np,
               const float *xq, size_t nq, bool unbiased, double *value)
{
  int st = spdi_check_spread(func, s);
  if (st != SPD_OK)
    return st;
  if (xp == NULL || xq == NULL || value == NULL)
    return spdi_set_error(SPD_E_INVALID, func, "%s is NULL",
                          xp == NULL ? "xp" : xq == NULL ? "xq" : "value");
  const size_t min_n = unbiased ? 2 : 1;
  if (np < min_n || nq < min_n)
    return spdi_set_error(SPD_E_INVALID, func, "np = %zu and nq = %zu must be >= %zu", np,
                          nq, min_n);
  const size_t dim = s->dim;
  size_t cp, cq, N = np + nq, bytes;
  if (!spdi_size_mul(np, dim, &cp) || !spdi_size_mul(nq, dim, &cq) || N < np ||
      !spdi_size_mul(cp + cq, sizeof(double), &bytes) || cp + cq < cp ||
      !spdi_size_mul(N, dim + s->rank + 8, &bytes) || !spdi_size_mul(bytes, 8, &bytes))
    return spdi_set_error(SPD_E_OVERFLOW, func, "point counts overflow");
  if (!spdi_all_finite(xp, cp) || !spdi_all_finite(xq, cq))
    return spdi_set_error(SPD_E_DOMAIN, func, "%s contains NaN or Inf",
                          spdi_all_finite(xp, cp) ? "xq" : "xp");
  mmd_ctx M;
  memset(&M, 0, sizeof M);
  const bool gauss = spdi_spread_is_gaussian(s);
  const int nt = spdi_threads();
  const size_t nch[2] = { (np + ROWS - 1) / ROWS, (nq + ROWS - 1) / ROWS };
  const size_t nchunk = nch[0] + nch[1];
  /* k2 of a Gaussian is the Gaussian of covariance 2 Sigma. */
  bool ok = spdi_pw_init(&M.pw, s, gauss ? (float)(1 / sqrt(2.0)) : 1.0f);
  M.n[0] = np;
  M.n[1] = nq;
  M.N = N;
  M.kf = M.pw.kf;
  float *xc = spdi_malloc(N * dim * sizeof *xc);
  M.ra = spdi_malloc(N * M.kf * sizeof *M.ra);
  M.rh = spdi_malloc(N * sizeof *M.rh);
  M.bf = spdi_malloc(N * M.kf * sizeof *M.bf);
  M.bh = spdi_malloc(N * sizeof *M.bh);
  M.work = spdi_malloc((size_t)nt * 2 * ROWS * TILE * sizeof *M.work);
  double *part = spdi_malloc(nchunk * 3 * sizeof *part);
  float *tb = M.pw.gemm ? NULL : spdi_malloc(N * M.kf * sizeof *tb);
  if (!ok || !xc || !M.ra || !M.rh || !M.bf || !M.bh || !M.work || !part ||
      (!M.pw.gemm && !tb)) {
    spdi_pw_free(&M.pw);
    spdi_free(xc), spdi_free(tb), spdi_free(M.ra), spdi_free(M.rh), spdi_free(M.bf);
    spdi_free(M.bh);
    spdi_free(M.work), spdi_free(part);
    return spdi_set_error(SPD_E_NOMEM, func, "cannot allocate work buffers for %zu points", N);
  }
  for (size_t j = 0; j < dim; j++) { /* centre, as the estimator does */
    double acc = 0;
    for (size_t i = 0; i < np; i++)
      acc += xp[i * dim + j];
    for (size_t i = 0; i < nq; i++)
      acc += xq[i * dim + j];
    const double c = acc / (double)N;
    for (size_t i = 0; i < np; i++)
      xc[i * dim + j] = (float)(xp[i * dim + j] - c);
    for (size_t i = 0; i < nq; i++)
      xc[(np + i) * dim + j] = (float)(xq[i * dim + j] - c);
  }
  spdi_pw_features(&M.pw, xc, N, false, M.ra, M.rh);
  if (M.pw.gemm) {
    spdi_pw_features(&M.pw, xc, N, true, M.bf, M.bh);
    M.pts[0] = (spdi_pw_points){ M.bf, M.kf, M.bh };
    M.pts[1] = (spdi_pw_points){ M.bf + np * M.kf, M.kf, M.bh + np };
  } else { /* loop paths want the points transposed */
    spdi_pw_features(&M.pw, xc, N, true, tb, M.bh);
    for (size_t i = 0; i < N; i++)
      for (size_t l = 0; l < M.kf; l++)
        M.bf[l * N + i] = tb[i * M.kf + l];
    M.pts[0] = (spdi_pw_points){ M.bf, N, M.bh };
    M.pts[1] = (spdi_pw_points){ M.bf + np, N, M.bh + np };
  }
  spdi_free(tb);
  spdi_free(xc);

#pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
  for (size_t c = 0; c < nchunk; c++) {
    const size_t r0 = c < nch[0] ? c * ROWS : np + (c - nch[0]) * ROWS;
    const size_t end = c < nch[0] ? np : N;
    const size_t R = end - r0 < ROWS ? end - r0 : ROWS;
    float *L = M.work + (size_t)omp_get_thread_num() * 2 * ROWS * TILE;
    chunk_sums(&M, r0, R, L, L + ROWS * TILE, part + 3 * c);
  }
  double S[3] = { 0, 0, 0 };
  for (size_t c = 0; c < nchunk; c++)
    for (int k = 0; k < 3; k++)
      S[k] += part[3 * c + k];
  const double dp = (double)np, dq = (double)nq;
  double v;
  if (unbiased)
    v = S[0] / (dp * (dp - 1)) + S[1] / (dq * (dq - 1)) - 2 * S[2] / (dp * dq);
  else
    v = (S[0] + dp) / (dp * dp) + (S[1] + dq) / (dq * dq) - 2 * S[2] / (dp * dq);
  spdi_pw_free(&M.pw);
  spdi_free(M.ra), spdi_free(M.rh), spdi_free(M.bf), spdi_free(M.bh);
  spdi_free(M.work), spdi_free(part);
  if (!isfinite(v)) /* e.g. squared distances overflowing float */
    return spdi_set_error(SPD_E_NUMERIC, func, "the estimate is not finite (coordinates "
                          "too large: squared distances overflow)");
  *value = v;
  return SPD_OK;
}

int spd_mmd2(const spd_spread *s, const float *xp, size_t np, const float *xq, size_t nq,
             double *value)
{
  return mmd(__func__, s, xp, np, xq, nq, true, value);
}

int spd_mmd2_biased(const spd_spread *s, const float *xp, size_t np, const float *xq,
                    size_t nq, double *value)
{
  return mmd(__func__, s, xp, np, xq, nq, false, value);
}
