/* spread-vae's command line on getopt_long. */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum {
  O_DATA = 256, O_DATA_DIR, O_IMAGE_SIZE, O_WIDTH, O_Z_DIM, O_BATCH, O_EPOCHS,
  O_STEPS, O_LR, O_SIGMA, O_ANNEAL, O_LEARN_SPREAD, O_NO_SPREAD, O_THREADS,
  O_SEED, O_OUT, O_CHECKPOINT_EVERY, O_SAMPLE_EVERY, O_LOG_EVERY, O_RESUME,
  O_SAMPLE, O_MAX_IMAGES, O_HELD_OUT, O_CACHE, O_NO_CACHE, O_QUIET
};

static const struct option options[] = {
  {"data", required_argument, NULL, O_DATA},
  {"data-dir", required_argument, NULL, O_DATA_DIR},
  {"image-size", required_argument, NULL, O_IMAGE_SIZE},
  {"width", required_argument, NULL, O_WIDTH},
  {"z-dim", required_argument, NULL, O_Z_DIM},
  {"batch", required_argument, NULL, O_BATCH},
  {"epochs", required_argument, NULL, O_EPOCHS},
  {"steps", required_argument, NULL, O_STEPS},
  {"lr", required_argument, NULL, O_LR},
  {"sigma", required_argument, NULL, O_SIGMA},
  {"anneal", required_argument, NULL, O_ANNEAL},
  {"learn-spread", no_argument, NULL, O_LEARN_SPREAD},
  {"no-spread", no_argument, NULL, O_NO_SPREAD},
  {"threads", required_argument, NULL, O_THREADS},
  {"seed", required_argument, NULL, O_SEED},
  {"out", required_argument, NULL, O_OUT},
  {"checkpoint-every", required_argument, NULL, O_CHECKPOINT_EVERY},
  {"sample-every", required_argument, NULL, O_SAMPLE_EVERY},
  {"log-every", required_argument, NULL, O_LOG_EVERY},
  {"resume", required_argument, NULL, O_RESUME},
  {"sample", required_argument, NULL, O_SAMPLE},
  {"max-images", required_argument, NULL, O_MAX_IMAGES},
  {"held-out", required_argument, NULL, O_HELD_OUT},
  {"cache", required_argument, NULL, O_CACHE},
  {"no-cache", no_argument, NULL, O_NO_CACHE},
  {"quiet", no_argument, NULL, O_QUIET},
  {"help", no_argument, NULL, 'h'},
  {NULL, 0, NULL, 0},
};

void vae_cli_usage(FILE *f)
{
  fputs(
    "usage: spread-vae [options]\n"
    "\n"
    "Train a deterministic-output convolutional generator with the spread VAE\n"
    "(MATH.md section 5) on Fashion-MNIST or CelebA, writing sample grids,\n"
    "reconstructions, loss.csv, a loss curve and checkpoints to --out.\n"
    "\n"
    "Data:\n"
    "  --data NAME            fashion-mnist (default) or celeba\n"
    "  --data-dir DIR         Fashion-MNIST: the directory of the IDX files\n"
    "                         (default " VAE_FASHION_MNIST_DIR ");\n"
    "                         CelebA (needed): img_align_celeba/ or its parent\n"
    "  --image-size N         side of the images: 28, 32 or 64 (default: 28\n"
    "                         for Fashion-MNIST, 64 for CelebA; others resized)\n"
    "  --max-images N         use only the first N training images\n"
    "  --held-out N           CelebA without list_eval_partition.txt: images\n"
    "                         held out by a seeded split (default 1%)\n"
    "  --cache FILE           CelebA: cache of the preprocessed images\n"
    "                         (default DIR/spread-vae-cache-<size>.u8)\n"
    "  --no-cache             CelebA: decode the JPEGs every time\n"
    "Model and training:\n"
    "  --width N              widest channel count of the networks (default 32)\n"
    "  --z-dim N              latent dimension (default 16)\n"
    "  --batch N              images per step (default 100)\n"
    "  --epochs N             passes over the training set (default 3)\n"
    "  --steps N              stop after N steps (default: no limit); training\n"
    "                         ends at whichever of --epochs, --steps comes first\n"
    "  --lr X                 Adam step size (default 1e-3)\n"
    "  --sigma X              spread: Gaussian noise sd on [0, 1] images\n"
    "                         (default 0.5)\n"
    "  --anneal F,P,FLOOR     multiply sigma by F (0 < F < 1) every P steps,\n"
    "                         never below FLOOR (default: no annealing)\n"
    "  --learn-spread         learn the spread too (its own Adam step, max-min)\n"
    "  --no-spread            no spread: the standard VAE with a deterministic\n"
    "                         decoder, the baseline that fails\n"
    "  --seed S               seed of everything random (default 1)\n"
    "  --threads N            threads (default: the online cores); results do\n"
    "                         not depend on it\n"
    "Output:\n"
    "  --out DIR              output directory, created if needed\n"
    "                         (default out/spread-vae)\n"
    "  --sample-every N       sample grid every N steps (default 200; 0: at the\n"
    "                         end only)\n"
    "  --log-every N          a loss.csv row every N steps (default 10)\n"
    "  --checkpoint-every N   checkpoint every N steps (default 1000; 0: at the\n"
    "                         end and on Ctrl-C only)\n"
    "  --resume FILE          continue from a checkpoint\n"
    "  --sample FILE          load a checkpoint, write a sample grid, no training\n"
    "  --quiet                no progress line\n"
    "  --help                 this text\n"
    "\n"
    "Exit status: 0 done, 1 run-time error, 2 bad command line, 130 (143)\n"
    "after Ctrl-C (SIGTERM) stopped training with a checkpoint saved.\n",
    f);
}

