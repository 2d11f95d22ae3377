/* Gradient checks (central differences) for every op outside the
 * convolution family, plus forward values against direct formulas. */
#include "gradcheck.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Tolerances for float32 graphs of a few dozen elements: with h = 2e-3,
 * the rounding noise of the float outputs (2^-24 relative) divided by 2h is
 * about 1e-5 of the gradient scale per affected output, and the O(h^2)
 * truncation error of smooth ops about 1e-6. The worst case seen is 20% of
 * the bound below (SPDT_GRADCHECK_VERBOSE=1 prints it), and a gradient off
 * by 0.3% fails. */
#define H 2e-3
#define RTOL 1e-3
#define ATOL 1e-4

/* ---- binary ops with broadcasting ---------------------------------------- */

typedef spd_tensor *(*binary_fn)(spd_tape *, spd_tensor *, spd_tensor *);
struct binary_op {
  binary_fn fn; /* wrapped: ISO C has no function pointer <-> void * */
};

static spd_tensor *g_binary(spd_tape *t, spd_tensor **in, void *ctx)
{
  return ((struct binary_op *)ctx)->fn(t, in[0], in[1]);
}

struct bcase {
  int na;
  size_t a[4];
  int nb;
  size_t b[4];
};

static const struct bcase bcases[] = {
  { 2, { 3, 4 }, 2, { 3, 4 } },                 /* same shape */
  { 4, { 2, 3, 2, 2 }, 0, { 0 } },              /* scalar b (0-D) */
  { 1, { 1 }, 3, { 2, 3, 2 } },                 /* one-element a */
  { 4, { 2, 3, 2, 2 }, 1, { 3 } },              /* per-channel, 1-D */
  { 4, { 2, 3, 2, 2 }, 4, { 1, 3, 1, 1 } },     /* per-channel, [1, C, 1, 1] */
  { 2, { 1, 4 }, 2, { 3, 4 } },                 /* per-feature a, [1, F] */
  { 2, { 5, 4 }, 1, { 4 } },                    /* per-feature b, 1-D */
};

static void check_binary(const char *name, binary_fn fn, float away)
{
  for (size_t c = 0; c < sizeof bcases / sizeof bcases[0]; c++) {
    const struct bcase *bc = &bcases[c];
    spdt_input in[2] = { { .ndim = bc->na, .requires_grad = 1 },
                         { .ndim = bc->nb, .requires_grad = 1 } };
    size_t na = 1, nb = 1;
    for (int d = 0; d < bc->na; d++)
      na *= in[0].shape[d] = bc->a[d];
    for (int d = 0; d < bc->nb; d++)
      nb *= in[1].shape[d] = bc->b[d];
    in[0].data = malloc(na * sizeof(float));
    in[1].data = malloc(nb * sizeof(float));
    spdt_fill(in[0].data, na, 1 + (unsigned)c, -1, 1, away);
    spdt_fill(in[1].data, nb, 7 + (unsigned)c, -1, 1, away);
    char what[64];
    snprintf(what, sizeof what, "%s case %zu", name, c);
    struct binary_op op = { fn };
    spdt_gradcheck(what, 2, in, g_binary, &op, H, RTOL, ATOL);
    free(in[0].data);
    free(in[1].data);
  }
}

START_TEST(grad_add) { check_binary("add", spd_add, 0); }
END_TEST
START_TEST(grad_sub) { check_binary("sub", spd_sub, 0); }
END_TEST
START_TEST(grad_mul) { check_binary("mul", spd_mul, 0); }
END_TEST
/* |values| >= 0.5 keeps the quotient's curvature (and the step's
 * truncation error) small. */
START_TEST(grad_div) { check_binary("div", spd_div, 0.5f); }
END_TEST

