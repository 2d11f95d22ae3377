/* The GEMM driver's dot path: each element of a small C is the dot product
 * of a row of A and a column of B read straight from their sources, when
 * both are laid out along K in runs of consecutive offsets.
 *
 * That is the shape of a convolution's weight gradient on large feature
 * maps: C = dW is a few dozen rows (output channels) by a few hundred
 * columns (taps), K runs over every output pixel of the batch (tens of
 * thousands), and along an output row both the output gradient and each
 * tap of the stride-phase image are contiguous. The packed path copies all
 * of A or B for every few micro-tiles there (packing cost the same as the
 * arithmetic: 25-40 GFLOP/s against 60 for sgemm); this path packs nothing.
 *
 * Blocks of DOT_RB x DOT_CB elements of C keep one 16-lane accumulator
 * each; every K-run is read in 16-lane pieces, whole ones by plain loads
 * and only a last partial one masked (with masked loads throughout, a
 * 32 -> 64 channel convolution's forward pass + weight gradient on 16 x
 * 16 images took 4.48 ms against 4.17 on a Zen 4 core). K is
 * cut into chunks of whole runs, each as long as the part of A and B it
 * reads stays within half of L2 while every block visits it
 * (chunk_end()); each block adds its chunk sums to C (a fixed lane
 * reduction), so longer chunks spend less on the reductions and on C: on
 * the encoder's first layer at width 1024 (K in chunks of 4096 instead of
 * 1024) the layer's step ran 1.1-2.3 % faster. Runs are cut at DOT_CHUNK
 * first: a dense layer's forward pass is one run over all of K (16384),
 * and as one chunk its 32 rows of A (2 MiB) came from L3 again for every
 * column block (1.5 times slower). Blocks are
 * visited along the longer side of C inside the shorter: with rows inner,
 * a column block's piece of B (read from memory once, when B is a dense
 * layer's weights) serves every row block from L1 (a dense layer's
 * forward pass, 32 x 200, ran 1.5 times faster than with the rows outer);
 * a convolution's weight gradient with more output channels than taps
 * (128 x 75 at the encoder's first layer at width 1024) keeps a row
 * block's piece of the output gradient in cache instead (L1 in chunks of
 * 1024, L2 in the 4096 it now takes), the taps' small image being in L2
 * anyway (its backward pass 2-3 % faster), and asks for the next row
 * block's piece ahead of time (prefetch_rows()). Threads take
 * contiguous ranges of blocks, so every element of C is summed in the
 * same order by one thread whatever the thread count. */
#include "igemm_paths.h"
#include "internal.h"

#include <omp.h>
#include <stdint.h>

#if defined(__x86_64__) && defined(__GNUC__)
#  include <immintrin.h>
#  define DOT_X86 1
#endif

#define DOT_RB 4           /* rows of C per block */
#define DOT_CB 6           /* columns of C per block: 24 accumulators + 5 */
#define DOT_MIN_RUN 16     /* the mean run length the path needs (one full vector) */
#define DOT_CHUNK 1024     /* the longest run, and the least K the path takes */
#define DOT_MAX_C 65536    /* elements of C */
#define DOT_CACHE_FLOATS (((size_t)512 << 10) / sizeof(float)) /* a chunk's: half of L2 */

struct dot_run {
  ptrdiff_t a, b; /* a.k and b.k at the run's first k */
  size_t len;
};

#ifdef DOT_X86
/* Appends the run [k, e) to out, cut into pieces of at most DOT_CHUNK,
 * while there is room (cap runs); returns the new count. */
static size_t put_run(const struct spdi_igemm *g, size_t k, size_t e, struct dot_run *out,
                      size_t cap, size_t n)
{
  for (; k < e; n++) {
    const size_t len = e - k < DOT_CHUNK ? e - k : DOT_CHUNK;
    if (n < cap)
      out[n] = (struct dot_run){ g->a.k[k], g->b.k[k], len };
    k += len;
  }
  return n;
}

/* The runs of k over which a.k and b.k both step by one, at most
 * DOT_CHUNK long, into out while there is room for them (cap runs);
 * returns how many there are, or stops counting once there are more than
 * most. Eight k at a time, the breaks as a bit mask of vector compares:
 * the scalar walk had taken 1.7-2.3 % of the step of enc1 and dec_out at
 * width 128, which plan their weight gradients' GEMMs a group at a time
 * (enc1 on one core: 1.69 % before, 0.72 % after). */
