/* Credentials the agent can use but never holds (docs/agent.md,
 * "Credentials"). The secret is read once here, from this process's
 * environment or a file, and lives only in this process's memory as the
 * header value the proxy sets; it is wiped when the run ends.
 *
 * The rest is pure (buffers in, buffers out) so that it is unit-tested
 * and fuzzed: matching a request to a credential, rewriting a request head
 * inside an intercepted TLS connection, and the message framing the proxy
 * needs to see where one request or response ends (keep-alive, chunked). */
#include "agent.h"

#include "cove/cleanup.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define SECRET_MAX 16384

static void wipe_free(char *s)
{
  if (!s)
    return;
  explicit_bzero(s, strlen(s));
  free(s);
}

void agent_creds_free(struct agent_creds *cr)
{
  if (!cr)
    return;
  for (size_t i = 0; i < cr->n; i++)
    wipe_free(cr->value[i]);
  agent_tls_free(cr->tls);
  explicit_bzero(cr, sizeof *cr);
  free(cr);
}

/* The secret as one header value: no control characters (a CR or LF
 * would let it end the header and start another). A file's final newline
 * is not part of it. */
static char *make_value(const struct agent_cred *c, const char *secret, size_t n, const char *field, cove_err *err)
{
  while (n && (secret[n - 1] == '\n' || secret[n - 1] == '\r'))
    n--;
  if (!n)
    return cove_error(err, 0, "%s: the secret is empty", field), NULL;
  if (n > SECRET_MAX)
    return cove_error(err, 0, "%s: the secret is longer than %d bytes", field, SECRET_MAX), NULL;
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)secret[i] < 0x20 || secret[i] == 0x7f)
      return cove_error(err, 0, "%s: the secret contains control characters (it must fit in one header)", field),
             NULL;
  size_t pl = c->prefix ? strlen(c->prefix) : 0;
  char *v = malloc(pl + n + 1);
  if (!v)
    return cove_error(err, ENOMEM, "%s", field), NULL;
  memcpy(v, c->prefix ? c->prefix : "", pl);
  memcpy(v + pl, secret, n);
  v[pl + n] = 0;
  return v;
}

/* A credential file must be invisible to the sandbox: refused inside
 * any of its mounts (files.c decides by inode ancestry). */
static int guard_file(struct agent_ctx *c, int fd, const char *canon, const char *field, cove_err *err)
{
  struct agent_guard g;
  if (agent_guard_input(&g, fd, canon, field, err) < 0)
    return -1;
  g.output = true;
  int r = agent_guard_check(c, &g, 1, err);
  close(g.dirfd);
  return r;
}

int agent_creds_load(struct agent_ctx *ctx, cove_err *err)
{
  const struct agent_policy *p = &ctx->pol;
  struct agent_creds **out = &ctx->creds;
  *out = NULL;
  if (!p->n_creds)
    return 0;
  if (agent_tls_load(err) < 0)
    return cove_error_prefix(err, "credentials: refusing to run");
  struct agent_creds *cr = calloc(1, sizeof *cr);
  if (!cr)
    return cove_error(err, ENOMEM, "credentials");
  for (size_t i = 0; i < p->n_creds; i++) {
    const struct agent_cred *c = &p->creds[i];
    char field[300];
    snprintf(field, sizeof field, "credentials[%zu].%s (%s)", i, c->env ? "env" : "file", c->env ? c->env : c->file);
    if (c->env) {
      char *s = getenv(c->env);
      if (!s) {
        agent_creds_free(cr);
        return cove_error(err, 0, "%s: not set in the orchestrator's environment", field);
      }
      cr->value[i] = make_value(c, s, strlen(s), field, err);
    } else {
      /* read into one buffer wiped after use (no realloc copies) */
      char canon[4096];
      static char buf[SECRET_MAX + 3];
      _cleanup_close_ int fd = agent_in_open(c->file, field, canon, err);
      size_t len = 0;
      ssize_t r = 1;
      while (fd >= 0 && len < sizeof buf - 1 && (r = read(fd, buf + len, sizeof buf - 1 - len)) != 0) {
        if (r < 0 && errno == EINTR)
          continue;
        if (r < 0)
          break;
        len += (size_t)r;
      }
      if (fd >= 0 && guard_file(ctx, fd, canon, field, err) < 0)
        ;
      else if (fd >= 0 && r < 0)
        cove_error(err, errno, "%s: read", field);
      else if (fd >= 0 && memchr(buf, 0, len))
        cove_error(err, 0, "%s: the secret contains a NUL byte", field);
      else if (fd >= 0)
        cr->value[i] = make_value(c, buf, len, field, err);
      explicit_bzero(buf, sizeof buf);
    }
    if (!cr->value[i]) {
      agent_creds_free(cr);
      return -1;
    }
    cr->n = i + 1;
  }
  /* read once: gone from our environment (and from what any helper we
   * start would inherit) */
  for (size_t i = 0; i < p->n_creds; i++) {
    char *s = p->creds[i].env ? getenv(p->creds[i].env) : NULL;
    if (s) {
      explicit_bzero(s, strlen(s));
      unsetenv(p->creds[i].env);
    }
  }
  if (!(cr->tls = agent_tls_new(err))) {
    agent_creds_free(cr);
    return cove_error_prefix(err, "credentials: run CA");
  }
  *out = cr;
  return 0;
}

