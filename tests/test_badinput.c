/* The bad-input matrix: every exported function, called with NULL handles
 * and pointers, zero and overflowing sizes, NaN and infinities in data and
 * parameters, out-of-domain parameters, mismatched shapes and handles left
 * NULL by a failed create.
 *
 * For each row of `matrix` below (one per exported name) the test checks:
 *  - every bad call returns a negative status (or NULL, for tape builders,
 *    with the tape's sticky error set) and sets a message of its own
 *    (BI_FAILS primes spd_last_error() with a known message first and
 *    requires a different, non-empty one afterwards);
 *  - caller memory is untouched: output buffers come from a canary pool
 *    (bi_out*) that is checked byte for byte at the end of the row, and
 *    output handles / scalars are checked against sentinels;
 *  - nothing leaks: the suite installs a counting allocator
 *    (spd_set_allocator) and every row must end with zero live blocks.
 *
 * tests/abi/check-badinput-coverage.sh fails if a function exported by the
 * shared library has no BI(name, ...) row here. Adding a header: add one
 * row per new function (a new body, or an existing one that fits) and the
 * script passes again. */
#include "harness.h"

#include <limits.h>
#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- counting allocator --------------------------------------------------- */

static atomic_long live;

static void *count_alloc(void *opaque, size_t size)
{
  (void)opaque;
  void *p = malloc(size);
  if (p != NULL)
    atomic_fetch_add(&live, 1);
  return p;
}

static void count_free(void *opaque, void *ptr)
{
  (void)opaque;
  atomic_fetch_sub(&live, 1);
  free(ptr);
}

/* ---- messages ---------------------------------------------------------- */

static char prime_msg[256];

/* Leave a known message in spd_last_error() (a failing call of our own). */
static void bi_prime(void)
{
  int st = spd_set_allocator(count_alloc, NULL, NULL);
  ck_assert_int_eq(st, SPD_E_INVALID);
  snprintf(prime_msg, sizeof prime_msg, "%s", spd_last_error());
}

static void bi_check_fail(const char *what, int st, int line)
{
  const char *m = spd_last_error();
  ck_assert_msg(st < 0, "line %d: %s returned %d, expected an error", line, what, st);
  ck_assert_msg(m != NULL && m[0] != '\0', "line %d: %s left no message", line, what);
  ck_assert_msg(strcmp(m, prime_msg) != 0, "line %d: %s set no message of its own", line,
                what);
}

