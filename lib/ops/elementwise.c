/* Elementwise arithmetic: add, sub, mul, div (with broadcasting), scale and
 * add-scalar. */
#include "tape_impl.h"

#include <math.h>
#include <string.h>

/* The two operands of a binary op seen as a full-shaped one and a possibly
 * broadcast ("small") one; which is which was settled by the shape check. */
struct binary {
  const float *full, *small;
  float *gfull, *gsmall; /* NULL when that operand needs no gradient */
  bool small_is_b;
  enum spdi_bcast_kind kind;
  struct spdi_bcast geom;
};

static int binary_shape(spd_tape *t, spd_tensor *y)
{
  const spd_tensor *a = y->in[0], *b = y->in[1];
  struct spdi_bcast g = { 1, 1, 1 };
  int small_is_b = 1;
  enum spdi_bcast_kind k = spdi_bcast_classify(a, b, &g);
  if (k == SPDI_BC_NONE) {
    small_is_b = 0;
    k = spdi_bcast_classify(b, a, &g);
  }
  if (k == SPDI_BC_NONE) {
    char sa[64], sb[64];
    return spdi_tape_fail(t, SPD_E_SHAPE,
                          "shapes %s and %s do not broadcast (same shape, one element, or "
                          "a vector along dimension 1 expected)",
                          spdi_shape_str(a, sa), spdi_shape_str(b, sb));
  }
  const spd_tensor *full = small_is_b ? a : b;
  y->ndim = full->ndim;
  memcpy(y->shape, full->shape, sizeof y->shape);
  y->iarg[0] = k;
  y->iarg[1] = small_is_b;
  y->iarg[2] = (int64_t)g.outer;
  y->iarg[3] = (int64_t)g.chans;
  y->iarg[4] = (int64_t)g.inner;
  return SPD_OK;
}

static struct binary binary_get(const spd_tensor *y)
{
  const spd_tensor *a = y->in[0], *b = y->in[1];
  struct binary r;
  r.kind = (enum spdi_bcast_kind)y->iarg[0];
  r.small_is_b = y->iarg[1] != 0;
  r.geom.outer = (size_t)y->iarg[2];
  r.geom.chans = (size_t)y->iarg[3];
  r.geom.inner = (size_t)y->iarg[4];
  const spd_tensor *full = r.small_is_b ? a : b, *small = r.small_is_b ? b : a;
  r.full = full->data;
  r.small = small->data;
  r.gfull = full->requires_grad ? full->grad : NULL;
  r.gsmall = small->requires_grad ? small->grad : NULL;
  return r;
}

/* Sums of x (times w when w != NULL) over the groups that map onto one
 * element of the small operand: n sums for SAME (not computed: the caller
 * works elementwise), one for SCALAR, one per channel for CHANNEL. NULL on
 * allocation failure (sticky). */
static double *group_sums(spd_tape *t, const struct binary *r, const float *x,
                          const float *w, size_t n)
{
  size_t count = r->kind == SPDI_BC_CHANNEL ? r->geom.chans : 1;
  double *s = spdi_tape_alloc(t, count * sizeof *s);
  if (s == NULL)
    return NULL;
  if (r->kind == SPDI_BC_CHANNEL)
    spdi_channel_sums(x, w, &r->geom, s);
  else
    s[0] = w != NULL ? spdi_ddot(x, w, n) : spdi_dsum(x, n);
  return s;
}

/* gsmall += scale * (sum of x w over each group), or = with assign. */
static int reduce_into_small(spd_tape *t, const struct binary *r, const float *x,
                             const float *w, size_t n, float scale, bool assign)
{
  if (r->gsmall == NULL)
    return SPD_OK;
  float *g = r->gsmall;
  if (r->kind == SPDI_BC_SAME) {
    if (w != NULL)
      SPDI_FOR(n, g[i] = (assign ? 0.0f : g[i]) + scale * (x[i] * w[i]));
    else if (assign)
      SPDI_FOR(n, g[i] = scale * x[i]);
    else
      SPDI_FOR(n, g[i] += scale * x[i]);
    return SPD_OK;
  }
  double *s = group_sums(t, r, x, w, n);
  if (s == NULL)
    return spd_tape_status(t);
  size_t count = r->kind == SPDI_BC_CHANNEL ? r->geom.chans : 1;
  for (size_t c = 0; c < count; c++)
    g[c] = (assign ? 0.0f : g[c]) + (float)(scale * s[c]);
  return SPD_OK;
}

