/* Instruction-set checks: see cpu.h. */
#include "cpu.h"

static int isa_cap = SPDI_ISA_AVX512;

void spdi_cap_isa(int isa)
{
  isa_cap = isa;
}

bool spdi_isa_ok(int isa)
{
  if (isa_cap < isa)
    return false;
#if defined(__x86_64__) && defined(__GNUC__)
  /* libgcc's CPU model is filled in by a constructor before main */
  switch (isa) {
  case SPDI_ISA_AVX2:
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  case SPDI_ISA_AVX512:
    return __builtin_cpu_supports("avx512f");
  default:
    return true;
  }
#else
  return isa == SPDI_ISA_PORTABLE;
#endif
}
