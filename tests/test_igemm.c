/* The indexed GEMM driver (lib/ops/igemm.c) on its own, against a double
 * product, through each of its code paths.
 *
 * The convolution suites reach the driver only through the shapes of real
 * layers; here the operand layouts are chosen to select each packing path
 * (contiguous panels, runs of a few consecutive offsets, scattered offsets
 * gathered 8 lanes at a time, runs along the K side transposed 8 x 8) and
 * the direct path for few rows, at every instruction-set level the CPU has
 * (spdi_cap_isa): portable C, AVX2, AVX-512.
 *
 * Tolerance, per element: 2e-5 times the sum of the absolute values of the
 * terms, plus 1e-6. Rounding in float sums of K terms grows like sqrt(K) u
 * (u = 6e-8) of that sum in practice: 1e-6 at K = 300, 3e-6 at K = 2400 (K
 * u, 1.4e-4, is the worst case, which sequential sums of random terms do
 * not approach). A misplaced element of A or B moves a sum by one whole
 * term, about 1/K of it: 4e-4 at K = 2400, 20 times the tolerance. */
#include "harness.h"
#include "cpu.h"
#include "gemm.h"
#include "internal.h"
#include "ops/igemm.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum layout {
  CONTIGUOUS,  /* B's columns consecutive: whole panels copied */
  RUNS,        /* B's columns in runs of 4 (output rows of 4 pixels) */
  SCATTERED,   /* B's columns spread out: gathers */
  SHORT_RUNS,  /* runs of 3, then 1: the gather side of the chunk test */
  STRIDE2,     /* every other offset: the strided copy */
  RUNS16,      /* runs of 16 (output rows of 16 pixels in a plane 21 wide) */
  RUNS8,       /* runs of 8 (rows of 8 pixels in a plane 11 wide) */
};

struct problem {
  size_t M, N, K;
  float *asrc, *bsrc, *c;
  ptrdiff_t *ar, *ak, *bk, *bc, *cr, *cc;
  double *want, *mag;
  const ptrdiff_t *kr_run, *kr_off, *kr_seg; /* igemm.h kr; NULL: every k */
};

static ptrdiff_t *offsets(size_t n)
{
  ptrdiff_t *p = malloc((n ? n : 1) * sizeof *p);
  ck_assert_ptr_nonnull(p);
  return p;
}

/* B's column offsets for a layout; returns the span they cover. */
static size_t column_offsets(enum layout l, size_t N, ptrdiff_t *bc)
{
  size_t at = 0;
  for (size_t j = 0; j < N; j++) {
    switch (l) {
    case CONTIGUOUS:
      at = j;
      break;
    case RUNS: /* rows of 4 pixels in a plane 7 wide */
      at = j / 4 * 7 + j % 4;
      break;
    case SCATTERED: /* distinct, unevenly spaced */
      at = j * 5 + (j * j) % 3;
      break;
    case SHORT_RUNS:
      at = j / 4 * 9 + (j % 4 == 3 ? 6 : j % 4);
      break;
    case STRIDE2:
      at = 2 * j;
      break;
    case RUNS16:
      at = j / 16 * 21 + j % 16;
      break;
    case RUNS8:
      at = j / 8 * 11 + j % 8;
      break;
    }
    bc[j] = (ptrdiff_t)at;
  }
  return at + 1;
}

/* C (M x N, row-major, distinct elements) = A B with A row-major M x K,
 * B[k][c] = bsrc[bk[k] + bc[c]], bk[k] spaced by the column span plus a
 * gap (so rows of B do not overlap). A's K side is read in runs of 8
 * consecutive offsets when k_runs, otherwise through a permutation. */
static void problem_make_runs(struct problem *p, size_t M, size_t N, size_t K, enum layout l,
                              bool k_runs, size_t b_run);

static void problem_reference(struct problem *p);

static void problem_make(struct problem *p, size_t M, size_t N, size_t K, enum layout l,
                         bool k_runs)
{
  problem_make_runs(p, M, N, K, l, k_runs, 0);
}

/* As problem_make(), and with b_run > 0 B's rows are read in runs of b_run
 * consecutive offsets (neighbouring rows of B then overlap, as the taps of
 * an im2col do). */
