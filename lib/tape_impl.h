/* Private layout of the autodiff tape, its tensors and the op table.
 *
 * The tape is an arena: nodes, tensor data, gradients and saved values are
 * bump-allocated from tape-owned chunks and released together by
 * spd_tape_reset(). Each node links to the node created before it, so
 * backward walks that chain: strictly reverse creation order.
 *
 * Ops follow kann's pattern: one function per op, called with an action
 * (SHAPE, FORWARD, BACKWARD), so the shape check, the forward and the
 * backward of an op sit side by side. spdi_ops[] maps the append-only op
 * enum to those functions. */
#ifndef SPDI_TAPE_IMPL_H
#define SPDI_TAPE_IMPL_H

#include "internal.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SPDI_MAX_DIMS 4

/* Append-only: the values are not part of the ABI, but keeping the order
 * fixed keeps the table, the names and any saved tape dumps aligned. */
enum spdi_op {
  SPDI_OP_LEAF,
  SPDI_OP_PARAM,
  SPDI_OP_ADD,
  SPDI_OP_SUB,
  SPDI_OP_MUL,
  SPDI_OP_DIV,
  SPDI_OP_SCALE,
  SPDI_OP_ADD_SCALAR,
  SPDI_OP_MATMUL,
  SPDI_OP_CONV2D,
  SPDI_OP_CONV2D_TRANSPOSE,
  SPDI_OP_BATCH_NORM,
  SPDI_OP_RELU,
  SPDI_OP_LEAKY_RELU,
  SPDI_OP_ELU,
  SPDI_OP_SIGMOID,
  SPDI_OP_TANH,
  SPDI_OP_SOFTPLUS,
  SPDI_OP_EXP,
  SPDI_OP_LOG,
  SPDI_OP_SQUARE,
  SPDI_OP_SUM,
  SPDI_OP_MEAN,
  SPDI_OP_SUM_AXIS,
  SPDI_OP_RESHAPE,
  SPDI_OP_SLICE,
  SPDI_OP_CONCAT,
  SPDI_OP_LOGSUMEXP,
  SPDI_OP_GAUSSIAN_LOG_DENSITY,
  SPDI_OP_SPREAD_NOISE,
  SPDI_OP_BATCH_NORM_RELU,
  SPDI_OP_COUNT
};

enum spdi_action { SPDI_SHAPE, SPDI_FORWARD, SPDI_BACKWARD };

struct spdi_bn_pass; /* lib/ops/batchnorm.c */

struct spd_tensor {
  spd_tape *tape;
  spd_tensor *prev;     /* node created just before this one */
  spd_tensor **in;      /* nin inputs (arena) */
  float *data;          /* n values; may alias an input or a parameter */
  float *grad;          /* n values once backward has run; may alias a parameter's */
  void *saved;          /* op-specific values kept for backward (arena) */
  void *ptr;            /* op-specific borrowed pointer (e.g. a params store) */
  /* grad logically the input gradient of a batch norm's backward, not
   * written yet (spdi_bn_grad_write); NULL otherwise */
  const struct spdi_bn_pass *grad_deferred;
  const void *cptr[2];  /* builder arguments, valid during the builder call only */
  size_t shape[SPDI_MAX_DIMS];
  size_t n;             /* element count, product of shape (1 for a scalar) */
  int64_t iarg[6];      /* op-specific integer arguments */
  float farg[4];        /* op-specific float arguments */
  float grad_const;     /* the value of every gradient element while grad_uniform */
  uint64_t mark;        /* equals tape->mark when backward must visit it */
  uint32_t index;       /* creation order in the current step */
  uint16_t op;
  uint8_t ndim;         /* 0 (scalar) to 4 */
  uint8_t nin;
  bool requires_grad;
  bool grad_external;   /* grad belongs to a params store: never zeroed here */
  bool grad_pending;    /* during backward: grad not written yet, logically zero */
  bool grad_uniform;    /* grad logically grad_const everywhere, not written yet */
};

/* Arguments an op builder passes to spdi_node(). */
struct spdi_args {
  int64_t i[6];
  float f[4];
  void *ptr;
  const void *cptr[2];
};

typedef int (*spdi_op_fn)(spd_tape *t, spd_tensor *y, enum spdi_action action);

struct spdi_op_info {
  const char *name; /* the public builder's name, used in messages */
  spdi_op_fn fn;
  bool differentiable;
  /* Its backward takes each input's gradient through spdi_grad_first() and
   * assigns rather than adds where that says so. For the other ops the tape
   * zeroes a pending input gradient before their backward runs. */
  bool assigns;
  /* Its backward reads a uniform output gradient (grad_uniform) as such;
   * for the other ops the tape writes it out first. */
  bool reads_uniform;
  /* Its backward reads a deferred output gradient (grad_deferred) as such,
   * or writes it out itself; for the other ops the tape writes it out
   * first. Batch norm defers its input gradient only where an op so marked
   * produced the input. */
  bool reads_deferred;
};

extern const struct spdi_op_info spdi_ops[SPDI_OP_COUNT];

/* ---- the tape (tape.c) --------------------------------------------------- */

