/* libFuzzer target: the agent proxy's request-head parser and host checks
 * (shims/agent/http.c) on bytes the agent sends.
 *
 * Properties beyond "no crash":
 * - a refused head always carries a status and a reason;
 * - an accepted request has a lower-case host and a port in range, and a
 *   plain-HTTP head is rewritten into one complete head (what goes
 *   upstream) with CR/LF only as CRLF and no NUL;
 * - the bytes after an accepted head and its body are parsed as the next
 *   request of a keep-alive sequence, each under the same rules;
 * - an allow-list entry or host:port that parses gives a lower-case host
 *   with no byte the proxy would have to escape. */
#include "agent.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { MAX_HEAD = 16384 };

static void plain_host(const char *h)
{
  for (const unsigned char *c = (const unsigned char *)h; *c; c++)
    if (*c <= 0x20 || *c >= 0x7f || (*c >= 'A' && *c <= 'Z'))
      __builtin_trap();
}

static size_t one_request(const char *buf, size_t len)
{
  struct agent_http_req r;
  static char out[MAX_HEAD + 512];
  size_t olen = 0;
  int st = agent_http_parse(buf, len, MAX_HEAD, &r, out, sizeof out, &olen);
  if (st == AGENT_HTTP_BAD) {
    if (r.status < 400 || r.status > 599 || !r.reason)
      __builtin_trap();
    return 0;
  }
  if (st == AGENT_HTTP_INCOMPLETE)
    return 0;
  if (r.head_len == 0 || r.head_len > len || r.port <= 0 || r.port > 65535)
    __builtin_trap();
  plain_host(r.host);
  if (!r.is_connect) {
    if (olen > sizeof out)
      return 0; /* would not fit: the proxy refuses such a head */
    for (size_t i = 0; i < olen; i++)
      if (!out[i] || (out[i] == '\r' && (i + 1 >= olen || out[i + 1] != '\n')) ||
          (out[i] == '\n' && (i == 0 || out[i - 1] != '\r')))
        __builtin_trap();
    if (olen < 4 || memcmp(out + olen - 4, "\r\n\r\n", 4) != 0)
      __builtin_trap();
  }
  size_t used = r.head_len;
  if (r.content_length > 0) {
    if ((unsigned long long)r.content_length > len - used)
      return 0;
    used += (size_t)r.content_length;
  }
  return used;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size > 4 * MAX_HEAD)
    return 0;
  const char *buf = (const char *)data;
  /* a keep-alive sequence: every request is checked, not only the first */
  size_t off = 0;
  for (int i = 0; i < 8 && off < size; i++) {
    size_t used = one_request(buf + off, size - off);
    if (!used)
      break;
    off += used;
  }
  /* the same bytes as an allow-list entry and as host[:port] */
  char s[512];
  size_t n = size < sizeof s - 1 ? size : sizeof s - 1;
  memcpy(s, data, n);
  s[n] = 0;
  char host[256];
  int port = 0;
  if (agent_allow_entry_parse(s, host, sizeof host, &port) == 0) {
    plain_host(host);
    if (port < 0 || port > 65535)
      __builtin_trap();
  }
  if (agent_hostport_parse(s, strlen(s), host, sizeof host, &port, 80) == 0) {
    plain_host(host);
    if (port <= 0 || port > 65535)
      __builtin_trap();
  }
  (void)agent_ip_literal(s);
  (void)agent_ip_noncanonical(s);
  return 0;
}
