/* Shared by the fuzz targets: the entry point libFuzzer calls, and a
 * scratch file for loaders that only take a path. */
#ifndef SPDF_FUZZ_COMMON_H
#define SPDF_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Write data to this process's scratch file (created on first use under
 * $TMPDIR or /tmp, removed at exit) and return its path, or NULL if it
 * could not be written. `suffix` (".gz", ".jpg", ...) is fixed per target. */
const char *spdf_scratch_file(const char *suffix, const uint8_t *data, size_t size);

/* Little-endian readers that return 0 past the end (the input is consumed
 * from the front by targets that decode parameters from it). */
typedef struct {
  const uint8_t *p;
  size_t n;
} spdf_input;

uint8_t spdf_u8(spdf_input *in);
uint32_t spdf_u32(spdf_input *in);
float spdf_f32(spdf_input *in);
double spdf_f64(spdf_input *in);

#endif /* SPDF_FUZZ_COMMON_H */
