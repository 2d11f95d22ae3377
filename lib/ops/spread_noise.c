/* The spread noise op: y = x + T(raw), reparameterised. The raw draws
 * (eps, eta, or unit Laplace values) are kept on the tape, so backward can
 * send dl/dy to x unchanged and, through the spread's noise-map gradient, to
 * a tensor holding the spread's parameters (how a spread is learned).
 *
 * in[0] = x (rows along axis 0, each row one point of the spread's
 * dimension); optional in[1] = theta, the spread's parameters as a 1-D
 * tensor, which must equal spd_spread_get_params() when the op is built. */
#include "spread_internal.h"
#include "tape_impl.h"

#include <spreaddiv/spread.h>

struct noise_saved {
  const spd_spread *spread; /* borrowed: alive and unchanged until backward */
  float *raw;               /* rows x width raw draws (arena) */
  size_t rows, width;
};

/* A library call failed inside the op: keep its message on the tape. */
static int fail_from_call(spd_tape *t, int st)
{
  return spdi_tape_fail(t, st, "%s", spd_last_error());
}

static int noise_shape(spd_tape *t, spd_tensor *y)
{
  const spd_spread *s = y->cptr[0];
  const spd_tensor *x = y->in[0];
  char sx[64];
  if (s == NULL)
    return spdi_tape_fail(t, SPD_E_INVALID, "spread is NULL");
  if (y->ptr == NULL)
    return spdi_tape_fail(t, SPD_E_INVALID, "rng is NULL");
  const size_t dim = spd_spread_dim(s);
  if (x->ndim < 1 || x->n == 0 || x->n / x->shape[0] != dim)
    return spdi_tape_fail(t, SPD_E_SHAPE, "x %s is not rows of the spread's dimension %zu",
                          spdi_shape_str(x, sx), dim);
  if (y->nin == 2) {
    const spd_tensor *theta = y->in[1];
    const size_t np = spd_spread_num_params(s);
    if (theta->ndim != 1 || theta->n != np)
      return spdi_tape_fail(t, SPD_E_SHAPE, "params %s must be 1-D with the spread's %zu "
                            "parameters", spdi_shape_str(theta, sx), np);
    float *cur = spdi_tape_scratch(t, np * sizeof *cur);
    if (cur == NULL)
      return spd_tape_status(t);
    int st = spd_spread_get_params(s, cur);
    if (st != SPD_OK)
      return fail_from_call(t, st);
    for (size_t i = 0; i < np; i++)
      if (cur[i] != theta->data[i])
        return spdi_tape_fail(t, SPD_E_STATE, "params differ from the spread's parameters "
                              "at %zu (%g vs %g): call spd_spread_set_params() first", i,
                              (double)theta->data[i], (double)cur[i]);
  }
  struct noise_saved *sv = spdi_tape_alloc(t, sizeof *sv);
  if (sv == NULL)
    return spd_tape_status(t);
  sv->spread = s;
  sv->rows = x->shape[0];
  sv->width = spd_spread_noise_width(s);
  sv->raw = NULL;
  y->saved = sv;
  y->ndim = x->ndim;
  for (int d = 0; d < x->ndim; d++)
    y->shape[d] = x->shape[d];
  return SPD_OK;
}

int spdi_op_spread_noise(spd_tape *t, spd_tensor *y, enum spdi_action action)
{
  if (action == SPDI_SHAPE)
    return noise_shape(t, y);
  struct noise_saved *sv = y->saved;
  const spd_tensor *x = y->in[0];
  int st;

  if (action == SPDI_FORWARD) {
    size_t count;
    if (!spdi_size_mul(sv->rows, sv->width, &count) || count > SIZE_MAX / sizeof(float))
      return spdi_tape_fail(t, SPD_E_OVERFLOW, "noise for %zu rows is too large", sv->rows);
    if ((sv->raw = spdi_tape_alloc(t, count * sizeof(float))) == NULL)
      return spd_tape_status(t);
    if ((st = spd_spread_draw_noise(sv->spread, y->ptr, sv->rows, sv->raw)) != SPD_OK ||
        (st = spd_spread_apply_noise(sv->spread, x->data, sv->raw, sv->rows, y->data)) != SPD_OK)
      return fail_from_call(t, st);
    y->ptr = NULL; /* the rng was only needed for the draw */
    return SPD_OK;
  }

  const float *dy = y->grad;
  if (x->requires_grad) {
    float *gx = x->grad;
    SPDI_FOR(x->n, gx[i] += dy[i]);
  }
  if (y->nin == 2 && y->in[1]->requires_grad) {
    spd_tensor *theta = y->in[1];
    float *gp = spdi_tape_scratch(t, theta->n * sizeof *gp);
    if (gp == NULL)
      return spd_tape_status(t);
    /* partial sums from the arena: warm steps allocate nothing */
    const size_t np = spdi_spread_noise_grad_work(sv->spread, sv->rows);
    if (np == 0)
      return spdi_tape_fail(t, SPD_E_OVERFLOW, "noise gradient for %zu rows is too large",
                            sv->rows);
    double *part = spdi_tape_alloc(t, np * sizeof *part);
    if (part == NULL)
      return spd_tape_status(t);
    if ((st = spdi_spread_apply_noise_grad("spd_spread_apply_noise_grad", sv->spread, sv->raw,
                                           sv->rows, dy, gp, part)) != SPD_OK)
      return fail_from_call(t, st);
    for (size_t i = 0; i < theta->n; i++)
      theta->grad[i] += gp[i];
  }
  return SPD_OK;
}

spd_tensor *spd_spread_noise(spd_tape *t, spd_tensor *x, const spd_spread *s, spd_rng *rng)
{
  struct spdi_args a = { .ptr = rng, .cptr = { s, NULL } };
  return spdi_node(t, SPDI_OP_SPREAD_NOISE, 1, &x, &a);
}

spd_tensor *spd_spread_noise_learn(spd_tape *t, spd_tensor *x, const spd_spread *s,
                                   spd_tensor *params, spd_rng *rng)
{
  spd_tensor *in[2] = { x, params };
  struct spdi_args a = { .ptr = rng, .cptr = { s, NULL } };
  return spdi_node(t, SPDI_OP_SPREAD_NOISE, 2, in, &a);
}
