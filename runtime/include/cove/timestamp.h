/* RFC 3339 UTC timestamps, the one builder: state.json's "created" and
 * log lines (nanoseconds, as runc), audit lines (milliseconds). */
#pragma once
#include <stddef.h>

/* "2026-11-29T20:31:41.123456789Z" with `digits` (0-9) fractional digits
 * of the current CLOCK_REALTIME time; 0 digits omits the fraction. */
void cove_rfc3339_now(char *out, size_t cap, int digits);