static void problem_make_runs(struct problem *p, size_t M, size_t N, size_t K, enum layout l,
                              bool k_runs, size_t b_run)
{
  memset(p, 0, sizeof *p);
  p->M = M, p->N = N, p->K = K;
  p->ar = offsets(M), p->ak = offsets(K), p->bk = offsets(K), p->bc = offsets(N);
  p->cr = offsets(M), p->cc = offsets(N);
  const size_t span = column_offsets(l, N, p->bc) + 3 + b_run;
  const size_t brows = b_run > 0 ? (K + b_run - 1) / b_run : K; /* runs share a row */
  p->bsrc = malloc(brows * span * sizeof *p->bsrc);
  p->asrc = malloc(M * K * sizeof *p->asrc);
  p->c = calloc(M * N, sizeof *p->c);
  p->want = calloc(M * N, sizeof *p->want);
  p->mag = calloc(M * N, sizeof *p->mag);
  ck_assert(p->bsrc && p->asrc && p->c && p->want && p->mag);
  for (size_t i = 0; i < brows * span; i++)
    p->bsrc[i] = spdt_hash_value(i, 7);
  for (size_t i = 0; i < M * K; i++)
    p->asrc[i] = spdt_hash_value(i, 11);
  for (size_t k = 0; k < K; k++) {
    /* reverse the order of B's rows, and of A's K side unless k_runs */
    p->bk[k] = b_run > 0 ? (ptrdiff_t)(k / b_run * span + k % b_run)
                         : (ptrdiff_t)((K - 1 - k) * span);
    p->ak[k] = k_runs ? (ptrdiff_t)k : (ptrdiff_t)((k * 7) % K);
  }
  for (size_t r = 0; r < M; r++) {
    p->ar[r] = (ptrdiff_t)(r * K);
    p->cr[r] = (ptrdiff_t)(r * N);
  }
  for (size_t j = 0; j < N; j++)
    p->cc[j] = (ptrdiff_t)j;
  problem_reference(p);
}

/* want and mag: the double product and the sum of its terms' magnitudes. */
static void problem_reference(struct problem *p)
{
  const size_t M = p->M, N = p->N, K = p->K;
  memset(p->want, 0, M * N * sizeof *p->want);
  memset(p->mag, 0, M * N * sizeof *p->mag);
  for (size_t r = 0; r < M; r++)
    for (size_t j = 0; j < N; j++)
      for (size_t k = 0; k < K; k++) {
        const double t = (double)p->asrc[p->ar[r] + p->ak[k]] *
                         (double)p->bsrc[p->bk[k] + p->bc[j]];
        p->want[r * N + j] += t;
        p->mag[r * N + j] += fabs(t);
      }
}

static void problem_free(struct problem *p)
{
  free(p->asrc), free(p->bsrc), free(p->c), free(p->want), free(p->mag);
  free(p->ar), free(p->ak), free(p->bk), free(p->bc), free(p->cr), free(p->cc);
}

/* C = A B with nthreads threads at instruction-set level isa, twice: added
 * into a zeroed C, and with overwrite into a C full of NaN, which must give
 * equal values (nothing of the old C may be read). */
static void problem_run(struct problem *p, int isa, int nthreads)
{
  /* the micro-kernel depends on the level too (ukr_avx512.h) */
  spdi_cap_isa(isa);
  struct spdi_ukernel u;
  spdi_ukernel_get(&u);
  const size_t bytes = (spdi_igemm_work(&u, nthreads) * sizeof(float) + 63) / 64 * 64;
  const size_t MN = p->M * p->N;
  float *work = aligned_alloc(64, bytes), *added = malloc(MN * sizeof *added);
  ck_assert(work != NULL && added != NULL);
  struct spdi_igemm g = { p->M, p->N, p->K, { p->asrc, p->ar, p->ak },
                          { p->bsrc, p->bk, p->bc }, { p->c, p->cr, p->cc }, false,
                          { p->kr_run, p->kr_off, p->kr_seg } };
  memset(p->c, 0, MN * sizeof *p->c);
  spdi_igemm(&g, &u, work, nthreads);
  memcpy(added, p->c, MN * sizeof *added);
  for (size_t q = 0; q < MN; q++)
    p->c[q] = NAN;
  g.overwrite = true;
  spdi_igemm(&g, &u, work, nthreads);
  spdi_cap_isa(SPDI_ISA_AVX512);
  for (size_t q = 0; q < MN; q++)
    ck_assert_msg(p->c[q] == added[q], "%zu x %zu x %zu, isa %d: overwrite gave %.9g at %zu, "
                  "adding to zero %.9g", p->M, p->N, p->K, isa, (double)p->c[q], q,
                  (double)added[q]);
  free(added);
  free(work);
}

