/* Data generation for the ICA example (see data.h). */
#include "data.h"
#include "linalg.h"

#include <spreaddiv.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ica_problem_free(ica_problem *p)
{
  if (!p)
    return;
  free(p->a_true);
  free(p->a_init);
  free(p->x);
  free(p);
}

/* rows x cols standard normal draws, as doubles. */
static int normals(spd_rng *rng, double *out, size_t count, float *tmp)
{
  int st = spd_rng_normal(rng, tmp, count);
  if (st != SPD_OK)
    return st;
  for (size_t i = 0; i < count; i++)
    out[i] = tmp[i];
  return SPD_OK;
}

/* A random matrix with orthonormal columns (rows x cols) from stream rng. */
static int random_orthonormal(spd_rng *rng, double *q, size_t rows,
                              size_t cols, float *tmp)
{
  for (int attempt = 0; attempt < 8; attempt++) {
    int st = normals(rng, q, rows * cols, tmp);
    if (st != SPD_OK)
      return st;
    if (ica_orthonormalize_columns(q, rows, cols) == 0)
      return SPD_OK;
  }
  return -1;
}

static int mixing_matrix(uint64_t seed, size_t x, size_t z, double *a)
{
  spd_rng *rng = NULL;
  double *u = malloc(x * z * sizeof *u), *v = malloc(z * z * sizeof *v);
  float *tmp = malloc(x * z * sizeof *tmp);
  int st = -1;
  if (!u || !v || !tmp)
    goto done;
  if ((st = spd_rng_create_stream(seed, 1, &rng)) != SPD_OK)
    goto done;
  if ((st = random_orthonormal(rng, u, x, z, tmp)) != SPD_OK)
    goto done;
  if ((st = random_orthonormal(rng, v, z, z, tmp)) != SPD_OK)
    goto done;
  /* A = U diag(sv) V^T */
  for (size_t k = 0; k < z; k++) {
    double sv = z == 1 ? 1.0 : 1.0 + (ICA_CONDITION - 1.0) * (double)k / (double)(z - 1);
    for (size_t i = 0; i < x; i++)
      u[i * z + k] *= sv;
  }
  ica_dgemm(1, false, true, x, z, z, 1.0, u, z, v, z, 0.0, a, z);
done:
  spd_rng_free(rng);
  free(u);
  free(v);
  free(tmp);
  return st;
}

static int sources_and_mix(uint64_t seed, const ica_prior *prior,
                           const double *a, size_t x, size_t z, size_t n,
                           float *out)
{
  spd_rng *rng = NULL;
  const size_t block = 1024; /* points per block; 1024 z is a multiple of 4 */
  float *pick = malloc(block * z * sizeof *pick);
  float *nrm = malloc(block * z * sizeof *nrm);
  double *s = malloc(block * z * sizeof *s), *xs = malloc(block * x * sizeof *xs);
  int st = -1;
  if (!pick || !nrm || !s || !xs)
    goto done;
  if ((st = spd_rng_create_stream(seed, 2, &rng)) != SPD_OK)
    goto done;
  for (size_t n0 = 0; n0 < n; n0 += block) {
    size_t nb = n - n0 < block ? n - n0 : block;
    if ((st = spd_rng_uniform(rng, pick, block * z)) != SPD_OK ||
        (st = spd_rng_normal(rng, nrm, block * z)) != SPD_OK)
      goto done;
    for (size_t i = 0; i < nb * z; i++) {
      /* Component k with probability weight[k]. */
      size_t k = 0;
      double cum = prior->weight[0];
      while (k + 1 < prior->k && pick[i] >= cum)
        cum += prior->weight[++k];
      s[i] = prior->sd[k] * (double)nrm[i];
    }
    /* x = s A^T, rounded to float once. */
    ica_dgemm(1, false, true, nb, x, z, 1.0, s, z, a, z, 0.0, xs, x);
    for (size_t i = 0; i < nb * x; i++)
      out[n0 * x + i] = (float)xs[i];
  }
done:
  spd_rng_free(rng);
  free(pick);
  free(nrm);
  free(s);
  free(xs);
  return st;
}

