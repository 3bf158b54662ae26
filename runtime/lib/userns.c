#include "userns.h"

#include "cove/cleanup.h"

#include <stdio.h>

bool cove_in_partial_userns(void)
{
  _cleanup_fclose_ FILE *f = fopen("/proc/self/uid_map", "re");
  unsigned long inside, outside, count;
  if (!f || fscanf(f, "%lu %lu %lu", &inside, &outside, &count) != 3)
    return false;
  return !(inside == 0 && outside == 0 && count == 4294967295UL);
}
