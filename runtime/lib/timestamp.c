#include "cove/timestamp.h"

#include <stdio.h>
#include <time.h>

void cove_rfc3339_now(char *out, size_t cap, int digits)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  char date[32];
  strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
  if (digits <= 0) {
    snprintf(out, cap, "%sZ", date);
    return;
  }
  if (digits > 9)
    digits = 9;
  long frac = ts.tv_nsec;
  for (int i = digits; i < 9; i++)
    frac /= 10;
  snprintf(out, cap, "%s.%0*ldZ", date, digits, frac);
}
