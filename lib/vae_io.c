/* Training checkpoints: a file of kind SVAE (doc/generator.md).
 *   GCFG, GPAR  the generator (as in a generator file)
 *   EPAR        encoder parameters and batch-norm buffers
 *   VCFG        f64 array "options" (indexed by spd_vae_option), u64 "seed",
 *               u64 "steps"
 *   OPTG, OPTE  Adam state of generator / encoder: u64 "step" and one f32
 *               array "<param>/<buffer>" per trainable entry and buffer
 *   RNGS        u64 arrays [seed, stream, position] "noise", "xi", "eval"
 *   SPRD        learned spread only: f32 "params", OPTS its Adam state */
#include "vae_internal.h"

#include <stdio.h>
#include <string.h>

#define TAG_SVAE SPDI_TAG('S', 'V', 'A', 'E')
#define TAG_EPAR SPDI_TAG('E', 'P', 'A', 'R')
#define TAG_VCFG SPDI_TAG('V', 'C', 'F', 'G')
#define TAG_OPTG SPDI_TAG('O', 'P', 'T', 'G')
#define TAG_OPTE SPDI_TAG('O', 'P', 'T', 'E')
#define TAG_OPTS SPDI_TAG('O', 'P', 'T', 'S')
#define TAG_RNGS SPDI_TAG('R', 'N', 'G', 'S')
#define TAG_SPRD SPDI_TAG('S', 'P', 'R', 'D')

/* Largest trainable entry of a store, in floats (scratch for optim state). */
static size_t largest(const spd_params *p)
{
  size_t m = 0;
  for (size_t i = 0; i < spd_params_count(p); i++)
    if (spd_params_size(p, i) > m)
      m = spd_params_size(p, i);
  return m;
}

static int state_name(char *buf, size_t len, const char *param, const char *buffer)
{
  int k = snprintf(buf, len, "%s/%s", param, buffer);
  return k > 0 && (size_t)k < len ? SPD_OK : SPDI_FAIL(SPD_E_INVALID, "name too long");
}

static int optim_write(spdi_ckpt_writer *w, uint32_t tag, const spd_optim *o,
                       const spd_params *p, float *scratch)
{
  uint64_t step;
  int rc = spd_optim_get_step(o, &step);
  if (rc == SPD_OK)
    rc = spdi_ckpt_begin(w, tag);
  if (rc == SPD_OK)
    rc = spdi_ckpt_put_u64(w, "step", step);
  for (size_t i = 0; i < spd_params_count(p) && rc == SPD_OK; i++) {
    if (spd_params_trainable(p, i) != 1)
      continue;
    size_t n = spd_params_size(p, i);
    for (int k = 0; k < spd_optim_state_count(o) && rc == SPD_OK; k++) {
      char name[2 * SPD_PARAM_NAME_MAX];
      const char *param = spd_params_name(p, i), *buffer = spd_optim_state_name(o, k);
      rc = state_name(name, sizeof name, param, buffer);
      if (rc == SPD_OK)
        rc = spd_optim_get_state(o, param, buffer, scratch, n);
      if (rc == SPD_OK)
        rc = spdi_ckpt_put_f32(w, name, 1, &n, scratch);
    }
  }
  if (rc == SPD_OK)
    rc = spdi_ckpt_end(w);
  return rc;
}

static int optim_read(spdi_ckpt_reader *r, uint32_t tag, spd_optim *o, const spd_params *p,
                      float *scratch)
{
  uint64_t step;
  int rc = spdi_ckpt_get_u64(r, tag, "step", &step);
  if (rc == SPD_OK)
    rc = spd_optim_set_step(o, step);
  for (size_t i = 0; i < spd_params_count(p) && rc == SPD_OK; i++) {
    if (spd_params_trainable(p, i) != 1)
      continue;
    size_t n = spd_params_size(p, i);
    for (int k = 0; k < spd_optim_state_count(o) && rc == SPD_OK; k++) {
      char name[2 * SPD_PARAM_NAME_MAX];
      const char *param = spd_params_name(p, i), *buffer = spd_optim_state_name(o, k);
      rc = state_name(name, sizeof name, param, buffer);
      if (rc == SPD_OK)
        rc = spdi_ckpt_get_f32(r, tag, name, 1, &n, scratch);
      if (rc == SPD_OK && spd_optim_set_state(o, param, buffer, scratch, n) != SPD_OK)
        rc = SPDI_FAIL(SPD_E_FORMAT, "bad optimizer state '%s'", name);
    }
  }
  return rc;
}

