/* A GEMM driver over "outer-sum indexed" operands, on BLIS's micro-kernel.
 *
 *   C[r][c] += sum_k A[r][k] B[k][c]   with
 *   A[r][k] = a.src[a.r[r] + a.k[k]],  B[k][c] = b.src[b.k[k] + b.c[c]],
 *   C[r][c] at c.dst[c.r[r] + c.c[c]].
 *
 * With overwrite set, C = A B instead: C's old contents are never read, so
 * a fresh output needs no zero fill first.
 *
 * Every layout the convolution ops need has this form: row-major weights,
 * im2col of a (zero-padded) image and its transpose, channel-major views of
 * NCHW tensors, the stride-phase gather of a transposed convolution, and
 * NCHW outputs. Packing reads the operands through the index arrays, so no
 * im2col matrix and no permuted copy is ever written; results are added to
 * C through the same kind of index, tile by tile.
 *
 * Determinism: every element of C receives its tile sums in K-block order,
 * each from exactly one thread, so results are the same bits on any number
 * of threads. Distinct (r, c) must address distinct elements of C. */
#ifndef SPDI_IGEMM_H
#define SPDI_IGEMM_H

#include "gemm.h"

#include <stdbool.h>
#include <stddef.h>

struct spdi_igemm {
  size_t M, N, K;
  struct { const float *src; const ptrdiff_t *r, *k; } a;
  struct { const float *src; const ptrdiff_t *k, *c; } b;
  struct { float *dst; const ptrdiff_t *r, *c; } c;
  bool overwrite; /* C = A B rather than C += A B */
  /* Optional, where some columns' products are known to be zero for some
   * k (a convolution's taps that read zero padding): with kr.run set, the
   * columns go in runs of 16 (run r: columns 16 r .. 16 r + 15), run r of
   * class kr.run[r], and class q's terms are the k in the ranges
   * [kr.seg[2 p], kr.seg[2 p + 1]) for kr.off[q] <= p < kr.off[q + 1],
   * ascending; B[k][c] is zero for every other k. A path may skip those
   * products or not: with finite A, the result is the same bits. */
  struct { const ptrdiff_t *run, *off, *seg; } kr;
};

/* kr for GEMMs whose columns take every k. */
#define SPDI_IGEMM_ALL_K { NULL, NULL, NULL }

/* Whether spdi_igemm() solves an M x N problem as C^T = B^T A^T (it
 * depends on the shapes and the kernel only). Callers that can lay out an
 * operand two ways use it to make the packed side's index evenly spaced. */
bool spdi_igemm_transposes(size_t M, size_t N, const struct spdi_ukernel *u);

/* The most rows of A for which spdi_igemm() may take its direct path (B
 * read in place, no packing) on this CPU: 512 with AVX-512, 16 with
 * AVX2, else 0. Callers choose their GEMM forms and groups with it. */
size_t spdi_igemm_direct_max_m(void);

/* Floats of work space spdi_igemm() needs with nthreads threads. */
size_t spdi_igemm_work(const struct spdi_ukernel *u, int nthreads);

/* C += A B (C = A B with g->overwrite). work: spdi_igemm_work() floats, 64-byte aligned. Uses up to
 * nthreads threads (1 when inside a parallel region). */
void spdi_igemm(const struct spdi_igemm *g, const struct spdi_ukernel *u, float *work,
                int nthreads);

#endif /* SPDI_IGEMM_H */
