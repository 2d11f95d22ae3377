/* Checkpoint writer: streams sections through a buffer into a temporary
 * file, patches each section header (length, CRC) once its payload is
 * written, and renames the finished file over the target. */
#include "ckpt.h"
#include "crc32.h"
#include "internal.h"
#include "le.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define BUF_SIZE (1u << 16)
#define SECTION_HEADER 20 /* tag u32, count u32, length u64, crc u32 */

static const unsigned char magic[8] = { 0x89, 'S', 'P', 'D', '\r', '\n', 0x1a, '\n' };

struct spdi_ckpt_writer {
  int fd;
  int status;           /* sticky first failure */
  char *path, *tmp_path;
  unsigned char buf[BUF_SIZE];
  size_t buf_used;
  uint64_t file_pos;    /* bytes handed to the file so far, buffer included */
  /* current section */
  int in_section;
  uint32_t tag, count;
  uint64_t header_pos, payload_len;
  uint32_t crc;
  uint32_t entries_total;
};

size_t spdi_dtype_size(spdi_dtype dtype)
{
  switch (dtype) {
  case SPDI_DT_F32: return 4;
  case SPDI_DT_F64: return 8;
  case SPDI_DT_U64: return 8;
  case SPDI_DT_I64: return 8;
  case SPDI_DT_U8: return 1;
  case SPDI_DT_U32: return 4;
  }
  return 0;
}

static int fail(spdi_ckpt_writer *w, int code, const char *what)
{
  if (w->status == SPD_OK)
    w->status = spdi_set_error(code, "checkpoint", "%s: %s%s%s", w->path, what,
                               code == SPD_E_IO ? ": " : "",
                               code == SPD_E_IO ? strerror(errno) : "");
  return w->status;
}

