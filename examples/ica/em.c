/* Exact EM for noisy linear ICA with a mixture-of-Gaussians prior; the
 * formulas are in em.h and derived in README.md ("How the E-step works").
 *
 * Precision. The two large products (log responsibilities, and the
 * responsibility-weighted quadratic features) run in float: they only
 * involve O(1) quantities (u ~ s, V_c ~ D_c^-1), and their results enter the
 * statistics only through terms multiplied by M^-1 = gamma^2 (A^T A)^-1 or
 * through the responsibilities. The dominant terms, sum y u^T and sum u u^T,
 * are accumulated in double. So as gamma -> 0 the update tends to A exactly,
 * as it must (standard EM freezes), and float rounding cannot masquerade as
 * progress.
 *
 * Determinism. Points are processed in tiles of a fixed size; every sum over
 * points or assignments is either inside one BLIS call (which splits the
 * output among threads, never a sum) or a serial loop in a fixed order, and
 * parallel loops write disjoint outputs. Results do not depend on the thread
 * count. */
#include "em.h"
#include "linalg.h"

#include <spreaddiv.h>

#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define LOG_2PI 1.8378770664093454836

/* Assignments processed per chunk of the per-assignment corrections; the
 * chunking (not the thread count) fixes the summation order. */
#define CHUNK_C 64


struct ica_em {
  size_t x, z, k, c, f, f1, tile;
  int threads;
  double logw[ICA_MAX_COMPONENTS], var[ICA_MAX_COMPONENTS];
  unsigned char *assign; /* c x z: component of source j under assignment c */
  size_t *pi, *pj;       /* packed index f -> (i, j), i <= j */

  /* Per E-step, from A and gamma. */
  double *ata, *binv, *apinv, *minv, *work; /* z*z, z*z, z*x, z*z, z*z */
  double *vd;   /* c x f: packed V_c, double */
  /* c x f1: packed V_c, then -2 a_c with a_c = log w_c - log det(D_c +
   * M^-1)/2 - Z log(2 pi)/2, so that -1/2 [phi2(u), 1] . vp_c is the log
   * joint a_c - u^T V_c u / 2 (float: a GEMM operand). */
  float *vp;
  double *scratch; /* threads x 3 z*z: per-thread work for the V_c */

  /* Per tile. */
  double *yd, *u, *res, *rss, *ll, *w; /* t*x, t*z, t*x, t, t, t*z */
  double *inv; /* t: 1 / sum_c exp(logit_c - max) */
  /* t*f1 each: u_i u_j (i <= j) then 1, scaled by the row's inv (phi1),
   * or with off-diagonal terms doubled (phi2); t*c; t*f */
  float *phi1, *phi2, *lg, *vbar;

  /* Accumulators. */
  /* c x f1: sum_n r_nc phi1(u_n); last column: sum_n r_nc. gt holds one
   * tile's part (BLIS with beta != 0 read past the end of small C blocks
   * under valgrind, so it always gets beta = 0), ga their float sum (it only
   * enters terms of order gamma^2, see the top), g its double copy. */
  float *gt, *ga;
  double *g;
  double *syu0, *suu, *resw;           /* x*z, z*z, x*z */
  double *part;                        /* nchunks x 3 z*z */
  double *fin;  /* gv, h, sig (z*z each), then x*z and z*z temporaries */
};

const char *ica_strerror(int status)
{
  switch (status) {
  case ICA_E_INVALID:
    return "invalid argument";
  case ICA_E_NOMEM:
    return "out of memory";
  case ICA_E_SINGULAR:
    return "matrix not positive definite (A lost rank?)";
  case ICA_E_NUMERIC:
    return "non-finite value (data or log-likelihood)";
  default:
    return spd_strerror(status);
  }
}

void ica_prior_default(ica_prior *p)
{
  memset(p, 0, sizeof *p);
  p->k = 2;
  p->weight[0] = p->weight[1] = 0.5;
  p->sd[0] = sqrt(0.2);
  p->sd[1] = sqrt(1.8);
}

int ica_prior_check(const ica_prior *p)
{
  if (!p || p->k < 1 || p->k > ICA_MAX_COMPONENTS)
    return -1;
  double sum = 0.0;
  for (size_t k = 0; k < p->k; k++) {
    if (!(p->weight[k] > 0.0) || !isfinite(p->weight[k]) ||
        !(p->sd[k] > 0.0) || !isfinite(p->sd[k]))
      return -1;
    sum += p->weight[k];
  }
  return fabs(sum - 1.0) <= 1e-9 ? 0 : -1;
}