static void problem_check(const struct problem *p, const char *what, int isa)
{
  for (size_t q = 0; q < p->M * p->N; q++) {
    const float c = p->c[p->cr[q / p->N] + p->cc[q % p->N]];
    ck_assert_msg(fabs(c - p->want[q]) <= 2e-5 * p->mag[q] + 1e-6,
                  "%s (%zu x %zu x %zu, isa %d): element %zu is %.9g, want %.9g", what, p->M,
                  p->N, p->K, isa, q, (double)c, p->want[q]);
  }
}

/* C's rows (and with cols also its columns) stored in a scrambled order:
 * offsets unevenly spaced, as when a tile of output pixels crosses from
 * one image to the next. */
static void problem_permute_c(struct problem *p, bool cols)
{
  ck_assert(p->M % 7 != 0 && p->N % 7 != 0);
  for (size_t r = 0; r < p->M; r++)
    p->cr[r] = (ptrdiff_t)((r * 7) % p->M * p->N);
  for (size_t j = 0; cols && j < p->N; j++)
    p->cc[j] = (ptrdiff_t)((j * 7) % p->N);
}

/* C's columns in runs of 10 consecutive offsets, the runs in reverse
 * order: an NCHW output whose micro-tiles span images (the write-back then
 * goes a run at a time). */
static void problem_runs_c(struct problem *p)
{
  ck_assert(p->N % 10 == 0);
  for (size_t j = 0; j < p->N; j++)
    p->cc[j] = (ptrdiff_t)((p->N / 10 - 1 - j / 10) * 10 + j % 10);
}

struct packed_case {
  size_t M, N, K;
  enum layout l;
  bool k_runs;
  const char *what;
  enum { C_PLAIN, C_ROWS_SCRAMBLED, C_SCRAMBLED, C_COL_RUNS } c;
};

/* Shapes the direct path does not take (N < 256, or B's columns not in
 * runs of 8 or 16), so every panel is packed. */
static const struct packed_case packed_cases[] = {
  { 40, 250, 70, CONTIGUOUS, true, "contiguous columns, A read in K runs", C_PLAIN },
  { 40, 300, 70, RUNS, true, "runs of 4 columns", C_PLAIN },
  { 37, 290, 90, SCATTERED, false, "scattered columns, permuted K", C_PLAIN },
  { 45, 250, 60, SHORT_RUNS, false, "runs of 3 and 1", C_PLAIN },
  { 40, 300, 70, STRIDE2, true, "every other column", C_PLAIN },
  { 300, 40, 70, RUNS, true, "tall: the driver transposes", C_PLAIN },
  { 300, 40, 70, CONTIGUOUS, true, "tall, contiguous: one run per 6-row panel", C_PLAIN },
  { 260, 24, 300, SCATTERED, true, "tall, scattered, K > one cache block", C_PLAIN },
  { 40, 250, 300, CONTIGUOUS, true, "C's rows unevenly spaced, K > one block", C_ROWS_SCRAMBLED },
  { 300, 40, 70, RUNS, true, "tall, C's rows unevenly spaced", C_ROWS_SCRAMBLED },
  { 40, 300, 70, RUNS, true, "C's rows and columns unevenly spaced", C_SCRAMBLED },
  { 40, 300, 300, RUNS, true, "C's columns in runs of 10, K > one block", C_COL_RUNS },
  /* B packed a micro-panel at a time (M within one block, tiles down C's
   * columns) across several N blocks, and packed whole (M past a block) */
  { 40, 4201, 70, RUNS, true, "late B panels, N > one block", C_SCRAMBLED },
  { 200, 250, 300, CONTIGUOUS, true, "M > one block, K > one block", C_SCRAMBLED },
};
#define NPACKED (sizeof packed_cases / sizeof packed_cases[0])

