#include "cove/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int cove_error(cove_err *err, int errnum, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(err->msg, sizeof err->msg, fmt, ap);
  va_end(ap);
  if (n < 0)
    n = 0;
  if (errnum && (size_t)n < sizeof err->msg)
    snprintf(err->msg + n, sizeof err->msg - (size_t)n, ": %s", strerror(errnum));
  err->code = errnum;
  return -1;
}

int cove_error_prefix(cove_err *err, const char *fmt, ...)
{
  char prefix[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(prefix, sizeof prefix, fmt, ap);
  va_end(ap);
  char old[COVE_ERR_MSG_MAX];
  memcpy(old, err->msg, sizeof old);
  old[sizeof old - 1] = 0;
  snprintf(err->msg, sizeof err->msg, "%s: %s", prefix, old);
  return -1;
}

void cove_err_clear(cove_err *err)
{
  err->code = 0;
  err->msg[0] = 0;
}
