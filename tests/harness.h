/* Shared Check harness: each test_<module>.c defines spdt_suite() and is
 * linked with harness.c, which runs it. */
#ifndef SPDT_HARNESS_H
#define SPDT_HARNESS_H

#include <check.h>
#include <spreaddiv.h>

/* Defined by each suite file. */
Suite *spdt_suite(void);

/* Assert a library call succeeded, showing its message if it did not. */
#define SPDT_OK(expr)                                                        \
  do {                                                                       \
    int spdt_st_ = (expr);                                                   \
    ck_assert_msg(spdt_st_ == SPD_OK, "%s returned %d (%s): %s", #expr,     \
                  spdt_st_, spd_strerror(spdt_st_), spd_last_error());       \
  } while (0)

/* Assert a library call failed with `code` and left a message naming it. */
#define SPDT_FAILS(code, expr)                                               \
  do {                                                                       \
    int spdt_st_ = (expr);                                                   \
    ck_assert_msg(spdt_st_ == (code), "%s returned %d (%s), expected %d",   \
                  #expr, spdt_st_, spd_strerror(spdt_st_), (int)(code));     \
    ck_assert_msg(spd_last_error()[0] != '\0', "no error message");          \
  } while (0)

/* |a - b| <= atol + rtol * |b|, with a message naming both values. */
#define SPDT_CLOSE(a, b, rtol, atol)                                         \
  do {                                                                       \
    double spdt_a_ = (a), spdt_b_ = (b);                                     \
    double spdt_d_ = spdt_a_ > spdt_b_ ? spdt_a_ - spdt_b_ : spdt_b_ - spdt_a_; \
    double spdt_m_ = spdt_b_ < 0 ? -spdt_b_ : spdt_b_;                       \
    ck_assert_msg(spdt_d_ <= (atol) + (rtol) * spdt_m_,                      \
                  "%s = %.17g, %s = %.17g (rtol %g, atol %g)", #a, spdt_a_,  \
                  #b, spdt_b_, (double)(rtol), (double)(atol));              \
  } while (0)

/* Scratch files. spdt_tmpdir makes a fresh /tmp/spdt-<tag>-XXXXXX into
 * dir; spdt_rmdir removes it with the plain files in it. spdt_read_file
 * returns a whole file (malloc'ed, one spare byte) and its size;
 * spdt_write_file replaces one. All of them fail the test on error. */
void spdt_tmpdir(char *dir, size_t len, const char *tag);
void spdt_rmdir(const char *dir);
unsigned char *spdt_read_file(const char *path, size_t *len);
void spdt_write_file(const char *path, const void *data, size_t len);

/* A file loader under test: load path into *out (left NULL on failure),
 * and release what it loaded. */
typedef struct {
  int (*load)(const char *path, void **out);
  void (*release)(void *obj);
} spdt_loader;

/* Damaged copies of the valid file `path`, written to `bad`: every
 * truncation and 300 seeded single-byte flips must fail with SPD_E_FORMAT
 * and leave the output NULL; the restored copy must then load again. */
void spdt_check_damaged(const char *path, const char *bad, unsigned seed,
                        const spdt_loader *loader);

/* Inverse of a row-major 3 x 3 matrix c by cofactors, into p (reference
 * precision matrices of the 3-D low-rank spread tests). */
void spdt_inverse3(const double *c, double *p);

/* A fixed pseudo-random value in [-1, 1] (multiples of 1e-3) for element i
 * of an input drawn with seed: reproducible test data without an RNG
 * stream (the GEMM driver and direct-loop convolution tests). */
float spdt_hash_value(size_t i, unsigned seed);

/* Add a test case holding one test, with a timeout that suits it. */
void spdt_add(Suite *s, const char *name, const TTest *test, double timeout);
#define SPDT_ADD(suite, fn, timeout) spdt_add((suite), #fn, fn, (timeout))

/* Add a test case holding one loop test, run for _i = 0 .. n - 1. */
void spdt_add_loop(Suite *s, const char *name, const TTest *test, int n, double timeout);
#define SPDT_ADD_LOOP(suite, fn, n, timeout) spdt_add_loop((suite), #fn, fn, (int)(n), (timeout))

#endif /* SPDT_HARNESS_H */
