/* Time spread-VAE training steps of the paper's conv model (MATH.md
 * section 5) on synthetic data.
 *
 * usage: vae-step [--width W] [--batch B] [--image-size S] [--z-dim Z]
 *                 [--channels C] [--threads T] [--steps N] [--warmup K]
 *                 [--seed X]
 *
 * Model: spd_generator_create_conv(Z, C, S, W) (C = 3 by default; 1 and
 * S = 28 is spread-vae's Fashion-MNIST model) and the matching encoder,
 * Adam lr 1e-4, spread sigma 0.5, low-variance target (the paper's CelebA
 * set-up). Data: uniform [0, 1) images, one fixed batch. After K warm-up
 * steps (default 2) N steps (default 10) are timed one by one; prints one
 * line per step and, as its last line, exactly `seconds_per_step <median>`.
 * tests/bench/vae_step_torch.py is the same model and objective in PyTorch. */
#include "bench_time.h"

#include <spreaddiv.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(void)
{
  fprintf(stderr, "usage: vae-step [--width W] [--batch B] [--image-size S] [--z-dim Z] "
                  "[--channels C] [--threads T] [--steps N] [--warmup K] [--seed X]\n");
  exit(2);
}

static int check(int rc, const char *what)
{
  if (rc != SPD_OK) {
    fprintf(stderr, "vae-step: %s: %s (%s)\n", what, spd_strerror(rc), spd_last_error());
    exit(1);
  }
  return rc;
}

int main(int argc, char **argv)
{
  long width = 128, batch = 100, size = 64, zdim = 100, threads = 1, steps = 10, warmup = 2;
  long seed = 1, channels = 3;
  for (int i = 1; i < argc; i++) {
    long *dst = NULL;
    if (!strcmp(argv[i], "--width")) dst = &width;
    else if (!strcmp(argv[i], "--batch")) dst = &batch;
    else if (!strcmp(argv[i], "--image-size")) dst = &size;
    else if (!strcmp(argv[i], "--z-dim")) dst = &zdim;
    else if (!strcmp(argv[i], "--threads")) dst = &threads;
    else if (!strcmp(argv[i], "--steps")) dst = &steps;
    else if (!strcmp(argv[i], "--warmup")) dst = &warmup;
    else if (!strcmp(argv[i], "--seed")) dst = &seed;
    else if (!strcmp(argv[i], "--channels")) dst = &channels;
    if (dst == NULL || i + 1 >= argc)
      usage();
    char *end;
    *dst = strtol(argv[++i], &end, 10);
    if (*end != '\0' || *dst < 0)
      usage();
  }
  if (batch < 2 || steps < 1 || threads < 1)
    usage();
  check(spd_set_num_threads((int)threads), "threads");
  spd_generator *g;
  spd_vae *v;
  check(spd_generator_create_conv((size_t)zdim, (size_t)channels, (size_t)size, (size_t)width, (uint64_t)seed,
                                  &g), "generator");
  if (spd_vae_create(g, (uint64_t)seed + 1, &v) != SPD_OK) {
    spd_generator_free(g);
    check(SPD_E_INVALID, "vae");
  }
  size_t n = (size_t)batch * spd_generator_x_dim(g);
  float *x = malloc(n * sizeof *x);
  spd_rng *r;
  check(spd_rng_create((uint64_t)seed + 2, &r), "rng");
  check(spd_rng_uniform(r, x, n), "data");
  printf("vae-step: width %ld, %ldx%ldx%ld, z %ld, batch %ld, %ld threads, %ld steps\n", width,
         size, size, channels, zdim, batch, threads, steps);
  float loss = 0;
  for (long s = 0; s < warmup; s++)
    check(spd_vae_step(v, x, (size_t)batch, &loss), "step");
  double *t = malloc((size_t)steps * sizeof *t);
  for (long s = 0; s < steps; s++) {
    double t0 = spdb_now();
    check(spd_vae_step(v, x, (size_t)batch, &loss), "step");
    t[s] = spdb_now() - t0;
    printf("step %ld: %.4f s, loss %.2f\n", s, t[s], loss);
  }
  double med = spdb_median(t, (size_t)steps);
  printf("seconds_per_step %.6f\n", med);
  free(t);
  free(x);
  spd_rng_free(r);
  spd_vae_free(v);
  return 0;
}
