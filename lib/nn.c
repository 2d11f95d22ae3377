/* Layer builders (see nn.h). */
#include "nn.h"

#include <math.h>
#include <stdio.h>

int spdi_nn_init_uniform(spd_params *p, size_t index, size_t fan_in, spd_rng *rng)
{
  size_t n = spd_params_size(p, index);
  float *w = spd_params_data(p, index);
  if (w == NULL || n == 0 || fan_in == 0)
    return SPDI_FAIL(SPD_E_INVALID, "bad parameter entry %zu", index);
  int rc = spd_rng_uniform(rng, w, n);
  if (rc != SPD_OK)
    return rc;
  double bound = 1.0 / sqrt((double)fan_in);
  for (size_t i = 0; i < n; i++)
    w[i] = (float)((2.0 * (double)w[i] - 1.0) * bound);
  return SPD_OK;
}

static int add_entry(spd_params *p, const char *name, const char *suffix, int ndim,
                     const size_t *shape, int trainable, size_t *index)
{
  char full[SPD_PARAM_NAME_MAX + 1];
  int len = snprintf(full, sizeof full, "%s.%s", name, suffix);
  if (len < 0 || (size_t)len >= sizeof full)
    return SPDI_FAIL(SPD_E_INVALID, "parameter name too long");
  return spd_params_add(p, full, ndim, shape, NULL, trainable, index);
}

int spdi_nn_dense_add(spd_params *p, const char *name, size_t in, size_t out, int bias,
                      spd_rng *rng, spdi_dense *d)
{
  size_t shape[2] = {out, in};
  int rc = add_entry(p, name, "w", 2, shape, 1, &d->w);
  if (rc == SPD_OK)
    rc = spdi_nn_init_uniform(p, d->w, in, rng);
  d->has_bias = bias;
  if (rc == SPD_OK && bias) {
    rc = add_entry(p, name, "b", 1, &out, 1, &d->b);
    if (rc == SPD_OK)
      rc = spdi_nn_init_uniform(p, d->b, in, rng);
  }
  return rc;
}

spd_tensor *spdi_nn_dense(spd_tape *t, spd_params *p, const spdi_dense *d, spd_tensor *x)
{
  spd_tensor *y = spd_matmul_ex(t, x, spd_param(t, p, d->w), 0, 1);
  if (d->has_bias)
    y = spd_add(t, y, spd_param(t, p, d->b));
  return y;
}

int spdi_nn_conv_add(spd_params *p, const char *name, size_t in, size_t out, size_t k,
                     int transposed, int bias, spd_rng *rng, spdi_conv *c)
{
  size_t shape[4] = {transposed ? in : out, transposed ? out : in, k, k};
  /* PyTorch takes fan_in from weight.size(1) for both conv kinds. */
  size_t fan_in = shape[1] * k * k;
  int rc = add_entry(p, name, "w", 4, shape, 1, &c->w);
  if (rc == SPD_OK)
    rc = spdi_nn_init_uniform(p, c->w, fan_in, rng);
  c->has_bias = bias;
  c->transposed = transposed;
  if (rc == SPD_OK && bias) {
    rc = add_entry(p, name, "b", 1, &out, 1, &c->b);
    if (rc == SPD_OK)
      rc = spdi_nn_init_uniform(p, c->b, fan_in, rng);
  }
  return rc;
}

spd_tensor *spdi_nn_conv(spd_tape *t, spd_params *p, const spdi_conv *c, spd_tensor *x,
                         int stride, int pad, int output_pad)
{
  spd_tensor *w = spd_param(t, p, c->w);
  spd_tensor *b = c->has_bias ? spd_param(t, p, c->b) : NULL;
  if (c->has_bias && b == NULL)
    return NULL;
  if (c->transposed)
    return spd_conv2d_transpose(t, x, w, b, stride, pad, output_pad);
  return spd_conv2d(t, x, w, b, stride, pad);
}

int spdi_nn_bn_add(spd_params *p, const char *name, size_t channels, spdi_bn *bn)
{
  int rc = add_entry(p, name, "gamma", 1, &channels, 1, &bn->gamma);
  if (rc == SPD_OK)
    rc = add_entry(p, name, "beta", 1, &channels, 1, &bn->beta);
  if (rc == SPD_OK)
    rc = add_entry(p, name, "running_mean", 1, &channels, 0, &bn->mean);
  if (rc == SPD_OK)
    rc = add_entry(p, name, "running_var", 1, &channels, 0, &bn->var);
  if (rc == SPD_OK) {
    float *g = spd_params_data(p, bn->gamma);
    float *v = spd_params_data(p, bn->var);
    for (size_t i = 0; i < channels; i++)
      g[i] = v[i] = 1.0f;
  }
  return rc;
}

