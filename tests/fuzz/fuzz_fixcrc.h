/* For targets that read checkpoint files: rewrite every section CRC that can
 * be found, so that mutated inputs reach the
 * parsers behind the CRC check instead of all being rejected by it. Needs
 * the library's internal headers (spreaddiv_internal_dep). */
#ifndef SPDF_FUZZ_FIXCRC_H
#define SPDF_FUZZ_FIXCRC_H

#include "crc32.h"
#include "le.h"

#include "fuzz_common.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static inline void spdf_fix_crcs(uint8_t *f, size_t n)
{
  size_t off = 16;
  while (off + 20 <= n) {
    uint64_t len = spdi_get_le64(f + off + 8);
    size_t avail = n - (off + 20);
    size_t take = len < avail ? (size_t)len : avail;
    uint32_t crc = spdi_crc32(0, f + off + 20, take);
    crc = spdi_crc32(crc, f + off, 16);
    spdi_put_le32(f + off + 16, crc);
    off += 20 + take;
  }
}

/* The input of a checkpoint-reading target: one flag byte, then the file.
 * With bit 0 of the flag set, the file's CRCs are fixed first. Writes the
 * file to the scratch path (spdf_scratch_file) and returns it, or NULL
 * (empty input, out of memory); *kind, if not NULL, receives the kind the
 * file's header names (or `fallback` for a file too short to have one). */
static inline const char *spdf_checkpoint_input(const uint8_t *data, size_t size,
                                                const char *suffix, uint32_t fallback,
                                                uint32_t *kind)
{
  if (size < 1)
    return NULL;
  size_t n = size - 1;
  uint8_t *file = malloc(n ? n : 1);
  if (file == NULL)
    return NULL;
  if (n)
    memcpy(file, data + 1, n);
  if (data[0] & 1)
    spdf_fix_crcs(file, n);
  if (kind)
    *kind = n >= 16 ? spdi_get_le32(file + 12) : fallback;
  const char *path = spdf_scratch_file(suffix, file, n);
  free(file);
  return path;
}

#endif /* SPDF_FUZZ_FIXCRC_H */
