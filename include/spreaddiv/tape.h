#ifndef SPREADDIV_TAPE_H
#define SPREADDIV_TAPE_H

/**
 * @file spreaddiv/tape.h
 * @brief Reverse-mode automatic differentiation over float32 tensors.
 *
 * A tape records operations as they run (forward values are computed at
 * once) and replays them strictly in reverse creation order in
 * spd_backward(). A training step builds a graph on the tape, calls
 * spd_backward(), reads or applies the gradients, and calls
 * spd_tape_reset().
 *
 * **Tensors.** Up to 4 dimensions, float32, row-major; images are NCHW.
 * A scalar has 0 dimensions and 1 element. Tensors belong to the tape that
 * made them: they are valid until spd_tape_reset() or spd_tape_free() and
 * must not be passed to another tape. Their layout is private; use the
 * spd_tensor_*() accessors.
 *
 * **Memory.** The tape is an arena. Nodes, values, gradients and saved
 * intermediate results are carved from tape-owned blocks; spd_tape_reset()
 * rewinds it without freeing. When a step needed more than one block, the
 * next reset replaces them by one block as large as that step's peak, so
 * once a step of a given size has run, later steps of that size allocate
 * nothing. Operations that need temporary buffers (e.g. the im2col matrix of
 * a convolution) share one tape-owned scratch buffer, grown to the largest
 * request and then reused. spd_tape_bytes_used(), spd_tape_bytes_reserved(),
 * spd_tape_reserve() and spd_tape_set_limit() let embedders size and cap it.
 *
 * **Errors are sticky.** An operation builder returns NULL on error and the
 * tape keeps the first error (code and a message naming the operation and
 * the shapes involved; the message is also the thread's spd_last_error()).
 * Every later builder on that tape returns NULL at once, and spd_backward()
 * returns the stored code, so a graph can be built without checking each
 * step: check spd_tape_status() or the result of spd_backward() once.
 * A builder given a NULL tensor returns NULL (recording #SPD_E_INVALID if
 * no error was stored yet). Only spd_tape_reset() clears the error.
 *
 * **Broadcasting** (spd_add(), spd_sub(), spd_mul(), spd_div(),
 * spd_gaussian_log_density()): the two operands have the same shape, or
 * one of them is a single element (any rank), or one of them is a
 * per-channel / per-feature vector: 1-D with length equal to dimension 1 of
 * the other (C of NCHW, F of an N x F matrix), or the other's rank with
 * every dimension 1 except dimension 1 (e.g. [1, C, 1, 1]). The result has
 * the shape of the larger operand.
 *
 * **Speed.** Matrix products and convolutions run on BLIS's kernels for the
 * CPU, which BLIS picks at run time. BLIS 0.9 falls back to its AVX2
 * ("haswell") kernels on AVX-512 CPUs whose FMA unit count it does not know
 * (e.g. Xeon Ice Lake); there, setting the environment variable
 * `BLIS_ARCH_TYPE=0` before the process starts selects its AVX-512 ("skx")
 * kernels, about 1.5x faster. The library never sets it itself.
 *
 * **Threads and determinism.** Operations use spd_num_threads() threads
 * (OpenMP loops and BLIS). Results are bitwise identical whatever the
 * thread count, for one build on one machine; BLIS kernels differ between
 * CPUs, so other machines agree to rounding. One tape is used by one
 * thread at a time; distinct tapes may run concurrently (but not two tapes
 * bound to the same parameters, see params.h).
 */

#include <stddef.h>

#include <spreaddiv/core.h>
#include <spreaddiv/rng.h>
#include <spreaddiv/spread.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Opaque autodiff tape (an arena of recorded operations). */
typedef struct spd_tape spd_tape;

/** Opaque tensor living on a tape. */
typedef struct spd_tensor spd_tensor;

/** Opaque store of persistent named parameters; see spreaddiv/params.h. */
typedef struct spd_params spd_params;

