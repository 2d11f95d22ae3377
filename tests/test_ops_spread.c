/* The spread noise op: forward equal to spd_spread_sample() bit for bit,
 * gradients to x and to the spread's parameters against finite differences
 * (with the same raw draws each evaluation), and bad input. */
#include "gradcheck.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

enum { ROWS = 3, DIM = 6, RANK = 2 };

/* Spreads of every kind on DIM-dimensional points. */
static spd_spread *make_spread(int kind)
{
  spd_spread *s = NULL;
  double scales[DIM] = { 0.3, 0.5, 0.7, 0.9, 1.1, 1.3 };
  float L[DIM * RANK];
  spdt_fill(L, DIM * RANK, 77, -0.5f, 0.5f, 0);
  switch (kind) {
  case SPD_SPREAD_GAUSSIAN: SPDT_OK(spd_spread_create_gaussian(DIM, 0.7, &s)); break;
  case SPD_SPREAD_GAUSSIAN_DIAG: SPDT_OK(spd_spread_create_gaussian_diag(DIM, scales, &s)); break;
  case SPD_SPREAD_GAUSSIAN_LOWRANK:
    SPDT_OK(spd_spread_create_gaussian_lowrank(DIM, RANK, 0.6, L, &s));
    break;
  case SPD_SPREAD_LAPLACE: SPDT_OK(spd_spread_create_laplace(DIM, 0.8, &s)); break;
  case SPD_SPREAD_LAPLACE_DIAG: SPDT_OK(spd_spread_create_laplace_diag(DIM, scales, &s)); break;
  }
  return s;
}

START_TEST(forward_equals_sample)
{
  for (int kind = 1; kind <= 5; kind++) {
    spd_spread *s = make_spread(kind);
    /* Images of 1 x 2 x 3 = DIM values: rows are the batch. */
    const size_t shape[4] = { ROWS, 1, 2, 3 };
    float x[ROWS * DIM], want[ROWS * DIM];
    spdt_fill(x, ROWS * DIM, 5, -2, 2, 0);
    spd_rng *a = NULL, *b = NULL;
    SPDT_OK(spd_rng_create(11, &a));
    SPDT_OK(spd_rng_create(11, &b));
    SPDT_OK(spd_spread_sample(s, a, x, ROWS, want));
    spd_tape *t = NULL;
    SPDT_OK(spd_tape_create(&t));
    spd_tensor *xt = spd_leaf(t, 4, shape, x, 1);
    spd_tensor *y = spd_spread_noise(t, xt, s, b);
    ck_assert_ptr_nonnull(y);
    ck_assert_int_eq(spd_tensor_ndim(y), 4);
    ck_assert_mem_eq(spd_tensor_data(y), want, sizeof want);
    uint64_t pa, pb;
    SPDT_OK(spd_rng_get_state(a, NULL, NULL, &pa));
    SPDT_OK(spd_rng_get_state(b, NULL, NULL, &pb));
    ck_assert_uint_eq(pa, pb);
    /* Without a parameter tensor, the gradient to x is the identity. */
    SPDT_OK(spd_backward(t, spd_sum(t, y)));
    for (int i = 0; i < ROWS * DIM; i++)
      ck_assert(spd_tensor_grad(xt)[i] == 1.0f);
    spd_tape_free(t);
    spd_rng_free(a);
    spd_rng_free(b);
    spd_spread_free(s);
  }
}
END_TEST

struct ctx {
  spd_spread *s;
  spd_rng *rng;
};

/* y = (x + noise)^2 with the parameters loaded from the (perturbed) params
 * input, and the rng rewound, so every evaluation uses the same draws. */
static spd_tensor *noisy_square(spd_tape *t, spd_tensor **in, void *p)
{
  struct ctx *c = p;
  SPDT_OK(spd_spread_set_params(c->s, spd_tensor_data(in[1])));
  SPDT_OK(spd_rng_set_state(c->rng, 3, 0, 0));
  return spd_square(t, spd_spread_noise_learn(t, in[0], c->s, in[1], c->rng));
}

