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
 * checked on the CONNECT line only (the TLS inside is not inspected)...
 *
 * ...unless a credential is for the CONNECT target (creds.c): then the
 * proxy terminates the agent's TLS with a leaf of the run's CA (the SNI
 * must name the CONNECT host), opens its own verified TLS connection
 * upstream, and relays HTTP/1.1 request by request (keep-alive, chunked):
 * every request head is checked (Host / absolute URL name the CONNECT
 * host:port), gets the credential header in place of the agent's, and is
 * audited with its response status. A plain-HTTP request to a credentialed
 * host:port gets the header the same way.
 *
 * Name resolution runs in a short-lived thread per lookup (getaddrinfo
 * has no non-blocking form); the answer comes back through a pipe polled
 * with the rest, so a slow DNS answer stalls nothing else. */
#include "agent.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF 16384
#define MAX_CONNS 256

enum cstate { C_HEAD, C_RESOLVING, C_CONNECTING, C_RELAY, C_TLS };

/* An intercepted connection (a credential is for its CONNECT target):
 * decrypted bytes both ways, one request at a time. */
struct tlsx {
  struct agent_tls_conn *cs, *us; /* we are the server to the agent, the client upstream */
  bool c_hs, u_hs, c_eof, u_eof, closing;
  short c_want, u_want; /* poll events the last blocked TLS call needs */
  char cin[BUF], uout[BUF], uin[BUF], cout[BUF];
  size_t cin_len, uout_len, uin_len, cout_len;
  bool in_body, resp_pending, in_resp_body, close_after;
  struct agent_body rqb, rsb;
  /* the request in flight, for its audit line */
  char method[16];
  size_t path_len;
  int status;
  unsigned long long rq_up, rq_down;
  int64_t rq_t0;
  unsigned requests;
};

struct conn {
  struct conn *next;
  unsigned long long serial;
  int cfd, ufd;
  enum cstate st;
  char host[256];
  int port;
  char method[16];
  bool is_connect, c_eof, u_eof, c_shut, u_shut, dead, exact;
  long long body_left; /* plain HTTP: request body bytes still to relay */
  bool extra;          /* the client sent more after its one request */
  char extra_head[1024];
  size_t extra_len;
  char c2u[BUF], u2c[BUF];
  size_t c2u_len, u2c_len;
  unsigned long long up, down;
  const char *decision, *reason;
  char why[300]; /* a reason built at run time (TLS errors) */
  int cred;      /* credential index, -1: none */
  size_t path_len;
  int status;    /* plain HTTP: the response's */
  int64_t t0;
  struct tlsx *t; /* intercepted; NULL otherwise */
};

enum slot_kind { S_LISTEN, S_RESOLVER, S_CLIENT, S_UPSTREAM };
struct slot {
  struct conn *c;
  enum slot_kind kind;
};

/* Shared with the lookup threads; whoever drops the last reference closes
 * the write end. */
struct resolver {
  int rfd, wfd;
  atomic_int refs;
};
struct lookup {
  struct resolver *r;
  unsigned long long serial;
  char host[256], port[16];
  struct addrinfo *res;
  int rc;
};

struct agent_proxy {
  int listen_fd;
  const struct agent_policy *pol;
  struct agent_creds *creds;
  struct agent_audit *audit;
  struct resolver *res;
  struct conn *conns;
  size_t nconns;
  unsigned long long serial;
  struct slot slots[2 * MAX_CONNS + 2];
  unsigned allowed, denied;
};

static void resolver_unref(struct resolver *r)
{
  if (atomic_fetch_sub(&r->refs, 1) == 1) {
    if (r->rfd >= 0)
      close(r->rfd);
    close(r->wfd);
    free(r);
  }
}

static void *lookup_thread(void *arg)
{
  struct lookup *l = arg;
  struct resolver *r = l->r;
  struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
  l->rc = getaddrinfo(l->host, l->port, &hints, &l->res);
  /* the proxy may be gone (read end closed: EPIPE, SIGPIPE is ignored) */
  if (write(r->wfd, &l, sizeof l) != (ssize_t)sizeof l) {
    if (l->res)
      freeaddrinfo(l->res);
    free(l);
  }
  resolver_unref(r);
  return NULL;
}