START_TEST(packed_paths_match_reference)
{
  const struct packed_case *k = &packed_cases[_i];
  struct problem p;
  problem_make(&p, k->M, k->N, k->K, k->l, k->k_runs);
  if (k->c == C_COL_RUNS)
    problem_runs_c(&p);
  else if (k->c != C_PLAIN)
    problem_permute_c(&p, k->c == C_SCRAMBLED);
  for (int isa = SPDI_ISA_PORTABLE; isa <= SPDI_ISA_AVX512; isa++) {
    problem_run(&p, isa, 1);
    problem_check(&p, k->what, isa);
  }
  problem_free(&p);
}
END_TEST

/* p at the highest level the CPU has (AVX-512 if any) on 1 thread against
 * the double product, then on 2 threads to the same bits; returns the
 * 1-thread result, which the caller frees. */
static float *run_1_and_2_threads(struct problem *p, const char *what)
{
  const size_t MN = p->M * p->N;
  float *first = malloc(MN * sizeof *first);
  ck_assert_ptr_nonnull(first);
  problem_run(p, SPDI_ISA_AVX512, 1);
  problem_check(p, what, SPDI_ISA_AVX512);
  memcpy(first, p->c, MN * sizeof *first);
  problem_run(p, SPDI_ISA_AVX512, 2);
  ck_assert_msg(memcmp(first, p->c, MN * sizeof *first) == 0, "%s: 1 and 2 threads differ",
                what);
  return first;
}

/* A C of 512 Ki floats or more: the packed path's K blocks are twice as
 * deep with the AVX-512 kernel (igemm.c, DEEP_C); K = 520 is a deep block
 * and a short one. Against the double product, and the same bits on 1 and
 * 2 threads (the depth depends on the shape only). Only at the highest
 * level the CPU has: the lower ones keep blocks of 256, which the other
 * cases cover (and this shape is slow under valgrind). */
START_TEST(deep_k_blocks_match_reference)
{
  struct problem p;
  problem_make(&p, 264, 1990, 520, RUNS, true);
  free(run_1_and_2_threads(&p, "deep K blocks"));
  problem_free(&p);
}
END_TEST

/* The direct path (M <= 16 with AVX2, M <= 512 with AVX-512, K >= 64
 * past 32 rows; N >= 256; B's columns in contiguous runs of 16) for row counts that give every
 * block height of both instruction sets (AVX2: up to 6 rows; AVX-512: M
 * split into equal blocks of up to 8, e.g. 25 as 7 + 7 + 7 + 4; blocks of
 * 8 pack A by 8 x 8 transposes where its K side is consecutive, which
 * every fourth case is not), with contiguous columns, runs of 16 and runs
 * of 8 at their own offsets (a vector then loads two runs), and a partial
 * last run: N = 277 is 17 runs (AVX-512 blocks of 3 runs: 5 full blocks
 * and one of 2) plus 5 columns, N = 261 leaves a block of one run. Where
 * both instruction sets take the path they give the same bits (each
 * element is one FMA chain over k in order), and so do 1 and 2 threads. */
START_TEST(direct_path_same_bits_at_every_isa)
{
  static const size_t rows[] = { 1,  2,  3,  4,  5,  6,  7,  8,   9,   11,  13, 16,
                                  17, 23, 25, 32, 40, 57, 64, 100, 256, 264, 512 };
  /* past 32 rows the path needs K >= 64 */
  const size_t M = rows[_i / 2], N = _i % 2 ? 16 * 16 + 5 : 16 * 17 + 5, K = M > 32 ? 67 : 29;
  static const enum layout layouts[] = { CONTIGUOUS, RUNS16, RUNS8 };
  const enum layout l = layouts[_i % 3];
  struct problem p;
  problem_make(&p, M, N, K, l, _i % 4 != 3);
  float *first = run_1_and_2_threads(&p, "direct");
  problem_run(&p, SPDI_ISA_AVX2, 1);
  problem_check(&p, M <= 16 ? "direct" : "packed (AVX2 direct stops at 16 rows)",
                SPDI_ISA_AVX2);
  if (M <= 16)
    ck_assert_msg(memcmp(first, p.c, M * N * sizeof *first) == 0,
                  "M = %zu: AVX2 and AVX-512 direct blocks differ", M);
  problem_run(&p, SPDI_ISA_PORTABLE, 1);
  problem_check(&p, "direct, portable packing", SPDI_ISA_PORTABLE);
  free(first);
  problem_free(&p);
}
END_TEST