/** Most dimensions a tensor can have. */
#define SPD_MAX_DIMS 4

/* ---- the tape ------------------------------------------------------------ */

/**
 * @brief Create an empty tape.
 * @param[out] out Receives the new tape; unchanged on failure.
 * @return #SPD_OK, #SPD_E_INVALID (out is NULL) or #SPD_E_NOMEM.
 * @note The caller owns the tape and releases it with spd_tape_free().
 *       Nothing is allocated for nodes until the first operation.
 */
SPD_API SPD_NODISCARD int spd_tape_create(spd_tape **out);

/**
 * @brief Release a tape and every tensor on it.
 * @param t A tape from spd_tape_create(), or NULL (no effect).
 */
SPD_API void spd_tape_free(spd_tape *t);

/**
 * @brief Forget every recorded operation and clear the sticky error.
 *
 * Memory is kept for the next step (see the file description). Every tensor
 * of the tape becomes invalid. Parameters bound with spd_param() are not
 * touched: their values and accumulated gradients live in their store.
 *
 * @param t Tape, or NULL (no effect).
 */
SPD_API void spd_tape_reset(spd_tape *t);

/**
 * @brief The tape's sticky error.
 * @param t Tape.
 * @return #SPD_OK if every operation since the last reset succeeded, else
 *         the code of the first failure; #SPD_E_INVALID if @p t is NULL.
 */
SPD_API SPD_NODISCARD int spd_tape_status(const spd_tape *t);

/**
 * @brief Message of the tape's sticky error.
 * @param t Tape.
 * @return "no error" when the status is #SPD_OK, else the message of the
 *         first failure (it names the operation and the shapes); a static
 *         message if @p t is NULL. Valid until the next call on the tape.
 */
SPD_API const char *spd_tape_error(const spd_tape *t);

/**
 * @brief Pre-allocate arena memory so that steps up to this size allocate
 *        nothing.
 *
 * Use the spd_tape_bytes_used() of a previous run of the same graph.
 * Only valid on an empty tape (right after creation or reset).
 *
 * @param t Tape.
 * @param bytes Bytes of arena to hold (rounded up to 64); 0 is a no-op.
 * @return #SPD_OK; #SPD_E_INVALID (t is NULL); #SPD_E_STATE (the tape has
 *         nodes); #SPD_E_NOMEM (allocation failed or the limit forbids it).
 */
SPD_API SPD_NODISCARD int spd_tape_reserve(spd_tape *t, size_t bytes);

/**
 * @brief Cap the memory a tape may hold.
 *
 * An operation that would need more fails with #SPD_E_NOMEM (sticky).
 * Memory already held above a new, lower cap is kept until the tape is
 * freed.
 *
 * @param t Tape.
 * @param max_bytes Largest spd_tape_bytes_reserved() allowed; 0 removes the
 *        cap (the default).
 * @return #SPD_OK or #SPD_E_INVALID (t is NULL).
 */
SPD_API SPD_NODISCARD int spd_tape_set_limit(spd_tape *t, size_t max_bytes);

/**
 * @brief Arena bytes used since the last reset (nodes, values, gradients).
 * @param t Tape.
 * @return Bytes; 0 if @p t is NULL. Scratch is not included.
 */
SPD_API size_t spd_tape_bytes_used(const spd_tape *t);

/**
 * @brief Bytes the tape holds from the allocator: arena blocks plus scratch.
 * @param t Tape.
 * @return Bytes; 0 if @p t is NULL.
 */
SPD_API size_t spd_tape_bytes_reserved(const spd_tape *t);

/**
 * @brief Number of tensors recorded since the last reset.
 * @param t Tape.
 * @return The count; 0 if @p t is NULL.
 */
SPD_API size_t spd_tape_node_count(const spd_tape *t);

/* ---- leaves, backward and accessors -------------------------------------- */

