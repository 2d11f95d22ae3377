/* The tape itself: leaves and accessors, backward semantics, the arena
 * (no allocation once warm, reserve, limit), sticky errors with a table of
 * bad inputs, the op table, and bitwise independence of the thread count
 * and instruction set. */
#include "cpu.h"
#include "harness.h"
#include "tape_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Index of the first element whose bits differ between a and b, or n. */
static size_t first_difference(const float *a, const float *b, size_t n)
{
  size_t i = 0;
  while (i < n && memcmp(&a[i], &b[i], sizeof(float)) == 0)
    i++;
  return i;
}

START_TEST(leaf_and_accessors)
{
  spd_tape *t = NULL;
  SPDT_OK(spd_tape_create(&t));
  const size_t s[3] = { 2, 3, 4 };
  float v[24];
  for (int i = 0; i < 24; i++)
    v[i] = (float)i;
  spd_tensor *x = spd_leaf(t, 3, s, v, 1);
  ck_assert_ptr_nonnull(x);
  v[0] = 99; /* copied */
  ck_assert_int_eq(spd_tensor_ndim(x), 3);
  size_t got[4];
  SPDT_OK(spd_tensor_shape(x, got));
  ck_assert_mem_eq(got, s, sizeof s);
  ck_assert_uint_eq(spd_tensor_size(x), 24);
  ck_assert_float_eq(spd_tensor_data(x)[0], 0.0f);
  ck_assert_ptr_null(spd_tensor_grad(x)); /* before backward */

  spd_tensor *z = spd_leaf(t, 0, NULL, NULL, 0); /* scalar zero */
  ck_assert_int_eq(spd_tensor_ndim(z), 0);
  ck_assert_uint_eq(spd_tensor_size(z), 1);
  ck_assert_float_eq(spd_tensor_data(z)[0], 0.0f);
  SPDT_OK(spd_tensor_shape(z, NULL));

  ck_assert_int_eq(spd_tensor_ndim(NULL), SPD_E_INVALID);
  SPDT_FAILS(SPD_E_INVALID, spd_tensor_shape(NULL, got));
  SPDT_FAILS(SPD_E_INVALID, spd_tensor_shape(x, NULL));
  ck_assert_ptr_null(spd_tensor_data(NULL));
  ck_assert_ptr_null(spd_tensor_grad(NULL));
  ck_assert_uint_eq(spd_tensor_size(NULL), 0);
  ck_assert_uint_eq(spd_tape_node_count(t), 2);
  spd_tape_free(t);
}
END_TEST

START_TEST(null_handles)
{
  SPDT_FAILS(SPD_E_INVALID, spd_tape_create(NULL));
  spd_tape_free(NULL);
  spd_tape_reset(NULL);
  ck_assert_int_eq(spd_tape_status(NULL), SPD_E_INVALID);
  ck_assert_ptr_nonnull(spd_tape_error(NULL));
  SPDT_FAILS(SPD_E_INVALID, spd_backward(NULL, NULL));
  SPDT_FAILS(SPD_E_INVALID, spd_tape_reserve(NULL, 10));
  SPDT_FAILS(SPD_E_INVALID, spd_tape_set_limit(NULL, 10));
  ck_assert_uint_eq(spd_tape_bytes_used(NULL), 0);
  ck_assert_uint_eq(spd_tape_bytes_reserved(NULL), 0);
  ck_assert_uint_eq(spd_tape_node_count(NULL), 0);
  /* an op on a NULL tape returns NULL and says why */
  ck_assert_ptr_null(spd_relu(NULL, NULL));
  ck_assert_ptr_nonnull(strstr(spd_last_error(), "spd_relu"));
}
END_TEST

START_TEST(backward_semantics)
{
  spd_tape *t = NULL;
  SPDT_OK(spd_tape_create(&t));
  const size_t s[1] = { 3 };
  const float av[3] = { 1, 2, 3 }, bv[3] = { 4, 5, 6 };
  spd_tensor *a = spd_leaf(t, 1, s, av, 1), *b = spd_leaf(t, 1, s, bv, 0);
  spd_tensor *ab = spd_mul(t, a, b);
  spd_tensor *loss = spd_sum(t, spd_add(t, ab, a)); /* a used twice */
  spd_tensor *after = spd_scale(t, a, 2.0f);         /* created after the loss */
  SPDT_OK(spd_backward(t, loss));
  for (int i = 0; i < 3; i++)
    ck_assert_float_eq(spd_tensor_grad(a)[i], bv[i] + 1);
  ck_assert_ptr_null(spd_tensor_grad(b));     /* no gradient asked */
  ck_assert_ptr_null(spd_tensor_grad(after)); /* not before the loss */
  ck_assert_float_eq(spd_tensor_grad(loss)[0], 1.0f);
  /* a second backward recomputes the tape's gradients from zero */
  SPDT_OK(spd_backward(t, loss));
  for (int i = 0; i < 3; i++)
    ck_assert_float_eq(spd_tensor_grad(a)[i], bv[i] + 1);
  /* a loss that depends on nothing trainable: fine, nothing to do */
  SPDT_OK(spd_backward(t, spd_sum(t, b)));
  /* non-scalar loss */
  SPDT_FAILS(SPD_E_SHAPE, spd_backward(t, ab));
  ck_assert_int_eq(spd_tape_status(t), SPD_E_SHAPE);
  spd_tape_free(t);
}
END_TEST

/* A sum's or mean's input gradient is one value everywhere: the tape keeps
 * it as that value (grad_uniform) until something reads it as an array.
 * spd_tensor_grad() writes it out; so does an op that adds to it (an
 * assigning op through spdi_grad_first, an adding one through
 * spdi_grad_materialize) or reads it as its own output's gradient. */
START_TEST(uniform_gradients_are_written_when_read)
{
  spd_tape *t = NULL;
  SPDT_OK(spd_tape_create(&t));
  const size_t s[2] = { 6, 7 }, n = 42;
  float xv[42];
  for (size_t i = 0; i < n; i++)
    xv[i] = (float)((int)(i * 37 % 19) - 9) * 0.25f;
  for (int graph = 0; graph < 4; graph++) {
    spd_tape_reset(t);
    spd_tensor *x = spd_leaf(t, 2, s, xv, 1), *loss = NULL, *mid = NULL;
    if (graph == 0) { /* two uniform contributions: 1/n, then 1 added to it */
      loss = spd_add(t, spd_sum(t, x), spd_mean(t, x));
    } else if (graph == 1) { /* relu (assigning) adds to x's uniform 1 */
      mid = spd_relu(t, x);
      loss = spd_add(t, spd_sum(t, mid), spd_sum(t, x));
    } else if (graph == 2) { /* scale (adding) adds to x's uniform 1 */
      mid = spd_scale(t, x, 2.0f);
      loss = spd_add(t, spd_sum(t, mid), spd_sum(t, x));
    } else { /* the uniform gradient of an intermediate, read by scale */
      mid = spd_scale(t, x, 3.0f);
      loss = spd_mean(t, mid);
    }
    SPDT_OK(spd_backward(t, loss));
    const float *gx = spd_tensor_grad(x);
    ck_assert_ptr_eq(spd_tensor_grad(x), gx);
    for (size_t i = 0; i < n; i++) {
      const float inv_n = (float)(1.0 / (double)n);
      const float want[4] = { inv_n + 1.0f, 1.0f + (xv[i] > 0), 1.0f + 2.0f, 3.0f * inv_n };
      ck_assert_msg(gx[i] == want[graph], "graph %d: dx[%zu] = %.9g, want %.9g", graph, i,
                    (double)gx[i], (double)want[graph]);
      if (mid != NULL) {
        const float wm = graph == 3 ? inv_n : 1.0f;
        ck_assert_msg(spd_tensor_grad(mid)[i] == wm, "graph %d: dmid[%zu] = %.9g", graph, i,
                      (double)spd_tensor_grad(mid)[i]);
      }
    }
    /* a second pass recomputes it (from pending, not from the last value) */
    SPDT_OK(spd_backward(t, loss));
    ck_assert_float_eq(spd_tensor_grad(x)[n - 1], gx[n - 1]);
  }
  spd_tape_free(t);
}
END_TEST

/* Batch norm reads a uniform output gradient as one row of its value. Its
 * gradients then equal, bit for bit, those it computes from the same
 * gradient written out (here by a product with ones), for both of its
 * walks over the tensor (rows shorter and longer than 256, and a 2-D
 * input), with and without the fused ReLU, for a sum and a mean; the
 * output's own gradient reads as the value. */
