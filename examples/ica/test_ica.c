/* Check suite "ica": the spread-ica example's EM engine, metric, data,
 * spread noise and plot. The E-step is compared with brute-force numerical
 * integration over the sources (Z = 1 and 2), the M-step and one full EM step
 * with hand-computed values. */
#include "harness.h"

#include "amari.h"
#include "data.h"
#include "em.h"
#include "fit.h"
#include "linalg.h"
#include "plot.h"
#include "spread_noise.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PI 3.14159265358979323846

static double prior_density(const ica_prior *p, double s)
{
  double d = 0.0;
  for (size_t k = 0; k < p->k; k++)
    d += p->weight[k] * exp(-0.5 * s * s / (p->sd[k] * p->sd[k])) /
         (sqrt(2.0 * PI) * p->sd[k]);
  return d;
}

/* Brute force: integrate p(y | s) p(s) over a grid of s (Z = 1 or 2) by the
 * trapezoid rule (spectrally accurate for these smooth, fast-decaying
 * integrands): log p(y), E[s | y], E[s s^T | y]. */
static void quadrature(const ica_prior *p, const double *a, size_t x, size_t z,
                       double gamma, const double *y, double h, double lim,
                       double *logp, double *mean, double *second)
{
  double w0 = 0.0, w1[2] = {0, 0}, w2[4] = {0, 0, 0, 0};
  long m = lround(lim / h);
  long m2 = z == 2 ? m : 0;
  for (long i = -m; i <= m; i++)
    for (long j = -m2; j <= m2; j++) {
      double s[2] = {(double)i * h, (double)j * h};
      double r2 = 0.0;
      for (size_t d = 0; d < x; d++) {
        double e = y[d];
        for (size_t k = 0; k < z; k++)
          e -= a[d * z + k] * s[k];
        r2 += e * e;
      }
      double w = exp(-0.5 * r2 / (gamma * gamma));
      for (size_t k = 0; k < z; k++)
        w *= prior_density(p, s[k]) * h;
      w0 += w;
      for (size_t k = 0; k < z; k++) {
        w1[k] += w * s[k];
        for (size_t l = 0; l < z; l++)
          w2[k * z + l] += w * s[k] * s[l];
      }
    }
  *logp = log(w0) - 0.5 * (double)x * log(2.0 * PI * gamma * gamma);
  for (size_t k = 0; k < z; k++) {
    mean[k] = w1[k] / w0;
    for (size_t l = 0; l < z; l++)
      second[k * z + l] = w2[k * z + l] / w0;
  }
}

/* The E-step on the single point y against the quadrature. */
static void check_point(const ica_prior *p, const double *a, size_t x,
                        size_t z, double gamma, const float *yf, double h,
                        double lim)
{
  ica_em *em = NULL;
  ck_assert_int_eq(ica_em_create(x, z, p, 1, &em), ICA_OK);
  double syu[6], sss[4], ll, y[3], logp, mean[2], second[4];
  for (size_t d = 0; d < x; d++)
    y[d] = yf[d];
  ck_assert_int_eq(ica_em_estep(em, a, gamma, yf, 1, syu, sss, &ll), ICA_OK);
  quadrature(p, a, x, z, gamma, y, h, lim, &logp, mean, second);
  /* Tolerances: the E-step forms log responsibilities and weighted features
   * in float (relative rounding ~1e-7 times sums of ~Z^2 terms); the
   * quadrature is exact to far better than that at these step sizes. */
  SPDT_CLOSE(ll, logp, 1e-5, 1e-5);
  for (size_t d = 0; d < x; d++)
    for (size_t k = 0; k < z; k++)
      SPDT_CLOSE(syu[d * z + k], y[d] * mean[k], 1e-4, 1e-5);
  for (size_t k = 0; k < z * z; k++)
    SPDT_CLOSE(sss[k], second[k], 1e-4, 1e-5);
  ica_em_free(em);
}

