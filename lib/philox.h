/* Philox4x32-10 (Salmon, Moraes, Dror, Shaw, SC'11), as in Random123. */
#ifndef SPDI_PHILOX_H
#define SPDI_PHILOX_H

#include <stdint.h>

static inline uint32_t spdi_mulhilo32(uint32_t a, uint32_t b, uint32_t *hi)
{
  uint64_t p = (uint64_t)a * b;
  *hi = (uint32_t)(p >> 32);
  return (uint32_t)p;
}

/* One 128-bit block: out = philox4x32_10(ctr, key). */
static inline void spdi_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2],
                                      uint32_t out[4])
{
  uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
  uint32_t k0 = key[0], k1 = key[1];
  for (int round = 0; round < 10; round++) {
    uint32_t hi0, hi1;
    uint32_t lo0 = spdi_mulhilo32(0xD2511F53u, c0, &hi0);
    uint32_t lo1 = spdi_mulhilo32(0xCD9E8D57u, c2, &hi1);
    c0 = hi1 ^ c1 ^ k0;
    c1 = lo1;
    c2 = hi0 ^ c3 ^ k1;
    c3 = lo0;
    k0 += 0x9E3779B9u; /* Weyl sequence: golden ratio and sqrt(3) - 1 */
    k1 += 0xBB67AE85u;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
}

#endif /* SPDI_PHILOX_H */
