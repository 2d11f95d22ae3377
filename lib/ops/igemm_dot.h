/* The GEMM driver's dot path (igemm_dot.c), for spdi_igemm() only. */
#ifndef SPDI_IGEMM_DOT_H
#define SPDI_IGEMM_DOT_H

#include "igemm.h"

#include <stdbool.h>
#include <stddef.h>

/* The instruction-set level spdi_igemm() may use now (SPDI_ISA_*). */
int spdi_igemm_isa(void);

/* Whether the dot path suits g with work_floats of work space: a small C
 * (a weight gradient) over a long K along which A and B both read runs of
 * consecutive offsets, on a CPU with AVX-512. Depends on the shapes, the
 * index arrays and the CPU only. */
bool spdi_igemm_dot_suits(const struct spdi_igemm *g, size_t work_floats);

/* C += A B by the dot path; work as for spdi_igemm(). */
void spdi_igemm_dot_run(const struct spdi_igemm *g, float *work, int nthreads);

#endif /* SPDI_IGEMM_DOT_H */
