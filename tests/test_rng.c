/* RNG: Philox known answers, the documented stream layout and conversions,
 * distribution moments, thread-count independence and argument checks. */
#include "harness.h"
#include "internal.h"
#include "philox.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Random123 tests/kat_vectors, the three "philox4x32 10" lines:
 * counter[4], key[2] -> output[4]. */
static const uint32_t kat[3][10] = {
  { 0, 0, 0, 0, 0, 0, 0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8 },
  { 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff,
    0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd },
  { 0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0,
    0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1 },
};

START_TEST(philox_known_answers)
{
  for (int v = 0; v < 3; v++) {
    uint32_t out[4];
    spdi_philox4x32_10(kat[v], kat[v] + 4, out);
    for (int j = 0; j < 4; j++)
      ck_assert_uint_eq(out[j], kat[v][6 + j]);
  }
}
END_TEST

static uint64_t join64(uint32_t lo, uint32_t hi)
{
  return (uint64_t)hi << 32 | lo;
}

START_TEST(public_stream_layout_matches_doc)
{
  /* The same vectors through the public API, with seed/stream/position
   * mapped to key/counter exactly as rng.h documents. */
  for (int v = 0; v < 3; v++) {
    const uint32_t *k = kat[v];
    spd_rng *rng = NULL;
    SPDT_OK(spd_rng_create_stream(join64(k[4], k[5]), join64(k[2], k[3]), &rng));
    SPDT_OK(spd_rng_set_state(rng, join64(k[4], k[5]), join64(k[2], k[3]),
                              join64(k[0], k[1])));
    uint32_t out[4];
    SPDT_OK(spd_rng_uint32(rng, out, 4));
    for (int j = 0; j < 4; j++)
      ck_assert_uint_eq(out[j], k[6 + j]);
    uint64_t pos;
    SPDT_OK(spd_rng_get_state(rng, NULL, NULL, &pos));
    ck_assert_uint_eq(pos, join64(k[0], k[1]) + 1);
    spd_rng_free(rng);
  }
}
END_TEST

/* Draw `n` words and `n` values of one kind from the same state. */
static void words_and(int (*fn)(spd_rng *, float *, size_t), uint64_t seed,
                      uint32_t *w, float *v, size_t n)
{
  spd_rng *a = NULL, *b = NULL;
  SPDT_OK(spd_rng_create(seed, &a));
  SPDT_OK(spd_rng_create(seed, &b));
  SPDT_OK(spd_rng_uint32(a, w, n));
  SPDT_OK(fn(b, v, n));
  spd_rng_free(a);
  spd_rng_free(b);
}

START_TEST(conversions_match_doc)
{
  enum { N = 64 };
  uint32_t w[N];
  float v[N];
  words_and(spd_rng_uniform, 11, w, v, N);
  for (int i = 0; i < N; i++)
    ck_assert(v[i] == (float)((w[i] >> 8) * 0x1p-24));

  words_and(spd_rng_normal, 12, w, v, N);
  for (int i = 0; i < N; i += 2) {
    double a = (w[i] + 0.5) * 0x1p-32, b = (w[i + 1] + 0.5) * 0x1p-32;
    double r = sqrt(-2.0 * log(a)), t = 6.283185307179586477 * b;
    ck_assert(v[i] == (float)(r * cos(t)));
    ck_assert(v[i + 1] == (float)(r * sin(t)));
  }

  words_and(spd_rng_laplace, 13, w, v, N);
  for (int i = 0; i < N; i++) {
    double a = (w[i] + 0.5) * 0x1p-32;
    ck_assert(v[i] == (float)(a < 0.5 ? log(2 * a) : -log(2 - 2 * a)));
  }
}
END_TEST

/* Mean and variance of n draws, accumulated in double. */
static void moments(const float *x, size_t n, double *mean, double *var)
{
  double s = 0, s2 = 0;
  for (size_t i = 0; i < n; i++)
    s += x[i];
  *mean = s / (double)n;
  for (size_t i = 0; i < n; i++)
    s2 += (x[i] - *mean) * (x[i] - *mean);
  *var = s2 / (double)(n - 1);
}

