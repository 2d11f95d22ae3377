/* The preprocessed-image cache: one file holding a decoded, cropped and
 * resized image set as bytes, so that a second run skips the JPEG work.
 *
 * Layout (integers little-endian):
 *
 *     offset  size  field
 *          0     8  magic "SVAECACH"
 *          8     4  format version (1)
 *         12     4  channels
 *         16     4  height
 *         20     4  width
 *         24     8  count: images stored
 *         32     8  files: source files listed when it was made
 *         40     8  fingerprint of the source files and the preprocessing
 *         48     4  CRC-32 (zlib) of everything after the header
 *         52     4  zero
 *         56  4*count  for each image, the index of its file in the sorted
 *                      listing (strictly increasing: files that failed to
 *                      decode are absent)
 *          .  count*channels*height*width  the pixels, NCHW
 *
 * A cache whose fingerprint, file count or image shape differ from what the
 * run wants is stale; one with a bad magic, version, size, index table or
 * CRC is corrupt. Either way the caller rebuilds it. */
#ifndef VAE_CACHE_H
#define VAE_CACHE_H

#include "images.h"

#include <stddef.h>
#include <stdint.h>

#define VAE_CACHE_VERSION 1u
#define VAE_FNV_INIT 0xcbf29ce484222325ull

/* What a cache must match. */
typedef struct {
  uint64_t fingerprint, files;
  size_t c, h, w;
} vae_cache_key;

/* FNV-1a (64-bit) of len bytes, continuing from hash h (start with
 * VAE_FNV_INIT). */
uint64_t vae_fnv1a(uint64_t h, const void *data, size_t len);

/* Load the cache at path if it matches key. Returns 0 (then *images and
 * *file_index, free() it, are set), 1 if there is no such file, or -1 with
 * the reason (naming path: stale, corrupt, unreadable) in err. */
int vae_cache_read(const char *path, const vae_cache_key *key, vae_images *images,
                   uint32_t **file_index, char *err, size_t errlen);

/* Write images and their file indices under key, atomically (a temporary
 * file renamed over path). Returns 0, or -1 with a message naming path. */
int vae_cache_write(const char *path, const vae_cache_key *key,
                    const vae_images *images, const uint32_t *file_index,
                    char *err, size_t errlen);

#endif /* VAE_CACHE_H */
