/* The library's one GEMM entry point: row-major BLIS calls with a per-call
 * thread count, never BLIS's global state. */
#ifndef SPDI_GEMM_H
#define SPDI_GEMM_H

#include <stdbool.h>
#include <stddef.h>

/* C (m x n) = alpha * op(A) op(B) + beta * C, all row-major.
 * op(A) is m x k: A is stored m x k (lda >= k), or k x m (lda >= m) when
 * trans_a. Likewise op(B) is k x n. With beta == 0, C is not read (NaN in C
 * does not propagate). Uses spdi_threads() threads; the result does not
 * depend on the thread count. Sizes are trusted: callers validate. */
void spdi_sgemm(bool trans_a, bool trans_b, size_t m, size_t n, size_t k,
                float alpha, const float *a, size_t lda, const float *b,
                size_t ldb, float beta, float *c, size_t ldc);

/* Double precision, same conventions. */
void spdi_dgemm(bool trans_a, bool trans_b, size_t m, size_t n, size_t k,
                double alpha, const double *a, size_t lda, const double *b,
                size_t ldb, double beta, double *c, size_t ldc);

/* Name of the kernel configuration BLIS selected at run time ("skx",
 * "haswell", ...), for benchmarks and diagnostics. */
const char *spdi_gemm_arch(void);

#endif /* SPDI_GEMM_H */
