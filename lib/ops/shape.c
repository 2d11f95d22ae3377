/* Shape ops: reshape (a view of the same values), slice and concat. */
#include "tape_impl.h"

#include <string.h>

int spdi_op_reshape(spd_tape *t, spd_tensor *y, enum spdi_action action)
{
  const spd_tensor *x = y->in[0];
  switch (action) {
  case SPDI_SHAPE: {
    const size_t *shape = y->cptr[0];
    int64_t ndim = y->iarg[0];
    if (ndim < 0 || ndim > SPDI_MAX_DIMS)
      return spdi_tape_fail(t, SPD_E_INVALID, "ndim %lld is not in 0..%d",
                            (long long)ndim, SPDI_MAX_DIMS);
    if (ndim > 0 && shape == NULL)
      return spdi_tape_fail(t, SPD_E_INVALID, "shape is NULL");
    size_t n = 1;
    bool overflow = false;
    for (int d = 0; d < ndim; d++) {
      y->shape[d] = shape[d];
      overflow |= !spdi_size_mul(n, shape[d], &n);
    }
    y->ndim = (uint8_t)ndim;
    if (overflow || n != x->n) {
      char sx[64], sy[64];
      return spdi_tape_fail(t, SPD_E_SHAPE, "cannot reshape %s (%zu elements) to %s",
                            spdi_shape_str(x, sx), x->n, spdi_shape_str(y, sy));
    }
    /* Nothing is ever written in place, so the values can be shared. */
    y->data = x->data;
    return SPD_OK;
  }
  case SPDI_FORWARD:
    return SPD_OK;
  case SPDI_BACKWARD: {
    float *gx = x->grad;
    const float *dy = y->grad;
    SPDI_FOR(y->n, gx[i] += dy[i]);
    return SPD_OK;
  }
  }
  return SPD_OK;
}

int spdi_op_slice(spd_tape *t, spd_tensor *y, enum spdi_action action)
{
  const spd_tensor *x = y->in[0];
  if (action == SPDI_SHAPE) {
    char s[64];
    int axis = spdi_axis((int)y->iarg[0], x->ndim);
    if (axis < 0)
      return spdi_tape_fail(t, SPD_E_INVALID, "axis %lld is out of range for shape %s",
                            (long long)y->iarg[0], spdi_shape_str(x, s));
    size_t start = (size_t)y->iarg[1], len = (size_t)y->iarg[2];
    if (len == 0 || start >= x->shape[axis] || len > x->shape[axis] - start)
      return spdi_tape_fail(t, SPD_E_INVALID,
                            "slice [%zu, %zu + %zu) is empty or outside axis %d of %s",
                            start, start, len, axis, spdi_shape_str(x, s));
    y->iarg[0] = axis;
    y->ndim = x->ndim;
    memcpy(y->shape, x->shape, sizeof y->shape);
    y->shape[axis] = len;
    return SPD_OK;
  }
  size_t outer, xlen, inner;
  spdi_split_axis(x, (int)y->iarg[0], &outer, &xlen, &inner);
  const size_t start = (size_t)y->iarg[1], len = (size_t)y->iarg[2];
  const size_t run = len * inner;
  if (action == SPDI_FORWARD) {
    for (size_t o = 0; o < outer; o++)
      memcpy(y->data + o * run, x->data + (o * xlen + start) * inner, run * sizeof(float));
    return SPD_OK;
  }
  for (size_t o = 0; o < outer; o++) {
    float *g = x->grad + (o * xlen + start) * inner;
    const float *d = y->grad + o * run;
    for (size_t j = 0; j < run; j++)
      g[j] += d[j];
  }
  return SPD_OK;
}

int spdi_op_concat(spd_tape *t, spd_tensor *y, enum spdi_action action)
{
  if (y->nin == 0) /* only from the builder's argument check */
    return y->iarg[2] ? spdi_tape_fail(t, SPD_E_INVALID, "xs is NULL")
                      : spdi_tape_fail(t, SPD_E_INVALID, "%lld tensors given; 1 to 255 expected",
                                       (long long)y->iarg[1]);
  const spd_tensor *x0 = y->in[0];
  const int axis = (int)y->iarg[0];
  if (action == SPDI_SHAPE) {
    char s0[64], s1[64];
    int ax = spdi_axis(axis, x0->ndim);
    if (ax < 0)
      return spdi_tape_fail(t, SPD_E_INVALID, "axis %d is out of range for shape %s",
                            axis, spdi_shape_str(x0, s0));
    size_t total = 0;
    for (int k = 0; k < y->nin; k++) {
      const spd_tensor *xk = y->in[k];
      bool ok = xk->ndim == x0->ndim;
      for (int d = 0; ok && d < x0->ndim; d++)
        ok = d == ax || xk->shape[d] == x0->shape[d];
      if (!ok)
        return spdi_tape_fail(t, SPD_E_SHAPE,
                              "input %d has shape %s, which does not match %s "
                              "outside axis %d", k + 1, spdi_shape_str(xk, s1),
                              spdi_shape_str(x0, s0), ax);
      total += xk->shape[ax];
    }
    y->iarg[0] = ax;
    y->ndim = x0->ndim;
    memcpy(y->shape, x0->shape, sizeof y->shape);
    y->shape[ax] = total;
    return SPD_OK;
  }
  size_t outer, len, inner;
  spdi_split_axis(y, axis, &outer, &len, &inner);
  size_t offset = 0; /* along the axis */
  for (int k = 0; k < y->nin; k++) {
    const spd_tensor *xk = y->in[k];
    const size_t run = xk->shape[axis] * inner;
    if (action == SPDI_FORWARD) {
      for (size_t o = 0; o < outer; o++)
        memcpy(y->data + (o * len + offset) * inner, xk->data + o * run, run * sizeof(float));
    } else if (xk->requires_grad) {
      for (size_t o = 0; o < outer; o++) {
        float *g = xk->grad + o * run;
        const float *d = y->grad + (o * len + offset) * inner;
        for (size_t j = 0; j < run; j++)
          g[j] += d[j];
      }
    }
    offset += xk->shape[axis];
  }
  return SPD_OK;
}

/* ---- builders ------------------------------------------------------------ */

spd_tensor *spd_reshape(spd_tape *t, spd_tensor *x, int ndim, const size_t *shape)
{
  struct spdi_args a = { .i = { ndim }, .cptr = { shape } };
  return spdi_node(t, SPDI_OP_RESHAPE, 1, &x, &a);
}

spd_tensor *spd_slice(spd_tape *t, spd_tensor *x, int axis, size_t start, size_t length)
{
  if (start > INT64_MAX || length > INT64_MAX) {
    start = SIZE_MAX; /* out of range for any axis: reported by the op */
    length = 0;
  }
  struct spdi_args a = { .i = { axis, (int64_t)start, (int64_t)length } };
  return spdi_node(t, SPDI_OP_SLICE, 1, &x, &a);
}

spd_tensor *spd_concat(spd_tape *t, int n, spd_tensor *const *xs, int axis)
{
  if (t != NULL && spd_tape_status(t) == SPD_OK && (n < 1 || n > 255 || xs == NULL)) {
    /* Reported through a zero-input node so that the error is sticky. */
    struct spdi_args a = { .i = { axis, n, xs == NULL } };
    return spdi_node(t, SPDI_OP_CONCAT, 0, NULL, &a);
  }
  struct spdi_args a = { .i = { axis } };
  return spdi_node(t, SPDI_OP_CONCAT, n, xs, &a);
}
