/* The weight gradient, and for the shortest rows the forward GEMM and the
 * stride-phase gather (PHASE), on batch-innermost copies, for maps whose
 * rows are short.
 *
 * In the NCHW form of conv.c the weight gradient's K runs over the output
 * pixels, and both operands are read in runs of one output row: 16, 8 or 4
 * pixels in the deeper encoder layers and the decoder's first layers, so
 * the packing pieces panels together from short runs. Here
 * the padded image and the grid tensor are first copied with the batch
 * innermost: image element (c, phase a, phase b, y, x, n) at
 *
 *   (((c s^2 + a s + b) Hs + y) Ws + x) N + n,
 *
 * and K runs over (oh, ow, n) with n fastest, so both operands read N
 * consecutive floats (the batch, 32 in the benchmarks) per pixel: whole
 * panels are contiguous runs, and with a small C the dot path applies.
 * The two copies cost a pass over the image and the grid; the step's CPU
 * time fell 5-8 % in the encoder's second and third and the decoder's
 * first two layers.
 *
 * Where the image's channels come in multiples of 16 (on AVX-512), the
 * image copy is pixel-major instead, the channels innermost (element
 * (phase a, phase b, y, x, n, c)), and the taps go in (i, j, c) order: 16
 * consecutive taps are then 16 consecutive floats, so the GEMM driver's
 * direct path reads the copy in place rather than packing every panel
 * through 8 x 8 transposes, and K goes in slices of output rows, each
 * reading only the kernel rows that fall inside the image
 * (wgrad_pixel_major_gemm). The weight gradient alone, batch 32, one /
 * two Zen 4 cores, in-process A/B: 1.12 / 1.07 times faster for 128 ->
 * 256 channels on 32 x 32 images, 1.08 / 1.09 for 256 -> 512 on 16 x 16,
 * 1.04-1.11 / 1.02-1.06 for the encoder's layers at width 128.
 *
 * The forward GEMM takes a batch-innermost copy for output rows of 8
 * pixels or fewer (spdi_chwn_fwd_suits), where the NCHW form packs every
 * panel from runs of 4 or fewer, or reads runs of 8 in pairs and cannot
 * skip the padding: here the GEMM driver's direct path reads the copy in
 * place, writes a batch-innermost output, and 8 x 8 transposes put it back
 * in NCHW (writing NCHW from the GEMM directly, one float per cache line,
 * had been no faster). A 64 -> 128 channel forward pass on 8 x 8 images,
 * batch 32, took 2.0 ms against 2.3-2.5 on a Zen 4 core. Its copy holds
 * the channels inside each pixel (element (phase a, phase b, y, x, c, n)),
 * so that the taps in (i, j, c) order read consecutive slots: with the
 * channel-major copy consecutive taps lay a whole phase-split plane apart
 * (51 KB for 256 channels on 16 x 16 images, batch 32), beyond the
 * prefetchers' reach and in a few sets of L1, and the 256 -> 512 forward
 * took 1.03-1.05 times as long.
 *
 * PHASE (conv2d's input gradient, conv2d_transpose's forward) takes a
 * batch-innermost copy of the grid likewise where its stride phases are
 * under 8 pixels wide (spdi_chwn_phase_suits): each phase's GEMM then
 * reads runs of the batch in place on the direct path instead of packing
 * panels from runs of 4, and writes a batch-innermost image that 8 x 8
 * transposes put back in NCHW. The input gradient of a 64 -> 128 channel
 * convolution on 8 x 8 images, batch 32 (the encoder's last layer at
 * width 128), with its forward pass: 5.1-5.8 -> 4.5-4.8 ms on a Zen 4
 * core; the whole layer 8.2 -> 7.5 ms, the decoder's first 8.0 -> 7.5.
 *
 * In both, a column run holds one pixel's batch, so each run reads zero
 * padding through a known set of taps: the taps go channel fastest
 * ((i, j, c) for the forward, the weights copied so), the pixels in
 * classes by the taps they read inside the image (class_columns), and the
 * direct path runs each block of a class over that class's K ranges only
 * (igemm.h, kr): the padding holds 14 % of a 5 x 5 kernel's taps on 8 x 8
 * outputs and 28 % on 4 x 4. 64 -> 128 channels on 8 x 8 images, batch
 * 32: forward 1.14, backward 1.10 times faster on one Zen 4 core (1.02-
 * 1.03 on two). With the skip the two forms also pay on rows of 8 (the forward, small
 * K) and phases of 8-16 (PHASE) where the batch fills its slots.
 *
 * The direct path needs every 16-lane vector of a column run in one
 * pixel: the copies for those two forms hold the batch in slots rounded
 * up to 16 (batch_slots, zeros past the batch) where that adds at most an
 * eighth to the work. The Fashion-MNIST model's batch of 100 (112 slots)
 * on its 7-pixel rows: the VAE step 0.0314 -> 0.0287 s on one thread.
 *
 * The choices (spdi_conv_chwn, spdi_chwn_fwd_suits, spdi_chwn_phase_suits)
 * depend on the shapes and the CPU only, so results do not depend on the
 * thread count. */
#include "conv_chwn.h"
#include "cpu.h"

#include <omp.h>
#include <string.h>

bool spdi_conv_chwn(const struct geom *g)
{
  /* output rows of at most one 16-wide panel (CPU time of the layer step,
   * encoder's second layer, rows of 16: -6 %; rows of 32 gained nothing),
   * and a batch that fills a panel at least half way */
  return g->Wo <= 16 && g->N >= 8;
}

#if defined(__x86_64__) && defined(__GNUC__)
#  include "transpose8.h"
#  define CHWN_X86 1
#endif

/* Strides up to this take the transposing copy (a phase row per b). */
#define CHWN_MAX_S 4

/* The pixel-major weight gradient (wgrad_pixel_major): K terms (output
 * pixels times the batch) per slice, and the most floats of per-slice
 * partial gradients (wgrad_parts). */
#define WGRAD_SLICE_K 1024
#define WGRAD_PARTS_MAX ((size_t)1 << 22)

/* The most GEMMs of the direct path's rows (spdi_igemm_direct_max_m())
 * the forward's rows may take with AVX-512 (spdi_chwn_fwd_suits; with
 * AVX2, one: unmeasured there). */
#define FWD_MAX_PARTS 2

/* The least K at which the forward takes the copy on output rows of 16
 * (spdi_chwn_fwd_suits). */
#define FWD_ROWS16_MIN_K 3200

#ifdef CHWN_X86
/* Pixels w0 .. w0 + n of 8 images, transposed (t[j]: pixel w0 + j of
 * each image), each to the phase row drow[(w + left) % s] at column
 * (w + left) / s. */
__attribute__((target("avx2"))) static void put_pixels8(const __m256 *t, size_t n, size_t w0,
                                                      size_t s, size_t left,
                                                      float *const *drow, size_t np)
{
  /* phase b and column x of each pixel, stepped without dividing */
  size_t b = (w0 + left) % s, x = (w0 + left) / s;
  for (size_t j = 0; j < n; j++) {
    _mm256_storeu_ps(drow[b] + x * np, t[j]);
    if (++b == s) {
      b = 0;
      x++;
    }
  }
}

