/* Spread VAE: the loss gradient against finite differences, training makes
 * progress, the spread beats the plain deterministic-decoder VAE on
 * manifold data, options, evaluation independence, warm steps allocate
 * nothing, thread-count independence, bitwise resume from SVAE checkpoints,
 * damaged checkpoints rejected, and bad input. */
#include "harness.h"

#include "vae_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64];

static void make_dir(void)
{
  spdt_tmpdir(dir, sizeof dir, "vae");
}

static void remove_dir(void)
{
  spdt_rmdir(dir);
}

/* n rows of uniform [0, 1) data from a seed. */
static float *data(size_t n, uint64_t seed)
{
  float *x = malloc(n * sizeof *x);
  spd_rng *r;
  SPDT_OK(spd_rng_create(seed, &r));
  SPDT_OK(spd_rng_uniform(r, x, n));
  spd_rng_free(r);
  return x;
}

static spd_vae *tiny_mlp(uint64_t seed)
{
  spd_generator *g;
  spd_vae *v;
  SPDT_OK(spd_generator_create_mlp(2, 3, 4, 1, SPD_OUTPUT_LINEAR, seed, &g));
  SPDT_OK(spd_vae_create(g, seed + 1, &v));
  return v;
}

static spd_vae *tiny_conv(uint64_t seed)
{
  spd_generator *g;
  spd_vae *v;
  SPDT_OK(spd_generator_create_conv(3, 1, 28, 4, seed, &g));
  SPDT_OK(spd_vae_create(g, seed + 1, &v));
  return v;
}

/* Central differences of the training loss (fixed random draws, see
 * spdi_vae_loss) against the tape's gradient, for `per` elements of every
 * trainable entry of a store (every element when per is 0). An element
 * passes when |numeric - analytic| <= tl |loss| + tr |analytic| + tg G, G
 * the entry's largest |analytic|; the callers state why their tolerances
 * are what they are. */
typedef struct {
  double h, tl, tr, tg;
} fd_tol;

static void check_store(spd_vae *v, spd_params *p, const float *x, size_t n, size_t per,
                        int spread_store, fd_tol tol_)
{
  double loss0;
  SPDT_OK(spdi_vae_loss(v, x, n, 1, &loss0));
  for (size_t e = 0; e < spd_params_count(p); e++) {
    if (spd_params_trainable(p, e) != 1)
      continue;
    size_t size = spd_params_size(p, e);
    float *ana = malloc(size * sizeof *ana);
    SPDT_OK(spdi_vae_loss(v, x, n, 1, &loss0));
    memcpy(ana, spd_params_grad(p, e), size * sizeof *ana);
    double gmax = 0;
    for (size_t i = 0; i < size; i++)
      gmax = fmax(gmax, fabs(ana[i]));
    size_t count = per && per < size ? per : size;
    for (size_t k = 0; k < count; k++) {
      size_t i = count == size ? k : (k * 7919 + 13) % size;
      if (spread_store && i == 0)
        continue; /* sigma follows the schedule, it is not learned */
      float *w = spd_params_data(p, e);
      float keep = w[i];
      double h = tol_.h, lp, lm;
      w[i] = keep + (float)h;
      if (spread_store)
        SPDT_OK(spd_spread_set_params(v->spread, w));
      SPDT_OK(spdi_vae_loss(v, x, n, 0, &lp));
      w[i] = keep - (float)h;
      if (spread_store)
        SPDT_OK(spd_spread_set_params(v->spread, w));
      SPDT_OK(spdi_vae_loss(v, x, n, 0, &lm));
      w[i] = keep;
      if (spread_store)
        SPDT_OK(spd_spread_set_params(v->spread, w));
      double num = (lp - lm) / (2 * h * 1.0);
      double tol = tol_.tl * fabs(loss0) + tol_.tr * fabs(ana[i]) + tol_.tg * gmax;
      ck_assert_msg(fabs(num - ana[i]) <= tol, "%s[%zu]: numeric %g analytic %g (tol %g)",
                    spd_params_name(p, e), i, num, (double)ana[i], tol);
    }
    free(ana);
  }
}

