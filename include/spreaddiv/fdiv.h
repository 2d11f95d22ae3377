#ifndef SPREADDIV_FDIV_H
#define SPREADDIV_FDIV_H

/**
 * @file spreaddiv/fdiv.h
 * @brief f-divergences, exact spread divergences between point masses,
 *        Monte Carlo spread divergences between sample sets, and MMD.
 *
 * An f-divergence is D_f(p||q) = E_q[f(p/q)] for a convex f with f(1) = 0.
 * With u = p/q and t = log u, the library evaluates f in log space, as a
 * function of t, so that distributions far apart give exact finite values
 * instead of inf or NaN.
 *
 * | kind                              | f(u)                                         | note |
 * |-----------------------------------|----------------------------------------------|------|
 * | #SPD_FDIV_KL                      | u log u                                      | KL(p\|\|q) |
 * | #SPD_FDIV_REVERSE_KL              | -log u                                       | KL(q\|\|p) |
 * | #SPD_FDIV_JENSEN_SHANNON          | (u log u - (1 + u) log((1 + u) / 2)) / 2     | in [0, log 2]; TFP's is twice this |
 * | #SPD_FDIV_SQUARED_HELLINGER       | (sqrt u - 1)^2                               | not halved: integral of (sqrt p - sqrt q)^2, in [0, 2] |
 * | #SPD_FDIV_TOTAL_VARIATION         | abs(u - 1) / 2                               | in [0, 1] |
 * | #SPD_FDIV_PEARSON_CHI2            | (u - 1)^2                                    | |
 * | #SPD_FDIV_NEYMAN_CHI2             | (u - 1)^2 / u                                | |
 * | #SPD_FDIV_ALPHA                   | (u^a - 1 - a (u - 1)) / (a (a - 1))          | Amari; a = alpha, not 0 or 1 |
 * | #SPD_FDIV_JEFFREYS                | (u - 1) log u                                | KL(p\|\|q) + KL(q\|\|p) |
 * | #SPD_FDIV_TRIANGULAR              | (u - 1)^2 / (1 + u)                          | triangular discrimination, in [0, 2] |
 * | #SPD_FDIV_ARITHMETIC_GEOMETRIC    | (1 + u) log((1 + u) / (2 sqrt u))            | KL(m\|\|p) + KL(m\|\|q), m = (p + q) / 2 (as TFP) |
 * | #SPD_FDIV_MODIFIED_GAN            | log((1 + u) / (2 u)) + (u - 1) / 2           | TFP's self-normalised modified GAN minus log 2, so f(1) = 0 |
 * | #SPD_FDIV_T_POWER                 | s (u^t - 1), s = -1 for 0 < t < 1, else +1   | t = alpha, not 0 or 1 (as TFP) |
 * | #SPD_FDIV_LOG1P_ABS               | u^sign(u - 1) - 1                            | as TFP |
 * | #SPD_FDIV_CUSTOM                  | a callback                                   | spd_fdiv_create_custom() |
 *
 * **Exact point-mass divergences** (spd_divergence_delta()): for p =
 * delta(mu_p) and q = delta(mu_q) spread by the same kernel.
 * - Gaussian kernels (isotropic, diagonal, low-rank) reduce exactly to one
 *   dimension, the Mahalanobis distance d = sqrt(Delta^T Sigma^-1 Delta),
 *   Delta = mu_p - mu_q. Closed forms: KL = reverse KL = d^2 / 2, Jeffreys
 *   = d^2, total variation = erf(d / (2 sqrt 2)), and the power family
 *   (squared Hellinger = 2 (1 - exp(-d^2 / 8)), Pearson = Neyman = exp(d^2)
 *   - 1, alpha, t-power) from int p^a q^(1-a) = exp(a (a - 1) d^2 / 2).
 *   Every other kind (Jensen-Shannon, triangular, arithmetic-geometric,
 *   modified GAN, log1p-abs, custom) is integrated along the line through
 *   the two means with adaptive 21-point Gauss-Kronrod quadrature in double
 *   precision to a relative error below 1e-9 (requested 1e-12).
 * - Laplace kernels factor over dimensions. KL, reverse KL and Jeffreys
 *   are sums of 1-D terms (d + exp(-d) - 1 per dimension, d = |Delta_i| /
 *   b_i); the power family is a product of 1-D Bhattacharyya-type integrals,
 *   all closed form. Total variation and the other kinds are not
 *   separable: they are exact (closed form or quadrature over the three
 *   pieces of the 1-D integral) when at most one coordinate differs, and
 *   #SPD_E_UNSUPPORTED otherwise - the library never approximates silently.
 * - Values that are finite mathematically but overflow a double (Pearson
 *   chi^2 = exp(d^2) - 1 for d^2 > 709, alpha with large |a|, or their
 *   gradients) make the call fail with #SPD_E_NUMERIC and a message; the
 *   outputs are left untouched.
 *
 * **Monte Carlo estimator** (spd_estimate()): D_f(p~||q~) for p, q the
 * empirical distributions of two point sets and p~, q~ their spreads
 * (kernel density estimates). Importance weights p~/q~ explode when the
 * sets are far apart, so draws do not come from q~ alone. With m =
 * (p~ + q~) / 2 and psi(t) = 2 f~(e^t) / (1 + e^t):
 *
 *     D_f(p~||q~) = E_m[ psi(log p~(y) - log q~(y)) ],
 *     f~(u) = f(u) - f'(1) (u - 1)      (same divergence, f~(1) = f~'(1) = 0)
 *
 * and the estimator draws S points from the spread of every point of each
 * set (stratified sampling of m, the balance heuristic with equal weights):
 *
 *     D^ = (1/2) mean_{y from p~} psi(t(y)) + (1/2) mean_{y from q~} psi(t(y)).
 *
 * log p~ and log q~ are computed exactly (log-sum-exp over all points), so
 * D^ is unbiased. psi is bounded for the bounded divergences (e.g. 0 <=
 * psi < log 2 for Jensen-Shannon, which is therefore never negative) and
 * grows like |t| for KL-type kinds, so far-apart sets give the exact
 * finite answer. The standard error is sqrt(var_p / (4 n_p S) + var_q /
 * (4 n_q S)) with the sample variances of psi in each half; it ignores the
 * stratification over points, which can only lower the true error, so it
 * is conservative (exact when all points of a set coincide). The gradient
 * with respect to the q points differentiates D^ exactly: through the
 * reparameterised draws y = x_q + noise and through q~ itself.
 *
 * Pairwise Gaussian terms come from BLIS GEMM on tiles of 256 draws by 512
 * points (vectorised loops when dim + rank < 32, and for Laplace kernels)
 * with a streaming log-sum-exp; memory is O((n_p + n_q) S (dim + rank))
 * for the draws plus O(threads x tile), never O(n_p n_q). Logits are formed
 * in float32 after centring the data (their error is about 1e-7 of the
 * squared distances involved); exponentials use a vectorised float exp
 * (relative error < 2.5e-7); sums over draws are in double.
 *
 * **Threads.** Every function parallelises with spd_set_num_threads();
 * results are bitwise identical for any thread count. Custom f callbacks
 * are only ever called from the thread that called the library.
 */