__attribute__((target("avx512f"))) static size_t find_runs(const struct spdi_igemm *g,
                                                           struct dot_run *out, size_t cap,
                                                           size_t most)
{
  const ptrdiff_t *ak = g->a.k, *bk = g->b.k; /* 64-bit: one vector is 8 */
  const __m512i one = _mm512_set1_epi64(1);
  size_t n = 0, k = 0; /* the open run starts at k */
  for (size_t e = 1; e < g->K && n <= most; e += 8) {
    const __mmask8 in = g->K - e >= 8 ? 0xff : (__mmask8)((1u << (g->K - e)) - 1);
    const __m512i a0 = _mm512_maskz_loadu_epi64(in, ak + e - 1);
    const __m512i a1 = _mm512_maskz_loadu_epi64(in, ak + e);
    const __m512i b0 = _mm512_maskz_loadu_epi64(in, bk + e - 1);
    const __m512i b1 = _mm512_maskz_loadu_epi64(in, bk + e);
    unsigned breaks = _mm512_mask_cmpneq_epi64_mask(in, a1, _mm512_add_epi64(a0, one)) |
                      _mm512_mask_cmpneq_epi64_mask(in, b1, _mm512_add_epi64(b0, one));
    for (; breaks != 0; breaks &= breaks - 1) {
      const size_t at = e + (size_t)__builtin_ctz(breaks);
      n = put_run(g, k, at, out, cap, n);
      k = at;
    }
  }
  return n <= most ? put_run(g, k, g->K, out, cap, n) : n;
}
#endif

size_t spdi_igemm_dot_plan(const struct spdi_igemm *g, float *work, size_t work_floats)
{
#ifdef DOT_X86
  if (!spdi_isa_ok(SPDI_ISA_AVX512))
    return 0;
  if (g->M < DOT_RB || g->N < DOT_CB || g->M * g->N > DOT_MAX_C || g->K < DOT_CHUNK)
    return 0;
  /* the runs go to the start of the work space, 64-byte aligned */
  const size_t cap = work_floats * sizeof(float) / sizeof(struct dot_run);
  const size_t n = find_runs(g, (struct dot_run *)(void *)work, cap, g->K / DOT_MIN_RUN);
  return g->K >= DOT_MIN_RUN * n && n <= cap ? n : 0;
#else
  (void)g, (void)work, (void)work_floats;
  return 0;
#endif
}

#ifdef DOT_X86
/* The accumulators are named variables, not an array: GCC kept an array
 * in registers but also stored all 24 of it to the stack on every step,
 * which made the store port the bottleneck. */
#define DOT_ROW(c) __m512 s0##c = z, s1##c = z, s2##c = z, s3##c = z
/* Loads of the 16 offsets from oa (A) and ob (B): whole, or the first
 * lanes of mask m. */