START_TEST(gradient_matches_finite_differences)
{
  /* The loss is float32: with step h = 1e-2 its rounding (~1e-7 relative
   * of a loss of ~3) is ~1e-5 absolute in the difference quotient, and the
   * O(h^2) truncation is ~1e-4 of the third derivative; the worst element
   * was 2% of the allowed error when written. The perturbation is applied
   * in float, so the actual step differs from h by < 1e-5 relative. */
  const fd_tol H = {1e-2, 1e-3, 2e-2, 1e-3};
  float *x = data(3 * 3, 1);
  for (int mode = 0; mode < 3; mode++) {
    spd_vae *v = tiny_mlp(3);
    SPDT_OK(spd_vae_set(v, SPD_VAE_SIGMA, 0.7));
    if (mode == 1)
      SPDT_OK(spd_vae_set(v, SPD_VAE_LOW_VARIANCE, 0)); /* t = y */
    if (mode == 2)
      SPDT_OK(spd_vae_set(v, SPD_VAE_SPREAD, 0));
    check_store(v, v->gen->params, x, 3, 0, 0, H);
    check_store(v, v->enc, x, 3, 0, 0, H);
    spd_vae_free(v);
  }
  /* Learned low-rank spread, unbiased target: gradients reach L through the
   * noise (y feeds the encoder and the target) and through the density. */
  for (int lowvar = 0; lowvar < 2; lowvar++) {
    spd_vae *v = tiny_mlp(4);
    SPDT_OK(spd_vae_set(v, SPD_VAE_LEARN_SPREAD_RANK, 1));
    SPDT_OK(spd_vae_set(v, SPD_VAE_LOW_VARIANCE, lowvar));
    SPDT_OK(spd_vae_set(v, SPD_VAE_SPREAD_NORM, 0.8));
    SPDT_OK(spdi_vae_make_learned_spread(v, NULL));
    check_store(v, v->gen->params, x, 3, 0, 0, H);
    check_store(v, v->enc, x, 3, 0, 0, H);
    check_store(v, v->sp, x, 3, 0, 1, H);
    spd_vae_free(v);
  }
  free(x);
  ck_assert_uint_eq(spdi_live_blocks(), 0);
}
END_TEST

START_TEST(conv_gradient_matches_finite_differences)
{
  /* Batch norm in training mode, transposed convs, the conv encoder. */
  /* A coarse check of the wiring (a missing or doubled gradient path fails
   * it); the ops suites check each op's gradient precisely. The loss is ~320
   * in float32 (resolution 3e-5), so the difference quotient at h = 1e-3
   * carries ~0.015 of rounding noise, and a batch-norm shift or a
   * first-layer weight moves hundreds of ReLU inputs at once, some across
   * their kink: differences of 10-15% were seen on single elements. */
  const fd_tol H = {1e-3, 1e-4, 0.2, 0.05};
  float *x = data(4 * 784, 2);
  spd_vae *v = tiny_conv(5);
  check_store(v, v->gen->params, x, 4, 4, 0, H);
  check_store(v, v->enc, x, 4, 4, 0, H);
  spd_vae_free(v);
  free(x);
}
END_TEST

START_TEST(loss_parts_add_up_and_loss_decreases)
{
  spd_generator *g;
  spd_vae *v;
  SPDT_OK(spd_generator_create_mlp(2, 6, 16, 1, SPD_OUTPUT_SIGMOID, 1, &g));
  SPDT_OK(spd_vae_create(g, 2, &v));
  SPDT_OK(spd_vae_set(v, SPD_VAE_LEARNING_RATE, 3e-3));
  SPDT_OK(spd_vae_set(v, SPD_VAE_SIGMA, 0.1));
  /* Data: 6-D points of a 2-D family (two fixed patterns mixed). */
  float *x = malloc(64 * 6 * sizeof *x), u[128];
  spd_rng *r;
  SPDT_OK(spd_rng_create(3, &r));
  double first = 0, last = 0;
  for (int s = 0; s < 400; s++) {
    SPDT_OK(spd_rng_uniform(r, u, 128));
    for (int i = 0; i < 64; i++)
      for (int j = 0; j < 6; j++)
        x[i * 6 + j] = 0.1f + 0.4f * u[2 * i] * (j % 2) + 0.4f * u[2 * i + 1] * (j < 3);
    float loss;
    SPDT_OK(spd_vae_step(v, x, 64, &loss));
    double rec, kl;
    SPDT_OK(spd_vae_loss_parts(v, &rec, &kl));
    /* Parts are exact float sums accumulated in double; the loss is the
     * float32 mean: agree to float rounding of a value of ~|rec| + |kl|. */
    SPDT_CLOSE(rec + kl, loss, 1e-5, 1e-5 * (fabs(rec) + fabs(kl)));
    if (s < 40)
      first += loss / 40;
    if (s >= 360)
      last += loss / 40;
  }
  ck_assert_uint_eq(spd_vae_step_count(v), 400);
  /* Per 6-D row, -log N(x; xhat, 0.01 I) = 6 (log 0.1 + 0.92) + |x - xhat|^2
   * / 0.02: near 3 at the start (after the first few steps), and a model
   * that fits the 2-D family to ~0.02 gets several nats below 0 (about -5
   * when written). */
  ck_assert_msg(last < first - 4, "loss went from %g to %g", first, last);
  spd_rng_free(r);
  spd_vae_free(v);
  free(x);
}
END_TEST

