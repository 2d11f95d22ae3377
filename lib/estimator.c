/* Monte Carlo spread divergence between two point sets (fdiv.h, "Monte
 * Carlo estimator"): draws from both spread sets, exact log-densities by
 * streaming log-sum-exp over tiles, psi of the log-ratio, and the exact
 * gradient of the estimate with respect to the q points.
 *
 * Passes, each parallel over fixed-size units whose results go to their
 * own slots (so nothing depends on the thread count):
 *   0. draws: per chunk of ROWS draws, noise from the chunk's own position
 *      in its Philox stream, y = x + noise and the features of y;
 *   1. per chunk: log p~(y), log q~(y) (and, for the gradient, the
 *      responsibility-weighted means U_p(y), U_q(y) of the per-pair vectors:
 *      x for Gaussian kernels, sign(y - x) for Laplace);
 *   2. serial: psi and psi' of t = log p~ - log q~, value, standard error;
 *   3. gradient, per tile of q points: sum over all draws of
 *      c(y) r_k(y) u(y, x_k) with responsibilities r_k of q~, then
 *   4. per q point: combine with its own draws' d t / d y and apply the
 *      precision (Sigma^-1, or diag(1/b) for Laplace).
 * With c(y) = psi'(t) / (2 N_set S_set) and P the precision map:
 *   grad_k = P [ s1 sum_{y from k} c(y) (U_p(y) - U_q(y)) - sum_y c(y) r_k(y) u(y, x_k) ]
 * where s1 = +1, u = y - x_k for Gaussian kernels and s1 = -1,
 * u = sign(y - x_k) for Laplace kernels. */
#include "fdiv_internal.h"
#include "gemm.h"
#include "pairwise.h"
#include "spread_internal.h"

#include <math.h>
#include <omp.h>
#include <string.h>

#define ROWS 256         /* draws per chunk */
#define TILE 512         /* points per tile */
#define AUTO_DRAWS 1000   /* automatic S: at least this many draws per set */

struct spd_estimator {
  spd_fdiv f;
  spd_spread *s;
  uint64_t seed;
  uint64_t calls; /* successful spd_estimate calls so far */
  size_t samples; /* draws per point; 0 = automatic */
};

int spd_estimator_create(const spd_fdiv *f, const spd_spread *s, uint64_t seed,
                         spd_estimator **out)
{
  if (f == NULL || s == NULL || out == NULL)
    return SPDI_FAIL(SPD_E_INVALID, "%s is NULL", f == NULL ? "f" : s == NULL ? "s" : "out");
  spd_estimator *e = spdi_calloc(1, sizeof *e);
  if (e == NULL)
    return SPDI_FAIL(SPD_E_NOMEM, "cannot allocate the estimator");
  int st = spd_spread_clone(s, &e->s);
  if (st != SPD_OK) {
    spdi_free(e);
    return st;
  }
  e->f = *f;
  e->seed = seed;
  *out = e;
  return SPD_OK;
}

void spd_estimator_free(spd_estimator *e)
{
  if (e == NULL)
    return;
  spd_spread_free(e->s);
  spdi_free(e);
}

int spd_estimator_set_samples(spd_estimator *e, size_t n)
{
  if (e == NULL)
    return SPDI_FAIL(SPD_E_INVALID, "e is NULL");
  if (n == 0)
    return SPDI_FAIL(SPD_E_INVALID, "the number of draws per point must be > 0");
  e->samples = n;
  return SPD_OK;
}

/* ---- the work of one call ------------------------------------------------ */

