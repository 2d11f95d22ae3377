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
#include "fuzz_fixcrc.h"
#include "le.h"

#include <spreaddiv.h>

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  uint32_t kind = 0;
  const char *path = spdf_checkpoint_input(data, size, ".spd", SPDI_TAG('T', 'E', 'S', 'T'), &kind);
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