START_TEST(batch_norm_reads_uniform_gradients)
{
  static const size_t shapes[3][4] = { { 12, 5, 1, 1 }, { 3, 4, 5, 6 }, { 2, 3, 16, 17 } };
  spd_tape *t = NULL;
  SPDT_OK(spd_tape_create(&t));
  for (int k = 0; k < 3; k++) {
    const int nd = k == 0 ? 2 : 4;
    const size_t *s = shapes[k], C = s[1], n = s[0] * s[1] * s[2] * s[3];
    float *xv = malloc(n * sizeof *xv), *ones = malloc(n * sizeof *ones);
    float *got[2] = { malloc((n + 2 * C) * sizeof(float)), malloc((n + 2 * C) * sizeof(float)) };
    ck_assert(xv != NULL && ones != NULL && got[0] != NULL && got[1] != NULL);
    for (size_t i = 0; i < n; i++) {
      xv[i] = (float)((int)(i * 7919 % 2001) - 1000) * 1e-3f + (float)(i % 3);
      ones[i] = 1.0f;
    }
    const float gv[5] = { 1.5f, -0.5f, 0.75f, 2.0f, 1.0f }, bv[5] = { 0.1f, 0.3f, -0.2f, 0, 1 };
    for (int variant = 0; variant < 4; variant++) {
      const bool relu = variant & 1, mean = variant & 2;
      for (int dense = 0; dense < 2; dense++) {
        spd_tape_reset(t);
        spd_tensor *x = spd_leaf(t, nd, s, xv, 1);
        spd_tensor *g = spd_leaf(t, 1, &C, gv, 1), *b = spd_leaf(t, 1, &C, bv, 1);
        spd_tensor *y = relu ? spd_batch_norm_relu(t, x, g, b, NULL, 0, 0, 1, 0.1f, 1e-5f)
                             : spd_batch_norm(t, x, g, b, NULL, 0, 0, 1, 0.1f, 1e-5f);
        spd_tensor *z = dense ? spd_mul(t, y, spd_leaf(t, nd, s, ones, 0)) : y;
        SPDT_OK(spd_backward(t, mean ? spd_mean(t, z) : spd_sum(t, z)));
        memcpy(got[dense], spd_tensor_grad(x), n * sizeof(float));
        memcpy(got[dense] + n, spd_tensor_grad(g), C * sizeof(float));
        memcpy(got[dense] + n + C, spd_tensor_grad(b), C * sizeof(float));
        const float want = mean ? (float)(1.0 / (double)n) : 1.0f;
        ck_assert(spd_tensor_grad(y)[0] == want && spd_tensor_grad(y)[n - 1] == want);
      }
      const size_t i = first_difference(got[0], got[1], n + 2 * C);
      ck_assert_msg(i == n + 2 * C, "shape %d variant %d, value %zu: uniform %.9g, dense %.9g",
                    k, variant, i, (double)got[0][i], (double)got[1][i]);
    }
    free(xv);
    free(ones);
    free(got[0]);
    free(got[1]);
  }
  spd_tape_free(t);
}
END_TEST

/* One conv -> batch norm (+ ReLU) -> loss step for
 * batch_norm_defers_to_conv: the image needs a gradient or not, the loss
 * is sum(z) (a uniform gradient) or sum(z r) (dense), and with extra the
 * conv's output also reaches the loss through ops created before the
 * batch norm, which add to its gradient after the batch norm's backward:
 * a sum (a uniform addition, first) and an activation (spdi_grad_first). With
 * yv set, the conv's output is instead a leaf holding the values yv (a
 * batch norm never defers to a leaf). out receives the gradients of the
 * weights (conv only), gamma, beta and the conv output, then the conv
 * output's values; *deferred whether its gradient was still deferred
 * after backward. Returns how many values. */
struct defer_case {
  size_t N, Cin, H, Cout;
  bool image_grad, relu, dense, extra;
};

static size_t defer_step(spd_tape *t, const struct defer_case *c, const float *data,
                         const float *yv, float *out, bool *deferred)
{
  const size_t xs[4] = { c->N, c->Cin, c->H, c->H }, ws[4] = { c->Cout, c->Cin, 5, 5 };
  const size_t C = c->Cout, ys[4] = { c->N, C, c->H / 2, c->H / 2 };
  const size_t ny = c->N * C * (c->H / 2) * (c->H / 2), nw = C * c->Cin * 25;
  spd_tape_reset(t);
  spd_tensor *w = spd_leaf(t, 4, ws, data + 7, 1);
  spd_tensor *g = spd_leaf(t, 1, &C, data + 11, 1), *b = spd_leaf(t, 1, &C, data + 13, 1);
  spd_tensor *yc = yv != NULL ? spd_leaf(t, 4, ys, yv, 1)
                              : spd_conv2d(t, spd_leaf(t, 4, xs, data, c->image_grad), w,
                                           NULL, 2, 2);
  spd_tensor *side = NULL;
  if (c->extra) { /* in this order: the sum's backward runs right after the batch norm's */
    spd_tensor *sq = spd_sum(t, spd_square(t, yc));
    side = spd_add(t, sq, spd_scale(t, spd_sum(t, yc), 0.5f));
  }
  spd_tensor *z = c->relu ? spd_batch_norm_relu(t, yc, g, b, NULL, 0, 0, 1, 0.1f, 1e-5f)
                          : spd_batch_norm(t, yc, g, b, NULL, 0, 0, 1, 0.1f, 1e-5f);
  if (c->dense)
    z = spd_mul(t, z, spd_leaf(t, 4, ys, data + 17, 0));
  spd_tensor *loss = spd_sum(t, z);
  if (side != NULL)
    loss = spd_add(t, loss, side);
  SPDT_OK(spd_backward(t, loss));
  *deferred = yc->grad_deferred != NULL;
  const float *parts[5] = { yv != NULL ? NULL : spd_tensor_grad(w), spd_tensor_grad(g),
                            spd_tensor_grad(b), spd_tensor_grad(yc), spd_tensor_data(yc) };
  const size_t len[5] = { nw, C, C, ny, ny };
  size_t k = 0;
  for (int i = 0; i < 5; i++) {
    if (parts[i] != NULL)
      memcpy(out + k, parts[i], len[i] * sizeof *out);
    k += len[i];
  }
  ck_assert(yc->grad_deferred == NULL); /* spd_tensor_grad wrote it out */
  return k;
}

/* Batch norm leaves its input gradient for the convolution that produced
 * the input to write a group of images at a time (grad_deferred) where
 * the convolution's weight gradient alone reads it, on NCHW operands. The
 * gradients are the same bits as where the convolution writes it out
 * first (the image needs a gradient too), and those of the batch norm's
 * input as where that is a leaf (never deferred); spd_tensor_grad()
 * writes it out on request, and so does any other op that adds to it
 * later in the backward pass (extra), and the convolution on the
 * batch-innermost operands (8+ images of output rows up to 16). On 1 and
 * 2 threads. */
START_TEST(batch_norm_defers_to_conv)
{
  /* 64 x 64 images: groups of 3 and 2 (wgrad_group); 16 x 16: CHWN */
  static const size_t shapes[2][4] = { { 5, 3, 64, 24 }, { 8, 4, 16, 6 } };
  size_t most = 0; /* floats of the data read and of the gradients */
  for (int k = 0; k < 2; k++) {
    const size_t *sh = shapes[k], nx = sh[0] * sh[1] * sh[2] * sh[2];
    const size_t ny = sh[0] * sh[3] * sh[2] * sh[2] / 4, nw = sh[3] * sh[1] * 25;
    const size_t need[3] = { nx, ny + 17, nw + 2 * sh[3] + 2 * ny };
    for (int i = 0; i < 3; i++)
      most = need[i] > most ? need[i] : most;
  }
  float *data = malloc(most * sizeof *data);
  float *got[3] = { malloc(most * sizeof(float)), malloc(most * sizeof(float)),
                    malloc(most * sizeof(float)) };
  ck_assert(data != NULL && got[0] != NULL && got[1] != NULL && got[2] != NULL);
  for (size_t i = 0; i < most; i++)
    data[i] = (float)((int)(i * 7919 % 2001) - 1000) * 1e-3f;
  spd_tape *t = NULL;
  SPDT_OK(spd_tape_create(&t));
  for (int threads = 1; threads <= 2; threads++) {
    SPDT_OK(spd_set_num_threads(threads));
    for (int k = 0; k < 2; k++) {
      const size_t *sh = shapes[k], C = sh[3], nw = C * sh[1] * 25;
      const size_t ny = sh[0] * C * sh[2] * sh[2] / 4;
      for (int variant = 0; variant < 8; variant++) {
        struct defer_case c = { sh[0], sh[1], sh[2], C, false, variant & 1, variant & 2,
                                variant & 4 };
        bool deferred[3];
        size_t n = 0;
        for (int image_grad = 0; image_grad < 2; image_grad++) {
          c.image_grad = image_grad;
          n = defer_step(t, &c, data, NULL, got[image_grad], &deferred[image_grad]);
        }
        /* the batch norm on a leaf of the conv's output values */
        defer_step(t, &c, data, got[0] + nw + 2 * C + ny, got[2], &deferred[2]);
        /* deferred to the end only where nothing else read it */
        ck_assert_msg(deferred[0] == (k == 0 && !c.extra) && !deferred[1] && !deferred[2],
                      "shape %d variant %d: deferred %d %d %d", k, variant, deferred[0],
                      deferred[1], deferred[2]);
        size_t i = first_difference(got[0], got[1], n);
        ck_assert_msg(i == n, "%d threads, shape %d variant %d, value %zu of %zu: %.9g, "
                      "written out first %.9g", threads, k, variant, i, n,
                      (double)got[0][i % n], (double)got[1][i % n]);
        i = nw + first_difference(got[0] + nw, got[2] + nw, n - nw);
        ck_assert_msg(i == n, "%d threads, shape %d variant %d, value %zu of %zu: %.9g, "
                      "on a leaf %.9g", threads, k, variant, i, n, (double)got[0][i % n],
                      (double)got[2][i % n]);
      }
    }
  }
  SPDT_OK(spd_set_num_threads(1));
  spd_tape_free(t);
  free(data);
  for (int i = 0; i < 3; i++)
    free(got[i]);
}
END_TEST

