/* Private layout of spd_vae, shared by vae.c (construction, options),
 * vae_step.c (the objective and the step) and vae_io.c (checkpoints). */
#ifndef SPDI_VAE_INTERNAL_H
#define SPDI_VAE_INTERNAL_H

#include "generator_internal.h"

#define SPDI_VAE_NOPT 16 /* option values, indexed by spd_vae_option (0 unused) */

/* Random streams of the training seed (spd_rng streams). */
enum { SPDI_VAE_STREAM_INIT = 0, SPDI_VAE_STREAM_NOISE = 1, SPDI_VAE_STREAM_XI = 2,
       SPDI_VAE_STREAM_EVAL = 3, SPDI_VAE_STREAM_SPREAD_INIT = 4 };

struct spd_vae {
  spd_generator *gen;          /* owned */
  spd_params *enc;             /* encoder parameters and batch-norm buffers */
  int conv;                    /* conv encoder (else MLP) */
  spdi_conv_encoder cenc;
  spdi_mlp menc;
  spdi_dense head_mean, head_logsd;
  spd_optim *opt_gen, *opt_enc;
  spd_spread *spread;          /* isotropic Gaussian, or low rank once learned */
  spd_params *sp;              /* learned spread: entry 0 = spread parameters */
  spd_optim *opt_sp;
  spd_rng *rng_noise, *rng_xi, *rng_eval;
  uint64_t seed;               /* training seed (streams 1..4) */
  uint64_t steps;
  double opt[SPDI_VAE_NOPT];
  int have_last;
  double last_recon, last_kl;
  spd_tape *tape;              /* kept between steps: warm steps allocate nothing */
  float *xi;                   /* latent noise of a batch */
  size_t xi_cap;               /* floats */
  float *eps;                  /* isotropic spread noise of a batch */
  size_t eps_cap;
  /* Learned spread: likelihood log K(t | xhat) and its gradients. */
  float *lk_gx, *lk_gy, *lk_gp, *lk_val;
  double *lk_logp;
  size_t lk_cap;               /* rows */
  double *lk_work;             /* the density's work space (spdi_spread_density) */
  size_t lk_work_cap;          /* doubles */
};

/* Build a VAE around g (taking it on success) with the encoder initialised
 * from stream 0 of seed and the default options. */
int spdi_vae_build(spd_generator *g, uint64_t seed, spd_vae **out);

/* Re-seed the training streams (noise, xi, eval) at position 0. */
int spdi_vae_reseed(spd_vae *v, uint64_t seed);

/* Create the learned low-rank spread (rank from the options) with the given
 * parameters, or with L drawn from the spread-init stream and scaled to the
 * configured norm when params is NULL. */
int spdi_vae_make_learned_spread(spd_vae *v, const float *params);

/* For tests: the training loss of a batch at the current parameters and
 * random states (which are restored afterwards), with training-mode batch
 * norm; with grad, the gradients of the loss land in the stores (zeroed
 * first), the learned spread's included. */
int spdi_vae_loss(spd_vae *v, const float *x, size_t n, int grad, double *loss);

/* The spread sigma for step k of the schedule. */
double spdi_vae_sigma_at(const spd_vae *v, uint64_t k);

/* Scale the learned spread's factor p[1..np) to the norm option
 * SPD_VAE_SPREAD_NORM (all zero stays zero). */
void spdi_vae_renorm_factor(const spd_vae *v, float *p, size_t np);

#endif /* SPDI_VAE_INTERNAL_H */
