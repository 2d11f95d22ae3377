/* The GEMM driver's direct path: few rows of A, B read in place.
 *
 * With at most a few dozen rows, a packed B panel serves one to five
 * micro-panels of A, so packing B (a gather through the index arrays)
 * costs about as much as the micro-kernel work it feeds: convolutions
 * with few output or input channels (a decoder's last layers, an
 * encoder's first two) spent most of their time packing. This path packs
 * A once per call (pack_a_blocks(); per slice of rows, below) and reads B
 * straight from its source, whose columns must come in contiguous runs of
 * 16 (one vector: a row of output pixels) or pairs of runs of 8 (two rows
 * of 8 pixels, in the deeper layers), each run at its own offset.
 *
 * - AVX2 (at most 16 rows): blocks of up to 6 rows by one run, two 8-lane
 *   registers per row.
 * - AVX-512 (at most 512 rows): blocks of up to 8 rows by up to 3 runs, 24
 *   accumulators. Each k then loads 3 vectors of B and 8 of A (broadcast)
 *   for 24 FMAs; the 16-row by one-run block it replaces needed 17 loads
 *   for 16 FMAs and ran at half the speed (57-76 against 90-135 GFLOP/s on
 *   an Ice Lake core, B in L1 or spread over L2). With many rows, each
 *   K x 48 piece of B serves every row block from L2 (or L3), and that
 *   still beats packing it. Forward passes of convolutions, one Zen 4
 *   core, packed -> direct: 32 -> 64 channels on 16 x 16 images (M = 64,
 *   K = 800) 2.3 -> 2.0 ms; 64 -> 128 (K = 1600) 9.8 -> 7.9 ms; 128 ->
 *   256 on 32 x 32 (M = 256, K = 3200) 153 -> 131 ms.
 *
 * Where A does not fit the work space it goes in slices of rows
 * (slice_rows()), each reading B again: 256 -> 512 channels on 16 x 16
 * images (M = 512, K = 6400, four slices on one thread), 131-145 ->
 * 122-125 ms; a decoder's second layer at width 1024 (phases of M = 256,
 * K = 4608), 458 -> 419 ms per step.
 *
 * An AVX-512 block stores its accumulators straight into C where each of
 * its runs is 16 consecutive floats there (a row of an NCHW output), and
 * otherwise into a tile that write_run() scatters (the round trip cost 3
 * % of the encoder's third layer at width 128). It prefetches the lines
 * it will store to (for writing) before its k loop: with a short K (75
 * for the encoder's first layer) the stores to a fresh output otherwise
 * waited for each line to come from memory; that forward pass took 0.88-
 * 0.91 of the time on one and two Zen 4 cores (in-process A/B).
 *
 * Every element of C is one FMA chain over k in order, started from zero,
 * whatever the block shape, instruction set or thread: results are the
 * same bits with AVX2 and AVX-512 (where both apply) and on any number of
 * threads. A last run shorter than 16 columns is summed one element at a
 * time with the same chain. */
#include "igemm_paths.h"
#include "tape_impl.h"
#include "transpose8.h"
#include "vmath.h"

#include <omp.h>
#include <stdint.h>

#if defined(__x86_64__) && defined(__GNUC__)
#  include <immintrin.h>
#  define DIRECT_X86 1
#endif

#define RUN 16          /* columns per run of B: one 16-lane vector */
#define AVX2_ROWS 6     /* rows per AVX2 block: 12 accumulators */
#define AVX2_MAX_M 16
#define WIDE_ROWS 8     /* rows per AVX-512 block */
#define WIDE_RUNS 3     /* runs per AVX-512 block: 24 accumulators */
#define WIDE_MAX_M 512
#define SLICE_MIN_ROWS 64  /* the fewest rows of A packed at a time */
#define MANY_ROWS 32       /* rows past which K must be at least ... */
#define MANY_ROWS_MIN_K 64 /* ... this */
#define SUPER_MAX 21    /* AVX-512 blocks per copy of B: 1008 columns, a page */
#define SUPER_FLOATS 131072 /* floats of one thread's copy (512 KiB, within L2) */
#define MAX_THREADS 64
#define WIDE_COLS (WIDE_RUNS * RUN) /* columns of C per AVX-512 block */
#define NARROW_ROWS 3   /* the most rows of the narrow kernel's blocks */
#define NARROW_RUNS 8   /* runs per narrow block: 24 accumulators with 3 rows */
#define NARROW_PF_MIN_K 512 /* K from which a narrow block prefetches the next one's B */
#define TILE (WIDE_ROWS * WIDE_COLS) /* floats of one block's output */

