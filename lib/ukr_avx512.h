/* The library's own AVX-512 single-precision GEMM micro-kernel, in BLIS's
 * packed format (gemm.h, struct spdi_ukernel).
 *
 * BLIS 0.9 picks its AVX-512 configuration (skx) only for the Skylake-X
 * models it knows by name; on later AVX-512 CPUs (Ice Lake, Sapphire
 * Rapids, ...) it runs its 256-bit haswell kernels at about half of the
 * core's peak. On those CPUs this kernel takes the haswell kernel's place
 * inside BLIS's own GEMM (through a BLIS context) and in the library's
 * GEMM driver (lib/ops/igemm.c); BLIS still does the blocking, packing and
 * threading of every sgemm.
 *
 * Tile: MR rows by NR columns, vectors along the rows (C row-stored). */
#ifndef SPDI_UKR_AVX512_H
#define SPDI_UKR_AVX512_H

#include <stddef.h>

#ifndef SPDI_UKR512_MR
#  define SPDI_UKR512_MR 8
#endif
#ifndef SPDI_UKR512_NR
#  define SPDI_UKR512_NR 48
#endif
#ifndef SPDI_UKR512_KC
#  define SPDI_UKR512_KC 256
#endif
#ifndef SPDI_UKR512_MC
#  define SPDI_UKR512_MC 144
#endif
#ifndef SPDI_UKR512_NC
#  define SPDI_UKR512_NC 4032
#endif

/* c (m x n, m <= MR, n <= NR, strides rs_c, cs_c) = alpha A B + beta c
 * over k, from packed panels: A's element (i, p) at a[p * MR + i], B's
 * (p, j) at b[p * NR + j], both 64-byte aligned. With beta == 0, c is not
 * read. Needs AVX-512F (spdi_isa_ok(SPDI_ISA_AVX512)). */
void spdi_ukr512(size_t m, size_t n, size_t k, float alpha, const float *a, const float *b,
                 float beta, float *c, ptrdiff_t rs_c, ptrdiff_t cs_c);

/* spdi_ukr512() with alpha = 1 and one operand read in place: with lda
 * != 0, A's element (i, p) at a[i * lda + p] (i < m); with ldb != 0, B's
 * (p, j) at b[p * ldb + j] (j < n); not both. Nothing outside the m x k and
 * k x n operands is read, at any alignment. The same FMA chain per element
 * as from packed panels, so the same bits. */
void spdi_ukr512_ex(size_t m, size_t n, size_t k, const float *a, size_t lda, const float *b,
                    size_t ldb, float beta, float *c, ptrdiff_t rs_c, ptrdiff_t cs_c);

#endif /* SPDI_UKR_AVX512_H */
