/* Helpers shared by the op families: deterministic reductions and the
 * broadcasting rule of the binary ops. */
#include "tape_impl.h"
#include "vmath.h"

/* At most 256 chunks, each of at least 4096 elements: the split depends on
 * n only, never on the thread count, so the sum is the same bits on 1 or
 * 2 threads. */
#define MAX_CHUNKS 256
#define MIN_CHUNK 4096

static size_t chunk_len(size_t n)
{
  size_t len = (n + MAX_CHUNKS - 1) / MAX_CHUNKS;
  return len < MIN_CHUNK ? MIN_CHUNK : len;
}

/* sum x[i] (y == NULL) or sum x[i] y[i] over one chunk, in double, through
 * SPDI_LANES partial sums (element i to lane i mod LANES from the chunk's
 * start, the tail to the first lanes), added in lane order: a fixed order,
 * so every clone gives the same bits. One accumulator of two doubles (what
 * SSE2 and `omp simd reduction` gave) made the sum latency-bound, slower
 * than reading the tensor from L3 (the loss of a [32, 8, 64, 64] layer). */
SPDI_CLONES static double chunk_sum(const float *x, const float *y, size_t n)
{
  double a[SPDI_LANES] = { 0 };
  size_t i = 0;
  if (y == NULL) {
    for (; i + SPDI_LANES <= n; i += SPDI_LANES) {
#pragma omp simd
      for (size_t l = 0; l < SPDI_LANES; l++)
        a[l] += x[i + l];
    }
    for (size_t l = 0; i < n; i++, l++)
      a[l] += x[i];
  } else {
    for (; i + SPDI_LANES <= n; i += SPDI_LANES) {
#pragma omp simd
      for (size_t l = 0; l < SPDI_LANES; l++)
        a[l] += (double)x[i + l] * y[i + l];
    }
    for (size_t l = 0; i < n; i++, l++)
      a[l] += (double)x[i] * y[i];
  }
  double s = 0;
  for (size_t l = 0; l < SPDI_LANES; l++)
    s += a[l];
  return s;
}

static double chunked_sum(const float *x, const float *y, size_t n)
{
  const size_t len = chunk_len(n), nch = (n + len - 1) / len;
  double part[MAX_CHUNKS];
  SPDI_PARALLEL_FOR(spdi_par_threads(n), c, nch, {
    const size_t lo = c * len, hi = lo + len < n ? lo + len : n;
    part[c] = chunk_sum(x + lo, y != NULL ? y + lo : NULL, hi - lo);
  });
  double s = 0;
  for (size_t c = 0; c < nch; c++)
    s += part[c];
  return s;
}

double spdi_dsum(const float *x, size_t n)
{
  return chunked_sum(x, NULL, n);
}

double spdi_ddot(const float *x, const float *y, size_t n)
{
  return chunked_sum(x, y, n);
}

/* The inner == 1 case (a per-feature vector of an N x F matrix): sum down
 * the columns row by row, which reads memory in order. Threads own blocks
 * of columns; each column is still summed over rows 0, 1, ... in turn, as
 * in the general case. */
static void feature_sums(const float *x, const float *y, size_t outer, size_t C, double *out)
{
  const size_t block = 256, nblk = (C + block - 1) / block;
  SPDI_PARALLEL_FOR(outer * C >= SPDI_PAR_MIN && nblk > 1 ? spdi_threads() : 1, b, nblk, {
    const size_t c0 = b * block, c1 = c0 + block < C ? c0 + block : C;
    for (size_t c = c0; c < c1; c++)
      out[c] = 0;
    for (size_t o = 0; o < outer; o++) {
      const float *px = x + o * C, *py = y != NULL ? y + o * C : NULL;
      if (py != NULL) {
        _Pragma("omp simd")
        for (size_t c = c0; c < c1; c++)
          out[c] += (double)px[c] * py[c];
      } else {
        _Pragma("omp simd")
        for (size_t c = c0; c < c1; c++)
          out[c] += px[c];
      }
    }
  });
}

void spdi_channel_sums(const float *x, const float *y, const struct spdi_bcast *g,
                       double *out)
{
  const size_t C = g->chans, inner = g->inner, outer = g->outer;
  const size_t total = outer * C * inner;
  if (inner == 1) {
    feature_sums(x, y, outer, C, out);
    return;
  }
  SPDI_PARALLEL_FOR(total >= SPDI_PAR_MIN && C > 1 ? spdi_threads() : 1, c, C, {
    double s = 0;
    for (size_t o = 0; o < outer; o++) {
      const float *px = x + (o * C + c) * inner;
      if (y != NULL) {
        const float *py = y + (o * C + c) * inner;
        _Pragma("omp simd reduction(+ : s)")
        for (size_t j = 0; j < inner; j++)
          s += (double)px[j] * py[j];
      } else {
        _Pragma("omp simd reduction(+ : s)")
        for (size_t j = 0; j < inner; j++)
          s += px[j];
      }
    }
    out[c] = s;
  });
}

enum spdi_bcast_kind spdi_bcast_classify(const spd_tensor *a, const spd_tensor *b,
                                         struct spdi_bcast *geom)
{
  bool same = a->ndim == b->ndim;
  for (int d = 0; same && d < a->ndim; d++)
    same = a->shape[d] == b->shape[d];
  if (same)
    return SPDI_BC_SAME;
  if (b->n == 1)
    return SPDI_BC_SCALAR;
  if (a->ndim < 2)
    return SPDI_BC_NONE;
  bool chan = b->ndim == 1 && b->shape[0] == a->shape[1];
  if (!chan && b->ndim == a->ndim && b->shape[1] == a->shape[1]) {
    chan = true;
    for (int d = 0; d < b->ndim; d++)
      if (d != 1 && b->shape[d] != 1)
        chan = false;
  }
  if (!chan)
    return SPDI_BC_NONE;
  geom->outer = a->shape[0];
  geom->chans = a->shape[1];
  geom->inner = 1;
  for (int d = 2; d < a->ndim; d++)
    geom->inner *= a->shape[d];
  return SPDI_BC_CHANNEL;
}
