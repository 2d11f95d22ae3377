/* Adam and SGD with momentum over the trainable entries of a parameter
 * store, with the arithmetic of torch.optim (float32 tensors, Python-double
 * scalars rounded to float once). */
#include "internal.h"

#include <spreaddiv/params.h>

#include <math.h>
#include <string.h>

struct spd_optim {
  spd_params *p;
  int kind;
  double lr, beta1, beta2, eps, weight_decay, momentum;
  int nesterov;
  uint64_t step;
  size_t nstate;   /* entries of p that have state slots */
  float **state;   /* nstate * nbuf pointers; NULL for buffers */
};

static const char *const adam_names[] = { "exp_avg", "exp_avg_sq" };
static const char *const sgd_names[] = { "momentum_buffer" };

static int nbuf(const spd_optim *o)
{
  return o->kind == SPD_OPTIM_ADAM ? 2 : 1;
}

/* Give entries added to the store since the last call zeroed state. */
static int ensure_state(spd_optim *o)
{
  const size_t count = spd_params_count(o->p);
  if (count == o->nstate)
    return SPD_OK;
  const int nb = nbuf(o);
  float **state = spdi_calloc(count * (size_t)nb, sizeof *state);
  if (state == NULL)
    return SPDI_FAIL(SPD_E_NOMEM, "cannot allocate optimizer state for %zu entries", count);
  for (size_t i = o->nstate; i < count; i++) {
    if (!spd_params_trainable(o->p, i))
      continue;
    for (int b = 0; b < nb; b++) {
      state[i * (size_t)nb + (size_t)b] = spdi_calloc(spd_params_size(o->p, i), sizeof(float));
      if (state[i * (size_t)nb + (size_t)b] == NULL) {
        for (size_t j = o->nstate * (size_t)nb; j < count * (size_t)nb; j++)
          spdi_free(state[j]);
        spdi_free(state);
        return SPDI_FAIL(SPD_E_NOMEM, "cannot allocate optimizer state for '%s'",
                         spd_params_name(o->p, i));
      }
    }
  }
  if (o->nstate > 0)
    memcpy(state, o->state, o->nstate * (size_t)nb * sizeof *state);
  spdi_free(o->state);
  o->state = state;
  o->nstate = count;
  return SPD_OK;
}

static int create(spd_params *p, int kind, double lr, double momentum, spd_optim **out)
{
  if (p == NULL || out == NULL)
    return SPDI_FAIL(SPD_E_INVALID, "%s is NULL", p == NULL ? "store" : "out");
  if (!(lr > 0) || !isfinite(lr))
    return SPDI_FAIL(SPD_E_DOMAIN, "learning rate %g must be positive and finite", lr);
  if (!(momentum >= 0) || !isfinite(momentum))
    return SPDI_FAIL(SPD_E_DOMAIN, "momentum %g must be >= 0 and finite", momentum);
  spd_optim *o = spdi_calloc(1, sizeof *o);
  if (o == NULL)
    return SPDI_FAIL(SPD_E_NOMEM, "cannot allocate an optimizer");
  *o = (spd_optim){ .p = p, .kind = kind, .lr = lr, .beta1 = 0.9, .beta2 = 0.999,
                    .eps = 1e-8, .momentum = momentum };
  int rc = ensure_state(o);
  if (rc != SPD_OK) {
    spdi_free(o);
    return rc;
  }
  *out = o;
  return SPD_OK;
}

int spd_optim_create_adam(spd_params *p, double lr, spd_optim **out)
{
  return create(p, SPD_OPTIM_ADAM, lr, 0, out);
}

int spd_optim_create_sgd(spd_params *p, double lr, double momentum, spd_optim **out)
{
  return create(p, SPD_OPTIM_SGD, lr, momentum, out);
}

void spd_optim_free(spd_optim *o)
{
  if (o == NULL)
    return;
  for (size_t j = 0; j < o->nstate * (size_t)nbuf(o); j++)
    spdi_free(o->state[j]);
  spdi_free(o->state);
  spdi_free(o);
}

int spd_optim_kind_of(const spd_optim *o)
{
  if (o == NULL)
    return SPDI_FAIL(SPD_E_INVALID, "optimizer is NULL");
  return o->kind;
}

/* The field behind an option for this algorithm, or NULL. */
static double *option_field(spd_optim *o, spd_optim_option option)
{
  const bool adam = o->kind == SPD_OPTIM_ADAM;
  switch (option) {
  case SPD_OPTIM_LEARNING_RATE: return &o->lr;
  case SPD_OPTIM_WEIGHT_DECAY: return &o->weight_decay;
  case SPD_OPTIM_BETA1: return adam ? &o->beta1 : NULL;
  case SPD_OPTIM_BETA2: return adam ? &o->beta2 : NULL;
  case SPD_OPTIM_EPS: return adam ? &o->eps : NULL;
  case SPD_OPTIM_MOMENTUM: return adam ? NULL : &o->momentum;
  case SPD_OPTIM_NESTEROV: return NULL; /* an int, handled by the callers */
  }
  return NULL;
}