#include <spreaddiv/core.h>
#include <spreaddiv/spread.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Opaque f-divergence. */
typedef struct spd_fdiv spd_fdiv;

/** Opaque Monte Carlo spread-divergence estimator. */
typedef struct spd_estimator spd_estimator;

/** Kinds of f-divergence (see the table above). Values are pinned; new
 *  kinds are appended. */
typedef enum {
  SPD_FDIV_KL = 1,                    /**< Kullback-Leibler KL(p||q). */
  SPD_FDIV_REVERSE_KL = 2,            /**< KL(q||p). */
  SPD_FDIV_JENSEN_SHANNON = 3,        /**< Jensen-Shannon, in [0, log 2]. */
  SPD_FDIV_SQUARED_HELLINGER = 4,     /**< Integral of (sqrt p - sqrt q)^2 (not halved). */
  SPD_FDIV_TOTAL_VARIATION = 5,       /**< Half the L1 distance, in [0, 1]. */
  SPD_FDIV_PEARSON_CHI2 = 6,          /**< Integral of (p - q)^2 / q. */
  SPD_FDIV_NEYMAN_CHI2 = 7,           /**< Integral of (p - q)^2 / p. */
  SPD_FDIV_ALPHA = 8,                 /**< Amari alpha-divergence. */
  SPD_FDIV_JEFFREYS = 9,              /**< KL(p||q) + KL(q||p). */
  SPD_FDIV_TRIANGULAR = 10,           /**< Integral of (p - q)^2 / (p + q). */
  SPD_FDIV_ARITHMETIC_GEOMETRIC = 11, /**< KL(m||p) + KL(m||q), m = (p + q) / 2. */
  SPD_FDIV_MODIFIED_GAN = 12,         /**< log((1 + u) / (2u)) + (u - 1) / 2. */
  SPD_FDIV_T_POWER = 13,              /**< s (u^t - 1). */
  SPD_FDIV_LOG1P_ABS = 14,            /**< u^sign(u - 1) - 1. */
  SPD_FDIV_CUSTOM = 15                /**< A user-supplied f (spd_fdiv_create_custom()). */
} spd_fdiv_kind;