/* Train on points of the unit circle; return the mean distance of 1000
 * generator samples to the circle. */
static double circle_run(int spread, double sigma, uint64_t seed)
{
  spd_generator *g;
  spd_vae *v;
  SPDT_OK(spd_generator_create_mlp(2, 2, 32, 2, SPD_OUTPUT_LINEAR, seed, &g));
  SPDT_OK(spd_vae_create(g, seed + 1, &v));
  SPDT_OK(spd_vae_set(v, SPD_VAE_SPREAD, spread));
  SPDT_OK(spd_vae_set(v, SPD_VAE_SIGMA, sigma));
  SPDT_OK(spd_vae_set(v, SPD_VAE_LEARNING_RATE, 3e-3));
  spd_rng *r;
  SPDT_OK(spd_rng_create(seed + 2, &r));
  float x[128], u[64];
  for (int s = 0; s < 1500; s++) {
    SPDT_OK(spd_rng_uniform(r, u, 64));
    for (int i = 0; i < 64; i++) {
      x[2 * i] = cosf(6.2831853f * u[i]);
      x[2 * i + 1] = sinf(6.2831853f * u[i]);
    }
    SPDT_OK(spd_vae_step(v, x, 64, NULL));
  }
  float *xs = malloc(2000 * sizeof *xs);
  SPDT_OK(spd_generator_sample(spd_vae_generator(v), r, 1000, xs));
  double d = 0;
  for (int i = 0; i < 1000; i++)
    d += fabs(hypot(xs[2 * i], xs[2 * i + 1]) - 1);
  free(xs);
  spd_rng_free(r);
  spd_vae_free(v);
  return d / 1000;
}

START_TEST(spread_samples_land_near_the_manifold)
{
  /* Data on the unit circle in 2-D, a 2-D latent space. Trained with the
   * spread (sigma 0.1), samples lie within ~0.1 of the circle on average
   * (0.08 .. 0.11 over seeds when this test was written); the plain
   * deterministic-decoder VAE (no spread, sigma 1e-3) maps much of the
   * prior off the circle (0.23 .. 0.36). Criterion, averaged over two
   * seeds: spread < 0.15, baseline > 0.2 and > 1.8 x spread. */
  double s = 0, b = 0;
  for (uint64_t seed = 10; seed <= 20; seed += 10) {
    s += circle_run(1, 0.1, seed) / 2;
    b += circle_run(0, 1e-3, seed) / 2;
  }
  ck_assert_msg(s < 0.15 && b > 0.2 && b > 1.8 * s,
                "mean distance to the circle: spread %g, baseline %g", s, b);
}
END_TEST

