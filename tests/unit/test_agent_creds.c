/* The credential proxy's pure parts (shims/agent/creds.c) on buffers:
 * which requests get a credential, the header it replaces, request heads
 * inside an intercepted connection, response framing, chunked bodies. */
#include "agent.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

static char out[8192];
static size_t olen;

static int req(const char *s, struct agent_tls_req *r)
{
  return agent_tls_req_parse(s, strlen(s), 16384, "api.example.com", 443, r, out, sizeof out, &olen);
}

static void bad(const char *s, int status)
{
  struct agent_tls_req r;
  int st = req(s, &r);
  CHECK(st == AGENT_HTTP_BAD && r.status == status, "%s: got %d/%d (%s), want %d", s, st, r.status,
        r.reason ? r.reason : "", status);
}

static int count(const char *hay, const char *needle)
{
  int n = 0;
  for (const char *p = hay; (p = strstr(p, needle)); p++)
    n++;
  return n;
}

static long scan_all(enum agent_body_mode m, long long len, const char *s, bool *done)
{
  struct agent_body b;
  agent_body_init(&b, m, len);
  long total = 0;
  /* byte by byte: the state must carry across any split */
  for (size_t i = 0; s[i] && !b.done; i++) {
    long k = agent_body_scan(&b, s + i, 1);
    if (k < 0)
      return -1;
    total += k;
  }
  *done = b.done;
  return total;
}

