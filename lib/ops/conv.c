/* conv2d and conv2d_transpose: im2col / col2im around BLIS sgemm, with the
 * batch folded into the GEMMs' column dimension.
 *
 * conv2d, for a group of G images (P = Ho Wo output positions, K = C kh kw):
 *   forward   col = im2col(x)                 K x GP
 *             Y   = W col                     O x GP, scattered to NCHW + bias
 *   backward  D   = dy gathered               O x GP
 *             dW += D col^T                   (col recomputed: cheaper than
 *                                              keeping it for every layer)
 *             dx += col2im(W^T D)
 * conv2d_transpose is the same pair of maps read the other way round:
 * its forward is conv2d's input gradient and its input gradient is
 * conv2d's forward. Groups are sized from the shapes alone (never from the
 * thread count), so results are the same bits on any number of threads. */
#include "gemm.h"
#include "im2col.h"
#include "tape_impl.h"

#include <string.h>

/* Bytes of scratch a group may use: big enough for large GEMMs, small
 * enough that a batch of large images does not need gigabytes. */
#define GROUP_BYTES ((size_t)64 << 20)

static size_t group_size(size_t nimg, size_t floats_per_image)
{
  size_t g = GROUP_BYTES / sizeof(float) / (floats_per_image ? floats_per_image : 1);
  return g < 1 ? 1 : g > nimg ? nimg : g;
}

/* dst[o][g P + p] = src[g][o][p]: NCHW images to a channel-major matrix. */
static void gather(const float *src, float *dst, size_t G, size_t O, size_t P)
{
#pragma omp parallel for if(G * O * P >= SPDI_PAR_MIN) num_threads(spdi_threads())
  for (size_t r = 0; r < G * O; r++) {
    const size_t g = r / O, o = r % O;
    memcpy(dst + o * G * P + g * P, src + r * P, P * sizeof *dst);
  }
}

/* dst[g][o][p] (+)= src[o][g P + p] (+ bias[o]). */
static void scatter(const float *src, float *dst, size_t G, size_t O, size_t P,
                    const float *bias, bool add)
{
#pragma omp parallel for if(G * O * P >= SPDI_PAR_MIN) num_threads(spdi_threads())
  for (size_t r = 0; r < G * O; r++) {
    const size_t g = r / O, o = r % O;
    const float *s = src + o * G * P + g * P;
    float *d = dst + r * P;
    const float b = bias != NULL ? bias[o] : 0.0f;
    if (add) {
      for (size_t p = 0; p < P; p++)
        d[p] += s[p];
    } else {
      for (size_t p = 0; p < P; p++)
        d[p] = s[p] + b;
    }
  }
}

/* db[o] += sum over n, p of dy[n][o][p]. */
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
  if (stride < 1 || pad < 0 || opad < 0 || (transpose && opad >= stride))
    return spdi_tape_fail(t, SPD_E_INVALID,
                          "stride %lld, pad %lld, output_pad %lld: need stride >= 1, "
                          "pad >= 0, 0 <= output_pad < stride",
                          (long long)stride, (long long)pad, (long long)opad);
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

/* The conv2d geometry: image side x, column side y. */
static struct spdi_conv_geom geom_of(const spd_tensor *img, const spd_tensor *w,
                                     const spd_tensor *cols, const spd_tensor *y)
{
  struct spdi_conv_geom g = {
    .C = img->shape[1], .H = img->shape[2], .W = img->shape[3],
    .kh = w->shape[2], .kw = w->shape[3],
    .stride = (size_t)y->iarg[0], .pad = (size_t)y->iarg[1],
    .Ho = cols->shape[2], .Wo = cols->shape[3],
  };
  return g;
}