/* The first op to write a gradient in a backward pass assigns it instead
 * of adding to a zeroed buffer (spdi_grad_first): a tensor used twice by
 * assigning ops, by an assigning and an adding op, or twice by one op, gets
 * both contributions; a gradient nothing writes reads as zero, even where
 * the tape's memory held the last step's values. */
START_TEST(first_gradient_writes_assign)
{
  spd_tape *t = NULL;
  SPDT_OK(spd_tape_create(&t));
  const size_t s[1] = { 4 }, sq[2] = { 2, 2 };
  const float xv[4] = { -1.5f, 2.0f, 0.5f, -3.0f }, av[4] = { 1, 2, 3, 4 };
  /* the first reset merges the arena's blocks: steps 1 and 2 share memory */
  for (int step = 0; step < 3; step++) {
    spd_tape_reset(t);
    spd_tensor *x = spd_leaf(t, 1, s, xv, 1);
    spd_tensor *twice = spd_add(t, x, x);                   /* one op, both inputs */
    spd_tensor *rx = spd_add(t, spd_relu(t, x), x);         /* assigning, then relu */
    spd_tensor *both = spd_add(t, spd_sum(t, x), spd_mean(t, x));
    spd_tensor *a = spd_leaf(t, 2, sq, av, 1);
    spd_tensor *aa = spd_sum(t, spd_matmul(t, a, a));        /* matmul with A twice */
    spd_tensor *off = spd_relu(t, x);                       /* off the loss's path */
    spd_tensor *loss = spd_add(t, spd_add(t, spd_sum(t, twice), spd_sum(t, rx)),
                               spd_add(t, both, aa));
    if (step > 0) /* the same memory, now only partly on the path */
      loss = spd_sum(t, x);
    SPDT_OK(spd_backward(t, loss));
    const float *gx = spd_tensor_grad(x), *ga = spd_tensor_grad(a);
    for (int i = 0; i < 4; i++) {
      /* d/dx: 2 (twice) + relu' + 1 (rx) + 1 + 1/4 (sum and mean) */
      const float want = step > 0 ? 1.0f : 2.0f + (xv[i] > 0) + 1.0f + 1.25f;
      ck_assert_msg(gx[i] == want, "step %d: dx[%d] = %g, want %g", step, i, (double)gx[i],
                    (double)want);
      ck_assert_float_eq(spd_tensor_grad(off)[i], 0.0f);
      /* d sum(A A) / dA[p][q] = sum of A's row q + sum of A's column p */
      const int p = i / 2, q = i % 2;
      const float wa = step > 0 ? 0.0f : av[2 * q] + av[2 * q + 1] + av[p] + av[2 + p];
      ck_assert_msg(ga[i] == wa, "step %d: dA[%d] = %g, want %g", step, i, (double)ga[i],
                    (double)wa);
    }
  }
  spd_tape_free(t);
}
END_TEST

/* Batch norm (alone and fused with ReLU), convolutions and a transposed
 * convolution, which assign their inputs' first gradients, over pending
 * intermediates (and leaves for gamma, beta and the weights): three steps,
 * the last two in the same memory, give the same gradients bit for bit.
 * The convolutions' input gradients take each form: stride 2 (PHASE with
 * its phase-split buffer), stride 1 (PHASE into the gradient), 12 output
 * channels for 3 input ones (SCATTER), and once over an input whose
 * gradient another op wrote first. The values themselves are checked
 * against finite differences in the ops suites. */
START_TEST(assigning_conv_ops_reuse_memory)
{
  spd_tape *t = NULL;
  SPDT_OK(spd_tape_create(&t));
  const size_t xs[4] = { 2, 3, 4, 4 }, cs[1] = { 3 };
  const size_t ws[4][4] = { { 3, 2, 3, 3 }, { 4, 3, 3, 3 }, { 2, 3, 3, 3 }, { 12, 3, 3, 3 } };
  enum { NX = 96, NC = 3, NMAX = 12 * 27 };
  float xv[NX], wv[NMAX];
  const float gv[NC] = { 1.5f, -0.5f, 2.0f }, bv[NC] = { 0.1f, 0.2f, -0.3f };
  const float cb[2] = { 0.25f, -0.75f };
  for (int i = 0; i < NX; i++)
    xv[i] = spdt_hash_value((size_t)i, 3);
  for (int i = 0; i < NMAX; i++)
    wv[i] = spdt_hash_value((size_t)i, 5) * 0.3f;
  float *first = NULL, *got = NULL;
  size_t ng = 0;
  for (int step = 0; step < 3; step++) {
    spd_tape_reset(t);
    spd_tensor *x = spd_leaf(t, 4, xs, xv, 1), *w[4];
    for (int k = 0; k < 4; k++)
      w[k] = spd_leaf(t, 4, ws[k], wv, 1);
    spd_tensor *g = spd_leaf(t, 1, cs, gv, 1), *b = spd_leaf(t, 1, cs, bv, 1);
    spd_tensor *c2b = spd_leaf(t, 1, (const size_t[1]){ 2 }, cb, 1);
    spd_tensor *n = spd_batch_norm(t, spd_scale(t, x, 2.0f), g, b, NULL, 0, 0, 1, 0.1f, 1e-5f);
    spd_tensor *r = spd_batch_norm_relu(t, spd_scale(t, x, -1.0f), g, b, NULL, 0, 0, 1, 0.1f,
                                        1e-5f);
    spd_tensor *u = spd_conv2d_transpose(t, spd_tanh(t, n), w[0], NULL, 2, 1, 1);
    spd_tensor *convs[4] = {
      spd_conv2d(t, spd_tanh(t, r), w[1], NULL, 2, 1),
      spd_conv2d(t, spd_sigmoid(t, n), w[2], c2b, 1, 1),
      spd_conv2d(t, spd_softplus(t, n), w[3], NULL, 1, 0),
      spd_conv2d(t, n, w[1], NULL, 2, 1), /* n's gradient: sum(n) writes it first */
    };
    spd_tensor *loss = spd_add(t, spd_sum(t, spd_square(t, u)), spd_sum(t, n));
    for (int k = 0; k < 4; k++)
      loss = spd_add(t, loss, spd_sum(t, spd_square(t, convs[k])));
    SPDT_OK(spd_backward(t, loss));
    const spd_tensor *parts[] = { x, w[0], w[1], w[2], w[3], g, b, c2b };
    const int np = (int)(sizeof parts / sizeof parts[0]);
    if (step == 0) {
      for (int k = 0; k < np; k++)
        ng += spd_tensor_size(parts[k]);
      first = malloc(ng * sizeof *first);
      got = malloc(ng * sizeof *got);
      ck_assert(first != NULL && got != NULL);
    }
    size_t at = 0;
    for (int k = 0; k < np; k++) {
      memcpy(got + at, spd_tensor_grad(parts[k]), spd_tensor_size(parts[k]) * sizeof *got);
      at += spd_tensor_size(parts[k]);
    }
    ck_assert_uint_eq(at, ng);
    if (step == 0)
      memcpy(first, got, ng * sizeof *first);
    for (size_t i = 0; i < ng; i++)
      ck_assert_msg(memcmp(&got[i], &first[i], sizeof *got) == 0,
                    "step %d: gradient value %zu is %.9g, step 0 gave %.9g", step, i,
                    (double)got[i], (double)first[i]);
  }
  free(first);
  free(got);
  spd_tape_free(t);
}
END_TEST

