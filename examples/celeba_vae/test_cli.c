/* vaeapp tests: the command line, as a table of good and bad argument
 * lists, the values they set, and a --help that names every option. */
#include "test_vaeapp.h"

#include "cli.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parse "spread-vae" + args (NULL-terminated). */
static int parse(const char *const *args, vae_config *cfg, char *err, size_t errlen)
{
  char *argv[32];
  int argc = 0;
  argv[argc++] = (char *)"spread-vae";
  for (; *args; args++)
    argv[argc++] = (char *)*args;
  argv[argc] = NULL;
  err[0] = '\0';
  return vae_cli_parse(argc, argv, cfg, err, errlen);
}

typedef struct {
  const char *args[10];
  int rc;
  const char *mention; /* expected in the message of a usage error */
} cli_case;

static const cli_case cases[] = {
  {{NULL}, VAE_CLI_RUN, NULL},
  {{"--help"}, VAE_CLI_HELP, NULL},
  {{"-h"}, VAE_CLI_HELP, NULL},
  {{"--batch", "0", "--help"}, VAE_CLI_USAGE, "--batch"}, /* in order */
  {{"--data", "celeba", "--data-dir", "d"}, VAE_CLI_RUN, NULL},
  {{"--data=celeba", "--data-dir=d", "--image-size=32"}, VAE_CLI_RUN, NULL},
  {{"--data", "celeba"}, VAE_CLI_USAGE, "--data-dir"},
  {{"--data", "mnist"}, VAE_CLI_USAGE, "fashion-mnist or celeba"},
  {{"--data-dir", ""}, VAE_CLI_USAGE, "--data-dir needs a directory"},
  {{"--batch", "abc"}, VAE_CLI_USAGE, "--batch needs a whole number in 1..100000, got 'abc'"},
  {{"--batch", "0"}, VAE_CLI_USAGE, "--batch"},
  {{"--batch", "-5"}, VAE_CLI_USAGE, "'-5'"},
  {{"--batch", "+5"}, VAE_CLI_USAGE, "'+5'"},
  {{"--batch", "1e3"}, VAE_CLI_USAGE, "'1e3'"},
  {{"--batch", "10x"}, VAE_CLI_USAGE, "'10x'"},
  {{"--batch", "100001"}, VAE_CLI_USAGE, "1..100000"},
  {{"--steps", "99999999999999999999999"}, VAE_CLI_USAGE, "--steps"},
  {{"--steps", "3", "--epochs", "2"}, VAE_CLI_RUN, NULL},
  {{"--epochs", "0"}, VAE_CLI_USAGE, "--epochs"},
  {{"--image-size", "7"}, VAE_CLI_USAGE, "8..256"},
  {{"--image-size", "256"}, VAE_CLI_USAGE, "28, 32 or 64"},
  {{"--image-size", "64"}, VAE_CLI_RUN, NULL},
  {{"--image-size", "32", "--width", "12"}, VAE_CLI_USAGE, "multiple of 8"},
  {{"--data", "celeba", "--data-dir", "d", "--width", "8"}, VAE_CLI_USAGE, "multiple of 16"},
  {{"--width", "0"}, VAE_CLI_USAGE, "--width"},
  {{"--z-dim", "4097"}, VAE_CLI_USAGE, "--z-dim"},
  {{"--lr", "0"}, VAE_CLI_USAGE, "--lr needs a number above 0"},
  {{"--lr", "nan"}, VAE_CLI_USAGE, "--lr"},
  {{"--lr", "inf"}, VAE_CLI_USAGE, "--lr"},
  {{"--lr", "1e-4"}, VAE_CLI_RUN, NULL},
  {{"--lr", ""}, VAE_CLI_USAGE, "--lr"},
  {{"--sigma", "-1"}, VAE_CLI_USAGE, "--sigma"},
  {{"--sigma", "0.5x"}, VAE_CLI_USAGE, "'0.5x'"},
  {{"--anneal", "0.9,1000,0.1"}, VAE_CLI_RUN, NULL},
  {{"--anneal", "0.9,1000"}, VAE_CLI_USAGE, "FACTOR,PERIOD,FLOOR"},
  {{"--anneal", "0.9,1000,0.1,3"}, VAE_CLI_USAGE, "FACTOR,PERIOD,FLOOR"},
  {{"--anneal", ""}, VAE_CLI_USAGE, "FACTOR,PERIOD,FLOOR"},
  {{"--anneal", "1.5,10,0.1"}, VAE_CLI_USAGE, "--anneal FACTOR"},
  {{"--anneal", "1,10,0.1"}, VAE_CLI_USAGE, "below 1"},
  {{"--anneal", "0.9,0,0.1"}, VAE_CLI_USAGE, "--anneal PERIOD"},
  {{"--anneal", "0.9,10,x"}, VAE_CLI_USAGE, "--anneal FLOOR"},
  {{"--anneal", "0.9,10,0.8"}, VAE_CLI_USAGE, "above --sigma"},
  {{"--anneal", "0.9,10,0.8", "--sigma", "1"}, VAE_CLI_RUN, NULL},
  {{"--no-spread"}, VAE_CLI_RUN, NULL},
  {{"--learn-spread"}, VAE_CLI_RUN, NULL},
  {{"--no-spread", "--learn-spread"}, VAE_CLI_USAGE, "exclude each other"},
  {{"--no-spread", "--anneal", "0.9,10,0.1"}, VAE_CLI_USAGE, "--no-spread"},
  {{"--threads", "0"}, VAE_CLI_USAGE, "--threads"},
  {{"--threads", "2"}, VAE_CLI_RUN, NULL},
  {{"--seed", "18446744073709551615"}, VAE_CLI_RUN, NULL},
  {{"--seed", "18446744073709551616"}, VAE_CLI_USAGE, "--seed"},
  {{"--out", "x", "--checkpoint-every", "0", "--sample-every", "0"}, VAE_CLI_RUN, NULL},
  {{"--log-every", "0"}, VAE_CLI_USAGE, "--log-every"},
  {{"--resume", "c.ckpt"}, VAE_CLI_RUN, NULL},
  {{"--sample", "c.ckpt"}, VAE_CLI_RUN, NULL},
  {{"--sample", "c.ckpt", "--data", "celeba"}, VAE_CLI_RUN, NULL}, /* no data needed */
  {{"--sample"}, VAE_CLI_USAGE, "'--sample' needs a value"},
  {{"--sample", ""}, VAE_CLI_USAGE, "--sample needs a checkpoint file"},
  {{"--sample", "a", "--resume", "b"}, VAE_CLI_USAGE, "exclude each other"},
  {{"--max-images", "10"}, VAE_CLI_RUN, NULL},
  {{"--held-out", "5"}, VAE_CLI_USAGE, "celeba only"},
  {{"--data", "celeba", "--data-dir", "d", "--held-out", "5", "--no-cache"}, VAE_CLI_RUN, NULL},
  {{"--data", "celeba", "--data-dir", "d", "--cache", "c", "--no-cache"}, VAE_CLI_USAGE, "exclude"},
  {{"--frobnicate"}, VAE_CLI_USAGE, "unknown or ambiguous option '--frobnicate'"},
  {{"-x"}, VAE_CLI_USAGE, "unknown option '-x'"},
  {{"--quiet=3"}, VAE_CLI_USAGE, "'--quiet=3'"},
  {{"--s", "1"}, VAE_CLI_USAGE, "ambiguous"}, /* --seed, --sigma, --steps, ... */
  {{"stray"}, VAE_CLI_USAGE, "unexpected argument 'stray'"},
  {{"--batch"}, VAE_CLI_USAGE, "'--batch' needs a value"},
};

