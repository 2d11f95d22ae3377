/* Monte Carlo estimator: value and gradient against an independent
 * double-precision reference that regenerates the documented draws, the
 * mean over seeds against the exact point-mass divergence, exact zero for
 * identical sets, thread-count independence, streams, far-apart sets,
 * bounded memory, the vectorised exp, argument checks. */
#include "harness.h"
#include "estimator_ref.h"
#include "fdiv_internal.h"
#include "vmath.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

enum { NKINDS = 14 };

START_TEST(matches_double_reference_value_and_gradient)
{
  /* 5 p points, 4 q points, 6 draws each. Value: float logits against
   * the double reference, 2e-5 relative. Gradient: central differences of
   * the double reference (h = 1e-5, common random numbers), to 2e-3 of
   * the gradient's largest component (float accumulation). */
  enum { NP = 5, NQ = 4, S = 6 };
  float xpf[NP * DIM], xqf[NQ * DIM], g[NQ * DIM];
  fill(xpf, NP * DIM, 1, 1.0f, 0.0f);
  fill(xqf, NQ * DIM, 2, 1.0f, 0.7f);
  double xp[NP * DIM], xq[NQ * DIM];
  for (int i = 0; i < NP * DIM; i++)
    xp[i] = xpf[i];
  for (int i = 0; i < NQ * DIM; i++)
    xq[i] = xqf[i];
  for (int ki = 0; ki < 5; ki++) {
    spd_spread *s = make_s(ki);
    ref_kernel r = ref_make(ki);
    double *noise = ref_draws(&r, 99, 0, NP, NQ, S);
    for (int k = 1; k <= NKINDS; k++) {
      spd_fdiv *f = make_f(k);
      spd_estimator *e = NULL;
      SPDT_OK(spd_estimator_create(f, s, 99, &e));
      SPDT_OK(spd_estimator_set_samples(e, S));
      double v, se;
      SPDT_OK(spd_estimate(e, xpf, NP, xqf, NQ, &v, &se, g));
      const double want = ref_value(&r, f, xp, NP, xq, NQ, S, noise);
      ck_assert_msg(fabs(v - want) <= 2e-5 * fabs(want) + 1e-7,
                    "kernel %d %s: value %.10g, reference %.10g", ki, spd_fdiv_kind_name(k),
                    v, want);
      double fd[NQ * DIM], gmax = 0;
      for (int i = 0; i < NQ * DIM; i++) {
        const double h = 1e-5, keep = xq[i];
        xq[i] = keep + h;
        double hi = ref_value(&r, f, xp, NP, xq, NQ, S, noise);
        xq[i] = keep - h;
        double lo = ref_value(&r, f, xp, NP, xq, NQ, S, noise);
        xq[i] = keep;
        fd[i] = (hi - lo) / (2 * h);
        gmax = fmax(gmax, fabs(fd[i]));
      }
      for (int i = 0; i < NQ * DIM; i++)
        ck_assert_msg(fabs(g[i] - fd[i]) <= 2e-3 * gmax + 1e-7,
                      "kernel %d %s: grad[%d] = %g, reference %g", ki, spd_fdiv_kind_name(k),
                      i, (double)g[i], fd[i]);
      spd_estimator_free(e);
      spd_fdiv_free(f);
    }
    free(noise);
    spd_spread_free(s);
  }
}
END_TEST

