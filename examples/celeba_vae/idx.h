/* IDX files (the MNIST / Fashion-MNIST format), plain or gzip-compressed
 * (zlib's gzread reads both). An image file is a big-endian header, magic
 * 0x00000803, count, rows, cols (u32 each), then count * rows * cols bytes,
 * row by row. */
#ifndef VAE_IDX_H
#define VAE_IDX_H

#include "images.h"

#include <stddef.h>

#define VAE_IDX_IMAGES_MAGIC 0x00000803u
#define VAE_IDX_LABELS_MAGIC 0x00000801u

/* Read the first `limit` images (all with limit 0) of the IDX image file at
 * path into *out as 1 x rows x cols images. Returns 0, or -1 with a message
 * naming path in err: missing or unreadable file, wrong magic, truncated
 * header or pixels, zero or implausible (> 4096) sizes. *out is only set
 * on success. */
int vae_idx_read_images(const char *path, size_t limit, vae_images *out,
                        char *err, size_t errlen);

#endif /* VAE_IDX_H */
