/* Exact EM for the linear ICA model with a mixture-of-Gaussians source prior.
 *
 *   y = A s + gamma eps,  s_j iid  sum_k w_k N(0, sd_k^2),  eps ~ N(0, I_X)
 *
 * A is X x Z (X >= Z, full column rank). The E-step is exact: it enumerates
 * the K^Z assignments c of sources to prior components; given c the
 * posterior of s is Gaussian. All per-point work goes through the
 * least-squares coordinates u = (A^T A)^-1 A^T y, since (derived in README)
 *
 *   u | c ~ N(0, D_c + M^-1),   M^-1 = gamma^2 (A^T A)^-1,
 *   E[s | y, c] = u - M^-1 V_c u,   V_c = (D_c + M^-1)^-1,
 *   Cov[s | y, c] = D_c - D_c V_c D_c,
 *   log p(y | c) = log N(u; 0, D_c + M^-1) - |y - A u|^2 / (2 gamma^2)
 *                  - (X - Z)/2 log(2 pi gamma^2) - 1/2 log det A^T A,
 *
 * so one GEMM of the points' quadratic features against the packed V_c gives
 * every log responsibility, and a second GEMM of the responsibilities against
 * the same features gives the statistics the M-step needs. */
#ifndef ICA_EM_H
#define ICA_EM_H

#include <stddef.h>

#define ICA_MAX_COMPONENTS 4
#define ICA_MAX_Z 16
/* K^Z assignments are enumerated; this bounds memory (and time). */
#define ICA_MAX_ASSIGNMENTS 65536u

/* Source prior: every source is sum_k weight[k] N(0, sd[k]^2). */
typedef struct {
  size_t k;
  double weight[ICA_MAX_COMPONENTS];
  double sd[ICA_MAX_COMPONENTS];
} ica_prior;

/* The example's prior: two zero-mean components, weights 1/2, variances 0.2
 * and 1.8 (unit variance, excess kurtosis 3 (0.2^2 + 1.8^2)/2 - 3 = 1.92). */
void ica_prior_default(ica_prior *p);

/* 0 if p is usable (1 <= k <= ICA_MAX_COMPONENTS, weights > 0 summing to 1
 * within 1e-9, sd > 0, all finite); otherwise -1. */
int ica_prior_check(const ica_prior *p);

typedef struct ica_em ica_em;

/* Status codes of the example's own code; distinct from spd_status values
 * so that one int can carry either (ica_strerror names both). */
enum {
  ICA_OK = 0,
  ICA_E_INVALID = -101,  /* bad argument */
  ICA_E_NOMEM = -102,    /* allocation failed */
  ICA_E_SINGULAR = -103, /* a matrix that must be positive definite is not */
  ICA_E_NUMERIC = -104   /* a non-finite value appeared (diverged?) */
};

/* Name of an ICA_E_* code, or spd_strerror() of anything else. */
const char *ica_strerror(int status);

/* Workspace for X x Z models with the given prior; `threads` >= 1 is the
 * thread count of its BLIS calls and OpenMP loops (results do not depend on
 * it). Returns ICA_OK or ICA_E_INVALID / ICA_E_NOMEM. */
int ica_em_create(size_t x_dim, size_t z_dim, const ica_prior *prior,
                  int threads, ica_em **out);
void ica_em_free(ica_em *em);

/* Number of assignments enumerated per point (K^Z). */
size_t ica_em_assignments(const ica_em *em);

/* E-step on n points y (n x X floats, row-major) for mixing matrix a (X x Z
 * doubles) and output noise gamma > 0:
 *   syu (X x Z) = sum_n y_n E[s | y_n]^T,
 *   sss (Z x Z) = sum_n E[s s^T | y_n],
 *   loglik      = sum_n log p(y_n | a, gamma)   (EM's bound, tight here).
 * Returns ICA_OK, ICA_E_INVALID (bad sizes or gamma), ICA_E_SINGULAR
 * (A^T A or a posterior covariance not positive definite) or ICA_E_NUMERIC
 * (non-finite data or log-likelihood). */
int ica_em_estep(ica_em *em, const double *a, double gamma, const float *y,
                 size_t n, double *syu, double *sss, double *loglik);

/* M-step: a_new (X x Z) = syu sss^-1. Returns ICA_OK or ICA_E_SINGULAR. */
int ica_em_mstep(const double *syu, const double *sss, size_t x_dim,
                 size_t z_dim, double *a_new);

#endif /* ICA_EM_H */