/* Every elementwise activation assigns its input's first gradient: with
 * the input's other use (a sum) taken before or after it, and over three
 * steps whose last two share memory, the input gradient is the same bits
 * (f'(u) + 1 and 1 + f'(u) are the same float sum). */
typedef spd_tensor *(*unary_fn)(spd_tape *, spd_tensor *);
static spd_tensor *leaky(spd_tape *t, spd_tensor *x) { return spd_leaky_relu(t, x, 0.1f); }
static spd_tensor *elu(spd_tape *t, spd_tensor *x) { return spd_elu(t, x, 1.0f); }
static const unary_fn unaries[] = { spd_relu, leaky, elu, spd_sigmoid, spd_tanh,
                                    spd_softplus, spd_exp, spd_log, spd_square };

START_TEST(activations_assign_first_gradients)
{
  spd_tape *t = NULL;
  SPDT_OK(spd_tape_create(&t));
  const size_t s[1] = { 40000 }; /* above the threads' minimum, so both loops run */
  float *xv = malloc(s[0] * sizeof *xv), *first = malloc(s[0] * sizeof *first);
  float *ones = malloc(s[0] * sizeof *ones);
  ck_assert(xv != NULL && first != NULL && ones != NULL);
  for (size_t i = 0; i < s[0]; i++) {
    xv[i] = 0.25f + 1.5f * (spdt_hash_value(i, 9) + 1.0f) / 2.0f; /* log needs x > 0 */
    ones[i] = 1.0f;
  }
  /* Runs 0-5 sum the activation directly, so it reads its output's
   * gradient as one value (grad_uniform); runs 6-7 multiply it by ones
   * first, so it reads the gradient written out: the same bits. */
  for (int run = 0; run < 8; run++) {
    const bool sum_first = run % 2 != 0, dense = run >= 6;
    spd_tape_reset(t);
    spd_tensor *x = spd_leaf(t, 1, s, xv, 1), *u = spd_scale(t, x, 0.5f);
    spd_tensor *su = sum_first ? spd_sum(t, u) : NULL;
    spd_tensor *a = unaries[_i](t, u);
    if (!sum_first)
      su = spd_sum(t, u);
    spd_tensor *la = dense ? spd_mul(t, a, spd_leaf(t, 1, s, ones, 0)) : a;
    SPDT_OK(spd_backward(t, spd_add(t, spd_sum(t, la), su)));
    ck_assert_float_eq(spd_tensor_grad(a)[s[0] - 1], 1.0f);
    const float *gx = spd_tensor_grad(x);
    if (run == 0)
      memcpy(first, gx, s[0] * sizeof *first);
    ck_assert_msg(memcmp(first, gx, s[0] * sizeof *first) == 0,
                  "activation %d, run %d: gradient differs from run 0", _i, run);
  }
  free(xv);
  free(first);
  free(ones);
  spd_tape_free(t);
}
END_TEST

START_TEST(param_gradients_accumulate)
{
  spd_params *p = NULL;
  SPDT_OK(spd_params_create(&p));
  const size_t s[1] = { 2 };
  const float w0[2] = { 3, -1 };
  size_t iw;
  SPDT_OK(spd_params_add(p, "w", 1, s, w0, 1, &iw));
  spd_tape *t = NULL;
  SPDT_OK(spd_tape_create(&t));
  for (int step = 1; step <= 2; step++) {
    spd_tape_reset(t);
    /* bound twice in one graph: both contributions land in the store */
    spd_tensor *w = spd_param(t, p, iw), *w2 = spd_param(t, p, iw);
    ck_assert_ptr_eq(spd_tensor_data(w), spd_params_data(p, iw)); /* no copy */
    SPDT_OK(spd_backward(t, spd_sum(t, spd_mul(t, w, w2))));
    const float *g = spd_params_grad(p, iw);
    for (int i = 0; i < 2; i++) /* d/dw sum w^2 = 2 w, per backward */
      ck_assert_float_eq(g[i], 2.0f * step * w0[i]);
    ck_assert_ptr_eq(spd_tensor_grad(w), g);
  }
  spd_params_zero_grad(p);
  ck_assert_float_eq(spd_params_grad(p, iw)[0], 0.0f);
  spd_tape_free(t);
  spd_params_free(p);
}
END_TEST

/* ---- arena --------------------------------------------------------------- */

static size_t n_allocs;
static void *count_alloc(void *opaque, size_t size)
{
  (void)opaque;
  n_allocs++;
  return malloc(size);
}
static void count_free(void *opaque, void *ptr)
{
  (void)opaque;
  free(ptr);
}

/* A conv / batch norm / dense step, big enough to need several arena
 * blocks and scratch. */
static void training_step(spd_tape *t, spd_params *p, const float *x)
{
  const size_t xs[4] = { 4, 3, 32, 32 }, flat[2] = { 4, 8 * 16 * 16 };
  spd_tensor *h = spd_conv2d(t, spd_leaf(t, 4, xs, x, 0), spd_param(t, p, 0), NULL, 2, 2);
  h = spd_relu(t, spd_batch_norm(t, h, spd_param(t, p, 1), spd_param(t, p, 2), p, 3, 4, 1,
                                 0.1f, 1e-5f));
  h = spd_matmul_ex(t, spd_reshape(t, h, 2, flat), spd_param(t, p, 5), 0, 1);
  spd_tensor *loss = spd_mean(t, spd_square(t, h));
  SPDT_OK(spd_backward(t, loss));
}

static spd_params *step_params(void)
{
  spd_params *p = NULL;
  SPDT_OK(spd_params_create(&p));
  const size_t ws[4] = { 8, 3, 5, 5 }, cs[1] = { 8 }, ds[2] = { 10, 8 * 16 * 16 };
  float *w = malloc(10 * 8 * 16 * 16 * sizeof *w);
  for (size_t i = 0; i < 10 * 8 * 16 * 16; i++)
    w[i] = (float)((i * 37 % 101) - 50) * 1e-3f;
  float ones[8] = { 1, 1, 1, 1, 1, 1, 1, 1 };
  SPDT_OK(spd_params_add(p, "conv", 4, ws, w, 1, NULL));
  SPDT_OK(spd_params_add(p, "gamma", 1, cs, ones, 1, NULL));
  SPDT_OK(spd_params_add(p, "beta", 1, cs, NULL, 1, NULL));
  SPDT_OK(spd_params_add(p, "rm", 1, cs, NULL, 0, NULL));
  SPDT_OK(spd_params_add(p, "rv", 1, cs, ones, 0, NULL));
  SPDT_OK(spd_params_add(p, "dense", 2, ds, w, 1, NULL));
  free(w);
  return p;
}

START_TEST(warm_steps_allocate_nothing)
{
  SPDT_OK(spd_set_allocator(count_alloc, count_free, NULL));
  spd_params *p = step_params();
  float *x = malloc(4 * 3 * 32 * 32 * sizeof *x);
  for (int i = 0; i < 4 * 3 * 32 * 32; i++)
    x[i] = (float)((i * 13 % 17) - 8) * 0.1f;
  spd_tape *t = NULL;
  SPDT_OK(spd_tape_create(&t));
  training_step(t, p, x); /* cold: blocks and scratch are allocated */
  ck_assert_uint_gt(n_allocs, 2);
  const size_t used = spd_tape_bytes_used(t), nodes = spd_tape_node_count(t);
  ck_assert_uint_gt(used, 4 * 8 * 16 * 16 * sizeof(float));
  ck_assert_uint_ge(spd_tape_bytes_reserved(t), used);
  spd_tape_reset(t); /* consolidates the blocks of the first step into one */
  ck_assert_uint_eq(spd_tape_bytes_used(t), 0);
  ck_assert_uint_eq(spd_tape_node_count(t), 0);
  for (int step = 0; step < 3; step++) {
    size_t before = n_allocs;
    training_step(t, p, x);
    ck_assert_uint_eq(n_allocs, before); /* warm: no allocation at all */
    ck_assert_uint_eq(spd_tape_bytes_used(t), used);
    ck_assert_uint_eq(spd_tape_node_count(t), nodes);
    spd_tape_reset(t);
  }

  /* reserve: a fresh tape pre-sized from the first one's figure needs no
   * arena block during a step (only its scratch grows, on first use) */
  spd_tape *u = NULL;
  SPDT_OK(spd_tape_create(&u));
  SPDT_OK(spd_tape_reserve(u, used));
  const size_t arena = spd_tape_bytes_reserved(u);
  training_step(u, p, x);
  ck_assert_uint_eq(spd_tape_bytes_used(u), used);
  ck_assert_uint_le(spd_tape_bytes_reserved(u) - arena, spd_tape_bytes_reserved(t) - used);
  SPDT_FAILS(SPD_E_STATE, spd_tape_reserve(u, used)); /* not empty */
  spd_tape_reset(u);
  size_t before = n_allocs;
  training_step(u, p, x);
  ck_assert_uint_eq(n_allocs, before);
  spd_tape_free(u);
  spd_tape_free(t);
  spd_params_free(p);
  free(x);
  SPDT_OK(spd_set_allocator(NULL, NULL, NULL));
}
END_TEST