static int rng_write(spdi_ckpt_writer *w, const char *name, const spd_rng *rng)
{
  uint64_t s[3];
  int rc = spd_rng_get_state(rng, &s[0], &s[1], &s[2]);
  uint64_t three = 3;
  return rc == SPD_OK ? spdi_ckpt_put(w, name, SPDI_DT_U64, 1, &three, s) : rc;
}

static int rng_read(spdi_ckpt_reader *r, const char *name, spd_rng *rng)
{
  const spdi_ckpt_entry *e = spdi_ckpt_find(r, TAG_RNGS, name);
  if (e == NULL || e->ndim != 1 || e->dims[0] != 3)
    return SPDI_FAIL(SPD_E_FORMAT, "random state '%s' missing or misshapen", name);
  uint64_t s[3];
  int rc = spdi_ckpt_read(r, e, SPDI_DT_U64, s, 3);
  return rc == SPD_OK ? spd_rng_set_state(rng, s[0], s[1], s[2]) : rc;
}

static int write_all(spdi_ckpt_writer *w, const spd_vae *v, float *scratch)
{
  int rc = spdi_generator_write(w, v->gen);
  if (rc == SPD_OK)
    rc = spdi_params_write(w, TAG_EPAR, v->enc);
  if (rc == SPD_OK) {
    uint64_t nopt = SPDI_VAE_NOPT;
    spdi_ckpt_begin(w, TAG_VCFG);
    spdi_ckpt_put(w, "options", SPDI_DT_F64, 1, &nopt, v->opt);
    spdi_ckpt_put_u64(w, "seed", v->seed);
    spdi_ckpt_put_u64(w, "steps", v->steps);
    rc = spdi_ckpt_end(w);
  }
  if (rc == SPD_OK)
    rc = optim_write(w, TAG_OPTG, v->opt_gen, v->gen->params, scratch);
  if (rc == SPD_OK)
    rc = optim_write(w, TAG_OPTE, v->opt_enc, v->enc, scratch);
  if (rc == SPD_OK) {
    spdi_ckpt_begin(w, TAG_RNGS);
    rng_write(w, "noise", v->rng_noise);
    rng_write(w, "xi", v->rng_xi);
    rng_write(w, "eval", v->rng_eval);
    rc = spdi_ckpt_end(w);
  }
  if (rc == SPD_OK && v->sp != NULL) {
    rc = spdi_params_write(w, TAG_SPRD, v->sp);
    if (rc == SPD_OK)
      rc = optim_write(w, TAG_OPTS, v->opt_sp, v->sp, scratch);
  }
  return rc;
}

int spd_vae_save(const spd_vae *v, const char *path)
{
  if (v == NULL || path == NULL)
    return SPDI_FAIL(SPD_E_INVALID, "NULL argument");
  size_t n = largest(v->gen->params);
  if (largest(v->enc) > n)
    n = largest(v->enc);
  if (v->sp != NULL && largest(v->sp) > n)
    n = largest(v->sp);
  float *scratch = spdi_malloc(n * sizeof *scratch);
  if (scratch == NULL)
    return SPDI_FAIL(SPD_E_NOMEM, "out of memory");
  spdi_ckpt_writer *w;
  int rc = spdi_ckpt_create(path, TAG_SVAE, &w);
  if (rc == SPD_OK) {
    rc = write_all(w, v, scratch);
    if (rc == SPD_OK)
      rc = spdi_ckpt_commit(w);
    else
      spdi_ckpt_abort(w);
  }
  spdi_free(scratch);
  return rc;
}

/* Options in an order that respects their dependencies (rank and seed
 * before anything marks the VAE as started). */