/* Source row h of one channel for 8 images (row i at src + i chw): W
 * pixels, each to the phase row drow[(w + left) % s] at column (w + left)
 * / s, as 8 consecutive floats, by 8 x 8 blocks through registers: the
 * copy one float at a time read 8 images' rows that lie a power of two
 * apart (32 KiB in the encoder's third layer at width 128), all in one L1
 * set, so most reads missed (2 GB/s). */
__attribute__((target("avx2"))) static void rows8_to_chwn(const float *src, size_t chw, size_t W,
                                                        size_t s, size_t left,
                                                        float *const *drow, size_t np)
{
  __m256 r[8], t[8];
  size_t w0 = 0;
  for (; w0 + 8 <= W; w0 += 8) {
    for (size_t i = 0; i < 8; i++)
      r[i] = _mm256_loadu_ps(src + i * chw + w0);
    spdi_transpose8(r, t);
    put_pixels8(t, 8, w0, s, left, drow, np);
  }
  if (w0 == W)
    return;
  /* the last W - w0 < 8 pixels by masked loads, which read nothing past
   * the row: rows of 7, 14 or 28 pixels had been copied one float at a
   * time here (7 % of a Fashion-MNIST VAE step in these copies) */
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(W - w0)), lane);
  for (size_t i = 0; i < 8; i++)
    r[i] = _mm256_maskload_ps(src + i * chw + w0, mask);
  spdi_transpose8(r, t);
  put_pixels8(t, W - w0, w0, s, left, drow, np);
}

/* One channel of to_chwn() with whole groups of 8 images transposed:
 * the padding zeroed first, then every source row written to its phase
 * row. Pixels lie pstride floats apart (np where the channel's planes are
 * contiguous). Every source pixel has a place (H + top <= Hs s, W + left
 * <= Ws s: the phase planes cover the padded image). */
static void channel_to_chwn(const float *src, size_t N, size_t np, size_t pstride, size_t chw,
                            size_t H, size_t W, size_t s, size_t top, size_t left, size_t Hs,
                            size_t Ws, float *dst)
{
  const size_t pixels = s * s * Hs * Ws;
  if (pstride == np)
    memset(dst, 0, pixels * np * sizeof *dst);
  else
    for (size_t p = 0; p < pixels; p++)
      memset(dst + p * pstride, 0, np * sizeof *dst);
  for (size_t h = 0; h < H; h++) {
    const size_t hp = h + top, a = hp % s, y = hp / s;
    float *drow[CHWN_MAX_S];
    for (size_t b = 0; b < s; b++)
      drow[b] = dst + ((a * s + b) * Hs + y) * Ws * pstride;
    size_t n0 = 0;
    for (; n0 + 8 <= N; n0 += 8) {
      float *d8[CHWN_MAX_S];
      for (size_t b = 0; b < s; b++)
        d8[b] = drow[b] + n0;
      rows8_to_chwn(src + n0 * chw + h * W, chw, W, s, left, d8, pstride);
    }
    for (; n0 < N; n0++)
      for (size_t w = 0; w < W; w++) {
        const size_t wp = w + left;
        drow[wp % s][wp / s * pstride + n0] = src[n0 * chw + h * W + w];
      }
  }
}

/* dst (pixel-major) from src (N x C x H x W, C a multiple of 8): for
 * each phase (a, b), position (y, x) < (Hs, Ws), image n, channel c, dst
 * holds source pixel (y s + a - pad, x s + b - pad) of channel c, or zero,
 * at (((a s + b) Hs + y) Ws + x) N C + n C + c: 8 channels by 8 pixels at a
 * time through registers (rows8_to_chwn with the channels in place of the
 * images). */
static void to_pixel_major(const float *src, size_t N, size_t C, size_t H, size_t W, size_t s,
                           size_t pad, size_t Hs, size_t Ws, float *dst)
{
  const size_t HW = H * W, pix = N * C, prow = Ws * pix;
  SPDI_PARALLEL_FOR(spdi_par_threads(N * C * s * s * Hs * Ws), r, s * Hs, {
    const size_t a = r / Hs, y = r % Hs;
    const ptrdiff_t h = (ptrdiff_t)(y * s + a) - (ptrdiff_t)pad;
    float *drow[CHWN_MAX_S];
    for (size_t b = 0; b < s; b++)
      drow[b] = dst + ((a * s + b) * Hs + y) * prow;
    if (h < 0 || h >= (ptrdiff_t)H) {
      for (size_t b = 0; b < s; b++)
        memset(drow[b], 0, prow * sizeof *dst);
      continue;
    }
    /* the padding columns of each phase row: x with x s + b - pad outside
     * [0, W) */
    for (size_t b = 0; b < s; b++) {
      const size_t xlo = pad > b ? (pad - b + s - 1) / s : 0;
      const size_t xhi = (W + pad - b + s - 1) / s < Ws ? (W + pad - b + s - 1) / s : Ws;
      memset(drow[b], 0, xlo * pix * sizeof *dst);
      memset(drow[b] + xhi * pix, 0, (Ws - xhi) * pix * sizeof *dst);
    }
    for (size_t n = 0; n < N; n++)
      for (size_t c0 = 0; c0 < C; c0 += 8) {
        float *d8[CHWN_MAX_S];
        for (size_t b = 0; b < s; b++)
          d8[b] = drow[b] + n * C + c0;
        rows8_to_chwn(src + (n * C + c0) * HW + (size_t)h * W, HW, W, s, pad, d8, pix);
      }
  });
}
#endif

/* dst (batch innermost) from src (N x C x H x W): for each channel c,
 * phase (a, b), position (y, x) < (Hs, Ws), dst holds source pixel
 * (y s + a - top, x s + b - left) of every image, or zeros, in np >= N
 * slots (zeros past N), at c cstride + (((a s + b) Hs + y) Ws + x)
 * pstride: channel-major (cstride s^2 Hs Ws np, pstride np) or with the
 * channels inside each pixel (cstride np, pstride C np). */
/* Channel c of to_chwn(): by 8 x 8 transposes (transpose, x86 only) or
 * one float at a time. */
static void to_chwn_channel(const float *src, size_t N, size_t np, size_t C, size_t H,
                            size_t W, size_t s, size_t top, size_t left, size_t Hs, size_t Ws,
                            size_t cstride, size_t pstride, float *dst, bool transpose,
                            size_t c)
{
  const size_t chw = C * H * W;
#ifdef CHWN_X86
  if (transpose) {
    channel_to_chwn(src + c * H * W, N, np, pstride, chw, H, W, s, top, left, Hs, Ws,
                    dst + c * cstride);
    return;
  }
#else
  (void)transpose;
#endif
  for (size_t ph = 0; ph < s * s; ph++) {
    const size_t a = ph / s, b = ph % s;
    for (size_t y = 0; y < Hs; y++) {
      const ptrdiff_t h = (ptrdiff_t)(y * s + a) - (ptrdiff_t)top;
      float *row = dst + c * cstride + (ph * Hs + y) * Ws * pstride;
      for (size_t x = 0; x < Ws; x++) {
        const ptrdiff_t w = (ptrdiff_t)(x * s + b) - (ptrdiff_t)left;
        float *d = row + x * pstride;
        memset(d + N, 0, (np - N) * sizeof *d);
        if (h < 0 || h >= (ptrdiff_t)H || w < 0 || w >= (ptrdiff_t)W) {
          memset(d, 0, N * sizeof *d);
          continue;
        }
        /* the N images' pixel: one float from each image's plane; the
         * planes' current rows stay in L1 along x */
        const float *sp = src + (c * H + (size_t)h) * W + (size_t)w;
        for (size_t n = 0; n < N; n++)
          d[n] = sp[n * chw];
      }
    }
  }
}

