/* Checkpoint container: CRC-32, round trip, exact byte layout, atomic
 * replacement, and rejection of truncated, corrupted and hostile files. */
#include "harness.h"
#include "ckpt.h"
#include "crc32.h"
#include "internal.h"
#include "le.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KIND SPDI_TAG('T', 'E', 'S', 'T')
#define SEC_A SPDI_TAG('A', 'A', 'A', 'A')
#define SEC_B SPDI_TAG('B', 'B', 'B', 'B')

/* A fresh directory per test, removed with its files at the end. */
static char dir[64];

static void make_dir(void)
{
  spdt_tmpdir(dir, sizeof dir, "ckpt");
}

static void remove_dir(void)
{
  spdt_rmdir(dir);
}

static size_t files_in_dir(void)
{
  DIR *d = opendir(dir);
  struct dirent *e;
  size_t n = 0;
  while ((e = readdir(d)) != NULL)
    n += e->d_name[0] != '.';
  closedir(d);
  return n;
}

START_TEST(crc32_reference_values)
{
  ck_assert_uint_eq(spdi_crc32(0, "123456789", 9), 0xCBF43926u);
  ck_assert_uint_eq(spdi_crc32(0, "", 0), 0);
  /* Slicing-by-8 against the bit-at-a-time definition, in uneven pieces. */
  unsigned char buf[1000];
  for (size_t i = 0; i < sizeof buf; i++)
    buf[i] = (unsigned char)(i * 131 + 7);
  uint32_t ref = 0xffffffffu;
  for (size_t i = 0; i < sizeof buf; i++) {
    ref ^= buf[i];
    for (int k = 0; k < 8; k++)
      ref = ref & 1 ? 0xEDB88320u ^ (ref >> 1) : ref >> 1;
  }
  ref = ~ref;
  ck_assert_uint_eq(spdi_crc32(0, buf, sizeof buf), ref);
  uint32_t c = spdi_crc32(0, buf, 3);
  c = spdi_crc32(c, buf + 3, 500);
  c = spdi_crc32(c, buf + 503, sizeof buf - 503);
  ck_assert_uint_eq(c, ref);
}
END_TEST

/* A file with two sections and one entry of every type. */
static void write_sample(const char *path, float *big, size_t big_n)
{
  spdi_ckpt_writer *w = NULL;
  SPDT_OK(spdi_ckpt_create(path, KIND, &w));
  size_t dims2[2] = { 2, 3 }, dims1[1] = { big_n }, dims0[1] = { 0 };
  float small[6] = { 1.5f, -2.0f, 0.0f, -0.0f, 3e38f, 1e-45f };
  SPDT_OK(spdi_ckpt_begin(w, SEC_A));
  SPDT_OK(spdi_ckpt_put_f32(w, "w", 2, dims2, small));
  SPDT_OK(spdi_ckpt_put_f32(w, "big", 1, dims1, big));
  SPDT_OK(spdi_ckpt_put_f32(w, "empty", 1, dims0, NULL));
  SPDT_OK(spdi_ckpt_end(w));
  SPDT_OK(spdi_ckpt_begin(w, SEC_B));
  SPDT_OK(spdi_ckpt_put_u64(w, "step", 0x0123456789abcdefull));
  SPDT_OK(spdi_ckpt_put_f64(w, "lr", 1e-4));
  SPDT_OK(spdi_ckpt_put_bytes(w, "note", "hello", 5));
  SPDT_OK(spdi_ckpt_put_f32(w, "w", 2, dims2, small)); /* same name, other section */
  SPDT_OK(spdi_ckpt_end(w));
  SPDT_OK(spdi_ckpt_commit(w));
}

