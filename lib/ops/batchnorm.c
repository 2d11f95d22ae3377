/* Batch normalisation over dimension 1, training and inference modes, with
 * PyTorch's running-statistics update, alone or followed by a ReLU in the
 * same op (spd_batch_norm_relu). Channel statistics and gradient sums are
 * accumulated in double in a fixed order, image by image over one range
 * of channels per thread.
 *
 * The fused ReLU saves five passes over the tensor (the ReLU's read and
 * write forward, its two reads and a write backward): its backward
 * recomputes the batch norm's output from x with the forward's exact float
 * expression (bn_affine, bn_out) instead of reading it, so the mask, and
 * every value and gradient, equal those of relu(batch_norm(x)) bit for
 * bit. The input gradient's pass can be left to the convolution that
 * produced the input, which runs it a group of images at a time
 * (grad_deferred, spdi_bn_grad_write). */
#include "tape_impl.h"
#include "vmath.h"

#include <math.h>
#include <string.h>

/* iarg: 0 has gamma, 1 has beta, 2 training, 3 running_mean, 4 running_var,
 * 5 followed by a ReLU.
 * farg: 0 momentum, 1 eps. ptr: the params store (may be NULL).
 * saved: mean[C] then invstd[C], the statistics used by the forward. */

static int bn_shape(spd_tape *t, spd_tensor *y)
{
  const spd_tensor *x = y->in[0];
  const bool training = y->iarg[2] != 0;
  spd_params *p = y->ptr;
  const float momentum = y->farg[0], eps = y->farg[1];
  char sx[64], sg[64];
  if (x->ndim != 2 && x->ndim != 4)
    return spdi_tape_fail(t, SPD_E_SHAPE, "input %s must be 2-D (N x C) or 4-D (NCHW)",
                          spdi_shape_str(x, sx));
  const size_t C = x->shape[1], M = x->n / C;
  for (int k = 1; k < y->nin; k++) {
    const spd_tensor *a = y->in[k];
    if (a->ndim != 1 || a->shape[0] != C)
      return spdi_tape_fail(t, SPD_E_SHAPE, "%s %s must be 1-D with %zu values for input %s",
                            k == 1 && y->iarg[0] ? "gamma" : "beta", spdi_shape_str(a, sg), C,
                            spdi_shape_str(x, sx));
  }
  if (training && M < 2)
    return spdi_tape_fail(t, SPD_E_SHAPE, "input %s has one value per channel; training "
                          "needs more", spdi_shape_str(x, sx));
  if (!(momentum >= 0.0f && momentum <= 1.0f) || !(eps > 0.0f && isfinite(eps)))
    return spdi_tape_fail(t, SPD_E_INVALID, "momentum %g must be in [0, 1] and eps %g > 0",
                          (double)momentum, (double)eps);
  if (p == NULL && !training)
    return spdi_tape_fail(t, SPD_E_INVALID, "inference needs the store of running statistics");
  if (p != NULL) {
    const size_t idx[2] = { (size_t)y->iarg[3], (size_t)y->iarg[4] };
    for (int k = 0; k < 2; k++) {
      size_t n = spd_params_size(p, idx[k]);
      if (n != C)
        return spdi_tape_fail(t, SPD_E_INVALID,
                              "running %s (entry %zu, %zu values) must have %zu values",
                              k ? "var" : "mean", idx[k], n, C);
    }
    if (idx[0] == idx[1])
      return spdi_tape_fail(t, SPD_E_INVALID, "running mean and var are the same entry");
  }
  y->ndim = x->ndim;
  memcpy(y->shape, x->shape, sizeof y->shape);
  return SPD_OK;
}

static const float *bn_gamma(const spd_tensor *y)
{
  return y->iarg[0] ? y->in[1]->data : NULL;
}

static const float *bn_beta(const spd_tensor *y)
{
  return y->iarg[1] ? y->in[1 + (y->iarg[0] != 0)]->data : NULL;
}

/* The channel's affine map x -> x sc + sh that the forward applies. */
static inline void bn_affine(const spd_tensor *y, const float *mean, const float *invstd,
                             size_t c, float *sc, float *sh)
{
  const float *gamma = bn_gamma(y), *beta = bn_beta(y);
  *sc = invstd[c] * (gamma != NULL ? gamma[c] : 1.0f);
  *sh = (beta != NULL ? beta[c] : 0.0f) - mean[c] * *sc;
}

