/* Generator files: a checkpoint of kind GENR with two sections,
 *   GCFG  u64 scalars kind, z_dim, x_dim, hidden, depth, out_act, channels,
 *         image_size, width; f64 bn_momentum
 *   GPAR  one f32 array per parameter-store entry, under its name
 * (doc/generator.md). The same two sections sit in training checkpoints. */
#include "generator_internal.h"

#include <math.h>
#include <string.h>

#define TAG_GENR SPDI_TAG('G', 'E', 'N', 'R')
#define TAG_GCFG SPDI_TAG('G', 'C', 'F', 'G')
#define TAG_GPAR SPDI_TAG('G', 'P', 'A', 'R')

int spdi_params_write(spdi_ckpt_writer *w, uint32_t tag, const spd_params *p)
{
  int rc = spdi_ckpt_begin(w, tag);
  for (size_t i = 0; i < spd_params_count(p) && rc == SPD_OK; i++) {
    int ndim;
    size_t shape[SPD_MAX_DIMS];
    rc = spd_params_shape(p, i, &ndim, shape);
    if (rc == SPD_OK)
      rc = spdi_ckpt_put_f32(w, spd_params_name(p, i), ndim, shape,
                             spd_params_data((spd_params *)p, i));
  }
  if (rc == SPD_OK)
    rc = spdi_ckpt_end(w);
  return rc;
}

static int ends_with(const char *s, const char *suffix)
{
  size_t a = strlen(s), b = strlen(suffix);
  return a >= b && strcmp(s + a - b, suffix) == 0;
}

int spdi_params_read(spdi_ckpt_reader *r, uint32_t tag, spd_params *p)
{
  for (size_t i = 0; i < spd_params_count(p); i++) {
    int ndim;
    size_t shape[SPD_MAX_DIMS];
    int rc = spd_params_shape(p, i, &ndim, shape);
    const char *name = spd_params_name(p, i);
    float *data = spd_params_data(p, i);
    size_t n = spd_params_size(p, i);
    if (rc == SPD_OK)
      rc = spdi_ckpt_get_f32(r, tag, name, ndim, shape, data);
    if (rc != SPD_OK)
      return rc;
    if (!spdi_all_finite(data, n))
      return SPDI_FAIL(SPD_E_FORMAT, "parameter '%s' holds NaN or Inf", name);
    if (ends_with(name, "running_var"))
      for (size_t k = 0; k < n; k++)
        if (data[k] < 0.0f)
          return SPDI_FAIL(SPD_E_FORMAT, "parameter '%s' is negative", name);
  }
  return SPD_OK;
}

int spdi_generator_write(spdi_ckpt_writer *w, const spd_generator *g)
{
  const spdi_gen_config *c = &g->cfg;
  spdi_ckpt_begin(w, TAG_GCFG);
  spdi_ckpt_put_u64(w, "kind", (uint64_t)c->kind);
  spdi_ckpt_put_u64(w, "z_dim", c->z_dim);
  spdi_ckpt_put_u64(w, "x_dim", c->x_dim);
  spdi_ckpt_put_u64(w, "hidden", c->hidden);
  spdi_ckpt_put_u64(w, "depth", c->depth);
  spdi_ckpt_put_u64(w, "out_act", (uint64_t)c->out_act);
  spdi_ckpt_put_u64(w, "channels", c->channels);
  spdi_ckpt_put_u64(w, "image_size", c->image_size);
  spdi_ckpt_put_u64(w, "width", c->width);
  spdi_ckpt_put_f64(w, "bn_momentum", (double)g->bn_momentum);
  int rc = spdi_ckpt_end(w);
  if (rc == SPD_OK)
    rc = spdi_params_write(w, TAG_GPAR, g->params);
  return rc;
}

/* Before building (which allocates from the configuration), require that the
 * largest layer's weights are in the file with the configured shape, so a
 * crafted configuration cannot make us allocate more than the file holds. */
