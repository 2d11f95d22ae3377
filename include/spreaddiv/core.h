#ifndef SPREADDIV_CORE_H
#define SPREADDIV_CORE_H

/**
 * @file spreaddiv/core.h
 * @brief Version, status codes, error messages, threads and the allocator hook.
 *
 * Conventions that hold for the whole library:
 *
 * - Every call that can fail returns an `int` status: #SPD_OK (0) or a
 *   negative `SPD_E_*` code. On failure nothing the caller owns is changed
 *   and spd_last_error() describes what went wrong.
 * - Objects are opaque handles created by `spd_<noun>_create...()` and
 *   released by `spd_<noun>_free()`, which accepts NULL.
 * - Arrays are float32, row-major: n rows of `dim` values.
 * - Distinct handles may be used concurrently from different threads; one
 *   handle is used by one thread at a time.
 * - The library never aborts, exits or prints.
 */

#include <stddef.h>
#include <stdint.h>

#include <spreaddiv/version.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @cond INTERNAL */
#if defined(_WIN32)
#  if defined(SPREADDIV_BUILDING)
#    define SPD_API __declspec(dllexport)
#  else
#    define SPD_API __declspec(dllimport)
#  endif
#elif defined(__GNUC__)
#  define SPD_API __attribute__((visibility("default")))
#else
#  define SPD_API
#endif

#if defined(__GNUC__)
#  define SPD_NODISCARD __attribute__((warn_unused_result))
#else
#  define SPD_NODISCARD
#endif
/** @endcond */

/**
 * Status codes. Values are pinned and never reused; new codes are only
 * appended (see doc/abi.md).
 */
typedef enum {
  SPD_OK = 0,                 /**< Success. */
  SPD_E_INVALID = -1,         /**< An argument is invalid (NULL, zero size, bad option). */
  SPD_E_NOMEM = -2,           /**< An allocation failed. */
  SPD_E_SHAPE = -3,           /**< Sizes or shapes do not match. */
  SPD_E_DOMAIN = -4,          /**< A value is NaN, infinite or outside its domain. */
  SPD_E_UNSUPPORTED = -5,     /**< The combination asked for has no exact method. */
  SPD_E_IO = -6,              /**< A file could not be read or written. */
  SPD_E_FORMAT = -7,          /**< A file is truncated, corrupt or not ours. */
  SPD_E_OVERFLOW = -8,        /**< A size computation would overflow. */
  SPD_E_STATE = -9,           /**< The handle is in a state that forbids the call. */
  SPD_E_NOT_FOUND = -10,      /**< A named item does not exist. */
  SPD_E_NUMERIC = -11         /**< A computation produced a non-finite result. */
} spd_status;

/**
 * @brief Version of the library actually loaded, as a number.
 * @return MAJOR * 10000 + MINOR * 100 + PATCH, as #SPD_VERSION_NUMBER was
 *         when the library was built.
 * @note Thread-safe.
 */
SPD_API unsigned spd_version_number(void);

/**
 * @brief Version of the library actually loaded, as a string.
 * @return A static "MAJOR.MINOR.PATCH" string; never NULL, never freed.
 * @note Thread-safe.
 */
SPD_API const char *spd_version_string(void);

/**
 * @brief Short English name of a status code.
 * @param status A value returned by a library call.
 * @return A static string; "unknown status" for values the library does not
 *         define. Never NULL.
 * @note Thread-safe.
 */
SPD_API const char *spd_strerror(int status);

/**
 * @brief Message describing the last failure in the calling thread.
 *
 * Failing calls store a message naming the function and the cause, e.g.
 * "spd_rng_normal: out is NULL". Successful calls leave it unchanged, so read
 * it right after a call returned a negative status.
 *
 * @return A thread-local string, valid until the next library call in this
 *         thread; "no error" if nothing has failed yet. Never NULL.
 * @note Thread-safe: each thread has its own message.
 */
SPD_API const char *spd_last_error(void);

/**
 * @brief Set how many threads the library's parallel loops and BLIS calls use.
 *
 * The setting is process-wide and applies to calls that start after it.
 * The library never reads `OMP_NUM_THREADS` / `BLIS_NUM_THREADS` and never
 * changes BLIS's or OpenMP's global state, so a host application's own
 * settings are not disturbed. Results do not depend on the thread count.
 *
 * @param n Number of threads, >= 1; 0 selects the number of available
 *          processors. The default is 1.
 * @return #SPD_OK, or #SPD_E_INVALID if @p n is negative.
 * @note Thread-safe (atomic), but changing it while other threads run
 *       library calls only affects their later calls.
 */
SPD_API SPD_NODISCARD int spd_set_num_threads(int n);

/**
 * @brief Number of threads the library currently uses.
 * @return The value set by spd_set_num_threads(), >= 1.
 * @note Thread-safe.
 */
SPD_API int spd_num_threads(void);

/**
 * @brief Allocation function of a custom allocator.
 * @param opaque The pointer given to spd_set_allocator().
 * @param size Number of bytes, > 0.
 * @return Memory aligned for any object type, or NULL on failure.
 */
typedef void *(*spd_alloc_fn)(void *opaque, size_t size);

/**
 * @brief Release function of a custom allocator.
 * @param opaque The pointer given to spd_set_allocator().
 * @param ptr A pointer returned by the matching #spd_alloc_fn; never NULL.
 */
typedef void (*spd_free_fn)(void *opaque, void *ptr);

/**
 * @brief Route every allocation the library makes through a custom allocator.
 *
 * Covers all memory libspreaddiv itself allocates: handles, arenas, work
 * buffers. It does not cover memory that BLIS and the OpenMP runtime
 * allocate internally. A failed allocation makes the call that needed it
 * return #SPD_E_NOMEM with nothing leaked.
 *
 * @param alloc_fn Allocation function, or NULL together with @p free_fn to
 *                 restore the default (malloc / free).
 * @param free_fn Release function matching @p alloc_fn.
 * @param opaque Passed unchanged to both functions; may be NULL.
 * @return #SPD_OK; #SPD_E_INVALID if exactly one of the functions is NULL;
 *         #SPD_E_STATE if memory obtained from the current allocator is
 *         still live (free every handle first, so that no block is ever
 *         released by the wrong allocator).
 * @note Process-wide. Call it before any other thread uses the library;
 *       it is not safe to call concurrently with other library calls.
 */
SPD_API SPD_NODISCARD int spd_set_allocator(spd_alloc_fn alloc_fn,
                                            spd_free_fn free_fn, void *opaque);

#ifdef __cplusplus
}
#endif

#endif /* SPREADDIV_CORE_H */