/* The batch norm's output for x; forward and backward must both use this
 * expression so that the fused ReLU's mask is the same in each. */
static inline float bn_out(float x, float sc, float sh) { return x * sc + sh; }

/* The gradient reaching the batch norm: dy, or dy masked by the fused
 * ReLU (d is loaded by the caller: no load under a condition). */
static inline float bn_dy(bool relu, float x, float sc, float sh, float d)
{
  return relu ? spdi_pick(bn_out(x, sc, sh) > 0.0f, d, 0.0f) : d;
}

/* ---- kernels ----------------------------------------------------------------
 * Compiled for AVX-512, AVX2 and the baseline (SPDI_CLONES): with the
 * tensor in cache the double sums make these loops compute-bound, and SSE2
 * converts and adds two doubles at a time. A channel's sums go through
 * SPDI_LANES partial sums (element j of each row to lane j mod LANES, a
 * row's last partial chunk to the first lanes), added in lane order at the
 * end, and ISO C mode contracts no FMAs, so every clone gives the same
 * bits. The others work on one (n, c) row of n values. */

/* The partial sums of a channel (struct bn_lanes) stay in registers
 * while the rows_* kernels run. bn_sums() walks a tensor of long rows in
 * memory order, image by image over every channel, one row per call: a
 * channel's rows lie C n floats apart, and walking them one channel at a
 * time restarted the hardware prefetchers at every row (a 4 KiB row is a
 * page; 10-15 GB/s against the 30 of a plain pass). Short rows share
 * pages, and it walks those a channel at a time, all of its rows in one
 * call. Each lane receives its values in the order rows, then columns. */
struct bn_lanes {
  double s1[SPDI_LANES], s2[SPDI_LANES];
};

/* Adds `rows` rows of n values, `stride` apart, to a channel's sums of
 * (x - k) and (x - k)^2. */
SPDI_CLONES static void rows_moments(const float *x, size_t rows, size_t stride, size_t n,
                                     double k, struct bn_lanes *restrict a)
{
  struct bn_lanes b = *a;
  for (size_t r = 0; r < rows; r++, x += stride) {
    size_t j = 0;
    for (; j + SPDI_LANES <= n; j += SPDI_LANES) {
#pragma omp simd
      for (size_t l = 0; l < SPDI_LANES; l++) {
        const double d = x[j + l] - k;
        b.s1[l] += d;
        b.s2[l] += d * d;
      }
    }
    for (size_t l = 0; j < n; j++, l++) {
      const double d = x[j] - k;
      b.s1[l] += d;
      b.s2[l] += d * d;
    }
  }
  *a = b;
}

/* A channel's two sums from its lanes, added in lane order. */
static void lane_totals(const struct bn_lanes *a, double s[2])
{
  s[0] = s[1] = 0;
  for (size_t l = 0; l < SPDI_LANES; l++) {
    s[0] += a->s1[l];
    s[1] += a->s2[l];
  }
}

SPDI_CLONES static void row_apply(const float *x, float *y, size_t n, float sc, float sh,
                                  bool relu)
{
  if (relu) {
#pragma omp simd
    for (size_t j = 0; j < n; j++) {
      const float v = bn_out(x[j], sc, sh);
      y[j] = v > 0.0f ? v : 0.0f; /* as spd_relu */
    }
  } else {
#pragma omp simd
    for (size_t j = 0; j < n; j++)
      y[j] = bn_out(x[j], sc, sh);
  }
}

/* A channel's constants for its rows' backward. */
struct bn_chan {
  float sc, sh, mu; /* the forward's affine map and mean */
  float mdy, mdx;   /* training: mean(dy), mean(dy xhat) invstd */
  bool relu, training;
};

/* Adds `rows` rows to a channel's sums of d and d (x - mu), d the
 * gradient reaching the batch norm, as rows_moments(); dy's rows lie
 * dstride apart (0: one row that every row reads). */
