/* Activations and elementwise functions: relu, leaky relu, elu, sigmoid,
 * tanh, softplus, exp, log, square. Each backward uses whichever of the
 * input x and the output y gives the cheapest exact derivative. */
#include "tape_impl.h"
#include "vmath.h"

#include <math.h>
#include <string.h>

static int same_shape(spd_tensor *y)
{
  y->ndim = y->in[0]->ndim;
  memcpy(y->shape, y->in[0]->shape, sizeof y->shape);
  return SPD_OK;
}

/* Declares x, out, dy, gx for the op bodies below. */
#define UNARY_VARS                                                            \
  const float *x = y->in[0]->data;                                            \
  float *out = y->data;                                                       \
  const float *dy = y->grad;                                                  \
  float *gx = y->in[0]->grad;                                                 \
  (void)x; (void)out; (void)dy; (void)gx

/* gx = (or += while the input's gradient was written before: these ops
 * assign first gradients, spdi_grad_first) the value of DX at element i,
 * DX written in terms of d, the output's gradient there: dy[i], or its
 * value where it is uniform (a sum's or mean's input, grad_uniform), which
 * spares writing it out and reading it back; the same bits either way.
 * DX must not read memory under a condition (relu's backward was 28 % of a
 * conv layer's step that way): pass loaded values to spdi_pick. */
#define UNARY_BACKWARD(DX)                                                    \
  do {                                                                        \
    const bool first_ = spdi_grad_first(y->in[0]);                            \
    if (y->grad_uniform) {                                                    \
      const float d = y->grad_const;                                          \
      if (first_)                                                             \
        SPDI_FOR(y->n, gx[i] = (DX));                                         \
      else                                                                    \
        SPDI_FOR(y->n, gx[i] += (DX));                                        \
    } else if (first_) {                                                      \
      SPDI_FOR(y->n, { const float d = dy[i]; gx[i] = (DX); });               \
    } else {                                                                  \
      SPDI_FOR(y->n, { const float d = dy[i]; gx[i] += (DX); });              \
    }                                                                         \
  } while (0)

int spdi_op_relu(spd_tape *t, spd_tensor *y, enum spdi_action action)
{
  (void)t;
  UNARY_VARS;
  switch (action) {
  case SPDI_SHAPE: return same_shape(y);
  case SPDI_FORWARD: SPDI_FOR(y->n, out[i] = x[i] > 0.0f ? x[i] : 0.0f); break;
  case SPDI_BACKWARD: UNARY_BACKWARD(spdi_pick(x[i] > 0.0f, d, 0.0f)); break;
  }
  return SPD_OK;
}

int spdi_op_leaky_relu(spd_tape *t, spd_tensor *y, enum spdi_action action)
{
  UNARY_VARS;
  const float s = y->farg[0];
  switch (action) {
  case SPDI_SHAPE:
    if (!isfinite(s))
      return spdi_tape_fail(t, SPD_E_DOMAIN, "slope %g is not finite", (double)s);
    return same_shape(y);
  case SPDI_FORWARD: SPDI_FOR(y->n, out[i] = x[i] > 0.0f ? x[i] : s * x[i]); break;
  case SPDI_BACKWARD: UNARY_BACKWARD(spdi_pick(x[i] > 0.0f, d, s * d)); break;
  }
  return SPD_OK;
}

int spdi_op_elu(spd_tape *t, spd_tensor *y, enum spdi_action action)
{
  UNARY_VARS;
  const float a = y->farg[0];
  switch (action) {
  case SPDI_SHAPE:
    if (!isfinite(a))
      return spdi_tape_fail(t, SPD_E_DOMAIN, "alpha %g is not finite", (double)a);
    return same_shape(y);
  case SPDI_FORWARD: SPDI_FOR(y->n, out[i] = x[i] > 0.0f ? x[i] : a * expm1f(x[i])); break;
  /* d/dx a (e^x - 1) = a e^x = y + a */
  case SPDI_BACKWARD: UNARY_BACKWARD(spdi_pick(x[i] > 0.0f, d, d * (out[i] + a))); break;
  }
  return SPD_OK;
}

/* 1 / (1 + e^-v) from e = e^-|v| <= 1, so nothing overflows, with selects
 * only: the loops over it vectorise (spdi_expf; expf is a scalar call).
 * Below v = -87.3 it returns 0 where expf would give a denormal. */
static inline float sigmoidf(float v)
{
  const float e = spdi_expf(-fabsf(v)), r = 1.0f / (1.0f + e);
  return spdi_pick(v >= 0.0f, r, e * r);
}

SPDI_CLONES static void sigmoid_span(const float *x, float *out, size_t n)
{
#pragma omp simd
  for (size_t i = 0; i < n; i++)
    out[i] = sigmoidf(x[i]);
}

