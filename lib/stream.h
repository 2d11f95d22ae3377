/* Streaming (non-temporal) stores for outputs too large to stay in cache.
 *
 * A plain store to a line that is not in cache first reads the line from
 * memory (read for ownership): writing a 16 MiB tensor moves 32 MiB. A
 * streaming store writes whole lines without reading them and without
 * evicting what the cache holds. Only worth it for outputs that the cache
 * would not keep anyway: measured on batch norm + ReLU, forward and
 * backward (Zen 4, 32 MiB L3 shared with other tenants), streaming was
 * 3-8 % faster at 16 MiB, 0-2 % at 8 MiB, and 10 % slower at 1-2 MiB,
 * where the consumer, which usually runs next, finds a plainly stored
 * output in L2 or L3. Hence SPDI_STREAM_MIN_BYTES. Streaming the 16 MiB
 * gradient that a sum's backward fills with a constant was 1-2 % slower
 * over the layer: the batch norm that reads it next then finds none of it
 * in L3.
 *
 * Usage: compute a chunk of at most SPDI_STREAM_CHUNK floats into an
 * aligned buffer on the stack (so the kernels, and their bits, stay as
 * they are) and hand it to spdi_stream_copy(). Values are copied
 * unchanged, so results do not depend on whether a tensor streams. */
#ifndef SPDI_STREAM_H
#define SPDI_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) || defined(__SSE2__)
#  include <emmintrin.h>
#  define SPDI_STREAM_SSE2 1
#endif

#define SPDI_STREAM_MIN_BYTES ((size_t)8 << 20)
#define SPDI_STREAM_CHUNK 1024 /* floats: 4 KiB of buffer, in L1 */

/* Whether an output of n floats should be written by streaming stores. */
static inline bool spdi_stream_suits(size_t n)
{
#ifdef SPDI_STREAM_SSE2
  return n * sizeof(float) >= SPDI_STREAM_MIN_BYTES;
#else
  (void)n;
  return false;
#endif
}

/* dst[0, n) = src[0, n), by streaming stores where dst is 16-byte aligned
 * (the first and last few floats, if any, by plain stores). Streaming
 * stores are weakly ordered: each thread that made them calls
 * spdi_stream_fence() before the barrier that hands dst to other
 * threads. */
static inline void spdi_stream_copy(float *dst, const float *src, size_t n)
{
  size_t j = 0;
#ifdef SPDI_STREAM_SSE2
  for (; j < n && ((uintptr_t)(dst + j) & 15) != 0; j++)
    dst[j] = src[j];
  for (; j + 4 <= n; j += 4)
    _mm_stream_ps(dst + j, _mm_loadu_ps(src + j));
#endif
  memcpy(dst + j, src + j, (n - j) * sizeof *dst);
}

/* Makes this thread's streaming stores visible before its later stores
 * (and so before any barrier it then reaches). */
static inline void spdi_stream_fence(void)
{
#ifdef SPDI_STREAM_SSE2
  _mm_sfence();
#endif
}

#endif
