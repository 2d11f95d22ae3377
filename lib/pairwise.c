/* Features and logit tiles for the estimator and MMD (pairwise.h). */
#include "pairwise.h"
#include "gemm.h"
#include "vmath.h"

#include <math.h>

SPDI_CLONES float spdi_row_max(const float *x, size_t n)
{
  float m[SPDI_LANES];
  for (size_t l = 0; l < SPDI_LANES; l++)
    m[l] = -INFINITY;
  size_t j = 0;
  for (; j + SPDI_LANES <= n; j += SPDI_LANES) {
#pragma omp simd
    for (size_t l = 0; l < SPDI_LANES; l++)
      m[l] = x[j + l] > m[l] ? x[j + l] : m[l];
  }
  float r = -INFINITY;
  for (size_t l = 0; l < SPDI_LANES; l++)
    r = m[l] > r ? m[l] : r;
  for (; j < n; j++)
    r = x[j] > r ? x[j] : r;
  return r;
}

SPDI_CLONES float spdi_row_expsum(float *x, size_t n, float shift)
{
  float acc[SPDI_LANES] = { 0 };
  size_t j = 0;
  for (; j + SPDI_LANES <= n; j += SPDI_LANES) {
#pragma omp simd
    for (size_t l = 0; l < SPDI_LANES; l++) {
      float e = spdi_expf(x[j + l] - shift);
      x[j + l] = e;
      acc[l] += e;
    }
  }
  for (size_t l = 0; j < n; j++, l++) {
    float e = spdi_expf(x[j] - shift);
    x[j] = e;
    acc[l] += e;
  }
  float r = 0;
  for (size_t l = 0; l < SPDI_LANES; l++)
    r += acc[l];
  return r;
}

SPDI_CLONES float spdi_row_expsum_keep(const float *x, size_t n, float shift)
{
  /* the same sums in the same order as spdi_row_expsum */
  float acc[SPDI_LANES] = { 0 };
  size_t j = 0;
  for (; j + SPDI_LANES <= n; j += SPDI_LANES) {
#pragma omp simd
    for (size_t l = 0; l < SPDI_LANES; l++)
      acc[l] += spdi_expf(x[j + l] - shift);
  }
  for (size_t l = 0; j < n; j++, l++)
    acc[l] += spdi_expf(x[j] - shift);
  float r = 0;
  for (size_t l = 0; l < SPDI_LANES; l++)
    r += acc[l];
  return r;
}

SPDI_CLONES void spdi_row_expscale(float *x, size_t n, float shift, float scale)
{
#pragma omp simd
  for (size_t j = 0; j < n; j++)
    x[j] = scale * spdi_expf(x[j] - shift);
}

SPDI_CLONES float spdi_row_signdot(const float *x, const float *b, size_t n, float a)
{
  float acc[SPDI_LANES] = { 0 };
  size_t j = 0;
  for (; j + SPDI_LANES <= n; j += SPDI_LANES) {
#pragma omp simd
    for (size_t l = 0; l < SPDI_LANES; l++)
      acc[l] += x[j + l] * (float)((a > b[j + l]) - (a < b[j + l]));
  }
  for (size_t l = 0; j < n; j++, l++)
    acc[l] += x[j] * (float)((a > b[j]) - (a < b[j]));
  float r = 0;
  for (size_t l = 0; l < SPDI_LANES; l++)
    r += acc[l];
  return r;
}

bool spdi_pw_init(spdi_pw *pw, const spd_spread *s, float scale)
{
  pw->s = s;
  pw->dim = s->dim;
  pw->k = s->dim + s->rank;
  pw->laplace = !spdi_spread_is_gaussian(s);
  pw->gemm = !pw->laplace && pw->k >= SPDI_PW_GEMM_MIN_K;
  /* GEMM rows padded with zeros to a multiple of 8 floats: BLIS packs
   * aligned rows much faster (odd widths cost 40% on the benchmark). */
  pw->kf = pw->gemm ? (pw->k + 1 + 7) / 8 * 8 : pw->k;
  pw->scale = scale;
  pw->vf = NULL;
  if (s->rank) {
    const size_t count = s->dim * s->rank;
    pw->vf = spdi_malloc(count * sizeof *pw->vf);
    if (pw->vf == NULL)
      return false;
    for (size_t i = 0; i < count; i++)
      pw->vf[i] = (float)(s->V[i] * scale);
  }
  return true;
}

