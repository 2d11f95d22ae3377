/* Aligned allocation through the optional allocator hook.
 *
 * The hook only promises malloc alignment, so each block is over-allocated
 * and the pointer the hook returned is stored just below the aligned one. */
#include "internal.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void *default_alloc(void *opaque, size_t size)
{
  (void)opaque;
  return malloc(size);
}

static void default_free(void *opaque, void *ptr)
{
  (void)opaque;
  free(ptr);
}

static spd_alloc_fn hook_alloc = default_alloc;
static spd_free_fn hook_free = default_free;
static void *hook_opaque;
static atomic_size_t live_blocks;

int spd_set_allocator(spd_alloc_fn alloc_fn, spd_free_fn free_fn, void *opaque)
{
  if ((alloc_fn == NULL) != (free_fn == NULL))
    return SPDI_FAIL(SPD_E_INVALID, "give both functions, or neither to restore malloc/free");
  size_t live = atomic_load(&live_blocks);
  if (live != 0)
    return SPDI_FAIL(SPD_E_STATE, "%zu blocks from the current allocator are still live; "
                     "free every handle first", live);
  hook_alloc = alloc_fn ? alloc_fn : default_alloc;
  hook_free = free_fn ? free_fn : default_free;
  hook_opaque = alloc_fn ? opaque : NULL;
  return SPD_OK;
}

void *spdi_malloc(size_t size)
{
  const size_t extra = SPDI_ALIGN + sizeof(void *);
  /* No object may exceed PTRDIFF_MAX (glibc's malloc refuses it too): such
   * a request is a size computation gone wrong, not one for the hook. */
  if (size == 0 || size > (size_t)PTRDIFF_MAX - extra)
    return NULL;
  unsigned char *raw = hook_alloc(hook_opaque, size + extra);
  if (raw == NULL)
    return NULL;
  uintptr_t p = (uintptr_t)(raw + sizeof(void *));
  p = (p + SPDI_ALIGN - 1) & ~(uintptr_t)(SPDI_ALIGN - 1);
  void **slot = (void **)p - 1;
  *slot = raw;
  atomic_fetch_add(&live_blocks, 1);
  return (void *)p;
}

void *spdi_calloc(size_t count, size_t size)
{
  size_t bytes;
  if (!spdi_size_mul(count, size, &bytes))
    return NULL;
  void *p = spdi_malloc(bytes);
  if (p != NULL)
    memset(p, 0, bytes);
  return p;
}

void spdi_free(void *ptr)
{
  if (ptr == NULL)
    return;
  void *raw = ((void **)ptr)[-1];
  atomic_fetch_sub(&live_blocks, 1);
  hook_free(hook_opaque, raw);
}

size_t spdi_live_blocks(void)
{
  return atomic_load(&live_blocks);
}