#define DOT_WHOLE(p) _mm512_loadu_ps(p)
#define DOT_MASKED(p) _mm512_maskz_loadu_ps(m, p)
#define DOT_FMA(LOAD, c)                                                             \
  do {                                                                               \
    if (c < cb) {                                                                    \
      const __m512 bv = LOAD(b##c + ob);                                             \
      s0##c = _mm512_fmadd_ps(a0, bv, s0##c);                                        \
      s1##c = _mm512_fmadd_ps(a1, bv, s1##c);                                        \
      s2##c = _mm512_fmadd_ps(a2, bv, s2##c);                                        \
      s3##c = _mm512_fmadd_ps(a3, bv, s3##c);                                        \
    }                                                                                \
  } while (0)
#define DOT_STEP(LOAD)                                                               \
  do {                                                                               \
    const __m512 a0 = LOAD(p0 + oa), a1 = LOAD(p1 + oa);                             \
    const __m512 a2 = LOAD(p2 + oa), a3 = LOAD(p3 + oa);                             \
    DOT_FMA(LOAD, 0);                                                                \
    DOT_FMA(LOAD, 1);                                                                \
    DOT_FMA(LOAD, 2);                                                                \
    DOT_FMA(LOAD, 3);                                                                \
    DOT_FMA(LOAD, 4);                                                                \
    DOT_FMA(LOAD, 5);                                                                \
  } while (0)

/* The lane sums of many vectors at once, transposed: each step adds two
 * halves of two vectors' partial sums with one shuffle pair, so 16 vectors
 * take 15 adds and 30 shuffles instead of 16 reductions of 8 operations
 * each (the reductions had cost 8 % of the kernel). The additions pair
 * the same lanes in the same order as _mm512_reduce_add_ps (i + 8, then
 * i + 4, then i + 2, then i + 1), so each sum has the same bits.
 *
 * red_halves(x, y): lanes 0-7 are x's lanes i + (i + 8), lanes 8-15 y's. */
__attribute__((target("avx512f"), always_inline)) static inline __m512 red_halves(__m512 x,
                                                                                 __m512 y)
{
  return _mm512_add_ps(_mm512_shuffle_f32x4(x, y, 0x44), _mm512_shuffle_f32x4(x, y, 0xee));
}

/* From red_halves() of (x, y) and of (z, w): 128-bit lane j holds the
 * next step (i + (i + 4)) of x, y, z, w in turn. */
__attribute__((target("avx512f"), always_inline)) static inline __m512 red_quarters(__m512 u,
                                                                                   __m512 v)
{
  return _mm512_add_ps(_mm512_shuffle_f32x4(u, v, _MM_SHUFFLE(2, 0, 2, 0)),
                       _mm512_shuffle_f32x4(u, v, _MM_SHUFFLE(3, 1, 3, 1)));
}

/* out[q] = the sum of v[q]'s lanes, q < n (16 or 8; with 8, lanes 8-15
 * of the result are not sums). */
__attribute__((target("avx512f"), always_inline)) static inline __m512
lane_sums(const __m512 *v, int n)
{
  const __m512 z = _mm512_setzero_ps();
  __m512 t[4];
  /* the four vectors of t[m]: v[m], v[4 + m], v[8 + m], v[12 + m] */
  for (int m = 0; m < 4; m++)
    t[m] = red_quarters(red_halves(v[m], v[4 + m]),
                        n == 16 ? red_halves(v[8 + m], v[12 + m]) : z);
  /* within each 128-bit lane: i + (i + 2) for two of t, then i + (i + 1) */
  const __m512 p0 = _mm512_add_ps(_mm512_shuffle_ps(t[0], t[1], _MM_SHUFFLE(1, 0, 1, 0)),
                                  _mm512_shuffle_ps(t[0], t[1], _MM_SHUFFLE(3, 2, 3, 2)));
  const __m512 p1 = _mm512_add_ps(_mm512_shuffle_ps(t[2], t[3], _MM_SHUFFLE(1, 0, 1, 0)),
                                  _mm512_shuffle_ps(t[2], t[3], _MM_SHUFFLE(3, 2, 3, 2)));
  return _mm512_add_ps(_mm512_shuffle_ps(p0, p1, _MM_SHUFFLE(2, 0, 2, 0)),
                       _mm512_shuffle_ps(p0, p1, _MM_SHUFFLE(3, 1, 3, 1)));
}

/* sums[r * DOT_CB + c] = sum over the runs of A[rows[r]][k] B[k][cols[c]]
 * for the block's first cb columns (a constant in each copy, dot_block_of
 * below: the columns past it cost nothing). */
__attribute__((target("avx512f"), always_inline)) static inline void
dot_block(const struct spdi_igemm *g, const struct dot_run *run, size_t nrun,
          const size_t *rows, const size_t *cols, float *sums, const size_t cb)
{
  _Static_assert(DOT_RB == 4 && DOT_CB == 6, "the kernel below is written out for 4 x 6");
  const float *p0 = g->a.src + g->a.r[rows[0]], *p1 = g->a.src + g->a.r[rows[1]];
  const float *p2 = g->a.src + g->a.r[rows[2]], *p3 = g->a.src + g->a.r[rows[3]];
  const float *b0 = g->b.src + g->b.c[cols[0]], *b1 = g->b.src + g->b.c[cols[1]];
  const float *b2 = g->b.src + g->b.c[cols[2]], *b3 = g->b.src + g->b.c[cols[3]];
  const float *b4 = g->b.src + g->b.c[cols[4]], *b5 = g->b.src + g->b.c[cols[5]];
  const __m512 z = _mm512_setzero_ps();
  DOT_ROW(0);
  DOT_ROW(1);
  DOT_ROW(2);
  DOT_ROW(3);
  DOT_ROW(4);
  DOT_ROW(5);
  /* The loop steps the offsets themselves, so that each load addresses
   * base + offset: stepping a count t from 0 made GCC rebuild the ten
   * pointers at every run and spill them. A convolution's runs are short
   * (32 at the encoder's first layer), and its weight gradient on one Zen
   * 5 core took 0.90-0.93 of the time. */
  for (size_t q = 0; q < nrun; q++) {
    const size_t len = run[q].len, whole = len & ~(size_t)15;
    const ptrdiff_t a_end = run[q].a + (ptrdiff_t)whole;
    ptrdiff_t oa = run[q].a, ob = run[q].b;
    for (; oa < a_end; oa += 16, ob += 16)
      DOT_STEP(DOT_WHOLE);
    if (len != whole) {
      const __mmask16 m = (__mmask16)((1u << (len - whole)) - 1);
      DOT_STEP(DOT_MASKED);
    }
  }
  /* in the order of sums[]: row by row */
  const __m512 first[16] = { s00, s01, s02, s03, s04, s05, s10, s11,
                             s12, s13, s14, s15, s20, s21, s22, s23 };
  const __m512 rest[8] = { s24, s25, s30, s31, s32, s33, s34, s35 };
  _mm512_storeu_ps(sums, lane_sums(first, 16));
  _mm256_storeu_ps(sums + 16, _mm512_castps512_ps256(lane_sums(rest, 8)));
}

/* A copy of dot_block() for each block width: the last column block of a C
 * whose width is not a multiple of DOT_CB takes the narrower copy instead
 * of repeating a column (75 taps at the encoder's first layer: 12 blocks
 * of 6 and one of 3, where 13 of 6 did 4 % more work). Same sums: each
 * element's own accumulator and lane sum, whatever the block. */
typedef void dot_block_fn(const struct spdi_igemm *g, const struct dot_run *run, size_t nrun,
                          const size_t *rows, const size_t *cols, float *sums);
#define DOT_BLOCK_OF(cb)                                                             \
  __attribute__((target("avx512f"))) static void dot_block##cb(                      \
      const struct spdi_igemm *g, const struct dot_run *run, size_t nrun,            \
      const size_t *rows, const size_t *cols, float *sums)                           \
  {                                                                                  \
    dot_block(g, run, nrun, rows, cols, sums, cb);                                   \
  }
