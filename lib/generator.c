/* Generators: construction, tape forward pass, decode and sample. */
#include "generator_internal.h"
#include "tape_impl.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

int spdi_generator_has_bn(const spd_generator *g)
{
  return g->cfg.kind == SPD_GENERATOR_CONV;
}

static int check_config(const spdi_gen_config *c)
{
  if (c->z_dim == 0 || c->x_dim == 0)
    return SPDI_FAIL(SPD_E_INVALID, "z_dim %zu and x_dim %zu must be > 0", c->z_dim, c->x_dim);
  switch (c->kind) {
  case SPD_GENERATOR_LINEAR:
    return SPD_OK;
  case SPD_GENERATOR_MLP:
    if (c->hidden == 0 || c->depth > 16)
      return SPDI_FAIL(SPD_E_INVALID, "hidden %zu must be > 0 and depth %zu <= 16", c->hidden,
                       c->depth);
    if (c->out_act != SPD_OUTPUT_LINEAR && c->out_act != SPD_OUTPUT_SIGMOID)
      return SPDI_FAIL(SPD_E_INVALID, "unknown output activation %d", c->out_act);
    return SPD_OK;
  case SPD_GENERATOR_CONV: {
    size_t stages = spdi_nn_conv_stages(c->image_size);
    if (stages == 0)
      return SPDI_FAIL(SPD_E_INVALID, "image size %zu (28, 32 or 64)", c->image_size);
    if (c->channels < 1 || c->channels > 4)
      return SPDI_FAIL(SPD_E_INVALID, "channels %zu (1 to 4)", c->channels);
    size_t unit = (size_t)1 << stages;
    if (c->width < unit || c->width % unit != 0 || c->width > 4096)
      return SPDI_FAIL(SPD_E_INVALID,
                       "width %zu must be a multiple of %zu, at least %zu, at most 4096",
                       c->width, unit, unit);
    if (c->x_dim != c->channels * c->image_size * c->image_size)
      return SPDI_FAIL(SPD_E_INVALID, "x_dim %zu does not match the image", c->x_dim);
    return SPD_OK;
  }
  default:
    return SPDI_FAIL(SPD_E_INVALID, "unknown generator kind %d", c->kind);
  }
}

static int build_layers(spd_generator *g, spd_rng *rng)
{
  const spdi_gen_config *c = &g->cfg;
  spd_params *p = g->params;
  int rc;
  switch (c->kind) {
  case SPD_GENERATOR_LINEAR:
    return spdi_nn_dense_add(p, "linear", c->z_dim, c->x_dim, 0, rng, &g->head);
  case SPD_GENERATOR_MLP:
    rc = spdi_nn_mlp_add(p, "dense", c->z_dim, c->hidden, c->depth, rng, &g->mlp);
    if (rc == SPD_OK)
      rc = spdi_nn_dense_add(p, "out", c->depth ? c->hidden : c->z_dim, c->x_dim, 1, rng,
                             &g->head);
    return rc;
  default: { /* conv */
    g->nup = c->image_size == 28 ? 2 : spdi_nn_conv_stages(c->image_size);
    g->start = c->image_size == 28 ? 7 : 4;
    rc = spdi_nn_dense_add(p, "dense0", c->z_dim, c->width * g->start * g->start, 1, rng,
                           &g->head);
    size_t in = c->width;
    for (size_t i = 0; i < g->nup && rc == SPD_OK; i++) {
      char name[32];
      snprintf(name, sizeof name, "deconv%zu", i + 1);
      rc = spdi_nn_conv_add(p, name, in, in / 2, 5, 1, 0, rng, &g->up[i]);
      snprintf(name, sizeof name, "bn%zu", i + 1);
      if (rc == SPD_OK)
        rc = spdi_nn_bn_add(p, name, in / 2, &g->bn[i]);
      in /= 2;
    }
    if (rc == SPD_OK)
      rc = spdi_nn_conv_add(p, "deconv_out", in, c->channels, 5, 1, 1, rng, &g->out);
    return rc;
  }
  }
}

int spdi_generator_build(const spdi_gen_config *cfg, uint64_t seed, spd_generator **out)
{
  int rc = check_config(cfg);
  if (rc != SPD_OK)
    return rc;
  spd_generator *g = spdi_calloc(1, sizeof *g);
  if (g == NULL)
    return SPDI_FAIL(SPD_E_NOMEM, "out of memory");
  g->cfg = *cfg;
  g->bn_momentum = 0.1f;
  spd_rng *rng = NULL;
  rc = spd_params_create(&g->params);
  if (rc == SPD_OK)
    rc = spd_rng_create(seed, &rng);
  if (rc == SPD_OK)
    rc = build_layers(g, rng);
  spd_rng_free(rng);
  if (rc != SPD_OK) {
    spd_generator_free(g);
    return rc;
  }
  *out = g;
  return SPD_OK;
}