void ica_em_free(ica_em *em)
{
  if (!em)
    return;
  void *ptrs[] = {em->assign, em->pi, em->pj, em->ata, em->binv, em->apinv,
                  em->minv, em->work, em->vd, em->vp, em->inv, em->scratch,
                  em->yd, em->u, em->res, em->rss, em->ll, em->w, em->phi1,
                  em->phi2, em->lg, em->vbar, em->g, em->gt, em->ga, em->syu0,
                  em->suu, em->resw, em->part, em->fin};
  for (size_t i = 0; i < sizeof ptrs / sizeof ptrs[0]; i++)
    free(ptrs[i]);
  free(em);
}

static size_t nchunks(size_t c)
{
  return (c + CHUNK_C - 1) / CHUNK_C;
}

int ica_em_create(size_t x_dim, size_t z_dim, const ica_prior *prior,
                  int threads, ica_em **out)
{
  if (!out || !prior || ica_prior_check(prior) != 0 || z_dim < 1 ||
      z_dim > ICA_MAX_Z || x_dim < z_dim || x_dim > 4096 || threads < 1)
    return ICA_E_INVALID;
  size_t c = 1;
  for (size_t j = 0; j < z_dim; j++) {
    c *= prior->k;
    if (c > ICA_MAX_ASSIGNMENTS)
      return ICA_E_INVALID;
  }
  ica_em *em = calloc(1, sizeof *em);
  if (!em)
    return ICA_E_NOMEM;
  size_t x = x_dim, z = z_dim, f = z * (z + 1) / 2;
  em->x = x;
  em->z = z;
  em->k = prior->k;
  em->c = c;
  em->f = f;
  em->f1 = f + 1;
  em->threads = threads;
  /* Tile of points: keep its t x c log-responsibility block near 512 KiB
   * (inside a 1 MiB L2); the size is fixed, so results do not depend on
   * the thread count. */
  size_t t = (size_t)131072 / c;
  em->tile = t < 16 ? 16 : t > 512 ? 512 : t;
  t = em->tile;
  for (size_t k = 0; k < prior->k; k++) {
    em->logw[k] = log(prior->weight[k]);
    em->var[k] = prior->sd[k] * prior->sd[k];
  }

  em->assign = malloc(c * z);
  em->pi = malloc(f * sizeof *em->pi);
  em->pj = malloc(f * sizeof *em->pj);
  em->ata = malloc(z * z * sizeof(double));
  em->binv = malloc(z * z * sizeof(double));
  em->apinv = malloc(z * x * sizeof(double));
  em->minv = malloc(z * z * sizeof(double));
  em->work = malloc(z * z * sizeof(double));
  em->vd = malloc(c * f * sizeof(double));
  em->vp = malloc(c * em->f1 * sizeof(float));
  em->inv = malloc(t * sizeof(double));
  em->scratch = malloc((size_t)threads * 3 * z * z * sizeof(double));
  em->yd = malloc(t * x * sizeof(double));
  em->u = malloc(t * z * sizeof(double));
  em->res = malloc(t * x * sizeof(double));
  em->rss = malloc(t * sizeof(double));
  em->ll = malloc(t * sizeof(double));
  em->w = malloc(t * z * sizeof(double));
  em->phi1 = malloc(t * em->f1 * sizeof(float));
  em->phi2 = malloc(t * em->f1 * sizeof(float));
  em->lg = malloc(t * c * sizeof(float));
  em->vbar = malloc(t * f * sizeof(float));
  em->g = malloc(c * em->f1 * sizeof(double));
  em->gt = malloc(c * em->f1 * sizeof(float));
  em->ga = malloc(c * em->f1 * sizeof(float));
  em->syu0 = malloc(x * z * sizeof(double));
  em->suu = malloc(z * z * sizeof(double));
  em->resw = malloc(x * z * sizeof(double));
  em->part = malloc(nchunks(c) * 3 * z * z * sizeof(double));
  em->fin = malloc((4 * z * z + x * z) * sizeof(double));
  if (!em->assign || !em->pi || !em->pj || !em->ata || !em->binv ||
      !em->apinv || !em->minv || !em->work || !em->vd || !em->vp ||
      !em->inv || !em->scratch || !em->yd || !em->u || !em->res ||
      !em->rss || !em->ll || !em->w || !em->phi1 || !em->phi2 || !em->lg ||
      !em->vbar || !em->g || !em->gt || !em->ga || !em->syu0 || !em->suu ||
      !em->resw || !em->part || !em->fin) {
    ica_em_free(em);
    return ICA_E_NOMEM;
  }
  for (size_t a = 0; a < c; a++) {
    size_t r = a;
    for (size_t j = 0; j < z; j++) {
      em->assign[a * z + j] = (unsigned char)(r % prior->k);
      r /= prior->k;
    }
  }
  for (size_t i = 0, q = 0; i < z; i++)
    for (size_t j = i; j < z; j++, q++) {
      em->pi[q] = i;
      em->pj[q] = j;
    }
  *out = em;
  return ICA_OK;
}

