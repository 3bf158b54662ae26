/* The proxy's pure checks: request heads, host[:port] authorities,
 * allow-list matching and refused address ranges. No I/O, so every rule
 * is unit-tested on buffers (tests/unit/test_agent_http.c). */
#include "agent.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

bool agent_http_tchar(unsigned char c)
{
  return isalnum(c) || strchr("!#$%&'*+-.^_`|~", c);
}

const char *agent_http_field(const char *l, const char *lim, bool strict, struct agent_http_field *f)
{
  const char *le = memmem(l, (size_t)(lim - l), "\r\n", 2);
  if (!le)
    return "malformed header line";
  const char *colon = memchr(l, ':', (size_t)(le - l));
  if (!colon || (strict && colon == l))
    return *l == ' ' || *l == '\t' ? "folded header line" : "malformed header line";
  if (strict)
    for (const char *c = l; c < colon; c++)
      if (!agent_http_tchar((unsigned char)*c))
        return "malformed header name";
  const char *v = colon + 1, *ve = le;
  while (v < ve && (*v == ' ' || *v == '\t'))
    v++;
  while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
    ve--;
  *f = (struct agent_http_field){.name = l, .nl = (size_t)(colon - l), .v = v, .ve = ve, .line = l, .next = le + 2};
  return NULL;
}

bool agent_http_field_is(const struct agent_http_field *f, const char *name)
{
  size_t n = strlen(name);
  return f->nl == n && !strncasecmp(f->name, name, n);
}

long long agent_http_content_length(const char *v, const char *ve)
{
  if (v == ve || ve - v > 15)
    return -1;
  long long n = 0;
  for (const char *c = v; c < ve; c++) {
    if (!isdigit((unsigned char)*c))
      return -1;
    n = n * 10 + (*c - '0');
  }
  return n;
}

bool agent_ip_literal(const char *h)
{
  unsigned char b[16];
  struct in_addr a;
  /* inet_aton also takes 2130706433, 0x7f.1, 0177.0.0.1 and 127.1, which
   * getaddrinfo would connect to: all of them are IP literals */
  return inet_pton(AF_INET, h, b) == 1 || inet_pton(AF_INET6, h, b) == 1 || inet_aton(h, &a) == 1;
}

bool agent_ip_noncanonical(const char *h)
{
  unsigned char b[16];
  struct in_addr a;
  return inet_aton(h, &a) == 1 && inet_pton(AF_INET, h, b) != 1;
}

/* A DNS name (letters, digits, '-', '_', '.') or an IPv6 literal (already
 * without brackets). Everything else (%zone, '@', bytes >= 0x80, spaces)
 * would mean something else to getaddrinfo or a server. */
static bool valid_host(const char *h, bool v6)
{
  if (!*h)
    return false;
  unsigned char b[16];
  if (v6)
    return inet_pton(AF_INET6, h, b) == 1;
  for (const char *c = h; *c; c++)
    if (!(isalnum((unsigned char)*c) || *c == '-' || *c == '.' || *c == '_'))
      return false;
  return true;
}

/* One spelling per IPv6 address (inet_ntop's: lower case, zeros
 * compressed), so an allow entry and a request naming the same address
 * compare equal however either was written. */
static bool canon_v6(char *host, size_t hsz)
{
  unsigned char b[16];
  return inet_pton(AF_INET6, host, b) == 1 && inet_ntop(AF_INET6, b, host, (socklen_t)hsz) != NULL;
}

int agent_hostport_parse(const char *s, size_t len, char *host, size_t hsz, int *port, int dport)
{
  char tmp[300];
  if (!len || len >= sizeof tmp || hsz < 2)
    return -1;
  memcpy(tmp, s, len);
  tmp[len] = 0;
  const char *ps = NULL;
  bool v6 = false;
  if (tmp[0] == '[') {
    char *e = strchr(tmp, ']');
    if (!e)
      return -1;
    *e = 0;
    snprintf(host, hsz, "%s", tmp + 1);
    if (e[1] == ':')
      ps = e + 2;
    else if (e[1])
      return -1;
    v6 = true;
  } else {
    char *col = strrchr(tmp, ':');
    if (col && strchr(tmp, ':') != col)
      return -1; /* a bare IPv6 address needs brackets here */
    if (col) {
      *col = 0;
      ps = col + 1;
    }
    snprintf(host, hsz, "%s", tmp);
  }
  for (char *c = host; *c; c++)
    *c = (char)tolower((unsigned char)*c);
  *port = dport;
  if (ps) {
    char *end;
    if (!isdigit((unsigned char)*ps))
      return -1;
    long p = strtol(ps, &end, 10);
    if (*end || p < 1 || p > 65535)
      return -1;
    *port = (int)p;
  }
  if (v6)
    return canon_v6(host, hsz) ? 0 : -1;
  return valid_host(host, false) ? 0 : -1;
}

