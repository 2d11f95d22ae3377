/* Private declarations shared by the library's modules. Never installed.
 *
 * Internal functions are prefixed spdi_ so that they can never match the
 * public spd_ namespace (and its symbol tests), and stay namespaced when the
 * static library is linked into a host program. */
#ifndef SPDI_INTERNAL_H
#define SPDI_INTERNAL_H

#include <spreaddiv.h>

#include <omp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#  define SPDI_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#  define SPDI_PRINTF(fmt, args)
#endif

/* ---- errors (error.c) ---------------------------------------------------- */

/* Store "func: message" as the calling thread's last error; returns code so
 * that callers can write `return SPDI_FAIL(SPD_E_INVALID, "...")`. */
int spdi_set_error(int code, const char *func, const char *fmt, ...)
    SPDI_PRINTF(3, 4);
#define SPDI_FAIL(code, ...) spdi_set_error((code), __func__, __VA_ARGS__)

/* ---- memory (alloc.c) ---------------------------------------------------- */

/* Every block is SPDI_ALIGN-byte aligned (one cache line, any SIMD width)
 * and comes from the allocator hook. spdi_malloc(0) returns NULL. */
#define SPDI_ALIGN 64
void *spdi_malloc(size_t size);
void *spdi_calloc(size_t count, size_t size); /* zeroed, overflow-checked */
void spdi_free(void *ptr);                    /* NULL is fine */
size_t spdi_live_blocks(void);                /* blocks not yet freed */

/* a * b without wrap-around; false (and *out untouched) on overflow. */
static inline bool spdi_size_mul(size_t a, size_t b, size_t *out)
{
  size_t r;
  if (__builtin_mul_overflow(a, b, &r))
    return false;
  *out = r;
  return true;
}

/* ---- threads (threads.c) ------------------------------------------------- */

/* Threads for a parallel region started here: the spd_set_num_threads()
 * value, or 1 when already inside a parallel region (no nesting). */
int spdi_threads(void);

/* Runs the statements after n on n threads, each seeing tid_ (its number)
 * and nth_ (the team's size): in an OpenMP parallel region, or directly
 * where n <= 1. Entering a region costs a fork, a join and at least one
 * futex system call even with one thread (libgomp's barrier wakes its
 * waiters unconditionally): 1.2 us for an if(0) region and 2.8 us for a
 * nested one on the 2-vCPU VM of tests/bench/README.md, where one
 * training step of the decoder's last stride-2 layer at width 128 entered
 * about 290 of them, most inside a thread's own group of images (n = 1). */
#define SPDI_PARALLEL(n, ...)                                                   \
  do {                                                                          \
    const int spdi_n_ = (n);                                                    \
    if (spdi_n_ <= 1) {                                                         \
      const size_t tid_ = 0, nth_ = 1;                                          \
      (void)tid_, (void)nth_;                                                   \
      __VA_ARGS__                                                               \
    } else {                                                                    \
      _Pragma("omp parallel num_threads(spdi_n_)")                             \
      {                                                                         \
        const size_t tid_ = (size_t)omp_get_thread_num();                       \
        const size_t nth_ = (size_t)omp_get_num_threads();                      \
        (void)tid_, (void)nth_;                                                 \
        __VA_ARGS__                                                             \
      }                                                                         \
    }                                                                           \
  } while (0)

/* Thread tid of nth's part [*lo, *hi) of n items, in contiguous ranges
 * (as OpenMP's static schedule). */
static inline void spdi_static_range(size_t n, size_t tid, size_t nth, size_t *lo, size_t *hi)
{
  const size_t q = n / nth, r = n % nth;
  *lo = tid * q + (tid < r ? tid : r);
  *hi = *lo + q + (tid < r);
}

/* for (size_t i = 0; i < n; i++) { the statements after n } on nthreads
 * threads through SPDI_PARALLEL, each thread one contiguous range. */
#define SPDI_PARALLEL_FOR(nthreads, i, n, ...)                                  \
  SPDI_PARALLEL((nthreads), {                                                   \
    size_t i##_lo_, i##_hi_;                                                    \
    spdi_static_range((n), tid_, nth_, &i##_lo_, &i##_hi_);                     \
    for (size_t i = i##_lo_; i < i##_hi_; i++) {                                \
      __VA_ARGS__                                                               \
    }                                                                           \
  })

/* SPDI_PARALLEL_FOR with each thread's range vectorised (omp simd): for
 * loops whose iterations are independent. */
#define SPDI_PARALLEL_FOR_SIMD(nthreads, i, n, ...)                             \
  SPDI_PARALLEL((nthreads), {                                                   \
    size_t i##_lo_, i##_hi_;                                                    \
    spdi_static_range((n), tid_, nth_, &i##_lo_, &i##_hi_);                     \
    _Pragma("omp simd")                                                         \
    for (size_t i = i##_lo_; i < i##_hi_; i++) {                                \
      __VA_ARGS__                                                               \
    }                                                                           \
  })

/* ---- numeric checks (check.c) -------------------------------------------- */

bool spdi_all_finite(const float *x, size_t n);

#endif /* SPDI_INTERNAL_H */
