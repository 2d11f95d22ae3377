/* conv2d and conv2d_transpose on the indexed GEMM driver (igemm.h).
 *
 * Three GEMM forms cover both ops, forward and backward. In each, "image"
 * is the tensor on the kernel's input side of a conv2d (x of conv2d, y of
 * conv2d_transpose) and "grid" the tensor on its output side:
 *
 *   FWD    grid[n, m, q]  += sum_k W[m][k] * im2col(image)[k][n, q]
 *          conv2d forward; conv2d_transpose input gradient
 *   WGRAD  dW[m][k]       += sum_(n,q) grid[n, m, q] * im2col(image)[k][n, q]
 *          both weight gradients (on batch-innermost or pixel-major
 *          copies when the grid's rows are 16 pixels or fewer:
 *          conv_chwn.c)
 *   PHASE  image[n, c, h, w] += sum_(o,i,j) W[o, c, i, j] grid[n, o, (h + pad - i) / s, ...]
 *          over the taps where the division is exact; one GEMM per stride
 *          phase (h mod s, w mod s), so each output element is written by one
 *          GEMM, one tile: conv2d input gradient; conv2d_transpose forward
 *          (on a batch-innermost copy of the grid when the phases are under
 *          8 pixels wide: conv_chwn.c)
 *   SCATTER the same result as PHASE as col = W^T grid (a GEMM into a
 *          column buffer, a group of images at a time) then image +=
 *          col2im(col), parallel over image planes in a fixed order. PHASE
 *          packs C kh kw values per output pixel for 2 C flops each, which
 *          is poor when the image has few channels (a decoder's RGB output):
 *          SCATTER is used when 4 C <= G (G: grid channels).
 *
 * im2col reads a zero-padded copy of the image, and PHASE a zero-padded copy
 * of the grid tensor, so the packing loops need no bounds checks. Nothing
 * is ever scattered with overlapping writes, so results are the same bits
 * on any number of threads. */
#include "conv_chwn.h"
#include "conv_forms.h"
#include "gemm.h"
#include "vmath.h"

#include <omp.h>
#include <string.h>

static size_t max3(size_t a, size_t b, size_t c)
{
  return a > b ? (a > c ? a : c) : (b > c ? b : c);
}

/* dst = src with zero borders: planes of H x W become (H+t+b) x (W+l+r),
 * on at most nt threads. Each padded plane is zeroed whole, then its rows
 * are copied in: the planes are small (they fit in L1), and per-row
 * memset calls for borders of one or two floats cost more than the copy
 * itself. */
static void pad_planes(const float *src, size_t planes, size_t H, size_t W, size_t t,
                       size_t b, size_t l, size_t r, float *dst, int nt)
{
  const size_t Wp = W + l + r, HWp = (H + t + b) * Wp;
  const int use = spdi_par_threads(planes * HWp);
  SPDI_PARALLEL_FOR(use < nt ? use : nt, pl, planes, {
    float *d = dst + pl * HWp;
    const float *s = src + pl * H * W;
    memset(d, 0, HWp * sizeof *d);
    for (size_t h = 0; h < H; h++) {
      float *row = d + (t + h) * Wp + l;
      const float *sr = s + h * W;
      _Pragma("omp simd")
      for (size_t x = 0; x < W; x++)
        row[x] = sr[x];
    }
  });
}

/* One image row h into the two column phases of stride 2: padded column
 * w + pad goes to phase (w + pad) mod 2 at (w + pad) / 2. Pairs of columns
 * are de-interleaved in one pass (vector loads and permutes) instead of
 * two strided passes. */
static inline void split_row2(const float *sr, size_t W, size_t pad, float *r0, float *r1)
{
  size_t w = 0;
  if (pad % 2 == 1) /* the first column lands in phase 1 */
    r1[pad / 2] = sr[w++];
  const size_t x = (w + pad) / 2, pairs = (W - w) / 2;
  float *d0 = r0 + x, *d1 = r1 + x;
  const float *sp = sr + w;
#pragma omp simd
  for (size_t i = 0; i < pairs; i++) {
    d0[i] = sp[2 * i];
    d1[i] = sp[2 * i + 1];
  }
  if ((W - w) % 2 == 1)
    d0[pairs] = sp[2 * pairs];
}

/* One H x W plane src into its s * s zeroed sub-planes of Hs x Ws at dst
 * (pad_image()). Compiled for AVX-512 and AVX2 too: split_row2()'s
 * de-interleave in SSE took 7 % of the encoder's first layer's step at
 * width 128. */
SPDI_CLONES static void split_plane(const float *src, size_t H, size_t W, size_t s, size_t pad,
                                    size_t Hs, size_t Ws, float *dst)
{
  const size_t sub = Hs * Ws;
  memset(dst, 0, s * s * sub * sizeof *dst); /* one call: see pad_planes */
  for (size_t a = 0; a < s; a++) {
    float *pa = dst + a * s * sub; /* row phase a, column phase 0 */
    for (size_t y = 0; y < Hs; y++) {
      const ptrdiff_t h = (ptrdiff_t)(y * s + a) - (ptrdiff_t)pad;
      if (h < 0 || h >= (ptrdiff_t)H)
        continue;
      const float *sr = src + (size_t)h * W;
      if (s == 2) {
        split_row2(sr, W, pad, pa + y * Ws, pa + sub + y * Ws);
        continue;
      }
      for (size_t w = 0; w < W; w++) {
        const size_t wp = w + pad;
        pa[(wp % s) * sub + y * Ws + wp / s] = sr[w];
      }
    }
  }
}

static void pad_image(const struct geom *g, const float *image, float *dst)
{
  const size_t s = g->s, pad = g->pad, H = g->H, W = g->W, planes = g->N * g->C;
  if (s == 1) {
    pad_planes(image, planes, H, W, pad, pad, pad, pad, dst, spdi_threads());
    return;
  }
  const size_t Hs = phase_h(g), Ws = phase_w(g), sub = Hs * Ws;
  SPDI_PARALLEL_FOR(spdi_par_threads(planes * s * s * sub), pl, planes,
                    split_plane(image + pl * H * W, H, W, s, pad, Hs, Ws, dst + pl * s * s * sub););
}

/* im2col offsets into the phase-split padded image: taps and columns (n, oh, ow);
 * wtap gives each tap's index in the weights' (c, i, j) order. Taps run in
 * that order, or with the channel fastest (chan_fastest) when the taps are
 * the side a packing panel runs along: consecutive taps then read evenly
 * spaced planes (a strided copy, not a gather). */
static void im2col_index(const struct geom *g, bool chan_fastest, ptrdiff_t *taps,
                         ptrdiff_t *wtap, ptrdiff_t *cols)
{
  const size_t s = g->s, Hs = phase_h(g), Ws = phase_w(g), kk = g->kh * g->kw;
  const size_t plane = s * s * Hs * Ws; /* one channel's sub-planes */
  size_t k = 0;
  for (size_t u = 0; u < g->C * kk; u++, k++) {
    const size_t c = chan_fastest ? u % g->C : u / kk;
    const size_t ij = chan_fastest ? u / g->C : u % kk, i = ij / g->kw, j = ij % g->kw;
    taps[k] = (ptrdiff_t)(c * plane + ((i % s) * s + j % s) * Hs * Ws + (i / s) * Ws + j / s);
    wtap[k] = (ptrdiff_t)(c * kk + i * g->kw + j);
  }
  size_t q = 0;
  for (size_t n = 0; n < g->N; n++)
    for (size_t oh = 0; oh < g->Ho; oh++)
      for (size_t ow = 0; ow < g->Wo; ow++)
        cols[q++] = (ptrdiff_t)(n * g->C * plane + oh * Ws + ow);
}

