/* Wall-clock timing shared by the benchmark programs. */
#ifndef SPDB_BENCH_TIME_H
#define SPDB_BENCH_TIME_H

#include <stddef.h>
#include <stdlib.h>
#include <time.h>

/* Seconds on the monotonic clock. */
static inline double spdb_now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static inline int spdb_cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Sorts v[0..n) ascending (n >= 1) and returns its median. */
static inline double spdb_median(double *v, size_t n)
{
  qsort(v, n, sizeof *v, spdb_cmp_double);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

#endif /* SPDB_BENCH_TIME_H */
