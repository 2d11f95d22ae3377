/* Seeded randomness for the data: the held-out split and the order of
 * training batches. Everything is drawn from the library's counter-based
 * RNG (spd_rng) on fixed streams of the run's seed, so it is the same on
 * every machine and thread count, and any epoch's order can be rebuilt
 * without replaying the ones before it (which is what resuming needs). */
#ifndef VAE_BATCH_H
#define VAE_BATCH_H

#include <stddef.h>
#include <stdint.h>

/* Streams of the run's seed used by the example. */
#define VAE_STREAM_SPLIT 1u            /* held-out split */
#define VAE_STREAM_LATENT 2u           /* fixed latent batch of the sample grids */
#define VAE_STREAM_SHUFFLE_BASE (1ull << 32) /* + epoch: batch order */

/* A seeded uniform permutation of 0..n-1 (Fisher-Yates with unbiased
 * bounded draws) from stream `stream` of seed. Returns 0, or -1 on a
 * library error or bad argument. */
int vae_permutation(uint64_t seed, uint64_t stream, size_t n, size_t *perm);

/* Mark `held` of n items as held out (held_out[i] = 1, others 0): the first
 * `held` entries of the permutation of stream VAE_STREAM_SPLIT. Needs
 * 0 < held < n. Returns 0 or -1. */
int vae_split_seeded(uint64_t seed, size_t n, size_t held, uint8_t *held_out);

/* Epochs of batches over n items: each epoch is a fresh seeded
 * permutation cut into floor(n / batch) batches (the rest of the
 * permutation is left out of that epoch). */
typedef struct vae_shuffler vae_shuffler;

/* Needs 1 <= batch <= n. Returns 0, or -1 (bad sizes, out of memory). */
int vae_shuffler_create(size_t n, size_t batch, uint64_t seed, vae_shuffler **out);
void vae_shuffler_free(vae_shuffler *s);

/* Batches per epoch: floor(n / batch). */
uint64_t vae_shuffler_batches_per_epoch(const vae_shuffler *s);

/* The step the next call to vae_shuffler_next serves (0 after create). */
uint64_t vae_shuffler_step(const vae_shuffler *s);

/* Continue at global step `step` (a resumed run calls this with the
 * checkpoint's step). */
void vae_shuffler_seek(vae_shuffler *s, uint64_t step);

/* Write the batch of the current step (batch indices) to idx, set *epoch
 * (0-based) when epoch is not NULL, and advance one step. Returns 0, or -1
 * on a library error. */
int vae_shuffler_next(vae_shuffler *s, size_t *idx, uint64_t *epoch);

#endif /* VAE_BATCH_H */