START_TEST(limit_makes_ops_fail_cleanly)
{
  spd_tape *t = NULL;
  SPDT_OK(spd_tape_create(&t));
  SPDT_OK(spd_tape_set_limit(t, 1 << 16));
  const size_t s[1] = { 1 << 15 }; /* 128 KiB of values: over the cap */
  ck_assert_ptr_null(spd_leaf(t, 1, s, NULL, 0));
  ck_assert_int_eq(spd_tape_status(t), SPD_E_NOMEM);
  ck_assert_ptr_nonnull(strstr(spd_tape_error(t), "spd_leaf"));
  ck_assert_uint_le(spd_tape_bytes_reserved(t), 1 << 16);
  spd_tape_reset(t);
  SPDT_OK(spd_tape_set_limit(t, 0));
  ck_assert_ptr_nonnull(spd_leaf(t, 1, s, NULL, 0));
  spd_tape_free(t);
}
END_TEST

/* Every block the library gets is filled with 0xff bytes, a NaN as float:
 * memory a failed backward left neither written nor zeroed shows up. */
static void *poison_alloc(void *opaque, size_t size)
{
  (void)opaque;
  void *p = malloc(size);
  if (p != NULL)
    memset(p, 0xff, size);
  return p;
}
static void poison_free(void *opaque, void *ptr)
{
  (void)opaque;
  free(ptr);
}

/* loss = sum(A B + c), c a per-feature bias: add's backward claims c's
 * gradient first (reduce_into_small, which allocates its sums from the
 * arena) and matmul's claims A's and B's (its products need the scratch). */
static spd_tensor *bias_product(spd_tape *t, const float *v, spd_tensor **leaves)
{
  const size_t sa[2] = { 4, 3 }, sb[2] = { 3, 5 }, sc[1] = { 5 };
  leaves[0] = spd_leaf(t, 2, sa, v, 1);
  leaves[1] = spd_leaf(t, 2, sb, v + 12, 1);
  leaves[2] = spd_leaf(t, 1, sc, v + 27, 1);
  return spd_sum(t, spd_add(t, spd_matmul(t, leaves[0], leaves[1]), leaves[2]));
}

START_TEST(failed_backward_leaves_no_stale_gradient)
{
  /* A backward that fails part-way (SPD_E_NOMEM) returns gradients that
   * are each either complete, zero or absent (NULL): an op that claimed a pending
   * gradient as its first writer and then failed must hand it back to be
   * zeroed. The arena is reserved at the forward's size plus delta bytes
   * and capped at what the tape then holds, so for delta = 0, 64, ... each
   * arena allocation of the backward fails in turn; once they all fit,
   * matmul's products fail instead, on their scratch, which the backward
   * needs larger than the forward did because the thread count rose from
   * 1 to 2 in between. */
  SPDT_OK(spd_set_allocator(poison_alloc, poison_free, NULL));
  float v[32], ref[32];
  for (int i = 0; i < 32; i++)
    v[i] = 0.1f * (float)(i % 7) - 0.25f;
  const size_t n[3] = { 12, 15, 5 };
  spd_tensor *l[3];

  SPDT_OK(spd_set_num_threads(1));
  spd_tape *t = NULL;
  SPDT_OK(spd_tape_create(&t));
  spd_tensor *loss = bias_product(t, v, l);
  const size_t fwd = spd_tape_bytes_used(t);
  SPDT_OK(spd_backward(t, loss));
  const size_t total = spd_tape_bytes_used(t);
  for (int k = 0, o = 0; k < 3; o += (int)n[k], k++)
    memcpy(ref + o, spd_tensor_grad(l[k]), n[k] * sizeof(float));
  spd_tape_free(t);

  int failed_in[2] = { 0, 0 }; /* spd_add, spd_matmul */
  for (size_t delta = 0; delta <= total - fwd; delta += 64) {
    SPDT_OK(spd_set_num_threads(1));
    SPDT_OK(spd_tape_create(&t));
    SPDT_OK(spd_tape_reserve(t, fwd + delta));
    loss = bias_product(t, v, l);
    ck_assert_ptr_nonnull(loss);
    SPDT_OK(spd_tape_set_limit(t, spd_tape_bytes_reserved(t)));
    SPDT_OK(spd_set_num_threads(2));
    const int rc = spd_backward(t, loss);
    ck_assert_msg(rc == SPD_E_NOMEM, "delta %zu: status %d", delta, rc);
    const char *msg = spd_tape_error(t);
    failed_in[0] += strncmp(msg, "spd_add", 7) == 0;
    failed_in[1] += strncmp(msg, "spd_matmul", 10) == 0;
    for (int k = 0, o = 0; k < 3; o += (int)n[k], k++) {
      const float *g = spd_tensor_grad(l[k]);
      if (g == NULL) /* the backward failed before it gave l[k] a gradient */
        continue;
      bool zero = true;
      for (size_t i = 0; i < n[k]; i++)
        zero = zero && g[i] == 0.0f;
      ck_assert_msg(zero || memcmp(g, ref + o, n[k] * sizeof(float)) == 0,
                    "delta %zu (%s): gradient %d is neither complete nor zero", delta, msg,
                    k);
    }
    spd_tape_free(t);
  }
  ck_assert_int_gt(failed_in[0], 0);
  ck_assert_int_gt(failed_in[1], 0);
  SPDT_OK(spd_set_num_threads(1));
  SPDT_OK(spd_set_allocator(NULL, NULL, NULL));
}
END_TEST

/* ---- sticky errors: a table of bad inputs -------------------------------- */

struct bad {
  const char *name;
  int code;
  const char *words[3]; /* must appear in the message */
  spd_tensor *(*build)(spd_tape *t, spd_params *p);
};

static spd_tensor *leafs(spd_tape *t, int nd, size_t a, size_t b, size_t c, size_t d)
{
  const size_t s[4] = { a, b, c, d };
  return spd_leaf(t, nd, s, NULL, 1);
}