#ifdef DIRECT_X86
/* out[r * RUN + j] = sum_k ap[k * lda + r] * B[k][j], r < R, j < 16, with
 * B[k][j] at lo[bk[k] + j] for j < 8, at hi[bk[k] + j - 8] after. */
#define AVX2_BODY(R)                                                                 \
  do {                                                                               \
    __m256 c0[R], c1[R];                                                             \
    _Pragma("GCC unroll 8") for (int r = 0; r < (R); r++)                            \
      c0[r] = c1[r] = _mm256_setzero_ps();                                           \
    for (size_t k = 0; k < K; k++) {                                                 \
      const __m256 b0 = _mm256_loadu_ps(lo + bk[k]);                                 \
      const __m256 b1 = _mm256_loadu_ps(hi + bk[k]);                                 \
      const float *a = ap + k * lda;                                                 \
      _Pragma("GCC unroll 8") for (int r = 0; r < (R); r++) {                        \
        const __m256 av = _mm256_broadcast_ss(a + r);                                \
        c0[r] = _mm256_fmadd_ps(av, b0, c0[r]);                                      \
        c1[r] = _mm256_fmadd_ps(av, b1, c1[r]);                                      \
      }                                                                              \
    }                                                                                \
    _Pragma("GCC unroll 8") for (int r = 0; r < (R); r++) {                          \
      _mm256_storeu_ps(out + r * RUN, c0[r]);                                        \
      _mm256_storeu_ps(out + r * RUN + 8, c1[r]);                                    \
    }                                                                                \
  } while (0)

__attribute__((target("avx2,fma"))) static void avx2_block(size_t R, size_t K, const float *ap,
                                                           size_t lda, const float *lo,
                                                           const float *hi,
                                                           const ptrdiff_t *bk, float *out)
{
  switch (R) {
  case 1: AVX2_BODY(1); break;
  case 2: AVX2_BODY(2); break;
  case 3: AVX2_BODY(3); break;
  case 4: AVX2_BODY(4); break;
  case 5: AVX2_BODY(5); break;
  case 6: AVX2_BODY(6); break;
  default: break;
  }
}

/* Vector v of B's row k: lo[v][bk[k]] .. + 16, or with SPLIT its halves
 * from lo[v][bk[k]] and hi[v][bk[k]] (two runs of 8). */
#define WIDE_LOAD(SPLIT, v)                                                          \
  ((SPLIT) ? _mm512_castpd_ps(_mm512_insertf64x4(                                    \
                 _mm512_castps_pd(_mm512_castps256_ps512(_mm256_loadu_ps(lo[v] + bk[k]))), \
                 _mm256_castps_pd(_mm256_loadu_ps(hi[v] + bk[k])), 1))               \
           : _mm512_loadu_ps(lo[v] + bk[k]))

/* A block's sum x into C at p: stored, or with add added to what is there. */
#define STORE_SUM(p, x) _mm512_storeu_ps((p), add ? _mm512_add_ps(_mm512_loadu_ps(p), (x)) : (x))

/* out[r * WIDE_COLS + v * RUN + j] = sum_k ap[k * lda + r] * (vector v
 * of B's row k)[j], r < R, v < NV, j < 16, over the k of the nseg ranges
 * [seg[2 q], seg[2 q + 1]) in order. */
#define WIDE_BODY(R, NV, SPLIT)                                                      \
  do {                                                                               \
    __m512 c[R][NV];                                                                 \
    _Pragma("GCC unroll 8") for (int r = 0; r < (R); r++)                            \
      _Pragma("GCC unroll 3") for (int v = 0; v < (NV); v++)                         \
        c[r][v] = _mm512_setzero_ps();                                               \
    _Pragma("GCC unroll 8") for (int r = 0; r < (R); r++)                            \
      _Pragma("GCC unroll 3") for (int v = 0; v < (NV); v++)                         \
        __builtin_prefetch(dst[r] + coff[v], 1, 3);                                  \
    for (size_t q = 0; q < nseg; q++)                                                \
    for (size_t k = (size_t)seg[2 * q]; k < (size_t)seg[2 * q + 1]; k++) {          \
      __m512 bv[NV];                                                                 \
      _Pragma("GCC unroll 3") for (int v = 0; v < (NV); v++)                         \
        bv[v] = WIDE_LOAD(SPLIT, v);                                                 \
      const float *a = ap + k * lda;                                                 \
      _Pragma("GCC unroll 8") for (int r = 0; r < (R); r++) {                        \
        const __m512 av = _mm512_set1_ps(a[r]);                                      \
        _Pragma("GCC unroll 3") for (int v = 0; v < (NV); v++)                       \
          c[r][v] = _mm512_fmadd_ps(av, bv[v], c[r][v]);                             \
      }                                                                              \
    }                                                                                \
    _Pragma("GCC unroll 8") for (int r = 0; r < (R); r++)                            \
      _Pragma("GCC unroll 3") for (int v = 0; v < (NV); v++)                         \
        STORE_SUM(dst[r] + coff[v], c[r][v]);                                        \
  } while (0)