START_TEST(estep_matches_quadrature_z1)
{
  ica_prior p;
  ica_prior_default(&p);
  const double a1[1] = {1.3}, a2[2] = {0.8, -1.1};
  const float ys1[3][1] = {{0.2f}, {-1.7f}, {3.5f}};
  const float ys2[3][2] = {{0.3f, -0.2f}, {1.5f, -2.5f}, {-2.0f, 0.4f}};
  for (int i = 0; i < 3; i++) {
    check_point(&p, a1, 1, 1, 0.5, ys1[i], 1e-3, 12.0);
    check_point(&p, a1, 1, 1, 0.2, ys1[i], 1e-3, 12.0);
    check_point(&p, a2, 2, 1, 0.4, ys2[i], 1e-3, 12.0); /* off the line */
  }
  /* Three components, unequal weights. */
  ica_prior p3 = {3, {0.2, 0.5, 0.3}, {0.3, 1.0, 2.5}};
  for (int i = 0; i < 3; i++)
    check_point(&p3, a2, 2, 1, 0.3, ys2[i], 1e-3, 16.0);
}
END_TEST

START_TEST(estep_matches_quadrature_z2)
{
  ica_prior p;
  ica_prior_default(&p);
  const double a22[4] = {1.0, 0.4, -0.3, 1.2};
  const double a32[6] = {0.9, 0.2, -0.4, 1.1, 0.5, 0.7};
  const float ys2[2][2] = {{0.5f, -1.0f}, {2.2f, 1.3f}};
  const float ys3[2][3] = {{0.5f, -1.0f, 0.3f}, {-1.8f, 2.0f, 0.4f}};
  for (int i = 0; i < 2; i++) {
    check_point(&p, a22, 2, 2, 0.5, ys2[i], 0.04, 7.0);
    check_point(&p, a32, 3, 2, 0.4, ys3[i], 0.04, 7.0);
  }
}
END_TEST

/* Random points y = A s + noise, n x x, from the library's RNG. */
static float *random_points(size_t n, size_t x, uint64_t seed, float scale)
{
  float *y = malloc(n * x * sizeof *y);
  ck_assert_ptr_nonnull(y);
  spd_rng *rng = NULL;
  SPDT_OK(spd_rng_create(seed, &rng));
  SPDT_OK(spd_rng_normal(rng, y, n * x));
  for (size_t i = 0; i < n * x; i++)
    y[i] *= scale;
  spd_rng_free(rng);
  return y;
}

START_TEST(estep_batch_equals_sum_of_points)
{
  /* More points than one tile (512 for Z = 2), X > Z: the tiled,
   * batched statistics must equal the sum of single-point ones. */
  ica_prior p;
  ica_prior_default(&p);
  const size_t x = 3, z = 2, n = 600;
  const double a[6] = {0.9, 0.2, -0.4, 1.1, 0.5, 0.7};
  float *y = random_points(n, x, 7, 1.5f);
  ica_em *em = NULL;
  ck_assert_int_eq(ica_em_create(x, z, &p, 1, &em), ICA_OK);
  double syu[6], sss[4], ll, s1[6] = {0}, s2[4] = {0}, l1 = 0.0;
  ck_assert_int_eq(ica_em_estep(em, a, 0.3, y, n, syu, sss, &ll), ICA_OK);
  for (size_t i = 0; i < n; i++) {
    double a1[6], a2[4], l;
    ck_assert_int_eq(ica_em_estep(em, a, 0.3, y + i * x, 1, a1, a2, &l), ICA_OK);
    for (int k = 0; k < 6; k++)
      s1[k] += a1[k];
    for (int k = 0; k < 4; k++)
      s2[k] += a2[k];
    l1 += l;
  }
  /* float accumulation of the O(gamma^2) terms over 600 points */
  for (int k = 0; k < 6; k++)
    SPDT_CLOSE(syu[k], s1[k], 1e-5, 1e-4);
  for (int k = 0; k < 4; k++)
    SPDT_CLOSE(sss[k], s2[k], 1e-5, 1e-4);
  SPDT_CLOSE(ll, l1, 1e-6, 1e-6);
  ica_em_free(em);
  free(y);
}
END_TEST

