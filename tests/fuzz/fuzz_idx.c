/* Fuzz target: the example's IDX image loader (examples/celeba_vae/idx.c),
 * which reads plain or gzip-compressed files through zlib.
 * Input: one byte choosing the image limit (0: all), then the file. */
#include "fuzz_common.h"

#include "idx.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size < 1)
    return 0;
  size_t limit = data[0] % 8;
  const char *path = spdf_scratch_file(".idx", data + 1, size - 1);
  if (path == NULL)
    return 0;
  vae_images im;
  memset(&im, 0xA5, sizeof im);
  vae_images before = im;
  char err[512] = "";
  if (vae_idx_read_images(path, limit, &im, err, sizeof err) == 0) {
    if (vae_images_dim(&im) == 0)
      abort();
    vae_images_free(&im);
  } else if (err[0] == '\0' || memcmp(&im, &before, sizeof im) != 0) {
    abort(); /* a failure says why and leaves *out alone */
  }
  return 0;
}