START_TEST(gradient_by_common_random_numbers)
{
  /* The library itself, differentiated by central differences with the
   * same seed (a fresh estimator per evaluation): 16 x 12 points in 5-D.
   * Float logits (~1e-6) over h = 1e-2 give ~1e-4: bound 5e-3 of max. */
  enum { NP = 16, NQ = 12, D = 5 };
  float xp[NP * D], xq[NQ * D], g[NQ * D];
  fill(xp, NP * D, 3, 1.0f, 0.0f);
  fill(xq, NQ * D, 4, 1.0f, 0.5f);
  spd_spread *s = NULL;
  SPDT_OK(spd_spread_create_gaussian(D, 0.6, &s));
  spd_fdiv *f = make_f(SPD_FDIV_KL);
  spd_estimator *e = NULL;
  SPDT_OK(spd_estimator_create(f, s, 5, &e));
  SPDT_OK(spd_estimator_set_samples(e, 4));
  double v;
  SPDT_OK(spd_estimate(e, xp, NP, xq, NQ, &v, NULL, g));
  spd_estimator_free(e);
  double gmax = 0;
  for (int i = 0; i < NQ * D; i++)
    gmax = fmax(gmax, fabs(g[i]));
  for (int i = 0; i < NQ * D; i++) {
    double side[2];
    const float keep = xq[i];
    for (int k = 0; k < 2; k++) {
      xq[i] = keep + (k ? 0.01f : -0.01f);
      SPDT_OK(spd_estimator_create(f, s, 5, &e));
      SPDT_OK(spd_estimator_set_samples(e, 4));
      SPDT_OK(spd_estimate(e, xp, NP, xq, NQ, &side[k], NULL, NULL));
      spd_estimator_free(e);
    }
    xq[i] = keep;
    double fd = (side[1] - side[0]) / ((double)(keep + 0.01f) - (double)(keep - 0.01f));
    ck_assert_msg(fabs(g[i] - fd) <= 5e-3 * gmax, "grad[%d] = %g, fd %g", i, (double)g[i], fd);
  }
  spd_fdiv_free(f);
  spd_spread_free(s);
}
END_TEST

START_TEST(point_masses_mean_within_three_standard_errors)
{
  /* 10 calls (fresh streams) of 400 draws per set around two point masses
   * at Mahalanobis distance ~1; the mean of the 10 estimates must be within
   * 3 standard errors (sqrt(sum se_i^2) / 10) of the exact value. The
   * Laplace kernels move one coordinate, so every kind has an exact value.
   * The reported standard error must also describe the spread of the 10
   * estimates (ratio within [0.5, 2]).
   * The chi^2-like kinds (Pearson, Neyman, log1p-abs) get half the
   * distance: their terms grow like e^|t|, log-normally tailed, and at
   * distance 1 a 3-SE test of 4000 draws would test that tail (the sample
   * mean converges slowly from below), not the code. */
  const float mp[DIM] = { 0.3f, 0.1f, -0.2f };
  const float mq_g[DIM] = { -0.4f, 0.5f, 0.1f }, mq_l[DIM] = { 0.3f, 0.9f, -0.2f };
  for (int ki = 0; ki < 5; ki++) {
    spd_spread *s = make_s(ki);
    for (int k = 1; k <= NKINDS; k++) {
      const bool heavy = k == SPD_FDIV_PEARSON_CHI2 || k == SPD_FDIV_NEYMAN_CHI2 ||
                         k == SPD_FDIV_LOG1P_ABS;
      float mq[DIM];
      for (int a = 0; a < DIM; a++) {
        const float full = ki > 2 ? mq_l[a] : mq_g[a];
        mq[a] = heavy ? 0.5f * (mp[a] + full) : full;
      }
      spd_fdiv *f = make_f(k);
      double exact;
      SPDT_OK(spd_divergence_delta(f, s, mp, mq, &exact, NULL));
      spd_estimator *e = NULL;
      SPDT_OK(spd_estimator_create(f, s, 1000 + (uint64_t)k, &e));
      SPDT_OK(spd_estimator_set_samples(e, 400));
      double sum = 0, sum2 = 0, var = 0;
      const int K = 10;
      for (int rep = 0; rep < K; rep++) {
        double v, se;
        SPDT_OK(spd_estimate(e, mp, 1, mq, 1, &v, &se, NULL));
        sum += v;
        sum2 += v * v;
        var += se * se;
      }
      const double mean = sum / K, se_mean = sqrt(var) / K;
      ck_assert_msg(fabs(mean - exact) <= 3 * se_mean,
                    "kernel %d %s: mean %.6g, exact %.6g, se %.3g", ki, spd_fdiv_kind_name(k),
                    mean, exact, se_mean);
      const double sd = sqrt((sum2 - sum * sum / K) / (K - 1)), se_one = sqrt(var / K);
      ck_assert_msg(sd > 0.5 * se_one && sd < 2 * se_one,
                    "kernel %d %s: spread of estimates %.3g, reported se %.3g", ki,
                    spd_fdiv_kind_name(k), sd, se_one);
      spd_estimator_free(e);
      spd_fdiv_free(f);
    }
    spd_spread_free(s);
  }
}
END_TEST

