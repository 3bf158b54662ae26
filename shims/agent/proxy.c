/* HTTP + CONNECT proxy, run in the orchestrator (the caller's network
 * namespace), reached by the sandbox at 127.0.0.1:PORT through a listener
 * created inside the sandbox's network namespace (netns.c).
 *
 * Policy (http.c has the pure checks): a host:port is allowed when an
 * `allow` entry names it (or ends with ".suffix" of a `*.suffix` entry) and
 * the entry has no port or that port. IP literals (every form getaddrinfo
 * takes) are refused unless listed literally; non-canonical IPv4 forms
 * always. Names resolving to non-public addresses are refused unless the
 * exact name is listed (so `*.example.com` cannot be pointed at 10.0.0.1).
 *
 * One request per connection: every plain-HTTP head is parsed and checked
 * (Host must match the URL), forwarded with `Connection: close`, and the
 * client's bytes after that request's body are never relayed — a second
 * request on the connection is refused and audited. CONNECT tunnels are
 * checked on the CONNECT line only (the TLS inside is not inspected).
 *
 * Known limit: name resolution is synchronous (getaddrinfo), so a slow DNS
 * answer stalls this sandbox's other proxied connections meanwhile. */
#include "agent.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF 16384
#define MAX_CONNS 256

enum cstate { C_HEAD, C_CONNECTING, C_RELAY };

struct conn {
  struct conn *next;
  int cfd, ufd;
  enum cstate st;
  char host[256];
  int port;
  char method[16];
  bool is_connect, c_eof, u_eof, c_shut, u_shut, dead;
  long long body_left; /* plain HTTP: request body bytes still to relay */
  bool extra;          /* the client sent more after its one request */
  char extra_head[1024];
  size_t extra_len;
  char c2u[BUF], u2c[BUF];
  size_t c2u_len, u2c_len;
  unsigned long long up, down;
  const char *decision, *reason;
};

struct slot {
  struct conn *c; /* NULL = the listener */
  bool upstream;
};

struct agent_proxy {
  int listen_fd;
  const struct agent_policy *pol;
  struct agent_audit *audit;
  struct conn *conns;
  size_t nconns;
  struct slot slots[2 * MAX_CONNS + 1];
  unsigned allowed, denied;
};

struct agent_proxy *agent_proxy_new(int listen_fd, const struct agent_policy *p, struct agent_audit *audit)
{
  struct agent_proxy *px = calloc(1, sizeof *px);
  if (!px)
    return NULL;
  px->listen_fd = listen_fd;
  px->pol = p;
  px->audit = audit;
  return px;
}


static void close_conn(struct agent_proxy *px, struct conn *c)
{
  if (c->host[0] || c->reason)
    agent_audit(px->audit, "proxy", "host", c->host[0] ? c->host : NULL, AUDIT_INT("port", c->port), "method",
                c->method[0] ? c->method : NULL, "decision", c->decision ? c->decision : "deny", "reason", c->reason,
                AUDIT_INT("bytes_up", c->up), AUDIT_INT("bytes_down", c->down), NULL);
  if (c->decision && !strcmp(c->decision, "allow"))
    px->allowed++;
  else
    px->denied++;
  if (c->extra) {
    /* what the second request asked for, when its head is readable */
    struct agent_http_req r;
    char scratch[1];
    size_t sl;
    agent_http_parse(c->extra_head, c->extra_len, sizeof c->extra_head, &r, scratch, 0, &sl);
    agent_audit(px->audit, "proxy", "host", r.host[0] ? r.host : NULL, AUDIT_INT_IF(r.host[0], "port", r.port),
                "method", r.method[0] ? r.method : NULL, "decision", "deny", "reason",
                "second request on a connection (one request per connection)", NULL);
    px->denied++;
  }
  if (c->cfd >= 0)
    close(c->cfd);
  if (c->ufd >= 0)
    close(c->ufd);
  c->cfd = c->ufd = -1;
  c->dead = true;
}

static void reply(struct conn *c, int code, const char *text, const char *why)
{
  char b[512];
  int n = snprintf(b, sizeof b,
                   "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nConnection: close\r\nContent-Length: %zu\r\n\r\n"
                   "cove proxy: %s\n",
                   code, text, strlen(why) + 12, why);
  if (n > 0 && send(c->cfd, b, (size_t)n, MSG_NOSIGNAL) < 0) {
    /* the client is gone; nothing to tell */
  }
}

static void deny(struct agent_proxy *px, struct conn *c, int code, const char *text, const char *reason)
{
  c->decision = "deny";
  c->reason = reason;
  char why[600];
  snprintf(why, sizeof why, "%s%s%s", c->host, c->host[0] ? ": " : "", reason);
  reply(c, code, text, why);
  close_conn(px, c);
}

