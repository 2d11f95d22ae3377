/* Non-temporal ("streaming") stores for outputs too large to stay cached.
 *
 * A plain store first reads its cache line from memory (write-allocate),
 * so writing a tensor that the caches cannot hold costs a read and a
 * write. A streaming store skips the read. It only pays when the line
 * would have left the cache before its next reader anyway: a pass that
 * writes SPDI_STREAM_MIN_BYTES also reads at least as much, 32 MiB in all,
 * the whole L3 of a Zen 4 core complex. Below that, streaming loses, as
 * the next op then reads the tensor from memory instead of L3. Batch norm
 * + ReLU forward and backward, a sum's gradient fill and a read of the
 * input gradient, 1 thread, Zen 4, streamed against plain: 0.97 against
 * 0.65 ms on 4 MiB tensors, even on 8 MiB, 4.8 against 6.1 ms on 16 MiB.
 * On the paper's first encoder layer at width 1024 (conv, batch norm +
 * ReLU, sum; 16 MiB activations) the step is 1.02-1.03 times faster on 1
 * and 2 threads (in-process A/B).
 *
 * Streaming stores are weakly ordered: a thread calls spdi_stream_fence()
 * after its last one and before any other thread may read what it wrote
 * (in practice, before the end of the parallel region). The values are
 * those the plain stores would have written: callers compute into a small
 * buffer with their usual kernel and copy it out with spdi_stream_copy().
 * Without AVX-512 (stream.c says why) these functions store plainly and
 * spdi_stream_worth() says false. */
#ifndef SPDI_STREAM_H
#define SPDI_STREAM_H

#include <stdbool.h>
#include <stddef.h>

#define SPDI_STREAM_MIN_BYTES ((size_t)16 << 20)

/* Floats per buffer of a streamed kernel: 1 KiB, in L1 with its source. */
#define SPDI_STREAM_CHUNK 256

/* Whether an output of this many floats is streamed: large enough, and
 * the CPU has AVX-512. Callers that get false use plain stores. */
bool spdi_stream_worth(size_t floats);

/* dst[i] = src[i] for i < n, streaming the 64-byte lines of dst that it
 * covers whole. */
void spdi_stream_copy(float *restrict dst, const float *restrict src, size_t n);

/* dst[i] = v for i < n, on the elementwise ops' threads (spdi_par_threads),
 * streamed and fenced:
 * the fill is complete and visible when it returns. */
void spdi_stream_fill(float *dst, float v, size_t n);

/* Orders this thread's streaming stores before its later stores. */
void spdi_stream_fence(void);

#endif