START_TEST(identical_sets_give_exactly_zero)
{
  /* Same points on both sides: every log-ratio is exactly 0, so every
   * kind's estimate and gradient are exactly 0 (loop and GEMM paths). */
  const size_t dims[2] = { 2, 40 };
  for (int di = 0; di < 2; di++) {
    const size_t d = dims[di], n = 30;
    float *x = malloc(n * d * sizeof *x), *y = malloc(n * d * sizeof *y);
    float *g = malloc(n * d * sizeof *g);
    fill(x, n * d, 6, 1.0f, 0.0f);
    memcpy(y, x, n * d * sizeof *x);
    spd_spread *s = NULL;
    SPDT_OK(spd_spread_create_gaussian(d, 0.5, &s));
    for (int k = 1; k <= NKINDS; k++) {
      spd_fdiv *f = make_f(k);
      spd_estimator *e = NULL;
      SPDT_OK(spd_estimator_create(f, s, 7, &e));
      SPDT_OK(spd_estimator_set_samples(e, 4));
      double v = 1, se = 1;
      SPDT_OK(spd_estimate(e, x, n, y, n, &v, &se, g));
      ck_assert_msg(v == 0 && se == 0, "%s (dim %zu): %g +- %g", spd_fdiv_kind_name(k), d, v,
                    se);
      for (size_t i = 0; i < n * d; i++)
        ck_assert(g[i] == 0);
      spd_estimator_free(e);
      spd_fdiv_free(f);
    }
    spd_spread_free(s);
    free(x), free(y), free(g);
  }
}
END_TEST

/* Run one estimate with the given thread count. */
static void run_threads(int threads, const spd_spread *s, int kind, const float *xp, size_t np,
                        const float *xq, size_t nq, double out[2], float *g)
{
  SPDT_OK(spd_set_num_threads(threads));
  spd_fdiv *f = make_f(kind);
  spd_estimator *e = NULL;
  SPDT_OK(spd_estimator_create(f, s, 11, &e));
  SPDT_OK(spd_estimate(e, xp, np, xq, nq, &out[0], &out[1], g));
  spd_estimator_free(e);
  spd_fdiv_free(f);
  SPDT_OK(spd_set_num_threads(1));
}

START_TEST(thread_count_does_not_change_results)
{
  /* Several chunks of draws, loop and GEMM paths, every kernel family:
   * 1 and 2 threads agree to the bit. */
  const size_t np = 200, nq = 150; /* 3 chunks of draws; kept small for valgrind */
  struct { size_t d; int kernel; } cases[] = { { 3, 0 }, { 40, 0 }, { 40, 2 }, { 3, 3 } };
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    const size_t d = cases[c].d;
    float *xp = malloc(np * d * sizeof *xp), *xq = malloc(nq * d * sizeof *xq);
    float *g1 = malloc(nq * d * sizeof *g1), *g2 = malloc(nq * d * sizeof *g2);
    fill(xp, np * d, 8, 1.0f, 0.0f);
    fill(xq, nq * d, 9, 1.0f, 0.3f);
    spd_spread *s = NULL;
    if (cases[c].kernel == 0) {
      SPDT_OK(spd_spread_create_gaussian(d, 0.9, &s));
    } else if (cases[c].kernel == 3) {
      SPDT_OK(spd_spread_create_laplace(d, 0.9, &s));
    } else {
      float *L = malloc(d * 3 * sizeof *L);
      fill(L, d * 3, 10, 0.3f, 0.0f);
      SPDT_OK(spd_spread_create_gaussian_lowrank(d, 3, 0.9, L, &s));
      free(L);
    }
    double a[2], b[2];
    run_threads(1, s, SPD_FDIV_JENSEN_SHANNON, xp, np, xq, nq, a, g1);
    run_threads(2, s, SPD_FDIV_JENSEN_SHANNON, xp, np, xq, nq, b, g2);
    ck_assert_msg(a[0] == b[0] && a[1] == b[1], "case %zu: %.17g vs %.17g", c, a[0], b[0]);
    ck_assert_mem_eq(g1, g2, nq * d * sizeof *g1);
    spd_spread_free(s);
    free(xp), free(xq), free(g1), free(g2);
  }
}
END_TEST

