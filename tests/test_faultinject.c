/* Allocation-failure injection. Each workload of the table below runs once
 * with a counting allocator (spd_set_allocator) to learn how many
 * allocations it makes (N), then N more times, the k-th run failing the
 * k-th allocation (k = 1..N, later ones succeed). Every run must end in
 * SPD_OK (an allocation the code can do without) or SPD_E_NOMEM with a
 * message, never crash, and leave zero live blocks once its handles are
 * freed. Runs under ASan/valgrind in CI, so a use of a NULL block or a
 * double free on an error path is caught too.
 *
 * Adding a workload: write `static int wl_name(void)` that creates, uses
 * and frees everything (returning the first failing status, freeing on every
 * path) and add a row to `workloads`. */
#include "harness.h"

#include "ckpt.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- the failing allocator ---------------------------------------------- */

static atomic_long live;
static atomic_long calls;
static long fail_at; /* 0: never */

static void *fi_alloc(void *opaque, size_t size)
{
  (void)opaque;
  long n = atomic_fetch_add(&calls, 1) + 1;
  if (n == fail_at)
    return NULL;
  void *p = malloc(size);
  if (p != NULL)
    atomic_fetch_add(&live, 1);
  return p;
}

static void fi_free(void *opaque, void *ptr)
{
  (void)opaque;
  atomic_fetch_sub(&live, 1);
  free(ptr);
}

/* First failing status of a sequence of calls. */
#define STEP(call)                                                           \
  do {                                                                       \
    if (st == SPD_OK)                                                        \
      st = (call);                                                           \
  } while (0)

/* ---- workloads ------------------------------------------------------------ */

static const float pts[] = {0.1f,  -0.4f, 0.9f,  0.3f,  -1.2f, 0.5f, 0.0f, 0.7f,
                            -0.3f, 1.1f,  0.2f,  -0.8f, 0.6f,  0.4f, -0.5f, 0.9f,
                            1.3f,  -0.2f, -0.7f, 0.1f,  0.8f,  0.2f, -0.1f, 0.3f};

/* Spreads, divergences, estimator (with gradient), MMD, point-mass
 * divergence, densities and sampling. */
static int wl_estimator(void)
{
  int st = SPD_OK;
  spd_spread *s = NULL, *c = NULL;
  spd_fdiv *f = NULL;
  spd_estimator *e = NULL;
  spd_rng *g = NULL;
  const float L[6] = {0.3f, -0.1f, 0.2f, 0.05f, 0.0f, 0.4f};
  double v, se, lp[4];
  float grad[12], y[12], gy[12], gx[12], gp[16];
  STEP(spd_spread_create_gaussian_lowrank(3, 2, 0.8, L, &s));
  STEP(spd_spread_clone(s, &c));
  STEP(spd_fdiv_create(SPD_FDIV_JENSEN_SHANNON, 0.0, &f));
  STEP(spd_estimator_create(f, s, 11, &e));
  STEP(spd_estimator_set_samples(e, 3));
  STEP(spd_estimate(e, pts, 4, pts + 12, 4, &v, &se, grad));
  STEP(spd_mmd2(c, pts, 4, pts + 12, 4, &v));
  STEP(spd_mmd2_biased(c, pts, 4, pts + 12, 4, &v));
  STEP(spd_divergence_delta(f, s, pts, pts + 3, &v, grad));
  STEP(spd_rng_create(5, &g));
  STEP(spd_spread_sample(s, g, pts, 4, y));
  STEP(spd_spread_log_density_grad(s, y, pts, 4, lp, gy, gx, gp));
  spd_estimator_free(e);
  spd_fdiv_free(f);
  spd_spread_free(c);
  spd_spread_free(s);
  spd_rng_free(g);
  return st;
}

/* A Laplace spread with the KL estimator (other code paths). */
static int wl_estimator_laplace(void)
{
  int st = SPD_OK;
  spd_spread *s = NULL;
  spd_fdiv *f = NULL;
  spd_estimator *e = NULL;
  const double b[3] = {0.5, 1.0, 2.0};
  double v;
  float grad[12];
  STEP(spd_spread_create_laplace_diag(3, b, &s));
  STEP(spd_fdiv_create(SPD_FDIV_KL, 0.0, &f));
  STEP(spd_estimator_create(f, s, 3, &e));
  STEP(spd_estimate(e, pts, 4, pts + 12, 4, &v, NULL, grad));
  STEP(spd_divergence_delta(f, s, pts, pts + 3, &v, NULL));
  spd_estimator_free(e);
  spd_fdiv_free(f);
  spd_spread_free(s);
  return st;
}

/* Two training steps of a small conv net: conv2d -> batch norm -> relu ->
 * conv2d_transpose -> spread noise -> squared error, backward, Adam. */