SPDI_CLONES static void rows_grad_sums(const float *x, const float *dy, size_t rows,
                                       size_t stride, size_t dstride, size_t n,
                                       const struct bn_chan *ch, struct bn_lanes *restrict a)
{
  const float sc = ch->sc, sh = ch->sh, mu = ch->mu;
  const bool relu = ch->relu;
  struct bn_lanes b = *a;
  for (size_t r = 0; r < rows; r++, x += stride, dy += dstride) {
    size_t j = 0;
    for (; j + SPDI_LANES <= n; j += SPDI_LANES) {
#pragma omp simd
      for (size_t l = 0; l < SPDI_LANES; l++) {
        const float d = bn_dy(relu, x[j + l], sc, sh, dy[j + l]);
        b.s1[l] += d;
        b.s2[l] += (double)d * (x[j + l] - mu);
      }
    }
    for (size_t l = 0; j < n; j++, l++) {
      const float d = bn_dy(relu, x[j], sc, sh, dy[j]);
      b.s1[l] += d;
      b.s2[l] += (double)d * (x[j] - mu);
    }
  }
  *a = b;
}

/* gx = (or += unless first) sc (d - mdy - (x - mu) mdx) in training,
 * sc d in inference. */
SPDI_CLONES static void row_grad_input(const float *x, const float *dy, float *gx, size_t n,
                                       const struct bn_chan *ch, bool first)
{
  const float k = ch->sc, sh = ch->sh, mu = ch->mu, mdy = ch->mdy, mdx = ch->mdx;
  const bool relu = ch->relu;
  if (ch->training && first) {
#pragma omp simd
    for (size_t j = 0; j < n; j++)
      gx[j] = k * (bn_dy(relu, x[j], k, sh, dy[j]) - mdy - (x[j] - mu) * mdx);
  } else if (ch->training) {
#pragma omp simd
    for (size_t j = 0; j < n; j++)
      gx[j] += k * (bn_dy(relu, x[j], k, sh, dy[j]) - mdy - (x[j] - mu) * mdx);
  } else if (first) {
#pragma omp simd
    for (size_t j = 0; j < n; j++)
      gx[j] = k * bn_dy(relu, x[j], k, sh, dy[j]);
  } else {
#pragma omp simd
    for (size_t j = 0; j < n; j++)
      gx[j] += k * bn_dy(relu, x[j], k, sh, dy[j]);
  }
}

/* ---- the op ---------------------------------------------------------------- */

/* One of the two elementwise passes: the forward's output (sums NULL) or
 * the input gradient, row by row. */
struct spdi_bn_pass {
  const spd_tensor *y;
  const float *mean, *invstd;
  const double *sums; /* backward: per channel sum dy, then sum dy xhat */
  const float *dy;    /* backward: y's gradient, or one row of its value */
  float *out;         /* y's data, or x's gradient */
  size_t C, inner, M;
  bool first;  /* out is assigned rather than added to */
  bool dy_row; /* dy is one row of a uniform gradient, read by every row */
};

/* Row r of the pass (channel r mod C of image r / C) into dst. */
static void pass_row(const struct spdi_bn_pass *p, size_t r, float *dst)
{
  const spd_tensor *y = p->y;
  const size_t c = r % p->C, o = r * p->inner;
  const float *x = y->in[0]->data;
  const bool relu = y->iarg[5] != 0;
  struct bn_chan ch = { .relu = relu, .training = y->iarg[2] != 0 };
  bn_affine(y, p->mean, p->invstd, c, &ch.sc, &ch.sh);
  if (p->sums != NULL) {
    /* dx = k (dy - mean(dy) - xhat mean(dy xhat)), k = gamma invstd */
    ch.mu = p->mean[c];
    ch.mdy = (float)(p->sums[c] / (double)p->M);
    ch.mdx = (float)(p->sums[p->C + c] / (double)p->M) * p->invstd[c];
  }
  if (p->sums == NULL)
    row_apply(x + o, dst, p->inner, ch.sc, ch.sh, relu);
  else
    row_grad_input(x + o, p->dy + (p->dy_row ? 0 : o), dst, p->inner, &ch, p->first);
}

/* The rows in one contiguous range per thread: with 2 threads, the halves
 * of the batch that the convolution before it wrote and bn_sums() read on
 * the same cores. Rows handed out dynamically on 16 MiB and more (the
 * encoder's first layer at width 1024) had been 1.01-1.08 times faster on
 * a Zen 4 VM, whose threads waited for each other at the end of the pass;
 * on the Zen 5 VM of stop 31, whose two vCPUs pass a cache line back and
 * forth in 400-500 ns (bench_layers --round-trip), each thread then read
 * rows the other core had written, and the fixed ranges ran that layer's
 * 2-thread step in 0.936 of the time (9 alternated pairs, 0.93-0.97;
 * dec3 and dec4 at width 1024 even). Each row is computed the same way
 * wherever it runs: same bits. */
