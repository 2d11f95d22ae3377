/* Thread safety: independent handles used concurrently from several
 * pthreads (estimators, MMD, densities, tape training steps with Adam, and
 * the thread-local error message) give exactly the results of a serial run
 * of the same work. Meant to run under ThreadSanitizer too (doc/testing.md:
 * a -Db_sanitize=thread build); the library runs with one OpenMP thread
 * here (the harness sets it), so each call stays on its caller's thread. */
#include "harness.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define NTHREADS 4
#define ROUNDS 6

typedef struct {
  int id;
  double est[ROUNDS], mmd[ROUNDS], loss[ROUNDS];
  float w[12];
  int status;
  char msg[160];
} job;

static const float pts[] = {0.1f,  -0.4f, 0.9f,  0.3f,  -1.2f, 0.5f, 0.0f, 0.7f,
                            -0.3f, 1.1f,  0.2f,  -0.8f, 0.6f,  0.4f, -0.5f, 0.9f,
                            0.25f, -0.6f, 0.45f, 0.15f};

#define TRY(call)                                                            \
  do {                                                                       \
    int st_ = (call);                                                        \
    if (st_ != SPD_OK && j->status == SPD_OK) {                              \
      j->status = st_;                                                       \
      snprintf(j->msg, sizeof j->msg, "%s: %s", #call, spd_last_error());    \
    }                                                                        \
  } while (0)

static void *work(void *arg)
{
  job *j = arg;
  j->status = SPD_OK;
  spd_spread *s = NULL;
  spd_fdiv *f = NULL;
  spd_estimator *e = NULL;
  const float L[4] = {0.2f, -0.1f, 0.05f, 0.3f};
  TRY(spd_spread_create_gaussian_lowrank(2, 2, 0.5 + 0.1 * j->id, L, &s));
  TRY(spd_fdiv_create(SPD_FDIV_JENSEN_SHANNON, 0.0, &f));
  TRY(spd_estimator_create(f, s, 100 + (uint64_t)j->id, &e));
  TRY(spd_estimator_set_samples(e, 16));

  spd_params *p = NULL;
  spd_optim *o = NULL;
  spd_tape *t = NULL;
  size_t iw;
  const size_t sw[2] = {3, 4};
  float w0[12];
  for (int i = 0; i < 12; i++)
    w0[i] = 0.1f * (float)((i * 7 + j->id) % 5) - 0.2f;
  TRY(spd_params_create(&p));
  TRY(spd_params_add(p, "w", 2, sw, w0, 1, &iw));
  TRY(spd_optim_create_adam(p, 1e-2, &o));
  TRY(spd_tape_create(&t));
  const size_t sx[2] = {4, 3};

  for (int r = 0; r < ROUNDS && j->status == SPD_OK; r++) {
    float grad[8];
    double se;
    TRY(spd_estimate(e, pts, 4, pts + 8, 4, &j->est[r], &se, grad));
    TRY(spd_mmd2(s, pts + r, 3, pts + 8, 4, &j->mmd[r]));
    /* a failing call on this thread must not disturb the others' messages */
    if (spd_spread_create_gaussian(0, 1.0, &(spd_spread *){NULL}) != SPD_E_INVALID ||
        strstr(spd_last_error(), "dim") == NULL) {
      j->status = SPD_E_STATE;
      snprintf(j->msg, sizeof j->msg, "thread-local message lost: %s", spd_last_error());
    }
    spd_tape_reset(t);
    spd_params_zero_grad(p);
    spd_tensor *x = spd_leaf(t, 2, sx, pts + r, 0);
    spd_tensor *y = spd_tanh(t, spd_matmul(t, x, spd_param(t, p, iw)));
    spd_tensor *loss = spd_mean(t, spd_square(t, y));
    TRY(spd_backward(t, loss));
    if (j->status == SPD_OK)
      j->loss[r] = spd_tensor_data(loss)[0];
    TRY(spd_optim_step(o));
  }
  if (j->status == SPD_OK)
    memcpy(j->w, spd_params_data(p, iw), sizeof j->w);
  spd_tape_free(t);
  spd_optim_free(o);
  spd_params_free(p);
  spd_estimator_free(e);
  spd_fdiv_free(f);
  spd_spread_free(s);
  return NULL;
}

START_TEST(concurrent_equals_serial)
{
  job serial[NTHREADS], conc[NTHREADS];
  memset(serial, 0, sizeof serial);
  memset(conc, 0, sizeof conc);
  for (int i = 0; i < NTHREADS; i++) {
    serial[i].id = conc[i].id = i;
    work(&serial[i]);
    ck_assert_msg(serial[i].status == SPD_OK, "serial %d: %s", i, serial[i].msg);
  }
  for (int rep = 0; rep < 3; rep++) {
    pthread_t th[NTHREADS];
    for (int i = 0; i < NTHREADS; i++)
      ck_assert_int_eq(pthread_create(&th[i], NULL, work, &conc[i]), 0);
    for (int i = 0; i < NTHREADS; i++)
      ck_assert_int_eq(pthread_join(th[i], NULL), 0);
    for (int i = 0; i < NTHREADS; i++) {
      ck_assert_msg(conc[i].status == SPD_OK, "thread %d: %s", i, conc[i].msg);
      /* Same seeds, same single-threaded code path: bit-identical. */
      ck_assert_mem_eq(conc[i].est, serial[i].est, sizeof conc[i].est);
      ck_assert_mem_eq(conc[i].mmd, serial[i].mmd, sizeof conc[i].mmd);
      ck_assert_mem_eq(conc[i].loss, serial[i].loss, sizeof conc[i].loss);
      ck_assert_mem_eq(conc[i].w, serial[i].w, sizeof conc[i].w);
    }
  }
}
END_TEST

Suite *spdt_suite(void)
{
  Suite *s = suite_create("threads");
  SPDT_ADD(s, concurrent_equals_serial, 120);
  return s;
}
