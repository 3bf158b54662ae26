/* TLS for the credential proxy, with OpenSSL (docs/agent.md says why).
 *
 * The run's CA: an EC P-256 key made here, in memory only, and a
 * self-signed certificate valid for a day; a leaf per credentialed host,
 * signed by it, made on first use and kept for the run. The server side
 * offers ALPN "http/1.1" only (the proxy parses HTTP/1.1; no HTTP/2). The
 * client side verifies the upstream against the default trust store
 * (SSL_CERT_FILE / SSL_CERT_DIR respected) and checks the host name.
 *
 * Built as cove-tls.so, loaded by tls_load.c only when a run has
 * credentials (tls_module.h says why); everything here is static but the
 * one table at the end. */
#include "tls_module.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define MAX_LEAVES 32

static void agent_tls_free(struct agent_tls *t);
static void agent_tls_conn_free(struct agent_tls_conn *c);

struct agent_tls {
  EVP_PKEY *ca_key, *leaf_key; /* one key for every leaf of the run */
  X509 *ca;
  char *ca_pem;
  SSL_CTX *server, *client;
  struct {
    char host[256];
    X509 *cert;
  } leaf[MAX_LEAVES];
  size_t n_leaves;
};

struct agent_tls_conn {
  SSL *ssl;
  bool server;
  char host[256]; /* server: the name the agent's SNI must give */
  char err[256];
};

static EVP_PKEY *p256(void)
{
  return EVP_EC_gen("P-256");
}

static X509 *make_cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key, bool ca)
{
  X509 *x = X509_new();
  if (!x)
    return NULL;
  unsigned char serial[16];
  BIGNUM *bn = NULL;
  bool ok = RAND_bytes(serial, sizeof serial) == 1;
  serial[0] &= 0x7f;
  if (ok && (bn = BN_bin2bn(serial, sizeof serial, NULL)))
    ok = BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
  BN_free(bn);
  ok = ok && X509_set_version(x, 2) && X509_gmtime_adj(X509_getm_notBefore(x), -3600) &&
       X509_gmtime_adj(X509_getm_notAfter(x), 86400) && X509_set_pubkey(x, key);
  X509_NAME *name = X509_get_subject_name(x);
  ok = ok && X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"cove agent run", -1, -1, 0) &&
       X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0) &&
       X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, issuer ? issuer : x, x, NULL, NULL, 0);
  char san[300];
  snprintf(san, sizeof san, "DNS:%s", cn);
  const char *ext[][2] = {
      {"basicConstraints", ca ? "critical,CA:TRUE,pathlen:0" : "critical,CA:FALSE"},
      {"keyUsage", ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature"},
      {"subjectKeyIdentifier", "hash"},
      {ca ? NULL : "authorityKeyIdentifier", "keyid:always"},
      {ca ? NULL : "extendedKeyUsage", "serverAuth"},
      {ca ? NULL : "subjectAltName", san},
  };
  for (size_t i = 0; ok && i < sizeof ext / sizeof ext[0]; i++) {
    if (!ext[i][0])
      continue;
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &v3, OBJ_txt2nid(ext[i][0]), ext[i][1]);
    ok = e && X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
  }
  ok = ok && X509_sign(x, issuer_key, EVP_sha256());
  if (!ok) {
    X509_free(x);
    return NULL;
  }
  return x;
}

/* The agent's SNI must name the CONNECT target: refused in the handshake
 * (fatal alert), before any session exists. */
static int sni_check(SSL *s, int *alert, void *arg)
{
  (void)arg;
  struct agent_tls_conn *c = SSL_get_app_data(s);
  const char *name = SSL_get_servername(s, TLSEXT_NAMETYPE_host_name);
  if (c && name && !strcasecmp(name, c->host))
    return SSL_TLSEXT_ERR_OK;
  if (c)
    snprintf(c->err, sizeof c->err, "%s", name ? "TLS SNI does not match the CONNECT target"
                                               : "no TLS SNI (it must name the CONNECT target)");
  *alert = SSL_AD_UNRECOGNIZED_NAME;
  return SSL_TLSEXT_ERR_ALERT_FATAL;
}

