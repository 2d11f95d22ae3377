/* The library's own thread count. It is kept here rather than in OpenMP's
 * or BLIS's global state so that the host application's settings (and its
 * environment variables) neither affect us nor are affected by us. */
#include "internal.h"

#include <omp.h>
#include <stdatomic.h>

static atomic_int num_threads = 1;

int spd_set_num_threads(int n)
{
  if (n < 0)
    return SPDI_FAIL(SPD_E_INVALID, "thread count %d is negative", n);
  if (n == 0)
    n = omp_get_num_procs() > 0 ? omp_get_num_procs() : 1;
  atomic_store(&num_threads, n);
  return SPD_OK;
}

int spd_num_threads(void)
{
  return atomic_load(&num_threads);
}

int spdi_threads(void)
{
  return omp_in_parallel() ? 1 : atomic_load(&num_threads);
}
