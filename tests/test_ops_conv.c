/* The convolution family and batch norm: forward against direct loops in
 * double, and central-difference gradient checks for every stride / pad /
 * output-pad combination the CelebA encoder and decoder use, odd sizes,
 * with and without bias; batch norm in training and inference mode. */
#include "gradcheck.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* As in test_ops.c: the worst error seen is well under these bounds (run
 * with SPDT_GRADCHECK_VERBOSE=1), and a gradient off by 0.3% fails. */
#define H 2e-3
#define RTOL 1e-3
#define ATOL 1e-4
/* Convolutions are linear in each input, so central differences have no
 * truncation error and a larger step only divides the rounding noise
 * (many outputs move with each input element) by more. */
#define H_CONV 1e-2

struct conv_case {
  int transpose;
  size_t n, c, h, w; /* input */
  size_t o, kh, kw;  /* output channels, kernel */
  int stride, pad, opad, bias;
};

static const struct conv_case cases[] = {
  /* conv2d: the encoder's 5x5 stride-2 'same' layer, on even and odd sizes */
  { 0, 2, 3, 8, 8, 4, 5, 5, 2, 2, 0, 1 },
  { 0, 2, 2, 7, 9, 3, 5, 5, 2, 2, 0, 1 },
  { 0, 1, 2, 6, 5, 3, 3, 3, 1, 1, 0, 0 },
  { 0, 2, 2, 5, 6, 2, 3, 2, 1, 0, 0, 1 },
  { 0, 1, 3, 7, 7, 2, 3, 3, 3, 1, 0, 0 },
  { 0, 1, 1, 4, 4, 2, 5, 5, 1, 3, 0, 1 }, /* pad wider than half the kernel */
  { 0, 2, 1, 6, 7, 4, 5, 5, 2, 2, 0, 1 }, /* few input channels: col2im input gradient */
  /* conv2d_transpose: the decoder's stride 2, pad 2, output pad 1 (4 -> 8),
   * its final stride 1, pad 2, and odd sizes / other combinations */
  { 1, 2, 3, 4, 4, 2, 5, 5, 2, 2, 1, 1 },
  { 1, 2, 3, 3, 5, 2, 5, 5, 2, 2, 1, 0 },
  { 1, 2, 2, 6, 6, 3, 5, 5, 1, 2, 0, 1 },
  { 1, 1, 2, 5, 5, 2, 5, 5, 1, 2, 0, 0 },
  { 1, 2, 2, 3, 4, 2, 3, 3, 2, 1, 0, 1 },
  { 1, 1, 2, 3, 3, 2, 4, 4, 3, 1, 2, 1 },
  { 1, 1, 3, 2, 3, 2, 5, 5, 2, 2, 0, 1 },
  /* few output channels (the decoder's RGB layer): GEMM + col2im form */
  { 1, 2, 12, 5, 5, 3, 5, 5, 1, 2, 0, 1 },
  { 1, 2, 4, 3, 4, 1, 5, 5, 2, 2, 1, 1 },
  /* kernels smaller than the stride: image pixels no tap reaches (stride
   * phases with nothing to sum) */
  { 0, 2, 3, 5, 6, 2, 1, 1, 2, 0, 0, 0 },
  { 1, 2, 2, 3, 4, 3, 2, 2, 3, 0, 2, 0 },
};
#define NCASES (sizeof cases / sizeof cases[0])

static void out_size(const struct conv_case *k, size_t *ho, size_t *wo)
{
  if (k->transpose) {
    *ho = (k->h - 1) * (size_t)k->stride + k->kh + (size_t)k->opad - 2 * (size_t)k->pad;
    *wo = (k->w - 1) * (size_t)k->stride + k->kw + (size_t)k->opad - 2 * (size_t)k->pad;
  } else {
    *ho = (k->h + 2 * (size_t)k->pad - k->kh) / (size_t)k->stride + 1;
    *wo = (k->w + 2 * (size_t)k->pad - k->kw) / (size_t)k->stride + 1;
  }
}

static spd_tensor *g_conv(spd_tape *t, spd_tensor **in, void *ctx)
{
  const struct conv_case *k = ctx;
  spd_tensor *b = k->bias ? in[2] : NULL;
  return k->transpose ? spd_conv2d_transpose(t, in[0], in[1], b, k->stride, k->pad, k->opad)
                      : spd_conv2d(t, in[0], in[1], b, k->stride, k->pad);
}

static void make_inputs(const struct conv_case *k, spdt_input in[3], unsigned seed)
{
  in[0] = spdt_input_make(1, seed, 4, k->n, k->c, k->h, k->w);
  in[1] = k->transpose ? spdt_input_make(1, seed + 1, 4, k->c, k->o, k->kh, k->kw)
                       : spdt_input_make(1, seed + 1, 4, k->o, k->c, k->kh, k->kw);
  in[2] = spdt_input_make(1, seed + 2, 1, k->o);
}

/* Direct definition in double: conv2d as cross-correlation, the transpose
 * as the scatter y[ci -> co] += x w at oh = ih s - pad + i. */
static double *reference(const struct conv_case *k, const spdt_input in[3])
{
  size_t ho, wo;
  out_size(k, &ho, &wo);
  double *y = calloc(k->n * k->o * ho * wo, sizeof *y);
  ck_assert_ptr_nonnull(y);
  const float *x = in[0].data, *w = in[1].data, *b = in[2].data;
  const long s = k->stride, p = k->pad;
  for (size_t n = 0; n < k->n; n++)
    for (size_t o = 0; o < k->o; o++)
      for (size_t q = 0; q < ho * wo; q++)
        y[(n * k->o + o) * ho * wo + q] = k->bias ? b[o] : 0;
  for (size_t n = 0; n < k->n; n++)
    for (size_t c = 0; c < k->c; c++)
      for (size_t o = 0; o < k->o; o++)
        for (size_t i = 0; i < k->kh; i++)
          for (size_t j = 0; j < k->kw; j++) {
            double wv = k->transpose ? w[((c * k->o + o) * k->kh + i) * k->kw + j]
                                     : w[((o * k->c + c) * k->kh + i) * k->kw + j];
            if (!k->transpose) {
              for (long oh = 0; oh < (long)ho; oh++)
                for (long ow = 0; ow < (long)wo; ow++) {
                  long ih = oh * s - p + (long)i, iw = ow * s - p + (long)j;
                  if (ih < 0 || iw < 0 || ih >= (long)k->h || iw >= (long)k->w)
                    continue;
                  y[((n * k->o + o) * ho + (size_t)oh) * wo + (size_t)ow] +=
                      wv * x[((n * k->c + c) * k->h + (size_t)ih) * k->w + (size_t)iw];
                }
            } else {
              for (long ih = 0; ih < (long)k->h; ih++)
                for (long iw = 0; iw < (long)k->w; iw++) {
                  long oh = ih * s - p + (long)i, ow = iw * s - p + (long)j;
                  if (oh < 0 || ow < 0 || oh >= (long)ho || ow >= (long)wo)
                    continue;
                  y[((n * k->o + o) * ho + (size_t)oh) * wo + (size_t)ow] +=
                      wv * x[((n * k->c + c) * k->h + (size_t)ih) * k->w + (size_t)iw];
                }
            }
          }
  return y;
}

