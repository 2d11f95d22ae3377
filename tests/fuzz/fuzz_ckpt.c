/* Fuzz target: the checkpoint container reader (lib/ckpt_read.c).
 *
 * Input: one flag byte, then the file. With bit 0 of the flag set, the
 * target first rewrites every section CRC it can find, so that mutations
 * reach the entry parser behind the CRC check instead of all being
 * rejected by it. The file's own kind is asked for, so the kind check
 * passes. Every entry the reader returns is then looked up by name and
 * read with its own type (into a bounded buffer) and with a wrong one. */
#include "fuzz_common.h"

#include "ckpt.h"
#include "crc32.h"
#include "le.h"

#include <spreaddiv.h>

#include <stdlib.h>
#include <string.h>

static void fix_crcs(uint8_t *f, size_t n)
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size < 1)
    return 0;
  uint8_t flags = data[0];
  size_t n = size - 1;
  uint8_t *file = malloc(n ? n : 1);
  if (file == NULL)
    return 0;
  if (n)
    memcpy(file, data + 1, n);
  if (flags & 1)
    fix_crcs(file, n);
  uint32_t kind = n >= 16 ? spdi_get_le32(file + 12) : SPDI_TAG('T', 'E', 'S', 'T');
  const char *path = spdf_scratch_file(".spd", file, n);
  free(file);
  if (path == NULL)
    return 0;

  spdi_ckpt_reader *r = NULL;
  int st = spdi_ckpt_open(path, kind, &r);
  if (st != SPD_OK) {
    if (r != NULL || spd_last_error()[0] == '\0')
      abort(); /* failure must leave *out alone and say why */
    return 0;
  }
  size_t count = spdi_ckpt_entries(r);
  for (size_t i = 0; i < count; i++) {
    const spdi_ckpt_entry *e = spdi_ckpt_entry_at(r, i);
    if (e == NULL)
      abort();
    if (spdi_ckpt_find(r, e->section, e->name) != e)
      abort(); /* names are unique within a section */
    size_t esz = spdi_dtype_size(e->dtype);
    if (esz == 0)
      abort();
    if (e->count <= (1u << 16)) {
      void *buf = malloc((size_t)e->count * esz + 1);
      if (buf != NULL) {
        (void)spdi_ckpt_read(r, e, e->dtype, buf, e->count);
        spdi_dtype other = e->dtype == SPDI_DT_F32 ? SPDI_DT_F64 : SPDI_DT_F32;
        (void)spdi_ckpt_read(r, e, other, buf, e->count);
        (void)spdi_ckpt_read(r, e, e->dtype, buf, e->count + 1);
        free(buf);
      }
    }
    uint64_t u;
    double d;
    (void)spdi_ckpt_get_u64(r, e->section, e->name, &u);
    (void)spdi_ckpt_get_f64(r, e->section, e->name, &d);
    if (e->dtype == SPDI_DT_F32 && e->count <= (1u << 16)) {
      size_t dims[SPDI_CKPT_MAX_NDIM];
      for (int k = 0; k < e->ndim; k++)
        dims[k] = (size_t)e->dims[k];
      float *buf = malloc((size_t)e->count * sizeof(float) + 1);
      if (buf != NULL)
        (void)spdi_ckpt_get_f32(r, e->section, e->name, e->ndim, dims, buf);
      free(buf);
    }
  }
  (void)spdi_ckpt_entry_at(r, count);
  (void)spdi_ckpt_find(r, SPDI_TAG('N', 'O', 'P', 'E'), "missing");
  spdi_ckpt_close(r);
  return 0;
}
