/* The AVX-512 single-precision GEMM micro-kernel: see ukr_avx512.h. */
#include "ukr_avx512.h"
#include "transpose8.h"

#include <stdbool.h>

#if defined(__x86_64__) && defined(__GNUC__)
#  include <immintrin.h>
#  define UKR_X86 1
#endif

#define NV (SPDI_UKR512_NR / 16) /* vectors per row of the tile */
#define MR SPDI_UKR512_MR
#define NR SPDI_UKR512_NR
/* B read in place comes from L3 or memory on its first pass (a dense
 * layer's weights): prefetch its rows this many k ahead. A 32 x 100 x
 * 16384 product took 1.6 ms with, 1.8-2.0 without, 2.0-2.3 packing B. */
#define B_PREFETCH_ROWS 16

#ifdef UKR_X86
/* C's block of m <= 8 rows by ncol <= 8 columns at c (column j at c + j
 * cs, m contiguous floats) = alpha r^T (+ beta C), r[i] holding row i of
 * the block (rows past m are not stored). */
__attribute__((target("avx512f,fma"))) static inline void
store_cols8(const __m256 *r, float *c, ptrdiff_t cs, __m256 va, __m256 vb, int beta0, int m,
            int ncol)
{
  __m256 col[8];
  spdi_transpose8(r, col);
  const __m256i rows = _mm256_cmpgt_epi32(_mm256_set1_epi32(m),
                                          _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  _Pragma("GCC unroll 8") for (int j = 0; j < 8; j++) {
    if (j >= ncol)
      break;
    float *d = c + j * cs;
    if (m == 8) {
      _mm256_storeu_ps(d, beta0 ? _mm256_mul_ps(va, col[j])
                                : _mm256_fmadd_ps(vb, _mm256_loadu_ps(d),
                                                  _mm256_mul_ps(va, col[j])));
    } else {
      _mm256_maskstore_ps(d, rows, beta0 ? _mm256_mul_ps(va, col[j])
                                         : _mm256_fmadd_ps(vb, _mm256_maskload_ps(d, rows),
                                                           _mm256_mul_ps(va, col[j])));
    }
  }
}

/* Where a tile's operands come from: packed panels (A's (i, p) at
 * a[p * MR + i], B's (p, j) at b[p * NR + j]: aligned, zero-padded) or in
 * place, A by rows (A's (i, p) at a[i * lda + p], i < m) or B by rows (B's
 * (p, j) at b[p * ldb + j], j < n; `last` masks its last vector's lanes past
 * n). Nothing outside the m x k and k x n operands is read. */
struct tile_src {
  const float *a, *b;
  size_t lda, ldb;
  __mmask16 last;
};

/* acc[r][v] = the tile's row r, vector v (v < nv <= NV) of A B over k:
 * each k, nv vectors of B, MR broadcasts of A, MR * nv independent FMAs
 * (enough to cover the FMA latency on two ports when nv = NV). a_rows and
 * b_rows (compile-time constants after inlining) say which operand is read
 * in place. Rows of A past m read row 0 (their results are not stored). */
__attribute__((target("avx512f,fma"), always_inline)) static inline void
tile_product(const int nv, const bool a_rows, const bool b_rows, size_t m, size_t k,
             const struct tile_src *src, __m512 acc[MR][NV])
{
  _Pragma("GCC unroll 16") for (int r = 0; r < MR; r++)
    _Pragma("GCC unroll 4") for (int v = 0; v < nv; v++)
      acc[r][v] = _mm512_setzero_ps();
  const float *row[MR];
  _Pragma("GCC unroll 16") for (int r = 0; r < MR; r++)
    row[r] = src->a + ((size_t)r < m ? (size_t)r : 0) * src->lda;
  const size_t ldb = b_rows ? src->ldb : NR;
  for (size_t p = 0; p < k; p++) {
    const float *bp = src->b + p * ldb, *ap = src->a + p * MR;
    __m512 bv[NV];
    if (b_rows) {
      _Pragma("GCC unroll 4") for (int v = 0; v < nv; v++)
        _mm_prefetch((const char *)(bp + B_PREFETCH_ROWS * ldb + 16 * v), _MM_HINT_T0);
    }
    _Pragma("GCC unroll 4") for (int v = 0; v < nv; v++)
      bv[v] = !b_rows ? _mm512_load_ps(bp + 16 * v)
              : v < nv - 1 ? _mm512_loadu_ps(bp + 16 * v)
                           : _mm512_maskz_loadu_ps(src->last, bp + 16 * v);
    _Pragma("GCC unroll 16") for (int r = 0; r < MR; r++) {
      const __m512 av = _mm512_set1_ps(a_rows ? row[r][p] : ap[r]);
      _Pragma("GCC unroll 4") for (int v = 0; v < nv; v++)
        acc[r][v] = _mm512_fmadd_ps(av, bv[v], acc[r][v]);
    }
  }
}

/* C's m x n block at c (element (i, j) at c + i * rs_c + j * cs_c) =
 * alpha t + beta C, t row-stored with row stride NR. */
static void store_edge(const float *t, size_t m, size_t n, float alpha, float beta, float *c,
                       ptrdiff_t rs_c, ptrdiff_t cs_c)
{
  for (size_t i = 0; i < m; i++)
    for (size_t j = 0; j < n; j++) {
      float *d = c + (ptrdiff_t)i * rs_c + (ptrdiff_t)j * cs_c;
      *d = beta == 0.0f ? alpha * t[i * NR + j] : beta * *d + alpha * t[i * NR + j];
    }
}

/* A tile stored by columns (rs_c = 1: the driver's transposed problems, a
 * dense layer's weight gradient or forward pass as C^T), its m rows and
 * first n columns: 8 x 8 blocks transposed in registers, each of C's
 * columns written as one vector (masked when m < 8). Element by element,
 * this write-back cost more than the arithmetic at K = 32. */
__attribute__((target("avx512f,fma"), always_inline)) static inline void
store_by_columns(const int nv, __m512 acc[MR][NV], size_t m, size_t n, float alpha, float beta,
                 float *c, ptrdiff_t cs_c)
{
  _Static_assert(MR == 8, "the transposes below are 8 x 8");
  const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
  _Pragma("GCC unroll 6") for (int q = 0; q < 2 * nv; q++) {
    if ((size_t)(8 * q) >= n)
      break;
    __m256 h[MR];
    _Pragma("GCC unroll 16") for (int r = 0; r < MR; r++)
      h[r] = q % 2 == 0 ? _mm512_castps512_ps256(acc[r][q / 2])
                        : _mm256_castpd_ps(_mm512_extractf64x4_pd(
                              _mm512_castps_pd(acc[r][q / 2]), 1));
    const size_t left = n - (size_t)(8 * q);
    store_cols8(h, c + (8 * q) * cs_c, cs_c, va, vb, beta == 0.0f, (int)m,
                left < 8 ? (int)left : 8);
  }
}

/* The m x n tile in acc (its first nv vectors per row) into C when not
 * stored straight from the registers: by columns (rs_c = 1), or else
 * through memory, element by element (an edge tile or a strided C). */
__attribute__((target("avx512f,fma"), always_inline)) static inline void
store_tile(const int nv, __m512 acc[MR][NV], size_t m, size_t n, float alpha, float beta,
           float *c, ptrdiff_t rs_c, ptrdiff_t cs_c)
{
  if (rs_c == 1 && cs_c != 1) {
    store_by_columns(nv, acc, m, n, alpha, beta, c, cs_c);
    return;
  }
  float t[MR * NR];
  _Pragma("GCC unroll 16") for (int r = 0; r < MR; r++)
    _Pragma("GCC unroll 4") for (int v = 0; v < nv; v++)
      _mm512_storeu_ps(t + r * NR + 16 * v, acc[r][v]);
  store_edge(t, m, n, alpha, beta, c, rs_c, cs_c);
}

/* An edge tile of at most 16 nv < NR columns: only nv vectors of B per k
 * (a GEMM 100 columns wide spent 44 % more than its arithmetic on its
 * last tile's 4 columns), each element the same FMA chain as in a full
 * tile, so the same bits. */
__attribute__((target("avx512f,fma"), always_inline)) static inline void
narrow_tile(const int nv, const bool a_rows, const bool b_rows, size_t m, size_t n, size_t k,
            float alpha, const struct tile_src *src, float beta, float *c, ptrdiff_t rs_c,
            ptrdiff_t cs_c)
{
  __m512 acc[MR][NV];
  tile_product(nv, a_rows, b_rows, m, k, src, acc);
  store_tile(nv, acc, m, n, alpha, beta, c, rs_c, cs_c);
}

/* The kernel, with each operand packed or in place (tile_product). */
__attribute__((target("avx512f,fma"), always_inline)) static inline void
ukr_body(const bool a_rows, const bool b_rows, size_t m, size_t n, size_t k, float alpha,
         const struct tile_src *src, float beta, float *c, ptrdiff_t rs_c, ptrdiff_t cs_c)
{
  _Static_assert(NV == 3, "the narrow tiles below are for 3 vectors per row");
  if (n <= 16) {
    narrow_tile(1, a_rows, b_rows, m, n, k, alpha, src, beta, c, rs_c, cs_c);
    return;
  }
  if (n <= 32) {
    narrow_tile(2, a_rows, b_rows, m, n, k, alpha, src, beta, c, rs_c, cs_c);
    return;
  }
  /* C's tile usually comes from memory (a row of a large C per row of the
   * tile): start fetching it now, it is needed after the k loop. */
  if (cs_c == 1 && beta != 0.0f)
    _Pragma("GCC unroll 16") for (int r = 0; r < MR; r++)
      _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++)
        _mm_prefetch((const char *)(c + r * rs_c + 16 * v), _MM_HINT_T0);
  __m512 acc[MR][NV];
  tile_product(NV, a_rows, b_rows, m, k, src, acc);
  const __m512 va = _mm512_set1_ps(alpha);
  if (m == MR && n == NR && cs_c == 1) {
    /* a whole tile with contiguous rows: straight from the registers */
    if (beta == 0.0f) {
      _Pragma("GCC unroll 16") for (int r = 0; r < MR; r++)
        _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++)
          _mm512_storeu_ps(c + r * rs_c + 16 * v, _mm512_mul_ps(va, acc[r][v]));
    } else {
      const __m512 vb = _mm512_set1_ps(beta);
      _Pragma("GCC unroll 16") for (int r = 0; r < MR; r++)
        _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++) {
          float *d = c + r * rs_c + 16 * v;
          _mm512_storeu_ps(d, _mm512_fmadd_ps(vb, _mm512_loadu_ps(d),
                                              _mm512_mul_ps(va, acc[r][v])));
        }
    }
    return;
  }
  store_tile(NV, acc, m, n, alpha, beta, c, rs_c, cs_c);
}