int spdi_op_add(spd_tape *t, spd_tensor *y, enum spdi_action action)
{
  if (action == SPDI_SHAPE)
    return binary_shape(t, y);
  struct binary r = binary_get(y);
  float *out = y->data;
  const float *full = r.full;
  if (action == SPDI_FORWARD) {
    SPDI_FOR_BCAST(r.kind, &r.geom, r.small, y->n, out[i] = full[i] + sv);
    return SPD_OK;
  }
  const float *dy = y->grad;
  float *gf = r.gfull;
  spd_tensor *full_t = y->in[r.small_is_b ? 0 : 1], *small_t = y->in[r.small_is_b ? 1 : 0];
  if (gf != NULL) {
    if (spdi_grad_first(full_t))
      SPDI_FOR(y->n, gf[i] = dy[i]);
    else
      SPDI_FOR(y->n, gf[i] += dy[i]);
  }
  const bool first = r.gsmall != NULL && spdi_grad_first(small_t);
  const int rc = reduce_into_small(t, &r, dy, NULL, y->n, 1.0f, first);
  spdi_grad_unclaim(small_t, first && rc != SPD_OK);
  return rc;
}

int spdi_op_sub(spd_tape *t, spd_tensor *y, enum spdi_action action)
{
  if (action == SPDI_SHAPE)
    return binary_shape(t, y);
  struct binary r = binary_get(y);
  float *out = y->data;
  const float *full = r.full;
  if (action == SPDI_FORWARD) {
    if (r.small_is_b)
      SPDI_FOR_BCAST(r.kind, &r.geom, r.small, y->n, out[i] = full[i] - sv);
    else
      SPDI_FOR_BCAST(r.kind, &r.geom, r.small, y->n, out[i] = sv - full[i]);
    return SPD_OK;
  }
  const float *dy = y->grad;
  float *gf = r.gfull;
  const float sign = r.small_is_b ? 1.0f : -1.0f; /* sign of the full operand */
  if (gf != NULL)
    SPDI_FOR(y->n, gf[i] += sign * dy[i]);
  return reduce_into_small(t, &r, dy, NULL, y->n, -sign, false);
}

int spdi_op_mul(spd_tape *t, spd_tensor *y, enum spdi_action action)
{
  if (action == SPDI_SHAPE)
    return binary_shape(t, y);
  struct binary r = binary_get(y);
  float *out = y->data;
  const float *full = r.full;
  if (action == SPDI_FORWARD) {
    SPDI_FOR_BCAST(r.kind, &r.geom, r.small, y->n, out[i] = full[i] * sv);
    return SPD_OK;
  }
  const float *dy = y->grad;
  float *gf = r.gfull;
  if (gf != NULL)
    SPDI_FOR_BCAST(r.kind, &r.geom, r.small, y->n, gf[i] += dy[i] * sv);
  return reduce_into_small(t, &r, dy, full, y->n, 1.0f, false);
}

int spdi_op_div(spd_tape *t, spd_tensor *y, enum spdi_action action)
{
  if (action == SPDI_SHAPE)
    return binary_shape(t, y);
  struct binary r = binary_get(y);
  float *out = y->data;
  const float *full = r.full;
  if (action == SPDI_FORWARD) {
    const spd_tensor *b = y->in[1];
    int zero = 0;
    const float *bd = b->data;
    for (size_t i = 0; i < b->n; i++)
      zero |= bd[i] == 0.0f;
    if (zero) {
      char s[64];
      return spdi_tape_fail(t, SPD_E_DOMAIN, "divisor of shape %s holds a zero",
                            spdi_shape_str(b, s));
    }
    if (r.small_is_b)
      SPDI_FOR_BCAST(r.kind, &r.geom, r.small, y->n, out[i] = full[i] / sv);
    else
      SPDI_FOR_BCAST(r.kind, &r.geom, r.small, y->n, out[i] = sv / full[i]);
    return SPD_OK;
  }
  const float *dy = y->grad;
  float *gf = r.gfull;
  if (r.small_is_b) {
    /* a full, b small: da = dy / b; db = -sum(dy y) / b per group. */
    if (gf != NULL)
      SPDI_FOR_BCAST(r.kind, &r.geom, r.small, y->n, gf[i] += dy[i] / sv);
    if (r.gsmall == NULL)
      return SPD_OK;
    float *gb = r.gsmall;
    const float *bs = r.small;
    if (r.kind == SPDI_BC_SAME) {
      SPDI_FOR(y->n, gb[i] -= dy[i] * out[i] / bs[i]);
      return SPD_OK;
    }
    double *s = group_sums(t, &r, dy, out, y->n);
    if (s == NULL)
      return spd_tape_status(t);
    size_t count = r.kind == SPDI_BC_CHANNEL ? r.geom.chans : 1;
    for (size_t c = 0; c < count; c++)
      gb[c] -= (float)(s[c] / bs[c]);
    return SPD_OK;
  }
  /* a small, b full: db = -dy y / b; da = sum(dy / b) per group. */
  if (gf != NULL)
    SPDI_FOR(y->n, gf[i] -= dy[i] * out[i] / full[i]);
  if (r.gsmall == NULL)
    return SPD_OK;
  float *tmp = spdi_tape_scratch(t, y->n * sizeof *tmp);
  if (tmp == NULL)
    return spd_tape_status(t);
  SPDI_FOR(y->n, tmp[i] = dy[i] / full[i]);
  return reduce_into_small(t, &r, tmp, NULL, y->n, 1.0f, false);
}