DOT_BLOCK_OF(1)
DOT_BLOCK_OF(2)
DOT_BLOCK_OF(3)
DOT_BLOCK_OF(4)
DOT_BLOCK_OF(5)
DOT_BLOCK_OF(6)
static dot_block_fn *const dot_block_of[DOT_CB + 1] = {
  NULL, dot_block1, dot_block2, dot_block3, dot_block4, dot_block5, dot_block6,
};

/* What a chunk of K costs in cache: the operand whose lines the blocks
 * cycle through (B's columns when a row block visits every column block,
 * else A's rows), all of its lines over the chunk, and the one block of
 * the other that stays put. */
struct dot_cycled {
  size_t lines;      /* of the cycled operand */
  ptrdiff_t span;    /* max - min of their offsets */
  bool is_b;         /* which operand it is (run.b's offsets, else run.a's) */
  size_t block;      /* lines of the other operand in one block */
};

static struct dot_cycled cycled_side(const struct spdi_igemm *g, bool cols_inner)
{
  const ptrdiff_t *off = cols_inner ? g->b.c : g->a.r;
  const size_t n = cols_inner ? g->N : g->M;
  ptrdiff_t lo = off[0], hi = off[0];
  for (size_t i = 1; i < n; i++) {
    lo = off[i] < lo ? off[i] : lo;
    hi = off[i] > hi ? off[i] : hi;
  }
  return (struct dot_cycled){ n, hi - lo, cols_inner, cols_inner ? DOT_RB : DOT_CB };
}

/* The end of the chunk of runs that starts at q0: whole runs while the
 * floats they read stay within DOT_CACHE_FLOATS (at least one run). The
 * cycled lines count whole, or, where they overlap (a convolution's taps
 * on one image), as the extent of memory they reach; the fixed block
 * counts whole. It depends on the runs only: the same chunks, so the
 * same sums, for any thread count. */
static size_t chunk_end(const struct dot_cycled *cyc, const struct dot_run *run, size_t q0,
                        size_t nrun)
{
  ptrdiff_t lo = PTRDIFF_MAX, hi = PTRDIFF_MIN;
  size_t klen = 0, q = q0;
  for (; q < nrun; q++) {
    const ptrdiff_t at = cyc->is_b ? run[q].b : run[q].a, end = at + (ptrdiff_t)run[q].len;
    const ptrdiff_t l = at < lo ? at : lo, h = end > hi ? end : hi;
    const size_t k = klen + run[q].len, reach = (size_t)(cyc->span + (h - l));
    /* either bound holds: every line read whole, or every float in reach */
    const size_t cycled = cyc->lines * k < reach ? cyc->lines * k : reach;
    if (q > q0 && cycled + cyc->block * k > DOT_CACHE_FLOATS)
      break;
    lo = l, hi = h, klen = k;
  }
  return q;
}