/**
 * @brief A scalar function of u > 0 for spd_fdiv_create_custom().
 * @param u The density ratio p / q, > 0 and finite.
 * @param user The pointer given to spd_fdiv_create_custom().
 * @return The function's value (f(u) or f'(u)).
 */
typedef double (*spd_fdiv_fn)(double u, void *user);

/**
 * @brief Create a built-in f-divergence.
 * @param kind One of #spd_fdiv_kind except #SPD_FDIV_CUSTOM.
 * @param alpha The exponent for #SPD_FDIV_ALPHA and #SPD_FDIV_T_POWER:
 *        finite, not 0 and not 1. Ignored by every other kind.
 * @param[out] out Receives the new handle; unchanged on failure.
 * @return #SPD_OK; #SPD_E_INVALID (out NULL, unknown kind, or
 *         #SPD_FDIV_CUSTOM); #SPD_E_DOMAIN (alpha not finite, 0 or 1 for
 *         the kinds that use it); #SPD_E_NOMEM.
 * @note The caller owns the handle (spd_fdiv_free()).
 */
SPD_API SPD_NODISCARD int spd_fdiv_create(spd_fdiv_kind kind, double alpha, spd_fdiv **out);

/**
 * @brief Create an f-divergence from a user-supplied convex f.
 *
 * The library evaluates f at u = exp(t) in double precision, so values of
 * t beyond about +-709 reach f as 0 or +inf; if f (or a result derived
 * from it) is then not finite, the call that needed it fails with
 * #SPD_E_NUMERIC. Without @p fprime, derivatives are taken by central
 * differences in t (relative error about 1e-8). Convexity is the caller's
 * responsibility; f(1) = 0 is checked here.
 *
 * @param f The function f(u); called only from the thread that calls the
 *        library, never concurrently for one handle.
 * @param fprime f'(u), or NULL.
 * @param user Passed unchanged to @p f and @p fprime; borrowed, must stay
 *        valid while the handle (or an estimator created from it) lives.
 * @param[out] out Receives the new handle; unchanged on failure.
 * @return #SPD_OK; #SPD_E_INVALID (f or out NULL); #SPD_E_DOMAIN (|f(1)| >
 *         1e-12, or f(1) or f'(1) not finite); #SPD_E_NOMEM.
 * @note The caller owns the handle (spd_fdiv_free()).
 */
SPD_API SPD_NODISCARD int spd_fdiv_create_custom(spd_fdiv_fn f, spd_fdiv_fn fprime, void *user,
                                                 spd_fdiv **out);

/**
 * @brief Release an f-divergence.
 * @param f A handle from a create call, or NULL (no effect).
 */
SPD_API void spd_fdiv_free(spd_fdiv *f);

/**
 * @brief Kind of an f-divergence.
 * @param f Divergence, or NULL.
 * @return One of #spd_fdiv_kind, or 0 if @p f is NULL.
 */
SPD_API int spd_fdiv_get_kind(const spd_fdiv *f);

/**
 * @brief Short English name of a kind, e.g. "KL", "Jensen-Shannon".
 * @param kind Any integer.
 * @return A static string; "unknown" for values that are not a kind.
 * @note Thread-safe.
 */
