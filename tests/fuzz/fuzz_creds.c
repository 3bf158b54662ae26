/* libFuzzer target: the credential proxy's request rewriting
 * (shims/agent/creds.c, with http.c) on request heads the agent sends.
 *
 * The policy has one credential, for api.example.com (ports 443 and 80).
 * Properties beyond "no crash":
 * - inside an intercepted connection to api.example.com:443, an accepted
 *   head, once the credential is injected, parses again under the same
 *   rules and carries exactly one credential header, with the secret;
 * - the same head on a connection to another host is refused, unless it
 *   names no host at all (HTTP/1.0 without Host), and then it goes out
 *   with that host's Host;
 * - a plain-HTTP head gets the credential only when its URL names the
 *   credential's host and port, and then exactly once, with Host naming
 *   that host; any other host or port (IP literals included) never;
 * - the response-head parser and the chunked scanner never read past
 *   their input and agree on what they consumed. */
#include "agent.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { MAX_HEAD = 16384 };
static const char SECRET[] = "Bearer fuzz-secret-value";
static const char HDR[] = "x-api-key";
static const char OTHER_HOST[] = "\r\nHost: other.example.org\r\n";

static struct agent_policy pol;
static bool ready;

static void setup(void)
{
  cove_err err = {0};
  agent_policy_defaults(&pol);
  if (agent_policy_parse(&pol,
                         "{\"network\": {\"allow\": [\"api.example.com\", \"*.example.org\", \"127.0.0.1\"]},"
                         " \"credentials\": [{\"name\": \"c\", \"hosts\": [\"api.example.com\"], \"env\": \"E\","
                         " \"header\": \"x-api-key\"}]}",
                         "fuzz", &err) < 0)
    __builtin_trap();
  ready = true;
}

/* header lines named HDR (any case) and how many carry the secret */
static int cred_lines(const char *h, size_t n, int *with_secret)
{
  int k = 0;
  *with_secret = 0;
  size_t hl = strlen(HDR);
  for (size_t i = 0; i + hl + 1 < n; i++) {
    if ((i == 0 || h[i - 1] != '\n') || strncasecmp(h + i, HDR, hl) || h[i + hl] != ':')
      continue;
    k++;
    const char *v = h + i + hl + 1;
    while (v < h + n && *v == ' ')
      v++;
    if ((size_t)(h + n - v) >= sizeof SECRET + 1 && !memcmp(v, SECRET, sizeof SECRET - 1) &&
        v[sizeof SECRET - 1] == '\r')
      (*with_secret)++;
  }
  return k;
}

static bool has_ci(const char *h, size_t n, const char *needle)
{
  size_t l = strlen(needle);
  for (size_t i = 0; i + l <= n; i++)
    if (!strncasecmp(h + i, needle, l))
      return true;
  return false;
}

static void tls_side(const char *buf, size_t len)
{
  static char out[MAX_HEAD + 1024], again[MAX_HEAD + 1024];
  struct agent_tls_req r, r2;
  size_t olen = 0, alen = 0;
  int st = agent_tls_req_parse(buf, len, MAX_HEAD, "api.example.com", 443, &r, out, sizeof out, &olen);
  if (st == AGENT_HTTP_BAD && (r.status < 400 || r.status > 599 || !r.reason))
    __builtin_trap();
  if (st != AGENT_HTTP_OK || olen > sizeof out)
    return;
  if (r.head_len > len || (r.chunked && r.content_length >= 0))
    __builtin_trap();
  if (agent_head_inject(out, &olen, sizeof out, HDR, SECRET) < 0)
    return; /* the proxy answers 431 */
  if (agent_tls_req_parse(out, olen, MAX_HEAD, "api.example.com", 443, &r2, again, sizeof again, &alen) !=
          AGENT_HTTP_OK ||
      r2.head_len != olen || r2.content_length != r.content_length || r2.chunked != r.chunked)
    __builtin_trap();
  int sec, n = cred_lines(out, olen, &sec);
  if (n != 1 || sec != 1)
    __builtin_trap();
  /* the same bytes on a connection to another host are refused */
  struct agent_tls_req r3;
  size_t l3;
  if (agent_tls_req_parse(buf, len, MAX_HEAD, "other.example.org", 443, &r3, again, sizeof again, &l3) ==
          AGENT_HTTP_OK &&
      (l3 > sizeof again || !has_ci(again, l3, OTHER_HOST)))
    __builtin_trap(); /* accepted only without a Host (HTTP/1.0): it gets that host's */
}

static void plain_side(const char *buf, size_t len)
{
  static char out[MAX_HEAD + 1024];
  struct agent_http_req r;
  size_t olen = 0;
  if (agent_http_parse(buf, len, MAX_HEAD, &r, out, sizeof out, &olen) != AGENT_HTTP_OK || r.is_connect ||
      olen > sizeof out)
    return;
  int idx = agent_cred_match(&pol, r.host, r.port);
  bool should = !strcmp(r.host, "api.example.com") && (r.port == 80 || r.port == 443);
  if ((idx == 0) != should)
    __builtin_trap();
  if (idx == 0 && agent_head_inject(out, &olen, sizeof out, HDR, SECRET) < 0)
    return;
  int sec, n = cred_lines(out, olen, &sec);
  if (idx == 0) {
    char want[64];
    snprintf(want, sizeof want, r.port == 80 ? "\r\nHost: api.example.com\r\n" : "\r\nHost: api.example.com:%d\r\n",
             r.port);
    if (n != 1 || sec != 1 || !memmem(out, olen, want, strlen(want)))
      __builtin_trap();
  } else if (sec && !memmem(buf, len, SECRET, sizeof SECRET - 1)) {
    /* the secret never goes anywhere else (bytes the agent sent itself
     * are relayed as they are: they are not the proxy's to hold back) */
    __builtin_trap();
  }
}

static void framing(const char *buf, size_t len)
{
  struct agent_resp rs;
  if (agent_resp_parse(buf, len, MAX_HEAD, len && (buf[0] & 1) ? "HEAD" : "GET", &rs) == AGENT_HTTP_OK) {
    if (rs.head_len > len || rs.head_len < 16)
      __builtin_trap();
    struct agent_body b;
    agent_body_init(&b, rs.mode, rs.length);
    size_t off = rs.head_len;
    while (off < len && !b.done) {
      size_t step = 1 + (buf[off] & 7);
      if (step > len - off)
        step = len - off;
      long k = agent_body_scan(&b, buf + off, step);
      if (k < 0)
        return;
      if ((size_t)k > step || (!b.done && (size_t)k != step))
        __builtin_trap();
      off += (size_t)k;
    }
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (!ready)
    setup();
  if (size > MAX_HEAD)
    return 0;
  const char *buf = (const char *)data;
  tls_side(buf, size);
  plain_side(buf, size);
  framing(buf, size);
  return 0;
}