void vae_config_defaults(vae_config *cfg)
{
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  *cfg = (vae_config){
    .data = VAE_DATA_FASHION_MNIST, .width = 32, .z_dim = 16, .batch = 100,
    .epochs = 3, .lr = 1e-3, .sigma = 0.5, .threads = cores < 1 ? 1 : cores > 256 ? 256 : (int)cores,
    .seed = 1, .out_dir = "out/spread-vae", .checkpoint_every = 1000,
    .sample_every = 200, .log_every = 10,
  };
}

const char *vae_dataset_name(vae_dataset d)
{
  return d == VAE_DATA_CELEBA ? "celeba" : "fashion-mnist";
}

size_t vae_config_image_size(const vae_config *cfg)
{
  return cfg->image_size ? cfg->image_size : cfg->data == VAE_DATA_CELEBA ? 64 : 28;
}

static int usage_error(char *err, size_t errlen, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
  return VAE_CLI_USAGE;
}

/* A whole number in [lo, hi], digits only. */
static int parse_count(const char *opt, const char *s, uint64_t lo, uint64_t hi,
                       uint64_t *out, char *err, size_t errlen)
{
  char *end = NULL;
  errno = 0;
  unsigned long long v = 0;
  int digits = s[0] >= '0' && s[0] <= '9';
  if (digits)
    v = strtoull(s, &end, 10);
  if (!digits || errno || *end || v < lo || v > hi)
    return usage_error(err, errlen, "--%s needs a whole number in %llu..%llu, got '%s'",
                       opt, (unsigned long long)lo, (unsigned long long)hi, s);
  *out = v;
  return 0;
}

static int parse_size(const char *opt, const char *s, uint64_t lo, uint64_t hi,
                      size_t *out, char *err, size_t errlen)
{
  uint64_t v = 0;
  int rc = parse_count(opt, s, lo, hi, &v, err, errlen);
  if (rc == 0)
    *out = (size_t)v;
  return rc;
}

/* A finite number x with lo < x <= hi. */
static int parse_real(const char *opt, const char *s, double lo, double hi,
                      double *out, char *err, size_t errlen)
{
  char *end = NULL;
  errno = 0;
  double v = *s ? strtod(s, &end) : NAN;
  if (!*s || errno || *end || !isfinite(v) || !(v > lo) || !(v <= hi))
    return usage_error(err, errlen, "--%s needs a number above %g and at most %g, "
                       "got '%s'", opt, lo, hi, s);
  *out = v;
  return 0;
}

static int parse_path(const char *opt, const char *what, const char *s,
                      const char **out, char *err, size_t errlen)
{
  if (!*s)
    return usage_error(err, errlen, "--%s needs a %s, got ''", opt, what);
  *out = s;
  return 0;
}