static int unary_shape(spd_tensor *y)
{
  y->ndim = y->in[0]->ndim;
  memcpy(y->shape, y->in[0]->shape, sizeof y->shape);
  return SPD_OK;
}

int spdi_op_scale(spd_tape *t, spd_tensor *y, enum spdi_action action)
{
  const float s = y->farg[0];
  const float *x = y->in[0]->data;
  float *out = y->data;
  switch (action) {
  case SPDI_SHAPE:
    if (!isfinite(s))
      return spdi_tape_fail(t, SPD_E_DOMAIN, "factor %g is not finite", (double)s);
    return unary_shape(y);
  case SPDI_FORWARD:
    SPDI_FOR(y->n, out[i] = s * x[i]);
    return SPD_OK;
  case SPDI_BACKWARD: {
    float *gx = y->in[0]->grad;
    const float *dy = y->grad;
    SPDI_FOR(y->n, gx[i] += s * dy[i]);
    return SPD_OK;
  }
  }
  return SPD_OK;
}

int spdi_op_add_scalar(spd_tape *t, spd_tensor *y, enum spdi_action action)
{
  const float s = y->farg[0];
  const float *x = y->in[0]->data;
  float *out = y->data;
  switch (action) {
  case SPDI_SHAPE:
    if (!isfinite(s))
      return spdi_tape_fail(t, SPD_E_DOMAIN, "constant %g is not finite", (double)s);
    return unary_shape(y);
  case SPDI_FORWARD:
    SPDI_FOR(y->n, out[i] = x[i] + s);
    return SPD_OK;
  case SPDI_BACKWARD: {
    float *gx = y->in[0]->grad;
    const float *dy = y->grad;
    SPDI_FOR(y->n, gx[i] += dy[i]);
    return SPD_OK;
  }
  }
  return SPD_OK;
}

/* ---- builders ------------------------------------------------------------ */

static spd_tensor *binary(spd_tape *t, enum spdi_op op, spd_tensor *a, spd_tensor *b)
{
  spd_tensor *in[2] = { a, b };
  return spdi_node(t, op, 2, in, NULL);
}

spd_tensor *spd_add(spd_tape *t, spd_tensor *a, spd_tensor *b)
{
  return binary(t, SPDI_OP_ADD, a, b);
}

spd_tensor *spd_sub(spd_tape *t, spd_tensor *a, spd_tensor *b)
{
  return binary(t, SPDI_OP_SUB, a, b);
}

spd_tensor *spd_mul(spd_tape *t, spd_tensor *a, spd_tensor *b)
{
  return binary(t, SPDI_OP_MUL, a, b);
}

spd_tensor *spd_div(spd_tape *t, spd_tensor *a, spd_tensor *b)
{
  return binary(t, SPDI_OP_DIV, a, b);
}

spd_tensor *spd_scale(spd_tape *t, spd_tensor *x, float s)
{
  struct spdi_args a = { .f = { s } };
  return spdi_node(t, SPDI_OP_SCALE, 1, &x, &a);
}

spd_tensor *spd_add_scalar(spd_tape *t, spd_tensor *x, float s)
{
  struct spdi_args a = { .f = { s } };
  return spdi_node(t, SPDI_OP_ADD_SCALAR, 1, &x, &a);
}