typedef struct {
  spdi_pw pw;
  const spd_spread *s;
  size_t dim, k, width, bpr;        /* bpr: Philox blocks per draw */
  size_t n[2], S[2], ny[2], ny_all; /* [0] = p, [1] = q */
  size_t nchunk[2];
  uint64_t seed, stream0;
  float *xc;      /* (np + nq) x dim, centred */
  float *bf;      /* point features, layout of spdi_pw_points */
  float *h;
  spdi_pw_points pts[2];
  float *y;       /* ny_all x dim, centred */
  float *a;       /* ny_all x k */
  double *lse[2]; /* ny_all each */
  double *c;      /* ny_all: psi'(t) / (2 ny_set), gradient weights */
  float *u;       /* ny[1] x dim: U_p - U_q for the q draws */
  bool grad;
  bool packed;    /* logits from pre-packed operands (pairwise.h) */
  struct spdi_ukernel uk;
  float *bpack[2];  /* packed point features per set */
  size_t apack_floats;
  int nt;
  float *work;    /* nt x work_floats */
  size_t work_floats;
} est;

static float *thread_work(const est *E)
{
  return E->work + (size_t)omp_get_thread_num() * E->work_floats;
}

/* First global row of chunk c, its row count and its set. */
static size_t chunk_rows(const est *E, size_t c, size_t *r0, int *set)
{
  *set = c < E->nchunk[0] ? 0 : 1;
  size_t local = *set ? c - E->nchunk[0] : c;
  size_t first = local * ROWS;
  size_t rows = E->ny[*set] - first < ROWS ? E->ny[*set] - first : ROWS;
  *r0 = (*set ? E->ny[0] : 0) + first;
  return rows;
}

/* Pass 0 for one chunk: draws, y and features. */
static void draw_chunk(est *E, size_t c, spd_rng *rng, float *raw, float *noise)
{
  size_t r0;
  int set;
  const size_t rows = chunk_rows(E, c, &r0, &set);
  const size_t local0 = r0 - (set ? E->ny[0] : 0);
  const size_t dim = E->dim, width = E->width, stride = 4 * E->bpr;
  /* One call covers the chunk's blocks; draw i owns words [i stride, i
   * stride + width) (fdiv.h documents the layout). Cannot fail. */
  int rc = spd_rng_set_state(rng, E->seed, E->stream0 + (uint64_t)set, local0 * E->bpr);
  if (spdi_spread_is_gaussian(E->s))
    rc |= spd_rng_normal(rng, raw, rows * stride);
  else
    rc |= spd_rng_laplace(rng, raw, rows * stride);
  (void)rc;
  for (size_t i = 1; i < rows; i++) /* compact to stride width (moves forward) */
    memmove(raw + i * width, raw + i * stride, width * sizeof *raw);
  spdi_spread_transform(E->s, raw, rows, noise);
  const float *xs = E->xc + (set ? E->n[0] : 0) * dim;
  for (size_t i = 0; i < rows; i++) {
    const float *x = xs + ((local0 + i) / E->S[set]) * dim;
    float *yr = E->y + (r0 + i) * dim;
    for (size_t j = 0; j < dim; j++)
      yr[j] = x[j] + noise[i * dim + j];
  }
  spdi_pw_features(&E->pw, E->y + r0 * dim, rows, false, E->a + r0 * E->k, NULL);
}

/* log-sum-exp of the logits of R rows against one point set, streaming
 * over tiles; with U non-NULL also the responsibility-weighted mean of the
 * per-pair vectors (R x dim). */
