#include "cove/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int verror(cove_err *err, enum cove_err_kind kind, int errnum, const char *fmt, va_list ap)
{
  int n = vsnprintf(err->msg, sizeof err->msg, fmt, ap);
  if (n < 0)
    n = 0;
  if (errnum && (size_t)n < sizeof err->msg)
    snprintf(err->msg + n, sizeof err->msg - (size_t)n, ": %s", strerror(errnum));
  err->code = errnum;
  err->kind = kind;
  return -1;
}

int cove_error(cove_err *err, int errnum, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  verror(err, COVE_EK_GENERIC, errnum, fmt, ap);
  va_end(ap);
  return -1;
}

int cove_error_kind(cove_err *err, enum cove_err_kind kind, int errnum, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  verror(err, kind, errnum, fmt, ap);
  va_end(ap);
  return -1;
}

int cove_err_set_kind(cove_err *err, enum cove_err_kind kind)
{
  err->kind = kind;
  return -1;
}

int cove_error_prefix(cove_err *err, const char *fmt, ...)
{
  char prefix[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(prefix, sizeof prefix, fmt, ap);
  va_end(ap);
  size_t pl = strlen(prefix), ol = strnlen(err->msg, sizeof err->msg - 1);
  if (pl + 2 >= sizeof err->msg)
    pl = sizeof err->msg - 3;
  if (pl + 2 + ol >= sizeof err->msg)
    ol = sizeof err->msg - pl - 3;
  memmove(err->msg + pl + 2, err->msg, ol);
  memcpy(err->msg, prefix, pl);
  memcpy(err->msg + pl, ": ", 2);
  err->msg[pl + 2 + ol] = 0;
  return -1;
}

void cove_err_clear(cove_err *err)
{
  err->code = 0;
  err->kind = COVE_EK_GENERIC;
  err->msg[0] = 0;
}