static size_t fwd_scratch_idx(const struct geom *g, size_t M)
{
  const size_t K = g->C * g->kh * g->kw, cols = g->N * g->Ho * g->Wo;
  const size_t nchw = 2 * M + 2 * K + 2 * cols;
  if (!spdi_chwn_fwd_suits(g, M))
    return nchw;
  const size_t chwn = spdi_chwn_fwd_idx(g, M);
  return chwn > nchw ? chwn : nchw;
}

/* Floats of the padded copy of gn images (pad_image()). */
static size_t group_padded(const struct geom *g, size_t gn)
{
  return gn * g->C * g->s * g->s * phase_h(g) * phase_w(g);
}

static size_t padded_image(const struct geom *g)
{
  return group_padded(g, g->N);
}

/* Copy space of form_fwd() with M output channels. */
static size_t fwd_padded(const struct geom *g, size_t M)
{
  return spdi_chwn_fwd_suits(g, M) ? spdi_chwn_fwd_pad(g, M) : padded_image(g);
}

/* Images of N, per floats each, that together fill about `fill` floats
 * (64 Ki, GROUP_FILL, so that what is written for them is read back from
 * L2), but enough of them for min_cols GEMM columns at cols per image. */
#define GROUP_FILL ((size_t)64 << 10)

static size_t group_of(size_t N, size_t per, size_t fill, size_t cols, size_t min_cols)
{
  size_t gn = fill / (per ? per : 1);
  if (gn * cols < min_cols)
    gn = (min_cols + cols - 1) / (cols ? cols : 1);
  return gn < 1 ? 1 : gn > N ? N : gn;
}

/* group_of() for the padded image of the NCHW forms (per image: its phase
 * planes; columns: output pixels). */
static size_t image_group(const struct geom *g, size_t min_cols)
{
  return group_of(g->N, group_padded(g, 1), GROUP_FILL, g->Ho * g->Wo, min_cols);
}

/* Group i of the groups of at most gmax images that N images go in:
 * images *n0 .. *n0 + return. The groups differ in size by at most one
 * image, so that the last is not left short (a short group can fall off
 * the driver path the others take: 2 images of 64 pixels went to the
 * packed path, 5 % of a forward pass). */
static size_t group_at(size_t N, size_t gmax, size_t i, size_t *n0)
{
  const size_t groups = (N + gmax - 1) / gmax;
  *n0 = i * N / groups;
  return (i + 1) * N / groups - *n0;
}

/* Images per FWD group. Where the driver's direct path takes the GEMM
 * (it reads the padded image in place) each group of images is padded
 * just before its GEMM. Each group's GEMM packs the weights again: at
 * least 1024 columns keep that near 1 % of the group's work (with 256, a
 * 128 -> 256 channel layer spent 4 % of its forward pass packing them).
 * Otherwise the packed path copies every panel anyway, and smaller GEMMs
 * would pack the weights once per group: one group. */
static size_t fwd_group(const struct geom *g, size_t M)
{
  return M > spdi_igemm_direct_max_m() ? g->N : image_group(g, 1024);
}

/* The index arrays of one FWD or WGRAD GEMM over a group of gmax images
 * (the A, B and C sides' row and k / column offsets); the arrays of the
 * first group serve every group from shifted base pointers. */
struct form_index {
  ptrdiff_t *ar, *ak, *bk, *bc, *cr, *cc;
};

/* The offsets of columns (n, p), image n's pixel p, of a grid of N
 * images of M channels of P pixels: n M P + p, in order. */
static void grid_cols(size_t N, size_t M, size_t P, ptrdiff_t *cols)
{
  for (size_t n = 0; n < N; n++)
    for (size_t p = 0; p < P; p++)
      *cols++ = (ptrdiff_t)(n * M * P + p);
}

static struct form_index fwd_index(const struct geom *g, size_t M, size_t gmax, ptrdiff_t *idx)
{
  const size_t K = g->C * g->kh * g->kw, P = g->Ho * g->Wo, cols = gmax * P;
  struct geom sub = *g;
  sub.N = gmax;
  struct form_index x = { idx, idx + M, idx + M + K, idx + M + 2 * K,
                          idx + M + 2 * K + cols, idx + 2 * M + 2 * K + cols };
  /* the weights (A) are read along taps: keep their natural order */
  im2col_index(&sub, false, x.bk, x.ak, x.bc);
  for (size_t r = 0; r < M; r++) {
    x.ar[r] = (ptrdiff_t)(r * K);
    x.cr[r] = (ptrdiff_t)(r * P);
  }
  grid_cols(gmax, M, P, x.cc);
  return x;
}

/* FWD over images n0 .. n0 + gn, whose padded copy is in w->pad. */
static void fwd_gemm(const struct geom *g, size_t M, const struct form_index *x, size_t n0,
                     size_t gn, const float *wt, float *grid, bool overwrite, struct work *w)
{
  const size_t K = g->C * g->kh * g->kw, P = g->Ho * g->Wo;
  struct spdi_igemm gm = { M, gn * P, K, { wt, x->ar, x->ak }, { w->pad, x->bk, x->bc },
                           { grid + n0 * M * P, x->cr, x->cc }, overwrite, SPDI_IGEMM_ALL_K };
  spdi_igemm(&gm, &w->u, w->gemm, w->nt);
}

/* Pads images n0 .. n0 + gn of image into w->pad (pad_image()). */
static void pad_group(const struct geom *g, const float *image, size_t n0, size_t gn,
                      struct work *w)
{
  struct geom sub = *g;
  sub.N = gn;
  pad_image(&sub, image + n0 * g->C * g->H * g->W, w->pad);
}

/* Whether the groups of at most gmax images go to the threads whole (one
 * parallel region; each thread pads its group and runs its GEMMs alone,
 * in its lane()) rather than one after another with every copy and GEMM
 * split across the threads. With many small groups the split forked and
 * joined the threads two or three times per group: the 2-thread step of
 * the encoder's first layer spent a sixth of its time waiting at those
 * barriers. Each GEMM gives the same bits on one thread as on several,
 * so this choice changes no result. Each thread's padded group is a slice
 * of the space padded_image() holds for the whole batch. */
static bool groups_to_threads(const struct geom *g, size_t gmax, int nt)
{
  const size_t groups = (g->N + gmax - 1) / gmax;
  return nt > 1 && groups >= 2 * (size_t)nt && (size_t)nt * gmax <= g->N;
}

/* Thread tid's share of w for whole groups: pad_per floats of the copy
 * space (a group's padded images) and its part of the driver's. */
static struct work lane(const struct work *w, size_t pad_per, size_t tid)
{
  struct work l = *w;
  l.pad = w->pad + tid * pad_per;
  l.grid = w->grid != NULL ? w->grid + tid * w->grid_per : NULL;
  l.gemm = w->gemm + tid * spdi_igemm_work(&w->u, 1);
  l.nt = 1;
  return l;
}

/* One group's work: images n0 .. n0 + gn, group i, with work space l. */
typedef void group_fn(const struct geom *g, size_t i, size_t n0, size_t gn, struct work *l,
                      const void *ctx);

/* fn for every group of at most gmax images: on the threads whole (when
 * whole; each with pad_per floats of the copy space), or one after
 * another with w. Not one parallel region made inactive by an if clause:
 * the GEMMs' own regions nested in it started new threads every time (a
 * 2-thread layer ran 2.7 times slower). */