/* Asks L2 for the lines of A that row block rb reads over runs [qa, qb),
 * each offset for its 4 rows in turn.
 *
 * With the columns inner, a row block's piece of A stays in L2 while its
 * column blocks take turns, but the first of them reads it from memory:
 * in a weight gradient A is the output gradient, just written by the
 * backward of the op after the convolution and in L3 at best. So
 * each block of a row block asks for its share of the next row block's
 * piece. On the encoder's first layer at width 1024 (3 -> 128 channels),
 * forward + weight gradient ran 1-3 % faster and the layer's step 2-3 %
 * (1 and 2 threads); asking for the lines row by row instead of
 * offset by offset gained nothing. With the rows inner, the fixed block is
 * B's: taps of one small image in the caches already (the encoder's first
 * layer at width 128 ran 2-5 % slower when it asked for them). */
static void prefetch_rows(const struct spdi_igemm *g, size_t rb, const struct dot_run *run,
                          size_t qa, size_t qb)
{
  const size_t i0 = rb * DOT_RB, i1 = i0 + DOT_RB < g->M ? i0 + DOT_RB : g->M;
  for (size_t q = qa; q < qb; q++)
    for (size_t t = 0; t < run[q].len; t += 16)
      for (size_t i = i0; i < i1; i++)
        _mm_prefetch((const char *)(g->a.src + g->a.r[i] + run[q].a + (ptrdiff_t)t),
                     _MM_HINT_T1);
}
#endif

void spdi_igemm_dot_run(const struct spdi_igemm *g, const float *work, size_t nrun,
                        int nthreads)
{
#ifdef DOT_X86
  const struct dot_run *run = (const struct dot_run *)(const void *)work;
  const size_t M = g->M, N = g->N;
  const size_t rblocks = (M + DOT_RB - 1) / DOT_RB, cblocks = (N + DOT_CB - 1) / DOT_CB;
  const size_t nblk = rblocks * cblocks;
  if ((size_t)nthreads > nblk)
    nthreads = (int)nblk;
  const bool cols_inner = M > N;
  const struct dot_cycled cyc = cycled_side(g, cols_inner);
  SPDI_PARALLEL(nthreads, {
    const size_t tid = tid_, nth = nth_;
    const size_t per = (nblk + nth - 1) / nth, lo = tid * per;
    const size_t hi = lo + per < nblk ? lo + per : nblk;
    for (size_t q0 = 0, q1 = chunk_end(&cyc, run, 0, nrun); q0 < nrun;) {
      const size_t q2 = q1 < nrun ? chunk_end(&cyc, run, q1, nrun) : q1;
      for (size_t blk = lo; blk < hi; blk++) {
        const size_t i0 = cols_inner ? blk / cblocks * DOT_RB : blk % rblocks * DOT_RB;
        const size_t j0 = cols_inner ? blk % cblocks * DOT_CB : blk / rblocks * DOT_CB;
        const size_t R = M - i0 < DOT_RB ? M - i0 : DOT_RB;
        const size_t C = N - j0 < DOT_CB ? N - j0 : DOT_CB;
        /* an edge block repeats its first row or column (results unused) */
        size_t rows[DOT_RB], cols[DOT_CB];
        for (size_t r = 0; r < DOT_RB; r++)
          rows[r] = r < R ? i0 + r : i0;
        for (size_t c = 0; c < DOT_CB; c++)
          cols[c] = c < C ? j0 + c : j0;
        if (cols_inner) {
          /* this block's share of the next row block the thread visits:
           * the next one on this chunk, or its first on the next chunk */
          const size_t rb = blk / cblocks, b0 = rb * cblocks > lo ? rb * cblocks : lo;
          const size_t b1 = (rb + 1) * cblocks < hi ? (rb + 1) * cblocks : hi;
          const bool last = b1 == hi;
          const size_t qa = last ? q1 : q0, qb = last ? q2 : q1;
          prefetch_rows(g, last ? lo / cblocks : rb + 1, run,
                        qa + (qb - qa) * (blk - b0) / (b1 - b0),
                        qa + (qb - qa) * (blk - b0 + 1) / (b1 - b0));
        }
        float sums[DOT_RB * DOT_CB];
        dot_block_of[C](g, run + q0, q1 - q0, rows, cols, sums);
        const bool acc = q0 > 0 || !g->overwrite;
        for (size_t r = 0; r < R; r++) {
          float *d = g->c.dst + g->c.r[i0 + r];
          for (size_t c = 0; c < C; c++) {
            float *e = d + g->c.c[j0 + c];
            *e = (acc ? *e : 0.0f) + sums[r * DOT_CB + c];
          }
        }
      }
      q0 = q1;
      q1 = q2;
    }
  });
#else
  (void)g, (void)work, (void)nrun, (void)nthreads;
#endif
}