/* Past its work space (about 1.07 M floats per thread with the AVX-512
 * kernel's blocking) the direct path packs and runs A's rows in slices:
 * 264 rows at K = 4100 go as two slices of 136 and 128 rows on one
 * thread, and in one piece on two threads (twice the work space). Against
 * the double product, and the same bits both ways. */
START_TEST(direct_path_in_row_slices)
{
  struct problem p;
  problem_make(&p, 264, 16 * 16 + 5, 4100, RUNS16, true);
  free(run_1_and_2_threads(&p, "direct, A in slices (1 thread) and in one piece (2)"));
  problem_free(&p);
}
END_TEST

/* B zero at every k outside the ranges of its column run's class (igemm.h,
 * kr: run, off, seg) over the full runs of 16; the reference recomputed. */
static void problem_zero_outside_ranges(struct problem *p, const ptrdiff_t *run,
                                        const ptrdiff_t *off, const ptrdiff_t *seg)
{
  for (size_t j = 0; j < p->N / 16 * 16; j++) {
    const ptrdiff_t q = run[j / 16];
    for (size_t k = 0; k < p->K; k++) {
      bool in = false;
      for (ptrdiff_t i = off[q]; i < off[q + 1]; i++)
        in = in || ((ptrdiff_t)k >= seg[2 * i] && (ptrdiff_t)k < seg[2 * i + 1]);
      if (!in)
        p->bsrc[p->bk[k] + p->bc[j]] = 0.0f;
    }
  }
  problem_reference(p);
}

/* K ranges per class of column runs (igemm.h, kr), as a convolution's
 * pixels that read zero padding through some taps: B zero outside each
 * run's ranges. Classes: all of K; two ranges; none (those columns are
 * 0); one range. Runs go to classes in threes (whole AVX-512 blocks),
 * except runs 12 and 13, whose class differs from the run before and the
 * run after (the blocks are cut there: runs 12-13 and run 14 alone). The
 * direct path's skipping gives the same bits as multiplying the zeros, on
 * 1 and 2 threads (which split the runs by their terms). */
START_TEST(direct_path_skips_k_ranges_same_bits)
{
  static const ptrdiff_t off[] = { 0, 1, 3, 3, 4 };
  static const ptrdiff_t seg[] = { 0, 67, 5, 20, 30, 60, 40, 41 };
  const size_t M = 24, N = 16 * 17 + 5, K = 67, runs = N / 16;
  ptrdiff_t run[17];
  for (size_t r = 0; r < runs; r++)
    run[r] = r == 12 || r == 13 ? 3 : (ptrdiff_t)(r / 3 % 4);
  struct problem p;
  problem_make(&p, M, N, K, RUNS16, true);
  problem_zero_outside_ranges(&p, run, off, seg);
  float *all = run_1_and_2_threads(&p, "direct, every k");
  p.kr_run = run, p.kr_off = off, p.kr_seg = seg;
  float *skip = run_1_and_2_threads(&p, "direct, K ranges");
  ck_assert_msg(memcmp(all, skip, M * N * sizeof *all) == 0,
                "skipping the zero products changed the bits");
  problem_run(&p, SPDI_ISA_AVX2, 1); /* AVX2 takes every k */
  problem_check(&p, "AVX2 with K ranges", SPDI_ISA_AVX2);
  free(all), free(skip);
  problem_free(&p);
}
END_TEST

