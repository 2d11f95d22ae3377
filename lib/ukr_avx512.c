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
__attribute__((target("avx512f"))) void spdi_ukr512(size_t m, size_t n, size_t k, float alpha,
                                                   const float *a, const float *b, float beta,
                                                   float *c, ptrdiff_t rs_c, ptrdiff_t cs_c)
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