START_TEST(estep_independent_of_thread_count)
{
  ica_prior p;
  ica_prior_default(&p);
  const size_t x = 5, z = 4, n = 1200;
  double a[20];
  for (int i = 0; i < 20; i++)
    a[i] = (i % 5 == i / 5 ? 1.5 : 0.0) + 0.1 * sin(i + 1.0);
  float *y = random_points(n, x, 11, 1.2f);
  double r[2][20 + 16 + 1];
  for (int t = 0; t < 2; t++) {
    ica_em *em = NULL;
    ck_assert_int_eq(ica_em_create(x, z, &p, t + 1, &em), ICA_OK);
    ck_assert_int_eq(ica_em_estep(em, a, 0.7, y, n, r[t], r[t] + 20, r[t] + 36),
                     ICA_OK);
    ica_em_free(em);
  }
  ck_assert(memcmp(r[0], r[1], sizeof r[0]) == 0);
  free(y);
}
END_TEST

START_TEST(mstep_hand_computed)
{
  /* A = syu sss^-1 with sss^-1 = [[2, -1], [-1, 2]] / 3. */
  const double syu[6] = {3, 0, 0, 3, 1, 1}, sss[4] = {2, 1, 1, 2};
  const double want[6] = {2, -1, -1, 2, 1.0 / 3, 1.0 / 3};
  double a[6];
  ck_assert_int_eq(ica_em_mstep(syu, sss, 3, 2, a), ICA_OK);
  for (int i = 0; i < 6; i++)
    SPDT_CLOSE(a[i], want[i], 1e-14, 1e-14);
  const double singular[4] = {1, 1, 1, 1};
  ck_assert_int_eq(ica_em_mstep(syu, singular, 3, 2, a), ICA_E_SINGULAR);
}
END_TEST

START_TEST(em_step_hand_computed)
{
  /* One source, one Gaussian component (sd 1), a = 2, gamma = 1, y = {1, 2}:
   * posterior variance v = (a^2/gamma^2 + 1)^-1 = 0.2, means 0.4 y =
   * {0.4, 0.8}; sum y E[s] = 2.0; sum E[s^2] = 2 (0.2) + 0.16 + 0.64 = 1.2;
   * a_new = 2.0 / 1.2 = 5/3. y ~ N(0, a^2 + gamma^2 = 5), so
   * loglik = -log(2 pi 5) - (1 + 4) / 10. */
  ica_prior p = {1, {1.0}, {1.0}};
  const double a = 2.0;
  const float y[2] = {1.0f, 2.0f};
  double syu, sss, ll, a_new;
  ica_em *em = NULL;
  ck_assert_int_eq(ica_em_create(1, 1, &p, 1, &em), ICA_OK);
  ck_assert_int_eq(ica_em_estep(em, &a, 1.0, y, 2, &syu, &sss, &ll), ICA_OK);
  SPDT_CLOSE(syu, 2.0, 1e-6, 0);
  SPDT_CLOSE(sss, 1.2, 1e-6, 0);
  SPDT_CLOSE(ll, -log(10.0 * PI) - 0.5, 1e-6, 0);
  ck_assert_int_eq(ica_em_mstep(&syu, &sss, 1, 1, &a_new), ICA_OK);
  SPDT_CLOSE(a_new, 5.0 / 3.0, 1e-6, 0);
  ica_em_free(em);
}
END_TEST

START_TEST(estep_rejects_bad_input)
{
  ica_prior p;
  ica_prior_default(&p);
  ica_em *em = NULL;
  const double a[4] = {1, 2, 2, 4}; /* rank 1 */
  const double ok[4] = {1, 0, 0, 1};
  const float y[2] = {1, 1}, bad[2] = {NAN, 1};
  double syu[4], sss[4], ll;
  ck_assert_int_eq(ica_em_create(1, 2, &p, 1, &em), ICA_E_INVALID); /* X < Z */
  ica_prior wrong = {2, {0.5, 0.6}, {1, 1}};
  ck_assert_int_eq(ica_em_create(2, 2, &wrong, 1, &em), ICA_E_INVALID);
  ck_assert_int_eq(ica_em_create(20, 17, &p, 1, &em), ICA_E_INVALID);
  ck_assert_int_eq(ica_em_create(2, 2, &p, 1, &em), ICA_OK);
  ck_assert_int_eq(ica_em_estep(em, ok, 0.0, y, 1, syu, sss, &ll), ICA_E_INVALID);
  ck_assert_int_eq(ica_em_estep(em, ok, NAN, y, 1, syu, sss, &ll), ICA_E_INVALID);
  ck_assert_int_eq(ica_em_estep(em, ok, 1.0, y, 0, syu, sss, &ll), ICA_E_INVALID);
  ck_assert_int_eq(ica_em_estep(em, a, 1.0, y, 1, syu, sss, &ll), ICA_E_SINGULAR);
  ck_assert_int_eq(ica_em_estep(em, ok, 1.0, bad, 1, syu, sss, &ll), ICA_E_NUMERIC);
  ck_assert_str_eq(ica_strerror(ICA_E_SINGULAR),
                   "matrix not positive definite (A lost rank?)");
  ica_em_free(em);
  ica_em_free(NULL);
}
END_TEST

