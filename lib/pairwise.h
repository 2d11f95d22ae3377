/* Pairwise kernel terms between rows ("a", e.g. spread draws) and points
 * ("b"), shared by the Monte Carlo estimator and MMD.
 *
 * Gaussian kernels work on whitened features so that
 *   -(1/2) (y - x)^T Sigma^-1 (y - x) = a(y) . b(x) - h(x) - h(y):
 *   isotropic a = y / sigma, diagonal a_i = y_i / sigma_i, low-rank
 *   a = [y / sigma, V^T y] and b = [x / sigma, -V^T x] (Sigma^-1 = I /
 *   sigma^2 - V V^T), h = half the (signed) squared norm.
 * The "logit" of a pair is a . b - h(x): log K up to a term that depends on
 * the row only. It comes from one GEMM per tile when the feature width is
 * large, from vectorised loops when it is small.
 * Laplace kernels use a_i = y_i / b_i, b likewise, and the logit
 * -sum_i |a_i - b_i| (log K up to a constant).
 *
 * An extra factor `scale` multiplies all features (MMD's autocorrelation
 * kernel is the Gaussian with covariance 2 Sigma: scale 1/sqrt 2). */
#ifndef SPDI_PAIRWISE_H
#define SPDI_PAIRWISE_H

#include "spread_internal.h"

/* Feature widths from which the GEMM path beats the loops (measured on
 * the benchmark machine: loops win up to about 32). */
#define SPDI_PW_GEMM_MIN_K 32

typedef struct {
  const spd_spread *s;
  size_t dim, k;   /* input and feature widths */
  size_t kf;       /* stored feature row width: k + 1 on the GEMM path, whose
                    * extra column (1 for rows, -h for points) folds the
                    * -h(x) term into the product */
  bool laplace;
  bool gemm;       /* Gaussian with k >= SPDI_PW_GEMM_MIN_K */
  float scale;
  float *vf;       /* low-rank: V in float (dim x rank), owned */
} spdi_pw;

/* Returns false on allocation failure (nothing to free then). */
bool spdi_pw_init(spdi_pw *pw, const spd_spread *s, float scale);
void spdi_pw_free(spdi_pw *pw);

/* Features of n points x (n x dim): f gets n rows of kf values (b form:
 * low-rank tail negated, extra column -h; a form: extra column 1), h (if
 * non-NULL) half the signed squared norm of each row (Gaussian only). Uses
 * spdi_threads() threads for the low-rank GEMM. */
void spdi_pw_features(const spdi_pw *pw, const float *x, size_t n, bool b_form, float *f,
                      float *h);

/* The points' side of the logits in the layout spdi_pw_logits wants:
 * GEMM path row-major (n x kf, ld = kf), loop paths transposed (k x n,
 * ld = n). */
typedef struct {
  const float *b;
  size_t ld;
  const float *h; /* n half norms (Gaussian) or NULL */
} spdi_pw_points;

/* L (R x T, row stride T) = logits of R rows of a-form features a (R x kf)
 * against points n0 .. n0 + T - 1. Single-threaded when called inside a
 * parallel region. */
void spdi_pw_logits(const spdi_pw *pw, const float *a, size_t R, const spdi_pw_points *pts,
                    size_t n0, size_t T, float *L);

/* Pre-packed logits (Gaussian GEMM path): the points' features are packed
 * once per call into the micro-kernel's B panels, a chunk of rows once
 * into its A panels, and each logit tile is then micro-kernel calls only:
 * BLIS's sgemm would repack both operands for every tile. With kf <= the
 * kernel's KC this is exactly the computation sgemm does (same kernel,
 * same single K block), so the logits are the same bits. */
#include "gemm.h"

/* Whether the packed path applies (Gaussian GEMM path, kf <= KC). */
bool spdi_pw_packed_ok(const spdi_pw *pw, const struct spdi_ukernel *u);
/* Floats of the packed points (n points in tiles of `tile`), and of packed
 * rows (R rows). Multiples of 16 (64 bytes). */
size_t spdi_pw_packb_floats(const spdi_pw *pw, const struct spdi_ukernel *u, size_t n,
                            size_t tile);
size_t spdi_pw_packa_floats(const spdi_pw *pw, const struct spdi_ukernel *u, size_t R);
/* Pack b-form features (n x kf, row-major) tile by tile / a-form rows
 * (R x kf). Outputs 64-byte aligned. */
void spdi_pw_packb(const spdi_pw *pw, const struct spdi_ukernel *u, const float *b, size_t n,
                   size_t tile, float *bp);
void spdi_pw_packa(const spdi_pw *pw, const struct spdi_ukernel *u, const float *a, size_t R,
                   float *ap);
/* L (R x T, row stride T) = logits of packed rows ap against tile number
 * `t` of packed points bp (T points). */
void spdi_pw_logits_packed(const spdi_pw *pw, const struct spdi_ukernel *u, const float *ap,
                           size_t R, const float *bp, size_t tile, size_t t, size_t T,
                           float *L);

/* Row kernels on n floats (vectorised, see vmath.h), used by the
 * log-sum-exp of the estimator and by MMD. */
float spdi_row_max(const float *x, size_t n);
/* x_j = exp(x_j - shift); returns the sum of the new x_j. */
float spdi_row_expsum(float *x, size_t n, float shift);
/* The sum of exp(x_j - shift), x unchanged. */
float spdi_row_expsum_keep(const float *x, size_t n, float shift);
/* x_j = scale exp(x_j - shift). */
void spdi_row_expscale(float *x, size_t n, float shift, float scale);
/* sum_j x_j sign(a - b_j) */
float spdi_row_signdot(const float *x, const float *b, size_t n, float a);
/* y_j += alpha x_j */
void spdi_row_axpy(float *y, const float *x, size_t n, float alpha);
/* k_j *= (1 + d_j) exp(-d_j), d_j = |a - b_j| (the 1-D Laplace k2) */
void spdi_row_laplace_k2(float *k, const float *b, size_t n, float a);
/* y_j += w_j sign(a - b_j) */
void spdi_row_signaxpy(float *y, const float *w, const float *b, size_t n, float a);

#endif /* SPDI_PAIRWISE_H */