START_TEST(options)
{
  spd_vae *v = tiny_mlp(1);
  double x;
  const int opts[15] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
  const double def[15] = {1e-4, 0.9, 0.999, 0.5, 1, 1000, 0.1, 1, 1, 0, 1e-3, 1, 1, 0.1, 2};
  for (int k = 0; k < 15; k++) {
    SPDT_OK(spd_vae_get(v, opts[k], &x));
    ck_assert_msg(x == def[k], "option %d default %g", opts[k], x);
  }
  SPDT_FAILS(SPD_E_INVALID, spd_vae_set(v, 0, 1));
  SPDT_FAILS(SPD_E_INVALID, spd_vae_set(v, 99, 1));
  SPDT_FAILS(SPD_E_INVALID, spd_vae_get(v, 99, &x));
  SPDT_FAILS(SPD_E_DOMAIN, spd_vae_set(v, SPD_VAE_LEARNING_RATE, 0));
  SPDT_FAILS(SPD_E_DOMAIN, spd_vae_set(v, SPD_VAE_LEARNING_RATE, NAN));
  SPDT_FAILS(SPD_E_DOMAIN, spd_vae_set(v, SPD_VAE_BETA1, 1));
  SPDT_FAILS(SPD_E_DOMAIN, spd_vae_set(v, SPD_VAE_SIGMA, -1));
  SPDT_FAILS(SPD_E_DOMAIN, spd_vae_set(v, SPD_VAE_ANNEAL_FACTOR, 1.5));
  SPDT_FAILS(SPD_E_DOMAIN, spd_vae_set(v, SPD_VAE_ANNEAL_PERIOD, 2.5));
  SPDT_FAILS(SPD_E_DOMAIN, spd_vae_set(v, SPD_VAE_LOW_VARIANCE, 2));
  SPDT_FAILS(SPD_E_DOMAIN, spd_vae_set(v, SPD_VAE_LEARN_SPREAD_RANK, 4)); /* > x_dim 3 */
  SPDT_FAILS(SPD_E_DOMAIN, spd_vae_set(v, SPD_VAE_BN_MOMENTUM, 2));
  SPDT_OK(spd_vae_get(v, SPD_VAE_SIGMA, &x));
  ck_assert(x == 0.5); /* failures change nothing */

  /* Annealing: sigma_k = max(floor, sigma factor^floor(k / period)). */
  SPDT_OK(spd_vae_set(v, SPD_VAE_SIGMA, 0.5));
  SPDT_OK(spd_vae_set(v, SPD_VAE_ANNEAL_FACTOR, 0.5));
  SPDT_OK(spd_vae_set(v, SPD_VAE_ANNEAL_PERIOD, 2));
  SPDT_OK(spd_vae_set(v, SPD_VAE_ANNEAL_FLOOR, 0.1));
  const double want[8] = {0.5, 0.5, 0.25, 0.25, 0.125, 0.125, 0.1, 0.1};
  float *xd = data(2 * 3, 1);
  for (int k = 0; k < 8; k++) {
    ck_assert_msg(spd_vae_sigma(v) == want[k], "step %d sigma %g", k, spd_vae_sigma(v));
    SPDT_OK(spd_vae_step(v, xd, 2, NULL));
  }
  SPDT_FAILS(SPD_E_STATE, spd_vae_set(v, SPD_VAE_LEARN_SPREAD_RANK, 1));
  SPDT_FAILS(SPD_E_STATE, spd_vae_set(v, SPD_VAE_SEED, 5));
  SPDT_OK(spd_vae_set(v, SPD_VAE_LEARNING_RATE, 1e-3)); /* still fine */
  ck_assert_ptr_nonnull(spd_vae_generator(v));
  free(xd);
  spd_vae_free(v);
}
END_TEST

START_TEST(evaluate_does_not_change_training)
{
  float *x = data(8 * 3, 7);
  spd_vae *a = tiny_mlp(1), *b = tiny_mlp(1);
  double l1, l2, r, k;
  for (int s = 0; s < 4; s++) {
    float la, lb;
    SPDT_OK(spd_vae_step(a, x, 8, &la));
    SPDT_OK(spd_vae_evaluate(b, x, 8, &l1, &r, &k));
    SPDT_CLOSE(r + k, l1, 1e-12, 1e-12);
    float xhat[24];
    SPDT_OK(spd_vae_reconstruct(b, x, 8, xhat));
    SPDT_OK(spd_vae_step(b, x, 8, &lb));
    ck_assert_mem_eq(&la, &lb, sizeof la);
  }
  /* Evaluation draws its own noise: two calls differ, training did not. */
  SPDT_OK(spd_vae_evaluate(b, x, 8, &l1, NULL, NULL));
  SPDT_OK(spd_vae_evaluate(b, x, 8, &l2, NULL, NULL));
  ck_assert(l1 != l2);
  spd_vae_free(a);
  spd_vae_free(b);
  free(x);
}
END_TEST