START_TEST(standard_em_freezes_spread_em_moves)
{
  /* Noiseless data, X = Z = 3: standard EM at gamma = 1e-3 moves A by
   * O(gamma^2) per step; EM on spread data (gamma_s = 1) moves it at once. */
  ica_prior p;
  ica_prior_default(&p);
  ica_problem *prob = NULL;
  ck_assert_int_eq(ica_problem_create(3, 3, 2000, 5, &p, &prob), 0);
  ica_em *em = NULL;
  ck_assert_int_eq(ica_em_create(3, 3, &p, 1, &em), ICA_OK);
  double a[9], syu[9], sss[9], ll;
  ck_assert_int_eq(ica_em_estep(em, prob->a_init, 1e-3, prob->x, prob->n,
                                syu, sss, &ll), ICA_OK);
  ck_assert_int_eq(ica_em_mstep(syu, sss, 3, 3, a), ICA_OK);
  double moved = 0.0, size = 0.0;
  for (int i = 0; i < 9; i++) {
    moved = fmax(moved, fabs(a[i] - prob->a_init[i]));
    size = fmax(size, fabs(prob->a_init[i]));
  }
  ck_assert_msg(moved < 1e-4 * size, "standard EM moved A by %g", moved);

  ica_fit_config cfg = {ICA_SPREAD_EM, 1.0, 1.0, 0, 0, 1, 1, 5, 16};
  ica_fit_record rec[2];
  memcpy(a, prob->a_init, sizeof a);
  ck_assert_int_eq(ica_fit(em, prob, &cfg, a, rec, NULL, NULL), 0);
  moved = 0.0;
  for (int i = 0; i < 9; i++)
    moved = fmax(moved, fabs(a[i] - prob->a_init[i]));
  ck_assert_msg(moved > 1e-2 * size, "spread EM moved A by only %g", moved);
  ica_em_free(em);
  ica_problem_free(prob);
}
END_TEST

START_TEST(spread_em_recovers_a_small_mixing)
{
  /* Z = 2, N = 1000: 80 spread EM iterations, gamma_s = 1 annealed to 0.7
   * over iterations 40..60, must cut the Amari distance by more than half
   * (measured: 0.388 -> 0.071). */
  ica_prior p;
  ica_prior_default(&p);
  ica_problem *prob = NULL;
  ck_assert_int_eq(ica_problem_create(3, 2, 1000, 2, &p, &prob), 0);
  ica_em *em = NULL;
  ck_assert_int_eq(ica_em_create(3, 2, &p, 1, &em), ICA_OK);
  ica_fit_config cfg = {ICA_SPREAD_EM, 1.0, 0.7, 40, 60, 80, 1, 2, 16};
  ica_fit_record rec[81];
  double a[6];
  memcpy(a, prob->a_init, sizeof a);
  ck_assert_int_eq(ica_fit(em, prob, &cfg, a, rec, NULL, NULL), 0);
  ck_assert_msg(rec[0].amari > 0.3, "initial amari %g", rec[0].amari);
  ck_assert_msg(rec[80].amari < 0.5 * rec[0].amari, "amari %g -> %g",
                rec[0].amari, rec[80].amari);
  SPDT_CLOSE(rec[80].gamma, 0.7, 1e-12, 0);
  SPDT_CLOSE(rec[40].gamma, 1.0, 1e-12, 0);
  ck_assert(isnan(rec[0].loglik) && isfinite(rec[80].loglik));
  ica_em_free(em);
  ica_problem_free(prob);
}
END_TEST