/**
 * @brief Record an input tensor (a leaf of the graph).
 * @param t Tape.
 * @param ndim Number of dimensions, 0 (scalar) to #SPD_MAX_DIMS.
 * @param shape @p ndim sizes, each > 0; may be NULL when ndim is 0.
 * @param data Values to copy (the product of @p shape floats, row-major),
 *        or NULL for zeros. They must be finite.
 * @param requires_grad Non-zero to have spd_backward() compute this
 *        tensor's gradient.
 * @return The tensor, or NULL on error (#SPD_E_INVALID for a bad rank, a
 *         zero size or a NULL shape; #SPD_E_OVERFLOW; #SPD_E_DOMAIN for
 *         NaN/Inf in @p data; #SPD_E_NOMEM), recorded in the tape.
 * @note @p data is copied; the caller keeps ownership.
 */
SPD_API spd_tensor *spd_leaf(spd_tape *t, int ndim, const size_t *shape,
                             const float *data, int requires_grad);

/**
 * @brief Compute the gradient of a scalar with respect to every tensor
 *        recorded before it.
 *
 * The gradient of @p loss is 1. Afterwards every tensor created before
 * @p loss that requires a gradient has one (zero if @p loss does not depend
 * on it); gradients of parameters bound with spd_param() are **added** to
 * their store's gradient buffers (clear them with spd_params_zero_grad()).
 * Calling it again recomputes the tape's own gradients from zero and adds
 * to the parameters' gradients once more.
 *
 * @param t Tape.
 * @param loss A single-element tensor of @p t.
 * @return #SPD_OK; the tape's sticky error if it has one; #SPD_E_INVALID
 *         (NULL argument or a tensor of another tape); #SPD_E_SHAPE
 *         (@p loss has more than one element); #SPD_E_NOMEM. A failure
 *         here also becomes the tape's sticky error.
 */
SPD_API SPD_NODISCARD int spd_backward(spd_tape *t, spd_tensor *loss);

/**
 * @brief Number of dimensions of a tensor.
 * @param x Tensor.
 * @return 0 to #SPD_MAX_DIMS, or #SPD_E_INVALID if @p x is NULL.
 */
SPD_API int spd_tensor_ndim(const spd_tensor *x);

/**
 * @brief Shape of a tensor.
 * @param x Tensor.
 * @param[out] shape Receives spd_tensor_ndim(x) sizes (#SPD_MAX_DIMS is
 *        always enough); may be NULL only for a scalar.
 * @return #SPD_OK or #SPD_E_INVALID (NULL argument).
 */
SPD_API SPD_NODISCARD int spd_tensor_shape(const spd_tensor *x, size_t *shape);

/**
 * @brief Number of elements of a tensor (1 for a scalar).
 * @param x Tensor.
 * @return The count, or 0 if @p x is NULL.
 */
SPD_API size_t spd_tensor_size(const spd_tensor *x);

/**
 * @brief Values of a tensor, row-major.
 * @param x Tensor.
 * @return spd_tensor_size(x) floats owned by the tape (or, for a bound
 *         parameter, by its store), valid until the tape is reset; NULL if
 *         @p x is NULL.
 */
SPD_API const float *spd_tensor_data(const spd_tensor *x);

/**
 * @brief Gradient of the last spd_backward() with respect to a tensor.
 * @param x Tensor.
 * @return spd_tensor_size(x) floats, valid until the tape is reset; NULL if
 *         @p x is NULL, does not require a gradient, or backward has not
 *         reached it yet. For a bound parameter this is the store's
 *         accumulated gradient buffer.
 * @note A gradient that is one value everywhere (what spd_sum() and
 *       spd_mean() pass back) is written out into the tape's buffer on
 *       the first call after spd_backward(), not by the pass itself, so
 *       that a loss over a large tensor costs no fill nobody reads. This
 *       call can therefore write to the tape: like every call on one tape,
 *       make it from one thread at a time.
 */
SPD_API const float *spd_tensor_grad(const spd_tensor *x);

