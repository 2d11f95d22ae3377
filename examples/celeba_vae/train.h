/* The training loop's entry points (train.c): training with the library's
 * spread VAE, and --sample. main prepares the data, the output directory,
 * the progress line and the Ctrl-C handler. */
#ifndef VAE_TRAIN_H
#define VAE_TRAIN_H

#include "cli.h"
#include "dataset.h"
#include "progress.h"

#include <stdio.h>

typedef struct {
  const vae_config *cfg;   /* the command line */
  const vae_data *data;    /* training and held-out images (bytes) */
  const char *out_dir;     /* exists and is writable */
  vae_progress *progress;  /* the stderr progress line; NULL with --quiet */
  FILE *log;               /* notes and warnings (stderr) */
} vae_run;

/* Train (resuming from cfg->resume when set) and write the outputs listed
 * in output.h. Returns the program's exit status: 0 done, 1 run-time
 * error, 128 + the signal (130 for Ctrl-C, 143 for SIGTERM) after a signal
 * that stopped training with a checkpoint saved. */
int vae_train(const vae_run *run);

/* --sample FILE: load the checkpoint and write a sample grid to out_dir.
 * Returns the exit status. */
int vae_sample(const vae_config *cfg, const char *out_dir, FILE *log);

#endif /* VAE_TRAIN_H */
