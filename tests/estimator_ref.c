/* The estimator suite's fixtures and its independent reference: the
 * estimator of fdiv.h written out in double precision, regenerating the
 * draws from the layout documented at spd_estimator_create(). */
#include "estimator_ref.h"
#include "fdiv_internal.h"

#include <math.h>
#include <stdlib.h>

const double ALPHA = 0.3;
const double DIAG[DIM] = { 0.5, 1.0, 1.5 };
const float LR[DIM * 2] = { 0.6f, -0.2f, 0.3f, 0.9f, -0.5f, 0.4f };

spd_fdiv *make_f(int k)
{
  spd_fdiv *f = NULL;
  SPDT_OK(spd_fdiv_create((spd_fdiv_kind)k, ALPHA, &f));
  return f;
}

/* Kernels: 0 iso Gaussian, 1 diagonal, 2 low-rank, 3 Laplace, 4 diagonal
 * Laplace, all in DIM dimensions. */
spd_spread *make_s(int i)
{
  spd_spread *s = NULL;
  switch (i) {
  case 0: SPDT_OK(spd_spread_create_gaussian(DIM, 0.8, &s)); break;
  case 1: SPDT_OK(spd_spread_create_gaussian_diag(DIM, DIAG, &s)); break;
  case 2: SPDT_OK(spd_spread_create_gaussian_lowrank(DIM, 2, 0.5, LR, &s)); break;
  case 3: SPDT_OK(spd_spread_create_laplace(DIM, 0.7, &s)); break;
  default: SPDT_OK(spd_spread_create_laplace_diag(DIM, DIAG, &s)); break;
  }
  return s;
}

/* ---- the reference: fdiv.h's estimator written out in double ---------- */

ref_kernel ref_make(int i)
{
  ref_kernel r = { i, { 0 } };
  if (i > 2)
    return r;
  double C[DIM * DIM] = { 0 };
  for (int a = 0; a < DIM; a++) {
    double sd = i == 0 ? 0.8 : i == 1 ? DIAG[a] : 0.5;
    C[a * DIM + a] = sd * sd;
    for (int b = 0; i == 2 && b < DIM; b++)
      for (int k = 0; k < 2; k++)
        C[a * DIM + b] += (double)LR[a * 2 + k] * LR[b * 2 + k];
  }
  spdt_inverse3(C, r.P);
  return r;
}

/* log K(y|x) up to a constant */
double ref_logk(const ref_kernel *r, const double *y, const double *x)
{
  double d[DIM], acc = 0;
  for (int a = 0; a < DIM; a++)
    d[a] = y[a] - x[a];
  if (r->kernel > 2) {
    for (int a = 0; a < DIM; a++)
      acc -= fabs(d[a]) / (r->kernel == 3 ? 0.7 : DIAG[a]);
    return acc;
  }
  for (int a = 0; a < DIM; a++)
    for (int b = 0; b < DIM; b++)
      acc -= 0.5 * d[a] * r->P[a * DIM + b] * d[b];
  return acc;
}

/* The noise of draw `row` of one set, from the layout documented at
 * spd_estimator_create(): stream 2k (+1 for q), blocks from row * bpr. */
void ref_noise(const ref_kernel *r, uint64_t seed, uint64_t stream, size_t row,
                      double *noise)
{
  const size_t width = r->kernel == 2 ? DIM + 2 : DIM, bpr = (width + 3) / 4;
  float raw[8];
  spd_rng *rng = NULL;
  SPDT_OK(spd_rng_create_stream(seed, stream, &rng));
  SPDT_OK(spd_rng_set_state(rng, seed, stream, row * bpr));
  if (r->kernel > 2)
    SPDT_OK(spd_rng_laplace(rng, raw, 4 * bpr));
  else
    SPDT_OK(spd_rng_normal(rng, raw, 4 * bpr));
  spd_rng_free(rng);
  for (int a = 0; a < DIM; a++) {
    double sc = r->kernel == 0 ? 0.8 : r->kernel == 2 ? 0.5 : r->kernel == 3 ? 0.7 : DIAG[a];
    noise[a] = sc * raw[a];
    if (r->kernel == 2)
      noise[a] += (double)LR[a * 2] * raw[DIM] + (double)LR[a * 2 + 1] * raw[DIM + 1];
  }
}

double lse(const double *v, size_t n)
{
  double m = -INFINITY, s = 0;
  for (size_t i = 0; i < n; i++)
    m = v[i] > m ? v[i] : m;
  for (size_t i = 0; i < n; i++)
    s += exp(v[i] - m);
  return m + log(s);
}

/* D^ in double for given noise (pre-drawn, so that finite differences in
 * xq use common random numbers). noise: (np + nq) S rows of DIM. */
double ref_value(const ref_kernel *r, const spd_fdiv *f, const double *xp, size_t np,
                        const double *xq, size_t nq, size_t S, const double *noise)
{
  double mean[2] = { 0, 0 }, lk[64];
  for (int set = 0; set < 2; set++) {
    const size_t n = set ? nq : np;
    const double *xs = set ? xq : xp;
    for (size_t row = 0; row < n * S; row++) {
      double y[DIM];
      const double *nz = noise + ((set ? np * S : 0) + row) * DIM;
      for (int a = 0; a < DIM; a++)
        y[a] = xs[(row / S) * DIM + a] + nz[a];
      for (size_t j = 0; j < np; j++)
        lk[j] = ref_logk(r, y, xp + j * DIM);
      double lp = lse(lk, np) - log((double)np);
      for (size_t j = 0; j < nq; j++)
        lk[j] = ref_logk(r, y, xq + j * DIM);
      double lq = lse(lk, nq) - log((double)nq), psi;
      ck_assert(spdi_fdiv_psi(f, lp - lq, &psi, NULL));
      mean[set] += psi / (double)(n * S);
    }
  }
  return 0.5 * (mean[0] + mean[1]);
}

double *ref_draws(const ref_kernel *r, uint64_t seed, uint64_t call, size_t np,
                         size_t nq, size_t S)
{
  double *noise = malloc((np + nq) * S * DIM * sizeof *noise);
  ck_assert_ptr_nonnull(noise);
  for (size_t row = 0; row < np * S; row++)
    ref_noise(r, seed, 2 * call, row, noise + row * DIM);
  for (size_t row = 0; row < nq * S; row++)
    ref_noise(r, seed, 2 * call + 1, row, noise + (np * S + row) * DIM);
  return noise;
}

void fill(float *x, size_t n, uint64_t seed, float scale, float shift)
{
  spd_rng *rng = NULL;
  SPDT_OK(spd_rng_create(seed, &rng));
  SPDT_OK(spd_rng_normal(rng, x, n));
  for (size_t i = 0; i < n; i++)
    x[i] = scale * x[i] + shift;
  spd_rng_free(rng);
}