START_TEST(round_trip)
{
  make_dir();
  char path[128];
  snprintf(path, sizeof path, "%s/a.ckpt", dir);
  /* Larger than the writer's buffer and the reader's CRC chunk. */
  const size_t big_n = 300000;
  float *big = malloc(big_n * sizeof *big), *back = malloc(big_n * sizeof *back);
  for (size_t i = 0; i < big_n; i++)
    big[i] = (float)i * 0.25f - 7.0f;
  write_sample(path, big, big_n);
  ck_assert_uint_eq(files_in_dir(), 1); /* no temporary left behind */

  spdi_ckpt_reader *r = NULL;
  SPDT_OK(spdi_ckpt_open(path, KIND, &r));
  ck_assert_uint_eq(spdi_ckpt_entries(r), 7);
  ck_assert_str_eq(spdi_ckpt_entry_at(r, 0)->name, "w");
  ck_assert_str_eq(spdi_ckpt_entry_at(r, 6)->name, "w");
  ck_assert_ptr_null(spdi_ckpt_entry_at(r, 7));

  float small[6];
  size_t dims2[2] = { 2, 3 }, dims1[1] = { big_n };
  SPDT_OK(spdi_ckpt_get_f32(r, SEC_A, "w", 2, dims2, small));
  ck_assert(small[0] == 1.5f && small[4] == 3e38f && small[5] == 1e-45f);
  ck_assert(small[3] == 0.0f && signbit(small[3]));
  SPDT_OK(spdi_ckpt_get_f32(r, SEC_A, "big", 1, dims1, back));
  ck_assert_mem_eq(big, back, big_n * sizeof *big);
  const spdi_ckpt_entry *e = spdi_ckpt_find(r, SEC_A, "empty");
  ck_assert_ptr_nonnull(e);
  ck_assert_uint_eq(e->count, 0);
  uint64_t step;
  double lr;
  SPDT_OK(spdi_ckpt_get_u64(r, SEC_B, "step", &step));
  ck_assert_uint_eq(step, 0x0123456789abcdefull);
  SPDT_OK(spdi_ckpt_get_f64(r, SEC_B, "lr", &lr));
  ck_assert(lr == 1e-4);
  e = spdi_ckpt_find(r, SEC_B, "note");
  char note[6] = { 0 };
  SPDT_OK(spdi_ckpt_read(r, e, SPDI_DT_U8, note, 5));
  ck_assert_str_eq(note, "hello");

  /* Wrong expectations are format errors with a message, not crashes. */
  size_t dims_bad[2] = { 3, 2 };
  SPDT_FAILS(SPD_E_FORMAT, spdi_ckpt_get_f32(r, SEC_A, "w", 2, dims_bad, small));
  SPDT_FAILS(SPD_E_FORMAT, spdi_ckpt_get_f32(r, SEC_A, "missing", 2, dims2, small));
  ck_assert_ptr_nonnull(strstr(spd_last_error(), "missing"));
  SPDT_FAILS(SPD_E_FORMAT, spdi_ckpt_get_u64(r, SEC_B, "lr", &step));
  SPDT_FAILS(SPD_E_FORMAT, spdi_ckpt_read(r, e, SPDI_DT_U8, note, 4));
  spdi_ckpt_close(r);

  SPDT_FAILS(SPD_E_FORMAT, spdi_ckpt_open(path, SPDI_TAG('G', 'E', 'N', 'R'), &r));
  ck_assert_ptr_nonnull(strstr(spd_last_error(), "'TEST'"));
  free(big);
  free(back);
  remove_dir();
  ck_assert_uint_eq(spdi_live_blocks(), 0);
}
END_TEST

START_TEST(byte_layout_is_as_documented)
{
  /* doc/checkpoint.md, byte for byte: header, one section with one u64
   * scalar, end marker. */
  make_dir();
  char path[128];
  snprintf(path, sizeof path, "%s/b.ckpt", dir);
  spdi_ckpt_writer *w = NULL;
  SPDT_OK(spdi_ckpt_create(path, KIND, &w));
  SPDT_OK(spdi_ckpt_begin(w, SEC_A));
  SPDT_OK(spdi_ckpt_put_u64(w, "n", 258));
  SPDT_OK(spdi_ckpt_end(w));
  SPDT_OK(spdi_ckpt_commit(w));

  unsigned char want[16 + 20 + 13 + 20] = {
    0x89, 'S', 'P', 'D', '\r', '\n', 0x1a, '\n', 1, 0, 0, 0, 'T', 'E', 'S', 'T',
    'A', 'A', 'A', 'A', 1, 0, 0, 0, 13, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    1, 0, 'n', 3, 0, 2, 1, 0, 0, 0, 0, 0, 0,
    'E', 'N', 'D', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  };
  /* CRC of payload then tag|count|length, little-endian. */
  spdi_put_le32(want + 32, spdi_crc32(spdi_crc32(0, want + 36, 13), want + 16, 16));
  spdi_put_le32(want + 65, spdi_crc32(0, want + 49, 16));
  size_t len;
  unsigned char *got = spdt_read_file(path, &len);
  ck_assert_uint_eq(len, sizeof want);
  ck_assert_mem_eq(got, want, sizeof want);
  free(got);
  remove_dir();
}
END_TEST