SPD_API const char *spd_fdiv_kind_name(int kind);

/**
 * @brief Evaluate f in log space: f(e^t) and d f(e^t) / d t = u f'(u).
 *
 * Values are accurate to a few ulps for every finite t where they are
 * representable and +-inf where they overflow (e.g. t e^t for KL at t =
 * 800); they are never NaN for built-in kinds.
 *
 * @param f Divergence.
 * @param log_u t = log u, finite.
 * @param[out] value f(e^t), or NULL.
 * @param[out] deriv d f(e^t) / dt, or NULL.
 * @return #SPD_OK; #SPD_E_INVALID (f NULL); #SPD_E_DOMAIN (log_u not
 *         finite); #SPD_E_NUMERIC (a custom f returned NaN).
 */
SPD_API SPD_NODISCARD int spd_fdiv_eval(const spd_fdiv *f, double log_u, double *value,
                                        double *deriv);

/**
 * @brief Exact spread divergence between two point masses, with its
 *        gradient with respect to the second one.
 *
 * D_f(p~||q~) for p = delta(mu_p), q = delta(mu_q) spread by @p s; see
 * "Exact point-mass divergences" above for the methods. D(p||p) is exactly
 * 0. Where mu_p = mu_q, or a divergence is not differentiable (total
 * variation), the gradient is the zero subgradient.
 *
 * @param f Divergence.
 * @param s Spread; its dimension gives the length of the vectors.
 * @param mu_p dim floats, finite.
 * @param mu_q dim floats, finite.
 * @param[out] value The divergence.
 * @param[out] grad_mu_q dim floats, d value / d mu_q, or NULL.
 * @return #SPD_OK; #SPD_E_INVALID (NULL pointer); #SPD_E_DOMAIN (non-finite
 *         input); #SPD_E_UNSUPPORTED (no exact method: a non-separable kind
 *         with a Laplace spread and several differing coordinates);
 *         #SPD_E_NUMERIC (the value or gradient overflows a double, or a
 *         custom f misbehaves). Outputs are untouched on failure.
 */
SPD_API SPD_NODISCARD int spd_divergence_delta(const spd_fdiv *f, const spd_spread *s,
                                               const float *mu_p, const float *mu_q,
                                               double *value, float *grad_mu_q);

/**
 * @brief Create a Monte Carlo estimator of D_f(p~||q~).
 * @param f Divergence; copied (a custom f's user pointer stays borrowed).
 * @param s Spread; copied, so later changes to @p s do not affect the
 *        estimator.
 * @param seed Seed of the estimator's random streams: the k-th successful
 *        spd_estimate() call (from 0) uses Philox streams 2k (draws around
 *        the p points) and 2k + 1 (the q points) of this seed; the draws for
 *        point i, draw j start at block (i S + j) ceil(width / 4), so they
 *        depend neither on the thread count nor on the other set's size.
 * @param[out] out Receives the new handle; unchanged on failure.
 * @return #SPD_OK; #SPD_E_INVALID (NULL pointer); #SPD_E_NOMEM.
 * @note The caller owns the handle (spd_estimator_free()).
 */
SPD_API SPD_NODISCARD int spd_estimator_create(const spd_fdiv *f, const spd_spread *s,
                                               uint64_t seed, spd_estimator **out);

/**
 * @brief Release an estimator.
 * @param e A handle from spd_estimator_create(), or NULL (no effect).
 */
SPD_API void spd_estimator_free(spd_estimator *e);

/**
 * @brief Set the number of spread draws per point, S.
 *
 * Every point of both sets gets S draws, so a call uses (n_p + n_q) S draws
 * and costs O((n_p + n_q)^2 S dim). The default, "automatic", uses S =
 * ceil(1000 / n) for a set of n points (at least 1000 draws per set, one
 * per point for large sets), separately for each set.
 *
 * @param e Estimator.
 * @param n Draws per point, > 0.
 * @return #SPD_OK or #SPD_E_INVALID (e NULL, n 0).
 */
SPD_API SPD_NODISCARD int spd_estimator_set_samples(spd_estimator *e, size_t n);