static int write_all(spdi_ckpt_writer *w, const void *data, size_t len)
{
  const unsigned char *p = data;
  while (len > 0) {
    ssize_t n = write(w->fd, p, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return fail(w, SPD_E_IO, "write failed");
    p += n;
    len -= (size_t)n;
  }
  return SPD_OK;
}

static int flush(spdi_ckpt_writer *w)
{
  int st = write_all(w, w->buf, w->buf_used);
  w->buf_used = 0;
  return st;
}

/* Append bytes; inside a section they count towards its length and CRC.
 * `elem` > 1 byte-swaps each element on big-endian hosts. */
static int emit(spdi_ckpt_writer *w, const void *data, uint64_t len, size_t elem)
{
  const unsigned char *p = data;
  while (len > 0 && w->status == SPD_OK) {
    size_t room = BUF_SIZE - w->buf_used;
    room -= room % elem; /* whole elements only, for the swap */
    if (room == 0) {
      if (flush(w) != SPD_OK)
        break;
      continue;
    }
    size_t n = len < room ? (size_t)len : room;
    unsigned char *dst = w->buf + w->buf_used;
    memcpy(dst, p, n);
    spdi_le_swap(dst, n / elem, elem);
    if (w->in_section) {
      w->crc = spdi_crc32(w->crc, dst, n);
      w->payload_len += n;
    }
    w->buf_used += n;
    w->file_pos += n;
    p += n;
    len -= n;
  }
  return w->status;
}

static void free_writer(spdi_ckpt_writer *w)
{
  spdi_free(w->path);
  spdi_free(w->tmp_path);
  spdi_free(w);
}

static char *copy_string(const char *s)
{
  size_t n = strlen(s) + 1;
  char *c = spdi_malloc(n);
  if (c)
    memcpy(c, s, n);
  return c;
}

int spdi_ckpt_create(const char *path, uint32_t kind, spdi_ckpt_writer **out)
{
  static atomic_uint serial;
  if (path == NULL || path[0] == '\0' || out == NULL)
    return SPDI_FAIL(SPD_E_INVALID, "path or out is NULL or empty");
  spdi_ckpt_writer *w = spdi_calloc(1, sizeof *w);
  size_t tmp_len = strlen(path) + 48;
  if (w == NULL || (w->path = copy_string(path)) == NULL ||
      (w->tmp_path = spdi_malloc(tmp_len)) == NULL) {
    if (w)
      free_writer(w);
    return SPDI_FAIL(SPD_E_NOMEM, "cannot allocate the checkpoint writer");
  }
  /* A unique name beside the target, so the final rename stays within one
   * file system; O_EXCL never follows or reuses someone else's file. */
  w->fd = -1;
  for (int attempt = 0; attempt < 16 && w->fd < 0; attempt++) {
    snprintf(w->tmp_path, tmp_len, "%s.tmp-%ld-%u", path, (long)getpid(),
             atomic_fetch_add(&serial, 1));
    w->fd = open(w->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (w->fd < 0 && errno != EEXIST)
      break;
  }
  if (w->fd < 0) {
    int st = spdi_set_error(SPD_E_IO, __func__, "%s: cannot create %s: %s", path,
                            w->tmp_path, strerror(errno));
    free_writer(w);
    return st;
  }
  unsigned char header[16];
  memcpy(header, magic, 8);
  spdi_put_le32(header + 8, SPDI_CKPT_VERSION);
  spdi_put_le32(header + 12, kind);
  if (emit(w, header, sizeof header, 1) != SPD_OK) {
    int st = w->status;
    spdi_ckpt_abort(w);
    return st;
  }
  *out = w;
  return SPD_OK;
}

int spdi_ckpt_begin(spdi_ckpt_writer *w, uint32_t tag)
{
  if (w->status != SPD_OK)
    return w->status;
  if (w->in_section)
    return fail(w, SPD_E_STATE, "section begun inside another");
  unsigned char zero[SECTION_HEADER] = { 0 };
  w->header_pos = w->file_pos;
  if (emit(w, zero, sizeof zero, 1) != SPD_OK) /* patched by spdi_ckpt_end */
    return w->status;
  w->in_section = 1;
  w->tag = tag;
  w->count = 0;
  w->payload_len = 0;
  w->crc = 0;
  return SPD_OK;
}

int spdi_ckpt_put(spdi_ckpt_writer *w, const char *name, spdi_dtype dtype,
                  int ndim, const uint64_t *dims, const void *data)
{
  if (w->status != SPD_OK)
    return w->status;
  size_t name_len = name ? strlen(name) : 0;
  size_t elem = spdi_dtype_size(dtype);
  if (!w->in_section)
    return fail(w, SPD_E_STATE, "entry written outside a section");
  if (name_len == 0 || name_len > SPDI_CKPT_MAX_NAME || elem == 0 ||
      ndim < 0 || ndim > SPDI_CKPT_MAX_NDIM || (ndim > 0 && dims == NULL))
    return fail(w, SPD_E_INVALID, "bad entry name, type or rank");
  if (w->entries_total >= SPDI_CKPT_MAX_ENTRIES)
    return fail(w, SPD_E_OVERFLOW, "too many entries for one file");
  uint64_t count = 1;
  for (int d = 0; d < ndim; d++)
    if (__builtin_mul_overflow(count, dims[d], &count))
      return fail(w, SPD_E_OVERFLOW, "entry size overflows");
  uint64_t bytes;
  if (__builtin_mul_overflow(count, (uint64_t)elem, &bytes))
    return fail(w, SPD_E_OVERFLOW, "entry size overflows");
  if (bytes > 0 && data == NULL)
    return fail(w, SPD_E_INVALID, "entry data is NULL");

  unsigned char head[2 + SPDI_CKPT_MAX_NAME + 2 + 8 * SPDI_CKPT_MAX_NDIM];
  size_t h = 0;
  spdi_put_le16(head, (uint16_t)name_len);
  memcpy(head + 2, name, name_len);
  h = 2 + name_len;
  head[h++] = (unsigned char)dtype;
  head[h++] = (unsigned char)ndim;
  for (int d = 0; d < ndim; d++, h += 8)
    spdi_put_le64(head + h, dims[d]);
  if (emit(w, head, h, 1) != SPD_OK || emit(w, data, bytes, elem) != SPD_OK)
    return w->status;
  w->count++;
  w->entries_total++;
  return SPD_OK;
}

int spdi_ckpt_put_f32(spdi_ckpt_writer *w, const char *name, int ndim,
                      const size_t *dims, const float *data)
{
  uint64_t d64[SPDI_CKPT_MAX_NDIM];
  if (ndim < 0 || ndim > SPDI_CKPT_MAX_NDIM)
    return fail(w, SPD_E_INVALID, "bad entry rank");
  for (int d = 0; d < ndim; d++)
    d64[d] = dims[d];
  return spdi_ckpt_put(w, name, SPDI_DT_F32, ndim, d64, data);
}

int spdi_ckpt_put_u64(spdi_ckpt_writer *w, const char *name, uint64_t value)
{
  return spdi_ckpt_put(w, name, SPDI_DT_U64, 0, NULL, &value);
}

int spdi_ckpt_put_f64(spdi_ckpt_writer *w, const char *name, double value)
{
  return spdi_ckpt_put(w, name, SPDI_DT_F64, 0, NULL, &value);
}

int spdi_ckpt_put_bytes(spdi_ckpt_writer *w, const char *name, const void *data,
                        size_t len)
{
  uint64_t dim = len;
  return spdi_ckpt_put(w, name, SPDI_DT_U8, 1, &dim, data);
}

int spdi_ckpt_end(spdi_ckpt_writer *w)
{
  if (w->status != SPD_OK)
    return w->status;
  if (!w->in_section)
    return fail(w, SPD_E_STATE, "section ended twice");
  unsigned char head[SECTION_HEADER];
  spdi_put_le32(head, w->tag);
  spdi_put_le32(head + 4, w->count);
  spdi_put_le64(head + 8, w->payload_len);
  /* The CRC covers the payload, then tag, count and length. */
  spdi_put_le32(head + 16, spdi_crc32(w->crc, head, 16));
  w->in_section = 0;
  if (flush(w) != SPD_OK)
    return w->status;
  ssize_t n;
  do
    n = pwrite(w->fd, head, sizeof head, (off_t)w->header_pos);
  while (n < 0 && errno == EINTR);
  if (n != (ssize_t)sizeof head)
    return fail(w, SPD_E_IO, "write failed");
  return SPD_OK;
}

static int sync_directory(spdi_ckpt_writer *w)
{
  char *dir = copy_string(w->path);
  if (dir == NULL)
    return fail(w, SPD_E_NOMEM, "cannot allocate");
  char *slash = strrchr(dir, '/');
  const char *d = dir;
  if (slash == NULL)
    d = ".";
  else if (slash == dir)
    slash[1] = '\0';
  else
    *slash = '\0';
  int fd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int ok = fd >= 0 && fsync(fd) == 0;
  if (fd >= 0)
    close(fd);
  spdi_free(dir);
  return ok ? SPD_OK : fail(w, SPD_E_IO, "cannot sync the directory");
}

int spdi_ckpt_commit(spdi_ckpt_writer *w)
{
  if (w->status == SPD_OK && w->in_section)
    fail(w, SPD_E_STATE, "commit inside an open section");
  if (w->status == SPD_OK) {
    spdi_ckpt_begin(w, SPDI_TAG('E', 'N', 'D', '\0'));
    spdi_ckpt_end(w);
  }
  if (w->status == SPD_OK && fsync(w->fd) != 0)
    fail(w, SPD_E_IO, "fsync failed");
  int fd = w->fd;
  w->fd = -1;
  if (close(fd) != 0 && w->status == SPD_OK)
    fail(w, SPD_E_IO, "close failed");
  if (w->status == SPD_OK && rename(w->tmp_path, w->path) != 0)
    fail(w, SPD_E_IO, "cannot rename the temporary file over it");
  if (w->status != SPD_OK) {
    int st = w->status;
    unlink(w->tmp_path);
    free_writer(w);
    return st;
  }
  /* The data is safe once renamed; the directory sync makes the rename
   * itself survive a power cut. */
  int st = sync_directory(w);
  free_writer(w);
  return st;
}

void spdi_ckpt_abort(spdi_ckpt_writer *w)
{
  if (w == NULL)
    return;
  if (w->fd >= 0)
    close(w->fd);
  unlink(w->tmp_path);
  free_writer(w);
}
