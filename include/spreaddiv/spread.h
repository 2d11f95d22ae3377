#ifndef SPREADDIV_SPREAD_H
#define SPREADDIV_SPREAD_H

/**
 * @file spreaddiv/spread.h
 * @brief Spread kernels K(y|x) = k(y - x): sampling, log-densities and
 *        their gradients, Fourier transforms, learnable parameters.
 *
 * A spread kernel is the noise added to both distributions of a spread
 * divergence (see the library README and MATH.md section 2). Five kinds:
 *
 * | kind                           | noise y - x                      | parameters (layout)            |
 * |--------------------------------|----------------------------------|--------------------------------|
 * | #SPD_SPREAD_GAUSSIAN           | sigma eps                        | [sigma]                        |
 * | #SPD_SPREAD_GAUSSIAN_DIAG      | sigma_i eps_i                    | [sigma_1 .. sigma_dim]         |
 * | #SPD_SPREAD_GAUSSIAN_LOWRANK   | sigma eps + L eta                | [sigma, L (dim x rank, row-major)] |
 * | #SPD_SPREAD_LAPLACE            | b l                              | [b]                            |
 * | #SPD_SPREAD_LAPLACE_DIAG       | b_i l_i                          | [b_1 .. b_dim]                 |
 *
 * with eps ~ N(0, I_dim), eta ~ N(0, I_rank) and l_i independent unit
 * Laplace draws (density exp(-|l|)/2). The low-rank kernel has covariance
 * Sigma = sigma^2 I + L L^T; it is never formed: every operation uses the
 * Woodbury identity and costs O(dim rank^2) to set up, O(dim rank) per
 * point, so dim = 12288 with rank 100 is fine.
 *
 * **Raw noise.** Sampling is split into two steps so that a caller can
 * differentiate through it (the reparameterisation trick, e.g. an autodiff
 * "spread noise" op): spd_spread_draw_noise() draws the standardised values
 * (a row of spd_spread_noise_width() floats per point: eps, then eta for the
 * low-rank kernel; l for Laplace), spd_spread_apply_noise() maps them to
 * y = x + noise, and spd_spread_apply_noise_grad() gives the gradient of
 * that map with respect to the parameters. spd_spread_sample() is exactly
 * draw + apply, bit for bit.
 *
 * **Scale.** Annealing schedules change one number, the *scale*: sigma for
 * #SPD_SPREAD_GAUSSIAN and #SPD_SPREAD_GAUSSIAN_LOWRANK (the isotropic
 * part; L is left alone, so a trainer that fixes the norm of L keeps it), b
 * for #SPD_SPREAD_LAPLACE, and the geometric mean of the per-dimension
 * scales for the diagonal kinds (setting it multiplies them all by the
 * same factor, keeping their ratios).
 *
 * **Threads and determinism.** Calls parallelise over points with the
 * library's thread count (spd_set_num_threads()); results do not depend on
 * it. A spread handle is only read by the `const` functions, so one handle
 * may be used by several threads at once as long as no thread changes it
 * (spd_spread_set_scale(), spd_spread_set_params()).
 */

#include <spreaddiv/core.h>
#include <spreaddiv/rng.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Opaque spread kernel. */
typedef struct spd_spread spd_spread;

/** Kinds of spread kernel. Values are pinned; new kinds are appended. */
typedef enum {
  SPD_SPREAD_GAUSSIAN = 1,         /**< N(0, sigma^2 I). */
  SPD_SPREAD_GAUSSIAN_DIAG = 2,    /**< N(0, diag(sigma_i^2)). */
  SPD_SPREAD_GAUSSIAN_LOWRANK = 3, /**< N(0, sigma^2 I + L L^T). */
  SPD_SPREAD_LAPLACE = 4,          /**< Independent Laplace(0, b) per dimension. */
  SPD_SPREAD_LAPLACE_DIAG = 5      /**< Independent Laplace(0, b_i) per dimension. */
} spd_spread_kind;

/**
 * @brief Create an isotropic Gaussian spread N(0, sigma^2 I).
 * @param dim Dimension, > 0.
 * @param sigma Standard deviation, finite and > 0.
 * @param[out] out Receives the new handle; unchanged on failure.
 * @return #SPD_OK; #SPD_E_INVALID (out NULL, dim 0); #SPD_E_DOMAIN (sigma
 *         not finite or <= 0); #SPD_E_OVERFLOW (dim above
 *         SIZE_MAX / 32); #SPD_E_NOMEM.
 * @note The caller owns the handle (spd_spread_free()).
 */
SPD_API SPD_NODISCARD int spd_spread_create_gaussian(size_t dim, double sigma,
                                                     spd_spread **out);

