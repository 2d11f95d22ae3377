/* Benchmark of spd_estimate: np = nq = N points in DIM dimensions, an
 * isotropic Gaussian spread (sigma 0.5), KL, one draw per point; the same
 * estimator as estimator_numpy.py. Prints the median wall time of R runs,
 * the value, the peak of memory the library allocated during a call and
 * the process's peak resident set.
 *
 * usage: estimator-bench DIM N [--threads T] [--reps R] [--grad] */
#include "bench_time.h"

#include <spreaddiv.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static size_t live, peak;

static void *count_alloc(void *opaque, size_t size)
{
  (void)opaque;
  size_t *p = malloc(size + 16);
  if (p == NULL)
    return NULL;
  p[0] = size;
  live += size; /* calls come from the calling thread only (work buffers) */
  if (live > peak)
    peak = live;
  return (char *)p + 16;
}

static void count_free(void *opaque, void *ptr)
{
  (void)opaque;
  size_t *p = (size_t *)((char *)ptr - 16);
  live -= p[0];
  free(p);
}

int main(int argc, char **argv)
{
  if (argc < 3) {
    fprintf(stderr, "usage: estimator-bench DIM N [--threads T] [--reps R] [--grad]\n");
    return 2;
  }
  const size_t dim = strtoul(argv[1], NULL, 10), n = strtoul(argv[2], NULL, 10);
  int threads = 2, reps = 5, grad = 0;
  for (int i = 3; i < argc; i++) {
    if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
      threads = atoi(argv[++i]);
    else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc)
      reps = atoi(argv[++i]);
    else if (strcmp(argv[i], "--grad") == 0)
      grad = 1;
    else {
      fprintf(stderr, "estimator-bench: unknown argument '%s'\n", argv[i]);
      return 2;
    }
  }
  if (dim == 0 || n == 0 || reps < 1 || reps > 100 ||
      spd_set_allocator(count_alloc, count_free, NULL) != SPD_OK ||
      spd_set_num_threads(threads) != SPD_OK) {
    fprintf(stderr, "estimator-bench: bad arguments\n");
    return 2;
  }
  float *xp = malloc(n * dim * sizeof *xp), *xq = malloc(n * dim * sizeof *xq);
  float *g = grad ? malloc(n * dim * sizeof *g) : NULL;
  spd_rng *rng = NULL;
  spd_spread *s = NULL;
  spd_fdiv *f = NULL;
  spd_estimator *e = NULL;
  if (!xp || !xq || (grad && !g) || spd_rng_create(1, &rng) ||
      spd_rng_normal(rng, xp, n * dim) || spd_rng_normal(rng, xq, n * dim) ||
      spd_spread_create_gaussian(dim, 0.5, &s) || spd_fdiv_create(SPD_FDIV_KL, 0, &f) ||
      spd_estimator_create(f, s, 7, &e) || spd_estimator_set_samples(e, 1)) {
    fprintf(stderr, "estimator-bench: setup failed: %s\n", spd_last_error());
    return 1;
  }
  for (size_t i = 0; i < n * dim; i++)
    xq[i] += 0.5f; /* N(0, I) against N(0.5, I), as the NumPy script */
  double times[100], value = 0, se = 0;
  const size_t base = live;
  peak = live;
  for (int r = 0; r < reps; r++) {
    double t0 = spdb_now();
    if (spd_estimate(e, xp, n, xq, n, &value, &se, g) != SPD_OK) {
      fprintf(stderr, "estimator-bench: %s\n", spd_last_error());
      return 1;
    }
    times[r] = spdb_now() - t0;
  }
  const double med = spdb_median(times, (size_t)reps);
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf("spreaddiv dim %zu n %zu threads %d%s: median %.3f s (min %.3f, max %.3f, %d runs) "
         "value %.6f se %.6f lib_peak %.1f MiB peak_rss %.0f MiB\n",
         dim, n, threads, grad ? " +grad" : "", med, times[0], times[reps - 1],
         reps, value, se, (double)(peak - base) / (1 << 20), (double)ru.ru_maxrss / 1024);
  spd_estimator_free(e);
  spd_fdiv_free(f);
  spd_spread_free(s);
  spd_rng_free(rng);
  free(xp);
  free(xq);
  free(g);
  return 0;
}