int agent_cred_match(const struct agent_policy *p, const char *host, int port)
{
  if (agent_ip_literal(host))
    return -1;
  size_t hl = strlen(host);
  for (size_t i = 0; i < p->n_creds; i++) {
    const struct agent_cred *c = &p->creds[i];
    for (size_t j = 0; j < c->n_hosts; j++) {
      char h[260];
      int hp;
      if (agent_allow_entry_parse(c->hosts[j], h, sizeof h, &hp) < 0)
        continue;
      if (hp ? hp != port : port != 443 && port != 80)
        continue;
      if (!strncmp(h, "*.", 2)) {
        size_t sl = strlen(h + 1);
        if (c->wildcard && hl > sl && !strcasecmp(host + hl - sl, h + 1))
          return (int)i;
      } else if (!strcasecmp(h, host)) {
        return (int)i;
      }
    }
  }
  return -1;
}

int agent_head_inject(char *head, size_t *len, size_t outsz, const char *name, const char *value)
{
  size_t nl = strlen(name), o = 0, n = *len;
  if (n < 4 || memcmp(head + n - 4, "\r\n\r\n", 4))
    return -1;
  /* keep the request line, drop every `name` header */
  const char *eol = memmem(head, n, "\r\n", 2);
  size_t l = (size_t)(eol + 2 - head);
  o = l;
  while (l < n - 2) {
    const char *le = memmem(head + l, n - l, "\r\n", 2);
    size_t ll = (size_t)(le + 2 - (head + l));
    bool drop = ll > nl && head[l + nl] == ':' && !strncasecmp(head + l, name, nl);
    if (!drop) {
      memmove(head + o, head + l, ll);
      o += ll;
    }
    l += ll;
  }
  size_t vl = strlen(value);
  if (o + nl + 2 + vl + 4 > outsz) {
    explicit_bzero(head + o, n - o);
    return -1;
  }
  memcpy(head + o, name, nl);
  memcpy(head + o + nl, ": ", 2);
  memcpy(head + o + nl + 2, value, vl);
  memcpy(head + o + nl + 2 + vl, "\r\n\r\n", 4);
  *len = o + nl + 2 + vl + 4;
  return 0;
}

static int req_bad(struct agent_tls_req *r, int status, const char *reason)
{
  r->status = status;
  r->reason = reason;
  return AGENT_HTTP_BAD;
}

static void put(char *out, size_t outsz, size_t *o, const char *s, size_t n)
{
  if (*o + n <= outsz)
    memcpy(out + *o, s, n);
  *o += n;
}

/* Hop-by-hop and proxy headers: the proxy decides them. */
static bool hop_header(const char *n, size_t l)
{
  static const char *const h[] = {"connection", "proxy-connection", "keep-alive", "proxy-authorization", "upgrade",
                                  "te", "trailer", NULL};
  for (size_t i = 0; h[i]; i++)
    if (strlen(h[i]) == l && !strncasecmp(n, h[i], l))
      return true;
  return false;
}

static bool has_token(const char *v, const char *ve, const char *tok)
{
  size_t tl = strlen(tok);
  for (const char *c = v; c + tl <= ve; c++)
    if (!strncasecmp(c, tok, tl) && (c == v || c[-1] == ',' || c[-1] == ' ') &&
        (c + tl == ve || c[tl] == ',' || c[tl] == ' '))
      return true;
  return false;
}