static void for_groups(const struct geom *g, size_t gmax, bool whole, size_t pad_per,
                       struct work *w, group_fn *fn, const void *ctx)
{
  const size_t groups = (g->N + gmax - 1) / gmax;
  if (!whole) {
    for (size_t i = 0, n0, gn; i < groups; i++) {
      gn = group_at(g->N, gmax, i, &n0);
      fn(g, i, n0, gn, w, ctx);
    }
    return;
  }
#pragma omp parallel num_threads(w->nt)
  {
    struct work l = lane(w, pad_per, (size_t)omp_get_thread_num());
#pragma omp for schedule(static)
    for (size_t i = 0; i < groups; i++) {
      size_t n0;
      const size_t gn = group_at(g->N, gmax, i, &n0);
      fn(g, i, n0, gn, &l, ctx);
    }
  }
}

/* What the FWD and WGRAD groups read and write (for_groups()). */
struct group_args {
  size_t M;
  const struct form_index *fx, *wx; /* FWD's and WGRAD's index arrays */
  const float *wt, *image, *wgrid;
  const struct spdi_bn_pass *dgrid; /* wgrid deferred (w->grid): see wgrad_part() */
  float *grid, *dw, *part;
  float *keep; /* the whole batch's padded copy, kept by FWD for WGRAD (keep_padded()) */
  bool overwrite;
};

/* A group's work space with its padded copy in keep (keep_padded()). */
static struct work kept_group(const struct geom *g, float *keep, size_t n0, const struct work *l)
{
  struct work k = *l;
  k.pad = keep + n0 * group_padded(g, 1);
  return k;
}

/* A FWD group: padded (into the kept copy where there is one), then its
 * GEMM. */
static void fwd_one(const struct geom *g, size_t i, size_t n0, size_t gn, struct work *l,
                    const void *ctx)
{
  const struct group_args *a = ctx;
  (void)i;
  struct work k = a->keep != NULL ? kept_group(g, a->keep, n0, l) : *l;
  pad_group(g, a->image, n0, gn, &k);
  fwd_gemm(g, a->M, a->fx, n0, gn, a->wt, a->grid, a->overwrite, &k);
}

/* FWD: grid (N x M x Ho x Wo) += Wt (M x K, row-major) im2col(image); = with
 * overwrite. A group of images at a time (fwd_group), or for the shortest
 * output rows on a batch-innermost copy (conv_chwn.c). With keep, the
 * groups' padded copies stay there for form_wgrad(). */
static void form_fwd(const struct geom *g, size_t M, const float *wt, const float *image,
                     float *grid, bool overwrite, struct work *w, float *keep)
{
  if (spdi_chwn_fwd_suits(g, M)) {
    spdi_chwn_fwd(g, M, wt, image, grid, overwrite, w);
    return;
  }
  const size_t gmax = fwd_group(g, M);
  const struct form_index x = fwd_index(g, M, gmax, w->idx);
  const struct group_args a = { .M = M, .fx = &x, .wt = wt, .image = image, .grid = grid,
                                .overwrite = overwrite, .keep = keep };
  for_groups(g, gmax, groups_to_threads(g, gmax, w->nt), group_padded(g, gmax), w, fwd_one,
             &a);
}

/* Images per WGRAD group: at most FWD's (image_group()), and few enough
 * that their padded copy and grid (the GEMM's A, which every column block
 * of the dot path reads again) fit in 128 Ki floats, half of L2, but
 * slices of the GEMM's K of at least 1024 terms, which keep the driver's
 * dot path. At the encoder's first layer at width 1024 a group of 4
 * images had 2 MiB of grid; groups of 1 ran its step in 0.95-0.97 of the
 * time. */
static size_t wgrad_group(const struct geom *g)
{
  const size_t P = g->Ho * g->Wo;
  const size_t gn = group_of(g->N, group_padded(g, 1) + g->G * P, 2 * GROUP_FILL, P, 1024);
  const size_t gi = image_group(g, 1024);
  return gn < gi ? gn : gi;
}

static struct form_index wgrad_index(const struct geom *g, size_t M, size_t gmax,
                                     ptrdiff_t *idx, const struct work *w)
{
  const size_t K = g->C * g->kh * g->kw, P = g->Ho * g->Wo, cols = gmax * P;
  struct geom sub = *g;
  sub.N = gmax;
  struct form_index x = { idx, idx + M, idx + M + cols, idx + M + 2 * cols,
                          idx + M + 2 * cols + K, idx + 2 * M + 2 * cols + K };
  /* small M: the driver transposes, taps become the rows of the packed A
   * (make them evenly spaced; C is small). Otherwise keep C = dW contiguous
   * along taps. */
  im2col_index(&sub, spdi_igemm_transposes(M, K, &w->u), x.bc, x.cc, x.bk);
  for (size_t r = 0; r < M; r++) {
    x.ar[r] = (ptrdiff_t)(r * P);
    x.cr[r] = (ptrdiff_t)(r * K);
  }
  grid_cols(gmax, M, P, x.ak);
  return x;
}

/* WGRAD over gn images (a slice of the GEMM's K) whose grid is grid and
 * whose image is padded in w->pad: adds into dw, or with overwrite writes
 * it. */
static void wgrad_gemm(const struct geom *g, size_t M, const struct form_index *x, size_t gn,
                       const float *grid, float *dw, bool overwrite, struct work *w)
{
  const size_t K = g->C * g->kh * g->kw, P = g->Ho * g->Wo;
  struct spdi_igemm gm = { M, K, gn * P, { grid, x->ar, x->ak },
                           { w->pad, x->bk, x->bc }, { dw, x->cr, x->cc }, overwrite,
                           SPDI_IGEMM_ALL_K };
  spdi_igemm(&gm, &w->u, w->gemm, w->nt);
}

/* Floats of the per-group partial weight gradients, one M x K block per
 * WGRAD group of at most gmax images, in the copy space after
 * padded_image(): with them each group's GEMM can run on any thread, and
 * wgrad_add() sums the groups in their order. 0 (the groups then add into
 * dw in turn) for one group, or where the blocks would exceed 4 Mi floats
 * (the decoder's wide layers at width 1024, whose GEMMs are large enough
 * to split well). Depends on the shapes alone. */
#define WGRAD_PARTIALS_MAX ((size_t)4 << 20)

static size_t wgrad_partials(const struct geom *g, size_t M, size_t gmax)
{
  const size_t groups = (g->N + gmax - 1) / gmax, n = groups * M * g->C * g->kh * g->kw;
  return groups > 1 && n <= WGRAD_PARTIALS_MAX ? n : 0;
}

/* Elements of dw per block of wgrad_add(). */
#define WGRAD_ADD_BLOCK 512

/* dw (M x K) += the groups' partial gradients part, group by group: each
 * element gets its groups' values added in group order (the same bits as
 * one element at a time), a block of elements per group in one vector
 * loop. One element at a time, the groups' values were a chain of
 * dependent scalar adds over strided loads: 0.8 % of the encoder's first
 * layer's 2-thread step at width 128, on the master thread alone. */
static void wgrad_add(const float *part, size_t groups, size_t n, float *dw)
{
  const size_t blocks = (n + WGRAD_ADD_BLOCK - 1) / WGRAD_ADD_BLOCK;
  SPDI_PARALLEL_FOR(spdi_par_threads(groups * n), b, blocks, {
    const size_t e0 = b * WGRAD_ADD_BLOCK;
    const size_t len = n - e0 < WGRAD_ADD_BLOCK ? n - e0 : WGRAD_ADD_BLOCK;
    float *d = dw + e0;
    for (size_t i = 0; i < groups; i++) {
      const float *p = part + i * n + e0;
      _Pragma("omp simd")
      for (size_t e = 0; e < len; e++)
        d[e] += p[e];
    }
  });
}