#define WIDE_NV(R, SPLIT)                                                            \
  do {                                                                               \
    if (nv == 3)                                                                     \
      WIDE_BODY(R, 3, SPLIT);                                                        \
    else if (nv == 2)                                                                \
      WIDE_BODY(R, 2, SPLIT);                                                        \
    else                                                                             \
      WIDE_BODY(R, 1, SPLIT);                                                        \
  } while (0)
#define WIDE_CASE(R)                                                                 \
  case R:                                                                            \
    if (split)                                                                       \
      WIDE_NV(R, 1);                                                                 \
    else                                                                             \
      WIDE_NV(R, 0);                                                                 \
    break;

__attribute__((target("avx512f,prfchw"))) static void
wide_block(size_t R, size_t nv, bool split, const ptrdiff_t *seg, size_t nseg, const float *ap,
           size_t lda, const float *const *lo, const float *const *hi, const ptrdiff_t *bk,
           float *const *dst, const ptrdiff_t *coff, bool add)
{
  switch (R) {
    WIDE_CASE(1)
    WIDE_CASE(2)
    WIDE_CASE(3)
    WIDE_CASE(4)
    WIDE_CASE(5)
    WIDE_CASE(6)
    WIDE_CASE(7)
    WIDE_CASE(8)
  default:
    break;
  }
}
#undef WIDE_CASE
#undef WIDE_NV

/* The narrow kernel, for C of at most NARROW_ROWS rows (a decoder's RGB
 * output layer): blocks of up to NARROW_RUNS runs, every run 16
 * consecutive floats of B and of C. With 3 rows, the wide blocks' 3 runs
 * make 9 accumulators for 3 broadcasts and 3 loads of B per k, and their
 * 9 FMA chains of 4 cycles leave Zen 5's two 512-bit FMA pipes half idle;
 * 8 runs make 24 for 3 and 8. Each B vector goes through a register: GCC
 * otherwise folded its load into each of the R FMAs that use it, tripling
 * the loads. With pf, each k also prefetches (to L2) the last line of the
 * same row of B's vectors for the next block, which reads them next.
 * Forward pass of the paper's RGB output layer (transposed conv, stride 1,
 * 8 or 64 -> 3 channels, 64 x 64, batch 32) on one Zen 5 core, narrow
 * against wide blocks: 0.85 of the time with 8 input channels (K = 200,
 * B in L1 without prefetching; prefetching made it 1.09 times slower),
 * 0.42 with 64 (K = 1600, whose B, 64 planes by 5 rows, does not stay in
 * L1; prefetching 0.63 of the time without). Same bits: each element of C
 * is still one FMA chain over k in order. */
#define NARROW_BODY(R, NV)                                                           \
  do {                                                                               \
    __m512 c[R][NV];                                                                 \
    _Pragma("GCC unroll 8") for (int v = 0; v < (NV); v++)                           \
      _Pragma("GCC unroll 4") for (int r = 0; r < (R); r++) {                        \
        c[r][v] = _mm512_setzero_ps();                                               \
        __builtin_prefetch(dst[r] + coff[v], 1, 3);                                  \
      }                                                                              \
    for (size_t q = 0; q < nseg; q++)                                                \
    for (size_t k = (size_t)seg[2 * q]; k < (size_t)seg[2 * q + 1]; k++) {          \
      const float *a = ap + k * (R);                                                 \
      __m512 av[R];                                                                  \
      _Pragma("GCC unroll 4") for (int r = 0; r < (R); r++)                          \
        av[r] = _mm512_set1_ps(a[r]);                                                \
      _Pragma("GCC unroll 8") for (int v = 0; v < (NV); v++) {                       \
        __m512 bv = _mm512_loadu_ps(lo[v] + bk[k]);                                  \
        __asm__("" : "+v"(bv));                                                      \
        if (pf != NULL)                                                              \
          __builtin_prefetch(pf[v] + bk[k] + RUN - 1, 0, 2);                         \
        _Pragma("GCC unroll 4") for (int r = 0; r < (R); r++)                        \
          c[r][v] = _mm512_fmadd_ps(av[r], bv, c[r][v]);                             \
      }                                                                              \
    }                                                                                \
    _Pragma("GCC unroll 8") for (int v = 0; v < (NV); v++)                           \
      _Pragma("GCC unroll 4") for (int r = 0; r < (R); r++)                          \
        STORE_SUM(dst[r] + coff[v], c[r][v]);                                        \
  } while (0)