START_TEST(conv_forward_matches_direct_loops)
{
  const struct conv_case *k = &cases[_i];
  spdt_input in[3];
  make_inputs(k, in, 100 + (unsigned)_i);
  double *want = reference(k, in);
  spd_tape *t = NULL;
  SPDT_OK(spd_tape_create(&t));
  spd_tensor *l[3];
  for (int j = 0; j < 3; j++)
    l[j] = spd_leaf(t, in[j].ndim, in[j].shape, in[j].data, 0);
  spd_tensor *y = g_conv(t, l, (void *)k);
  ck_assert_msg(y != NULL, "case %d: %s", _i, spd_tape_error(t));
  size_t shape[4], ho, wo;
  out_size(k, &ho, &wo);
  SPDT_OK(spd_tensor_shape(y, shape));
  ck_assert(shape[0] == k->n && shape[1] == k->o && shape[2] == ho && shape[3] == wo);
  const float *v = spd_tensor_data(y);
  for (size_t q = 0; q < spd_tensor_size(y); q++)
    SPDT_CLOSE(v[q], want[q], 1e-5, 1e-5); /* float sums of <= 75 terms of size 1 */
  free(want);
  spd_tape_free(t);
  for (int j = 0; j < 3; j++)
    spdt_input_free(&in[j]);
}
END_TEST

START_TEST(grad_conv)
{
  const struct conv_case *k = &cases[_i];
  spdt_input in[3];
  make_inputs(k, in, 200 + (unsigned)_i);
  char what[64];
  snprintf(what, sizeof what, "%s case %d", k->transpose ? "conv2d_transpose" : "conv2d", _i);
  spdt_gradcheck(what, k->bias ? 3 : 2, in, g_conv, (void *)k, H_CONV, RTOL, ATOL);
  for (int j = 0; j < 3; j++)
    spdt_input_free(&in[j]);
}
END_TEST

START_TEST(conv_batch_split_matches_whole_batch)
{
  /* The batch shares GEMMs whose column blocks and micro-tiles cut across
   * images, and the col2im form works on groups of images; each image's
   * output must still be exactly what it is alone (40 images of 64 x 64
   * span many column blocks and two groups). */
  const size_t n = 40, c = 12, h = 64, w = 64, o = 3; /* 12 -> 3: GEMM + col2im form */
  spd_tape *t = NULL;
  SPDT_OK(spd_tape_create(&t));
  float *x = malloc(n * c * h * w * sizeof *x), *wt = malloc(c * o * 25 * sizeof *wt);
  spdt_fill(x, n * c * h * w, 5, -1, 1, 0);
  spdt_fill(wt, c * o * 25, 6, -1, 1, 0);
  const size_t xs[4] = { n, c, h, w }, ws[4] = { c, o, 5, 5 }, x1[4] = { 1, c, h, w };
  spd_tensor *big = spd_conv2d_transpose(t, spd_leaf(t, 4, xs, x, 0),
                                         spd_leaf(t, 4, ws, wt, 0), NULL, 1, 2, 0);
  ck_assert_ptr_nonnull(big);
  const size_t per = o * h * w;
  for (size_t i = 0; i < n; i += 13) {
    spd_tensor *one = spd_conv2d_transpose(t, spd_leaf(t, 4, x1, x + i * c * h * w, 0),
                                           spd_leaf(t, 4, ws, wt, 0), NULL, 1, 2, 0);
    ck_assert_mem_eq(spd_tensor_data(one), spd_tensor_data(big) + i * per, per * sizeof(float));
  }
  spd_tape_free(t);
  free(x);
  free(wt);
}
END_TEST

/* ---- batch norm ---------------------------------------------------------- */

/* A store of C running means (entry 0) and variances (entry 1), from rm
 * and rv or, for NULL, zeros. */
static spd_params *bn_store(size_t C, const float *rm, const float *rv)
{
  spd_params *p = NULL;
  const size_t cs[1] = { C };
  SPDT_OK(spd_params_create(&p));
  SPDT_OK(spd_params_add(p, "rm", 1, cs, rm, 0, NULL));
  SPDT_OK(spd_params_add(p, "rv", 1, cs, rv, 0, NULL));
  return p;
}

struct bn_case {
  int ndim, training, affine, relu, add;
  spd_params *p; /* running statistics at indices 0 and 1 */
};

static spd_tensor *g_bn(spd_tape *t, spd_tensor **in, void *ctx)
{
  const struct bn_case *k = ctx;
  spd_tensor *y = (k->relu ? spd_batch_norm_relu : spd_batch_norm)(
      t, in[0], k->affine ? in[1] : NULL, k->affine ? in[2] : NULL, k->p, 0, 1, k->training,
      0.0f, 1e-5f);
  /* A non-linear head, so that the loss is not invariant to the
   * normalisation (sum of a normalised tensor has zero gradient). The
   * fused ReLU is one already, and squaring its output would hide its mask
   * (y^2 has zero gradient wherever the ReLU clips). With `add`, plus
   * x / 2, built after the batch norm: its backward runs first and writes
   * x's gradient, so the batch norm's backward adds to it instead of
   * assigning it. */
  spd_tensor *head = k->relu ? y : spd_square(t, y);
  return k->add ? spd_add(t, head, spd_scale(t, in[0], 0.5f)) : head;
}

/* Whether the inputs exercise the fused ReLU's both sides and no central
 * difference of the check crosses its kink: some normalised value
 * z = gamma xhat + beta (in double, from the case's statistics) must be
 * negative and some positive, and every one must lie further from 0 than
 * twice the most one step moves it. A step h (|x|, |gamma|, |beta| <= 1, so h itself) moves z by
 * h through beta, h |xhat| through gamma and, through x and the batch
 * statistics, at most h |gamma| invstd (1 + 1/M + |xhat_i xhat_j| / M)
 * <= 2 h |gamma| invstd max(1, xhat^2). */
static bool bn_clear_of_kink(const struct bn_case *k, const spdt_input *in, double h)
{
  const size_t C = in[0].shape[1], M = in[0].shape[0] * (k->ndim == 4 ? 6 : 1);
  const size_t inner = k->ndim == 4 ? 6 : 1;
  const float *x = in[0].data, *rm = spd_params_data(k->p, 0), *rv = spd_params_data(k->p, 1);
  size_t below = 0;
  for (size_t c = 0; c < C; c++) {
    double mu = 0, var = 0;
    for (size_t i = 0; i < M; i++)
      mu += x[(i / inner * C + c) * inner + i % inner] / (double)M;
    for (size_t i = 0; i < M; i++) {
      const double d = x[(i / inner * C + c) * inner + i % inner] - mu;
      var += d * d / (double)M;
    }
    if (!k->training)
      mu = rm[c], var = rv[c];
    const double invstd = 1.0 / sqrt(var + 1e-5);
    const double g = k->affine ? in[1].data[c] : 1.0, b = k->affine ? in[2].data[c] : 0.0;
    for (size_t i = 0; i < M; i++) {
      const double xh = (x[(i / inner * C + c) * inner + i % inner] - mu) * invstd;
      const double step = h * (1 + fabs(xh) + 2 * fabs(g) * invstd * fmax(1, xh * xh));
      if (fabs(g * xh + b) <= 2 * step)
        return false;
      below += g * xh + b < 0;
    }
  }
  return below > 0 && below < C * M;
}

