/* CelebA from its aligned JPEG directory (img_align_celeba/000001.jpg ...):
 * listing, parallel decoding with the paper's crop and resize, the cache,
 * and the train / held-out split.
 *
 * - Directory: --data-dir may be the JPEG directory itself or a directory
 *   holding img_align_celeba/. Files ending in .jpg or .jpeg (any case,
 *   not hidden) are taken in name order; max_images keeps the first ones.
 * - Decoding: every file is decoded (libjpeg), cropped (vae_celeba_crop:
 *   140 x 140 at (19, 39) for the usual 178 x 218, the same relative region
 *   for other sizes) and resized to image_size (Lanczos-3, resize.h), on
 *   `threads` OpenMP threads; the result is the same for any thread count.
 *   A file that cannot be decoded (not a JPEG, truncated, corrupt, CMYK)
 *   is skipped with a warning naming it: one bad file out of 202,599 should
 *   not stop a run. If none can be decoded the load fails.
 * - Split: with list_eval_partition.txt (or .csv, as on Kaggle; looked for
 *   in --data-dir, --data-dir/Eval and the JPEG directory), partition 0
 *   trains and partition 1 (validation) is held out; partition 2 (test) is
 *   not used, nor are images the file does not list. If that leaves either
 *   side empty (a small --max-images), or there is no such file, a seeded
 *   split holds out `held_out` images (default 1%, at least 1) chosen by
 *   vae_split_seeded.
 * - Cache: with a cache path, the decoded images are stored there (cache.h)
 *   and reused while the file list (names, sizes, modification times), the
 *   image size and the preprocessing are unchanged; a stale or corrupt cache
 *   is rebuilt, an unwritable one only warned about. */
#ifndef VAE_CELEBA_H
#define VAE_CELEBA_H

#include "images.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct {
  const char *dir;        /* --data-dir */
  size_t image_size;      /* output side, e.g. 64 */
  size_t max_images;      /* first files only; 0: all */
  size_t held_out;        /* seeded split size; 0: 1% (at least 1) */
  uint64_t seed;          /* of the seeded split */
  int threads;            /* decoding threads, >= 1 */
  const char *cache_path; /* NULL: no cache */
  FILE *log;              /* warnings and notes; NULL: silent */
} vae_celeba_options;

typedef struct {
  char image_dir[4096];  /* the JPEG directory used */
  char partition[4096];  /* partition file used for the split, or "" */
  size_t files;          /* JPEG files taken */
  size_t skipped;        /* of those, not decodable */
  size_t odd_sizes;      /* decoded images that were not 178 x 218 */
  int from_cache;        /* loaded from the cache */
  double seconds;        /* decoding (or cache reading) time */
} vae_celeba_info;

/* Load the training and held-out images (3 x image_size x image_size each).
 * Returns 0, or -1 with a message in err that names the file or directory
 * at fault; on failure the outputs are untouched. */
int vae_celeba_load(const vae_celeba_options *o, vae_images *train,
                    vae_images *held_out, vae_celeba_info *info, char *err,
                    size_t errlen);

#endif /* VAE_CELEBA_H */