#define NARROW_CASE(R)                                                               \
  case R:                                                                            \
    switch (nv) {                                                                    \
    case 8: NARROW_BODY(R, 8); break;                                                \
    case 7: NARROW_BODY(R, 7); break;                                                \
    case 6: NARROW_BODY(R, 6); break;                                                \
    case 5: NARROW_BODY(R, 5); break;                                                \
    case 4: NARROW_BODY(R, 4); break;                                                \
    case 3: NARROW_BODY(R, 3); break;                                                \
    case 2: NARROW_BODY(R, 2); break;                                                \
    default: NARROW_BODY(R, 1); break;                                               \
    }                                                                                \
    break;

_Static_assert(NARROW_ROWS == 3 && NARROW_RUNS == 8, "narrow_block is written out for 3 x 8");

/* dst[r][coff[v] + j] = (or += with add) sum_k ap[k * R + r] * lo[v][bk[k]
 * + j], r < R, v < nv, j < 16, over the k of the nseg ranges [seg[2 q],
 * seg[2 q + 1]) in order; with pf, prefetching pf[v] + bk[k] + 15. */
__attribute__((target("avx512f,prfchw"))) static void
narrow_block(size_t R, size_t nv, const ptrdiff_t *seg, size_t nseg, const float *ap,
             const float *const *lo, const ptrdiff_t *bk, float *const *dst,
             const ptrdiff_t *coff, bool add, const float *const *pf)
{
  switch (R) {
    NARROW_CASE(1)
    NARROW_CASE(2)
    NARROW_CASE(3)
  default:
    break;
  }
}
#undef NARROW_CASE
#undef NARROW_BODY

/* C's rows r0 .. r0 + R, columns j0 .. j0 + n (n <= 16) from out (row
 * stride ld): C's columns contiguous (an NCHW output row) or not. */
static void write_run(const struct spdi_igemm *g, size_t r0, size_t R, size_t j0, size_t n,
                      const float *out, size_t ld)
{
  const ptrdiff_t *cc = g->c.c + j0;
  const bool unit = n > 1 && spdi_even_stride(cc, n) == 1;
  for (size_t r = 0; r < R; r++) {
    float *d = g->c.dst + g->c.r[r0 + r];
    const float *o = out + r * ld;
    if (unit) {
      d += cc[0];
      if (g->overwrite) {
#pragma omp simd
        for (size_t j = 0; j < n; j++)
          d[j] = o[j];
      } else {
#pragma omp simd
        for (size_t j = 0; j < n; j++)
          d[j] += o[j];
      }
      continue;
    }
    for (size_t j = 0; j < n; j++)
      d[cc[j]] = (g->overwrite ? 0.0f : d[cc[j]]) + o[j];
  }
}

/* Rows per block when M rows go in equal blocks of at most `most` (16
 * rows as 8 + 8, 12 as 6 + 6). */
static size_t block_rows(size_t M, size_t most)
{
  const size_t nb = (M + most - 1) / most;
  return (M + nb - 1) / nb;
}

/* Whether k[0..8) are consecutive offsets. */
static bool consecutive8(const ptrdiff_t *k)
{
  for (ptrdiff_t j = 1; j < 8; j++)
    if (k[j] != k[0] + j)
      return false;
  return true;
}

/* A packed for the kernels: the rows in blocks of `per` (the last one may
 * be shorter), each block k-major and contiguous, so that a block's kernel
 * streams through one compact piece of it. Row r0 + r of the block at r0
 * (R rows), column k, goes to dst[r0 * K + k * R + r]. Each row of A is
 * read along k, where it is usually contiguous (a convolution's weights):
 * a k-major copy of all the rows at once read A across its rows, one
 * float per cache line (5 % of a forward pass). */
__attribute__((target("avx2"))) static void pack_a_blocks(const struct spdi_igemm *g, size_t per,
                                                           float *dst, int nthreads)
{
  const size_t M = g->M, K = g->K, blocks = (M + per - 1) / per;
  const ptrdiff_t *ak = g->a.k;
  /* the blocks are independent: on all threads, rather than one while
   * the others wait (1-2 % of a 2-thread step at width 1024) */
  SPDI_PARALLEL_FOR(M * K >= 4 * SPDI_PAR_MIN ? nthreads : 1, b, blocks, {
    const size_t r0 = b * per, R = M - r0 < per ? M - r0 : per;
    const ptrdiff_t *ar = g->a.r + r0;
    float *d = dst + r0 * K;
    size_t k = 0;
    /* 8 rows by 8 consecutive k at a time: one 8 x 8 transpose each */
    for (; R == 8 && k + 8 <= K && consecutive8(ak + k); k += 8) {
      __m256 rows[8], cols[8];
      for (size_t r = 0; r < 8; r++)
        rows[r] = _mm256_loadu_ps(g->a.src + ar[r] + ak[k]);
      spdi_transpose8(rows, cols);
      for (size_t j = 0; j < 8; j++)
        _mm256_storeu_ps(d + (k + j) * 8, cols[j]);
    }
    for (; k < K; k++) {
      const float *s = g->a.src + ak[k];
      for (size_t r = 0; r < R; r++)
        d[k * R + r] = s[ar[r]];
    }
  });
}

