/* Which vector instruction sets the library's own kernels may use. */
#ifndef SPDI_CPU_H
#define SPDI_CPU_H

#include <stdbool.h>

enum { SPDI_ISA_PORTABLE, SPDI_ISA_AVX2, SPDI_ISA_AVX512 };

/* Whether the kernels may use instruction set isa (SPDI_ISA_*): allowed by
 * spdi_cap_isa() and supported by the CPU (SPDI_ISA_AVX2 means AVX2 with
 * FMA). */
bool spdi_isa_ok(int isa);

/* For tests: the widest instruction set the kernels may use, so that every
 * code path can be checked on one machine (the CPU still has to support
 * it). Not thread-safe; the default is SPDI_ISA_AVX512. */
void spdi_cap_isa(int isa);

#endif /* SPDI_CPU_H */
