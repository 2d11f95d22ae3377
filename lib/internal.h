/* Private declarations shared by the library's modules. Never installed.
 *
 * Internal functions are prefixed spdi_ so that they can never match the
 * public spd_ namespace (and its symbol tests), and stay namespaced when the
 * static library is linked into a host program. */
#ifndef SPDI_INTERNAL_H
#define SPDI_INTERNAL_H

#include <spreaddiv.h>

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

/* ---- numeric checks (check.c) -------------------------------------------- */

bool spdi_all_finite(const float *x, size_t n);

#endif /* SPDI_INTERNAL_H */
