/* Spread VAE: the objective of MATH.md section 5, the training step,
 * evaluation and reconstruction. */
#include "spread_internal.h"
#include "tape_impl.h"
#include "vae_internal.h"

#include <math.h>
#include <string.h>

/* A work buffer of at least n floats (grown, never shrunk). */
static float *grow(float **buf, size_t *cap, size_t n)
{
  if (n > *cap) {
    float *b = spdi_malloc(n * sizeof *b);
    if (b == NULL) {
      SPDI_FAIL(SPD_E_NOMEM, "out of memory for %zu values", n);
      return NULL;
    }
    spdi_free(*buf);
    *buf = b;
    *cap = n;
  }
  return *buf;
}

static float *xi_buffer(spd_vae *v, size_t n)
{
  return grow(&v->xi, &v->xi_cap, n);
}

static float *noise_buffer(spd_vae *v, size_t n)
{
  return grow(&v->eps, &v->eps_cap, n);
}

/* The data as a leaf: n x x_dim, or NCHW images for a conv generator. */
static spd_tensor *data_leaf(spd_vae *v, const float *x, size_t n)
{
  const spdi_gen_config *c = &v->gen->cfg;
  if (v->conv) {
    size_t shape[4] = {n, c->channels, c->image_size, c->image_size};
    return spd_leaf(v->tape, 4, shape, x, 0);
  }
  size_t shape[2] = {n, c->x_dim};
  return spd_leaf(v->tape, 2, shape, x, 0);
}

/* Encoder: mean and log sd of q(z | input). */
static void encode(spd_vae *v, spd_tensor *in, int training, spd_tensor **m, spd_tensor **ls)
{
  spd_tape *t = v->tape;
  spd_tensor *h = v->conv ? spdi_nn_conv_encoder(t, v->enc, &v->cenc, in, training,
                                                 (float)v->opt[SPD_VAE_BN_MOMENTUM])
                          : spdi_nn_mlp(t, v->enc, &v->menc, in);
  *m = spdi_nn_dense(t, v->enc, &v->head_mean, h);
  *ls = spdi_nn_dense(t, v->enc, &v->head_logsd, h);
}

typedef struct {
  spd_tensor *loss, *ll, *lq, *lp;
} graph;

/* Work buffers of the learned-spread likelihood for n rows. */
static int lk_buffers(spd_vae *v, size_t n)
{
  const size_t work = spdi_spread_density_work(v->spread, n);
  if (work == 0)
    return SPDI_FAIL(SPD_E_OVERFLOW, "density work space for %zu rows overflows", n);
  if (work > v->lk_work_cap) { /* grown with the rows (the spread's shape is fixed) */
    double *w = spdi_malloc(work * sizeof *w);
    if (w == NULL)
      return SPDI_FAIL(SPD_E_NOMEM, "out of memory");
    spdi_free(v->lk_work);
    v->lk_work = w;
    v->lk_work_cap = work;
  }
  if (n <= v->lk_cap)
    return SPD_OK;
  size_t d = v->gen->cfg.x_dim, np = spd_spread_num_params(v->spread);
  spdi_free(v->lk_gx);
  spdi_free(v->lk_gy);
  spdi_free(v->lk_gp);
  spdi_free(v->lk_val);
  spdi_free(v->lk_logp);
  v->lk_gx = spdi_malloc(n * d * sizeof(float));
  v->lk_gy = spdi_malloc(n * d * sizeof(float));
  v->lk_gp = spdi_malloc(np * sizeof(float));
  v->lk_val = spdi_malloc(n * sizeof(float));
  v->lk_logp = spdi_malloc(n * sizeof(double));
  v->lk_cap = n;
  if (!v->lk_gx || !v->lk_gy || !v->lk_gp || !v->lk_val || !v->lk_logp) {
    v->lk_cap = 0;
    return SPDI_FAIL(SPD_E_NOMEM, "out of memory");
  }
  return SPD_OK;
}

/* sum_j (a - a0)_ij g_ij per row: value exactly 0, gradient g to a. */
static spd_tensor *linear_term(spd_tape *t, spd_tensor *a, const float *g, size_t n, size_t d)
{
  size_t flat[2] = {n, d};
  spd_tensor *a2 = spd_reshape(t, a, 2, flat);
  if (a2 == NULL)
    return NULL;
  spd_tensor *delta = spd_sub(t, a2, spd_leaf(t, 2, flat, spd_tensor_data(a2), 0));
  return spd_sum_axis(t, spd_mul(t, delta, spd_leaf(t, 2, flat, g, 0)), 1);
}