static void run_pass(const struct spdi_bn_pass *p)
{
  const size_t rows = p->y->n / p->inner;
  SPDI_PARALLEL_FOR(spdi_par_threads(p->y->n), r, rows,
                    pass_row(p, r, p->out + r * p->inner););
}

/* Rows [i0, i0 + rows) of channel c of y's input added to its sums a:
 * with dy NULL its moments, shifted by the channel's first value;
 * otherwise the gradient sums of the backward, for the forward's mean and
 * invstd (dy_row: dy is one row that every row reads). */
static void channel_rows(const spd_tensor *y, const float *dy, bool dy_row,
                         const float *mean, const float *invstd, size_t c, size_t i0,
                         size_t rows, struct bn_lanes *a)
{
  const spd_tensor *x = y->in[0];
  const size_t C = x->shape[1], inner = x->n / (x->shape[0] * C);
  const size_t off = (i0 * C + c) * inner, stride = C * inner;
  const float *xd = x->data;
  if (dy == NULL) {
    rows_moments(xd + off, rows, stride, inner, xd[c * inner], a);
    return;
  }
  struct bn_chan ch = { .mu = mean[c], .relu = y->iarg[5] != 0 };
  bn_affine(y, mean, invstd, c, &ch.sc, &ch.sh);
  rows_grad_sums(xd + off, dy_row ? dy : dy + off, rows, stride, dy_row ? 0 : stride,
                 inner, &ch, a);
}

/* Rows of at least this many floats (1 KiB) are walked in memory order. */
#define BN_LONG_ROW 256
/* ... in this many blocks of images at most (BN_BLOCKS), each summed apart */
#define BN_BLOCKS 8

/* Adds lanes b to a, lane by lane. */
static void lanes_add(struct bn_lanes *a, const struct bn_lanes *b)
{
  for (size_t l = 0; l < SPDI_LANES; l++) {
    a->s1[l] += b->s1[l];
    a->s2[l] += b->s2[l];
  }
}

/* Every channel's two sums (channel_rows() says which) into out[c] and
 * out[C + c], in one of the two walks above. Long rows go in blocks of
 * images, a block's lanes per channel summed apart and the blocks added
 * in order: the threads take contiguous ranges of blocks, so each reads
 * the images the convolution before it wrote on the same core (with 2
 * threads, the first and second half of the batch; channel ranges had
 * each thread read half of its data from the other core's cache). Short
 * rows go a range of channels per thread. The blocks and the order of
 * every addition depend on the shape alone: the same sums on any number
 * of threads. */
static int bn_sums(spd_tape *t, const spd_tensor *y, const float *dy, bool dy_row,
                   const float *mean, const float *invstd, double *out)
{
  const spd_tensor *x = y->in[0];
  const size_t N = x->shape[0], C = x->shape[1], inner = x->n / (N * C);
  if (inner < BN_LONG_ROW) {
    const size_t T = (size_t)spdi_par_threads(x->n), parts = T < C ? T : C;
    SPDI_PARALLEL_FOR((int)parts, b, parts, {
      for (size_t c = C * b / parts; c < C * (b + 1) / parts; c++) {
        struct bn_lanes one = { { 0 }, { 0 } };
        channel_rows(y, dy, dy_row, mean, invstd, c, 0, N, &one);
        double s[2];
        lane_totals(&one, s);
        out[c] = s[0];
        out[C + c] = s[1];
      }
    });
    return SPD_OK;
  }
  const size_t nb = N < BN_BLOCKS ? N : BN_BLOCKS;
  struct bn_lanes *acc = spdi_tape_alloc(t, nb * C * sizeof *acc);
  if (acc == NULL)
    return spd_tape_status(t);
  const size_t T = (size_t)spdi_par_threads(x->n), parts = T < nb ? T : nb;
  SPDI_PARALLEL_FOR((int)parts, k, nb, {
    struct bn_lanes *a = acc + k * C;
    memset(a, 0, C * sizeof *a);
    for (size_t i = N * k / nb; i < N * (k + 1) / nb; i++)
      for (size_t c = 0; c < C; c++)
        channel_rows(y, dy, dy_row, mean, invstd, c, i, 1, a + c);
  });
  for (size_t c = 0; c < C; c++) {
    for (size_t k = 1; k < nb; k++)
      lanes_add(acc + c, acc + k * C + c);
    double s[2];
    lane_totals(acc + c, s);
    out[c] = s[0];
    out[C + c] = s[1];
  }
  return SPD_OK;
}