/* A last run of n < 16 columns: the same FMA chains, one element at a time. */
static void short_run(const struct spdi_igemm *g, const float *ap, size_t per, size_t j0,
                      size_t n, float *out)
{
  const size_t M = g->M, K = g->K;
  for (size_t r0 = 0; r0 < M; r0 += per) {
    const size_t R = M - r0 < per ? M - r0 : per;
    const float *a = ap + r0 * K;
    for (size_t r = 0; r < R; r++)
      for (size_t j = 0; j < n; j++) {
        float acc = 0.0f;
        for (size_t k = 0; k < K; k++)
          acc = __builtin_fmaf(a[k * R + r], g->b.src[g->b.k[k] + g->b.c[j0 + j]], acc);
        out[r * RUN + j] = acc;
      }
    write_run(g, r0, R, j0, n, out, RUN);
  }
}

/* The super-block's full vectors of B, nv of them from column j0, copied
 * into one K x WIDE_COLS panel per block: vector v of row k goes to
 * buf[(v / WIDE_RUNS) * K * WIDE_COLS + k * WIDE_COLS + v % WIDE_RUNS * RUN]. */
static void copy_b(const struct spdi_igemm *g, size_t j0, size_t nv, float *buf)
{
  const size_t K = g->K;
  const float *lo[SUPER_MAX * WIDE_RUNS], *hi[SUPER_MAX * WIDE_RUNS];
  for (size_t v = 0; v < nv; v++) {
    lo[v] = g->b.src + g->b.c[j0 + v * RUN];
    hi[v] = g->b.src + g->b.c[j0 + v * RUN + RUN / 2];
  }
  for (size_t k = 0; k < K; k++) {
    const ptrdiff_t bk = g->b.k[k];
    for (size_t v = 0; v < nv; v++) {
      float *d = buf + (v / WIDE_RUNS * K + k) * WIDE_COLS + v % WIDE_RUNS * RUN;
      const float *l = lo[v] + bk, *h = hi[v] + bk;
#pragma omp simd
      for (size_t j = 0; j < RUN / 2; j++) {
        d[j] = l[j];
        d[j + RUN / 2] = h[j];
      }
    }
  }
}

/* The K ranges of the block of nruns full runs from column j0 (a multiple
 * of 16): its class's (g->kr) where all its runs have one class, else all
 * of K, in whole. Returns the ranges, their number in *nseg. */
static const ptrdiff_t *block_ranges(const struct spdi_igemm *g, size_t j0, size_t nruns,
                                     ptrdiff_t *whole, size_t *nseg)
{
  if (g->kr.run != NULL && nruns > 0) {
    const ptrdiff_t *run = g->kr.run + j0 / RUN, q = run[0];
    bool one = true;
    for (size_t i = 1; i < nruns; i++)
      one = one && run[i] == q;
    if (one) {
      *nseg = (size_t)(g->kr.off[q + 1] - g->kr.off[q]);
      return g->kr.seg + 2 * g->kr.off[q];
    }
  }
  whole[0] = 0;
  whole[1] = (ptrdiff_t)g->K;
  *nseg = 1;
  return whole;
}

/* Columns j0 .. j0 + n of C (a block of runs of 16 and possibly a shorter
 * last one) with AVX-512 when wide, AVX2 otherwise, from A packed by
 * pack_a_blocks() in blocks of per rows. With panel (AVX-512 only), B's
 * full vectors are read from that copy (copy_b()), row k at koff[k]. */