/* The loop index picks plain batch norm (0) or the fused spd_batch_norm_relu
 * (1). For the fused op the inputs are redrawn (new seeds) until no step
 * of the check crosses the ReLU's kink, where the finite difference of a
 * non-smooth function is not its derivative. */
START_TEST(grad_batch_norm)
{
  const int relu = _i;
  for (int ndim = 2; ndim <= 4; ndim += 2)
    for (int training = 0; training < 2; training++)
      for (int affine = 0; affine < 2; affine++) {
        const int add = (ndim == 4) == (affine == 1); /* half the cases */
        const size_t C = 3;
        const float rm[3] = { 0.1f, -0.2f, 0.3f }, rv[3] = { 0.5f, 1.5f, 2.0f };
        spd_params *p = bn_store(C, rm, rv);
        struct bn_case k = { ndim, training, affine, relu, add, p };
        spdt_input in[3];
        for (unsigned seed = 300;; seed += 4) {
          in[0] = ndim == 4 ? spdt_input_make(1, seed, 4, (size_t)2, C, (size_t)2, (size_t)3)
                            : spdt_input_make(1, seed + 1, 2, (size_t)5, C);
          in[1] = spdt_input_make(1, seed + 2, 1, C);
          in[2] = spdt_input_make(1, seed + 3, 1, C);
          if (!relu || bn_clear_of_kink(&k, in, H))
            break;
          for (int j = 0; j < 3; j++)
            spdt_input_free(&in[j]);
          ck_assert_msg(seed < 300 + 4 * 200, "no inputs clear of the kink in 200 draws");
        }
        char what[64];
        snprintf(what, sizeof what, "batch_norm%s %dD training=%d affine=%d add=%d",
                 relu ? "_relu" : "", ndim, training, affine, add);
        /* momentum 0: the running statistics stay put across the many
         * forward passes of the check */
        spdt_gradcheck(what, affine ? 3 : 1, in, g_bn, &k, H, RTOL, ATOL);
        for (int j = 0; j < 3; j++)
          spdt_input_free(&in[j]);
        spd_params_free(p);
      }
}
END_TEST

START_TEST(batch_norm_values_and_running_stats)
{
  /* N x C = 4 x 2; channel 0: 1, 2, 3, 4 (mean 2.5, biased var 1.25,
   * unbiased 5/3); channel 1 constant 7 (var 0). */
  const float x[8] = { 1, 7, 2, 7, 3, 7, 4, 7 };
  const size_t xs[2] = { 4, 2 }, cs[1] = { 2 };
  const float gamma[2] = { 2, 3 }, beta[2] = { 0.5f, -1 };
  const float rm0[2] = { 0, 1 }, rv0[2] = { 1, 2 };
  spd_params *p = bn_store(2, rm0, rv0);
  spd_tape *t = NULL;
  SPDT_OK(spd_tape_create(&t));
  spd_tensor *g = spd_leaf(t, 1, cs, gamma, 0), *b = spd_leaf(t, 1, cs, beta, 0);
  const float *y = spd_tensor_data(spd_batch_norm(t, spd_leaf(t, 2, xs, x, 0), g, b, p, 0, 1,
                                                  1, 0.1f, 1e-5f));
  ck_assert_ptr_nonnull(y);
  for (int i = 0; i < 4; i++) {
    SPDT_CLOSE(y[2 * i], 2 * (x[2 * i] - 2.5) / sqrt(1.25 + 1e-5) + 0.5, 1e-6, 1e-6);
    SPDT_CLOSE(y[2 * i + 1], -1.0, 0, 1e-6);
  }
  const float *rm = spd_params_data(p, 0), *rv = spd_params_data(p, 1);
  SPDT_CLOSE(rm[0], 0.9 * 0 + 0.1 * 2.5, 1e-6, 0);
  SPDT_CLOSE(rm[1], 0.9 * 1 + 0.1 * 7, 1e-6, 0);
  SPDT_CLOSE(rv[0], 0.9 * 1 + 0.1 * 5.0 / 3, 1e-6, 0);
  SPDT_CLOSE(rv[1], 0.9 * 2, 1e-6, 0);

  /* inference uses the running statistics and leaves them alone */
  const float r0 = rm[0], v0 = rv[0];
  y = spd_tensor_data(spd_batch_norm(t, spd_leaf(t, 2, xs, x, 0), g, b, p, 0, 1, 0, 0.1f,
                                     1e-5f));
  ck_assert_ptr_nonnull(y);
  SPDT_CLOSE(y[0], 2 * (1 - r0) / sqrt(v0 + 1e-5) + 0.5, 1e-6, 1e-6);
  ck_assert(rm[0] == r0 && rv[0] == v0);
  spd_tape_free(t);
  spd_params_free(p);
}
END_TEST

/* The batch statistics are one shifted pass (lib/ops/batchnorm.c): with a
 * mean 1e4 times the spread and the shift (the channel's first value) an
 * outlier 50 spreads off, mean and variance must still match a two-pass
 * computation in double to float rounding. momentum 1 makes the running
 * statistics the batch's (the variance unbiased). */
START_TEST(batch_norm_statistics_off_centre)
{
  enum { N = 4, C = 2, HW = 25, M = N * HW };
  float x[N * C * HW];
  for (size_t i = 0; i < N * C * HW; i++)
    x[i] = (i / HW % C ? -3e4f : 1e4f) + spdt_hash_value(i, 7); /* spread ~0.6 */
  x[0] = 1e4f + 50.0f;
  x[HW] = -3e4f - 50.0f;
  const size_t xs[4] = { N, C, 5, 5 };
  spd_params *p = bn_store(C, NULL, NULL);
  spd_tape *t = NULL;
  SPDT_OK(spd_tape_create(&t));
  ck_assert_ptr_nonnull(spd_batch_norm(t, spd_leaf(t, 4, xs, x, 0), NULL, NULL, p, 0, 1, 1, 1.0f,
                                       1e-5f));
  for (size_t c = 0; c < C; c++) {
    double mu = 0, ss = 0;
    for (size_t i = 0; i < M; i++)
      mu += x[(i / HW * C + c) * HW + i % HW];
    mu /= M;
    for (size_t i = 0; i < M; i++) {
      const double d = x[(i / HW * C + c) * HW + i % HW] - mu;
      ss += d * d;
    }
    /* float rounding of the results (6e-8) and of the inputs' spread */
    SPDT_CLOSE(spd_params_data(p, 0)[c], mu, 1e-7, 0);
    SPDT_CLOSE(spd_params_data(p, 1)[c], ss / (M - 1), 1e-6, 0);
  }
  spd_tape_free(t);
  spd_params_free(p);
}
END_TEST

/* Every SPDI_CLONES version of the batch-norm kernels (AVX-512 here,
 * AVX2 under valgrind, the baseline elsewhere) must sum in the order the
 * kernels define: element j of a row into lane j mod 16, a row's last
 * partial chunk into the first lanes, lanes added in order at the end;
 * rows of 256 or more go in min(N, 8) blocks of images (image k of N in
 * block k * 8 / N, as batchnorm.c's bn_sums()), each block's lanes summed
 * apart and added lane by lane in block order. Values of 1e20 among ones
 * make double sums depend on that order (1e20 + 1 is 1e20), so this
 * emulation of the order, in scalar code, pins the bits of the running
 * mean and of beta's gradient. */
