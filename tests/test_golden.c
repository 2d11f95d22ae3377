/* Losses and gradients of small graphs against PyTorch (golden/graphs.txt,
 * written by golden/make_golden.py). Inputs are float32 values; PyTorch
 * computed in float64. Tolerance: relative error 1e-4 per element, with
 * the reference floored at 1% of the tensor's largest value (elements that
 * cancel to nearly 0 are judged against the tensor's scale) and, for
 * tensors whose gradient cancels as a whole, at 1% of a tenth of the
 * graph's largest gradient (see spdt_golden_compare). */
#include "golden.h"
#include "harness.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define RTOL 1e-4

struct ctx {
  spdt_gsection *g;
  spd_tape *t;
  spd_params *p; /* running statistics, where the graph has batch norm */
  int nleaf;
  const char *names[16];
  spd_tensor *leaves[16];
  float *buffers[16];
};

/* Leaf for golden input `name`, requiring a gradient iff PyTorch has one. */
static spd_tensor *in(struct ctx *c, const char *name)
{
  const spdt_gtensor *g = spdt_golden_get(c->g, "input", name, 0);
  ck_assert_msg(g != NULL, "golden input %s missing", name);
  float *v = spdt_golden_floats(g);
  int rg = spdt_golden_get(c->g, "grad", name, 0) != NULL;
  spd_tensor *x = spd_leaf(c->t, g->ndim, g->shape, v, rg);
  ck_assert_msg(x != NULL, "%s", spd_tape_error(c->t));
  c->names[c->nleaf] = name;
  c->buffers[c->nleaf] = v;
  c->leaves[c->nleaf++] = x;
  return x;
}

static void start(struct ctx *c, const char *graph)
{
  memset(c, 0, sizeof *c);
  c->g = spdt_golden_read("graphs.txt", graph);
  SPDT_OK(spd_tape_create(&c->t));
}

static void finish(struct ctx *c, spd_tensor *loss)
{
  ck_assert_msg(loss != NULL, "%s: %s", c->g->name, spd_tape_error(c->t));
  SPDT_OK(spd_backward(c->t, loss));
  ck_assert_int_eq(c->g->nloss, 1);
  SPDT_CLOSE(spd_tensor_data(loss)[0], c->g->loss[0], RTOL, 0);
  /* a tensor whose gradient cancels exactly is judged at 10% of the
   * graph's gradient scale */
  const double floor = 0.1 * spdt_golden_scale(c->g, "grad");
  for (int i = 0; i < c->nleaf; i++) {
    const spdt_gtensor *g = spdt_golden_get(c->g, "grad", c->names[i], 0);
    if (g != NULL)
      spdt_golden_compare(c->g->name, spd_tensor_grad(c->leaves[i]), g, RTOL, floor);
  }
  if (c->p != NULL) {
    spdt_golden_compare("running_mean", spd_params_data(c->p, 0),
                        spdt_golden_get(c->g, "stat", "running_mean", 0), RTOL, 0);
    spdt_golden_compare("running_var", spd_params_data(c->p, 1),
                        spdt_golden_get(c->g, "stat", "running_var", 0), RTOL, 0);
  }
  for (int i = 0; i < c->nleaf; i++)
    free(c->buffers[i]);
  spd_params_free(c->p);
  spd_tape_free(c->t);
  spdt_golden_free(c->g);
}

static void running_stats(struct ctx *c, size_t C)
{
  SPDT_OK(spd_params_create(&c->p));
  const size_t s[1] = { C };
  float ones[16];
  for (size_t i = 0; i < C; i++)
    ones[i] = 1.0f;
  SPDT_OK(spd_params_add(c->p, "running_mean", 1, s, NULL, 0, NULL));
  SPDT_OK(spd_params_add(c->p, "running_var", 1, s, ones, 0, NULL));
}

START_TEST(golden_mlp)
{
  struct ctx c;
  start(&c, "mlp");
  spd_tape *t = c.t;
  spd_tensor *x = in(&c, "x"), *w1 = in(&c, "w1"), *b1 = in(&c, "b1");
  spd_tensor *w2 = in(&c, "w2"), *b2 = in(&c, "b2");
  spd_tensor *h = spd_tanh(t, spd_add(t, spd_matmul_ex(t, x, w1, 0, 1), b1));
  spd_tensor *o = spd_add(t, spd_matmul(t, h, w2), b2);
  spd_tensor *p = spd_softplus(t, o), *q = spd_elu(t, o, 1.0f);
  spd_tensor *r = spd_leaky_relu(t, o, 0.1f), *s = spd_relu(t, o);
  spd_tensor *terms[7] = {
    spd_sum(t, spd_mul(t, p, q)),
    spd_mean(t, spd_square(t, spd_sub(t, r, s))),
    spd_sum(t, spd_logsumexp(t, o, 1)),
    spd_sum(t, spd_exp(t, spd_scale(t, o, 0.5f))),
    spd_sum(t, spd_log(t, spd_add_scalar(t, spd_mul(t, o, o), 1.0f))),
    spd_sum(t, spd_div(t, p, spd_add_scalar(t, spd_exp(t, o), 1.0f))),
    spd_sum(t, spd_sigmoid(t, o)),
  };
  spd_tensor *loss = terms[0];
  for (int k = 1; k < 7; k++)
    loss = spd_add(t, loss, terms[k]);
  finish(&c, loss);
}
END_TEST

/* Run 0 builds relu(batch_norm) as two ops, run 1 as spd_batch_norm_relu:
 * both must match the same PyTorch values. */