struct agent_proxy *agent_proxy_new(int listen_fd, const struct agent_policy *p, struct agent_creds *cr,
                                    struct agent_audit *audit)
{
  struct agent_proxy *px = calloc(1, sizeof *px);
  struct resolver *r = calloc(1, sizeof *r);
  int fds[2];
  if (!px || !r || pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0) {
    free(px);
    free(r);
    return NULL;
  }
  r->rfd = fds[0];
  r->wfd = fds[1];
  atomic_init(&r->refs, 1);
  px->res = r;
  px->listen_fd = listen_fd;
  px->pol = p;
  px->creds = cr;
  px->audit = audit;
  return px;
}

static const char *cred_name(struct agent_proxy *px, struct conn *c)
{
  return c->cred >= 0 ? px->pol->creds[c->cred].name : NULL;
}

static void tlsx_free(struct tlsx *t)
{
  if (!t)
    return;
  agent_tls_conn_free(t->cs);
  agent_tls_conn_free(t->us);
  explicit_bzero(t, sizeof *t); /* uout held the credential */
  free(t);
}

static void close_conn(struct agent_proxy *px, struct conn *c)
{
  bool plain = !c->is_connect && c->decision && !strcmp(c->decision, "allow");
  if (c->host[0] || c->reason)
    agent_audit(px->audit, "proxy", "host", c->host[0] ? c->host : NULL, AUDIT_INT("port", c->port), "method",
                c->method[0] ? c->method : NULL, "decision", c->decision ? c->decision : "deny", "reason", c->reason,
                AUDIT_INT_IF(plain, "path_len", c->path_len), AUDIT_INT_IF(plain && c->status, "status", c->status),
                AUDIT_INT("bytes_up", c->up), AUDIT_INT("bytes_down", c->down),
                AUDIT_INT_IF(c->t0, "duration_ms", c->t0 ? (agent_now_ns() - c->t0) / 1000000 : 0), "credential",
                cred_name(px, c), "tls", c->t ? "intercepted" : NULL,
                AUDIT_INT_IF(c->t, "requests", c->t ? c->t->requests : 0), NULL);
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
  tlsx_free(c->t);
  c->t = NULL;
  if (c->cfd >= 0)
    close(c->cfd);
  if (c->ufd >= 0)
    close(c->ufd);
  c->cfd = c->ufd = -1;
  if (c->cred >= 0)
    explicit_bzero(c->c2u, sizeof c->c2u); /* the rewritten head held the credential */
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

static const char *status_text(int code)
{
  return code == 403 ? "Forbidden" : code == 411 ? "Length Required" : code == 431 ? "Request Header Fields Too Large"
         : code == 502 ? "Bad Gateway" : code == 405 ? "Method Not Allowed" : code == 501 ? "Not Implemented"
                       : "Bad Request";
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
  if (agent_ip_noncanonical(c->host))
    return deny(px, c, 403, "Forbidden", "IPv4 literal in a non-canonical form");
  if (!agent_host_allowed(px->pol, c->host, c->port, &c->exact))
    return deny(px, c, 403, "Forbidden",
                agent_host_allowed(px->pol, c->host, 0, &c->exact) ? "port not in the allow list for this host"
                : agent_ip_literal(c->host)                        ? "IP literal not in the allow list"
                                                                   : "host not in the allow list");
  struct lookup *l = calloc(1, sizeof *l);
  if (!l)
    return deny(px, c, 502, "Bad Gateway", "out of memory");
  l->r = px->res;
  l->serial = c->serial;
  snprintf(l->host, sizeof l->host, "%s", c->host);
  snprintf(l->port, sizeof l->port, "%d", c->port);
  atomic_fetch_add(&px->res->refs, 1);
  pthread_attr_t a;
  pthread_t th;
  sigset_t all, old;
  sigfillset(&all);
  /* signals stay with the event loop's signalfd */
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pthread_attr_init(&a);
  pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&a, 256 * 1024);
  int e = pthread_create(&th, &a, lookup_thread, l);
  pthread_attr_destroy(&a);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (e) {
    atomic_fetch_sub(&px->res->refs, 1);
    free(l);
    return deny(px, c, 502, "Bad Gateway", "name resolution failed (no thread)");
  }
  c->st = C_RESOLVING;
}