/* FACTOR,PERIOD,FLOOR */
static int parse_anneal(const char *s, vae_config *cfg, char *err, size_t errlen)
{
  char buf[128], *parts[3];
  if (strlen(s) >= sizeof buf)
    goto bad;
  strcpy(buf, s);
  parts[0] = buf;
  for (int i = 1; i < 3; i++) {
    char *comma = strchr(parts[i - 1], ',');
    if (!comma)
      goto bad;
    *comma = '\0';
    parts[i] = comma + 1;
  }
  if (strchr(parts[2], ','))
    goto bad;
  if (parse_real("anneal FACTOR", parts[0], 0.0, 1.0, &cfg->anneal_factor, err, errlen) ||
      parse_count("anneal PERIOD", parts[1], 1, 1000000000000ull, &cfg->anneal_period, err,
                  errlen) ||
      parse_real("anneal FLOOR", parts[2], 0.0, 10.0, &cfg->anneal_floor, err, errlen))
    return VAE_CLI_USAGE;
  if (cfg->anneal_factor >= 1.0)
    return usage_error(err, errlen, "--anneal FACTOR must be below 1, got '%s'", parts[0]);
  cfg->anneal = 1;
  return 0;
bad:
  return usage_error(err, errlen, "--anneal needs FACTOR,PERIOD,FLOOR (e.g. 0.9,1000,0.1), "
                     "got '%s'", s);
}

static int parse_one(int id, const char *v, vae_config *cfg, char *err, size_t errlen)
{
  const uint64_t BIG = 1000000000000ull; /* 1e12: "no practical limit" */
  uint64_t u = 0;
  int rc;
  switch (id) {
  case O_DATA:
    if (strcmp(v, "fashion-mnist") == 0)
      cfg->data = VAE_DATA_FASHION_MNIST;
    else if (strcmp(v, "celeba") == 0)
      cfg->data = VAE_DATA_CELEBA;
    else
      return usage_error(err, errlen, "--data must be fashion-mnist or celeba, got '%s'", v);
    return 0;
  case O_DATA_DIR:
    return parse_path("data-dir", "directory", v, &cfg->data_dir, err, errlen);
  case O_OUT:
    return parse_path("out", "directory", v, &cfg->out_dir, err, errlen);
  case O_RESUME:
    return parse_path("resume", "checkpoint file", v, &cfg->resume, err, errlen);
  case O_SAMPLE:
    return parse_path("sample", "checkpoint file", v, &cfg->sample, err, errlen);
  case O_CACHE:
    return parse_path("cache", "file", v, &cfg->cache, err, errlen);
  case O_IMAGE_SIZE:
    return parse_size("image-size", v, 8, 256, &cfg->image_size, err, errlen);
  case O_WIDTH:
    return parse_size("width", v, 1, 4096, &cfg->width, err, errlen);
  case O_Z_DIM:
    return parse_size("z-dim", v, 1, 4096, &cfg->z_dim, err, errlen);
  case O_BATCH:
    return parse_size("batch", v, 1, 100000, &cfg->batch, err, errlen);
  case O_EPOCHS:
    return parse_count("epochs", v, 1, 1000000, &cfg->epochs, err, errlen);
  case O_STEPS:
    return parse_count("steps", v, 1, BIG, &cfg->steps, err, errlen);
  case O_LR:
    return parse_real("lr", v, 0.0, 1.0, &cfg->lr, err, errlen);
  case O_SIGMA:
    return parse_real("sigma", v, 0.0, 10.0, &cfg->sigma, err, errlen);
  case O_ANNEAL:
    return parse_anneal(v, cfg, err, errlen);
  case O_LEARN_SPREAD:
    cfg->learn_spread = 1;
    return 0;
  case O_NO_SPREAD:
    cfg->no_spread = 1;
    return 0;
  case O_THREADS:
    if ((rc = parse_count("threads", v, 1, 1024, &u, err, errlen)) == 0)
      cfg->threads = (int)u;
    return rc;
  case O_SEED:
    return parse_count("seed", v, 0, UINT64_MAX, &cfg->seed, err, errlen);
  case O_CHECKPOINT_EVERY:
    return parse_count("checkpoint-every", v, 0, BIG, &cfg->checkpoint_every, err, errlen);
  case O_SAMPLE_EVERY:
    return parse_count("sample-every", v, 0, BIG, &cfg->sample_every, err, errlen);
  case O_LOG_EVERY:
    return parse_count("log-every", v, 1, BIG, &cfg->log_every, err, errlen);
  case O_MAX_IMAGES:
    return parse_size("max-images", v, 1, 1000000000, &cfg->max_images, err, errlen);
  case O_HELD_OUT:
    return parse_size("held-out", v, 1, 1000000000, &cfg->held_out, err, errlen);
  case O_NO_CACHE:
    cfg->no_cache = 1;
    return 0;
  case O_QUIET:
    cfg->quiet = 1;
    return 0;
  }
  return usage_error(err, errlen, "internal error: option %d", id);
}

