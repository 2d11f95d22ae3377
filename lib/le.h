/* Little-endian encoding helpers for file formats: explicit byte order,
 * whatever the host's. */
#ifndef SPDI_LE_H
#define SPDI_LE_H

#include <stdint.h>
#include <string.h>

static inline void spdi_put_le16(unsigned char *p, uint16_t v)
{
  p[0] = (unsigned char)v;
  p[1] = (unsigned char)(v >> 8);
}

static inline void spdi_put_le32(unsigned char *p, uint32_t v)
{
  for (int i = 0; i < 4; i++)
    p[i] = (unsigned char)(v >> (8 * i));
}

static inline void spdi_put_le64(unsigned char *p, uint64_t v)
{
  for (int i = 0; i < 8; i++)
    p[i] = (unsigned char)(v >> (8 * i));
}

static inline uint16_t spdi_get_le16(const unsigned char *p)
{
  return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t spdi_get_le32(const unsigned char *p)
{
  uint32_t v = 0;
  for (int i = 3; i >= 0; i--)
    v = v << 8 | p[i];
  return v;
}

static inline uint64_t spdi_get_le64(const unsigned char *p)
{
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--)
    v = v << 8 | p[i];
  return v;
}

/* Array data is stored little-endian: a no-op on little-endian hosts,
 * a byte swap of each element elsewhere. */
static inline void spdi_le_swap(void *data, uint64_t count, size_t elem)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  unsigned char *p = data;
  for (uint64_t i = 0; i < count; i++, p += elem)
    for (size_t a = 0, b = elem - 1; a < b; a++, b--) {
      unsigned char t = p[a];
      p[a] = p[b];
      p[b] = t;
    }
#else
  (void)data;
  (void)count;
  (void)elem;
#endif
}

#endif /* SPDI_LE_H */
