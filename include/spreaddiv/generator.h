#ifndef SPREADDIV_GENERATOR_H
#define SPREADDIV_GENERATOR_H

/**
 * @file spreaddiv/generator.h
 * @brief Deterministic-output generators x = g(z): linear, MLP and the
 *        paper's convolutional decoder.
 *
 * A generator maps latent codes z (z_dim floats per row) to outputs x
 * (x_dim floats per row) with no output noise: the output is a
 * deterministic function of z. Such models have no density on the data
 * space, which is why they are trained with a spread divergence (see
 * spreaddiv/vae.h).
 *
 * | kind                    | map                                                         |
 * |-------------------------|-------------------------------------------------------------|
 * | #SPD_GENERATOR_LINEAR   | x = A z (A is x_dim x z_dim, no bias; e.g. for ICA)          |
 * | #SPD_GENERATOR_MLP      | depth dense+ReLU layers of `hidden` units, then a dense layer to x_dim, linear or sigmoid |
 * | #SPD_GENERATOR_CONV     | dense to width x s0 x s0 + ReLU (s0 = 4, or 7 for 28 x 28), transposed convs (5x5, stride 2) halving the channels and doubling the size, each with batch norm + ReLU, a final 5x5 stride-1 transposed conv to `channels`, sigmoid |
 *
 * Conv outputs are NCHW images, channels x image_size x image_size floats
 * per row, in (0, 1). The layers are those of the spread-divergence
 * paper's CelebA decoder (width 1024 there); the transposed convolutions
 * followed by batch norm have no bias (the norm's shift replaces it).
 *
 * Parameters live in a store (spreaddiv/params.h) named "dense0.w",
 * "deconv1.w", "bn1.gamma", "bn1.running_mean", ... and are initialised as
 * PyTorch initialises its layers (uniform in +-1/sqrt(fan_in)) from the
 * seed given at creation.
 *
 * **Threads.** One generator is used by one thread at a time. Results are
 * bitwise identical whatever spd_set_num_threads() says (one build, one
 * machine).
 */

#include <stddef.h>
#include <stdint.h>

#include <spreaddiv/core.h>
#include <spreaddiv/params.h>
#include <spreaddiv/rng.h>
#include <spreaddiv/tape.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Opaque generator. */
typedef struct spd_generator spd_generator;

/** Generator kinds, as returned by spd_generator_kind(). */
enum {
  SPD_GENERATOR_LINEAR = 1, /**< x = A z. */
  SPD_GENERATOR_MLP = 2,    /**< Multi-layer perceptron with ReLU hidden layers. */
  SPD_GENERATOR_CONV = 3    /**< The paper's transposed-convolution decoder. */
};

/** Output activations of an MLP generator. */
enum {
  SPD_OUTPUT_LINEAR = 0, /**< No activation. */
  SPD_OUTPUT_SIGMOID = 1 /**< Logistic sigmoid, outputs in (0, 1). */
};

/**
 * @brief Create a linear generator x = A z.
 * @param z_dim Latent dimension, > 0.
 * @param x_dim Output dimension, > 0.
 * @param seed Seed of the initial weights.
 * @param[out] out Receives the generator; unchanged on failure.
 * @return #SPD_OK; #SPD_E_INVALID (out NULL, a zero dimension);
 *         #SPD_E_OVERFLOW; #SPD_E_NOMEM.
 * @note The caller owns the generator (spd_generator_free()).
 */
SPD_API SPD_NODISCARD int spd_generator_create_linear(size_t z_dim, size_t x_dim, uint64_t seed,
                                                      spd_generator **out);

/**
 * @brief Create an MLP generator.
 * @param z_dim Latent dimension, > 0.
 * @param x_dim Output dimension, > 0.
 * @param hidden Units per hidden layer, > 0.
 * @param depth Number of hidden (dense + ReLU) layers, 0 to 16.
 * @param output_activation #SPD_OUTPUT_LINEAR or #SPD_OUTPUT_SIGMOID.
 * @param seed Seed of the initial weights.
 * @param[out] out Receives the generator; unchanged on failure.
 * @return #SPD_OK; #SPD_E_INVALID (out NULL, a zero size, depth above 16,
 *         unknown activation); #SPD_E_OVERFLOW; #SPD_E_NOMEM.
 * @note The caller owns the generator (spd_generator_free()).
 */
SPD_API SPD_NODISCARD int spd_generator_create_mlp(size_t z_dim, size_t x_dim, size_t hidden,
                                                   size_t depth, int output_activation,
                                                   uint64_t seed, spd_generator **out);

/**
 * @brief Create the paper's convolutional decoder.
 *
 * Layers for image_size 64: dense z -> width x 4 x 4 + ReLU; transposed
 * convs (5x5, stride 2, padding 2, output padding 1) to width/2, width/4,
 * width/8, width/16 channels at 8, 16, 32, 64 pixels, each followed by
 * batch norm and ReLU; a 5x5 stride-1 transposed conv (padding 2) to
 * @p channels; sigmoid. image_size 32 uses the first three upsampling
 * layers (width/2 .. width/8), and 28 starts from 7 x 7 with two
 * (width/2, width/4).
 *
 * @param z_dim Latent dimension, > 0.
 * @param channels Output channels, 1 to 4.
 * @param image_size 28, 32 or 64.
 * @param width Channels of the first feature map; a multiple of 16 (64),
 *        8 (32) or 4 (28), at least that multiple, at most 4096.
 * @param seed Seed of the initial weights.
 * @param[out] out Receives the generator; unchanged on failure.
 * @return #SPD_OK; #SPD_E_INVALID (out NULL, z_dim 0, a bad channel count,
 *         image size or width); #SPD_E_OVERFLOW; #SPD_E_NOMEM.
 * @note The caller owns the generator (spd_generator_free()).
 */