/* A WGRAD group's GEMM (its image padded in l->pad): into its partial
 * gradient, or added into dw. */
static void wgrad_part(const struct geom *g, size_t i, size_t n0, size_t gn,
                       const struct group_args *a, struct work *l)
{
  const size_t MK = a->M * g->C * g->kh * g->kw;
  const float *grid = a->wgrid + n0 * a->M * g->Ho * g->Wo;
  if (a->dgrid != NULL) { /* a deferred grid, written for this group */
    spdi_bn_grad_write(a->dgrid, l->grid, n0, gn, l->nt);
    grid = l->grid;
  }
  wgrad_gemm(g, a->M, a->wx, gn, grid, a->part != NULL ? a->part + i * MK : a->dw,
             a->part != NULL, l);
}

/* A WGRAD group: padded (or its copy kept by FWD), then its GEMM. */
static void wgrad_one(const struct geom *g, size_t i, size_t n0, size_t gn, struct work *l,
                      const void *ctx)
{
  const struct group_args *a = ctx;
  if (a->keep != NULL) {
    struct work k = kept_group(g, a->keep, n0, l);
    wgrad_part(g, i, n0, gn, a, &k);
    return;
  }
  pad_group(g, a->image, n0, gn, l);
  wgrad_part(g, i, n0, gn, a, l);
}

/* fn (a WGRAD group, possibly with its FWD GEMM) for every group of at
 * most gmax images: with per-group partial gradients (wgrad_partials())
 * the groups go to the threads as in form_fwd(), and the partials are then
 * summed into a->dw in group order; without, each group adds into dw. */
static void wgrad_groups(const struct geom *g, size_t gmax, struct group_args *a,
                         struct work *w, group_fn *fn)
{
  const size_t groups = (g->N + gmax - 1) / gmax;
  a->part = wgrad_partials(g, a->M, gmax) > 0 ? w->pad + padded_image(g) : NULL;
  for_groups(g, gmax, a->part != NULL && groups_to_threads(g, gmax, w->nt),
             group_padded(g, gmax), w, fn, a);
  if (a->part != NULL)
    wgrad_add(a->part, groups, a->M * g->C * g->kh * g->kw, a->dw);
}

/* WGRAD: dw (M x K, row-major) += grid (N x M x P, channel-major view)
 * im2col(image)^T, a group of images at a time, padded just before use as
 * in form_fwd(); with partial gradients (wgrad_partials()) the groups go
 * to the threads as there. With dgrid the grid is deferred and written a
 * group at a time into w->grid (wgrad_grid_per()). */
static void form_wgrad(const struct geom *g, size_t M, const float *grid,
                       const struct spdi_bn_pass *dgrid, const float *image, float *keep,
                       float *dw, struct work *w)
{
  const size_t gmax = wgrad_group(g);
  const struct form_index x = wgrad_index(g, M, gmax, w->idx, w);
  struct group_args a = { .M = M, .wx = &x, .image = image, .wgrid = grid, .dgrid = dgrid,
                          .dw = dw, .keep = keep };
  wgrad_groups(g, gmax, &a, w, wgrad_one);
}

/* Whether FWD and WGRAD of g (over the same image) can share each group's
 * padded copy (form_fwd_wgrad()): same groups, WGRAD on NCHW operands. */
static bool fwd_wgrad_share(const struct geom *g, size_t M)
{
  return !spdi_conv_chwn(g) && fwd_group(g, M) == wgrad_group(g);
}

/* A group of form_fwd_wgrad(): padded once for both GEMMs. */
static void fwd_wgrad_one(const struct geom *g, size_t i, size_t n0, size_t gn,
                          struct work *l, const void *ctx)
{
  const struct group_args *a = ctx;
  pad_group(g, a->image, n0, gn, l);
  fwd_gemm(g, a->M, a->fx, n0, gn, a->wt, a->grid, a->overwrite, l);
  wgrad_part(g, i, n0, gn, a, l);
}

/* form_fwd() then form_wgrad() of the same image, padding each group once
 * for both GEMMs (which then reads it from cache): the same GEMMs in the
 * same order per output, so the same bits. Needs 2 fwd_scratch_idx()
 * index entries. */
static void form_fwd_wgrad(const struct geom *g, size_t M, const float *wt,
                           const float *image, float *grid, bool overwrite,
                           const float *wgrid, float *dw, struct work *w)
{
  const size_t gmax = fwd_group(g, M);
  const struct form_index f = fwd_index(g, M, gmax, w->idx);
  const struct form_index d = wgrad_index(g, M, gmax, w->idx + fwd_scratch_idx(g, M), w);
  struct group_args a = { .M = M, .fx = &f, .wx = &d, .wt = wt, .image = image, .wgrid = wgrid,
                          .grid = grid, .dw = dw, .overwrite = overwrite };
  wgrad_groups(g, gmax, &a, w, fwd_wgrad_one);
}

/* Floats of one group's padded grid (gn images), rounded up to whole
 * cache lines. */
static size_t phase_copy(const struct geom *g, size_t gn)
{
  const struct phase_frame f = phase_frame(g);
  return (gn * g->G * f.Hq * f.Wq + 15) / 16 * 16;
}

#define PHASE_S1_COLS 16384 /* columns of a stride-1 PHASE group (phase_group()) */

/* Images per PHASE group. Each stride phase writes every s-th element of
 * the image, so s * s GEMMs over the whole batch would each stream the
 * whole image gradient through the cache (it does not fit: 2 MiB in the
 * encoder's second layer), and with a short K (G kh kw / s^2 terms per
 * element, 200 there) that write-back became the cost of the form. Groups
 * of images whose part of the image stays in L2 (256 KiB) take all their
 * phases in turn; at least 256 columns per GEMM keep the micro-tiles full
 * and the direct path in reach. With a stride and a long K the write-back
 * is cheap and small GEMMs are not: at width 1024 (K 1600) grouping made
 * the phases 17 % slower, so those take the whole batch at once. */
static size_t phase_group(const struct geom *g)
{
  /* Stride 1 (a decoder's RGB output layer): groups of 16384 columns,
   * whatever K, for two other reasons. PHASE's column indices
   * (phase_columns(), 16 bytes a column) for the whole batch of 64 x 64
   * images were 2 MiB, written every forward pass from memory
   * (write-allocate); groups keep them in L2. And each group's grid is
   * padded just before its GEMM (phase_one()), so the padded copy is read
   * from cache: at width 1024 (64 -> 3 channels, K 1600) the whole batch's
   * 36 MiB copy went out to memory and back, and groups ran the layer's
   * step in 0.92 of the time on one Zen 5 core and 0.82 on two (5
   * alternated pairs each). At width 128 (8 -> 3) the groups took 0.90-0.96
   * of the time on two cores and 0.98 on one against the whole batch;
   * 4096 columns were slower (1.07), 8192 even with 16384. */
  if (g->s == 1) {
    const size_t gn = PHASE_S1_COLS / (g->H * g->W);
    return gn < 1 ? 1 : gn < g->N ? gn : g->N;
  }
  if (g->G * g->kh * g->kw > 640 * g->s * g->s)
    return g->N;
  /* Each of T threads takes about 1 / T of a group's GEMMs and merge, so a
   * group of T times the images keeps each thread's part in its L2, with
   * T times fewer GEMM calls (each a fork and join); or, where that makes
   * enough groups, each thread takes whole groups of a T-th of that
   * (phase_whole()). Every element of the image is one GEMM's, whatever
   * the group: the same bits. */
  const size_t gn =
      group_of(g->N, g->C * g->H * g->W, GROUP_FILL, phase_h(g) * phase_w(g), 256);
  const size_t nt = (size_t)spdi_threads();
  return gn * nt < g->N ? gn * nt : g->N;
}