int spdi_op_sigmoid(spd_tape *t, spd_tensor *y, enum spdi_action action)
{
  (void)t;
  UNARY_VARS;
  switch (action) {
  case SPDI_SHAPE: return same_shape(y);
  case SPDI_FORWARD: {
    /* spans of 4096 through the ISA clones: the exp's selects cost three
     * instructions each in the baseline's SSE2 (no faster than expf) and
     * one in AVX-512; every clone gives the same bits (vmath.h). */
    const size_t n = y->n, span = 4096, nspan = (n + span - 1) / span;
    SPDI_PARALLEL_FOR(spdi_par_threads(n), s, nspan, {
      const size_t lo = s * span;
      sigmoid_span(x + lo, out + lo, n - lo < span ? n - lo : span);
    });
    break;
  }
  case SPDI_BACKWARD: UNARY_BACKWARD(d * out[i] * (1.0f - out[i])); break;
  }
  return SPD_OK;
}

int spdi_op_tanh(spd_tape *t, spd_tensor *y, enum spdi_action action)
{
  (void)t;
  UNARY_VARS;
  switch (action) {
  case SPDI_SHAPE: return same_shape(y);
  case SPDI_FORWARD: SPDI_FOR(y->n, out[i] = tanhf(x[i])); break;
  case SPDI_BACKWARD: UNARY_BACKWARD(d * (1.0f - out[i] * out[i])); break;
  }
  return SPD_OK;
}

int spdi_op_softplus(spd_tape *t, spd_tensor *y, enum spdi_action action)
{
  (void)t;
  UNARY_VARS;
  switch (action) {
  case SPDI_SHAPE: return same_shape(y);
  /* max(x, 0) + log1p(exp(-|x|)): exact for large |x|, no overflow */
  case SPDI_FORWARD:
    SPDI_FOR(y->n, out[i] = fmaxf(x[i], 0.0f) + log1pf(expf(-fabsf(x[i]))));
    break;
  case SPDI_BACKWARD: UNARY_BACKWARD(d * sigmoidf(x[i])); break;
  }
  return SPD_OK;
}

int spdi_op_exp(spd_tape *t, spd_tensor *y, enum spdi_action action)
{
  UNARY_VARS;
  switch (action) {
  case SPDI_SHAPE: return same_shape(y);
  case SPDI_FORWARD: {
    SPDI_FOR(y->n, out[i] = expf(x[i]));
    if (!spdi_all_finite(out, y->n)) {
      char s[64];
      return spdi_tape_fail(t, SPD_E_NUMERIC, "exp of a tensor of shape %s overflows "
                            "(a value above 88.7)", spdi_shape_str(y, s));
    }
    break;
  }
  case SPDI_BACKWARD: UNARY_BACKWARD(d * out[i]); break;
  }
  return SPD_OK;
}

int spdi_op_log(spd_tape *t, spd_tensor *y, enum spdi_action action)
{
  UNARY_VARS;
  switch (action) {
  case SPDI_SHAPE: return same_shape(y);
  case SPDI_FORWARD: {
    int bad = 0;
    for (size_t i = 0; i < y->n; i++)
      bad |= !(x[i] > 0.0f);
    if (bad) {
      char s[64];
      return spdi_tape_fail(t, SPD_E_DOMAIN, "input of shape %s holds a value <= 0",
                            spdi_shape_str(y, s));
    }
    SPDI_FOR(y->n, out[i] = logf(x[i]));
    break;
  }
  case SPDI_BACKWARD: UNARY_BACKWARD(d / x[i]); break;
  }
  return SPD_OK;
}

int spdi_op_square(spd_tape *t, spd_tensor *y, enum spdi_action action)
{
  (void)t;
  UNARY_VARS;
  switch (action) {
  case SPDI_SHAPE: return same_shape(y);
  case SPDI_FORWARD: SPDI_FOR(y->n, out[i] = x[i] * x[i]); break;
  case SPDI_BACKWARD: UNARY_BACKWARD(2.0f * x[i] * d); break;
  }
  return SPD_OK;
}

/* ---- builders ------------------------------------------------------------ */

static spd_tensor *unary(spd_tape *t, enum spdi_op op, spd_tensor *x, float arg)
{
  struct spdi_args a = { .f = { arg } };
  return spdi_node(t, op, 1, &x, &a);
}

spd_tensor *spd_relu(spd_tape *t, spd_tensor *x) { return unary(t, SPDI_OP_RELU, x, 0); }
spd_tensor *spd_leaky_relu(spd_tape *t, spd_tensor *x, float slope)
{
  return unary(t, SPDI_OP_LEAKY_RELU, x, slope);
}
spd_tensor *spd_elu(spd_tape *t, spd_tensor *x, float alpha)
{
  return unary(t, SPDI_OP_ELU, x, alpha);
}
spd_tensor *spd_sigmoid(spd_tape *t, spd_tensor *x) { return unary(t, SPDI_OP_SIGMOID, x, 0); }
spd_tensor *spd_tanh(spd_tape *t, spd_tensor *x) { return unary(t, SPDI_OP_TANH, x, 0); }
spd_tensor *spd_softplus(spd_tape *t, spd_tensor *x) { return unary(t, SPDI_OP_SOFTPLUS, x, 0); }
spd_tensor *spd_exp(spd_tape *t, spd_tensor *x) { return unary(t, SPDI_OP_EXP, x, 0); }
spd_tensor *spd_log(spd_tape *t, spd_tensor *x) { return unary(t, SPDI_OP_LOG, x, 0); }
spd_tensor *spd_square(spd_tape *t, spd_tensor *x) { return unary(t, SPDI_OP_SQUARE, x, 0); }