/* The narrow blocks of the direct path (AVX-512, at most 3 rows: up to 8
 * runs of 16 in one block, igemm_direct.c) give the AVX2 blocks' bits, on
 * 1 and 2 threads, added into C and overwriting it. N = 16 * 21 + 5: blocks
 * of 8, 8 and 5 runs and a partial run, which the wide blocks take; B in
 * runs of 16, contiguous, or in runs of 8 (split vectors, which the narrow
 * blocks leave to the wide ones). K = 29, and K = 600, past
 * NARROW_PF_MIN_K, where each block prefetches the next one's B. Cases 9
 * and up skip K ranges per class of runs (classes change every 5 runs, so
 * the narrow blocks are cut there). */
START_TEST(narrow_blocks_same_bits_as_avx2)
{
  const size_t M = 1 + (size_t)_i % 3, N = 16 * 21 + 5, K = _i / 3 % 2 ? 600 : 29;
  static const enum layout layouts[] = { RUNS16, CONTIGUOUS, RUNS8 };
  struct problem p;
  problem_make(&p, M, N, K, layouts[_i / 3 % 3], true);
  static const ptrdiff_t off[] = { 0, 1, 3, 4 };
  ptrdiff_t run[21];
  const ptrdiff_t seg[] = { 0, (ptrdiff_t)K, 2, 11, 17, (ptrdiff_t)K - 1, 5, 23 };
  if (_i >= 9) {
    for (size_t r = 0; r < 21; r++)
      run[r] = (ptrdiff_t)(r / 5 % 3);
    problem_zero_outside_ranges(&p, run, off, seg);
    p.kr_run = run, p.kr_off = off, p.kr_seg = seg;
  }
  float *wide = run_1_and_2_threads(&p, "narrow");
  problem_run(&p, SPDI_ISA_AVX2, 1);
  problem_check(&p, "direct (AVX2)", SPDI_ISA_AVX2);
  ck_assert_msg(memcmp(wide, p.c, M * N * sizeof *wide) == 0,
                "M = %zu, K = %zu: narrow AVX-512 and AVX2 blocks differ", M, K);
  free(wide);
  problem_free(&p);
}
END_TEST

/* B's rows moved span floats apart (span at least the old spacing), in
 * the same order of k, placed in reverse (a dense layer's wide weights) or
 * in order (forward: a constant positive stride). The product's bits do
 * not depend on where B's rows lie. */
static void problem_place_b(struct problem *p, size_t span, bool forward)
{
  const ptrdiff_t d = p->bk[1] - p->bk[0], old = d < 0 ? -d : d;
  float *b = malloc(p->K * span * sizeof *b);
  ck_assert(b != NULL && old > 0 && (size_t)old <= span);
  for (size_t k = 0; k < p->K; k++) {
    const ptrdiff_t at = (ptrdiff_t)((forward ? k : p->K - 1 - k) * span);
    memcpy(b + at, p->bsrc + p->bk[k], (size_t)old * sizeof *b);
    p->bk[k] = at;
  }
  free(p->bsrc);
  p->bsrc = b;
}

static void problem_space_b(struct problem *p, size_t span)
{
  problem_place_b(p, span, false);
}

/* Runs p at AVX-512 with its operands packed, then again after `move`
 * has laid one out for the micro-kernel to read in place (the same values,
 * at other addresses): the same bits on 1 and 2 threads, and the reference
 * at every lower instruction-set level. */
static void same_bits_in_place(struct problem *p, void (*move)(struct problem *))
{
  const size_t MN = p->M * p->N;
  float *packed = malloc(MN * sizeof *packed);
  ck_assert_ptr_nonnull(packed);
  problem_run(p, SPDI_ISA_AVX512, 1);
  problem_check(p, "packed", SPDI_ISA_AVX512);
  memcpy(packed, p->c, MN * sizeof *packed);
  move(p);
  problem_run(p, SPDI_ISA_AVX512, 1);
  problem_check(p, "in place", SPDI_ISA_AVX512);
  ck_assert_mem_eq(packed, p->c, MN * sizeof *packed);
  problem_run(p, SPDI_ISA_AVX512, 2);
  ck_assert_mem_eq(packed, p->c, MN * sizeof *packed);
  for (int isa = SPDI_ISA_PORTABLE; isa < SPDI_ISA_AVX512; isa++) {
    problem_run(p, isa, 1);
    problem_check(p, "in place, below AVX-512", isa);
  }
  free(packed);
}

static void b_rows_in_order(struct problem *p)
{
  problem_place_b(p, p->N + 3, true);
}