int agent_tls_req_parse(const char *buf, size_t len, size_t max, const char *host, int port,
                        struct agent_tls_req *r, char *out, size_t outsz, size_t *outlen)
{
  memset(r, 0, sizeof *r);
  r->content_length = -1;
  const char *end = memmem(buf, len, "\r\n\r\n", 4);
  if (!end)
    return len >= max ? req_bad(r, 431, "request head too large") : AGENT_HTTP_INCOMPLETE;
  r->head_len = (size_t)(end + 4 - buf);
  struct agent_http_line hl;
  const char *why;
  if ((why = agent_http_line_split(buf, len, end, sizeof r->method, &hl)) || (why = agent_http_line_check(&hl)))
    return req_bad(r, 400, why);
  const char *eol = hl.eol, *sp1 = hl.sp1, *sp2 = hl.sp2;
  snprintf(r->method, sizeof r->method, "%.*s", (int)(sp1 - buf), buf);
  const char *target = sp1 + 1, *ver = sp2 + 1;
  if (!strcmp(r->method, "CONNECT"))
    return req_bad(r, 405, "CONNECT inside an intercepted connection");
  const char *path = target;
  if (*target != '/') {
    /* absolute-form: it must name the connection's own host and port */
    if ((size_t)(sp2 - target) < 8 || strncasecmp(target, "https://", 8))
      return req_bad(r, 400, "request target is neither a path nor an https:// URL");
    const char *hs = target + 8;
    path = hs;
    while (path < sp2 && *path != '/' && *path != '?')
      path++;
    char h[256];
    int hp;
    if (agent_hostport_parse(hs, (size_t)(path - hs), h, sizeof h, &hp, 443) < 0 || strcmp(h, host) || hp != port)
      return req_bad(r, 403, "request URL names another host or port than the connection");
  }
  r->path_len = (size_t)(sp2 - path);
  size_t o = 0;
  put(out, outsz, &o, buf, (size_t)(sp1 + 1 - buf));
  /* origin-form always starts with '/': "https://h?q" becomes "/?q" */
  if (path == sp2 || *path == '?')
    put(out, outsz, &o, "/", 1);
  put(out, outsz, &o, path, (size_t)(sp2 - path));
  put(out, outsz, &o, sp2, (size_t)(eol + 2 - sp2));
  bool http10 = !memcmp(ver, "HTTP/1.0", 8);
  r->close = http10;
  int nhost = 0;
  for (const char *l = eol + 2; l < end + 2;) {
    struct agent_http_field f;
    if ((why = agent_http_field(l, end + 2, true, &f)))
      return req_bad(r, 400, why);
    if (agent_http_field_is(&f, "host")) {
      char h[256];
      int hp;
      if (++nhost > 1)
        return req_bad(r, 400, "more than one Host header");
      if (agent_hostport_parse(f.v, (size_t)(f.ve - f.v), h, sizeof h, &hp, 443) < 0 || strcmp(h, host) || hp != port)
        return req_bad(r, 403, "Host header does not match the CONNECT target");
    } else if (agent_http_field_is(&f, "content-length")) {
      if (r->content_length >= 0)
        return req_bad(r, 400, "more than one Content-Length");
      if ((r->content_length = agent_http_content_length(f.v, f.ve)) < 0)
        return req_bad(r, 400, "bad Content-Length");
    } else if (agent_http_field_is(&f, "transfer-encoding")) {
      if (r->chunked || f.ve - f.v != 7 || strncasecmp(f.v, "chunked", 7))
        return req_bad(r, 501, "Transfer-Encoding other than one \"chunked\"");
      r->chunked = true;
    } else if (agent_http_field_is(&f, "connection")) {
      if (has_token(f.v, f.ve, "close"))
        r->close = true;
      else if (http10 && has_token(f.v, f.ve, "keep-alive"))
        r->close = false;
    }
    if (!hop_header(f.name, f.nl))
      put(out, outsz, &o, l, (size_t)(f.next - l));
    l = f.next;
  }
  if (r->chunked && r->content_length >= 0)
    return req_bad(r, 400, "both Content-Length and Transfer-Encoding");
  if (!nhost && !http10)
    return req_bad(r, 400, "HTTP/1.1 request without a Host header");
  if (!nhost) {
    char hh[300];
    int n = port == 443 ? snprintf(hh, sizeof hh, "Host: %s\r\n", host)
                        : snprintf(hh, sizeof hh, "Host: %s:%d\r\n", host, port);
    put(out, outsz, &o, hh, (size_t)n);
  }
  if (r->close)
    put(out, outsz, &o, "Connection: close\r\n", 19);
  put(out, outsz, &o, "\r\n", 2);
  if (o > outsz)
    return req_bad(r, 431, "request head too large");
  *outlen = o;
  return AGENT_HTTP_OK;
}

