/* BLIS behind spdi_sgemm / spdi_dgemm. Only this file includes blis.h: it
 * is 44k lines and its types must stay out of every other translation unit
 * (and out of the ABI). */
#include "gemm.h"
#include "cpu.h"
#include "internal.h"
#include "ukr_avx512.h"

#include <blis.h>

#include <pthread.h>
#include <string.h>

static void init_rntm(rntm_t *rntm)
{
  /* An explicit rntm with an explicit count makes BLIS ignore
   * BLIS_NUM_THREADS / OMP_NUM_THREADS (BUILD-FACTS section 1). */
  bli_rntm_init(rntm);
  bli_rntm_set_num_threads(spdi_threads(), rntm);
  /* BLIS 0.9's unpacked "sup" kernels for skinny shapes (haswell) read
   * past the last row of A when m is not a multiple of their MR (valgrind:
   * "Invalid read" up to MR - 1 rows beyond the matrix); the packed path
   * reads exactly its operands and was not slower on our shapes. */
  bli_rntm_disable_l3_sup(rntm);
}

/* spdi_ukr512 behind BLIS's micro-kernel signature. */
static void ukr512_blis(dim_t m, dim_t n, dim_t k, float *alpha, float *a, float *b,
                        float *beta, float *c, inc_t rs_c, inc_t cs_c, auxinfo_t *aux,
                        cntx_t *cntx)
{
  (void)aux;
  (void)cntx;
  spdi_ukr512((size_t)m, (size_t)n, (size_t)k, *alpha, a, b, *beta, c, rs_c, cs_c);
}

/* BLIS's native context with spdi_ukr512 and its block sizes in place of
 * the single-precision GEMM kernel (ukr_avx512.h); built once, read-only
 * after. */
static cntx_t own_cntx;
static pthread_once_t own_once = PTHREAD_ONCE_INIT;

static void set_blksz(bszid_t id, dim_t v, blksz_t *b)
{
  *b = *bli_cntx_get_blksz(id, &own_cntx);
  bli_blksz_set_def(v, BLIS_FLOAT, b);
  bli_blksz_set_max(v, BLIS_FLOAT, b);
}

static void own_cntx_init(void)
{
  own_cntx = *bli_gks_query_cntx();
  blksz_t mr, nr, mc, kc, nc;
  set_blksz(BLIS_MR, SPDI_UKR512_MR, &mr);
  set_blksz(BLIS_NR, SPDI_UKR512_NR, &nr);
  set_blksz(BLIS_MC, SPDI_UKR512_MC, &mc);
  set_blksz(BLIS_KC, SPDI_UKR512_KC, &kc);
  set_blksz(BLIS_NC, SPDI_UKR512_NC, &nc);
  bli_cntx_set_blkszs(BLIS_NAT, 5, BLIS_NC, &nc, BLIS_NR, BLIS_KC, &kc, BLIS_KR, BLIS_MC, &mc,
                      BLIS_MR, BLIS_NR, &nr, BLIS_NR, BLIS_MR, &mr, BLIS_MR, &own_cntx);
  /* BLIS keeps kernels as void *: copy the bits (see spdi_ukernel_get) */
  sgemm_ukr_ft ukr = ukr512_blis;
  void *fp;
  memcpy(&fp, &ukr, sizeof fp);
  bli_cntx_set_l3_nat_ukrs(1, BLIS_GEMM_UKR, BLIS_FLOAT, fp, true, &own_cntx);
}

/* The context for single-precision GEMMs: NULL (BLIS's own) unless the CPU
 * has AVX-512 and BLIS chose a configuration without it. */
static cntx_t *sgemm_cntx(void)
{
  if (!spdi_isa_ok(SPDI_ISA_AVX512))
    return NULL;
  bli_init();
  const arch_t id = bli_arch_query_id();
  if (id == BLIS_ARCH_SKX || id == BLIS_ARCH_KNL)
    return NULL;
  pthread_once(&own_once, own_cntx_init);
  return &own_cntx;
}

void spdi_sgemm(bool trans_a, bool trans_b, size_t m, size_t n, size_t k,
                float alpha, const float *a, size_t lda, const float *b,
                size_t ldb, float beta, float *c, size_t ldc)
{
  if (m == 0 || n == 0)
    return;
  rntm_t rntm;
  init_rntm(&rntm);
  /* BLIS takes non-const operands but does not write A or B. */
  bli_sgemm_ex(trans_a ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE,
               trans_b ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE,
               (dim_t)m, (dim_t)n, (dim_t)k, &alpha,
               (float *)a, (inc_t)lda, 1, (float *)b, (inc_t)ldb, 1,
               &beta, c, (inc_t)ldc, 1, sgemm_cntx(), &rntm);
}