START_TEST(distribution_moments)
{
  /* Fixed seeds, so these never flake; bounds are 5 standard errors, so a
   * broken conversion (wrong scale, bias, lost sign) cannot pass. */
  const size_t n = 1u << 18; /* 5 SE = 0.01 on the mean: tight, quick under valgrind */
  float *x = malloc(n * sizeof *x);
  ck_assert_ptr_nonnull(x);
  double mean, var, se = 1.0 / sqrt((double)n);
  spd_rng *rng = NULL;
  SPDT_OK(spd_rng_create(2024, &rng));

  SPDT_OK(spd_rng_normal(rng, x, n)); /* mean 0, var 1, Var(x^2) = 2 */
  moments(x, n, &mean, &var);
  ck_assert_double_le(fabs(mean), 5 * se);
  ck_assert_double_le(fabs(var - 1), 5 * sqrt(2.0) * se);
  size_t tail = 0;
  for (size_t i = 0; i < n; i++)
    tail += fabsf(x[i]) > 3.0f;
  /* P(|z| > 3) = 0.0026998 */
  ck_assert_double_le(fabs(tail / (double)n - 0.0026998), 5 * sqrt(0.0027) * se);

  SPDT_OK(spd_rng_uniform(rng, x, n)); /* mean 1/2, var 1/12 */
  moments(x, n, &mean, &var);
  for (size_t i = 0; i < n; i++)
    ck_assert(x[i] >= 0.0f && x[i] < 1.0f);
  ck_assert_double_le(fabs(mean - 0.5), 5 * sqrt(1.0 / 12) * se);
  ck_assert_double_le(fabs(var - 1.0 / 12), 5 * sqrt(1.0 / 180) * se);

  SPDT_OK(spd_rng_laplace(rng, x, n)); /* mean 0, var 2, Var(x^2) = 20 */
  moments(x, n, &mean, &var);
  ck_assert_double_le(fabs(mean), 5 * sqrt(2.0) * se);
  ck_assert_double_le(fabs(var - 2), 5 * sqrt(20.0) * se);

  spd_rng_free(rng);
  free(x);
}
END_TEST

START_TEST(position_and_splitting)
{
  float one[12], split[12];
  spd_rng *a = NULL, *b = NULL;
  SPDT_OK(spd_rng_create(5, &a));
  SPDT_OK(spd_rng_create(5, &b));
  SPDT_OK(spd_rng_normal(a, one, 12));
  SPDT_OK(spd_rng_normal(b, split, 4));
  SPDT_OK(spd_rng_normal(b, split + 4, 8));
  ck_assert_mem_eq(one, split, sizeof one);

  uint64_t pos;
  SPDT_OK(spd_rng_normal(a, one, 5)); /* 5 values use 2 blocks */
  SPDT_OK(spd_rng_get_state(a, NULL, NULL, &pos));
  ck_assert_uint_eq(pos, 3 + 2);

  /* Restoring a saved state replays the stream. */
  uint64_t seed, stream;
  SPDT_OK(spd_rng_get_state(a, &seed, &stream, &pos));
  SPDT_OK(spd_rng_uniform(a, one, 12));
  SPDT_OK(spd_rng_set_state(b, seed, stream, pos));
  SPDT_OK(spd_rng_uniform(b, split, 12));
  ck_assert_mem_eq(one, split, sizeof one);
  spd_rng_free(a);
  spd_rng_free(b);
}
END_TEST

