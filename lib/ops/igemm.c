/* GEMM driver over indexed operands: see igemm.h. The packed path's loop
 * nest is BLIS's (jc over N, pc over K, pack B, ic over M, pack A, then
 * micro-tiles), with packing and write-back done here through the index
 * arrays, and a narrow B or a tall A read in place by the AVX-512 kernel
 * where packing it would cost more than it saves (b_in_place,
 * a_in_place); the direct and dot paths are in igemm_direct.c and
 * igemm_dot.c. */
#include "igemm.h"
#include "igemm_paths.h"
#include "tape_impl.h"
#include "transpose8.h"
#include "vmath.h"

#include <stdbool.h>

#include <omp.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#  include <immintrin.h>
#  define PACK_X86 1
#endif

static size_t round_up(size_t n, size_t m)
{
  return (n + m - 1) / m * m;
}

/* K blocks DEEP_KC times u->kc deep for GEMMs whose C holds at least
 * DEEP_C floats (with the AVX-512 kernel, whose packed B panel is past L1
 * either way). The packed path reads and writes C's tiles back once per
 * K block; with a C of several MiB, each of those passes goes to L3. At
 * width 1024, where the convolutions' packed GEMMs have C of 0.5 to 13 Mi
 * floats, blocks of 512 instead of 256 made the encoder's third and the
 * decoder's first layers 1.05 times faster (forward + backward, one Zen 4
 * core); at width 128 (C of at most 200 Ki floats) blocks of 512 for
 * every GEMM had made the encoder's second and fourth layers 1.03-1.04
 * times slower. The depth depends on the shapes only, not the thread
 * count. */
#define DEEP_KC 2
#define DEEP_C ((size_t)1 << 19)

static size_t kc_for(const struct spdi_ukernel *u, size_t M, size_t N)
{
  return u->in_place && M * N >= DEEP_C ? DEEP_KC * u->kc : u->kc;
}

/* The deepest K block (kc_for()). */
static size_t kc_max(const struct spdi_ukernel *u)
{
  return u->in_place ? DEEP_KC * u->kc : u->kc;
}

/* Panel strides are kept at the deepest K block so that every panel stays
 * 64-byte aligned whatever a block's depth. */
static size_t a_panel(const struct spdi_ukernel *u) { return u->packmr * kc_max(u); }
static size_t b_panel(const struct spdi_ukernel *u) { return u->packnr * kc_max(u); }
static size_t mc_of(const struct spdi_ukernel *u) { return round_up(u->mc, u->mr); }
static size_t nc_of(const struct spdi_ukernel *u) { return round_up(u->nc, u->nr); }
static size_t tile_floats(const struct spdi_ukernel *u)
{
  return round_up(u->packmr * u->packnr, 16); /* 64 bytes */
}

/* One thread's packing buffers and tile for K blocks of kc. */
static size_t buffers(const struct spdi_ukernel *u, size_t kc)
{
  return nc_of(u) / u->nr * u->packnr * kc + mc_of(u) / u->mr * u->packmr * kc +
         tile_floats(u);
}

/* Each thread has its own packing buffers and tile. */
static size_t per_thread(const struct spdi_ukernel *u)
{
  return buffers(u, kc_max(u));
}

/* The work space per thread that the direct and dot paths may count on
 * when they are chosen: that of blocks of u->kc, as before the deeper
 * blocks, so that those choices stay where they were measured. */
static size_t path_budget(const struct spdi_ukernel *u)
{
  return buffers(u, u->kc);
}

size_t spdi_igemm_work(const struct spdi_ukernel *u, int nthreads)
{
  return (size_t)(nthreads < 1 ? 1 : nthreads) * per_thread(u);
}

#ifdef PACK_X86

/* d[t * ld + j] = s[minor[j] + t] for t < len8 (a multiple of 8), j < n,
 * zero for n <= j < ld, for ld <= 8 lanes: 8 x 8 register transposes. */