static void start_upstream(struct agent_proxy *px, struct conn *c)
{
  bool exact;
  if (agent_ip_noncanonical(c->host))
    return deny(px, c, 403, "Forbidden", "IPv4 literal in a non-canonical form");
  if (!agent_host_allowed(px->pol, c->host, c->port, &exact))
    return deny(px, c, 403, "Forbidden",
                agent_host_allowed(px->pol, c->host, 0, &exact) ? "port not in the allow list for this host"
                : agent_ip_literal(c->host)                     ? "IP literal not in the allow list"
                                                                : "host not in the allow list");
  struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV}, *res = NULL;
  char port[16];
  snprintf(port, sizeof port, "%d", c->port);
  int r = getaddrinfo(c->host, port, &hints, &res);
  if (r != 0)
    return deny(px, c, 502, "Bad Gateway", "name resolution failed");
  struct addrinfo *pick = NULL;
  for (struct addrinfo *a = res; a; a = a->ai_next) {
    if (agent_addr_refused(a->ai_addr) && !exact)
      continue;
    pick = a;
    break;
  }
  if (!pick) {
    freeaddrinfo(res);
    return deny(px, c, 403, "Forbidden", "resolves to a non-public address (list the exact name to allow it)");
  }
  c->ufd = socket(pick->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c->ufd < 0 || (connect(c->ufd, pick->ai_addr, pick->ai_addrlen) < 0 && errno != EINPROGRESS)) {
    freeaddrinfo(res);
    return deny(px, c, 502, "Bad Gateway", "connect failed");
  }
  freeaddrinfo(res);
  c->st = C_CONNECTING;
}

/* Plain HTTP: client bytes past the one request's body are not relayed;
 * the first of them are kept to audit what was asked. */
static void trim_extra(struct conn *c, size_t from)
{
  size_t n = c->c2u_len - from;
  if (!n)
    return;
  c->extra = true;
  size_t k = n < sizeof c->extra_head - c->extra_len ? n : sizeof c->extra_head - c->extra_len;
  memcpy(c->extra_head + c->extra_len, c->c2u + from, k);
  c->extra_len += k;
  c->c2u_len = from;
}

static void relay_body(struct conn *c, size_t from)
{
  size_t n = c->c2u_len - from;
  if ((long long)n > c->body_left) {
    trim_extra(c, from + (size_t)c->body_left);
    n = (size_t)c->body_left;
  }
  c->body_left -= (long long)n;
}

static void parse_head(struct agent_proxy *px, struct conn *c)
{
  struct agent_http_req r;
  char out[BUF];
  size_t olen = 0;
  int st = agent_http_parse(c->c2u, c->c2u_len, BUF, &r, out, sizeof out, &olen);
  if (st == AGENT_HTTP_INCOMPLETE) {
    if (c->c_eof)
      close_conn(px, c);
    return;
  }
  snprintf(c->method, sizeof c->method, "%s", r.method);
  snprintf(c->host, sizeof c->host, "%s", r.host);
  c->port = r.port;
  if (st == AGENT_HTTP_BAD)
    return deny(px, c, r.status,
                r.status == 403   ? "Forbidden"
                : r.status == 411 ? "Length Required"
                : r.status == 431 ? "Request Header Fields Too Large"
                                  : "Bad Request",
                r.reason);
  c->is_connect = r.is_connect;
  size_t rest = c->c2u_len - r.head_len;
  if (c->is_connect) {
    /* drop the CONNECT head; anything after it is already tunnel data */
    memmove(c->c2u, c->c2u + r.head_len, rest);
    c->c2u_len = rest;
  } else {
    if (olen + rest > BUF)
      return deny(px, c, 431, "Request Header Fields Too Large", "request head too large");
    memmove(c->c2u + olen, c->c2u + r.head_len, rest);
    memcpy(c->c2u, out, olen);
    c->c2u_len = olen + rest;
    c->body_left = r.content_length > 0 ? r.content_length : 0;
    relay_body(c, olen);
  }
  start_upstream(px, c);
}