static spd_tensor *b_add_shapes(spd_tape *t, spd_params *p)
{
  (void)p;
  return spd_add(t, leafs(t, 2, 2, 3, 0, 0), leafs(t, 2, 3, 2, 0, 0));
}
static spd_tensor *b_matmul_rank(spd_tape *t, spd_params *p)
{
  (void)p;
  return spd_matmul(t, leafs(t, 3, 2, 3, 4, 0), leafs(t, 2, 4, 2, 0, 0));
}
static spd_tensor *b_matmul_inner(spd_tape *t, spd_params *p)
{
  (void)p;
  return spd_matmul_ex(t, leafs(t, 2, 2, 3, 0, 0), leafs(t, 2, 4, 2, 0, 0), 0, 1);
}
static spd_tensor *b_conv_rank(spd_tape *t, spd_params *p)
{
  (void)p;
  return spd_conv2d(t, leafs(t, 3, 3, 8, 8, 0), leafs(t, 4, 2, 3, 3, 3), NULL, 1, 0);
}
static spd_tensor *b_conv_channels(spd_tape *t, spd_params *p)
{
  (void)p;
  return spd_conv2d(t, leafs(t, 4, 1, 3, 8, 8), leafs(t, 4, 2, 4, 3, 3), NULL, 1, 0);
}
static spd_tensor *b_conv_stride(spd_tape *t, spd_params *p)
{
  (void)p;
  return spd_conv2d(t, leafs(t, 4, 1, 3, 8, 8), leafs(t, 4, 2, 3, 3, 3), NULL, 0, 0);
}
static spd_tensor *b_conv_kernel(spd_tape *t, spd_params *p)
{
  (void)p;
  return spd_conv2d(t, leafs(t, 4, 1, 3, 4, 4), leafs(t, 4, 2, 3, 7, 7), NULL, 1, 1);
}
static spd_tensor *b_conv_bias(spd_tape *t, spd_params *p)
{
  (void)p;
  return spd_conv2d(t, leafs(t, 4, 1, 3, 8, 8), leafs(t, 4, 2, 3, 3, 3),
                    leafs(t, 1, 3, 0, 0, 0), 1, 0);
}
static spd_tensor *b_tconv_opad(spd_tape *t, spd_params *p)
{
  (void)p;
  return spd_conv2d_transpose(t, leafs(t, 4, 1, 3, 4, 4), leafs(t, 4, 3, 2, 5, 5), NULL, 2,
                              2, 2);
}
static spd_tensor *b_tconv_weights(spd_tape *t, spd_params *p)
{
  (void)p; /* weights in conv2d's O x C layout by mistake */
  return spd_conv2d_transpose(t, leafs(t, 4, 1, 3, 4, 4), leafs(t, 4, 2, 3, 5, 5), NULL, 2,
                              2, 1);
}
static spd_tensor *b_bn_rank(spd_tape *t, spd_params *p)
{
  return spd_batch_norm(t, leafs(t, 3, 2, 3, 4, 0), NULL, NULL, p, 0, 1, 1, 0.1f, 1e-5f);
}
static spd_tensor *b_bn_gamma(spd_tape *t, spd_params *p)
{
  return spd_batch_norm(t, leafs(t, 2, 4, 3, 0, 0), leafs(t, 1, 4, 0, 0, 0), NULL, p, 0, 1, 1,
                        0.1f, 1e-5f);
}
static spd_tensor *b_bnr_gamma(spd_tape *t, spd_params *p)
{
  return spd_batch_norm_relu(t, leafs(t, 2, 4, 3, 0, 0), leafs(t, 1, 4, 0, 0, 0), NULL, p, 0, 1,
                             1, 0.1f, 1e-5f);
}
static spd_tensor *b_bn_single(spd_tape *t, spd_params *p)
{
  return spd_batch_norm(t, leafs(t, 2, 1, 3, 0, 0), NULL, NULL, p, 0, 1, 1, 0.1f, 1e-5f);
}
static spd_tensor *b_bn_no_store(spd_tape *t, spd_params *p)
{
  (void)p;
  return spd_batch_norm(t, leafs(t, 2, 4, 3, 0, 0), NULL, NULL, NULL, 0, 1, 0, 0.1f, 1e-5f);
}
static spd_tensor *b_bn_stats_size(spd_tape *t, spd_params *p)
{
  return spd_batch_norm(t, leafs(t, 2, 4, 5, 0, 0), NULL, NULL, p, 0, 1, 1, 0.1f, 1e-5f);
}
static spd_tensor *b_leaf_nan(spd_tape *t, spd_params *p)
{
  (void)p;
  const size_t s[2] = { 2, 2 };
  const float v[4] = { 1, NAN, 3, 4 };
  return spd_leaf(t, 2, s, v, 1);
}
static spd_tensor *b_leaf_rank(spd_tape *t, spd_params *p)
{
  (void)p;
  const size_t s[5] = { 1, 1, 1, 1, 1 };
  return spd_leaf(t, 5, s, NULL, 1);
}
static spd_tensor *b_leaf_zero(spd_tape *t, spd_params *p)
{
  (void)p;
  return leafs(t, 2, 3, 0, 0, 0);
}
static spd_tensor *b_param_nan(spd_tape *t, spd_params *p)
{
  spd_params_data(p, 2)[1] = INFINITY;
  return spd_relu(t, spd_param(t, p, 2));
}
static spd_tensor *b_param_index(spd_tape *t, spd_params *p)
{
  return spd_param(t, p, 99);
}
static spd_tensor *b_param_null(spd_tape *t, spd_params *p)
{
  (void)p;
  return spd_param(t, NULL, 0);
}
static spd_tensor *b_null_input(spd_tape *t, spd_params *p)
{
  (void)p;
  return spd_mul(t, leafs(t, 1, 3, 0, 0, 0), NULL);
}
static spd_tensor *b_log_domain(spd_tape *t, spd_params *p)
{
  (void)p;
  return spd_log(t, leafs(t, 1, 3, 0, 0, 0)); /* zeros */
}
static spd_tensor *b_div_zero(spd_tape *t, spd_params *p)
{
  (void)p;
  return spd_div(t, leafs(t, 1, 3, 0, 0, 0), leafs(t, 0, 0, 0, 0, 0));
}
static spd_tensor *b_exp_overflow(spd_tape *t, spd_params *p)
{
  (void)p;
  return spd_exp(t, spd_add_scalar(t, leafs(t, 1, 3, 0, 0, 0), 100.0f));
}
static spd_tensor *b_scale_nan(spd_tape *t, spd_params *p)
{
  (void)p;
  return spd_scale(t, leafs(t, 1, 3, 0, 0, 0), NAN);
}
static spd_tensor *b_reshape(spd_tape *t, spd_params *p)
{
  (void)p;
  const size_t s[2] = { 4, 2 };
  return spd_reshape(t, leafs(t, 2, 3, 3, 0, 0), 2, s);
}
static spd_tensor *b_slice(spd_tape *t, spd_params *p)
{
  (void)p;
  return spd_slice(t, leafs(t, 2, 3, 3, 0, 0), 1, 2, 2);
}
static spd_tensor *b_concat_shape(spd_tape *t, spd_params *p)
{
  (void)p;
  spd_tensor *xs[2] = { leafs(t, 2, 3, 3, 0, 0), leafs(t, 2, 2, 2, 0, 0) };
  return spd_concat(t, 2, xs, 0);
}
static spd_tensor *b_concat_count(spd_tape *t, spd_params *p)
{
  (void)p;
  spd_tensor *xs[1] = { leafs(t, 2, 3, 3, 0, 0) };
  return spd_concat(t, 0, xs, 0);
}
static spd_tensor *b_axis(spd_tape *t, spd_params *p)
{
  (void)p;
  return spd_sum_axis(t, leafs(t, 2, 3, 3, 0, 0), 2);
}
static spd_tensor *b_lse_scalar(spd_tape *t, spd_params *p)
{
  (void)p;
  return spd_logsumexp(t, leafs(t, 0, 0, 0, 0, 0), 0);
}
static spd_tensor *b_density(spd_tape *t, spd_params *p)
{
  (void)p;
  return spd_gaussian_log_density(t, leafs(t, 2, 3, 4, 0, 0), leafs(t, 2, 4, 3, 0, 0),
                                  leafs(t, 0, 0, 0, 0, 0));
}
static spd_tape *other_tape;
static spd_tensor *b_other_tape(spd_tape *t, spd_params *p)
{
  (void)p;
  return spd_add(t, leafs(t, 1, 3, 0, 0, 0), leafs(other_tape, 1, 3, 0, 0, 0));
}

static const struct bad bads[] = {
  { "add shapes", SPD_E_SHAPE, { "spd_add", "[2, 3]", "[3, 2]" }, b_add_shapes },
  { "matmul rank", SPD_E_SHAPE, { "spd_matmul", "[2, 3, 4]", "2-D" }, b_matmul_rank },
  { "matmul inner", SPD_E_SHAPE, { "spd_matmul", "[2, 3]", "[4, 2]^T" }, b_matmul_inner },
  { "conv rank", SPD_E_SHAPE, { "spd_conv2d", "[3, 8, 8]", "4-D" }, b_conv_rank },
  { "conv channels", SPD_E_SHAPE, { "spd_conv2d", "[1, 3, 8, 8]", "[2, 4, 3, 3]" },
    b_conv_channels },
  { "conv stride", SPD_E_INVALID, { "spd_conv2d", "stride 0", NULL }, b_conv_stride },
  { "conv kernel", SPD_E_SHAPE, { "spd_conv2d", "[2, 3, 7, 7]", "[1, 3, 4, 4]" },
    b_conv_kernel },
  { "conv bias", SPD_E_SHAPE, { "spd_conv2d", "bias [3]", "2 values" }, b_conv_bias },
  { "tconv output pad", SPD_E_INVALID, { "spd_conv2d_transpose", "output_pad 2", NULL },
    b_tconv_opad },
  { "tconv weights", SPD_E_SHAPE, { "spd_conv2d_transpose", "[2, 3, 5, 5]", "3 channels" },
    b_tconv_weights },
  { "bn rank", SPD_E_SHAPE, { "spd_batch_norm", "[2, 3, 4]", NULL }, b_bn_rank },
  { "bn gamma", SPD_E_SHAPE, { "spd_batch_norm", "gamma [4]", "3 values" }, b_bn_gamma },
  { "bn relu gamma", SPD_E_SHAPE, { "spd_batch_norm_relu:", "gamma [4]", "3 values" },
    b_bnr_gamma },
  { "bn one value", SPD_E_SHAPE, { "spd_batch_norm", "[1, 3]", "training" }, b_bn_single },
  { "bn no store", SPD_E_INVALID, { "spd_batch_norm", "inference", NULL }, b_bn_no_store },
  { "bn stats size", SPD_E_INVALID, { "spd_batch_norm", "running mean", "5 values" },
    b_bn_stats_size },
  { "leaf NaN", SPD_E_DOMAIN, { "spd_leaf", "[2, 2]", "NaN" }, b_leaf_nan },
  { "leaf rank", SPD_E_INVALID, { "spd_leaf", "ndim 5", NULL }, b_leaf_rank },
  { "leaf zero size", SPD_E_INVALID, { "spd_leaf", "dimension 1 is 0", NULL }, b_leaf_zero },
  { "param Inf", SPD_E_DOMAIN, { "spd_param", "'beta'", "NaN or Inf" }, b_param_nan },
  { "param index", SPD_E_INVALID, { "spd_param", "entry 99", NULL }, b_param_index },
  { "param NULL store", SPD_E_INVALID, { "spd_param", "store is NULL", NULL }, b_param_null },
  { "NULL input", SPD_E_INVALID, { "spd_mul", "input 2 is NULL", NULL }, b_null_input },
  { "log domain", SPD_E_DOMAIN, { "spd_log", "[3]", "<= 0" }, b_log_domain },
  { "div zero", SPD_E_DOMAIN, { "spd_div", "divisor", "zero" }, b_div_zero },
  { "exp overflow", SPD_E_NUMERIC, { "spd_exp", "overflows", NULL }, b_exp_overflow },
  { "scale NaN", SPD_E_DOMAIN, { "spd_scale", "not finite", NULL }, b_scale_nan },
  { "reshape count", SPD_E_SHAPE, { "spd_reshape", "[3, 3]", "[4, 2]" }, b_reshape },
  { "slice range", SPD_E_INVALID, { "spd_slice", "[3, 3]", "axis 1" }, b_slice },
  { "concat shapes", SPD_E_SHAPE, { "spd_concat", "[2, 2]", "[3, 3]" }, b_concat_shape },
  { "concat count", SPD_E_INVALID, { "spd_concat", "0 tensors", NULL }, b_concat_count },
  { "axis", SPD_E_INVALID, { "spd_sum_axis", "axis 2", "[3, 3]" }, b_axis },
  { "logsumexp scalar", SPD_E_INVALID, { "spd_logsumexp", "[]", NULL }, b_lse_scalar },
  { "density shapes", SPD_E_SHAPE, { "spd_gaussian_log_density", "mean [4, 3]", "[3, 4]" },
    b_density },
  { "other tape", SPD_E_INVALID, { "spd_add", "another tape", NULL }, b_other_tape },
};