/* The images per group when PHASE's groups go to the threads whole
 * (groups_to_threads(): at least two groups per thread), else 0. */
static size_t phase_whole(const struct geom *g)
{
  const size_t nt = (size_t)spdi_threads(), gmax = phase_group(g);
  if (nt < 2 || gmax == g->N || gmax % nt != 0)
    return 0;
  return groups_to_threads(g, gmax / nt, (int)nt) ? gmax / nt : 0;
}

/* Floats of PHASE's padded copies: each group's grid is padded just before
 * its GEMMs, into its thread's copy (groups on the threads whole) or into
 * one copy that the threads share. */
static size_t phase_padded(const struct geom *g)
{
  const size_t whole = phase_whole(g);
  return whole > 0 ? (size_t)spdi_threads() * phase_copy(g, whole)
                   : phase_copy(g, phase_group(g));
}

/* Index entries of PHASE: per thread, one phase's rows and K terms; then
 * the columns of every phase for a group (phase_columns). */
static size_t phase_scratch_idx(const struct geom *g)
{
  const size_t per_thread = 2 * g->C + 2 * g->G * g->kh * g->kw;
  return (size_t)spdi_threads() * per_thread + 2 * phase_group(g) * g->H * g->W;
}

/* Floats of the phase-split output buffer of PHASE (stride > 1): one
 * group's image gradient, its phases one after another. */
#define PHASE_OUT_MAX_S 8

static size_t phase_out(const struct geom *g)
{
  const size_t n = phase_group(g) * g->C * g->H * g->W;
  return g->s == 1 || g->s > PHASE_OUT_MAX_S ? 0 : (n + 15) / 16 * 16;
}

/* out[n, c, :] = bias[c] (or 0). */
static void fill_bias(float *out, size_t N, size_t C, size_t HW, const float *bias)
{
  SPDI_PARALLEL_FOR(spdi_par_threads(N * C * HW), r, N * C, {
    const float v = bias != NULL ? bias[r % C] : 0.0f;
    for (size_t q = 0; q < HW; q++)
      out[r * HW + q] = v;
  });
}

/* image rows += the phase-split rows of buf: image pixel (h, w) of each
 * plane takes phase (h mod s, w mod s) at (h / s, w / s). Phase p's planes
 * (gn C of Hh x Wh) start at buf + off[p]. With assign, image rows = those
 * of buf + bias[c] (or + 0, which is what adding buf to a fill_bias() of
 * the image gives, bit for bit), so the image needs no fill beforehand. */
static void phase_merge(const struct geom *g, size_t gn, const float *buf, const size_t *off,
                        float *image, bool assign, const float *bias)
{
  const size_t s = g->s, H = g->H, W = g->W, planes = gn * g->C;
  SPDI_PARALLEL_FOR(spdi_par_threads(planes * H * W), pl, planes, {
    const float v = bias != NULL ? bias[pl % g->C] : 0.0f;
    for (size_t h = 0; h < H; h++) {
      const size_t a = h % s, hh = h / s, Hh = (H - a + s - 1) / s;
      float *row = image + (pl * H + h) * W;
      if (s == 2) { /* the inverse of split_row2, for the common stride */
        const size_t W0 = (W + 1) / 2, W1 = W / 2;
        const float *r0 = buf + off[2 * a] + (pl * Hh + hh) * W0;
        const float *r1 = buf + off[2 * a + 1] + (pl * Hh + hh) * W1;
        if (assign) {
          _Pragma("omp simd")
          for (size_t x = 0; x < W1; x++) {
            row[2 * x] = r0[x] + v;
            row[2 * x + 1] = r1[x] + v;
          }
        } else {
          _Pragma("omp simd")
          for (size_t x = 0; x < W1; x++) {
            row[2 * x] += r0[x];
            row[2 * x + 1] += r1[x];
          }
        }
        if (W % 2 == 1)
          row[W - 1] = (assign ? v : row[W - 1]) + r0[W1];
        continue;
      }
      for (size_t w = 0; w < W; w++) {
        const size_t b = w % s, Wh = (W - b + s - 1) / s;
        row[w] = (assign ? v : row[w]) + buf[off[a * s + b] + (pl * Hh + hh) * Wh + w / s];
      }
    }
  });
}

/* The column indices of PHASE's GEMMs for a group of gmax images, every
 * phase's in turn at out (B's columns, then C's: 2 gmax H W in all). They
 * count from the group's first image, so one set serves every group; a
 * smaller last group uses a prefix of each. B's column: the output pixel's
 * place in the padded grid; C's: its place in the phase-split buffer, or
 * in the image. */
static void phase_columns(const struct geom *g, size_t gmax, size_t pt, size_t pl, size_t Hq,
                          size_t Wq, bool split, ptrdiff_t *out)
{
  const size_t s = g->s, C = g->C, G = g->G, HW = g->H * g->W;
  for (size_t a = 0; a < s && a < g->H; a++)
    for (size_t b = 0; b < s && b < g->W; b++) {
      const size_t Hh = (g->H - a + s - 1) / s, Wh = (g->W - b + s - 1) / s;
      ptrdiff_t *bc = out, *cc = out + gmax * Hh * Wh;
      out = cc + gmax * Hh * Wh;
      /* (a decoder's last layer has 131072 columns: not on one thread) */
      SPDI_PARALLEL_FOR(spdi_par_threads(gmax * Hh * Wh), nh, gmax * Hh, {
        const size_t n = nh / Hh, hh = nh % Hh;
        const ptrdiff_t b0 = (ptrdiff_t)(n * G * Hq * Wq + (hh + pt) * Wq + pl);
        ptrdiff_t *bq = bc + nh * Wh, *cq = cc + nh * Wh;
        if (split) {
          const ptrdiff_t c0 = (ptrdiff_t)((n * C * Hh + hh) * Wh);
          for (size_t ww = 0; ww < Wh; ww++) {
            bq[ww] = b0 + (ptrdiff_t)ww;
            cq[ww] = c0 + (ptrdiff_t)ww;
          }
        } else {
          const ptrdiff_t c0 = (ptrdiff_t)(n * C * HW + (hh * s + a) * g->W + b);
          for (size_t ww = 0; ww < Wh; ww++) {
            bq[ww] = b0 + (ptrdiff_t)ww;
            cq[ww] = c0 + (ptrdiff_t)(ww * s);
          }
        }
      });
    }
}

/* What PHASE's groups read and write (for_groups()). */
struct phase_args {
  const float *wt, *grid, *bias;
  float *image, *buf;     /* buf: the phase-split output, buf_per floats per thread */
  size_t buf_per, gmax;
  struct phase_frame f;   /* the padded grid's frame */
  ptrdiff_t *idx;         /* per thread: 2 C + 2 G kh kw entries */
  const ptrdiff_t *cols;  /* phase_columns() of groups of gmax images */
  bool assign;
};

/* One PHASE group, images n0 .. n0 + gn: its part of the grid padded into
 * l->pad (its thread's copy, or the one copy that the threads share when
 * a group is theirs together), a GEMM per stride phase, then the merge.
 * On its thread's part of buf and of the index space. Padding a group
 * just before its GEMMs, rather than the whole batch up front, reads the
 * copy from cache: the decoder's RGB layer at width 128 ran its step in
 * 0.88 of the time on one Zen 5 core, dec4 in 0.87 (5 alternated pairs);
 * the other layers even. */