START_TEST(replacement_is_atomic)
{
  make_dir();
  char path[128];
  snprintf(path, sizeof path, "%s/c.ckpt", dir);
  float big[10] = { 0 };
  write_sample(path, big, 10);
  size_t len0;
  unsigned char *before = spdt_read_file(path, &len0);

  /* An aborted save leaves the old file and no temporary. */
  spdi_ckpt_writer *w = NULL;
  SPDT_OK(spdi_ckpt_create(path, KIND, &w));
  SPDT_OK(spdi_ckpt_begin(w, SEC_A));
  ck_assert_uint_eq(files_in_dir(), 2);
  spdi_ckpt_abort(w);
  ck_assert_uint_eq(files_in_dir(), 1);
  size_t len1;
  unsigned char *after = spdt_read_file(path, &len1);
  ck_assert_uint_eq(len0, len1);
  ck_assert_mem_eq(before, after, len0);
  free(after);

  /* A save with a failed step reports it at commit and changes nothing. */
  SPDT_OK(spdi_ckpt_create(path, KIND, &w));
  ck_assert_int_eq(spdi_ckpt_put_u64(w, "outside", 1), SPD_E_STATE);
  SPDT_FAILS(SPD_E_STATE, spdi_ckpt_commit(w));
  ck_assert_uint_eq(files_in_dir(), 1);
  after = spdt_read_file(path, &len1);
  ck_assert_mem_eq(before, after, len0);
  free(after);
  free(before);

  /* A directory that does not exist: an I/O error naming the path. */
  char bad[160];
  snprintf(bad, sizeof bad, "%s/no/such/dir.ckpt", dir);
  SPDT_FAILS(SPD_E_IO, spdi_ckpt_create(bad, KIND, &w));
  ck_assert_ptr_nonnull(strstr(spd_last_error(), "no/such"));
  spdi_ckpt_reader *r = NULL;
  SPDT_FAILS(SPD_E_IO, spdi_ckpt_open(bad, KIND, &r));
  SPDT_FAILS(SPD_E_FORMAT, spdi_ckpt_open(dir, KIND, &r)); /* a directory */
  remove_dir();
  ck_assert_uint_eq(spdi_live_blocks(), 0);
}
END_TEST

START_TEST(every_truncation_and_byte_flip_is_rejected)
{
  make_dir();
  char path[128], bad[128];
  snprintf(path, sizeof path, "%s/d.ckpt", dir);
  snprintf(bad, sizeof bad, "%s/bad.ckpt", dir);
  float big[40];
  for (int i = 0; i < 40; i++)
    big[i] = (float)i;
  write_sample(path, big, 40);
  size_t len;
  unsigned char *good = spdt_read_file(path, &len);
  spdi_ckpt_reader *r = NULL;

  for (size_t cut = 0; cut < len; cut++) {
    spdt_write_file(bad, good, cut);
    int st = spdi_ckpt_open(bad, KIND, &r);
    ck_assert_msg(st == SPD_E_FORMAT, "truncated to %zu bytes: status %d", cut, st);
  }
  /* Every byte, three different corruptions each: the header checks and
   * the per-section CRCs leave no byte unprotected. */
  const unsigned char flips[3] = { 0x01, 0x80, 0xff };
  for (size_t at = 0; at < len; at++)
    for (int f = 0; f < 3; f++) {
      good[at] ^= flips[f];
      spdt_write_file(bad, good, len);
      good[at] ^= flips[f];
      int st = spdi_ckpt_open(bad, KIND, &r);
      ck_assert_msg(st == SPD_E_FORMAT, "byte %zu ^ 0x%02x: status %d", at, flips[f], st);
    }
  /* Extra bytes after the end marker. */
  unsigned char *longer = malloc(len + 1);
  memcpy(longer, good, len);
  longer[len] = 0;
  spdt_write_file(bad, longer, len + 1);
  SPDT_FAILS(SPD_E_FORMAT, spdi_ckpt_open(bad, KIND, &r));
  free(longer);
  free(good);
  remove_dir();
  ck_assert_uint_eq(spdi_live_blocks(), 0);
}
END_TEST

/* Assemble a file by hand with valid CRCs: only the semantic checks can
 * reject it. `payload` is one section's content. */
static size_t craft(unsigned char *out, uint32_t count, const unsigned char *payload,
                    size_t plen)
{
  static const unsigned char head[16] = { 0x89, 'S', 'P', 'D', '\r', '\n', 0x1a, '\n',
                                          1, 0, 0, 0, 'T', 'E', 'S', 'T' };
  memcpy(out, head, 16);
  unsigned char *s = out + 16;
  spdi_put_le32(s, SEC_A);
  spdi_put_le32(s + 4, count);
  spdi_put_le64(s + 8, plen);
  memcpy(s + 20, payload, plen);
  spdi_put_le32(s + 16, spdi_crc32(spdi_crc32(0, payload, plen), s, 16));
  unsigned char *e = s + 20 + plen;
  memset(e, 0, 20);
  memcpy(e, "END", 3);
  spdi_put_le32(e + 16, spdi_crc32(0, e, 16));
  return 16 + 20 + plen + 20;
}