static void lse_rows(const est *E, int set, const float *a, const float *ap, size_t R,
                     double *lse, float *U, float *L, double *m, double *sum)
{
  const size_t npts = E->n[set], dim = E->dim;
  const spdi_pw_points *pts = &E->pts[set];
  const float *xs = E->xc + (set ? E->n[0] : 0) * dim;
  for (size_t i = 0; i < R; i++) {
    m[i] = -INFINITY;
    sum[i] = 0;
  }
  if (U)
    memset(U, 0, R * dim * sizeof *U);
  for (size_t n0 = 0; n0 < npts; n0 += TILE) {
    const size_t T = npts - n0 < TILE ? npts - n0 : TILE;
    if (ap)
      spdi_pw_logits_packed(&E->pw, &E->uk, ap, R, E->bpack[set], TILE, n0 / TILE, T, L);
    else
      spdi_pw_logits(&E->pw, a, R, pts, n0, T, L);
    for (size_t i = 0; i < R; i++) {
      float *Li = L + i * T;
      const float tmax = spdi_row_max(Li, T);
      if (tmax > m[i]) {
        double rescale = exp(m[i] - tmax); /* 0 on the first tile */
        sum[i] *= rescale;
        for (size_t l = 0; U && l < dim; l++)
          U[i * dim + l] *= (float)rescale;
        m[i] = tmax;
      }
      /* the exponentials themselves are needed only for U */
      sum[i] += U ? spdi_row_expsum(Li, T, (float)m[i])
                  : spdi_row_expsum_keep(Li, T, (float)m[i]);
    }
    if (U == NULL)
      continue;
    if (E->pw.laplace) { /* sum_j e_ij sign(a_il - b_jl) */
      for (size_t i = 0; i < R; i++)
        for (size_t l = 0; l < dim; l++)
          U[i * dim + l] +=
              spdi_row_signdot(L + i * T, pts->b + l * pts->ld + n0, T, a[i * E->k + l]);
    } else { /* U += E X_tile: inner dimension T, so GEMM wins for any dim */
      spdi_sgemm(false, false, R, dim, T, 1.0f, L, T, xs + n0 * dim, dim, 1.0f, U, dim);
    }
  }
  for (size_t i = 0; i < R; i++) {
    lse[i] = m[i] + log(sum[i]);
    for (size_t l = 0; U && l < dim; l++)
      U[i * dim + l] = (float)(U[i * dim + l] / sum[i]);
  }
}

/* Pass 1 for one chunk. */
static void density_chunk(est *E, size_t c)
{
  size_t r0;
  int set;
  const size_t R = chunk_rows(E, c, &r0, &set), dim = E->dim;
  float *w = thread_work(E);
  float *L = w, *U0 = L + ROWS * TILE, *U1 = U0 + ROWS * dim;
  double *m = (double *)(U1 + ROWS * dim), *sum = m + ROWS;
  float *ap = E->packed ? (float *)(sum + ROWS) : NULL;
  const bool want_u = E->grad && set == 1;
  const float *a = E->a + r0 * E->k;
  if (ap)
    spdi_pw_packa(&E->pw, &E->uk, a, R, ap);
  lse_rows(E, 0, a, ap, R, E->lse[0] + r0, want_u ? U0 : NULL, L, m, sum);
  lse_rows(E, 1, a, ap, R, E->lse[1] + r0, want_u ? U1 : NULL, L, m, sum);
  if (want_u) {
    float *u = E->u + (r0 - E->ny[0]) * dim;
    for (size_t i = 0; i < R * dim; i++)
      u[i] = U0[i] - U1[i];
  }
}

/* Pass 3 for one tile of q points: G (T x dim) and cvec (T). Gaussian
 * kernels accumulate with a GEMM; Laplace accumulates G transposed
 * (dim x T) so that its sign loops run along the points and vectorise. */
