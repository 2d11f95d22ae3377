#ifndef SPREADDIV_VAE_H
#define SPREADDIV_VAE_H

/**
 * @file spreaddiv/vae.h
 * @brief The spread VAE: training a deterministic-output generator by the
 *        spread KL divergence (MATH.md section 5).
 *
 * One step on a batch x_1..x_B:
 *
 * 1. spread the data: y_b = x_b + sigma eps_b (or the learned spread's
 *    noise);
 * 2. encode: (m_b, log s_b) = Enc(y_b); z_b = m_b + s_b xi_b;
 * 3. decode: xhat_b = g(z_b) (training-mode batch norm);
 * 4. loss = (1/B) sum_b [log q(z_b|y_b) - log N(z_b; 0, I)
 *    - log N(t_b; xhat_b, sigma^2 I)], with t_b = x_b (the low-variance
 *    target, default) or t_b = y_b;
 * 5. one Adam step on the generator and the encoder; with a learned
 *    spread, every #SPD_VAE_SPREAD_EVERY steps, one Adam step of the spread
 *    on -loss (max-min).
 *
 * The loss is the negative ELBO per example in nats, constants included;
 * its two parts, reconstruction -log N(t; xhat, sigma^2 I) and the
 * single-sample KL estimate log q - log p, are read with
 * spd_vae_loss_parts().
 *
 * With #SPD_VAE_SPREAD set to 0 the encoder sees the clean data and sigma
 * only sets the likelihood's variance: the plain deterministic-decoder VAE,
 * which fails as sigma goes to 0.
 *
 * The encoder is the paper's conv encoder for a conv generator (convs 5x5,
 * stride 2, padding 2 to width/8, width/4, width/2, width channels for 64 x
 * 64 images, fewer for 32 and 28, each with batch norm + ReLU; dense heads
 * for the mean and the log standard deviation); for an MLP generator an
 * MLP with the generator's hidden width and depth; for a linear generator
 * linear heads.
 *
 * **Random streams.** The seed gives independent streams (spd_rng streams
 * of one seed): 0 initialises the encoder, 1 draws the spread noise, 2 the
 * latent noise xi, 3 is used by spd_vae_evaluate() (its own, so training
 * never depends on evaluation calls).
 *
 * **Threads.** One VAE is used by one thread at a time. Results are
 * bitwise identical whatever spd_set_num_threads() says (one build, one
 * machine), and a run resumed from spd_vae_save() / spd_vae_load()
 * continues bitwise as the uninterrupted run.
 */

#include <stddef.h>
#include <stdint.h>

#include <spreaddiv/core.h>
#include <spreaddiv/generator.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Opaque spread-VAE trainer. */
typedef struct spd_vae spd_vae;

/** Options for spd_vae_set() / spd_vae_get() (append-only). */
typedef enum spd_vae_option {
  SPD_VAE_LEARNING_RATE = 1,        /**< Adam lr of generator and encoder, > 0; 1e-4. */
  SPD_VAE_BETA1 = 2,                /**< Adam beta1 in [0, 1); 0.9. */
  SPD_VAE_BETA2 = 3,                /**< Adam beta2 in [0, 1); 0.999. */
  SPD_VAE_SIGMA = 4,                /**< Spread sigma (start value), > 0; 0.5. */
  SPD_VAE_ANNEAL_FACTOR = 5,        /**< In (0, 1]; 1 (off). sigma_k = max(floor, sigma factor^floor(k / period)) when < 1. */
  SPD_VAE_ANNEAL_PERIOD = 6,        /**< Steps, an integer >= 1; 1000. */
  SPD_VAE_ANNEAL_FLOOR = 7,         /**< > 0; 0.1. */
  SPD_VAE_LOW_VARIANCE = 8,         /**< 1: target t = x (default); 0: t = y. */
  SPD_VAE_SPREAD = 9,               /**< 1: spread the encoder input (default); 0: baseline. */
  SPD_VAE_LEARN_SPREAD_RANK = 10,   /**< 0 (default) or 1 <= r <= x_dim: learned low-rank covariance sigma^2 I + L L^T; before the first step only. */
  SPD_VAE_SPREAD_LEARNING_RATE = 11, /**< Adam lr of the spread, > 0; 1e-3. */
  SPD_VAE_SPREAD_NORM = 12,         /**< Fixed Frobenius norm of L, >= 0; 1. */
  SPD_VAE_SPREAD_EVERY = 13,        /**< Spread max step every k steps, integer >= 1; 1. */
  SPD_VAE_BN_MOMENTUM = 14,         /**< Batch-norm momentum in [0, 1]; 0.1 (PyTorch semantics). */
  SPD_VAE_SEED = 15                 /**< Seed of the training streams (integer < 2^53); before the first step only. */
} spd_vae_option;