static void resolved(struct agent_proxy *px, struct conn *c, struct lookup *l)
{
  if (l->rc != 0)
    return deny(px, c, 502, "Bad Gateway", "name resolution failed");
  struct addrinfo *pick = NULL;
  for (struct addrinfo *a = l->res; a; a = a->ai_next) {
    if (agent_addr_refused(a->ai_addr) && !c->exact)
      continue;
    pick = a;
    break;
  }
  if (!pick)
    return deny(px, c, 403, "Forbidden", "resolves to a non-public address (list the exact name to allow it)");
  c->ufd = socket(pick->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c->ufd < 0 || (connect(c->ufd, pick->ai_addr, pick->ai_addrlen) < 0 && errno != EINPROGRESS))
    return deny(px, c, 502, "Bad Gateway", "connect failed");
  c->st = C_CONNECTING;
}

static void resolver_io(struct agent_proxy *px)
{
  struct lookup *l;
  while (read(px->res->rfd, &l, sizeof l) == (ssize_t)sizeof l) {
    struct conn *c = px->conns;
    while (c && (c->serial != l->serial || c->dead || c->st != C_RESOLVING))
      c = c->next;
    if (c)
      resolved(px, c, l);
    if (l->res)
      freeaddrinfo(l->res);
    free(l);
  }
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
  c->t0 = agent_now_ns();
  if (st == AGENT_HTTP_BAD)
    return deny(px, c, r.status, status_text(r.status), r.reason);
  c->is_connect = r.is_connect;
  c->cred = px->creds ? agent_cred_match(px->pol, c->host, c->port) : -1;
  size_t rest = c->c2u_len - r.head_len;
  if (c->is_connect) {
    /* drop the CONNECT head; anything after it is already tunnel data */
    memmove(c->c2u, c->c2u + r.head_len, rest);
    c->c2u_len = rest;
  } else {
    const char *sp = memchr(out, ' ', olen), *sp2 = sp ? memchr(sp + 1, ' ', olen - (size_t)(sp + 1 - out)) : NULL;
    c->path_len = sp && sp2 ? (size_t)(sp2 - sp - 1) : 0;
    if (c->cred >= 0 &&
        agent_head_inject(out, &olen, sizeof out, px->pol->creds[c->cred].header, px->creds->value[c->cred]) < 0)
      return deny(px, c, 431, "Request Header Fields Too Large", "request head too large");
    if (olen + rest > BUF) {
      explicit_bzero(out, sizeof out);
      return deny(px, c, 431, "Request Header Fields Too Large", "request head too large");
    }
    memmove(c->c2u + olen, c->c2u + r.head_len, rest);
    memcpy(c->c2u, out, olen);
    explicit_bzero(out, sizeof out);
    c->c2u_len = olen + rest;
    c->body_left = r.content_length > 0 ? r.content_length : 0;
    relay_body(c, olen);
  }
  start_upstream(px, c);
}

/* ---- intercepted TLS ---- */

static void tls_fail(struct agent_proxy *px, struct conn *c, int code, const char *reason)
{
  struct tlsx *t = c->t;
  c->decision = "deny";
  if (reason != c->why)
    snprintf(c->why, sizeof c->why, "%s", reason);
  c->reason = c->why;
  if (t->c_hs && code && !t->closing) {
    char b[600];
    int n = snprintf(b, sizeof b,
                     "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nConnection: close\r\nContent-Length: %zu\r\n\r\n"
                     "cove proxy: %s: %s\n",
                     code, status_text(code), strlen(c->host) + strlen(reason) + 15, c->host, reason);
    if (n > 0 && (size_t)n <= BUF - t->cout_len) {
      memcpy(t->cout + t->cout_len, b, (size_t)n);
      t->cout_len += (size_t)n;
    }
    t->closing = true;
    /* the pump may return at once (a failed handshake does): be woken to
     * write the answer and close, not wait for the agent or upstream,
     * who may both be waiting for us */
    t->c_want |= POLLOUT;
    return;
  }
  close_conn(px, c);
}

