/* Spread VAE: construction, options and accessors. */
#include "vae_internal.h"

#include <math.h>
#include <string.h>

static const double defaults[SPDI_VAE_NOPT] = {
  [SPD_VAE_LEARNING_RATE] = 1e-4, [SPD_VAE_BETA1] = 0.9, [SPD_VAE_BETA2] = 0.999,
  [SPD_VAE_SIGMA] = 0.5, [SPD_VAE_ANNEAL_FACTOR] = 1.0, [SPD_VAE_ANNEAL_PERIOD] = 1000,
  [SPD_VAE_ANNEAL_FLOOR] = 0.1, [SPD_VAE_LOW_VARIANCE] = 1, [SPD_VAE_SPREAD] = 1,
  [SPD_VAE_LEARN_SPREAD_RANK] = 0, [SPD_VAE_SPREAD_LEARNING_RATE] = 1e-3,
  [SPD_VAE_SPREAD_NORM] = 1.0, [SPD_VAE_SPREAD_EVERY] = 1, [SPD_VAE_BN_MOMENTUM] = 0.1,
  [SPD_VAE_SEED] = 0,
};

static int build_encoder(spd_vae *v, spd_rng *rng)
{
  const spdi_gen_config *c = &v->gen->cfg;
  size_t feat;
  int rc;
  if (c->kind == SPD_GENERATOR_CONV) {
    v->conv = 1;
    rc = spdi_nn_conv_encoder_add(v->enc, c->channels, c->image_size, c->width, rng, &v->cenc);
    feat = v->cenc.flat;
  } else {
    size_t depth = c->kind == SPD_GENERATOR_MLP ? c->depth : 0;
    rc = spdi_nn_mlp_add(v->enc, "enc_dense", c->x_dim, c->hidden, depth, rng, &v->menc);
    feat = depth ? c->hidden : c->x_dim;
  }
  if (rc == SPD_OK)
    rc = spdi_nn_dense_add(v->enc, "enc_mean", feat, c->z_dim, 1, rng, &v->head_mean);
  if (rc == SPD_OK)
    rc = spdi_nn_dense_add(v->enc, "enc_logsd", feat, c->z_dim, 1, rng, &v->head_logsd);
  return rc;
}

int spdi_vae_reseed(spd_vae *v, uint64_t seed)
{
  int rc = spd_rng_set_state(v->rng_noise, seed, SPDI_VAE_STREAM_NOISE, 0);
  if (rc == SPD_OK)
    rc = spd_rng_set_state(v->rng_xi, seed, SPDI_VAE_STREAM_XI, 0);
  if (rc == SPD_OK)
    rc = spd_rng_set_state(v->rng_eval, seed, SPDI_VAE_STREAM_EVAL, 0);
  if (rc == SPD_OK) {
    v->seed = seed;
    v->opt[SPD_VAE_SEED] = (double)seed;
  }
  return rc;
}

static void vae_destroy(spd_vae *v)
{
  spd_optim_free(v->opt_gen);
  spd_optim_free(v->opt_enc);
  spd_optim_free(v->opt_sp);
  spd_params_free(v->enc);
  spd_params_free(v->sp);
  spd_spread_free(v->spread);
  spd_rng_free(v->rng_noise);
  spd_rng_free(v->rng_xi);
  spd_rng_free(v->rng_eval);
  spd_tape_free(v->tape);
  spdi_free(v->xi);
  spdi_free(v->eps);
  spdi_free(v->lk_gx);
  spdi_free(v->lk_gy);
  spdi_free(v->lk_gp);
  spdi_free(v->lk_val);
  spdi_free(v->lk_logp);
  spdi_free(v->lk_work);
  spdi_free(v);
}

int spdi_vae_build(spd_generator *g, uint64_t seed, spd_vae **out)
{
  spd_vae *v = spdi_calloc(1, sizeof *v);
  if (v == NULL)
    return SPDI_FAIL(SPD_E_NOMEM, "out of memory");
  v->gen = g;
  memcpy(v->opt, defaults, sizeof v->opt);
  spd_rng *init = NULL;
  int rc = spd_params_create(&v->enc);
  if (rc == SPD_OK)
    rc = spd_rng_create_stream(seed, SPDI_VAE_STREAM_INIT, &init);
  if (rc == SPD_OK)
    rc = build_encoder(v, init);
  spd_rng_free(init);
  if (rc == SPD_OK)
    rc = spd_optim_create_adam(g->params, v->opt[SPD_VAE_LEARNING_RATE], &v->opt_gen);
  if (rc == SPD_OK)
    rc = spd_optim_create_adam(v->enc, v->opt[SPD_VAE_LEARNING_RATE], &v->opt_enc);
  if (rc == SPD_OK)
    rc = spd_spread_create_gaussian(g->cfg.x_dim, v->opt[SPD_VAE_SIGMA], &v->spread);
  if (rc == SPD_OK)
    rc = spd_rng_create(seed, &v->rng_noise);
  if (rc == SPD_OK)
    rc = spd_rng_create(seed, &v->rng_xi);
  if (rc == SPD_OK)
    rc = spd_rng_create(seed, &v->rng_eval);
  if (rc == SPD_OK)
    rc = spdi_vae_reseed(v, seed);
  if (rc == SPD_OK)
    rc = spd_tape_create(&v->tape);
  if (rc == SPD_OK)
    rc = spd_generator_set_bn_momentum(g, v->opt[SPD_VAE_BN_MOMENTUM]);
  if (rc != SPD_OK) {
    v->gen = NULL; /* the caller keeps the generator on failure */
    vae_destroy(v);
    return rc;
  }
  *out = v;
  return SPD_OK;
}