START_TEST(many_points_match_reference)
{
  /* More points than one tile (512): the streaming log-sum-exp must
   * rescale across tiles exactly. 1100 p points and 40 q points, one draw
   * each, against the log-densities in double (value only). Loop path in
   * 3-D (isotropic and Laplace) and GEMM path in 40-D. */
  const size_t np = 1100, nq = 40, S = 1;
  struct { size_t d; bool laplace; } cases[3] = { { 3, false }, { 3, true }, { 40, false } };
  for (int c = 0; c < 3; c++) {
    const size_t d = cases[c].d, width = d, bpr = (width + 3) / 4;
    const double sc = 0.6;
    float *xp = malloc(np * d * sizeof *xp), *xq = malloc(nq * d * sizeof *xq);
    double *y = malloc((np + nq) * S * d * sizeof *y);
    float *raw = malloc(4 * bpr * sizeof *raw);
    double *lk = malloc(np * sizeof *lk);
    fill(xp, np * d, 20, 1.0f, 0.0f);
    fill(xq, nq * d, 21, 1.0f, 0.2f);
    spd_spread *s = NULL;
    if (cases[c].laplace)
      SPDT_OK(spd_spread_create_laplace(d, sc, &s));
    else
      SPDT_OK(spd_spread_create_gaussian(d, sc, &s));
    spd_fdiv *f = make_f(SPD_FDIV_JENSEN_SHANNON);
    spd_estimator *e = NULL;
    SPDT_OK(spd_estimator_create(f, s, 33, &e));
    SPDT_OK(spd_estimator_set_samples(e, S));
    double v;
    SPDT_OK(spd_estimate(e, xp, np, xq, nq, &v, NULL, NULL));
    /* regenerate the draws (layout of spd_estimator_create) */
    spd_rng *rng = NULL;
    SPDT_OK(spd_rng_create(33, &rng));
    for (int set = 0; set < 2; set++)
      for (size_t row = 0; row < (set ? nq : np); row++) {
        SPDT_OK(spd_rng_set_state(rng, 33, (uint64_t)set, row * bpr));
        if (cases[c].laplace)
          SPDT_OK(spd_rng_laplace(rng, raw, 4 * bpr));
        else
          SPDT_OK(spd_rng_normal(rng, raw, 4 * bpr));
        const float *x = (set ? xq : xp) + row * d;
        for (size_t a = 0; a < d; a++)
          y[((set ? np : 0) + row) * d + a] = x[a] + sc * raw[a];
      }
    spd_rng_free(rng);
    double mean[2] = { 0, 0 };
    for (size_t row = 0; row < np + nq; row++) {
      double l[2];
      for (int set = 0; set < 2; set++) {
        const size_t n = set ? nq : np;
        const float *xs = set ? xq : xp;
        for (size_t j = 0; j < n; j++) {
          double acc = 0;
          for (size_t a = 0; a < d; a++) {
            double t = (y[row * d + a] - xs[j * d + a]) / sc;
            acc -= cases[c].laplace ? fabs(t) : 0.5 * t * t;
          }
          lk[j] = acc;
        }
        l[set] = lse(lk, n) - log((double)n);
      }
      double psi;
      ck_assert(spdi_fdiv_psi(f, l[0] - l[1], &psi, NULL));
      mean[row >= np] += psi / (double)(row >= np ? nq : np);
    }
    SPDT_CLOSE(v, 0.5 * (mean[0] + mean[1]), 1e-5, 1e-7); /* float logits */
    spd_estimator_free(e);
    spd_fdiv_free(f);
    spd_spread_free(s);
    free(xp), free(xq), free(y), free(raw), free(lk);
  }
}
END_TEST