static void scatter_tile(est *E, size_t k0, size_t T, float *G, double *cvec)
{
  const size_t dim = E->dim, k = E->k;
  const spdi_pw_points *pts = &E->pts[1];
  float *L = thread_work(E), *GT = L + ROWS * TILE, *cv = GT + dim * TILE;
  if (E->pw.laplace)
    memset(GT, 0, dim * T * sizeof *GT);
  for (size_t c = 0; c < E->nchunk[0] + E->nchunk[1]; c++) {
    size_t r0;
    int set;
    const size_t R = chunk_rows(E, c, &r0, &set);
    bool any = false;
    for (size_t i = 0; i < R; i++)
      any = any || E->c[r0 + i] != 0;
    if (!any)
      continue;
    const float *a = E->a + r0 * k;
    spdi_pw_logits(&E->pw, a, R, pts, k0, T, L);
    memset(cv, 0, T * sizeof *cv);
    for (size_t i = 0; i < R; i++) { /* W_ij = c_i r_j(y_i) */
      spdi_row_expscale(L + i * T, T, (float)E->lse[1][r0 + i], (float)E->c[r0 + i]);
      spdi_row_axpy(cv, L + i * T, T, 1.0f);
    }
    for (size_t j = 0; j < T; j++)
      cvec[j] += cv[j];
    if (E->pw.laplace) { /* G_jl += W_ij sign(a_il - b_jl) */
      for (size_t i = 0; i < R; i++)
        for (size_t l = 0; l < dim; l++)
          spdi_row_signaxpy(GT + l * T, L + i * T, pts->b + l * pts->ld + k0, T, a[i * k + l]);
    } else { /* G += W^T Y (inner dimension R) */
      spdi_sgemm(true, false, T, dim, R, 1.0f, L, T, E->y + r0 * dim, dim, 1.0f, G, dim);
    }
  }
  if (E->pw.laplace)
    for (size_t j = 0; j < T; j++)
      for (size_t l = 0; l < dim; l++)
        G[j * dim + l] = GT[l * T + j];
}

/* Pass 4 for q point j: the gradient in double, written as float to g. */
static void assemble_point(const est *E, size_t j, const float *G, const double *cvec,
                           double *v, double *scratch, float *g)
{
  const size_t dim = E->dim, S = E->S[1];
  const double s1 = E->pw.laplace ? -1 : 1;
  for (size_t l = 0; l < dim; l++)
    v[l] = 0;
  for (size_t s = 0; s < S; s++) { /* this point's own draws: d t / d y */
    const size_t rq = j * S + s;
    const double c = E->c[E->ny[0] + rq];
    for (size_t l = 0; c != 0 && l < dim; l++)
      v[l] += s1 * c * E->u[rq * dim + l];
  }
  const float *x = E->xc + (E->n[0] + j) * dim;
  for (size_t l = 0; l < dim; l++) /* through q~: - sum_y c r_j u(y, x_j) */
    v[l] -= E->pw.laplace ? G[j * dim + l] : G[j * dim + l] - cvec[j] * x[l];
  spdi_spread_precision_apply(E->s, v, v, scratch);
  for (size_t l = 0; l < dim; l++)
    g[j * dim + l] = (float)v[l];
}

static void est_free(est *E, spd_rng **rngs)
{
  for (int i = 0; rngs && i < E->nt; i++)
    spd_rng_free(rngs[i]);
  spdi_free(rngs);
  spdi_pw_free(&E->pw);
  spdi_free(E->xc);
  spdi_free(E->bf);
  spdi_free(E->h);
  spdi_free(E->y);
  spdi_free(E->a);
  spdi_free(E->lse[0]);
  spdi_free(E->lse[1]);
  spdi_free(E->c);
  spdi_free(E->u);
  spdi_free(E->work);
  spdi_free(E->bpack[0]);
  spdi_free(E->bpack[1]);
}

