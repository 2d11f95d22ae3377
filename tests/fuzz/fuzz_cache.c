/* Fuzz target: the CelebA loader's preprocessed-image cache reader
 * (examples/celeba_vae/cache.c, read by celeba.c before any JPEG work).
 *
 * Input: one flag byte, then the file. The key asked for is the one the
 * file's own header names, so the staleness checks pass and the parser
 * behind them is reached; with bit 0 of the flag set the CRC-32 of the body
 * is recomputed and patched in first, for the same reason. */
#include "fuzz_common.h"

#include "cache.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static uint64_t le(const uint8_t *p, int n)
{
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; i--)
    v = v << 8 | p[i];
  return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size < 1)
    return 0;
  const uint8_t flags = data[0];
  size_t n = size - 1;
  uint8_t *file = malloc(n ? n : 1);
  if (file == NULL)
    return 0;
  if (n)
    memcpy(file, data + 1, n);
  vae_cache_key key = {0, 0, 3, 8, 8};
  if (n >= 56) {
    key.c = (size_t)le(file + 12, 4);
    key.h = (size_t)le(file + 16, 4);
    key.w = (size_t)le(file + 20, 4);
    key.files = le(file + 32, 8);
    key.fingerprint = le(file + 40, 8);
    if (flags & 1) {
      uLong crc = crc32(0L, Z_NULL, 0);
      size_t done = 56;
      while (done < n) { /* zlib takes uInt lengths */
        uInt chunk = n - done > (1u << 30) ? (1u << 30) : (uInt)(n - done);
        crc = crc32(crc, file + done, chunk);
        done += chunk;
      }
      for (int i = 0; i < 4; i++)
        file[48 + i] = (uint8_t)(crc >> (8 * i));
    }
  }
  const char *path = spdf_scratch_file(".cache", file, n);
  free(file);
  if (path == NULL)
    return 0;
  vae_images im;
  memset(&im, 0xA5, sizeof im);
  const vae_images before = im;
  uint32_t *idx = (uint32_t *)&key; /* a sentinel the reader must not change on failure */
  char err[512] = "";
  int st = vae_cache_read(path, &key, &im, &idx, err, sizeof err);
  if (st == 0) {
    if (idx == NULL || (im.n > 0 && im.px == NULL))
      abort();
    for (size_t i = 1; i < im.n; i++)
      if (idx[i] <= idx[i - 1] || idx[i] >= key.files)
        abort(); /* documented: strictly increasing indices into the listing */
    if (im.n > 0) {
      volatile uint8_t last = im.px[im.n * vae_images_dim(&im) - 1];
      (void)last;
    }
    vae_images_free(&im);
    free(idx);
  } else if (st < 0) {
    if (err[0] == '\0' || memcmp(&im, &before, sizeof im) != 0 || idx != (uint32_t *)&key)
      abort(); /* failure: a message, outputs untouched */
  }
  return 0;
}