static void direct_cols(const struct spdi_igemm *g, const float *ap, size_t per, size_t j0,
                        size_t n, bool wide, const float *panel, const ptrdiff_t *koff,
                        float *out)
{
  const size_t M = g->M, K = g->K, full = n / RUN;
  const float *lo[WIDE_RUNS], *hi[WIDE_RUNS];
  const ptrdiff_t *bk = panel != NULL ? koff : g->b.k;
  bool split = false, in_place = wide;
  ptrdiff_t cols_c[WIDE_RUNS], cols_tile[WIDE_RUNS], whole[2];
  size_t nseg;
  const ptrdiff_t *seg = block_ranges(g, j0, full < WIDE_RUNS ? full : WIDE_RUNS, whole, &nseg);
  for (size_t v = 0; v < full && v < WIDE_RUNS; v++) {
    const ptrdiff_t *cc = g->c.c + j0 + v * RUN;
    in_place = in_place && spdi_even_stride(cc, RUN) == 1;
    cols_c[v] = cc[0];
    cols_tile[v] = (ptrdiff_t)(v * RUN);
    lo[v] = panel != NULL ? panel + v * RUN : g->b.src + g->b.c[j0 + v * RUN];
    hi[v] = panel != NULL ? lo[v] + RUN / 2 : g->b.src + g->b.c[j0 + v * RUN + RUN / 2];
    split = split || hi[v] != lo[v] + RUN / 2;
  }
  for (size_t r0 = 0; r0 < M && full > 0; r0 += per) {
    const size_t R = M - r0 < per ? M - r0 : per;
    if (wide) {
      /* Straight into C where each run's 16 columns are consecutive
       * there (an NCHW output row), else through the tile and
       * write_run(): the same value either way, each element written or
       * added to once. */
      float *rows[WIDE_ROWS];
      for (size_t r = 0; r < R; r++)
        rows[r] = in_place ? g->c.dst + g->c.r[r0 + r] : out + r * WIDE_COLS;
      wide_block(R, full, split, seg, nseg, ap + r0 * K, R, lo, hi, bk, rows,
                 in_place ? cols_c : cols_tile, in_place && !g->overwrite);
      for (size_t v = 0; v < full && !in_place; v++)
        write_run(g, r0, R, j0 + v * RUN, RUN, out + v * RUN, WIDE_COLS);
    } else { /* full is 1 here */
      avx2_block(R, K, ap + r0 * K, R, lo[0], hi[0], g->b.k, out);
      write_run(g, r0, R, j0, RUN, out, RUN);
    }
  }
  if (n % RUN != 0)
    short_run(g, ap, per, j0 + full * RUN, n % RUN, out);
}
/* Columns j0 .. j0 + n of C (at most NARROW_RUNS whole runs) by the narrow
 * kernel, all of A's M <= NARROW_ROWS rows (packed as one block by
 * pack_a_blocks()), where every run is 16 consecutive floats of B and of
 * C; returns false, having done nothing, otherwise. */
static bool narrow_cols(const struct spdi_igemm *g, const float *ap, size_t j0, size_t n)
{
  const size_t nv = n / RUN;
  if (n % RUN != 0 || nv == 0)
    return false;
  const bool prefetch = g->K >= NARROW_PF_MIN_K;
  const float *lo[NARROW_RUNS], *pf[NARROW_RUNS];
  ptrdiff_t coff[NARROW_RUNS], whole[2];
  for (size_t v = 0; v < nv; v++) {
    const size_t c = j0 + v * RUN, next = c + n;
    if (spdi_even_stride(g->c.c + c, RUN) != 1 || g->b.c[c + RUN / 2] != g->b.c[c] + RUN / 2)
      return false;
    coff[v] = g->c.c[c];
    lo[v] = g->b.src + g->b.c[c];
    if (prefetch)
      pf[v] = next + RUN <= g->N ? g->b.src + g->b.c[next] : lo[v];
  }
  size_t nseg;
  const ptrdiff_t *seg = block_ranges(g, j0, nv, whole, &nseg);
  float *rows[NARROW_ROWS];
  for (size_t r = 0; r < g->M; r++)
    rows[r] = g->c.dst + g->c.r[r];
  narrow_block(g->M, nv, seg, nseg, ap, lo, g->b.k, rows, coff, !g->overwrite,
               prefetch ? pf : NULL);
  return true;
}
#endif /* DIRECT_X86 */

size_t spdi_igemm_direct_max_m(void)
{
#ifdef DIRECT_X86
  return spdi_isa_ok(SPDI_ISA_AVX512) ? WIDE_MAX_M
         : spdi_isa_ok(SPDI_ISA_AVX2) ? AVX2_MAX_M
                                            : 0;
#else
  return 0;
#endif
}

/* Whether c[0..n) (n a multiple of 8) is made of runs of 8 consecutive
 * offsets. Without early exits, so that it vectorises: it scans every
 * column of a convolution's GEMM (131072 of them in a decoder's last
 * layer) on each call. */
SPDI_CLONES static bool runs_of_8(const ptrdiff_t *c, size_t n)
{
  ptrdiff_t bad = 0;
  for (size_t j0 = 0; j0 < n; j0 += 8) {
    const ptrdiff_t *r = c + j0;
#pragma omp simd reduction(| : bad)
    for (size_t i = 1; i < 8; i++)
      bad |= r[i] - r[0] - (ptrdiff_t)i;
  }
  return bad == 0;
}