/**
 * @brief Create a spread VAE around a generator.
 *
 * Builds the matching encoder (see the file description) and an isotropic
 * Gaussian spread of sigma 0.5.
 *
 * @param g Generator. **Ownership passes to the VAE on success only**: the
 *        VAE frees it in spd_vae_free(); on failure the caller still owns
 *        it.
 * @param seed Seed of the encoder's initial weights and of the training
 *        streams.
 * @param[out] out Receives the VAE; unchanged on failure.
 * @return #SPD_OK; #SPD_E_INVALID (NULL argument); #SPD_E_NOMEM.
 * @note The caller owns the VAE (spd_vae_free()).
 */
SPD_API SPD_NODISCARD int spd_vae_create(spd_generator *g, uint64_t seed, spd_vae **out);

/**
 * @brief Release a VAE, its generator, encoder, optimizers and work memory.
 * @param v VAE, or NULL (no effect).
 */
SPD_API void spd_vae_free(spd_vae *v);

/**
 * @brief The VAE's generator.
 * @param v VAE.
 * @return The generator, borrowed, valid for the VAE's lifetime (do not
 *         free it); NULL if @p v is NULL.
 */
SPD_API spd_generator *spd_vae_generator(spd_vae *v);

/**
 * @brief Change an option (see #spd_vae_option for ranges and defaults).
 * @param v VAE.
 * @param option An #spd_vae_option value.
 * @param value The new value; integer options must be given integral
 *        values, on/off options 0 or 1.
 * @return #SPD_OK; #SPD_E_INVALID (v NULL, unknown option); #SPD_E_DOMAIN
 *         (value out of range); #SPD_E_STATE (#SPD_VAE_LEARN_SPREAD_RANK or
 *         #SPD_VAE_SEED after the first step). On failure nothing changes.
 */
SPD_API SPD_NODISCARD int spd_vae_set(spd_vae *v, int option, double value);

/**
 * @brief Read an option.
 * @param v VAE.
 * @param option An #spd_vae_option value.
 * @param[out] value Receives the value.
 * @return #SPD_OK or #SPD_E_INVALID (NULL argument, unknown option).
 */
SPD_API SPD_NODISCARD int spd_vae_get(const spd_vae *v, int option, double *value);

/**
 * @brief The spread sigma the next step will use (after annealing).
 * @param v VAE.
 * @return sigma; 0 if @p v is NULL.
 */
SPD_API double spd_vae_sigma(const spd_vae *v);

/**
 * @brief Number of training steps taken.
 * @param v VAE.
 * @return The count; 0 if @p v is NULL.
 */
SPD_API uint64_t spd_vae_step_count(const spd_vae *v);

/**
 * @brief The training seed (spd_vae_create(), or #SPD_VAE_SEED), exactly:
 *        spd_vae_get() returns it as a double, which cannot hold every
 *        64-bit value.
 * @param v VAE.
 * @return The seed; 0 if @p v is NULL.
 */
SPD_API uint64_t spd_vae_seed(const spd_vae *v);