void spdi_pw_free(spdi_pw *pw)
{
  spdi_free(pw->vf);
  pw->vf = NULL;
}

void spdi_pw_features(const spdi_pw *pw, const float *x, size_t n, bool b_form, float *f,
                      float *h)
{
  const spd_spread *s = pw->s;
  const size_t dim = pw->dim, k = pw->k, kf = pw->kf, rank = s->rank;
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < dim; j++)
      f[i * kf + j] = (float)((double)x[i * dim + j] * pw->scale / spdi_spread_scale_at(s, j));
  if (rank) /* V^T x for every row: (n x dim) (dim x rank) into the tail */
    spdi_sgemm(false, false, n, rank, dim, 1.0f, x, dim, pw->vf, rank, 0.0f, f + dim, kf);
  for (size_t i = 0; i < n; i++) {
    double hh = 0;
    for (size_t j = 0; j < dim; j++)
      hh += (double)f[i * kf + j] * f[i * kf + j];
    for (size_t j = dim; j < k; j++) {
      hh -= (double)f[i * kf + j] * f[i * kf + j];
      if (b_form)
        f[i * kf + j] = -f[i * kf + j];
    }
    if (h)
      h[i] = (float)(0.5 * hh);
    if (kf > k) {
      f[i * kf + k] = b_form ? (float)(-0.5 * hh) : 1.0f;
      for (size_t j = k + 1; j < kf; j++)
        f[i * kf + j] = 0;
    }
  }
}

SPDI_CLONES void spdi_row_axpy(float *y, const float *x, size_t n, float alpha)
{
#pragma omp simd
  for (size_t j = 0; j < n; j++)
    y[j] += alpha * x[j];
}

SPDI_CLONES void spdi_row_signaxpy(float *y, const float *w, const float *b, size_t n, float a)
{
#pragma omp simd
  for (size_t j = 0; j < n; j++)
    y[j] += w[j] * (float)((a > b[j]) - (a < b[j]));
}

SPDI_CLONES void spdi_row_laplace_k2(float *k, const float *b, size_t n, float a)
{
#pragma omp simd
  for (size_t j = 0; j < n; j++) {
    float d = fabsf(a - b[j]);
    k[j] *= (1.0f + d) * spdi_expf(-d);
  }
}

/* Gaussian logits by loops: L[i][j] = a_i . b_j - h_j, b transposed. */
SPDI_CLONES static void logits_loops(const float *a, size_t R, size_t k, const float *bt, size_t ld,
                         const float *h, size_t n0, size_t T, float *L)
{
  for (size_t i = 0; i < R; i++) {
    float *Li = L + i * T;
    const float *hh = h + n0;
#pragma omp simd
    for (size_t j = 0; j < T; j++)
      Li[j] = -hh[j];
    for (size_t l = 0; l < k; l++) {
      const float al = a[i * k + l];
      const float *bl = bt + l * ld + n0;
#pragma omp simd
      for (size_t j = 0; j < T; j++)
        Li[j] += al * bl[j];
    }
  }
}

/* Laplace logits: L[i][j] = -sum_l |a_il - b_jl|, b transposed. */
SPDI_CLONES static void logits_laplace(const float *a, size_t R, size_t k, const float *bt, size_t ld,
                           size_t n0, size_t T, float *L)
{
  for (size_t i = 0; i < R; i++) {
    float *Li = L + i * T;
#pragma omp simd
    for (size_t j = 0; j < T; j++)
      Li[j] = 0;
    for (size_t l = 0; l < k; l++) {
      const float al = a[i * k + l];
      const float *bl = bt + l * ld + n0;
#pragma omp simd
      for (size_t j = 0; j < T; j++)
        Li[j] -= fabsf(al - bl[j]);
    }
  }
}

void spdi_pw_logits(const spdi_pw *pw, const float *a, size_t R, const spdi_pw_points *pts,
                    size_t n0, size_t T, float *L)
{
  const size_t k = pw->k;
  if (pw->laplace) {
    logits_laplace(a, R, k, pts->b, pts->ld, n0, T, L);
    return;
  }
  if (!pw->gemm) {
    logits_loops(a, R, k, pts->b, pts->ld, pts->h, n0, T, L);
    return;
  }
  /* the extra feature column makes this a . b - h(x) */
  spdi_sgemm(false, true, R, T, pw->kf, 1.0f, a, pw->kf, pts->b + n0 * pts->ld, pts->ld, 0.0f,
             L, T);
}

