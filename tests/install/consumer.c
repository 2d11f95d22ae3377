/* A host program that knows libspreaddiv only through its installed headers
 * and pkg-config / CMake: built and run by the install tests. */
#include <spreaddiv.h>

#include <stdio.h>
#include <string.h>

int main(void)
{
  if (spd_version_number() != SPD_VERSION_NUMBER ||
      strcmp(spd_version_string(), SPD_VERSION_STRING) != 0) {
    fprintf(stderr, "header %s but library %s\n", SPD_VERSION_STRING,
            spd_version_string());
    return 1;
  }
  spd_rng *rng = NULL;
  float z[8];
  if (spd_rng_create(42, &rng) != SPD_OK || spd_rng_normal(rng, z, 8) != SPD_OK) {
    fprintf(stderr, "rng: %s\n", spd_last_error());
    spd_rng_free(rng);
    return 1;
  }
  spd_rng_free(rng);
  printf("libspreaddiv %s: first normal draw %.6f\n", spd_version_string(), z[0]);
  return 0;
}