static void to_chwn(const float *src, size_t N, size_t np, size_t C, size_t H, size_t W,
                    size_t s, size_t top, size_t left, size_t Hs, size_t Ws, size_t cstride,
                    size_t pstride, float *dst)
{
#ifdef CHWN_X86
  const bool transpose = N >= 8 && s <= CHWN_MAX_S && spdi_isa_ok(SPDI_ISA_AVX2);
#else
  const bool transpose = false;
#endif
  SPDI_PARALLEL_FOR(spdi_par_threads(N * C * s * s * Hs * Ws), c, C, {
    to_chwn_channel(src, N, np, C, H, W, s, top, left, Hs, Ws, cstride, pstride, dst,
                    transpose, c);
  });
}

/* to_chwn() channel-major, as the weight gradient and PHASE read it. */
static void to_chwn_planes(const float *src, size_t N, size_t np, size_t C, size_t H, size_t W,
                           size_t s, size_t top, size_t left, size_t Hs, size_t Ws, float *dst)
{
  to_chwn(src, N, np, C, H, W, s, top, left, Hs, Ws, s * s * Hs * Ws * np, np, dst);
}

/* Floats of a phase-split copy of the image: s^2 Hs Ws pixels of pix. */
static size_t image_copy(const struct geom *g, size_t pix)
{
  return g->s * g->s * phase_h(g) * phase_w(g) * pix;
}

/* Whether the weight gradient takes the pixel-major image copy and the
 * GEMM driver's direct path (wgrad_pixel_major_gemm): channels in runs of
 * 16, strides the transposing copy takes, AVX-512, grid channels within
 * the direct path's rows (with more, as the encoder's last layer at width
 * 1024 has, two GEMMs of half the rows each reading the image gained
 * nothing). */
static bool wgrad_pixel_major(const struct geom *g)
{
#ifdef CHWN_X86
  return g->C % 16 == 0 && g->s <= CHWN_MAX_S && spdi_isa_ok(SPDI_ISA_AVX512) &&
         g->G <= spdi_igemm_direct_max_m();
#else
  (void)g;
  return false;
#endif
}

/* The kernel taps [*lo, *hi) along one axis with which output position o
 * reads inside the image (n positions; kernel k, stride s, padding pad). */
static void axis_taps(size_t o, size_t n, size_t k, size_t s, size_t pad, size_t *lo,
                      size_t *hi)
{
  const size_t top = o * s; /* the padded image position of tap 0 */
  *lo = pad > top ? pad - top : 0;
  const size_t end = n + pad > top ? n + pad - top : 0;
  *hi = end < k ? end : k;
}

/* The kernel rows i in [*lo, *hi) that output row oh reads inside the image. */
static void row_taps(const struct geom *g, size_t oh, size_t *lo, size_t *hi)
{
  axis_taps(oh, g->H, g->kh, g->s, g->pad, lo, hi);
}

/* A slice of the pixel-major weight gradient's K: output rows oh0 .. oh1,
 * which read the nt taps from t0 (kernel rows in the (i, j, c) tap order). */
struct wslice {
  size_t oh0, oh1, t0, nt;
};

/* The slices: runs of consecutive output rows that read the same kernel
 * rows, at most WGRAD_SLICE_K terms each (at least a row); rows that read
 * no tap are left out. Returns their number; fills tab unless NULL. */
static size_t wgrad_slices(const struct geom *g, struct wslice *tab)
{
  const size_t rowk = g->Wo * g->N, rows = rowk >= WGRAD_SLICE_K ? 1 : WGRAD_SLICE_K / rowk;
  const size_t per_i = g->kw * g->C;
  size_t n = 0;
  for (size_t oh0 = 0, oh1; oh0 < g->Ho; oh0 = oh1) {
    size_t lo, hi, lo1, hi1;
    row_taps(g, oh0, &lo, &hi);
    for (oh1 = oh0 + 1; oh1 < g->Ho && oh1 - oh0 < rows; oh1++) {
      row_taps(g, oh1, &lo1, &hi1);
      if (lo1 != lo || hi1 != hi)
        break;
    }
    if (hi <= lo)
      continue;
    if (tab != NULL)
      tab[n] = (struct wslice){ oh0, oh1, lo * per_i, (hi - lo) * per_i };
    n++;
  }
  return n;
}

/* The number of per-slice partial gradients (each G x C kh kw floats) the
 * slices write, so that they can run on the threads whole: with small
 * GEMMs (the encoder at width 128), two threads splitting each slice's
 * columns instead ran the forward pass and weight gradient together
 * 1.07-1.28 times slower than with the batch-innermost form. 0 (the
 * slices then add into one gradient in turn, each GEMM on all the
 * threads) for one slice, or past WGRAD_PARTS_MAX floats. Depends on the
 * shapes alone. */
static size_t wgrad_parts(const struct geom *g)
{
  const size_t n = wgrad_slices(g, NULL), one = g->G * g->C * g->kh * g->kw;
  return n >= 2 && n * one <= WGRAD_PARTS_MAX ? n : 0;
}

/* Floats of the pixel-major form's copies, then of its gradients in tap
 * order (one, or wgrad_parts() of them), each rounded to 64 bytes. */
static size_t wgrad_copies(const struct geom *g)
{
  return (image_copy(g, g->N * g->C) + g->N * g->G * g->Ho * g->Wo + 15) / 16 * 16;
}

static size_t wgrad_tap_order(const struct geom *g)
{
  const size_t parts = wgrad_parts(g);
  return ((parts > 0 ? parts : 1) * g->G * g->C * g->kh * g->kw + 15) / 16 * 16;
}

/* Floats of the slices' table (at most one slice per output row). */
static size_t wgrad_table(const struct geom *g)
{
  return (g->Ho * sizeof(struct wslice) + 63) / 64 * 64 / sizeof(float);
}

/* Floats of a slice's K ranges (wgrad_kr): a class per column run, and
 * per kernel column an offset and a range per output row. */
static size_t wgrad_kr_floats(const struct geom *g)
{
  const size_t n = g->C * g->kh * g->kw / 16 + g->kw + 1 + 2 * g->kw * g->Ho;
  return (n * sizeof(ptrdiff_t) + 63) / 64 * 64 / sizeof(float);
}

size_t spdi_chwn_wgrad_pad(const struct geom *g)
{
  if (!wgrad_pixel_major(g))
    return wgrad_copies(g);
  return wgrad_copies(g) + wgrad_tap_order(g) + wgrad_table(g) + g->Ho * wgrad_kr_floats(g);
}

