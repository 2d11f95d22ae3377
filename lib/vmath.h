/* Vectorisable float exp for the pairwise kernels.
 *
 * spdi_expf: branch-free (selects only), so `#pragma omp simd` loops over
 * it vectorise. Range reduction x = k ln 2 + r with ln 2 split in two
 * parts (Cody-Waite), r in [-ln2/2, ln2/2], then the degree-6 polynomial
 * of Cephes' expf; 2^k is built in the exponent bits. Accuracy: relative
 * error below 2.5e-7 (about 2 ulp) for x in [-87.3, 88], checked against
 * exp() in tests/test_estimator.c. Returns exactly 0 below -87.3 (where
 * expf would be denormal or 0) and saturates at exp(88) above 88: callers
 * only pass x <= 0 (log-sum-exp after subtracting the maximum). NaN in
 * gives NaN out (found by fuzzing: an overflowing distance made
 * (int32_t)NaN, undefined behaviour). */
#ifndef SPDI_VMATH_H
#define SPDI_VMATH_H

/* Hot loops are compiled for AVX-512F, AVX2 and the baseline and the best
 * one is picked at load time (ifunc). The exp and every reduction below use
 * only exactly rounded operations in a fixed order (ISO C mode contracts no
 * FMAs, reductions go through SPDI_LANES fixed partial sums), so all clones
 * give bitwise identical results. */
/* Not under ThreadSanitizer: the clones' ifunc resolvers run during
 * relocation, before the TSan runtime is up, and crash the loader. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) &&   \
    !defined(__SANITIZE_THREAD__)
#  define SPDI_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#  define SPDI_CLONES
#endif
#define SPDI_LANES 16

#include <stdint.h>
#include <string.h>

#define SPDI_EXPF_MIN (-87.33654f)

static inline float spdi_expf(float x)
{
  const float hi = 88.0f;
  /* NaN fails both compares and becomes the low clamp, so the int
   * conversion below stays defined; it is returned as NaN at the end. */
  float xc = x > SPDI_EXPF_MIN ? (x < hi ? x : hi) : SPDI_EXPF_MIN;
  /* round(x / ln 2) by the 1.5 * 2^23 trick (round-to-nearest mode) */
  const float magic = 12582912.0f;
  float kf = (xc * 1.44269504088896341f + magic) - magic;
  float r = xc - kf * 0.693359375f;
  r = r - kf * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  int32_t ki = (int32_t)kf;
  uint32_t bits = (uint32_t)(ki + 127) << 23;
  float two_k;
  memcpy(&two_k, &bits, sizeof two_k);
  return x < SPDI_EXPF_MIN ? 0.0f : (x == x ? p * two_k : x);
}

#endif /* SPDI_VMATH_H */
