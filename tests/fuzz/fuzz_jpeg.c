/* Fuzz target: the example's JPEG decoder wrapper
 * (examples/celeba_vae/jpeg_io.c, libjpeg behind a setjmp error manager).
 * Input: the file. */
#include "fuzz_common.h"

#include "jpeg_io.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const char *path = spdf_scratch_file(".jpg", data, size);
  if (path == NULL)
    return 0;
  uint8_t *px = NULL;
  size_t w = 0, h = 0;
  char err[512] = "";
  if (vae_jpeg_read(path, &px, &w, &h, err, sizeof err) == 0) {
    if (px == NULL || w == 0 || h == 0)
      abort();
    volatile uint8_t sink = px[w * h * 3 - 1]; /* the whole image is there */
    (void)sink;
    free(px);
  } else if (err[0] == '\0') {
    abort();
  }
  return 0;
}