/* The taps' offsets into a phase-split copy of the image with pix floats
 * per pixel: channel c's phase planes at c chan (batch-innermost copies:
 * chan = s^2 Hs Ws pix; pixel-major: chan = 1, the channels inside a
 * pixel). Taps in the weights' (c, i, j) order, or with chan_fastest in
 * (i, j, c) order. */
static void tap_offsets(const struct geom *g, size_t pix, size_t chan, bool chan_fastest,
                        ptrdiff_t *taps)
{
  const size_t s = g->s, Hs = phase_h(g), Ws = phase_w(g), kk = g->kh * g->kw;
  for (size_t k = 0; k < g->C * kk; k++) {
    const size_t c = chan_fastest ? k % g->C : k / kk, ij = chan_fastest ? k / g->C : k % kk;
    const size_t i = ij / g->kw, j = ij % g->kw;
    const size_t at = ((((i % s) * s + j % s) * Hs + i / s) * Ws + j / s) * pix;
    taps[k] = (ptrdiff_t)(c * chan + at);
  }
}


/* idx[i] = i step, i < n. */
static void fill_steps(ptrdiff_t *idx, size_t n, size_t step)
{
  for (size_t i = 0; i < n; i++)
    idx[i] = (ptrdiff_t)(i * step);
}

/* The columns (oh, ow, n), n fastest, n < np: their offsets into the
 * image copy. */
static void col_offsets(const struct geom *g, size_t np, ptrdiff_t *cols)
{
  const size_t Ws = phase_w(g);
  size_t q = 0;
  for (size_t oh = 0; oh < g->Ho; oh++)
    for (size_t ow = 0; ow < g->Wo; ow++)
      for (size_t n = 0; n < np; n++, q++)
        cols[q] = (ptrdiff_t)((oh * Ws + ow) * np + n);
}

/* Range [k0, k1) appended to a class's K ranges seg (ns so far, the
 * class's from first), joined to the last one where it continues it. */
static void push_range(ptrdiff_t *seg, size_t *ns, size_t first, ptrdiff_t k0, ptrdiff_t k1)
{
  if (*ns > first && seg[2 * *ns - 1] == k0) {
    seg[2 * *ns - 1] = k1;
    return;
  }
  seg[2 * *ns] = k0;
  seg[2 * *ns + 1] = k1;
  (*ns)++;
}

#ifdef CHWN_X86
/* dw[m][c kh kw + t] += dt[m][t C + c], t < kh kw: the gradient in tap
 * order back in the weights' (c, i, j) order. With parts (per-slice
 * partial gradients, M C kh kw floats apart), each element first sums the
 * slices that wrote it, in their order, into the first part (whose
 * elements that slice did not write start from zero). */
static void add_from_tap_order(float *dt, const struct wslice *tab, size_t parts, size_t M,
                               size_t C, size_t kk, float *dw)
{
  const size_t T = C * kk;
  SPDI_PARALLEL_FOR(spdi_par_threads(M * T * (parts ? parts : 1)), m, M, {
    float *row = dt + m * T, *d = dw + m * T;
    if (parts > 0) {
      memset(row, 0, tab[0].t0 * sizeof *row);
      memset(row + tab[0].t0 + tab[0].nt, 0, (T - tab[0].t0 - tab[0].nt) * sizeof *row);
    }
    for (size_t i = 1; i < parts; i++) {
      const float *p = dt + (i * M + m) * T + tab[i].t0;
      float *r = row + tab[i].t0;
      _Pragma("omp simd")
      for (size_t t = 0; t < tab[i].nt; t++)
        r[t] += p[t];
    }
    for (size_t c = 0; c < C; c++)
      for (size_t ij = 0; ij < kk; ij++)
        d[c * kk + ij] += row[ij * C + c];
  });
}

/* The index arrays of the pixel-major weight gradient's GEMMs. */
struct wgrad_index {
  ptrdiff_t *ar, *ak, *bk, *bc, *cr, *cc;
};

/* The K ranges (igemm.h, kr) of slice sl's GEMM, into kr (wgrad_kr_floats
 * of space): its column runs are 16 channels of one tap, in classes by the
 * tap's kernel column j, and class j's terms are, on each output row of
 * the slice, the output columns whose tap j reads inside the image, so
 * that the direct path skips those that read the zero padding left and
 * right of it (the slices skip those above and below). Kernel columns
 * with the same output columns share a class, so that their runs share
 * blocks. */
static void wgrad_kr(const struct geom *g, const struct wslice *sl, ptrdiff_t *kr,
                     struct spdi_igemm *gm)
{
  const size_t kw = g->kw, N = g->N, rowk = g->Wo * N, rows = sl->oh1 - sl->oh0;
  ptrdiff_t *run = kr, *off = run + sl->nt / 16, *seg = off + kw + 1;
  size_t lo[64], hi[64], cls[64], ncls = 0, ns = 0; /* kw <= 64, the ops' limit */
  for (size_t j = 0; j < kw; j++) {
    /* the output columns whose taps inside the image (axis_taps) hold j:
     * consecutive ones, [lo, hi), empty as [0, 0) */
    lo[j] = hi[j] = 0;
    for (size_t ow = 0; ow < g->Wo; ow++) {
      size_t tlo, thi;
      axis_taps(ow, g->W, kw, g->s, g->pad, &tlo, &thi);
      if (j < tlo || j >= thi)
        continue;
      if (hi[j] == 0)
        lo[j] = ow;
      hi[j] = ow + 1;
    }
    cls[j] = ncls;
    for (size_t i = 0; i < j; i++)
      if (lo[i] == lo[j] && hi[i] == hi[j]) {
        cls[j] = cls[i];
        break;
      }
    if (cls[j] < ncls)
      continue;
    off[ncls++] = (ptrdiff_t)ns;
    for (size_t r = 0; r < rows && lo[j] < hi[j]; r++)
      push_range(seg, &ns, (size_t)off[ncls - 1], (ptrdiff_t)(r * rowk + lo[j] * N),
                 (ptrdiff_t)(r * rowk + hi[j] * N));
  }
  off[ncls] = (ptrdiff_t)ns;
  for (size_t r = 0; r < sl->nt / 16; r++)
    run[r] = (ptrdiff_t)cls[(sl->t0 + 16 * r) / g->C % kw];
  gm->kr.run = run;
  gm->kr.off = off;
  gm->kr.seg = seg;
}

/* The GEMM of slice sl: its rows of the grid copy gt (A) and the image
 * copy img (B), into dst (with overwrite, = rather than +=). */
static struct spdi_igemm slice_gemm(const struct geom *g, size_t M, const struct wslice *sl,
                                    const struct wgrad_index *x, const float *gt,
                                    const float *img, float *dst, bool overwrite)
{
  const size_t rowk = g->Wo * g->N, prow = phase_w(g) * g->N * g->C;
  return (struct spdi_igemm){ M, sl->nt, (sl->oh1 - sl->oh0) * rowk,
                              { gt + sl->oh0 * rowk, x->ar, x->ak },
                              { img + sl->oh0 * prow, x->bk, x->bc + sl->t0 },
                              { dst, x->cr, x->cc + sl->t0 }, overwrite, SPDI_IGEMM_ALL_K };
}

