/* Training and sampling. They need the generator / spread VAE API of
 * issue 5, which is not in the library yet, so for now both say so and
 * fail. When it lands, vae_train is this loop, with the helpers already
 * here:
 *
 *   - create the spread VAE from cfg (width, z_dim, sigma, learn_spread,
 *     no_spread, lr, seed), or load cfg->resume;
 *   - vae_shuffler_create / vae_shuffler_seek(step) for the batch order,
 *     vae_images_gather for each batch of floats;
 *   - after each step: the anneal schedule on sigma, vae_losslog_append
 *     every log_every steps, vae_progress_update, a sample grid from the
 *     fixed latent batch (stream VAE_STREAM_LATENT) every sample_every
 *     steps (vae_write_grid to samples-<step>.png and samples.png), a
 *     checkpoint every checkpoint_every steps and when vae_interrupted();
 *   - at the end: reconstructions of the first held-out images
 *     (vae_write_recon_grid), vae_losslog_plot to loss.png, a checkpoint,
 *     and the summary line on stdout. */
#include "train.h"

int vae_train(const vae_run *run)
{
  fputs("spread-vae: training needs the spread VAE API (issue 5), not available "
        "in this build\n", run->log);
  return 1;
}

int vae_sample(const vae_config *cfg, const char *out_dir, FILE *log)
{
  (void)cfg;
  (void)out_dir;
  fputs("spread-vae: sampling from a checkpoint needs the spread VAE API (issue 5), "
        "not available in this build\n", log);
  return 1;
}
