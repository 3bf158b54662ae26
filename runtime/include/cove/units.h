/* Human-written quantities shared by the CLI and the orchestrator. */
#pragma once
#include <stdint.h>

/* "30m", "90s", "1h", "500ms", or a bare number of seconds, into
 * milliseconds. Returns 0, or -1 for anything else (negative, not finite,
 * unknown unit, absurdly large). */
int cove_parse_duration_ms(const char *s, uint64_t *out);