static size_t n_alloc;
static void *count_alloc(void *opaque, size_t size)
{
  (void)opaque;
  n_alloc++;
  return malloc(size);
}
static void count_free(void *opaque, void *p)
{
  (void)opaque;
  free(p);
}

START_TEST(warm_steps_allocate_nothing)
{
  SPDT_OK(spd_set_allocator(count_alloc, count_free, NULL));
  float *x = data(4 * 784, 3);
  for (int learned = 0; learned < 2; learned++) {
    spd_vae *v = tiny_conv(1);
    if (learned)
      SPDT_OK(spd_vae_set(v, SPD_VAE_LEARN_SPREAD_RANK, 2));
    SPDT_OK(spd_vae_step(v, x, 4, NULL));
    SPDT_OK(spd_vae_step(v, x, 4, NULL));
    size_t before = n_alloc;
    SPDT_OK(spd_vae_step(v, x, 4, NULL));
    SPDT_OK(spd_vae_step(v, x, 4, NULL));
    /* learned: the density, noise-gradient and refactorisation work
     * space is kept in the VAE, the tape arena and the spread handle */
    ck_assert_msg(n_alloc == before, "%s: %zu allocations in warm steps",
                  learned ? "learned spread" : "fixed spread", n_alloc - before);
    spd_vae_free(v);
  }
  free(x);
  SPDT_OK(spd_set_allocator(NULL, NULL, NULL));
}
END_TEST

/* Every parameter of both stores bitwise equal. */
static void same_state(spd_vae *a, spd_vae *b)
{
  spd_params *ps[2][3] = {{a->gen->params, a->enc, a->sp}, {b->gen->params, b->enc, b->sp}};
  for (int s = 0; s < 3; s++) {
    if (ps[0][s] == NULL) {
      ck_assert_ptr_null(ps[1][s]);
      continue;
    }
    ck_assert_uint_eq(spd_params_count(ps[0][s]), spd_params_count(ps[1][s]));
    for (size_t i = 0; i < spd_params_count(ps[0][s]); i++)
      ck_assert_msg(!memcmp(spd_params_data(ps[0][s], i), spd_params_data(ps[1][s], i),
                            spd_params_size(ps[0][s], i) * sizeof(float)),
                    "entry %s differs", spd_params_name(ps[0][s], i));
  }
}

START_TEST(threads_do_not_change_results)
{
  /* Conv with the isotropic spread, and an MLP with a learned spread (its
   * likelihood and max step), each at 1 and at 2 threads. */
  float *x = data(6 * 784, 4);
  for (int learned = 0; learned < 2; learned++) {
    spd_vae *a = learned ? tiny_mlp(2) : tiny_conv(2), *b = learned ? tiny_mlp(2) : tiny_conv(2);
    if (learned) {
      SPDT_OK(spd_vae_set(a, SPD_VAE_LEARN_SPREAD_RANK, 2));
      SPDT_OK(spd_vae_set(b, SPD_VAE_LEARN_SPREAD_RANK, 2));
    }
    float la[3], lb[3];
    for (int s = 0; s < 3; s++)
      SPDT_OK(spd_vae_step(a, x, 6, &la[s]));
    SPDT_OK(spd_set_num_threads(2));
    for (int s = 0; s < 3; s++)
      SPDT_OK(spd_vae_step(b, x, 6, &lb[s]));
    SPDT_OK(spd_set_num_threads(1));
    ck_assert_mem_eq(la, lb, sizeof la);
    same_state(a, b);
    spd_vae_free(a);
    spd_vae_free(b);
  }
  free(x);
}
END_TEST