__attribute__((target("avx512f,fma"))) void spdi_ukr512(size_t m, size_t n, size_t k,
                                                       float alpha, const float *a,
                                                       const float *b, float beta, float *c,
                                                       ptrdiff_t rs_c, ptrdiff_t cs_c)
{
  const struct tile_src src = { a, b, 0, NR, 0xffff };
  ukr_body(false, false, m, n, k, alpha, &src, beta, c, rs_c, cs_c);
}

__attribute__((target("avx512f,fma"))) void spdi_ukr512_ex(size_t m, size_t n, size_t k,
                                                          const float *a, size_t lda,
                                                          const float *b, size_t ldb,
                                                          float beta, float *c, ptrdiff_t rs_c,
                                                          ptrdiff_t cs_c)
{
  const struct tile_src src = {
    a, b, lda, ldb, (__mmask16)(n % 16 == 0 ? 0xffff : (1u << (n % 16)) - 1)
  };
  if (lda != 0)
    ukr_body(true, false, m, n, k, 1.0f, &src, beta, c, rs_c, cs_c);
  else if (ldb != 0)
    ukr_body(false, true, m, n, k, 1.0f, &src, beta, c, rs_c, cs_c);
  else
    ukr_body(false, false, m, n, k, 1.0f, &src, beta, c, rs_c, cs_c);
}
#else
void spdi_ukr512(size_t m, size_t n, size_t k, float alpha, const float *a, const float *b,
                 float beta, float *c, ptrdiff_t rs_c, ptrdiff_t cs_c)
{
  /* never selected without x86 (spdi_isa_ok); kept correct anyway */
  for (size_t i = 0; i < m; i++)
    for (size_t j = 0; j < n; j++) {
      float s = 0.0f;
      for (size_t p = 0; p < k; p++)
        s += a[p * MR + i] * b[p * NR + j];
      float *d = c + (ptrdiff_t)i * rs_c + (ptrdiff_t)j * cs_c;
      *d = beta == 0.0f ? alpha * s : beta * *d + alpha * s;
    }
}

void spdi_ukr512_ex(size_t m, size_t n, size_t k, const float *a, size_t lda, const float *b,
                    size_t ldb, float beta, float *c, ptrdiff_t rs_c, ptrdiff_t cs_c)
{
  for (size_t i = 0; i < m; i++)
    for (size_t j = 0; j < n; j++) {
      float s = 0.0f;
      for (size_t p = 0; p < k; p++)
        s += (lda ? a[i * lda + p] : a[p * MR + i]) * b[p * (ldb ? ldb : NR) + j];
      float *d = c + (ptrdiff_t)i * rs_c + (ptrdiff_t)j * cs_c;
      *d = beta == 0.0f ? s : beta * *d + s;
    }
}
#endif
