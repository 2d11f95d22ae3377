/* The one place where the example spreads data, through the library's
 * spread kernel: y = x + gamma eps with
 * eps ~ N(0, I), the isotropic Gaussian spread kernel of MATH.md section 2,
 * applied identically to the data (here) and to the model (as its output
 * noise gamma^2 in the E-step). */
#ifndef ICA_SPREAD_NOISE_H
#define ICA_SPREAD_NOISE_H

#include <stddef.h>
#include <stdint.h>

typedef struct ica_spreader ica_spreader;

/* Spreader for points of `dim` floats with scale gamma > 0, drawing from
 * stream `stream` of `seed`. Returns 0 or a negative spd_status (message in
 * spd_last_error()). */
int ica_spreader_create(size_t dim, double gamma, uint64_t seed,
                        uint64_t stream, ica_spreader **out);
void ica_spreader_free(ica_spreader *sp);

/* Change the scale (annealing). Returns 0 or a negative spd_status. */
int ica_spreader_set_gamma(ica_spreader *sp, double gamma);

/* y_i = x_i + gamma eps_i for n points (n x dim floats); y may equal x.
 * Returns 0 or a negative spd_status. */
int ica_spreader_apply(ica_spreader *sp, const float *x, size_t n, float *y);

#endif /* ICA_SPREAD_NOISE_H */
