/* Adaptive Gauss-Kronrod quadrature for the exact divergences. */
#ifndef SPDI_QUAD_H
#define SPDI_QUAD_H

#include <stdbool.h>
#include <stddef.h>

#define SPDI_QUAD_MAXOUT 2

/* Integrand: writes nout values at x; false if it cannot be evaluated. */
typedef bool (*spdi_quad_fn)(double x, void *ctx, double *out);

enum { SPDI_QUAD_OK = 0, SPDI_QUAD_EVAL = -1, SPDI_QUAD_NOCONV = -2, SPDI_QUAD_NOMEM = -3 };

/* Integrate nout (<= SPDI_QUAD_MAXOUT) functions over [breaks[0],
 * breaks[nbreaks - 1]], starting from the intervals between consecutive
 * breaks (sorted ascending; equal neighbours are skipped), bisecting the
 * interval with the largest error estimate until, for every output k, the
 * summed error estimate is at most rtol times the integral of |f_k|.
 * Uses 21-point Gauss-Kronrod rules with QUADPACK's error estimate. */
int spdi_quad(spdi_quad_fn f, void *ctx, int nout, const double *breaks, size_t nbreaks,
              double rtol, double *result);

#endif /* SPDI_QUAD_H */