/* log K(t | xhat) for the learned low-rank spread, per row. The density and
 * its gradients come from spd_spread_log_density_grad(); on the tape it is
 * the constant log K plus terms whose value is exactly zero and whose
 * gradients are those of log K with respect to xhat and t. The gradient
 * with respect to the spread's parameters is kept in lk_gp (of sum_i) and
 * added to the store by the step. */
static spd_tensor *learned_likelihood(spd_vae *v, spd_tensor *target, spd_tensor *xhat,
                                      size_t n, int with_grad, int target_grad)
{
  spd_tape *t = v->tape;
  size_t d = v->gen->cfg.x_dim;
  if (spd_tape_status(t) != SPD_OK)
    return NULL;
  int rc = lk_buffers(v, n);
  if (rc == SPD_OK)
    rc = spdi_spread_density("spd_spread_log_density_grad", v->spread,
                             spd_tensor_data(target), spd_tensor_data(xhat), n, v->lk_logp,
                             with_grad ? v->lk_gy : NULL, with_grad ? v->lk_gx : NULL,
                             with_grad ? v->lk_gp : NULL, v->lk_work);
  if (rc != SPD_OK) {
    spdi_tape_fail(t, rc, "spd_vae: spread likelihood: %s", spd_last_error());
    return NULL;
  }
  for (size_t i = 0; i < n; i++)
    v->lk_val[i] = (float)v->lk_logp[i];
  spd_tensor *ll = spd_leaf(t, 1, &n, v->lk_val, 0);
  if (!with_grad)
    return ll;
  ll = spd_add(t, ll, linear_term(t, xhat, v->lk_gx, n, d));
  if (target_grad)
    ll = spd_add(t, ll, linear_term(t, target, v->lk_gy, n, d));
  return ll;
}

/* Record the loss of one batch on v->tape. training: batch-norm mode and
 * whether the learned spread's parameters get a gradient. */
static int build(spd_vae *v, const float *x, size_t n, int training, spd_rng *noise_rng,
                 spd_rng *xi_rng, double sigma, graph *gr)
{
  spd_tape *t = v->tape;
  size_t z_dim = v->gen->cfg.z_dim, nz = n * z_dim;
  float *xi = xi_buffer(v, nz);
  if (xi == NULL)
    return SPD_E_NOMEM;
  spd_tensor *xl = data_leaf(v, x, n);
  spd_tensor *y = xl;
  int spread = v->opt[SPD_VAE_SPREAD] != 0;
  if (spread) {
    if (v->sp != NULL && training) {
      y = spd_spread_noise_learn(t, xl, v->spread, spd_param(t, v->sp, 0), noise_rng);
    } else if (v->sp != NULL) {
      y = spd_spread_noise(t, xl, v->spread, noise_rng);
    } else {
      /* Isotropic: y = x + sigma eps, eps drawn as spd_spread_draw_noise()
       * draws it, into the handle's buffer (no allocation once warm). */
      float *eps = noise_buffer(v, n * v->gen->cfg.x_dim);
      if (eps == NULL)
        return SPD_E_NOMEM;
      int rc = spd_rng_normal(noise_rng, eps, n * v->gen->cfg.x_dim);
      if (rc != SPD_OK)
        return rc;
      y = spd_add(t, xl, spd_scale(t, data_leaf(v, eps, n), (float)sigma));
    }
  }
  spd_tensor *m, *ls;
  encode(v, y, training, &m, &ls);
  int rc = spd_rng_normal(xi_rng, xi, nz);
  if (rc != SPD_OK)
    return rc;
  size_t zshape[2] = {n, z_dim};
  spd_tensor *z = spd_add(t, m, spd_mul(t, spd_exp(t, ls), spd_leaf(t, 2, zshape, xi, 0)));
  spd_tensor *xhat = spd_generator_forward(t, v->gen, z, training);
  spd_tensor *target = spread && v->opt[SPD_VAE_LOW_VARIANCE] == 0 ? y : xl;
  spd_tensor *zero = spdi_nn_const(t, 0.0f);
  gr->lq = spd_gaussian_log_density(t, z, m, ls);
  gr->lp = spd_gaussian_log_density(t, z, zero, zero);
  if (v->sp != NULL)
    gr->ll = learned_likelihood(v, target, xhat, n, training, training && target == y);
  else
    gr->ll = spd_gaussian_log_density(t, target, xhat, spdi_nn_const(t, (float)log(sigma)));
  gr->loss = spd_mean(t, spd_sub(t, spd_sub(t, gr->lq, gr->lp), gr->ll));
  rc = spd_tape_status(t);
  if (rc != SPD_OK)
    return spdi_set_error(rc, "spd_vae", "%s", spd_tape_error(t));
  return SPD_OK;
}