int spd_vae_create(spd_generator *g, uint64_t seed, spd_vae **out)
{
  if (g == NULL || out == NULL)
    return SPDI_FAIL(SPD_E_INVALID, "NULL argument");
  return spdi_vae_build(g, seed, out);
}

void spd_vae_free(spd_vae *v)
{
  if (v == NULL)
    return;
  spd_optim_free(v->opt_gen); /* before the generator's store it refers to */
  v->opt_gen = NULL;
  spd_generator *g = v->gen;
  vae_destroy(v);
  spd_generator_free(g);
}

spd_generator *spd_vae_generator(spd_vae *v)
{
  return v ? v->gen : NULL;
}

double spdi_vae_sigma_at(const spd_vae *v, uint64_t k)
{
  double sigma = v->opt[SPD_VAE_SIGMA];
  double factor = v->opt[SPD_VAE_ANNEAL_FACTOR];
  if (factor == 1.0)
    return sigma;
  double e = floor((double)k / v->opt[SPD_VAE_ANNEAL_PERIOD]);
  double s = sigma * pow(factor, e);
  double floor_ = v->opt[SPD_VAE_ANNEAL_FLOOR];
  return s > floor_ ? s : floor_;
}

double spd_vae_sigma(const spd_vae *v)
{
  return v ? spdi_vae_sigma_at(v, v->steps) : 0.0;
}

uint64_t spd_vae_seed(const spd_vae *v)
{
  return v ? v->seed : 0;
}

uint64_t spd_vae_step_count(const spd_vae *v)
{
  return v ? v->steps : 0;
}

static int is_int(double x)
{
  return isfinite(x) && x == floor(x);
}

/* Range check of one option value (SPD_E_DOMAIN with a message). */
static int check_value(int option, double x)
{
  int ok;
  switch (option) {
  case SPD_VAE_LEARNING_RATE:
  case SPD_VAE_SPREAD_LEARNING_RATE:
  case SPD_VAE_SIGMA:
  case SPD_VAE_ANNEAL_FLOOR: ok = isfinite(x) && x > 0; break;
  case SPD_VAE_BETA1:
  case SPD_VAE_BETA2: ok = x >= 0 && x < 1; break;
  case SPD_VAE_ANNEAL_FACTOR: ok = x > 0 && x <= 1; break;
  case SPD_VAE_ANNEAL_PERIOD:
  case SPD_VAE_SPREAD_EVERY: ok = is_int(x) && x >= 1 && x <= 9007199254740992.0; break;
  case SPD_VAE_LOW_VARIANCE:
  case SPD_VAE_SPREAD: ok = x == 0 || x == 1; break;
  case SPD_VAE_LEARN_SPREAD_RANK: ok = is_int(x) && x >= 0 && x <= 65536; break;
  case SPD_VAE_SPREAD_NORM: ok = isfinite(x) && x >= 0; break;
  case SPD_VAE_BN_MOMENTUM: ok = x >= 0 && x <= 1; break;
  case SPD_VAE_SEED: ok = is_int(x) && x >= 0 && x <= 9007199254740992.0; break;
  default: return SPDI_FAIL(SPD_E_INVALID, "unknown option %d", option);
  }
  if (!ok)
    return SPDI_FAIL(SPD_E_DOMAIN, "value %g out of range for option %d", x, option);
  return SPD_OK;
}