/* Create a node: checks the tape and the inputs, runs SHAPE, allocates the
 * output (unless SHAPE set y->data, e.g. to alias an input) and runs
 * FORWARD. Returns NULL on any failure, with the error made sticky. */
spd_tensor *spdi_node(spd_tape *t, enum spdi_op op, int nin, spd_tensor *const *in,
                      const struct spdi_args *args);

/* Record the tape's first error (later ones are ignored) and make it the
 * thread's last error. The message is prefixed with the running op's name.
 * Returns code. */
int spdi_tape_fail(spd_tape *t, int code, const char *fmt, ...) SPDI_PRINTF(3, 4);

/* Write out a uniform gradient (grad_uniform): every element set to
 * grad_const, and no longer uniform. */
void spdi_grad_fill(spd_tensor *x);

/* Write out a deferred gradient (grad_deferred), no longer deferred
 * (lib/ops/batchnorm.c). */
void spdi_grad_undefer(spd_tensor *x);

/* Images [n0, n0 + images) of a deferred gradient into out, which holds
 * that many images of the tensor's shape, on nthreads threads
 * (lib/ops/batchnorm.c). The values are those spdi_grad_undefer() writes. */
void spdi_bn_grad_write(const struct spdi_bn_pass *d, float *out, size_t n0, size_t images,
                        int nthreads);

/* During backward: whether x's gradient is still pending (nothing has
 * written it in this pass, so its memory holds garbage that stands for
 * zero), in which case the caller must assign every element rather than
 * add to it; either way x's gradient counts as written afterwards (a
 * uniform one is written out, so the caller can add to it). Lazy
 * zeroing saves a large activation's gradient a memset and a read. Take
 * it right before writing: an op whose two inputs are the same tensor
 * then assigns the first contribution and adds the second. */
static inline bool spdi_grad_first(spd_tensor *x)
{
  if (x->grad_uniform)
    spdi_grad_fill(x);
  if (x->grad_deferred != NULL)
    spdi_grad_undefer(x);
  const bool first = x->grad_pending;
  x->grad_pending = false;
  return first;
}

/* Hand back a gradient that spdi_grad_first() reported pending when the op
 * then failed before writing it (unwritten true): it stays pending, so it
 * reads as zero after the pass rather than as garbage. */
static inline void spdi_grad_unclaim(spd_tensor *x, bool unwritten)
{
  if (unwritten)
    x->grad_pending = true;
}

/* A pending gradient written as zeros, a uniform one written out (either
 * way no longer lazy): for ops marked as assigning whose backward adds
 * into some of their inputs. */
void spdi_grad_materialize(spd_tensor *x);

/* Arena memory for the current step, 64-byte aligned; NULL (and a sticky
 * SPD_E_NOMEM) when the allocation fails or would pass the tape's limit. */
void *spdi_tape_alloc(spd_tape *t, size_t bytes);

/* Scratch shared by every op: valid until the next spdi_tape_scratch call.
 * Grows to the largest request seen and is then reused, so a warm step
 * allocates nothing. NULL (and a sticky SPD_E_NOMEM) on failure. */
void *spdi_tape_scratch(spd_tape *t, size_t bytes);

/* "[2, 3, 5, 5]": a tensor's shape for messages. */
const char *spdi_shape_str(const spd_tensor *x, char buf[64]);

/* ---- helpers for the ops (ops/common.c) ----------------------------------- */

/* Elementwise loops take the parallel path above this many elements. */
#define SPDI_PAR_MIN 32768

static inline int spdi_par_threads(size_t work)
{
  return work >= SPDI_PAR_MIN ? spdi_threads() : 1;
}

/* Deterministic sums in double: fixed chunks whose size depends only on n,
 * one partial per chunk, partials added in chunk order. */
double spdi_dsum(const float *x, size_t n);
double spdi_ddot(const float *x, const float *y, size_t n);

/* The "channel" broadcast of the binary ops: a tensor seen as
 * outer x C x inner (C is axis 1). */
struct spdi_bcast {
  size_t outer, chans, inner;
};

/* How operand b relates to the full-shaped operand a. */
enum spdi_bcast_kind { SPDI_BC_SAME, SPDI_BC_SCALAR, SPDI_BC_CHANNEL, SPDI_BC_NONE };

/* Classify b against the shape of a, filling *geom for SPDI_BC_CHANNEL.
 * b broadcasts as a channel vector when it is 1-D of length shape(a)[1], or
 * has a's rank with every dimension 1 except dimension 1. */
enum spdi_bcast_kind spdi_bcast_classify(const spd_tensor *a, const spd_tensor *b,
                                         struct spdi_bcast *geom);

/* out[c] = sum over outer and inner of x (times y when y != NULL), in
 * double, in an order that depends on the shape alone (common.c). */
void spdi_channel_sums(const float *x, const float *y, const struct spdi_bcast *g,
                       double *out);

/* Loop over the n elements of a full-shaped operand with `sv` bound to the
 * matching value of a broadcast operand `sp` (kind SAME, SCALAR or
 * CHANNEL); BODY sees the element index `i`. Parallel above SPDI_PAR_MIN
 * elements, vectorised by `omp simd`; every element is computed the same
 * way whatever the thread count. */