int spd_generator_create_linear(size_t z_dim, size_t x_dim, uint64_t seed, spd_generator **out)
{
  if (out == NULL)
    return SPDI_FAIL(SPD_E_INVALID, "out is NULL");
  spdi_gen_config c = {.kind = SPD_GENERATOR_LINEAR, .z_dim = z_dim, .x_dim = x_dim};
  return spdi_generator_build(&c, seed, out);
}

int spd_generator_create_mlp(size_t z_dim, size_t x_dim, size_t hidden, size_t depth,
                             int output_activation, uint64_t seed, spd_generator **out)
{
  if (out == NULL)
    return SPDI_FAIL(SPD_E_INVALID, "out is NULL");
  spdi_gen_config c = {.kind = SPD_GENERATOR_MLP, .z_dim = z_dim, .x_dim = x_dim,
                       .hidden = hidden, .depth = depth, .out_act = output_activation};
  return spdi_generator_build(&c, seed, out);
}

int spd_generator_create_conv(size_t z_dim, size_t channels, size_t image_size, size_t width,
                              uint64_t seed, spd_generator **out)
{
  if (out == NULL)
    return SPDI_FAIL(SPD_E_INVALID, "out is NULL");
  size_t x_dim = 0;
  if (image_size <= 64 && channels <= 4)
    x_dim = channels * image_size * image_size;
  spdi_gen_config c = {.kind = SPD_GENERATOR_CONV, .z_dim = z_dim, .x_dim = x_dim,
                       .channels = channels, .image_size = image_size, .width = width};
  if (x_dim == 0 && z_dim != 0)
    return SPDI_FAIL(SPD_E_INVALID, "channels %zu (1 to 4) and image size %zu (28, 32, 64)",
                     channels, image_size);
  return spdi_generator_build(&c, seed, out);
}

void spd_generator_free(spd_generator *g)
{
  if (g == NULL)
    return;
  spd_tape_free(g->tape);
  spd_params_free(g->params);
  spdi_free(g);
}

int spd_generator_kind(const spd_generator *g)
{
  return g ? g->cfg.kind : SPD_E_INVALID;
}

size_t spd_generator_z_dim(const spd_generator *g)
{
  return g ? g->cfg.z_dim : 0;
}

size_t spd_generator_x_dim(const spd_generator *g)
{
  return g ? g->cfg.x_dim : 0;
}

int spd_generator_image_shape(const spd_generator *g, size_t *channels, size_t *height,
                              size_t *width)
{
  if (g == NULL || channels == NULL || height == NULL || width == NULL)
    return SPDI_FAIL(SPD_E_INVALID, "NULL %s", g ? "output pointer" : "generator");
  if (g->cfg.kind != SPD_GENERATOR_CONV)
    return SPDI_FAIL(SPD_E_UNSUPPORTED, "only conv generators make images (kind %d)",
                     g->cfg.kind);
  *channels = g->cfg.channels;
  *height = *width = g->cfg.image_size;
  return SPD_OK;
}

spd_params *spd_generator_params(spd_generator *g)
{
  return g ? g->params : NULL;
}

int spd_generator_set_bn_momentum(spd_generator *g, double momentum)
{
  if (g == NULL)
    return SPDI_FAIL(SPD_E_INVALID, "g is NULL");
  if (!(momentum >= 0.0 && momentum <= 1.0))
    return SPDI_FAIL(SPD_E_DOMAIN, "momentum %g outside [0, 1]", momentum);
  g->bn_momentum = (float)momentum;
  return SPD_OK;
}

