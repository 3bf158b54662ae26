/* The agent proxy's pure checks (shims/agent/http.c) on buffers: request
 * heads, Host against the URL, allow entries with ports, numeric IPv4
 * forms, refused address ranges. */
#include "agent.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "check.h"

static char out[4096];
static size_t olen;

static int parse(const char *s, struct agent_http_req *r)
{
  return agent_http_parse(s, strlen(s), 16384, r, out, sizeof out, &olen);
}

static void bad(const char *s, int status)
{
  struct agent_http_req r;
  int st = parse(s, &r);
  CHECK(st == AGENT_HTTP_BAD && r.status == status, "%s: got %d/%d (%s), want %d", s, st, r.status,
        r.reason ? r.reason : "", status);
}

static bool refused(const char *a)
{
  struct sockaddr_storage ss = {0};
  if (inet_pton(AF_INET, a, &((struct sockaddr_in *)&ss)->sin_addr) == 1)
    ss.ss_family = AF_INET;
  else if (inet_pton(AF_INET6, a, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1)
    ss.ss_family = AF_INET6;
  return agent_addr_refused((struct sockaddr *)&ss);
}

static bool allowed(const char *const *list, size_t n, const char *host, int port)
{
  struct agent_policy p = {0};
  for (size_t i = 0; i < n; i++)
    p.allow[i] = (char *)list[i];
  p.n_allow = n;
  bool exact;
  return agent_host_allowed(&p, host, port, &exact);
}

int main(void)
{
  struct agent_http_req r;
  /* a good request: origin-form, Host from the URL, Connection: close */
  int st = parse("GET http://Example.COM:8080/a?b HTTP/1.1\r\nHost: example.com:8080\r\nConnection: keep-alive\r\n"
                 "Proxy-Connection: keep-alive\r\nAccept: */*\r\nContent-Length: 3\r\n\r\nabcGET /",
                 &r);
  CHECK(st == AGENT_HTTP_OK, "good request: %d %s", st, r.reason ? r.reason : "");
  CHECK(!strcmp(r.host, "example.com") && r.port == 8080 && r.content_length == 3, "fields %s %d", r.host, r.port);
  CHECK(r.head_len == strlen("GET http://Example.COM:8080/a?b HTTP/1.1\r\nHost: example.com:8080\r\nConnection: "
                             "keep-alive\r\nProxy-Connection: keep-alive\r\nAccept: */*\r\nContent-Length: 3\r\n\r\n"),
        "head_len %zu", r.head_len);
  out[olen] = 0;
  CHECK(!strcmp(out, "GET /a?b HTTP/1.1\r\nHost: example.com:8080\r\nAccept: */*\r\nContent-Length: 3\r\n"
                     "Connection: close\r\n\r\n"),
        "rewritten head: %s", out);
  st = parse("GET http://h.test HTTP/1.0\r\n\r\n", &r);
  out[olen] = 0;
  CHECK(st == AGENT_HTTP_OK && !strcmp(out, "GET / HTTP/1.0\r\nHost: h.test\r\nConnection: close\r\n\r\n"),
        "HTTP/1.0 without Host: %s", out);
  st = parse("GET http://[::1]:81/ HTTP/1.1\r\nHost: [::1]:81\r\n\r\n", &r);
  CHECK(st == AGENT_HTTP_OK && !strcmp(r.host, "::1") && r.port == 81, "IPv6 authority");
  st = parse("GET http://h.test/ HTTP/1.1\r\nHost: H.TEST:80\r\n\r\n", &r);
  CHECK(st == AGENT_HTTP_OK, "Host: case-insensitive, default port explicit");
  CHECK(parse("GET http://h.test/ HTTP/1.1\r\nHost: h", &r) == AGENT_HTTP_INCOMPLETE, "incomplete");
  st = parse("CONNECT h.test:443 HTTP/1.1\r\nHost: h.test:443\r\n\r\n\x16\x03", &r);
  CHECK(st == AGENT_HTTP_OK && r.is_connect && r.port == 443 && r.head_len == 49, "CONNECT");

  /* Host must match the URL authority, port-aware */
  bad("GET http://localhost:8080/ HTTP/1.1\r\nHost: internal.corp.example\r\n\r\n", 403);
  bad("GET http://localhost:8080/ HTTP/1.1\r\nHost: localhost\r\n\r\n", 403);
  bad("GET http://localhost/ HTTP/1.1\r\nHost: localhost:8080\r\n\r\n", 403);
  bad("CONNECT a.test:443 HTTP/1.1\r\nHost: b.test:443\r\n\r\n", 403);
  bad("GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\nHost: b.test\r\n\r\n", 400);
  bad("GET http://a.test/ HTTP/1.1\r\n\r\n", 400);
  /* smuggling shapes */
  bad("GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: chunked\r\n\r\n", 411);
  bad("GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n", 400);
  bad("GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\nContent-Length: -1\r\n\r\n", 400);
  bad("GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\nX: y\nHost: b.test\r\n\r\n", 400);
  bad("GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\n folded\r\n\r\n", 400);
  bad("GET http://a.test/ HTTP/1.1\r\nHost : a.test\r\n\r\n", 400);
  bad("GET http://a.test/ HTTP/2.0\r\nHost: a.test\r\n\r\n", 400);
  bad("GET http://user@a.test/ HTTP/1.1\r\nHost: a.test\r\n\r\n", 400);
  bad("GET http://a.test%2f/ HTTP/1.1\r\n\r\n", 400);
  bad("GET http://[fe80::1%25lo]/ HTTP/1.1\r\n\r\n", 400);
  bad("GET /x HTTP/1.1\r\nHost: a.test\r\n\r\n", 400);
  bad("G\xffT http://h\xc3\xa9.test/ HTTP/1.1\r\nHost: x\r\n\r\n", 400);
  /* the refused host is still reported for the audit line */
  parse("GET http://h\xc3\xa9.test/ HTTP/1.1\r\n\r\n", &r);
  CHECK(!strcmp(r.host, "h\xc3\xa9.test") && !strcmp(r.method, "GET"), "raw host kept: %s", r.host);
  char big[20000];
  memset(big, 'a', sizeof big);
  memcpy(big, "GET http://a.test/ HTTP/1.1\r\nX: ", 32);
  CHECK(agent_http_parse(big, sizeof big, 16384, &r, out, sizeof out, &olen) == AGENT_HTTP_BAD && r.status == 431,
        "head too large");

  /* numeric IPv4 forms are IP literals, and never canonical */
  const char *num[] = {"2130706433", "0x7f.1", "017700000001", "127.1", "0x7f000001", "0177.0.0.1"};
  for (size_t i = 0; i < sizeof num / sizeof num[0]; i++) {
    CHECK(agent_ip_literal(num[i]) && agent_ip_noncanonical(num[i]), "%s is a non-canonical literal", num[i]);
    const char *wild[] = {"*.1", "*.0.1"};
    CHECK(!allowed(wild, 2, num[i], 80), "%s matched by a wildcard", num[i]);
    const char *lit[] = {num[i]};
    CHECK(!allowed(lit, 1, num[i], 80), "%s allowed even when listed", num[i]);
  }
  CHECK(agent_ip_literal("127.0.0.1") && !agent_ip_noncanonical("127.0.0.1"), "dotted quad");
  CHECK(agent_ip_literal("::ffff:127.0.0.1") && !agent_ip_literal("example.com"), "v6 literal / name");
  /* found by fuzz_http: IPv6 spellings compare as one address */
  {
    char h[256];
    int p = -1;
    CHECK(agent_allow_entry_parse("2001:DB8:0:0::E", h, sizeof h, &p) == 0 && !strcmp(h, "2001:db8::e") && p == 0,
          "bare v6 entry canonical: %s", h);
    CHECK(agent_hostport_parse("[2001:db8::0:E]:8443", 20, h, sizeof h, &p, 80) == 0 && !strcmp(h, "2001:db8::e") &&
              p == 8443,
          "bracketed v6 canonical: %s", h);
  }

  /* allow entries: ports, wildcards only on names */
  const char *al[] = {"a.test", "b.test:8443", "*.c.test", "*.d.test:443", "[::1]:81", "10.0.0.1"};
  CHECK(allowed(al, 6, "a.test", 80) && allowed(al, 6, "a.test", 12345), "no port: any port");
  CHECK(allowed(al, 6, "b.test", 8443) && !allowed(al, 6, "b.test", 443) && !allowed(al, 6, "b.test", 80),
        "b.test only on 8443");
  CHECK(allowed(al, 6, "x.c.test", 80) && !allowed(al, 6, "c.test", 80), "wildcard");
  CHECK(allowed(al, 6, "x.d.test", 443) && !allowed(al, 6, "x.d.test", 80), "wildcard with port");
  CHECK(allowed(al, 6, "::1", 81) && !allowed(al, 6, "::1", 80), "[v6]:port");
  CHECK(allowed(al, 6, "10.0.0.1", 80) && !allowed(al, 6, "10.0.0.2", 80), "IPv4 literal listed");
  char h[260];
  int port;
  CHECK(agent_allow_entry_parse("::1", h, sizeof h, &port) == 0 && port == 0, "bare v6 entry");
  CHECK(agent_allow_entry_parse("a.test:0", h, sizeof h, &port) < 0, "port 0");
  CHECK(agent_allow_entry_parse("a.test:99999", h, sizeof h, &port) < 0, "port too big");
  CHECK(agent_allow_entry_parse("a.test:", h, sizeof h, &port) < 0, "empty port");
  CHECK(agent_allow_entry_parse("127.1", h, sizeof h, &port) < 0, "non-canonical entry");
  CHECK(agent_allow_entry_parse("*.1.2.3.4", h, sizeof h, &port) < 0, "wildcard over an address");
  CHECK(agent_allow_entry_parse("a b", h, sizeof h, &port) < 0, "space");

  /* keep-alive: every request of a sequence is parsed (and so checked)
   * on its own; the second one's host is not the first one's */
  {
    const char *seq = "GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\nContent-Length: 2\r\n\r\nhi"
                      "GET http://evil.test/ HTTP/1.1\r\nHost: evil.test\r\n\r\n"
                      "GET http://a.test/ HTTP/1.1\r\nHost: evil.test\r\n\r\n";
    size_t len = strlen(seq), off = 0;
    const char *al1[] = {"a.test"};
    st = agent_http_parse(seq, len, 16384, &r, out, sizeof out, &olen);
    CHECK(st == AGENT_HTTP_OK && !strcmp(r.host, "a.test") && r.content_length == 2 && allowed(al1, 1, r.host, r.port),
          "keep-alive 1st: %d %s", st, r.host);
    out[olen] = 0;
    CHECK(strstr(out, "Connection: close\r\n"), "keep-alive 1st rewritten with Connection: close");
    off = r.head_len + 2;
    st = agent_http_parse(seq + off, len - off, 16384, &r, out, sizeof out, &olen);
    CHECK(st == AGENT_HTTP_OK && !strcmp(r.host, "evil.test") && !allowed(al1, 1, r.host, r.port),
          "keep-alive 2nd parsed on its own and not allowed: %d %s", st, r.host);
    off += r.head_len;
    st = agent_http_parse(seq + off, len - off, 16384, &r, out, sizeof out, &olen);
    CHECK(st == AGENT_HTTP_BAD && r.status == 403, "keep-alive 3rd: Host differs from the URL: %d/%d", st, r.status);
    /* a body cut short leaves the next request incomplete, not misread */
    const char *cut = "GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\nContent-Length: 10\r\n\r\nabc";
    st = agent_http_parse(cut, strlen(cut), 16384, &r, out, sizeof out, &olen);
    CHECK(st == AGENT_HTTP_OK && r.content_length == 10 && r.head_len == strlen(cut) - 3, "body pending: %zu",
          r.head_len);
    /* pipelined CONNECT: the tunnel's bytes are not a request */
    const char *tun = "CONNECT a.test:443 HTTP/1.1\r\nHost: a.test:443\r\n\r\nGET http://evil.test/ HTTP/1.1\r\n\r\n";
    st = agent_http_parse(tun, strlen(tun), 16384, &r, out, sizeof out, &olen);
    CHECK(st == AGENT_HTTP_OK && r.is_connect && !strcmp(r.host, "a.test") &&
              r.head_len == strlen("CONNECT a.test:443 HTTP/1.1\r\nHost: a.test:443\r\n\r\n"),
          "CONNECT head ends at the blank line");
  }

  /* host matching: case, wildcard depth and boundary, exactness, port 0 */
  {
    const char *al2[] = {"A.Test", "*.c.test", "d.test:8080"};
    bool exact;
    struct agent_policy p = {0};
    for (size_t i = 0; i < 3; i++)
      p.allow[i] = (char *)al2[i];
    p.n_allow = 3;
    CHECK(agent_host_allowed(&p, "a.test", 80, &exact) && exact, "entry case-insensitive, exact");
    CHECK(agent_host_allowed(&p, "x.y.c.test", 443, &exact) && !exact, "wildcard any depth, not exact");
    CHECK(!agent_host_allowed(&p, "xc.test", 80, &exact), "wildcard only at a label boundary");
    CHECK(!agent_host_allowed(&p, "c.test", 80, &exact), "wildcard does not match its own suffix");
    CHECK(!agent_host_allowed(&p, "a.test.evil", 80, &exact) && !agent_host_allowed(&p, "evil-a.test", 80, &exact),
          "no prefix/suffix matches for names");
    CHECK(agent_host_allowed(&p, "d.test", 0, &exact), "port 0: any entry for the host");
    CHECK(!agent_host_allowed(&p, "d.test", 80, &exact) && agent_host_allowed(&p, "d.test", 8080, &exact),
          "d.test only on 8080");
    p.n_allow = 0;
    CHECK(!agent_host_allowed(&p, "a.test", 80, &exact), "empty list allows nothing");
  }

  /* refused ranges */
  const char *no[] = {"0.1.2.3", "10.9.9.9", "100.64.0.1", "100.127.255.255", "127.0.0.1", "169.254.169.254",
                      "172.16.0.1", "172.31.255.255", "192.0.0.8", "192.0.2.1", "192.168.1.1", "198.18.0.1",
                      "198.19.255.255", "198.51.100.7", "203.0.113.9", "224.0.0.1", "239.1.1.1", "240.0.0.1",
                      "255.255.255.255", "::", "::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::127.0.0.1",
                      "::10.0.0.1", "64:ff9b::7f00:1", "64:ff9b::808:808", "64:ff9b:1::1", "2002:7f00:1::",
                      "2002:808:808::", "2001::1", "2001:0:4136:e378::1", "fc00::1", "fd12::1", "fe80::1",
                      "febf::1", "ff02::1", "2001:db8::1", "fec0::1"};
  for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
    CHECK(refused(no[i]), "%s not refused", no[i]);
  const char *yes[] = {"8.8.8.8",        "1.1.1.1",        "100.63.255.255", "100.128.0.0", "172.32.0.1",
                       "198.17.255.255", "198.20.0.0",     "223.255.255.255", "2606:4700::1111",
                       "2001:4860::8888", "::ffff:8.8.8.8", "2001:1::1",     "64:ff9b:2::1"};
  for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
    CHECK(!refused(yes[i]), "%s refused", yes[i]);

  printf("%d checks, %d failures\n", checks, fails);
  return fails ? 1 : 0;
}
