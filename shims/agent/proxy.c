/* HTTP + CONNECT proxy, run in the orchestrator (the caller's network
 * namespace), reached by the sandbox at 127.0.0.1:PORT through a listener
 * created inside the sandbox's network namespace (netns.c).
 *
 * Policy: a host is allowed when it equals an `allow` entry or ends with
 * ".suffix" of a `*.suffix` entry. IP literals are refused unless listed
 * literally. Names resolving to loopback, private, link-local, CGNAT or
 * unspecified addresses are refused unless the exact name is listed (so
 * `*.example.com` cannot be pointed at 10.0.0.1 by DNS). One audit line per
 * connection: host, port, method, bytes each way, decision, reason.
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


static void lower(char *s)
{
  for (; *s; s++)
    *s = (char)tolower((unsigned char)*s);
}

static bool is_ip_literal(const char *h)
{
  unsigned char b[16];
  return inet_pton(AF_INET, h, b) == 1 || inet_pton(AF_INET6, h, b) == 1;
}

bool agent_host_allowed(const struct agent_policy *p, const char *host, bool *exact)
{
  *exact = false;
  size_t hl = strlen(host);
  for (size_t i = 0; i < p->n_allow; i++) {
    const char *a = p->allow[i];
    char bare[260];
    /* "[::1]" in the policy matches host "::1" */
    if (a[0] == '[' && strlen(a) < sizeof bare) {
      snprintf(bare, sizeof bare, "%.*s", (int)strlen(a) - 2, a + 1);
      a = bare;
    }
    if (!strcasecmp(a, host)) {
      *exact = true;
      return true;
    }
    if (!strncmp(a, "*.", 2) && !is_ip_literal(host)) {
      size_t sl = strlen(a + 1); /* ".suffix" */
      if (hl > sl && !strcasecmp(host + hl - sl, a + 1))
        return true;
    }
  }
  return false;
}

static bool private_addr(const struct sockaddr *sa)
{
  if (sa->sa_family == AF_INET) {
    uint32_t a = ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr);
    return (a >> 24) == 0 || (a >> 24) == 10 || (a >> 24) == 127 || (a >> 16) == 0xA9FE || (a >> 20) == 0xAC1 ||
           (a >> 16) == 0xC0A8 || (a >> 22) == (0x64400000u >> 22) || (a >> 28) >= 0xE;
  }
  if (sa->sa_family == AF_INET6) {
    const uint8_t *b = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
    static const uint8_t zero[16];
    if (!memcmp(b, zero, 15) && (b[15] == 0 || b[15] == 1))
      return true; /* :: and ::1 */
    if ((b[0] & 0xfe) == 0xfc || (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) || b[0] == 0xff)
      return true;
    static const uint8_t v4m[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (!memcmp(b, v4m, 12)) {
      struct sockaddr_in s4 = {.sin_family = AF_INET};
      memcpy(&s4.sin_addr, b + 12, 4);
      return private_addr((struct sockaddr *)&s4);
    }
    return false;
  }
  return true;
}