#define SPDI_FOR_BCAST(kind, geom, sp, n, BODY)                                \
  do {                                                                         \
    const size_t n_ = (n);                                                     \
    const float *sp_ = (sp);                                                   \
    const int nt_ = spdi_par_threads(n_);                                      \
    if ((kind) == SPDI_BC_CHANNEL && (geom)->inner == 1) {                    \
      /* a per-feature vector: it runs along the rows */                      \
      const size_t chans_ = (geom)->chans, outer_ = (geom)->outer;             \
      SPDI_PARALLEL_FOR(nt_, o_, outer_, {                                     \
        _Pragma("omp simd")                                                    \
        for (size_t c_ = 0; c_ < chans_; c_++) {                               \
          const size_t i = o_ * chans_ + c_;                                   \
          const float sv = sp_[c_];                                            \
          BODY;                                                                \
        }                                                                      \
      });                                                                      \
    } else if ((kind) == SPDI_BC_CHANNEL) {                                    \
      const size_t inner_ = (geom)->inner, chans_ = (geom)->chans;             \
      const size_t rows_ = (geom)->outer * chans_;                             \
      SPDI_PARALLEL_FOR(nt_, r_, rows_, {                                      \
        const float sv = sp_[r_ % chans_];                                     \
        _Pragma("omp simd")                                                    \
        for (size_t i = r_ * inner_; i < (r_ + 1) * inner_; i++) {             \
          BODY;                                                                \
        }                                                                      \
      });                                                                      \
    } else if ((kind) == SPDI_BC_SCALAR) {                                     \
      const float sv = sp_[0];                                                 \
      SPDI_PARALLEL_FOR_SIMD(nt_, i, n_, { BODY; });                           \
    } else {                                                                   \
      SPDI_PARALLEL_FOR_SIMD(nt_, i, n_, {                                     \
        const float sv = sp_[i];                                               \
        BODY;                                                                  \
      });                                                                      \
    }                                                                          \
  } while (0)

/* c ? a : b with both operands evaluated: a vectorisable select. Elementwise
 * loops must not read memory under a condition (`c ? dy[i] : 0`): C lets
 * such a load not happen, so gcc keeps the loop scalar with a branch per
 * element. Load first, then pick. */
static inline float spdi_pick(bool c, float a, float b) { return c ? a : b; }

/* Plain elementwise loop over i < n with the same threading rule. */
#define SPDI_FOR(n, BODY)                                                      \
  do {                                                                         \
    const size_t n_ = (n);                                                     \
    SPDI_PARALLEL_FOR_SIMD(spdi_par_threads(n_), i, n_, { BODY; });            \
  } while (0)

/* The op functions, one per op (lib/ops/<family>.c), indexed by spdi_ops. */
#define SPDI_DECLARE_OP(name) \
  int spdi_op_##name(spd_tape *t, spd_tensor *y, enum spdi_action action)
SPDI_DECLARE_OP(leaf);
SPDI_DECLARE_OP(param);
SPDI_DECLARE_OP(add);
SPDI_DECLARE_OP(sub);
SPDI_DECLARE_OP(mul);
SPDI_DECLARE_OP(div);
SPDI_DECLARE_OP(scale);
SPDI_DECLARE_OP(add_scalar);
SPDI_DECLARE_OP(matmul);
SPDI_DECLARE_OP(conv2d);
SPDI_DECLARE_OP(conv2d_transpose);
SPDI_DECLARE_OP(batch_norm);
SPDI_DECLARE_OP(relu);
SPDI_DECLARE_OP(leaky_relu);
SPDI_DECLARE_OP(elu);
SPDI_DECLARE_OP(sigmoid);
SPDI_DECLARE_OP(tanh);
SPDI_DECLARE_OP(softplus);
SPDI_DECLARE_OP(exp);
SPDI_DECLARE_OP(log);
SPDI_DECLARE_OP(square);
SPDI_DECLARE_OP(sum);
SPDI_DECLARE_OP(mean);
SPDI_DECLARE_OP(sum_axis);
SPDI_DECLARE_OP(reshape);
SPDI_DECLARE_OP(slice);
SPDI_DECLARE_OP(concat);
SPDI_DECLARE_OP(logsumexp);
SPDI_DECLARE_OP(gaussian_log_density);
SPDI_DECLARE_OP(spread_noise);

/* Resolve a possibly negative axis against ndim; -1 when out of range. */
static inline int spdi_axis(int axis, int ndim)
{
  if (axis < 0)
    axis += ndim;
  return axis >= 0 && axis < ndim ? axis : -1;
}

/* View a shape as outer x len x inner around axis. */
static inline void spdi_split_axis(const spd_tensor *x, int axis, size_t *outer,
                                   size_t *len, size_t *inner)
{
  size_t o = 1, in = 1;
  for (int d = 0; d < axis; d++)
    o *= x->shape[d];
  for (int d = axis + 1; d < x->ndim; d++)
    in *= x->shape[d];
  *outer = o;
  *len = x->shape[axis];
  *inner = in;
}

#endif /* SPDI_TAPE_IMPL_H */
