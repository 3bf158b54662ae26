#include "cove/units.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int cove_parse_duration_ms(const char *s, uint64_t *out)
{
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (end == s || errno || v < 0 || !isfinite(v))
    return -1;
  double mul;
  if (!strcmp(end, "ms"))
    mul = 1;
  else if (!strcmp(end, "s") || !*end)
    mul = 1000;
  else if (!strcmp(end, "m"))
    mul = 60e3;
  else if (!strcmp(end, "h"))
    mul = 3600e3;
  else
    return -1;
  double ms = v * mul;
  if (ms > 1e15)
    return -1;
  *out = (uint64_t)ms;
  return 0;
}
