/* The internal GEMM entry point against a naive double-precision product,
 * with BLIS's own micro-kernel and with the library's AVX-512 one
 * (ukr_avx512.h), and that micro-kernel alone on edge tiles. */
#include "harness.h"
#include "cpu.h"
#include "gemm.h"
#include "ukr_avx512.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Reference: C = alpha op(A) op(B) + beta C, row-major, in double. */
static void naive(bool ta, bool tb, size_t m, size_t n, size_t k, double alpha,
                  const float *a, size_t lda, const float *b, size_t ldb,
                  double beta, const float *c0, double *c, size_t ldc)
{
  for (size_t i = 0; i < m; i++)
    for (size_t j = 0; j < n; j++) {
      double s = 0;
      for (size_t p = 0; p < k; p++) {
        double av = ta ? a[p * lda + i] : a[i * lda + p];
        double bv = tb ? b[j * ldb + p] : b[p * ldb + j];
        s += av * bv;
      }
      c[i * ldc + j] = alpha * s + (beta != 0 ? beta * c0[i * ldc + j] : 0);
    }
}

static float *random_matrix(spd_rng *rng, size_t count)
{
  float *x = malloc(count * sizeof *x);
  ck_assert_ptr_nonnull(x);
  SPDT_OK(spd_rng_normal(rng, x, count));
  return x;
}

/* Shapes: small, and one crossing every block size of both micro-kernels
 * (the AVX-512 one: MC = 144, KC = 256, NR = 48; haswell: MR = 6,
 * NR = 16) with partial tiles on both sides. Each runs at instruction-set
 * level _i: AVX2 keeps BLIS's kernel, AVX-512 selects the library's where
 * BLIS chose a configuration without AVX-512. */
START_TEST(sgemm_all_transposes_with_padding)
{
  spd_rng *rng = NULL;
  SPDT_OK(spd_rng_create(3, &rng));
  static const size_t shapes[][3] = { { 37, 23, 51 }, { 151, 101, 300 } };
  spdi_cap_isa(_i == 0 ? SPDI_ISA_AVX2 : SPDI_ISA_AVX512);
  for (size_t sh = 0; sh < 2; sh++)
    for (int ta = 0; ta < 2; ta++)
      for (int tb = 0; tb < 2; tb++) {
        const size_t m = shapes[sh][0], n = shapes[sh][1], k = shapes[sh][2], pad = 5;
        size_t lda = (ta ? m : k) + pad, ldb = (tb ? k : n) + pad, ldc = n + pad;
        float *a = random_matrix(rng, (ta ? k : m) * lda);
        float *b = random_matrix(rng, (tb ? n : k) * ldb);
        float *c = random_matrix(rng, m * ldc);
        float *c0 = malloc(m * ldc * sizeof *c0);
        double *want = malloc(m * ldc * sizeof *want);
        memcpy(c0, c, m * ldc * sizeof *c);
        spdi_sgemm(ta, tb, m, n, k, 0.5f, a, lda, b, ldb, 2.0f, c, ldc);
        naive(ta, tb, m, n, k, 0.5, a, lda, b, ldb, 2.0, c0, want, ldc);
        for (size_t i = 0; i < m; i++) {
          for (size_t j = 0; j < n; j++)
            /* float sums of k <= 300 products of N(0,1): rounding error
             * below ~3e-5 absolute */
            SPDT_CLOSE(c[i * ldc + j], want[i * ldc + j], 1e-4, 1e-4);
          for (size_t j = n; j < ldc; j++) /* padding untouched */
            ck_assert(c[i * ldc + j] == c0[i * ldc + j]);
        }
        free(a);
        free(b);
        free(c);
        free(c0);
        free(want);
      }
  spdi_cap_isa(SPDI_ISA_AVX512);
  spd_rng_free(rng);
}
END_TEST

/* Where the CPU has AVX-512 and BLIS's configuration does not use it, the
 * driver's micro-kernel is the library's, so the tests above reach it. */
START_TEST(avx512_kernel_selected_where_blis_lacks_it)
{
  struct spdi_ukernel u;
  spdi_ukernel_get(&u);
  const char *arch = spdi_gemm_arch();
  const bool own = spdi_isa_ok(SPDI_ISA_AVX512) && strcmp(arch, "skx") != 0 &&
                   strcmp(arch, "knl") != 0;
  ck_assert_msg((u.mr == SPDI_UKR512_MR && u.nr == SPDI_UKR512_NR) == own,
                "BLIS %s, AVX-512 %d: micro-kernel %zu x %zu", arch,
                spdi_isa_ok(SPDI_ISA_AVX512), u.mr, u.nr);
  spdi_cap_isa(SPDI_ISA_AVX2);
  spdi_ukernel_get(&u);
  ck_assert(u.mr != SPDI_UKR512_MR || u.nr != SPDI_UKR512_NR);
  spdi_cap_isa(SPDI_ISA_AVX512);
}
END_TEST

/* The micro-kernel on every tile size, a row-stored, column-stored and
 * general C, alpha and beta: against double sums of the packed panels. */
