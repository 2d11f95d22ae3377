/* Fuzz target: the estimator API fed arbitrary shapes, parameters and
 * floats (NaN, infinities, huge and tiny values included), with bounded
 * sizes so that one input stays fast.
 *
 * Input, consumed from the front (missing bytes read as zero): divergence
 * kind and alpha, spread kind, dim, rank and scale, point counts, draws per
 * point, then the points of p and q. Checked: every call either succeeds
 * with finite outputs or fails with a message and leaves its outputs
 * untouched; every handle is freed (the live-block count returns to 0). */
#include "fuzz_common.h"

#include <spreaddiv.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXDIM 8
#define MAXN 12
#define CANARY (-12345.5)

/* abort() (a crash for libFuzzer) naming the broken expectation. */
static void must_at(int ok, const char *what, int line)
{
  if (!ok) {
    fprintf(stderr, "fuzz_estimator.c:%d: expectation failed: %s (last error: %s)\n", line,
            what, spd_last_error());
    abort();
  }
}
#define must(ok) must_at((ok), #ok, __LINE__)

/* Fails: message set. Succeeds: the doubles written are finite. */
static void check_result(int st, const double *v, size_t nv, double canary)
{
  if (st != SPD_OK) {
    must(spd_last_error()[0] != '\0');
    for (size_t i = 0; i < nv; i++)
      must(v[i] == canary);
  } else {
    for (size_t i = 0; i < nv; i++)
      must(isfinite(v[i]));
  }
}

static spd_spread *make_spread(spdf_input *in, size_t dim)
{
  int kind = 1 + spdf_u8(in) % 5;
  double scale = spdf_f64(in);
  if (spdf_u8(in) & 1) /* mostly sane scales, sometimes raw bits */
    scale = 0.01 + fabs(fmod(scale, 10.0));
  size_t rank = 1 + spdf_u8(in) % 3;
  double v[MAXDIM];
  float L[MAXDIM * 3];
  for (size_t i = 0; i < dim; i++)
    v[i] = 0.05 + (double)(spdf_u8(in) % 64) / 16.0;
  for (size_t i = 0; i < dim * rank; i++)
    L[i] = (float)((int)spdf_u8(in) - 128) / 64.0f;
  spd_spread *s = NULL;
  int st = SPD_E_INVALID;
  switch (kind) {
  case 1: st = spd_spread_create_gaussian(dim, scale, &s); break;
  case 2: st = spd_spread_create_gaussian_diag(dim, v, &s); break;
  case 3: st = spd_spread_create_gaussian_lowrank(dim, rank, scale, L, &s); break;
  case 4: st = spd_spread_create_laplace(dim, scale, &s); break;
  default: st = spd_spread_create_laplace_diag(dim, v, &s); break;
  }
  must((st == SPD_OK) == (s != NULL));
  if (st != SPD_OK)
    must(spd_last_error()[0] != '\0');
  return s;
}

static void read_points(spdf_input *in, float *x, size_t count, int mode)
{
  for (size_t i = 0; i < count; i++) {
    if (mode == 0)
      x[i] = spdf_f32(in); /* raw bits */
    else
      x[i] = (float)((int)spdf_u8(in) - 128) / (mode == 1 ? 16.0f : 0.5f);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static int once;
  if (!once) { /* one library thread: inputs are tiny, and runs share cores */
    once = 1;
    must(spd_set_num_threads(1) == SPD_OK);
  }
  spdf_input in = {data, size};
  int fkind = 1 + spdf_u8(&in) % 14;
  double alpha = spdf_f64(&in);
  if (spdf_u8(&in) & 1)
    alpha = fmod(alpha, 4.0);
  size_t dim = 1 + spdf_u8(&in) % MAXDIM;
  size_t np = spdf_u8(&in) % (MAXN + 1);
  size_t nq = spdf_u8(&in) % (MAXN + 1);
  size_t samples = spdf_u8(&in) % 9; /* 0: leave automatic, capped below */
  int mode = spdf_u8(&in) % 3;

  spd_fdiv *f = NULL;
  int st = spd_fdiv_create((spd_fdiv_kind)fkind, alpha, &f);
  must((st == SPD_OK) == (f != NULL));
  spd_spread *s = make_spread(&in, dim);

  float xp[MAXN * MAXDIM], xq[MAXN * MAXDIM], grad[MAXN * MAXDIM], gcopy[MAXN * MAXDIM];
  read_points(&in, xp, np * dim, mode);
  read_points(&in, xq, nq * dim, mode);

  if (s != NULL) {
    double lp[MAXN];
    for (size_t i = 0; i < MAXN; i++)
      lp[i] = CANARY;
    size_t n = np < nq ? np : nq;
    st = spd_spread_log_density(s, xp, xq, n, lp);
    if (st == SPD_OK) /* -inf: a density that underflows double (documented) */
      for (size_t i = 0; i < n; i++)
        must(!isnan(lp[i]) && lp[i] != INFINITY);
    else
      check_result(st, lp, n, CANARY);

    double v = CANARY;
    st = spd_mmd2(s, xp, np, xq, nq, &v);
    check_result(st, &v, 1, CANARY);
    v = CANARY;
    st = spd_mmd2_biased(s, xp, np, xq, nq, &v);
    check_result(st, &v, 1, CANARY);
  }

  if (f != NULL && s != NULL) {
    double v = CANARY;
    for (size_t i = 0; i < dim; i++)
      grad[i] = (float)CANARY;
    if (np > 0 && nq > 0) {
      st = spd_divergence_delta(f, s, xp, xq, &v, grad);
      if (st != SPD_E_NUMERIC) /* NUMERIC may have written nothing either */
        check_result(st, &v, 1, CANARY);
      if (st != SPD_OK)
        for (size_t i = 0; i < dim; i++)
          must(grad[i] == (float)CANARY);
    }

    spd_estimator *e = NULL;
    st = spd_estimator_create(f, s, 7, &e);
    must((st == SPD_OK) == (e != NULL));
    if (e != NULL) {
      /* Keep the work bounded: at most 8 draws per point. */
      size_t sm = samples ? samples : 8;
      must(spd_estimator_set_samples(e, sm) == SPD_OK);
      double out[2] = {CANARY, CANARY};
      for (size_t i = 0; i < nq * dim; i++)
        grad[i] = (float)CANARY;
      memcpy(gcopy, grad, sizeof(float) * nq * dim);
      st = spd_estimate(e, xp, np, xq, nq, &out[0], &out[1], grad);
      if (st == SPD_OK) {
        must(isfinite(out[0]));
        must(!isnan(out[1]) && out[1] >= 0); /* +inf allowed: single draw */
        for (size_t i = 0; i < nq * dim; i++)
          must(isfinite(grad[i]));
      } else {
        must(spd_last_error()[0] != '\0');
        must(out[0] == CANARY && out[1] == CANARY);
        must(memcmp(gcopy, grad, sizeof(float) * nq * dim) == 0);
      }
      spd_estimator_free(e);
    }
  }
  spd_spread_free(s);
  spd_fdiv_free(f);
  return 0;
}
