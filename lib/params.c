/* Persistent named parameters and their binding into tapes. */
#include "tape_impl.h"

#include <spreaddiv/params.h>

#include <string.h>

struct entry {
  char name[SPD_PARAM_NAME_MAX + 1];
  int ndim;
  size_t shape[SPDI_MAX_DIMS];
  size_t n;
  float *data;
  float *grad; /* NULL for a buffer */
};

struct spd_params {
  struct entry *e;
  size_t count, cap;
};

static struct entry *entry_at(const spd_params *p, size_t i)
{
  return p != NULL && i < p->count ? &p->e[i] : NULL;
}

int spd_params_create(spd_params **out)
{
  if (out == NULL)
    return SPDI_FAIL(SPD_E_INVALID, "out is NULL");
  spd_params *p = spdi_calloc(1, sizeof *p);
  if (p == NULL)
    return SPDI_FAIL(SPD_E_NOMEM, "cannot allocate a parameter store");
  *out = p;
  return SPD_OK;
}

void spd_params_free(spd_params *p)
{
  if (p == NULL)
    return;
  for (size_t i = 0; i < p->count; i++) {
    spdi_free(p->e[i].data);
    spdi_free(p->e[i].grad);
  }
  spdi_free(p->e);
  spdi_free(p);
}

int spd_params_find(const spd_params *p, const char *name, size_t *index)
{
  if (p == NULL || name == NULL || index == NULL)
    return SPDI_FAIL(SPD_E_INVALID, "%s is NULL",
                     p == NULL ? "store" : name == NULL ? "name" : "index");
  for (size_t i = 0; i < p->count; i++)
    if (strcmp(p->e[i].name, name) == 0) {
      *index = i;
      return SPD_OK;
    }
  return SPDI_FAIL(SPD_E_NOT_FOUND, "no parameter named '%s'", name);
}

int spd_params_add(spd_params *p, const char *name, int ndim, const size_t *shape,
                   const float *init, int trainable, size_t *index)
{
  if (p == NULL || name == NULL)
    return SPDI_FAIL(SPD_E_INVALID, "%s is NULL", p == NULL ? "store" : "name");
  size_t len = strlen(name);
  if (len == 0 || len > SPD_PARAM_NAME_MAX)
    return SPDI_FAIL(SPD_E_INVALID, "name length %zu is not in 1..%d", len, SPD_PARAM_NAME_MAX);
  if (ndim < 0 || ndim > SPDI_MAX_DIMS)
    return SPDI_FAIL(SPD_E_INVALID, "'%s': ndim %d is not in 0..%d", name, ndim, SPDI_MAX_DIMS);
  if (ndim > 0 && shape == NULL)
    return SPDI_FAIL(SPD_E_INVALID, "'%s': shape is NULL", name);
  size_t n = 1;
  for (int d = 0; d < ndim; d++) {
    if (shape[d] == 0)
      return SPDI_FAIL(SPD_E_INVALID, "'%s': dimension %d is 0", name, d);
    if (!spdi_size_mul(n, shape[d], &n) || n > SIZE_MAX / sizeof(float))
      return SPDI_FAIL(SPD_E_OVERFLOW, "'%s': shape is too large", name);
  }
  size_t dup;
  if (spd_params_find(p, name, &dup) == SPD_OK)
    return SPDI_FAIL(SPD_E_STATE, "a parameter named '%s' exists (index %zu)", name, dup);
  if (init != NULL && !spdi_all_finite(init, n))
    return SPDI_FAIL(SPD_E_DOMAIN, "'%s': initial values hold NaN or Inf", name);
  if (p->count == p->cap) {
    size_t cap = p->cap ? 2 * p->cap : 16;
    struct entry *e = spdi_calloc(cap, sizeof *e);
    if (e == NULL)
      return SPDI_FAIL(SPD_E_NOMEM, "cannot grow the store to %zu entries", cap);
    if (p->count > 0)
      memcpy(e, p->e, p->count * sizeof *e);
    spdi_free(p->e);
    p->e = e;
    p->cap = cap;
  }
  struct entry *e = &p->e[p->count];
  memset(e, 0, sizeof *e);
  e->data = spdi_calloc(n, sizeof(float));
  e->grad = trainable ? spdi_calloc(n, sizeof(float)) : NULL;
  if (e->data == NULL || (trainable && e->grad == NULL)) {
    spdi_free(e->data);
    spdi_free(e->grad);
    return SPDI_FAIL(SPD_E_NOMEM, "'%s': cannot allocate %zu values", name, n);
  }
  memcpy(e->name, name, len + 1);
  e->ndim = ndim;
  for (int d = 0; d < ndim; d++)
    e->shape[d] = shape[d];
  e->n = n;
  if (init != NULL)
    memcpy(e->data, init, n * sizeof(float));
  if (index != NULL)
    *index = p->count;
  p->count++;
  return SPD_OK;
}

