/* Writes the seed corpora of the generator and vae fuzz targets
 * (tests/fuzz/corpus/generator/, corpus/vae/): small saved generators and
 * spread-VAE checkpoints, each prefixed with the targets' flag byte (1: fix
 * CRCs after mutation). The files are committed; re-run only to change them:
 *
 *   ninja -C build tests/fuzz/gen-model-seeds
 *   build/tests/fuzz/gen-model-seeds tests/fuzz/corpus
 */
#include <spreaddiv.h>

#include <stdio.h>
#include <stdlib.h>

static const char *root;

static void die(int st, const char *what)
{
  if (st != SPD_OK) {
    fprintf(stderr, "%s: %s\n", what, spd_last_error());
    exit(1);
  }
}

/* Prefix the file at tmp with the flag byte and write it to dir/name. */
static void seed(const char *tmp, const char *dir, const char *name)
{
  char out[1024];
  snprintf(out, sizeof out, "%s/%s/%s", root, dir, name);
  FILE *in = fopen(tmp, "rb"), *o = fopen(out, "wb");
  if (in == NULL || o == NULL) {
    fprintf(stderr, "cannot write %s\n", out);
    exit(1);
  }
  fputc(1, o);
  int c;
  while ((c = fgetc(in)) != EOF)
    fputc(c, o);
  fclose(in);
  fclose(o);
  remove(tmp);
}

static void vae_seed(spd_generator *g, double rank, int steps, const char *name)
{
  static float x[4 * 784];
  size_t xd = spd_generator_x_dim(g);
  for (size_t i = 0; i < 4 * xd; i++)
    x[i] = (float)(i % 9) / 9.0f;
  spd_vae *v;
  die(spd_vae_create(g, 7, &v), "vae");
  die(spd_vae_set(v, SPD_VAE_LEARN_SPREAD_RANK, rank), "rank");
  for (int i = 0; i < steps; i++)
    die(spd_vae_step(v, x, 4, NULL), "step");
  die(spd_vae_save(v, "seed.tmp"), "save");
  seed("seed.tmp", "vae", name);
  spd_vae_free(v);
}

int main(int argc, char **argv)
{
  root = argc > 1 ? argv[1] : "tests/fuzz/corpus";
  spd_generator *g;
  die(spd_generator_create_linear(2, 3, 1, &g), "linear");
  die(spd_generator_save(g, "seed.tmp"), "save");
  seed("seed.tmp", "generator", "linear-2-3");
  spd_generator_free(g);
  die(spd_generator_create_mlp(2, 3, 4, 2, SPD_OUTPUT_SIGMOID, 2, &g), "mlp");
  die(spd_generator_save(g, "seed.tmp"), "save");
  seed("seed.tmp", "generator", "mlp-2-3-h4-d2-sigmoid");
  spd_generator_free(g);
  die(spd_generator_create_conv(1, 1, 28, 4, 3, &g), "conv");
  die(spd_generator_save(g, "seed.tmp"), "save");
  seed("seed.tmp", "generator", "conv-1-c1-28-w4");
  spd_generator_free(g);

  die(spd_generator_create_linear(2, 3, 1, &g), "linear");
  vae_seed(g, 0, 0, "linear-fresh");
  die(spd_generator_create_mlp(2, 3, 4, 1, SPD_OUTPUT_LINEAR, 2, &g), "mlp");
  vae_seed(g, 1, 1, "mlp-learned-spread-1-step");
  /* No conv VAE seed: the smallest (28 x 28, width 4) is 18 KiB. */
  return 0;
}