/* ---- elementwise arithmetic ---------------------------------------------- */

/**
 * @brief a + b, with broadcasting (see the file description).
 * @param t Tape.
 * @param a Operand.
 * @param b Operand.
 * @return The sum, or NULL on error (#SPD_E_SHAPE when the shapes do not
 *         broadcast), recorded in the tape.
 */
SPD_API spd_tensor *spd_add(spd_tape *t, spd_tensor *a, spd_tensor *b);

/**
 * @brief a - b, with broadcasting (see the file description).
 * @param t Tape.
 * @param a Operand.
 * @param b Operand.
 * @return The difference, or NULL on error (#SPD_E_SHAPE).
 */
SPD_API spd_tensor *spd_sub(spd_tape *t, spd_tensor *a, spd_tensor *b);

/**
 * @brief Elementwise a * b, with broadcasting (see the file description).
 * @param t Tape.
 * @param a Operand.
 * @param b Operand.
 * @return The product, or NULL on error (#SPD_E_SHAPE).
 */
SPD_API spd_tensor *spd_mul(spd_tape *t, spd_tensor *a, spd_tensor *b);

/**
 * @brief Elementwise a / b, with broadcasting (see the file description).
 * @param t Tape.
 * @param a Numerator.
 * @param b Denominator; must have no zero.
 * @return The quotient, or NULL on error (#SPD_E_SHAPE; #SPD_E_DOMAIN if
 *         @p b holds a zero).
 */
SPD_API spd_tensor *spd_div(spd_tape *t, spd_tensor *a, spd_tensor *b);

/**
 * @brief s * x.
 * @param t Tape.
 * @param x Operand.
 * @param s Finite factor.
 * @return The scaled tensor, or NULL on error (#SPD_E_DOMAIN if @p s is not
 *         finite).
 */
SPD_API spd_tensor *spd_scale(spd_tape *t, spd_tensor *x, float s);

/**
 * @brief x + s.
 * @param t Tape.
 * @param x Operand.
 * @param s Finite constant.
 * @return The shifted tensor, or NULL on error (#SPD_E_DOMAIN if @p s is
 *         not finite).
 */
SPD_API spd_tensor *spd_add_scalar(spd_tape *t, spd_tensor *x, float s);

/* ---- linear algebra and convolutions ------------------------------------- */

/**
 * @brief Matrix product a b of 2-D tensors (m x k times k x n).
 * @param t Tape.
 * @param a Left matrix.
 * @param b Right matrix.
 * @return The m x n product, or NULL on error (#SPD_E_SHAPE for a rank
 *         other than 2 or mismatched inner sizes).
 */
SPD_API spd_tensor *spd_matmul(spd_tape *t, spd_tensor *a, spd_tensor *b);

/**
 * @brief Matrix product op(a) op(b) with optional transposes.
 *
 * op(a) is a, or its transpose when @p trans_a is non-zero; likewise b. A
 * dense layer x W^T + bias with W stored out x in, as in PyTorch, is
 * `spd_add(t, spd_matmul_ex(t, x, W, 0, 1), bias)`.
 *
 * @param t Tape.
 * @param a Left matrix (2-D).
 * @param b Right matrix (2-D).
 * @param trans_a Non-zero to use the transpose of @p a.
 * @param trans_b Non-zero to use the transpose of @p b.
 * @return The product, or NULL on error (#SPD_E_SHAPE).
 */
SPD_API spd_tensor *spd_matmul_ex(spd_tape *t, spd_tensor *a, spd_tensor *b,
                                  int trans_a, int trans_b);

