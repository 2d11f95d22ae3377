#ifndef SPREADDIV_PARAMS_H
#define SPREADDIV_PARAMS_H

/**
 * @file spreaddiv/params.h
 * @brief Persistent named parameters and their optimizers (Adam, SGD).
 *
 * A parameter store (#spd_params) holds named float32 tensors that outlive
 * tape resets: the weights of a model and its non-trainable buffers (such
 * as batch-norm running statistics). Each entry has a value buffer and,
 * if trainable, a gradient buffer of the same shape.
 *
 * spd_param() binds an entry into a tape as a leaf **without copying**: the
 * leaf reads the store's values, and spd_backward() adds the entry's
 * gradient into the store's gradient buffer. Gradients therefore
 * accumulate over backward passes until spd_params_zero_grad(), as in
 * PyTorch. A typical step:
 *
 *     spd_params_zero_grad(p);
 *     ... build the graph with spd_param(t, p, i) leaves ...
 *     spd_backward(t, loss);
 *     spd_optim_step(opt);
 *     spd_tape_reset(t);
 *
 * Entries are addressed by index, 0 to spd_params_count() - 1, in the order
 * they were added (indices never change; entries are never removed), or by
 * name through spd_params_find(). Iterating over the indices with the
 * accessors gives everything a checkpoint needs: name, shape, values,
 * gradient, and the optimizer state through spd_optim_get_state().
 *
 * **Threads.** A store, and the optimizers and tapes that use it, are used
 * by one thread at a time: two tapes bound to one store must not run
 * backward concurrently.
 */

#include <stddef.h>
#include <stdint.h>

#include <spreaddiv/core.h>
#include <spreaddiv/tape.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Longest parameter name, in bytes, without the terminating NUL. */
#define SPD_PARAM_NAME_MAX 127

/**
 * @brief Create an empty parameter store.
 * @param[out] out Receives the store; unchanged on failure.
 * @return #SPD_OK, #SPD_E_INVALID (out is NULL) or #SPD_E_NOMEM.
 * @note The caller owns the store and releases it with spd_params_free(),
 *       after every optimizer created on it.
 */
SPD_API SPD_NODISCARD int spd_params_create(spd_params **out);

/**
 * @brief Release a store and its buffers.
 * @param p Store, or NULL (no effect).
 */
SPD_API void spd_params_free(spd_params *p);

/**
 * @brief Add a named tensor.
 * @param p Store.
 * @param name Unique name, 1 to #SPD_PARAM_NAME_MAX bytes, copied.
 * @param ndim Number of dimensions, 0 to #SPD_MAX_DIMS.
 * @param shape @p ndim sizes, each > 0; may be NULL when ndim is 0.
 * @param init Initial values (the product of @p shape floats, copied), or
 *        NULL for zeros. They must be finite.
 * @param trainable Non-zero for a trainable parameter (it gets a gradient
 *        buffer, zeroed, and optimizers update it); zero for a buffer.
 * @param[out] index Receives the new entry's index; may be NULL.
 * @return #SPD_OK; #SPD_E_INVALID (NULL store or name, empty or too long
 *         name, bad rank, zero size); #SPD_E_STATE (the name exists);
 *         #SPD_E_DOMAIN (NaN/Inf in @p init); #SPD_E_OVERFLOW;
 *         #SPD_E_NOMEM. On failure the store is unchanged.
 */
SPD_API SPD_NODISCARD int spd_params_add(spd_params *p, const char *name, int ndim,
                                         const size_t *shape, const float *init,
                                         int trainable, size_t *index);

/**
 * @brief Number of entries.
 * @param p Store.
 * @return The count; 0 if @p p is NULL.
 */
SPD_API size_t spd_params_count(const spd_params *p);

/**
 * @brief Look an entry up by name.
 * @param p Store.
 * @param name Name.
 * @param[out] index Receives the index.
 * @return #SPD_OK, #SPD_E_INVALID (NULL argument) or #SPD_E_NOT_FOUND.
 */
