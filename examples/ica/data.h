/* The example's data: independent mixture-of-Gaussians sources mixed by a
 * random well-conditioned matrix, with no noise, and a common initial guess. */
#ifndef ICA_DATA_H
#define ICA_DATA_H

#include "em.h"

#include <stddef.h>
#include <stdint.h>

/* Singular values of the true mixing matrix are evenly spaced in
 * [1, ICA_CONDITION]: its condition number. */
#define ICA_CONDITION 2.0

typedef struct {
  size_t x_dim, z_dim, n;
  double *a_true; /* X x Z: U diag(sv) V^T, U X x Z orthonormal, V orthogonal */
  double *a_init; /* X x Z: top-Z PCA of the data, rescaled, randomly rotated */
  float *x;       /* n x X: x_n = A_true s_n, computed in double, stored float */
} ica_problem;

/* Draw a problem from `seed` with the library's RNG (stream 1: A_true,
 * stream 2: sources, stream 3: the initial rotation). The initial guess
 * A_init = E_Z diag(lambda_Z)^(1/2) R / sqrt(var_s) matches the data's
 * covariance (E_Z, lambda_Z: its top Z eigenpairs; var_s: the prior's
 * variance; R: random orthogonal), so it is right to second order and wrong
 * by a rotation, which only the sources' non-Gaussianity can fix.
 * Returns 0, or a negative spd_status / -1 (message on stderr is the
 * caller's job; this prints nothing). */
int ica_problem_create(size_t x_dim, size_t z_dim, size_t n, uint64_t seed,
                       const ica_prior *prior, ica_problem **out);
void ica_problem_free(ica_problem *p);

/* Write the data for fastica_reference.py: the bytes "SPDICA01", then
 * x_dim, z_dim, n as little-endian uint64, then A_true (X x Z float64, LE,
 * row-major), then x (n x X float32, LE, row-major). Returns 0 or -1. */
int ica_problem_dump(const ica_problem *p, const char *path);

#endif /* ICA_DATA_H */