size_t ica_em_assignments(const ica_em *em)
{
  return em ? em->c : 0;
}

/* exp(x) for x <= 0, flushed to 0 below -40. Such terms are < 5e-18 of
 * the largest one, far below the float resolution of every sum they enter;
 * keeping them would let their products in the GEMMs below fall into the
 * subnormal range, which x86 handles about 100 times slower (standard EM at
 * small gamma, with sharp posteriors, slowed down 10-fold that way).
 * Cephes' expf: Cody-Waite reduction and a degree-5 polynomial, about 1 ulp.
 * Written with integer masks instead of float selects (which GCC will not
 * if-convert), so that the row loops below vectorise. */
static inline float exp_nonpos(float x)
{
  const uint32_t lim = 0xc2200000u; /* bits of -40.0f */
  uint32_t xb, eb, sb;
  memcpy(&xb, &x, sizeof xb);
  /* Negative floats below -40 (and -inf, -NaN) have larger bit patterns. */
  uint32_t under = xb > lim;
  xb += (lim - xb) & (0u - under);
  memcpy(&x, &xb, sizeof x);
  /* Round x / ln 2 to the nearest integer by the 1.5 * 2^23 trick (C11
   * mode keeps the two additions; no -ffast-math here). */
  float nf = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  float r = x - nf * 0.693359375f;
  r = r + nf * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  /* nf in [-58, 0]: 2^nf is a normal float. */
  sb = (uint32_t)((int32_t)nf + 127) << 23;
  float sc, e;
  memcpy(&sc, &sb, sizeof sc);
  e = p * sc;
  memcpy(&eb, &e, sizeof eb);
  eb &= under - 1u;
  memcpy(&e, &eb, sizeof e);
  return e;
}

/* The exponentials are a third of the E-step's time: on x86-64, let GCC
 * (and clang >= 14) build AVX-512 and AVX2 versions too, picked at load
 * time by the CPU (the results differ between them only in the rounding of
 * the sum, as they would between CPUs anyway; the thread count never
 * changes which one runs). */
#if defined(__x86_64__) && ((defined(__GNUC__) && !defined(__clang__)) || \
                            (defined(__clang__) && __clang_major__ >= 14))
#define ICA_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define ICA_CLONES
#endif

/* Replace a row of log joints by exp(logit_c - max) in place; return the
 * max and set *sum to the sum of the exponentials. */
ICA_CLONES static float exponentiate(float *restrict l, size_t c, float *sum)
{
  /* The maximum, taken over order-preserving unsigned keys of the floats:
   * compilers vectorise an integer max reduction but not a float one
   * (NaN semantics). A NaN maps above +inf and is reported below. */
  uint32_t best = 0;
#pragma omp simd reduction(max : best)
  for (size_t a = 0; a < c; a++) {
    uint32_t u;
    memcpy(&u, &l[a], sizeof u);
    uint32_t key = u ^ ((0u - (u >> 31)) | 0x80000000u);
    best = key > best ? key : best;
  }
  uint32_t ub = best & 0x80000000u ? best ^ 0x80000000u : ~best;
  float mx;
  memcpy(&mx, &ub, sizeof mx);
  if (!isfinite(mx)) {
    *sum = NAN; /* u is not finite: the caller reports it */
    return mx;
  }
  float s = 0.0f;
#pragma omp simd reduction(+ : s)
  for (size_t a = 0; a < c; a++) {
    float e = exp_nonpos(l[a] - mx);
    l[a] = e;
    s += e;
  }
  *sum = s;
  return mx;
}

static void add_floats(float *restrict acc, const float *restrict v, size_t n)
{
#pragma omp simd
  for (size_t i = 0; i < n; i++)
    acc[i] += v[i];
}