START_TEST(golden_conv)
{
  struct ctx c;
  start(&c, "conv");
  spd_tape *t = c.t;
  running_stats(&c, 4);
  spd_tensor *x = in(&c, "x"), *w1 = in(&c, "w1"), *b1 = in(&c, "b1");
  spd_tensor *gamma = in(&c, "gamma"), *beta = in(&c, "beta");
  spd_tensor *w2 = in(&c, "w2"), *w3 = in(&c, "w3");
  spd_tensor *y = spd_conv2d(t, x, w1, b1, 2, 2);
  y = _i ? spd_batch_norm_relu(t, y, gamma, beta, c.p, 0, 1, 1, 0.1f, 1e-5f)
         : spd_relu(t, spd_batch_norm(t, y, gamma, beta, c.p, 0, 1, 1, 0.1f, 1e-5f));
  y = spd_conv2d(t, y, w2, NULL, 1, 1);
  const size_t flat[2] = { 2, 150 };
  y = spd_matmul_ex(t, spd_reshape(t, y, 2, flat), w3, 0, 1);
  finish(&c, spd_sum(t, spd_logsumexp(t, y, 1)));
}
END_TEST

START_TEST(golden_decoder)
{
  struct ctx c;
  start(&c, "decoder");
  spd_tape *t = c.t;
  running_stats(&c, 3);
  spd_tensor *z = in(&c, "z"), *wd = in(&c, "wd"), *wt1 = in(&c, "wt1"), *bt1 = in(&c, "bt1");
  spd_tensor *wt2 = in(&c, "wt2"), *bt2 = in(&c, "bt2"), *target = in(&c, "target");
  spd_tensor *log_sd = in(&c, "log_sd");
  const size_t img[4] = { 3, 2, 4, 4 };
  spd_tensor *h = spd_reshape(t, spd_matmul(t, z, wd), 4, img);
  h = spd_conv2d_transpose(t, h, wt1, bt1, 2, 2, 1);
  h = spd_leaky_relu(t, spd_batch_norm(t, h, NULL, NULL, c.p, 0, 1, 1, 0.1f, 1e-5f), 0.2f);
  spd_tensor *out = spd_sigmoid(t, spd_conv2d_transpose(t, h, wt2, bt2, 1, 2, 0));
  spd_tensor *parts[2] = { spd_slice(t, out, 1, 0, 1), spd_slice(t, out, 1, 1, 1) };
  spd_tensor *cat = spd_concat(t, 2, parts, 1);
  spd_tensor *dens = spd_gaussian_log_density(t, target, cat, log_sd);
  spd_tensor *loss = spd_add(t, spd_scale(t, spd_mean(t, dens), -1.0f),
                             spd_scale(t, spd_sum(t, spd_sum_axis(t, z, 0)), 0.1f));
  finish(&c, loss);
}
END_TEST

START_TEST(golden_broadcast)
{
  struct ctx c;
  start(&c, "broadcast");
  spd_tape *t = c.t;
  spd_tensor *x = in(&c, "x"), *cv = in(&c, "c"), *s = in(&c, "s");
  spd_tensor *f = in(&c, "f"), *g = in(&c, "g"), *m = in(&c, "m");
  spd_tensor *y = spd_div(t, spd_mul(t, spd_sub(t, x, cv), s),
                          spd_add_scalar(t, spd_mul(t, cv, cv), 2.0f));
  spd_tensor *y2 = spd_add(t, spd_div(t, spd_sub(t, cv, x),
                                      spd_add_scalar(t, spd_mul(t, x, x), 1.0f)),
                           spd_div(t, s, spd_add_scalar(t, cv, 3.0f)));
  spd_tensor *dens = spd_gaussian_log_density(t, f, m, g);
  spd_tensor *loss = spd_add(t, spd_sum(t, spd_square(t, y)), spd_sum(t, y2));
  loss = spd_add(t, loss, spd_sum(t, dens));
  loss = spd_add(t, loss, spd_sum(t, spd_add(t, spd_mul(t, f, g), g)));
  finish(&c, loss);
}
END_TEST

START_TEST(golden_bn_eval)
{
  struct ctx c;
  start(&c, "bn_eval");
  spd_tape *t = c.t;
  spd_params *p = NULL;
  SPDT_OK(spd_params_create(&p));
  const size_t cs[1] = { 3 };
  const float rm[3] = { 0.1f, -0.2f, 0.3f }, rv[3] = { 0.5f, 1.5f, 2.0f };
  SPDT_OK(spd_params_add(p, "rm", 1, cs, rm, 0, NULL));
  SPDT_OK(spd_params_add(p, "rv", 1, cs, rv, 0, NULL));
  spd_tensor *x = in(&c, "x"), *gamma = in(&c, "gamma"), *beta = in(&c, "beta");
  spd_tensor *y = spd_batch_norm(t, x, gamma, beta, p, 0, 1, 0, 0.1f, 1e-5f);
  spd_tensor *loss = spd_add(t, spd_sum(t, spd_tanh(t, y)),
                             spd_scale(t, spd_sum(t, spd_square(t, y)), 0.25f));
  finish(&c, loss);
  spd_params_free(p);
}
END_TEST

Suite *spdt_suite(void)
{
  Suite *s = suite_create("golden");
  SPDT_ADD(s, golden_mlp, 10);
  SPDT_ADD_LOOP(s, golden_conv, 2, 10);
  SPDT_ADD(s, golden_decoder, 10);
  SPDT_ADD(s, golden_broadcast, 10);
  SPDT_ADD(s, golden_bn_eval, 10);
  return s;
}