/* WGRAD with the image pixel-major (to_pixel_major) and the taps in (i, j,
 * c) order, channel fastest: 16 consecutive taps are 16 consecutive floats
 * of the copy, so the GEMM driver takes its direct path and reads the
 * image in place, where the batch-innermost form below packs every panel
 * through 8 x 8 transposes (8 % of the encoder's second layer's forward
 * and weight gradient at width 1024). K runs over (oh, ow, n), n fastest,
 * in slices of output rows (wgrad_slices): each output row reads only the
 * kernel rows that land inside the image, so the taps that read the zero
 * padding above and below it are skipped, not multiplied (7.5 % of the
 * products on 8 x 8 outputs, 15 % on 4 x 4), and the direct path skips
 * those left and right of it per class of kernel column (wgrad_kr; as
 * much again). That column skip, forward + weight gradient, batch 32,
 * one / two Zen 4 cores, in-process A/B: 256 -> 512 channels on 16 x 16
 * images 0.97 / 0.97 of the time, 128 -> 256 on 32 x 32 0.98 / 0.99, the
 * encoder's layers at width 128 0.93-0.98 / 0.93-0.99; the same bits.
 * The slices add into one gradient in tap order, zeroed first, in turn;
 * or where wgrad_parts() allows, each writes its own partial gradient, on
 * any thread, and add_from_tap_order() sums them in slice order. Either
 * way the same bits on any number of threads. */
static void wgrad_pixel_major_gemm(const struct geom *g, size_t M, const float *grid,
                                   const float *image, float *dw, struct work *w)
{
  const size_t N = g->N, C = g->C, s = g->s, Hs = phase_h(g), Ws = phase_w(g);
  const size_t kk = g->kh * g->kw, T = C * kk, P = g->Ho * g->Wo, rowk = g->Wo * N;
  float *img = w->pad, *gt = img + image_copy(g, N * C), *dt = w->pad + wgrad_copies(g);
  struct wslice *tab = (struct wslice *)(void *)(dt + wgrad_tap_order(g));
  ptrdiff_t *krs = (ptrdiff_t *)(void *)((float *)tab + wgrad_table(g));
  const size_t kr_per = wgrad_kr_floats(g) * sizeof(float) / sizeof(ptrdiff_t);
  to_pixel_major(image, N, C, g->H, g->W, s, g->pad, Hs, Ws, img);
  to_chwn_planes(grid, N, N, M, g->Ho, g->Wo, 1, 0, 0, g->Ho, g->Wo, gt);
  const size_t ns = wgrad_slices(g, tab), parts = wgrad_parts(g);
  size_t ks = 0;
  for (size_t i = 0; i < ns; i++)
    ks = (tab[i].oh1 - tab[i].oh0) * rowk > ks ? (tab[i].oh1 - tab[i].oh0) * rowk : ks;
  struct wgrad_index x;
  x.ar = w->idx, x.ak = x.ar + M, x.bk = x.ak + ks, x.bc = x.bk + ks, x.cr = x.bc + T;
  x.cc = x.cr + M;
  fill_steps(x.ar, M, P * N);
  fill_steps(x.cr, M, T);
  fill_steps(x.ak, ks, 1);
  for (size_t k = 0; k < ks; k++) { /* (oh, ow, n) of a slice from its first row */
    const size_t oh = k / rowk, ow = k % rowk / N, n = k % N;
    x.bk[k] = (ptrdiff_t)(((oh * Ws + ow) * N + n) * C);
  }
  tap_offsets(g, N * C, 1, true, x.bc);
  fill_steps(x.cc, T, 1);
  if (parts == 0) {
    memset(dt, 0, M * T * sizeof *dt);
    for (size_t i = 0; i < ns; i++) {
      struct spdi_igemm gm = slice_gemm(g, M, &tab[i], &x, gt, img, dt, false);
      wgrad_kr(g, &tab[i], krs + i * kr_per, &gm);
      spdi_igemm(&gm, &w->u, w->gemm, w->nt);
    }
  } else if (w->nt == 1) {
    for (size_t i = 0; i < ns; i++) {
      struct spdi_igemm gm = slice_gemm(g, M, &tab[i], &x, gt, img, dt + i * M * T, true);
      wgrad_kr(g, &tab[i], krs + i * kr_per, &gm);
      spdi_igemm(&gm, &w->u, w->gemm, 1);
    }
  } else {
#pragma omp parallel num_threads(w->nt)
    {
      float *mine = w->gemm + (size_t)omp_get_thread_num() * spdi_igemm_work(&w->u, 1);
#pragma omp for schedule(dynamic, 1)
      for (size_t i = 0; i < ns; i++) {
        struct spdi_igemm gm = slice_gemm(g, M, &tab[i], &x, gt, img, dt + i * M * T, true);
        wgrad_kr(g, &tab[i], krs + i * kr_per, &gm);
        spdi_igemm(&gm, &w->u, mine, 1);
      }
    }
  }
  add_from_tap_order(dt, tab, parts, M, C, kk, dw);
}
#endif

void spdi_chwn_wgrad(const struct geom *g, size_t M, const float *grid, const float *image,
                     float *dw, struct work *w)
{
#ifdef CHWN_X86
  if (wgrad_pixel_major(g)) {
    wgrad_pixel_major_gemm(g, M, grid, image, dw, w);
    return;
  }
#endif
  const size_t K = g->C * g->kh * g->kw, P = g->Ho * g->Wo, cols = g->N * P;
  float *img = w->pad, *gt = w->pad + image_copy(g, g->N * g->C);
  to_chwn_planes(image, g->N, g->N, g->C, g->H, g->W, g->s, g->pad, g->pad, phase_h(g),
                 phase_w(g), img);
  to_chwn_planes(grid, g->N, g->N, M, g->Ho, g->Wo, 1, 0, 0, g->Ho, g->Wo, gt);
  ptrdiff_t *ar = w->idx, *ak = ar + M, *bk = ak + cols, *bc = bk + cols, *cr = bc + K;
  ptrdiff_t *cc = cr + M;
  fill_steps(ar, M, P * g->N);
  fill_steps(cr, M, K);
  fill_steps(ak, cols, 1); /* the grid copy's columns are (pixel, n) in order */
  col_offsets(g, g->N, bk);
  tap_offsets(g, g->N, image_copy(g, g->N), false, bc);
  fill_steps(cc, K, 1);
  struct spdi_igemm gm = { M, K, cols, { gt, ar, ak }, { img, bk, bc }, { dw, cr, cc }, false,
                           SPDI_IGEMM_ALL_K };
  spdi_igemm(&gm, &w->u, w->gemm, w->nt);
}

#ifdef CHWN_X86
/* An 8 x 8 block of one channel, 8 pixels by 8 images: dst row j (image
 * j, its 8 pixels contiguous, rows M P floats apart) from src row i
 * (pixel i, its 8 images contiguous, rows np floats apart), by one
 * transpose; added to dst unless overwrite. */