static void phase_one(const struct geom *g, size_t i, size_t n0, size_t gn, struct work *l,
                      const void *ctx)
{
  const struct phase_args *pa = ctx;
  const size_t s = g->s, C = g->C, G = g->G, kk = g->kh * g->kw, HW = g->H * g->W;
  const size_t tid = (size_t)omp_get_thread_num();
  float *buf = pa->buf != NULL ? pa->buf + tid * pa->buf_per : NULL;
  ptrdiff_t *ar = pa->idx + tid * (2 * C + 2 * G * kk), *ak = ar + C, *bk = ak + G * kk;
  ptrdiff_t *cr = bk + G * kk;
  size_t off[PHASE_OUT_MAX_S * PHASE_OUT_MAX_S] = { 0 };
  size_t used = 0;
  const ptrdiff_t *bc = pa->cols;
  const struct phase_frame *f = &pa->f;
  (void)i;
  pad_planes(pa->grid + n0 * G * g->Ho * g->Wo, gn * G, g->Ho, g->Wo, f->pt,
             f->Hq - g->Ho - f->pt, f->pl, f->Wq - g->Wo - f->pl, l->pad, l->nt);
  for (size_t a = 0; a < s && a < g->H; a++)
    for (size_t b = 0; b < s && b < g->W; b++) {
      const size_t K = phase_tap_index(g, &pa->f, a, b, 1, false, ak, bk);
      const size_t Hh = (g->H - a + s - 1) / s, Wh = (g->W - b + s - 1) / s;
      const size_t cols = gn * Hh * Wh;
      /* this phase's column indices (a smaller last group: a prefix) */
      const ptrdiff_t *cc = bc + pa->gmax * Hh * Wh;
      const ptrdiff_t *next = cc + pa->gmax * Hh * Wh;
      if (buf != NULL) {
        off[a * s + b] = used;
        used += gn * C * Hh * Wh;
      }
      if (K == 0) { /* no tap lands on this phase: it only has the bias */
        if (buf != NULL)
          memset(buf + off[a * s + b], 0, gn * C * Hh * Wh * sizeof *buf);
        bc = next;
        continue;
      }
      for (size_t r = 0; r < C; r++) {
        ar[r] = (ptrdiff_t)(r * kk);
        cr[r] = (ptrdiff_t)(buf != NULL ? off[a * s + b] + r * Hh * Wh : r * HW);
      }
      struct spdi_igemm gm = { C, cols, K, { pa->wt, ar, ak },
                               { l->pad, bk, bc },
                               { buf != NULL ? buf : pa->image + n0 * C * HW, cr, cc },
                               buf != NULL, SPDI_IGEMM_ALL_K };
      spdi_igemm(&gm, &l->u, l->gemm, l->nt);
      bc = next;
    }
  if (buf != NULL)
    phase_merge(g, gn, buf, off, pa->image + n0 * C * HW, pa->assign, pa->bias);
}

/* PHASE: image (N x C x H x W) += gather of grid (N x G x Ho x Wo) through
 * W (G x C x kh x kw), a group of images at a time; with assign, image =
 * bias (or 0) + that gather. With a stride, each phase's GEMM overwrites
 * its part of a phase-split buffer (phase_out) whose columns are
 * consecutive floats, so its tiles go to C as whole vectors instead of one
 * strided float at a time; one pass then adds the buffer into the image
 * (which stays in L2 with the group), or assigns it, so an assigned image
 * is written once. */
static void form_phase(const struct geom *g, const float *wt, const float *grid, float *image,
                       struct work *w, const float *bias, bool assign)
{
  const size_t whole = phase_whole(g), gmax = whole > 0 ? whole : phase_group(g);
  struct phase_args pa = {
    .wt = wt, .grid = grid, .bias = bias, .image = image,
    .buf = phase_out(g) > 0 ? w->pad + phase_padded(g) : NULL,
    .buf_per = gmax * g->C * g->H * g->W, .gmax = gmax,
    .f = phase_frame(g), .idx = w->idx, .assign = assign,
  };
  const struct phase_frame *f = &pa.f;
  if (assign && pa.buf == NULL) /* the GEMMs add into the image */
    fill_bias(image, g->N, g->C, g->H * g->W, bias);
  ptrdiff_t *cols = w->idx + (size_t)w->nt * (2 * g->C + 2 * g->G * g->kh * g->kw);
  phase_columns(g, gmax, f->pt, f->pl, f->Hq, f->Wq, pa.buf != NULL, cols);
  pa.cols = cols;
  for_groups(g, gmax, whole > 0, phase_copy(g, gmax), w, phase_one, &pa);
}

/* image += col2im(col), col: C kh kw rows by nimg Ho Wo columns. Parallel
 * over image planes, each summed in a fixed order. */
static void col2im_add(const struct geom *g, size_t nimg, const float *col, float *image)
{
  const size_t P = g->Ho * g->Wo, ncols = nimg * P, planes = nimg * g->C;
  const size_t H = g->H, W = g->W, s = g->s, pad = g->pad;
  SPDI_PARALLEL_FOR(spdi_par_threads(planes * H * W * g->kh * g->kw), pl, planes, {
    const size_t n = pl / g->C, c = pl % g->C;
    float *plane = image + pl * H * W;
    for (size_t i = 0; i < g->kh; i++)
      for (size_t j = 0; j < g->kw; j++) {
        const float *src = col + ((c * g->kh + i) * g->kw + j) * ncols + n * P;
        for (size_t oh = 0; oh < g->Ho; oh++) {
          const ptrdiff_t h = (ptrdiff_t)(oh * s + i) - (ptrdiff_t)pad;
          if (h < 0 || h >= (ptrdiff_t)H)
            continue;
          float *row = plane + (size_t)h * W;
          const float *sr = src + oh * g->Wo;
          for (size_t ow = 0; ow < g->Wo; ow++) {
            const ptrdiff_t x = (ptrdiff_t)(ow * s + j) - (ptrdiff_t)pad;
            if (x >= 0 && x < (ptrdiff_t)W)
              row[x] += sr[ow];
          }
        }
      }
  });
}

/* SCATTER for images of few channels (4 C <= G), except where PHASE takes
 * the GEMM driver's direct path (at most spdi_igemm_direct_max_m() image
 * channels, stride 1, image rows a whole number of 16-pixel vectors): its
 * reading the grid in place costs less than writing and reading back a
 * column buffer of C kh kw rows per pixel (the paper's RGB output layer at
 * width 1024: forward 53 -> 38 ms on one thread). */
static bool use_scatter(const struct geom *g)
{
  const bool phase_direct = g->s == 1 && g->W % 16 == 0 && g->C <= spdi_igemm_direct_max_m();
  return 4 * g->C <= g->G && !phase_direct;
}

/* Images per SCATTER group: a column buffer of at most 8 Mi floats. */
static size_t scatter_group(const struct geom *g)
{
  const size_t per = g->C * g->kh * g->kw * g->Ho * g->Wo;
  size_t gn = ((size_t)8 << 20) / (per ? per : 1);
  return gn < 1 ? 1 : gn > g->N ? g->N : gn;
}

static size_t scatter_scratch_idx(const struct geom *g)
{
  const size_t M = g->C * g->kh * g->kw, cols = scatter_group(g) * g->Ho * g->Wo;
  return 2 * M + 2 * g->G + 2 * cols;
}

static size_t scatter_col(const struct geom *g)
{
  return g->C * g->kh * g->kw * scatter_group(g) * g->Ho * g->Wo;
}

/* SCATTER: image += col2im(W^T grid), W: G x (C kh kw), row-major; with
 * assign, image = bias (or 0) + col2im(...). The column buffer is w->pad. */