/* A status-returning call that must fail with a message. */
#define BI_FAILS(call)                                                       \
  do {                                                                       \
    bi_prime();                                                              \
    int bi_st_ = (call);                                                     \
    bi_check_fail(#call, bi_st_, __LINE__);                                  \
  } while (0)

/* The same, with the exact code. */
#define BI_FAILS_WITH(code, call)                                            \
  do {                                                                       \
    bi_prime();                                                              \
    int bi_st_ = (call);                                                     \
    bi_check_fail(#call, bi_st_, __LINE__);                                  \
    ck_assert_msg(bi_st_ == (code), "line %d: %s returned %d, expected %d",  \
                  __LINE__, #call, bi_st_, (int)(code));                     \
  } while (0)

/* A builder on a NULL tape or with a NULL input: NULL back. */
#define BI_NULL(call)                                                        \
  do {                                                                       \
    const void *bi_p_ = (call);                                              \
    ck_assert_msg(bi_p_ == NULL, "line %d: %s did not return NULL", __LINE__, \
                  #call);                                                    \
  } while (0)

/* A tape builder that must fail on tape t: NULL back, sticky error set with
 * a message. The tape is reset first by the caller (fresh_tape). */
#define BI_TAPE_FAILS(t, call)                                               \
  do {                                                                       \
    const void *bi_p_ = (call);                                              \
    ck_assert_msg(bi_p_ == NULL, "line %d: %s did not return NULL", __LINE__, \
                  #call);                                                    \
    ck_assert_msg(spd_tape_status(t) < 0, "line %d: %s: no sticky error",    \
                  __LINE__, #call);                                          \
    const char *bi_m_ = spd_tape_error(t);                                   \
    ck_assert_msg(bi_m_ != NULL && bi_m_[0] != '\0' &&                       \
                  strcmp(bi_m_, "no error") != 0,                            \
                  "line %d: %s: no message", __LINE__, #call);               \
  } while (0)

#define BI_OK(call) SPDT_OK(call)

/* ---- canary buffers ------------------------------------------------------ */

#define POOL_BYTES (1 << 16)
#define CANARY_BYTE 0xA5
static unsigned char pool[POOL_BYTES] __attribute__((aligned(64)));
static size_t pool_used;

static void *bi_out(size_t bytes)
{
  bytes = (bytes + 63) & ~(size_t)63;
  ck_assert(pool_used + bytes <= POOL_BYTES);
  void *p = pool + pool_used;
  pool_used += bytes;
  return p;
}
#define bi_outf(n) ((float *)bi_out((n) * sizeof(float)))
#define bi_outd(n) ((double *)bi_out((n) * sizeof(double)))

/* One assertion per row (Check records every assertion, so a per-byte
 * ck_assert made the suite take minutes under ASan). */
static void pool_check(void)
{
  size_t bad = POOL_BYTES;
  for (size_t i = 0; i < POOL_BYTES && bad == POOL_BYTES; i++)
    if (pool[i] != CANARY_BYTE)
      bad = i;
  ck_assert_msg(bad == POOL_BYTES, "caller memory changed at pool byte %zu", bad);
}

/* A handle pointer that a failed create must leave alone. */
#define SENTINEL ((void *)(uintptr_t)0x5e5e5e5e)

static const size_t HUGE_N = SIZE_MAX / 2 + 1; /* times any dim >= 2 overflows */

/* Finite inputs, and inputs with one NaN / Inf. */
static float good[64], with_nan[64], with_inf[64], with_ninf[64];

static void init_data(void)
{
  for (int i = 0; i < 64; i++)
    good[i] = with_nan[i] = with_inf[i] = with_ninf[i] = 0.25f * (float)(i % 7) - 0.5f;
  with_nan[3] = NAN;
  with_inf[5] = INFINITY;
  with_ninf[1] = -INFINITY;
}

/* ---- fixtures (created with checks; freed by each body) ----------------- */

static spd_rng *mk_rng(void)
{
  spd_rng *r = NULL;
  BI_OK(spd_rng_create(1, &r));
  return r;
}

static spd_spread *mk_spread(int kind) /* dim 2 */
{
  spd_spread *s = NULL;
  const double v[2] = {0.5, 2.0};
  const float L[2] = {0.3f, -0.2f};
  switch (kind) {
  case SPD_SPREAD_GAUSSIAN: BI_OK(spd_spread_create_gaussian(2, 1.0, &s)); break;
  case SPD_SPREAD_GAUSSIAN_DIAG: BI_OK(spd_spread_create_gaussian_diag(2, v, &s)); break;
  case SPD_SPREAD_GAUSSIAN_LOWRANK:
    BI_OK(spd_spread_create_gaussian_lowrank(2, 1, 1.0, L, &s));
    break;
  case SPD_SPREAD_LAPLACE: BI_OK(spd_spread_create_laplace(2, 1.0, &s)); break;
  default: BI_OK(spd_spread_create_laplace_diag(2, v, &s)); break;
  }
  return s;
}

static spd_fdiv *mk_fdiv(void)
{
  spd_fdiv *f = NULL;
  BI_OK(spd_fdiv_create(SPD_FDIV_KL, 0.0, &f));
  return f;
}

static spd_params *mk_params(void) /* "w" [2, 3], trainable; "rm" [3] buffer */
{
  spd_params *p = NULL;
  BI_OK(spd_params_create(&p));
  const size_t shape[2] = {2, 3};
  const size_t vshape[1] = {3};
  BI_OK(spd_params_add(p, "w", 2, shape, good, 1, NULL));
  BI_OK(spd_params_add(p, "rm", 1, vshape, NULL, 0, NULL));
  return p;
}

static spd_tape *mk_tape(void)
{
  spd_tape *t = NULL;
  BI_OK(spd_tape_create(&t));
  return t;
}

/* A leaf of the given shape with finite data (the tape must be clean). */
static spd_tensor *leaf(spd_tape *t, int ndim, size_t a, size_t b, size_t c, size_t d)
{
  const size_t shape[4] = {a, b, c, d};
  static float data[4096];
  for (size_t i = 0; i < 4096; i++)
    data[i] = 0.01f * (float)(i % 13) + 0.1f;
  spd_tensor *x = spd_leaf(t, ndim, shape, data, 1);
  ck_assert_msg(x != NULL, "leaf: %s", spd_tape_error(t));
  return x;
}

/* ---- the matrix ------------------------------------------------------------ */

typedef void (*bi_generic_fn)(void);
typedef struct bi_row bi_row;
struct bi_row {
  const char *name;
  void (*body)(const bi_row *);
  bi_generic_fn op; /* for bodies shared by several functions */
};
#define BI(fn, body) {#fn, body, NULL}
#define BI_OP(fn, body) {#fn, body, (bi_generic_fn)fn}

/* core ------------------------------------------------------------------- */

static void b_version(const bi_row *r)
{
  (void)r;
  ck_assert_uint_eq(spd_version_number(), SPD_VERSION_NUMBER);
  ck_assert_ptr_nonnull(spd_version_string());
  ck_assert_str_eq(spd_version_string(), SPD_VERSION_STRING);
}

static void b_strerror(const bi_row *r)
{
  (void)r;
  const int codes[] = {INT_MIN, -1000, -12, -11, -1, 0, 1, 77, INT_MAX};
  for (size_t i = 0; i < sizeof codes / sizeof *codes; i++) {
    const char *m = spd_strerror(codes[i]);
    ck_assert(m != NULL && m[0] != '\0');
  }
}

static void b_last_error(const bi_row *r)
{
  (void)r;
  bi_prime();
  ck_assert_str_eq(spd_last_error(), prime_msg);
}

static void b_threads(const bi_row *r)
{
  (void)r;
  int before = spd_num_threads();
  ck_assert_int_ge(before, 1);
  BI_FAILS_WITH(SPD_E_INVALID, spd_set_num_threads(-1));
  BI_FAILS_WITH(SPD_E_INVALID, spd_set_num_threads(INT_MIN));
  ck_assert_int_eq(spd_num_threads(), before);
}

static void b_set_allocator(const bi_row *r)
{
  (void)r;
  /* bi_prime itself checks (count_alloc, NULL): SPD_E_INVALID with a
   * message. The mirror case gives the same message, so compare codes. */
  ck_assert_int_eq(spd_set_allocator(NULL, count_free, NULL), SPD_E_INVALID);
  spd_rng *g = mk_rng(); /* a live block: the allocator may not change */
  BI_FAILS_WITH(SPD_E_STATE, spd_set_allocator(NULL, NULL, NULL));
  spd_rng_free(g);
}

/* rng --------------------------------------------------------------------- */

static void b_rng_create(const bi_row *r)
{
  (void)r;
  BI_FAILS_WITH(SPD_E_INVALID, spd_rng_create(1, NULL));
  BI_FAILS_WITH(SPD_E_INVALID, spd_rng_create_stream(1, 2, NULL));
  spd_rng_free(NULL);
}

typedef int (*rng_fill_f)(spd_rng *, float *, size_t);

static void b_rng_fill(const bi_row *r)
{
  spd_rng *g = mk_rng();
  uint64_t pos0, pos1;
  BI_OK(spd_rng_get_state(g, NULL, NULL, &pos0));
  if (strcmp(r->name, "spd_rng_uint32") == 0) {
    uint32_t *o = bi_out(16 * sizeof(uint32_t));
    BI_FAILS(spd_rng_uint32(NULL, o, 4));
    BI_FAILS(spd_rng_uint32(g, NULL, 4));
    BI_FAILS(spd_rng_uint32(g, o, 0));
  } else {
    rng_fill_f fn = (rng_fill_f)r->op;
    float *o = bi_outf(16);
    BI_FAILS(fn(NULL, o, 4));
    BI_FAILS(fn(g, NULL, 4));
    BI_FAILS(fn(g, o, 0));
  }
  BI_OK(spd_rng_get_state(g, NULL, NULL, &pos1));
  ck_assert_uint_eq(pos0, pos1); /* failures do not advance the stream */
  spd_rng_free(g);
}

static void b_rng_state(const bi_row *r)
{
  (void)r;
  uint64_t *o = bi_out(3 * sizeof(uint64_t));
  BI_FAILS(spd_rng_get_state(NULL, &o[0], &o[1], &o[2]));
  BI_FAILS(spd_rng_set_state(NULL, 1, 2, 3));
}

/* spread ------------------------------------------------------------------ */

static void after_failed_spread(spd_spread *s)
{
  /* The handle a failed create left (NULL) is rejected everywhere. */
  ck_assert_ptr_null(s);
  ck_assert_uint_eq(spd_spread_dim(s), 0);
  double *d = bi_outd(2);
  BI_FAILS(spd_spread_get_scale(s, d));
  BI_FAILS(spd_spread_log_density(s, good, good, 1, d));
  spd_spread_free(s);
}

static void b_spread_create(const bi_row *r)
{
  (void)r;
  spd_spread *s = SENTINEL;
  const double bad_scales[] = {0.0, -1.0, NAN, INFINITY, -INFINITY, -0.0};
  const double v_nan[2] = {1.0, NAN}, v_zero[2] = {1.0, 0.0}, v_neg[2] = {-1.0, 1.0},
               v_inf[2] = {INFINITY, 1.0}, v_ok[2] = {1.0, 1.0};
  for (size_t i = 0; i < sizeof bad_scales / sizeof *bad_scales; i++) {
    BI_FAILS(spd_spread_create_gaussian(2, bad_scales[i], &s));
    BI_FAILS(spd_spread_create_laplace(2, bad_scales[i], &s));
    BI_FAILS(spd_spread_create_gaussian_lowrank(2, 1, bad_scales[i], good, &s));
  }
  BI_FAILS(spd_spread_create_gaussian(0, 1.0, &s));
  BI_FAILS(spd_spread_create_laplace(0, 1.0, &s));
  BI_FAILS(spd_spread_create_gaussian(2, 1.0, NULL));
  BI_FAILS(spd_spread_create_laplace(2, 1.0, NULL));
  const double *bad_v[] = {NULL, v_nan, v_zero, v_neg, v_inf};
  for (size_t i = 0; i < sizeof bad_v / sizeof *bad_v; i++) {
    BI_FAILS(spd_spread_create_gaussian_diag(2, bad_v[i], &s));
    BI_FAILS(spd_spread_create_laplace_diag(2, bad_v[i], &s));
  }
  BI_FAILS(spd_spread_create_gaussian_diag(0, v_ok, &s));
  BI_FAILS(spd_spread_create_laplace_diag(0, v_ok, &s));
  BI_FAILS(spd_spread_create_gaussian_diag(2, v_ok, NULL));
  BI_FAILS(spd_spread_create_laplace_diag(2, v_ok, NULL));
  BI_FAILS(spd_spread_create_gaussian_lowrank(0, 1, 1.0, good, &s));
  BI_FAILS(spd_spread_create_gaussian_lowrank(2, 0, 1.0, good, &s));
  BI_FAILS(spd_spread_create_gaussian_lowrank(2, 1, 1.0, NULL, &s));
  BI_FAILS(spd_spread_create_gaussian_lowrank(2, 1, 1.0, with_nan + 2, &s));
  BI_FAILS(spd_spread_create_gaussian_lowrank(2, 1, 1.0, with_inf + 4, &s));
  BI_FAILS(spd_spread_create_gaussian_lowrank(2, 1, 1.0, good, NULL));
  BI_FAILS(spd_spread_create_gaussian_lowrank(HUGE_N, 4, 1.0, good, &s));
  BI_FAILS(spd_spread_create_gaussian_lowrank(4, HUGE_N, 1.0, good, &s));
  ck_assert_ptr_eq(s, SENTINEL);
  s = NULL;
  BI_FAILS(spd_spread_create_gaussian(2, NAN, &s));
  after_failed_spread(s);
  /* Absurd dimensions are refused at creation (no array of that many
   * values can exist), before any scale array is read. */
  BI_FAILS_WITH(SPD_E_OVERFLOW, spd_spread_create_gaussian(SIZE_MAX, 1.0, &s));
  BI_FAILS_WITH(SPD_E_OVERFLOW, spd_spread_create_laplace(HUGE_N, 1.0, &s));
  BI_FAILS_WITH(SPD_E_OVERFLOW, spd_spread_create_gaussian_diag(HUGE_N, v_ok, &s));
  BI_FAILS_WITH(SPD_E_OVERFLOW, spd_spread_create_laplace_diag(SIZE_MAX, v_ok, &s));
  ck_assert_ptr_null(s);
}

static void b_spread_clone(const bi_row *r)
{
  (void)r;
  spd_spread *s = mk_spread(SPD_SPREAD_GAUSSIAN), *c = SENTINEL;
  BI_FAILS(spd_spread_clone(NULL, &c));
  BI_FAILS(spd_spread_clone(s, NULL));
  ck_assert_ptr_eq(c, SENTINEL);
  spd_spread_free(s);
  spd_spread_free(NULL);
}

static void b_spread_accessors(const bi_row *r)
{
  (void)r;
  ck_assert_int_eq(spd_spread_get_kind(NULL), 0);
  ck_assert_uint_eq(spd_spread_dim(NULL), 0);
  ck_assert_uint_eq(spd_spread_rank(NULL), 0);
  ck_assert_uint_eq(spd_spread_num_params(NULL), 0);
  ck_assert_uint_eq(spd_spread_noise_width(NULL), 0);
}

static void b_spread_scale(const bi_row *r)
{
  (void)r;
  for (int kind = 1; kind <= 5; kind++) {
    spd_spread *s = mk_spread(kind);
    double *d = bi_outd(1);
    BI_FAILS(spd_spread_get_scale(NULL, d));
    BI_FAILS(spd_spread_get_scale(s, NULL));
    double before, after;
    int has = spd_spread_get_scale(s, &before);
    const double bad[] = {0.0, -2.0, NAN, INFINITY, -INFINITY};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
      BI_FAILS(spd_spread_set_scale(s, bad[i]));
    BI_FAILS(spd_spread_set_scale(NULL, 1.0));
    if (has == SPD_OK) {
      BI_OK(spd_spread_get_scale(s, &after));
      ck_assert(before == after);
    }
    spd_spread_free(s);
  }
}

static void b_spread_params(const bi_row *r)
{
  (void)r;
  for (int kind = 1; kind <= 5; kind++) {
    spd_spread *s = mk_spread(kind);
    size_t np = spd_spread_num_params(s);
    ck_assert(np > 0 && np <= 16);
    float before[16], after[16], bad[16];
    BI_OK(spd_spread_get_params(s, before));
    BI_FAILS(spd_spread_get_params(NULL, bi_outf(16)));
    BI_FAILS(spd_spread_get_params(s, NULL));
    BI_FAILS(spd_spread_set_params(NULL, before));
    BI_FAILS(spd_spread_set_params(s, NULL));
    memcpy(bad, before, sizeof bad);
    bad[0] = NAN;
    BI_FAILS(spd_spread_set_params(s, bad));
    bad[0] = INFINITY;
    BI_FAILS(spd_spread_set_params(s, bad));
    memcpy(bad, before, sizeof bad);
    bad[np - 1] = -INFINITY;
    BI_FAILS(spd_spread_set_params(s, bad));
    BI_OK(spd_spread_get_params(s, after));
    ck_assert(memcmp(before, after, np * sizeof(float)) == 0);
    spd_spread_free(s);
  }
}

static void b_spread_sample(const bi_row *r)
{
  (void)r;
  for (int kind = 1; kind <= 5; kind++) {
    spd_spread *s = mk_spread(kind);
    spd_rng *g = mk_rng();
    float *y = bi_outf(8);
    BI_FAILS(spd_spread_sample(NULL, g, good, 2, y));
    BI_FAILS(spd_spread_sample(s, NULL, good, 2, y));
    BI_FAILS(spd_spread_sample(s, g, NULL, 2, y));
    BI_FAILS(spd_spread_sample(s, g, good, 2, NULL));
    BI_FAILS(spd_spread_sample(s, g, good, 0, y));
    BI_FAILS(spd_spread_sample(s, g, good, HUGE_N, y));
    BI_FAILS(spd_spread_sample(s, g, with_nan + 2, 1, y));
    BI_FAILS(spd_spread_sample(s, g, with_inf + 4, 1, y));
    spd_rng_free(g);
    spd_spread_free(s);
  }
}

static void b_spread_noise(const bi_row *r)
{
  (void)r;
  for (int kind = 1; kind <= 5; kind++) {
    spd_spread *s = mk_spread(kind);
    spd_rng *g = mk_rng();
    float *raw = bi_outf(16), *y = bi_outf(8), *gp = bi_outf(16);
    BI_FAILS(spd_spread_draw_noise(NULL, g, 2, raw));
    BI_FAILS(spd_spread_draw_noise(s, NULL, 2, raw));
    BI_FAILS(spd_spread_draw_noise(s, g, 0, raw));
    BI_FAILS(spd_spread_draw_noise(s, g, 2, NULL));
    BI_FAILS(spd_spread_draw_noise(s, g, HUGE_N, raw));
    BI_FAILS(spd_spread_apply_noise(NULL, good, good, 2, y));
    BI_FAILS(spd_spread_apply_noise(s, NULL, good, 2, y));
    BI_FAILS(spd_spread_apply_noise(s, good, NULL, 2, y));
    BI_FAILS(spd_spread_apply_noise(s, good, good, 2, NULL));
    BI_FAILS(spd_spread_apply_noise(s, good, good, 0, y));
    BI_FAILS(spd_spread_apply_noise(s, good, good, HUGE_N, y));
    BI_FAILS(spd_spread_apply_noise(s, with_nan + 2, good, 1, y));
    BI_FAILS(spd_spread_apply_noise(s, good, with_nan, 2, y));
    BI_FAILS(spd_spread_apply_noise(s, with_ninf, good, 1, y));
    BI_FAILS(spd_spread_apply_noise_grad(NULL, good, 2, good, gp));
    BI_FAILS(spd_spread_apply_noise_grad(s, NULL, 2, good, gp));
    BI_FAILS(spd_spread_apply_noise_grad(s, good, 2, NULL, gp));
    BI_FAILS(spd_spread_apply_noise_grad(s, good, 2, good, NULL));
    BI_FAILS(spd_spread_apply_noise_grad(s, good, 0, good, gp));
    BI_FAILS(spd_spread_apply_noise_grad(s, good, HUGE_N, good, gp));
    BI_FAILS(spd_spread_apply_noise_grad(s, good, 2, with_nan, gp));
    BI_FAILS(spd_spread_apply_noise_grad(s, with_ninf, 2, good, gp));
    spd_rng_free(g);
    spd_spread_free(s);
  }
}

static void b_spread_density(const bi_row *r)
{
  (void)r;
  for (int kind = 1; kind <= 5; kind++) {
    spd_spread *s = mk_spread(kind);
    double *lp = bi_outd(4);
    float *gy = bi_outf(8), *gx = bi_outf(8), *gp = bi_outf(16);
    BI_FAILS(spd_spread_log_density(NULL, good, good, 2, lp));
    BI_FAILS(spd_spread_log_density(s, NULL, good, 2, lp));
    BI_FAILS(spd_spread_log_density(s, good, NULL, 2, lp));
    BI_FAILS(spd_spread_log_density(s, good, good, 2, NULL));
    BI_FAILS(spd_spread_log_density(s, good, good, 0, lp));
    BI_FAILS(spd_spread_log_density(s, good, good, HUGE_N, lp));
    BI_FAILS(spd_spread_log_density(s, with_nan, good, 2, lp));
    BI_FAILS(spd_spread_log_density(s, good, with_inf, 3, lp));
    BI_FAILS(spd_spread_log_density_grad(NULL, good, good, 2, lp, gy, gx, gp));
    BI_FAILS(spd_spread_log_density_grad(s, NULL, good, 2, lp, gy, gx, gp));
    BI_FAILS(spd_spread_log_density_grad(s, good, NULL, 2, lp, gy, gx, gp));
    BI_FAILS(spd_spread_log_density_grad(s, good, good, 0, lp, gy, gx, gp));
    BI_FAILS(spd_spread_log_density_grad(s, good, good, HUGE_N, lp, gy, gx, gp));
    BI_FAILS(spd_spread_log_density_grad(s, with_nan, good, 2, lp, gy, gx, gp));
    BI_FAILS(spd_spread_log_density_grad(s, good, with_ninf, 1, lp, gy, gx, gp));
    spd_spread_free(s);
  }
}

static void b_spread_fourier(const bi_row *r)
{
  (void)r;
  for (int kind = 1; kind <= 5; kind++) {
    spd_spread *s = mk_spread(kind);
    double *v = bi_outd(1);
    BI_FAILS(spd_spread_fourier(NULL, good, v));
    BI_FAILS(spd_spread_fourier(s, NULL, v));
    BI_FAILS(spd_spread_fourier(s, good, NULL));
    BI_FAILS(spd_spread_fourier(s, with_nan + 2, v));
    BI_FAILS(spd_spread_fourier(s, with_inf + 4, v));
    spd_spread_free(s);
  }
}

/* fdiv -------------------------------------------------------------------- */

static double f_kl(double u, void *user)
{
  (void)user;
  return u * log(u);
}

static double f_bad(double u, void *user)
{
  (void)user;
  return u + 1.0; /* f(1) = 2: not an f-divergence */
}

static void b_fdiv_create(const bi_row *r)
{
  (void)r;
  spd_fdiv *f = SENTINEL;
  BI_FAILS(spd_fdiv_create((spd_fdiv_kind)0, 0.0, &f));
  BI_FAILS(spd_fdiv_create((spd_fdiv_kind)-3, 0.0, &f));
  BI_FAILS(spd_fdiv_create((spd_fdiv_kind)99, 0.0, &f));
  BI_FAILS(spd_fdiv_create(SPD_FDIV_CUSTOM, 0.0, &f));
  BI_FAILS(spd_fdiv_create(SPD_FDIV_ALPHA, NAN, &f));
  BI_FAILS(spd_fdiv_create(SPD_FDIV_ALPHA, INFINITY, &f));
  BI_FAILS(spd_fdiv_create(SPD_FDIV_KL, 0.0, NULL));
  BI_FAILS(spd_fdiv_create_custom(NULL, NULL, NULL, &f));
  BI_FAILS(spd_fdiv_create_custom(f_kl, NULL, NULL, NULL));
  BI_FAILS(spd_fdiv_create_custom(f_bad, NULL, NULL, &f));
  ck_assert_ptr_eq(f, SENTINEL);
  spd_fdiv_free(NULL);
  ck_assert_int_eq(spd_fdiv_get_kind(NULL), 0);
  const int kinds[] = {INT_MIN, -1, 0, 16, 99, INT_MAX};
  for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++) {
    const char *n = spd_fdiv_kind_name(kinds[i]);
    ck_assert(n == NULL || n[0] != '\0');
  }
}

static void b_fdiv_eval(const bi_row *r)
{
  (void)r;
  spd_fdiv *f = mk_fdiv();
  double *v = bi_outd(2);
  BI_FAILS(spd_fdiv_eval(NULL, 0.5, &v[0], &v[1]));
  BI_FAILS(spd_fdiv_eval(f, NAN, &v[0], &v[1]));
  BI_FAILS(spd_fdiv_eval(f, INFINITY, &v[0], &v[1]));
  BI_FAILS(spd_fdiv_eval(f, -INFINITY, &v[0], NULL));
  spd_fdiv_free(f);
}

static void b_delta(const bi_row *r)
{
  (void)r;
  spd_fdiv *f = mk_fdiv();
  spd_spread *s = mk_spread(SPD_SPREAD_GAUSSIAN);
  double *v = bi_outd(1);
  float *g = bi_outf(2);
  BI_FAILS(spd_divergence_delta(NULL, s, good, good + 2, v, g));
  BI_FAILS(spd_divergence_delta(f, NULL, good, good + 2, v, g));
  BI_FAILS(spd_divergence_delta(f, s, NULL, good + 2, v, g));
  BI_FAILS(spd_divergence_delta(f, s, good, NULL, v, g));
  BI_FAILS(spd_divergence_delta(f, s, good, good + 2, NULL, g));
  BI_FAILS(spd_divergence_delta(f, s, with_nan + 2, good, v, g));
  BI_FAILS(spd_divergence_delta(f, s, good, with_inf + 4, v, g));
  BI_FAILS(spd_divergence_delta(f, s, with_ninf, good, v, g));
  spd_spread_free(s);
  spd_fdiv_free(f);
}

static void b_estimator_create(const bi_row *r)
{
  (void)r;
  spd_fdiv *f = mk_fdiv();
  spd_spread *s = mk_spread(SPD_SPREAD_GAUSSIAN);
  spd_estimator *e = SENTINEL;
  BI_FAILS(spd_estimator_create(NULL, s, 1, &e));
  BI_FAILS(spd_estimator_create(f, NULL, 1, &e));
  BI_FAILS(spd_estimator_create(f, s, 1, NULL));
  ck_assert_ptr_eq(e, SENTINEL);
  e = NULL;
  BI_FAILS(spd_estimator_create(NULL, s, 1, &e));
  ck_assert_ptr_null(e); /* used after the failed create: */
  BI_FAILS(spd_estimator_set_samples(e, 4));
  BI_FAILS(spd_estimate(e, good, 2, good, 2, bi_outd(1), NULL, NULL));
  spd_estimator_free(e);
  spd_estimator_free(NULL);
  spd_spread_free(s);
  spd_fdiv_free(f);
}

static void b_estimate(const bi_row *r)
{
  (void)r;
  spd_fdiv *f = mk_fdiv();
  spd_spread *s = mk_spread(SPD_SPREAD_GAUSSIAN);
  spd_estimator *e = NULL;
  BI_OK(spd_estimator_create(f, s, 3, &e));
  BI_FAILS(spd_estimator_set_samples(NULL, 4));
  BI_FAILS(spd_estimator_set_samples(e, 0));
  double *v = bi_outd(2);
  float *g = bi_outf(16);
  BI_FAILS(spd_estimate(NULL, good, 2, good, 2, &v[0], &v[1], g));
  BI_FAILS(spd_estimate(e, NULL, 2, good, 2, &v[0], &v[1], g));
  BI_FAILS(spd_estimate(e, good, 2, NULL, 2, &v[0], &v[1], g));
  BI_FAILS(spd_estimate(e, good, 2, good, 2, NULL, &v[1], g));
  BI_FAILS(spd_estimate(e, good, 0, good, 2, &v[0], &v[1], g));
  BI_FAILS(spd_estimate(e, good, 2, good, 0, &v[0], &v[1], g));
  BI_FAILS(spd_estimate(e, good, HUGE_N, good, 2, &v[0], &v[1], g));
  BI_FAILS(spd_estimate(e, good, 2, good, HUGE_N, &v[0], &v[1], g));
  BI_FAILS(spd_estimate(e, good, SIZE_MAX, good, SIZE_MAX, &v[0], &v[1], g));
  BI_FAILS(spd_estimate(e, with_nan, 2, good, 2, &v[0], &v[1], g));
  BI_FAILS(spd_estimate(e, good, 2, with_inf + 2, 2, &v[0], &v[1], g));
  BI_FAILS(spd_estimate(e, with_ninf, 2, good, 2, &v[0], &v[1], g));
  spd_estimator_free(e);
  spd_spread_free(s);
  spd_fdiv_free(f);
}

static void b_mmd(const bi_row *r)
{
  (void)r;
  typedef int (*mmd_f)(const spd_spread *, const float *, size_t, const float *, size_t,
                       double *);
  mmd_f fn = (mmd_f)r->op;
  const size_t min_n = fn == spd_mmd2 ? 2 : 1;
  spd_spread *s = mk_spread(SPD_SPREAD_LAPLACE);
  double *v = bi_outd(1);
  BI_FAILS(fn(NULL, good, 3, good, 3, v));
  BI_FAILS(fn(s, NULL, 3, good, 3, v));
  BI_FAILS(fn(s, good, 3, NULL, 3, v));
  BI_FAILS(fn(s, good, 3, good, 3, NULL));
  BI_FAILS(fn(s, good, min_n - 1, good, 3, v));
  BI_FAILS(fn(s, good, 3, good, min_n - 1, v));
  BI_FAILS(fn(s, good, HUGE_N, good, 3, v));
  BI_FAILS(fn(s, good, SIZE_MAX, good, SIZE_MAX, v));
  BI_FAILS(fn(s, with_nan, 3, good, 3, v));
  BI_FAILS(fn(s, good, 3, with_inf, 3, v));
  spd_spread_free(s);
}

/* params and optimizers --------------------------------------------------- */

static void b_params_create(const bi_row *r)
{
  (void)r;
  BI_FAILS(spd_params_create(NULL));
  spd_params_free(NULL);
}

static void b_params_add(const bi_row *r)
{
  (void)r;
  spd_params *p = mk_params();
  const size_t shape[2] = {2, 3}, zero[2] = {2, 0}, big[2] = {HUGE_N, 4};
  size_t *idx = bi_out(sizeof(size_t));
  char longname[SPD_PARAM_NAME_MAX + 2];
  memset(longname, 'a', sizeof longname - 1);
  longname[sizeof longname - 1] = '\0';
  BI_FAILS(spd_params_add(NULL, "x", 2, shape, NULL, 1, idx));
  BI_FAILS(spd_params_add(p, NULL, 2, shape, NULL, 1, idx));
  BI_FAILS(spd_params_add(p, "", 2, shape, NULL, 1, idx));
  BI_FAILS(spd_params_add(p, longname, 2, shape, NULL, 1, idx));
  BI_FAILS(spd_params_add(p, "x", -1, shape, NULL, 1, idx));
  BI_FAILS(spd_params_add(p, "x", SPD_MAX_DIMS + 1, shape, NULL, 1, idx));
  BI_FAILS(spd_params_add(p, "x", 2, NULL, NULL, 1, idx));
  BI_FAILS(spd_params_add(p, "x", 2, zero, NULL, 1, idx));
  BI_FAILS(spd_params_add(p, "x", 2, big, NULL, 1, idx));
  BI_FAILS(spd_params_add(p, "x", 2, shape, with_nan, 1, idx));
  BI_FAILS(spd_params_add(p, "x", 2, shape, with_inf, 1, idx));
  BI_FAILS(spd_params_add(p, "w", 2, shape, NULL, 1, idx)); /* duplicate */
  ck_assert_uint_eq(spd_params_count(p), 2);
  spd_params_free(p);
}

static void b_params_query(const bi_row *r)
{
  (void)r;
  spd_params *p = mk_params();
  size_t *idx = bi_out(sizeof(size_t));
  int *nd = bi_out(sizeof(int));
  size_t *shape = bi_out(SPD_MAX_DIMS * sizeof(size_t));
  ck_assert_uint_eq(spd_params_count(NULL), 0);
  BI_FAILS(spd_params_find(NULL, "w", idx));
  BI_FAILS(spd_params_find(p, NULL, idx));
  BI_FAILS(spd_params_find(p, "w", NULL));
  BI_FAILS_WITH(SPD_E_NOT_FOUND, spd_params_find(p, "nope", idx));
  ck_assert_ptr_null(spd_params_name(NULL, 0));
  ck_assert_ptr_null(spd_params_name(p, 2));
  ck_assert_ptr_null(spd_params_name(p, SIZE_MAX));
  BI_FAILS(spd_params_shape(NULL, 0, nd, shape));
  BI_FAILS(spd_params_shape(p, 2, nd, shape));
  ck_assert_uint_eq(spd_params_size(NULL, 0), 0);
  ck_assert_uint_eq(spd_params_size(p, 7), 0);
  BI_FAILS(spd_params_trainable(NULL, 0));
  BI_FAILS(spd_params_trainable(p, 2));
  ck_assert_ptr_null(spd_params_data(NULL, 0));
  ck_assert_ptr_null(spd_params_data(p, 2));
  ck_assert_ptr_null(spd_params_grad(NULL, 0));
  ck_assert_ptr_null(spd_params_grad(p, 2));
  ck_assert_ptr_null(spd_params_grad(p, 1)); /* a buffer has no gradient */
  spd_params_zero_grad(NULL);
  spd_params_free(p);
}

static void b_param_bind(const bi_row *r)
{
  (void)r;
  spd_params *p = mk_params();
  spd_tape *t = mk_tape();
  BI_NULL(spd_param(NULL, p, 0));
  BI_TAPE_FAILS(t, spd_param(t, NULL, 0));
  spd_tape_reset(t);
  BI_TAPE_FAILS(t, spd_param(t, p, 2));
  spd_tape_reset(t);
  BI_TAPE_FAILS(t, spd_param(t, p, SIZE_MAX));
  spd_tape_free(t);
  spd_params_free(p);
}

static void b_optim_create(const bi_row *r)
{
  (void)r;
  spd_params *p = mk_params();
  spd_optim *o = SENTINEL;
  const double bad_lr[] = {0.0, -1.0, NAN, INFINITY, -INFINITY};
  for (size_t i = 0; i < sizeof bad_lr / sizeof *bad_lr; i++) {
    BI_FAILS(spd_optim_create_adam(p, bad_lr[i], &o));
    BI_FAILS(spd_optim_create_sgd(p, bad_lr[i], 0.9, &o));
  }
  BI_FAILS(spd_optim_create_adam(NULL, 1e-3, &o));
  BI_FAILS(spd_optim_create_adam(p, 1e-3, NULL));
  BI_FAILS(spd_optim_create_sgd(NULL, 1e-3, 0.9, &o));
  BI_FAILS(spd_optim_create_sgd(p, 1e-3, -0.5, &o));
  BI_FAILS(spd_optim_create_sgd(p, 1e-3, NAN, &o));
  BI_FAILS(spd_optim_create_sgd(p, 1e-3, INFINITY, &o));
  BI_FAILS(spd_optim_create_sgd(p, 1e-3, 0.9, NULL));
  ck_assert_ptr_eq(o, SENTINEL);
  o = NULL;
  BI_FAILS(spd_optim_create_adam(p, NAN, &o));
  BI_FAILS(spd_optim_step(o)); /* the handle left by the failed create */
  spd_optim_free(o);
  spd_optim_free(NULL);
  ck_assert_int_lt(spd_optim_kind_of(NULL), 0);
  spd_params_free(p);
}

static void b_optim_options(const bi_row *r)
{
  (void)r;
  spd_params *p = mk_params();
  spd_optim *adam = NULL, *sgd = NULL;
  BI_OK(spd_optim_create_adam(p, 1e-3, &adam));
  BI_OK(spd_optim_create_sgd(p, 1e-2, 0.0, &sgd));
  double *v = bi_outd(1);
  BI_FAILS(spd_optim_get(NULL, SPD_OPTIM_LEARNING_RATE, v));
  BI_FAILS(spd_optim_get(adam, SPD_OPTIM_LEARNING_RATE, NULL));
  BI_FAILS(spd_optim_get(adam, (spd_optim_option)0, v));
  BI_FAILS(spd_optim_get(adam, (spd_optim_option)99, v));
  BI_FAILS(spd_optim_get(adam, SPD_OPTIM_MOMENTUM, v));
  BI_FAILS(spd_optim_get(sgd, SPD_OPTIM_BETA1, v));
  BI_FAILS(spd_optim_set(NULL, SPD_OPTIM_LEARNING_RATE, 1.0));
  BI_FAILS(spd_optim_set(adam, (spd_optim_option)0, 1.0));
  BI_FAILS(spd_optim_set(adam, (spd_optim_option)99, 1.0));
  const struct { spd_optim_option o; double v; } bad_adam[] = {
    {SPD_OPTIM_LEARNING_RATE, 0.0}, {SPD_OPTIM_LEARNING_RATE, NAN},
    {SPD_OPTIM_LEARNING_RATE, INFINITY}, {SPD_OPTIM_BETA1, 1.0}, {SPD_OPTIM_BETA1, -0.1},
    {SPD_OPTIM_BETA1, NAN}, {SPD_OPTIM_BETA2, 1.0}, {SPD_OPTIM_BETA2, NAN},
    {SPD_OPTIM_EPS, 0.0}, {SPD_OPTIM_EPS, -1.0}, {SPD_OPTIM_EPS, NAN},
    {SPD_OPTIM_WEIGHT_DECAY, -1.0}, {SPD_OPTIM_WEIGHT_DECAY, NAN},
    {SPD_OPTIM_MOMENTUM, 0.5}, {SPD_OPTIM_NESTEROV, 1.0}};
  for (size_t i = 0; i < sizeof bad_adam / sizeof *bad_adam; i++)
    BI_FAILS(spd_optim_set(adam, bad_adam[i].o, bad_adam[i].v));
  const struct { spd_optim_option o; double v; } bad_sgd[] = {
    {SPD_OPTIM_LEARNING_RATE, -1.0}, {SPD_OPTIM_MOMENTUM, -1.0}, {SPD_OPTIM_MOMENTUM, NAN},
    {SPD_OPTIM_NESTEROV, 2.0}, {SPD_OPTIM_NESTEROV, 1.0} /* momentum 0 */,
    {SPD_OPTIM_BETA1, 0.9}, {SPD_OPTIM_WEIGHT_DECAY, INFINITY}};
  for (size_t i = 0; i < sizeof bad_sgd / sizeof *bad_sgd; i++)
    BI_FAILS(spd_optim_set(sgd, bad_sgd[i].o, bad_sgd[i].v));
  double lr;
  BI_OK(spd_optim_get(adam, SPD_OPTIM_LEARNING_RATE, &lr));
  ck_assert(lr == 1e-3);
  spd_optim_free(adam);
  spd_optim_free(sgd);
  spd_params_free(p);
}

static void b_optim_step(const bi_row *r)
{
  (void)r;
  spd_params *p = mk_params();
  spd_optim *o = NULL;
  BI_OK(spd_optim_create_adam(p, 1e-3, &o));
  uint64_t *st = bi_out(sizeof(uint64_t));
  BI_FAILS(spd_optim_step(NULL));
  BI_FAILS(spd_optim_get_step(NULL, st));
  BI_FAILS(spd_optim_get_step(o, NULL));
  BI_FAILS(spd_optim_set_step(NULL, 3));
  /* A NaN gradient is refused and changes nothing. */
  float w0[6];
  memcpy(w0, spd_params_data(p, 0), sizeof w0);
  spd_params_grad(p, 0)[2] = NAN;
  BI_FAILS(spd_optim_step(o));
  ck_assert(memcmp(w0, spd_params_data(p, 0), sizeof w0) == 0);
  uint64_t n;
  BI_OK(spd_optim_get_step(o, &n));
  ck_assert_uint_eq(n, 0);
  spd_optim_free(o);
  spd_params_free(p);
}

static void b_optim_state(const bi_row *r)
{
  (void)r;
  spd_params *p = mk_params();
  spd_optim *o = NULL;
  BI_OK(spd_optim_create_adam(p, 1e-3, &o));
  ck_assert_int_lt(spd_optim_state_count(NULL), 0);
  ck_assert_ptr_null(spd_optim_state_name(NULL, 0));
  ck_assert_ptr_null(spd_optim_state_name(o, -1));
  ck_assert_ptr_null(spd_optim_state_name(o, 2));
  ck_assert_ptr_null(spd_optim_state_name(o, INT_MAX));
  const char *b = spd_optim_state_name(o, 0);
  ck_assert_ptr_nonnull(b);
  float *out = bi_outf(8);
  BI_FAILS(spd_optim_get_state(NULL, "w", b, out, 6));
  BI_FAILS(spd_optim_get_state(o, NULL, b, out, 6));
  BI_FAILS(spd_optim_get_state(o, "w", NULL, out, 6));
  BI_FAILS(spd_optim_get_state(o, "w", b, NULL, 6));
  BI_FAILS(spd_optim_get_state(o, "w", b, out, 5));
  BI_FAILS(spd_optim_get_state(o, "w", b, out, SIZE_MAX));
  BI_FAILS(spd_optim_get_state(o, "nope", b, out, 6));
  BI_FAILS(spd_optim_get_state(o, "rm", b, out, 3)); /* a buffer has no state */
  BI_FAILS(spd_optim_get_state(o, "w", "nope", out, 6));
  float in[6] = {1, 2, 3, 4, 5, 6}, st0[6], st1[6];
  BI_OK(spd_optim_get_state(o, "w", b, st0, 6));
  BI_FAILS(spd_optim_set_state(NULL, "w", b, in, 6));
  BI_FAILS(spd_optim_set_state(o, NULL, b, in, 6));
  BI_FAILS(spd_optim_set_state(o, "w", NULL, in, 6));
  BI_FAILS(spd_optim_set_state(o, "w", b, NULL, 6));
  BI_FAILS(spd_optim_set_state(o, "w", b, in, 7));
  BI_FAILS(spd_optim_set_state(o, "nope", b, in, 6));
  BI_FAILS(spd_optim_set_state(o, "w", "nope", in, 6));
  BI_FAILS(spd_optim_set_state(o, "w", b, with_nan, 6));
  BI_FAILS(spd_optim_set_state(o, "w", b, with_inf, 6));
  BI_OK(spd_optim_get_state(o, "w", b, st1, 6));
  ck_assert(memcmp(st0, st1, sizeof st0) == 0);
  spd_optim_free(o);
  spd_params_free(p);
}

/* tape -------------------------------------------------------------------- */

static void b_tape_basic(const bi_row *r)
{
  (void)r;
  BI_FAILS(spd_tape_create(NULL));
  spd_tape_free(NULL);
  spd_tape_reset(NULL);
  ck_assert_int_lt(spd_tape_status(NULL), 0);
  ck_assert_ptr_nonnull(spd_tape_error(NULL));
  BI_FAILS(spd_tape_reserve(NULL, 1024));
  BI_FAILS(spd_tape_set_limit(NULL, 1024));
  ck_assert_uint_eq(spd_tape_bytes_used(NULL), 0);
  ck_assert_uint_eq(spd_tape_bytes_reserved(NULL), 0);
  ck_assert_uint_eq(spd_tape_node_count(NULL), 0);
  spd_tape *t = mk_tape();
  BI_FAILS(spd_tape_reserve(t, SIZE_MAX));
  BI_FAILS(spd_tape_reserve(t, SIZE_MAX / 2));
  BI_FAILS(spd_tape_reserve(t, SIZE_MAX / 4)); /* reaches the allocator, which fails */
  ck_assert_int_eq(spd_tape_status(t), SPD_OK); /* reserve errors are not sticky */
  /* A limit below what is in use is refused, and a step past the limit
   * fails cleanly. */
  BI_OK(spd_tape_set_limit(t, 4096));
  static float big[64 * 64];
  const size_t shape[2] = {64, 64};
  BI_TAPE_FAILS(t, spd_leaf(t, 2, shape, big, 1));
  spd_tape_free(t);
}

static void b_leaf(const bi_row *r)
{
  (void)r;
  const size_t shape[4] = {2, 3, 1, 1}, zero[2] = {2, 0}, big[2] = {HUGE_N, 4},
               big3[3] = {SIZE_MAX / 4, 4, 4};
  BI_NULL(spd_leaf(NULL, 2, shape, good, 1));
  spd_tape *t = mk_tape();
#define FRESH(call)                                                          \
  do {                                                                       \
    spd_tape_reset(t);                                                       \
    BI_TAPE_FAILS(t, call);                                                  \
  } while (0)
  FRESH(spd_leaf(t, -1, shape, good, 1));
  FRESH(spd_leaf(t, SPD_MAX_DIMS + 1, shape, good, 1));
  FRESH(spd_leaf(t, 2, NULL, good, 1));
  FRESH(spd_leaf(t, 2, zero, good, 1));
  FRESH(spd_leaf(t, 2, big, good, 1));
  FRESH(spd_leaf(t, 3, big3, good, 1));
  FRESH(spd_leaf(t, 2, shape, with_nan, 1));
  FRESH(spd_leaf(t, 2, shape, with_inf, 1));
  /* sticky: once failed, a valid call returns NULL too */
  BI_NULL(spd_leaf(t, 2, shape, good, 1));
  spd_tape_free(t);
}

static void b_backward(const bi_row *r)
{
  (void)r;
  spd_tape *t = mk_tape();
  spd_tensor *x = leaf(t, 2, 2, 3, 0, 0);
  BI_FAILS(spd_backward(NULL, x));
  BI_FAILS(spd_backward(t, NULL));
  spd_tape_reset(t);
  x = leaf(t, 2, 2, 3, 0, 0);
  BI_FAILS(spd_backward(t, x)); /* not a scalar */
  spd_tape *t2 = mk_tape();
  spd_tensor *y = spd_sum(t2, leaf(t2, 1, 4, 0, 0, 0));
  ck_assert_ptr_nonnull(y);
  spd_tape_reset(t);
  BI_FAILS(spd_backward(t, y)); /* a tensor of another tape */
  /* a failed graph: backward reports the sticky error */
  spd_tape_reset(t);
  BI_NULL(spd_log(t, NULL));
  BI_FAILS(spd_backward(t, y));
  spd_tape_free(t2);
  spd_tape_free(t);
}

static void b_tensor_query(const bi_row *r)
{
  (void)r;
  size_t *shape = bi_out(SPD_MAX_DIMS * sizeof(size_t));
  ck_assert_int_lt(spd_tensor_ndim(NULL), 0);
  BI_FAILS(spd_tensor_shape(NULL, shape));
  spd_tape *t = mk_tape();
  spd_tensor *x = leaf(t, 2, 2, 3, 0, 0);
  BI_FAILS(spd_tensor_shape(x, NULL));
  ck_assert_uint_eq(spd_tensor_size(NULL), 0);
  ck_assert_ptr_null(spd_tensor_data(NULL));
  ck_assert_ptr_null(spd_tensor_grad(NULL));
  spd_tape_free(t);
}

typedef spd_tensor *(*binary_f)(spd_tape *, spd_tensor *, spd_tensor *);

static void b_binary(const bi_row *r)
{
  binary_f fn = (binary_f)r->op;
  spd_tape *t = mk_tape();
  spd_tensor *a = leaf(t, 2, 2, 3, 0, 0);
  BI_NULL(fn(NULL, a, a));
  spd_tape_reset(t);
  a = leaf(t, 2, 2, 3, 0, 0);
  BI_TAPE_FAILS(t, fn(t, a, NULL));
  spd_tape_reset(t);
  a = leaf(t, 2, 2, 3, 0, 0);
  BI_TAPE_FAILS(t, fn(t, NULL, a));
  spd_tape_reset(t);
  a = leaf(t, 2, 2, 3, 0, 0);
  spd_tensor *b = leaf(t, 2, 5, 7, 0, 0); /* matches nothing */
  BI_TAPE_FAILS(t, fn(t, a, b));
  spd_tape_reset(t);
  a = leaf(t, 3, 2, 3, 4, 0);
  b = leaf(t, 1, 5, 0, 0, 0);
  BI_TAPE_FAILS(t, fn(t, a, b));
  spd_tape_free(t);
}

static void b_matmul(const bi_row *r)
{
  (void)r;
  spd_tape *t = mk_tape();
  BI_NULL(spd_matmul(NULL, NULL, NULL));
  spd_tensor *a = leaf(t, 2, 2, 3, 0, 0), *b = leaf(t, 2, 2, 3, 0, 0);
  BI_TAPE_FAILS(t, spd_matmul(t, a, b));
  spd_tape_reset(t);
  a = leaf(t, 3, 2, 3, 4, 0);
  b = leaf(t, 2, 4, 3, 0, 0);
  BI_TAPE_FAILS(t, spd_matmul(t, a, b));
  spd_tape_reset(t);
  a = leaf(t, 2, 2, 3, 0, 0);
  BI_TAPE_FAILS(t, spd_matmul(t, a, NULL));
  spd_tape_reset(t);
  a = leaf(t, 2, 2, 3, 0, 0);
  b = leaf(t, 2, 2, 3, 0, 0);
  BI_TAPE_FAILS(t, spd_matmul_ex(t, a, b, 0, 0));
  spd_tape_reset(t);
  a = leaf(t, 2, 2, 3, 0, 0);
  b = leaf(t, 2, 2, 3, 0, 0);
  BI_TAPE_FAILS(t, spd_matmul_ex(t, a, b, 1, 1));
  BI_NULL(spd_matmul_ex(NULL, a, b, 0, 1));
  spd_tape_free(t);
}

static void b_scalar_ops(const bi_row *r)
{
  typedef spd_tensor *(*scalar_f)(spd_tape *, spd_tensor *, float);
  scalar_f fn = (scalar_f)r->op;
  spd_tape *t = mk_tape();
  BI_NULL(fn(NULL, NULL, 1.0f));
  const float bad[] = {NAN, INFINITY, -INFINITY};
  for (size_t i = 0; i < 3; i++) {
    spd_tape_reset(t);
    BI_TAPE_FAILS(t, fn(t, leaf(t, 2, 2, 3, 0, 0), bad[i]));
  }
  spd_tape_reset(t);
  BI_TAPE_FAILS(t, fn(t, NULL, 1.0f));
  spd_tape_free(t);
}

static void b_conv(const bi_row *r)
{
  (void)r;
  spd_tape *t = mk_tape();
  BI_NULL(spd_conv2d(NULL, NULL, NULL, NULL, 1, 0));
  BI_NULL(spd_conv2d_transpose(NULL, NULL, NULL, NULL, 1, 0, 0));
  spd_tensor *x, *w, *b;
#define CONV_CASE(xs, ws, bs, call)                                          \
  do {                                                                       \
    spd_tape_reset(t);                                                       \
    x = leaf xs;                                                             \
    w = leaf ws;                                                             \
    b = leaf bs;                                                             \
    BI_TAPE_FAILS(t, call);                                                  \
  } while (0)
  /* x [1,2,5,5], w [3,2,3,3], b [3] is valid for conv2d with stride 1 */
  CONV_CASE((t, 4, 1, 2, 5, 5), (t, 4, 3, 2, 3, 3), (t, 1, 3, 0, 0, 0),
            spd_conv2d(t, x, w, b, 0, 0));
  CONV_CASE((t, 4, 1, 2, 5, 5), (t, 4, 3, 2, 3, 3), (t, 1, 3, 0, 0, 0),
            spd_conv2d(t, x, w, b, -1, 0));
  CONV_CASE((t, 4, 1, 2, 5, 5), (t, 4, 3, 2, 3, 3), (t, 1, 3, 0, 0, 0),
            spd_conv2d(t, x, w, b, 1, -1));
  CONV_CASE((t, 4, 1, 2, 5, 5), (t, 4, 3, 4, 3, 3), (t, 1, 3, 0, 0, 0),
            spd_conv2d(t, x, w, b, 1, 0)); /* channels differ */
  CONV_CASE((t, 4, 1, 2, 5, 5), (t, 4, 3, 2, 3, 3), (t, 1, 4, 0, 0, 0),
            spd_conv2d(t, x, w, b, 1, 0)); /* bias length */
  CONV_CASE((t, 3, 2, 5, 5, 0), (t, 4, 3, 2, 3, 3), (t, 1, 3, 0, 0, 0),
            spd_conv2d(t, x, w, b, 1, 0)); /* rank of x */
  CONV_CASE((t, 4, 1, 2, 2, 2), (t, 4, 3, 2, 3, 3), (t, 1, 3, 0, 0, 0),
            spd_conv2d(t, x, w, b, 1, 0)); /* kernel larger than input */
  CONV_CASE((t, 4, 1, 2, 5, 5), (t, 4, 3, 2, 3, 3), (t, 1, 3, 0, 0, 0),
            spd_conv2d(t, x, w, b, INT_MAX, INT_MAX)); /* size overflow */
  /* conv2d_transpose: x [1,3,4,4], w [3,2,3,3] (in, out, kh, kw), b [2] */
  CONV_CASE((t, 4, 1, 3, 4, 4), (t, 4, 3, 2, 3, 3), (t, 1, 2, 0, 0, 0),
            spd_conv2d_transpose(t, x, w, b, 0, 0, 0));
  CONV_CASE((t, 4, 1, 3, 4, 4), (t, 4, 3, 2, 3, 3), (t, 1, 2, 0, 0, 0),
            spd_conv2d_transpose(t, x, w, b, 2, -1, 0));
  CONV_CASE((t, 4, 1, 3, 4, 4), (t, 4, 3, 2, 3, 3), (t, 1, 2, 0, 0, 0),
            spd_conv2d_transpose(t, x, w, b, 2, 0, 2)); /* output_pad >= stride */
  CONV_CASE((t, 4, 1, 3, 4, 4), (t, 4, 3, 2, 3, 3), (t, 1, 2, 0, 0, 0),
            spd_conv2d_transpose(t, x, w, b, 2, 0, -1));
  CONV_CASE((t, 4, 1, 2, 4, 4), (t, 4, 3, 2, 3, 3), (t, 1, 2, 0, 0, 0),
            spd_conv2d_transpose(t, x, w, b, 1, 0, 0)); /* channels differ */
  CONV_CASE((t, 4, 1, 3, 4, 4), (t, 4, 3, 2, 3, 3), (t, 1, 5, 0, 0, 0),
            spd_conv2d_transpose(t, x, w, b, 1, 0, 0)); /* bias length */
  CONV_CASE((t, 4, 1, 3, 4, 4), (t, 4, 3, 2, 3, 3), (t, 1, 2, 0, 0, 0),
            spd_conv2d_transpose(t, x, w, b, INT_MAX, 0, 0)); /* size overflow */
  spd_tape_reset(t);
  BI_TAPE_FAILS(t, spd_conv2d(t, NULL, leaf(t, 4, 3, 2, 3, 3), NULL, 1, 0));
  spd_tape_free(t);
}

typedef spd_tensor *(*batch_norm_f)(spd_tape *, spd_tensor *, spd_tensor *, spd_tensor *,
                                    spd_params *, size_t, size_t, int, float, float);

/* spd_batch_norm and spd_batch_norm_relu: the same arguments, the same checks. */
static void b_batch_norm(const bi_row *r)
{
  batch_norm_f bn = (batch_norm_f)r->op;
  spd_tape *t = mk_tape();
  spd_params *p = NULL;
  BI_OK(spd_params_create(&p));
  const size_t c3[1] = {3};
  size_t rm, rv;
  BI_OK(spd_params_add(p, "rm", 1, c3, NULL, 0, &rm));
  BI_OK(spd_params_add(p, "rv", 1, c3, NULL, 0, &rv));
  BI_NULL(bn(NULL, NULL, NULL, NULL, p, rm, rv, 1, 0.1f, 1e-5f));
  spd_tensor *x, *g, *b;
#define BN_CASE(gs, call)                                                    \
  do {                                                                       \
    spd_tape_reset(t);                                                       \
    x = leaf(t, 4, 2, 3, 2, 2);                                              \
    g = leaf gs;                                                             \
    b = leaf(t, 1, 3, 0, 0, 0);                                              \
    BI_TAPE_FAILS(t, call);                                                  \
  } while (0)
  BN_CASE((t, 1, 4, 0, 0, 0), bn(t, x, g, b, p, rm, rv, 1, 0.1f, 1e-5f));
  BN_CASE((t, 1, 3, 0, 0, 0), bn(t, x, g, b, p, rm, rv, 1, 0.1f, 0.0f));
  BN_CASE((t, 1, 3, 0, 0, 0), bn(t, x, g, b, p, rm, rv, 1, 0.1f, NAN));
  BN_CASE((t, 1, 3, 0, 0, 0), bn(t, x, g, b, p, rm, rv, 1, NAN, 1e-5f));
  BN_CASE((t, 1, 3, 0, 0, 0), bn(t, x, g, b, p, rm, rv, 1, 1.5f, 1e-5f));
  BN_CASE((t, 1, 3, 0, 0, 0), bn(t, x, g, b, p, rm, rv, 1, -0.1f, 1e-5f));
  BN_CASE((t, 1, 3, 0, 0, 0), bn(t, x, g, b, p, 7, rv, 1, 0.1f, 1e-5f));
  BN_CASE((t, 1, 3, 0, 0, 0), bn(t, x, g, b, p, rm, rm, 1, 0.1f, 1e-5f));
  BN_CASE((t, 1, 3, 0, 0, 0), bn(t, x, g, b, NULL, rm, rv, 0, 0.1f, 1e-5f));
  BN_CASE((t, 2, 3, 1, 0, 0), bn(t, x, g, b, p, rm, rv, 1, 0.1f, 1e-5f));
  /* inference with running statistics that are not usable */
  spd_params_data(p, rv)[1] = -1.0f;
  BN_CASE((t, 1, 3, 0, 0, 0), bn(t, x, g, b, p, rm, rv, 0, 0.1f, 1e-5f));
  spd_params_data(p, rv)[1] = 1.0f;
  spd_params_data(p, rm)[2] = NAN;
  BN_CASE((t, 1, 3, 0, 0, 0), bn(t, x, g, b, p, rm, rv, 0, 0.1f, 1e-5f));
  spd_params_free(p);
  spd_tape_free(t);
}

typedef spd_tensor *(*unary_f)(spd_tape *, spd_tensor *);

static void b_unary(const bi_row *r)
{
  unary_f fn = (unary_f)r->op;
  spd_tape *t = mk_tape();
  BI_NULL(fn(NULL, NULL));
  spd_tensor *x = leaf(t, 2, 2, 3, 0, 0);
  BI_NULL(fn(NULL, x));
  BI_TAPE_FAILS(t, fn(t, NULL));
  if (fn == spd_log) { /* domain: x <= 0 */
    spd_tape_reset(t);
    const size_t shape[1] = {3};
    const float v[3] = {1.0f, 0.0f, 2.0f};
    spd_tensor *z = spd_leaf(t, 1, shape, v, 0);
    ck_assert_ptr_nonnull(z);
    BI_TAPE_FAILS(t, spd_log(t, z));
  }
  if (fn == spd_exp) { /* overflow: exp(100) is not a float */
    spd_tape_reset(t);
    const size_t shape[1] = {2};
    const float v[2] = {1.0f, 100.0f};
    spd_tensor *z = spd_leaf(t, 1, shape, v, 0);
    ck_assert_ptr_nonnull(z);
    BI_TAPE_FAILS(t, spd_exp(t, z));
  }
  spd_tape_free(t);
}

static void b_axis_ops(const bi_row *r)
{
  typedef spd_tensor *(*axis_f)(spd_tape *, spd_tensor *, int);
  axis_f fn = (axis_f)r->op;
  spd_tape *t = mk_tape();
  BI_NULL(fn(NULL, NULL, 0));
  const int bad[] = {-3, 2, 3, INT_MAX, INT_MIN}; /* -2..1 are valid */
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    spd_tape_reset(t);
    BI_TAPE_FAILS(t, fn(t, leaf(t, 2, 2, 3, 0, 0), bad[i]));
  }
  spd_tape_reset(t);
  BI_TAPE_FAILS(t, fn(t, NULL, 0));
  spd_tape_free(t);
}

static void b_reshape(const bi_row *r)
{
  (void)r;
  spd_tape *t = mk_tape();
  const size_t s23[2] = {3, 2}, s7[1] = {7}, s0[2] = {6, 0}, sbig[2] = {HUGE_N, 2};
  BI_NULL(spd_reshape(NULL, NULL, 2, s23));
#define RS_CASE(call)                                                        \
  do {                                                                       \
    spd_tape_reset(t);                                                       \
    spd_tensor *x_ = leaf(t, 2, 2, 3, 0, 0);                                 \
    (void)x_;                                                                \
    BI_TAPE_FAILS(t, call);                                                  \
  } while (0)
  RS_CASE(spd_reshape(t, x_, 1, s7));
  RS_CASE(spd_reshape(t, x_, 2, s0));
  RS_CASE(spd_reshape(t, x_, 2, sbig));
  RS_CASE(spd_reshape(t, x_, 0, s23));
  RS_CASE(spd_reshape(t, x_, SPD_MAX_DIMS + 1, s23));
  RS_CASE(spd_reshape(t, x_, 2, NULL));
  RS_CASE(spd_reshape(t, NULL, 2, s23));
  spd_tape_free(t);
}

static void b_slice(const bi_row *r)
{
  (void)r;
  spd_tape *t = mk_tape();
  BI_NULL(spd_slice(NULL, NULL, 0, 0, 1));
  RS_CASE(spd_slice(t, x_, -3, 0, 1));
  RS_CASE(spd_slice(t, x_, INT_MIN, 0, 1));
  RS_CASE(spd_slice(t, x_, 2, 0, 1));
  RS_CASE(spd_slice(t, x_, 1, 0, 0));
  RS_CASE(spd_slice(t, x_, 1, 2, 2));
  RS_CASE(spd_slice(t, x_, 1, 3, 1));
  RS_CASE(spd_slice(t, x_, 1, SIZE_MAX, 2)); /* start + length wraps */
  RS_CASE(spd_slice(t, x_, 1, 1, SIZE_MAX));
  RS_CASE(spd_slice(t, NULL, 0, 0, 1));
  spd_tape_free(t);
}

static void b_concat(const bi_row *r)
{
  (void)r;
  spd_tape *t = mk_tape();
  BI_NULL(spd_concat(NULL, 0, NULL, 0));
  spd_tensor *xs[3];
#define CC_CASE(n, axis, c1)                                                 \
  do {                                                                       \
    spd_tape_reset(t);                                                       \
    xs[0] = leaf(t, 2, 2, 3, 0, 0);                                          \
    xs[1] = leaf(t, 2, 2, c1, 0, 0);                                         \
    xs[2] = NULL;                                                            \
    BI_TAPE_FAILS(t, spd_concat(t, n, xs, axis));                            \
  } while (0)
  CC_CASE(0, 0, 3);
  CC_CASE(-1, 0, 3);
  CC_CASE(2, 0, 4);  /* other dimensions differ */
  CC_CASE(2, 2, 3);  /* axis out of range */
  CC_CASE(2, -3, 3);
  CC_CASE(3, 0, 3);  /* a NULL element */
  spd_tape_reset(t);
  BI_TAPE_FAILS(t, spd_concat(t, 2, NULL, 0));
  spd_tape_reset(t);
  xs[0] = leaf(t, 2, 2, 3, 0, 0);
  xs[1] = leaf(t, 3, 2, 3, 1, 0);
  BI_TAPE_FAILS(t, spd_concat(t, 2, xs, 0)); /* ranks differ */
  spd_tape_free(t);
}

static void b_gaussian_ld(const bi_row *r)
{
  (void)r;
  spd_tape *t = mk_tape();
  BI_NULL(spd_gaussian_log_density(NULL, NULL, NULL, NULL));
  spd_tensor *x = leaf(t, 2, 2, 3, 0, 0), *m = leaf(t, 2, 2, 4, 0, 0),
             *l = leaf(t, 2, 2, 3, 0, 0);
  BI_TAPE_FAILS(t, spd_gaussian_log_density(t, x, m, l));
  spd_tape_reset(t);
  x = leaf(t, 2, 2, 3, 0, 0);
  m = leaf(t, 2, 2, 3, 0, 0);
  BI_TAPE_FAILS(t, spd_gaussian_log_density(t, x, m, NULL));
  spd_tape_free(t);
}

static void b_spread_noise_op(const bi_row *r)
{
  (void)r;
  spd_tape *t = mk_tape();
  spd_spread *s = mk_spread(SPD_SPREAD_GAUSSIAN_LOWRANK); /* dim 2 */
  spd_rng *g = mk_rng();
  uint64_t pos0, pos1;
  BI_OK(spd_rng_get_state(g, NULL, NULL, &pos0));
  BI_NULL(spd_spread_noise(NULL, NULL, s, g));
  BI_NULL(spd_spread_noise_learn(NULL, NULL, s, NULL, g));
  RS_CASE(spd_spread_noise(t, x_, s, g)); /* last dim 3 != 2 */
  RS_CASE(spd_spread_noise(t, x_, NULL, g));
  RS_CASE(spd_spread_noise(t, x_, s, NULL));
  RS_CASE(spd_spread_noise(t, NULL, s, g));
  spd_tape_reset(t);
  spd_tensor *x = leaf(t, 2, 3, 2, 0, 0), *prm = leaf(t, 1, 7, 0, 0, 0);
  BI_TAPE_FAILS(t, spd_spread_noise_learn(t, x, s, prm, g)); /* 7 params, not 3 */
  spd_tape_reset(t);
  x = leaf(t, 2, 3, 2, 0, 0);
  BI_TAPE_FAILS(t, spd_spread_noise_learn(t, x, s, NULL, g));
  spd_tape_reset(t);
  x = leaf(t, 2, 3, 2, 0, 0);
  prm = leaf(t, 1, spd_spread_num_params(s), 0, 0, 0);
  BI_TAPE_FAILS(t, spd_spread_noise_learn(t, x, NULL, prm, g));
  BI_OK(spd_rng_get_state(g, NULL, NULL, &pos1));
  ck_assert_uint_eq(pos0, pos1);
  spd_rng_free(g);
  spd_spread_free(s);
  spd_tape_free(t);
}

/* generator.h, vae.h --------------------------------------------------------- */

/* Files for the loader rows, in a directory of the row's own. */
static char bi_dir[64];

static void bi_dir_make(void)
{
  snprintf(bi_dir, sizeof bi_dir, "/tmp/spdt-bi-XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(bi_dir));
}

static const char *bi_path(const char *name)
{
  static char p[4][128];
  static int k;
  k = (k + 1) % 4;
  snprintf(p[k], sizeof p[k], "%s/%s", bi_dir, name);
  return p[k];
}

static void bi_dir_remove(void)
{
  const char *names[] = {"empty", "genr", "svae", "trunc", "junk", "trunc2", "x.tmp"};
  for (size_t i = 0; i < sizeof names / sizeof *names; i++)
    unlink(bi_path(names[i]));
  ck_assert_int_eq(rmdir(bi_dir), 0); /* no stray temporary files either */
}

/* Write the first `keep` bytes of src to dst (keep 0: an empty file). */
static void bi_copy_prefix(const char *src, const char *dst, long keep)
{
  FILE *f = fopen(src, "rb");
  ck_assert_ptr_nonnull(f);
  static unsigned char buf[1 << 20];
  size_t got = fread(buf, 1, sizeof buf, f);
  fclose(f);
  ck_assert((long)got >= keep);
  f = fopen(dst, "wb");
  ck_assert_ptr_nonnull(f);
  ck_assert_uint_eq(fwrite(buf, 1, (size_t)keep, f), (size_t)keep);
  fclose(f);
}

static long bi_file_size(const char *path)
{
  FILE *f = fopen(path, "rb");
  ck_assert_ptr_nonnull(f);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fclose(f);
  return n;
}

static spd_generator *mk_gen_mlp(void) /* z 2 -> x 3 */
{
  spd_generator *g = NULL;
  BI_OK(spd_generator_create_mlp(2, 3, 4, 1, SPD_OUTPUT_LINEAR, 1, &g));
  return g;
}

static spd_generator *mk_gen_conv(void) /* z 3 -> 1 x 28 x 28, batch norm */
{
  spd_generator *g = NULL;
  BI_OK(spd_generator_create_conv(3, 1, 28, 4, 2, &g));
  return g;
}

static spd_vae *mk_vae(spd_generator *g)
{
  spd_vae *v = NULL;
  BI_OK(spd_vae_create(g, 3, &v));
  return v;
}

/* Sum of every value of a store, as bits: unchanged by failed calls. */
static double store_sum(spd_params *p)
{
  double s = 0;
  for (size_t i = 0; i < spd_params_count(p); i++) {
    const float *d = spd_params_data(p, i);
    for (size_t k = 0; k < spd_params_size(p, i); k++)
      s += (double)d[k] * (double)(k % 7 + 1);
  }
  return s;
}

static void b_gen_create(const bi_row *r)
{
  (void)r;
  spd_generator *g = SENTINEL;
  BI_FAILS_WITH(SPD_E_INVALID, spd_generator_create_linear(0, 3, 1, &g));
  BI_FAILS_WITH(SPD_E_INVALID, spd_generator_create_linear(2, 0, 1, &g));
  BI_FAILS_WITH(SPD_E_INVALID, spd_generator_create_linear(2, 3, 1, NULL));
  BI_FAILS(spd_generator_create_linear(HUGE_N, 2, 1, &g));
  BI_FAILS(spd_generator_create_linear(SIZE_MAX, SIZE_MAX, 1, &g));
  BI_FAILS(spd_generator_create_linear(SIZE_MAX / 8, 1, 1, &g)); /* bytes overflow */
  BI_FAILS_WITH(SPD_E_INVALID, spd_generator_create_mlp(0, 3, 4, 1, 0, 1, &g));
  BI_FAILS_WITH(SPD_E_INVALID, spd_generator_create_mlp(2, 0, 4, 1, 0, 1, &g));
  BI_FAILS_WITH(SPD_E_INVALID, spd_generator_create_mlp(2, 3, 0, 1, 0, 1, &g));
  BI_FAILS_WITH(SPD_E_INVALID, spd_generator_create_mlp(2, 3, 4, 17, 0, 1, &g));
  BI_FAILS_WITH(SPD_E_INVALID, spd_generator_create_mlp(2, 3, 4, SIZE_MAX, 0, 1, &g));
  BI_FAILS_WITH(SPD_E_INVALID, spd_generator_create_mlp(2, 3, 4, 1, 2, 1, &g));
  BI_FAILS_WITH(SPD_E_INVALID, spd_generator_create_mlp(2, 3, 4, 1, -1, 1, &g));
  BI_FAILS_WITH(SPD_E_INVALID, spd_generator_create_mlp(2, 3, 4, 1, 0, 1, NULL));
  BI_FAILS(spd_generator_create_mlp(2, 3, HUGE_N, 1, 0, 1, &g));
  BI_FAILS(spd_generator_create_mlp(HUGE_N, 3, 4, 0, 0, 1, &g));
  BI_FAILS(spd_generator_create_mlp(2, SIZE_MAX, 4, 2, 1, 1, &g));
  BI_FAILS_WITH(SPD_E_INVALID, spd_generator_create_conv(0, 1, 28, 4, 1, &g));
  BI_FAILS_WITH(SPD_E_INVALID, spd_generator_create_conv(3, 0, 28, 4, 1, &g));
  BI_FAILS_WITH(SPD_E_INVALID, spd_generator_create_conv(3, 5, 28, 4, 1, &g));
  BI_FAILS_WITH(SPD_E_INVALID, spd_generator_create_conv(3, SIZE_MAX, 28, 4, 1, &g));
  BI_FAILS_WITH(SPD_E_INVALID, spd_generator_create_conv(3, 1, 30, 4, 1, &g));
  BI_FAILS_WITH(SPD_E_INVALID, spd_generator_create_conv(3, 1, 0, 4, 1, &g));
  BI_FAILS_WITH(SPD_E_INVALID, spd_generator_create_conv(3, 1, SIZE_MAX, 4, 1, &g));
  BI_FAILS_WITH(SPD_E_INVALID, spd_generator_create_conv(3, 1, 28, 0, 1, &g));
  BI_FAILS_WITH(SPD_E_INVALID, spd_generator_create_conv(3, 1, 28, 6, 1, &g));
  BI_FAILS_WITH(SPD_E_INVALID, spd_generator_create_conv(3, 1, 64, 8, 1, &g));
  BI_FAILS_WITH(SPD_E_INVALID, spd_generator_create_conv(3, 1, 32, 8192, 1, &g));
  BI_FAILS_WITH(SPD_E_INVALID, spd_generator_create_conv(3, 1, 32, SIZE_MAX - 7, 1, &g));
  BI_FAILS_WITH(SPD_E_INVALID, spd_generator_create_conv(3, 1, 28, 4, 1, NULL));
  BI_FAILS(spd_generator_create_conv(HUGE_N, 1, 28, 4, 1, &g));
  ck_assert_ptr_eq(g, SENTINEL);
  /* The handle a failed create leaves (NULL here) is rejected everywhere. */
  g = NULL;
  BI_FAILS(spd_generator_create_linear(0, 3, 1, &g));
  ck_assert_ptr_null(g);
  ck_assert_int_eq(spd_generator_kind(g), SPD_E_INVALID);
  float *x = bi_outf(8);
  BI_FAILS(spd_generator_decode(g, good, 1, x));
  spd_generator_free(g);
}

static void b_gen_accessors(const bi_row *r)
{
  (void)r;
  ck_assert_int_eq(spd_generator_kind(NULL), SPD_E_INVALID);
  ck_assert_uint_eq(spd_generator_z_dim(NULL), 0);
  ck_assert_uint_eq(spd_generator_x_dim(NULL), 0);
  ck_assert_ptr_null(spd_generator_params(NULL));
  spd_generator_free(NULL);
  spd_generator *g = mk_gen_mlp();
  size_t *o = bi_out(3 * sizeof(size_t));
  BI_FAILS_WITH(SPD_E_INVALID, spd_generator_image_shape(NULL, &o[0], &o[1], &o[2]));
  BI_FAILS_WITH(SPD_E_INVALID, spd_generator_image_shape(g, NULL, &o[1], &o[2]));
  BI_FAILS_WITH(SPD_E_INVALID, spd_generator_image_shape(g, &o[0], NULL, &o[2]));
  BI_FAILS_WITH(SPD_E_INVALID, spd_generator_image_shape(g, &o[0], &o[1], NULL));
  BI_FAILS_WITH(SPD_E_UNSUPPORTED, spd_generator_image_shape(g, &o[0], &o[1], &o[2]));
  spd_generator_free(g);
}

static void b_gen_momentum(const bi_row *r)
{
  (void)r;
  spd_generator *g = mk_gen_conv();
  BI_FAILS_WITH(SPD_E_INVALID, spd_generator_set_bn_momentum(NULL, 0.1));
  const double bad[] = {-0.1, 1.5, NAN, INFINITY, -INFINITY, -1e-300};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    BI_FAILS_WITH(SPD_E_DOMAIN, spd_generator_set_bn_momentum(g, bad[i]));
  spd_generator_free(g);
}

static void b_gen_decode(const bi_row *r)
{
  (void)r;
  spd_generator *g = mk_gen_mlp();
  spd_rng *rng = mk_rng();
  double s0 = store_sum(spd_generator_params(g));
  uint64_t pos0, pos1;
  BI_OK(spd_rng_get_state(rng, NULL, NULL, &pos0));
  float *x = bi_outf(12);
  BI_FAILS(spd_generator_decode(NULL, good, 2, x));
  BI_FAILS(spd_generator_decode(g, NULL, 2, x));
  BI_FAILS(spd_generator_decode(g, good, 2, NULL));
  BI_FAILS(spd_generator_decode(g, good, 0, x));
  BI_FAILS_WITH(SPD_E_OVERFLOW, spd_generator_decode(g, good, HUGE_N, x));
  BI_FAILS_WITH(SPD_E_OVERFLOW, spd_generator_decode(g, good, SIZE_MAX, x));
  BI_FAILS_WITH(SPD_E_DOMAIN, spd_generator_decode(g, with_nan, 2, x)); /* z[3] */
  BI_FAILS_WITH(SPD_E_DOMAIN, spd_generator_decode(g, with_inf + 2, 2, x)); /* z[3] */
  BI_FAILS_WITH(SPD_E_DOMAIN, spd_generator_decode(g, with_ninf, 1, x));
  BI_FAILS(spd_generator_sample(NULL, rng, 2, x));
  BI_FAILS(spd_generator_sample(g, NULL, 2, x));
  BI_FAILS(spd_generator_sample(g, rng, 2, NULL));
  BI_FAILS(spd_generator_sample(g, rng, 0, x));
  BI_FAILS_WITH(SPD_E_OVERFLOW, spd_generator_sample(g, rng, HUGE_N, x));
  BI_FAILS_WITH(SPD_E_OVERFLOW, spd_generator_sample(g, rng, SIZE_MAX, x));
  BI_OK(spd_rng_get_state(rng, NULL, NULL, &pos1));
  ck_assert_uint_eq(pos0, pos1);
  ck_assert(store_sum(spd_generator_params(g)) == s0);
  spd_rng_free(rng);
  spd_generator_free(g);
}

static void b_gen_forward(const bi_row *r)
{
  (void)r;
  spd_generator *g = mk_gen_mlp(), *c = mk_gen_conv();
  spd_tape *t = mk_tape();
  BI_NULL(spd_generator_forward(NULL, g, NULL, 1));
  BI_NULL(spd_generator_forward(NULL, NULL, NULL, 0));
  spd_tape_reset(t);
  BI_TAPE_FAILS(t, spd_generator_forward(t, NULL, leaf(t, 2, 2, 2, 0, 0), 1));
  spd_tape_reset(t);
  BI_TAPE_FAILS(t, spd_generator_forward(t, g, NULL, 1));
  spd_tape_reset(t);
  BI_TAPE_FAILS(t, spd_generator_forward(t, g, leaf(t, 2, 2, 3, 0, 0), 1)); /* z width 3 */
  ck_assert_int_eq(spd_tape_status(t), SPD_E_SHAPE);
  spd_tape_reset(t);
  BI_TAPE_FAILS(t, spd_generator_forward(t, g, leaf(t, 1, 2, 0, 0, 0), 0)); /* rank 1 */
  spd_tape_reset(t);
  BI_TAPE_FAILS(t, spd_generator_forward(t, g, leaf(t, 3, 1, 2, 2, 0), 0)); /* rank 3 */
  spd_tape_reset(t);
  BI_TAPE_FAILS(t, spd_generator_forward(t, c, leaf(t, 2, 2, 2, 0, 0), 1)); /* conv: z 3 */
  /* A tape whose error is already set: NULL, the error stays. */
  spd_tape_reset(t);
  spd_tensor *z = leaf(t, 2, 2, 2, 0, 0);
  BI_TAPE_FAILS(t, spd_generator_forward(t, g, leaf(t, 2, 2, 5, 0, 0), 1));
  BI_TAPE_FAILS(t, spd_generator_forward(t, g, z, 1));
  ck_assert_int_eq(spd_tape_status(t), SPD_E_SHAPE);
  spd_tape_free(t);
  spd_generator_free(c);
  spd_generator_free(g);
}

static void b_gen_io(const bi_row *r)
{
  (void)r;
  bi_dir_make();
  spd_generator *g = mk_gen_mlp(), *h = SENTINEL;
  spd_vae *v = mk_vae(mk_gen_mlp());
  BI_OK(spd_generator_save(g, bi_path("genr")));
  BI_OK(spd_vae_save(v, bi_path("svae")));
  long size = bi_file_size(bi_path("genr"));
  bi_copy_prefix(bi_path("genr"), bi_path("empty"), 0);
  bi_copy_prefix(bi_path("genr"), bi_path("trunc"), size / 2);
  bi_copy_prefix(bi_path("genr"), bi_path("trunc2"), size - 1);
  FILE *f = fopen(bi_path("junk"), "wb");
  ck_assert_ptr_nonnull(f);
  fputs("not a checkpoint file, just some text of a reasonable length\n", f);
  fclose(f);
  BI_FAILS_WITH(SPD_E_INVALID, spd_generator_save(NULL, bi_path("x")));
  BI_FAILS_WITH(SPD_E_INVALID, spd_generator_save(g, NULL));
  BI_FAILS_WITH(SPD_E_IO, spd_generator_save(g, "/nonexistent-dir-spdt/x"));
  BI_FAILS_WITH(SPD_E_INVALID, spd_generator_load(NULL, &h));
  BI_FAILS_WITH(SPD_E_INVALID, spd_generator_load(bi_path("genr"), NULL));
  BI_FAILS_WITH(SPD_E_IO, spd_generator_load(bi_path("missing"), &h));
  BI_FAILS(spd_generator_load(bi_path("empty"), &h));
  BI_FAILS(spd_generator_load(bi_dir, &h)); /* a directory */
  BI_FAILS_WITH(SPD_E_FORMAT, spd_generator_load(bi_path("svae"), &h)); /* wrong kind */
  BI_FAILS_WITH(SPD_E_FORMAT, spd_generator_load(bi_path("trunc"), &h));
  BI_FAILS_WITH(SPD_E_FORMAT, spd_generator_load(bi_path("trunc2"), &h));
  BI_FAILS_WITH(SPD_E_FORMAT, spd_generator_load(bi_path("junk"), &h));
  ck_assert_ptr_eq(h, SENTINEL);
  BI_OK(spd_generator_load(bi_path("genr"), &h)); /* the valid file still loads */
  spd_generator_free(h);
  spd_vae_free(v);
  spd_generator_free(g);
  bi_dir_remove();
}

static void b_vae_create(const bi_row *r)
{
  (void)r;
  spd_generator *g = mk_gen_mlp();
  spd_vae *v = SENTINEL;
  BI_FAILS_WITH(SPD_E_INVALID, spd_vae_create(NULL, 1, &v));
  BI_FAILS_WITH(SPD_E_INVALID, spd_vae_create(g, 1, NULL));
  ck_assert_ptr_eq(v, SENTINEL);
  /* The caller still owns g after a failed create: it is usable. */
  float *x = bi_outf(4);
  (void)x;
  float y[3];
  BI_OK(spd_generator_decode(g, good, 1, y));
  ck_assert_ptr_null(spd_vae_generator(NULL));
  ck_assert(spd_vae_sigma(NULL) == 0.0);
  ck_assert_uint_eq(spd_vae_step_count(NULL), 0);
  ck_assert_uint_eq(spd_vae_seed(NULL), 0);
  spd_vae_free(NULL);
  v = mk_vae(g); /* takes g */
  ck_assert_ptr_eq(spd_vae_generator(v), g);
  spd_vae_free(v);
}

/* Every option's value, to check failed calls change nothing. */
static void vae_options(const spd_vae *v, double *o)
{
  for (int k = 1; k < 16; k++)
    BI_OK(spd_vae_get(v, k, &o[k]));
}

static void b_vae_options(const bi_row *r)
{
  (void)r;
  spd_vae *v = mk_vae(mk_gen_mlp()); /* x_dim 3 */
  double before[16] = {0}, after[16] = {0};
  vae_options(v, before);
  double *o = bi_outd(1);
  BI_FAILS_WITH(SPD_E_INVALID, spd_vae_set(NULL, SPD_VAE_SIGMA, 1.0));
  BI_FAILS_WITH(SPD_E_INVALID, spd_vae_get(NULL, SPD_VAE_SIGMA, o));
  BI_FAILS_WITH(SPD_E_INVALID, spd_vae_get(v, SPD_VAE_SIGMA, NULL));
  const int unknown[] = {0, -1, 16, 17, INT_MAX, INT_MIN};
  for (size_t i = 0; i < sizeof unknown / sizeof *unknown; i++) {
    BI_FAILS_WITH(SPD_E_INVALID, spd_vae_set(v, unknown[i], 1.0));
    BI_FAILS_WITH(SPD_E_INVALID, spd_vae_get(v, unknown[i], o));
  }
  static const struct {
    int option;
    double value;
  } bad[] = {
    {SPD_VAE_LEARNING_RATE, 0.0}, {SPD_VAE_LEARNING_RATE, -1e-3},
    {SPD_VAE_LEARNING_RATE, NAN}, {SPD_VAE_LEARNING_RATE, INFINITY},
    {SPD_VAE_BETA1, 1.0}, {SPD_VAE_BETA1, -0.1}, {SPD_VAE_BETA1, NAN},
    {SPD_VAE_BETA2, 1.0}, {SPD_VAE_BETA2, INFINITY},
    {SPD_VAE_SIGMA, 0.0}, {SPD_VAE_SIGMA, -0.5}, {SPD_VAE_SIGMA, NAN},
    {SPD_VAE_SIGMA, INFINITY},
    {SPD_VAE_ANNEAL_FACTOR, 0.0}, {SPD_VAE_ANNEAL_FACTOR, 1.5}, {SPD_VAE_ANNEAL_FACTOR, NAN},
    {SPD_VAE_ANNEAL_PERIOD, 0.0}, {SPD_VAE_ANNEAL_PERIOD, 1.5}, {SPD_VAE_ANNEAL_PERIOD, NAN},
    {SPD_VAE_ANNEAL_PERIOD, INFINITY}, {SPD_VAE_ANNEAL_PERIOD, 1e300},
    {SPD_VAE_ANNEAL_FLOOR, 0.0}, {SPD_VAE_ANNEAL_FLOOR, NAN},
    {SPD_VAE_LOW_VARIANCE, 2.0}, {SPD_VAE_LOW_VARIANCE, 0.5}, {SPD_VAE_LOW_VARIANCE, NAN},
    {SPD_VAE_SPREAD, -1.0}, {SPD_VAE_SPREAD, NAN},
    {SPD_VAE_LEARN_SPREAD_RANK, -1.0}, {SPD_VAE_LEARN_SPREAD_RANK, 1.5},
    {SPD_VAE_LEARN_SPREAD_RANK, 4.0}, /* > x_dim 3 */
    {SPD_VAE_LEARN_SPREAD_RANK, 1e9}, {SPD_VAE_LEARN_SPREAD_RANK, NAN},
    {SPD_VAE_SPREAD_LEARNING_RATE, 0.0}, {SPD_VAE_SPREAD_LEARNING_RATE, NAN},
    {SPD_VAE_SPREAD_NORM, -1.0}, {SPD_VAE_SPREAD_NORM, NAN}, {SPD_VAE_SPREAD_NORM, INFINITY},
    {SPD_VAE_SPREAD_EVERY, 0.0}, {SPD_VAE_SPREAD_EVERY, 2.5}, {SPD_VAE_SPREAD_EVERY, -1.0},
    {SPD_VAE_BN_MOMENTUM, -0.1}, {SPD_VAE_BN_MOMENTUM, 1.5}, {SPD_VAE_BN_MOMENTUM, NAN},
    {SPD_VAE_SEED, -1.0}, {SPD_VAE_SEED, 0.5}, {SPD_VAE_SEED, 1e17}, {SPD_VAE_SEED, NAN},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    BI_FAILS_WITH(SPD_E_DOMAIN, spd_vae_set(v, bad[i].option, bad[i].value));
  vae_options(v, after);
  ck_assert(memcmp(before, after, sizeof before) == 0);
  ck_assert_uint_eq(spd_vae_seed(v), 3);
  /* After the first step the rank and the seed are fixed. */
  float x[6] = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f};
  BI_OK(spd_vae_step(v, x, 2, NULL));
  vae_options(v, before);
  BI_FAILS_WITH(SPD_E_STATE, spd_vae_set(v, SPD_VAE_LEARN_SPREAD_RANK, 1.0));
  BI_FAILS_WITH(SPD_E_STATE, spd_vae_set(v, SPD_VAE_LEARN_SPREAD_RANK, 0.0));
  BI_FAILS_WITH(SPD_E_STATE, spd_vae_set(v, SPD_VAE_SEED, 7.0));
  vae_options(v, after);
  ck_assert(memcmp(before, after, sizeof before) == 0);
  ck_assert_uint_eq(spd_vae_seed(v), 3);
  spd_vae_free(v);
}

static void b_vae_loss_parts(const bi_row *r)
{
  (void)r;
  spd_vae *v = mk_vae(mk_gen_mlp());
  double *o = bi_outd(2);
  BI_FAILS_WITH(SPD_E_INVALID, spd_vae_loss_parts(NULL, &o[0], &o[1]));
  BI_FAILS_WITH(SPD_E_STATE, spd_vae_loss_parts(v, &o[0], &o[1]));
  BI_FAILS_WITH(SPD_E_STATE, spd_vae_loss_parts(v, NULL, NULL));
  spd_vae_free(v);
}

/* step / evaluate / reconstruct on one VAE: argument errors change nothing. */
static void vae_batch_fails(spd_vae *v, const float *x, size_t xdim)
{
  double s_gen = store_sum(spd_generator_params(spd_vae_generator(v)));
  uint64_t steps = spd_vae_step_count(v);
  float *lf = bi_outf(1), *xh = bi_outf(2 * xdim);
  double *ld = bi_outd(3);
  /* NaN / Inf in the second row, somewhere in the middle. */
  static float bad[3][2 * 784];
  for (int k = 0; k < 3; k++) {
    memcpy(bad[k], x, 2 * xdim * sizeof(float));
    bad[k][xdim + xdim / 2] = k == 0 ? NAN : k == 1 ? INFINITY : -INFINITY;
  }
  BI_FAILS_WITH(SPD_E_INVALID, spd_vae_step(NULL, x, 2, lf));
  BI_FAILS_WITH(SPD_E_INVALID, spd_vae_step(v, NULL, 2, lf));
  BI_FAILS_WITH(SPD_E_INVALID, spd_vae_step(v, x, 0, lf));
  BI_FAILS_WITH(SPD_E_OVERFLOW, spd_vae_step(v, x, HUGE_N, lf));
  BI_FAILS_WITH(SPD_E_OVERFLOW, spd_vae_step(v, x, SIZE_MAX, lf));
  BI_FAILS_WITH(SPD_E_INVALID, spd_vae_evaluate(NULL, x, 2, &ld[0], &ld[1], &ld[2]));
  BI_FAILS_WITH(SPD_E_INVALID, spd_vae_evaluate(v, NULL, 2, &ld[0], &ld[1], &ld[2]));
  BI_FAILS_WITH(SPD_E_INVALID, spd_vae_evaluate(v, x, 0, &ld[0], &ld[1], &ld[2]));
  BI_FAILS_WITH(SPD_E_OVERFLOW, spd_vae_evaluate(v, x, HUGE_N, &ld[0], &ld[1], &ld[2]));
  BI_FAILS_WITH(SPD_E_INVALID, spd_vae_reconstruct(NULL, x, 2, xh));
  BI_FAILS_WITH(SPD_E_INVALID, spd_vae_reconstruct(v, NULL, 2, xh));
  BI_FAILS_WITH(SPD_E_INVALID, spd_vae_reconstruct(v, x, 2, NULL));
  BI_FAILS_WITH(SPD_E_INVALID, spd_vae_reconstruct(v, x, 0, xh));
  BI_FAILS_WITH(SPD_E_OVERFLOW, spd_vae_reconstruct(v, x, HUGE_N, xh));
  for (int k = 0; k < 3; k++) {
    BI_FAILS_WITH(SPD_E_DOMAIN, spd_vae_step(v, bad[k], 2, lf));
    BI_FAILS_WITH(SPD_E_DOMAIN, spd_vae_evaluate(v, bad[k], 2, &ld[0], &ld[1], &ld[2]));
    BI_FAILS_WITH(SPD_E_DOMAIN, spd_vae_reconstruct(v, bad[k], 2, xh));
  }
  ck_assert_uint_eq(spd_vae_step_count(v), steps);
  ck_assert(store_sum(spd_generator_params(spd_vae_generator(v))) == s_gen);
}

static void b_vae_batch(const bi_row *r)
{
  (void)r;
  static float x[2 * 784];
  for (size_t i = 0; i < 2 * 784; i++)
    x[i] = (float)(i % 11) / 11.0f;
  spd_vae *v = mk_vae(mk_gen_mlp());
  vae_batch_fails(v, x, 3);
  BI_OK(spd_vae_step(v, x, 2, NULL)); /* the same after a step */
  vae_batch_fails(v, x, 3);
  spd_vae_free(v);
  v = mk_vae(mk_gen_conv());
  vae_batch_fails(v, x, 784);
  float *lf = bi_outf(1);
  BI_FAILS_WITH(SPD_E_SHAPE, spd_vae_step(v, x, 1, lf)); /* batch norm needs 2 rows */
  ck_assert_uint_eq(spd_vae_step_count(v), 0);
  spd_vae_free(v);
  /* Weights so large that the loss overflows: SPD_E_NUMERIC, outputs and
   * the step count untouched (evaluate used to return SPD_OK and inf). */
  v = mk_vae(mk_gen_mlp());
  spd_params *gp = spd_generator_params(spd_vae_generator(v));
  for (size_t i = 0; i < spd_params_count(gp); i++)
    for (size_t j = 0; j < spd_params_size(gp, i); j++)
      spd_params_data(gp, i)[j] = 1e30f;
  double *ld = bi_outd(3);
  BI_FAILS_WITH(SPD_E_NUMERIC, spd_vae_evaluate(v, x, 2, &ld[0], &ld[1], &ld[2]));
  BI_FAILS_WITH(SPD_E_NUMERIC, spd_vae_step(v, x, 2, lf));
  ck_assert_uint_eq(spd_vae_step_count(v), 0);
  spd_vae_free(v);
  /* Learned spread: the first step creates it; bad batches fail before. */
  v = mk_vae(mk_gen_mlp());
  BI_OK(spd_vae_set(v, SPD_VAE_LEARN_SPREAD_RANK, 2.0));
  vae_batch_fails(v, x, 3);
  BI_OK(spd_vae_step(v, x, 2, NULL));
  vae_batch_fails(v, x, 3);
  spd_vae_free(v);
}

static void b_vae_io(const bi_row *r)
{
  (void)r;
  bi_dir_make();
  spd_vae *v = mk_vae(mk_gen_mlp()), *w = SENTINEL;
  spd_generator *g = mk_gen_mlp();
  float x[6] = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f};
  BI_OK(spd_vae_set(v, SPD_VAE_LEARN_SPREAD_RANK, 1.0));
  BI_OK(spd_vae_step(v, x, 2, NULL));
  BI_OK(spd_vae_save(v, bi_path("svae")));
  BI_OK(spd_generator_save(g, bi_path("genr")));
  long size = bi_file_size(bi_path("svae"));
  bi_copy_prefix(bi_path("svae"), bi_path("empty"), 0);
  bi_copy_prefix(bi_path("svae"), bi_path("trunc"), size / 2);
  bi_copy_prefix(bi_path("svae"), bi_path("trunc2"), size - 1);
  FILE *f = fopen(bi_path("junk"), "wb");
  ck_assert_ptr_nonnull(f);
  fputs("SVAE? no: a text file that is not a checkpoint at all\n", f);
  fclose(f);
  BI_FAILS_WITH(SPD_E_INVALID, spd_vae_save(NULL, bi_path("x")));
  BI_FAILS_WITH(SPD_E_INVALID, spd_vae_save(v, NULL));
  BI_FAILS_WITH(SPD_E_IO, spd_vae_save(v, "/nonexistent-dir-spdt/x"));
  BI_FAILS_WITH(SPD_E_INVALID, spd_vae_load(NULL, &w));
  BI_FAILS_WITH(SPD_E_INVALID, spd_vae_load(bi_path("svae"), NULL));
  BI_FAILS_WITH(SPD_E_IO, spd_vae_load(bi_path("missing"), &w));
  BI_FAILS(spd_vae_load(bi_path("empty"), &w));
  BI_FAILS(spd_vae_load(bi_dir, &w));
  BI_FAILS_WITH(SPD_E_FORMAT, spd_vae_load(bi_path("genr"), &w)); /* wrong kind */
  BI_FAILS_WITH(SPD_E_FORMAT, spd_vae_load(bi_path("trunc"), &w));
  BI_FAILS_WITH(SPD_E_FORMAT, spd_vae_load(bi_path("trunc2"), &w));
  BI_FAILS_WITH(SPD_E_FORMAT, spd_vae_load(bi_path("junk"), &w));
  ck_assert_ptr_eq(w, SENTINEL);
  BI_OK(spd_vae_load(bi_path("svae"), &w));
  ck_assert_uint_eq(spd_vae_step_count(w), 1);
  spd_vae_free(w);
  spd_generator_free(g);
  spd_vae_free(v);
  bi_dir_remove();
}

static const bi_row matrix[] = {
  /* core.h */
  BI(spd_version_number, b_version),
  BI(spd_version_string, b_version),
  BI(spd_strerror, b_strerror),
  BI(spd_last_error, b_last_error),
  BI(spd_set_num_threads, b_threads),
  BI(spd_num_threads, b_threads),
  BI(spd_set_allocator, b_set_allocator),
  /* rng.h */
  BI(spd_rng_create, b_rng_create),
  BI(spd_rng_create_stream, b_rng_create),
  BI(spd_rng_free, b_rng_create),
  BI_OP(spd_rng_normal, b_rng_fill),
  BI_OP(spd_rng_uniform, b_rng_fill),
  BI_OP(spd_rng_laplace, b_rng_fill),
  BI(spd_rng_uint32, b_rng_fill),
  BI(spd_rng_get_state, b_rng_state),
  BI(spd_rng_set_state, b_rng_state),
  /* spread.h */
  BI(spd_spread_create_gaussian, b_spread_create),
  BI(spd_spread_create_gaussian_diag, b_spread_create),
  BI(spd_spread_create_gaussian_lowrank, b_spread_create),
  BI(spd_spread_create_laplace, b_spread_create),
  BI(spd_spread_create_laplace_diag, b_spread_create),
  BI(spd_spread_clone, b_spread_clone),
  BI(spd_spread_free, b_spread_clone),
  BI(spd_spread_get_kind, b_spread_accessors),
  BI(spd_spread_dim, b_spread_accessors),
  BI(spd_spread_rank, b_spread_accessors),
  BI(spd_spread_num_params, b_spread_accessors),
  BI(spd_spread_noise_width, b_spread_accessors),
  BI(spd_spread_get_scale, b_spread_scale),
  BI(spd_spread_set_scale, b_spread_scale),
  BI(spd_spread_get_params, b_spread_params),
  BI(spd_spread_set_params, b_spread_params),
  BI(spd_spread_sample, b_spread_sample),
  BI(spd_spread_draw_noise, b_spread_noise),
  BI(spd_spread_apply_noise, b_spread_noise),
  BI(spd_spread_apply_noise_grad, b_spread_noise),
  BI(spd_spread_log_density, b_spread_density),
  BI(spd_spread_log_density_grad, b_spread_density),
  BI(spd_spread_fourier, b_spread_fourier),
  /* fdiv.h */
  BI(spd_fdiv_create, b_fdiv_create),
  BI(spd_fdiv_create_custom, b_fdiv_create),
  BI(spd_fdiv_free, b_fdiv_create),
  BI(spd_fdiv_get_kind, b_fdiv_create),
  BI(spd_fdiv_kind_name, b_fdiv_create),
  BI(spd_fdiv_eval, b_fdiv_eval),
  BI(spd_divergence_delta, b_delta),
  BI(spd_estimator_create, b_estimator_create),
  BI(spd_estimator_free, b_estimator_create),
  BI(spd_estimator_set_samples, b_estimate),
  BI(spd_estimate, b_estimate),
  BI_OP(spd_mmd2, b_mmd),
  BI_OP(spd_mmd2_biased, b_mmd),
  /* params.h */
  BI(spd_params_create, b_params_create),
  BI(spd_params_free, b_params_create),
  BI(spd_params_add, b_params_add),
  BI(spd_params_count, b_params_query),
  BI(spd_params_find, b_params_query),
  BI(spd_params_name, b_params_query),
  BI(spd_params_shape, b_params_query),
  BI(spd_params_size, b_params_query),
  BI(spd_params_trainable, b_params_query),
  BI(spd_params_data, b_params_query),
  BI(spd_params_grad, b_params_query),
  BI(spd_params_zero_grad, b_params_query),
  BI(spd_param, b_param_bind),
  BI(spd_optim_create_adam, b_optim_create),
  BI(spd_optim_create_sgd, b_optim_create),
  BI(spd_optim_free, b_optim_create),
  BI(spd_optim_kind_of, b_optim_create),
  BI(spd_optim_set, b_optim_options),
  BI(spd_optim_get, b_optim_options),
  BI(spd_optim_step, b_optim_step),
  BI(spd_optim_get_step, b_optim_step),
  BI(spd_optim_set_step, b_optim_step),
  BI(spd_optim_state_count, b_optim_state),
  BI(spd_optim_state_name, b_optim_state),
  BI(spd_optim_get_state, b_optim_state),
  BI(spd_optim_set_state, b_optim_state),
  /* tape.h */
  BI(spd_tape_create, b_tape_basic),
  BI(spd_tape_free, b_tape_basic),
  BI(spd_tape_reset, b_tape_basic),
  BI(spd_tape_status, b_tape_basic),
  BI(spd_tape_error, b_tape_basic),
  BI(spd_tape_reserve, b_tape_basic),
  BI(spd_tape_set_limit, b_tape_basic),
  BI(spd_tape_bytes_used, b_tape_basic),
  BI(spd_tape_bytes_reserved, b_tape_basic),
  BI(spd_tape_node_count, b_tape_basic),
  BI(spd_leaf, b_leaf),
  BI(spd_backward, b_backward),
  BI(spd_tensor_ndim, b_tensor_query),
  BI(spd_tensor_shape, b_tensor_query),
  BI(spd_tensor_size, b_tensor_query),
  BI(spd_tensor_data, b_tensor_query),
  BI(spd_tensor_grad, b_tensor_query),
  BI_OP(spd_add, b_binary),
  BI_OP(spd_sub, b_binary),
  BI_OP(spd_mul, b_binary),
  BI_OP(spd_div, b_binary),
  BI_OP(spd_scale, b_scalar_ops),
  BI_OP(spd_add_scalar, b_scalar_ops),
  BI(spd_matmul, b_matmul),
  BI(spd_matmul_ex, b_matmul),
  BI(spd_conv2d, b_conv),
  BI(spd_conv2d_transpose, b_conv),
  BI_OP(spd_batch_norm, b_batch_norm),
  BI_OP(spd_batch_norm_relu, b_batch_norm),
  BI_OP(spd_relu, b_unary),
  BI_OP(spd_leaky_relu, b_scalar_ops),
  BI_OP(spd_elu, b_scalar_ops),
  BI_OP(spd_sigmoid, b_unary),
  BI_OP(spd_tanh, b_unary),
  BI_OP(spd_softplus, b_unary),
  BI_OP(spd_exp, b_unary),
  BI_OP(spd_log, b_unary),
  BI_OP(spd_square, b_unary),
  BI_OP(spd_sum, b_unary),
  BI_OP(spd_mean, b_unary),
  BI_OP(spd_sum_axis, b_axis_ops),
  BI_OP(spd_logsumexp, b_axis_ops),
  BI(spd_reshape, b_reshape),
  BI(spd_slice, b_slice),
  BI(spd_concat, b_concat),
  BI(spd_gaussian_log_density, b_gaussian_ld),
  BI(spd_spread_noise, b_spread_noise_op),
  BI(spd_spread_noise_learn, b_spread_noise_op),
  /* generator.h */
  BI(spd_generator_create_linear, b_gen_create),
  BI(spd_generator_create_mlp, b_gen_create),
  BI(spd_generator_create_conv, b_gen_create),
  BI(spd_generator_free, b_gen_accessors),
  BI(spd_generator_kind, b_gen_accessors),
  BI(spd_generator_z_dim, b_gen_accessors),
  BI(spd_generator_x_dim, b_gen_accessors),
  BI(spd_generator_image_shape, b_gen_accessors),
  BI(spd_generator_params, b_gen_accessors),
  BI(spd_generator_set_bn_momentum, b_gen_momentum),
  BI(spd_generator_sample, b_gen_decode),
  BI(spd_generator_decode, b_gen_decode),
  BI(spd_generator_forward, b_gen_forward),
  BI(spd_generator_save, b_gen_io),
  BI(spd_generator_load, b_gen_io),
  /* vae.h */
  BI(spd_vae_create, b_vae_create),
  BI(spd_vae_free, b_vae_create),
  BI(spd_vae_generator, b_vae_create),
  BI(spd_vae_sigma, b_vae_create),
  BI(spd_vae_step_count, b_vae_create),
  BI(spd_vae_seed, b_vae_create),
  BI(spd_vae_set, b_vae_options),
  BI(spd_vae_get, b_vae_options),
  BI(spd_vae_loss_parts, b_vae_loss_parts),
  BI(spd_vae_step, b_vae_batch),
  BI(spd_vae_evaluate, b_vae_batch),
  BI(spd_vae_reconstruct, b_vae_batch),
  BI(spd_vae_save, b_vae_io),
  BI(spd_vae_load, b_vae_io),
};
#define NROWS ((int)(sizeof matrix / sizeof *matrix))

START_TEST(t_row)
{
  const bi_row *r = &matrix[_i];
  /* Each row runs in its own process (Check's fork mode) or after the
   * previous row freed everything (CK_FORK=no), so the counting allocator
   * can be installed afresh. */
  ck_assert_msg(spd_set_allocator(count_alloc, count_free, NULL) == SPD_OK, "%s",
                spd_last_error());
  memset(pool, CANARY_BYTE, sizeof pool);
  pool_used = 0;
  init_data();
  long live0 = atomic_load(&live);
  r->body(r);
  pool_check();
  ck_assert_msg(atomic_load(&live) == live0, "%s: %ld blocks leaked", r->name,
                atomic_load(&live) - live0);
}
END_TEST

Suite *spdt_suite(void)
{
  Suite *s = suite_create("badinput");
  TCase *tc = tcase_create("matrix");
  tcase_set_timeout(tc, 60);
  tcase_add_loop_test(tc, t_row, 0, NROWS);
  suite_add_tcase(s, tc);
  return s;
}