void spdi_dgemm(bool trans_a, bool trans_b, size_t m, size_t n, size_t k,
                double alpha, const double *a, size_t lda, const double *b,
                size_t ldb, double beta, double *c, size_t ldc)
{
  if (m == 0 || n == 0)
    return;
  rntm_t rntm;
  init_rntm(&rntm);
  bli_dgemm_ex(trans_a ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE,
               trans_b ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE,
               (dim_t)m, (dim_t)n, (dim_t)k, &alpha,
               (double *)a, (inc_t)lda, 1, (double *)b, (inc_t)ldb, 1,
               &beta, c, (inc_t)ldc, 1, NULL, &rntm);
}

const char *spdi_gemm_arch(void)
{
  /* BLIS checks a BLIS_ARCH_TYPE override against its kernel registry,
   * which bli_arch_query_id() alone does not set up: without this, that
   * variable made the query abort the process. */
  bli_init();
  return bli_arch_string(bli_arch_query_id());
}

bool spdi_sgemm_own_kernel(void)
{
  return sgemm_cntx() != NULL;
}

void spdi_ukernel_get(struct spdi_ukernel *u)
{
  cntx_t *own = sgemm_cntx();
  if (own != NULL) {
    u->mr = u->packmr = SPDI_UKR512_MR;
    u->nr = u->packnr = SPDI_UKR512_NR;
    u->mc = SPDI_UKR512_MC;
    u->kc = SPDI_UKR512_KC;
    u->nc = SPDI_UKR512_NC;
    u->row_pref = true;
    u->in_place = true;
    u->impl = own;
    u->kernel = (void (*)(void))ukr512_blis;
    return;
  }
  cntx_t *cntx = bli_gks_query_cntx();
  u->mr = (size_t)bli_cntx_get_blksz_def_dt(BLIS_FLOAT, BLIS_MR, cntx);
  u->nr = (size_t)bli_cntx_get_blksz_def_dt(BLIS_FLOAT, BLIS_NR, cntx);
  u->packmr = (size_t)bli_cntx_get_blksz_max_dt(BLIS_FLOAT, BLIS_MR, cntx);
  u->packnr = (size_t)bli_cntx_get_blksz_max_dt(BLIS_FLOAT, BLIS_NR, cntx);
  u->mc = (size_t)bli_cntx_get_blksz_def_dt(BLIS_FLOAT, BLIS_MC, cntx);
  u->kc = (size_t)bli_cntx_get_blksz_def_dt(BLIS_FLOAT, BLIS_KC, cntx);
  u->nc = (size_t)bli_cntx_get_blksz_def_dt(BLIS_FLOAT, BLIS_NC, cntx);
  u->row_pref = !bli_cntx_l3_nat_ukr_prefers_cols_dt(BLIS_FLOAT, BLIS_GEMM_UKR, cntx);
  u->in_place = false;
  u->impl = cntx;
  /* BLIS keeps kernels as void *; POSIX guarantees the representations
   * agree (as for dlsym), ISO C has no conversion: copy the bits. */
  void *fp = bli_cntx_get_l3_nat_ukr_dt(BLIS_FLOAT, BLIS_GEMM_UKR, cntx);
  sgemm_ukr_ft ukr;
  _Static_assert(sizeof ukr == sizeof fp, "function and object pointers differ in size");
  memcpy(&ukr, &fp, sizeof ukr);
  u->kernel = (void (*)(void))ukr;
}

void spdi_ukernel_run(const struct spdi_ukernel *u, size_t m, size_t n, size_t k,
                      const float *a, const float *b, float *c, ptrdiff_t rs_c,
                      ptrdiff_t cs_c, bool accumulate)
{
  cntx_t *cntx = (cntx_t *)u->impl;
  sgemm_ukr_ft ukr = (sgemm_ukr_ft)u->kernel;
  auxinfo_t aux;
  memset(&aux, 0, sizeof aux);
  /* prefetch hints only: the panels being used are valid addresses */
  bli_auxinfo_set_next_a((void *)a, &aux);
  bli_auxinfo_set_next_b((void *)b, &aux);
  float one = 1.0f, beta = accumulate ? 1.0f : 0.0f;
  ukr((dim_t)m, (dim_t)n, (dim_t)k, &one, (float *)a, (float *)b, &beta, c, (inc_t)rs_c,
      (inc_t)cs_c, &aux, cntx);
}

void spdi_ukernel_run_ex(const struct spdi_ukernel *u, size_t m, size_t n, size_t k,
                         const float *a, size_t lda, const float *b, size_t ldb, float *c,
                         ptrdiff_t rs_c, ptrdiff_t cs_c, bool accumulate)
{
  (void)u;
  spdi_ukr512_ex(m, n, k, a, lda, b, ldb, accumulate ? 1.0f : 0.0f, c, rs_c, cs_c);
}