/* V_c = (D_c + M^-1)^-1 and the assignment's log-normaliser, for all c. */
static int prepare_assignments(ica_em *em)
{
  const size_t z = em->z, f = em->f, c = em->c;
  int bad = 0;
#pragma omp parallel for num_threads(em->threads) schedule(static) reduction(| : bad)
  for (size_t a = 0; a < c; a++) {
    double *s = em->scratch + (size_t)omp_get_thread_num() * 3 * z * z;
    double *v = s + z * z, *wk = v + z * z;
    double logw = 0.0;
    memcpy(s, em->minv, z * z * sizeof *s);
    for (size_t j = 0; j < z; j++) {
      unsigned k = em->assign[a * z + j];
      s[j * z + j] += em->var[k];
      logw += em->logw[k];
    }
    double logdet;
    if (ica_spd_inverse(s, z, v, &logdet, wk) != 0) {
      bad = 1;
      continue;
    }
    for (size_t q = 0; q < f; q++) {
      double vq = v[em->pi[q] * z + em->pj[q]];
      em->vd[a * f + q] = vq;
      em->vp[a * em->f1 + q] = (float)vq;
    }
    em->vp[a * em->f1 + f] =
        (float)(-2.0 * (logw - 0.5 * logdet - 0.5 * (double)z * LOG_2PI));
  }
  return bad ? ICA_E_SINGULAR : ICA_OK;
}

static void unpack(const double *p, size_t z, double *m)
{
  for (size_t i = 0, q = 0; i < z; i++)
    for (size_t j = i; j < z; j++, q++)
      m[i * z + j] = m[j * z + i] = p[q];
}

/* gv = sum_c G_c V_c, h = sum_c V_c G_c V_c, sig = sum_c n_c (D_c - D_c V_c D_c),
 * summed in chunks of CHUNK_C assignments, then the chunks in order. */
static void assignment_sums(ica_em *em, double *gv, double *h, double *sig)
{
  const size_t z = em->z, zz = z * z, f = em->f, f1 = em->f1, c = em->c;
  const size_t nch = nchunks(c);
#pragma omp parallel for num_threads(em->threads) schedule(static)
  for (size_t ch = 0; ch < nch; ch++) {
    double *pgv = em->part + ch * 3 * zz, *ph = pgv + zz, *ps = ph + zz;
    double *s = em->scratch + (size_t)omp_get_thread_num() * 3 * zz;
    double *gm = s, *vm = s + zz, *pm = vm + zz;
    memset(pgv, 0, 3 * zz * sizeof *pgv);
    size_t end = (ch + 1) * CHUNK_C < c ? (ch + 1) * CHUNK_C : c;
    for (size_t a = ch * CHUNK_C; a < end; a++) {
      const double *ga = em->g + a * f1;
      double na = ga[f];
      unpack(ga, z, gm);
      unpack(em->vd + a * f, z, vm);
      for (size_t i = 0; i < z; i++)
        for (size_t j = 0; j < z; j++) {
          double sum = 0.0;
          for (size_t k = 0; k < z; k++)
            sum += gm[i * z + k] * vm[k * z + j];
          pm[i * z + j] = sum;
          pgv[i * z + j] += sum;
        }
      for (size_t i = 0; i < z; i++)
        for (size_t j = i; j < z; j++) {
          double sum = 0.0;
          for (size_t k = 0; k < z; k++)
            sum += vm[i * z + k] * pm[k * z + j];
          ph[i * z + j] += sum;
        }
      for (size_t i = 0; i < z; i++) {
        double di = em->var[em->assign[a * z + i]];
        ps[i * z + i] += na * di;
        for (size_t j = i; j < z; j++) {
          double dj = em->var[em->assign[a * z + j]];
          ps[i * z + j] -= na * di * vm[i * z + j] * dj;
        }
      }
    }
  }
  memset(gv, 0, zz * sizeof *gv);
  memset(h, 0, zz * sizeof *h);
  memset(sig, 0, zz * sizeof *sig);
  for (size_t ch = 0; ch < nch; ch++) {
    const double *pgv = em->part + ch * 3 * zz, *ph = pgv + zz, *ps = ph + zz;
    for (size_t q = 0; q < zz; q++) {
      gv[q] += pgv[q];
      h[q] += ph[q];
      sig[q] += ps[q];
    }
  }
  /* h and sig were accumulated on the upper triangle. */
  for (size_t i = 0; i < z; i++)
    for (size_t j = i + 1; j < z; j++) {
      h[j * z + i] = h[i * z + j];
      sig[j * z + i] = sig[i * z + j];
    }
}