static void close_conn(struct agent_proxy *px, struct conn *c)
{
  char up[32], down[32], port[32];
  if (c->host[0] || c->reason)
    agent_audit(px->audit, "proxy", "host", c->host[0] ? c->host : NULL, "port", AUDIT_NUM(port, c->port), "method",
                c->method[0] ? c->method : NULL, "decision", c->decision ? c->decision : "deny", "reason", c->reason,
                "bytes_up", AUDIT_NUM(up, c->up), "bytes_down", AUDIT_NUM(down, c->down), NULL);
  if (c->decision && !strcmp(c->decision, "allow"))
    px->allowed++;
  else
    px->denied++;
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

/* host[:port] or [v6]:port into c->host / c->port */
static int split_hostport(struct conn *c, const char *hp, size_t len, int dport)
{
  char tmp[300];
  if (len >= sizeof tmp || !len)
    return -1;
  memcpy(tmp, hp, len);
  tmp[len] = 0;
  char *port = NULL;
  if (tmp[0] == '[') {
    char *e = strchr(tmp, ']');
    if (!e)
      return -1;
    *e = 0;
    snprintf(c->host, sizeof c->host, "%s", tmp + 1);
    if (e[1] == ':')
      port = e + 2;
    else if (e[1])
      return -1;
  } else {
    char *col = strrchr(tmp, ':');
    if (col && strchr(tmp, ':') != col)
      return -1; /* bare IPv6 without brackets */
    if (col) {
      *col = 0;
      port = col + 1;
    }
    snprintf(c->host, sizeof c->host, "%s", tmp);
  }
  c->port = dport;
  if (port) {
    char *end;
    long p = strtol(port, &end, 10);
    if (*end || p < 1 || p > 65535)
      return -1;
    c->port = (int)p;
  }
  if (!c->host[0])
    return -1;
  lower(c->host);
  return 0;
}

static void start_upstream(struct agent_proxy *px, struct conn *c)
{
  bool exact;
  if (!agent_host_allowed(px->pol, c->host, &exact))
    return deny(px, c, 403, "Forbidden",
                is_ip_literal(c->host) ? "IP literal not in the allow list" : "host not in the allow list");
  struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV}, *res = NULL;
  char port[16];
  snprintf(port, sizeof port, "%d", c->port);
  int r = getaddrinfo(c->host, port, &hints, &res);
  if (r != 0)
    return deny(px, c, 502, "Bad Gateway", "name resolution failed");
  struct addrinfo *pick = NULL;
  for (struct addrinfo *a = res; a; a = a->ai_next) {
    if (private_addr(a->ai_addr) && !exact)
      continue;
    pick = a;
    break;
  }
  if (!pick) {
    freeaddrinfo(res);
    return deny(px, c, 403, "Forbidden", "resolves to a private address (list the exact name to allow it)");
  }
  c->ufd = socket(pick->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c->ufd < 0 || (connect(c->ufd, pick->ai_addr, pick->ai_addrlen) < 0 && errno != EINPROGRESS)) {
    freeaddrinfo(res);
    return deny(px, c, 502, "Bad Gateway", "connect failed");
  }
  freeaddrinfo(res);
  c->st = C_CONNECTING;
}

static void parse_head(struct agent_proxy *px, struct conn *c)
{
  char *end = memmem(c->c2u, c->c2u_len, "\r\n\r\n", 4);
  if (!end) {
    if (c->c2u_len == BUF)
      deny(px, c, 431, "Request Header Fields Too Large", "request head too large");
    else if (c->c_eof)
      close_conn(px, c);
    return;
  }
  char *eol = memmem(c->c2u, c->c2u_len, "\r\n", 2);
  char *sp1 = memchr(c->c2u, ' ', (size_t)(eol - c->c2u));
  char *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1)) : NULL;
  if (!sp1 || !sp2 || sp1 - c->c2u >= (long)sizeof c->method)
    return deny(px, c, 400, "Bad Request", "malformed request line");
  snprintf(c->method, sizeof c->method, "%.*s", (int)(sp1 - c->c2u), c->c2u);
  char *target = sp1 + 1;
  size_t tlen = (size_t)(sp2 - target);
  if (!strcmp(c->method, "CONNECT")) {
    c->is_connect = true;
    if (split_hostport(c, target, tlen, 443) < 0)
      return deny(px, c, 400, "Bad Request", "bad CONNECT target");
    /* drop the CONNECT head; anything after it is already tunnel data */
    size_t head = (size_t)(end + 4 - c->c2u);
    memmove(c->c2u, c->c2u + head, c->c2u_len - head);
    c->c2u_len -= head;
  } else {
    if (tlen < 8 || strncasecmp(target, "http://", 7))
      return deny(px, c, 400, "Bad Request", "only absolute http:// URLs and CONNECT are proxied");
    char *hs = target + 7;
    char *pe = memchr(hs, '/', (size_t)(sp2 - hs));
    if (!pe)
      pe = sp2;
    if (split_hostport(c, hs, (size_t)(pe - hs), 80) < 0)
      return deny(px, c, 400, "Bad Request", "bad URL host");
    /* absolute-form → origin-form for the server */
    size_t cut = (size_t)(pe - target);
    if (pe == sp2) {
      *target = '/';
      target++;
      cut--;
    }
    memmove(target, target + cut, c->c2u_len - (size_t)(target + cut - c->c2u));
    c->c2u_len -= cut;
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
  if (c->u_shut && c->c_shut)
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