START_TEST(seeds_and_streams_differ)
{
  uint32_t x[8], y[8], z[8];
  spd_rng *a = NULL, *b = NULL, *c = NULL;
  SPDT_OK(spd_rng_create(1, &a));
  SPDT_OK(spd_rng_create(2, &b));
  SPDT_OK(spd_rng_create_stream(1, 1, &c));
  SPDT_OK(spd_rng_uint32(a, x, 8));
  SPDT_OK(spd_rng_uint32(b, y, 8));
  SPDT_OK(spd_rng_uint32(c, z, 8));
  ck_assert(memcmp(x, y, sizeof x) != 0);
  ck_assert(memcmp(x, z, sizeof x) != 0);
  spd_rng_free(a);
  spd_rng_free(b);
  spd_rng_free(c);
}
END_TEST

START_TEST(thread_count_does_not_change_draws)
{
  /* Large enough to take the parallel path (>= 4096 blocks). */
  const size_t n = 100003;
  float *one = malloc(n * sizeof *one), *two = malloc(n * sizeof *two);
  ck_assert_ptr_nonnull(one);
  ck_assert_ptr_nonnull(two);
  int (*fns[3])(spd_rng *, float *, size_t) = { spd_rng_normal, spd_rng_uniform,
                                                spd_rng_laplace };
  for (int f = 0; f < 3; f++) {
    spd_rng *a = NULL, *b = NULL;
    SPDT_OK(spd_rng_create(99, &a));
    SPDT_OK(spd_rng_create(99, &b));
    SPDT_OK(spd_set_num_threads(1));
    SPDT_OK(fns[f](a, one, n));
    SPDT_OK(spd_set_num_threads(2));
    SPDT_OK(fns[f](b, two, n));
    SPDT_OK(spd_set_num_threads(1));
    ck_assert_mem_eq(one, two, n * sizeof *one);
    spd_rng_free(a);
    spd_rng_free(b);
  }
  free(one);
  free(two);
}
END_TEST

START_TEST(bad_arguments)
{
  spd_rng *rng = NULL;
  float x[4] = { 1, 2, 3, 4 };
  SPDT_FAILS(SPD_E_INVALID, spd_rng_create(1, NULL));
  SPDT_FAILS(SPD_E_INVALID, spd_rng_create_stream(1, 2, NULL));
  SPDT_OK(spd_rng_create(1, &rng));
  SPDT_FAILS(SPD_E_INVALID, spd_rng_normal(NULL, x, 4));
  SPDT_FAILS(SPD_E_INVALID, spd_rng_normal(rng, NULL, 4));
  SPDT_FAILS(SPD_E_INVALID, spd_rng_normal(rng, x, 0));
  SPDT_FAILS(SPD_E_INVALID, spd_rng_uniform(rng, NULL, 4));
  SPDT_FAILS(SPD_E_INVALID, spd_rng_laplace(NULL, x, 4));
  SPDT_FAILS(SPD_E_INVALID, spd_rng_uint32(rng, (uint32_t *)x, 0));
  ck_assert(x[0] == 1 && x[3] == 4);
  uint64_t pos = 77;
  SPDT_OK(spd_rng_get_state(rng, NULL, NULL, &pos));
  ck_assert_uint_eq(pos, 0); /* failed draws did not advance the stream */
  SPDT_FAILS(SPD_E_INVALID, spd_rng_get_state(NULL, NULL, NULL, &pos));
  SPDT_FAILS(SPD_E_INVALID, spd_rng_set_state(NULL, 1, 2, 3));
  spd_rng_free(rng);
  spd_rng_free(NULL);
}
END_TEST

Suite *spdt_suite(void)
{
  Suite *s = suite_create("rng");
  SPDT_ADD(s, philox_known_answers, 10);
  SPDT_ADD(s, public_stream_layout_matches_doc, 10);
  SPDT_ADD(s, conversions_match_doc, 10);
  SPDT_ADD(s, distribution_moments, 60);
  SPDT_ADD(s, position_and_splitting, 10);
  SPDT_ADD(s, seeds_and_streams_differ, 10);
  SPDT_ADD(s, thread_count_does_not_change_draws, 60);
  SPDT_ADD(s, bad_arguments, 10);
  return s;
}