/**
 * @brief 2-D convolution (cross-correlation, as PyTorch's conv2d).
 *
 * x is N x C x H x W, w is O x C x kh x kw, and the output is
 * N x O x Ho x Wo with Ho = (H + 2 pad - kh) / stride + 1 (floor), likewise
 * Wo. Computed as GEMMs on BLIS's micro-kernel with the whole batch in one
 * GEMM; the im2col matrix is never formed (the GEMM packs straight from a
 * zero-padded copy of the input), and the input gradient is computed per
 * stride phase as a gather, so no output element is written by two
 * threads.
 *
 * @param t Tape.
 * @param x Input, 4-D NCHW.
 * @param w Weights, 4-D O x C x kh x kw.
 * @param b Bias of O values (1-D), or NULL for none.
 * @param stride Stride, 1 to 64, the same along both axes.
 * @param pad Zero padding on each side, >= 0.
 * @return The output, or NULL on error (#SPD_E_SHAPE for wrong ranks,
 *         channel counts or a kernel larger than the padded input;
 *         #SPD_E_INVALID for a stride outside 1..64, a negative pad or a
 *         kernel side above 64).
 */
SPD_API spd_tensor *spd_conv2d(spd_tape *t, spd_tensor *x, spd_tensor *w,
                               spd_tensor *b, int stride, int pad);

/**
 * @brief 2-D transposed convolution (PyTorch's conv_transpose2d).
 *
 * x is N x C_in x H x W, w is C_in x C_out x kh x kw (PyTorch's layout), and
 * the output is N x C_out x Ho x Wo with
 * Ho = (H - 1) stride - 2 pad + kh + output_pad, likewise Wo. It is the
 * gradient of spd_conv2d() with respect to its input; computed by sgemm
 * and col2im.
 *
 * @param t Tape.
 * @param x Input, 4-D NCHW.
 * @param w Weights, 4-D C_in x C_out x kh x kw.
 * @param b Bias of C_out values (1-D), or NULL for none.
 * @param stride Stride, 1 to 64.
 * @param pad Padding removed from each side of the output, >= 0.
 * @param output_pad Extra rows/columns added at the bottom/right of the
 *        output, 0 <= output_pad < stride.
 * @return The output, or NULL on error (#SPD_E_SHAPE for wrong ranks,
 *         channel counts or no output left after the padding;
 *         #SPD_E_INVALID for a stride outside 1..64, a bad pad or
 *         output_pad, or a kernel side above 64).
 */
SPD_API spd_tensor *spd_conv2d_transpose(spd_tape *t, spd_tensor *x,
                                         spd_tensor *w, spd_tensor *b,
                                         int stride, int pad, int output_pad);

/**
 * @brief Batch normalisation over dimension 1 (PyTorch's BatchNorm1d on
 *        N x C, BatchNorm2d on N x C x H x W).
 *
 * With M = N (2-D) or N H W (4-D) values per channel:
 *
 * - training (@p training non-zero): y = gamma (x - mean) / sqrt(var + eps)
 *   + beta with the batch mean and the biased batch variance. If @p p is
 *   given, the running statistics are updated at once (at this call, not in
 *   backward), as PyTorch does: running_mean = (1 - momentum) running_mean +
 *   momentum mean, running_var likewise with the unbiased variance
 *   var M / (M - 1). Needs M > 1. Gradients flow through the batch
 *   statistics.
 * - inference: the running statistics replace the batch statistics and are
 *   not changed; they are constants for the gradient.
 *
 * @param t Tape.
 * @param x Input, 2-D or 4-D, C = dimension 1.
 * @param gamma Scale, C values (1-D), or NULL for 1.
 * @param beta Shift, C values (1-D), or NULL for 0.
 * @param p Parameter store holding the running statistics; may be NULL in
 *        training mode (statistics are then not tracked). Borrowed.
 * @param running_mean Index in @p p of a C-element parameter (normally a
 *        non-trainable buffer, initialised to 0).
 * @param running_var Index in @p p of a C-element parameter (initialised
 *        to 1).
 * @param training Non-zero for training mode.
 * @param momentum Running-average momentum in [0, 1] (PyTorch's default is
 *        0.1).
 * @param eps Added to the variance, > 0 (PyTorch's default is 1e-5).
 * @return The normalised tensor, or NULL on error (#SPD_E_SHAPE for a bad
 *         rank, channel count or M = 1 in training; #SPD_E_INVALID for a
 *         bad index, a NULL store in inference or a bad momentum/eps;
 *         #SPD_E_DOMAIN for a negative or non-finite running variance).
 */
