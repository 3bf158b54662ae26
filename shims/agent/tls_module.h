/* The interface between `cove` and its TLS module, cove-tls.so.
 *
 * OpenSSL (libssl + libcrypto) costs every exec of `cove` a few
 * milliseconds of loading and relocation, and only runs with credentials
 * use it. So the TLS code (tls.c) is a module of its own, linked against
 * OpenSSL, and tls_load.c dlopen()s it on the first run that needs it
 * (docs/agent.md "Credentials"). The module calls nothing of cove: this
 * table and plain C types are the whole contract, and its version is
 * checked at load. */
#ifndef COVE_AGENT_TLS_MODULE_H
#define COVE_AGENT_TLS_MODULE_H

#include <stdbool.h>
#include <stddef.h>

struct agent_tls;
struct agent_tls_conn;

/* >0 bytes / done, 0 EOF, AGENT_TLS_WANT_READ/WRITE, AGENT_TLS_ERR */
enum { AGENT_TLS_ERR = -1, AGENT_TLS_WANT_READ = -2, AGENT_TLS_WANT_WRITE = -3 };

#define AGENT_TLS_MODULE_NAME "cove-tls.so"
#define AGENT_TLS_MODULE_SYMBOL "cove_tls_module_v1"
#define AGENT_TLS_MODULE_VERSION 1

struct agent_tls_module {
  unsigned version; /* AGENT_TLS_MODULE_VERSION */
  size_t size;      /* sizeof (struct agent_tls_module) the module was built with */
  /* the run's CA; on failure NULL and why in err */
  struct agent_tls *(*tls_new)(char *err, size_t errsz);
  void (*tls_free)(struct agent_tls *t);
  const char *(*ca_pem)(struct agent_tls *t);
  struct agent_tls_conn *(*server)(struct agent_tls *t, int fd, const char *host);
  struct agent_tls_conn *(*client)(struct agent_tls *t, int fd, const char *host);
  void (*conn_free)(struct agent_tls_conn *c);
  int (*handshake)(struct agent_tls_conn *c);
  int (*read)(struct agent_tls_conn *c, char *buf, size_t n);
  int (*write)(struct agent_tls_conn *c, const char *buf, size_t n);
  bool (*pending)(struct agent_tls_conn *c);
  const char *(*sni)(struct agent_tls_conn *c);
  const char *(*error)(struct agent_tls_conn *c);
};

#endif