static double lane_order_sum(const float *x, size_t N, size_t stride, size_t n, double k)
{
  const size_t nb = n < 256 ? 1 : N < 8 ? N : 8;
  double lane[16] = { 0 };
  for (size_t b = 0; b < nb; b++) {
    double part[16] = { 0 };
    for (size_t r = N * b / nb; r < N * (b + 1) / nb; r++)
      for (size_t j = 0; j < n; j++) {
        const size_t full = n / 16 * 16;
        part[j < full ? j % 16 : j - full] += x[r * stride + j] - k;
      }
    for (size_t l = 0; l < 16; l++)
      lane[l] += part[l];
  }
  double s = 0;
  for (size_t l = 0; l < 16; l++)
    s += lane[l];
  return s;
}

/* One batch norm over N x C x 1 x HW on `threads` threads: its running
 * mean and beta's gradient must equal the lane-order sums bit for bit. */
static void check_lane_order(size_t N, size_t C, size_t HW, int threads)
{
  const size_t n = N * C * HW, M = N * HW;
  float *x = malloc(n * sizeof *x), *dy = malloc(n * sizeof *dy), *b0 = calloc(C, sizeof *b0);
  ck_assert(x != NULL && dy != NULL && b0 != NULL);
  for (size_t i = 0; i < n; i++) {
    const size_t j = i % HW;
    /* +1e20 and -1e20 cancel in each row, in lanes 3 and 4, and from one
     * image to the next within each lane; the small values around them
     * survive or not depending on the order */
    const float sign = i / (C * HW) % 2 ? -1.0f : 1.0f;
    const float big = sign * (j == 3 ? 1e20f : j == 20 ? -1e20f : 0.0f);
    x[i] = big != 0.0f ? big : (float)(j % 3);
    dy[i] = big != 0.0f ? big : 1.0f;
  }
  const size_t xs[4] = { N, C, 1, HW }, cs[1] = { C };
  spd_params *p = bn_store(C, NULL, NULL);
  spd_tape *t = NULL;
  SPDT_OK(spd_set_num_threads(threads));
  SPDT_OK(spd_tape_create(&t));
  spd_tensor *b = spd_leaf(t, 1, cs, b0, 1);
  spd_tensor *y = spd_batch_norm(t, spd_leaf(t, 4, xs, x, 0), NULL, b, p, 0, 1, 1, 1.0f, 1e-5f);
  SPDT_OK(spd_backward(t, spd_sum(t, spd_mul(t, y, spd_leaf(t, 4, xs, dy, 0)))));
  for (size_t c = 0; c < C; c++) {
    const double k = x[c * HW];
    const float mean = (float)(k + lane_order_sum(x + c * HW, N, C * HW, HW, k) / (double)M);
    const float dbeta = (float)lane_order_sum(dy + c * HW, N, C * HW, HW, 0.0);
    /* in plain order the same sums give other values: the test can tell */
    double px = 0, pd = 0;
    for (size_t i = 0; i < M; i++) {
      px += x[(i / HW * C + c) * HW + i % HW] - k;
      pd += dy[(i / HW * C + c) * HW + i % HW];
    }
    ck_assert_msg((float)(k + px / (double)M) != mean && (float)pd != dbeta,
                  "channel %zu: the data do not depend on the order", c);
    ck_assert_msg(spd_params_data(p, 0)[c] == mean,
                  "%zu x %zu x %zu, %d threads, channel %zu: mean %a, lane order %a", N, C, HW,
                  threads, c, (double)spd_params_data(p, 0)[c], (double)mean);
    ck_assert_msg(spd_tensor_grad(b)[c] == dbeta,
                  "%zu x %zu x %zu, %d threads, channel %zu: dbeta %a, lane order %a", N, C,
                  HW, threads, c, (double)spd_tensor_grad(b)[c], (double)dbeta);
  }
  SPDT_OK(spd_set_num_threads(1));
  spd_tape_free(t);
  spd_params_free(p);
  free(x);
  free(dy);
  free(b0);
}

START_TEST(batch_norm_sums_in_lane_order)
{
  check_lane_order(3, 2, 37, 1);
  /* above the parallel threshold on 1 to 3 threads: rows of 1700 with a
   * partial chunk of 4 in blocks of one image; 8, 11 and 16 images of
   * rows of 256 and 300 in 8 blocks (of 1 or 2 images: where two images'
   * 1e20 cancel in a block, the second's small values count); short rows
   * (the channels split over the threads: 5 channels in ranges of 2 and
   * 3, or 1, 2 and 2) */
  for (int threads = 1; threads <= 3; threads++) {
    check_lane_order(4, 5, 1700, threads);
    check_lane_order(8, 2, 256, threads);
    check_lane_order(11, 3, 300, threads);
    check_lane_order(16, 2, 256, threads);
    check_lane_order(40, 5, 200, threads);
  }
}
END_TEST

/* One run of relu(batch_norm) on [8, 6, 32, 32] (past the parallel
 * threshold), fused or as two ops; loss sum(r y). Writes y, the updated
 * running statistics and the gradients of x, gamma and beta to out. */
enum { BNR_N = 8 * 6 * 32 * 32, BNR_C = 6, BNR_OUT = 2 * BNR_N + 4 * BNR_C };

static void bn_relu_run(int fused, int training, int affine, const float *x, const float *gb,
                        const float *r, float *out)
{
  const size_t xs[4] = { 8, BNR_C, 32, 32 }, cs[1] = { BNR_C };
  const float rm[BNR_C] = { 0.1f, -0.2f, 0.3f, 0, 0.5f, -1 };
  const float rv[BNR_C] = { 0.5f, 1.5f, 2, 1, 0.25f, 3 };
  spd_params *p = bn_store(BNR_C, rm, rv);
  spd_tape *t = NULL;
  SPDT_OK(spd_tape_create(&t));
  spd_tensor *tx = spd_leaf(t, 4, xs, x, 1);
  spd_tensor *g = affine ? spd_leaf(t, 1, cs, gb, 1) : NULL;
  spd_tensor *b = affine ? spd_leaf(t, 1, cs, gb + BNR_C, 1) : NULL;
  spd_tensor *y = fused ? spd_batch_norm_relu(t, tx, g, b, p, 0, 1, training, 0.1f, 1e-5f)
                        : spd_relu(t, spd_batch_norm(t, tx, g, b, p, 0, 1, training, 0.1f,
                                                     1e-5f));
  spd_tensor *loss = spd_sum(t, spd_mul(t, y, spd_leaf(t, 4, xs, r, 0)));
  SPDT_OK(spd_backward(t, loss));
  memcpy(out, spd_tensor_data(y), BNR_N * sizeof *out);
  memcpy(out + BNR_N, spd_tensor_grad(tx), BNR_N * sizeof *out);
  memcpy(out + 2 * BNR_N, spd_params_data(p, 0), BNR_C * sizeof *out);
  memcpy(out + 2 * BNR_N + BNR_C, spd_params_data(p, 1), BNR_C * sizeof *out);
  if (affine) {
    memcpy(out + 2 * BNR_N + 2 * BNR_C, spd_tensor_grad(g), BNR_C * sizeof *out);
    memcpy(out + 2 * BNR_N + 3 * BNR_C, spd_tensor_grad(b), BNR_C * sizeof *out);
  }
  spd_tape_free(t);
  spd_params_free(p);
}