static void form_scatter(const struct geom *g, const float *wt, const float *grid,
                         float *image, struct work *w, const float *bias, bool assign)
{
  const size_t M = g->C * g->kh * g->kw, G = g->G, P = g->Ho * g->Wo;
  const size_t gn_max = scatter_group(g), img = g->C * g->H * g->W;
  if (assign)
    fill_bias(image, g->N, g->C, g->H * g->W, bias);
  for (size_t n0 = 0; n0 < g->N; n0 += gn_max) {
    const size_t gn = g->N - n0 < gn_max ? g->N - n0 : gn_max, cols = gn * P;
    ptrdiff_t *ar = w->idx, *ak = ar + M, *bk = ak + G, *bc = bk + G, *cr = bc + cols;
    ptrdiff_t *cc = cr + M;
    for (size_t r = 0; r < M; r++) {
      ar[r] = (ptrdiff_t)r;
      cr[r] = (ptrdiff_t)(r * cols);
    }
    for (size_t o = 0; o < G; o++) {
      ak[o] = (ptrdiff_t)(o * M);
      bk[o] = (ptrdiff_t)(o * P);
    }
    grid_cols(gn, G, P, bc);
    for (size_t q = 0; q < cols; q++)
      cc[q] = (ptrdiff_t)q;
    struct spdi_igemm gm = { M, cols, G, { wt, ar, ak }, { grid + n0 * G * P, bk, bc },
                             { w->pad, cr, cc }, true, SPDI_IGEMM_ALL_K };
    spdi_igemm(&gm, &w->u, w->gemm, w->nt);
    col2im_add(g, gn, w->pad, image + n0 * img);
  }
}

/* image += the PHASE-form product, or with assign image = bias (or 0) +
 * that product, by whichever form suits the shapes. */
static void form_gather(const struct geom *g, const float *wt, const float *grid, float *image,
                        struct work *w, const float *bias, bool assign)
{
  if (spdi_chwn_phase_suits(g)) {
    /* adding to the bias gives the bits of phase_merge()'s assignment */
    if (assign && bias != NULL)
      fill_bias(image, g->N, g->C, g->H * g->W, bias);
    spdi_chwn_phase(g, wt, grid, image, assign && bias == NULL, w);
  } else if (use_scatter(g)) {
    form_scatter(g, wt, grid, image, w, bias, assign);
  } else {
    form_phase(g, wt, grid, image, w, bias, assign);
  }
}

/* WGRAD by whichever layout suits the shapes (keep: form_wgrad()). */
static void form_wgrad_any(const struct geom *g, size_t M, const float *grid,
                           const float *image, float *keep, float *dw, struct work *w)
{
  if (spdi_conv_chwn(g))
    spdi_chwn_wgrad(g, M, grid, image, dw, w);
  else
    form_wgrad(g, M, grid, NULL, image, keep, dw, w);
}

/* Floats of w->grid per thread for a deferred grid of G channels. */
static size_t wgrad_grid_per(const struct geom *g)
{
  return (wgrad_group(g) * g->G * g->Ho * g->Wo + 15) / 16 * 16;
}

/* Copy space of WGRAD (M = G, the grid's channels, in both ops). */
static size_t wgrad_padded(const struct geom *g)
{
  return spdi_conv_chwn(g) ? spdi_chwn_wgrad_pad(g)
                           : padded_image(g) + wgrad_partials(g, g->G, wgrad_group(g));
}

static size_t gather_scratch_idx(const struct geom *g)
{
  return spdi_chwn_phase_suits(g) ? spdi_chwn_phase_idx(g)
         : use_scatter(g)         ? scatter_scratch_idx(g)
                                  : phase_scratch_idx(g);
}

static size_t gather_padded(const struct geom *g)
{
  return spdi_chwn_phase_suits(g) ? spdi_chwn_phase_pad(g)
         : use_scatter(g)         ? scatter_col(g)
                                  : phase_padded(g) + phase_out(g);
}

/* db[o] += sum over n, q of dy[n][o][q]. */
static int bias_grad(spd_tape *t, const spd_tensor *y, float *db)
{
  struct spdi_bcast geom = { y->shape[0], y->shape[1], y->shape[2] * y->shape[3] };
  double *s = spdi_tape_alloc(t, geom.chans * sizeof *s);
  if (s == NULL)
    return spd_tape_status(t);
  spdi_channel_sums(y->grad, NULL, &geom, s);
  for (size_t o = 0; o < geom.chans; o++)
    db[o] += (float)s[o];
  return SPD_OK;
}

/* Shared argument checks. transpose: w is C_in x C_out x kh x kw. */
static int conv_shape(spd_tape *t, spd_tensor *y, bool transpose)
{
  const spd_tensor *x = y->in[0], *w = y->in[1], *b = y->nin > 2 ? y->in[2] : NULL;
  const int64_t stride = y->iarg[0], pad = y->iarg[1], opad = y->iarg[2];
  char sx[64], sw[64], sb[64];
  if (x->ndim != 4 || w->ndim != 4)
    return spdi_tape_fail(t, SPD_E_SHAPE, "input %s and weights %s must both be 4-D",
                          spdi_shape_str(x, sx), spdi_shape_str(w, sw));
  if (stride < 1 || stride > 64 || pad < 0 || opad < 0 || (transpose && opad >= stride) ||
      w->shape[2] > 64 || w->shape[3] > 64)
    return spdi_tape_fail(t, SPD_E_INVALID,
                          "stride %lld, pad %lld, output_pad %lld, kernel %s: need 1 <= "
                          "stride <= 64, pad >= 0, 0 <= output_pad < stride, kernel <= 64",
                          (long long)stride, (long long)pad, (long long)opad,
                          spdi_shape_str(w, sw));
  const size_t cin = x->shape[1], cout = transpose ? w->shape[1] : w->shape[0];
  if (w->shape[transpose ? 0 : 1] != cin)
    return spdi_tape_fail(t, SPD_E_SHAPE, "input %s has %zu channels but weights %s "
                          "expect %zu", spdi_shape_str(x, sx), cin, spdi_shape_str(w, sw),
                          w->shape[transpose ? 0 : 1]);
  if (b != NULL && (b->ndim != 1 || b->shape[0] != cout))
    return spdi_tape_fail(t, SPD_E_SHAPE, "bias %s must be 1-D with %zu values for "
                          "weights %s", spdi_shape_str(b, sb), cout, spdi_shape_str(w, sw));
  const size_t s = (size_t)stride, p = (size_t)pad, kh = w->shape[2], kw = w->shape[3];
  size_t ho, wo;
  if (!transpose) {
    if (x->shape[2] + 2 * p < kh || x->shape[3] + 2 * p < kw)
      return spdi_tape_fail(t, SPD_E_SHAPE, "kernel of %s is larger than input %s "
                            "padded by %zu", spdi_shape_str(w, sw), spdi_shape_str(x, sx), p);
    ho = (x->shape[2] + 2 * p - kh) / s + 1;
    wo = (x->shape[3] + 2 * p - kw) / s + 1;
  } else {
    size_t fh = (x->shape[2] - 1) * s + kh + (size_t)opad;
    size_t fw = (x->shape[3] - 1) * s + kw + (size_t)opad;
    if (fh <= 2 * p || fw <= 2 * p)
      return spdi_tape_fail(t, SPD_E_SHAPE, "pad %zu leaves no output for input %s and "
                            "weights %s", p, spdi_shape_str(x, sx), spdi_shape_str(w, sw));
    ho = fh - 2 * p;
    wo = fw - 2 * p;
  }
  y->ndim = 4;
  y->shape[0] = x->shape[0];
  y->shape[1] = cout;
  y->shape[2] = ho;
  y->shape[3] = wo;
  return SPD_OK;
}