START_TEST(cli_table)
{
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    vae_config cfg;
    char err[512];
    int rc = parse(cases[i].args, &cfg, err, sizeof err);
    ck_assert_msg(rc == cases[i].rc, "case %zu (%s ...): rc %d, expected %d (%s)", i,
                  cases[i].args[0] ? cases[i].args[0] : "", rc, cases[i].rc, err);
    if (cases[i].mention)
      ck_assert_msg(strstr(err, cases[i].mention), "case %zu: '%s' lacks '%s'", i, err,
                    cases[i].mention);
  }
}
END_TEST

START_TEST(cli_values)
{
  vae_config cfg;
  char err[512];
  ck_assert_int_eq(parse((const char *[]){NULL}, &cfg, err, sizeof err), VAE_CLI_RUN);
  ck_assert(cfg.data == VAE_DATA_FASHION_MNIST && cfg.data_dir == NULL);
  ck_assert(vae_config_image_size(&cfg) == 28 && cfg.width == 32 && cfg.z_dim == 16);
  ck_assert(cfg.batch == 100 && cfg.epochs == 3 && cfg.steps == 0);
  ck_assert(cfg.lr == 1e-3 && cfg.sigma == 0.5 && !cfg.anneal && !cfg.learn_spread);
  ck_assert(!cfg.no_spread && cfg.threads >= 1 && cfg.seed == 1);
  ck_assert_str_eq(cfg.out_dir, "out/spread-vae");
  ck_assert(cfg.checkpoint_every == 1000 && cfg.sample_every == 200 && cfg.log_every == 10);
  ck_assert(!cfg.resume && !cfg.sample && !cfg.max_images && !cfg.held_out && !cfg.quiet);

  const char *a[] = {"--data", "celeba", "--data-dir", "/d", "--width", "1024", "--z-dim",
                     "100", "--batch", "100", "--lr", "1e-4", "--sigma", "0.5", "--anneal",
                     "0.9,500,0.1", "--learn-spread", "--threads", "2", "--seed", "7",
                     "--out", "o", "--steps", "3", "--epochs", "20", "--cache", "/c",
                     "--quiet", NULL};
  ck_assert_int_eq(parse(a, &cfg, err, sizeof err), VAE_CLI_RUN);
  ck_assert(cfg.data == VAE_DATA_CELEBA && !strcmp(cfg.data_dir, "/d"));
  ck_assert(vae_config_image_size(&cfg) == 64 && cfg.width == 1024 && cfg.z_dim == 100);
  ck_assert(cfg.lr == 1e-4 && cfg.anneal && cfg.anneal_factor == 0.9);
  ck_assert(cfg.anneal_period == 500 && cfg.anneal_floor == 0.1 && cfg.learn_spread);
  ck_assert(cfg.threads == 2 && cfg.seed == 7 && !strcmp(cfg.out_dir, "o"));
  ck_assert(cfg.steps == 3 && cfg.epochs == 20 && !strcmp(cfg.cache, "/c") && cfg.quiet);
  const char *b[] = {"--seed", "18446744073709551615", "--image-size", "32", NULL};
  ck_assert_int_eq(parse(b, &cfg, err, sizeof err), VAE_CLI_RUN);
  ck_assert(cfg.seed == UINT64_MAX && vae_config_image_size(&cfg) == 32);

  /* The settings line names what matters. */
  char *line = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&line, &len);
  ck_assert_int_eq(parse(a, &cfg, err, sizeof err), VAE_CLI_RUN);
  vae_config_print(&cfg, f);
  fclose(f);
  vt_assert_mentions(line, "celeba", "64 x 64", "width 1024", "z 100", "lr 0.0001",
                     "sigma 0.5 (learned)", "x0.9 every 500 steps to 0.1", "seed 7",
                     "2 threads", NULL);
  free(line);
}
END_TEST

START_TEST(cli_help_names_every_option)
{
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  vae_cli_usage(f);
  fclose(f);
  static const char *const names[] = {
    "--data ", "--data-dir", "--image-size", "--width", "--z-dim", "--batch", "--epochs",
    "--steps", "--lr", "--sigma", "--anneal", "--learn-spread", "--no-spread",
    "--threads", "--seed", "--out", "--checkpoint-every", "--sample-every",
    "--log-every", "--resume", "--sample ", "--max-images", "--held-out", "--cache",
    "--no-cache", "--quiet", "--help", "Exit status",
  };
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    ck_assert_msg(strstr(text, names[i]), "--help lacks %s", names[i]);
  free(text);
}
END_TEST

void vt_add_cli_tests(Suite *s)
{
  SPDT_ADD(s, cli_table, 10);
  SPDT_ADD(s, cli_values, 10);
  SPDT_ADD(s, cli_help_names_every_option, 10);
}