START_TEST(batch_norm_relu_matches_unfused)
{
  /* The fused op's backward recomputes the batch norm's output to mask the
   * gradient; it must reproduce the two-op graph bit for bit, on 1 and 2
   * threads, in both modes. gamma has negative entries (the mask then
   * selects x below the mean). */
  float *x = malloc(BNR_N * sizeof *x), *r = malloc(BNR_N * sizeof *r), gb[2 * BNR_C];
  float *fused = calloc(BNR_OUT, sizeof *fused), *plain = calloc(BNR_OUT, sizeof *plain);
  float *one = malloc(BNR_OUT * sizeof *one);
  ck_assert(x && r && fused && plain && one);
  spdt_fill(x, BNR_N, 41, -2, 3, 0);
  spdt_fill(r, BNR_N, 42, -1, 1, 0);
  spdt_fill(gb, 2 * BNR_C, 43, -1.5f, 1.5f, 0);
  for (int training = 0; training < 2; training++)
    for (int affine = 0; affine < 2; affine++)
      for (int threads = 1; threads <= 2; threads++) {
        SPDT_OK(spd_set_num_threads(threads));
        bn_relu_run(1, training, affine, x, gb, r, fused);
        bn_relu_run(0, training, affine, x, gb, r, plain);
        size_t zeros = 0;
        for (size_t i = 0; i < BNR_N; i++)
          zeros += fused[i] == 0.0f;
        ck_assert_msg(zeros > BNR_N / 10 && zeros < BNR_N * 9 / 10,
                      "training=%d affine=%d: %zu of %d outputs clipped", training, affine,
                      zeros, BNR_N);
        for (size_t i = 0; i < BNR_OUT; i++)
          ck_assert_msg(memcmp(&fused[i], &plain[i], sizeof *fused) == 0,
                        "training=%d affine=%d threads=%d: value %zu fused %a, two ops %a",
                        training, affine, threads, i, (double)fused[i], (double)plain[i]);
        if (threads == 1)
          memcpy(one, fused, BNR_OUT * sizeof *one);
        else
          ck_assert_msg(memcmp(one, fused, BNR_OUT * sizeof *one) == 0,
                        "training=%d affine=%d: 1 and 2 threads differ", training, affine);
      }
  SPDT_OK(spd_set_num_threads(1));
  free(x), free(r), free(fused), free(plain), free(one);
}
END_TEST

/* ---- the direct GEMM path and the stride-phase im2col -------------------
 *
 * lib/ops/igemm_direct.c reads B straight from its source (no packing) when
 * a GEMM has at most 16 rows (512 with AVX-512), at least 256 columns, K >= 8
 * and B's columns come in contiguous runs of 16; lib/ops/conv.c splits the
 * padded image into stride phases so that holds for stride 2 too. The
 * gradient checks above use shapes too small for it, so these cases are
 * sized to reach it: few channels (<= 16 on the GEMM's row side, or up to
 * 512 for AVX-512; see the cases with 40 and 72), 16- or
 * 32-pixel-wide maps (rows of 16 contiguous columns, or of 8 in phases of
 * 8 x 8), >= 256 columns:
 *
 *   conv2d forward         FWD,   M = out channels, columns n x 16 x 16
 *   conv2d input grad      PHASE, M = in channels, one GEMM per stride phase
 *   transpose forward      PHASE (4 C > G, not SCATTER), phases 16 x 16
 *   transpose input grad   FWD,   M = in channels
 *
 * Forward and both gradients of L = sum(r y) (r fixed, pseudo-random) are
 * compared with a direct double-precision evaluation. Tolerance, per
 * element: 1e-5 times the sum of the absolute values of the terms it adds,
 * plus 1e-6 (float rounding grows like sqrt(terms) u ~ 3e-6 relative for
 * the 2048-term weight-gradient sums here; a misplaced tap or column moves
 * an element by about one term, ~1e-2 of that sum). */
struct direct_case {
  int transpose;
  size_t n, c, h, w, o, k;
  int stride, pad, opad;
};