static int bn_forward(spd_tape *t, spd_tensor *y)
{
  const spd_tensor *x = y->in[0];
  const size_t N = x->shape[0], C = x->shape[1], inner = x->n / (N * C), M = N * inner;
  const bool training = y->iarg[2] != 0;
  spd_params *p = y->ptr;
  const float momentum = y->farg[0], eps = y->farg[1];
  float *stats = spdi_tape_alloc(t, 2 * C * sizeof *stats);
  if (stats == NULL)
    return spd_tape_status(t);
  float *mean = stats, *invstd = stats + C;
  float *rm = p != NULL ? spd_params_data(p, (size_t)y->iarg[3]) : NULL;
  float *rv = p != NULL ? spd_params_data(p, (size_t)y->iarg[4]) : NULL;
  const float *xd = x->data;
  if (!training) {
    for (size_t c = 0; c < C; c++)
      if (!(rv[c] >= 0.0f) || !isfinite(rv[c]) || !isfinite(rm[c]))
        return spdi_tape_fail(t, SPD_E_DOMAIN, "running statistics of channel %zu "
                              "(mean %g, var %g) are not usable", c, (double)rm[c],
                              (double)rv[c]);
    for (size_t c = 0; c < C; c++) {
      mean[c] = rm[c];
      invstd[c] = (float)(1.0 / sqrt((double)rv[c] + eps));
    }
  } else {
    double *m1 = spdi_tape_alloc(t, 2 * C * sizeof *m1);
    if (m1 == NULL || bn_sums(t, y, NULL, false, NULL, NULL, m1) != SPD_OK)
      return spd_tape_status(t);
    for (size_t c = 0; c < C; c++) {
      /* One pass, shifted by the channel's first value k: the sum of
       * squared deviations is m2 - m1^2 / M, which loses to cancellation
       * only about (mean - k)^2 / var times double's rounding (PyTorch uses
       * Welford's one-pass update to the same end). */
      const double k = xd[c * inner], m[2] = { m1[c], m1[C + c] };
      const double d = m[0] / (double)M, ss = fmax(m[1] - m[0] * d, 0.0);
      const double mu = k + d, var = ss / (double)M;
      mean[c] = (float)mu;
      invstd[c] = (float)(1.0 / sqrt(var + eps));
      if (rm != NULL) {
        /* in double, as PyTorch's CPU kernel */
        rm[c] = (float)(momentum * mu + (1.0 - momentum) * rm[c]);
        rv[c] = (float)(momentum * (ss / (double)(M - 1)) + (1.0 - momentum) * rv[c]);
      }
    }
  }
  const struct spdi_bn_pass pass = {
    .y = y, .mean = mean, .invstd = invstd, .out = y->data,
    .C = C, .inner = inner, .M = M,
  };
  run_pass(&pass);
  y->saved = stats;
  return SPD_OK;
}

