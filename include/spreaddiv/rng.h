#ifndef SPREADDIV_RNG_H
#define SPREADDIV_RNG_H

/**
 * @file spreaddiv/rng.h
 * @brief Counter-based random numbers (Philox4x32-10), reproducible anywhere.
 *
 * A stream is fixed by a 64-bit seed and a 64-bit stream number; its state
 * is a 64-bit position counting the 128-bit blocks consumed so far. The
 * generator is Philox4x32-10 (Salmon et al., SC'11) exactly as in Random123:
 *
 *     key     = { seed & 0xffffffff, seed >> 32 }
 *     counter = { pos & 0xffffffff, pos >> 32, stream & 0xffffffff, stream >> 32 }
 *     block   = philox4x32_10(counter, key)   -> four uint32 words w[0..3]
 *
 * A call that draws n values uses the blocks at positions pos, pos+1, ...,
 * pos + ceil(n/4) - 1 and then sets pos to pos + ceil(n/4): value i comes
 * from block pos + i/4, and the unused words of the last block are dropped.
 * Draws from one call therefore equal draws split over several calls only
 * when every call but the last asks for a multiple of 4 values.
 *
 * Conversions (computed in double precision, rounded to float once):
 * - uniform:  u = (w >> 8) * 2^-24, in [0, 1);
 * - normal:   Box-Muller on word pairs (w[0], w[1]) and (w[2], w[3]) with
 *             a = (w0 + 0.5) * 2^-32, b = (w1 + 0.5) * 2^-32,
 *             r = sqrt(-2 ln a): values r cos(2 pi b), r sin(2 pi b);
 * - Laplace:  a = (w + 0.5) * 2^-32; a < 1/2 ? ln(2a) : -ln(2 - 2a)
 *             (unit scale: density exp(-|x|) / 2).
 *
 * Results are bitwise identical whatever the thread count.
 */

#include <spreaddiv/core.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Opaque random number generator state. */
typedef struct spd_rng spd_rng;

/**
 * @brief Create a generator on stream 0 of @p seed, at position 0.
 * @param seed Any 64-bit value.
 * @param[out] out Receives the new handle; unchanged on failure.
 * @return #SPD_OK, #SPD_E_INVALID (out is NULL) or #SPD_E_NOMEM.
 * @note The caller owns the handle and releases it with spd_rng_free().
 */
SPD_API SPD_NODISCARD int spd_rng_create(uint64_t seed, spd_rng **out);

/**
 * @brief Create a generator on an independent stream of @p seed.
 *
 * Different stream numbers give non-overlapping sequences for the same seed,
 * which is how one seed can feed several independent consumers.
 *
 * @param seed Any 64-bit value.
 * @param stream Stream number.
 * @param[out] out Receives the new handle; unchanged on failure.
 * @return #SPD_OK, #SPD_E_INVALID (out is NULL) or #SPD_E_NOMEM.
 * @note The caller owns the handle and releases it with spd_rng_free().
 */
SPD_API SPD_NODISCARD int spd_rng_create_stream(uint64_t seed, uint64_t stream,
                                                spd_rng **out);

/**
 * @brief Release a generator.
 * @param rng A handle from spd_rng_create(), or NULL (no effect).
 */
SPD_API void spd_rng_free(spd_rng *rng);

/**
 * @brief Draw standard normal values.
 * @param rng Generator; advanced by ceil(n/4) blocks.
 * @param[out] out n floats.
 * @param n Number of values, > 0.
 * @return #SPD_OK or #SPD_E_INVALID (NULL pointer, n == 0). On failure the
 *         generator does not advance.
 * @note One handle is used by one thread at a time.
 */
SPD_API SPD_NODISCARD int spd_rng_normal(spd_rng *rng, float *out, size_t n);

/**
 * @brief Draw uniform values in [0, 1) with 24 random bits each.
 * @param rng Generator; advanced by ceil(n/4) blocks.
 * @param[out] out n floats.
 * @param n Number of values, > 0.
 * @return #SPD_OK or #SPD_E_INVALID (NULL pointer, n == 0).
 */
SPD_API SPD_NODISCARD int spd_rng_uniform(spd_rng *rng, float *out, size_t n);

/**
 * @brief Draw unit-scale Laplace values (density exp(-|x|)/2, variance 2).
 * @param rng Generator; advanced by ceil(n/4) blocks.
 * @param[out] out n floats.
 * @param n Number of values, > 0.
 * @return #SPD_OK or #SPD_E_INVALID (NULL pointer, n == 0).
 */
SPD_API SPD_NODISCARD int spd_rng_laplace(spd_rng *rng, float *out, size_t n);

/**
 * @brief Draw raw 32-bit words of the Philox stream.
 * @param rng Generator; advanced by ceil(n/4) blocks.
 * @param[out] out n words: word i is w[i % 4] of block pos + i/4.
 * @param n Number of words, > 0.
 * @return #SPD_OK or #SPD_E_INVALID (NULL pointer, n == 0).
 */
SPD_API SPD_NODISCARD int spd_rng_uint32(spd_rng *rng, uint32_t *out, size_t n);

/**
 * @brief Read the full state of a generator (for checkpoints).
 * @param rng Generator.
 * @param[out] seed Receives the seed; may be NULL.
 * @param[out] stream Receives the stream number; may be NULL.
 * @param[out] position Receives the number of blocks consumed; may be NULL.
 * @return #SPD_OK or #SPD_E_INVALID (rng is NULL).
 */
SPD_API SPD_NODISCARD int spd_rng_get_state(const spd_rng *rng, uint64_t *seed,
                                            uint64_t *stream, uint64_t *position);

/**
 * @brief Restore a state read by spd_rng_get_state().
 * @param rng Generator to overwrite.
 * @param seed Seed.
 * @param stream Stream number.
 * @param position Number of blocks consumed.
 * @return #SPD_OK or #SPD_E_INVALID (rng is NULL).
 */
SPD_API SPD_NODISCARD int spd_rng_set_state(spd_rng *rng, uint64_t seed,
                                            uint64_t stream, uint64_t position);

#ifdef __cplusplus
}
#endif

#endif /* SPREADDIV_RNG_H */