int agent_allow_entry_parse(const char *e, char *host, size_t hsz, int *port)
{
  const char *colon = strchr(e, ':');
  if (e[0] != '[' && colon && strchr(colon + 1, ':')) {
    /* a bare IPv6 literal: the whole entry, any port */
    if (strlen(e) >= hsz)
      return -1;
    snprintf(host, hsz, "%s", e);
    if (!canon_v6(host, hsz))
      return -1;
    *port = 0;
    return 0;
  }
  bool wild = !strncmp(e, "*.", 2);
  if (agent_hostport_parse(e + (wild ? 2 : 0), strlen(e) - (wild ? 2 : 0), host + (wild ? 2 : 0), hsz - 2, port, 0) < 0)
    return -1;
  if (wild) {
    memcpy(host, "*.", 2);
    if (agent_ip_literal(host + 2))
      return -1; /* *.1.2.3.4: a wildcard matches names only */
  }
  if (agent_ip_noncanonical(host))
    return -1;
  return 0;
}

bool agent_host_allowed(const struct agent_policy *p, const char *host, int port, bool *exact)
{
  *exact = false;
  size_t hl = strlen(host);
  bool ip = agent_ip_literal(host);
  if (agent_ip_noncanonical(host))
    return false;
  for (size_t i = 0; i < p->n_allow; i++) {
    char a[260];
    int ap;
    if (agent_allow_entry_parse(p->allow[i], a, sizeof a, &ap) < 0 || (ap && port > 0 && ap != port))
      continue;
    if (!strcasecmp(a, host)) {
      *exact = true;
      return true;
    }
    if (!strncmp(a, "*.", 2) && !ip) {
      size_t sl = strlen(a + 1); /* ".suffix" */
      if (hl > sl && !strcasecmp(host + hl - sl, a + 1))
        return true;
    }
  }
  return false;
}

/* IPv4 ranges that are not the public internet: RFC 6890 special-purpose
 * blocks plus multicast and reserved */
static bool refused_v4(uint32_t a)
{
  static const struct {
    uint32_t net;
    int len;
  } r[] = {
      {0x00000000, 8},  {0x0A000000, 8},  {0x64400000, 10}, {0x7F000000, 8},  {0xA9FE0000, 16},
      {0xAC100000, 12}, {0xC0000000, 24}, {0xC0000200, 24}, {0xC0A80000, 16}, {0xC6120000, 15},
      {0xC6336400, 24}, {0xCB007100, 24}, {0xE0000000, 4},  {0xF0000000, 4},  {0xFFFFFFFF, 32},
  };
  for (size_t i = 0; i < sizeof r / sizeof r[0]; i++)
    if ((a >> (32 - r[i].len)) == (r[i].net >> (32 - r[i].len)))
      return true;
  return false;
}

static bool prefix6(const uint8_t *b, const uint8_t *p, int bits)
{
  int full = bits / 8, rest = bits % 8;
  if (memcmp(b, p, (size_t)full))
    return false;
  return !rest || ((b[full] ^ p[full]) & (0xff << (8 - rest))) == 0;
}

bool agent_addr_refused(const struct sockaddr *sa)
{
  if (sa->sa_family == AF_INET)
    return refused_v4(ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr));
  if (sa->sa_family != AF_INET6)
    return true;
  const uint8_t *b = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
  static const uint8_t v4mapped[16] = {[10] = 0xff, [11] = 0xff}, zero[16] = {0};
  uint32_t v4;
  memcpy(&v4, b + 12, 4);
  /* ::ffff:a.b.c.d and ::a.b.c.d (which covers :: and ::1) carry IPv4 */
  if (prefix6(b, v4mapped, 96) || prefix6(b, zero, 96))
    return refused_v4(ntohl(v4));
  static const struct {
    uint8_t p[16];
    int len;
  } r[] = {
      {{0x00, 0x64, 0xff, 0x9b}, 96},             /* NAT64 */
      {{0x00, 0x64, 0xff, 0x9b, 0x00, 0x01}, 48}, /* local NAT64 */
      {{0x01, 0x00}, 64},                         /* discard */
      {{0x20, 0x01, 0x00, 0x00}, 32},             /* Teredo */
      {{0x20, 0x01, 0x0d, 0xb8}, 32},             /* documentation */
      {{0x20, 0x02}, 16},                         /* 6to4: refused whole */
      {{0xfc}, 7},                                /* unique local */
      {{0xfe, 0x80}, 10},                         /* link-local */
      {{0xfe, 0xc0}, 10},                         /* site-local (deprecated) */
      {{0xff}, 8},                                /* multicast */
  };
  for (size_t i = 0; i < sizeof r / sizeof r[0]; i++)
    if (prefix6(b, r[i].p, r[i].len))
      return true;
  return false;
}

