/* Cache file reading and writing; the format is in cache.h. */
#include "cache.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

enum { HEADER = 56 };
static const char MAGIC[8] = {'S', 'V', 'A', 'E', 'C', 'A', 'C', 'H'};

uint64_t vae_fnv1a(uint64_t h, const void *data, size_t len)
{
  const unsigned char *p = data;
  for (size_t i = 0; i < len; i++) {
    h ^= p[i];
    h *= 0x100000001b3ull;
  }
  return h;
}

static void put_le(unsigned char *p, uint64_t v, int bytes)
{
  for (int i = 0; i < bytes; i++)
    p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_le(const unsigned char *p, int bytes)
{
  uint64_t v = 0;
  for (int i = 0; i < bytes; i++)
    v |= (uint64_t)p[i] << (8 * i);
  return v;
}

static uLong crc_add(uLong crc, const unsigned char *p, size_t len)
{
  while (len > 0) {
    uInt n = len > UINT_MAX ? UINT_MAX : (uInt)len;
    crc = crc32(crc, p, n);
    p += n;
    len -= n;
  }
  return crc;
}

int vae_cache_read(const char *path, const vae_cache_key *key, vae_images *images,
                   uint32_t **file_index, char *err, size_t errlen)
{
  FILE *f = fopen(path, "rb");
  if (!f) {
    if (errno == ENOENT)
      return 1;
    snprintf(err, errlen, "cache %s: cannot open: %s", path, strerror(errno));
    return -1;
  }
  unsigned char h[HEADER], *raw = NULL;
  uint32_t *index = NULL;
  vae_images im = {0};
  struct stat st = {0};
  if (fread(h, 1, HEADER, f) != HEADER || memcmp(h, MAGIC, 8) != 0) {
    snprintf(err, errlen, "cache %s: corrupt (not a spread-vae cache file)", path);
    goto fail;
  }
  uint64_t version = get_le(h + 8, 4), c = get_le(h + 12, 4), hh = get_le(h + 16, 4),
           w = get_le(h + 20, 4), count = get_le(h + 24, 8), files = get_le(h + 32, 8),
           fp = get_le(h + 40, 8), crc = get_le(h + 48, 4);
  if (version != VAE_CACHE_VERSION) {
    snprintf(err, errlen, "cache %s: stale (format version %llu, this program "
             "writes %u)", path, (unsigned long long)version, VAE_CACHE_VERSION);
    goto fail;
  }
  if (c != key->c || hh != key->h || w != key->w || files != key->files ||
      fp != key->fingerprint) {
    snprintf(err, errlen, "cache %s: stale (made from other files or another "
             "image size)", path);
    goto fail;
  }
  /* Sizes from the file are checked by division, never by a product that
   * could wrap: a header claiming 2^61 images once passed the size check
   * and asked malloc for 2^63 bytes (found by tests/fuzz/fuzz_cache.c). */
  size_t dim = 0;
  if (key->c && key->h && key->w && key->h <= SIZE_MAX / key->w &&
      key->c <= SIZE_MAX / (key->h * key->w) && key->c * key->h * key->w < SIZE_MAX - 4)
    dim = key->c * key->h * key->w;
  if (dim == 0 || count > files || fstat(fileno(f), &st) != 0 || st.st_size < HEADER ||
      ((uint64_t)st.st_size - HEADER) % (4 + dim) != 0 ||
      count != ((uint64_t)st.st_size - HEADER) / (4 + dim)) {
    snprintf(err, errlen, "cache %s: corrupt (size %lld bytes, not the header and %llu "
             "images of %zu bytes plus their indices)", path, (long long)st.st_size,
             (unsigned long long)count, dim);
    goto fail;
  }
  raw = malloc(count * 4 + 1);
  index = malloc(count * sizeof *index + 1);
  if (!raw || !index || vae_images_alloc(&im, count, key->c, key->h, key->w) != 0) {
    snprintf(err, errlen, "cache %s: out of memory", path);
    goto fail;
  }
  if (fread(raw, 1, count * 4, f) != count * 4 || fread(im.px, 1, count * dim, f) != count * dim) {
    snprintf(err, errlen, "cache %s: read error: %s", path,
             ferror(f) ? strerror(errno) : "file shrank");
    goto fail;
  }
  uLong sum = crc_add(crc_add(crc32(0L, Z_NULL, 0), raw, count * 4), im.px, count * dim);
  if (sum != crc) {
    snprintf(err, errlen, "cache %s: corrupt (checksum mismatch)", path);
    goto fail;
  }
  for (size_t i = 0; i < count; i++) {
    index[i] = (uint32_t)get_le(raw + 4 * i, 4);
    if (index[i] >= files || (i > 0 && index[i] <= index[i - 1])) {
      snprintf(err, errlen, "cache %s: corrupt (bad file index table)", path);
      goto fail;
    }
  }
  free(raw);
  fclose(f);
  *images = im;
  *file_index = index;
  return 0;
fail:
  free(raw);
  free(index);
  vae_images_free(&im);
  fclose(f);
  return -1;
}

int vae_cache_write(const char *path, const vae_cache_key *key,
                    const vae_images *images, const uint32_t *file_index,
                    char *err, size_t errlen)
{
  char tmp[4096];
  if (snprintf(tmp, sizeof tmp, "%s.tmp-%ld", path, (long)getpid()) >= (int)sizeof tmp) {
    snprintf(err, errlen, "cache %s: path too long", path);
    return -1;
  }
  size_t n = images->n, dim = vae_images_dim(images);
  unsigned char *raw = malloc(n * 4 + 1);
  if (!raw) {
    snprintf(err, errlen, "cache %s: out of memory", path);
    return -1;
  }
  for (size_t i = 0; i < n; i++)
    put_le(raw + 4 * i, file_index[i], 4);
  unsigned char h[HEADER] = {0};
  memcpy(h, MAGIC, 8);
  put_le(h + 8, VAE_CACHE_VERSION, 4);
  put_le(h + 12, images->c, 4);
  put_le(h + 16, images->h, 4);
  put_le(h + 20, images->w, 4);
  put_le(h + 24, n, 8);
  put_le(h + 32, key->files, 8);
  put_le(h + 40, key->fingerprint, 8);
  put_le(h + 48, crc_add(crc_add(crc32(0L, Z_NULL, 0), raw, n * 4), images->px, n * dim), 4);
  FILE *f = fopen(tmp, "wb");
  if (!f) {
    snprintf(err, errlen, "cache %s: cannot write: %s", path, strerror(errno));
    free(raw);
    return -1;
  }
  int ok = fwrite(h, 1, HEADER, f) == HEADER && fwrite(raw, 1, n * 4, f) == n * 4 &&
           fwrite(images->px, 1, n * dim, f) == n * dim;
  int saved = errno;
  ok = (fclose(f) == 0) && ok;
  free(raw);
  if (!ok || rename(tmp, path) != 0) {
    snprintf(err, errlen, "cache %s: cannot write: %s", path,
             strerror(ok ? errno : saved));
    remove(tmp);
    return -1;
  }
  return 0;
}