START_TEST(anneal_schedule_is_geometric)
{
  /* Held at 2 up to iteration 3, down to 0.02 at iteration 7. */
  ica_fit_config cfg = {ICA_SPREAD_EM, 2.0, 0.02, 3, 7, 10, 1, 0, 0};
  const double want[] = {2.0, 2.0, 2.0, 2.0 / sqrt(10.0), 0.2,
                         0.2 / sqrt(10.0), 0.02, 0.02};
  for (size_t t = 1; t <= 8; t++)
    SPDT_CLOSE(ica_fit_gamma(&cfg, t), want[t - 1], 1e-12, 0);
  cfg.gamma_start = cfg.gamma_end = 0.5;
  cfg.anneal_from = cfg.anneal_to = 0;
  ck_assert(ica_fit_gamma(&cfg, 1) == 0.5 && ica_fit_gamma(&cfg, 9) == 0.5);
}
END_TEST

/* amari() of est against the identity. */
static double amari_vs_identity(const double *est, size_t x, size_t z)
{
  double id[16] = {0}, d;
  for (size_t i = 0; i < z; i++)
    id[i * z + i] = 1.0;
  ck_assert_int_eq(ica_amari(est, id, x, z, &d), 0);
  return d;
}

START_TEST(amari_properties)
{
  /* A 4 x 3 matrix; its copy with columns permuted, scaled and sign-flipped
   * has distance 0, in both directions. */
  const double a[12] = {1.0, 0.3, -0.2, 0.1, 2.0, 0.5, -0.7, 0.4, 1.5, 0.2, 0.1, 0.9};
  const size_t perm[3] = {2, 0, 1};
  const double scale[3] = {-3.0, 0.5, 7.0};
  double b[12], d;
  for (size_t i = 0; i < 4; i++)
    for (size_t j = 0; j < 3; j++)
      b[i * 3 + j] = scale[j] * a[i * 3 + perm[j]];
  ck_assert_int_eq(ica_amari(b, a, 4, 3, &d), 0);
  SPDT_CLOSE(d, 0.0, 0, 1e-12);
  ck_assert_int_eq(ica_amari(a, b, 4, 3, &d), 0);
  SPDT_CLOSE(d, 0.0, 0, 1e-12);
  ck_assert_int_eq(ica_amari(a, a, 4, 3, &d), 0);
  SPDT_CLOSE(d, 0.0, 0, 1e-12);

  /* Hand-computed: pinv(A_est) = P = [[1, 0.5], [0, 1]] against A_true = I:
   * rows (0.5 + 0) + columns (0 + 0.5) over 2 Z (Z - 1) = 4: 0.25. */
  const double est[4] = {1.0, -0.5, 0.0, 1.0}; /* P^-1 */
  SPDT_CLOSE(amari_vs_identity(est, 2, 2), 0.25, 1e-14, 0);
  /* P = [[1, 1], [0, 1]]: rows 1 + 0, columns 0 + 1: 0.5. */
  const double est2[4] = {1.0, -1.0, 0.0, 1.0};
  SPDT_CLOSE(amari_vs_identity(est2, 2, 2), 0.5, 1e-14, 0);
  /* Invariant to permuting A_est's columns (permutes P's rows). Scaling
   * them scales P's rows, which changes the column terms unless P is
   * already a scaled permutation: d is not scale-invariant in general, only
   * its zero set is. */
  const double est3[4] = {-0.5, 1.0, 1.0, 0.0}; /* est's columns swapped */
  SPDT_CLOSE(amari_vs_identity(est3, 2, 2), 0.25, 1e-14, 0);

  /* In [0, 1] for random matrices; Z = 1 gives 0; singular A_est fails. */
  uint32_t lcg = 12345;
  for (int t = 0; t < 20; t++) {
    double r[9];
    for (int i = 0; i < 9; i++) {
      lcg = lcg * 1664525u + 1013904223u;
      r[i] = (double)(lcg >> 8) / 16777216.0 - 0.5;
    }
    double v = amari_vs_identity(r, 3, 3);
    ck_assert(v >= 0.0 && v <= 1.0);
  }
  const double col[2] = {2.0, -1.0}, col2[2] = {1.0, 1.0};
  ck_assert_int_eq(ica_amari(col, col2, 2, 1, &d), 0);
  ck_assert(d == 0.0);
  const double sing[4] = {1, 2, 2, 4};
  ck_assert_int_eq(ica_amari(sing, a, 2, 2, &d), -1);
}
END_TEST