START_TEST(streams_and_reproducibility)
{
  float xp[6] = { 0, 0, 1, 1, 2, 0 }, xq[4] = { 3, 3, 4, 2 };
  spd_spread *s = NULL;
  SPDT_OK(spd_spread_create_gaussian(2, 1.0, &s));
  spd_fdiv *f = make_f(SPD_FDIV_KL);
  spd_estimator *e1 = NULL, *e2 = NULL;
  SPDT_OK(spd_estimator_create(f, s, 3, &e1));
  SPDT_OK(spd_estimator_create(f, s, 3, &e2));
  /* the estimator copied the spread: changing it now has no effect */
  SPDT_OK(spd_spread_set_scale(s, 5.0));
  double a, b, c;
  SPDT_OK(spd_estimate(e1, xp, 3, xq, 2, &a, NULL, NULL));
  SPDT_OK(spd_estimate(e1, xp, 3, xq, 2, &b, NULL, NULL));
  ck_assert(a != b); /* the second call uses fresh streams */
  SPDT_OK(spd_estimate(e2, xp, 3, xq, 2, &c, NULL, NULL));
  ck_assert(a == c); /* same seed, same first call */
  spd_estimator_free(e1);
  spd_estimator_free(e2);
  /* a single draw in a set: no variance estimate */
  SPDT_OK(spd_estimator_create(f, s, 3, &e1));
  SPDT_OK(spd_estimator_set_samples(e1, 1));
  double se;
  SPDT_OK(spd_estimate(e1, xp, 1, xq, 2, &a, &se, NULL));
  ck_assert(isinf(se) && se > 0);
  spd_estimator_free(e1);
  spd_fdiv_free(f);
  spd_spread_free(s);
}
END_TEST

START_TEST(far_apart_sets_are_finite)
{
  /* Point masses 1000 sigma apart: KL ~ 5e5 (not inf), JS = log 2. */
  const float mp[2] = { 0, 0 }, mq[2] = { 1000, 0 };
  spd_spread *g = NULL, *l = NULL;
  SPDT_OK(spd_spread_create_gaussian(2, 1.0, &g));
  SPDT_OK(spd_spread_create_laplace(2, 1.0, &l));
  spd_spread *ks[2] = { g, l };
  for (int ki = 0; ki < 2; ki++)
    for (int k = 1; k <= NKINDS; k++) {
      spd_fdiv *f = make_f(k);
      spd_estimator *e = NULL;
      SPDT_OK(spd_estimator_create(f, ks[ki], 12, &e));
      SPDT_OK(spd_estimator_set_samples(e, 2000));
      double v = 0, se = 0, exact;
      float gr[2];
      int st = spd_estimate(e, mp, 1, mq, 1, &v, &se, gr);
      ck_assert(st == SPD_OK || st == SPD_E_NUMERIC);
      if (st == SPD_OK) {
        ck_assert(isfinite(v) && isfinite(se) && isfinite(gr[0]) && isfinite(gr[1]));
        if (spd_divergence_delta(f, ks[ki], mp, mq, &exact, NULL) == SPD_OK)
          ck_assert_msg(fabs(v - exact) <= 3 * se + 1e-9 * fabs(exact),
                        "kernel %d %s: %.10g +- %.3g, exact %.10g", ki,
                        spd_fdiv_kind_name(k), v, se, exact);
      }
      if (k == SPD_FDIV_JENSEN_SHANNON)
        SPDT_CLOSE(v, log(2.0), 1e-12, 0);
      spd_estimator_free(e);
      spd_fdiv_free(f);
    }
  spd_spread_free(g);
  spd_spread_free(l);
}
END_TEST

static double user_kl(double u, void *user)
{
  (void)user;
  return u * log(u);
}

