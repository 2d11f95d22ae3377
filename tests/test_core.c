/* Core module: version, status codes, last error, threads, allocator hook. */
#include "harness.h"
#include "internal.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

START_TEST(version_sources_agree)
{
  /* Header macros, runtime functions and meson's project version (passed
   * by the build as SPDT_MESON_VERSION) must all say the same thing. */
  ck_assert_str_eq(spd_version_string(), SPD_VERSION_STRING);
  ck_assert_str_eq(spd_version_string(), SPDT_MESON_VERSION);
  ck_assert_uint_eq(spd_version_number(), SPD_VERSION_NUMBER);
  unsigned major, minor, patch;
  ck_assert_int_eq(sscanf(SPDT_MESON_VERSION, "%u.%u.%u", &major, &minor, &patch), 3);
  ck_assert_uint_eq(major, SPD_VERSION_MAJOR);
  ck_assert_uint_eq(minor, SPD_VERSION_MINOR);
  ck_assert_uint_eq(patch, SPD_VERSION_PATCH);
  ck_assert_uint_eq(spd_version_number(), major * 10000 + minor * 100 + patch);
}
END_TEST

START_TEST(strerror_names_every_code)
{
  const int last = SPD_E_NUMERIC;
  for (int a = 0; a >= last; a--) {
    const char *name = spd_strerror(a);
    ck_assert_ptr_nonnull(name);
    ck_assert_str_ne(name, "unknown status");
    for (int b = a - 1; b >= last; b--)
      ck_assert_str_ne(name, spd_strerror(b));
  }
  ck_assert_str_eq(spd_strerror(last - 1), "unknown status");
  ck_assert_str_eq(spd_strerror(1), "unknown status");
  ck_assert_str_eq(spd_strerror(INT32_MIN), "unknown status");
}
END_TEST

static void *fail_in_thread(void *arg)
{
  (void)arg;
  spd_rng *rng = NULL;
  int st = spd_rng_create(1, NULL);
  (void)rng;
  return strstr(spd_last_error(), "out is NULL") && st == SPD_E_INVALID ? (void *)1 : NULL;
}

START_TEST(last_error_is_thread_local)
{
  ck_assert_int_eq(spd_set_num_threads(-3), SPD_E_INVALID);
  char mine[512];
  snprintf(mine, sizeof mine, "%s", spd_last_error());
  ck_assert_ptr_nonnull(strstr(mine, "spd_set_num_threads"));
  ck_assert_ptr_nonnull(strstr(mine, "-3"));
  pthread_t th;
  void *ok = NULL;
  ck_assert_int_eq(pthread_create(&th, NULL, fail_in_thread, NULL), 0);
  ck_assert_int_eq(pthread_join(th, &ok), 0);
  ck_assert_ptr_nonnull(ok);
  ck_assert_str_eq(spd_last_error(), mine);
}
END_TEST

