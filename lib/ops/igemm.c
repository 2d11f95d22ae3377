/* GEMM driver over indexed operands: see igemm.h. The loop nest is BLIS's
 * (jc over N, pc over K, pack B, ic over M, pack A, then micro-tiles), with
 * packing and write-back done here through the index arrays. */
#include "igemm.h"
#include "tape_impl.h"

#include <stdbool.h>

#include <omp.h>
#include <string.h>

static size_t round_up(size_t n, size_t m)
{
  return (n + m - 1) / m * m;
}

/* Panel strides are kept at a full KC so that every panel stays 64-byte
 * aligned whatever the last block's depth. */
static size_t a_panel(const struct spdi_ukernel *u) { return u->packmr * u->kc; }
static size_t b_panel(const struct spdi_ukernel *u) { return u->packnr * u->kc; }
static size_t mc_of(const struct spdi_ukernel *u) { return round_up(u->mc, u->mr); }
static size_t nc_of(const struct spdi_ukernel *u) { return round_up(u->nc, u->nr); }
static size_t tile_floats(const struct spdi_ukernel *u)
{
  return round_up(u->packmr * u->packnr, 16); /* 64 bytes */
}

/* Each thread has its own packing buffers and tile. */
static size_t per_thread(const struct spdi_ukernel *u)
{
  return nc_of(u) / u->nr * b_panel(u) + mc_of(u) / u->mr * a_panel(u) + tile_floats(u);
}

size_t spdi_igemm_work(const struct spdi_ukernel *u, int nthreads)
{
  return (size_t)(nthreads < 1 ? 1 : nthreads) * per_thread(u);
}

/* The common stride of idx[0..n), or 0 if they are not evenly spaced
 * (positions along one output row are: the packing then copies with a
 * fixed stride instead of gathering through the index). */
static ptrdiff_t even_stride(const ptrdiff_t *idx, size_t n)
{
  if (n < 2)
    return 0;
  const ptrdiff_t st = idx[1] - idx[0];
  for (size_t j = 2; j < n; j++)
    if (idx[j] - idx[j - 1] != st)
      return 0;
  return st;
}

/* dst[p * ld + j] = src[major[p] + minor[j]] for p < kc, j < n; zero for
 * n <= j < ld. */
