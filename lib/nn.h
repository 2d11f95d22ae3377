/* Layer builders shared by the generators and the VAE encoders: each layer
 * is a set of entries in a parameter store (added once, initialised as
 * PyTorch initialises its layers) and a function recording its forward pass
 * on a tape. Builders return the tape's NULL on error (sticky). */
#ifndef SPDI_NN_H
#define SPDI_NN_H

#include "internal.h"

/* Dense layer y = x W^T + b, W stored out x in (PyTorch's layout). */
typedef struct {
  size_t w, b;   /* indices in the store */
  int has_bias;
} spdi_dense;

/* Convolution (or transposed convolution), 5x5-style square kernels. */
typedef struct {
  size_t w, b;
  int has_bias;
  int transposed;
} spdi_conv;

/* Batch norm: gamma, beta (trainable), running mean and variance (buffers). */
typedef struct {
  size_t gamma, beta, mean, var;
} spdi_bn;

/* Uniform +-1/sqrt(fan_in) initialisation of n floats from rng. */
int spdi_nn_init_uniform(spd_params *p, size_t index, size_t fan_in, spd_rng *rng);

int spdi_nn_dense_add(spd_params *p, const char *name, size_t in, size_t out, int bias,
                      spd_rng *rng, spdi_dense *d);
spd_tensor *spdi_nn_dense(spd_tape *t, spd_params *p, const spdi_dense *d, spd_tensor *x);

/* Conv: w is out x in x k x k; transposed: in x out x k x k (PyTorch). */
int spdi_nn_conv_add(spd_params *p, const char *name, size_t in, size_t out, size_t k,
                     int transposed, int bias, spd_rng *rng, spdi_conv *c);
spd_tensor *spdi_nn_conv(spd_tape *t, spd_params *p, const spdi_conv *c, spd_tensor *x,
                         int stride, int pad, int output_pad);

int spdi_nn_bn_add(spd_params *p, const char *name, size_t channels, spdi_bn *bn);
/* relu(batch_norm(x)) with the layer's scale, shift and running statistics,
 * as one fused op (spd_batch_norm_relu). */
spd_tensor *spdi_nn_bn_relu(spd_tape *t, spd_params *p, const spdi_bn *bn, spd_tensor *x,
                            int training, float momentum);

/* A scalar constant leaf. */
spd_tensor *spdi_nn_const(spd_tape *t, float value);

/* Largest number of layers of the MLP and conv stacks. */
#define SPDI_NN_MAX_LAYERS 18

/* MLP: depth hidden dense+ReLU layers of `hidden` units, then heads.
 * A generator uses one head (out units); an encoder two (mean, log sd). */
typedef struct {
  size_t depth;
  spdi_dense layer[SPDI_NN_MAX_LAYERS];
} spdi_mlp;

int spdi_nn_mlp_add(spd_params *p, const char *prefix, size_t in, size_t hidden, size_t depth,
                    spd_rng *rng, spdi_mlp *m);
spd_tensor *spdi_nn_mlp(spd_tape *t, spd_params *p, const spdi_mlp *m, spd_tensor *x);

/* The paper's conv encoder body: convs 5x5 / stride 2 / pad 2 with batch
 * norm + ReLU, halving the size down to 4 x 4 (7 x 7 for 28), then flatten. */
typedef struct {
  size_t nconv, channels, image_size, width, flat;
  spdi_conv conv[6];
  spdi_bn bn[6];
} spdi_conv_encoder;

/* Number of stride-2 stages between image_size and the 4x4 (7x7) map;
 * 0 for an unsupported size. */
size_t spdi_nn_conv_stages(size_t image_size);

int spdi_nn_conv_encoder_add(spd_params *p, size_t channels, size_t image_size, size_t width,
                             spd_rng *rng, spdi_conv_encoder *e);
spd_tensor *spdi_nn_conv_encoder(spd_tape *t, spd_params *p, const spdi_conv_encoder *e,
                                 spd_tensor *x, int training, float momentum);

#endif /* SPDI_NN_H */
