/* Streaming stores (stream.h), 64 bytes at a time with AVX-512: on Zen 4,
 * 16-byte MOVNTPS through the same buffer were no faster than plain
 * stores (a batch norm and ReLU forward on 16 MiB: 1.32-1.37 ms against
 * 1.33-1.35 plain and 1.23-1.29 with 64-byte stores). */
#include "stream.h"

#include "cpu.h"
#include "tape_impl.h"

#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#  include <immintrin.h>
#  define STREAM_X86 1
#endif

bool spdi_stream_worth(size_t floats)
{
#ifdef STREAM_X86
  return floats >= SPDI_STREAM_MIN_BYTES / sizeof(float) && spdi_isa_ok(SPDI_ISA_AVX512);
#else
  (void)floats;
  return false;
#endif
}

#ifdef STREAM_X86
/* Leading floats of dst to store plainly, up to its first line boundary. */
static size_t head_len(const float *dst, size_t n)
{
  const size_t head = (64 - (uintptr_t)dst % 64) % 64 / sizeof(float);
  return head < n ? head : n;
}

__attribute__((target("avx512f"))) static void copy_lines(float *restrict dst,
                                                         const float *restrict src, size_t n)
{
  size_t i = head_len(dst, n);
  memcpy(dst, src, i * sizeof *dst);
  for (; i + 16 <= n; i += 16)
    _mm512_stream_ps(dst + i, _mm512_loadu_ps(src + i));
  memcpy(dst + i, src + i, (n - i) * sizeof *dst);
}

__attribute__((target("avx512f"))) static void fill_lines(float *dst, float v, size_t n)
{
  size_t i = head_len(dst, n);
  for (size_t j = 0; j < i; j++)
    dst[j] = v;
  const __m512 v16 = _mm512_set1_ps(v);
  for (; i + 16 <= n; i += 16)
    _mm512_stream_ps(dst + i, v16);
  for (; i < n; i++)
    dst[i] = v;
}
#endif

void spdi_stream_copy(float *restrict dst, const float *restrict src, size_t n)
{
#ifdef STREAM_X86
  if (spdi_isa_ok(SPDI_ISA_AVX512)) {
    copy_lines(dst, src, n);
    return;
  }
#endif
  memcpy(dst, src, n * sizeof *dst);
}

void spdi_stream_fence(void)
{
#ifdef STREAM_X86
  _mm_sfence();
#endif
}

/* One thread's part of spdi_stream_fill, fenced. */
static void fill_part(float *dst, float v, size_t n)
{
#ifdef STREAM_X86
  if (spdi_isa_ok(SPDI_ISA_AVX512)) {
    fill_lines(dst, v, n);
    _mm_sfence();
    return;
  }
#endif
  for (size_t i = 0; i < n; i++)
    dst[i] = v;
}

void spdi_stream_fill(float *dst, float v, size_t n)
{
  const int T = spdi_par_threads(n);
  SPDI_PARALLEL_FOR(T, p, (size_t)T, {
    const size_t i0 = n * p / (size_t)T, i1 = n * (p + 1) / (size_t)T;
    fill_part(dst + i0, v, i1 - i0);
  });
}