START_TEST(gradients_to_x_and_params)
{
  for (int kind = 1; kind <= 5; kind++) {
    struct ctx c = { make_spread(kind), NULL };
    SPDT_OK(spd_rng_create(3, &c.rng));
    size_t np = spd_spread_num_params(c.s);
    spdt_input in[2] = { spdt_input_make(1, 9, 2, (size_t)ROWS, (size_t)DIM),
                         spdt_input_make(1, 1, 1, np) };
    SPDT_OK(spd_spread_get_params(c.s, in[1].data));
    /* Smooth in x and the parameters; float outputs of O(1): h = 1e-3
     * gives truncation ~1e-6 and rounding ~1e-4 relative to G. */
    char what[32];
    snprintf(what, sizeof what, "spread noise, kind %d", kind);
    spdt_gradcheck(what, 2, in, noisy_square, &c, 1e-3, 2e-3, 2e-3);
    spdt_input_free(&in[0]);
    spdt_input_free(&in[1]);
    spd_rng_free(c.rng);
    spd_spread_free(c.s);
  }
}
END_TEST

START_TEST(bad_input)
{
  spd_spread *s = make_spread(SPD_SPREAD_GAUSSIAN_LOWRANK);
  spd_rng *rng = NULL;
  SPDT_OK(spd_rng_create(1, &rng));
  spd_tape *t = NULL;
  SPDT_OK(spd_tape_create(&t));
  float x[ROWS * DIM] = { 0 };
  const size_t good[2] = { ROWS, DIM }, bad[2] = { DIM, ROWS - 1 };
  size_t np = spd_spread_num_params(s);
  float p[DIM * RANK + 1];
  SPDT_OK(spd_spread_get_params(s, p));
  const size_t pshape[1] = { np }, pbad[1] = { np - 1 };

  struct {
    const char *what;
    int code;
  } cases[] = {
    { "NULL spread", SPD_E_INVALID }, { "NULL rng", SPD_E_INVALID },
    { "wrong row size", SPD_E_SHAPE }, { "params shape", SPD_E_SHAPE },
    { "stale params", SPD_E_STATE }, { "NULL x", SPD_E_INVALID },
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    spd_tape_reset(t);
    spd_tensor *xt = spd_leaf(t, 2, k == 2 ? bad : good, x, 1), *y = NULL;
    spd_tensor *pt = spd_leaf(t, 1, k == 3 ? pbad : pshape, p, 1);
    uint64_t before, after;
    SPDT_OK(spd_rng_get_state(rng, NULL, NULL, &before));
    switch (k) {
    case 0: y = spd_spread_noise(t, xt, NULL, rng); break;
    case 1: y = spd_spread_noise(t, xt, s, NULL); break;
    case 2: y = spd_spread_noise(t, xt, s, rng); break;
    case 3: y = spd_spread_noise_learn(t, xt, s, pt, rng); break;
    case 4:
      p[0] += 1.0f;
      pt = spd_leaf(t, 1, pshape, p, 1);
      p[0] -= 1.0f;
      y = spd_spread_noise_learn(t, xt, s, pt, rng);
      break;
    case 5: y = spd_spread_noise(t, NULL, s, rng); break;
    }
    ck_assert_msg(y == NULL, "%s: op succeeded", cases[k].what);
    ck_assert_msg(spd_tape_status(t) == cases[k].code, "%s: status %d, expected %d (%s)",
                  cases[k].what, spd_tape_status(t), cases[k].code, spd_last_error());
    ck_assert_msg(strstr(spd_last_error(), "spd_spread_noise") != NULL, "%s: %s", cases[k].what,
                  spd_last_error());
    SPDT_OK(spd_rng_get_state(rng, NULL, NULL, &after));
    ck_assert_msg(before == after, "%s: the rng advanced", cases[k].what);
  }
  spd_tape_free(t);
  spd_rng_free(rng);
  spd_spread_free(s);
}
END_TEST

Suite *spdt_suite(void)
{
  Suite *s = suite_create("ops_spread");
  SPDT_ADD(s, forward_equals_sample, 20);
  SPDT_ADD(s, gradients_to_x_and_params, 60);
  SPDT_ADD(s, bad_input, 20);
  return s;
}