static int alpn_select(SSL *s, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
                       unsigned int inlen, void *arg)
{
  (void)s;
  (void)arg;
  static const unsigned char h11[] = "\x08http/1.1";
  unsigned char *o;
  if (SSL_select_next_proto(&o, outlen, h11, sizeof h11 - 1, in, inlen) != OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_ALERT_FATAL; /* the client offers no HTTP/1.1 */
  *out = o;
  return SSL_TLSEXT_ERR_OK;
}

static struct agent_tls *agent_tls_new(char *err, size_t errsz)
{
  struct agent_tls *t = calloc(1, sizeof *t);
  if (!t) {
    snprintf(err, errsz, "out of memory");
    return NULL;
  }
  BIO *b = NULL;
  if (!(t->ca_key = p256()) || !(t->leaf_key = p256()) ||
      !(t->ca = make_cert("cove agent run CA", t->ca_key, NULL, t->ca_key, true)))
    goto fail;
  if (!(b = BIO_new(BIO_s_mem())) || !PEM_write_bio_X509(b, t->ca))
    goto fail;
  char *d;
  long n = BIO_get_mem_data(b, &d);
  if (!(t->ca_pem = strndup(d, (size_t)n)))
    goto fail;
  BIO_free(b);
  b = NULL;
  if (!(t->server = SSL_CTX_new(TLS_server_method())) || !(t->client = SSL_CTX_new(TLS_client_method())))
    goto fail;
  SSL_CTX_set_min_proto_version(t->server, TLS1_2_VERSION);
  SSL_CTX_set_min_proto_version(t->client, TLS1_2_VERSION);
  SSL_CTX_set_alpn_select_cb(t->server, alpn_select, NULL);
  SSL_CTX_set_tlsext_servername_callback(t->server, sni_check);
  SSL_CTX_set_mode(t->server, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_CTX_set_mode(t->client, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  /* no session tickets or cache: nothing of the run outlives it */
  SSL_CTX_set_options(t->server, SSL_OP_NO_TICKET);
  SSL_CTX_set_session_cache_mode(t->server, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_session_cache_mode(t->client, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_verify(t->client, SSL_VERIFY_PEER, NULL);
  if (!SSL_CTX_set_default_verify_paths(t->client))
    goto fail;
  static const unsigned char h11[] = "\x08http/1.1";
  if (SSL_CTX_set_alpn_protos(t->client, h11, sizeof h11 - 1))
    goto fail;
  return t;
fail:
  BIO_free(b);
  unsigned long e = ERR_get_error();
  snprintf(err, errsz, "OpenSSL: %s", e && ERR_reason_error_string(e) ? ERR_reason_error_string(e) : "failed");
  ERR_clear_error();
  agent_tls_free(t);
  return NULL;
}

static void agent_tls_free(struct agent_tls *t)
{
  if (!t)
    return;
  EVP_PKEY_free(t->ca_key); /* OpenSSL clears key material on free */
  EVP_PKEY_free(t->leaf_key);
  X509_free(t->ca);
  for (size_t i = 0; i < t->n_leaves; i++)
    X509_free(t->leaf[i].cert);
  free(t->ca_pem);
  SSL_CTX_free(t->server);
  SSL_CTX_free(t->client);
  free(t);
}

static const char *agent_tls_ca_pem(struct agent_tls *t)
{
  return t->ca_pem;
}

static X509 *leaf_for(struct agent_tls *t, const char *host)
{
  for (size_t i = 0; i < t->n_leaves; i++)
    if (!strcmp(t->leaf[i].host, host))
      return t->leaf[i].cert;
  X509 *x = make_cert(host, t->leaf_key, t->ca, t->ca_key, false);
  if (x && t->n_leaves < MAX_LEAVES) {
    snprintf(t->leaf[t->n_leaves].host, sizeof t->leaf[0].host, "%s", host);
    t->leaf[t->n_leaves++].cert = x;
  } else if (x) {
    /* more hosts than slots (wildcard credentials): replace the oldest */
    X509_free(t->leaf[0].cert);
    snprintf(t->leaf[0].host, sizeof t->leaf[0].host, "%s", host);
    t->leaf[0].cert = x;
  }
  return x;
}

static struct agent_tls_conn *conn_new(SSL_CTX *ctx, int fd, bool server)
{
  struct agent_tls_conn *c = calloc(1, sizeof *c);
  if (!c)
    return NULL;
  c->server = server;
  if (!(c->ssl = SSL_new(ctx)) || !SSL_set_fd(c->ssl, fd)) {
    agent_tls_conn_free(c);
    return NULL;
  }
  return c;
}

static struct agent_tls_conn *agent_tls_server(struct agent_tls *t, int fd, const char *host)
{
  X509 *leaf = leaf_for(t, host);
  struct agent_tls_conn *c = leaf ? conn_new(t->server, fd, true) : NULL;
  if (c && (!SSL_use_certificate(c->ssl, leaf) || !SSL_use_PrivateKey(c->ssl, t->leaf_key) ||
            !SSL_add1_chain_cert(c->ssl, t->ca))) {
    agent_tls_conn_free(c);
    c = NULL;
  }
  if (c) {
    snprintf(c->host, sizeof c->host, "%s", host);
    SSL_set_app_data(c->ssl, c);
    SSL_set_accept_state(c->ssl);
  }
  ERR_clear_error();
  return c;
}

static struct agent_tls_conn *agent_tls_client(struct agent_tls *t, int fd, const char *host)
{
  struct agent_tls_conn *c = conn_new(t->client, fd, false);
  if (c && (!SSL_set_tlsext_host_name(c->ssl, host) || !SSL_set1_host(c->ssl, host))) {
    agent_tls_conn_free(c);
    c = NULL;
  }
  if (c)
    SSL_set_connect_state(c->ssl);
  ERR_clear_error();
  return c;
}

static void agent_tls_conn_free(struct agent_tls_conn *c)
{
  if (!c)
    return;
  SSL_free(c->ssl);
  free(c);
}

static int result(struct agent_tls_conn *c, int r)
{
  if (r > 0)
    return r;
  int e = SSL_get_error(c->ssl, r);
  if (e == SSL_ERROR_WANT_READ)
    return AGENT_TLS_WANT_READ;
  if (e == SSL_ERROR_WANT_WRITE)
    return AGENT_TLS_WANT_WRITE;
  if (e == SSL_ERROR_ZERO_RETURN)
    return 0;
  if (!c->err[0]) {
    long v = c->server ? X509_V_OK : SSL_get_verify_result(c->ssl);
    unsigned long q = ERR_peek_error();
    if (v != X509_V_OK)
      snprintf(c->err, sizeof c->err, "certificate verify failed: %s", X509_verify_cert_error_string(v));
    else if (q)
      snprintf(c->err, sizeof c->err, "%s", ERR_reason_error_string(q) ? ERR_reason_error_string(q) : "TLS error");
    else
      snprintf(c->err, sizeof c->err, e == SSL_ERROR_SYSCALL ? "connection closed" : "TLS error");
  }
  ERR_clear_error();
  /* an EOF without close_notify ends the stream all the same */
  return e == SSL_ERROR_SYSCALL && SSL_is_init_finished(c->ssl) ? 0 : AGENT_TLS_ERR;
}

static int agent_tls_handshake(struct agent_tls_conn *c)
{
  return result(c, SSL_do_handshake(c->ssl));
}

static int agent_tls_read(struct agent_tls_conn *c, char *buf, size_t n)
{
  return result(c, SSL_read(c->ssl, buf, (int)(n > 1 << 30 ? 1 << 30 : n)));
}

static int agent_tls_write(struct agent_tls_conn *c, const char *buf, size_t n)
{
  return result(c, SSL_write(c->ssl, buf, (int)(n > 1 << 30 ? 1 << 30 : n)));
}

static bool agent_tls_pending(struct agent_tls_conn *c)
{
  return SSL_pending(c->ssl) > 0;
}

static const char *agent_tls_sni(struct agent_tls_conn *c)
{
  return SSL_get_servername(c->ssl, TLSEXT_NAMETYPE_host_name);
}

static const char *agent_tls_error(struct agent_tls_conn *c)
{
  return c->err[0] ? c->err : "TLS error";
}

__attribute__((visibility("default"))) const struct agent_tls_module cove_tls_module_v1 = {
    .version = AGENT_TLS_MODULE_VERSION,
    .size = sizeof(struct agent_tls_module),
    .tls_new = agent_tls_new,
    .tls_free = agent_tls_free,
    .ca_pem = agent_tls_ca_pem,
    .server = agent_tls_server,
    .client = agent_tls_client,
    .conn_free = agent_tls_conn_free,
    .handshake = agent_tls_handshake,
    .read = agent_tls_read,
    .write = agent_tls_write,
    .pending = agent_tls_pending,
    .sni = agent_tls_sni,
    .error = agent_tls_error,
};