static const struct direct_case direct_cases[] = {
  { 0, 2, 3, 16, 16, 4, 5, 1, 2, 0 },  /* conv2d 'same', stride 1 */
  { 0, 2, 3, 32, 32, 4, 5, 2, 2, 0 },  /* conv2d stride 2: phases of 16 x 16 */
  { 0, 1, 3, 20, 20, 16, 5, 2, 2, 0 }, /* encoder's first layer: transposed weight grad */
  { 0, 1, 2, 16, 16, 6, 3, 1, 1, 0 },  /* 3x3, pad 1, exactly 256 columns */
  { 0, 1, 2, 18, 18, 16, 3, 1, 0, 0 }, /* no padding, 16 out channels */
  { 0, 2, 24, 32, 32, 27, 5, 2, 2, 0 }, /* 27 out, 24 in: AVX-512 rows 9+9+9, 8+8+8 */
  { 1, 2, 20, 16, 16, 26, 5, 2, 2, 1 }, /* transpose, 26 out (PHASE), 20 in (FWD) */
  { 0, 4, 20, 16, 16, 12, 5, 2, 2, 0 }, /* output and phases 8 x 8: runs of 8 */
  { 1, 2, 4, 16, 16, 3, 5, 2, 2, 1 },  /* decoder layer 16 -> 32, RGB out */
  { 1, 2, 4, 16, 16, 2, 5, 1, 2, 0 },  /* decoder's last layer, stride 1 */
  { 1, 2, 16, 16, 16, 3, 5, 1, 2, 0 }, /* RGB out of 16 channels: PHASE, direct */
  { 1, 2, 16, 12, 12, 3, 5, 1, 2, 0 }, /* the same, rows of 12: SCATTER */
  /* SCATTER in two groups of images (column buffers of at most 8 Mi
   * floats: 46 images of 2 x 25 x 60 x 60, then 1) */
  { 1, 47, 8, 60, 60, 2, 5, 1, 2, 0 },
  { 1, 1, 6, 16, 16, 2, 3, 2, 1, 1 },  /* 3x3 stride 2, output pad 1 */
  /* images of 64 Ki floats: PHASE takes one image at a time (two groups) */
  { 0, 2, 4, 128, 128, 2, 5, 2, 2, 0 }, /* conv2d input gradient */
  { 1, 2, 2, 64, 64, 4, 5, 2, 2, 1 },   /* transpose forward, 128 x 128 out */
  /* the same with 3 images: on 2 threads groups of 2, the last of 1 (a
   * prefix of the group's column indices); odd rows: phases of 64 and 63 */
  { 0, 3, 4, 127, 127, 2, 5, 2, 2, 0 },
  { 1, 3, 2, 64, 64, 4, 5, 2, 2, 1 },
  /* padded images of 31 Ki floats, 400 output pixels: the forward takes
   * up to three images at a time (1024 columns), in groups of two and three */
  { 0, 5, 16, 40, 40, 8, 5, 2, 2, 0 },
  /* padded images of 16 Ki floats: the weight gradient takes up to four
   * images at a time, in groups of two and three */
  { 0, 5, 4, 60, 60, 2, 5, 2, 2, 0 },
  /* rows of 32 output pixels, 1024 of them: the weight gradient takes the
   * GEMM driver's dot path (on AVX-512 CPUs) */
  { 0, 1, 3, 64, 64, 4, 5, 2, 2, 0 },
  { 1, 1, 4, 32, 32, 3, 5, 1, 2, 0 },   /* transpose, stride 1: runs of 32 */
  /* batches of 8 or more with output rows of 16 pixels or fewer: the
   * batch-innermost weight gradient of conv_chwn.c */
  { 0, 8, 5, 8, 8, 6, 5, 2, 2, 0 },     /* the encoder's deep layers */
  { 0, 9, 3, 7, 9, 4, 3, 1, 1, 0 },     /* odd sizes, a batch of 9 */
  { 0, 8, 2, 10, 11, 3, 4, 3, 1, 0 },   /* stride 3, even kernel */
  { 1, 8, 6, 4, 4, 5, 5, 2, 2, 1 },     /* the decoder's first layer */
  { 1, 10, 3, 5, 3, 4, 3, 2, 1, 1 },    /* transpose, odd sizes */
  /* image channels in multiples of 16 (AVX-512): the pixel-major weight
   * gradient of conv_chwn.c, in slices of output rows that skip the
   * kernel rows reading the padding: 8 x 8 outputs (slices of the top
   * row, rows 1-6 and the bottom row; the top row's 240 taps take the
   * packed path, the others the direct one), 32 channels, stride 1 and
   * 3, a transposed convolution, and 520 grid channels (GEMMs of 512 and
   * 8 rows) */
  { 0, 8, 16, 16, 16, 8, 5, 2, 2, 0 },
  { 0, 8, 32, 16, 16, 24, 5, 2, 2, 0 },
  { 0, 8, 16, 9, 9, 3, 3, 1, 1, 0 },
  { 0, 9, 16, 10, 11, 3, 4, 3, 1, 0 },
  { 1, 8, 6, 4, 4, 16, 5, 2, 2, 1 },
  { 0, 8, 16, 8, 8, 520, 3, 2, 1, 0 },
  /* ... whose last kernel columns lie wholly in the padding (1 x 2
   * images, 7 x 7 kernel, pad 3: the direct path skips those taps) */
  { 0, 8, 16, 1, 2, 3, 7, 1, 3, 0 },
  /* the batch-innermost copies with wider rows: stride 2 over rows of 24
   * and 21 (a batch of 12), and a transposed convolution's 16 x 16
   * gradient */
  { 0, 8, 2, 20, 24, 3, 5, 2, 2, 0 },   /* stride 2, rows of 24 */
  { 0, 12, 3, 19, 21, 2, 3, 2, 1, 0 },  /* odd sizes */
  { 1, 8, 4, 8, 8, 3, 5, 2, 2, 1 },     /* transpose: the gradient of 16 x 16 */
  /* many rows on the direct path (AVX-512): 72 out channels, 9 blocks of 8
   * rows, A packed by 8 x 8 transposes; a transposed convolution whose
   * PHASE GEMMs have 40 rows */
  { 0, 2, 8, 32, 32, 72, 5, 2, 2, 0 },
  { 1, 4, 8, 8, 8, 40, 5, 2, 2, 1 },
  /* output rows under 8 pixels and batches of 16: the forward (conv2d)
   * and the input gradient (conv2d_transpose) on the batch-innermost copy,
   * its output transposed back by 8 x 8 blocks (4 x 4 outputs) or one
   * float at a time (5 x 5) */
  { 0, 16, 5, 8, 8, 6, 5, 2, 2, 0 },
  { 0, 16, 3, 10, 10, 4, 3, 2, 1, 0 },
  { 1, 16, 6, 4, 4, 5, 5, 2, 2, 1 },
  /* the batch-innermost forward with more rows than the direct path
   * takes at once (AVX-512): 520 output channels in two GEMMs of 260 */
  { 0, 16, 2, 8, 8, 520, 5, 2, 2, 0 },
  /* ... and on output rows of 16 from K = 3200 (128 channels, 5 x 5) */
  { 0, 16, 128, 32, 32, 4, 5, 2, 2, 0 },
  /* stride phases under 8 pixels wide and batches of 16: PHASE (conv2d's
   * input gradient, conv2d_transpose's forward; the three cases above
   * too) on the batch-innermost grid. Phases of 4 and 3 pixels; a 1 x 1
   * kernel, whose odd phases no tap reaches (they are zeros); stride 3;
   * a batch of 32 with phases of 3 x 3 (144 columns: the packed path
   * reads the copy) */
  { 0, 16, 3, 7, 7, 4, 3, 2, 1, 0 },
  { 0, 16, 2, 6, 6, 3, 1, 2, 0, 0 },
  { 0, 16, 2, 9, 9, 3, 3, 3, 0, 0 },
  { 1, 32, 6, 3, 3, 4, 5, 2, 2, 1 },
  /* the batch-innermost forward and PHASE skip the taps that read zero
   * padding, per class of output pixels: forward rows of 8 (a small K)
   * with phases of 8, phases of 16, a transposed convolution (PHASE
   * forward on phases of 8, forward form for its input gradient), stride
   * 3, and padding wider than the kernel, where the edge pixels read no
   * tap at all */
  { 0, 16, 5, 16, 16, 6, 5, 2, 2, 0 },
  { 0, 16, 3, 32, 32, 4, 5, 2, 2, 0 },
  { 1, 16, 4, 8, 8, 3, 5, 2, 2, 1 },
  { 0, 16, 2, 13, 13, 3, 5, 3, 2, 0 },
  { 0, 16, 2, 4, 4, 3, 3, 1, 3, 0 },
  { 0, 16, 2, 6, 6, 3, 3, 2, 3, 0 },
  /* batches padded to a multiple of 16 in the batch-innermost copies
   * (100 -> 112 and 120 -> 128 slots): the forward and PHASE above on the
   * Fashion-MNIST model's 7-pixel rows (outputs 4 x 4 and 7 x 7; images
   * 96-99 written back one float at a time), and blocks of 8 images whose
   * copy rows are 128 floats apart */
  { 0, 100, 3, 7, 7, 4, 3, 2, 1, 0 },
  { 1, 100, 4, 7, 7, 3, 5, 2, 2, 1 },
  { 0, 120, 2, 8, 8, 3, 5, 2, 2, 0 },
  /* six groups of four images (padded images of 14 Ki floats): on two
   * and three threads the groups go to the threads whole, and the weight
   * gradient sums per-group partial gradients (conv2d; conv2d_transpose's
   * backward, whose two gradients share each group's padded copy) */
  { 0, 24, 3, 64, 64, 4, 5, 2, 2, 0 },
  { 1, 24, 4, 32, 32, 3, 5, 2, 2, 1 },
  /* images of 64 Ki floats, six of them: PHASE's groups of one image go
   * to the threads whole (conv2d's input gradient, conv2d_transpose's
   * forward) */
  { 0, 6, 4, 128, 128, 2, 5, 2, 2, 0 },
  { 1, 6, 2, 64, 64, 4, 5, 2, 2, 1 },
  /* stride 1 (the RGB output layer) in groups of 16384 columns: five 64 x
   * 64 images as groups of four and one (on two threads, groups of two to
   * the threads whole), two 128 x 128 images one at a time; 3 output
   * channels take the direct path's narrow blocks */
  { 1, 5, 4, 64, 64, 3, 5, 1, 2, 0 },
  { 1, 2, 2, 128, 128, 3, 5, 1, 2, 0 },
  /* a padded copy no larger than the output: the forward keeps it for the
   * weight gradient (keep_padded()), read in groups of 2, 2 and 1 images */
  { 0, 5, 2, 64, 64, 48, 5, 2, 2, 0 },
};
#define NDIRECT (sizeof direct_cases / sizeof direct_cases[0])