/* One request refused inside an intercepted connection: its own audit
 * line, an error response, and the connection ends. */
static void tls_deny_request(struct agent_proxy *px, struct conn *c, const char *method, int code, const char *reason)
{
  agent_audit(px->audit, "proxy", "host", c->host, AUDIT_INT("port", c->port), "method", method[0] ? method : NULL,
              "decision", "deny", "reason", reason, "tls", "intercepted", NULL);
  px->denied++;
  tls_fail(px, c, code, reason);
  c->decision = "allow"; /* the connection itself was allowed; the request is counted above */
  c->reason = NULL;
}

static void tls_request_done(struct agent_proxy *px, struct conn *c)
{
  struct tlsx *t = c->t;
  agent_audit(px->audit, "proxy", "host", c->host, AUDIT_INT("port", c->port), "method", t->method, "decision",
              "allow", AUDIT_INT("path_len", t->path_len), AUDIT_INT("status", t->status), AUDIT_INT("bytes_up", t->rq_up),
              AUDIT_INT("bytes_down", t->rq_down), AUDIT_INT("duration_ms", (agent_now_ns() - t->rq_t0) / 1000000),
              "credential", cred_name(px, c), "tls", "intercepted", NULL);
  t->requests++;
  t->resp_pending = t->in_resp_body = false;
  if (t->close_after)
    t->closing = true;
}

static bool tls_requests(struct agent_proxy *px, struct conn *c)
{
  struct tlsx *t = c->t;
  bool progress = false;
  if (!t->in_body && !t->resp_pending && t->cin_len) {
    struct agent_tls_req r;
    char out[BUF];
    size_t olen = 0;
    int st = agent_tls_req_parse(t->cin, t->cin_len, BUF, c->host, c->port, &r, out, sizeof out, &olen);
    if (st == AGENT_HTTP_BAD) {
      tls_deny_request(px, c, r.method, r.status, r.reason);
      return false;
    }
    if (st == AGENT_HTTP_INCOMPLETE)
      return false;
    if (agent_head_inject(out, &olen, sizeof out, px->pol->creds[c->cred].header, px->creds->value[c->cred]) < 0) {
      tls_deny_request(px, c, r.method, 431, "request head too large");
      return false;
    }
    if (olen > BUF - t->uout_len) {
      explicit_bzero(out, sizeof out);
      return false; /* parsed again once upstream took what is queued */
    }
    memcpy(t->uout + t->uout_len, out, olen);
    explicit_bzero(out, sizeof out);
    t->uout_len += olen;
    memmove(t->cin, t->cin + r.head_len, t->cin_len - r.head_len);
    t->cin_len -= r.head_len;
    snprintf(t->method, sizeof t->method, "%s", r.method);
    t->path_len = r.path_len;
    t->rq_up = olen;
    t->rq_down = 0;
    t->status = 0;
    t->rq_t0 = agent_now_ns();
    t->close_after = r.close;
    t->resp_pending = true;
    agent_body_init(&t->rqb, r.chunked ? AGENT_BODY_CHUNKED : r.content_length > 0 ? AGENT_BODY_LENGTH : AGENT_BODY_NONE,
                    r.content_length);
    t->in_body = !t->rqb.done;
    progress = true;
  }
  if (t->in_body && t->cin_len && t->uout_len < BUF) {
    size_t n = t->cin_len < BUF - t->uout_len ? t->cin_len : BUF - t->uout_len;
    long k = agent_body_scan(&t->rqb, t->cin, n);
    if (k < 0) {
      tls_deny_request(px, c, t->method, 400, "malformed chunked request body");
      return false;
    }
    memcpy(t->uout + t->uout_len, t->cin, (size_t)k);
    t->uout_len += (size_t)k;
    t->rq_up += (unsigned long long)k;
    memmove(t->cin, t->cin + k, t->cin_len - (size_t)k);
    t->cin_len -= (size_t)k;
    t->in_body = !t->rqb.done;
    progress |= k > 0;
  }
  return progress;
}

