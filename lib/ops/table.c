/* The op table: one row per enum spdi_op, in enum order. Adding an op means
 * appending to the enum (lib/tape_impl.h), appending a row here and
 * updating the count below; the assertions catch a forgotten step. */
#include "tape_impl.h"

#define OP(id, name, fn, diff) [id] = { name, spdi_op_##fn, diff, false, false, false }
/* an op whose backward assigns first gradients (spdi_grad_first) */
#define OPA(id, name, fn) [id] = { name, spdi_op_##fn, true, true, false, false }
/* ... and reads a uniform output gradient as such (grad_uniform) */
#define OPU(id, name, fn) [id] = { name, spdi_op_##fn, true, true, true, false }
/* ... or a deferred one (grad_deferred) */
#define OPD(id, name, fn) [id] = { name, spdi_op_##fn, true, true, false, true }

const struct spdi_op_info spdi_ops[SPDI_OP_COUNT] = {
  OP(SPDI_OP_LEAF, "spd_leaf", leaf, false),
  OP(SPDI_OP_PARAM, "spd_param", param, false),
  OPA(SPDI_OP_ADD, "spd_add", add),
  OP(SPDI_OP_SUB, "spd_sub", sub, true),
  OP(SPDI_OP_MUL, "spd_mul", mul, true),
  OP(SPDI_OP_DIV, "spd_div", div, true),
  OP(SPDI_OP_SCALE, "spd_scale", scale, true),
  OP(SPDI_OP_ADD_SCALAR, "spd_add_scalar", add_scalar, true),
  OPA(SPDI_OP_MATMUL, "spd_matmul", matmul),
  OPD(SPDI_OP_CONV2D, "spd_conv2d", conv2d),
  OPA(SPDI_OP_CONV2D_TRANSPOSE, "spd_conv2d_transpose", conv2d_transpose),
  OPU(SPDI_OP_BATCH_NORM, "spd_batch_norm", batch_norm),
  OPU(SPDI_OP_RELU, "spd_relu", relu),
  OPU(SPDI_OP_LEAKY_RELU, "spd_leaky_relu", leaky_relu),
  OPU(SPDI_OP_ELU, "spd_elu", elu),
  OPU(SPDI_OP_SIGMOID, "spd_sigmoid", sigmoid),
  OPU(SPDI_OP_TANH, "spd_tanh", tanh),
  OPU(SPDI_OP_SOFTPLUS, "spd_softplus", softplus),
  OPU(SPDI_OP_EXP, "spd_exp", exp),
  OPU(SPDI_OP_LOG, "spd_log", log),
  OPU(SPDI_OP_SQUARE, "spd_square", square),
  OPA(SPDI_OP_SUM, "spd_sum", sum),
  OPA(SPDI_OP_MEAN, "spd_mean", mean),
  OP(SPDI_OP_SUM_AXIS, "spd_sum_axis", sum_axis, true),
  OP(SPDI_OP_RESHAPE, "spd_reshape", reshape, true),
  OP(SPDI_OP_SLICE, "spd_slice", slice, true),
  OP(SPDI_OP_CONCAT, "spd_concat", concat, true),
  OP(SPDI_OP_LOGSUMEXP, "spd_logsumexp", logsumexp, true),
  OP(SPDI_OP_GAUSSIAN_LOG_DENSITY, "spd_gaussian_log_density", gaussian_log_density, true),
  OP(SPDI_OP_SPREAD_NOISE, "spd_spread_noise", spread_noise, true),
  OPU(SPDI_OP_BATCH_NORM_RELU, "spd_batch_norm_relu", batch_norm), /* iarg[5] set */
};

/* Bump together with a new enum entry and its row above. */
_Static_assert(SPDI_OP_COUNT == 31, "op enum and op table out of step");
_Static_assert(sizeof spdi_ops / sizeof spdi_ops[0] == SPDI_OP_COUNT,
               "one table row per op");