SPD_API SPD_NODISCARD int spd_generator_create_conv(size_t z_dim, size_t channels,
                                                    size_t image_size, size_t width,
                                                    uint64_t seed, spd_generator **out);

/**
 * @brief Release a generator, its parameters and its work memory.
 * @param g Generator, or NULL (no effect).
 */
SPD_API void spd_generator_free(spd_generator *g);

/**
 * @brief Kind of a generator.
 * @param g Generator.
 * @return #SPD_GENERATOR_LINEAR, #SPD_GENERATOR_MLP, #SPD_GENERATOR_CONV, or
 *         #SPD_E_INVALID if @p g is NULL.
 */
SPD_API int spd_generator_kind(const spd_generator *g);

/**
 * @brief Latent dimension.
 * @param g Generator.
 * @return z_dim, or 0 if @p g is NULL.
 */
SPD_API size_t spd_generator_z_dim(const spd_generator *g);

/**
 * @brief Output dimension (channels x image_size x image_size for a conv
 *        generator).
 * @param g Generator.
 * @return x_dim, or 0 if @p g is NULL.
 */
SPD_API size_t spd_generator_x_dim(const spd_generator *g);

/**
 * @brief Draw n outputs: z ~ N(0, I) from @p rng (spd_rng_normal(), n z_dim
 *        values in one call), then spd_generator_decode().
 * @param g Generator.
 * @param rng Generator of the latent draws, advanced.
 * @param n Number of outputs, > 0.
 * @param[out] x n x x_dim floats, row-major (NCHW for conv); unchanged on
 *        failure.
 * @return #SPD_OK; #SPD_E_INVALID (NULL argument, n 0); #SPD_E_OVERFLOW;
 *         #SPD_E_NOMEM.
 */
SPD_API SPD_NODISCARD int spd_generator_sample(spd_generator *g, spd_rng *rng, size_t n,
                                               float *x);

/**
 * @brief Map latent codes to outputs, in inference mode (batch norm uses
 *        its running statistics).
 * @param g Generator (its work tape is reused between calls).
 * @param z n x z_dim finite floats.
 * @param n Number of rows, > 0.
 * @param[out] x n x x_dim floats; unchanged on failure.
 * @return #SPD_OK; #SPD_E_INVALID (NULL argument, n 0); #SPD_E_OVERFLOW;
 *         #SPD_E_DOMAIN (NaN/Inf in @p z); #SPD_E_NOMEM.
 */
SPD_API SPD_NODISCARD int spd_generator_decode(spd_generator *g, const float *z, size_t n,
                                               float *x);

/**
 * @brief The generator's parameter store (weights and batch-norm buffers).
 * @param g Generator.
 * @return The store, borrowed: valid while @p g lives; NULL if @p g is NULL.
 *         Values may be changed (e.g. by an optimizer) but no entry may be
 *         added.
 */
SPD_API spd_params *spd_generator_params(spd_generator *g);

/**
 * @brief Record the generator's forward pass on a tape (for training).
 *
 * Parameters are bound with spd_param(), so spd_backward() adds their
 * gradients to the store. In training mode batch norm uses the batch
 * statistics and updates the running ones (momentum 0.1 unless
 * spd_generator_set_bn_momentum() said otherwise).
 *
 * @param t Tape.
 * @param g Generator; borrowed until the tape is reset.
 * @param z n x z_dim tensor of @p t.
 * @param training Non-zero for training mode.
 * @return The output, n x x_dim (n x channels x size x size for conv), or
 *         NULL on error, recorded in the tape (#SPD_E_INVALID for a NULL
 *         argument, #SPD_E_SHAPE for a z of the wrong shape).
 */
SPD_API spd_tensor *spd_generator_forward(spd_tape *t, spd_generator *g, spd_tensor *z,
                                          int training);

/**
 * @brief Set the batch-norm momentum used by spd_generator_forward() in
 *        training mode (PyTorch semantics: new = (1 - m) old + m batch).
 * @param g Generator.
 * @param momentum In [0, 1].
 * @return #SPD_OK; #SPD_E_INVALID (g NULL); #SPD_E_DOMAIN (bad momentum).
 */
SPD_API SPD_NODISCARD int spd_generator_set_bn_momentum(spd_generator *g, double momentum);

/**
 * @brief Write the generator (configuration and every parameter, batch-norm
 *        buffers included) to a checkpoint file of kind `GENR`.
 *
 * The write is atomic (see doc/checkpoint.md): on failure an existing file
 * at @p path is left as it was.
 *
 * @param g Generator.
 * @param path File name.
 * @return #SPD_OK; #SPD_E_INVALID (NULL argument); #SPD_E_IO; #SPD_E_NOMEM.
 */
SPD_API SPD_NODISCARD int spd_generator_save(const spd_generator *g, const char *path);

/**
 * @brief Read a generator written by spd_generator_save().
 * @param path File name.
 * @param[out] out Receives the generator (outputs bitwise equal to the saved
 *        one's); unchanged on failure.
 * @return #SPD_OK; #SPD_E_INVALID (NULL argument); #SPD_E_IO (unreadable);
 *         #SPD_E_FORMAT (not a valid generator file: truncated, corrupted,
 *         another kind, or a configuration and parameters that do not
 *         match); #SPD_E_NOMEM.
 * @note The caller owns the generator (spd_generator_free()).
 */
SPD_API SPD_NODISCARD int spd_generator_load(const char *path, spd_generator **out);

#ifdef __cplusplus
}
#endif

#endif /* SPREADDIV_GENERATOR_H */