/**
 * @brief One training step (see the file description).
 *
 * Once a step of a given batch size has run, later steps of that size
 * allocate nothing.
 *
 * @param v VAE.
 * @param x n rows of x_dim finite floats (NCHW images in [0, 1] for a conv
 *        generator).
 * @param n Batch size, >= 2 (batch norm needs two rows; >= 1 for models
 *        without batch norm).
 * @param[out] loss Receives the negative ELBO per example in nats; may be
 *        NULL.
 * @return #SPD_OK; #SPD_E_INVALID (NULL v or x, n 0); #SPD_E_SHAPE (n 1
 *         with batch norm); #SPD_E_OVERFLOW; #SPD_E_DOMAIN (NaN/Inf in x);
 *         #SPD_E_NUMERIC (a non-finite loss or gradient: parameters,
 *         optimizer state and the step count are not updated, but the
 *         random streams and the batch-norm running statistics have
 *         advanced); #SPD_E_NOMEM. Argument errors change nothing.
 */
SPD_API SPD_NODISCARD int spd_vae_step(spd_vae *v, const float *x, size_t n, float *loss);

/**
 * @brief The two parts of the last step's loss.
 * @param v VAE.
 * @param[out] recon Receives the mean of -log N(t; xhat, sigma^2 I); may be
 *        NULL.
 * @param[out] kl Receives the mean of log q(z|y) - log N(z; 0, I); may be
 *        NULL. recon + kl equals the loss (to rounding).
 * @return #SPD_OK; #SPD_E_INVALID (v NULL); #SPD_E_STATE (no step yet).
 */
SPD_API SPD_NODISCARD int spd_vae_loss_parts(const spd_vae *v, double *recon, double *kl);

/**
 * @brief Loss on data without any update.
 *
 * Batch norm runs in inference mode and the noise comes from the
 * evaluation stream, so training results do not depend on evaluations.
 *
 * @param v VAE.
 * @param x n rows of x_dim finite floats.
 * @param n Rows, > 0.
 * @param[out] loss Receives the mean negative ELBO; may be NULL.
 * @param[out] recon Receives its reconstruction part; may be NULL.
 * @param[out] kl Receives its KL part; may be NULL.
 * @return As spd_vae_step() (never #SPD_E_SHAPE for n 1).
 */
SPD_API SPD_NODISCARD int spd_vae_evaluate(spd_vae *v, const float *x, size_t n, double *loss,
                                           double *recon, double *kl);

/**
 * @brief Reconstruct data: decode the encoder mean of the clean x
 *        (inference mode, no noise).
 * @param v VAE.
 * @param x n rows of x_dim finite floats.
 * @param n Rows, > 0.
 * @param[out] xhat n x x_dim floats; unchanged on failure.
 * @return #SPD_OK; #SPD_E_INVALID; #SPD_E_OVERFLOW; #SPD_E_DOMAIN;
 *         #SPD_E_NOMEM.
 */
SPD_API SPD_NODISCARD int spd_vae_reconstruct(spd_vae *v, const float *x, size_t n,
                                              float *xhat);

/**
 * @brief Write the whole training state to a checkpoint file of kind
 *        `SVAE` (see doc/generator.md): generator and encoder parameters and
 *        batch-norm buffers, Adam moments and step counts, every random
 *        stream, the spread's parameters and optimizer, the step count and
 *        every option. Atomic, as spd_generator_save().
 * @param v VAE.
 * @param path File name.
 * @return #SPD_OK; #SPD_E_INVALID; #SPD_E_IO; #SPD_E_NOMEM.
 */
SPD_API SPD_NODISCARD int spd_vae_save(const spd_vae *v, const char *path);

/**
 * @brief Rebuild a VAE from spd_vae_save(); training continues bitwise as
 *        if it had not been interrupted (same thread count not even needed).
 * @param path File name.
 * @param[out] out Receives the VAE (owning its own generator); unchanged on
 *        failure.
 * @return #SPD_OK; #SPD_E_INVALID; #SPD_E_IO; #SPD_E_FORMAT (truncated,
 *         corrupted, foreign, or inconsistent content); #SPD_E_NOMEM.
 * @note The caller owns the VAE (spd_vae_free()).
 */
SPD_API SPD_NODISCARD int spd_vae_load(const char *path, spd_vae **out);

#ifdef __cplusplus
}
#endif

#endif /* SPREADDIV_VAE_H */
