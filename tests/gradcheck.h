/* Finite-difference gradient check shared by the op suites. */
#ifndef SPDT_GRADCHECK_H
#define SPDT_GRADCHECK_H

#include "harness.h"

#include <stddef.h>

#define SPDT_MAX_INPUTS 4

/* One input of a graph: its shape, values (owned by the caller) and whether
 * its gradient is checked. */
typedef struct {
  int ndim;
  size_t shape[SPD_MAX_DIMS];
  float *data;
  int requires_grad;
} spdt_input;

/* Builds the graph under test from its leaves; returns its output. */
typedef spd_tensor *(*spdt_graph)(spd_tape *t, spd_tensor **in, void *ctx);

/* Check the gradients of L = sum_i r_i y_i (r fixed pseudo-random weights in
 * [0.5, 1.5] with random signs, y = graph(inputs)) with respect to every
 * input that requires a gradient, against central differences with step
 * h max(1, |x|). L is evaluated in double from the float outputs.
 * Passes when |numeric - analytic| <= atol * G + rtol * |analytic|, G the
 * input's largest |analytic| gradient (a norm-relative bound: float
 * rounding of the outputs divided by 2h is absolute noise, not relative).
 * Fails with a message naming `what`, the input and the element. */
void spdt_gradcheck(const char *what, int nin, spdt_input *in, spdt_graph graph, void *ctx,
                    double h, double rtol, double atol);

/* Fill n floats with pseudo-random values in [lo, hi), from a seed; with
 * away > 0, values within `away` of zero are pushed out to +-away (for ops
 * with a kink or a pole at 0). */
void spdt_fill(float *x, size_t n, unsigned seed, float lo, float hi, float away);

/* An input with a shape given as a list; data is malloc'ed, filled by
 * spdt_fill(seed, -1, 1, 0). Free with spdt_input_free(). */
spdt_input spdt_input_make(int requires_grad, unsigned seed, int ndim, ...);
void spdt_input_free(spdt_input *in);

#endif /* SPDT_GRADCHECK_H */