/* image: the conv2d-input-side tensor; grid: the output side. */
static struct geom geom_of(const spd_tensor *image, const spd_tensor *grid, const spd_tensor *w,
                           const spd_tensor *y)
{
  struct geom g = {
    .N = image->shape[0], .C = image->shape[1], .H = image->shape[2], .W = image->shape[3],
    .G = grid->shape[1], .Ho = grid->shape[2], .Wo = grid->shape[3],
    .kh = w->shape[2], .kw = w->shape[3], .s = (size_t)y->iarg[0], .pad = (size_t)y->iarg[1],
  };
  return g;
}

/* Whether a convolution's forward keeps its padded copy of the whole
 * batch (in the arena, y->saved) for the weight gradient, which then does
 * not pad the image again: where both take the image-major forms and the
 * copy is no larger than the output, so that memory grows by at most the
 * output's size. That holds for the few-channel inputs, where padding
 * costs most against the GEMMs: the encoder's first layer at width 128
 * padded its 3 channels twice in 11 % of its step. Same bits. */
static bool keep_padded(const struct geom *g, size_t M, const spd_tensor *w,
                        const spd_tensor *y)
{
  return w->requires_grad && !spdi_chwn_fwd_suits(g, M) && !spdi_conv_chwn(g) &&
         padded_image(g) <= y->n;
}

int spdi_op_conv2d(spd_tape *t, spd_tensor *y, enum spdi_action action)
{
  if (action == SPDI_SHAPE)
    return conv_shape(t, y, false);
  spd_tensor *x = y->in[0], *w = y->in[1], *b = y->nin > 2 ? y->in[2] : NULL;
  const struct geom g = geom_of(x, y, w, y);
  const size_t O = g.G;
  struct work wk;
  if (action == SPDI_FORWARD) {
    float *keep = NULL;
    if (keep_padded(&g, O, w, y) &&
        (keep = spdi_tape_alloc(t, padded_image(&g) * sizeof *keep)) == NULL)
      return spd_tape_status(t);
    y->saved = keep;
    if (work_get(t, fwd_scratch_idx(&g, O), fwd_padded(&g, O), &wk) != SPD_OK)
      return spd_tape_status(t);
    if (b != NULL) /* without a bias the GEMM writes y whole */
      fill_bias(y->data, g.N, O, g.Ho * g.Wo, b->data);
    form_fwd(&g, O, w->data, x->data, y->data, b == NULL, &wk, keep);
    return SPD_OK;
  }
  /* A batch norm's deferred input gradient (reads_deferred) is written a
   * group of images at a time where only the weight gradient reads it,
   * on NCHW operands; otherwise whole, first. */
  const struct spdi_bn_pass *dgrid = y->grad_deferred;
  if (dgrid != NULL && (!w->requires_grad || x->requires_grad ||
                        (b != NULL && b->requires_grad) || spdi_conv_chwn(&g))) {
    spdi_grad_undefer(y);
    dgrid = NULL;
  }
  const size_t nidx = max3(fwd_scratch_idx(&g, O), gather_scratch_idx(&g), 0);
  const size_t npad = (max3(wgrad_padded(&g), gather_padded(&g), 0) + 15) / 16 * 16;
  const size_t ngrid = dgrid != NULL ? (size_t)spdi_threads() * wgrad_grid_per(&g) : 0;
  if (work_get(t, nidx, npad + ngrid, &wk) != SPD_OK)
    return spd_tape_status(t);
  /* an assigning op (spdi_grad_first): the input gradient is written
   * whole when it is pending; the weight and bias gradients add */
  if (w->requires_grad) {
    spdi_grad_materialize(w);
    if (dgrid != NULL) {
      wk.grid = wk.pad + npad;
      wk.grid_per = wgrad_grid_per(&g);
      form_wgrad(&g, O, y->grad, dgrid, x->data, y->saved, w->grad, &wk);
    } else {
      form_wgrad_any(&g, O, y->grad, x->data, y->saved, w->grad, &wk);
    }
  }
  if (x->requires_grad)
    form_gather(&g, w->data, y->grad, x->grad, &wk, NULL, spdi_grad_first(x));
  if (b == NULL || !b->requires_grad)
    return SPD_OK;
  spdi_grad_materialize(b);
  return bias_grad(t, y, b->grad);
}

int spdi_op_conv2d_transpose(spd_tape *t, spd_tensor *y, enum spdi_action action)
{
  if (action == SPDI_SHAPE)
    return conv_shape(t, y, true);
  spd_tensor *x = y->in[0], *w = y->in[1], *b = y->nin > 2 ? y->in[2] : NULL;
  /* The output y is the image side; the input x is the grid. */
  const struct geom g = geom_of(y, x, w, y);
  const size_t Cin = g.G;
  struct work wk;
  if (action == SPDI_FORWARD) {
    if (work_get(t, gather_scratch_idx(&g), gather_padded(&g), &wk) != SPD_OK)
      return spd_tape_status(t);
    form_gather(&g, w->data, x->data, y->data, &wk, b != NULL ? b->data : NULL, true);
    return SPD_OK;
  }
  /* both gradients read y's gradient as the image: pad it once */
  const bool shared = x->requires_grad && w->requires_grad && fwd_wgrad_share(&g, Cin);
  const size_t npad = shared ? wgrad_padded(&g) : max3(wgrad_padded(&g), fwd_padded(&g, Cin), 0);
  if (work_get(t, (shared ? 2 : 1) * fwd_scratch_idx(&g, Cin), npad, &wk) != SPD_OK)
    return spd_tape_status(t);
  /* an assigning op (spdi_grad_first): the input gradient's GEMM writes
   * it whole when it is pending; the weight and bias gradients add */
  if (shared) {
    spdi_grad_materialize(w);
    form_fwd_wgrad(&g, Cin, w->data, y->grad, x->grad, spdi_grad_first(x), x->data, w->grad,
                   &wk);
  } else {
    if (x->requires_grad)
      form_fwd(&g, Cin, w->data, y->grad, x->grad, spdi_grad_first(x), &wk, NULL);
    if (w->requires_grad) {
      spdi_grad_materialize(w);
      form_wgrad_any(&g, Cin, x->data, y->grad, NULL, w->grad, &wk);
    }
  }
  if (b == NULL || !b->requires_grad)
    return SPD_OK;
  spdi_grad_materialize(b);
  return bias_grad(t, y, b->grad);
}

/* ---- builders ------------------------------------------------------------ */

static spd_tensor *conv(spd_tape *t, enum spdi_op op, spd_tensor *x, spd_tensor *w,
                        spd_tensor *b, int stride, int pad, int output_pad)
{
  spd_tensor *in[3] = { x, w, b };
  struct spdi_args a = { .i = { stride, pad, output_pad } };
  return spdi_node(t, op, b != NULL ? 3 : 2, in, &a);
}

spd_tensor *spd_conv2d(spd_tape *t, spd_tensor *x, spd_tensor *w, spd_tensor *b,
                       int stride, int pad)
{
  return conv(t, SPDI_OP_CONV2D, x, w, b, stride, pad, 0);
}

spd_tensor *spd_conv2d_transpose(spd_tape *t, spd_tensor *x, spd_tensor *w,
                                 spd_tensor *b, int stride, int pad, int output_pad)
{
  return conv(t, SPDI_OP_CONV2D_TRANSPOSE, x, w, b, stride, pad, output_pad);
}
