/* The spread kernel's private layout and the helpers that the fdiv module
 * (exact divergences, estimator, MMD) shares with it. Never installed. */
#ifndef SPDI_SPREAD_INTERNAL_H
#define SPDI_SPREAD_INTERNAL_H

#include "internal.h"

struct spd_spread {
  spd_spread_kind kind;
  size_t dim;
  size_t rank;     /* low-rank only, else 0 */
  double sigma;    /* GAUSSIAN, GAUSSIAN_LOWRANK: sigma; LAPLACE: b */
  double *scales;  /* diagonal kinds: dim scales (sigma_i or b_i) */
  float *L;        /* low-rank: dim x rank, row-major (the parameters) */
  /* Low-rank factorisation, refreshed whenever sigma or L change:
   * M = I + L^T L / sigma^2 = R R^T (R lower triangular, rank x rank),
   * V = L R^-T / sigma^2 (dim x rank), so that
   *   Sigma^-1 = I / sigma^2 - V V^T   and   Sigma^-1 L = V R^-1. */
  double *R;
  double *V;
  /* Refactorisation work arrays (lowrank_work() in spread.c): L in double
   * and the next R and V, kept so that set_scale / set_params allocate
   * nothing once warm. Changed only by those (non-const) calls. */
  double *Ld, *next_R, *next_V;
  /* log det Sigma (Gaussian kinds) or sum_i log(2 b_i) (Laplace kinds). */
  double log_norm;
};

static inline bool spdi_spread_is_gaussian(const spd_spread *s)
{
  return s->kind == SPD_SPREAD_GAUSSIAN || s->kind == SPD_SPREAD_GAUSSIAN_DIAG ||
         s->kind == SPD_SPREAD_GAUSSIAN_LOWRANK;
}

/* Scale of dimension i for the separable kinds (sigma or b). */
static inline double spdi_spread_scale_at(const spd_spread *s, size_t i)
{
  return s->scales ? s->scales[i] : s->sigma;
}

/* Common argument check of public functions: s non-NULL. */
int spdi_check_spread(const char *func, const spd_spread *s);

/* Noise T(raw) for n rows of raw draws (row stride noise width), written
 * to noise (n x dim). Uses spdi_threads() threads (one inside a parallel
 * region); the result does not depend on it. */
void spdi_spread_transform(const spd_spread *s, const float *raw, size_t n, float *noise);

/* Sigma^-1 v for one double vector (Gaussian kinds), written to out (may
 * equal v); Laplace kinds: v_i / b_i. scratch: rank doubles (low-rank). */
void spdi_spread_precision_apply(const spd_spread *s, const double *v, double *out,
                                 double *scratch);

/* Delta^T Sigma^-1 Delta (Gaussian kinds), in double, >= 0. */
double spdi_spread_mahalanobis2(const spd_spread *s, const double *delta);

/* spd_spread_log_density_grad() with the caller's work space: work holds at
 * least spdi_spread_density_work(s, n) doubles (0 means the size
 * overflows), or is NULL to allocate it for the call. Callers that evaluate
 * the density every step (the learned-spread VAE) keep the work space, and
 * the const handle stays free of mutable state (several threads may use
 * one spread at once). */
size_t spdi_spread_density_work(const spd_spread *s, size_t n);
int spdi_spread_density(const char *func, const spd_spread *s, const float *y, const float *x,
                        size_t n, double *logp, float *gy, float *gx, float *gp, double *work);

/* spd_spread_apply_noise_grad() with the caller's work space: part holds at
 * least spdi_spread_noise_grad_work(s, n) doubles (0: overflow), or is NULL
 * to allocate it for the call. */
size_t spdi_spread_noise_grad_work(const spd_spread *s, size_t n);
int spdi_spread_apply_noise_grad(const char *func, const spd_spread *s, const float *raw,
                                 size_t n, const float *grad_y, float *grad_params,
                                 double *part);

#endif /* SPDI_SPREAD_INTERNAL_H */
