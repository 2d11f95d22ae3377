/* spread-vae: train a deterministic-output convolutional generator with the
 * spread VAE (MATH.md section 5) on Fashion-MNIST or CelebA. Run
 * `spread-vae --help`; README.md says what it writes. */
#include "cli.h"
#include "dataset.h"
#include "interrupt.h"
#include "output.h"
#include "progress.h"
#include "train.h"

#include <spreaddiv.h>

#include <stdio.h>

enum { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_USAGE = 2 };

/* The first 100 images of each set, so the input can be looked at. */
static int write_real_grids(const vae_run *run, char *err, size_t errlen)
{
  char path[4200];
  const char *names[2] = {VAE_OUT_REAL_TRAIN, VAE_OUT_REAL_HELD_OUT};
  const vae_images *sets[2] = {&run->data->train, &run->data->held_out};
  for (int i = 0; i < 2; i++) {
    if (vae_out_path(path, sizeof path, run->out_dir, names[i]) != 0) {
      snprintf(err, errlen, "--out %s: path too long", run->out_dir);
      return -1;
    }
    if (vae_write_images_grid(path, sets[i], err, errlen) != 0)
      return -1;
    fprintf(run->log, "spread-vae: wrote %s\n", path);
  }
  return 0;
}

int main(int argc, char **argv)
{
  vae_config cfg;
  char err[8192];
  int rc = vae_cli_parse(argc, argv, &cfg, err, sizeof err);
  if (rc == VAE_CLI_HELP) {
    vae_cli_usage(stdout);
    return EXIT_OK;
  }
  if (rc != VAE_CLI_RUN) {
    fprintf(stderr, "spread-vae: %s\n(see spread-vae --help)\n", err);
    return EXIT_USAGE;
  }
  if (spd_set_num_threads(cfg.threads) != SPD_OK) {
    fprintf(stderr, "spread-vae: %s\n", spd_last_error());
    return EXIT_RUNTIME;
  }
  vae_config_print(&cfg, stderr);
  if (vae_mkdirs(cfg.out_dir, err, sizeof err) != 0) {
    fprintf(stderr, "spread-vae: %s\n", err);
    return EXIT_RUNTIME;
  }
  if (cfg.sample)
    return vae_sample(&cfg, cfg.out_dir, stderr);

  vae_data data;
  if (vae_data_load(&cfg, &data, stderr, err, sizeof err) != 0) {
    fprintf(stderr, "spread-vae: %s\n", err);
    return EXIT_RUNTIME;
  }
  vae_data_print_summary(&data, stderr);
  vae_progress progress;
  vae_progress_init(&progress, stderr, -1, 10.0);
  vae_run run = {&cfg, &data, cfg.out_dir, cfg.quiet ? NULL : &progress, stderr};
  rc = EXIT_RUNTIME;
  if (cfg.batch > data.train.n)
    fprintf(stderr, "spread-vae: --batch %zu is more than the %zu training images\n",
            cfg.batch, data.train.n);
  else if (write_real_grids(&run, err, sizeof err) != 0)
    fprintf(stderr, "spread-vae: %s\n", err);
  else if (vae_interrupt_install() != 0)
    perror("spread-vae: installing the SIGINT handler");
  else
    rc = vae_train(&run);
  vae_data_free(&data);
  return rc;
}