int agent_resp_parse(const char *buf, size_t len, size_t max, const char *method, struct agent_resp *r)
{
  memset(r, 0, sizeof *r);
  r->length = -1;
  const char *end = memmem(buf, len, "\r\n\r\n", 4);
  if (!end)
    return len >= max ? AGENT_HTTP_BAD : AGENT_HTTP_INCOMPLETE;
  r->head_len = (size_t)(end + 4 - buf);
  if (r->head_len < 16 || (memcmp(buf, "HTTP/1.1 ", 9) && memcmp(buf, "HTTP/1.0 ", 9)) || !isdigit((unsigned char)buf[9]) ||
      !isdigit((unsigned char)buf[10]) || !isdigit((unsigned char)buf[11]) || (buf[12] != ' ' && buf[12] != '\r'))
    return AGENT_HTTP_BAD;
  r->status = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
  r->close = buf[7] == '0';
  bool chunked = false;
  const char *eol = memmem(buf, len, "\r\n", 2);
  for (const char *l = eol + 2; l < end + 2;) {
    struct agent_http_field f;
    if (agent_http_field(l, end + 2, false, &f))
      return AGENT_HTTP_BAD;
    if (agent_http_field_is(&f, "content-length")) {
      long long cl = agent_http_content_length(f.v, f.ve);
      if (cl < 0 || (r->length >= 0 && r->length != cl))
        return AGENT_HTTP_BAD;
      r->length = cl;
    } else if (agent_http_field_is(&f, "transfer-encoding")) {
      chunked = has_token(f.v, f.ve, "chunked");
    } else if (agent_http_field_is(&f, "connection")) {
      if (has_token(f.v, f.ve, "close"))
        r->close = true;
    }
    l = f.next;
  }
  if ((r->status >= 100 && r->status < 200) || r->status == 204 || r->status == 304 || !strcmp(method, "HEAD"))
    r->mode = AGENT_BODY_NONE;
  else if (chunked)
    r->mode = AGENT_BODY_CHUNKED;
  else if (r->length >= 0)
    r->mode = AGENT_BODY_LENGTH;
  else
    r->mode = AGENT_BODY_CLOSE, r->close = true;
  if (r->status == 101)
    return AGENT_HTTP_BAD; /* no protocol switch: Upgrade is never forwarded */
  return AGENT_HTTP_OK;
}

enum { CS_SIZE0, CS_SIZE, CS_EXT, CS_SIZE_LF, CS_DATA, CS_DATA_CR, CS_DATA_LF, CS_TRAILER0, CS_TRAILER,
       CS_TRAILER_LF, CS_END_LF };

void agent_body_init(struct agent_body *b, enum agent_body_mode m, long long len)
{
  memset(b, 0, sizeof *b);
  b->mode = m;
  b->left = m == AGENT_BODY_LENGTH ? len : 0;
  b->done = m == AGENT_BODY_NONE || (m == AGENT_BODY_LENGTH && len == 0);
}

static int hexval(char c)
{
  return isdigit((unsigned char)c) ? c - '0' : isxdigit((unsigned char)c) ? (tolower((unsigned char)c) - 'a' + 10) : -1;
}

long agent_body_scan(struct agent_body *b, const char *p, size_t n)
{
  if (b->done)
    return 0;
  if (b->mode == AGENT_BODY_CLOSE)
    return (long)n;
  if (b->mode == AGENT_BODY_LENGTH) {
    size_t k = (long long)n < b->left ? n : (size_t)b->left;
    b->left -= (long long)k;
    b->done = !b->left;
    return (long)k;
  }
  size_t i = 0;
  while (i < n && !b->done) {
    char c = p[i];
    switch (b->st) {
    case CS_SIZE0:
    case CS_SIZE:
      if (hexval(c) >= 0) {
        if (b->left > (1ll << 40))
          return -1;
        b->left = b->left * 16 + hexval(c);
        b->st = CS_SIZE;
      } else if (b->st == CS_SIZE && (c == ';' || c == ' ' || c == '\t')) {
        b->st = CS_EXT;
      } else if (b->st == CS_SIZE && c == '\r') {
        b->st = CS_SIZE_LF;
      } else {
        return -1;
      }
      i++;
      break;
    case CS_EXT:
      if (c == '\r')
        b->st = CS_SIZE_LF;
      else if ((unsigned char)c < 0x20 && c != '\t')
        return -1;
      i++;
      break;
    case CS_SIZE_LF:
      if (c != '\n')
        return -1;
      b->st = b->left ? CS_DATA : CS_TRAILER0;
      i++;
      break;
    case CS_DATA: {
      size_t k = (long long)(n - i) < b->left ? n - i : (size_t)b->left;
      b->left -= (long long)k;
      i += k;
      if (!b->left)
        b->st = CS_DATA_CR;
      break;
    }
    case CS_DATA_CR:
    case CS_DATA_LF:
      if (c != (b->st == CS_DATA_CR ? '\r' : '\n'))
        return -1;
      b->st = b->st == CS_DATA_CR ? CS_DATA_LF : CS_SIZE0;
      i++;
      break;
    case CS_TRAILER0:
      b->st = c == '\r' ? CS_END_LF : CS_TRAILER;
      i++;
      break;
    case CS_TRAILER:
      if (c == '\r')
        b->st = CS_TRAILER_LF;
      else if (c == '\n')
        return -1;
      i++;
      break;
    case CS_TRAILER_LF:
    case CS_END_LF:
      if (c != '\n')
        return -1;
      if (b->st == CS_END_LF)
        b->done = true;
      b->st = CS_TRAILER0;
      i++;
      break;
    }
  }
  return (long)i;
}