SPD_API spd_tensor *spd_batch_norm(spd_tape *t, spd_tensor *x, spd_tensor *gamma,
                                   spd_tensor *beta, spd_params *p,
                                   size_t running_mean, size_t running_var,
                                   int training, float momentum, float eps);

/**
 * @brief spd_relu(spd_batch_norm(...)) as one op: the same values, the same
 * running-statistics update and the same gradients, bit for bit, with
 * the intermediate tensor never formed.
 *
 * The fused op streams the tensor nine times over forward and backward
 * where the two ops stream it fourteen, and keeps one tensor on the tape
 * instead of two: use it for the conv, batch norm, ReLU blocks of a
 * network. The arguments, modes and errors are those of spd_batch_norm();
 * error messages name spd_batch_norm_relu. The gradient at 0 is 0, as for
 * spd_relu().
 *
 * @param t Tape.
 * @param x Input, 2-D or 4-D, C = dimension 1.
 * @param gamma Scale, C values (1-D), or NULL for 1.
 * @param beta Shift, C values (1-D), or NULL for 0.
 * @param p Store of the running statistics, or NULL (training only). Borrowed.
 * @param running_mean Index in @p p of the C running means.
 * @param running_var Index in @p p of the C running variances.
 * @param training Non-zero for training mode.
 * @param momentum Running-average momentum in [0, 1].
 * @param eps Added to the variance, > 0.
 * @return max(batch_norm(x), 0), or NULL on error (as spd_batch_norm()).
 */
SPD_API spd_tensor *spd_batch_norm_relu(spd_tape *t, spd_tensor *x, spd_tensor *gamma,
                                        spd_tensor *beta, spd_params *p,
                                        size_t running_mean, size_t running_var,
                                        int training, float momentum, float eps);

/* ---- activations and elementwise functions ------------------------------- */

/**
 * @brief max(x, 0). The gradient at 0 is 0.
 * @param t Tape.
 * @param x Input.
 * @return The result, or NULL on error.
 */
SPD_API spd_tensor *spd_relu(spd_tape *t, spd_tensor *x);

/**
 * @brief x for x > 0, slope x otherwise.
 * @param t Tape.
 * @param x Input.
 * @param slope Finite negative-side slope (PyTorch's default is 0.01).
 * @return The result, or NULL on error (#SPD_E_DOMAIN for a bad slope).
 */
SPD_API spd_tensor *spd_leaky_relu(spd_tape *t, spd_tensor *x, float slope);

/**
 * @brief x for x > 0, alpha (exp(x) - 1) otherwise.
 * @param t Tape.
 * @param x Input.
 * @param alpha Finite scale of the negative side (PyTorch's default is 1).
 * @return The result, or NULL on error (#SPD_E_DOMAIN for a bad alpha).
 */
SPD_API spd_tensor *spd_elu(spd_tape *t, spd_tensor *x, float alpha);

/**
 * @brief 1 / (1 + exp(-x)), computed without overflow.
 * @param t Tape.
 * @param x Input.
 * @return The result, or NULL on error.
 */
SPD_API spd_tensor *spd_sigmoid(spd_tape *t, spd_tensor *x);

/**
 * @brief tanh(x).
 * @param t Tape.
 * @param x Input.
 * @return The result, or NULL on error.
 */
SPD_API spd_tensor *spd_tanh(spd_tape *t, spd_tensor *x);

/**
 * @brief log(1 + exp(x)), computed without overflow.
 * @param t Tape.
 * @param x Input.
 * @return The result, or NULL on error.
 */
SPD_API spd_tensor *spd_softplus(spd_tape *t, spd_tensor *x);

