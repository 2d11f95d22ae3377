/* main() for every Check suite. Tests run with one library thread unless a
 * test sets another count itself (BUILD-FACTS B4: threaded BLIS work must
 * not happen in the parent before Check forks). */
#include "harness.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void spdt_add(Suite *s, const char *name, const TTest *test, double timeout)
{
  TCase *tc = tcase_create(name);
  tcase_add_test(tc, test);
  /* Check multiplies by CK_TIMEOUT_MULTIPLIER (the valgrind setup sets it). */
  tcase_set_timeout(tc, timeout);
  suite_add_tcase(s, tc);
}

void spdt_add_loop(Suite *s, const char *name, const TTest *test, int n, double timeout)
{
  TCase *tc = tcase_create(name);
  tcase_add_loop_test(tc, test, 0, n);
  tcase_set_timeout(tc, timeout);
  suite_add_tcase(s, tc);
}

int main(void)
{
  if (spd_set_num_threads(1) != SPD_OK) {
    fprintf(stderr, "spd_set_num_threads: %s\n", spd_last_error());
    return EXIT_FAILURE;
  }
  SRunner *sr = srunner_create(spdt_suite());
  srunner_run_all(sr, CK_ENV);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

void spdt_tmpdir(char *dir, size_t len, const char *tag)
{
  snprintf(dir, len, "/tmp/spdt-%s-XXXXXX", tag);
  ck_assert_ptr_nonnull(mkdtemp(dir));
}

void spdt_rmdir(const char *dir)
{
  DIR *d = opendir(dir);
  struct dirent *e;
  char p[512];
  while (d && (e = readdir(d)) != NULL)
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
      snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
      unlink(p);
    }
  if (d)
    closedir(d);
  rmdir(dir);
}

unsigned char *spdt_read_file(const char *path, size_t *len)
{
  FILE *f = fopen(path, "rb");
  ck_assert_msg(f != NULL, "cannot open %s", path);
  fseek(f, 0, SEEK_END);
  *len = (size_t)ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *buf = malloc(*len + 1);
  ck_assert_ptr_nonnull(buf);
  ck_assert_uint_eq(fread(buf, 1, *len, f), *len);
  fclose(f);
  return buf;
}

void spdt_write_file(const char *path, const void *data, size_t len)
{
  FILE *f = fopen(path, "wb");
  ck_assert_msg(f != NULL, "cannot create %s", path);
  ck_assert_uint_eq(fwrite(data, 1, len, f), len);
  fclose(f);
}

void spdt_inverse3(const double *c, double *p)
{
  double det = c[0] * (c[4] * c[8] - c[5] * c[7]) - c[1] * (c[3] * c[8] - c[5] * c[6]) +
               c[2] * (c[3] * c[7] - c[4] * c[6]);
  p[0] = (c[4] * c[8] - c[5] * c[7]) / det;
  p[1] = (c[2] * c[7] - c[1] * c[8]) / det;
  p[2] = (c[1] * c[5] - c[2] * c[4]) / det;
  p[3] = (c[5] * c[6] - c[3] * c[8]) / det;
  p[4] = (c[0] * c[8] - c[2] * c[6]) / det;
  p[5] = (c[2] * c[3] - c[0] * c[5]) / det;
  p[6] = (c[3] * c[7] - c[4] * c[6]) / det;
  p[7] = (c[1] * c[6] - c[0] * c[7]) / det;
  p[8] = (c[0] * c[4] - c[1] * c[3]) / det;
}

static void must_reject(const char *bad, const spdt_loader *loader)
{
  void *obj = NULL;
  SPDT_FAILS(SPD_E_FORMAT, loader->load(bad, &obj));
  ck_assert_ptr_null(obj);
}

void spdt_check_damaged(const char *path, const char *bad, unsigned seed,
                        const spdt_loader *loader)
{
  size_t len;
  unsigned char *b = spdt_read_file(path, &len);
  for (size_t k = 0; k < len; k++) { /* every truncation */
    spdt_write_file(bad, b, k);
    must_reject(bad, loader);
  }
  srand(seed);
  for (int k = 0; k < 300; k++) { /* random single-byte corruptions */
    size_t at = (size_t)rand() % len;
    unsigned char flip = (unsigned char)(1 + rand() % 255);
    b[at] ^= flip;
    spdt_write_file(bad, b, len);
    must_reject(bad, loader);
    b[at] ^= flip;
  }
  spdt_write_file(bad, b, len);
  void *obj = NULL;
  SPDT_OK(loader->load(bad, &obj)); /* the undamaged copy still loads */
  loader->release(obj);
  free(b);
}

float spdt_hash_value(size_t i, unsigned seed)
{
  uint32_t h = (uint32_t)i * 2654435761u ^ seed * 40503u;
  h ^= h >> 15;
  h *= 2246822519u;
  h ^= h >> 13;
  return (float)(h % 2001) / 1000.0f - 1.0f;
}