__attribute__((target("avx2"))) static void pack_run8(const float *s, const ptrdiff_t *minor,
                                                      size_t n, size_t len8, size_t lanes,
                                                      size_t ld, float *d)
{
  const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)lanes),
                                          _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  const float *sj[8];
  for (size_t j = 0; j < 8; j++)
    sj[j] = j < n ? s + minor[j] : NULL;
  for (size_t t = 0; t < len8; t += 8) {
    __m256 r[8];
    for (size_t j = 0; j < 8; j++)
      r[j] = j < n ? _mm256_loadu_ps(sj[j] + t) : _mm256_setzero_ps();
    __m256 c[8];
    spdi_transpose8(r, c);
    float *o = d + t * ld;
    /* vmaskmov stores cost a dozen cycles or more on AMD's cores: only
     * a partial panel row (ld < 8) takes them */
    if (lanes == 8)
      for (size_t j = 0; j < 8; j++)
        _mm256_storeu_ps(o + j * ld, c[j]);
    else
      for (size_t j = 0; j < 8; j++)
        _mm256_maskstore_ps(o + j * ld, mask, c[j]);
  }
}

/* A panel's minor index cut into chunks of at most 8 consecutive offsets:
 * chunk c covers j in [j[c], j[c] + len[c]) and reads offsets off[c] + t. */
#define PACK_MAX_CHUNKS 64
struct chunks {
  size_t n;
  uint8_t j[PACK_MAX_CHUNKS], len[PACK_MAX_CHUNKS];
  ptrdiff_t off[PACK_MAX_CHUNKS];
};

/* Runs of at most `most` offsets; false when n needs more than
 * PACK_MAX_CHUNKS chunks */
static bool chunks_of(const ptrdiff_t *minor, size_t n, size_t most, struct chunks *c)
{
  c->n = 0;
  for (size_t j = 0; j < n;) {
    size_t e = j + 1;
    while (e < n && e - j < most && minor[e] == minor[e - 1] + 1)
      e++;
    if (c->n == PACK_MAX_CHUNKS)
      return false;
    c->j[c->n] = (uint8_t)j;
    c->len[c->n] = (uint8_t)(e - j);
    c->off[c->n++] = minor[j];
    j = e;
  }
  return true;
}