/**
 * @brief exp(x).
 * @param t Tape.
 * @param x Input.
 * @return The result, or NULL on error (#SPD_E_NUMERIC if a value
 *         overflows to infinity).
 */
SPD_API spd_tensor *spd_exp(spd_tape *t, spd_tensor *x);

/**
 * @brief Natural logarithm.
 * @param t Tape.
 * @param x Input, every value > 0.
 * @return The result, or NULL on error (#SPD_E_DOMAIN for a value <= 0).
 */
SPD_API spd_tensor *spd_log(spd_tape *t, spd_tensor *x);

/**
 * @brief x * x.
 * @param t Tape.
 * @param x Input.
 * @return The result, or NULL on error.
 */
SPD_API spd_tensor *spd_square(spd_tape *t, spd_tensor *x);

/* ---- reductions ---------------------------------------------------------- */

/**
 * @brief Sum of every element, as a scalar (0-D). Accumulated in double in
 *        a fixed order.
 * @param t Tape.
 * @param x Input.
 * @return The scalar, or NULL on error.
 */
SPD_API spd_tensor *spd_sum(spd_tape *t, spd_tensor *x);

/**
 * @brief Mean of every element, as a scalar (0-D).
 * @param t Tape.
 * @param x Input.
 * @return The scalar, or NULL on error.
 */
SPD_API spd_tensor *spd_mean(spd_tape *t, spd_tensor *x);

/**
 * @brief Sum along one axis, which is removed from the shape.
 * @param t Tape.
 * @param x Input with at least one dimension.
 * @param axis 0 to ndim - 1, or -ndim to -1 counting from the end.
 * @return The result (ndim - 1 dimensions), or NULL on error
 *         (#SPD_E_INVALID for a bad axis).
 */
SPD_API spd_tensor *spd_sum_axis(spd_tape *t, spd_tensor *x, int axis);

/**
 * @brief log sum exp along one axis, computed stably (the maximum is
 *        subtracted); the axis is removed from the shape.
 * @param t Tape.
 * @param x Input with at least one dimension.
 * @param axis 0 to ndim - 1, or -ndim to -1 counting from the end.
 * @return The result (ndim - 1 dimensions), or NULL on error
 *         (#SPD_E_INVALID for a bad axis).
 */
SPD_API spd_tensor *spd_logsumexp(spd_tape *t, spd_tensor *x, int axis);

/* ---- shape --------------------------------------------------------------- */

/**
 * @brief The same values with another shape (no copy).
 * @param t Tape.
 * @param x Input.
 * @param ndim New number of dimensions, 0 to #SPD_MAX_DIMS.
 * @param shape @p ndim sizes whose product is spd_tensor_size(x); may be
 *        NULL when ndim is 0.
 * @return The reshaped tensor, or NULL on error (#SPD_E_SHAPE if the
 *         element counts differ, #SPD_E_INVALID for a bad rank).
 */
SPD_API spd_tensor *spd_reshape(spd_tape *t, spd_tensor *x, int ndim,
                                const size_t *shape);

/**
 * @brief Elements start to start + length - 1 along one axis.
 * @param t Tape.
 * @param x Input with at least one dimension.
 * @param axis 0 to ndim - 1, or -ndim to -1 counting from the end.
 * @param start First index kept.
 * @param length Number of indices kept, > 0, start + length <= the size of
 *        the axis.
 * @return The slice (same rank), or NULL on error (#SPD_E_INVALID).
 */
SPD_API spd_tensor *spd_slice(spd_tape *t, spd_tensor *x, int axis,
                              size_t start, size_t length);

/**
 * @brief Join tensors along one axis.
 * @param t Tape.
 * @param n Number of tensors, >= 1.
 * @param xs @p n tensors of the same rank whose shapes agree except along
 *        @p axis. The array is read during the call only.
 * @param axis 0 to ndim - 1, or -ndim to -1 counting from the end.
 * @return The concatenation, or NULL on error (#SPD_E_SHAPE,
 *         #SPD_E_INVALID).
 */
