/* The Amari distance between an estimated and the true mixing matrix. */
#ifndef ICA_AMARI_H
#define ICA_AMARI_H

#include <stddef.h>

/* With P = pinv(A_est) A_true (Z x Z; pinv(A) = (A^T A)^-1 A^T) and
 *
 *   d = 1 / (2 Z (Z - 1)) * [ sum_i (sum_j |p_ij| / max_j |p_ij| - 1)
 *                           + sum_j (sum_i |p_ij| / max_i |p_ij| - 1) ],
 *
 * d is in [0, 1] and is 0 exactly when P is a permutation times a diagonal
 * scaling, i.e. A_est recovers A_true up to the order, sign and scale of its
 * columns. (d = 0 for Z = 1.) fastica_reference.py computes the same
 * formula. a_est and a_true are X x Z, row-major. Returns 0, or -1 if
 * A_est^T A_est is singular or a row or column of P is zero. */
int ica_amari(const double *a_est, const double *a_true, size_t x_dim,
              size_t z_dim, double *out);

#endif /* ICA_AMARI_H */