/* Mean of the reconstruction and KL parts, in double, in row order. */
static void parts(const graph *gr, size_t n, double *recon, double *kl)
{
  const float *ll = spd_tensor_data(gr->ll), *lq = spd_tensor_data(gr->lq),
              *lp = spd_tensor_data(gr->lp);
  double r = 0, k = 0;
  for (size_t i = 0; i < n; i++) {
    r -= ll[i];
    k += (double)lq[i] - lp[i];
  }
  *recon = r / (double)n;
  *kl = k / (double)n;
}

static int check_batch(spd_vae *v, const float *x, size_t n, int need_two)
{
  if (v == NULL || x == NULL)
    return SPDI_FAIL(SPD_E_INVALID, "NULL argument");
  if (n == 0)
    return SPDI_FAIL(SPD_E_INVALID, "n is 0");
  size_t nx, nz;
  if (!spdi_size_mul(n, v->gen->cfg.x_dim, &nx) || !spdi_size_mul(n, v->gen->cfg.z_dim, &nz) ||
      nx > SIZE_MAX / sizeof(float) / 4 || nz > SIZE_MAX / sizeof(float) / 4)
    return SPDI_FAIL(SPD_E_OVERFLOW, "n %zu rows overflow", n);
  if (!spdi_all_finite(x, nx))
    return SPDI_FAIL(SPD_E_DOMAIN, "x holds NaN or Inf");
  if (need_two && n < 2 && (v->conv || spdi_generator_has_bn(v->gen)))
    return SPDI_FAIL(SPD_E_SHAPE, "batch norm needs at least 2 rows, got %zu", n);
  return SPD_OK;
}

static int grads_finite(spd_params *p)
{
  for (size_t i = 0; p != NULL && i < spd_params_count(p); i++) {
    const float *g = spd_params_grad(p, i);
    if (g != NULL && !spdi_all_finite(g, spd_params_size(p, i)))
      return 0;
  }
  return 1;
}

/* The spread's max step: Adam on -loss for L (sigma follows the schedule),
 * then L rescaled to its fixed Frobenius norm. */
static int spread_step(spd_vae *v)
{
  size_t np = spd_params_size(v->sp, 0);
  float *g = spd_params_grad(v->sp, 0);
  g[0] = 0.0f;
  for (size_t i = 1; i < np; i++)
    g[i] = -g[i];
  int rc = spd_optim_step(v->opt_sp);
  if (rc != SPD_OK)
    return rc;
  float *p = spd_params_data(v->sp, 0);
  spdi_vae_renorm_factor(v, p, np);
  return spd_spread_set_params(v->spread, p);
}

/* Put the schedule's sigma into the spread (and its parameter copy). */
static int set_sigma(spd_vae *v, double sigma)
{
  int rc = spd_spread_set_scale(v->spread, sigma);
  if (rc == SPD_OK && v->sp != NULL)
    rc = spd_spread_get_params(v->spread, spd_params_data(v->sp, 0));
  return rc;
}

int spd_vae_step(spd_vae *v, const float *x, size_t n, float *loss)
{
  int rc = check_batch(v, x, n, 1);
  if (rc != SPD_OK)
    return rc;
  if (v->steps == 0 && v->sp == NULL && v->opt[SPD_VAE_LEARN_SPREAD_RANK] > 0) {
    rc = spdi_vae_make_learned_spread(v, NULL);
    if (rc != SPD_OK)
      return rc;
  }
  double sigma = spdi_vae_sigma_at(v, v->steps);
  rc = set_sigma(v, sigma);
  if (rc != SPD_OK)
    return rc;
  spd_params_zero_grad(v->gen->params);
  spd_params_zero_grad(v->enc);
  spd_params_zero_grad(v->sp);
  spd_tape_reset(v->tape);
  graph gr;
  rc = build(v, x, n, 1, v->rng_noise, v->rng_xi, sigma, &gr);
  if (rc == SPD_OK)
    rc = spd_backward(v->tape, gr.loss);
  if (rc != SPD_OK) {
    spd_tape_reset(v->tape);
    return rc;
  }
  if (v->sp != NULL) { /* the density's own dependence on the spread */
    float *g = spd_params_grad(v->sp, 0);
    size_t np = spd_params_size(v->sp, 0);
    for (size_t i = 0; i < np; i++)
      g[i] -= (float)((double)v->lk_gp[i] / (double)n);
  }
  float value = spd_tensor_data(gr.loss)[0];
  if (!isfinite(value) || !grads_finite(v->gen->params) || !grads_finite(v->enc) ||
      !grads_finite(v->sp)) {
    spd_tape_reset(v->tape);
    return SPDI_FAIL(SPD_E_NUMERIC, "non-finite loss or gradient at step %llu",
                     (unsigned long long)v->steps);
  }
  parts(&gr, n, &v->last_recon, &v->last_kl);
  spd_tape_reset(v->tape);
  rc = spd_optim_step(v->opt_gen);
  if (rc == SPD_OK)
    rc = spd_optim_step(v->opt_enc);
  if (rc == SPD_OK && v->sp != NULL &&
      v->steps % (uint64_t)v->opt[SPD_VAE_SPREAD_EVERY] == 0)
    rc = spread_step(v);
  if (rc != SPD_OK)
    return rc;
  v->have_last = 1;
  v->steps++;
  if (loss != NULL)
    *loss = value;
  return SPD_OK;
}

