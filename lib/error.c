/* Status names and the thread-local last-error message. */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>

static _Thread_local char last_error[512] = "no error";

const char *spd_strerror(int status)
{
  switch ((spd_status)status) {
  case SPD_OK: return "success";
  case SPD_E_INVALID: return "invalid argument";
  case SPD_E_NOMEM: return "out of memory";
  case SPD_E_SHAPE: return "sizes or shapes do not match";
  case SPD_E_DOMAIN: return "value out of domain (NaN, infinite or out of range)";
  case SPD_E_UNSUPPORTED: return "no exact method for this combination";
  case SPD_E_IO: return "input/output error";
  case SPD_E_FORMAT: return "corrupt, truncated or foreign file";
  case SPD_E_OVERFLOW: return "size overflow";
  case SPD_E_STATE: return "handle in the wrong state for this call";
  case SPD_E_NOT_FOUND: return "not found";
  case SPD_E_NUMERIC: return "non-finite result";
  }
  return "unknown status";
}

const char *spd_last_error(void)
{
  return last_error;
}

int spdi_set_error(int code, const char *func, const char *fmt, ...)
{
  int len = snprintf(last_error, sizeof last_error, "%s: ", func);
  if (len < 0 || (size_t)len >= sizeof last_error)
    len = 0;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(last_error + len, sizeof last_error - (size_t)len, fmt, ap);
  va_end(ap);
  return code;
}
