/* CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320, as zlib and PNG):
 * crc32("123456789") = 0xCBF43926. */
#ifndef SPDI_CRC32_H
#define SPDI_CRC32_H

#include <stddef.h>
#include <stdint.h>

/* Continue a CRC: start with crc = 0, feed the data in any split. */
uint32_t spdi_crc32(uint32_t crc, const void *data, size_t len);

#endif /* SPDI_CRC32_H */