START_TEST(custom_f_matches_builtin)
{
  float xp[8], xq[6];
  fill(xp, 8, 13, 1.0f, 0.0f);
  fill(xq, 6, 14, 1.0f, 1.0f);
  spd_spread *s = NULL;
  SPDT_OK(spd_spread_create_gaussian(2, 0.8, &s));
  spd_fdiv *kl = make_f(SPD_FDIV_KL), *c = NULL;
  SPDT_OK(spd_fdiv_create_custom(user_kl, NULL, NULL, &c));
  spd_estimator *e1 = NULL, *e2 = NULL;
  SPDT_OK(spd_estimator_create(kl, s, 15, &e1));
  SPDT_OK(spd_estimator_create(c, s, 15, &e2));
  double a, b;
  float g1[6], g2[6];
  SPDT_OK(spd_estimate(e1, xp, 4, xq, 3, &a, NULL, g1));
  SPDT_OK(spd_estimate(e2, xp, 4, xq, 3, &b, NULL, g2));
  SPDT_CLOSE(b, a, 1e-9, 1e-12); /* f'(1) and f' by differences */
  for (int i = 0; i < 6; i++)
    SPDT_CLOSE(g2[i], g1[i], 1e-5, 1e-6);
  spd_estimator_free(e1);
  spd_estimator_free(e2);
  spd_fdiv_free(kl);
  spd_fdiv_free(c);
  spd_spread_free(s);
}
END_TEST

/* Allocator that tracks the peak of live bytes. */
static size_t live_bytes, peak_bytes;

static void *counting_alloc(void *opaque, size_t size)
{
  (void)opaque;
  size_t *p = malloc(size + 16);
  if (p == NULL)
    return NULL;
  p[0] = size;
  live_bytes += size;
  peak_bytes = live_bytes > peak_bytes ? live_bytes : peak_bytes;
  return (char *)p + 16;
}

static void counting_free(void *opaque, void *ptr)
{
  (void)opaque;
  size_t *p = (size_t *)((char *)ptr - 16);
  live_bytes -= p[0];
  free(p);
}

START_TEST(memory_is_bounded)
{
  /* 3000 x 3000 points: the pairwise terms alone would be 36 MB in float;
   * the estimator must stay near O((np + nq) dim + tile). */
  const size_t n = 3000, d = 2;
  float *xp = malloc(n * d * sizeof *xp), *xq = malloc(n * d * sizeof *xq);
  float *g = malloc(n * d * sizeof *g);
  fill(xp, n * d, 16, 1.0f, 0.0f);
  fill(xq, n * d, 17, 1.0f, 0.5f);
  SPDT_OK(spd_set_allocator(counting_alloc, counting_free, NULL));
  spd_spread *s = NULL;
  spd_fdiv *f = NULL;
  spd_estimator *e = NULL;
  SPDT_OK(spd_spread_create_gaussian(d, 0.5, &s));
  SPDT_OK(spd_fdiv_create(SPD_FDIV_KL, 0, &f));
  SPDT_OK(spd_estimator_create(f, s, 1, &e));
  double v;
  peak_bytes = live_bytes;
  const size_t before = live_bytes;
  SPDT_OK(spd_estimate(e, xp, n, xq, n, &v, NULL, g));
  const size_t used = peak_bytes - before;
  ck_assert_msg(used < 4u << 20, "estimate used %zu bytes", used);
  spd_estimator_free(e);
  spd_fdiv_free(f);
  spd_spread_free(s);
  ck_assert_uint_eq(live_bytes, 0);
  SPDT_OK(spd_set_allocator(NULL, NULL, NULL));
  free(xp), free(xq), free(g);
}
END_TEST

START_TEST(vectorised_exp_accuracy)
{
  /* The documented bound: relative error < 2.5e-7 on [-87.3, 88]. */
  double worst = 0;
  for (float x = -87.3f; x <= 88.0f; x += 0.0137f) {
    double r = fabs(spdi_expf(x) / exp((double)x) - 1);
    worst = r > worst ? r : worst;
  }
  ck_assert_msg(worst < 2.5e-7, "worst relative error %g", worst);
  ck_assert(spdi_expf(0.0f) == 1.0f);
  ck_assert(spdi_expf(-88.0f) == 0.0f);
  ck_assert(spdi_expf(-INFINITY) == 0.0f);
}
END_TEST

