#include "fuzz_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char scratch_path[4096];

static void remove_scratch(void)
{
  if (scratch_path[0] != '\0')
    unlink(scratch_path);
}

const char *spdf_scratch_file(const char *suffix, const uint8_t *data, size_t size)
{
  if (scratch_path[0] == '\0') {
    const char *dir = getenv("TMPDIR");
    if (dir == NULL || dir[0] == '\0')
      dir = "/tmp";
    snprintf(scratch_path, sizeof scratch_path, "%s/spdfuzz-%ld%s", dir, (long)getpid(),
             suffix);
    atexit(remove_scratch);
  }
  FILE *f = fopen(scratch_path, "wb");
  if (f == NULL)
    return NULL;
  size_t put = size ? fwrite(data, 1, size, f) : 0;
  if (fclose(f) != 0 || put != size)
    return NULL;
  return scratch_path;
}

uint8_t spdf_u8(spdf_input *in)
{
  if (in->n == 0)
    return 0;
  uint8_t v = in->p[0];
  in->p++;
  in->n--;
  return v;
}

uint32_t spdf_u32(spdf_input *in)
{
  uint32_t v = 0;
  for (int i = 0; i < 4; i++)
    v |= (uint32_t)spdf_u8(in) << (8 * i);
  return v;
}

float spdf_f32(spdf_input *in)
{
  uint32_t u = spdf_u32(in);
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

double spdf_f64(spdf_input *in)
{
  uint64_t u = spdf_u32(in);
  u |= (uint64_t)spdf_u32(in) << 32;
  double d;
  memcpy(&d, &u, sizeof d);
  return d;
}