/* Rows of A packed and run at a time (a slice) so that they and the
 * threads' tiles fit in work_floats: all M where they fit, else slices of
 * equal size (a multiple of 8 rows, at least SLICE_MIN_ROWS); 0 where
 * even those do not fit. Each slice reads B again; each element of C is
 * still one FMA chain, so slicing changes no result. */
static size_t slice_rows(size_t M, size_t K, size_t work_floats)
{
  const size_t fixed = MAX_THREADS * TILE + 16;
  if (work_floats <= fixed)
    return 0;
  const size_t most = (work_floats - fixed) / K;
  if (M <= most)
    return M;
  const size_t most8 = most / 8 * 8;
  if (most8 < SLICE_MIN_ROWS)
    return 0;
  const size_t slices = (M + most8 - 1) / most8, rows = (M + slices - 1) / slices;
  return (rows + 7) / 8 * 8;
}

bool spdi_igemm_direct_suits(const struct spdi_igemm *g, size_t work_floats)
{
  if (!(g->M <= spdi_igemm_direct_max_m() && g->N >= 16 * RUN && g->K >= 8 &&
        slice_rows(g->M, g->K, work_floats) > 0))
    return false;
  /* Past MANY_ROWS rows, only with K >= MANY_ROWS_MIN_K: a short K does
   * not repay what each block costs besides its FMAs. A dense layer's 200
   * x 16384 weight gradient over a batch of 32 ran about 1.8 times slower
   * than packed when every block went to C through a tile; storing in
   * place, its layer (enc_heads at width 1024) is still 1.05 times slower
   * without this rule. */
  if (g->M > MANY_ROWS && g->K < MANY_ROWS_MIN_K)
    return false;
  /* Only when B's columns come in contiguous runs (gathers were slower
   * than packing): every full vector of 16 must be two runs of 8. */
  return runs_of_8(g->b.c, g->N / RUN * RUN);
}

#ifdef DIRECT_X86
/* Terms of run r (columns 16 r .. 16 r + 15): its class's (g->kr), or K. */
static size_t run_terms(const struct spdi_igemm *g, size_t r)
{
  if (g->kr.run == NULL || (r + 1) * RUN > g->N)
    return g->K;
  const ptrdiff_t q = g->kr.run[r];
  size_t n = 0;
  for (ptrdiff_t p = g->kr.off[q]; p < g->kr.off[q + 1]; p++)
    n += (size_t)(g->kr.seg[2 * p + 1] - g->kr.seg[2 * p]);
  return n;
}

/* The first of the runs of thread t of nth: equal numbers of runs, or
 * where the wide path skips by classes (g->kr) equal numbers of terms
 * (total: those of all the runs), cut at the run boundary nearest each
 * share. The classes follow the output's rows, whose kernel rows inside
 * the image differ (3, 5, 5, 4 of 5 on 4 x 4 outputs): equal runs left
 * one thread 1.1 times the other's work there. */
static size_t first_run(const struct spdi_igemm *g, size_t runs, size_t t, size_t nth,
                        size_t total, bool wide)
{
  if (!wide || g->kr.run == NULL || t == 0 || t >= nth)
    return runs * t / nth;
  const size_t goal = total / nth * t + total % nth * t / nth;
  size_t sum = 0, r = 0;
  for (; r < runs; r++) {
    const size_t n = run_terms(g, r);
    if (sum + n / 2 >= goal)
      break;
    sum += n;
  }
  return r;
}

/* Columns of the block at j0, at most n: on the wide path with classes
 * (g->kr), cut where the class of its full runs changes, so that every
 * block skips its class's zero terms (block_ranges() takes all of K for a
 * block of mixed classes). On 8 x 8 outputs of a 5 x 5 kernel, 32 slots
 * per pixel (two runs), blocks of three runs did 0.91 of K where the
 * classes need 0.86, on 4 x 4 outputs 0.87 where they need 0.72. */
static size_t block_cols(const struct spdi_igemm *g, size_t j0, size_t n, bool wide)
{
  if (!wide || g->kr.run == NULL || n < 2 * RUN)
    return n;
  const ptrdiff_t *run = g->kr.run + j0 / RUN;
  for (size_t v = 1; v < n / RUN; v++)
    if (run[v] != run[0])
      return v * RUN;
  return n;
}

