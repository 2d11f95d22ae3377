/* Reductions: sum and mean to a scalar, sum and log-sum-exp along an axis.
 * Every output element is accumulated in double, in a fixed order. */
#include "tape_impl.h"

#include <math.h>
#include <string.h>

/* The backward of sum and mean: g added to every element of x's gradient.
 * A pending gradient becomes uniform instead of being written: batch norm
 * reads it as such, and the tape writes it out for any other reader
 * (spdi_grad_fill), so a loss's gradient fill costs nothing where a
 * layer's output is summed directly (PyTorch's backward of sum returns an
 * expanded view, for the same reason). Adding to a uniform gradient adds
 * to its value: the same float additions, in the same order, as the
 * elementwise ones. */
static void add_uniform_grad(spd_tensor *x, float g)
{
  if (x->grad_pending) {
    x->grad_pending = false;
    x->grad_uniform = true;
    x->grad_const = g;
  } else if (x->grad_uniform) {
    x->grad_const += g;
  } else {
    spdi_grad_materialize(x); /* a deferred gradient (grad_deferred) written out */
    float *gx = x->grad;
    SPDI_FOR(x->n, gx[i] += g);
  }
}

int spdi_op_sum(spd_tape *t, spd_tensor *y, enum spdi_action action)
{
  (void)t;
  spd_tensor *x = y->in[0];
  switch (action) {
  case SPDI_SHAPE:
    y->ndim = 0;
    return SPD_OK;
  case SPDI_FORWARD:
    y->data[0] = (float)spdi_dsum(x->data, x->n);
    return SPD_OK;
  case SPDI_BACKWARD:
    add_uniform_grad(x, y->grad[0]);
    return SPD_OK;
  }
  return SPD_OK;
}

int spdi_op_mean(spd_tape *t, spd_tensor *y, enum spdi_action action)
{
  (void)t;
  spd_tensor *x = y->in[0];
  switch (action) {
  case SPDI_SHAPE:
    y->ndim = 0;
    return SPD_OK;
  case SPDI_FORWARD:
    y->data[0] = (float)(spdi_dsum(x->data, x->n) / (double)x->n);
    return SPD_OK;
  case SPDI_BACKWARD:
    add_uniform_grad(x, (float)(y->grad[0] / (double)x->n));
    return SPD_OK;
  }
  return SPD_OK;
}

/* Shape of a reduction along iarg[0] (already resolved): the axis removed. */
static int axis_shape(spd_tape *t, spd_tensor *y)
{
  const spd_tensor *x = y->in[0];
  int axis = spdi_axis((int)y->iarg[0], x->ndim);
  if (axis < 0) {
    char s[64];
    return spdi_tape_fail(t, SPD_E_INVALID, "axis %lld is out of range for shape %s",
                          (long long)y->iarg[0], spdi_shape_str(x, s));
  }
  y->iarg[0] = axis;
  y->ndim = (uint8_t)(x->ndim - 1);
  for (int d = 0, e = 0; d < x->ndim; d++)
    if (d != axis)
      y->shape[e++] = x->shape[d];
  return SPD_OK;
}

int spdi_op_sum_axis(spd_tape *t, spd_tensor *y, enum spdi_action action)
{
  if (action == SPDI_SHAPE)
    return axis_shape(t, y);
  const spd_tensor *x = y->in[0];
  size_t outer, len, inner;
  spdi_split_axis(x, (int)y->iarg[0], &outer, &len, &inner);
  const size_t m = outer * inner;
  if (action == SPDI_FORWARD) {
    const float *xd = x->data;
    float *out = y->data;
    SPDI_PARALLEL_FOR(spdi_par_threads(x->n), k, m, {
      const float *p = xd + (k / inner) * len * inner + k % inner;
      double s = 0;
      for (size_t l = 0; l < len; l++)
        s += p[l * inner];
      out[k] = (float)s;
    });
    return SPD_OK;
  }
  float *gx = x->grad;
  const float *dy = y->grad;
  SPDI_PARALLEL_FOR(spdi_par_threads(x->n), o, outer, {
    for (size_t l = 0; l < len; l++) {
      float *g = gx + (o * len + l) * inner;
      const float *d = dy + o * inner;
      for (size_t j = 0; j < inner; j++)
        g[j] += d[j];
    }
  });
  return SPD_OK;
}

int spdi_op_logsumexp(spd_tape *t, spd_tensor *y, enum spdi_action action)
{
  if (action == SPDI_SHAPE)
    return axis_shape(t, y);
  const spd_tensor *x = y->in[0];
  size_t outer, len, inner;
  spdi_split_axis(x, (int)y->iarg[0], &outer, &len, &inner);
  const size_t m = outer * inner;
  const float *xd = x->data;
  float *out = y->data;
  if (action == SPDI_FORWARD) {
    SPDI_PARALLEL_FOR(spdi_par_threads(x->n), k, m, {
      const float *p = xd + (k / inner) * len * inner + k % inner;
      float mx = p[0];
      for (size_t l = 1; l < len; l++)
        mx = p[l * inner] > mx ? p[l * inner] : mx;
      double s = 0;
      for (size_t l = 0; l < len; l++)
        s += exp((double)p[l * inner] - mx);
      out[k] = (float)(mx + log(s));
    });
    return SPD_OK;
  }
  /* d/dx_l = exp(x_l - y): the softmax along the axis. */
  float *gx = x->grad;
  const float *dy = y->grad;
  SPDI_PARALLEL_FOR(spdi_par_threads(x->n), k, m, {
    const size_t base = (k / inner) * len * inner + k % inner;
    for (size_t l = 0; l < len; l++) {
      size_t idx = base + l * inner;
      gx[idx] += dy[k] * (float)exp((double)xd[idx] - out[k]);
    }
  });
  return SPD_OK;
}

/* ---- builders ------------------------------------------------------------ */

spd_tensor *spd_sum(spd_tape *t, spd_tensor *x)
{
  return spdi_node(t, SPDI_OP_SUM, 1, &x, NULL);
}

spd_tensor *spd_mean(spd_tape *t, spd_tensor *x)
{
  return spdi_node(t, SPDI_OP_MEAN, 1, &x, NULL);
}

spd_tensor *spd_sum_axis(spd_tape *t, spd_tensor *x, int axis)
{
  struct spdi_args a = { .i = { axis } };
  return spdi_node(t, SPDI_OP_SUM_AXIS, 1, &x, &a);
}

spd_tensor *spd_logsumexp(spd_tape *t, spd_tensor *x, int axis)
{
  struct spdi_args a = { .i = { axis } };
  return spdi_node(t, SPDI_OP_LOGSUMEXP, 1, &x, &a);
}
