/* The checkpoint container: a versioned, little-endian file of CRC-checked
 * sections holding named arrays. The byte layout is specified in
 * doc/checkpoint.md; generators, optimizers and training states are stored
 * in it by their own modules.
 *
 * Writing is atomic: data goes to a temporary file beside the target, which
 * is fsync'ed and renamed over it, so a crash mid-save leaves the previous
 * file intact. Reading validates the whole file (magic, version, kind,
 * section CRCs, entry bounds) before anything is returned, and never
 * allocates more than a fixed bound whatever the file claims. */
#ifndef SPDI_CKPT_H
#define SPDI_CKPT_H

#include <stddef.h>
#include <stdint.h>

#define SPDI_CKPT_VERSION 1           /* format version written */
#define SPDI_CKPT_MAX_ENTRIES 65536   /* per file: bounds the reader's index */
#define SPDI_CKPT_MAX_NDIM 8
#define SPDI_CKPT_MAX_NAME 255        /* bytes, without a terminator */

/* Four ASCII characters as a little-endian u32 (how tags sit in the file). */
#define SPDI_TAG(a, b, c, d)                                                 \
  ((uint32_t)(unsigned char)(a) | (uint32_t)(unsigned char)(b) << 8 |       \
   (uint32_t)(unsigned char)(c) << 16 | (uint32_t)(unsigned char)(d) << 24)

typedef enum {
  SPDI_DT_F32 = 1,
  SPDI_DT_F64 = 2,
  SPDI_DT_U64 = 3,
  SPDI_DT_I64 = 4,
  SPDI_DT_U8 = 5,
  SPDI_DT_U32 = 6,
} spdi_dtype;

size_t spdi_dtype_size(spdi_dtype dtype); /* 0 for unknown values */

/* ---- writing ------------------------------------------------------------ */

typedef struct spdi_ckpt_writer spdi_ckpt_writer;

/* Start a file of the given kind (a tag such as SPDI_TAG('G','E','N','R'))
 * in a temporary file beside `path`. */
int spdi_ckpt_create(const char *path, uint32_t kind, spdi_ckpt_writer **out);

/* Sections hold entries. Names must be unique within a section: the reader
 * rejects repeats (writers use fixed names, so they are not re-checked
 * here). The first failure is sticky: later calls return it and commit
 * reports it, so a caller may issue all puts and check only the commit. */
int spdi_ckpt_begin(spdi_ckpt_writer *w, uint32_t tag);
int spdi_ckpt_put(spdi_ckpt_writer *w, const char *name, spdi_dtype dtype,
                  int ndim, const uint64_t *dims, const void *data);
int spdi_ckpt_put_f32(spdi_ckpt_writer *w, const char *name, int ndim,
                      const size_t *dims, const float *data);
int spdi_ckpt_put_u64(spdi_ckpt_writer *w, const char *name, uint64_t value);
int spdi_ckpt_put_f64(spdi_ckpt_writer *w, const char *name, double value);
int spdi_ckpt_put_bytes(spdi_ckpt_writer *w, const char *name,
                        const void *data, size_t len);
int spdi_ckpt_end(spdi_ckpt_writer *w);

/* Finish (end marker, fsync, rename over `path`, fsync the directory) and
 * free the writer. On failure the temporary file is removed and `path` is
 * unchanged. */
int spdi_ckpt_commit(spdi_ckpt_writer *w);

/* Drop everything written and free the writer; NULL is fine. */
void spdi_ckpt_abort(spdi_ckpt_writer *w);

/* ---- reading ------------------------------------------------------------ */

typedef struct spdi_ckpt_reader spdi_ckpt_reader;

typedef struct {
  uint32_t section;                 /* tag of the section holding it */
  char name[SPDI_CKPT_MAX_NAME + 1];
  spdi_dtype dtype;
  int ndim;
  uint64_t dims[SPDI_CKPT_MAX_NDIM];
  uint64_t count;                   /* product of dims (1 for a scalar) */
  uint64_t offset;                  /* of the data in the file */
} spdi_ckpt_entry;

/* Open and validate a whole file; `kind` must match the file's kind.
 * SPD_E_IO if it cannot be read, SPD_E_FORMAT if it is not a valid
 * checkpoint of that kind (the message names the file and the defect). */
int spdi_ckpt_open(const char *path, uint32_t kind, spdi_ckpt_reader **out);
void spdi_ckpt_close(spdi_ckpt_reader *r); /* NULL is fine */

size_t spdi_ckpt_entries(const spdi_ckpt_reader *r);
const spdi_ckpt_entry *spdi_ckpt_entry_at(const spdi_ckpt_reader *r, size_t i);
const spdi_ckpt_entry *spdi_ckpt_find(const spdi_ckpt_reader *r,
                                      uint32_t section, const char *name);

/* Read one entry's data; dtype and element count must match the entry
 * (SPD_E_FORMAT with a message otherwise). */
int spdi_ckpt_read(spdi_ckpt_reader *r, const spdi_ckpt_entry *e,
                   spdi_dtype dtype, void *dst, uint64_t count);

/* Find + check + read helpers. get_f32 requires the exact shape given. */
int spdi_ckpt_get_f32(spdi_ckpt_reader *r, uint32_t section, const char *name,
                      int ndim, const size_t *dims, float *dst);
int spdi_ckpt_get_u64(spdi_ckpt_reader *r, uint32_t section, const char *name,
                      uint64_t *value);
int spdi_ckpt_get_f64(spdi_ckpt_reader *r, uint32_t section, const char *name,
                      double *value);

#endif /* SPDI_CKPT_H */