static void pack(const float *src, const ptrdiff_t *major, size_t kc, const ptrdiff_t *minor,
                 size_t n, size_t ld, float *dst)
{
  const ptrdiff_t st = even_stride(minor, n);
  for (size_t p = 0; p < kc; p++) {
    const float *s = src + major[p] + minor[0];
    float *d = dst + p * ld;
    if (st == 1) {
      /* short runs (a panel is 6 to 32 wide): a loop beats a memcpy call */
#pragma omp simd
      for (size_t j = 0; j < n; j++)
        d[j] = s[j];
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

/* The BLIS loop nest on one thread: jc over N, pc over K (pack B), ic over
 * M (pack A), then the micro-tiles, B panel outer, A panel inner, so that a
 * B panel stays in cache across the A panels. */
static void gemm_serial(const struct spdi_igemm *g, const struct spdi_ukernel *u, float *bp,
                        float *ap, float *tile)
{
  const size_t MR = u->mr, NR = u->nr, KC = u->kc, MC = mc_of(u), NC = nc_of(u);
  const size_t PA = a_panel(u), PB = b_panel(u);
  /* temporary tile layout as the kernel likes it */
  const ptrdiff_t rs = u->row_pref ? (ptrdiff_t)u->packnr : 1;
  const ptrdiff_t cs = u->row_pref ? 1 : (ptrdiff_t)u->packmr;
  const size_t M = g->M, N = g->N, K = g->K;
  for (size_t jc = 0; jc < N; jc += NC) {
    const size_t nc = N - jc < NC ? N - jc : NC, npan = (nc + NR - 1) / NR;
    for (size_t pc = 0; pc < K; pc += KC) {
      const size_t kc = K - pc < KC ? K - pc : KC;
      for (size_t jp = 0; jp < npan; jp++) {
        const size_t j0 = jp * NR;
        pack_b(g, pc, kc, jc + j0, nc - j0 < NR ? nc - j0 : NR, u->packnr, bp + jp * PB);
      }
      for (size_t ic = 0; ic < M; ic += MC) {
        const size_t mc = M - ic < MC ? M - ic : MC, mpan = (mc + MR - 1) / MR;
        for (size_t ip = 0; ip < mpan; ip++) {
          const size_t i0 = ip * MR;
          pack_a(g, ic + i0, mc - i0 < MR ? mc - i0 : MR, pc, kc, u->packmr, ap + ip * PA);
        }
        for (size_t jp = 0; jp < npan; jp++)
          for (size_t ip = 0; ip < mpan; ip++) {
            const size_t i0 = ip * MR, j0 = jp * NR;
            const size_t m = mc - i0 < MR ? mc - i0 : MR, n = nc - j0 < NR ? nc - j0 : NR;
            const ptrdiff_t *cr = g->c.r + ic + i0, *cc = g->c.c + jc + j0;
            float *dst = g->c.dst;
            const ptrdiff_t cst = n > 1 ? even_stride(cc, n) : 1;
            const ptrdiff_t rst = m > 1 ? even_stride(cr, m) : 1;
            if (cst != 0 && rst != 0) {
              /* a plain strided block of C: the kernel adds into it */
              spdi_ukernel_run(u, m, n, kc, ap + ip * PA, bp + jp * PB, dst + cr[0] + cc[0],
                               rst, cst, true);
              continue;
            }
            spdi_ukernel_run(u, m, n, kc, ap + ip * PA, bp + jp * PB, tile, rs, cs, false);
            if (rst == 1) {
              /* C is contiguous down the tile's columns: walk them */
              for (size_t j = 0; j < n; j++) {
                float *d = dst + cr[0] + cc[j];
                const float *tc = tile + (ptrdiff_t)j * cs;
                for (size_t i = 0; i < m; i++)
                  d[i] += tc[(ptrdiff_t)i * rs];
              }
              continue;
            }
            for (size_t i = 0; i < m; i++) {
              float *d = dst + cr[i];
              const float *tr = tile + (ptrdiff_t)i * rs;
              if (cst != 0) {
                d += cc[0];
                for (size_t j = 0; j < n; j++)
                  d[(ptrdiff_t)j * cst] += tr[(ptrdiff_t)j * cs];
              } else {
                for (size_t j = 0; j < n; j++)
                  d[cc[j]] += tr[(ptrdiff_t)j * cs];
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
  /* The choice depends on the shapes alone, so results stay independent of
   * the thread count. */
  struct spdi_igemm gt;
  const struct spdi_igemm *g = g0;
  if (spdi_igemm_transposes(g0->M, g0->N, u)) {
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
    g = &gt;
  }
  if (omp_in_parallel())
    nthreads = 1;
  /* Threads split the side whose packed operand is the larger (the other
   * is packed by every thread) into contiguous ranges of whole micro-tiles
   * and run the loop nest on their range alone: no barrier inside the
   * GEMM, which matters when the host's other threads or processes
   * preempt ours. The micro-tile grid and each element's K order are those
   * of one thread, so the results are the same bits. */
  const bool split_n = g->N >= g->M;
  const size_t unit = split_n ? u->nr : u->mr, len = split_n ? g->N : g->M;
  const size_t units = (len + unit - 1) / unit;
  if ((size_t)nthreads > units)
    nthreads = (int)units;
  const size_t stride = per_thread(u);
#pragma omp parallel num_threads(nthreads)
  {
    const size_t tid = (size_t)omp_get_thread_num(), nth = (size_t)omp_get_num_threads();
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
      gemm_serial(&sub, u, bp, ap, ap + mc_of(u) / u->mr * a_panel(u));
    }
  }
}