int spd_vae_evaluate(spd_vae *v, const float *x, size_t n, double *loss, double *recon,
                     double *kl)
{
  int rc = check_batch(v, x, n, 0);
  if (rc != SPD_OK)
    return rc;
  double sigma = spdi_vae_sigma_at(v, v->steps);
  rc = set_sigma(v, sigma);
  if (rc != SPD_OK)
    return rc;
  spd_tape_reset(v->tape);
  graph gr;
  rc = build(v, x, n, 0, v->rng_eval, v->rng_eval, sigma, &gr);
  double r = 0, k = 0;
  if (rc == SPD_OK) {
    parts(&gr, n, &r, &k);
    if (!isfinite(r) || !isfinite(k)) /* documented as spd_vae_step() */
      rc = SPDI_FAIL(SPD_E_NUMERIC, "non-finite loss (reconstruction %g, KL %g)", r, k);
  }
  if (rc == SPD_OK) {
    if (loss)
      *loss = r + k;
    if (recon)
      *recon = r;
    if (kl)
      *kl = k;
  }
  spd_tape_reset(v->tape);
  return rc;
}

int spd_vae_reconstruct(spd_vae *v, const float *x, size_t n, float *xhat)
{
  int rc = check_batch(v, x, n, 0);
  if (rc != SPD_OK)
    return rc;
  if (xhat == NULL)
    return SPDI_FAIL(SPD_E_INVALID, "xhat is NULL");
  spd_tape *t = v->tape;
  spd_tape_reset(t);
  spd_tensor *m, *ls;
  encode(v, data_leaf(v, x, n), 0, &m, &ls);
  spd_tensor *out = spd_generator_forward(t, v->gen, m, 0);
  rc = spd_tape_status(t);
  if (rc == SPD_OK)
    memcpy(xhat, spd_tensor_data(out), n * v->gen->cfg.x_dim * sizeof *xhat);
  else
    spdi_set_error(rc, "spd_vae_reconstruct", "%s", spd_tape_error(t));
  spd_tape_reset(t);
  return rc;
}

int spdi_vae_loss(spd_vae *v, const float *x, size_t n, int grad, double *loss)
{
  uint64_t s[2][3];
  int rc = spd_rng_get_state(v->rng_noise, &s[0][0], &s[0][1], &s[0][2]);
  if (rc == SPD_OK)
    rc = spd_rng_get_state(v->rng_xi, &s[1][0], &s[1][1], &s[1][2]);
  if (rc != SPD_OK)
    return rc;
  double sigma = spdi_vae_sigma_at(v, v->steps);
  rc = set_sigma(v, sigma);
  spd_params_zero_grad(v->gen->params);
  spd_params_zero_grad(v->enc);
  spd_params_zero_grad(v->sp);
  spd_tape_reset(v->tape);
  graph gr;
  if (rc == SPD_OK)
    rc = build(v, x, n, 1, v->rng_noise, v->rng_xi, sigma, &gr);
  if (rc == SPD_OK && grad) {
    rc = spd_backward(v->tape, gr.loss);
    if (rc == SPD_OK && v->sp != NULL) {
      float *g = spd_params_grad(v->sp, 0);
      for (size_t i = 0; i < spd_params_size(v->sp, 0); i++)
        g[i] -= (float)((double)v->lk_gp[i] / (double)n);
    }
  }
  if (rc == SPD_OK)
    *loss = spd_tensor_data(gr.loss)[0];
  spd_tape_reset(v->tape);
  int rs = spd_rng_set_state(v->rng_noise, s[0][0], s[0][1], s[0][2]);
  if (rs == SPD_OK)
    rs = spd_rng_set_state(v->rng_xi, s[1][0], s[1][1], s[1][2]);
  return rc != SPD_OK ? rc : rs;
}