int spd_optim_set(spd_optim *o, spd_optim_option option, double value)
{
  if (o == NULL)
    return SPDI_FAIL(SPD_E_INVALID, "optimizer is NULL");
  if (option == SPD_OPTIM_NESTEROV && o->kind == SPD_OPTIM_SGD) {
    if (value != 0 && value != 1)
      return SPDI_FAIL(SPD_E_DOMAIN, "nesterov must be 0 or 1, not %g", value);
    if (value == 1 && !(o->momentum > 0))
      return SPDI_FAIL(SPD_E_DOMAIN, "Nesterov momentum needs momentum > 0");
    o->nesterov = value == 1;
    return SPD_OK;
  }
  double *f = option_field(o, option);
  if (f == NULL)
    return SPDI_FAIL(SPD_E_INVALID, "option %d does not apply to this optimizer", (int)option);
  bool ok = isfinite(value);
  switch (option) {
  case SPD_OPTIM_LEARNING_RATE: ok = ok && value > 0; break;
  case SPD_OPTIM_BETA1:
  case SPD_OPTIM_BETA2: ok = ok && value >= 0 && value < 1; break;
  case SPD_OPTIM_EPS: ok = ok && value > 0; break;
  case SPD_OPTIM_MOMENTUM: ok = ok && value >= 0 && (value > 0 || !o->nesterov); break;
  default: ok = ok && value >= 0; break;
  }
  if (!ok)
    return SPDI_FAIL(SPD_E_DOMAIN, "value %g is out of range for option %d", value, (int)option);
  *f = value;
  return SPD_OK;
}

int spd_optim_get(const spd_optim *o, spd_optim_option option, double *value)
{
  if (o == NULL || value == NULL)
    return SPDI_FAIL(SPD_E_INVALID, "%s is NULL", o == NULL ? "optimizer" : "value");
  if (option == SPD_OPTIM_NESTEROV && o->kind == SPD_OPTIM_SGD) {
    *value = o->nesterov;
    return SPD_OK;
  }
  double *f = option_field((spd_optim *)o, option);
  if (f == NULL)
    return SPDI_FAIL(SPD_E_INVALID, "option %d does not apply to this optimizer", (int)option);
  *value = *f;
  return SPD_OK;
}

static void adam_update(const spd_optim *o, float *w, const float *grad, float *m, float *v,
                        size_t n)
{
  const double k = (double)o->step;
  const float wd = (float)o->weight_decay, b1 = (float)o->beta1, b2 = (float)o->beta2;
  const float c1 = (float)(1 - o->beta1), c2 = (float)(1 - o->beta2);
  const float bc2_sqrt = (float)sqrt(1 - pow(o->beta2, k));
  const float step = (float)-(o->lr / (1 - pow(o->beta1, k)));
  const float eps = (float)o->eps;
  const bool decay = o->weight_decay != 0;
  SPDI_PARALLEL_FOR_SIMD(n >= 32768 ? spdi_threads() : 1, i, n, {
    const float g = decay ? grad[i] + wd * w[i] : grad[i];
    m[i] = m[i] * b1 + c1 * g;
    v[i] = v[i] * b2 + c2 * g * g;
    const float denom = sqrtf(v[i]) / bc2_sqrt + eps;
    w[i] = w[i] + step * (m[i] / denom);
  });
}

static void sgd_update(const spd_optim *o, float *w, const float *grad, float *buf, size_t n)
{
  const float wd = (float)o->weight_decay, mom = (float)o->momentum, lr = (float)-o->lr;
  const bool decay = o->weight_decay != 0, use_mom = o->momentum != 0, nest = o->nesterov;
  SPDI_PARALLEL_FOR_SIMD(n >= 32768 ? spdi_threads() : 1, i, n, {
    float g = decay ? grad[i] + wd * w[i] : grad[i];
    if (use_mom) {
      buf[i] = buf[i] * mom + g;
      g = nest ? g + mom * buf[i] : buf[i];
    }
    w[i] = w[i] + lr * g;
  });
}