static bool tls_responses(struct agent_proxy *px, struct conn *c)
{
  struct tlsx *t = c->t;
  bool progress = false;
  for (;;) {
    if (!t->resp_pending) {
      if (t->uin_len) {
        tls_fail(px, c, 502, "upstream sent bytes no request asked for");
        return false;
      }
      return progress;
    }
    if (!t->in_resp_body) {
      struct agent_resp r;
      int st = agent_resp_parse(t->uin, t->uin_len, BUF, t->method, &r);
      if (st == AGENT_HTTP_BAD || (st == AGENT_HTTP_INCOMPLETE && t->u_eof)) {
        tls_fail(px, c, 502, st == AGENT_HTTP_BAD ? "malformed upstream response" : "upstream closed before responding");
        return false;
      }
      if (st == AGENT_HTTP_INCOMPLETE || r.head_len > BUF - t->cout_len)
        return progress;
      memcpy(t->cout + t->cout_len, t->uin, r.head_len);
      t->cout_len += r.head_len;
      t->rq_down += r.head_len;
      memmove(t->uin, t->uin + r.head_len, t->uin_len - r.head_len);
      t->uin_len -= r.head_len;
      progress = true;
      if (r.status < 200)
        continue; /* 100 Continue and friends: the final response follows */
      t->status = r.status;
      t->close_after |= r.close;
      agent_body_init(&t->rsb, r.mode, r.length);
      t->in_resp_body = true;
    }
    size_t n = t->uin_len < BUF - t->cout_len ? t->uin_len : BUF - t->cout_len;
    long k = agent_body_scan(&t->rsb, t->uin, n);
    if (k < 0) {
      tls_fail(px, c, 0, "malformed chunked upstream response");
      return false;
    }
    memcpy(t->cout + t->cout_len, t->uin, (size_t)k);
    t->cout_len += (size_t)k;
    t->rq_down += (unsigned long long)k;
    memmove(t->uin, t->uin + k, t->uin_len - (size_t)k);
    t->uin_len -= (size_t)k;
    progress |= k > 0;
    if (t->rsb.mode == AGENT_BODY_CLOSE && t->u_eof && !t->uin_len)
      t->rsb.done = true;
    if (!t->rsb.done)
      return progress;
    tls_request_done(px, c);
    if (t->closing)
      return progress;
  }
}

/* A TLS call that did not fail: note the events it waits for */
static bool tls_result(int r, short *want)
{
  if (r == AGENT_TLS_WANT_READ)
    *want |= POLLIN;
  else if (r == AGENT_TLS_WANT_WRITE)
    *want |= POLLOUT;
  return r != AGENT_TLS_ERR;
}

