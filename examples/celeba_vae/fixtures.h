/* Synthetic data sets in the real formats, for the tests and for trying the
 * program without the real data: IDX files of clothing-like shapes and a
 * directory of CelebA-like face JPEGs. Seeded: the same seed gives the
 * same files. */
#ifndef VAE_FIXTURES_H
#define VAE_FIXTURES_H

#include <stddef.h>
#include <stdint.h>

/* An IDX image file: the 16-byte header (magic as given, so tests can write
 * a wrong one; count n, rows, cols) and n synthetic images. gz: gzip it,
 * else plain. Returns 0, or -1 with a message naming path. */
int vae_fixture_idx(const char *path, uint32_t magic, size_t n, size_t rows,
                    size_t cols, int gz, uint64_t seed, char *err, size_t errlen);

/* A Fashion-MNIST-like directory (created if missing):
 * train-images-idx3-ubyte.gz (n_train) and t10k-images-idx3-ubyte.gz
 * (n_test), 28 x 28. */
int vae_fixture_fashion_dir(const char *dir, size_t n_train, size_t n_test,
                            uint64_t seed, char *err, size_t errlen);

/* One synthetic face, width x height RGB (interleaved), laid out like an
 * aligned CelebA image: the face fills the region vae_celeba_crop keeps.
 * u: 12 numbers in [0, 1) choosing colours and small offsets. */
void vae_fixture_face(uint8_t *rgb, size_t width, size_t height, const float *u);

/* A CelebA-like directory: dir/img_align_celeba/000001.jpg ... (n faces of
 * 178 x 218, quality 90) and, with partition, dir/list_eval_partition.txt
 * putting images 1..n in partitions 0, 0, ..., 1, 2 as CelebA does (80%,
 * 10%, 10%, in order). */
int vae_fixture_celeba_dir(const char *dir, size_t n, int partition, uint64_t seed,
                           char *err, size_t errlen);

/* Remove a directory tree of fixtures (plain files and directories; links
 * are removed, not followed). Errors are ignored. */
void vae_fixture_remove(const char *path);

#endif /* VAE_FIXTURES_H */