static int wl_tape_train(void)
{
  int st = SPD_OK;
  spd_params *p = NULL;
  spd_optim *o = NULL;
  spd_tape *t = NULL;
  spd_rng *g = NULL;
  spd_spread *s = NULL;
  size_t iw, ib, iwt, irm, irv;
  static float w0[4 * 1 * 3 * 3], wt0[4 * 1 * 3 * 3];
  for (size_t i = 0; i < sizeof w0 / sizeof *w0; i++) {
    w0[i] = 0.05f * (float)((int)(i % 7) - 3);
    wt0[i] = 0.03f * (float)((int)(i % 5) - 2);
  }
  const size_t sw[4] = {4, 1, 3, 3}, sb[1] = {4}, swt[4] = {4, 1, 3, 3};
  STEP(spd_params_create(&p));
  STEP(spd_params_add(p, "conv.w", 4, sw, w0, 1, &iw));
  STEP(spd_params_add(p, "conv.b", 1, sb, NULL, 1, &ib));
  STEP(spd_params_add(p, "deconv.w", 4, swt, wt0, 1, &iwt));
  STEP(spd_params_add(p, "bn.mean", 1, sb, NULL, 0, &irm));
  STEP(spd_params_add(p, "bn.var", 1, sb, NULL, 0, &irv));
  STEP(spd_optim_create_adam(p, 1e-2, &o));
  STEP(spd_tape_create(&t));
  STEP(spd_rng_create(9, &g));
  STEP(spd_spread_create_gaussian(36, 0.1, &s));
  static float x[2 * 1 * 6 * 6];
  for (size_t i = 0; i < sizeof x / sizeof *x; i++)
    x[i] = 0.1f * (float)(i % 11) - 0.5f;
  const size_t sx[4] = {2, 1, 6, 6}, sflat[2] = {2, 36};
  for (int step = 0; step < 2 && st == SPD_OK; step++) {
    spd_tape_reset(t);
    spd_params_zero_grad(p);
    spd_tensor *in = spd_leaf(t, 4, sx, x, 0);
    spd_tensor *h = spd_conv2d(t, in, spd_param(t, p, iw), spd_param(t, p, ib), 1, 1);
    h = spd_batch_norm(t, h, NULL, NULL, p, irm, irv, 1, 0.1f, 1e-5f);
    h = spd_relu(t, h);
    h = spd_conv2d_transpose(t, h, spd_param(t, p, iwt), NULL, 1, 1, 0);
    h = spd_reshape(t, h, 2, sflat);
    h = spd_spread_noise(t, h, s, g);
    spd_tensor *target = spd_reshape(t, in, 2, sflat);
    spd_tensor *loss = spd_mean(t, spd_square(t, spd_sub(t, h, target)));
    STEP(spd_backward(t, loss));
    STEP(spd_optim_step(o));
  }
  spd_spread_free(s);
  spd_rng_free(g);
  spd_tape_free(t);
  spd_optim_free(o);
  spd_params_free(p);
  return st;
}

static char ckpt_path[256];

/* Checkpoint container: write two sections, commit, open, read back. */
static int wl_ckpt(void)
{
  int st = SPD_OK;
  const uint32_t kind = SPDI_TAG('T', 'E', 'S', 'T');
  spdi_ckpt_writer *w = NULL;
  static float data[5000];
  for (size_t i = 0; i < 5000; i++)
    data[i] = (float)i;
  const size_t dims[2] = {50, 100};
  STEP(spdi_ckpt_create(ckpt_path, kind, &w));
  STEP(spdi_ckpt_begin(w, SPDI_TAG('P', 'A', 'R', 'M')));
  STEP(spdi_ckpt_put_f32(w, "w", 2, dims, data));
  STEP(spdi_ckpt_put_u64(w, "step", 42));
  STEP(spdi_ckpt_end(w));
  STEP(spdi_ckpt_begin(w, SPDI_TAG('M', 'E', 'T', 'A')));
  STEP(spdi_ckpt_put_f64(w, "lr", 1e-3));
  STEP(spdi_ckpt_put_bytes(w, "note", "abc", 3));
  STEP(spdi_ckpt_end(w));
  if (w != NULL) {
    if (st == SPD_OK)
      st = spdi_ckpt_commit(w); /* frees the writer either way */
    else
      spdi_ckpt_abort(w);
  }
  spdi_ckpt_reader *r = NULL;
  STEP(spdi_ckpt_open(ckpt_path, kind, &r));
  static float back[5000];
  uint64_t u;
  double d;
  STEP(spdi_ckpt_get_f32(r, SPDI_TAG('P', 'A', 'R', 'M'), "w", 2, dims, back));
  STEP(spdi_ckpt_get_u64(r, SPDI_TAG('P', 'A', 'R', 'M'), "step", &u));
  STEP(spdi_ckpt_get_f64(r, SPDI_TAG('M', 'E', 'T', 'A'), "lr", &d));
  spdi_ckpt_close(r);
  if (st == SPD_OK && (memcmp(back, data, sizeof data) != 0 || u != 42 || d != 1e-3))
    st = SPD_E_FORMAT;
  return st;
}

