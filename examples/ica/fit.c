/* The EM loop (see fit.h). */
#include "fit.h"
#include "amari.h"
#include "spread_noise.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double ica_fit_gamma(const ica_fit_config *cfg, size_t t)
{
  if (t >= cfg->anneal_to)
    return cfg->gamma_end;
  if (t <= cfg->anneal_from)
    return cfg->gamma_start;
  double frac = (double)(t - cfg->anneal_from) /
                (double)(cfg->anneal_to - cfg->anneal_from);
  return cfg->gamma_start * pow(cfg->gamma_end / cfg->gamma_start, frac);
}

int ica_fit(ica_em *em, const ica_problem *p, const ica_fit_config *cfg,
            double *a, ica_fit_record *rec, ica_progress_fn progress,
            void *ctx)
{
  const size_t x = p->x_dim, z = p->z_dim, n = p->n;
  const int spread = cfg->algorithm == ICA_SPREAD_EM;
  const size_t draws = spread ? (cfg->draws ? cfg->draws : 1) : 1;
  double *syu = malloc(x * z * sizeof *syu), *sss = malloc(z * z * sizeof *sss);
  float *y = spread ? malloc(draws * n * x * sizeof *y) : NULL;
  ica_spreader *sp = NULL;
  int st = ICA_E_NOMEM;
  double t0 = now();
  if (!syu || !sss || (spread && !y))
    goto done;
  if (spread && (st = ica_spreader_create(x, ica_fit_gamma(cfg, 1), cfg->seed,
                                          cfg->stream, &sp)) != 0)
    goto done;

  rec[0].gamma = 0.0;
  rec[0].loglik = NAN;
  rec[0].seconds = 0.0;
  if (ica_amari(a, p->a_true, x, z, &rec[0].amari) != 0)
    rec[0].amari = NAN;
  if (progress)
    progress(ctx, 0, &rec[0]);

  for (size_t t = 1; t <= cfg->iterations; t++) {
    double g = ica_fit_gamma(cfg, t), ll;
    const float *data = p->x;
    if (spread) {
      /* Fresh spread samples of every data point, every iteration. */
      if ((st = ica_spreader_set_gamma(sp, g)) != 0)
        goto done;
      for (size_t d = 0; d < draws; d++)
        if ((st = ica_spreader_apply(sp, p->x, n, y + d * n * x)) != 0)
          goto done;
      data = y;
    }
    if ((st = ica_em_estep(em, a, g, data, draws * n, syu, sss, &ll)) != 0 ||
        (st = ica_em_mstep(syu, sss, x, z, a)) != 0)
      goto done;
    rec[t].gamma = g;
    rec[t].loglik = ll / (double)(draws * n);
    rec[t].seconds = now() - t0;
    if (ica_amari(a, p->a_true, x, z, &rec[t].amari) != 0)
      rec[t].amari = NAN;
    if (progress)
      progress(ctx, t, &rec[t]);
  }
  st = 0;
done:
  ica_spreader_free(sp);
  free(syu);
  free(sss);
  free(y);
  return st;
}