static void tls_pump(struct agent_proxy *px, struct conn *c)
{
  struct tlsx *t = c->t;
  for (int round = 0; round < 64; round++) {
    bool p = false;
    int r;
    t->c_want = t->u_want = 0;
    if (!t->c_hs) {
      r = agent_tls_handshake(t->cs);
      if (r > 0) {
        const char *sni = agent_tls_sni(t->cs);
        t->c_hs = p = true;
        if (!sni || strcasecmp(sni, c->host))
          return tls_fail(px, c, 0, sni ? "TLS SNI does not match the CONNECT target" : "no TLS SNI (it must name the CONNECT target)");
      } else if (!tls_result(r, &t->c_want) || r == 0) {
        snprintf(c->why, sizeof c->why, "agent's TLS handshake failed: %s", agent_tls_error(t->cs));
        return tls_fail(px, c, 0, c->why);
      }
    }
    if (!t->u_hs && !t->closing) {
      r = agent_tls_handshake(t->us);
      if (r > 0) {
        t->u_hs = p = true;
      } else if (!tls_result(r, &t->u_want) || r == 0) {
        char why[300];
        snprintf(why, sizeof why, "upstream TLS refused: %s", agent_tls_error(t->us));
        if (!t->c_hs) {
          /* nothing to tell the agent in yet */
          c->decision = "deny";
          snprintf(c->why, sizeof c->why, "%s", why);
          c->reason = c->why;
          return close_conn(px, c);
        }
        return tls_fail(px, c, 502, why);
      }
    }
    if (t->c_hs && !t->closing && !t->c_eof && t->cin_len < BUF) {
      r = agent_tls_read(t->cs, t->cin + t->cin_len, BUF - t->cin_len);
      if (r > 0)
        t->cin_len += (size_t)r, p = true;
      else if (r == 0 || !tls_result(r, &t->c_want))
        t->c_eof = p = true;
    }
    if (t->u_hs && t->c_hs && !t->closing)
      p |= tls_requests(px, c);
    if (c->dead)
      return;
    if (t->u_hs && t->uout_len && !t->closing) {
      r = agent_tls_write(t->us, t->uout, t->uout_len);
      if (r > 0) {
        memmove(t->uout, t->uout + r, t->uout_len - (size_t)r);
        t->uout_len -= (size_t)r;
        c->up += (unsigned long long)r;
        p = true;
      } else if (!tls_result(r, &t->u_want)) {
        return tls_fail(px, c, 502, "upstream connection failed");
      }
    }
    if (t->u_hs && !t->u_eof && t->uin_len < BUF && !t->closing) {
      r = agent_tls_read(t->us, t->uin + t->uin_len, BUF - t->uin_len);
      if (r > 0)
        t->uin_len += (size_t)r, p = true;
      else if (r == 0 || !tls_result(r, &t->u_want))
        t->u_eof = p = true;
    }
    if (t->u_hs && !t->closing)
      p |= tls_responses(px, c);
    if (c->dead)
      return;
    if (t->c_hs && t->cout_len) {
      r = agent_tls_write(t->cs, t->cout, t->cout_len);
      if (r > 0) {
        memmove(t->cout, t->cout + r, t->cout_len - (size_t)r);
        t->cout_len -= (size_t)r;
        c->down += (unsigned long long)r;
        p = true;
      } else if (!tls_result(r, &t->c_want)) {
        return close_conn(px, c);
      }
    }
    /* the end: asked to close and all said; the agent left between
     * requests; upstream left (a response cut short ends the connection) */
    if ((t->closing && !t->cout_len) || (t->c_eof && !t->resp_pending && !t->cin_len && !t->cout_len) ||
        (t->c_eof && t->cin_len && !t->resp_pending && !t->in_body) ||
        (t->u_eof && !t->uin_len && !t->cout_len && !t->resp_pending) ||
        (t->u_eof && t->in_resp_body && !t->uin_len && !t->cout_len && !t->rsb.done))
      return close_conn(px, c);
    if (!p)
      return;
  }
  /* still moving after many rounds: let the other connections have a
   * turn, and be called again at once (the sockets are writable) */
  t->c_want |= POLLOUT;
  t->u_want |= POLLOUT;
}

static void start_tls(struct agent_proxy *px, struct conn *c)
{
  static const char ok[] = "HTTP/1.1 200 Connection established\r\n\r\n";
  if (c->c2u_len)
    return deny(px, c, 400, "Bad Request", "TLS data sent before the CONNECT reply");
  if (send(c->cfd, ok, sizeof ok - 1, MSG_NOSIGNAL) != (ssize_t)(sizeof ok - 1))
    return close_conn(px, c);
  struct tlsx *t = calloc(1, sizeof *t);
  c->t = t;
  if (!t || !(t->cs = agent_tls_server(px->creds->tls, c->cfd, c->host)) ||
      !(t->us = agent_tls_client(px->creds->tls, c->ufd, c->host))) {
    c->decision = "deny";
    c->reason = "TLS setup failed";
    return close_conn(px, c);
  }
  c->st = C_TLS;
  c->decision = "allow";
  tls_pump(px, c);
}