START_TEST(last_error_truncates_long_messages)
{
  char big[2000];
  memset(big, 'x', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  ck_assert_int_eq(spdi_set_error(SPD_E_IO, "fn", "%s", big), SPD_E_IO);
  ck_assert_uint_lt(strlen(spd_last_error()), 512);
  ck_assert_int_eq(strncmp(spd_last_error(), "fn: xxx", 7), 0);
}
END_TEST

START_TEST(thread_count_set_and_get)
{
  ck_assert_int_eq(spd_num_threads(), 1); /* the harness default */
  SPDT_OK(spd_set_num_threads(3));
  ck_assert_int_eq(spd_num_threads(), 3);
  SPDT_FAILS(SPD_E_INVALID, spd_set_num_threads(-1));
  ck_assert_int_eq(spd_num_threads(), 3);
  SPDT_OK(spd_set_num_threads(0));
  ck_assert_int_ge(spd_num_threads(), 1);
  SPDT_OK(spd_set_num_threads(1));
}
END_TEST

/* A counting allocator that can be told to fail. */
struct counting {
  size_t allocs, frees, fail_at; /* fail_at: 1-based allocation to fail */
};

static void *counting_alloc(void *opaque, size_t size)
{
  struct counting *c = opaque;
  c->allocs++;
  if (c->fail_at && c->allocs == c->fail_at)
    return NULL;
  return malloc(size);
}

static void counting_free(void *opaque, void *ptr)
{
  struct counting *c = opaque;
  c->frees++;
  free(ptr);
}

START_TEST(allocator_hook_sees_every_block)
{
  struct counting c = { 0, 0, 0 };
  SPDT_OK(spd_set_allocator(counting_alloc, counting_free, &c));
  spd_rng *rng = NULL;
  SPDT_OK(spd_rng_create(7, &rng));
  ck_assert_uint_eq(c.allocs, 1);
  ck_assert_uint_eq(spdi_live_blocks(), 1);
  /* Swapping allocators under live blocks would free them with the wrong one. */
  SPDT_FAILS(SPD_E_STATE, spd_set_allocator(NULL, NULL, NULL));
  spd_rng_free(rng);
  ck_assert_uint_eq(c.frees, 1);
  ck_assert_uint_eq(spdi_live_blocks(), 0);
  SPDT_OK(spd_set_allocator(NULL, NULL, NULL));
  SPDT_OK(spd_rng_create(7, &rng)); /* back on malloc: not counted */
  spd_rng_free(rng);
  ck_assert_uint_eq(c.allocs, 1);
}
END_TEST

START_TEST(allocator_failure_is_clean)
{
  struct counting c = { 0, 0, 1 };
  SPDT_OK(spd_set_allocator(counting_alloc, counting_free, &c));
  spd_rng *rng = (spd_rng *)&c; /* sentinel: must stay untouched */
  SPDT_FAILS(SPD_E_NOMEM, spd_rng_create(7, &rng));
  ck_assert_ptr_eq(rng, (spd_rng *)&c);
  ck_assert_uint_eq(spdi_live_blocks(), 0);
  SPDT_OK(spd_set_allocator(NULL, NULL, NULL));
}
END_TEST

START_TEST(allocator_arguments_checked)
{
  struct counting c = { 0, 0, 0 };
  SPDT_FAILS(SPD_E_INVALID, spd_set_allocator(counting_alloc, NULL, &c));
  SPDT_FAILS(SPD_E_INVALID, spd_set_allocator(NULL, counting_free, &c));
}
END_TEST

START_TEST(internal_alloc_is_aligned_and_checked)
{
  for (size_t size = 1; size < 300; size += 37) {
    void *p = spdi_malloc(size);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq((uintptr_t)p % SPDI_ALIGN, 0);
    memset(p, 0xab, size);
    spdi_free(p);
  }
  ck_assert_ptr_null(spdi_malloc(0));
  ck_assert_ptr_null(spdi_malloc(SIZE_MAX - 8));
  ck_assert_ptr_null(spdi_calloc(SIZE_MAX / 2, 3));
  float *z = spdi_calloc(100, sizeof *z);
  ck_assert_ptr_nonnull(z);
  for (int i = 0; i < 100; i++)
    ck_assert(z[i] == 0.0f);
  spdi_free(z);
  spdi_free(NULL);
  ck_assert_uint_eq(spdi_live_blocks(), 0);
  size_t r = 5;
  ck_assert(!spdi_size_mul(SIZE_MAX / 2 + 1, 2, &r));
  ck_assert_uint_eq(r, 5);
  ck_assert(spdi_size_mul(1000, 1000, &r));
  ck_assert_uint_eq(r, 1000000);
}
END_TEST

START_TEST(finite_check)
{
  float x[37];
  for (int i = 0; i < 37; i++)
    x[i] = 1e38f;
  ck_assert(spdi_all_finite(x, 37));
  x[36] = (float)NAN;
  ck_assert(!spdi_all_finite(x, 37));
  x[36] = -(float)INFINITY;
  ck_assert(!spdi_all_finite(x, 37));
  ck_assert(spdi_all_finite(x, 0));
}
END_TEST

Suite *spdt_suite(void)
{
  Suite *s = suite_create("core");
  SPDT_ADD(s, version_sources_agree, 10);
  SPDT_ADD(s, strerror_names_every_code, 10);
  SPDT_ADD(s, last_error_is_thread_local, 10);
  SPDT_ADD(s, last_error_truncates_long_messages, 10);
  SPDT_ADD(s, thread_count_set_and_get, 10);
  SPDT_ADD(s, allocator_hook_sees_every_block, 10);
  SPDT_ADD(s, allocator_failure_is_clean, 10);
  SPDT_ADD(s, allocator_arguments_checked, 10);
  SPDT_ADD(s, internal_alloc_is_aligned_and_checked, 10);
  SPDT_ADD(s, finite_check, 10);
  return s;
}