START_TEST(avx512_kernel_edge_tiles)
{
  if (!spdi_isa_ok(SPDI_ISA_AVX512))
    return; /* nothing to run it on */
  enum { MR = SPDI_UKR512_MR, NR = SPDI_UKR512_NR, K = 37, LD = 3 * NR };
  spd_rng *rng = NULL;
  SPDT_OK(spd_rng_create(5, &rng));
  /* aligned_alloc wants a multiple of the alignment */
  float *a = aligned_alloc(64, (K * MR * sizeof(float) + 63) / 64 * 64);
  float *b = aligned_alloc(64, (K * NR * sizeof(float) + 63) / 64 * 64);
  float *c = malloc(MR * LD * sizeof(float)), *c0 = malloc(MR * LD * sizeof(float));
  ck_assert(a != NULL && b != NULL && c != NULL && c0 != NULL);
  SPDT_OK(spd_rng_normal(rng, a, K * MR));
  SPDT_OK(spd_rng_normal(rng, b, K * NR));
  static const size_t ns[] = { 1, 15, 16, 17, 47, NR };
  for (size_t m = 1; m <= MR; m++)
    for (size_t q = 0; q < sizeof ns / sizeof ns[0]; q++)
      for (int layout = 0; layout < 3; layout++)
        for (int bz = 0; bz < 2; bz++) {
          const size_t n = ns[q];
          /* row-stored, column-stored, or every third column of rows LD
           * apart */
          const ptrdiff_t rs = layout == 1 ? 1 : LD;
          const ptrdiff_t cs = layout == 0 ? 1 : layout == 1 ? MR : 3;
          SPDT_OK(spd_rng_normal(rng, c0, MR * LD));
          if (bz)
            for (size_t e = 0; e < MR * LD; e++)
              c0[e] = NAN; /* beta == 0: never read */
          memcpy(c, c0, MR * LD * sizeof(float));
          const float alpha = 0.75f, beta = bz ? 0.0f : -1.5f;
          spdi_ukr512(m, n, K, alpha, a, b, beta, c, rs, cs);
          for (size_t e = 0; e < MR * LD; e++) {
            const size_t i = layout == 1 ? e % MR : e / (size_t)rs;
            const size_t j = layout == 1 ? e / MR : (e % (size_t)rs) / (size_t)cs;
            const bool in = i < m && j < n && (layout != 2 || e % LD % 3 == 0);
            if (!in) { /* outside the tile: untouched */
              ck_assert(memcmp(&c[e], &c0[e], sizeof(float)) == 0);
              continue;
            }
            double s = 0;
            for (size_t p = 0; p < K; p++)
              s += (double)a[p * MR + i] * b[p * NR + j];
            const double want = alpha * s + (bz ? 0.0 : beta * (double)c0[e]);
            /* 37 products of N(0,1) in float: ~1e-6 absolute */
            SPDT_CLOSE(c[e], want, 1e-5, 1e-5);
          }
        }
  free(a);
  free(b);
  free(c);
  free(c0);
  spd_rng_free(rng);
}
END_TEST

START_TEST(beta_zero_ignores_nan_in_c)
{
  float a[4] = { 1, 2, 3, 4 }, b[4] = { 1, 0, 0, 1 };
  float c[4] = { NAN, NAN, NAN, NAN };
  spdi_sgemm(false, false, 2, 2, 2, 1.0f, a, 2, b, 2, 0.0f, c, 2);
  for (int i = 0; i < 4; i++)
    ck_assert(c[i] == a[i]);
  /* k == 0: C = beta C */
  float d[2] = { 3, 4 };
  spdi_sgemm(false, false, 1, 2, 0, 1.0f, a, 1, b, 2, 0.5f, d, 2);
  ck_assert(d[0] == 1.5f && d[1] == 2.0f);
}
END_TEST

START_TEST(dgemm_matches)
{
  double a[6] = { 1, 2, 3, 4, 5, 6 }; /* 2 x 3 */
  double b[6] = { 1, 0, 0, 1, 1, 1 }; /* 3 x 2 */
  double c[4];
  spdi_dgemm(false, false, 2, 2, 3, 1.0, a, 3, b, 2, 0.0, c, 2);
  ck_assert(c[0] == 4 && c[1] == 5 && c[2] == 10 && c[3] == 11);
  /* op(A) = A^T (3 x 2), op(B) = B^T (2 x 3): element (i, j) = sum_p a[p][i] b[j][p] */
  double t[9];
  spdi_dgemm(true, true, 3, 3, 2, 1.0, a, 3, b, 2, 0.0, t, 3);
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 3; j++)
      ck_assert(t[i * 3 + j] == a[i] * b[j * 2] + a[3 + i] * b[j * 2 + 1]);
}
END_TEST

START_TEST(thread_count_does_not_change_result)
{
  spd_rng *rng = NULL;
  SPDT_OK(spd_rng_create(4, &rng));
  const size_t m = 301, n = 257, k = 513;
  float *a = random_matrix(rng, m * k), *b = random_matrix(rng, k * n);
  float *c1 = calloc(m * n, sizeof *c1), *c2 = calloc(m * n, sizeof *c2);
  SPDT_OK(spd_set_num_threads(1));
  spdi_sgemm(false, true, m, n, k, 1.0f, a, k, b, k, 0.0f, c1, n);
  SPDT_OK(spd_set_num_threads(2));
  spdi_sgemm(false, true, m, n, k, 1.0f, a, k, b, k, 0.0f, c2, n);
  SPDT_OK(spd_set_num_threads(1));
  ck_assert_mem_eq(c1, c2, m * n * sizeof *c1);
  free(a);
  free(b);
  free(c1);
  free(c2);
  spd_rng_free(rng);
}
END_TEST

Suite *spdt_suite(void)
{
  Suite *s = suite_create("gemm");
  SPDT_ADD_LOOP(s, sgemm_all_transposes_with_padding, 2, 60);
  SPDT_ADD(s, avx512_kernel_selected_where_blis_lacks_it, 10);
  SPDT_ADD(s, avx512_kernel_edge_tiles, 30);
  SPDT_ADD(s, beta_zero_ignores_nan_in_c, 10);
  SPDT_ADD(s, dgemm_matches, 10);
  SPDT_ADD(s, thread_count_does_not_change_result, 60);
  return s;
}