static void conn_io(struct agent_proxy *px, struct conn *c, bool upstream, short rev)
{
  if (c->dead)
    return;
  if (c->st == C_TLS)
    return tls_pump(px, c);
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
  if (c->st == C_RESOLVING)
    return;
  if (c->st == C_CONNECTING) {
    if (!upstream)
      return;
    int e = 0;
    socklen_t l = sizeof e;
    if (getsockopt(c->ufd, SOL_SOCKET, SO_ERROR, &e, &l) < 0 || e)
      return deny(px, c, 502, "Bad Gateway", "connect failed");
    if (c->is_connect && c->cred >= 0)
      return start_tls(px, c);
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
  int from = upstream ? c->ufd : c->cfd;
  char *inbuf = upstream ? c->u2c : c->c2u;     /* data read from `from` */
  size_t *inlen = upstream ? &c->u2c_len : &c->c2u_len;
  char *outbuf = upstream ? c->c2u : c->u2c;    /* data to write to `from` */
  size_t *outlen = upstream ? &c->c2u_len : &c->u2c_len;
  bool *eof = upstream ? &c->u_eof : &c->c_eof;
  if ((rev & (POLLIN | POLLHUP | POLLERR)) && !*eof && *inlen < BUF) {
    ssize_t n = read(from, inbuf + *inlen, BUF - *inlen);
    if (n > 0) {
      /* plain HTTP: the status of the one response, for the audit line */
      if (upstream && !c->is_connect && !c->status && !c->down && *inlen == 0 && n >= 12 &&
          !memcmp(inbuf, "HTTP/1.", 7) && isdigit((unsigned char)inbuf[9]))
        c->status = atoi(inbuf + 9);
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
  if (n + 2 <= max) {
    pfd[n] = (struct pollfd){.fd = px->listen_fd, .events = POLLIN};
    px->slots[n++] = (struct slot){NULL, S_LISTEN};
    pfd[n] = (struct pollfd){.fd = px->res->rfd, .events = POLLIN};
    px->slots[n++] = (struct slot){NULL, S_RESOLVER};
  }
  for (struct conn *c = px->conns; c && n + 2 <= max; c = c->next) {
    short ce = 0, ue = 0;
    if (c->st == C_HEAD) {
      ce = POLLIN;
    } else if (c->st == C_RESOLVING) {
      /* nothing until the lookup answers */
    } else if (c->st == C_CONNECTING) {
      ue = POLLOUT;
    } else if (c->st == C_TLS) {
      ce = c->t->c_want;
      ue = c->t->u_want;
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
    px->slots[n++] = (struct slot){c, S_CLIENT};
    pfd[n] = (struct pollfd){.fd = ue && c->ufd >= 0 ? c->ufd : -1, .events = ue};
    px->slots[n++] = (struct slot){c, S_UPSTREAM};
  }
  return n;
}

void agent_proxy_dispatch(struct agent_proxy *px, const struct pollfd *pfd, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    if (!pfd[i].revents || pfd[i].fd < 0)
      continue;
    struct slot s = px->slots[i];
    if (s.kind == S_RESOLVER) {
      resolver_io(px);
      continue;
    }
    if (s.kind == S_LISTEN) {
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
      c->cred = -1;
      c->serial = ++px->serial;
      c->next = px->conns;
      px->conns = c;
      px->nconns++;
      continue;
    }
    bool upstream = s.kind == S_UPSTREAM;
    short rev = pfd[i].revents;
    if (s.c->st == C_TLS) {
      /* TLS reads see the error or EOF themselves */
      conn_io(px, s.c, upstream, rev);
      continue;
    }
    if (rev & (POLLERR | POLLNVAL) && !(rev & POLLIN)) {
      if (upstream && s.c->st == C_CONNECTING) {
        conn_io(px, s.c, true, rev);
        continue;
      }
      if (!s.c->dead)
        close_conn(px, s.c);
      continue;
    }
    conn_io(px, s.c, upstream, rev);
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
      if (!c->reason && c->st != C_RELAY && c->st != C_TLS)
        c->reason = "sandbox ended";
      close_conn(px, c);
    }
    free(c);
  }
  /* answers still to come are freed by their threads (EPIPE) */
  close(px->res->rfd);
  px->res->rfd = -1;
  resolver_unref(px->res);
  *allowed = px->allowed;
  *denied = px->denied;
  free(px);
}