static void conn_io(struct agent_proxy *px, struct conn *c, bool upstream, short rev)
{
  if (c->dead)
    return;
  if (c->st == C_HEAD) {
    if (upstream)
      return;
    ssize_t n = read(c->cfd, c->c2u + c->c2u_len, BUF - c->c2u_len);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
      return;
    if (n <= 0)
      c->c_eof = true;
    else
      c->c2u_len += (size_t)n;
    parse_head(px, c);
    return;
  }
  if (c->st == C_CONNECTING) {
    if (!upstream)
      return;
    int e = 0;
    socklen_t l = sizeof e;
    if (getsockopt(c->ufd, SOL_SOCKET, SO_ERROR, &e, &l) < 0 || e)
      return deny(px, c, 502, "Bad Gateway", "connect failed");
    c->st = C_RELAY;
    c->decision = "allow";
    if (c->is_connect) {
      static const char ok[] = "HTTP/1.1 200 Connection established\r\n\r\n";
      memcpy(c->u2c, ok, sizeof ok - 1);
      c->u2c_len = sizeof ok - 1;
      c->down -= sizeof ok - 1; /* not payload */
    }
    return;
  }
  int from = upstream ? c->ufd : c->cfd, to = upstream ? c->cfd : c->ufd;
  char *inbuf = upstream ? c->u2c : c->c2u;     /* data read from `from` */
  size_t *inlen = upstream ? &c->u2c_len : &c->c2u_len;
  char *outbuf = upstream ? c->c2u : c->u2c;    /* data to write to `from` */
  size_t *outlen = upstream ? &c->c2u_len : &c->u2c_len;
  bool *eof = upstream ? &c->u_eof : &c->c_eof;
  if ((rev & (POLLIN | POLLHUP | POLLERR)) && !*eof && *inlen < BUF) {
    ssize_t n = read(from, inbuf + *inlen, BUF - *inlen);
    if (n > 0) {
      *inlen += (size_t)n;
      if (!upstream && !c->is_connect)
        relay_body(c, *inlen - (size_t)n);
    } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
      *eof = true;
    }
  }
  if ((rev & POLLOUT) && *outlen) {
    ssize_t n = send(from, outbuf, *outlen, MSG_NOSIGNAL);
    if (n > 0) {
      memmove(outbuf, outbuf + n, *outlen - (size_t)n);
      *outlen -= (size_t)n;
      if (upstream)
        c->up += (unsigned long long)n;
      else
        c->down += (unsigned long long)n;
    } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
      return close_conn(px, c);
    }
  }
  (void)to;
  /* half-close once one side ended and everything it sent was delivered */
  if (c->c_eof && !c->c2u_len && !c->u_shut) {
    shutdown(c->ufd, SHUT_WR);
    c->u_shut = true;
  }
  if (c->u_eof && !c->u2c_len && !c->c_shut) {
    shutdown(c->cfd, SHUT_WR);
    c->c_shut = true;
  }
  /* plain HTTP: the one response is delivered, nothing else may follow */
  if ((c->u_shut && c->c_shut) || (!c->is_connect && c->c_shut))
    close_conn(px, c);
}

size_t agent_proxy_pollfds(struct agent_proxy *px, struct pollfd *pfd, size_t max)
{
  size_t n = 0;
  /* reap finished connections */
  for (struct conn **pp = &px->conns; *pp;) {
    if ((*pp)->dead) {
      struct conn *d = *pp;
      *pp = d->next;
      free(d);
      px->nconns--;
    } else {
      pp = &(*pp)->next;
    }
  }
  if (n < max) {
    pfd[n] = (struct pollfd){.fd = px->listen_fd, .events = POLLIN};
    px->slots[n++] = (struct slot){NULL, false};
  }
  for (struct conn *c = px->conns; c && n + 2 <= max; c = c->next) {
    short ce = 0, ue = 0;
    if (c->st == C_HEAD) {
      ce = POLLIN;
    } else if (c->st == C_CONNECTING) {
      ue = POLLOUT;
    } else {
      if (!c->c_eof && c->c2u_len < BUF)
        ce |= POLLIN;
      if (c->u2c_len)
        ce |= POLLOUT;
      if (!c->u_eof && c->u2c_len < BUF)
        ue |= POLLIN;
      if (c->c2u_len)
        ue |= POLLOUT;
    }
    pfd[n] = (struct pollfd){.fd = ce ? c->cfd : -1, .events = ce};
    px->slots[n++] = (struct slot){c, false};
    pfd[n] = (struct pollfd){.fd = ue && c->ufd >= 0 ? c->ufd : -1, .events = ue};
    px->slots[n++] = (struct slot){c, true};
  }
  return n;
}

void agent_proxy_dispatch(struct agent_proxy *px, const struct pollfd *pfd, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    if (!pfd[i].revents || pfd[i].fd < 0)
      continue;
    struct slot s = px->slots[i];
    if (!s.c) {
      int fd = accept4(px->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0)
        continue;
      if (px->nconns >= MAX_CONNS) {
        close(fd);
        px->denied++;
        continue;
      }
      struct conn *c = calloc(1, sizeof *c);
      if (!c) {
        close(fd);
        continue;
      }
      c->cfd = fd;
      c->ufd = -1;
      c->next = px->conns;
      px->conns = c;
      px->nconns++;
      continue;
    }
    short rev = pfd[i].revents;
    if (rev & (POLLERR | POLLNVAL) && !(rev & POLLIN)) {
      if (s.upstream && s.c->st == C_CONNECTING) {
        conn_io(px, s.c, true, rev);
        continue;
      }
      if (!s.c->dead)
        close_conn(px, s.c);
      continue;
    }
    conn_io(px, s.c, s.upstream, rev);
  }
}

void agent_proxy_free(struct agent_proxy *px, unsigned *allowed, unsigned *denied)
{
  if (!px)
    return;
  while (px->conns) {
    struct conn *c = px->conns;
    px->conns = c->next;
    if (!c->dead) {
      if (!c->reason && c->st != C_RELAY)
        c->reason = "sandbox ended";
      close_conn(px, c);
    }
    free(c);
  }
  *allowed = px->allowed;
  *denied = px->denied;
  free(px);
}