int main(void)
{
  /* policy with one credential, for matching */
  struct agent_policy p;
  cove_err err = {0};
  agent_policy_defaults(&p);
  int rc = agent_policy_parse(&p,
                              "{\"network\": {\"allow\": [\"api.example.com\", \"*.wild.example\", \"local:8443\"]},"
                              " \"credentials\": [{\"name\": \"a\", \"hosts\": [\"api.example.com\"], \"env\": \"X\","
                              " \"header\": \"x-api-key\"}, {\"name\": \"b\", \"hosts\": [\"local:8443\", "
                              "\"*.wild.example\"], \"wildcard\": true, \"file\": \"/k\", \"header\": \"Authorization\","
                              " \"prefix\": \"Bearer \", \"placeholder_env\": \"K\"}]}",
                              "policy", &err);
  CHECK(rc == 0, "policy parses: %s", err.msg);
  CHECK(agent_cred_match(&p, "api.example.com", 443) == 0, "exact host, 443");
  CHECK(agent_cred_match(&p, "api.example.com", 80) == 0, "exact host, 80");
  CHECK(agent_cred_match(&p, "api.example.com", 8443) == -1, "another port never");
  CHECK(agent_cred_match(&p, "API.example.com", 443) == 0, "case-insensitive");
  CHECK(agent_cred_match(&p, "xapi.example.com", 443) == -1, "a longer name is another host");
  CHECK(agent_cred_match(&p, "local", 8443) == 1 && agent_cred_match(&p, "local", 443) == -1, "explicit port only");
  CHECK(agent_cred_match(&p, "a.wild.example", 443) == 1, "wildcard entry");
  CHECK(agent_cred_match(&p, "wild.example", 443) == -1, "wildcard does not match the bare suffix");
  CHECK(agent_cred_match(&p, "127.0.0.1", 443) == -1 && agent_cred_match(&p, "::1", 443) == -1, "IP literals never");
  agent_policy_free(&p);

  /* validation names the field */
  static const struct {
    const char *pol, *field;
  } inval[] = {
      {"{\"network\": {\"allow\": [\"a.example\"]}, \"credentials\": [{\"name\": \"x\", \"hosts\": [\"b.example\"], "
       "\"env\": \"E\", \"header\": \"A\"}]}",
       "credentials[0].hosts[0]: \"b.example\" (port 443) is not in network.allow"},
      {"{\"network\": {\"allow\": [\"a.example:443\"]}, \"credentials\": [{\"name\": \"x\", \"hosts\": [\"a.example\"], "
       "\"env\": \"E\", \"header\": \"A\"}]}",
       "(port 80) is not in network.allow"},
      {"{\"credentials\": [{\"name\": \"x\", \"hosts\": [\"a\"], \"env\": \"E\", \"header\": \"A\"}]}",
       "credentials: need network"},
      {"{\"network\": {\"allow\": [\"*.a.example\"]}, \"credentials\": [{\"name\": \"x\", \"hosts\": [\"*.a.example\"], "
       "\"env\": \"E\", \"header\": \"A\"}]}",
       "needs \"wildcard\": true"},
      {"{\"network\": {\"allow\": [\"a\"]}, \"credentials\": [{\"name\": \"x\", \"hosts\": [\"a\"], \"env\": \"E\", "
       "\"header\": \"Content-Length\"}]}",
       "credentials[0].header: \"Content-Length\" is set by the proxy itself"},
      {"{\"network\": {\"allow\": [\"a\"]}, \"credentials\": [{\"name\": \"x\", \"hosts\": [\"a\"], \"env\": \"E\", "
       "\"header\": \"A: b\"}]}",
       "credentials[0].header"},
      {"{\"network\": {\"allow\": [\"a\"]}, \"credentials\": [{\"name\": \"x\", \"hosts\": [\"a\"], \"env\": \"E\", "
       "\"header\": \"A\", \"prefix\": \"x\\r\\n\"}]}",
       "credentials[0].prefix: control characters"},
      {"{\"network\": {\"allow\": [\"a\"]}, \"env\": {\"K\": \"v\"}, \"credentials\": [{\"name\": \"x\", \"hosts\": "
       "[\"a\"], \"env\": \"E\", \"header\": \"A\", \"placeholder_env\": \"K\"}]}",
       "credentials[0].placeholder_env: \"K\" is also set in env"},
      {"{\"network\": {\"allow\": [\"a\"]}, \"credentials\": [{\"name\": \"x\", \"hosts\": [\"a\"], \"file\": \"rel\", "
       "\"header\": \"A\"}]}",
       "credentials[0].file"},
      {"{\"network\": {\"allow\": [\"a\"]}, \"credentials\": [{\"name\": \"x\", \"hosts\": [\"a\"], \"env\": \"E\", "
       "\"header\": \"A\", \"value\": \"s\"}]}",
       "value"},
  };
  for (size_t i = 0; i < sizeof inval / sizeof inval[0]; i++) {
    cove_err e = {0};
    agent_policy_defaults(&p);
    int r = agent_policy_parse(&p, inval[i].pol, "policy", &e);
    CHECK(r < 0 && strstr(e.msg, inval[i].field), "invalid policy %zu: %s (want %s)", i, e.msg, inval[i].field);
    agent_policy_free(&p);
  }

  /* the header replaces every copy the agent sent, whatever the case */
  char head[512] = "GET / HTTP/1.1\r\nHost: a\r\nAUTHORIZATION: fake\r\nAccept: */*\r\nauthorization: x\r\n\r\n";
  size_t hl = strlen(head);
  CHECK(agent_head_inject(head, &hl, sizeof head, "Authorization", "Bearer s3") == 0, "inject");
  head[hl] = 0;
  CHECK(!strcmp(head, "GET / HTTP/1.1\r\nHost: a\r\nAccept: */*\r\nAuthorization: Bearer s3\r\n\r\n"), "injected: %s",
        head);
  /* a header whose name only starts like it stays */
  char h2[256] = "GET / HTTP/1.1\r\nAuthorization-Extra: y\r\n\r\n";
  hl = strlen(h2);
  agent_head_inject(h2, &hl, sizeof h2, "Authorization", "v");
  h2[hl] = 0;
  CHECK(count(h2, "Authorization-Extra: y") == 1 && count(h2, "Authorization: v") == 1, "prefix names: %s", h2);
  char tiny[64] = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
  hl = strlen(tiny);
  CHECK(agent_head_inject(tiny, &hl, 40, "Authorization", "Bearer long-long-long-secret") < 0, "no room: refused");

  /* requests inside an intercepted connection */
  struct agent_tls_req r;
  int st = req("POST /v1/x?y HTTP/1.1\r\nHost: api.example.com\r\nConnection: keep-alive\r\nProxy-Authorization: z\r\n"
               "Content-Length: 5\r\n\r\nhello",
               &r);
  CHECK(st == AGENT_HTTP_OK && r.content_length == 5 && !r.close && r.path_len == 7, "good request %d %s", st,
        r.reason ? r.reason : "");
  out[olen] = 0;
  CHECK(!strcmp(out, "POST /v1/x?y HTTP/1.1\r\nHost: api.example.com\r\nContent-Length: 5\r\n\r\n"), "rewritten: %s",
        out);
  st = req("GET https://API.example.com:443/p HTTP/1.1\r\nHost: api.example.com:443\r\nTransfer-Encoding: chunked\r\n"
           "Connection: close\r\n\r\n",
           &r);
  out[olen] = 0;
  CHECK(st == AGENT_HTTP_OK && r.chunked && r.close && !strncmp(out, "GET /p HTTP/1.1\r\n", 17) &&
            strstr(out, "Connection: close\r\n\r\n"),
        "absolute-form to origin-form: %s", out);
  /* fuzz_creds: an absolute URL with a query and no path was forwarded as
   * "POST ?q HTTP/1.1" (not a valid origin-form target) */
  st = req("POST https://api.example.com?v2/messages HTTP/1.1\r\nHost: api.example.com\r\n\r\n", &r);
  out[olen] = 0;
  CHECK(st == AGENT_HTTP_OK && !strncmp(out, "POST /?v2/messages HTTP/1.1\r\n", 29), "query without a path: %s", out);
  st = req("GET https://api.example.com HTTP/1.1\r\nHost: api.example.com\r\n\r\n", &r);
  out[olen] = 0;
  CHECK(st == AGENT_HTTP_OK && !strncmp(out, "GET / HTTP/1.1\r\n", 16), "no path: %s", out);
  st = req("GET / HTTP/1.0\r\n\r\n", &r);
  out[olen] = 0;
  CHECK(st == AGENT_HTTP_OK && r.close && strstr(out, "Host: api.example.com\r\n"), "HTTP/1.0 without Host: %s", out);
  st = req("GET / HTTP/1.1\r\nHost: api.example", &r);
  CHECK(st == AGENT_HTTP_INCOMPLETE, "incomplete");
  bad("GET / HTTP/1.1\r\nHost: other.example.com\r\n\r\n", 403);
  bad("GET / HTTP/1.1\r\nHost: api.example.com:8443\r\n\r\n", 403);
  bad("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 403);
  bad("GET https://other.example.com/ HTTP/1.1\r\nHost: api.example.com\r\n\r\n", 403);
  bad("GET https://api.example.com:444/ HTTP/1.1\r\nHost: api.example.com\r\n\r\n", 403);
  bad("GET http://api.example.com/ HTTP/1.1\r\nHost: api.example.com\r\n\r\n", 400);
  bad("GET / HTTP/1.1\r\nHost: api.example.com\r\nHost: api.example.com\r\n\r\n", 400);
  bad("GET / HTTP/1.1\r\n\r\n", 400);
  bad("GET / HTTP/1.1\r\nHost: api.example.com\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", 400);
  bad("GET / HTTP/1.1\r\nHost: api.example.com\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501);
  bad("GET / HTTP/1.1\r\nHost: api.example.com\r\nX: a\nY: b\r\n\r\n", 400);
  bad("GET / HTTP/1.1\r\nHost: api.example.com\r\n folded\r\n\r\n", 400);
  bad("CONNECT api.example.com:443 HTTP/1.1\r\nHost: api.example.com\r\n\r\n", 405);
  bad("GET / HTTP/2.0\r\nHost: api.example.com\r\n\r\n", 400);

  /* responses: framing from the status, the method and the headers */
  struct agent_resp rs;
  const char *ok = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc";
  CHECK(agent_resp_parse(ok, strlen(ok), 16384, "GET", &rs) == AGENT_HTTP_OK && rs.status == 200 &&
            rs.mode == AGENT_BODY_LENGTH && rs.length == 3 && !rs.close,
        "length response");
  CHECK(agent_resp_parse(ok, strlen(ok), 16384, "HEAD", &rs) == AGENT_HTTP_OK && rs.mode == AGENT_BODY_NONE,
        "HEAD: no body");
  const char *ch = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
  CHECK(agent_resp_parse(ch, strlen(ch), 16384, "GET", &rs) == AGENT_HTTP_OK && rs.mode == AGENT_BODY_CHUNKED,
        "chunked response");
  const char *cl = "HTTP/1.0 200 OK\r\n\r\n";
  CHECK(agent_resp_parse(cl, strlen(cl), 16384, "GET", &rs) == AGENT_HTTP_OK && rs.mode == AGENT_BODY_CLOSE && rs.close,
        "close-delimited");
  const char *cont = "HTTP/1.1 100 Continue\r\n\r\n";
  CHECK(agent_resp_parse(cont, strlen(cont), 16384, "POST", &rs) == AGENT_HTTP_OK && rs.status == 100 &&
            rs.mode == AGENT_BODY_NONE,
        "100 Continue");
  const char *sw = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n";
  CHECK(agent_resp_parse(sw, strlen(sw), 16384, "GET", &rs) == AGENT_HTTP_BAD, "no protocol switch");
  const char *two = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n";
  CHECK(agent_resp_parse(two, strlen(two), 16384, "GET", &rs) == AGENT_HTTP_BAD, "conflicting lengths");

  /* bodies, fed one byte at a time */
  bool done;
  CHECK(scan_all(AGENT_BODY_CHUNKED, 0, "5\r\nhello\r\n1;ext=1\r\n!\r\n0\r\nTrailer: x\r\n\r\nNEXT", &done) == 39 && done,
        "chunked with extension and trailer");
  CHECK(scan_all(AGENT_BODY_CHUNKED, 0, "A\r\n0123456789\r\n0\r\n\r\n", &done) == 20 && done, "hex sizes");
  CHECK(scan_all(AGENT_BODY_CHUNKED, 0, "5\r\nhelloX\r\n", &done) < 0, "missing CRLF after data");
  CHECK(scan_all(AGENT_BODY_CHUNKED, 0, "z\r\n", &done) < 0, "not a size");
  CHECK(scan_all(AGENT_BODY_CHUNKED, 0, "fffffffffffffffffff\r\n", &done) < 0, "size overflow");
  CHECK(scan_all(AGENT_BODY_LENGTH, 4, "abcdef", &done) == 4 && done, "length body stops at its end");
  CHECK(scan_all(AGENT_BODY_CHUNKED, 0, "5\r\nhel", &done) == 6 && !done, "a partial chunked body is not done");

  printf("%d checks, %d failures\n", checks, fails);
  return fails ? 1 : 0;
}