START_TEST(broadcast_forward_values)
{
  spd_tape *t = NULL;
  SPDT_OK(spd_tape_create(&t));
  const size_t sa[4] = { 2, 3, 1, 2 }, sb[1] = { 3 };
  float a[12], b[3] = { 10, 20, 30 };
  for (int i = 0; i < 12; i++)
    a[i] = (float)i;
  spd_tensor *x = spd_leaf(t, 4, sa, a, 0), *c = spd_leaf(t, 1, sb, b, 0);
  const float *y = spd_tensor_data(spd_sub(t, c, x)); /* c - x, c per channel */
  ck_assert_ptr_nonnull(y);
  for (int i = 0; i < 12; i++)
    ck_assert_float_eq(y[i], b[(i / 2) % 3] - a[i]);
  y = spd_tensor_data(spd_div(t, x, c));
  for (int i = 0; i < 12; i++)
    ck_assert_float_eq(y[i], a[i] / b[(i / 2) % 3]);
  size_t shape[4];
  SPDT_OK(spd_tensor_shape(spd_add(t, c, x), shape));
  ck_assert_mem_eq(shape, sa, sizeof sa);
  spd_tape_free(t);
}
END_TEST

/* ---- unary ops ----------------------------------------------------------- */

static spd_tensor *leaky(spd_tape *t, spd_tensor *x) { return spd_leaky_relu(t, x, 0.2f); }
static spd_tensor *elu(spd_tape *t, spd_tensor *x) { return spd_elu(t, x, 1.3f); }
static spd_tensor *scale(spd_tape *t, spd_tensor *x) { return spd_scale(t, x, -2.5f); }
static spd_tensor *shift(spd_tape *t, spd_tensor *x) { return spd_add_scalar(t, x, 0.75f); }

typedef spd_tensor *(*unary_fn)(spd_tape *, spd_tensor *);

struct ucase {
  const char *name;
  unary_fn fn;
  float lo, hi, away; /* input range; kinks at 0 are avoided by `away` */
  double (*ref)(double);
};

static spd_tensor *g_unary(spd_tape *t, spd_tensor **in, void *ctx)
{
  return ((const struct ucase *)ctx)->fn(t, in[0]);
}

static double r_relu(double x) { return x > 0 ? x : 0; }
static double r_leaky(double x) { return x > 0 ? x : 0.2 * x; }
static double r_elu(double x) { return x > 0 ? x : 1.3 * expm1(x); }
static double r_sigmoid(double x) { return 1 / (1 + exp(-x)); }
static double r_softplus(double x) { return log1p(exp(x)); }
static double r_square(double x) { return x * x; }
static double r_scale(double x) { return -2.5 * x; }
static double r_shift(double x) { return x + 0.75; }

static const struct ucase ucases[] = {
  { "relu", spd_relu, -1, 1, 0.05f, r_relu },
  { "leaky_relu", leaky, -1, 1, 0.05f, r_leaky },
  { "elu", elu, -2, 2, 0.05f, r_elu },
  { "sigmoid", spd_sigmoid, -4, 4, 0, r_sigmoid },
  { "tanh", spd_tanh, -2, 2, 0, tanh },
  { "softplus", spd_softplus, -4, 4, 0, r_softplus },
  { "exp", spd_exp, -2, 2, 0, exp },
  { "log", spd_log, 0.3f, 3, 0, log },
  { "square", spd_square, -2, 2, 0, r_square },
  { "scale", scale, -2, 2, 0, r_scale },
  { "add_scalar", shift, -2, 2, 0, r_shift },
};

START_TEST(grad_unary)
{
  const struct ucase *u = &ucases[_i];
  spdt_input in = spdt_input_make(1, 11, 3, (size_t)2, (size_t)3, (size_t)5);
  spdt_fill(in.data, 30, 11, u->lo, u->hi, u->away);
  spdt_gradcheck(u->name, 1, &in, g_unary, (void *)u, H, RTOL, ATOL);

  /* forward against the double-precision formula */
  spd_tape *t = NULL;
  SPDT_OK(spd_tape_create(&t));
  const float *y = spd_tensor_data(u->fn(t, spd_leaf(t, in.ndim, in.shape, in.data, 0)));
  ck_assert_msg(y != NULL, "%s: %s", u->name, spd_tape_error(t));
  for (int i = 0; i < 30; i++)
    SPDT_CLOSE(y[i], u->ref(in.data[i]), 2e-6, 1e-7); /* a few float ulps */
  spd_tape_free(t);
  spdt_input_free(&in);
}
END_TEST

