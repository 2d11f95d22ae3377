/* Fixtures and the double-precision reference for test_estimator.c. */
#ifndef SPDT_ESTIMATOR_REF_H
#define SPDT_ESTIMATOR_REF_H

#include "harness.h"

#include <stddef.h>
#include <stdint.h>

enum { DIM = 3 };
extern const double ALPHA;              /* exponent of ALPHA and T_POWER */
extern const double DIAG[DIM];          /* diagonal scales */
extern const float LR[DIM * 2];         /* low-rank factor, 3 x 2 */

spd_fdiv *make_f(int kind);
/* 0 iso Gaussian, 1 diagonal, 2 low-rank, 3 Laplace, 4 diagonal Laplace */
spd_spread *make_s(int kernel);

typedef struct {
  int kernel;
  double P[DIM * DIM]; /* precision matrix (Gaussian kernels) */
} ref_kernel;

ref_kernel ref_make(int kernel);
/* log K(y|x) up to a constant */
double ref_logk(const ref_kernel *r, const double *y, const double *x);
/* noise of draw `row` of one set's stream (spd_estimator_create layout) */
void ref_noise(const ref_kernel *r, uint64_t seed, uint64_t stream, size_t row,
               double *noise);
double lse(const double *v, size_t n);
/* D^ in double for pre-drawn noise ((np + nq) S rows of DIM) */
double ref_value(const ref_kernel *r, const spd_fdiv *f, const double *xp, size_t np,
                 const double *xq, size_t nq, size_t S, const double *noise);
/* the noise of call `call`, as ref_value wants it (caller frees) */
double *ref_draws(const ref_kernel *r, uint64_t seed, uint64_t call, size_t np, size_t nq,
                  size_t S);
/* x = scale N(0, 1) + shift, from spd_rng seed */
void fill(float *x, size_t n, uint64_t seed, float scale, float shift);

#endif /* SPDT_ESTIMATOR_REF_H */