__attribute__((target("avx2"))) static void block8_from_chwn(const float *src, size_t np,
                                                           float *dst, size_t MP,
                                                           bool overwrite)
{
  __m256 r[8], t[8];
  for (size_t i = 0; i < 8; i++)
    r[i] = _mm256_loadu_ps(src + i * np);
  spdi_transpose8(r, t);
  for (size_t j = 0; j < 8; j++) {
    float *d = dst + j * MP;
    _mm256_storeu_ps(d, overwrite ? t[j] : _mm256_add_ps(_mm256_loadu_ps(d), t[j]));
  }
}
#endif

/* grid[n, m, p] = d, or += d with !overwrite, for images n < N of d =
 * src[(m P + p) np + n]. */
static void from_chwn_one(const float *src, size_t np, size_t M, size_t P, size_t m, size_t n,
                          size_t p, bool overwrite, float *grid)
{
  float *d = grid + (n * M + m) * P + p;
  *d = (overwrite ? 0.0f : *d) + src[(m * P + p) * np + n];
}

/* grid (N x M x P) = src, or += src with !overwrite, src holding channel
 * m's pixel p of image n at (m P + p) np + n: 8 x 8 blocks by transposes
 * and what is left (images past the last 8, pixels past the last 8) one
 * float at a time. */
static void from_chwn_channel(const float *src, size_t N, size_t N8, size_t np, size_t M,
                              size_t P, bool overwrite, float *grid, size_t m)
{
#ifdef CHWN_X86
  const size_t P8 = P / 8 * 8;
  const float *sm = src + m * P * np;
  float *gm = grid + m * P;
  for (size_t n0 = 0; n0 < N8; n0 += 8) {
    for (size_t p0 = 0; p0 < P8; p0 += 8)
      block8_from_chwn(sm + p0 * np + n0, np, gm + n0 * M * P + p0, M * P, overwrite);
    for (size_t n = n0; n < n0 + 8; n++)
      for (size_t p = P8; p < P; p++)
        from_chwn_one(src, np, M, P, m, n, p, overwrite, grid);
  }
#endif
  for (size_t n = N8; n < N; n++)
    for (size_t p = 0; p < P; p++)
      from_chwn_one(src, np, M, P, m, n, p, overwrite, grid);
}

static void from_chwn(const float *src, size_t N, size_t np, size_t M, size_t P,
                      bool overwrite, float *grid)
{
#ifdef CHWN_X86
  const size_t N8 = spdi_isa_ok(SPDI_ISA_AVX2) ? N / 8 * 8 : 0;
#else
  const size_t N8 = 0;
#endif
  SPDI_PARALLEL_FOR(spdi_par_threads(N * M * P), m, M,
                    { from_chwn_channel(src, N, N8, np, M, P, overwrite, grid, m); });
}

/* Slots per pixel of the batch-innermost copies the direct path reads:
 * the batch rounded up to 16, so that every 16-lane vector of a GEMM
 * column run lies in one pixel. */
static size_t batch_slots(size_t N)
{
  return (N + 15) / 16 * 16;
}

/* Whether padding the batch to batch_slots() costs at most an eighth more
 * work (a batch of 100 takes 112 slots). */
static bool slots_pay(size_t N)
{
  return (batch_slots(N) - N) * 8 <= N;
}

/* Whether the batch fills its slots: where the batch-innermost forms gain
 * only by skipping padding taps, empty slots undo that (a batch of 100:
 * the input gradient and weight gradient of 16 -> 32 channels on 32 x 32
 * images 1.06-1.16 times slower, the forward of 32 -> 64 on 16 x 16 1.23
 * times slower, one Zen 4 core). */
static bool slots_full(size_t N)
{
  return batch_slots(N) == N;
}

bool spdi_chwn_fwd_suits(const struct geom *g, size_t M)
{
  /* Output rows under 8 pixels: the NCHW forward packs every panel from
   * runs of 4 or fewer, while here the direct path reads the copy in
   * place, its columns being runs of the batch (slots). Rows of 8 where
   * the batch fills its slots (slots_full): the skipped padding taps (14 %
   * of the products with a 5 x 5 kernel) outweigh what the batch-innermost
   * copies cost. In-process A/B against the NCHW form, one / two Zen 4
   * cores: 32 -> 64 channels on 16 x 16 images (K = 800) 1.04-1.07 /
   * 1.04-1.08 times faster, 64 -> 128 (K = 1600) 1.00-1.05 / 0.98-1.05;
   * 256 -> 512 (K = 6400) 0.97-1.01 / 0.96-0.98 with the channel-major
   * copy, 0.90-0.92 / 0.90-0.97 with the pixel-major one and blocks cut at
   * the classes (igemm_direct.c). Rows of 16 where the batch fills its
   * slots from K = FWD_ROWS16_MIN_K: they lost at K = 400 (1.08-1.11) and
   * K = 800-1600 (1.02-1.06), and at K = 3200 (128 -> 256 channels on 32 x
   * 32 images, the encoder's second layer at width 1024) the forward took
   * 0.977-0.980 of the time on one and two cores (61.8 -> 60.4 ms on two;
   * oneDNN's 60.4): the 7 % of its products that read the padding are
   * skipped.
   * Up to FWD_MAX_PARTS times the direct path's rows, in GEMMs of at most
   * that many each reading the copy: 512 -> 1024 channels on 8 x 8 images
   * took 0.90 of the time of the NCHW form's packed GEMM on one and two
   * cores. */
  const size_t parts = spdi_isa_ok(SPDI_ISA_AVX512) ? FWD_MAX_PARTS : 1;
  return spdi_conv_chwn(g) && M <= parts * spdi_igemm_direct_max_m() &&
         ((g->Wo < 8 && slots_pay(g->N)) ||
          (g->Wo == 8 && slots_full(g->N)) ||
          (g->Wo == 16 && slots_full(g->N) && g->C * g->kh * g->kw >= FWD_ROWS16_MIN_K));
}

size_t spdi_chwn_fwd_idx(const struct geom *g, size_t M)
{
  const size_t P = g->Ho * g->Wo, cols = batch_slots(g->N) * P;
  /* the GEMM's index arrays, the runs' classes, the axes' classes and
   * tap ranges, the classes' K ranges (at most one per kernel row) */
  return 2 * M + 2 * g->C * g->kh * g->kw + 2 * cols + cols / 16 + 3 * (g->Ho + g->Wo) + 2 +
         P + 1 + 2 * P * g->kh;
}

/* Floats of the copies before the forward's weights in tap order. */
static size_t fwd_copies(const struct geom *g, size_t M)
{
  const size_t np = batch_slots(g->N);
  return (image_copy(g, np * g->C) + np * M * g->Ho * g->Wo + 15) / 16 * 16;
}

size_t spdi_chwn_fwd_pad(const struct geom *g, size_t M)
{
  return fwd_copies(g, M) + M * g->C * g->kh * g->kw;
}

/* wp[m][(i kw + j) C + c] = wt[m][(c kh + i) kw + j]: the weights in
 * (i, j, c) tap order. */
