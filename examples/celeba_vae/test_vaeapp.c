/* Check suite "vaeapp": the spread-vae example's data loading, image
 * processing, outputs and command line (test_data.c, test_image.c,
 * test_output.c, test_cli.c), plus the helpers they share. */
#include "test_vaeapp.h"

#include "fixtures.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void vt_tempdir(char *path)
{
  strcpy(path, "/tmp/vaeapp-XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(path));
}

void vt_rmtree(const char *path)
{
  vae_fixture_remove(path);
}

void vt_write_file(const char *path, const void *data, size_t len)
{
  FILE *f = fopen(path, "wb");
  ck_assert_msg(f != NULL, "cannot write %s", path);
  ck_assert_uint_eq(fwrite(data, 1, len, f), len);
  ck_assert_int_eq(fclose(f), 0);
}

char *vt_read_file(const char *path, size_t *len)
{
  FILE *f = fopen(path, "rb");
  ck_assert_msg(f != NULL, "cannot read %s", path);
  char *buf = NULL;
  size_t n = 0, cap = 0;
  for (;;) {
    if (n + 4096 + 1 > cap) {
      cap = 2 * cap + 8192;
      buf = realloc(buf, cap);
      ck_assert_ptr_nonnull(buf);
    }
    size_t got = fread(buf + n, 1, 4096, f);
    n += got;
    if (got == 0)
      break;
  }
  fclose(f);
  buf[n] = '\0';
  if (len)
    *len = n;
  return buf;
}

void vt_truncate(const char *path, size_t len)
{
  ck_assert_int_eq(truncate(path, (off_t)len), 0);
}

void vt_assert_mentions(const char *err, ...)
{
  va_list ap;
  va_start(ap, err);
  for (const char *s; (s = va_arg(ap, const char *));)
    ck_assert_msg(strstr(err, s) != NULL, "message '%s' lacks '%s'", err, s);
  va_end(ap);
}

Suite *spdt_suite(void)
{
  Suite *s = suite_create("vaeapp");
  vt_add_data_tests(s);
  vt_add_image_tests(s);
  vt_add_output_tests(s);
  vt_add_cli_tests(s);
  return s;
}