/**
 * @brief Create a Gaussian spread with one standard deviation per dimension.
 * @param dim Dimension, > 0.
 * @param sigma @p dim standard deviations, each finite and > 0; copied.
 * @param[out] out Receives the new handle; unchanged on failure.
 * @return #SPD_OK; #SPD_E_INVALID (NULL pointer, dim 0); #SPD_E_DOMAIN (a
 *         sigma not finite or <= 0); #SPD_E_OVERFLOW (dim above
 *         SIZE_MAX / 32); #SPD_E_NOMEM.
 * @note The caller owns the handle (spd_spread_free()).
 */
SPD_API SPD_NODISCARD int spd_spread_create_gaussian_diag(size_t dim, const double *sigma,
                                                          spd_spread **out);

/**
 * @brief Create a Gaussian spread with learned covariance sigma^2 I + L L^T.
 *
 * Sampling draws y = x + sigma eps + L eta. Set-up factorises the rank x
 * rank matrix M = I + L^T L / sigma^2 (O(dim rank^2) time, O(dim rank)
 * memory); no dim x dim matrix is ever formed.
 *
 * @param dim Dimension, > 0.
 * @param rank Number of columns of L, > 0 (rank > dim is allowed but wasteful).
 * @param sigma Isotropic standard deviation, finite and > 0.
 * @param L dim x rank matrix, row-major; copied.
 * @param[out] out Receives the new handle; unchanged on failure.
 * @return #SPD_OK; #SPD_E_INVALID (NULL pointer, dim or rank 0);
 *         #SPD_E_OVERFLOW (dim * rank overflows); #SPD_E_DOMAIN (sigma not
 *         finite or <= 0, L not finite); #SPD_E_NOMEM.
 * @note The caller owns the handle (spd_spread_free()).
 */
SPD_API SPD_NODISCARD int spd_spread_create_gaussian_lowrank(size_t dim, size_t rank,
                                                             double sigma, const float *L,
                                                             spd_spread **out);

/**
 * @brief Create an isotropic Laplace spread: independent Laplace(0, b) noise
 *        in every dimension (density prod_i exp(-|y_i - x_i| / b) / (2 b)).
 * @param dim Dimension, > 0.
 * @param b Scale, finite and > 0 (variance 2 b^2 per dimension).
 * @param[out] out Receives the new handle; unchanged on failure.
 * @return #SPD_OK; #SPD_E_INVALID (out NULL, dim 0); #SPD_E_DOMAIN (b not
 *         finite or <= 0); #SPD_E_OVERFLOW (dim above
 *         SIZE_MAX / 32); #SPD_E_NOMEM.
 * @note The caller owns the handle (spd_spread_free()).
 */
SPD_API SPD_NODISCARD int spd_spread_create_laplace(size_t dim, double b, spd_spread **out);

/**
 * @brief Create a Laplace spread with one scale per dimension.
 * @param dim Dimension, > 0.
 * @param b @p dim scales, each finite and > 0; copied.
 * @param[out] out Receives the new handle; unchanged on failure.
 * @return #SPD_OK; #SPD_E_INVALID (NULL pointer, dim 0); #SPD_E_DOMAIN (a
 *         scale not finite or <= 0); #SPD_E_OVERFLOW (dim above
 *         SIZE_MAX / 32); #SPD_E_NOMEM.
 * @note The caller owns the handle (spd_spread_free()).
 */
SPD_API SPD_NODISCARD int spd_spread_create_laplace_diag(size_t dim, const double *b,
                                                         spd_spread **out);

/**
 * @brief Create an independent copy of a spread (same kind and parameters).
 * @param s Spread to copy.
 * @param[out] out Receives the new handle; unchanged on failure.
 * @return #SPD_OK; #SPD_E_INVALID (NULL pointer); #SPD_E_NOMEM.
 * @note The caller owns the copy (spd_spread_free()).
 */
SPD_API SPD_NODISCARD int spd_spread_clone(const spd_spread *s, spd_spread **out);

/**
 * @brief Release a spread.
 * @param s A handle from a create call, or NULL (no effect).
 */
SPD_API void spd_spread_free(spd_spread *s);

/**
 * @brief Kind of a spread.
 * @param s Spread, or NULL.
 * @return One of #spd_spread_kind, or 0 if @p s is NULL.
 */
SPD_API int spd_spread_get_kind(const spd_spread *s);

/**
 * @brief Dimension of the points a spread acts on.
 * @param s Spread, or NULL.
 * @return The dimension, or 0 if @p s is NULL.
 */
SPD_API size_t spd_spread_dim(const spd_spread *s);

/**
 * @brief Rank of a low-rank Gaussian spread.
 * @param s Spread, or NULL.
 * @return The number of columns of L for #SPD_SPREAD_GAUSSIAN_LOWRANK, 0 for
 *         every other kind and for NULL.
 */
SPD_API size_t spd_spread_rank(const spd_spread *s);

