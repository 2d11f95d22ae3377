/* Small dense linear algebra for the ICA example: BLIS GEMM with a per-call
 * thread count, and the Z x Z factorisations EM needs (Cholesky, SPD inverse,
 * symmetric eigendecomposition, Gram-Schmidt). Row-major throughout. */
#ifndef ICA_LINALG_H
#define ICA_LINALG_H

#include <stdbool.h>
#include <stddef.h>

/* C (m x n) = alpha op(A) op(B) + beta C, row-major, as lib/gemm.h: op(A)
 * is m x k (A stored k x m when trans_a). Uses `threads` BLIS threads through
 * a per-call rntm_t, never BLIS's global state; BLIS splits the output, not
 * the k sums, so the result does not depend on the thread count. */
void ica_dgemm(int threads, bool trans_a, bool trans_b, size_t m, size_t n,
               size_t k, double alpha, const double *a, size_t lda,
               const double *b, size_t ldb, double beta, double *c, size_t ldc);
void ica_sgemm(int threads, bool trans_a, bool trans_b, size_t m, size_t n,
               size_t k, float alpha, const float *a, size_t lda,
               const float *b, size_t ldb, float beta, float *c, size_t ldc);

/* In-place Cholesky factor of the n x n SPD matrix a: on success the lower
 * triangle holds L with a = L L^T (the strict upper triangle is zeroed).
 * Returns 0, or -1 if a is not numerically positive definite. */
int ica_cholesky(double *a, size_t n);

/* Inverse and log-determinant of the n x n SPD matrix a (not modified).
 * work: n*n doubles. inv may not alias a. Returns 0 or -1 (not SPD). */
int ica_spd_inverse(const double *a, size_t n, double *inv, double *logdet,
                    double *work);

/* x (m x n) = b (m x n) a^-1 for SPD a (n x n): the M-step's right solve.
 * work: n*n doubles. x may alias b. Returns 0 or -1 (a not SPD). */
int ica_solve_right_spd(const double *b, size_t m, size_t n, const double *a,
                        double *x, double *work);

/* Eigendecomposition of the symmetric n x n matrix a (not modified) by
 * cyclic Jacobi: eigenvalues in w, descending; eigenvector i in column i of
 * v (n x n). work: n*n doubles. */
void ica_sym_eig(const double *a, size_t n, double *w, double *v, double *work);

/* Orthonormalise the columns of a (rows x cols, rows >= cols) in place by
 * modified Gram-Schmidt, done twice. Returns 0, or -1 if the columns are
 * (numerically) dependent. */
int ica_orthonormalize_columns(double *a, size_t rows, size_t cols);

#endif /* ICA_LINALG_H */