spd_tensor *spdi_nn_bn_relu(spd_tape *t, spd_params *p, const spdi_bn *bn, spd_tensor *x,
                            int training, float momentum)
{
  spd_tensor *g = spd_param(t, p, bn->gamma);
  spd_tensor *b = spd_param(t, p, bn->beta);
  if (g == NULL || b == NULL)
    return NULL;
  return spd_batch_norm_relu(t, x, g, b, p, bn->mean, bn->var, training, momentum, 1e-5f);
}

spd_tensor *spdi_nn_const(spd_tape *t, float value)
{
  return spd_leaf(t, 0, NULL, &value, 0);
}

int spdi_nn_mlp_add(spd_params *p, const char *prefix, size_t in, size_t hidden, size_t depth,
                    spd_rng *rng, spdi_mlp *m)
{
  if (depth > SPDI_NN_MAX_LAYERS)
    return SPDI_FAIL(SPD_E_INVALID, "depth %zu above %d", depth, SPDI_NN_MAX_LAYERS);
  m->depth = depth;
  for (size_t i = 0; i < depth; i++) {
    char name[64];
    snprintf(name, sizeof name, "%s%zu", prefix, i);
    int rc = spdi_nn_dense_add(p, name, i == 0 ? in : hidden, hidden, 1, rng, &m->layer[i]);
    if (rc != SPD_OK)
      return rc;
  }
  return SPD_OK;
}

spd_tensor *spdi_nn_mlp(spd_tape *t, spd_params *p, const spdi_mlp *m, spd_tensor *x)
{
  for (size_t i = 0; i < m->depth; i++)
    x = spd_relu(t, spdi_nn_dense(t, p, &m->layer[i], x));
  return x;
}

size_t spdi_nn_conv_stages(size_t image_size)
{
  switch (image_size) {
  case 28: return 2; /* 28 -> 14 -> 7 */
  case 32: return 3; /* 32 -> 16 -> 8 -> 4 */
  case 64: return 4; /* 64 -> 32 -> 16 -> 8 -> 4 */
  default: return 0;
  }
}

int spdi_nn_conv_encoder_add(spd_params *p, size_t channels, size_t image_size, size_t width,
                             spd_rng *rng, spdi_conv_encoder *e)
{
  size_t stages = spdi_nn_conv_stages(image_size);
  if (stages == 0)
    return SPDI_FAIL(SPD_E_INVALID, "image size %zu", image_size);
  e->nconv = stages;
  e->channels = channels;
  e->image_size = image_size;
  e->width = width;
  size_t in = channels;
  for (size_t i = 0; i < stages; i++) {
    size_t out = width >> (stages - 1 - i);
    char name[32];
    snprintf(name, sizeof name, "enc_conv%zu", i);
    int rc = spdi_nn_conv_add(p, name, in, out, 5, 0, 0, rng, &e->conv[i]);
    snprintf(name, sizeof name, "enc_bn%zu", i);
    if (rc == SPD_OK)
      rc = spdi_nn_bn_add(p, name, out, &e->bn[i]);
    if (rc != SPD_OK)
      return rc;
    in = out;
  }
  size_t side = image_size >> stages;
  e->flat = width * side * side;
  return SPD_OK;
}

spd_tensor *spdi_nn_conv_encoder(spd_tape *t, spd_params *p, const spdi_conv_encoder *e,
                                 spd_tensor *x, int training, float momentum)
{
  for (size_t i = 0; i < e->nconv; i++) {
    x = spdi_nn_conv(t, p, &e->conv[i], x, 2, 2, 0);
    x = spdi_nn_bn_relu(t, p, &e->bn[i], x, training, momentum);
  }
  if (x == NULL)
    return NULL;
  size_t shape[4];
  if (spd_tensor_shape(x, shape) != SPD_OK)
    return NULL;
  size_t flat[2] = {shape[0], e->flat};
  return spd_reshape(t, x, 2, flat);
}
