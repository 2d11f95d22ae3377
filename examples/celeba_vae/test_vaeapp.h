/* Shared pieces of the Check suite "vaeapp" (test_*.c in this directory):
 * temporary directories and file helpers. Fixtures are made at run time. */
#ifndef VAE_TEST_VAEAPP_H
#define VAE_TEST_VAEAPP_H

#include "harness.h"

#include <stddef.h>

/* A fresh directory under /tmp (path has room for 64 bytes). */
void vt_tempdir(char *path);

/* Remove a directory tree (files and directories only). */
void vt_rmtree(const char *path);

/* Write len bytes to path; read a whole file (NUL-terminated, free()). */
void vt_write_file(const char *path, const void *data, size_t len);
char *vt_read_file(const char *path, size_t *len);

/* Cut a file to len bytes. */
void vt_truncate(const char *path, size_t len);

/* ck_assert that err contains every one of the NULL-terminated strings. */
void vt_assert_mentions(const char *err, ...);

/* Test groups, one per file. */
void vt_add_data_tests(Suite *s);
void vt_add_image_tests(Suite *s);
void vt_add_output_tests(Suite *s);
void vt_add_cli_tests(Suite *s);

#endif /* VAE_TEST_VAEAPP_H */