START_TEST(sigmoid_softplus_extremes)
{
  /* Large |x| must not overflow: exact limits, finite gradients. */
  spd_tape *t = NULL;
  SPDT_OK(spd_tape_create(&t));
  const size_t s[1] = { 4 };
  const float x[4] = { -100, -30, 30, 100 };
  spd_tensor *l = spd_leaf(t, 1, s, x, 1);
  spd_tensor *sg = spd_sigmoid(t, l), *sp = spd_softplus(t, l);
  const float *a = spd_tensor_data(sg), *b = spd_tensor_data(sp);
  ck_assert(a[0] >= 0 && a[0] < 1e-40f && a[3] == 1.0f);
  ck_assert(b[0] >= 0 && b[0] < 1e-40f && b[3] == 100.0f && b[2] == 30.0f);
  SPDT_OK(spd_backward(t, spd_sum(t, spd_add(t, sg, sp))));
  const float *g = spd_tensor_grad(l);
  for (int i = 0; i < 4; i++)
    ck_assert(isfinite(g[i]));
  ck_assert_float_eq_tol(g[3], 1.0f, 1e-6f);
  spd_tape_free(t);
}
END_TEST

START_TEST(sigmoid_values_wide_range)
{
  /* 40001 points on [-100, 100]: above the threading threshold and over
   * several of the forward's 4096-element spans, one of them partial.
   * Tolerance: the exp behind sigmoid is within 2.5e-7 relative (vmath.h)
   * and the add, divide and multiply after it round three times (6e-8
   * each), 4.3e-7 in all; 1e-6 leaves room and still fails a sigmoid off
   * by 8 float ulps. Below -87.34 the result is 0 (the exact value is under
   * 1.2e-38, the smallest normal float). */
  enum { n = 40001 };
  const size_t s[1] = { n };
  float *x = malloc(n * sizeof *x), *y1 = malloc(n * sizeof *y1);
  ck_assert(x != NULL && y1 != NULL);
  for (int i = 0; i < n; i++)
    x[i] = -100.0f + 0.005f * (float)i;
  for (int threads = 1; threads <= 2; threads++) {
    SPDT_OK(spd_set_num_threads(threads));
    spd_tape *t = NULL;
    SPDT_OK(spd_tape_create(&t));
    const float *y = spd_tensor_data(spd_sigmoid(t, spd_leaf(t, 1, s, x, 0)));
    ck_assert_msg(y != NULL, "%s", spd_tape_error(t));
    for (int i = 0; i < n; i++) {
      const double ref = 1 / (1 + exp(-(double)x[i]));
      ck_assert_msg(fabs(y[i] - ref) <= 1e-6 * ref + 1.2e-38, "sigmoid(%g) = %.9g, not %.9g",
                    (double)x[i], (double)y[i], ref);
    }
    if (threads == 1)
      memcpy(y1, y, n * sizeof *y1);
    else
      ck_assert(memcmp(y1, y, n * sizeof *y1) == 0); /* thread count changes no bit */
    spd_tape_free(t);
  }
  SPDT_OK(spd_set_num_threads(1));
  free(x);
  free(y1);
}
END_TEST

/* ---- matmul -------------------------------------------------------------- */

static spd_tensor *g_matmul(spd_tape *t, spd_tensor **in, void *ctx)
{
  const int *tr = ctx;
  return spd_matmul_ex(t, in[0], in[1], tr[0], tr[1]);
}