/* One tile of nt points starting at y: accumulate into the statistics and
 * return the sum of the tile's log-likelihood terms that vary per point. */
static double estep_tile(ica_em *em, const double *a, double gamma,
                         const float *y, size_t nt)
{
  const size_t x = em->x, z = em->z, c = em->c, f = em->f, f1 = em->f1;
  const int th = em->threads;
  for (size_t i = 0; i < nt * x; i++)
    em->yd[i] = (double)y[i];
  /* u_n = (A^T A)^-1 A^T y_n */
  ica_dgemm(th, false, true, nt, z, x, 1.0, em->yd, x, em->apinv, x, 0.0,
            em->u, z);
  if (x > z) {
    memcpy(em->res, em->yd, nt * x * sizeof *em->res);
    ica_dgemm(th, false, true, nt, x, z, -1.0, em->u, z, a, z, 1.0, em->res, x);
    for (size_t i = 0; i < nt; i++) {
      double s = 0.0;
      for (size_t d = 0; d < x; d++)
        s += em->res[i * x + d] * em->res[i * x + d];
      em->rss[i] = s;
    }
  }
  for (size_t i = 0; i < nt; i++) {
    const double *ui = em->u + i * z;
    float *p2 = em->phi2 + i * f1;
    for (size_t q = 0; q < f; q++) {
      double p = ui[em->pi[q]] * ui[em->pj[q]];
      p2[q] = (float)(em->pi[q] == em->pj[q] ? p : 2.0 * p);
    }
    p2[f] = 1.0f;
  }
  /* Log joints log w_c + log N(u_n; 0, D_c + M^-1) for every point and
   * assignment, in one GEMM; then exponentiate each row. */
  ica_sgemm(th, false, true, nt, c, f1, -0.5f, em->phi2, f1, em->vp, f1,
            0.0f, em->lg, c);
#pragma omp parallel for num_threads(th) schedule(static)
  for (size_t i = 0; i < nt; i++) {
    float sum;
    float mx = exponentiate(em->lg + i * c, c, &sum);
    em->ll[i] = (double)mx + log((double)sum);
    em->inv[i] = 1.0 / (double)sum;
  }
  /* Responsibilities are lg's rows times inv: fold inv into the features.
   * G_c += sum_n r_nc phi1(u_n). */
  for (size_t i = 0; i < nt; i++) {
    const double *ui = em->u + i * z;
    float *p1 = em->phi1 + i * f1;
    for (size_t q = 0; q < f; q++)
      p1[q] = (float)(em->inv[i] * ui[em->pi[q]] * ui[em->pj[q]]);
    p1[f] = (float)em->inv[i];
  }
  ica_sgemm(th, true, false, c, f1, nt, 1.0f, em->lg, c, em->phi1, f1, 0.0f,
            em->gt, f1);
  add_floats(em->ga, em->gt, c * f1);
  ica_dgemm(th, true, false, x, z, nt, 1.0, em->yd, x, em->u, z, 1.0,
            em->syu0, z);
  ica_dgemm(th, true, false, z, z, nt, 1.0, em->u, z, em->u, z, 1.0,
            em->suu, z);
  double ll = 0.0;
  if (x > z) {
    /* The residual's share of sum_n y_n E[s|y_n]^T needs each point's
     * w_n = (sum_c r_nc V_c) u_n. */
    ica_sgemm(th, false, false, nt, f, c, 1.0f, em->lg, c, em->vp, f1, 0.0f,
              em->vbar, f);
    for (size_t i = 0; i < nt; i++) {
      const double *ui = em->u + i * z;
      const float *vb = em->vbar + i * f;
      double *wi = em->w + i * z;
      memset(wi, 0, z * sizeof *wi);
      for (size_t q = 0; q < f; q++) {
        size_t pi = em->pi[q], pj = em->pj[q];
        wi[pi] += vb[q] * ui[pj];
        if (pi != pj)
          wi[pj] += vb[q] * ui[pi];
      }
      for (size_t j = 0; j < z; j++)
        wi[j] *= em->inv[i];
    }
    ica_dgemm(th, true, false, x, z, nt, 1.0, em->res, x, em->w, z, 1.0,
              em->resw, z);
    for (size_t i = 0; i < nt; i++)
      ll += em->ll[i] - 0.5 * em->rss[i] / (gamma * gamma);
  } else {
    for (size_t i = 0; i < nt; i++)
      ll += em->ll[i];
  }
  return ll;
}

