/* Runtime version: the same numbers as the generated spreaddiv/version.h. */
#include "internal.h"

unsigned spd_version_number(void)
{
  return SPD_VERSION_NUMBER;
}

const char *spd_version_string(void)
{
  return SPD_VERSION_STRING;
}