static int initial_guess(uint64_t seed, const ica_prior *prior,
                         const float *xd, size_t x, size_t z, size_t n,
                         double *a0)
{
  spd_rng *rng = NULL;
  double *cov = calloc(x * x, sizeof *cov), *w = malloc(x * sizeof *w);
  double *e = malloc(x * x * sizeof *e), *work = malloc(x * x * sizeof *work);
  double *r = malloc(z * z * sizeof *r), *ez = malloc(x * z * sizeof *ez);
  double *blk = malloc(1024 * x * sizeof *blk);
  float *tmp = malloc(z * z * sizeof *tmp);
  int st = -1;
  if (!cov || !w || !e || !work || !r || !ez || !blk || !tmp)
    goto done;
  for (size_t n0 = 0; n0 < n; n0 += 1024) {
    size_t nb = n - n0 < 1024 ? n - n0 : 1024;
    for (size_t i = 0; i < nb * x; i++)
      blk[i] = xd[n0 * x + i];
    ica_dgemm(1, true, false, x, x, nb, 1.0 / (double)n, blk, x, blk, x, 1.0,
              cov, x);
  }
  ica_sym_eig(cov, x, w, e, work);
  double var = 0.0;
  for (size_t k = 0; k < prior->k; k++)
    var += prior->weight[k] * prior->sd[k] * prior->sd[k];
  for (size_t k = 0; k < z; k++) {
    if (!(w[k] > 0.0))
      goto done;
    double sc = sqrt(w[k] / var);
    for (size_t i = 0; i < x; i++)
      ez[i * z + k] = e[i * x + k] * sc;
  }
  if ((st = spd_rng_create_stream(seed, 3, &rng)) != SPD_OK)
    goto done;
  if ((st = random_orthonormal(rng, r, z, z, tmp)) != SPD_OK)
    goto done;
  ica_dgemm(1, false, false, x, z, z, 1.0, ez, z, r, z, 0.0, a0, z);
  st = 0;
done:
  spd_rng_free(rng);
  free(cov);
  free(w);
  free(e);
  free(work);
  free(r);
  free(ez);
  free(blk);
  free(tmp);
  return st;
}

int ica_problem_create(size_t x_dim, size_t z_dim, size_t n, uint64_t seed,
                       const ica_prior *prior, ica_problem **out)
{
  if (!out || !prior || ica_prior_check(prior) != 0 || z_dim < 1 ||
      x_dim < z_dim || n < x_dim || n > SIZE_MAX / x_dim / sizeof(double))
    return -1;
  ica_problem *p = calloc(1, sizeof *p);
  if (!p)
    return SPD_E_NOMEM;
  p->x_dim = x_dim;
  p->z_dim = z_dim;
  p->n = n;
  p->a_true = malloc(x_dim * z_dim * sizeof *p->a_true);
  p->a_init = malloc(x_dim * z_dim * sizeof *p->a_init);
  p->x = malloc(n * x_dim * sizeof *p->x);
  int st = SPD_E_NOMEM;
  if (!p->a_true || !p->a_init || !p->x ||
      (st = mixing_matrix(seed, x_dim, z_dim, p->a_true)) != 0 ||
      (st = sources_and_mix(seed, prior, p->a_true, x_dim, z_dim, n, p->x)) != 0 ||
      (st = initial_guess(seed, prior, p->x, x_dim, z_dim, n, p->a_init)) != 0) {
    ica_problem_free(p);
    return st;
  }
  *out = p;
  return 0;
}

static int put_u64(FILE *f, uint64_t v)
{
  unsigned char b[8];
  for (int i = 0; i < 8; i++)
    b[i] = (unsigned char)(v >> (8 * i));
  return fwrite(b, 1, 8, f) == 8 ? 0 : -1;
}

int ica_problem_dump(const ica_problem *p, const char *path)
{
  FILE *f = fopen(path, "wb");
  if (!f)
    return -1;
  int rc = fwrite("SPDICA01", 1, 8, f) == 8 ? 0 : -1;
  rc |= put_u64(f, p->x_dim) | put_u64(f, p->z_dim) | put_u64(f, p->n);
  for (size_t i = 0; i < p->x_dim * p->z_dim && rc == 0; i++) {
    uint64_t bits;
    memcpy(&bits, &p->a_true[i], 8);
    rc = put_u64(f, bits);
  }
  for (size_t i = 0; i < p->n * p->x_dim && rc == 0; i++) {
    uint32_t bits;
    unsigned char b[4];
    memcpy(&bits, &p->x[i], 4);
    for (int k = 0; k < 4; k++)
      b[k] = (unsigned char)(bits >> (8 * k));
    rc = fwrite(b, 1, 4, f) == 4 ? 0 : -1;
  }
  if (fclose(f) != 0)
    rc = -1;
  return rc;
}