START_TEST(bad_input_leaves_outputs)
{
  spd_spread *s = NULL;
  SPDT_OK(spd_spread_create_gaussian(2, 1.0, &s));
  spd_fdiv *f = make_f(SPD_FDIV_KL);
  spd_estimator *e = NULL, *fresh = NULL;
  static char dummy;
  spd_estimator *const sentinel = (spd_estimator *)&dummy;
  spd_estimator *out = sentinel;
  SPDT_FAILS(SPD_E_INVALID, spd_estimator_create(NULL, s, 1, &out));
  SPDT_FAILS(SPD_E_INVALID, spd_estimator_create(f, NULL, 1, &out));
  SPDT_FAILS(SPD_E_INVALID, spd_estimator_create(f, s, 1, NULL));
  ck_assert_ptr_eq(out, sentinel);
  SPDT_OK(spd_estimator_create(f, s, 1, &e));
  SPDT_OK(spd_estimator_create(f, s, 1, &fresh));
  SPDT_FAILS(SPD_E_INVALID, spd_estimator_set_samples(e, 0));
  SPDT_FAILS(SPD_E_INVALID, spd_estimator_set_samples(NULL, 3));
  float xp[4] = { 0, 0, 1, 1 }, xq[4] = { 2, 2, 3, 1 }, bad[4] = { 0, INFINITY, 1, 1 };
  double v = 9, se = 9;
  float g[4] = { 9, 9, 9, 9 };
  SPDT_FAILS(SPD_E_INVALID, spd_estimate(NULL, xp, 2, xq, 2, &v, &se, g));
  SPDT_FAILS(SPD_E_INVALID, spd_estimate(e, NULL, 2, xq, 2, &v, &se, g));
  SPDT_FAILS(SPD_E_INVALID, spd_estimate(e, xp, 2, NULL, 2, &v, &se, g));
  SPDT_FAILS(SPD_E_INVALID, spd_estimate(e, xp, 2, xq, 2, NULL, &se, g));
  SPDT_FAILS(SPD_E_INVALID, spd_estimate(e, xp, 0, xq, 2, &v, &se, g));
  SPDT_FAILS(SPD_E_INVALID, spd_estimate(e, xp, 2, xq, 0, &v, &se, g));
  SPDT_FAILS(SPD_E_DOMAIN, spd_estimate(e, bad, 2, xq, 2, &v, &se, g));
  SPDT_FAILS(SPD_E_DOMAIN, spd_estimate(e, xp, 2, bad, 2, &v, &se, g));
  SPDT_FAILS(SPD_E_OVERFLOW, spd_estimate(e, xp, SIZE_MAX / 2, xq, 2, &v, &se, g));
  SPDT_FAILS(SPD_E_OVERFLOW, spd_estimate(e, xp, SIZE_MAX / 16, xq, 2, &v, &se, g));
  ck_assert(v == 9 && se == 9 && g[0] == 9 && g[3] == 9);
  /* failed calls did not use up a stream */
  double a, b;
  SPDT_OK(spd_estimate(e, xp, 2, xq, 2, &a, NULL, NULL));
  SPDT_OK(spd_estimate(fresh, xp, 2, xq, 2, &b, NULL, NULL));
  ck_assert(a == b);
  spd_estimator_free(e);
  spd_estimator_free(fresh);
  spd_estimator_free(NULL);
  spd_fdiv_free(f);
  spd_spread_free(s);
}
END_TEST

Suite *spdt_suite(void)
{
  Suite *s = suite_create("estimator");
  SPDT_ADD(s, matches_double_reference_value_and_gradient, 60);
  SPDT_ADD(s, gradient_by_common_random_numbers, 30);
  SPDT_ADD(s, point_masses_mean_within_three_standard_errors, 60);
  SPDT_ADD(s, identical_sets_give_exactly_zero, 30);
  SPDT_ADD(s, thread_count_does_not_change_results, 60);
  SPDT_ADD(s, many_points_match_reference, 60);
  SPDT_ADD(s, streams_and_reproducibility, 10);
  SPDT_ADD(s, far_apart_sets_are_finite, 30);
  SPDT_ADD(s, custom_f_matches_builtin, 10);
  SPDT_ADD(s, memory_is_bounded, 30);
  SPDT_ADD(s, vectorised_exp_accuracy, 10);
  SPDT_ADD(s, bad_input_leaves_outputs, 10);
  return s;
}