START_TEST(grad_matmul)
{
  const size_t m = 3, k = 4, n = 5;
  for (int ta = 0; ta < 2; ta++)
    for (int tb = 0; tb < 2; tb++) {
      spdt_input in[2] = {
        spdt_input_make(1, 3, 2, ta ? k : m, ta ? m : k),
        spdt_input_make(1, 4, 2, tb ? n : k, tb ? k : n),
      };
      int tr[2] = { ta, tb };
      char what[32];
      snprintf(what, sizeof what, "matmul ta=%d tb=%d", ta, tb);
      spdt_gradcheck(what, 2, in, g_matmul, tr, H, RTOL, ATOL);

      /* forward against a direct product */
      spd_tape *t = NULL;
      SPDT_OK(spd_tape_create(&t));
      spd_tensor *a = spd_leaf(t, 2, in[0].shape, in[0].data, 0);
      spd_tensor *b = spd_leaf(t, 2, in[1].shape, in[1].data, 0);
      const float *c = spd_tensor_data(spd_matmul_ex(t, a, b, ta, tb));
      ck_assert_ptr_nonnull(c);
      for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
          double s = 0;
          for (size_t p = 0; p < k; p++)
            s += (double)in[0].data[ta ? p * m + i : i * k + p] *
                 in[1].data[tb ? j * k + p : p * n + j];
          SPDT_CLOSE(c[i * n + j], s, 1e-5, 1e-6);
        }
      spd_tape_free(t);
      spdt_input_free(&in[0]);
      spdt_input_free(&in[1]);
    }
}
END_TEST

/* ---- reductions ---------------------------------------------------------- */

static spd_tensor *g_sum(spd_tape *t, spd_tensor **in, void *c) { (void)c; return spd_sum(t, in[0]); }
static spd_tensor *g_mean(spd_tape *t, spd_tensor **in, void *c) { (void)c; return spd_mean(t, in[0]); }
static spd_tensor *g_sum_axis(spd_tape *t, spd_tensor **in, void *c)
{
  return spd_sum_axis(t, in[0], *(int *)c);
}
static spd_tensor *g_lse(spd_tape *t, spd_tensor **in, void *c)
{
  return spd_logsumexp(t, in[0], *(int *)c);
}

START_TEST(grad_reductions)
{
  spdt_input in = spdt_input_make(1, 21, 3, (size_t)2, (size_t)3, (size_t)4);
  spdt_gradcheck("sum", 1, &in, g_sum, NULL, H, RTOL, ATOL);
  spdt_gradcheck("mean", 1, &in, g_mean, NULL, H, RTOL, ATOL);
  const int axes[] = { 0, 1, 2, -1, -3 };
  for (int a = 0; a < 5; a++) {
    char what[32];
    snprintf(what, sizeof what, "sum_axis %d", axes[a]);
    spdt_gradcheck(what, 1, &in, g_sum_axis, (void *)&axes[a], H, RTOL, ATOL);
    snprintf(what, sizeof what, "logsumexp %d", axes[a]);
    spdt_gradcheck(what, 1, &in, g_lse, (void *)&axes[a], H, RTOL, ATOL);
  }
  spdt_input_free(&in);
}
END_TEST

START_TEST(reduction_values)
{
  spd_tape *t = NULL;
  SPDT_OK(spd_tape_create(&t));
  const size_t s[2] = { 2, 3 };
  const float x[6] = { 1, 2, 3, 100, 101, 102 };
  spd_tensor *l = spd_leaf(t, 2, s, x, 0);
  ck_assert_float_eq(spd_tensor_data(spd_sum(t, l))[0], 309.0f);
  ck_assert_float_eq(spd_tensor_data(spd_mean(t, l))[0], 51.5f);
  ck_assert_int_eq(spd_tensor_ndim(spd_sum(t, l)), 0);
  const float *c = spd_tensor_data(spd_sum_axis(t, l, 0));
  ck_assert(c[0] == 101 && c[1] == 103 && c[2] == 105);
  const float *r = spd_tensor_data(spd_logsumexp(t, l, -1));
  /* large values: the max is subtracted, no overflow */
  SPDT_CLOSE(r[0], 3 + log(1 + exp(-1) + exp(-2)), 1e-6, 0);
  SPDT_CLOSE(r[1], 102 + log(1 + exp(-1) + exp(-2)), 1e-6, 0);
  spd_tape_free(t);
}
END_TEST