int spd_optim_step(spd_optim *o)
{
  if (o == NULL)
    return SPDI_FAIL(SPD_E_INVALID, "optimizer is NULL");
  int rc = ensure_state(o);
  if (rc != SPD_OK)
    return rc;
  const size_t count = o->nstate;
  for (size_t i = 0; i < count; i++) {
    const float *g = spd_params_grad(o->p, i);
    if (g != NULL && !spdi_all_finite(g, spd_params_size(o->p, i)))
      return SPDI_FAIL(SPD_E_NUMERIC, "gradient of '%s' holds NaN or Inf; nothing updated",
                       spd_params_name(o->p, i));
  }
  o->step++;
  const int nb = nbuf(o);
  for (size_t i = 0; i < count; i++) {
    float *g = spd_params_grad(o->p, i);
    if (g == NULL)
      continue;
    float *w = spd_params_data(o->p, i), **s = o->state + i * (size_t)nb;
    if (o->kind == SPD_OPTIM_ADAM)
      adam_update(o, w, g, s[0], s[1], spd_params_size(o->p, i));
    else
      sgd_update(o, w, g, s[0], spd_params_size(o->p, i));
  }
  return SPD_OK;
}

int spd_optim_get_step(const spd_optim *o, uint64_t *step)
{
  if (o == NULL || step == NULL)
    return SPDI_FAIL(SPD_E_INVALID, "%s is NULL", o == NULL ? "optimizer" : "step");
  *step = o->step;
  return SPD_OK;
}

int spd_optim_set_step(spd_optim *o, uint64_t step)
{
  if (o == NULL)
    return SPDI_FAIL(SPD_E_INVALID, "optimizer is NULL");
  o->step = step;
  return SPD_OK;
}

int spd_optim_state_count(const spd_optim *o)
{
  if (o == NULL)
    return SPDI_FAIL(SPD_E_INVALID, "optimizer is NULL");
  return nbuf(o);
}

const char *spd_optim_state_name(const spd_optim *o, int k)
{
  if (o == NULL || k < 0 || k >= nbuf(o))
    return NULL;
  return o->kind == SPD_OPTIM_ADAM ? adam_names[k] : sgd_names[k];
}

/* The state buffer for (param, buffer), after checking every argument. */
static int locate(spd_optim *o, const char *param, const char *buffer, size_t n, float **out)
{
  if (o == NULL || param == NULL || buffer == NULL)
    return SPDI_FAIL(SPD_E_INVALID, "%s is NULL",
                     o == NULL ? "optimizer" : param == NULL ? "param" : "buffer");
  int k = -1;
  for (int b = 0; b < nbuf(o); b++)
    if (strcmp(buffer, spd_optim_state_name(o, b)) == 0)
      k = b;
  if (k < 0)
    return SPDI_FAIL(SPD_E_INVALID, "this optimizer keeps no buffer named '%s'", buffer);
  size_t i;
  int rc = spd_params_find(o->p, param, &i);
  if (rc != SPD_OK)
    return rc;
  if (!spd_params_trainable(o->p, i))
    return SPDI_FAIL(SPD_E_INVALID, "'%s' is not trainable: it has no optimizer state", param);
  if (n != spd_params_size(o->p, i))
    return SPDI_FAIL(SPD_E_SHAPE, "'%s' has %zu values, not %zu", param,
                     spd_params_size(o->p, i), n);
  if ((rc = ensure_state(o)) != SPD_OK)
    return rc;
  *out = o->state[i * (size_t)nbuf(o) + (size_t)k];
  return SPD_OK;
}

int spd_optim_get_state(const spd_optim *o, const char *param, const char *buffer, float *out,
                        size_t n)
{
  if (out == NULL)
    return SPDI_FAIL(SPD_E_INVALID, "out is NULL");
  float *s;
  /* locate() may add zeroed slots for new entries: not an observable change. */
  int rc = locate((spd_optim *)o, param, buffer, n, &s);
  if (rc != SPD_OK)
    return rc;
  memcpy(out, s, n * sizeof *out);
  return SPD_OK;
}

int spd_optim_set_state(spd_optim *o, const char *param, const char *buffer, const float *in,
                        size_t n)
{
  if (in == NULL)
    return SPDI_FAIL(SPD_E_INVALID, "in is NULL");
  float *s;
  int rc = locate(o, param, buffer, n, &s);
  if (rc != SPD_OK)
    return rc;
  if (!spdi_all_finite(in, n))
    return SPDI_FAIL(SPD_E_DOMAIN, "state '%s' of '%s' holds NaN or Inf", buffer, param);
  if (strcmp(buffer, "exp_avg_sq") == 0)
    for (size_t i = 0; i < n; i++)
      if (in[i] < 0)
        return SPDI_FAIL(SPD_E_DOMAIN, "state '%s' of '%s' holds a negative value",
                         buffer, param);
  memcpy(s, in, n * sizeof *s);
  return SPD_OK;
}