/* The spread VAE around generator g (freed here on every path): two
 * training steps, evaluation, reconstruction, a training checkpoint saved
 * and loaded (then one step of the loaded VAE), and the generator's own
 * file saved and loaded (then decoded). rank > 0: the learned spread. */
static int vae_workload(spd_generator *g, size_t x_dim, double rank)
{
  int st = SPD_OK;
  spd_vae *v = NULL, *w = NULL;
  spd_generator *h = NULL;
  static float x[4 * 784], xhat[4 * 784];
  for (size_t i = 0; i < 4 * x_dim; i++)
    x[i] = (float)((i * 7919) % 101) / 101.0f;
  float loss;
  double l, rec, kl;
  STEP(spd_vae_create(g, 5, &v));
  if (v == NULL) {
    spd_generator_free(g); /* the caller keeps g when the create fails */
    return st;
  }
  STEP(spd_vae_set(v, SPD_VAE_LEARN_SPREAD_RANK, rank));
  STEP(spd_vae_step(v, x, 4, &loss));
  STEP(spd_vae_step(v, x, 4, &loss));
  STEP(spd_vae_evaluate(v, x, 3, &l, &rec, &kl));
  STEP(spd_vae_reconstruct(v, x, 2, xhat));
  STEP(spd_vae_save(v, ckpt_path));
  STEP(spd_vae_load(ckpt_path, &w));
  STEP(spd_vae_step(w, x, 4, &loss));
  STEP(spd_generator_save(spd_vae_generator(v), ckpt_path));
  STEP(spd_generator_load(ckpt_path, &h));
  STEP(spd_generator_decode(h, x, 2, xhat));
  spd_generator_free(h);
  spd_vae_free(w);
  spd_vae_free(v);
  return st;
}

static int wl_vae_conv(void)
{
  int st = SPD_OK;
  spd_generator *g = NULL;
  STEP(spd_generator_create_conv(3, 1, 28, 4, 1, &g));
  return st == SPD_OK ? vae_workload(g, 784, 0) : st;
}

static int wl_vae_mlp(void)
{
  int st = SPD_OK;
  spd_generator *g = NULL;
  STEP(spd_generator_create_mlp(2, 5, 8, 2, SPD_OUTPUT_SIGMOID, 1, &g));
  return st == SPD_OK ? vae_workload(g, 5, 2) : st;
}

typedef struct {
  const char *name;
  int (*run)(void);
} workload;

static const workload workloads[] = {
  {"estimator", wl_estimator},
  {"estimator-laplace", wl_estimator_laplace},
  {"tape-train", wl_tape_train},
  {"ckpt-save-load", wl_ckpt},
  {"vae-conv", wl_vae_conv},
  {"vae-mlp-learned-spread", wl_vae_mlp},
};
#define NWORK ((int)(sizeof workloads / sizeof *workloads))

START_TEST(t_inject)
{
  const workload *w = &workloads[_i];
  char dir[] = "/tmp/spdt-fi-XXXXXX";
  ck_assert_ptr_nonnull(mkdtemp(dir));
  snprintf(ckpt_path, sizeof ckpt_path, "%s/f.ckpt", dir);
  ck_assert_msg(spd_set_allocator(fi_alloc, fi_free, NULL) == SPD_OK, "%s",
                spd_last_error());

  fail_at = 0;
  atomic_store(&calls, 0);
  int st = w->run();
  ck_assert_msg(st == SPD_OK, "%s: clean run returned %d: %s", w->name, st,
                spd_last_error());
  ck_assert_int_eq(atomic_load(&live), 0);
  const long n = atomic_load(&calls);
  ck_assert_msg(n > 0, "%s makes no allocation", w->name);

  long failed = 0;
  for (long k = 1; k <= n; k++) {
    fail_at = k;
    atomic_store(&calls, 0);
    st = w->run();
    ck_assert_msg(st == SPD_OK || st == SPD_E_NOMEM,
                  "%s, allocation %ld of %ld failed: status %d (%s)", w->name, k, n, st,
                  spd_last_error());
    if (st != SPD_OK) {
      failed++;
      ck_assert_msg(spd_last_error()[0] != '\0', "%s, allocation %ld: no message",
                    w->name, k);
    }
    ck_assert_msg(atomic_load(&live) == 0, "%s, allocation %ld of %ld failed: %ld blocks "
                  "leaked", w->name, k, n, atomic_load(&live));
  }
  fail_at = 0;
  fprintf(stderr, "%s: %ld allocations, each failed once: %ld runs reported SPD_E_NOMEM\n",
          w->name, n, failed);
  ck_assert_msg(failed > 0, "%s: no injected failure was reported", w->name);
  unlink(ckpt_path);
  rmdir(dir);
}
END_TEST

Suite *spdt_suite(void)
{
  Suite *s = suite_create("faultinject");
  TCase *tc = tcase_create("workloads");
  tcase_set_timeout(tc, 120);
  tcase_add_loop_test(tc, t_inject, 0, NWORK);
  suite_add_tcase(s, tc);
  return s;
}
