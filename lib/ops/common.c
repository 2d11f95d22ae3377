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

/* sum x[i] (y == NULL) or sum x[i] y[i] over `rows` rows of n elements,
 * `stride` apart, in double, through SPDI_LANES partial sums (element j of
 * each row to lane j mod LANES, a row's tail to the first lanes), added in
 * lane order at the end: a fixed order, so every clone gives the same
 * bits. One accumulator of two doubles (what SSE2 and `omp simd reduction`
 * gave) made the sum latency-bound, slower than reading the tensor from
 * L3 (the loss of a [32, 8, 64, 64] layer). */
SPDI_CLONES static double rows_sum(const float *x, const float *y, size_t rows, size_t stride,
                                   size_t n)
{
  double a[SPDI_LANES] = { 0 };
  for (size_t r = 0; r < rows; r++) {
    const float *xr = x + r * stride, *yr = y != NULL ? y + r * stride : NULL;
    size_t i = 0;
    if (yr == NULL) {
      for (; i + SPDI_LANES <= n; i += SPDI_LANES) {
#pragma omp simd
        for (size_t l = 0; l < SPDI_LANES; l++)
          a[l] += xr[i + l];
      }
      for (size_t l = 0; i < n; i++, l++)
        a[l] += xr[i];
    } else {
      for (; i + SPDI_LANES <= n; i += SPDI_LANES) {
#pragma omp simd
        for (size_t l = 0; l < SPDI_LANES; l++)
          a[l] += (double)xr[i + l] * yr[i + l];
      }
      for (size_t l = 0; i < n; i++, l++)
        a[l] += (double)xr[i] * yr[i];
    }
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
    part[c] = rows_sum(x + lo, y != NULL ? y + lo : NULL, 1, 0, hi - lo);
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

/* Rows (o, c) are summed in at most CS_BLOCKS fixed blocks of o (of a
 * channel's CS_BLOCK_MIN elements at least: blocks of 4 rows of 16 made
 * the sums of a [32, 512, 4, 4] tensor 1.15 times slower than one
 * accumulator), each block apart and the blocks added in order, so that
 * few channels (the RGB output layer's bias has 3) can still go to the
 * threads as ranges of blocks; with at least two channels per thread (or
 * more than CS_SPLIT_MAX) the threads take ranges of channels instead.
 * Either way out[c] is the same sum in the same order. A block goes
 * through rows_sum()'s lanes: one accumulator of two doubles per channel
 * (what `omp simd reduction` gave) made the RGB layer's bias gradient
 * latency-bound. */
#define CS_BLOCKS 8
#define CS_BLOCK_MIN 1024 /* elements of a channel per block, at least */
#define CS_SPLIT_MAX 64

/* Channel c's sum over the rows o0 .. o1 of x (times y). */
static double channel_block_sum(const float *x, const float *y, const struct spdi_bcast *g,
                                size_t c, size_t o0, size_t o1)
{
  const size_t off = (o0 * g->chans + c) * g->inner;
  return rows_sum(x + off, y != NULL ? y + off : NULL, o1 - o0, g->chans * g->inner, g->inner);
}

void spdi_channel_sums(const float *x, const float *y, const struct spdi_bcast *g,
                       double *out)
{
  const size_t C = g->chans, outer = g->outer;
  if (g->inner == 1) {
    feature_sums(x, y, outer, C, out);
    return;
  }
  const size_t most = outer < CS_BLOCKS ? outer : CS_BLOCKS;
  const size_t fill = outer * g->inner / CS_BLOCK_MIN;
  const size_t nb = fill < 1 ? 1 : fill < most ? fill : most;
  const int nt = spdi_par_threads(outer * C * g->inner);
  if (C >= 2 * (size_t)nt || C > CS_SPLIT_MAX) { /* so C >= 2 */
    SPDI_PARALLEL_FOR(nt, c, C, {
      double s = 0;
      for (size_t b = 0; b < nb; b++)
        s += channel_block_sum(x, y, g, c, outer * b / nb, outer * (b + 1) / nb);
      out[c] = s;
    });
    return;
  }
  double part[CS_BLOCKS * CS_SPLIT_MAX];
  SPDI_PARALLEL_FOR((size_t)nt < nb ? nt : (int)nb, b, nb, {
    for (size_t c = 0; c < C; c++)
      part[b * C + c] = channel_block_sum(x, y, g, c, outer * b / nb, outer * (b + 1) / nb);
  });
  for (size_t c = 0; c < C; c++) {
    double s = 0;
    for (size_t b = 0; b < nb; b++)
      s += part[b * C + c];
    out[c] = s;
  }
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
