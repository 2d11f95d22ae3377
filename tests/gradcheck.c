/* Finite-difference gradient check: see gradcheck.h. */
#include "gradcheck.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void spdt_fill(float *x, size_t n, unsigned seed, float lo, float hi, float away)
{
  uint64_t s = 0x9e3779b97f4a7c15u * (seed + 1);
  for (size_t i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    float u = (float)((s >> 40) * 0x1p-24);
    float v = lo + (hi - lo) * u;
    if (away > 0 && fabsf(v) < away)
      v = v < 0 ? -away : away;
    x[i] = v;
  }
}

spdt_input spdt_input_make(int requires_grad, unsigned seed, int ndim, ...)
{
  spdt_input in = { .ndim = ndim, .requires_grad = requires_grad };
  size_t n = 1;
  va_list ap;
  va_start(ap, ndim);
  for (int d = 0; d < ndim; d++) {
    in.shape[d] = va_arg(ap, size_t);
    n *= in.shape[d];
  }
  va_end(ap);
  in.data = malloc(n * sizeof *in.data);
  ck_assert_ptr_nonnull(in.data);
  spdt_fill(in.data, n, seed, -1.0f, 1.0f, 0.0f);
  return in;
}

void spdt_input_free(spdt_input *in)
{
  free(in->data);
  in->data = NULL;
}

static size_t count_of(const spdt_input *in)
{
  size_t n = 1;
  for (int d = 0; d < in->ndim; d++)
    n *= in->shape[d];
  return n;
}

/* Build the graph on a reset tape; returns its output (asserting success). */
static spd_tensor *build(spd_tape *t, int nin, spdt_input *in, spdt_graph graph, void *ctx,
                         spd_tensor **leaves)
{
  spd_tape_reset(t);
  for (int k = 0; k < nin; k++)
    leaves[k] = spd_leaf(t, in[k].ndim, in[k].shape, in[k].data, in[k].requires_grad);
  spd_tensor *y = graph(t, leaves, ctx);
  ck_assert_msg(y != NULL, "graph failed: %s", spd_tape_error(t));
  return y;
}

static double weighted(const float *y, const float *r, size_t n)
{
  double s = 0;
  for (size_t i = 0; i < n; i++)
    s += (double)r[i] * y[i];
  return s;
}

void spdt_gradcheck(const char *what, int nin, spdt_input *in, spdt_graph graph, void *ctx,
                    double h, double rtol, double atol)
{
  ck_assert_int_le(nin, SPDT_MAX_INPUTS);
  spd_tape *t = NULL;
  SPDT_OK(spd_tape_create(&t));
  spd_tensor *leaves[SPDT_MAX_INPUTS];

  spd_tensor *y = build(t, nin, in, graph, ctx, leaves);
  const size_t ny = spd_tensor_size(y);
  float *r = malloc(ny * sizeof *r);
  ck_assert_ptr_nonnull(r);
  spdt_fill(r, ny, 4242, -1.5f, 1.5f, 0.5f);

  /* Analytic: backward of sum(y * r) through the tape itself. */
  size_t shape[SPD_MAX_DIMS];
  SPDT_OK(spd_tensor_shape(y, shape));
  spd_tensor *rt = spd_leaf(t, spd_tensor_ndim(y), shape, r, 0);
  spd_tensor *loss = spd_sum(t, spd_mul(t, y, rt));
  SPDT_OK(spd_backward(t, loss));
  float *ana[SPDT_MAX_INPUTS] = { 0 };
  for (int k = 0; k < nin; k++) {
    if (!in[k].requires_grad)
      continue;
    size_t n = count_of(&in[k]);
    const float *g = spd_tensor_grad(leaves[k]);
    ck_assert_msg(g != NULL, "%s: input %d has no gradient", what, k);
    ana[k] = malloc(n * sizeof *ana[k]);
    ck_assert_ptr_nonnull(ana[k]);
    memcpy(ana[k], g, n * sizeof *ana[k]);
  }

  for (int k = 0; k < nin; k++) {
    if (!in[k].requires_grad)
      continue;
    size_t n = count_of(&in[k]);
    double gmax = 0;
    for (size_t j = 0; j < n; j++)
      gmax = fmax(gmax, fabs(ana[k][j]));
    double worst = 0; /* largest error / allowed, reported with SPDT_GRADCHECK_VERBOSE */
    for (size_t j = 0; j < n; j++) {
      const float x0 = in[k].data[j];
      const double step = h * fmax(1.0, fabs(x0));
      const float xp = (float)(x0 + step), xm = (float)(x0 - step);
      in[k].data[j] = xp;
      y = build(t, nin, in, graph, ctx, leaves);
      double lp = weighted(spd_tensor_data(y), r, ny);
      in[k].data[j] = xm;
      y = build(t, nin, in, graph, ctx, leaves);
      double lm = weighted(spd_tensor_data(y), r, ny);
      in[k].data[j] = x0;
      /* divide by the step actually taken after rounding to float */
      double num = (lp - lm) / ((double)xp - (double)xm);
      double a = ana[k][j];
      worst = fmax(worst, fabs(num - a) / (atol * fmax(gmax, 1e-3) + rtol * fabs(a)));
      ck_assert_msg(fabs(num - a) <= atol * fmax(gmax, 1e-3) + rtol * fabs(a),
                    "%s: input %d element %zu (x = %g): analytic %.7g, numeric %.7g "
                    "(largest |gradient| %.4g)", what, k, j, (double)x0, a, num, gmax);
    }
    if (getenv("SPDT_GRADCHECK_VERBOSE") != NULL)
      fprintf(stderr, "gradcheck %s input %d: worst error %.3g of the tolerance\n", what, k,
              worst);
    free(ana[k]);
  }
  free(r);
  spd_tape_free(t);
}