/* ---- shape ops ----------------------------------------------------------- */

static spd_tensor *g_reshape(spd_tape *t, spd_tensor **in, void *c)
{
  (void)c;
  const size_t s[2] = { 4, 6 };
  /* square after the reshape so that the check is not linear-only */
  return spd_square(t, spd_reshape(t, in[0], 2, s));
}

struct slice_args {
  int axis;
  size_t start, len;
};

static spd_tensor *g_slice(spd_tape *t, spd_tensor **in, void *c)
{
  const struct slice_args *a = c;
  return spd_slice(t, in[0], a->axis, a->start, a->len);
}

static spd_tensor *g_concat(spd_tape *t, spd_tensor **in, void *c)
{
  return spd_concat(t, 3, in, *(int *)c);
}

START_TEST(grad_shape_ops)
{
  spdt_input in = spdt_input_make(1, 31, 3, (size_t)2, (size_t)3, (size_t)4);
  spdt_gradcheck("reshape", 1, &in, g_reshape, NULL, H, RTOL, ATOL);
  const struct slice_args sl[] = { { 0, 1, 1 }, { 1, 1, 2 }, { -1, 0, 3 }, { 2, 3, 1 } };
  for (int k = 0; k < 4; k++)
    spdt_gradcheck("slice", 1, &in, g_slice, (void *)&sl[k], H, RTOL, ATOL);
  spdt_input_free(&in);

  spdt_input cat[3] = {
    spdt_input_make(1, 41, 3, (size_t)2, (size_t)1, (size_t)3),
    spdt_input_make(0, 42, 3, (size_t)2, (size_t)2, (size_t)3),
    spdt_input_make(1, 43, 3, (size_t)2, (size_t)3, (size_t)3),
  };
  int axis = 1;
  spdt_gradcheck("concat axis 1", 3, cat, g_concat, &axis, H, RTOL, ATOL);
  for (int k = 0; k < 3; k++)
    spdt_input_free(&cat[k]);
}
END_TEST

START_TEST(shape_op_values)
{
  spd_tape *t = NULL;
  SPDT_OK(spd_tape_create(&t));
  const size_t s[2] = { 2, 3 };
  const float x[6] = { 0, 1, 2, 3, 4, 5 };
  spd_tensor *l = spd_leaf(t, 2, s, x, 0);
  const float *c = spd_tensor_data(spd_slice(t, l, 1, 1, 2));
  ck_assert(c[0] == 1 && c[1] == 2 && c[2] == 4 && c[3] == 5);
  spd_tensor *parts[2] = { l, l };
  spd_tensor *cat = spd_concat(t, 2, parts, 0);
  size_t shape[4];
  SPDT_OK(spd_tensor_shape(cat, shape));
  ck_assert(shape[0] == 4 && shape[1] == 3);
  ck_assert_mem_eq(spd_tensor_data(cat) + 6, x, sizeof x);
  cat = spd_concat(t, 2, parts, -1);
  c = spd_tensor_data(cat);
  ck_assert(c[3] == 0 && c[4] == 1 && c[6] == 3 && c[11] == 5);
  /* reshape shares the values */
  const size_t r[1] = { 6 };
  ck_assert_ptr_eq(spd_tensor_data(spd_reshape(t, l, 1, r)), spd_tensor_data(l));
  spd_tape_free(t);
}
END_TEST

/* ---- Gaussian log density ------------------------------------------------ */

static spd_tensor *g_density(spd_tape *t, spd_tensor **in, void *c)
{
  (void)c;
  return spd_gaussian_log_density(t, in[0], in[1], in[2]);
}