/**
 * @brief Number of learnable parameters (see the layout table in the file
 *        description).
 * @param s Spread, or NULL.
 * @return 1 (isotropic kinds), dim (diagonal kinds), 1 + dim * rank
 *         (low-rank), or 0 if @p s is NULL.
 */
SPD_API size_t spd_spread_num_params(const spd_spread *s);

/**
 * @brief Floats of raw noise per point used by spd_spread_draw_noise().
 * @param s Spread, or NULL.
 * @return dim, or dim + rank for the low-rank kernel (eps first, then
 *         eta); 0 if @p s is NULL.
 */
SPD_API size_t spd_spread_noise_width(const spd_spread *s);

/**
 * @brief Read the scale (sigma, b, or the geometric mean of the diagonal
 *        scales; see the file description).
 * @param s Spread.
 * @param[out] scale Receives the scale.
 * @return #SPD_OK or #SPD_E_INVALID (NULL pointer).
 */
SPD_API SPD_NODISCARD int spd_spread_get_scale(const spd_spread *s, double *scale);

/**
 * @brief Change the scale, e.g. for an annealing schedule.
 *
 * Isotropic kinds: sigma (or b) becomes @p scale. Diagonal kinds: every
 * per-dimension scale is multiplied by @p scale / spd_spread_get_scale().
 * Low-rank: sigma becomes @p scale, L is unchanged, and M is refactorised.
 *
 * @param s Spread to change.
 * @param scale New scale, finite and > 0.
 * @return #SPD_OK; #SPD_E_INVALID (s NULL); #SPD_E_DOMAIN (scale not
 *         finite or <= 0, or a resulting diagonal scale would not be);
 *         #SPD_E_NOMEM (low-rank refactorisation). On failure @p s is
 *         unchanged.
 * @note Not safe while another thread uses @p s.
 */
SPD_API SPD_NODISCARD int spd_spread_set_scale(spd_spread *s, double scale);

/**
 * @brief Copy the parameters out, in the documented layout.
 * @param s Spread.
 * @param[out] params spd_spread_num_params() floats.
 * @return #SPD_OK or #SPD_E_INVALID (NULL pointer).
 */
SPD_API SPD_NODISCARD int spd_spread_get_params(const spd_spread *s, float *params);

/**
 * @brief Replace the parameters (e.g. after an optimiser step).
 * @param s Spread to change.
 * @param params spd_spread_num_params() floats in the documented layout:
 *        every scale (sigma, sigma_i, b, b_i) finite and > 0, L finite.
 * @return #SPD_OK; #SPD_E_INVALID (NULL pointer); #SPD_E_DOMAIN (a value
 *         out of its domain); #SPD_E_NOMEM (low-rank refactorisation). On
 *         failure @p s is unchanged.
 * @note Not safe while another thread uses @p s.
 */
SPD_API SPD_NODISCARD int spd_spread_set_params(spd_spread *s, const float *params);

/**
 * @brief Spread points: y_i = x_i + noise_i.
 *
 * Equivalent, bit for bit, to spd_spread_draw_noise() on @p rng followed
 * by spd_spread_apply_noise(). Reproducible from the generator's state and
 * independent of the thread count.
 *
 * @param s Spread.
 * @param rng Generator; advanced by ceil(n * width / 4) blocks, width =
 *        spd_spread_noise_width().
 * @param x n points of dim floats, finite.
 * @param n Number of points, > 0.
 * @param[out] y n points of dim floats. May be the same array as @p x
 *        (in place), must not otherwise overlap it.
 * @return #SPD_OK; #SPD_E_INVALID (NULL pointer, n 0); #SPD_E_OVERFLOW;
 *         #SPD_E_DOMAIN (x not finite); #SPD_E_NOMEM. On failure @p y and
 *         @p rng are unchanged.
 */
SPD_API SPD_NODISCARD int spd_spread_sample(const spd_spread *s, spd_rng *rng,
                                            const float *x, size_t n, float *y);

/**
 * @brief Draw the standardised noise for n points (see "Raw noise").
 * @param s Spread.
 * @param rng Generator; one call draws all n * width values (rng.h
 *        describes the layout) and advances by ceil(n * width / 4) blocks.
 * @param n Number of points, > 0.
 * @param[out] raw n rows of spd_spread_noise_width() floats: N(0, 1)
 *        values for Gaussian kinds (eps, then eta for low-rank), unit
 *        Laplace values for Laplace kinds.
 * @return #SPD_OK; #SPD_E_INVALID (NULL pointer, n 0); #SPD_E_OVERFLOW.
 */
SPD_API SPD_NODISCARD int spd_spread_draw_noise(const spd_spread *s, spd_rng *rng, size_t n,
                                                float *raw);

