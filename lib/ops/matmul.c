/* Matrix product with optional transposes, on the GEMM driver (igemm.h).
 *
 * The dense layers of a network are skinny products: a batch of 32 rows
 * against a weight matrix of 16384 x 200. BLIS packs both operands for
 * every call, which for these shapes costs more than the arithmetic; the
 * driver reads the weights in place instead where it can (its direct path
 * for a few rows of C, its dot path for a small C over a long K) and packs
 * with BLIS's micro-kernel format otherwise. */
#include "tape_impl.h"
#include "igemm.h"

#include <string.h>

/* C (m x n, row stride ldc) = op(A) op(B), or += with accumulate: the
 * row-major operands of spdi_sgemm() described as index arrays. */
static int product(spd_tape *t, bool ta, bool tb, size_t m, size_t n, size_t k,
                   const float *a, size_t lda, const float *b, size_t ldb, float *c,
                   size_t ldc, bool accumulate)
{
  if (k == 0) { /* the driver does nothing then: an empty sum is zero */
    for (size_t i = 0; i < m && !accumulate; i++)
      memset(c + i * ldc, 0, n * sizeof *c);
    return SPD_OK;
  }
  struct spdi_ukernel u;
  spdi_ukernel_get(&u);
  const int nt = spdi_threads();
  const size_t nidx = 2 * (m + n + k);
  const size_t ib = (nidx * sizeof(ptrdiff_t) + 63) / 64 * 64;
  char *p = spdi_tape_scratch(t, ib + spdi_igemm_work(&u, nt) * sizeof(float));
  if (p == NULL)
    return spd_tape_status(t);
  ptrdiff_t *ar = (ptrdiff_t *)p, *ak = ar + m, *bk = ak + k, *bc = bk + k;
  ptrdiff_t *cr = bc + n, *cc = cr + m;
  for (size_t i = 0; i < m; i++) {
    ar[i] = (ptrdiff_t)(ta ? i : i * lda);
    cr[i] = (ptrdiff_t)(i * ldc);
  }
  for (size_t q = 0; q < k; q++) {
    ak[q] = (ptrdiff_t)(ta ? q * lda : q);
    bk[q] = (ptrdiff_t)(tb ? q : q * ldb);
  }
  for (size_t j = 0; j < n; j++) {
    bc[j] = (ptrdiff_t)(tb ? j * ldb : j);
    cc[j] = (ptrdiff_t)j;
  }
  const struct spdi_igemm g = { m, n, k, { a, ar, ak }, { b, bk, bc }, { c, cr, cc },
                                !accumulate, SPDI_IGEMM_ALL_K };
  spdi_igemm(&g, &u, (float *)(p + ib), nt);
  return SPD_OK;
}

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
    return product(t, ta, tb, m, n, k, a->data, lda, b->data, ldb, y->data, n, false);
  }
  const float *dc = y->grad;
  /* d op(A) = dC op(B)^T and d op(B) = op(A)^T dC, transposed back when the
   * operand was used transposed; added to the gradient, or written over it
   * when it is still pending. */
  int rc = SPD_OK;
  if (a->requires_grad) {
    const bool first = spdi_grad_first(y->in[0]);
    rc = !ta ? product(t, false, !tb, m, k, n, dc, n, b->data, ldb, a->grad, lda, !first)
             : product(t, tb, true, k, m, n, b->data, ldb, dc, n, a->grad, lda, !first);
    spdi_grad_unclaim(y->in[0], first && rc != SPD_OK);
  }
  if (rc == SPD_OK && b->requires_grad) {
    const bool first = spdi_grad_first(y->in[1]);
    rc = !tb ? product(t, !ta, false, k, n, m, a->data, lda, dc, n, b->grad, ldb, !first)
             : product(t, true, ta, n, k, m, dc, n, a->data, lda, b->grad, ldb, !first);
    spdi_grad_unclaim(y->in[1], first && rc != SPD_OK);
  }
  return rc;
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