static void resume_case(spd_vae *a, spd_vae *b, const float *x, size_t n, size_t xdim,
                        const char *path)
{
  /* a runs 6 steps; b runs 3, is saved, reloaded as c, and c runs 3. */
  float la[6], lc[3];
  for (int s = 0; s < 6; s++)
    SPDT_OK(spd_vae_step(a, x + (size_t)(s % 2) * n * xdim, n, &la[s]));
  for (int s = 0; s < 3; s++)
    SPDT_OK(spd_vae_step(b, x + (size_t)(s % 2) * n * xdim, n, NULL));
  SPDT_OK(spd_vae_save(b, path));
  spd_vae *c;
  SPDT_OK(spd_vae_load(path, &c));
  ck_assert_uint_eq(spd_vae_step_count(c), 3);
  ck_assert(spd_vae_sigma(c) == spd_vae_sigma(b));
  for (int o = 1; o <= 15; o++) {
    double p, q;
    SPDT_OK(spd_vae_get(b, o, &p));
    SPDT_OK(spd_vae_get(c, o, &q));
    ck_assert_msg(p == q, "option %d: %g vs %g", o, p, q);
  }
  spd_vae_free(b);
  for (int s = 3; s < 6; s++)
    SPDT_OK(spd_vae_step(c, x + (size_t)(s % 2) * n * xdim, n, &lc[s - 3]));
  ck_assert_mem_eq(la + 3, lc, sizeof lc);
  same_state(a, c);
  /* Evaluation streams were restored too. */
  double ea, ec;
  SPDT_OK(spd_vae_evaluate(a, x, n, &ea, NULL, NULL));
  SPDT_OK(spd_vae_evaluate(c, x, n, &ec, NULL, NULL));
  ck_assert(ea == ec);
  spd_vae_free(a);
  spd_vae_free(c);
}

START_TEST(resume_is_bitwise)
{
  make_dir();
  char path[128];
  snprintf(path, sizeof path, "%s/state.spd", dir);
  float *x = data(2 * 8 * 3, 5);
  /* MLP with a learned spread, annealing and a spread step every 2 steps. */
  spd_vae *a = tiny_mlp(7), *b = tiny_mlp(7);
  for (int k = 0; k < 2; k++) {
    spd_vae *v = k ? b : a;
    SPDT_OK(spd_vae_set(v, SPD_VAE_LEARN_SPREAD_RANK, 2));
    SPDT_OK(spd_vae_set(v, SPD_VAE_SPREAD_EVERY, 2));
    SPDT_OK(spd_vae_set(v, SPD_VAE_LOW_VARIANCE, 0));
    SPDT_OK(spd_vae_set(v, SPD_VAE_ANNEAL_FACTOR, 0.9));
    SPDT_OK(spd_vae_set(v, SPD_VAE_ANNEAL_PERIOD, 2));
    SPDT_OK(spd_vae_set(v, SPD_VAE_SEED, 1234));
    SPDT_OK(spd_vae_set(v, SPD_VAE_LEARNING_RATE, 1e-2));
  }
  resume_case(a, b, x, 8, 3, path);
  free(x);
  /* Conv (batch-norm buffers) with the default isotropic spread. */
  x = data(2 * 4 * 784, 6);
  a = tiny_conv(3);
  b = tiny_conv(3);
  SPDT_OK(spd_vae_set(a, SPD_VAE_BN_MOMENTUM, 0.3));
  SPDT_OK(spd_vae_set(b, SPD_VAE_BN_MOMENTUM, 0.3));
  resume_case(a, b, x, 4, 784, path);
  free(x);
  remove_dir();
  ck_assert_uint_eq(spdi_live_blocks(), 0);
}
END_TEST

static int load_vae(const char *path, void **out)
{
  spd_vae *v = NULL;
  int st = spd_vae_load(path, &v);
  *out = v;
  return st;
}

static void release_vae(void *v)
{
  spd_vae_free(v);
}

static const spdt_loader vae_loader = {load_vae, release_vae};

START_TEST(damaged_checkpoints_are_rejected)
{
  make_dir();
  char path[128], bad[128];
  snprintf(path, sizeof path, "%s/v.spd", dir);
  snprintf(bad, sizeof bad, "%s/bad.spd", dir);
  float *x = data(4 * 3, 1);
  spd_vae *v = tiny_mlp(1), *w = NULL;
  SPDT_OK(spd_vae_set(v, SPD_VAE_LEARN_SPREAD_RANK, 1));
  SPDT_OK(spd_vae_step(v, x, 4, NULL));
  SPDT_OK(spd_vae_save(v, path));
  spd_vae_free(v);
  spdt_check_damaged(path, bad, 9, &vae_loader);
  /* A generator file is not a training checkpoint. */
  spd_generator *g;
  SPDT_OK(spd_generator_create_linear(2, 3, 1, &g));
  SPDT_OK(spd_generator_save(g, bad));
  spd_generator_free(g);
  w = NULL;
  SPDT_FAILS(SPD_E_FORMAT, spd_vae_load(bad, &w));
  ck_assert_ptr_null(w);
  free(x);
  remove_dir();
  ck_assert_uint_eq(spdi_live_blocks(), 0);
}
END_TEST

