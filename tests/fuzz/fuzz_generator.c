/* Fuzz target: the generator loader, spd_generator_load() (GENR files,
 * lib/generator_io.c on the checkpoint reader).
 *
 * Input: one flag byte, then the file; with bit 0 of the flag set every
 * section CRC is rewritten first (fuzz_fixcrc.h). A failed load must return
 * a negative status with a message and leave the output handle alone; a
 * loaded generator must report sane dimensions and decode two rows (the
 * output may be any float: weights are only required to be finite), then
 * is freed. */
#include "fuzz_common.h"
#include "fuzz_fixcrc.h"

#include <spreaddiv.h>

#include <stdlib.h>
#include <string.h>

#define SENTINEL ((spd_generator *)(uintptr_t)0x5e5e5e5e)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const char *path = spdf_checkpoint_input(data, size, ".genr", 0, NULL);
  if (path == NULL)
    return 0;

  spd_generator *g = SENTINEL;
  int st = spd_generator_load(path, &g);
  if (st != SPD_OK) {
    if (st >= 0 || g != SENTINEL || spd_last_error()[0] == '\0')
      abort(); /* failure: a negative status, a message, *out untouched */
    return 0;
  }
  if (g == NULL || g == SENTINEL)
    abort();
  int kind = spd_generator_kind(g);
  size_t zd = spd_generator_z_dim(g), xd = spd_generator_x_dim(g);
  if (kind < SPD_GENERATOR_LINEAR || kind > SPD_GENERATOR_CONV || zd == 0 || xd == 0)
    abort();
  size_t c, h, w;
  int is = spd_generator_image_shape(g, &c, &h, &w);
  if ((kind == SPD_GENERATOR_CONV) != (is == SPD_OK) ||
      (is == SPD_OK && (h != w || c * h * w != xd)))
    abort();
  float *z = malloc(2 * zd * sizeof *z), *x = malloc(2 * xd * sizeof *x);
  if (z != NULL && x != NULL) {
    for (size_t i = 0; i < 2 * zd; i++)
      z[i] = 0.25f * (float)(i % 5) - 0.5f;
    st = spd_generator_decode(g, z, 2, x);
    if (st != SPD_OK && (st >= 0 || spd_last_error()[0] == '\0'))
      abort();
  }
  free(z);
  free(x);
  spd_generator_free(g);
  return 0;
}
