/* Gaussian log density of x given a mean and a log standard deviation,
 * elementwise and summed per row (index along axis 0). */
#include "tape_impl.h"

#include <math.h>

#define HALF_LOG_2PI 0.91893853320467274178

/* iarg: 0 kind of mean, 1 kind of log_sd (relative to x), 2-4 geometry. */

static inline size_t bidx(enum spdi_bcast_kind k, const struct spdi_bcast *g, size_t i)
{
  return k == SPDI_BC_SAME ? i : k == SPDI_BC_SCALAR ? 0 : (i / g->inner) % g->chans;
}

static struct spdi_bcast density_geom(const spd_tensor *y)
{
  struct spdi_bcast g = { (size_t)y->iarg[2], (size_t)y->iarg[3], (size_t)y->iarg[4] };
  return g;
}

static int density_shape(spd_tape *t, spd_tensor *y)
{
  const spd_tensor *x = y->in[0];
  char sx[64], sa[64];
  if (x->ndim < 1)
    return spdi_tape_fail(t, SPD_E_SHAPE, "x %s must have at least one dimension (rows)",
                          spdi_shape_str(x, sx));
  struct spdi_bcast g = { 1, 1, 1 };
  for (int k = 1; k <= 2; k++) {
    enum spdi_bcast_kind kind = spdi_bcast_classify(x, y->in[k], &g);
    if (kind == SPDI_BC_NONE)
      return spdi_tape_fail(t, SPD_E_SHAPE, "%s %s does not broadcast to x %s",
                            k == 1 ? "mean" : "log_sd", spdi_shape_str(y->in[k], sa),
                            spdi_shape_str(x, sx));
    y->iarg[k - 1] = kind;
  }
  y->iarg[2] = (int64_t)g.outer;
  y->iarg[3] = (int64_t)g.chans;
  y->iarg[4] = (int64_t)g.inner;
  y->ndim = 1;
  y->shape[0] = x->shape[0];
  return SPD_OK;
}

/* gs[k] += sum of c over the elements mapping to k. */
static int reduce_to(spd_tape *t, enum spdi_bcast_kind kind, const struct spdi_bcast *g,
                     const float *c, size_t n, float *gs)
{
  if (kind == SPDI_BC_SAME) {
    SPDI_FOR(n, gs[i] += c[i]);
    return SPD_OK;
  }
  if (kind == SPDI_BC_SCALAR) {
    gs[0] += (float)spdi_dsum(c, n);
    return SPD_OK;
  }
  double *s = spdi_tape_alloc(t, g->chans * sizeof *s);
  if (s == NULL)
    return spd_tape_status(t);
  spdi_channel_sums(c, NULL, g, s);
  for (size_t k = 0; k < g->chans; k++)
    gs[k] += (float)s[k];
  return SPD_OK;
}

int spdi_op_gaussian_log_density(spd_tape *t, spd_tensor *y, enum spdi_action action)
{
  if (action == SPDI_SHAPE)
    return density_shape(t, y);
  const spd_tensor *x = y->in[0], *m = y->in[1], *ls = y->in[2];
  const enum spdi_bcast_kind km = (enum spdi_bcast_kind)y->iarg[0];
  const enum spdi_bcast_kind ks = (enum spdi_bcast_kind)y->iarg[1];
  const struct spdi_bcast g = density_geom(y);
  const size_t rows = x->shape[0], D = x->n / rows;
  const float *xd = x->data, *md = m->data, *sd = ls->data;

  if (action == SPDI_FORWARD) {
    float *out = y->data;
    SPDI_PARALLEL_FOR(spdi_par_threads(x->n), r, rows, {
      double s = 0;
      for (size_t i = r * D; i < (r + 1) * D; i++) {
        const float l = sd[bidx(ks, &g, i)];
        const float u = (xd[i] - md[bidx(km, &g, i)]) * expf(-l);
        s += -0.5 * (double)u * u - l - HALF_LOG_2PI;
      }
      out[r] = (float)s;
    });
    return SPD_OK;
  }

  /* With u = (x - m) e^{-l}: d/dx = -u e^{-l}, d/dm = u e^{-l},
   * d/dl = u^2 - 1, each times the row's output gradient. */
  const float *dy = y->grad;
  const bool need_m = m->requires_grad, need_s = ls->requires_grad;
  float *cm = NULL, *cs = NULL;
  if (need_m || need_s) {
    cm = spdi_tape_scratch(t, 2 * x->n * sizeof *cm);
    if (cm == NULL)
      return spd_tape_status(t);
    cs = cm + x->n;
  }
  float *gx = x->requires_grad ? x->grad : NULL;
  SPDI_PARALLEL_FOR(spdi_par_threads(x->n), i, x->n, {
    const float d = dy[i / D], e = expf(-sd[bidx(ks, &g, i)]);
    const float u = (xd[i] - md[bidx(km, &g, i)]) * e;
    if (gx != NULL)
      gx[i] -= d * u * e;
    if (cm != NULL) {
      cm[i] = d * u * e;
      cs[i] = d * (u * u - 1.0f);
    }
  });
  if (need_m && reduce_to(t, km, &g, cm, x->n, m->grad) != SPD_OK)
    return spd_tape_status(t);
  if (need_s && reduce_to(t, ks, &g, cs, x->n, ls->grad) != SPD_OK)
    return spd_tape_status(t);
  return SPD_OK;
}

spd_tensor *spd_gaussian_log_density(spd_tape *t, spd_tensor *x, spd_tensor *mean,
                                     spd_tensor *log_sd)
{
  spd_tensor *in[3] = { x, mean, log_sd };
  return spdi_node(t, SPDI_OP_GAUSSIAN_LOG_DENSITY, 3, in, NULL);
}