START_TEST(bad_input_is_sticky)
{
  const struct bad *b = &bads[_i];
  spd_params *p = NULL;
  SPDT_OK(spd_params_create(&p));
  const size_t cs[1] = { 3 };
  SPDT_OK(spd_params_add(p, "rm", 1, cs, NULL, 0, NULL));
  SPDT_OK(spd_params_add(p, "rv", 1, cs, NULL, 0, NULL));
  SPDT_OK(spd_params_add(p, "beta", 1, cs, NULL, 1, NULL));
  spd_tape *t = NULL;
  SPDT_OK(spd_tape_create(&t));
  SPDT_OK(spd_tape_create(&other_tape));
  spd_tensor *ok = leafs(t, 1, 3, 0, 0, 0);
  spd_tensor *y = b->build(t, p);
  ck_assert_msg(y == NULL, "%s: no error", b->name);
  ck_assert_msg(spd_tape_status(t) == b->code, "%s: status %d, expected %d (%s)", b->name,
                spd_tape_status(t), b->code, spd_tape_error(t));
  for (int w = 0; w < 3 && b->words[w] != NULL; w++) {
    ck_assert_msg(strstr(spd_tape_error(t), b->words[w]) != NULL, "%s: '%s' not in \"%s\"",
                  b->name, b->words[w], spd_tape_error(t));
    ck_assert_msg(strstr(spd_last_error(), b->words[w]) != NULL, "%s: '%s' not in \"%s\"",
                  b->name, b->words[w], spd_last_error());
  }
  char msg[512];
  snprintf(msg, sizeof msg, "%s", spd_tape_error(t));
  /* later ops return NULL at once; the first error is kept */
  ck_assert_ptr_null(spd_relu(t, ok));
  ck_assert_ptr_null(spd_leaf(t, 1, cs, NULL, 0));
  ck_assert_ptr_null(spd_add(t, NULL, NULL));
  ck_assert_str_eq(spd_tape_error(t), msg);
  /* backward returns the stored error and restores its message */
  SPDT_FAILS(b->code, spd_backward(t, ok));
  ck_assert_ptr_nonnull(strstr(spd_last_error(), b->words[0]));
  /* reset clears it */
  spd_tape_reset(t);
  SPDT_OK(spd_tape_status(t));
  ck_assert_str_eq(spd_tape_error(t), "no error");
  ck_assert_ptr_nonnull(leafs(t, 1, 3, 0, 0, 0));
  spd_tape_free(other_tape);
  spd_tape_free(t);
  spd_params_free(p);
}
END_TEST

START_TEST(op_table_is_complete)
{
  for (int op = 0; op < SPDI_OP_COUNT; op++) {
    ck_assert_msg(spdi_ops[op].name != NULL && spdi_ops[op].fn != NULL, "op %d has no row", op);
    ck_assert_msg(strncmp(spdi_ops[op].name, "spd_", 4) == 0, "op %d: %s", op,
                  spdi_ops[op].name);
    for (int other = 0; other < op; other++)
      ck_assert_str_ne(spdi_ops[op].name, spdi_ops[other].name);
  }
}
END_TEST

/* ---- thread-count independence ------------------------------------------ */

/* A small VAE-like graph big enough for every parallel path (elementwise
 * loops over 32768+ elements, several channels, several GEMM threads). */
static void vae_like(spd_params *p, const float *x, const float *noise, float *out, size_t *n)
{
  spd_tape *t = NULL;
  SPDT_OK(spd_tape_create(&t));
  spd_params_zero_grad(p);
  const size_t xs[4] = { 16, 3, 32, 32 }, ns[2] = { 16, 8 }, flat[2] = { 16, 16 * 8 * 8 };
  const size_t img[4] = { 16, 8, 4, 4 };
  spd_tensor *xin = spd_leaf(t, 4, xs, x, 0);
  spd_tensor *h = spd_conv2d(t, xin, spd_param(t, p, 0), NULL, 2, 2);           /* 16x8x16x16 */
  h = spd_relu(t, spd_batch_norm(t, h, spd_param(t, p, 1), spd_param(t, p, 2), p, 3, 4, 1,
                                 0.1f, 1e-5f));
  h = spd_conv2d(t, h, spd_param(t, p, 5), spd_param(t, p, 6), 2, 2);            /* 16x16x8x8 */
  h = spd_reshape(t, spd_elu(t, h, 1.0f), 2, flat);
  spd_tensor *stats = spd_matmul_ex(t, h, spd_param(t, p, 7), 0, 1);              /* 16 x 16 */
  spd_tensor *mu = spd_slice(t, stats, 1, 0, 8), *ls = spd_slice(t, stats, 1, 8, 8);
  spd_tensor *z = spd_add(t, mu, spd_mul(t, spd_exp(t, ls), spd_leaf(t, 2, ns, noise, 0)));
  spd_tensor *d = spd_reshape(t, spd_matmul(t, z, spd_param(t, p, 8)), 4, img);   /* 16x8x4x4 */
  d = spd_conv2d_transpose(t, d, spd_param(t, p, 9), NULL, 2, 2, 1);              /* 16x8x8x8 */
  d = spd_softplus(t, spd_batch_norm(t, d, NULL, NULL, NULL, 0, 0, 1, 0.1f, 1e-5f));
  d = spd_conv2d_transpose(t, d, spd_param(t, p, 10), spd_param(t, p, 11), 4, 1, 1);
  d = spd_sigmoid(t, d);                                                           /* 16x3x32x32 */
  spd_tensor *zero = spd_leaf(t, 0, NULL, NULL, 0);
  spd_tensor *loss = spd_sub(t, spd_sum(t, spd_gaussian_log_density(t, z, mu, ls)),
                             spd_sum(t, spd_gaussian_log_density(t, z, zero, zero)));
  loss = spd_sub(t, loss, spd_mean(t, spd_gaussian_log_density(t, xin, d, zero)));
  loss = spd_add(t, loss, spd_sum(t, spd_logsumexp(t, stats, 0)));
  SPDT_OK(spd_backward(t, loss));
  *n = 0;
  out[(*n)++] = spd_tensor_data(loss)[0];
  for (size_t i = 0; i < spd_params_count(p); i++) {
    size_t m = spd_params_size(p, i);
    const float *g = spd_params_trainable(p, i) ? spd_params_grad(p, i) : spd_params_data(p, i);
    memcpy(out + *n, g, m * sizeof *out);
    *n += m;
  }
  spd_tape_free(t);
}