static void taps_channel_fastest(const float *wt, size_t M, size_t C, size_t kk, float *wp)
{
  SPDI_PARALLEL_FOR(spdi_par_threads(M * C * kk), m, M, {
    for (size_t c = 0; c < C; c++)
      for (size_t t = 0; t < kk; t++)
        wp[(m * kk + t) * C + c] = wt[(m * C + c) * kk + t];
  });
}

/* A batch-innermost GEMM whose K runs over taps (x, y, u), u fastest (nj
 * taps y per x, nu values u per tap), and whose columns are the np slots
 * of each pixel (r, c) of an nr x nc grid: pixel (r, c) reads zero padding
 * unless x is in [xlo[r], xhi[r]) and y in [ylo[c], yhi[c]). Its np slots
 * start at b0 + r brow + c bcol in B, likewise in C. */
struct tap_grid {
  size_t nr, nc, nj, nu, np;
  const ptrdiff_t *xlo, *xhi, *ylo, *yhi;
  ptrdiff_t b0, brow, bcol, c0, crow, ccol;
};

/* The classes of n positions by their ranges [lo, hi): runs of consecutive
 * positions with equal ranges, the q-th from beg[q] to beg[q + 1].
 * Returns their number (beg holds one more). */
static size_t range_classes(size_t n, const ptrdiff_t *lo, const ptrdiff_t *hi, ptrdiff_t *beg)
{
  size_t nq = 0;
  for (size_t o = 0; o < n; o++)
    if (o == 0 || lo[o] != lo[o - 1] || hi[o] != hi[o - 1])
      beg[nq++] = (ptrdiff_t)o;
  beg[nq] = (ptrdiff_t)n;
  return nq;
}

/* The columns of t's GEMM class by class (a row class and a column class,
 * range_classes), each pixel's np slots in order, into bc and cc; run[i]
 * the class of column run i (np a multiple of 16); off and seg each
 * class's K ranges (igemm.h, kr): one per x, or one in all where y spans
 * every tap. rb, cb: nr + 1 and nc + 1 entries of scratch. */
static void class_columns(const struct tap_grid *t, ptrdiff_t *bc, ptrdiff_t *cc, ptrdiff_t *run,
                          ptrdiff_t *rb, ptrdiff_t *cb, ptrdiff_t *off, ptrdiff_t *seg)
{
  const size_t nrq = range_classes(t->nr, t->xlo, t->xhi, rb);
  const size_t ncq = range_classes(t->nc, t->ylo, t->yhi, cb);
  const ptrdiff_t nu = (ptrdiff_t)t->nu, nj = (ptrdiff_t)t->nj;
  size_t q = 0, ns = 0, cls = 0;
  for (size_t rq = 0; rq < nrq; rq++)
    for (size_t cq = 0; cq < ncq; cq++, cls++) {
      const ptrdiff_t xlo = t->xlo[rb[rq]], xhi = t->xhi[rb[rq]];
      const ptrdiff_t ylo = t->ylo[cb[cq]], yhi = t->yhi[cb[cq]];
      off[cls] = (ptrdiff_t)ns;
      for (ptrdiff_t x = xlo; x < xhi && ylo < yhi; x++)
        push_range(seg, &ns, (size_t)off[cls], (x * nj + ylo) * nu, (x * nj + yhi) * nu);
      for (ptrdiff_t r = rb[rq]; r < rb[rq + 1]; r++)
        for (ptrdiff_t c = cb[cq]; c < cb[cq + 1]; c++) {
          const ptrdiff_t b = t->b0 + r * t->brow + c * t->bcol;
          const ptrdiff_t d = t->c0 + r * t->crow + c * t->ccol;
          for (size_t v = 0; v < t->np / 16; v++)
            run[q / 16 + v] = (ptrdiff_t)cls;
          for (size_t n = 0; n < t->np; n++, q++) {
            bc[q] = b + (ptrdiff_t)n;
            cc[q] = d + (ptrdiff_t)n;
          }
        }
    }
  off[cls] = (ptrdiff_t)ns;
}

/* lo[o], hi[o]: the kernel taps with which each of the m output positions
 * along one axis reads inside the image (axis_taps). */
static void axis_ranges(size_t m, size_t n, size_t k, size_t s, size_t pad, ptrdiff_t *lo,
                        ptrdiff_t *hi)
{
  for (size_t o = 0; o < m; o++) {
    size_t l, h;
    axis_taps(o, n, k, s, pad, &l, &h);
    lo[o] = (ptrdiff_t)l;
    hi[o] = (ptrdiff_t)h;
  }
}

/* The forward on the batch-innermost copy. The taps go in (i, j, c) order
 * (the weights copied so, taps_channel_fastest) and the output pixels in
 * classes by the taps they read inside the image (class_columns), so that
 * the GEMM driver's direct path skips, per block of columns, the taps
 * that read the zero padding (14 % of the products on 8 x 8 outputs of a
 * 5 x 5 kernel, 28 % on 4 x 4) instead of multiplying them. */
void spdi_chwn_fwd(const struct geom *g, size_t M, const float *wt, const float *image,
                   float *grid, bool overwrite, struct work *w)
{
  const size_t np = batch_slots(g->N), kk = g->kh * g->kw;
  const size_t K = g->C * kk, P = g->Ho * g->Wo, cols = np * P;
  float *img = w->pad, *out = w->pad + image_copy(g, np * g->C);
  float *wp = w->pad + fwd_copies(g, M);
  to_chwn(image, g->N, np, g->C, g->H, g->W, g->s, g->pad, g->pad, phase_h(g), phase_w(g), np,
          g->C * np, img);
  taps_channel_fastest(wt, M, g->C, kk, wp);
  ptrdiff_t *ar = w->idx, *ak = ar + M, *bk = ak + K, *bc = bk + K, *cr = bc + cols;
  ptrdiff_t *cc = cr + M, *run = cc + cols, *rb = run + cols / 16, *cb = rb + g->Ho + 1;
  ptrdiff_t *xlo = cb + g->Wo + 1, *xhi = xlo + g->Ho, *ylo = xhi + g->Ho, *yhi = ylo + g->Wo;
  ptrdiff_t *off = yhi + g->Wo, *seg = off + P + 1;
  fill_steps(ar, M, K);
  fill_steps(cr, M, cols);
  fill_steps(ak, K, 1);
  const size_t s = g->s, Ws = phase_w(g);
  tap_offsets(g, g->C * np, np, true, bk);
  axis_ranges(g->Ho, g->H, g->kh, s, g->pad, xlo, xhi);
  axis_ranges(g->Wo, g->W, g->kw, s, g->pad, ylo, yhi);
  const struct tap_grid tg = { g->Ho, g->Wo, g->kw, g->C, np, xlo, xhi, ylo, yhi,
                               0, (ptrdiff_t)(Ws * g->C * np), (ptrdiff_t)(g->C * np),
                               0, (ptrdiff_t)(g->Wo * np), (ptrdiff_t)np };
  class_columns(&tg, bc, cc, run, rb, cb, off, seg);
  /* in GEMMs of at most the direct path's rows, each reading the copy */
  const size_t most = spdi_igemm_direct_max_m() > 0 ? spdi_igemm_direct_max_m() : M;
  const size_t parts = (M + most - 1) / most;
  for (size_t i = 0; i < parts; i++) {
    const size_t r0 = M * i / parts, r1 = M * (i + 1) / parts;
    struct spdi_igemm gm = { r1 - r0, cols, K, { wp, ar + r0, ak }, { img, bk, bc },
                             { out, cr + r0, cc }, true, { run, off, seg } };
    spdi_igemm(&gm, &w->u, w->gemm, w->nt);
  }
  from_chwn(out, g->N, np, M, P, overwrite, grid);
}

