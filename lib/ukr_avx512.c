/* The AVX-512 single-precision GEMM micro-kernel: see ukr_avx512.h. */
#include "ukr_avx512.h"

#if defined(__x86_64__) && defined(__GNUC__)
#  include <immintrin.h>
#  define UKR_X86 1
#endif

#define NV (SPDI_UKR512_NR / 16) /* vectors per row of the tile */
#define MR SPDI_UKR512_MR
#define NR SPDI_UKR512_NR

#ifdef UKR_X86
/* C's 8 x 8 block at c (column j at c + j * cs, 8 contiguous floats) =
 * alpha r^T (+ beta C), r[i] holding row i of the block. */
__attribute__((target("avx512f,fma"))) static inline void
store_cols8(const __m256 *r, float *c, ptrdiff_t cs, __m256 va, __m256 vb, int beta0)
{
  const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
  const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
  const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
  const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
  const __m256 u0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0));
  const __m256 u1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
  const __m256 u2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0));
  const __m256 u3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
  const __m256 u4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0));
  const __m256 u5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2));
  const __m256 u6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0));
  const __m256 u7 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
  const __m256 col[8] = {
    _mm256_permute2f128_ps(u0, u4, 0x20), _mm256_permute2f128_ps(u1, u5, 0x20),
    _mm256_permute2f128_ps(u2, u6, 0x20), _mm256_permute2f128_ps(u3, u7, 0x20),
    _mm256_permute2f128_ps(u0, u4, 0x31), _mm256_permute2f128_ps(u1, u5, 0x31),
    _mm256_permute2f128_ps(u2, u6, 0x31), _mm256_permute2f128_ps(u3, u7, 0x31),
  };
  _Pragma("GCC unroll 8") for (int j = 0; j < 8; j++) {
    float *d = c + j * cs;
    _mm256_storeu_ps(d, beta0 ? _mm256_mul_ps(va, col[j])
                              : _mm256_fmadd_ps(vb, _mm256_loadu_ps(d),
                                                _mm256_mul_ps(va, col[j])));
  }
}

__attribute__((target("avx512f,fma"))) void spdi_ukr512(size_t m, size_t n, size_t k,
                                                       float alpha, const float *a,
                                                       const float *b, float beta, float *c,
                                                       ptrdiff_t rs_c, ptrdiff_t cs_c)
{
  /* C's tile usually comes from memory (a row of a large C per row of the
   * tile): start fetching it now, it is needed after the k loop. */
  if (cs_c == 1 && beta != 0.0f)
    _Pragma("GCC unroll 16") for (int r = 0; r < MR; r++)
      _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++)
        _mm_prefetch((const char *)(c + r * rs_c + 16 * v), _MM_HINT_T0);
  __m512 acc[MR][NV];
  _Pragma("GCC unroll 16") for (int r = 0; r < MR; r++)
    _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++)
      acc[r][v] = _mm512_setzero_ps();
  /* Each k: NV vectors of B, MR broadcasts of A, MR * NV independent
   * FMAs (enough to cover the FMA latency on two ports). */
  for (size_t p = 0; p < k; p++) {
    const float *bp = b + p * NR, *ap = a + p * MR;
    __m512 bv[NV];
    _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++)
      bv[v] = _mm512_load_ps(bp + 16 * v);
    _Pragma("GCC unroll 16") for (int r = 0; r < MR; r++) {
      const __m512 av = _mm512_set1_ps(ap[r]);
      _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++)
        acc[r][v] = _mm512_fmadd_ps(av, bv[v], acc[r][v]);
    }
  }
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
  if (m == MR && n == NR && rs_c == 1) {
    /* a whole tile stored by columns (the driver's transposed problems: a
     * dense layer's weight gradient as C^T): 8 x 8 blocks transposed in
     * registers, each of C's columns written as one vector. Element by
     * element, this write-back cost more than the arithmetic at K = 32. */
    _Static_assert(MR == 8, "the transposes below are 8 x 8");
    const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
    _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++) {
      __m256 lo[MR], hi[MR];
      _Pragma("GCC unroll 16") for (int r = 0; r < MR; r++) {
        lo[r] = _mm512_castps512_ps256(acc[r][v]);
        hi[r] = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(acc[r][v]), 1));
      }
      store_cols8(lo, c + (16 * v) * cs_c, cs_c, va, vb, beta == 0.0f);
      store_cols8(hi, c + (16 * v + 8) * cs_c, cs_c, va, vb, beta == 0.0f);
    }
    return;
  }
  /* an edge tile or a strided C: through memory, element by element */
  float t[MR * NR];
  _Pragma("GCC unroll 16") for (int r = 0; r < MR; r++)
    _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++)
      _mm512_storeu_ps(t + r * NR + 16 * v, acc[r][v]);
  for (size_t i = 0; i < m; i++)
    for (size_t j = 0; j < n; j++) {
      float *d = c + (ptrdiff_t)i * rs_c + (ptrdiff_t)j * cs_c;
      *d = beta == 0.0f ? alpha * t[i * NR + j] : beta * *d + alpha * t[i * NR + j];
    }
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
#endif