/* Combinations that make no sense. */
static int check(const vae_config *cfg, char *err, size_t errlen)
{
  if (cfg->no_spread && cfg->learn_spread)
    return usage_error(err, errlen, "--no-spread and --learn-spread exclude each other");
  if (cfg->no_spread && cfg->anneal)
    return usage_error(err, errlen, "--anneal needs a spread; not with --no-spread");
  if (cfg->anneal && cfg->anneal_floor > cfg->sigma)
    return usage_error(err, errlen, "--anneal FLOOR (%g) is above --sigma (%g)",
                       cfg->anneal_floor, cfg->sigma);
  if (cfg->sample && cfg->resume)
    return usage_error(err, errlen, "--sample and --resume exclude each other");
  /* The conv networks halve the image 2 (28), 3 (32) or 4 (64) times, and
   * every stage halves the channels. */
  size_t size = vae_config_image_size(cfg);
  size_t unit = size == 28 ? 4 : size == 32 ? 8 : size == 64 ? 16 : 0;
  if (unit == 0 && !cfg->sample)
    return usage_error(err, errlen, "--image-size must be 28, 32 or 64 (the sizes the "
                       "conv networks take), got %zu", size);
  if (unit && !cfg->sample && (cfg->width < unit || cfg->width % unit != 0))
    return usage_error(err, errlen, "--width must be a multiple of %zu for %zu x %zu "
                       "images, got %zu", unit, size, size, cfg->width);
  if (cfg->data == VAE_DATA_CELEBA && !cfg->data_dir && !cfg->sample)
    return usage_error(err, errlen, "--data celeba needs --data-dir DIR (the directory "
                       "of img_align_celeba/*.jpg, or its parent)");
  if (cfg->data != VAE_DATA_CELEBA && (cfg->held_out || cfg->cache || cfg->no_cache))
    return usage_error(err, errlen, "--held-out, --cache and --no-cache apply to "
                       "--data celeba only");
  if (cfg->cache && cfg->no_cache)
    return usage_error(err, errlen, "--cache and --no-cache exclude each other");
  return 0;
}

int vae_cli_parse(int argc, char **argv, vae_config *cfg, char *err, size_t errlen)
{
  vae_config_defaults(cfg);
  optind = 0; /* glibc: start afresh (the tests parse many times) */
  opterr = 0;
  int id;
  while ((id = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
    const char *arg = argv[optind - 1];
    if (id == 'h')
      return VAE_CLI_HELP;
    if (id == '?') /* optopt: the unknown short option, or 0, or the id of a
                      long one given a value it does not take */
      return optopt > 0 && optopt < 128 && isgraph(optopt)
                 ? usage_error(err, errlen, "unknown option '-%c'", optopt)
                 : usage_error(err, errlen, "unknown or ambiguous option '%s'", arg);
    if (id == ':')
      return usage_error(err, errlen, "option '%s' needs a value", arg);
    int rc = parse_one(id, optarg, cfg, err, errlen);
    if (rc)
      return rc;
  }
  if (optind < argc)
    return usage_error(err, errlen, "unexpected argument '%s'", argv[optind]);
  return check(cfg, err, errlen);
}

void vae_config_print(const vae_config *cfg, FILE *f)
{
  fprintf(f, "spread-vae: data %s, images %zu x %zu; width %zu, z %zu, batch %zu, "
          "epochs %llu", vae_dataset_name(cfg->data), vae_config_image_size(cfg),
          vae_config_image_size(cfg), cfg->width, cfg->z_dim, cfg->batch,
          (unsigned long long)cfg->epochs);
  if (cfg->steps)
    fprintf(f, ", steps %llu", (unsigned long long)cfg->steps);
  fprintf(f, ", lr %g, ", cfg->lr);
  if (cfg->no_spread)
    fprintf(f, "no spread");
  else
    fprintf(f, "sigma %g%s", cfg->sigma, cfg->learn_spread ? " (learned)" : "");
  if (cfg->anneal)
    fprintf(f, " annealed x%g every %llu steps to %g", cfg->anneal_factor,
            (unsigned long long)cfg->anneal_period, cfg->anneal_floor);
  fprintf(f, "; seed %llu, %d thread%s, out %s\n", (unsigned long long)cfg->seed,
          cfg->threads, cfg->threads == 1 ? "" : "s", cfg->out_dir);
}
