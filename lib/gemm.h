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

/* Whether single-precision GEMMs run on the library's AVX-512 micro-kernel
 * (ukr_avx512.h) rather than on BLIS's own, at the current spdi_cap_isa(). */
bool spdi_sgemm_own_kernel(void);

/* BLIS's single-precision GEMM micro-kernel for the selected configuration,
 * for drivers that pack their own operands (lib/ops/igemm.c).
 *
 * Packed A: micro-panels of mr rows; element (i, p) of a panel at
 * a[p * packmr + i]. Packed B: micro-panels of nr columns; element (p, j)
 * at b[p * packnr + j]. Panels are 64-byte aligned and fully written
 * (rows/columns past the edge of the matrix zero). mc, kc, nc are the
 * configuration's cache block sizes. */
struct spdi_ukernel {
  size_t mr, nr, packmr, packnr, mc, kc, nc;
  bool row_pref;      /* the kernel is fastest with a row-stored C tile */
  bool in_place;      /* spdi_ukernel_run_ex() may be used (the AVX-512 kernel) */
  const void *impl;   /* BLIS context; opaque */
  void (*kernel)(void); /* the micro-kernel, type-erased */
};
void spdi_ukernel_get(struct spdi_ukernel *u);

/* c (m x n, m <= mr, n <= nr, strides rs_c / cs_c) = A B over k, from
 * packed panels, plus c itself when accumulate (c is not read otherwise). */
void spdi_ukernel_run(const struct spdi_ukernel *u, size_t m, size_t n, size_t k,
                      const float *a, const float *b, float *c, ptrdiff_t rs_c,
                      ptrdiff_t cs_c, bool accumulate);

/* spdi_ukernel_run() with one operand in place: A by rows (lda != 0,
 * element (i, p) at a[i * lda + p], i < m) or B by rows (ldb != 0, element
 * (p, j) at b[p * ldb + j], j < n), not both; nothing else of them is read.
 * Only where u->in_place; the same bits as on packed copies. */
void spdi_ukernel_run_ex(const struct spdi_ukernel *u, size_t m, size_t n, size_t k,
                         const float *a, size_t lda, const float *b, size_t ldb, float *c,
                         ptrdiff_t rs_c, ptrdiff_t cs_c, bool accumulate);

#endif /* SPDI_GEMM_H */