/* The packed path with B read in place by the AVX-512 micro-kernel (a
 * narrow row-major B with rows in order at most 192 floats apart and at
 * most 64 rows of A: a dense layer's input gradient): the same bits as
 * with both operands packed (B's rows in reverse order, which the kernel
 * cannot read in place; A's K side permuted throughout), on 1 and 2 threads, for the kernel's edge tiles (1, 2 and 3
 * vectors with a masked last one), edge rows and K over one block. */
START_TEST(packed_b_in_place_same_bits)
{
  static const size_t shape[][3] = { /* M, N, K */
    { 32, 100, 701 }, /* 48 + 48 + 4 columns */
    { 20, 40, 300 },  /* rows 8 + 8 + 4; 3 vectors, the last 8 lanes */
    { 50, 33, 71 },   /* the last vector 1 lane */
    { 10, 16, 300 },  /* one full vector */
    { 10, 30, 300 },  /* two vectors, the last 14 lanes */
  };
  const size_t M = shape[_i][0], N = shape[_i][1], K = shape[_i][2];
  struct problem p;
  /* A's K side permuted, so that A is packed (never read in place) */
  problem_make(&p, M, N, K, CONTIGUOUS, false);
  if (_i == 1)
    problem_permute_c(&p, true); /* C through the kernel's tile buffer */
  same_bits_in_place(&p, b_rows_in_order);
  problem_free(&p);
}
END_TEST

/* The direct path with B's rows 4 KiB or more apart and more than one
 * block of rows copies B to contiguous panels first (igemm_direct.c): the
 * same bits as reading it in place (rows less than 1024 floats apart), on
 * 1 and 2 threads, for one and two runs per vector and a partial last
 * run, and more columns than one copy holds (K = 400: 6 blocks of 48,
 * 288 columns). */
START_TEST(direct_path_copy_of_wide_b_same_bits)
{
  static const size_t rows[] = { 9, 17, 25, 32 };
  static const enum layout layouts[] = { CONTIGUOUS, RUNS8 };
  const size_t M = rows[_i / 2], N = 16 * 40 + 5, K = 400;
  struct problem p;
  problem_make(&p, M, N, K, layouts[_i % 2], true);
  float *in_place = malloc(M * N * sizeof *in_place);
  ck_assert_ptr_nonnull(in_place);
  problem_run(&p, SPDI_ISA_AVX512, 1);
  problem_check(&p, "direct, B in place", SPDI_ISA_AVX512);
  memcpy(in_place, p.c, M * N * sizeof *in_place);
  problem_space_b(&p, 2000);
  problem_run(&p, SPDI_ISA_AVX512, 1);
  problem_check(&p, "direct, B copied", SPDI_ISA_AVX512);
  ck_assert_mem_eq(in_place, p.c, M * N * sizeof *in_place);
  problem_run(&p, SPDI_ISA_AVX512, 2);
  ck_assert_mem_eq(in_place, p.c, M * N * sizeof *in_place);
  free(in_place);
  problem_free(&p);
}
END_TEST

/* The dot path (a small C over a long K read in runs by both A and B, as
 * in a weight gradient): runs of 32 and 40 (a masked last piece), edge
 * blocks in both directions (column blocks 1 to 6 wide), one run over all
 * of K (a dense layer's forward pass), which the path cuts into runs and
 * chunks, and more rows than columns (the blocks then visited with the
 * columns inner); K in one chunk and in several, with either side
 * cycled; the same bits on 1 and 2 threads. */