SPD_API SPD_NODISCARD int spd_params_find(const spd_params *p, const char *name,
                                          size_t *index);

/**
 * @brief Name of an entry.
 * @param p Store.
 * @param index Entry.
 * @return The name, owned by the store; NULL for a bad argument.
 */
SPD_API const char *spd_params_name(const spd_params *p, size_t index);

/**
 * @brief Shape of an entry.
 * @param p Store.
 * @param index Entry.
 * @param[out] ndim Receives the number of dimensions; may be NULL.
 * @param[out] shape Receives the sizes (#SPD_MAX_DIMS is always enough);
 *        may be NULL.
 * @return #SPD_OK or #SPD_E_INVALID (NULL store, bad index).
 */
SPD_API SPD_NODISCARD int spd_params_shape(const spd_params *p, size_t index, int *ndim,
                                           size_t *shape);

/**
 * @brief Number of elements of an entry.
 * @param p Store.
 * @param index Entry.
 * @return The count; 0 for a bad argument.
 */
SPD_API size_t spd_params_size(const spd_params *p, size_t index);

/**
 * @brief Whether an entry is trainable.
 * @param p Store.
 * @param index Entry.
 * @return 1 (trainable), 0 (buffer) or #SPD_E_INVALID (bad argument).
 */
SPD_API int spd_params_trainable(const spd_params *p, size_t index);

/**
 * @brief Values of an entry, writable (to initialise or restore them).
 * @param p Store.
 * @param index Entry.
 * @return spd_params_size() floats owned by the store, valid until it is
 *         freed; NULL for a bad argument. Values must stay finite:
 *         spd_param() rejects NaN and Inf.
 */
SPD_API float *spd_params_data(spd_params *p, size_t index);

/**
 * @brief Accumulated gradient of a trainable entry, writable (e.g. for
 *        clipping).
 * @param p Store.
 * @param index Entry.
 * @return spd_params_size() floats owned by the store; NULL for a buffer
 *         or a bad argument.
 */
SPD_API float *spd_params_grad(spd_params *p, size_t index);

/**
 * @brief Set every gradient of the store to zero.
 * @param p Store, or NULL (no effect).
 */
SPD_API void spd_params_zero_grad(spd_params *p);

/**
 * @brief Bind an entry into a tape as a leaf.
 *
 * The leaf shares the store's values (no copy) and, for a trainable entry,
 * its gradient buffer: spd_backward() adds to it. The entry's values must
 * not change while the tape still uses them in a backward pass that is yet
 * to run (step the optimizer after spd_backward()).
 *
 * @param t Tape.
 * @param p Store; borrowed, must outlive the tape's current step.
 * @param index Entry.
 * @return The leaf (requires a gradient iff the entry is trainable), or NULL
 *         on error, recorded in the tape: #SPD_E_INVALID (NULL store, bad
 *         index), #SPD_E_DOMAIN (the values hold NaN or Inf; the message
 *         names the entry).
 */
SPD_API spd_tensor *spd_param(spd_tape *t, spd_params *p, size_t index);

/* ---- optimizers ---------------------------------------------------------- */

/** Opaque optimizer over the trainable entries of a store. */
typedef struct spd_optim spd_optim;

/** Optimizer algorithms (append-only). */
typedef enum {
  SPD_OPTIM_ADAM = 1, /**< Adam, as torch.optim.Adam. */
  SPD_OPTIM_SGD = 2   /**< SGD with momentum, as torch.optim.SGD (dampening 0). */
} spd_optim_kind;