START_TEST(hostile_files_with_valid_crcs)
{
  make_dir();
  char bad[128];
  snprintf(bad, sizeof bad, "%s/h.ckpt", dir);
  unsigned char file[512];
  spdi_ckpt_reader *r = NULL;
  size_t n;

  /* Shape whose element count overflows 64 bits. */
  unsigned char overflow[] = { 1, 0, 'x', 1, 2, 0, 0, 0, 0, 0, 0, 0, 0x10,
                               0, 0, 0, 0, 0, 0, 0, 0x10 };
  n = craft(file, 1, overflow, sizeof overflow);
  spdt_write_file(bad, file, n);
  SPDT_FAILS(SPD_E_FORMAT, spdi_ckpt_open(bad, KIND, &r));

  /* An entry claiming 2^40 floats in a tiny section. */
  unsigned char huge[] = { 1, 0, 'x', 1, 1, 0, 0, 0, 0, 0, 1, 0, 0 };
  n = craft(file, 1, huge, sizeof huge);
  spdt_write_file(bad, file, n);
  SPDT_FAILS(SPD_E_FORMAT, spdi_ckpt_open(bad, KIND, &r));

  /* The same name twice in one section. */
  unsigned char twice[] = { 1, 0, 'x', 5, 0, 7, 1, 0, 'x', 5, 0, 8 };
  n = craft(file, 2, twice, sizeof twice);
  spdt_write_file(bad, file, n);
  SPDT_FAILS(SPD_E_FORMAT, spdi_ckpt_open(bad, KIND, &r));
  ck_assert_ptr_nonnull(strstr(spd_last_error(), "twice"));

  /* Unknown type, rank above 8, zero-length name, NUL in a name. */
  unsigned char type[] = { 1, 0, 'x', 99, 0, 7 };
  unsigned char rank[] = { 1, 0, 'x', 5, 9, 7 };
  unsigned char noname[] = { 0, 0, 5, 0, 7 };
  unsigned char nul[] = { 2, 0, 'x', 0, 5, 0, 7 };
  const unsigned char *cases[4] = { type, rank, noname, nul };
  size_t sizes[4] = { sizeof type, sizeof rank, sizeof noname, sizeof nul };
  for (int c = 0; c < 4; c++) {
    n = craft(file, 1, cases[c], sizes[c]);
    spdt_write_file(bad, file, n);
    SPDT_FAILS(SPD_E_FORMAT, spdi_ckpt_open(bad, KIND, &r));
  }

  /* A count of entries larger than the section holds, and stray bytes. */
  unsigned char one[] = { 1, 0, 'x', 5, 0, 7 };
  n = craft(file, 0xffffffffu, one, sizeof one);
  spdt_write_file(bad, file, n);
  SPDT_FAILS(SPD_E_FORMAT, spdi_ckpt_open(bad, KIND, &r));
  n = craft(file, 0, one, sizeof one);
  spdt_write_file(bad, file, n);
  SPDT_FAILS(SPD_E_FORMAT, spdi_ckpt_open(bad, KIND, &r));

  /* A newer format version. */
  n = craft(file, 1, one, sizeof one);
  file[8] = 2;
  spdt_write_file(bad, file, n);
  SPDT_FAILS(SPD_E_FORMAT, spdi_ckpt_open(bad, KIND, &r));
  ck_assert_ptr_nonnull(strstr(spd_last_error(), "version 2"));

  /* And the well-formed one is accepted, to show the crafting is right. */
  n = craft(file, 1, one, sizeof one);
  spdt_write_file(bad, file, n);
  SPDT_OK(spdi_ckpt_open(bad, KIND, &r));
  uint8_t v = 0;
  SPDT_OK(spdi_ckpt_read(r, spdi_ckpt_find(r, SEC_A, "x"), SPDI_DT_U8, &v, 1));
  ck_assert_uint_eq(v, 7);
  spdi_ckpt_close(r);
  remove_dir();
  ck_assert_uint_eq(spdi_live_blocks(), 0);
}
END_TEST

Suite *spdt_suite(void)
{
  Suite *s = suite_create("ckpt");
  SPDT_ADD(s, crc32_reference_values, 10);
  SPDT_ADD(s, round_trip, 20);
  SPDT_ADD(s, byte_layout_is_as_documented, 10);
  SPDT_ADD(s, replacement_is_atomic, 10);
  SPDT_ADD(s, every_truncation_and_byte_flip_is_rejected, 120);
  SPDT_ADD(s, hostile_files_with_valid_crcs, 10);
  return s;
}
