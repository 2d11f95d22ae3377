/* For targets that read checkpoint files: rewrite every section CRC that can
 * be found (as the ckpt target does), so that mutated inputs reach the
 * parsers behind the CRC check instead of all being rejected by it. Needs
 * the library's internal headers (spreaddiv_internal_dep). */
#ifndef SPDF_FUZZ_FIXCRC_H
#define SPDF_FUZZ_FIXCRC_H

#include "crc32.h"
#include "le.h"

#include <stddef.h>
#include <stdint.h>

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

#endif /* SPDF_FUZZ_FIXCRC_H */