START_TEST(conv_direct_path_matches_reference)
{
  const struct direct_case *k = &direct_cases[_i];
  const long s = k->stride, p = k->pad;
  size_t ho, wo;
  if (k->transpose) {
    ho = (k->h - 1) * (size_t)s + k->k + (size_t)k->opad - 2 * (size_t)p;
    wo = (k->w - 1) * (size_t)s + k->k + (size_t)k->opad - 2 * (size_t)p;
  } else {
    ho = (k->h + 2 * (size_t)p - k->k) / (size_t)s + 1;
    wo = (k->w + 2 * (size_t)p - k->k) / (size_t)s + 1;
  }
  const size_t nx = k->n * k->c * k->h * k->w, nw = k->c * k->o * k->k * k->k,
               ny = k->n * k->o * ho * wo;
  float *x = malloc(nx * sizeof *x), *w = malloc(nw * sizeof *w), *r = malloc(ny * sizeof *r);
  double *y = calloc(ny, sizeof *y), *ya = calloc(ny, sizeof *ya);
  double *dx = calloc(nx, sizeof *dx), *dxa = calloc(nx, sizeof *dxa);
  double *dw = calloc(nw, sizeof *dw), *dwa = calloc(nw, sizeof *dwa);
  ck_assert(x && w && r && y && ya && dx && dxa && dw && dwa);
  for (size_t i = 0; i < nx; i++)
    x[i] = spdt_hash_value(i, 1 + (unsigned)_i);
  for (size_t i = 0; i < nw; i++)
    w[i] = spdt_hash_value(i, 100 + (unsigned)_i);
  for (size_t i = 0; i < ny; i++)
    r[i] = spdt_hash_value(i, 200 + (unsigned)_i);
  /* The reference: every (n, c, o, i, j, input pixel, output pixel) term. */
  for (size_t n = 0; n < k->n; n++)
    for (size_t c = 0; c < k->c; c++)
      for (size_t o = 0; o < k->o; o++)
        for (size_t i = 0; i < k->k; i++)
          for (size_t j = 0; j < k->k; j++) {
            const size_t wi = k->transpose ? ((c * k->o + o) * k->k + i) * k->k + j
                                           : ((o * k->c + c) * k->k + i) * k->k + j;
            for (long ih = 0; ih < (long)k->h; ih++)
              for (long iw = 0; iw < (long)k->w; iw++) {
                long oh, ow;
                if (k->transpose) {
                  oh = ih * s - p + (long)i;
                  ow = iw * s - p + (long)j;
                } else { /* ih = oh s - p + i */
                  long a = ih + p - (long)i, b = iw + p - (long)j;
                  if (a < 0 || b < 0 || a % s || b % s)
                    continue;
                  oh = a / s;
                  ow = b / s;
                }
                if (oh < 0 || ow < 0 || oh >= (long)ho || ow >= (long)wo)
                  continue;
                const size_t xi = ((n * k->c + c) * k->h + (size_t)ih) * k->w + (size_t)iw;
                const size_t yi = ((n * k->o + o) * ho + (size_t)oh) * wo + (size_t)ow;
                const double xv = x[xi], wv = w[wi], rv = r[yi];
                y[yi] += wv * xv;
                ya[yi] += fabs(wv * xv);
                dx[xi] += wv * rv;
                dxa[xi] += fabs(wv * rv);
                dw[wi] += xv * rv;
                dwa[wi] += fabs(xv * rv);
              }
          }
  const size_t xs[4] = {k->n, k->c, k->h, k->w};
  const size_t ws[4] = {k->transpose ? k->c : k->o, k->transpose ? k->o : k->c, k->k, k->k};
  const size_t ys[4] = {k->n, k->o, ho, wo};
  const size_t cnt[3] = {ny, nx, nw};
  float *one[3] = {malloc(ny * sizeof(float)), malloc(nx * sizeof(float)),
                   malloc(nw * sizeof(float))};
  ck_assert(one[0] && one[1] && one[2]);
  /* on 1 thread against the reference, then on 2 and 3 threads the same
   * bits (PHASE groups of images scale with the thread count; 3 threads
   * give the whole-group cases an odd team and a last thread with fewer
   * groups) */
  for (int threads = 1; threads <= 3; threads++) {
    SPDT_OK(spd_set_num_threads(threads));
    spd_tape *t = NULL;
    SPDT_OK(spd_tape_create(&t));
    spd_tensor *lx = spd_leaf(t, 4, xs, x, 1), *lw = spd_leaf(t, 4, ws, w, 1);
    spd_tensor *out = k->transpose ? spd_conv2d_transpose(t, lx, lw, NULL, k->stride, k->pad,
                                                          k->opad)
                                   : spd_conv2d(t, lx, lw, NULL, k->stride, k->pad);
    spd_tensor *loss = spd_sum(t, spd_mul(t, out, spd_leaf(t, 4, ys, r, 0)));
    ck_assert_msg(loss != NULL, "direct case %d: %s", _i, spd_tape_error(t));
    SPDT_OK(spd_backward(t, loss));
    const float *got[3] = {spd_tensor_data(out), spd_tensor_grad(lx), spd_tensor_grad(lw)};
    const double *want[3] = {y, dx, dw}, *mag[3] = {ya, dxa, dwa};
    static const char *const what[3] = {"forward", "input gradient", "weight gradient"};
    for (int v = 0; v < 3; v++) {
      if (threads >= 2) {
        ck_assert_msg(memcmp(got[v], one[v], cnt[v] * sizeof(float)) == 0,
                      "direct case %d: %s differs on 1 and %d threads", _i, what[v],
                      threads);
        continue;
      }
      memcpy(one[v], got[v], cnt[v] * sizeof(float));
      size_t bad = cnt[v];
      for (size_t q = 0; q < cnt[v] && bad == cnt[v]; q++)
        if (!(fabs(got[v][q] - want[v][q]) <= 1e-5 * mag[v][q] + 1e-6))
          bad = q;
      ck_assert_msg(bad == cnt[v], "direct case %d (%s): %s element %zu is %.9g, want %.9g", _i,
                    k->transpose ? "conv2d_transpose" : "conv2d", what[v], bad,
                    bad < cnt[v] ? got[v][bad] : 0.0, bad < cnt[v] ? want[v][bad] : 0.0);
    }
    spd_tape_free(t);
  }
  SPDT_OK(spd_set_num_threads(1));
  free(one[0]), free(one[1]), free(one[2]);
  free(x), free(w), free(r), free(y), free(ya), free(dx), free(dxa), free(dw), free(dwa);
}
END_TEST