spd_tensor *spd_generator_forward(spd_tape *t, spd_generator *g, spd_tensor *z, int training)
{
  if (t == NULL)
    return NULL;
  if (g == NULL || z == NULL) {
    spdi_tape_fail(t, SPD_E_INVALID, "spd_generator_forward: NULL %s", g ? "z" : "generator");
    return NULL;
  }
  if (spd_tape_status(t) != SPD_OK)
    return NULL;
  size_t zs[SPD_MAX_DIMS];
  if (spd_tensor_ndim(z) != 2 || spd_tensor_shape(z, zs) != SPD_OK || zs[1] != g->cfg.z_dim) {
    spdi_tape_fail(t, SPD_E_SHAPE, "spd_generator_forward: z must be n x %zu", g->cfg.z_dim);
    return NULL;
  }
  spd_params *p = g->params;
  switch (g->cfg.kind) {
  case SPD_GENERATOR_LINEAR:
    return spdi_nn_dense(t, p, &g->head, z);
  case SPD_GENERATOR_MLP: {
    spd_tensor *x = spdi_nn_dense(t, p, &g->head, spdi_nn_mlp(t, p, &g->mlp, z));
    return g->cfg.out_act == SPD_OUTPUT_SIGMOID ? spd_sigmoid(t, x) : x;
  }
  default: {
    spd_tensor *h = spd_relu(t, spdi_nn_dense(t, p, &g->head, z));
    size_t shape[4] = {zs[0], g->cfg.width, g->start, g->start};
    h = spd_reshape(t, h, 4, shape);
    for (size_t i = 0; i < g->nup; i++) {
      h = spdi_nn_conv(t, p, &g->up[i], h, 2, 2, 1);
      h = spdi_nn_bn_relu(t, p, &g->bn[i], h, training, g->bn_momentum);
    }
    return spd_sigmoid(t, spdi_nn_conv(t, p, &g->out, h, 1, 2, 0));
  }
  }
}

/* Decode rows of z into x in inference mode, on the generator's own tape. */
static int decode(spd_generator *g, const float *z, size_t n, float *x)
{
  size_t nx;
  if (!spdi_size_mul(n, g->cfg.x_dim, &nx))
    return SPDI_FAIL(SPD_E_OVERFLOW, "n %zu x x_dim %zu overflows", n, g->cfg.x_dim);
  if (g->tape == NULL) {
    int rc = spd_tape_create(&g->tape);
    if (rc != SPD_OK)
      return rc;
  }
  spd_tape *t = g->tape;
  spd_tape_reset(t);
  size_t shape[2] = {n, g->cfg.z_dim};
  spd_tensor *y = spd_generator_forward(t, g, spd_leaf(t, 2, shape, z, 0), 0);
  int rc = spd_tape_status(t);
  if (rc == SPD_OK)
    memcpy(x, spd_tensor_data(y), nx * sizeof *x);
  else
    spdi_set_error(rc, "spd_generator_decode", "%s", spd_tape_error(t));
  spd_tape_reset(t);
  return rc;
}

/* Floats of n latent rows and n output rows; n must be positive and both
 * counts must fit in bytes. Errors are reported as fn's. */
static int rows_sizes(const spd_generator *g, size_t n, const char *fn, size_t *nz,
                      size_t *nx)
{
  if (n == 0)
    return spdi_set_error(SPD_E_INVALID, fn, "n is 0");
  if (!spdi_size_mul(n, g->cfg.z_dim, nz) || !spdi_size_mul(n, g->cfg.x_dim, nx) ||
      *nz > SIZE_MAX / sizeof(float) || *nx > SIZE_MAX / sizeof(float))
    return spdi_set_error(SPD_E_OVERFLOW, fn, "n %zu rows overflow", n);
  return SPD_OK;
}

int spd_generator_decode(spd_generator *g, const float *z, size_t n, float *x)
{
  if (g == NULL || z == NULL || x == NULL)
    return SPDI_FAIL(SPD_E_INVALID, "NULL argument");
  size_t nz = 0, nx = 0;
  int rc = rows_sizes(g, n, __func__, &nz, &nx);
  if (rc != SPD_OK)
    return rc;
  if (!spdi_all_finite(z, nz))
    return SPDI_FAIL(SPD_E_DOMAIN, "z holds NaN or Inf");
  return decode(g, z, n, x);
}

int spd_generator_sample(spd_generator *g, spd_rng *rng, size_t n, float *x)
{
  if (g == NULL || rng == NULL || x == NULL)
    return SPDI_FAIL(SPD_E_INVALID, "NULL argument");
  size_t nz = 0, nx = 0;
  int rc = rows_sizes(g, n, __func__, &nz, &nx);
  if (rc != SPD_OK)
    return rc;
  float *z = spdi_malloc(nz * sizeof *z);
  if (z == NULL)
    return SPDI_FAIL(SPD_E_NOMEM, "out of memory for %zu latent values", nz);
  rc = spd_rng_normal(rng, z, nz);
  if (rc == SPD_OK)
    rc = decode(g, z, n, x);
  spdi_free(z);
  return rc;
}
