/* IDX image reader on zlib's gz* functions. */
#include "idx.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static uint32_t be32(const unsigned char *p)
{
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Read up to len bytes; returns the count read, or -1 with the zlib
 * message (a damaged gzip stream) in err. */
static long long read_all(gzFile f, unsigned char *buf, size_t len,
                          const char *path, char *err, size_t errlen)
{
  size_t got = 0;
  while (got < len) {
    size_t want = len - got > (size_t)1 << 30 ? (size_t)1 << 30 : len - got;
    int n = gzread(f, buf + got, (unsigned)want);
    if (n < 0) {
      int zerr;
      const char *msg = gzerror(f, &zerr);
      if (zerr == Z_BUF_ERROR)
        snprintf(err, errlen, "%s: truncated (the compressed data end early)", path);
      else
        snprintf(err, errlen, "%s: %s", path, zerr == Z_ERRNO ? strerror(errno) : msg);
      return -1;
    }
    if (n == 0)
      break;
    got += (size_t)n;
  }
  return (long long)got;
}

int vae_idx_read_images(const char *path, size_t limit, vae_images *out,
                        char *err, size_t errlen)
{
  errno = 0;
  gzFile f = gzopen(path, "rb");
  if (!f) {
    snprintf(err, errlen, "cannot open %s: %s", path,
             errno ? strerror(errno) : "out of memory");
    return -1;
  }
  unsigned char h[16];
  vae_images im = {0};
  long long got = read_all(f, h, sizeof h, path, err, errlen);
  if (got < 0)
    goto fail;
  if (got < 4) {
    snprintf(err, errlen, "%s: truncated IDX header (%lld of 16 bytes)", path, got);
    goto fail;
  }
  uint32_t magic = be32(h);
  if (magic != VAE_IDX_IMAGES_MAGIC) {
    if (magic == VAE_IDX_LABELS_MAGIC)
      snprintf(err, errlen, "%s: an IDX label file (magic 0x%08x), not images "
               "(magic 0x%08x)", path, magic, VAE_IDX_IMAGES_MAGIC);
    else
      snprintf(err, errlen, "%s: not an IDX image file (magic 0x%08x, expected "
               "0x%08x)", path, magic, VAE_IDX_IMAGES_MAGIC);
    goto fail;
  }
  if (got < 16) {
    snprintf(err, errlen, "%s: truncated IDX header (%lld of 16 bytes)", path, got);
    goto fail;
  }
  uint32_t count = be32(h + 4), rows = be32(h + 8), cols = be32(h + 12);
  if (count == 0 || rows == 0 || cols == 0 || rows > 4096 || cols > 4096) {
    snprintf(err, errlen, "%s: bad sizes in the IDX header (%u images of %u x %u)",
             path, count, rows, cols);
    goto fail;
  }
  size_t n = limit && limit < count ? limit : count;
  const size_t dim = (size_t)rows * cols;
  if (n > SIZE_MAX / dim) {
    snprintf(err, errlen, "%s: %zu images of %u x %u overflow the address space", path,
             n, rows, cols);
    goto fail;
  }
  /* The header is not trusted with memory: the buffer grows as pixels
   * actually arrive (at most twice what the file holds, plus 16 MiB), so a
   * 16-byte file claiming 4 billion images cannot make us allocate and
   * clear terabytes. (Found by tests/fuzz/fuzz_idx.c.) */
  const size_t want = n * dim, first = (size_t)16 << 20;
  size_t cap = want < first ? want : first, have = 0;
  uint8_t *px = malloc(cap);
  if (!px) {
    snprintf(err, errlen, "%s: out of memory for %zu images of %u x %u", path, n, rows,
             cols);
    goto fail;
  }
  for (;;) {
    got = read_all(f, px + have, cap - have, path, err, errlen);
    if (got < 0) {
      free(px);
      goto fail;
    }
    have += (size_t)got;
    if (have < cap || cap == want)
      break; /* end of the data, or all of it */
    size_t bigger = cap > want / 2 ? want : 2 * cap;
    uint8_t *more = realloc(px, bigger);
    if (!more) {
      free(px);
      snprintf(err, errlen, "%s: out of memory for %zu images of %u x %u", path, n,
               rows, cols);
      goto fail;
    }
    px = more;
    cap = bigger;
  }
  if (have < want) {
    free(px);
    snprintf(err, errlen, "%s: truncated: the header promises %u images of %u x %u "
             "but the file holds %zu bytes of pixels (%zu needed for %zu images)",
             path, count, rows, cols, have, want, n);
    goto fail;
  }
  im = (vae_images){px, n, 1, rows, cols};
  gzclose(f);
  *out = im;
  return 0;
fail:
  vae_images_free(&im);
  gzclose(f);
  return -1;
}
