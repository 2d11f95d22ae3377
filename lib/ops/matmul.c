/* Matrix product with optional transposes, on spdi_sgemm. */
#include "tape_impl.h"
#include "gemm.h"

int spdi_op_matmul(spd_tape *t, spd_tensor *y, enum spdi_action action)
{
  const spd_tensor *a = y->in[0], *b = y->in[1];
  const bool ta = y->iarg[0] != 0, tb = y->iarg[1] != 0;
  if (action == SPDI_SHAPE) {
    char sa[64], sb[64];
    if (a->ndim != 2 || b->ndim != 2)
      return spdi_tape_fail(t, SPD_E_SHAPE, "operands %s and %s: both must be 2-D",
                            spdi_shape_str(a, sa), spdi_shape_str(b, sb));
    size_t ka = ta ? a->shape[0] : a->shape[1], kb = tb ? b->shape[1] : b->shape[0];
    if (ka != kb)
      return spdi_tape_fail(t, SPD_E_SHAPE, "inner sizes differ: %s%s times %s%s",
                            spdi_shape_str(a, sa), ta ? "^T" : "",
                            spdi_shape_str(b, sb), tb ? "^T" : "");
    y->ndim = 2;
    y->shape[0] = ta ? a->shape[1] : a->shape[0];
    y->shape[1] = tb ? b->shape[0] : b->shape[1];
    return SPD_OK;
  }
  const size_t m = y->shape[0], n = y->shape[1];
  const size_t k = ta ? a->shape[0] : a->shape[1];
  const size_t lda = a->shape[1], ldb = b->shape[1];
  if (action == SPDI_FORWARD) {
    spdi_sgemm(ta, tb, m, n, k, 1.0f, a->data, lda, b->data, ldb, 0.0f, y->data, n);
    return SPD_OK;
  }
  const float *dc = y->grad;
  /* d op(A) = dC op(B)^T and d op(B) = op(A)^T dC, transposed back when the
   * operand was used transposed; accumulated (beta = 1). */
  if (a->requires_grad) {
    if (!ta)
      spdi_sgemm(false, !tb, m, k, n, 1.0f, dc, n, b->data, ldb, 1.0f, a->grad, lda);
    else
      spdi_sgemm(tb, true, k, m, n, 1.0f, b->data, ldb, dc, n, 1.0f, a->grad, lda);
  }
  if (b->requires_grad) {
    if (!tb)
      spdi_sgemm(!ta, false, k, n, m, 1.0f, a->data, lda, dc, n, 1.0f, b->grad, ldb);
    else
      spdi_sgemm(true, ta, n, k, m, 1.0f, dc, n, a->data, lda, 1.0f, b->grad, ldb);
  }
  return SPD_OK;
}

spd_tensor *spd_matmul(spd_tape *t, spd_tensor *a, spd_tensor *b)
{
  return spd_matmul_ex(t, a, b, 0, 0);
}

spd_tensor *spd_matmul_ex(spd_tape *t, spd_tensor *a, spd_tensor *b, int trans_a,
                          int trans_b)
{
  spd_tensor *in[2] = { a, b };
  struct spdi_args args = { .i = { trans_a != 0, trans_b != 0 } };
  return spdi_node(t, SPDI_OP_MATMUL, 2, in, &args);
}
