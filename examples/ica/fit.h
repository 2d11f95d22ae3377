/* One EM run: standard EM on the clean data, or spread EM on freshly spread
 * data every iteration, with an optional geometric annealing of the noise. */
#ifndef ICA_FIT_H
#define ICA_FIT_H

#include "data.h"
#include "em.h"

#include <stddef.h>
#include <stdint.h>

typedef enum { ICA_STANDARD_EM, ICA_SPREAD_EM } ica_algorithm;

typedef struct {
  ica_algorithm algorithm;
  /* Noise scale: gamma (standard EM's output noise) or gamma_s (spread EM's
   * spread, used for data and model alike). It is gamma_start up to
   * iteration anneal_from, goes geometrically to gamma_end at iteration
   * anneal_to, and stays there; gamma_start == gamma_end means no
   * annealing. */
  double gamma_start, gamma_end;
  size_t anneal_from, anneal_to;
  size_t iterations;
  size_t draws;      /* spread EM: spread samples per data point per iteration */
  uint64_t seed;     /* spread EM: noise from stream `stream` of `seed` */
  uint64_t stream;
} ica_fit_config;

/* One row of the record, for iteration t = 0 (the initial guess) .. n. */
typedef struct {
  double gamma;   /* noise scale used in iteration t (0 for t = 0) */
  double amari;   /* Amari distance of A after iteration t */
  double loglik;  /* mean log p(y_n) of iteration t's data under the A it
                     started from: EM's bound there, tight (NaN for t = 0) */
  double seconds; /* wall time since the run started */
} ica_fit_record;

typedef void (*ica_progress_fn)(void *ctx, size_t t, const ica_fit_record *r);

/* Noise scale of iteration t >= 1 under cfg's schedule. */
double ica_fit_gamma(const ica_fit_config *cfg, size_t t);

/* Run cfg->iterations EM iterations from a (X x Z, overwritten with the
 * result) on p's data. rec: iterations + 1 rows. progress (may be NULL) is
 * called after iteration 0 and every later one. Returns 0, a negative
 * ICA_E_* from em.h, or a negative spd_status from the spreader (then
 * spd_last_error() says more). */
int ica_fit(ica_em *em, const ica_problem *p, const ica_fit_config *cfg,
            double *a, ica_fit_record *rec, ica_progress_fn progress,
            void *ctx);

#endif /* ICA_FIT_H */