static int read_options(spdi_ckpt_reader *r, spd_vae *v, uint64_t *steps)
{
  const spdi_ckpt_entry *e = spdi_ckpt_find(r, TAG_VCFG, "options");
  if (e == NULL || e->ndim != 1 || e->dims[0] != SPDI_VAE_NOPT)
    return SPDI_FAIL(SPD_E_FORMAT, "options missing or misshapen");
  double opt[SPDI_VAE_NOPT];
  uint64_t seed;
  int rc = spdi_ckpt_read(r, e, SPDI_DT_F64, opt, SPDI_VAE_NOPT);
  if (rc == SPD_OK)
    rc = spdi_ckpt_get_u64(r, TAG_VCFG, "seed", &seed);
  if (rc == SPD_OK)
    rc = spdi_ckpt_get_u64(r, TAG_VCFG, "steps", steps);
  if (rc != SPD_OK)
    return rc;
  for (int k = 1; k < SPDI_VAE_NOPT; k++) {
    if (k == SPD_VAE_SEED)
      continue;
    if (spd_vae_set(v, k, opt[k]) != SPD_OK)
      return SPDI_FAIL(SPD_E_FORMAT, "option %d has a bad value", k);
  }
  rc = spdi_vae_reseed(v, seed);
  v->opt[SPD_VAE_SEED] = opt[SPD_VAE_SEED];
  return rc;
}

static int read_all(spdi_ckpt_reader *r, spd_vae *v)
{
  uint64_t steps;
  int rc = spdi_params_read(r, TAG_EPAR, v->enc);
  if (rc == SPD_OK)
    rc = read_options(r, v, &steps);
  if (rc == SPD_OK && v->opt[SPD_VAE_LEARN_SPREAD_RANK] > 0 && steps > 0) {
    size_t np = 1 + v->gen->cfg.x_dim * (size_t)v->opt[SPD_VAE_LEARN_SPREAD_RANK];
    const spdi_ckpt_entry *e = spdi_ckpt_find(r, TAG_SPRD, "spread.params");
    if (e == NULL || e->ndim != 1 || e->dims[0] != np) /* before allocating */
      return SPDI_FAIL(SPD_E_FORMAT, "spread parameters missing or misshapen");
    float *buf = spdi_malloc(np * sizeof *buf);
    if (buf == NULL)
      return SPDI_FAIL(SPD_E_NOMEM, "out of memory");
    rc = spdi_ckpt_get_f32(r, TAG_SPRD, "spread.params", 1, &np, buf);
    if (rc == SPD_OK && !spdi_all_finite(buf, np))
      rc = SPDI_FAIL(SPD_E_FORMAT, "spread parameters hold NaN or Inf");
    if (rc == SPD_OK)
      rc = spdi_vae_make_learned_spread(v, buf);
    spdi_free(buf);
  }
  size_t n = largest(v->gen->params);
  if (largest(v->enc) > n)
    n = largest(v->enc);
  if (v->sp != NULL && largest(v->sp) > n)
    n = largest(v->sp);
  float *scratch = rc == SPD_OK ? spdi_malloc(n * sizeof *scratch) : NULL;
  if (rc == SPD_OK && scratch == NULL)
    rc = SPDI_FAIL(SPD_E_NOMEM, "out of memory");
  if (rc == SPD_OK)
    rc = optim_read(r, TAG_OPTG, v->opt_gen, v->gen->params, scratch);
  if (rc == SPD_OK)
    rc = optim_read(r, TAG_OPTE, v->opt_enc, v->enc, scratch);
  if (rc == SPD_OK && v->sp != NULL)
    rc = optim_read(r, TAG_OPTS, v->opt_sp, v->sp, scratch);
  spdi_free(scratch);
  if (rc == SPD_OK)
    rc = rng_read(r, "noise", v->rng_noise);
  if (rc == SPD_OK)
    rc = rng_read(r, "xi", v->rng_xi);
  if (rc == SPD_OK)
    rc = rng_read(r, "eval", v->rng_eval);
  if (rc == SPD_OK) {
    v->steps = steps;
    rc = spd_spread_set_scale(v->spread, spdi_vae_sigma_at(v, steps));
  }
  return rc;
}

int spd_vae_load(const char *path, spd_vae **out)
{
  if (path == NULL || out == NULL)
    return SPDI_FAIL(SPD_E_INVALID, "NULL argument");
  spdi_ckpt_reader *r;
  int rc = spdi_ckpt_open(path, TAG_SVAE, &r);
  if (rc != SPD_OK)
    return rc;
  spd_generator *g = NULL;
  spd_vae *v = NULL;
  rc = spdi_generator_read(r, path, &g);
  if (rc == SPD_OK) {
    rc = spdi_vae_build(g, 0, &v);
    if (rc != SPD_OK)
      spd_generator_free(g);
  }
  if (rc == SPD_OK) {
    rc = read_all(r, v);
    if (rc != SPD_OK)
      spd_vae_free(v);
  }
  spdi_ckpt_close(r);
  if (rc == SPD_OK)
    *out = v;
  return rc;
}
