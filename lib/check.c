/* Input validation helpers shared by the modules. */
#include "internal.h"
#include "vmath.h"

#include <math.h>

/* Every parameter bound into a tape goes through here, so it is cloned
 * for wide vectors (7% of a dense layer's step with the SSE loop) and
 * split over the library's threads when large (on 2 threads the check of
 * a decoder's 1 M-float input ran on one while the other waited). */
SPDI_CLONES static bool span_finite(const float *x, size_t n)
{
  /* One pass with a float accumulator would overflow to inf on large but
   * finite data; test each value (the loop vectorises). */
  int bad = 0;
  for (size_t i = 0; i < n; i++)
    bad |= !isfinite(x[i]);
  return !bad;
}

#define FINITE_CHUNK 65536

bool spdi_all_finite(const float *x, size_t n)
{
  const size_t nch = (n + FINITE_CHUNK - 1) / FINITE_CHUNK;
  if (nch <= 1 || spdi_threads() < 2) /* no region: see SPDI_PARALLEL */
    return span_finite(x, n);
  int bad = 0;
#pragma omp parallel for reduction(| : bad) num_threads(spdi_threads())
  for (size_t c = 0; c < nch; c++) {
    const size_t lo = c * FINITE_CHUNK, len = n - lo < FINITE_CHUNK ? n - lo : FINITE_CHUNK;
    bad |= !span_finite(x + lo, len);
  }
  return !bad;
}