/* Sizes of the call; false on overflow. */
static bool plan(est *E, const spd_estimator *e, size_t np, size_t nq)
{
  const spd_spread *s = e->s;
  E->s = s;
  E->dim = s->dim;
  E->k = E->pw.kf;
  spdi_ukernel_get(&E->uk);
  E->packed = spdi_pw_packed_ok(&E->pw, &E->uk);
  E->apack_floats = E->packed ? spdi_pw_packa_floats(&E->pw, &E->uk, ROWS) : 0;
  E->width = s->dim + s->rank;
  E->bpr = (E->width + 3) / 4;
  E->n[0] = np;
  E->n[1] = nq;
  for (int set = 0; set < 2; set++) {
    E->S[set] = e->samples ? e->samples : (AUTO_DRAWS + E->n[set] - 1) / E->n[set];
    if (!spdi_size_mul(E->n[set], E->S[set], &E->ny[set]))
      return false;
    E->nchunk[set] = E->ny[set] / ROWS + (E->ny[set] % ROWS != 0);
  }
  size_t wide = E->k > E->dim ? E->k : E->dim, bytes;
  E->ny_all = E->ny[0] + E->ny[1];
  if (E->ny_all < E->ny[0] || !spdi_size_mul(E->ny_all, wide, &bytes) ||
      !spdi_size_mul(bytes, 4 * sizeof(float), &bytes) ||
      !spdi_size_mul(E->ny[0] > E->ny[1] ? E->ny[0] : E->ny[1], 4 * E->bpr, &bytes))
    return false;
  size_t w0 = ROWS * (4 * E->bpr + E->dim);       /* pass 0: raw draws, noise */
  /* pass 1: logits, U_p, U_q, m, sum (all multiples of 16 floats), packed rows */
  size_t w1 = ROWS * (TILE + 2 * E->dim + 4) + (E->packed ? E->apack_floats : 0);
  size_t w3 = ROWS * TILE + (E->dim + 1) * TILE;  /* pass 3: logits, G^T, column sums */
  size_t w = w0 > w1 ? w0 : w1;
  w = w > w3 ? w : w3;
  E->work_floats = (w + 15) / 16 * 16;
  return true;
}

/* Allocate everything a call needs; false on failure. */
static bool allocate(est *E, bool grad, spd_rng ***rngs)
{
  const size_t N = E->n[0] + E->n[1], dim = E->dim, k = E->k;
  E->xc = spdi_malloc(N * dim * sizeof *E->xc);
  E->bf = spdi_malloc(N * k * sizeof *E->bf);
  E->h = spdi_malloc(N * sizeof *E->h);
  E->y = spdi_malloc(E->ny_all * dim * sizeof *E->y);
  E->a = spdi_malloc(E->ny_all * k * sizeof *E->a);
  E->lse[0] = spdi_malloc(E->ny_all * sizeof(double));
  E->lse[1] = spdi_malloc(E->ny_all * sizeof(double));
  E->c = spdi_calloc(E->ny_all, sizeof(double));
  E->u = grad ? spdi_malloc(E->ny[1] * dim * sizeof *E->u) : NULL;
  E->work = spdi_malloc((size_t)E->nt * E->work_floats * sizeof *E->work);
  for (int set = 0; E->packed && set < 2; set++)
    E->bpack[set] = spdi_malloc(spdi_pw_packb_floats(&E->pw, &E->uk, E->n[set], TILE) *
                                sizeof(float));
  *rngs = spdi_calloc((size_t)E->nt, sizeof **rngs);
  bool ok = E->xc && E->bf && E->h && E->y && E->a && E->lse[0] && E->lse[1] && E->c &&
            (!grad || E->u) && E->work && *rngs &&
            (!E->packed || (E->bpack[0] && E->bpack[1]));
  for (int i = 0; ok && i < E->nt; i++)
    ok = spd_rng_create(E->seed, &(*rngs)[i]) == SPD_OK;
  return ok;
}

/* Centre the points and compute their features in the layout the logits
 * want. Uses E->a as scratch for the loop paths' transpose. */