START_TEST(one_and_two_threads_bitwise_equal)
{
  spd_params *p = NULL;
  SPDT_OK(spd_params_create(&p));
  const size_t shapes[12][4] = { { 8, 3, 5, 5 }, { 8 }, { 8 }, { 8 }, { 8 }, { 16, 8, 5, 5 },
                                 { 16 }, { 16, 1024 }, { 8, 128 }, { 8, 8, 5, 5 },
                                 { 8, 3, 5, 5 }, { 3 } };
  const int nd[12] = { 4, 1, 1, 1, 1, 4, 1, 2, 2, 4, 4, 1 };
  const int train[12] = { 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1 };
  size_t total = 1;
  float *init = malloc(20000 * sizeof *init);
  for (int k = 0; k < 12; k++) {
    size_t n = 1;
    for (int d = 0; d < nd[k]; d++)
      n *= shapes[k][d];
    for (size_t i = 0; i < n; i++)
      init[i] = k == 1 || k == 4 ? 1.0f : (float)((int)((i * 7919 + (size_t)k) % 200) - 100) * 2e-3f;
    char name[8];
    snprintf(name, sizeof name, "p%d", k);
    SPDT_OK(spd_params_add(p, name, nd[k], shapes[k], init, train[k], NULL));
    total += n;
  }
  float *x = malloc(16 * 3 * 32 * 32 * sizeof *x), noise[128];
  for (int i = 0; i < 16 * 3 * 32 * 32; i++)
    x[i] = (float)((i * 31 % 97)) / 97.0f;
  for (int i = 0; i < 128; i++)
    noise[i] = (float)((i * 17 % 29) - 14) / 14.0f;
  float *r1 = malloc(total * sizeof *r1), *r2 = malloc(total * sizeof *r2);
  size_t n1, n2;
  /* the running statistics change at each step: restore them in between */
  float rm[8], rv[8];
  memcpy(rm, spd_params_data(p, 3), sizeof rm);
  memcpy(rv, spd_params_data(p, 4), sizeof rv);
  SPDT_OK(spd_set_num_threads(1));
  vae_like(p, x, noise, r1, &n1);
  memcpy(spd_params_data(p, 3), rm, sizeof rm);
  memcpy(spd_params_data(p, 4), rv, sizeof rv);
  SPDT_OK(spd_set_num_threads(2));
  vae_like(p, x, noise, r2, &n2);
  SPDT_OK(spd_set_num_threads(1));
  ck_assert_uint_eq(n1, n2);
  ck_assert(isfinite(r1[0]));
  for (size_t i = 0; i < n1; i++)
    ck_assert_msg(memcmp(&r1[i], &r2[i], sizeof(float)) == 0, "value %zu: %.9g vs %.9g", i,
                  (double)r1[i], (double)r2[i]);
  free(r1);
  free(r2);
  free(x);
  free(init);
  spd_params_free(p);
}
END_TEST

/* One step over 16 MiB tensors (whose batch norm passes once handed out
 * rows to the threads dynamically): batch norm + ReLU (first to write its
 * input's gradient) and a sum whose uniform gradient is filled in. Rows
 * of 363 x 363 floats start at every alignment. out receives every value and
 * gradient; returns how many. */
static size_t large_step(const float *xv, const float *wv, float *out)
{
  const size_t xs[4] = { 4, 8, 363, 363 }, cs[1] = { 8 }, n = 4 * 8 * 363 * 363;
  const float ones[8] = { 1, 1, 1, 1, 1, 1, 1, 1 }, zeros[8] = { 0 };
  spd_tape *t = NULL;
  SPDT_OK(spd_tape_create(&t));
  spd_tensor *x = spd_leaf(t, 4, xs, xv, 1), *w = spd_leaf(t, 4, xs, wv, 1);
  spd_tensor *g = spd_leaf(t, 1, cs, ones, 1), *b = spd_leaf(t, 1, cs, zeros, 1);
  /* created first, so its backward adds into x's gradient last */
  spd_tensor *sx = spd_sum(t, x);
  spd_tensor *y = spd_batch_norm_relu(t, x, g, b, NULL, 0, 0, 1, 0.1f, 1e-5f);
  spd_tensor *loss = spd_add(t, spd_add(t, sx, spd_sum(t, spd_mul(t, y, w))), spd_sum(t, w));
  SPDT_OK(spd_backward(t, loss));
  const float *parts[6] = { spd_tensor_data(y), spd_tensor_grad(x), spd_tensor_grad(w),
                            spd_tensor_grad(g), spd_tensor_grad(b), spd_tensor_data(loss) };
  const size_t len[6] = { n, n, n, 8, 8, 1 };
  size_t k = 0;
  for (int i = 0; i < 6; i++) {
    ck_assert_ptr_nonnull(parts[i]);
    memcpy(out + k, parts[i], len[i] * sizeof *out);
    k += len[i];
  }
  spd_tape_free(t);
  return k;
}

/* The same bits on 1 and 2 threads and with the AVX-512 and AVX2 clones
 * of the kernels (vmath.h). */
START_TEST(large_tensors_same_bits)
{
  const size_t n = 4 * 8 * 363 * 363, total = 3 * n + 17;
  float *xv = malloc(n * sizeof *xv), *wv = malloc(n * sizeof *wv);
  float *r[2] = { malloc(total * sizeof(float)), malloc(total * sizeof(float)) };
  ck_assert(xv != NULL && wv != NULL && r[0] != NULL && r[1] != NULL);
  for (size_t i = 0; i < n; i++) {
    xv[i] = (float)((int)((i * 7919) % 2001) - 1000) * 1e-3f + (float)(i % 8);
    wv[i] = (float)((int)((i * 104729) % 201) - 100) * 1e-2f;
  }
  /* run 0 (1 thread, AVX-512) is the reference for runs 1-3 */
  for (int run = 0; run < 4; run++) {
    const int threads = 1 + run / 2, isa = run % 2 ? SPDI_ISA_AVX2 : SPDI_ISA_AVX512;
    SPDT_OK(spd_set_num_threads(threads));
    spdi_cap_isa(isa);
    ck_assert_uint_eq(large_step(xv, wv, r[run > 0]), total);
    spdi_cap_isa(SPDI_ISA_AVX512);
    const size_t i = run > 0 ? first_difference(r[0], r[1], total) : total;
    ck_assert_msg(i == total, "%d threads, %s: value %zu is %.9g, on 1 thread with AVX-512 %.9g",
                  threads, isa == SPDI_ISA_AVX2 ? "AVX2" : "AVX-512", i,
                  (double)r[1][i % total], (double)r[0][i % total]);
  }
  SPDT_OK(spd_set_num_threads(1));
  /* the fill's value reached every element: d loss / d w = y + 1 */
  size_t i = 0;
  while (i < n && r[0][2 * n + i] == r[0][i] + 1.0f)
    i++;
  ck_assert_msg(i == n, "d loss / d w[%zu] = %g, y = %g", i, (double)r[0][2 * n + i % n],
                (double)r[0][i % n]);
  free(r[0]);
  free(r[1]);
  free(xv);
  free(wv);
}
END_TEST

Suite *spdt_suite(void)
{
  Suite *s = suite_create("tape");
  SPDT_ADD(s, leaf_and_accessors, 10);
  SPDT_ADD(s, null_handles, 10);
  SPDT_ADD(s, backward_semantics, 10);
  SPDT_ADD(s, first_gradient_writes_assign, 10);
  SPDT_ADD(s, uniform_gradients_are_written_when_read, 10);
  SPDT_ADD(s, batch_norm_reads_uniform_gradients, 30);
  SPDT_ADD(s, batch_norm_defers_to_conv, 60);
  SPDT_ADD(s, assigning_conv_ops_reuse_memory, 10);
  TCase *act = tcase_create("activations_assign_first_gradients");
  tcase_add_loop_test(act, activations_assign_first_gradients, 0,
                      (int)(sizeof unaries / sizeof unaries[0]));
  suite_add_tcase(s, act);
  SPDT_ADD(s, param_gradients_accumulate, 10);
  SPDT_ADD(s, warm_steps_allocate_nothing, 30);
  SPDT_ADD(s, limit_makes_ops_fail_cleanly, 10);
  SPDT_ADD(s, failed_backward_leaves_no_stale_gradient, 10);
  TCase *tc = tcase_create("bad_input_is_sticky");
  tcase_add_loop_test(tc, bad_input_is_sticky, 0, (int)(sizeof bads / sizeof bads[0]));
  suite_add_tcase(s, tc);
  SPDT_ADD(s, op_table_is_complete, 10);
  SPDT_ADD(s, one_and_two_threads_bitwise_equal, 60);
  SPDT_ADD(s, large_tensors_same_bits, 120);
  return s;
}