START_TEST(grad_gaussian_log_density)
{
  /* same shapes; a per-feature log sd with a scalar mean; a scalar log sd */
  const size_t ms[3][2] = { { 4, 5 }, { 1, 0 }, { 4, 5 } };
  const size_t ss[3][2] = { { 4, 5 }, { 5, 0 }, { 1, 0 } };
  const int mn[3] = { 2, 0, 2 }, sn[3] = { 2, 1, 0 };
  for (int c = 0; c < 3; c++) {
    spdt_input in[3] = {
      spdt_input_make(1, 51, 2, (size_t)4, (size_t)5),
      { .ndim = mn[c], .requires_grad = 1 },
      { .ndim = sn[c], .requires_grad = 1 },
    };
    size_t nm = 1, ns = 1;
    for (int d = 0; d < mn[c]; d++)
      nm *= in[1].shape[d] = ms[c][d];
    for (int d = 0; d < sn[c]; d++)
      ns *= in[2].shape[d] = ss[c][d];
    in[1].data = malloc(nm * sizeof(float));
    in[2].data = malloc(ns * sizeof(float));
    spdt_fill(in[1].data, nm, 52, -1, 1, 0);
    spdt_fill(in[2].data, ns, 53, -0.5f, 0.5f, 0);
    spdt_gradcheck("gaussian_log_density", 3, in, g_density, NULL, H, RTOL, ATOL);

    spd_tape *t = NULL;
    SPDT_OK(spd_tape_create(&t));
    spd_tensor *l[3];
    for (int k = 0; k < 3; k++)
      l[k] = spd_leaf(t, in[k].ndim, in[k].shape, in[k].data, 0);
    const float *y = spd_tensor_data(g_density(t, l, NULL));
    ck_assert_ptr_nonnull(y);
    for (int r = 0; r < 4; r++) {
      double s = 0;
      for (int j = 0; j < 5; j++) {
        double m = in[1].data[c == 1 ? 0 : r * 5 + j];
        double ls = in[2].data[c == 1 ? j : c == 2 ? 0 : r * 5 + j];
        double u = (in[0].data[r * 5 + j] - m) / exp(ls);
        s += -0.5 * u * u - ls - 0.91893853320467274178;
      }
      SPDT_CLOSE(y[r], s, 1e-6, 1e-6);
    }
    spd_tape_free(t);
    for (int k = 0; k < 3; k++)
      spdt_input_free(&in[k]);
  }
}
END_TEST

/* A per-channel operand's gradient (spdi_channel_sums(), common.c) must
 * sum in the order it defines, on any thread count: a channel's rows in
 * nb blocks of images (image k of N in block k * nb / N; nb = min(N, 8,
 * N HW / 1024), at least 1), element j of each row into lane j mod 16 (a
 * row's last partial chunk into the first lanes), each block's lanes
 * added in lane order and the blocks in block order. A value of 1e20 per
 * row whose sign changes from image to image makes the double sums depend
 * on that order (1e20 + 1 is 1e20; blocks of an odd number of images end
 * at +-1e20, others with what survived), so this scalar emulation pins
 * the bits. */
static double block_order_sum(const float *dy, size_t N, size_t C, size_t HW, size_t c,
                              size_t nb)
{
  const size_t full = HW / 16 * 16;
  double s = 0;
  for (size_t b = 0; b < nb; b++) {
    double lane[16] = { 0 }, part = 0;
    for (size_t r = N * b / nb; r < N * (b + 1) / nb; r++)
      for (size_t j = 0; j < HW; j++)
        lane[j < full ? j % 16 : j - full] += dy[(r * C + c) * HW + j];
    for (size_t l = 0; l < 16; l++)
      part += lane[l];
    s += part;
  }
  return s;
}

/* d/db of sum((x + b) dy) over N x C x 1 x HW, b per channel, on
 * `threads` threads, against block_order_sum() bit for bit. */