/** Optimizer settings for spd_optim_set() / spd_optim_get() (append-only). */
typedef enum {
  SPD_OPTIM_LEARNING_RATE = 1, /**< Step size, > 0. Both. */
  SPD_OPTIM_BETA1 = 2,         /**< Adam: first-moment decay in [0, 1); 0.9. */
  SPD_OPTIM_BETA2 = 3,         /**< Adam: second-moment decay in [0, 1); 0.999. */
  SPD_OPTIM_EPS = 4,           /**< Adam: added to the denominator, > 0; 1e-8. */
  SPD_OPTIM_WEIGHT_DECAY = 5,  /**< L2 penalty added to the gradient, >= 0; 0. Both. */
  SPD_OPTIM_MOMENTUM = 6,      /**< SGD: momentum, >= 0. */
  SPD_OPTIM_NESTEROV = 7       /**< SGD: 1 for Nesterov momentum (needs momentum > 0), 0 not; 0. */
} spd_optim_option;

/**
 * @brief Create an Adam optimizer with PyTorch's defaults (betas 0.9 and
 *        0.999, eps 1e-8, no weight decay).
 *
 * One step, for each trainable entry with gradient g and step count k
 * (after incrementing), in float32 as torch.optim.Adam (non-amsgrad):
 *
 *     g = g + weight_decay * w
 *     m = beta1 m + (1 - beta1) g
 *     v = beta2 v + (1 - beta2) g g
 *     w = w - lr / (1 - beta1^k) * m / (sqrt(v) / sqrt(1 - beta2^k) + eps)
 *
 * The step count is one for the whole optimizer (PyTorch keeps one per
 * tensor; they agree because every trainable entry always has a gradient
 * here).
 *
 * @param p Store; borrowed, must outlive the optimizer. Entries added later
 *        are picked up with zero state.
 * @param lr Learning rate, > 0 and finite.
 * @param[out] out Receives the optimizer; unchanged on failure.
 * @return #SPD_OK, #SPD_E_INVALID (NULL argument), #SPD_E_DOMAIN (bad lr)
 *         or #SPD_E_NOMEM.
 * @note The caller releases it with spd_optim_free().
 */
SPD_API SPD_NODISCARD int spd_optim_create_adam(spd_params *p, double lr, spd_optim **out);

/**
 * @brief Create an SGD optimizer, with momentum as torch.optim.SGD
 *        (dampening 0).
 *
 * One step, for each trainable entry with gradient g:
 *
 *     g = g + weight_decay * w
 *     b = momentum b + g            (b starts at 0, so the first b is g)
 *     g = nesterov ? g + momentum b : b      (when momentum > 0)
 *     w = w - lr g
 *
 * @param p Store; borrowed, must outlive the optimizer.
 * @param lr Learning rate, > 0 and finite.
 * @param momentum Momentum, >= 0 and finite (0: plain SGD).
 * @param[out] out Receives the optimizer; unchanged on failure.
 * @return #SPD_OK, #SPD_E_INVALID (NULL argument), #SPD_E_DOMAIN (bad lr
 *         or momentum) or #SPD_E_NOMEM.
 * @note The caller releases it with spd_optim_free().
 */
SPD_API SPD_NODISCARD int spd_optim_create_sgd(spd_params *p, double lr, double momentum,
                                               spd_optim **out);

/**
 * @brief Release an optimizer and its state.
 * @param o Optimizer, or NULL (no effect).
 */
SPD_API void spd_optim_free(spd_optim *o);

/**
 * @brief The algorithm of an optimizer.
 * @param o Optimizer.
 * @return An #spd_optim_kind value, or #SPD_E_INVALID if @p o is NULL.
 */
SPD_API int spd_optim_kind_of(const spd_optim *o);

/**
 * @brief Change a setting.
 * @param o Optimizer.
 * @param option Setting; it must apply to this algorithm.
 * @param value New value (see #spd_optim_option for the ranges).
 * @return #SPD_OK; #SPD_E_INVALID (NULL optimizer, unknown option or one
 *         that does not apply); #SPD_E_DOMAIN (value out of range). On
 *         failure nothing changes.
 */
SPD_API SPD_NODISCARD int spd_optim_set(spd_optim *o, spd_optim_option option, double value);

