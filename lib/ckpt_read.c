/* Checkpoint reader: validates a whole file before anything is used.
 *
 * Hostile input is the design case: every length is checked against the
 * bytes that actually remain, every size product against overflow, each
 * section against its CRC, and the index is capped at
 * SPDI_CKPT_MAX_ENTRIES, so no file can make us read out of bounds or
 * allocate more than a fixed amount. */
#include "ckpt.h"
#include "crc32.h"
#include "internal.h"
#include "le.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CRC_CHUNK (1u << 20)
#define SECTION_HEADER 20

static const unsigned char magic[8] = { 0x89, 'S', 'P', 'D', '\r', '\n', 0x1a, '\n' };

struct spdi_ckpt_reader {
  int fd;
  char *path;
  uint64_t size;
  spdi_ckpt_entry *entries;         /* file order */
  const spdi_ckpt_entry **sorted;   /* by (section, name), for lookups */
  size_t n, cap;
};

/* A tag as printable text, for messages. */
static const char *tag_text(uint32_t tag, char out[5])
{
  for (int i = 0; i < 4; i++) {
    unsigned char c = (unsigned char)(tag >> (8 * i));
    out[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
  }
  out[4] = '\0';
  return out;
}

/* 1 on success, 0 at end of file or on a short read, -1 on an I/O error. */
static int read_at(int fd, void *buf, size_t len, uint64_t off)
{
  unsigned char *p = buf;
  while (len > 0) {
    ssize_t n = pread(fd, p, len, (off_t)off);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return -1;
    if (n == 0)
      return 0;
    p += n;
    len -= (size_t)n;
    off += (uint64_t)n;
  }
  return 1;
}

#define BAD(...) spdi_set_error(SPD_E_FORMAT, "checkpoint", __VA_ARGS__)

static int read_or_fail(const spdi_ckpt_reader *r, void *buf, size_t len, uint64_t off)
{
  int got = read_at(r->fd, buf, len, off);
  if (got < 0)
    return spdi_set_error(SPD_E_IO, "checkpoint", "%s: read failed: %s", r->path,
                          strerror(errno));
  if (got == 0)
    return BAD("%s: truncated at byte %llu", r->path, (unsigned long long)off);
  return SPD_OK;
}

static int check_crc(const spdi_ckpt_reader *r, const unsigned char head[SECTION_HEADER],
                     uint64_t start, uint64_t len, unsigned char *chunk)
{
  uint32_t crc = 0;
  for (uint64_t done = 0; done < len;) {
    size_t n = len - done < CRC_CHUNK ? (size_t)(len - done) : CRC_CHUNK;
    int st = read_or_fail(r, chunk, n, start + done);
    if (st != SPD_OK)
      return st;
    crc = spdi_crc32(crc, chunk, n);
    done += n;
  }
  crc = spdi_crc32(crc, head, 16);
  if (crc != spdi_get_le32(head + 16)) {
    char t[5];
    return BAD("%s: section '%s' at byte %llu fails its CRC check (corrupt)", r->path,
               tag_text(spdi_get_le32(head), t), (unsigned long long)(start - SECTION_HEADER));
  }
  return SPD_OK;
}

/* Parse one entry header at *pos (inside [*pos, end)) and append it. */
static int parse_entry(spdi_ckpt_reader *r, uint32_t tag, uint64_t *pos, uint64_t end)
{
  unsigned char head[2 + SPDI_CKPT_MAX_NAME + 2 + 8 * SPDI_CKPT_MAX_NDIM];
  uint64_t avail = end - *pos;
  size_t want = avail < sizeof head ? (size_t)avail : sizeof head;
  if (want < 2 + 1 + 2)
    return BAD("%s: entry header at byte %llu runs past its section", r->path,
               (unsigned long long)*pos);
  int st = read_or_fail(r, head, want, *pos);
  if (st != SPD_OK)
    return st;
  size_t name_len = spdi_get_le16(head);
  if (name_len == 0 || name_len > SPDI_CKPT_MAX_NAME || 2 + name_len + 2 > want)
    return BAD("%s: bad entry name length %zu at byte %llu", r->path, name_len,
               (unsigned long long)*pos);
  if (memchr(head + 2, '\0', name_len) != NULL)
    return BAD("%s: entry name with a NUL byte at byte %llu", r->path,
               (unsigned long long)*pos);
  if (r->n == r->cap) /* cannot happen: each entry takes >= 5 bytes */
    return BAD("%s: too many entries", r->path);
  spdi_ckpt_entry *e = &r->entries[r->n];
  memset(e, 0, sizeof *e);
  e->section = tag;
  memcpy(e->name, head + 2, name_len);
  size_t h = 2 + name_len;
  e->dtype = (spdi_dtype)head[h];
  e->ndim = head[h + 1];
  h += 2;
  size_t elem = spdi_dtype_size(e->dtype);
  if (elem == 0 || e->ndim > SPDI_CKPT_MAX_NDIM || h + 8 * (size_t)e->ndim > want)
    return BAD("%s: entry '%s' has an unknown type or a bad rank", r->path, e->name);
  e->count = 1;
  for (int d = 0; d < e->ndim; d++, h += 8) {
    e->dims[d] = spdi_get_le64(head + h);
    if (__builtin_mul_overflow(e->count, e->dims[d], &e->count))
      return BAD("%s: entry '%s' has an overflowing shape", r->path, e->name);
  }
  uint64_t bytes;
  if (__builtin_mul_overflow(e->count, (uint64_t)elem, &bytes) || bytes > end - *pos - h)
    return BAD("%s: entry '%s' claims more data than its section holds", r->path, e->name);
  e->offset = *pos + h;
  *pos = e->offset + bytes;
  r->n++;
  return SPD_OK;
}

static int compare_key(const spdi_ckpt_entry *a, uint32_t section, const char *name)
{
  if (a->section != section)
    return a->section < section ? -1 : 1;
  return strcmp(a->name, name);
}

static int compare_entries(const void *pa, const void *pb)
{
  const spdi_ckpt_entry *b = *(const spdi_ckpt_entry *const *)pb;
  return compare_key(*(const spdi_ckpt_entry *const *)pa, b->section, b->name);
}

static int parse_file(spdi_ckpt_reader *r, uint32_t kind, unsigned char *chunk)
{
  unsigned char head[SECTION_HEADER];
  char t1[5], t2[5];
  if (r->size < 16)
    return BAD("%s: too short to be a checkpoint (%llu bytes)", r->path,
               (unsigned long long)r->size);
  int st = read_or_fail(r, head, 16, 0);
  if (st != SPD_OK)
    return st;
  if (memcmp(head, magic, 8) != 0)
    return BAD("%s: not a libspreaddiv checkpoint (bad magic)", r->path);
  uint32_t version = spdi_get_le32(head + 8);
  if (version == 0 || version > SPDI_CKPT_VERSION)
    return BAD("%s: format version %u, this library reads versions 1 to %d", r->path,
               version, SPDI_CKPT_VERSION);
  if (spdi_get_le32(head + 12) != kind)
    return BAD("%s: holds a '%s' checkpoint, expected '%s'", r->path,
               tag_text(spdi_get_le32(head + 12), t1), tag_text(kind, t2));

  for (uint64_t pos = 16;;) {
    if (r->size - pos < SECTION_HEADER)
      return BAD("%s: truncated at byte %llu (no end marker)", r->path,
                 (unsigned long long)pos);
    if ((st = read_or_fail(r, head, SECTION_HEADER, pos)) != SPD_OK)
      return st;
    uint32_t tag = spdi_get_le32(head), count = spdi_get_le32(head + 4);
    uint64_t len = spdi_get_le64(head + 8), start = pos + SECTION_HEADER;
    if (len > r->size - start)
      return BAD("%s: truncated: section '%s' at byte %llu claims %llu bytes, %llu remain",
                 r->path, tag_text(tag, t1), (unsigned long long)pos,
                 (unsigned long long)len, (unsigned long long)(r->size - start));
    if ((st = check_crc(r, head, start, len, chunk)) != SPD_OK)
      return st;
    if (tag == SPDI_TAG('E', 'N', 'D', '\0')) {
      if (count != 0 || len != 0 || start != r->size)
        return BAD("%s: malformed end marker or data after it", r->path);
      break;
    }
    if (count > SPDI_CKPT_MAX_ENTRIES - r->n)
      return BAD("%s: more than %d entries", r->path, SPDI_CKPT_MAX_ENTRIES);
    uint64_t at = start, end = start + len;
    for (uint32_t i = 0; i < count; i++)
      if ((st = parse_entry(r, tag, &at, end)) != SPD_OK)
        return st;
    if (at != end)
      return BAD("%s: section '%s' has %llu stray bytes", r->path, tag_text(tag, t1),
                 (unsigned long long)(end - at));
    pos = end;
  }

  for (size_t i = 0; i < r->n; i++)
    r->sorted[i] = &r->entries[i];
  qsort(r->sorted, r->n, sizeof *r->sorted, compare_entries);
  for (size_t i = 1; i < r->n; i++)
    if (compare_entries(&r->sorted[i - 1], &r->sorted[i]) == 0)
      return BAD("%s: entry '%s' appears twice in section '%s'", r->path,
                 r->sorted[i]->name, tag_text(r->sorted[i]->section, t1));
  return SPD_OK;
}

void spdi_ckpt_close(spdi_ckpt_reader *r)
{
  if (r == NULL)
    return;
  if (r->fd >= 0)
    close(r->fd);
  spdi_free(r->path);
  spdi_free(r->entries);
  spdi_free(r->sorted);
  spdi_free(r);
}

int spdi_ckpt_open(const char *path, uint32_t kind, spdi_ckpt_reader **out)
{
  if (path == NULL || out == NULL)
    return SPDI_FAIL(SPD_E_INVALID, "path or out is NULL");
  spdi_ckpt_reader *r = spdi_calloc(1, sizeof *r);
  if (r == NULL)
    return SPDI_FAIL(SPD_E_NOMEM, "cannot allocate the reader");
  r->fd = -1;
  size_t plen = strlen(path) + 1;
  unsigned char *chunk = NULL;
  int st = SPD_OK;
  if ((r->path = spdi_malloc(plen)) == NULL) {
    st = SPDI_FAIL(SPD_E_NOMEM, "cannot allocate the reader");
    goto done;
  }
  memcpy(r->path, path, plen);
  r->fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat sb;
  if (r->fd < 0 || fstat(r->fd, &sb) != 0) {
    st = spdi_set_error(SPD_E_IO, "checkpoint", "%s: cannot open: %s", path, strerror(errno));
    goto done;
  }
  if (!S_ISREG(sb.st_mode)) {
    st = BAD("%s: not a regular file", path);
    goto done;
  }
  r->size = (uint64_t)sb.st_size;
  /* Entries are at least 5 bytes each, so the file size bounds the index
   * too; SPDI_CKPT_MAX_ENTRIES caps it for large files. */
  r->cap = r->size / 5 < SPDI_CKPT_MAX_ENTRIES ? (size_t)(r->size / 5) + 1
                                                : SPDI_CKPT_MAX_ENTRIES;
  r->entries = spdi_malloc(r->cap * sizeof *r->entries);
  r->sorted = spdi_malloc(r->cap * sizeof *r->sorted);
  chunk = spdi_malloc(CRC_CHUNK);
  if (r->entries == NULL || r->sorted == NULL || chunk == NULL) {
    st = SPDI_FAIL(SPD_E_NOMEM, "cannot allocate the reader");
    goto done;
  }
  st = parse_file(r, kind, chunk);
done:
  spdi_free(chunk);
  if (st != SPD_OK) {
    spdi_ckpt_close(r);
    return st;
  }
  *out = r;
  return SPD_OK;
}

size_t spdi_ckpt_entries(const spdi_ckpt_reader *r)
{
  return r->n;
}

const spdi_ckpt_entry *spdi_ckpt_entry_at(const spdi_ckpt_reader *r, size_t i)
{
  return i < r->n ? &r->entries[i] : NULL;
}

const spdi_ckpt_entry *spdi_ckpt_find(const spdi_ckpt_reader *r, uint32_t section,
                                      const char *name)
{
  size_t lo = 0, hi = r->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    const spdi_ckpt_entry *e = r->sorted[mid];
    int c = compare_key(e, section, name);
    if (c == 0)
      return e;
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return NULL;
}

int spdi_ckpt_read(spdi_ckpt_reader *r, const spdi_ckpt_entry *e, spdi_dtype dtype,
                   void *dst, uint64_t count)
{
  if (e->dtype != dtype || e->count != count)
    return BAD("%s: entry '%s' holds %llu values of type %d, expected %llu of type %d",
               r->path, e->name, (unsigned long long)e->count, (int)e->dtype,
               (unsigned long long)count, (int)dtype);
  size_t elem = spdi_dtype_size(dtype);
  if (count > SIZE_MAX / elem)
    return BAD("%s: entry '%s' is too large for this machine", r->path, e->name);
  int st = read_or_fail(r, dst, (size_t)(count * elem), e->offset);
  if (st == SPD_OK)
    spdi_le_swap(dst, count, elem);
  return st;
}

static const spdi_ckpt_entry *find_or_fail(spdi_ckpt_reader *r, uint32_t section,
                                           const char *name)
{
  const spdi_ckpt_entry *e = spdi_ckpt_find(r, section, name);
  if (e == NULL) {
    char t[5];
    BAD("%s: section '%s' has no entry '%s'", r->path, tag_text(section, t), name);
  }
  return e;
}

int spdi_ckpt_get_f32(spdi_ckpt_reader *r, uint32_t section, const char *name, int ndim,
                      const size_t *dims, float *dst)
{
  const spdi_ckpt_entry *e = find_or_fail(r, section, name);
  if (e == NULL)
    return SPD_E_FORMAT;
  int same = e->ndim == ndim;
  uint64_t count = 1;
  for (int d = 0; same && d < ndim; d++) {
    same = e->dims[d] == dims[d];
    count *= dims[d];
  }
  if (!same)
    return BAD("%s: entry '%s' does not have the expected shape", r->path, name);
  return spdi_ckpt_read(r, e, SPDI_DT_F32, dst, count);
}

int spdi_ckpt_get_u64(spdi_ckpt_reader *r, uint32_t section, const char *name,
                      uint64_t *value)
{
  const spdi_ckpt_entry *e = find_or_fail(r, section, name);
  return e ? spdi_ckpt_read(r, e, SPDI_DT_U64, value, 1) : SPD_E_FORMAT;
}

int spdi_ckpt_get_f64(spdi_ckpt_reader *r, uint32_t section, const char *name,
                      double *value)
{
  const spdi_ckpt_entry *e = find_or_fail(r, section, name);
  return e ? spdi_ckpt_read(r, e, SPDI_DT_F64, value, 1) : SPD_E_FORMAT;
}
