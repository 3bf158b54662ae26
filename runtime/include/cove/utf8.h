/* UTF-8 sanitising for structured output (JSON lines, XML reports) that
 * carries bytes someone else controls: an agent's output, a proxy client's
 * Host header. One decoder, shared by every writer, so no writer copies an
 * invalid sequence through. */
#pragma once
#include <stddef.h>
#include <stdint.h>

/* Length (1-4) of the well-formed UTF-8 sequence at s[0..n), its code
 * point in *cp; 0 when s starts with an invalid or truncated sequence
 * (overlong forms, surrogates and values above U+10FFFF are invalid). */
size_t cove_utf8_next(const unsigned char *s, size_t n, uint32_t *cp);