static int bn_backward(spd_tape *t, spd_tensor *y)
{
  spd_tensor *x = y->in[0];
  const size_t N = x->shape[0], C = x->shape[1], inner = x->n / (N * C), M = N * inner;
  const float *mean = y->saved, *invstd = (const float *)y->saved + C;
  spd_tensor *tg = y->iarg[0] ? y->in[1] : NULL;
  spd_tensor *tb = y->iarg[1] ? y->in[1 + (y->iarg[0] != 0)] : NULL;
  /* A uniform gradient (y summed: spd_sum, spd_mean) is read from one row
   * of its value, which stays in L1 or L2, instead of being written out
   * over the whole tensor and read back twice; same values, same bits. */
  const bool dy_row = y->grad_uniform;
  const float *dy = y->grad;
  if (dy_row) {
    float *row = spdi_tape_alloc(t, inner * sizeof *row);
    if (row == NULL)
      return spd_tape_status(t);
    for (size_t j = 0; j < inner; j++)
      row[j] = y->grad_const;
    dy = row;
  }
  /* sums[c] = sum dy, sums[C + c] = sum dy xhat */
  double *sums = spdi_tape_alloc(t, 2 * C * sizeof *sums);
  if (sums == NULL || bn_sums(t, y, dy, dy_row, mean, invstd, sums) != SPD_OK)
    return spd_tape_status(t);
  for (size_t c = 0; c < C; c++)
    sums[C + c] *= invstd[c];
  if (tg != NULL && tg->requires_grad) {
    const bool first = spdi_grad_first(tg);
    for (size_t c = 0; c < C; c++)
      tg->grad[c] = (first ? 0.0f : tg->grad[c]) + (float)sums[C + c];
  }
  if (tb != NULL && tb->requires_grad) {
    const bool first = spdi_grad_first(tb);
    for (size_t c = 0; c < C; c++)
      tb->grad[c] = (first ? 0.0f : tb->grad[c]) + (float)sums[c];
  }
  if (!x->requires_grad)
    return SPD_OK;
  /* Where this op writes x's gradient first and x's producer reads it a
   * group of images at a time (reads_deferred), the pass is left for the
   * producer to run on each group just before use: a convolution's weight
   * gradient then reads its output gradient from cache instead of memory,
   * and this op writes nothing. */
  if (x->grad_pending && !x->grad_external && spdi_ops[x->op].reads_deferred) {
    struct spdi_bn_pass *d = spdi_tape_alloc(t, sizeof *d);
    if (d == NULL)
      return spd_tape_status(t);
    *d = (struct spdi_bn_pass){ .y = y, .mean = mean, .invstd = invstd, .sums = sums, .dy = dy,
                                .C = C, .inner = inner, .M = M, .first = true,
                                .dy_row = dy_row };
    x->grad_pending = false;
    x->grad_deferred = d;
    return SPD_OK;
  }
  const bool first = spdi_grad_first(x);
  const struct spdi_bn_pass pass = {
    .y = y, .mean = mean, .invstd = invstd, .sums = sums, .dy = dy, .out = x->grad,
    .C = C, .inner = inner, .M = M, .first = first, .dy_row = dy_row,
  };
  run_pass(&pass);
  return SPD_OK;
}

void spdi_grad_undefer(spd_tensor *x)
{
  struct spdi_bn_pass pass = *x->grad_deferred;
  pass.out = x->grad;
  run_pass(&pass);
  x->grad_deferred = NULL;
}

void spdi_bn_grad_write(const struct spdi_bn_pass *d, float *out, size_t n0, size_t images,
                        int nthreads)
{
  const size_t r0 = n0 * d->C, rows = images * d->C, inner = d->inner;
  SPDI_PARALLEL_FOR(nthreads, i, rows, pass_row(d, r0 + i, out + i * inner););
}

int spdi_op_batch_norm(spd_tape *t, spd_tensor *y, enum spdi_action action)
{
  switch (action) {
  case SPDI_SHAPE: return bn_shape(t, y);
  case SPDI_FORWARD: return bn_forward(t, y);
  case SPDI_BACKWARD: return bn_backward(t, y);
  }
  return SPD_OK;
}

static spd_tensor *bn_node(spd_tape *t, enum spdi_op op, spd_tensor *x, spd_tensor *gamma,
                           spd_tensor *beta, spd_params *p, size_t running_mean,
                           size_t running_var, int training, float momentum, float eps)
{
  spd_tensor *in[3] = { x };
  int nin = 1;
  if (gamma != NULL)
    in[nin++] = gamma;
  if (beta != NULL)
    in[nin++] = beta;
  struct spdi_args a = {
    .i = { gamma != NULL, beta != NULL, training != 0, (int64_t)running_mean,
           (int64_t)running_var, op == SPDI_OP_BATCH_NORM_RELU },
    .f = { momentum, eps },
    .ptr = p,
  };
  return spdi_node(t, op, nin, in, &a);
}

spd_tensor *spd_batch_norm(spd_tape *t, spd_tensor *x, spd_tensor *gamma, spd_tensor *beta,
                           spd_params *p, size_t running_mean, size_t running_var,
                           int training, float momentum, float eps)
{
  return bn_node(t, SPDI_OP_BATCH_NORM, x, gamma, beta, p, running_mean, running_var,
                 training, momentum, eps);
}

spd_tensor *spd_batch_norm_relu(spd_tape *t, spd_tensor *x, spd_tensor *gamma,
                                spd_tensor *beta, spd_params *p, size_t running_mean,
                                size_t running_var, int training, float momentum, float eps)
{
  return bn_node(t, SPDI_OP_BATCH_NORM_RELU, x, gamma, beta, p, running_mean, running_var,
                 training, momentum, eps);
}