/* spdi_igemm_direct_run() on a slice of A's rows that fits the work space. */
static void run_slice(const struct spdi_igemm *g, float *work, size_t work_floats,
                      int nthreads)
{
  const size_t M = g->M, K = g->K;
  const bool wide = spdi_isa_ok(SPDI_ISA_AVX512);
  const size_t per = block_rows(M, wide ? WIDE_ROWS : AVX2_ROWS);
  pack_a_blocks(g, per, work, nthreads);
  float *tiles = work + (M * K + 15) / 16 * 16;
  const size_t cols = wide ? WIDE_COLS : RUN;
  if (nthreads > MAX_THREADS)
    nthreads = MAX_THREADS;
  /* With more than one row block, every block reads its K x 48 piece of B
   * once per row block. Read in place, 48 columns of a row of a dense
   * layer's 16384-wide weights are 3 cache lines 64 KiB from the next
   * row's: they all fall in the same few sets of L1 and L2, which keep a
   * dozen of them, so each row block fetched them from L3 again (an
   * enc_heads input gradient ran at 25 GFLOP/s). Where the work space
   * holds it, each thread copies `super` blocks at a time (up to a page of
   * each row, which the prefetchers follow; 48 columns at a time copied at
   * half the speed) into panels that then serve every row block from L1.
   * Copying changes no result. */
  float *rest = tiles + MAX_THREADS * TILE;
  const size_t used = (size_t)(rest - work);
  const size_t koff_floats = (K * sizeof(ptrdiff_t) / sizeof(float) + 15) / 16 * 16;
  size_t super = SUPER_FLOATS / (K * WIDE_COLS);
  super = super < 1 ? 1 : super > SUPER_MAX ? SUPER_MAX : super;
  const size_t panels = super * K * WIDE_COLS;
  const ptrdiff_t bstride = spdi_even_stride(g->b.k, K);
  const bool copy = wide && M > WIDE_ROWS && (bstride >= 1024 || bstride <= -1024) &&
                    used <= work_floats &&
                    koff_floats + (size_t)nthreads * panels <= work_floats - used;
  if (!copy) {
    /* Each thread takes one contiguous range of columns, cut in units of
     * 16: a convolution's forward group of 1024 columns, 21.3 blocks of
     * 48, had split 11 : 10.3 blocks. A block's shape does not change the
     * bits (see the top). */
    const size_t runs = (g->N + RUN - 1) / RUN;
    const bool narrow = wide && M <= NARROW_ROWS;
    if ((size_t)nthreads > runs)
      nthreads = (int)runs;
    size_t total = 0;
    for (size_t r = 0; wide && g->kr.run != NULL && r < runs; r++)
      total += run_terms(g, r);
    SPDI_PARALLEL(nthreads, {
      const size_t tid = tid_, nth = nth_;
      const size_t lo = first_run(g, runs, tid, nth, total, wide) * RUN;
      const size_t end = first_run(g, runs, tid + 1, nth, total, wide) * RUN;
      const size_t hi = end < g->N ? end : g->N;
      for (size_t j0 = lo, n; j0 < hi; j0 += n) {
        if (narrow) { /* where a block cannot take it, the wide one does */
          const size_t most = NARROW_RUNS * RUN;
          n = block_cols(g, j0, hi - j0 < most ? hi - j0 : most, wide);
          if (narrow_cols(g, work, j0, n))
            continue;
        }
        n = block_cols(g, j0, hi - j0 < cols ? hi - j0 : cols, wide);
        direct_cols(g, work, per, j0, n, wide, NULL, NULL, tiles + tid * TILE);
      }
    });
    return;
  }
  ptrdiff_t *koff = (ptrdiff_t *)(void *)rest; /* 64-byte aligned, as work */
  for (size_t k = 0; k < K; k++)
    koff[k] = (ptrdiff_t)(k * WIDE_COLS);
  const size_t unit = super * cols, units = (g->N + unit - 1) / unit;
  if ((size_t)nthreads > units)
    nthreads = (int)units;
  SPDI_PARALLEL_FOR(nthreads, q, units, {
    const size_t j0 = q * unit, n = g->N - j0 < unit ? g->N - j0 : unit;
    float *buf = rest + koff_floats + tid_ * panels;
    copy_b(g, j0, n / RUN, buf);
    for (size_t b0 = 0; b0 < n; b0 += cols)
      direct_cols(g, work, per, j0 + b0, n - b0 < cols ? n - b0 : cols, wide,
                  buf + b0 / cols * K * WIDE_COLS, koff, tiles + tid_ * TILE);
  });
}
#endif /* DIRECT_X86 */

void spdi_igemm_direct_run(const struct spdi_igemm *g, float *work, size_t work_floats,
                           int nthreads)
{
#ifdef DIRECT_X86
  const size_t rows = slice_rows(g->M, g->K, work_floats);
  for (size_t r0 = 0; r0 < g->M; r0 += rows) {
    struct spdi_igemm slice = *g;
    slice.M = g->M - r0 < rows ? g->M - r0 : rows;
    slice.a.r = g->a.r + r0;
    slice.c.r = g->c.r + r0;
    run_slice(&slice, work, work_floats, nthreads);
  }
#else
  (void)g, (void)work, (void)work_floats, (void)nthreads;
#endif
}