/* Hop-by-hop and proxy headers, not forwarded: the proxy writes its own
 * Host and Connection, and nothing may keep the upstream connection open
 * for a second request or turn it into something else (Upgrade). */
static bool dropped_header(const char *n, size_t l)
{
  static const char *const h[] = {"host", "connection", "proxy-connection", "keep-alive", "proxy-authorization",
                                  "upgrade", "te", "trailer", NULL};
  for (size_t i = 0; h[i]; i++)
    if (strlen(h[i]) == l && !strncasecmp(n, h[i], l))
      return true;
  return false;
}

static int bad(struct agent_http_req *r, int status, const char *reason)
{
  r->status = status;
  r->reason = reason;
  return AGENT_HTTP_BAD;
}

const char *agent_http_line_split(const char *buf, size_t len, const char *end, size_t method_max,
                                  struct agent_http_line *l)
{
  *l = (struct agent_http_line){.buf = buf, .end = end, .eol = memmem(buf, len, "\r\n", 2)};
  l->sp1 = memchr(buf, ' ', (size_t)(l->eol - buf));
  l->sp2 = l->sp1 ? memchr(l->sp1 + 1, ' ', (size_t)(l->eol - l->sp1 - 1)) : NULL;
  if (!l->sp1 || !l->sp2 || l->sp1 == buf || (size_t)(l->sp1 - buf) >= method_max)
    return "malformed request line";
  return NULL;
}

const char *agent_http_line_check(const struct agent_http_line *l)
{
  const char *ver = l->sp2 + 1;
  for (const char *c = l->buf; c < l->sp1; c++)
    if (!agent_http_tchar((unsigned char)*c))
      return "malformed request line";
  if ((size_t)(l->eol - ver) != 8 || (memcmp(ver, "HTTP/1.1", 8) && memcmp(ver, "HTTP/1.0", 8)))
    return "not HTTP/1.0 or HTTP/1.1";
  for (const char *c = l->sp1 + 1; c < l->sp2; c++)
    if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f)
      return "malformed request line";
  /* a server that splits on a bare LF would see a header this parser
   * did not */
  for (const char *c = l->buf; c < l->end + 2; c++)
    if (!*c || (*c == '\r' && c[1] != '\n') || (*c == '\n' && (c == l->buf || c[-1] != '\r')))
      return "bare CR, LF or NUL in the request head";
  return NULL;
}

struct headout {
  char *out;
  size_t cap, len; /* len may pass cap: the head is then too large */
};

static void emit(struct headout *o, const char *s, size_t n)
{
  if (o->len + n <= o->cap)
    memcpy(o->out + o->len, s, n);
  o->len += n;
}

/* The method and the target: CONNECT host:port, or an absolute http://
 * URL (never a relative one: this is a proxy). */
static int parse_target(const struct agent_http_line *h, struct agent_http_req *r, const char **path)
{
  const char *target = h->sp1 + 1;
  size_t tlen = (size_t)(h->sp2 - target);
  snprintf(r->method, sizeof r->method, "%.*s", (int)(h->sp1 - h->buf), h->buf);
  r->is_connect = !strcmp(r->method, "CONNECT");
  *path = NULL;
  if (r->is_connect) {
    r->port = 443;
    snprintf(r->host, sizeof r->host, "%.*s", (int)(tlen < 255 ? tlen : 255), target);
    if (agent_hostport_parse(target, tlen, r->host, sizeof r->host, &r->port, 443) < 0)
      return bad(r, 400, "bad CONNECT target");
    return 0;
  }
  if (tlen < 8 || strncasecmp(target, "http://", 7))
    return bad(r, 400, "only absolute http:// URLs and CONNECT are proxied");
  const char *hs = target + 7, *p = hs;
  while (p < h->sp2 && *p != '/' && *p != '?')
    p++;
  *path = p;
  r->port = 80;
  /* the raw host goes to the audit line even when it is refused */
  snprintf(r->host, sizeof r->host, "%.*s", (int)(p - hs < 255 ? p - hs : 255), hs);
  char *colon = r->host[0] == '[' ? NULL : strrchr(r->host, ':');
  if (colon)
    *colon = 0;
  if (agent_hostport_parse(hs, (size_t)(p - hs), r->host, sizeof r->host, &r->port, 80) < 0)
    return bad(r, 400, "bad URL host");
  return 0;
}