size_t spd_params_count(const spd_params *p)
{
  return p == NULL ? 0 : p->count;
}

const char *spd_params_name(const spd_params *p, size_t index)
{
  struct entry *e = entry_at(p, index);
  return e == NULL ? NULL : e->name;
}

int spd_params_shape(const spd_params *p, size_t index, int *ndim, size_t *shape)
{
  struct entry *e = entry_at(p, index);
  if (e == NULL)
    return SPDI_FAIL(SPD_E_INVALID, "no entry %zu (store %s)", index, p ? "has fewer" : "is NULL");
  if (ndim != NULL)
    *ndim = e->ndim;
  if (shape != NULL)
    for (int d = 0; d < e->ndim; d++)
      shape[d] = e->shape[d];
  return SPD_OK;
}

size_t spd_params_size(const spd_params *p, size_t index)
{
  struct entry *e = entry_at(p, index);
  return e == NULL ? 0 : e->n;
}

int spd_params_trainable(const spd_params *p, size_t index)
{
  struct entry *e = entry_at(p, index);
  if (e == NULL)
    return SPDI_FAIL(SPD_E_INVALID, "no entry %zu", index);
  return e->grad != NULL;
}

float *spd_params_data(spd_params *p, size_t index)
{
  struct entry *e = entry_at(p, index);
  return e == NULL ? NULL : e->data;
}

float *spd_params_grad(spd_params *p, size_t index)
{
  struct entry *e = entry_at(p, index);
  return e == NULL ? NULL : e->grad;
}

void spd_params_zero_grad(spd_params *p)
{
  if (p == NULL)
    return;
  for (size_t i = 0; i < p->count; i++)
    if (p->e[i].grad != NULL)
      memset(p->e[i].grad, 0, p->e[i].n * sizeof(float));
}

/* ---- binding ------------------------------------------------------------- */

int spdi_op_param(spd_tape *t, spd_tensor *y, enum spdi_action action)
{
  spd_params *p = y->ptr;
  const size_t index = (size_t)y->iarg[0];
  struct entry *e = entry_at(p, index);
  switch (action) {
  case SPDI_SHAPE:
    if (p == NULL)
      return spdi_tape_fail(t, SPD_E_INVALID, "store is NULL");
    if (e == NULL)
      return spdi_tape_fail(t, SPD_E_INVALID, "no entry %zu (the store has %zu)", index,
                            p->count);
    y->ndim = (uint8_t)e->ndim;
    memcpy(y->shape, e->shape, sizeof y->shape);
    y->data = e->data; /* shared, not copied */
    y->grad = e->grad;
    y->grad_external = true;
    y->requires_grad = e->grad != NULL;
    return SPD_OK;
  case SPDI_FORWARD:
    if (!spdi_all_finite(e->data, e->n)) {
      char s[64];
      return spdi_tape_fail(t, SPD_E_DOMAIN, "parameter '%s' %s holds NaN or Inf", e->name,
                            spdi_shape_str(y, s));
    }
    return SPD_OK;
  case SPDI_BACKWARD:
    return SPD_OK;
  }
  return SPD_OK;
}

spd_tensor *spd_param(spd_tape *t, spd_params *p, size_t index)
{
  struct spdi_args a = { .i = { (int64_t)index }, .ptr = p };
  return spdi_node(t, SPDI_OP_PARAM, 0, NULL, &a);
}
