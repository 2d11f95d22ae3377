/* Spread sampling, split into raw draws and the noise map so that callers
 * can differentiate through it (reparameterisation). */
#include "spread_internal.h"
#include "gemm.h"

#include <string.h>

/* Rows per work chunk: a multiple of 4, so that drawing chunk by chunk
 * consumes the generator exactly as one call for all rows would (rng.h:
 * a call drops the unused words of its last block). */
#define CHUNK_ROWS 256
/* Rows per partial sum of parameter gradients: fixed, so the order of the
 * additions never depends on the thread count. */
#define REDUCE_ROWS 512

/* Validate the arguments common to the noise functions. */
static int check_rows(const char *func, const spd_spread *s, size_t n, size_t width,
                      size_t *count)
{
  int st = spdi_check_spread(func, s);
  if (st != SPD_OK)
    return st;
  if (n == 0)
    return spdi_set_error(SPD_E_INVALID, func, "n is 0");
  size_t bytes;
  if (!spdi_size_mul(n, width, count) || !spdi_size_mul(*count, sizeof(double), &bytes))
    return spdi_set_error(SPD_E_OVERFLOW, func, "n %zu x width %zu overflows", n, width);
  return SPD_OK;
}

void spdi_spread_transform(const spd_spread *s, const float *raw, size_t n, float *noise)
{
  const size_t dim = s->dim, rank = s->rank, width = dim + rank;
  if (s->kind == SPD_SPREAD_GAUSSIAN_LOWRANK) {
    /* L eta for all rows at once: (n x rank) (rank x dim). */
    spdi_sgemm(false, true, n, dim, rank, 1.0f, raw + dim, width, s->L, rank, 0.0f,
               noise, dim);
    const float sg = (float)s->sigma;
    for (size_t i = 0; i < n; i++)
      for (size_t j = 0; j < dim; j++)
        noise[i * dim + j] += sg * raw[i * width + j];
    return;
  }
  if (s->scales) {
    for (size_t i = 0; i < n; i++)
      for (size_t j = 0; j < dim; j++)
        noise[i * dim + j] = (float)s->scales[j] * raw[i * width + j];
    return;
  }
  const float sg = (float)s->sigma;
  for (size_t i = 0; i < n * dim; i++)
    noise[i] = sg * raw[i];
}

/* y = x + T(raw), chunk by chunk through a scratch buffer (y may be x), or
 * through y itself when scratch is NULL (y must then not overlap x). */
static void apply_chunks(const spd_spread *s, const float *x, const float *raw, size_t n,
                         float *y, float *scratch)
{
  const size_t dim = s->dim, width = dim + s->rank;
  for (size_t r0 = 0; r0 < n; r0 += CHUNK_ROWS) {
    size_t rows = n - r0 < CHUNK_ROWS ? n - r0 : CHUNK_ROWS;
    const float *xc = x + r0 * dim;
    float *yc = y + r0 * dim;
    float *noise = scratch ? scratch : yc;
    spdi_spread_transform(s, raw + r0 * width, rows, noise);
    for (size_t i = 0; i < rows * dim; i++)
      yc[i] = xc[i] + noise[i];
  }
}

static int draw_raw(const spd_spread *s, spd_rng *rng, float *raw, size_t count)
{
  return spdi_spread_is_gaussian(s) ? spd_rng_normal(rng, raw, count)
                                    : spd_rng_laplace(rng, raw, count);
}

int spd_spread_draw_noise(const spd_spread *s, spd_rng *rng, size_t n, float *raw)
{
  size_t count = 0;
  int st = check_rows(__func__, s, n, spd_spread_noise_width(s), &count);
  if (st != SPD_OK)
    return st;
  if (rng == NULL || raw == NULL)
    return SPDI_FAIL(SPD_E_INVALID, "%s is NULL", rng == NULL ? "rng" : "raw");
  return draw_raw(s, rng, raw, count);
}

/* Does [a, a + na) overlap [b, b + nb)? (floats) */
static bool overlaps(const float *a, size_t na, const float *b, size_t nb)
{
  uintptr_t pa = (uintptr_t)a, pb = (uintptr_t)b;
  return pa < pb + nb * sizeof(float) && pb < pa + na * sizeof(float);
}

int spd_spread_apply_noise(const spd_spread *s, const float *x, const float *raw, size_t n,
                           float *y)
{
  size_t count = 0, rcount = 0;
  int st = check_rows(__func__, s, n, spd_spread_noise_width(s), &rcount);
  if (st == SPD_OK)
    st = check_rows(__func__, s, n, s->dim, &count);
  if (st != SPD_OK)
    return st;
  if (x == NULL || raw == NULL || y == NULL)
    return SPDI_FAIL(SPD_E_INVALID, "%s is NULL", x == NULL ? "x" : raw == NULL ? "raw" : "y");
  if (overlaps(y, count, raw, rcount))
    return SPDI_FAIL(SPD_E_INVALID, "y overlaps raw");
  if (y != x && overlaps(y, count, x, count))
    return SPDI_FAIL(SPD_E_INVALID, "y overlaps x without being equal to it");
  if (!spdi_all_finite(x, count) || !spdi_all_finite(raw, rcount))
    return SPDI_FAIL(SPD_E_DOMAIN, "%s contains NaN or Inf",
                     spdi_all_finite(x, count) ? "raw" : "x");
  if (y != x) { /* the noise goes to y first: no scratch, the same sums */
    apply_chunks(s, x, raw, n, y, NULL);
    return SPD_OK;
  }
  float *scratch = spdi_malloc(CHUNK_ROWS * s->dim * sizeof *scratch);
  if (scratch == NULL)
    return SPDI_FAIL(SPD_E_NOMEM, "cannot allocate %d rows of scratch", CHUNK_ROWS);
  apply_chunks(s, x, raw, n, y, scratch);
  spdi_free(scratch);
  return SPD_OK;
}