SPD_API spd_tensor *spd_concat(spd_tape *t, int n, spd_tensor *const *xs, int axis);

/* ---- densities ----------------------------------------------------------- */

/**
 * @brief Gaussian log density of x given a mean and a log standard
 *        deviation, elementwise and summed per row.
 *
 * out[i] = sum over the elements j of row i of
 * -((x - mean) / exp(log_sd))^2 / 2 - log_sd - log(2 pi) / 2, where row i
 * holds the elements whose index along axis 0 is i (one element per row
 * for 1-D x). The sum is accumulated in double.
 *
 * @param t Tape.
 * @param x Points, 1-D to 4-D.
 * @param mean Mean: x's shape, or broadcast (see the file description).
 * @param log_sd Log standard deviation: x's shape, or broadcast.
 * @return A 1-D tensor of shape(x)[0] values, or NULL on error
 *         (#SPD_E_SHAPE, also for 0-D x).
 */
SPD_API spd_tensor *spd_gaussian_log_density(spd_tape *t, spd_tensor *x,
                                             spd_tensor *mean, spd_tensor *log_sd);

/* ---- spread noise -------------------------------------------------------- */

/**
 * @brief Spread a tensor: y = x + noise drawn from a spread kernel
 *        (reparameterised, so gradients flow to x).
 *
 * The rows of @p x (index along axis 0) are points of the spread's
 * dimension: an N x D matrix or N images of C x H x W = D values. The raw
 * draws are taken from @p rng exactly as spd_spread_draw_noise() takes them
 * (so y equals spd_spread_sample() on the same rng state, bit for bit) and
 * kept on the tape; backward passes dl/dy to x unchanged.
 *
 * @param t Tape.
 * @param x Points, 1-D to 4-D, with shape(x)[0] rows of spd_spread_dim(s)
 *        values each.
 * @param s Spread kernel; borrowed: it must stay alive and unchanged until
 *        spd_backward() has run or the tape is reset.
 * @param rng Generator, advanced by the draw (used during the call only).
 * @return y, of x's shape, or NULL on error (#SPD_E_INVALID for a NULL
 *         spread or rng, #SPD_E_SHAPE when the rows do not have the
 *         spread's dimension).
 * @note One rng is used by one thread at a time.
 */
SPD_API spd_tensor *spd_spread_noise(spd_tape *t, spd_tensor *x, const spd_spread *s,
                                     spd_rng *rng);

/**
 * @brief Spread a tensor with gradients to the spread's parameters too
 *        (for learning a spread).
 *
 * As spd_spread_noise(), and backward also adds
 * d loss / d params (spd_spread_apply_noise_grad()) to the gradient of
 * @p params. Bind the parameters as a tensor (e.g. with spd_param() from a
 * parameter store holding them, or spd_leaf() with requires_grad) whose
 * values equal spd_spread_get_params(): the forward uses the spread's own
 * parameters, and the check makes a stale copy an error rather than a wrong
 * gradient.
 *
 * @param t Tape.
 * @param x Points, as for spd_spread_noise().
 * @param s Spread kernel; borrowed until backward or reset.
 * @param params 1-D tensor of spd_spread_num_params(s) values in the layout
 *        of spd_spread_get_params().
 * @param rng Generator, advanced by the draw.
 * @return y, or NULL on error (as spd_spread_noise(); #SPD_E_SHAPE for a
 *         params tensor of the wrong shape, #SPD_E_STATE when its values
 *         differ from the spread's parameters).
 */
SPD_API spd_tensor *spd_spread_noise_learn(spd_tape *t, spd_tensor *x, const spd_spread *s,
                                           spd_tensor *params, spd_rng *rng);

#ifdef __cplusplus
}
#endif

#endif /* SPREADDIV_TAPE_H */