int spd_vae_set(spd_vae *v, int option, double value)
{
  if (v == NULL)
    return SPDI_FAIL(SPD_E_INVALID, "v is NULL");
  int rc = check_value(option, value);
  if (rc != SPD_OK)
    return rc;
  switch (option) {
  case SPD_VAE_LEARN_SPREAD_RANK:
    if (v->steps > 0 || v->sp != NULL)
      return SPDI_FAIL(SPD_E_STATE, "the spread rank is fixed after the first step");
    if (value > (double)v->gen->cfg.x_dim)
      return SPDI_FAIL(SPD_E_DOMAIN, "rank %g above x_dim %zu", value, v->gen->cfg.x_dim);
    break;
  case SPD_VAE_SEED:
    if (v->steps > 0)
      return SPDI_FAIL(SPD_E_STATE, "the seed is fixed after the first step");
    rc = spdi_vae_reseed(v, (uint64_t)value);
    if (rc != SPD_OK)
      return rc;
    break;
  case SPD_VAE_LEARNING_RATE:
  case SPD_VAE_BETA1:
  case SPD_VAE_BETA2: {
    spd_optim_option o = option == SPD_VAE_LEARNING_RATE ? SPD_OPTIM_LEARNING_RATE
                         : option == SPD_VAE_BETA1      ? SPD_OPTIM_BETA1
                                                        : SPD_OPTIM_BETA2;
    rc = spd_optim_set(v->opt_gen, o, value);
    if (rc == SPD_OK)
      rc = spd_optim_set(v->opt_enc, o, value);
    if (rc == SPD_OK && v->opt_sp != NULL && o != SPD_OPTIM_LEARNING_RATE)
      rc = spd_optim_set(v->opt_sp, o, value);
    if (rc != SPD_OK)
      return rc;
    break;
  }
  case SPD_VAE_SPREAD_LEARNING_RATE:
    if (v->opt_sp != NULL && (rc = spd_optim_set(v->opt_sp, SPD_OPTIM_LEARNING_RATE, value)))
      return rc;
    break;
  case SPD_VAE_BN_MOMENTUM:
    rc = spd_generator_set_bn_momentum(v->gen, value);
    if (rc != SPD_OK)
      return rc;
    break;
  default:
    break;
  }
  v->opt[option] = value;
  return SPD_OK;
}

int spd_vae_get(const spd_vae *v, int option, double *value)
{
  if (v == NULL || value == NULL)
    return SPDI_FAIL(SPD_E_INVALID, "NULL argument");
  if (option < 1 || option >= SPDI_VAE_NOPT)
    return SPDI_FAIL(SPD_E_INVALID, "unknown option %d", option);
  *value = v->opt[option];
  return SPD_OK;
}

int spd_vae_loss_parts(const spd_vae *v, double *recon, double *kl)
{
  if (v == NULL)
    return SPDI_FAIL(SPD_E_INVALID, "v is NULL");
  if (!v->have_last)
    return SPDI_FAIL(SPD_E_STATE, "no step taken yet");
  if (recon)
    *recon = v->last_recon;
  if (kl)
    *kl = v->last_kl;
  return SPD_OK;
}

void spdi_vae_renorm_factor(const spd_vae *v, float *p, size_t np)
{
  double ss = 0;
  for (size_t i = 1; i < np; i++)
    ss += (double)p[i] * p[i];
  double scale = ss > 0 ? v->opt[SPD_VAE_SPREAD_NORM] / sqrt(ss) : 0.0;
  for (size_t i = 1; i < np; i++)
    p[i] = (float)(p[i] * scale);
}

int spdi_vae_make_learned_spread(spd_vae *v, const float *params)
{
  size_t dim = v->gen->cfg.x_dim, rank = (size_t)v->opt[SPD_VAE_LEARN_SPREAD_RANK];
  size_t np = 1 + dim * rank;
  float *buf = spdi_malloc(np * sizeof *buf);
  if (buf == NULL)
    return SPDI_FAIL(SPD_E_NOMEM, "out of memory");
  int rc = SPD_OK;
  if (params != NULL) {
    memcpy(buf, params, np * sizeof *buf);
  } else {
    spd_rng *rng = NULL;
    rc = spd_rng_create_stream(v->seed, SPDI_VAE_STREAM_SPREAD_INIT, &rng);
    if (rc == SPD_OK)
      rc = spd_rng_normal(rng, buf + 1, np - 1);
    spd_rng_free(rng);
    if (rc == SPD_OK) { /* buf is unset when the stream could not be made */
      spdi_vae_renorm_factor(v, buf, np);
      buf[0] = (float)spdi_vae_sigma_at(v, v->steps);
    }
  }
  spd_spread *s = NULL;
  spd_params *sp = NULL;
  spd_optim *o = NULL;
  if (rc == SPD_OK)
    rc = spd_spread_create_gaussian_lowrank(dim, rank, buf[0], buf + 1, &s);
  if (rc == SPD_OK)
    rc = spd_params_create(&sp);
  if (rc == SPD_OK)
    rc = spd_params_add(sp, "spread.params", 1, &np, buf, 1, NULL);
  if (rc == SPD_OK)
    rc = spd_optim_create_adam(sp, v->opt[SPD_VAE_SPREAD_LEARNING_RATE], &o);
  if (rc == SPD_OK)
    rc = spd_optim_set(o, SPD_OPTIM_BETA1, v->opt[SPD_VAE_BETA1]);
  if (rc == SPD_OK)
    rc = spd_optim_set(o, SPD_OPTIM_BETA2, v->opt[SPD_VAE_BETA2]);
  spdi_free(buf);
  if (rc != SPD_OK) {
    spd_optim_free(o);
    spd_params_free(sp);
    spd_spread_free(s);
    return rc == SPD_E_DOMAIN ? SPDI_FAIL(SPD_E_FORMAT, "bad spread parameters") : rc;
  }
  spd_spread_free(v->spread);
  v->spread = s;
  v->sp = sp;
  v->opt_sp = o;
  return SPD_OK;
}
