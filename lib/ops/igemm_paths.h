/* The GEMM driver's special paths (igemm_direct.c, igemm_dot.c) and what
 * they share with it; for the driver only. */
#ifndef SPDI_IGEMM_PATHS_H
#define SPDI_IGEMM_PATHS_H

#include "cpu.h"
#include "igemm.h"

#include <stdbool.h>
#include <stddef.h>

/* The common stride of idx[0..n), or 0 if they are not evenly spaced
 * (positions along one output row are: the packing then copies with a
 * fixed stride instead of gathering through the index). */
static inline ptrdiff_t spdi_even_stride(const ptrdiff_t *idx, size_t n)
{
  if (n < 2)
    return 0;
  const ptrdiff_t st = idx[1] - idx[0];
  for (size_t j = 2; j < n; j++)
    if (idx[j] - idx[j - 1] != st)
      return 0;
  return st;
}

/* Whether the direct path suits g with work_floats of work space: at most
 * spdi_igemm_direct_max_m() rows, B's columns in contiguous runs of 16.
 * Depends on the shapes, the index arrays and the CPU only. */
bool spdi_igemm_direct_suits(const struct spdi_igemm *g, size_t work_floats);

/* C += A B (C = A B with overwrite) by the direct path; work (work_floats
 * of them) as for spdi_igemm(). */
void spdi_igemm_direct_run(const struct spdi_igemm *g, float *work, size_t work_floats,
                           int nthreads);

/* Whether the dot path suits g with work_floats of work space: a small C
 * (a weight gradient) over a long K along which A and B both read runs of
 * consecutive offsets, on a CPU with AVX-512. Depends on the shapes, the
 * index arrays and the CPU only. Returns the number of runs, written to
 * the start of work for spdi_igemm_dot_run(), or 0 where the path does not
 * suit. */
size_t spdi_igemm_dot_plan(const struct spdi_igemm *g, float *work, size_t work_floats);

/* C += A B by the dot path, over the nrun runs spdi_igemm_dot_plan() left
 * at the start of work. */
void spdi_igemm_dot_run(const struct spdi_igemm *g, const float *work, size_t nrun,
                        int nthreads);

#endif /* SPDI_IGEMM_PATHS_H */