START_TEST(problem_is_seeded_and_sane)
{
  ica_prior p;
  ica_prior_default(&p);
  ica_problem *p1 = NULL, *p2 = NULL, *p3 = NULL;
  const size_t x = 5, z = 3, n = 20000;
  ck_assert_int_eq(ica_problem_create(x, z, n, 42, &p, &p1), 0);
  ck_assert_int_eq(ica_problem_create(x, z, n, 42, &p, &p2), 0);
  ck_assert_int_eq(ica_problem_create(x, z, n, 43, &p, &p3), 0);
  ck_assert(memcmp(p1->x, p2->x, n * x * sizeof(float)) == 0);
  ck_assert(memcmp(p1->a_init, p2->a_init, x * z * sizeof(double)) == 0);
  ck_assert(memcmp(p1->a_true, p3->a_true, x * z * sizeof(double)) != 0);

  /* Singular values of A_true in [1, ICA_CONDITION]: eigenvalues of A^T A. */
  double ata[9] = {0}, w[3], v[9], work[9];
  for (size_t i = 0; i < z; i++)
    for (size_t j = 0; j < z; j++)
      for (size_t d = 0; d < x; d++)
        ata[i * z + j] += p1->a_true[d * z + i] * p1->a_true[d * z + j];
  ica_sym_eig(ata, z, w, v, work);
  SPDT_CLOSE(sqrt(w[0]), ICA_CONDITION, 1e-9, 0);
  SPDT_CLOSE(sqrt(w[z - 1]), 1.0, 1e-9, 0);

  /* The sources (recovered by pinv(A_true)) have unit variance and excess
   * kurtosis 1.92 (5 standard errors: var 0.02, kurtosis ~0.5 at n = 2e4). */
  double ai[15], amari0;
  double g[9], gi[9], gw[9];
  for (size_t i = 0; i < 9; i++)
    g[i] = ata[i];
  ck_assert_int_eq(ica_spd_inverse(g, z, gi, NULL, gw), 0);
  for (size_t i = 0; i < z; i++)
    for (size_t d = 0; d < x; d++) {
      ai[i * x + d] = 0.0;
      for (size_t k = 0; k < z; k++)
        ai[i * x + d] += gi[i * z + k] * p1->a_true[d * z + k];
    }
  for (size_t k = 0; k < z; k++) {
    double m2 = 0.0, m4 = 0.0;
    for (size_t i = 0; i < n; i++) {
      double s = 0.0;
      for (size_t d = 0; d < x; d++)
        s += ai[k * x + d] * p1->x[i * x + d];
      m2 += s * s;
      m4 += s * s * s * s;
    }
    m2 /= (double)n;
    m4 /= (double)n;
    SPDT_CLOSE(m2, 1.0, 0, 0.06);
    SPDT_CLOSE(m4 / (m2 * m2) - 3.0, 1.92, 0, 0.6);
  }
  /* The initial guess is wrong by a rotation: far from A_true. */
  ck_assert_int_eq(ica_amari(p1->a_init, p1->a_true, x, z, &amari0), 0);
  ck_assert_msg(amari0 > 0.05, "initial amari %g", amari0);

  char path[] = "/tmp/ica-dump-XXXXXX";
  int fd = mkstemp(path);
  ck_assert_int_ge(fd, 0);
  close(fd);
  ck_assert_int_eq(ica_problem_dump(p1, path), 0);
  FILE *f = fopen(path, "rb");
  ck_assert_ptr_nonnull(f);
  fseek(f, 0, SEEK_END);
  ck_assert_int_eq(ftell(f), (long)(32 + 8 * x * z + 4 * n * x));
  fclose(f);
  remove(path);
  ica_problem_free(p1);
  ica_problem_free(p2);
  ica_problem_free(p3);
  ica_problem_free(NULL);
}
END_TEST