/**
 * @brief Read a setting.
 * @param o Optimizer.
 * @param option Setting; it must apply to this algorithm.
 * @param[out] value Receives the value.
 * @return #SPD_OK or #SPD_E_INVALID.
 */
SPD_API SPD_NODISCARD int spd_optim_get(const spd_optim *o, spd_optim_option option,
                                        double *value);

/**
 * @brief Apply one update to every trainable entry from its gradient.
 *
 * Gradients are read, not cleared (use spd_params_zero_grad()).
 *
 * @param o Optimizer.
 * @return #SPD_OK; #SPD_E_INVALID (o is NULL); #SPD_E_NUMERIC (a gradient
 *         holds NaN or Inf: nothing is updated, the message names the
 *         entry); #SPD_E_NOMEM (state for new entries).
 */
SPD_API SPD_NODISCARD int spd_optim_step(spd_optim *o);

/**
 * @brief Number of steps taken (Adam's bias-correction count).
 * @param o Optimizer.
 * @param[out] step Receives the count.
 * @return #SPD_OK or #SPD_E_INVALID.
 */
SPD_API SPD_NODISCARD int spd_optim_get_step(const spd_optim *o, uint64_t *step);

/**
 * @brief Set the number of steps taken (to restore a checkpoint).
 * @param o Optimizer.
 * @param step The count.
 * @return #SPD_OK or #SPD_E_INVALID.
 */
SPD_API SPD_NODISCARD int spd_optim_set_step(spd_optim *o, uint64_t step);

/**
 * @brief Number of state buffers the optimizer keeps per trainable entry.
 * @param o Optimizer.
 * @return 2 for Adam ("exp_avg", "exp_avg_sq"), 1 for SGD
 *         ("momentum_buffer"), or #SPD_E_INVALID if @p o is NULL.
 */
SPD_API int spd_optim_state_count(const spd_optim *o);

/**
 * @brief Name of a state buffer (PyTorch's names).
 * @param o Optimizer.
 * @param k Buffer, 0 to spd_optim_state_count() - 1.
 * @return A static string, or NULL for a bad argument.
 */
SPD_API const char *spd_optim_state_name(const spd_optim *o, int k);

/**
 * @brief Copy out one state buffer of one entry (for checkpoints).
 * @param o Optimizer.
 * @param param Name of a trainable entry of the store.
 * @param buffer Name of the buffer (see spd_optim_state_name()).
 * @param[out] out spd_params_size() floats; entries with no state yet read
 *        as zeros.
 * @param n Number of floats in @p out; must equal the entry's size.
 * @return #SPD_OK; #SPD_E_INVALID (NULL argument, unknown buffer, entry not
 *         trainable); #SPD_E_NOT_FOUND (no such entry); #SPD_E_SHAPE (wrong
 *         @p n); #SPD_E_NOMEM.
 */
SPD_API SPD_NODISCARD int spd_optim_get_state(const spd_optim *o, const char *param,
                                              const char *buffer, float *out, size_t n);

/**
 * @brief Overwrite one state buffer of one entry (to restore a checkpoint
 *        bitwise).
 * @param o Optimizer.
 * @param param Name of a trainable entry of the store.
 * @param buffer Name of the buffer (see spd_optim_state_name()).
 * @param in spd_params_size() finite floats (Adam's "exp_avg_sq" must also
 *        be >= 0).
 * @param n Number of floats in @p in; must equal the entry's size.
 * @return #SPD_OK; #SPD_E_INVALID; #SPD_E_NOT_FOUND; #SPD_E_SHAPE;
 *         #SPD_E_DOMAIN (bad values); #SPD_E_NOMEM. On failure nothing
 *         changes.
 */
SPD_API SPD_NODISCARD int spd_optim_set_state(spd_optim *o, const char *param,
                                              const char *buffer, const float *in, size_t n);

#ifdef __cplusplus
}
#endif

#endif /* SPREADDIV_PARAMS_H */