/**
 * @brief Map raw noise to spread points: y_i = x_i + T(raw_i), with
 *        T = sigma eps (+ L eta), sigma_i eps_i, b l or b_i l_i.
 * @param s Spread.
 * @param x n points of dim floats, finite.
 * @param raw n rows of spd_spread_noise_width() floats, finite.
 * @param n Number of points, > 0.
 * @param[out] y n points of dim floats; may equal @p x, must not overlap
 *        @p raw.
 * @return #SPD_OK; #SPD_E_INVALID (NULL pointer, n 0, y overlaps raw);
 *         #SPD_E_OVERFLOW; #SPD_E_DOMAIN (non-finite input); #SPD_E_NOMEM.
 */
SPD_API SPD_NODISCARD int spd_spread_apply_noise(const spd_spread *s, const float *x,
                                                 const float *raw, size_t n, float *y);

/**
 * @brief Gradient of the noise map with respect to the parameters.
 *
 * For a loss l(y) with y = spd_spread_apply_noise(x, raw), gives
 * dl/dparams = sum_i (dT(raw_i)/dparams)^T dl/dy_i, e.g. dl/dsigma =
 * sum_i eps_i . g_i and dl/dL = sum_i g_i eta_i^T. (dl/dx_i = dl/dy_i.)
 *
 * @param s Spread.
 * @param raw The n rows of raw noise the forward map used.
 * @param n Number of points, > 0.
 * @param grad_y n rows of dim floats, dl/dy.
 * @param[out] grad_params spd_spread_num_params() floats, overwritten (not
 *        accumulated).
 * @return #SPD_OK; #SPD_E_INVALID; #SPD_E_OVERFLOW; #SPD_E_DOMAIN
 *         (non-finite input); #SPD_E_NOMEM.
 */
SPD_API SPD_NODISCARD int spd_spread_apply_noise_grad(const spd_spread *s, const float *raw,
                                                      size_t n, const float *grad_y,
                                                      float *grad_params);

/**
 * @brief Log-densities log K(y_i | x_i), accumulated in double precision.
 *
 * Never NaN. A value is -inf only where the density underflows double
 * (scales near the smallest doubles, or distances over scale beyond
 * about 1e154).
 * @param s Spread.
 * @param y n points of dim floats, finite.
 * @param x n points of dim floats, finite.
 * @param n Number of pairs, > 0.
 * @param[out] logp n values.
 * @return #SPD_OK; #SPD_E_INVALID (NULL pointer, n 0); #SPD_E_OVERFLOW;
 *         #SPD_E_DOMAIN (non-finite input); #SPD_E_NOMEM.
 */
SPD_API SPD_NODISCARD int spd_spread_log_density(const spd_spread *s, const float *y,
                                                 const float *x, size_t n, double *logp);

/**
 * @brief Log-densities and their gradients with respect to y, x and the
 *        kernel's parameters.
 *
 * For the low-rank kernel this is what a spread VAE needs for the term
 * -log N(t; xhat, sigma^2 I + L L^T): pass y = t, x = xhat and read
 * grad_x and grad_params (sigma first, then L). For Laplace kernels the
 * derivative in y_i at y_i = x_i is taken as 0 (a subgradient).
 *
 * @param s Spread.
 * @param y n points of dim floats, finite.
 * @param x n points of dim floats, finite.
 * @param n Number of pairs, > 0.
 * @param[out] logp n values, or NULL.
 * @param[out] grad_y n x dim floats d logp_i / d y_i, or NULL.
 * @param[out] grad_x n x dim floats d logp_i / d x_i (= -grad_y), or NULL.
 * @param[out] grad_params spd_spread_num_params() floats: the gradient of
 *        sum_i logp_i (overwritten), or NULL.
 * @return As spd_spread_log_density().
 */
SPD_API SPD_NODISCARD int spd_spread_log_density_grad(const spd_spread *s, const float *y,
                                                      const float *x, size_t n, double *logp,
                                                      float *grad_y, float *grad_x,
                                                      float *grad_params);

/**
 * @brief Fourier transform (characteristic function) of the noise at a
 *        frequency: E[exp(i omega . noise)].
 *
 * Real and strictly positive for every kernel here, which is what makes
 * the spread divergence a true divergence: Gaussian exp(-omega^T Sigma
 * omega / 2), Laplace prod_i 1 / (1 + b_i^2 omega_i^2). May underflow to 0
 * for large frequencies.
 *
 * @param s Spread.
 * @param omega dim floats, finite.
 * @param[out] value The transform.
 * @return #SPD_OK; #SPD_E_INVALID (NULL pointer); #SPD_E_DOMAIN (omega not
 *         finite).
 */
SPD_API SPD_NODISCARD int spd_spread_fourier(const spd_spread *s, const float *omega,
                                             double *value);

#ifdef __cplusplus
}
#endif

#endif /* SPREADDIV_SPREAD_H */