START_TEST(bad_input)
{
  spd_vae *v = NULL;
  SPDT_FAILS(SPD_E_INVALID, spd_vae_create(NULL, 1, &v));
  spd_generator *g;
  SPDT_OK(spd_generator_create_linear(2, 3, 1, &g));
  SPDT_FAILS(SPD_E_INVALID, spd_vae_create(g, 1, NULL));
  spd_generator_free(g); /* still ours after a failure */
  v = tiny_conv(1);
  float *x = data(2 * 784, 1);
  float loss = 7;
  double d;
  SPDT_FAILS(SPD_E_STATE, spd_vae_loss_parts(v, &d, &d));
  SPDT_FAILS(SPD_E_INVALID, spd_vae_step(NULL, x, 2, &loss));
  SPDT_FAILS(SPD_E_INVALID, spd_vae_step(v, NULL, 2, &loss));
  SPDT_FAILS(SPD_E_INVALID, spd_vae_step(v, x, 0, &loss));
  SPDT_FAILS(SPD_E_SHAPE, spd_vae_step(v, x, 1, &loss)); /* batch norm needs 2 rows */
  SPDT_FAILS(SPD_E_OVERFLOW, spd_vae_step(v, x, SIZE_MAX / 100, &loss));
  x[100] = NAN;
  SPDT_FAILS(SPD_E_DOMAIN, spd_vae_step(v, x, 2, &loss));
  x[100] = INFINITY;
  SPDT_FAILS(SPD_E_DOMAIN, spd_vae_evaluate(v, x, 2, &d, NULL, NULL));
  float xhat[784];
  SPDT_FAILS(SPD_E_DOMAIN, spd_vae_reconstruct(v, x, 1, xhat));
  x[100] = 0.5f;
  SPDT_FAILS(SPD_E_INVALID, spd_vae_reconstruct(v, x, 1, NULL));
  ck_assert(loss == 7);
  ck_assert_uint_eq(spd_vae_step_count(v), 0);
  SPDT_OK(spd_vae_reconstruct(v, x, 1, xhat)); /* inference: one row is fine */
  SPDT_OK(spd_vae_evaluate(v, x, 1, &d, NULL, NULL));
  SPDT_FAILS(SPD_E_INVALID, spd_vae_get(v, SPD_VAE_SIGMA, NULL));
  SPDT_FAILS(SPD_E_INVALID, spd_vae_save(v, NULL));
  SPDT_FAILS(SPD_E_INVALID, spd_vae_load(NULL, &v));
  SPDT_FAILS(SPD_E_IO, spd_vae_load("/nonexistent/dir/file.spd", &v));
  ck_assert(spd_vae_sigma(NULL) == 0);
  ck_assert_uint_eq(spd_vae_step_count(NULL), 0);
  ck_assert_ptr_null(spd_vae_generator(NULL));
  spd_vae_free(NULL);
  spd_vae_free(v);
  free(x);
  ck_assert_uint_eq(spdi_live_blocks(), 0);
}
END_TEST

Suite *spdt_suite(void)
{
  Suite *s = suite_create("vae");
  SPDT_ADD(s, gradient_matches_finite_differences, 60);
  SPDT_ADD(s, conv_gradient_matches_finite_differences, 120);
  SPDT_ADD(s, loss_parts_add_up_and_loss_decreases, 60);
  SPDT_ADD(s, spread_samples_land_near_the_manifold, 300);
  SPDT_ADD(s, options, 30);
  SPDT_ADD(s, evaluate_does_not_change_training, 30);
  SPDT_ADD(s, warm_steps_allocate_nothing, 60);
  SPDT_ADD(s, threads_do_not_change_results, 60);
  SPDT_ADD(s, resume_is_bitwise, 60);
  SPDT_ADD(s, damaged_checkpoints_are_rejected, 120);
  SPDT_ADD(s, bad_input, 30);
  return s;
}