/* An absolute URL's request line goes upstream in origin form, with the
 * Host header the target names. */
static void emit_origin_line(const struct agent_http_line *h, const char *path, const struct agent_http_req *r,
                             struct headout *o)
{
  emit(o, h->buf, (size_t)(h->sp1 + 1 - h->buf));
  if (path == h->sp2)
    emit(o, "/", 1);
  else
    emit(o, path, (size_t)(h->sp2 - path));
  emit(o, h->sp2, (size_t)(h->eol + 2 - h->sp2));
  char hh[300];
  bool v6 = strchr(r->host, ':') != NULL;
  int n = r->port == 80 ? snprintf(hh, sizeof hh, "Host: %s%s%s\r\n", v6 ? "[" : "", r->host, v6 ? "]" : "")
                        : snprintf(hh, sizeof hh, "Host: %s%s%s:%d\r\n", v6 ? "[" : "", r->host, v6 ? "]" : "", r->port);
  emit(o, hh, (size_t)n);
}

/* The header fields: one Host matching the target, at most one
 * Content-Length, no Transfer-Encoding; the hop-by-hop ones dropped. */
static int parse_fields(const struct agent_http_line *h, struct agent_http_req *r, struct headout *o)
{
  int nhost = 0;
  bool te = false;
  for (const char *l = h->eol + 2; l < h->end + 2;) {
    struct agent_http_field f;
    const char *why = agent_http_field(l, h->end + 2, true, &f);
    if (why)
      return bad(r, 400, why);
    if (agent_http_field_is(&f, "host")) {
      char hh[256];
      int hp;
      if (++nhost > 1)
        return bad(r, 400, "more than one Host header");
      if (agent_hostport_parse(f.v, (size_t)(f.ve - f.v), hh, sizeof hh, &hp, r->is_connect ? 443 : 80) < 0 ||
          strcmp(hh, r->host) || hp != r->port)
        return bad(r, 403, "Host header does not match the request target");
    } else if (agent_http_field_is(&f, "content-length")) {
      if (r->content_length >= 0)
        return bad(r, 400, "more than one Content-Length");
      if ((r->content_length = agent_http_content_length(f.v, f.ve)) < 0)
        return bad(r, 400, "bad Content-Length");
    } else if (agent_http_field_is(&f, "transfer-encoding")) {
      te = true;
    }
    if (!r->is_connect && !dropped_header(f.name, f.nl))
      emit(o, l, (size_t)(f.next - l));
    l = f.next;
  }
  if (te)
    return bad(r, 411, "Transfer-Encoding in a request is not proxied (send Content-Length)");
  if (!nhost && !memcmp(h->sp2 + 1, "HTTP/1.1", 8))
    return bad(r, 400, "HTTP/1.1 request without a Host header");
  return 0;
}

int agent_http_parse(const char *buf, size_t len, size_t max, struct agent_http_req *r, char *out, size_t outsz,
                     size_t *outlen)
{
  memset(r, 0, sizeof *r);
  r->content_length = -1;
  const char *end = memmem(buf, len, "\r\n\r\n", 4), *why, *path;
  if (!end)
    return len >= max ? bad(r, 431, "request head too large") : AGENT_HTTP_INCOMPLETE;
  r->head_len = (size_t)(end + 4 - buf);
  struct agent_http_line h;
  if ((why = agent_http_line_split(buf, len, end, sizeof r->method, &h)))
    return bad(r, 400, why);
  if (parse_target(&h, r, &path) < 0)
    return AGENT_HTTP_BAD;
  if ((why = agent_http_line_check(&h)))
    return bad(r, 400, why);
  struct headout o = {.out = out, .cap = outsz};
  if (!r->is_connect)
    emit_origin_line(&h, path, r, &o);
  if (parse_fields(&h, r, &o) < 0)
    return AGENT_HTTP_BAD;
  if (r->is_connect && r->content_length > 0)
    return bad(r, 400, "CONNECT with a body");
  if (!r->is_connect)
    emit(&o, "Connection: close\r\n\r\n", 21);
  if (o.len > outsz)
    return bad(r, 431, "request head too large");
  *outlen = o.len;
  return AGENT_HTTP_OK;
}
