/* The command line of spread-vae: every flag, its default and its checks.
 * Strings in the config point into argv. */
#ifndef VAE_CLI_H
#define VAE_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum { VAE_DATA_FASHION_MNIST = 0, VAE_DATA_CELEBA = 1 } vae_dataset;

#define VAE_FASHION_MNIST_DIR "/usr/share/datasets/fashion-mnist"

typedef struct {
  vae_dataset data;          /* --data: fashion-mnist */
  const char *data_dir;      /* --data-dir: VAE_FASHION_MNIST_DIR for
                                fashion-mnist; CelebA needs one */
  size_t image_size;         /* --image-size: 0 = the data set's own (28
                                Fashion-MNIST, 64 CelebA) */
  size_t width;              /* --width: widest channel count (64) */
  size_t z_dim;              /* --z-dim (16) */
  size_t batch;              /* --batch (100) */
  uint64_t epochs;           /* --epochs (3) */
  uint64_t steps;            /* --steps: 0 = no step limit (default) */
  double lr;                 /* --lr: Adam step size (1e-3) */
  double sigma;              /* --sigma: spread (0.5) */
  int anneal;                /* --anneal FACTOR,PERIOD,FLOOR given: sigma is */
  double anneal_factor;      /*   multiplied by FACTOR every PERIOD steps, */
  uint64_t anneal_period;    /*   never below FLOOR (off by default) */
  double anneal_floor;
  int learn_spread;          /* --learn-spread */
  int no_spread;             /* --no-spread: the failing baseline */
  int threads;               /* --threads: default the online cores */
  uint64_t seed;             /* --seed (1) */
  const char *out_dir;       /* --out (out/spread-vae) */
  uint64_t checkpoint_every; /* --checkpoint-every steps (1000; 0: only at the
                                end and on SIGINT) */
  uint64_t sample_every;     /* --sample-every steps (200; 0: only at the end) */
  uint64_t log_every;        /* --log-every steps: loss.csv rows (10) */
  const char *resume;        /* --resume FILE */
  const char *sample;        /* --sample FILE: sample grid only */
  size_t max_images;         /* --max-images: first N training images; 0 all */
  size_t held_out;           /* --held-out: CelebA seeded split size; 0: 1% */
  const char *cache;         /* --cache FILE (CelebA; NULL: default place) */
  int no_cache;              /* --no-cache */
  int quiet;                 /* --quiet: no progress lines */
} vae_config;

enum { VAE_CLI_RUN = 0, VAE_CLI_HELP = 1, VAE_CLI_USAGE = 2 };

/* The defaults above. */
void vae_config_defaults(vae_config *cfg);

/* Parse argv into *cfg (defaults first). Returns VAE_CLI_RUN, VAE_CLI_HELP
 * (--help seen: print vae_cli_usage, exit 0), or VAE_CLI_USAGE with a
 * one-line message in err (print it, exit 2). Uses getopt_long, so it is
 * not reentrant. */
int vae_cli_parse(int argc, char **argv, vae_config *cfg, char *err, size_t errlen);

/* The --help text. */
void vae_cli_usage(FILE *f);

/* The data set's name as --data spells it. */
const char *vae_dataset_name(vae_dataset d);

/* The image side the run uses (--image-size, or the data set's own). */
size_t vae_config_image_size(const vae_config *cfg);

/* One line of the settings that shape a run, for the log. */
void vae_config_print(const vae_config *cfg, FILE *f);

#endif /* VAE_CLI_H */
