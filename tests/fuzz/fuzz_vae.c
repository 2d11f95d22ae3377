/* Fuzz target: the spread-VAE checkpoint loader, spd_vae_load() (SVAE
 * files, lib/vae_io.c: the generator, encoder, options, Adam states, random
 * streams and the learned spread).
 *
 * Input: one flag byte, then the file; with bit 0 of the flag set every
 * section CRC is rewritten first (fuzz_fixcrc.h). A failed load must return
 * a negative status with a message and leave the output handle alone; a
 * loaded VAE must evaluate two rows (a negative status with a message is
 * allowed: the loaded weights may overflow), then is freed. */
#include "fuzz_common.h"
#include "fuzz_fixcrc.h"

#include <spreaddiv.h>

#include <stdlib.h>
#include <string.h>

#define SENTINEL ((spd_vae *)(uintptr_t)0x5e5e5e5e)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const char *path = spdf_checkpoint_input(data, size, ".svae", 0, NULL);
  if (path == NULL)
    return 0;

  spd_vae *v = SENTINEL;
  int st = spd_vae_load(path, &v);
  if (st != SPD_OK) {
    if (st >= 0 || v != SENTINEL || spd_last_error()[0] == '\0')
      abort(); /* failure: a negative status, a message, *out untouched */
    return 0;
  }
  if (v == NULL || v == SENTINEL)
    abort();
  spd_generator *g = spd_vae_generator(v);
  size_t xd = spd_generator_x_dim(g);
  double sigma = spd_vae_sigma(v);
  if (g == NULL || xd == 0 || !(sigma > 0))
    abort();
  float *x = malloc(2 * xd * sizeof *x);
  if (x != NULL) {
    for (size_t i = 0; i < 2 * xd; i++)
      x[i] = (float)(i % 7) / 7.0f;
    double loss = 0, recon = 0, kl = 0;
    st = spd_vae_evaluate(v, x, 2, &loss, &recon, &kl);
    if (st != SPD_OK && (st >= 0 || spd_last_error()[0] == '\0'))
      abort();
  }
  free(x);
  spd_vae_free(v);
  return 0;
}