/* Where a convolution's GEMM adds into its output rather than writing it:
 * the bias (conv2d's output starts from it) and input and weight
 * gradients that another op has already added to (the input and the
 * weights also summed into the loss). Checked on shapes whose forward
 * GEMMs take the batch-innermost copy, whose transposing write-back then
 * adds, on an NCHW shape, and on two whose weight gradient is
 * pixel-major (it adds its tap-ordered sum to the weights' gradient),
 * against the same graph without the bias or the extra terms, plus those
 * terms. Tolerance for the output and the input gradient 1e-6 of the
 * magnitude: the bias or the 1 is added once, before or after the
 * products' sum. The weight gradient's GEMMs may add their partial sums
 * into it one K block at a time, each rounded to the running sum, so
 * there: 1e-5 of the sum of the magnitudes of its terms (the weight
 * gradient of the same graph on |x| and |r|; as in the direct cases), plus
 * 1e-6 of the value. */
START_TEST(conv_adds_into_bias_and_pending_gradient)
{
  static const struct direct_case cases[] = {
    { 0, 16, 5, 8, 8, 6, 5, 2, 2, 0 },
    { 0, 16, 3, 10, 10, 4, 3, 2, 1, 0 },
    { 1, 16, 6, 4, 4, 5, 5, 2, 2, 1 },
    { 0, 2, 3, 16, 16, 4, 5, 1, 2, 0 },
    { 0, 100, 3, 7, 7, 4, 3, 2, 1, 0 },
    { 1, 100, 4, 7, 7, 3, 5, 2, 2, 1 },
    { 0, 8, 16, 16, 16, 8, 5, 2, 2, 0 }, /* the pixel-major weight gradient */
    { 1, 8, 6, 4, 4, 16, 5, 2, 2, 1 },
  };
  const struct direct_case *k = &cases[_i];
  const size_t ho = k->transpose ? (k->h - 1) * (size_t)k->stride + k->k + (size_t)k->opad -
                                       2 * (size_t)k->pad
                                 : (k->h + 2 * (size_t)k->pad - k->k) / (size_t)k->stride + 1;
  const size_t nx = k->n * k->c * k->h * k->w, nw = k->c * k->o * k->k * k->k;
  const size_t ny = k->n * k->o * ho * ho;
  const size_t xs[4] = {k->n, k->c, k->h, k->w}, bs[1] = {k->o};
  const size_t ws[4] = {k->transpose ? k->c : k->o, k->transpose ? k->o : k->c, k->k, k->k};
  const size_t ys[4] = {k->n, k->o, ho, ho};
  float *x = malloc(nx * sizeof *x), *w = malloc(nw * sizeof *w), *r = malloc(ny * sizeof *r);
  float *bias = malloc(k->o * sizeof *bias), *y0 = malloc(ny * sizeof *y0);
  float *dx0 = malloc(nx * sizeof *dx0), *dw0 = malloc(nw * sizeof *dw0);
  float *xa = malloc(nx * sizeof *xa), *ra = malloc(ny * sizeof *ra);
  float *dwa = malloc(nw * sizeof *dwa);
  ck_assert(x && w && r && bias && y0 && dx0 && dw0 && xa && ra && dwa);
  for (size_t i = 0; i < nx; i++)
    x[i] = spdt_hash_value(i, 7);
  for (size_t i = 0; i < nw; i++)
    w[i] = spdt_hash_value(i, 8);
  for (size_t i = 0; i < ny; i++)
    r[i] = spdt_hash_value(i, 9);
  for (size_t i = 0; i < k->o; i++)
    bias[i] = spdt_hash_value(i, 10);
  for (size_t i = 0; i < nx; i++)
    xa[i] = fabsf(x[i]);
  for (size_t i = 0; i < ny; i++)
    ra[i] = fabsf(r[i]);
  /* run 0: the plain graph; 1: on |x| and |r| (magnitudes); 2: with the
   * bias and the extra terms */
  for (int run = 0; run <= 2; run++) {
    const int with = run == 2;
    spd_tape *t = NULL;
    SPDT_OK(spd_tape_create(&t));
    spd_tensor *lx = spd_leaf(t, 4, xs, run == 1 ? xa : x, 1), *lw = spd_leaf(t, 4, ws, w, 1);
    spd_tensor *lb = with ? spd_leaf(t, 1, bs, bias, 0) : NULL;
    spd_tensor *out = k->transpose
                          ? spd_conv2d_transpose(t, lx, lw, lb, k->stride, k->pad, k->opad)
                          : spd_conv2d(t, lx, lw, lb, k->stride, k->pad);
    spd_tensor *loss = spd_sum(t, spd_mul(t, out, spd_leaf(t, 4, ys, run == 1 ? ra : r, 0)));
    if (with) /* dL/dx and dL/dw gain 1 everywhere, added before the conv's gradients */
      loss = spd_add(t, spd_add(t, loss, spd_sum(t, lx)), spd_sum(t, lw));
    ck_assert_msg(loss != NULL, "case %d: %s", _i, spd_tape_error(t));
    SPDT_OK(spd_backward(t, loss));
    const float *y = spd_tensor_data(out), *dx = spd_tensor_grad(lx), *dw = spd_tensor_grad(lw);
    if (run == 0) {
      memcpy(y0, y, ny * sizeof *y0);
      memcpy(dx0, dx, nx * sizeof *dx0);
      memcpy(dw0, dw, nw * sizeof *dw0);
    } else if (run == 1) {
      memcpy(dwa, dw, nw * sizeof *dwa);
    } else {
      const size_t hw = ho * ho;
      for (size_t q = 0; q < ny; q++) {
        const double want = (double)y0[q] + bias[q / hw % k->o];
        ck_assert_msg(fabs(y[q] - want) <= 1e-6 * (fabs(want) + 1.0),
                      "case %d: output %zu is %.9g, want %.9g", _i, q, y[q], want);
      }
      for (size_t q = 0; q < nx; q++) {
        const double want = (double)dx0[q] + 1.0;
        ck_assert_msg(fabs(dx[q] - want) <= 1e-6 * (fabs(want) + 1.0),
                      "case %d: input gradient %zu is %.9g, want %.9g", _i, q, dx[q], want);
      }
      for (size_t q = 0; q < nw; q++) {
        const double want = (double)dw0[q] + 1.0;
        ck_assert_msg(fabs(dw[q] - want) <= 1e-5 * dwa[q] + 1e-6 * (fabs(want) + 1.0),
                      "case %d: weight gradient %zu is %.9g, want %.9g", _i, q, dw[q], want);
      }
    }
    spd_tape_free(t);
  }
  free(x), free(w), free(r), free(bias), free(y0), free(dx0), free(dw0), free(xa), free(ra),
      free(dwa);
}
END_TEST

Suite *spdt_suite(void)
{
  Suite *s = suite_create("ops_conv");
  SPDT_ADD_LOOP(s, conv_forward_matches_direct_loops, NCASES, 30);
  SPDT_ADD_LOOP(s, grad_conv, NCASES, 60);
  SPDT_ADD_LOOP(s, conv_direct_path_matches_reference, NDIRECT, 60);
  SPDT_ADD_LOOP(s, conv_adds_into_bias_and_pending_gradient, 8, 30);
  SPDT_ADD(s, conv_batch_split_matches_whole_batch, 60);
  SPDT_ADD_LOOP(s, grad_batch_norm, 2, 60);
  SPDT_ADD(s, batch_norm_relu_matches_unfused, 60);
  SPDT_ADD(s, batch_norm_statistics_off_centre, 10);
  SPDT_ADD(s, batch_norm_sums_in_lane_order, 10);
  SPDT_ADD(s, batch_norm_values_and_running_stats, 10);
  return s;
}