static void prepare_points(est *E, const float *xp, const float *xq)
{
  const size_t np = E->n[0], nq = E->n[1], N = np + nq, dim = E->dim, k = E->k;
  for (size_t j = 0; j < dim; j++) { /* centre: float logits lose less */
    double acc = 0;
    for (size_t i = 0; i < np; i++)
      acc += xp[i * dim + j];
    for (size_t i = 0; i < nq; i++)
      acc += xq[i * dim + j];
    const double cj = acc / (double)N;
    for (size_t i = 0; i < np; i++)
      E->xc[i * dim + j] = (float)(xp[i * dim + j] - cj);
    for (size_t i = 0; i < nq; i++)
      E->xc[(np + i) * dim + j] = (float)(xq[i * dim + j] - cj);
  }
  if (E->pw.gemm) {
    spdi_pw_features(&E->pw, E->xc, N, true, E->bf, E->h);
    E->pts[0] = (spdi_pw_points){ E->bf, k, E->h };
    E->pts[1] = (spdi_pw_points){ E->bf + np * k, k, E->h + np };
    if (E->packed) {
      spdi_pw_packb(&E->pw, &E->uk, E->bf, np, TILE, E->bpack[0]);
      spdi_pw_packb(&E->pw, &E->uk, E->bf + np * k, nq, TILE, E->bpack[1]);
    }
    return;
  }
  spdi_pw_features(&E->pw, E->xc, N, true, E->a, E->h);
  for (size_t i = 0; i < N; i++)
    for (size_t l = 0; l < k; l++)
      E->bf[l * N + i] = E->a[i * k + l];
  E->pts[0] = (spdi_pw_points){ E->bf, N, E->h };
  E->pts[1] = (spdi_pw_points){ E->bf + np, N, E->h + np };
}