/**
 * @brief Estimate D_f(p~||q~) from two sample sets, with its standard error
 *        and optionally its gradient with respect to the q points.
 *
 * See "Monte Carlo estimator" above. Each call uses fresh draws (the next
 * pair of streams); create a new estimator with the same seed to repeat a
 * call exactly (common random numbers).
 *
 * @param e Estimator (one thread at a time).
 * @param xp n_p points of dim floats (p), finite.
 * @param np Number of p points, > 0.
 * @param xq n_q points of dim floats (q), finite.
 * @param nq Number of q points, > 0.
 * @param[out] value The estimate.
 * @param[out] std_error Its standard error, or NULL; +inf when a set has a
 *        single draw in total (no variance estimate).
 * @param[out] grad_xq n_q x dim floats, d value / d xq, or NULL.
 * @return #SPD_OK; #SPD_E_INVALID (NULL pointer, np or nq 0);
 *         #SPD_E_OVERFLOW; #SPD_E_DOMAIN (non-finite input); #SPD_E_NOMEM;
 *         #SPD_E_NUMERIC (a non-finite value: an overflowing chi^2-type
 *         estimate or a misbehaving custom f). Outputs are untouched on
 *         failure, and the estimator's stream counter only advances on
 *         success.
 */
SPD_API SPD_NODISCARD int spd_estimate(spd_estimator *e, const float *xp, size_t np,
                                       const float *xq, size_t nq, double *value,
                                       double *std_error, float *grad_xq);

/**
 * @brief Unbiased MMD^2 between two point sets with the spread's
 *        autocorrelation kernel.
 *
 * The kernel is k2 = K * K, the density of the difference of two noise
 * draws, normalised so that k2(x, x) = 1: exp(-Delta^T Sigma^-1 Delta / 4)
 * for Gaussian kernels (variance 2 Sigma), prod_i (1 + |Delta_i| / b_i)
 * exp(-|Delta_i| / b_i) for Laplace kernels. With this kernel the biased
 * form (spd_mmd2_biased()) satisfies the identity
 *
 *     integral (p~(y) - q~(y))^2 dy = k2_0 MMD^2_biased(p, q),
 *
 * k2_0 = (K * K)(0) = (4 pi)^(-dim/2) det(Sigma)^(-1/2) (Gaussian) or
 * prod_i 1 / (4 b_i) (Laplace): MMD is the L2 distance between the spread
 * distributions. The U-statistic here drops the i = j terms:
 * sum_{i != j} k2(xp_i, xp_j) / (n_p (n_p - 1)) + (same for q)
 * - 2 sum k2(xp_i, xq_j) / (n_p n_q); it can be negative.
 *
 * @param s Spread.
 * @param xp n_p points of dim floats, finite.
 * @param np Number of p points, >= 2.
 * @param xq n_q points of dim floats, finite.
 * @param nq Number of q points, >= 2.
 * @param[out] value The estimate.
 * @return #SPD_OK; #SPD_E_INVALID (NULL pointer, np or nq < 2);
 *         #SPD_E_OVERFLOW; #SPD_E_DOMAIN (non-finite input); #SPD_E_NOMEM;
 *         #SPD_E_NUMERIC (a non-finite result: coordinates so large that
 *         squared distances overflow).
 */
SPD_API SPD_NODISCARD int spd_mmd2(const spd_spread *s, const float *xp, size_t np,
                                   const float *xq, size_t nq, double *value);

/**
 * @brief Biased MMD^2 (V-statistic, i = j terms included), >= 0 up to
 *        rounding; see spd_mmd2() for the kernel and the L2 identity.
 * @param s Spread.
 * @param xp n_p points of dim floats, finite.
 * @param np Number of p points, > 0.
 * @param xq n_q points of dim floats, finite.
 * @param nq Number of q points, > 0.
 * @param[out] value The estimate.
 * @return As spd_mmd2(), with np, nq > 0.
 */
SPD_API SPD_NODISCARD int spd_mmd2_biased(const spd_spread *s, const float *xp, size_t np,
                                          const float *xq, size_t nq, double *value);

#ifdef __cplusplus
}
#endif

#endif /* SPREADDIV_FDIV_H */