static void check_block_order(size_t N, size_t C, size_t HW, int threads)
{
  const size_t n = N * C * HW, fill = N * HW / 1024, most = N < 8 ? N : 8;
  const size_t nb = fill < 1 ? 1 : fill < most ? fill : most;
  float *x = calloc(n, sizeof *x), *dy = malloc(n * sizeof *dy), *b0 = calloc(C, sizeof *b0);
  ck_assert(x != NULL && dy != NULL && b0 != NULL);
  for (size_t i = 0; i < n; i++) {
    const size_t j = i % HW;
    const float sign = i / (C * HW) % 2 ? -1.0f : 1.0f;
    dy[i] = j == 3 ? sign * 1e20f : (float)(1 + j % 3);
  }
  const size_t xs[4] = { N, C, 1, HW }, cs[1] = { C };
  spd_tape *t = NULL;
  SPDT_OK(spd_set_num_threads(threads));
  SPDT_OK(spd_tape_create(&t));
  spd_tensor *b = spd_leaf(t, 1, cs, b0, 1);
  spd_tensor *y = spd_add(t, spd_leaf(t, 4, xs, x, 0), b);
  SPDT_OK(spd_backward(t, spd_sum(t, spd_mul(t, y, spd_leaf(t, 4, xs, dy, 0)))));
  for (size_t c = 0; c < C; c++) {
    const float want = (float)block_order_sum(dy, N, C, HW, c, nb);
    ck_assert_msg(spd_tensor_grad(b)[c] == want,
                  "%zu x %zu x %zu, %d threads, channel %zu: %a, block order %a", N, C, HW,
                  threads, c, (double)spd_tensor_grad(b)[c], (double)want);
    /* in one block fewer the same values give another sum: the test can
     * tell the blocks apart */
    if (nb > 1)
      ck_assert_msg((float)block_order_sum(dy, N, C, HW, c, nb - 1) != want,
                    "%zu x %zu x %zu, channel %zu: the data do not depend on the blocks", N,
                    C, HW, c);
  }
  SPDT_OK(spd_set_num_threads(1));
  spd_tape_free(t);
  free(x);
  free(dy);
  free(b0);
}

START_TEST(channel_sums_in_block_order)
{
  check_block_order(2, 2, 37, 1); /* below the parallel threshold */
  /* on 1 to 3 threads: 3 channels of 32 images in 8 blocks (threads
   * take blocks), and of 12 images in 8 blocks of 1 and 2 (whose order
   * matters); 5 channels of 6 images in 6 blocks (blocks on 3 threads,
   * channels on 1 and 2); 2 channels of 4 images in 4 blocks (blocks on 2
   * and 3 threads); 16 channels of 16 images in 2 blocks and 70 channels
   * of 4 short rows in 1 (channels on every count) */
  for (int threads = 1; threads <= 3; threads++) {
    check_block_order(32, 3, 512, threads);
    check_block_order(12, 3, 2800, threads);
    check_block_order(16, 16, 128, threads);
    check_block_order(6, 5, 1100, threads);
    check_block_order(4, 2, 4500, threads);
    check_block_order(4, 70, 130, threads);
  }
}
END_TEST

Suite *spdt_suite(void)
{
  Suite *s = suite_create("ops");
  SPDT_ADD(s, grad_add, 30);
  SPDT_ADD(s, grad_sub, 30);
  SPDT_ADD(s, grad_mul, 30);
  SPDT_ADD(s, grad_div, 30);
  SPDT_ADD(s, broadcast_forward_values, 10);
  SPDT_ADD(s, channel_sums_in_block_order, 30);
  SPDT_ADD_LOOP(s, grad_unary, sizeof ucases / sizeof ucases[0], 30);
  SPDT_ADD(s, sigmoid_softplus_extremes, 10);
  SPDT_ADD(s, sigmoid_values_wide_range, 10);
  SPDT_ADD(s, grad_matmul, 30);
  SPDT_ADD(s, grad_reductions, 30);
  SPDT_ADD(s, reduction_values, 10);
  SPDT_ADD(s, grad_shape_ops, 30);
  SPDT_ADD(s, shape_op_values, 10);
  SPDT_ADD(s, grad_gaussian_log_density, 30);
  return s;
}