static int check_first_layer(spdi_ckpt_reader *r, const char *path, const spdi_gen_config *c)
{
  const char *name;
  uint64_t d0, d1;
  switch (c->kind) {
  case SPD_GENERATOR_LINEAR: name = "linear.w"; d0 = c->x_dim; d1 = c->z_dim; break;
  case SPD_GENERATOR_MLP:
    name = "out.w";
    d0 = c->x_dim;
    d1 = c->depth ? c->hidden : c->z_dim;
    break;
  default: {
    uint64_t s = c->image_size == 28 ? 7 : 4;
    name = "dense0.w";
    d0 = (uint64_t)c->width * s * s;
    d1 = c->z_dim;
    break;
  }
  }
  const spdi_ckpt_entry *e = spdi_ckpt_find(r, TAG_GPAR, name);
  if (e == NULL || e->ndim != 2 || e->dims[0] != d0 || e->dims[1] != d1)
    return SPDI_FAIL(SPD_E_FORMAT, "%s: parameter '%s' missing or not of the configured shape",
                     path, name);
  if (c->kind == SPD_GENERATOR_MLP && c->depth > 0) {
    e = spdi_ckpt_find(r, TAG_GPAR, "dense0.w");
    if (e == NULL || e->ndim != 2 || e->dims[0] != c->hidden || e->dims[1] != c->z_dim)
      return SPDI_FAIL(SPD_E_FORMAT, "%s: parameter 'dense0.w' missing or misshapen", path);
    e = spdi_ckpt_find(r, TAG_GPAR, "dense1.w");
    if (c->depth > 1 &&
        (e == NULL || e->ndim != 2 || e->dims[0] != c->hidden || e->dims[1] != c->hidden))
      return SPDI_FAIL(SPD_E_FORMAT, "%s: parameter 'dense1.w' missing or misshapen", path);
  }
  if (c->kind == SPD_GENERATOR_CONV) {
    e = spdi_ckpt_find(r, TAG_GPAR, "deconv1.w");
    if (e == NULL || e->ndim != 4 || e->dims[0] != c->width || e->dims[1] != c->width / 2 ||
        e->dims[2] != 5 || e->dims[3] != 5) /* the largest layer: width^2 / 2 x 25 */
      return SPDI_FAIL(SPD_E_FORMAT, "%s: parameter 'deconv1.w' missing or misshapen", path);
  }
  return SPD_OK;
}

int spdi_generator_read(spdi_ckpt_reader *r, const char *path, spd_generator **out)
{
  uint64_t v[9];
  static const char *const names[9] = {"kind", "z_dim", "x_dim", "hidden", "depth",
                                       "out_act", "channels", "image_size", "width"};
  double momentum;
  for (int i = 0; i < 9; i++) {
    int rc = spdi_ckpt_get_u64(r, TAG_GCFG, names[i], &v[i]);
    if (rc != SPD_OK)
      return rc;
    if (v[i] > ((uint64_t)1 << 32))
      return SPDI_FAIL(SPD_E_FORMAT, "%s: configuration '%s' out of range", path, names[i]);
  }
  int rc = spdi_ckpt_get_f64(r, TAG_GCFG, "bn_momentum", &momentum);
  if (rc != SPD_OK)
    return rc;
  if (!(momentum >= 0.0 && momentum <= 1.0))
    return SPDI_FAIL(SPD_E_FORMAT, "%s: bn_momentum out of range", path);
  spdi_gen_config c = {.kind = (int)v[0], .z_dim = v[1], .x_dim = v[2], .hidden = v[3],
                       .depth = v[4], .out_act = (int)v[5], .channels = v[6],
                       .image_size = v[7], .width = v[8]};
  /* Validate before building: a bad configuration is a format error. */
  spd_generator *g = NULL;
  if (c.kind < SPD_GENERATOR_LINEAR || c.kind > SPD_GENERATOR_CONV)
    return SPDI_FAIL(SPD_E_FORMAT, "%s: unknown generator kind", path);
  rc = check_first_layer(r, path, &c);
  if (rc != SPD_OK)
    return rc;
  rc = spdi_generator_build(&c, 0, &g);
  if (rc == SPD_E_INVALID)
    return SPDI_FAIL(SPD_E_FORMAT, "%s: invalid generator configuration", path);
  if (rc != SPD_OK)
    return rc;
  g->bn_momentum = (float)momentum;
  rc = spdi_params_read(r, TAG_GPAR, g->params);
  if (rc != SPD_OK) {
    spd_generator_free(g);
    return rc;
  }
  *out = g;
  return SPD_OK;
}

int spd_generator_save(const spd_generator *g, const char *path)
{
  if (g == NULL || path == NULL)
    return SPDI_FAIL(SPD_E_INVALID, "NULL argument");
  spdi_ckpt_writer *w;
  int rc = spdi_ckpt_create(path, TAG_GENR, &w);
  if (rc != SPD_OK)
    return rc;
  rc = spdi_generator_write(w, g);
  if (rc != SPD_OK) {
    spdi_ckpt_abort(w);
    return rc;
  }
  return spdi_ckpt_commit(w);
}

int spd_generator_load(const char *path, spd_generator **out)
{
  if (path == NULL || out == NULL)
    return SPDI_FAIL(SPD_E_INVALID, "NULL argument");
  spdi_ckpt_reader *r;
  int rc = spdi_ckpt_open(path, TAG_GENR, &r);
  if (rc != SPD_OK)
    return rc;
  rc = spdi_generator_read(r, path, out);
  spdi_ckpt_close(r);
  return rc;
}