START_TEST(spread_noise_moments_and_in_place)
{
  const size_t n = 50000, dim = 2;
  float *x = malloc(n * dim * sizeof *x), *y = malloc(n * dim * sizeof *y);
  ck_assert(x && y);
  for (size_t i = 0; i < n * dim; i++)
    x[i] = (float)(i % 7) - 3.0f;
  ica_spreader *a = NULL, *b = NULL;
  SPDT_OK(ica_spreader_create(dim, 0.5, 9, 1, &a));
  SPDT_OK(ica_spreader_create(dim, 0.5, 9, 1, &b));
  SPDT_OK(ica_spreader_apply(a, x, n, y));
  double s = 0.0, s2 = 0.0;
  for (size_t i = 0; i < n * dim; i++) {
    double e = (double)y[i] - x[i];
    s += e;
    s2 += e * e;
  }
  /* mean 0 and variance 0.25, 5 standard errors */
  SPDT_CLOSE(s / (double)(n * dim), 0.0, 0, 5 * 0.5 / sqrt((double)(n * dim)));
  SPDT_CLOSE(s2 / (double)(n * dim), 0.25, 0, 5 * 0.25 * sqrt(2.0 / (double)(n * dim)));
  /* In place gives the same values as out of place. */
  SPDT_OK(ica_spreader_apply(b, x, n, x));
  ck_assert(memcmp(x, y, n * dim * sizeof *x) == 0);
  /* Scale changes apply to later draws; bad values are refused. */
  SPDT_OK(ica_spreader_set_gamma(a, 2.0));
  ck_assert_int_eq(ica_spreader_set_gamma(a, -1.0), SPD_E_DOMAIN);
  ck_assert_int_eq(ica_spreader_create(dim, 0.0, 9, 1, &b), SPD_E_INVALID);
  ica_spreader_free(a);
  ica_spreader_free(b);
  ica_spreader_free(NULL);
  free(x);
  free(y);
}
END_TEST

START_TEST(plot_writes_a_png)
{
  double y1[50], y2[50];
  for (int t = 0; t < 50; t++) {
    y1[t] = 0.4 * exp(-0.05 * t);
    y2[t] = 0.35;
  }
  y2[10] = NAN; /* gaps are skipped */
  ex_series s[2] = {{"spread EM gamma_s=1", NULL, y1, 50, 0},
                    {"standard EM gamma=0.01", NULL, y2, 50, 1}};
  ex_plot_style style = {"title", "iteration", "amari", EX_SCALE_LOG, 1};
  char path[] = "/tmp/ica-plot-XXXXXX", err[128];
  int fd = mkstemp(path);
  ck_assert_int_ge(fd, 0);
  close(fd);
  ck_assert_int_eq(ex_plot_png(path, s, 2, &style, err, sizeof err), 0);
  unsigned char sig[8];
  FILE *f = fopen(path, "rb");
  ck_assert_ptr_nonnull(f);
  ck_assert_int_eq(fread(sig, 1, 8, f), 8);
  fclose(f);
  remove(path);
  ck_assert(memcmp(sig, "\x89PNG\r\n\x1a\n", 8) == 0);
  ck_assert_int_eq(ex_plot_png("/nonexistent-dir/x.png", s, 2, &style, err,
                               sizeof err), -1);
  ck_assert_msg(strstr(err, "/nonexistent-dir/x.png"), "%s", err);
}
END_TEST

Suite *spdt_suite(void)
{
  Suite *s = suite_create("ica");
  SPDT_ADD(s, estep_matches_quadrature_z1, 60);
  SPDT_ADD(s, estep_matches_quadrature_z2, 60);
  SPDT_ADD(s, estep_batch_equals_sum_of_points, 60);
  SPDT_ADD(s, estep_independent_of_thread_count, 60);
  SPDT_ADD(s, mstep_hand_computed, 10);
  SPDT_ADD(s, em_step_hand_computed, 10);
  SPDT_ADD(s, estep_rejects_bad_input, 10);
  SPDT_ADD(s, standard_em_freezes_spread_em_moves, 60);
  SPDT_ADD(s, spread_em_recovers_a_small_mixing, 60);
  SPDT_ADD(s, anneal_schedule_is_geometric, 10);
  SPDT_ADD(s, amari_properties, 10);
  SPDT_ADD(s, problem_is_seeded_and_sane, 60);
  SPDT_ADD(s, spread_noise_moments_and_in_place, 30);
  SPDT_ADD(s, plot_writes_a_png, 30);
  return s;
}