int ica_em_estep(ica_em *em, const double *a, double gamma, const float *y,
                 size_t n, double *syu, double *sss, double *loglik)
{
  if (!em || !a || !y || !syu || !sss || !loglik || n == 0 ||
      !(gamma > 0.0) || !isfinite(gamma))
    return ICA_E_INVALID;
  const size_t x = em->x, z = em->z, zz = z * z;
  const int th = em->threads;

  ica_dgemm(th, true, false, z, z, x, 1.0, a, z, a, z, 0.0, em->ata, z);
  double logdet_ata;
  if (ica_spd_inverse(em->ata, z, em->binv, &logdet_ata, em->work) != 0)
    return ICA_E_SINGULAR;
  ica_dgemm(th, false, true, z, x, z, 1.0, em->binv, z, a, z, 0.0,
            em->apinv, x);
  for (size_t q = 0; q < zz; q++)
    em->minv[q] = gamma * gamma * em->binv[q];
  int st = prepare_assignments(em);
  if (st != ICA_OK)
    return st;

  memset(em->ga, 0, em->c * em->f1 * sizeof *em->ga);
  memset(em->syu0, 0, x * z * sizeof *em->syu0);
  memset(em->suu, 0, zz * sizeof *em->suu);
  memset(em->resw, 0, x * z * sizeof *em->resw);
  double ll = 0.0;
  for (size_t n0 = 0; n0 < n; n0 += em->tile) {
    size_t nt = n - n0 < em->tile ? n - n0 : em->tile;
    ll += estep_tile(em, a, gamma, y + n0 * x, nt);
  }
  if (!isfinite(ll))
    return ICA_E_NUMERIC;
  for (size_t q = 0; q < em->c * em->f1; q++)
    em->g[q] = (double)em->ga[q];
  ll += (double)n * (-0.5 * (double)(x - z) * (LOG_2PI + 2.0 * log(gamma)) -
                     0.5 * logdet_ata);

  /* Assemble (derivation in README.md):
   *   syu = sum y u^T - (A GV + resw) M^-1
   *   sss = sum u u^T - M^-1 GV^T - GV M^-1 + M^-1 H M^-1 + sum_c n_c Sigma_c */
  double *gv = em->fin, *h = gv + zz, *sig = h + zz, *t2 = sig + zz;
  double *t1 = t2 + zz;
  assignment_sums(em, gv, h, sig);
  memcpy(t1, em->resw, x * z * sizeof *t1);
  ica_dgemm(1, false, false, x, z, z, 1.0, a, z, gv, z, 1.0, t1, z);
  memcpy(syu, em->syu0, x * z * sizeof *syu);
  ica_dgemm(1, false, false, x, z, z, -1.0, t1, z, em->minv, z, 1.0, syu, z);

  ica_dgemm(1, false, false, z, z, z, 1.0, h, z, em->minv, z, 0.0, t2, z);
  for (size_t i = 0; i < z; i++)
    for (size_t j = 0; j < z; j++) {
      double mhm = 0.0, mg = 0.0, gm = 0.0;
      for (size_t k = 0; k < z; k++) {
        mhm += em->minv[i * z + k] * t2[k * z + j];
        mg += em->minv[i * z + k] * gv[j * z + k]; /* (M^-1 GV^T)_ij */
        gm += gv[i * z + k] * em->minv[k * z + j];
      }
      sss[i * z + j] = em->suu[i * z + j] - mg - gm + mhm + sig[i * z + j];
    }
  for (size_t i = 0; i < z; i++)
    for (size_t j = i + 1; j < z; j++) {
      double s = 0.5 * (sss[i * z + j] + sss[j * z + i]);
      sss[i * z + j] = sss[j * z + i] = s;
    }
  *loglik = ll;
  return ICA_OK;
}

int ica_em_mstep(const double *syu, const double *sss, size_t x_dim,
                 size_t z_dim, double *a_new)
{
  if (!syu || !sss || !a_new || z_dim < 1 || x_dim < z_dim)
    return ICA_E_INVALID;
  double *work = malloc(z_dim * z_dim * sizeof *work);
  if (!work)
    return ICA_E_NOMEM;
  int r = ica_solve_right_spd(syu, x_dim, z_dim, sss, a_new, work);
  free(work);
  return r == 0 ? ICA_OK : ICA_E_SINGULAR;
}