bool spdi_chwn_phase_suits(const struct geom *g)
{
  /* Stride phases under 8 pixels wide: the NCHW form packs every panel of
   * its GEMMs from runs of 4 or fewer, while here the direct path reads
   * the batch-innermost grid in place (runs of the batch, as in the
   * forward above). The image's channels are the GEMM's rows. Phases of
   * 8 to 16 pixels too where the batch fills its slots, for the padding
   * taps skipped here (not in the NCHW form): input gradient and weight
   * gradient of 128 -> 256 channels on 32 x 32 images, batch 32, one / two
   * Zen 4 cores, 1.05 / 1.04 times faster, 256 -> 512 on 16 x 16 1.03-1.04
   * / 1.03, 32 -> 64 on 16 x 16 1.04-1.07 / 0.98-1.03, 16 -> 32 on 32 x 32
   * 1.01 / 0.98-0.99. */
  const size_t wide = (g->W + g->s - 1) / g->s;
  return g->s > 1 && g->C <= spdi_igemm_direct_max_m() &&
         ((wide < 8 && slots_pay(g->N)) || (wide <= 16 && slots_full(g->N)));
}

size_t spdi_chwn_phase_idx(const struct geom *g)
{
  const size_t HW = g->H * g->W, cols = batch_slots(g->N) * HW;
  /* as spdi_chwn_fwd_idx(), for the largest phase */
  return 2 * g->C + 2 * g->G * g->kh * g->kw + 2 * cols + cols / 16 + 3 * (g->H + g->W) + 2 +
         HW + 1 + 2 * HW * g->kh;
}

/* lo[o], hi[o]: the phase's taps [lo, hi) (of the n that phase_taps()
 * gives, with grid offsets d) with which each of its m positions reads
 * inside the grid (size ng): o + d[x] in [0, ng). d falls with x, so those
 * x are consecutive. */
static void phase_ranges(size_t m, const ptrdiff_t *d, size_t n, size_t ng, ptrdiff_t *lo,
                         ptrdiff_t *hi)
{
  for (size_t o = 0; o < m; o++) {
    lo[o] = hi[o] = 0;
    for (size_t x = 0; x < n; x++) {
      const ptrdiff_t at = (ptrdiff_t)o + d[x];
      if (at < 0 || at >= (ptrdiff_t)ng)
        continue;
      if (hi[o] == 0)
        lo[o] = (ptrdiff_t)x;
      hi[o] = (ptrdiff_t)x + 1;
    }
  }
}

size_t spdi_chwn_phase_pad(const struct geom *g)
{
  const struct phase_frame f = phase_frame(g);
  return batch_slots(g->N) * (g->G * f.Hq * f.Wq + g->C * g->H * g->W);
}

/* One stride phase (a, b) of spdi_chwn_phase(): the image pixels (hh s +
 * a, ww s + b) of the batch-innermost output, by one GEMM, or zeros where
 * no tap lands on the phase. Its taps go grid channel fastest and its
 * pixels in classes by the taps that read inside the grid (class_columns),
 * so that the direct path skips those that read its zero padding. */
static void chwn_phase_gemm(const struct geom *g, const struct phase_frame *f, size_t a,
                            size_t b, const float *wt, const float *gq, float *out,
                            struct work *w)
{
  const size_t s = g->s, C = g->C, G = g->G, np = batch_slots(g->N), kk = g->kh * g->kw;
  const size_t H = g->H, W = g->W, Hh = (H - a + s - 1) / s, Wh = (W - b + s - 1) / s;
  const size_t cols = Hh * Wh * np;
  ptrdiff_t *ar = w->idx, *ak = ar + C, *bk = ak + G * kk, *cr = bk + G * kk;
  ptrdiff_t *bc = cr + C, *cc = bc + cols, *run = cc + cols, *rb = run + cols / 16;
  ptrdiff_t *cb = rb + Hh + 1, *xlo = cb + Wh + 1, *xhi = xlo + Hh, *ylo = xhi + Hh;
  ptrdiff_t *yhi = ylo + Wh, *off = yhi + Wh, *seg = off + Hh * Wh + 1;
  const size_t K = phase_tap_index(g, f, a, b, np, true, ak, bk);
  size_t ti[64], tj[64];
  ptrdiff_t di[64], dj[64];
  const size_t ni = phase_taps(a, g->kh, s, g->pad, ti, di);
  const size_t nj = phase_taps(b, g->kw, s, g->pad, tj, dj);
  phase_ranges(Hh, di, ni, g->Ho, xlo, xhi);
  phase_ranges(Wh, dj, nj, g->Wo, ylo, yhi);
  const struct tap_grid tg = { Hh, Wh, nj, G, np, xlo, xhi, ylo, yhi,
                               (ptrdiff_t)((f->pt * f->Wq + f->pl) * np),
                               (ptrdiff_t)(f->Wq * np), (ptrdiff_t)np,
                               (ptrdiff_t)((a * W + b) * np), (ptrdiff_t)(s * W * np),
                               (ptrdiff_t)(s * np) };
  class_columns(&tg, bc, cc, run, rb, cb, off, seg);
  if (K == 0) {
    for (size_t c = 0; c < C; c++)
      for (size_t j = 0; j < cols; j += np)
        memset(out + c * H * W * np + cc[j], 0, np * sizeof *out);
    return;
  }
  fill_steps(ar, C, kk);
  fill_steps(cr, C, H * W * np);
  struct spdi_igemm gm = { C, cols, K, { wt, ar, ak }, { gq, bk, bc }, { out, cr, cc }, true,
                           { run, off, seg } };
  spdi_igemm(&gm, &w->u, w->gemm, w->nt);
}

void spdi_chwn_phase(const struct geom *g, const float *wt, const float *grid, float *image,
                     bool overwrite, struct work *w)
{
  const struct phase_frame f = phase_frame(g);
  const size_t np = batch_slots(g->N);
  float *gq = w->pad, *out = gq + np * g->G * f.Hq * f.Wq;
  to_chwn_planes(grid, g->N, np, g->G, g->Ho, g->Wo, 1, f.pt, f.pl, f.Hq, f.Wq, gq);
  for (size_t a = 0; a < g->s && a < g->H; a++)
    for (size_t b = 0; b < g->s && b < g->W; b++)
      chwn_phase_gemm(g, &f, a, b, wt, gq, out, w);
  from_chwn(out, g->N, np, g->C, g->H * g->W, overwrite, image);
}