/* ---- pre-packed logits ---------------------------------------------------- */

static size_t up16(size_t n)
{
  return (n + 15) / 16 * 16;
}

bool spdi_pw_packed_ok(const spdi_pw *pw, const struct spdi_ukernel *u)
{
  return pw->gemm && pw->kf <= u->kc;
}

static size_t panel_b(const spdi_pw *pw, const struct spdi_ukernel *u)
{
  return up16(u->packnr * pw->kf);
}

static size_t panel_a(const spdi_pw *pw, const struct spdi_ukernel *u)
{
  return up16(u->packmr * pw->kf);
}

static size_t tile_panels(const struct spdi_ukernel *u, size_t tile)
{
  return (tile + u->nr - 1) / u->nr;
}

size_t spdi_pw_packb_floats(const spdi_pw *pw, const struct spdi_ukernel *u, size_t n,
                            size_t tile)
{
  return (n + tile - 1) / tile * tile_panels(u, tile) * panel_b(pw, u);
}

size_t spdi_pw_packa_floats(const spdi_pw *pw, const struct spdi_ukernel *u, size_t R)
{
  return (R + u->mr - 1) / u->mr * panel_a(pw, u);
}

/* dst[p * ld + j] = src[(r0 + j) * kf + p] for j < m, 0 for m <= j < ld. */
static void pack_panel(const float *src, size_t kf, size_t m, size_t ld, float *dst)
{
  for (size_t p = 0; p < kf; p++) {
    float *d = dst + p * ld;
    for (size_t j = 0; j < m; j++)
      d[j] = src[j * kf + p];
    for (size_t j = m; j < ld; j++)
      d[j] = 0.0f;
  }
}

void spdi_pw_packb(const spdi_pw *pw, const struct spdi_ukernel *u, const float *b, size_t n,
                   size_t tile, float *bp)
{
  const size_t kf = pw->kf, per = tile_panels(u, tile), pb = panel_b(pw, u);
  for (size_t t0 = 0, t = 0; t0 < n; t0 += tile, t++) {
    const size_t T = n - t0 < tile ? n - t0 : tile;
    for (size_t q = 0; q * u->nr < T; q++) {
      const size_t j0 = q * u->nr, m = T - j0 < u->nr ? T - j0 : u->nr;
      pack_panel(b + (t0 + j0) * kf, kf, m, u->packnr, bp + (t * per + q) * pb);
    }
  }
}

void spdi_pw_packa(const spdi_pw *pw, const struct spdi_ukernel *u, const float *a, size_t R,
                   float *ap)
{
  const size_t kf = pw->kf, pa = panel_a(pw, u);
  for (size_t q = 0; q * u->mr < R; q++) {
    const size_t i0 = q * u->mr, m = R - i0 < u->mr ? R - i0 : u->mr;
    pack_panel(a + i0 * kf, kf, m, u->packmr, ap + q * pa);
  }
}

void spdi_pw_logits_packed(const spdi_pw *pw, const struct spdi_ukernel *u, const float *ap,
                           size_t R, const float *bp, size_t tile, size_t t, size_t T,
                           float *L)
{
  const size_t pa = panel_a(pw, u), pb = panel_b(pw, u);
  const float *bt = bp + t * tile_panels(u, tile) * pb;
  /* B panel outer (it stays in L1 across the A panels), as BLIS's
   * macro-kernel does; every tile of L is written once (beta 0). */
  for (size_t q = 0; q * u->nr < T; q++) {
    const size_t j0 = q * u->nr, n = T - j0 < u->nr ? T - j0 : u->nr;
    for (size_t v = 0; v * u->mr < R; v++) {
      const size_t i0 = v * u->mr, m = R - i0 < u->mr ? R - i0 : u->mr;
      spdi_ukernel_run(u, m, n, pw->kf, ap + v * pa, bt + q * pb, L + i0 * T + j0,
                       (ptrdiff_t)T, 1, false);
    }
  }
}