int spd_estimate(spd_estimator *e, const float *xp, size_t np, const float *xq, size_t nq,
                 double *value, double *std_error, float *grad_xq)
{
  if (e == NULL || xp == NULL || xq == NULL || value == NULL)
    return SPDI_FAIL(SPD_E_INVALID, "%s is NULL",
                     e == NULL ? "e" : xp == NULL ? "xp" : xq == NULL ? "xq" : "value");
  if (np == 0 || nq == 0)
    return SPDI_FAIL(SPD_E_INVALID, "np = %zu and nq = %zu must both be > 0", np, nq);
  const size_t dim = e->s->dim;
  size_t cp, cq, bytes;
  /* counts of doubles must fit too: every buffer is indexed in bytes */
  if (!spdi_size_mul(np, dim, &cp) || !spdi_size_mul(nq, dim, &cq) || np + nq < np ||
      !spdi_size_mul(cp + cq, sizeof(double), &bytes) || cp + cq < cp)
    return SPDI_FAIL(SPD_E_OVERFLOW, "point counts overflow");
  if (!spdi_all_finite(xp, cp) || !spdi_all_finite(xq, cq))
    return SPDI_FAIL(SPD_E_DOMAIN, "%s contains NaN or Inf",
                     spdi_all_finite(xp, cp) ? "xq" : "xp");
  est E;
  memset(&E, 0, sizeof E);
  if (!spdi_pw_init(&E.pw, e->s, 1.0f))
    return SPDI_FAIL(SPD_E_NOMEM, "cannot allocate the low-rank factors");
  if (!plan(&E, e, np, nq)) {
    spdi_pw_free(&E.pw);
    return SPDI_FAIL(SPD_E_OVERFLOW, "np %zu, nq %zu with the requested draws overflow",
                     np, nq);
  }
  E.seed = e->seed;
  E.stream0 = 2 * e->calls;
  E.grad = grad_xq != NULL;
  E.nt = spdi_threads();
  spd_rng **rngs = NULL;
  double *psi = spdi_malloc(E.ny_all * sizeof *psi);
  float *G = E.grad ? spdi_calloc(nq * dim, sizeof *G) : NULL;
  double *cvec = E.grad ? spdi_calloc(nq, sizeof *cvec) : NULL;
  double *dscratch = E.grad ? spdi_malloc((size_t)E.nt * (dim + e->s->rank + 1) *
                                          sizeof *dscratch) : NULL;
  float *gout = E.grad ? spdi_malloc(nq * dim * sizeof *gout) : NULL;
  bool ok = allocate(&E, E.grad, &rngs) && psi && (!E.grad || (G && cvec && dscratch && gout));
  if (!ok) {
    est_free(&E, rngs);
    spdi_free(psi), spdi_free(G), spdi_free(cvec), spdi_free(dscratch), spdi_free(gout);
    return SPDI_FAIL(SPD_E_NOMEM, "cannot allocate work buffers for %zu draws", E.ny_all);
  }
  prepare_points(&E, xp, xq);

  const size_t nch = E.nchunk[0] + E.nchunk[1];
#pragma omp parallel for num_threads(E.nt) schedule(dynamic, 1)
  for (size_t c = 0; c < nch; c++) {
    float *w = thread_work(&E);
    draw_chunk(&E, c, rngs[omp_get_thread_num()], w, w + ROWS * 4 * E.bpr);
  }
#pragma omp parallel for num_threads(E.nt) schedule(dynamic, 1)
  for (size_t c = 0; c < nch; c++)
    density_chunk(&E, c);

  /* Serial: psi, its derivative, and the per-set means and variances. */
  int st = SPD_OK;
  const double shift = log((double)nq) - log((double)np);
  double mean[2] = { 0, 0 }, var[2] = { 0, 0 };
  for (size_t r = 0; r < E.ny_all && st == SPD_OK; r++) {
    const int set = r >= E.ny[0];
    double d, t = E.lse[0][r] - E.lse[1][r] + shift;
    if (!spdi_fdiv_psi(&e->f, t, &psi[r], E.grad ? &d : NULL))
      st = SPDI_FAIL(SPD_E_NUMERIC, "the custom f is not finite at log u = %g", t);
    else if (E.grad)
      E.c[r] = d * 0.5 / (double)E.ny[set];
    mean[set] += psi[r];
  }
  for (int set = 0; set < 2; set++)
    mean[set] /= (double)E.ny[set];
  for (size_t r = 0; r < E.ny_all && st == SPD_OK; r++) {
    const int set = r >= E.ny[0];
    var[set] += (psi[r] - mean[set]) * (psi[r] - mean[set]);
  }
  const double D = 0.5 * (mean[0] + mean[1]);
  double se = INFINITY;
  if (E.ny[0] > 1 && E.ny[1] > 1)
    se = sqrt(0.25 * var[0] / ((double)E.ny[0] * (double)(E.ny[0] - 1)) +
              0.25 * var[1] / ((double)E.ny[1] * (double)(E.ny[1] - 1)));
  if (st == SPD_OK && !isfinite(D))
    st = SPDI_FAIL(SPD_E_NUMERIC, "the %s estimate is not finite (density ratios overflow "
                   "the divergence)", spd_fdiv_kind_name((int)e->f.kind));

  if (st == SPD_OK && E.grad) {
    const size_t ntile = nq / TILE + (nq % TILE != 0);
#pragma omp parallel for num_threads(E.nt) schedule(dynamic, 1)
    for (size_t t = 0; t < ntile; t++) {
      const size_t k0 = t * TILE, T = nq - k0 < TILE ? nq - k0 : TILE;
      scatter_tile(&E, k0, T, G + k0 * dim, cvec + k0);
    }
    const size_t per = dim + e->s->rank + 1;
    SPDI_PARALLEL_FOR(nq >= 64 ? E.nt : 1, j, nq, {
      double *v = dscratch + tid_ * per;
      assemble_point(&E, j, G, cvec, v, v + dim, gout);
    });
    if (!spdi_all_finite(gout, nq * dim))
      st = SPDI_FAIL(SPD_E_NUMERIC, "the gradient is not finite");
  }
  if (st == SPD_OK) {
    *value = D;
    if (std_error)
      *std_error = se;
    if (E.grad)
      memcpy(grad_xq, gout, nq * dim * sizeof *gout);
    e->calls++;
  }
  est_free(&E, rngs);
  spdi_free(psi), spdi_free(G), spdi_free(cvec), spdi_free(dscratch), spdi_free(gout);
  return st;
}