START_TEST(dot_path_matches_reference)
{
  static const size_t shape[][4] = { /* M, N, K, run */
    { 16, 75, 2048, 32 },   /* last column block 3 wide */
    { 10, 17, 2400, 40 },   /* 5 wide */
    { 4, 6, 1024, 64 },
    { 9, 14, 5000, 5000 },  /* 2 wide; one chunk of 5 runs */
    { 130, 75, 2048, 32 },
    { 8, 13, 2048, 32 },    /* 1 wide */
    { 8, 22, 2048, 32 },    /* 4 wide */
    { 9, 14, 12000, 12000 }, /* two chunks, A's 9 rows cycled */
    { 80, 30, 16384, 32 },  /* several chunks, B's 30 columns cycled */
  };
  const size_t *k = shape[_i];
  struct problem p;
  problem_make_runs(&p, k[0], k[1], k[2], SCATTERED, true, k[3]);
  float *first = malloc(k[0] * k[1] * sizeof *first);
  ck_assert_ptr_nonnull(first);
  for (int isa = SPDI_ISA_PORTABLE; isa <= SPDI_ISA_AVX512; isa++) {
    problem_run(&p, isa, 1);
    problem_check(&p, "dot", isa);
  }
  memcpy(first, p.c, k[0] * k[1] * sizeof *first);
  problem_run(&p, SPDI_ISA_AVX512, 2);
  ck_assert_mem_eq(first, p.c, k[0] * k[1] * sizeof *first);
  free(first);
  problem_free(&p);
}
END_TEST

/* B as the transpose of a row-major matrix (a dense layer's weights W as
 * B = W^T): B[k][j] at bsrc[j * ld + k], with ld = K + 3 (uneven, the
 * columns of B not evenly spaced, when skew): the same values of B. */
static void problem_b_transposed(struct problem *p, bool skew)
{
  const size_t ld = p->K + 3;
  float *b = malloc(p->N * (ld + 1) * sizeof *b);
  ck_assert_ptr_nonnull(b);
  for (size_t j = 0; j < p->N; j++) {
    const size_t at = j * ld + (skew ? j % 2 : 0);
    for (size_t k = 0; k < p->K; k++)
      b[at + k] = p->bsrc[p->bk[k] + p->bc[j]];
  }
  for (size_t k = 0; k < p->K; k++)
    p->bk[k] = (ptrdiff_t)k;
  for (size_t j = 0; j < p->N; j++)
    p->bc[j] = (ptrdiff_t)(j * ld + (skew ? j % 2 : 0));
  free(p->bsrc);
  p->bsrc = b;
}

static void b_transposed_in_order(struct problem *p)
{
  problem_b_transposed(p, false);
}

/* The packed path solving C^T = B^T A^T with B^T, a tall row-major matrix,
 * read in place by the AVX-512 micro-kernel as its A (a dense layer's
 * forward pass: C = x W^T with few rows): the same bits as with every
 * operand packed (B's columns unevenly spaced), on 1 and 2 threads, for
 * C^T's column-stored tiles of 32, 20, 64 (48 + 16) and 8 columns, edge
 * rows (N = 301, 129) and K over one block. */
START_TEST(packed_a_in_place_same_bits)
{
  static const size_t shape[][3] = { /* M, N, K */
    { 32, 300, 100 }, { 20, 301, 300 }, { 64, 129, 70 }, { 8, 250, 50 },
  };
  const size_t M = shape[_i][0], N = shape[_i][1], K = shape[_i][2];
  struct problem p;
  problem_make(&p, M, N, K, CONTIGUOUS, true);
  problem_b_transposed(&p, true);
  same_bits_in_place(&p, b_transposed_in_order);
  problem_free(&p);
}
END_TEST

Suite *spdt_suite(void)
{
  Suite *s = suite_create("igemm");
  TCase *tc = tcase_create("paths");
  tcase_set_timeout(tc, 60);
  tcase_add_loop_test(tc, packed_paths_match_reference, 0, (int)NPACKED);
  tcase_add_loop_test(tc, direct_path_same_bits_at_every_isa, 0, 46);
  tcase_add_test(tc, direct_path_in_row_slices);
  tcase_add_test(tc, direct_path_skips_k_ranges_same_bits);
  tcase_add_loop_test(tc, narrow_blocks_same_bits_as_avx2, 0, 15);
  tcase_add_test(tc, deep_k_blocks_match_reference);
  tcase_add_loop_test(tc, direct_path_copy_of_wide_b_same_bits, 0, 8);
  tcase_add_loop_test(tc, dot_path_matches_reference, 0, 9);
  tcase_add_loop_test(tc, packed_b_in_place_same_bits, 0, 5);
  tcase_add_loop_test(tc, packed_a_in_place_same_bits, 0, 4);
  suite_add_tcase(s, tc);
  return s;
}