int spd_spread_sample(const spd_spread *s, spd_rng *rng, const float *x, size_t n, float *y)
{
  size_t count = 0, rcount = 0;
  int st = check_rows(__func__, s, n, spd_spread_noise_width(s), &rcount);
  if (st == SPD_OK)
    st = check_rows(__func__, s, n, s->dim, &count);
  if (st != SPD_OK)
    return st;
  if (rng == NULL || x == NULL || y == NULL)
    return SPDI_FAIL(SPD_E_INVALID, "%s is NULL", rng == NULL ? "rng" : x == NULL ? "x" : "y");
  if (y != x && overlaps(y, count, x, count))
    return SPDI_FAIL(SPD_E_INVALID, "y overlaps x without being equal to it");
  if (!spdi_all_finite(x, count))
    return SPDI_FAIL(SPD_E_DOMAIN, "x contains NaN or Inf");
  const size_t width = spd_spread_noise_width(s);
  float *raw = spdi_malloc(CHUNK_ROWS * width * sizeof *raw);
  float *scratch = spdi_malloc(CHUNK_ROWS * s->dim * sizeof *scratch);
  if (raw == NULL || scratch == NULL) {
    spdi_free(raw);
    spdi_free(scratch);
    return SPDI_FAIL(SPD_E_NOMEM, "cannot allocate %d rows of scratch", CHUNK_ROWS);
  }
  for (size_t r0 = 0; r0 < n; r0 += CHUNK_ROWS) {
    size_t rows = n - r0 < CHUNK_ROWS ? n - r0 : CHUNK_ROWS;
    /* Cannot fail: every argument was checked above. */
    (void)draw_raw(s, rng, raw, rows * width);
    apply_chunks(s, x + r0 * s->dim, raw, rows, y + r0 * s->dim, scratch);
  }
  spdi_free(raw);
  spdi_free(scratch);
  return SPD_OK;
}

size_t spdi_spread_noise_grad_work(const spd_spread *s, size_t n)
{
  size_t count = 0;
  const size_t nchunks = n / REDUCE_ROWS + 1;
  if (!spdi_size_mul(nchunks, s->dim, &count) || count > SIZE_MAX / sizeof(double))
    return 0;
  return count;
}

int spdi_spread_apply_noise_grad(const char *func, const spd_spread *s, const float *raw,
                                 size_t n, const float *grad_y, float *grad_params, double *part)
{
  size_t count = 0, rcount = 0;
  int st = check_rows(func, s, n, spd_spread_noise_width(s), &rcount);
  if (st == SPD_OK)
    st = check_rows(func, s, n, s->dim, &count);
  if (st != SPD_OK)
    return st;
  if (raw == NULL || grad_y == NULL || grad_params == NULL)
    return spdi_set_error(SPD_E_INVALID, func, "%s is NULL",
                          raw == NULL ? "raw" : grad_y == NULL ? "grad_y" : "grad_params");
  if (!spdi_all_finite(raw, rcount) || !spdi_all_finite(grad_y, count))
    return spdi_set_error(SPD_E_DOMAIN, func, "%s contains NaN or Inf",
                          spdi_all_finite(raw, rcount) ? "grad_y" : "raw");
  const size_t dim = s->dim, rank = s->rank, width = dim + rank;
  /* Scale gradients: one partial vector per REDUCE_ROWS rows, summed in
   * chunk order. Isotropic kinds sum the per-dimension partials at the end. */
  const size_t nchunks = (n + REDUCE_ROWS - 1) / REDUCE_ROWS;
  double *own = NULL;
  if (part == NULL) {
    part = own = spdi_malloc(nchunks * dim * sizeof *part);
    if (part == NULL)
      return spdi_set_error(SPD_E_NOMEM, func, "cannot allocate %zu partial sums", nchunks);
  }
  memset(part, 0, nchunks * dim * sizeof *part);
  SPDI_PARALLEL_FOR(nchunks > 1 ? spdi_threads() : 1, c, nchunks, {
    size_t r1 = (c + 1) * REDUCE_ROWS < n ? (c + 1) * REDUCE_ROWS : n;
    double *p = part + c * dim;
    for (size_t i = c * REDUCE_ROWS; i < r1; i++)
      for (size_t j = 0; j < dim; j++)
        p[j] += (double)grad_y[i * dim + j] * raw[i * width + j];
  });
  double total = 0;
  for (size_t j = 0; j < dim; j++) {
    double acc = 0;
    for (size_t c = 0; c < nchunks; c++)
      acc += part[c * dim + j];
    if (s->scales)
      grad_params[j] = (float)acc;
    total += acc;
  }
  if (s->scales == NULL)
    grad_params[0] = (float)total;
  if (rank) { /* dl/dL = G^T Eta: (dim x n) (n x rank) */
    spdi_sgemm(true, false, dim, rank, n, 1.0f, grad_y, dim, raw + dim, width, 0.0f,
               grad_params + 1, rank);
  }
  spdi_free(own);
  return SPD_OK;
}

int spd_spread_apply_noise_grad(const spd_spread *s, const float *raw, size_t n,
                                const float *grad_y, float *grad_params)
{
  return spdi_spread_apply_noise_grad(__func__, s, raw, n, grad_y, grad_params, NULL);
}