/* The first n of 8 lanes. */
__attribute__((target("avx2"))) static inline __m256i lanes8(size_t n)
{
  return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* pack() for a minor index made of runs (the output pixels of a few short
 * image rows in an im2col panel): one masked load and store per run. */
__attribute__((target("avx2"))) static void pack_chunks(const float *src, const ptrdiff_t *major,
                                                        size_t kc, const struct chunks *c,
                                                        size_t n, size_t ld, float *dst)
{
  __m256i m[PACK_MAX_CHUNKS];
  for (size_t q = 0; q < c->n; q++)
    m[q] = lanes8(c->len[q]);
  /* Loads are masked (the source may end right after a run); stores are
   * full 8-lane ones in increasing address order, whose spill past a
   * chunk is overwritten by the next chunk, the zero tail or the next row:
   * masked stores cost several times more. The last row stores masked, so
   * nothing past the panel is written. */
  size_t p = 0;
  if (n == ld && c->n >= 1 && c->n <= 2) {
    /* the usual panel: one or two runs filling it, every field in a
     * register (the general loop spends more on reading the chunk list) */
    const __m256i m0 = lanes8(c->len[0]), m1 = lanes8(c->len[c->n - 1]);
    const ptrdiff_t o0 = c->off[0], o1 = c->off[c->n - 1];
    const size_t j1 = c->n > 1 ? c->j[1] : 0;
    if (c->n == 1)
      for (; p + 1 < kc; p++)
        _mm256_storeu_ps(dst + p * ld, _mm256_maskload_ps(src + major[p] + o0, m0));
    else
      for (; p + 1 < kc; p++) {
        const float *s = src + major[p];
        float *d = dst + p * ld;
        _mm256_storeu_ps(d, _mm256_maskload_ps(s + o0, m0));
        _mm256_storeu_ps(d + j1, _mm256_maskload_ps(s + o1, m1));
      }
  }
  for (; p + 1 < kc; p++) {
    const float *s = src + major[p];
    float *d = dst + p * ld;
    for (size_t q = 0; q < c->n; q++)
      _mm256_storeu_ps(d + c->j[q], _mm256_maskload_ps(s + c->off[q], m[q]));
    for (size_t j = n; j < ld; j++)
      d[j] = 0.0f;
  }
  if (kc > 0) {
    const float *s = src + major[kc - 1];
    float *d = dst + (kc - 1) * ld;
    for (size_t q = 0; q < c->n; q++)
      _mm256_maskstore_ps(d + c->j[q], m[q], _mm256_maskload_ps(s + c->off[q], m[q]));
    for (size_t j = n; j < ld; j++)
      d[j] = 0.0f;
  }
}

/* One packed row of chunks of exactly L floats, back to back from d:
 * plain loads of L floats read nothing past a run, so neither masks nor
 * overlapping stores are needed. */
#define PACK_EVEN_ROW(L, load, store)                                                  \
  for (size_t p = 0; p < kc; p++) {                                                  \
    const float *s = src + major[p];                                                 \
    float *d = dst + p * ld;                                                         \
    for (size_t q = 0; q < c->n; q++)                                                \
      store(d + q * (L), load(s + c->off[q]));                                       \
    for (size_t j = n; j < ld; j++)                                                  \
      d[j] = 0.0f;                                                                   \
  }

/* pack_chunks16() when every chunk holds exactly 4, 8 or 16 offsets, one
 * after another from the panel's first column: the panels of a
 * convolution whose output rows are 4, 8 or 16 pixels (or 32, in halves).
 * A row of 4-float chunks cost about 8 cycles per chunk as masked 16-lane
 * moves whose stores overlap, split across cache lines. False, packing
 * nothing, for other chunk patterns. */
__attribute__((target("avx512f"))) static bool pack_even_chunks(const float *src,
                                                                const ptrdiff_t *major,
                                                                size_t kc,
                                                                const struct chunks *c,
                                                                size_t n, size_t ld, float *dst)
{
  const size_t L = c->len[0];
  if ((L != 4 && L != 8 && L != 16) || c->n * L != n)
    return false;
  for (size_t q = 0; q < c->n; q++)
    if (c->len[q] != L || c->j[q] != q * L)
      return false;
  if (L == 4)
    PACK_EVEN_ROW(4, _mm_loadu_ps, _mm_storeu_ps)
  else if (L == 8)
    PACK_EVEN_ROW(8, _mm256_loadu_ps, _mm256_storeu_ps)
  else
    PACK_EVEN_ROW(16, _mm512_loadu_ps, _mm512_storeu_ps)
  return true;
}
#undef PACK_EVEN_ROW

/* pack_chunks() for runs of up to 16 offsets, with AVX-512's mask
 * registers: a masked move costs what a plain one does (AVX2's vmaskmov
 * stores are microcoded on AMD's cores), and a 16-lane chunk covers a
 * 16-pixel output row, or half of a 32-pixel one, in one move. Stores as
 * there: full vectors in increasing address order, the last row masked.
 * Needs ld >= 16, so that a store's spill stays within the next row. */
__attribute__((target("avx512f"))) static void pack_chunks16(const float *src,
                                                            const ptrdiff_t *major, size_t kc,
                                                            const struct chunks *c, size_t n,
                                                            size_t ld, float *dst)
{
  if (pack_even_chunks(src, major, kc, c, n, ld, dst))
    return;
  __mmask16 m[PACK_MAX_CHUNKS];
  for (size_t q = 0; q < c->n; q++)
    m[q] = (__mmask16)((1u << c->len[q]) - 1u);
  for (size_t p = 0; p < kc; p++) {
    const float *s = src + major[p];
    float *d = dst + p * ld;
    if (p + 1 < kc)
      for (size_t q = 0; q < c->n; q++)
        _mm512_storeu_ps(d + c->j[q], _mm512_maskz_loadu_ps(m[q], s + c->off[q]));
    else
      for (size_t q = 0; q < c->n; q++)
        _mm512_mask_storeu_ps(d + c->j[q], m[q], _mm512_maskz_loadu_ps(m[q], s + c->off[q]));
    for (size_t j = n; j < ld; j++)
      d[j] = 0.0f;
  }
}

/* pack() for a scattered minor index (n <= ld <= PACK_MAX_CHUNKS * 8,
 * offsets from minor[0] within int32 range): 8-lane gathers, lanes past n
 * zero. */
__attribute__((target("avx2"))) static void pack_gather(const float *src, const ptrdiff_t *major,
                                                        size_t kc, const ptrdiff_t *minor,
                                                        size_t n, size_t ld, float *dst)
{
  __m256i idx[PACK_MAX_CHUNKS], load[PACK_MAX_CHUNKS], store[PACK_MAX_CHUNKS];
  const size_t nc = (ld + 7) / 8;
  for (size_t q = 0; q < nc; q++) {
    int32_t v[8] = { 0 };
    for (size_t t = 0; t < 8 && 8 * q + t < n; t++)
      v[t] = (int32_t)(minor[8 * q + t] - minor[0]);
    idx[q] = _mm256_loadu_si256((const __m256i *)v);
    load[q] = lanes8(n > 8 * q ? n - 8 * q : 0);
    store[q] = lanes8(ld - 8 * q);
  }
  const __m256 zero = _mm256_setzero_ps();
  for (size_t p = 0; p < kc; p++) {
    const float *s = src + major[p] + minor[0];
    float *d = dst + p * ld;
    for (size_t q = 0; q < nc; q++) {
      const __m256 v = _mm256_mask_i32gather_ps(zero, s, idx[q], _mm256_castsi256_ps(load[q]), 4);
      if (8 * q + 8 <= ld) /* a whole vector: a plain store (as in pack_run8) */
        _mm256_storeu_ps(d + 8 * q, v);
      else
        _mm256_maskstore_ps(d + 8 * q, store[q], v);
    }
  }
}

/* Whether minor[0..n) spans less than 2^31 floats from minor[0] (8-lane
 * gathers take 32-bit indices). */
static bool int32_span(const ptrdiff_t *minor, size_t n)
{
  for (size_t j = 0; j < n; j++)
    if (minor[j] - minor[0] > INT32_MAX / 4 || minor[j] - minor[0] < INT32_MIN / 4)
      return false;
  return true;
}
#endif

/* dst[p * ld + j] = src[major[p] + minor[j]] for p < kc, j < n; zero for
 * n <= j < ld. */
SPDI_CLONES static void pack(const float *src, const ptrdiff_t *major, size_t kc,
                             const ptrdiff_t *minor, size_t n, size_t ld, float *dst)
{
  const ptrdiff_t st = spdi_even_stride(minor, n);
#ifdef PACK_X86
  /* A gather along the minor side (the taps of an im2col of a few-channel
   * image, transposed, in a weight gradient) whose major index comes in
   * runs of consecutive offsets (output pixels along a row): copy each
   * minor element's run with contiguous reads, transposed in registers
   * 8 x 8, instead of reading one element per index. */
  if (st != 1 && kc >= 8 && major[7] - major[0] == 7 && spdi_isa_ok(SPDI_ISA_AVX2)) {
    for (size_t p = 0; p < kc;) {
      size_t e = p + 1;
      while (e < kc && major[e] == major[e - 1] + 1)
        e++;
      const float *s = src + major[p];
      float *d = dst + p * ld;
      const size_t len = e - p, t0 = len / 8 * 8;
      for (size_t j0 = 0; j0 < ld && t0 > 0; j0 += 8)
        pack_run8(s, n > j0 ? minor + j0 : minor, n > j0 ? n - j0 : 0, t0,
                  ld - j0 < 8 ? ld - j0 : 8, ld, d + j0);
      for (size_t t = t0; t < len; t++) {
        for (size_t j = 0; j < n; j++)
          d[t * ld + j] = s[minor[j] + (ptrdiff_t)t];
        for (size_t j = n; j < ld; j++)
          d[t * ld + j] = 0.0f;
      }
      p = e;
    }
    return;
  }
  /* Otherwise, a minor index of runs (the pixels of short output rows:
   * 4 or 8 per 16-wide panel in the deeper encoder layers, or a 6-row
   * panel's piece of one) is copied a run at a time with masked moves, and
   * a scattered one (weights read across rows) gathered 8 lanes at a time,
   * rather than one element per index. */
  if (st != 2 && n >= 2 && ld <= 8 * PACK_MAX_CHUNKS && (st != 1 || n % 8 != 0) &&
      spdi_isa_ok(SPDI_ISA_AVX2)) {
    struct chunks c;
    if (ld >= 16 && spdi_isa_ok(SPDI_ISA_AVX512) && chunks_of(minor, n, 16, &c) &&
        n >= 3 * c.n) {
      pack_chunks16(src, major, kc, &c, n, ld, dst);
      return;
    }
    if (chunks_of(minor, n, 8, &c) && n >= 3 * c.n) {
      pack_chunks(src, major, kc, &c, n, ld, dst);
      return;
    }
    if (st != 1 && int32_span(minor, n)) {
      pack_gather(src, major, kc, minor, n, ld, dst);
      return;
    }
  }
#endif
  for (size_t p = 0; p < kc; p++) {
    const float *s = src + major[p] + minor[0];
    float *d = dst + p * ld;
    if (st == 1) {
      /* short runs (a panel is 6 to 32 wide): a loop beats a memcpy call */
#pragma omp simd
      for (size_t j = 0; j < n; j++)
        d[j] = s[j];
    } else if (st == 2) { /* stride-2 convolutions: a constant stride vectorises */
#pragma omp simd
      for (size_t j = 0; j < n; j++)
        d[j] = s[2 * j];
    } else if (st != 0) {
#pragma omp simd
      for (size_t j = 0; j < n; j++)
        d[j] = s[(ptrdiff_t)j * st];
    } else {
      s -= minor[0];
      for (size_t j = 0; j < n; j++)
        d[j] = s[minor[j]];
    }
    for (size_t j = n; j < ld; j++)
      d[j] = 0.0f;
  }
}

/* B[k][j] for k in [p0, p0 + kc), j in [j0, j0 + n), zero past n. */
static void pack_b(const struct spdi_igemm *g, size_t p0, size_t kc, size_t j0, size_t n,
                   size_t packnr, float *dst)
{
  pack(g->b.src, g->b.k + p0, kc, g->b.c + j0, n, packnr, dst);
}

/* A[i][k] for i in [i0, i0 + m), k in [p0, p0 + kc), zero past m. */
static void pack_a(const struct spdi_igemm *g, size_t i0, size_t m, size_t p0, size_t kc,
                   size_t packmr, float *dst)
{
  pack(g->a.src, g->a.k + p0, kc, g->a.r + i0, m, packmr, dst);
}

/* Fraction of a micro-tile grid that holds real elements. */
static double fill(size_t m, size_t n, size_t mr, size_t nr)
{
  return (double)(m * n) / (double)(round_up(m, mr) * round_up(n, nr));
}

bool spdi_igemm_transposes(size_t M, size_t N, const struct spdi_ukernel *u)
{
  /* Transpose when that fills the micro-tiles clearly better, or when M is
   * a few micro-rows against a much wider N: BLIS kernels run much faster
   * on tall than on short-wide problems (8192 x 32 x 400: 46 GFLOP/s;
   * 32 x 8192 x 400: 30 GFLOP/s, haswell kernels). Otherwise keep C's
   * orientation, whose rows are usually the contiguous side of the output. */
  const double keep = fill(M, N, u->mr, u->nr), swap = fill(N, M, u->mr, u->nr);
  return swap > 1.05 * keep || (swap >= keep / 1.05 && M < 64 && N > 4 * M);
}

/* The widest micro-tile whose write-back goes by runs of C's columns. */
#define MAX_RUNS 64

/* The most floats of packed B for which micro-tiles may go along C's rows
 * (see gemm_serial): half of a 1 MiB L2. */
#define B_L2_FLOATS 131072

/* Operands read in place by the micro-kernel (spdi_ukernel_run_ex)
 * rather than packed, where packing would copy a large operand for only a
 * few tiles:
 * - B, when its rows have a constant stride of at most B_IN_PLACE_LD
 *   floats (a narrow row-major B: a K block of it spans a compact 200 KiB,
 *   no cache-set conflicts) with contiguous columns, and A has at most
 *   B_IN_PLACE_M rows. A dense layer's 32 x 100 input gradient (K = 16384)
 *   spent as long copying the weights into panels as multiplying them.
 * - A, when its rows are evenly spaced and contiguous along K, and C has
 *   at most A_IN_PLACE_N columns (a few column panels). Packing that A is
 *   an 8 x 8 transpose of all of it: a dense layer's forward pass as y^T =
 *   W x^T, with the weights as A (spdi_igemm() transposes for it). */
#define B_IN_PLACE_LD 192
#define B_IN_PLACE_M 64
#define A_IN_PLACE_N 64

static bool b_in_place(const struct spdi_igemm *g, const struct spdi_ukernel *u, size_t *ldb)
{
  if (!u->in_place || g->K < 2 || g->M > B_IN_PLACE_M ||
      (g->N > 1 && spdi_even_stride(g->b.c, g->N) != 1))
    return false;
  const ptrdiff_t st = spdi_even_stride(g->b.k, g->K);
  *ldb = (size_t)st;
  return st >= (ptrdiff_t)g->N && st <= B_IN_PLACE_LD;
}

static bool a_in_place(const struct spdi_igemm *g, const struct spdi_ukernel *u, size_t *lda)
{
  if (!u->in_place || g->K < 2 || g->M < 2 || g->N > A_IN_PLACE_N ||
      spdi_even_stride(g->a.k, g->K) != 1)
    return false;
  const ptrdiff_t st = spdi_even_stride(g->a.r, g->M);
  *lda = (size_t)st;
  return st >= (ptrdiff_t)g->K;
}

/* One micro-tile from A and B packed, or one of them in place (lda or
 * ldb not 0). */
static void tile_run(const struct spdi_ukernel *u, size_t m, size_t n, size_t k,
                     const float *a, size_t lda, const float *b, size_t ldb, float *c,
                     ptrdiff_t rs_c, ptrdiff_t cs_c, bool acc)
{
  if (lda != 0 || ldb != 0)
    spdi_ukernel_run_ex(u, m, n, k, a, lda, b, ldb, c, rs_c, cs_c, acc);
  else
    spdi_ukernel_run(u, m, n, k, a, b, c, rs_c, cs_c, acc);
}

/* The BLIS loop nest on one thread: jc over N, pc over K (pack B), ic over
 * M (pack A), then the micro-tiles, B panel outer, A panel inner, so that a
 * B panel stays in cache across the A panels (or along C's rows: below).
 * With M in one block, B is packed a micro-panel at a time instead (below).
 * Packing order changes no result. */
static void gemm_serial(const struct spdi_igemm *g, const struct spdi_ukernel *u, size_t KC,
                        float *bp, float *ap, float *tile)
{
  const size_t MR = u->mr, NR = u->nr, MC = mc_of(u), NC = nc_of(u);
  const size_t PA = a_panel(u), PB = b_panel(u);
  /* temporary tile layout as the kernel likes it */
  const ptrdiff_t rs = u->row_pref ? (ptrdiff_t)u->packnr : 1;
  const ptrdiff_t cs = u->row_pref ? 1 : (ptrdiff_t)u->packmr;
  const size_t M = g->M, N = g->N, K = g->K;
  size_t lda = 0, ldb = 0; /* an operand in place with this row stride, or packed (0) */
  if (!b_in_place(g, u, &ldb)) {
    ldb = 0;
    if (!a_in_place(g, u, &lda))
      lda = 0;
  }
  for (size_t jc = 0; jc < N; jc += NC) {
    const size_t nc = N - jc < NC ? N - jc : NC, npan = (nc + NR - 1) / NR;
    const bool c_rows = spdi_even_stride(g->c.c + jc, nc) == 1;
    for (size_t pc = 0; pc < K; pc += KC) {
      const size_t kc = K - pc < KC ? K - pc : KC;
      /* Micro-tiles go down C's columns (B's micro-panel stays in L1 while
       * A's stream from L2) except when C is stored by rows and the packed
       * B fits in L2 (a short K): then along C's rows. A dense layer's
       * 200 x 16384 weight gradient (K = 32, the batch) walked down its
       * columns touches 3 lines in each of 8 rows 64 KiB apart per tile,
       * all in the same cache sets: that walk alone took 2.5 ms against
       * 0.9 along the rows. */
      const bool along_rows = c_rows && nc * kc <= B_L2_FLOATS;
      const bool acc = pc > 0 || !g->overwrite; /* the first K block may overwrite C */
      /* When all of M is one block and the tiles go B panel by B panel,
       * each B micro-panel is packed right before its tiles, into one
       * buffer that stays in L1, rather than the whole block first (up to
       * NC x KC floats: past L2, so written out to L3 and read back). A
       * dense layer's 32 x 16384 x 100 forward ran 1.3 times faster. */
      const bool late_b = M <= MC && !along_rows && ldb == 0;
      if (!late_b && ldb == 0)
        for (size_t jp = 0; jp < npan; jp++) {
          const size_t j0 = jp * NR;
          pack_b(g, pc, kc, jc + j0, nc - j0 < NR ? nc - j0 : NR, u->packnr, bp + jp * PB);
        }
      for (size_t ic = 0; ic < M; ic += MC) {
        const size_t mc = M - ic < MC ? M - ic : MC, mpan = (mc + MR - 1) / MR;
        for (size_t ip = 0; ip < mpan && lda == 0; ip++) {
          const size_t i0 = ip * MR;
          pack_a(g, ic + i0, mc - i0 < MR ? mc - i0 : MR, pc, kc, u->packmr, ap + ip * PA);
        }
        for (size_t t = 0; t < npan * mpan; t++) {
          const size_t ip = along_rows ? t / npan : t % mpan;
          const size_t jp = along_rows ? t % npan : t / mpan;
          const size_t i0 = ip * MR, j0 = jp * NR;
          const size_t m = mc - i0 < MR ? mc - i0 : MR, n = nc - j0 < NR ? nc - j0 : NR;
          if (late_b && ip == 0)
            pack_b(g, pc, kc, jc + j0, n, u->packnr, bp);
          const float *apan = lda != 0 ? g->a.src + g->a.r[ic + i0] + g->a.k[pc] : ap + ip * PA;
          const float *bpan = ldb != 0 ? g->b.src + g->b.k[pc] + g->b.c[jc + j0]
                              : late_b ? bp
                                       : bp + jp * PB;
          const ptrdiff_t *cr = g->c.r + ic + i0, *cc = g->c.c + jc + j0;
          float *dst = g->c.dst;
          const ptrdiff_t cst = n > 1 ? spdi_even_stride(cc, n) : 1;
          const ptrdiff_t rst = m > 1 ? spdi_even_stride(cr, m) : 1;
          if (cst != 0 && rst != 0) {
            /* a plain strided block of C: the kernel adds into it */
            tile_run(u, m, n, kc, apan, lda, bpan, ldb, dst + cr[0] + cc[0], rst, cst, acc);
            continue;
          }
          tile_run(u, m, n, kc, apan, lda, bpan, ldb, tile, rs, cs, false);
          if (rst == 1) {
            /* C is contiguous down the tile's columns: walk them */
            for (size_t j = 0; j < n; j++) {
              float *d = dst + cr[0] + cc[j];
              const float *tc = tile + (ptrdiff_t)j * cs;
              for (size_t i = 0; i < m; i++)
                d[i] = (acc ? d[i] : 0.0f) + tc[(ptrdiff_t)i * rs];
            }
            continue;
          }
          if (cst == 0 && cs == 1 && n <= MAX_RUNS) {
            /* C's columns in runs (the pixels of one image in an NCHW
             * output): whole runs at a time, which vectorise, rather than
             * one float per index (11 % of a deep encoder layer's step) */
            size_t run[MAX_RUNS + 1], nrun = 0;
            for (size_t j = 0; j < n; j++)
              if (j == 0 || cc[j] != cc[j - 1] + 1)
                run[nrun++] = j;
            run[nrun] = n;
            for (size_t i = 0; i < m; i++)
              for (size_t q = 0; q < nrun; q++) {
                float *d = dst + cr[i] + cc[run[q]];
                const float *tr = tile + (ptrdiff_t)i * rs + run[q];
                const size_t len = run[q + 1] - run[q];
                if (acc) {
#pragma omp simd
                  for (size_t j = 0; j < len; j++)
                    d[j] += tr[j];
                } else {
#pragma omp simd
                  for (size_t j = 0; j < len; j++)
                    d[j] = 0.0f + tr[j];
                }
              }
            continue;
          }
          for (size_t i = 0; i < m; i++) {
            float *d = dst + cr[i];
            const float *tr = tile + (ptrdiff_t)i * rs;
            if (cst != 0) {
              d += cc[0];
              for (size_t j = 0; j < n; j++) {
                float *e = d + (ptrdiff_t)j * cst;
                *e = (acc ? *e : 0.0f) + tr[(ptrdiff_t)j * cs];
              }
            } else {
              for (size_t j = 0; j < n; j++)
                d[cc[j]] = (acc ? d[cc[j]] : 0.0f) + tr[(ptrdiff_t)j * cs];
            }
          }
        }
      }
    }
  }
}

void spdi_igemm(const struct spdi_igemm *g0, const struct spdi_ukernel *u, float *work,
                int nthreads)
{
  if (g0->M == 0 || g0->N == 0 || g0->K == 0)
    return;
  if (omp_in_parallel())
    nthreads = 1;
  /* The choices depend on the shapes (and the CPU) alone, so results stay
   * independent of the thread count. */
  if (spdi_igemm_direct_suits(g0, path_budget(u))) {
    spdi_igemm_direct_run(g0, work, (size_t)nthreads * path_budget(u), nthreads);
    return;
  }
  const size_t nrun = spdi_igemm_dot_plan(g0, work, path_budget(u));
  if (nrun > 0) {
    spdi_igemm_dot_run(g0, work, nrun, nthreads);
    return;
  }
  struct spdi_igemm gt;
  const struct spdi_igemm *g = g0;
  gt.M = g0->N;
  gt.N = g0->M;
  gt.K = g0->K;
  gt.a.src = g0->b.src;
  gt.a.r = g0->b.c;
  gt.a.k = g0->b.k;
  gt.b.src = g0->a.src;
  gt.b.k = g0->a.k;
  gt.b.c = g0->a.r;
  gt.c.dst = g0->c.dst;
  gt.c.r = g0->c.c;
  gt.c.c = g0->c.r;
  gt.overwrite = g0->overwrite;
  gt.kr.run = gt.kr.off = gt.kr.seg = NULL; /* the packed path takes every k */
  /* Transposed also where that lets the kernel read a large A in place
   * (a_in_place: a dense layer's forward pass), when neither operand of
   * the problem as given can be. */
  size_t ld;
  if (spdi_igemm_transposes(g0->M, g0->N, u) ||
      (!b_in_place(g0, u, &ld) && !a_in_place(g0, u, &ld) && a_in_place(&gt, u, &ld)))
    g = &gt;
  /* Threads split the side whose packed operand is the larger (the other
   * is packed by every thread) into contiguous ranges and run the loop
   * nest on their range alone: no barrier inside the GEMM, which matters
   * when the host's other threads or processes preempt ours. Each
   * element's K order is that of one thread (the K blocks are the same,
   * and a narrower tile runs the same FMA chain per element), so the
   * results are the same bits. Columns go in units of 16 rather than
   * whole micro-tiles of 48: 512 columns, 10.7 tiles, had split 6 : 5,
   * one thread idle for a sixth of the product. */
  const bool split_n = g->N >= g->M;
  const size_t unit = split_n ? (u->nr < 16 ? u->nr : 16) : u->mr, len = split_n ? g->N : g->M;
  const size_t units = (len + unit - 1) / unit;
  if ((size_t)nthreads > units)
    nthreads = (int)units;
  const size_t stride = per_thread(u), kc = kc_for(u, g->M, g->N);
  SPDI_PARALLEL(nthreads, {
    const size_t tid = tid_, nth = nth_;
    const size_t per = (units + nth - 1) / nth;
    const size_t lo = tid * per * unit, hi = (tid + 1) * per * unit < len ? (tid + 1) * per * unit : len;
    if (lo < hi) {
      struct spdi_igemm sub = *g;
      if (split_n) {
        sub.N = hi - lo;
        sub.b.c = g->b.c + lo;
        sub.c.c = g->c.c + lo;
      } else {
        sub.M = hi - lo;
        sub.a.r = g->a.r + lo;
        sub.c.r = g->c.r + lo;
      }
      float *mine = work + tid * stride;
      float *bp = mine, *ap = bp + nc_of(u) / u->nr * b_panel(u);
      gemm_serial(&sub, u, kc, bp, ap, ap + mc_of(u) / u->mr * a_panel(u));
    }
  });
}