int spdi_op_conv2d(spd_tape *t, spd_tensor *y, enum spdi_action action)
{
  if (action == SPDI_SHAPE)
    return conv_shape(t, y, false);
  const spd_tensor *x = y->in[0], *w = y->in[1], *b = y->nin > 2 ? y->in[2] : NULL;
  const struct spdi_conv_geom g = geom_of(x, w, y, y);
  const size_t N = x->shape[0], O = w->shape[0], K = g.C * g.kh * g.kw;
  const size_t P = g.Ho * g.Wo, img = g.C * g.H * g.W;
  const size_t G = group_size(N, (K + O) * P);
  float *col = spdi_tape_scratch(t, (K + O) * G * P * sizeof(float));
  if (col == NULL)
    return spd_tape_status(t);
  float *mat = col + K * G * P; /* O x GP */

  if (action == SPDI_FORWARD) {
    for (size_t n0 = 0; n0 < N; n0 += G) {
      const size_t gn = N - n0 < G ? N - n0 : G, cols = gn * P;
      spdi_im2col(&g, gn, x->data + n0 * img, col);
      spdi_sgemm(false, false, O, cols, K, 1.0f, w->data, K, col, cols, 0.0f, mat, cols);
      scatter(mat, y->data + n0 * O * P, gn, O, P, b != NULL ? b->data : NULL, false);
    }
    return SPD_OK;
  }

  for (size_t n0 = 0; n0 < N; n0 += G) {
    const size_t gn = N - n0 < G ? N - n0 : G, cols = gn * P;
    gather(y->grad + n0 * O * P, mat, gn, O, P);
    if (w->requires_grad) {
      spdi_im2col(&g, gn, x->data + n0 * img, col);
      spdi_sgemm(false, true, O, K, cols, 1.0f, mat, cols, col, cols, 1.0f, w->grad, K);
    }
    if (x->requires_grad) {
      spdi_sgemm(true, false, K, cols, O, 1.0f, w->data, K, mat, cols, 0.0f, col, cols);
      spdi_col2im_add(&g, gn, col, x->grad + n0 * img);
    }
  }
  return b != NULL && b->requires_grad ? bias_grad(t, y, b->grad) : SPD_OK;
}

int spdi_op_conv2d_transpose(spd_tape *t, spd_tensor *y, enum spdi_action action)
{
  if (action == SPDI_SHAPE)
    return conv_shape(t, y, true);
  const spd_tensor *x = y->in[0], *w = y->in[1], *b = y->nin > 2 ? y->in[2] : NULL;
  /* The image side is the output y; kernel positions are x's pixels. */
  const struct spdi_conv_geom g = geom_of(y, w, x, y);
  const size_t N = x->shape[0], Cin = x->shape[1], Kc = g.C * g.kh * g.kw;
  const size_t P = g.Ho * g.Wo, img = g.C * g.H * g.W;
  const size_t G = group_size(N, (Kc + Cin) * P);
  float *col = spdi_tape_scratch(t, (Kc + Cin) * G * P * sizeof(float));
  if (col == NULL)
    return spd_tape_status(t);
  float *mat = col + Kc * G * P; /* Cin x GP */

  if (action == SPDI_FORWARD) {
    const size_t HW = g.H * g.W;
#pragma omp parallel for if(y->n >= SPDI_PAR_MIN) num_threads(spdi_threads())
    for (size_t r = 0; r < N * g.C; r++) {
      const float v = b != NULL ? b->data[r % g.C] : 0.0f;
      for (size_t p = 0; p < HW; p++)
        y->data[r * HW + p] = v;
    }
    for (size_t n0 = 0; n0 < N; n0 += G) {
      const size_t gn = N - n0 < G ? N - n0 : G, cols = gn * P;
      gather(x->data + n0 * Cin * P, mat, gn, Cin, P);
      spdi_sgemm(true, false, Kc, cols, Cin, 1.0f, w->data, Kc, mat, cols, 0.0f, col, cols);
      spdi_col2im_add(&g, gn, col, y->data + n0 * img);
    }
    return SPD_OK;
  }

  for (size_t n0 = 0; n0 < N; n0 += G) {
    const size_t gn = N - n0 < G ? N - n0 : G, cols = gn * P;
    spdi_im2col(&g, gn, y->grad + n0 * img, col);
    if (w->requires_grad) {
      gather(x->data + n0 * Cin * P, mat, gn, Cin, P);
      spdi_sgemm(false, true, Cin, Kc, cols, 1.0f, mat, cols, col, cols, 1.0f, w->grad, Kc);
    }
    if (x->requires_grad) {
      spdi_sgemm(false, false, Cin, cols, Kc, 1.0f, w->data, Kc, col, cols, 0.0f, mat, cols);
      scatter(mat, x->grad + n0 * Cin * P, gn, Cin, P, NULL, true);
    }
  }
  return b != NULL && b->requires_grad ? bias_grad(t, y, b->grad) : SPD_OK;
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
