/* Policy and mount-allowlist files: strict JSON, defaults built in.
 * Every error names the field: "policy.json: limits.memory: ...". Nothing
 * here touches the filesystem beyond reading the two files; sources are
 * resolved later (mounts.c), still before anything is created. */
#include "agent.h"

#include "cove/units.h"

#include "cove/cleanup.h"
#include "cove/json.h"
#include "cove/readfile.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <strings.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

void agent_policy_defaults(struct agent_policy *p)
{
  memset(p, 0, sizeof *p);
  p->memory = 512ull << 20;
  p->cpus = 1.0;
  p->pids = 256;
  p->timeout_ms = 30ull * 60 * 1000;
  p->net = AGENT_NET_NONE;
  p->seccomp_notify = true;
}

static void kv_free(struct agent_kv *kv, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    free(kv[i].key);
    free(kv[i].value);
  }
}

void agent_policy_free(struct agent_policy *p)
{
  free(p->rootfs);
  for (size_t i = 0; i < p->n_mounts; i++) {
    free(p->mounts[i].source);
    free(p->mounts[i].destination);
  }
  for (size_t i = 0; i < p->n_allow; i++)
    free(p->allow[i]);
  for (size_t i = 0; i < p->n_no_proxy; i++)
    free(p->no_proxy[i]);
  kv_free(p->env, p->n_env);
  kv_free(p->secrets, p->n_secrets);
  for (size_t i = 0; i < p->n_creds; i++) {
    struct agent_cred *cr = &p->creds[i];
    free(cr->name);
    for (size_t j = 0; j < cr->n_hosts; j++)
      free(cr->hosts[j]);
    free(cr->env);
    free(cr->file);
    free(cr->header);
    free(cr->prefix);
    free(cr->placeholder);
  }
  memset(p, 0, sizeof *p);
}

char *agent_read_small_file(const char *path, size_t max, cove_err *err)
{
  return cove_read_file_at(AT_FDCWD, path, 0, max, NULL, path, err);
}

/* "512M", "1G", "64k", or bytes. Binary units. */
int agent_parse_size(const char *s, uint64_t *out)
{
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (end == s || errno || *s == '-')
    return -1;
  unsigned shift = 0;
  if (*end) {
    switch (toupper((unsigned char)*end)) {
    case 'K': shift = 10; break;
    case 'M': shift = 20; break;
    case 'G': shift = 30; break;
    default: return -1;
    }
    end++;
    if (*end == 'i')
      end++;
    if (*end == 'B' || *end == 'b')
      end++;
    if (*end)
      return -1;
  }
  if (shift && v > (~0ull >> shift))
    return -1;
  *out = v << shift;
  return 0;
}

static int str_dup(yajl_val v, const char *path, char **out, cove_err *err)
{
  if (!YAJL_IS_STRING(v))
    return cove_error(err, 0, "%s: expected string, got %s", path, cove_json_type_name(v));
  if (!(*out = strdup(v->u.string)))
    return cove_error(err, ENOMEM, "%s", path);
  return 0;
}

static int abs_path(const char *s, const char *path, cove_err *err)
{
  if (s[0] != '/')
    return cove_error(err, 0, "%s: \"%s\" must be an absolute path", path, s);
  for (const char *c = s; *c;) {
    while (*c == '/')
      c++;
    const char *e = strchrnul(c, '/');
    if (e - c == 2 && c[0] == '.' && c[1] == '.')
      return cove_error(err, 0, "%s: \"%s\" must not contain \"..\"", path, s);
    c = e;
  }
  return 0;
}

static bool valid_name(const char *s, bool env)
{
  if (!*s || strlen(s) > 128)
    return false;
  if (env && isdigit((unsigned char)*s))
    return false;
  if (!env && s[0] == '.')
    return false;
  for (const char *c = s; *c; c++)
    if (!(isalnum((unsigned char)*c) || *c == '_' || (!env && (*c == '-' || *c == '.'))))
      return false;
  return true;
}

static bool valid_host_pattern(const char *h)
{
  char host[260];
  int port;
  return strlen(h) <= 253 && agent_allow_entry_parse(h, host, sizeof host, &port) == 0;
}

static int parse_strlist(yajl_val v, const char *path, char **out, size_t *n, bool hosts, cove_err *err)
{
  if (!YAJL_IS_ARRAY(v))
    return cove_error(err, 0, "%s: expected array, got %s", path, cove_json_type_name(v));
  if (v->u.array.len > AGENT_MAX_LIST)
    return cove_error(err, 0, "%s: more than %d entries", path, AGENT_MAX_LIST);
  for (size_t i = 0; i < v->u.array.len; i++) {
    char p[COVE_PATH_MAX];
    cove_json_path_idx(p, path, i);
    if (str_dup(v->u.array.values[i], p, &out[*n], err) < 0)
      return -1;
    (*n)++;
    if (hosts && !valid_host_pattern(out[*n - 1]))
      return cove_error(err, 0, "%s: \"%s\" is not a host name, *.suffix or IP literal (dotted quad), each with an optional :port", p, out[*n - 1]);
  }
  return 0;
}

static int parse_network(struct agent_policy *p, yajl_val v, cove_err *err)
{
  if (YAJL_IS_STRING(v)) {
    if (!strcmp(v->u.string, "none"))
      p->net = AGENT_NET_NONE;
    else if (!strcmp(v->u.string, "host"))
      p->net = AGENT_NET_HOST;
    else
      return cove_error(err, 0, "network: \"%s\": expected \"none\", \"host\" or {\"allow\": [...]}", v->u.string);
    return 0;
  }
  if (!YAJL_IS_OBJECT(v))
    return cove_error(err, 0, "network: expected \"none\", \"host\" or an object, got %s", cove_json_type_name(v));
  static const char *const keys[] = {"allow", "no_proxy", NULL};
  if (cove_json_known_keys(v, "network", keys, err) < 0)
    return -1;
  yajl_val a = cove_json_field(v, "allow");
  if (!a)
    return cove_error(err, 0, "network.allow: missing (list the domains the proxy may reach)");
  if (parse_strlist(a, "network.allow", p->allow, &p->n_allow, true, err) < 0)
    return -1;
  yajl_val np = cove_json_field(v, "no_proxy");
  if (np) {
    p->has_no_proxy = true;
    if (parse_strlist(np, "network.no_proxy", p->no_proxy, &p->n_no_proxy, true, err) < 0)
      return -1;
  }
  p->net = AGENT_NET_PROXY;
  return 0;
}

static int parse_kv(yajl_val v, const char *path, struct agent_kv *out, size_t *n, bool secrets, cove_err *err)
{
  if (!YAJL_IS_OBJECT(v))
    return cove_error(err, 0, "%s: expected object, got %s", path, cove_json_type_name(v));
  if (v->u.object.len > AGENT_MAX_LIST)
    return cove_error(err, 0, "%s: more than %d entries", path, AGENT_MAX_LIST);
  for (size_t i = 0; i < v->u.object.len; i++) {
    const char *k = v->u.object.keys[i];
    char p[COVE_PATH_MAX];
    cove_json_path(p, path, k);
    if (!valid_name(k, !secrets))
      return cove_error(err, 0, "%s: invalid name", p);
    if (!secrets && (!strcmp(k, "HTTP_PROXY") || !strcmp(k, "HTTPS_PROXY") || !strcmp(k, "http_proxy") ||
                     !strcmp(k, "https_proxy")))
      return cove_error(err, 0, "%s: set by the orchestrator from network", p);
    for (size_t j = 0; j < *n; j++)
      if (!strcmp(out[j].key, k))
        return cove_error(err, 0, "%s: duplicate", p);
    out[*n].key = strdup(k);
    if (!out[*n].key || str_dup(v->u.object.values[i], p, &out[*n].value, err) < 0) {
      free(out[*n].key);
      out[*n].key = NULL;
      return err->msg[0] ? -1 : cove_error(err, ENOMEM, "%s", p);
    }
    (*n)++;
    if (secrets && abs_path(out[*n - 1].value, p, err) < 0)
      return -1;
  }
  return 0;
}

/* Headers the proxy itself owns or that change the message framing: a
 * credential cannot be presented as one of them. */
static bool reserved_header(const char *h)
{
  static const char *const r[] = {"host", "content-length", "transfer-encoding", "connection", "proxy-connection",
                                  "proxy-authorization", "keep-alive", "upgrade", "te", "trailer", "expect", NULL};
  for (const char *const *x = r; *x; x++)
    if (!strcasecmp(h, *x))
      return true;
  return false;
}

/* Variables the orchestrator sets for the agent. */
static bool reserved_env(const char *k)
{
  static const char *const r[] = {"HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "NO_PROXY", "no_proxy",
                                  "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "NODE_EXTRA_CA_CERTS", "CURL_CA_BUNDLE",
                                  "GIT_SSL_CAINFO", NULL};
  for (const char *const *x = r; *x; x++)
    if (!strcmp(k, *x))
      return true;
  return false;
}

static int cred_str(yajl_val o, const char *path, const char *key, char **out, cove_err *err)
{
  char fp[COVE_PATH_MAX];
  cove_json_path(fp, path, key);
  yajl_val v = cove_json_field(o, key);
  return v ? str_dup(v, fp, out, err) : 0;
}

/* "header" a token the proxy does not own; "prefix" printable. */
static int check_cred_header(const struct agent_cred *cr, const char *path, cove_err *err)
{
  char fp[COVE_PATH_MAX];
  cove_json_path(fp, path, "header");
  if (!cr->header)
    return cove_error(err, 0, "%s: missing (e.g. \"Authorization\")", fp);
  bool tok = cr->header[0] && strlen(cr->header) <= 128;
  for (const char *c = cr->header; *c; c++)
    tok &= agent_http_tchar((unsigned char)*c);
  if (!tok)
    return cove_error(err, 0, "%s: \"%s\" is not a header name", fp, cr->header);
  if (reserved_header(cr->header))
    return cove_error(err, 0, "%s: \"%s\" is set by the proxy itself", fp, cr->header);
  cove_json_path(fp, path, "prefix");
  if (cr->prefix) {
    if (strlen(cr->prefix) > 256)
      return cove_error(err, 0, "%s: longer than 256 bytes", fp);
    for (const char *c = cr->prefix; *c; c++)
      if ((unsigned char)*c < 0x20 || *c == 0x7f)
        return cove_error(err, 0, "%s: control characters", fp);
  }
  return 0;
}

/* "placeholder_env": a name the agent's environment can take, set by
 * nothing else. */
static int check_cred_placeholder(const struct agent_policy *p, const struct agent_cred *cr, const char *path,
                                  cove_err *err)
{
  char fp[COVE_PATH_MAX];
  cove_json_path(fp, path, "placeholder_env");
  if (!cr->placeholder)
    return 0;
  if (!valid_name(cr->placeholder, true) || reserved_env(cr->placeholder))
    return cove_error(err, 0, "%s: \"%s\": not a name the agent's environment can take", fp, cr->placeholder);
  for (size_t j = 0; j < p->n_env; j++)
    if (!strcmp(p->env[j].key, cr->placeholder))
      return cove_error(err, 0, "%s: \"%s\" is also set in env", fp, cr->placeholder);
  for (size_t j = 0; j + 1 < p->n_creds; j++)
    if (p->creds[j].placeholder && !strcmp(p->creds[j].placeholder, cr->placeholder))
      return cove_error(err, 0, "%s: \"%s\" is also credentials[%zu]'s", fp, cr->placeholder, j);
  return 0;
}

/* One "hosts" entry: a host name (a "*." wildcard only with "wildcard":
 * true), never an IP literal, and every (host, port) it can go to in
 * network.allow. Lower-cased in place. */
static int check_cred_host(const struct agent_policy *p, const struct agent_cred *cr, char *e, const char *hp,
                           cove_err *err)
{
  char host[260];
  int port;
  bool wild = !strncmp(e, "*.", 2);
  if (strlen(e) > 253 || agent_allow_entry_parse(e, host, sizeof host, &port) < 0 || strchr(host + (wild ? 2 : 0), ':'))
    return cove_error(err, 0, "%s: \"%s\" is not a host name with an optional :port", hp, e);
  if (agent_ip_literal(host + (wild ? 2 : 0)))
    return cove_error(err, 0, "%s: \"%s\": an IP literal cannot be a credential's host (it has no name to check)", hp, e);
  if (wild && !cr->wildcard)
    return cove_error(err, 0, "%s: \"%s\": a wildcard needs \"wildcard\": true in the entry", hp, e);
  for (char *c = e; *c; c++)
    *c = (char)tolower((unsigned char)*c);
  /* every (host, port) the credential can go to must be reachable */
  char probe[300];
  snprintf(probe, sizeof probe, "%s%s", wild ? "cove-credential-check" : "", host + (wild ? 1 : 0));
  bool exact;
  int ports[2] = {port ? port : 443, port ? 0 : 80};
  for (int k = 0; k < 2; k++)
    if (ports[k] && !agent_host_allowed(p, probe, ports[k], &exact))
      return cove_error(err, 0, "%s: \"%s\" (port %d) is not in network.allow", hp, e, ports[k]);
  return 0;
}

static int parse_cred_hosts(const struct agent_policy *p, struct agent_cred *cr, yajl_val o, const char *path,
                            cove_err *err)
{
  char fp[COVE_PATH_MAX];
  cove_json_path(fp, path, "hosts");
  yajl_val h = cove_json_field(o, "hosts");
  if (!h)
    return cove_error(err, 0, "%s: missing", fp);
  if (!YAJL_IS_ARRAY(h) || !h->u.array.len || h->u.array.len > AGENT_MAX_CRED_HOSTS)
    return cove_error(err, 0, "%s: expected an array of 1 to %d host names", fp, AGENT_MAX_CRED_HOSTS);
  for (size_t j = 0; j < h->u.array.len; j++) {
    char hp[COVE_PATH_MAX];
    cove_json_path_idx(hp, fp, j);
    if (str_dup(h->u.array.values[j], hp, &cr->hosts[cr->n_hosts], err) < 0)
      return -1;
    if (check_cred_host(p, cr, cr->hosts[cr->n_hosts++], hp, err) < 0)
      return -1;
  }
  return 0;
}

/* credentials[i]: added to p->creds (freed with the policy on failure). */
static int parse_cred(struct agent_policy *p, yajl_val o, const char *path, cove_err *err)
{
  static const char *const keys[] = {"name", "hosts", "wildcard", "env", "file", "header", "prefix",
                                     "placeholder_env", NULL};
  char fp[COVE_PATH_MAX];
  if (!YAJL_IS_OBJECT(o))
    return cove_error(err, 0, "%s: expected object, got %s", path, cove_json_type_name(o));
  if (cove_json_known_keys(o, path, keys, err) < 0)
    return -1;
  struct agent_cred *cr = &p->creds[p->n_creds++];
  if (cred_str(o, path, "name", &cr->name, err) < 0 || cred_str(o, path, "env", &cr->env, err) < 0 ||
      cred_str(o, path, "file", &cr->file, err) < 0 || cred_str(o, path, "header", &cr->header, err) < 0 ||
      cred_str(o, path, "prefix", &cr->prefix, err) < 0 ||
      cred_str(o, path, "placeholder_env", &cr->placeholder, err) < 0 ||
      cove_json_bool(o, "wildcard", path, &cr->wildcard, err) < 0)
    return -1;
  cove_json_path(fp, path, "name");
  if (!cr->name)
    return cove_error(err, 0, "%s: missing", fp);
  if (!valid_name(cr->name, false))
    return cove_error(err, 0, "%s: \"%s\": letters, digits, '_', '-', '.'", fp, cr->name);
  for (size_t j = 0; j + 1 < p->n_creds; j++)
    if (!strcmp(p->creds[j].name, cr->name))
      return cove_error(err, 0, "%s: \"%s\" duplicates credentials[%zu].name", fp, cr->name, j);
  if (!cr->env == !cr->file)
    return cove_error(err, 0, "%s: exactly one of \"env\" and \"file\" says where the secret is", path);
  cove_json_path(fp, path, cr->env ? "env" : "file");
  if (cr->env && !valid_name(cr->env, true))
    return cove_error(err, 0, "%s: \"%s\" is not an environment variable name", fp, cr->env);
  if (cr->file && abs_path(cr->file, fp, err) < 0)
    return -1;
  if (check_cred_header(cr, path, err) < 0 || check_cred_placeholder(p, cr, path, err) < 0)
    return -1;
  return parse_cred_hosts(p, cr, o, path, err);
}

/* {"name", "hosts": [...], "wildcard", "env" | "file", "header", "prefix",
 *  "placeholder_env"}; after network and env (a credential's hosts must
 * be ones the proxy may reach). */
static int parse_credentials(struct agent_policy *p, yajl_val v, cove_err *err)
{
  if (!YAJL_IS_ARRAY(v))
    return cove_error(err, 0, "credentials: expected array, got %s", cove_json_type_name(v));
  if (v->u.array.len > AGENT_MAX_CREDS)
    return cove_error(err, 0, "credentials: more than %d entries", AGENT_MAX_CREDS);
  if (v->u.array.len && p->net != AGENT_NET_PROXY)
    return cove_error(err, 0, "credentials: need network {\"allow\": [...]} (the proxy presents them)");
  for (size_t i = 0; i < v->u.array.len; i++) {
    char path[COVE_PATH_MAX];
    cove_json_path_idx(path, "credentials", i);
    if (parse_cred(p, v->u.array.values[i], path, err) < 0)
      return -1;
  }
  return 0;
}

static int parse_limits(struct agent_policy *p, yajl_val v, cove_err *err)
{
  if (!YAJL_IS_OBJECT(v))
    return cove_error(err, 0, "limits: expected object, got %s", cove_json_type_name(v));
  static const char *const keys[] = {"memory", "cpus", "pids", "timeout", "disk", NULL};
  if (cove_json_known_keys(v, "limits", keys, err) < 0)
    return -1;
  yajl_val m = cove_json_field(v, "memory");
  if (m) {
    if (YAJL_IS_STRING(m)) {
      if (agent_parse_size(m->u.string, &p->memory) < 0)
        return cove_error(err, 0, "limits.memory: \"%s\": expected bytes or a size like \"512M\"", m->u.string);
    } else if (YAJL_IS_INTEGER(m) && m->u.number.i > 0) {
      p->memory = (uint64_t)m->u.number.i;
    } else {
      return cove_error(err, 0, "limits.memory: expected a positive integer or a size string, got %s",
                        cove_json_type_name(m));
    }
    if (p->memory < (4u << 20))
      return cove_error(err, 0, "limits.memory: below 4 MiB cannot run anything");
  }
  yajl_val d = cove_json_field(v, "disk");
  if (d) {
    if (YAJL_IS_STRING(d)) {
      if (agent_parse_size(d->u.string, &p->disk) < 0 || !p->disk)
        return cove_error(err, 0, "limits.disk: \"%s\": expected bytes or a size like \"1G\"", d->u.string);
    } else if (YAJL_IS_INTEGER(d) && d->u.number.i > 0) {
      p->disk = (uint64_t)d->u.number.i;
    } else {
      return cove_error(err, 0, "limits.disk: expected a positive integer or a size string, got %s",
                        cove_json_type_name(d));
    }
  }
  yajl_val c = cove_json_field(v, "cpus");
  if (c) {
    if (!YAJL_IS_NUMBER(c) || !(YAJL_IS_DOUBLE(c) ? c->u.number.d : (double)c->u.number.i) ||
        (YAJL_IS_DOUBLE(c) ? c->u.number.d : (double)c->u.number.i) < 0.01 ||
        (YAJL_IS_DOUBLE(c) ? c->u.number.d : (double)c->u.number.i) > 1024)
      return cove_error(err, 0, "limits.cpus: expected a number between 0.01 and 1024");
    p->cpus = YAJL_IS_DOUBLE(c) ? c->u.number.d : (double)c->u.number.i;
  }
  yajl_val pi = cove_json_field(v, "pids");
  if (pi) {
    if (!YAJL_IS_INTEGER(pi) || pi->u.number.i < 1)
      return cove_error(err, 0, "limits.pids: expected a positive integer, got %s", cove_json_type_name(pi));
    p->pids = (uint64_t)pi->u.number.i;
  }
  yajl_val t = cove_json_field(v, "timeout");
  if (t) {
    if (YAJL_IS_STRING(t)) {
      if (cove_parse_duration_ms(t->u.string, &p->timeout_ms) < 0 || !p->timeout_ms)
        return cove_error(err, 0, "limits.timeout: \"%s\": expected a duration like \"30m\", \"90s\"", t->u.string);
    } else if (YAJL_IS_INTEGER(t) && t->u.number.i > 0) {
      /* the string form's bound (1e15 ms): beyond it seconds * 1000 would
       * wrap around, 2^61 s to no time at all */
      if (t->u.number.i > 1000000000000LL)
        return cove_error(err, 0, "limits.timeout: %lld seconds is absurdly long", (long long)t->u.number.i);
      p->timeout_ms = (uint64_t)t->u.number.i * 1000;
    } else {
      return cove_error(err, 0, "limits.timeout: expected seconds or a duration string, got %s",
                        cove_json_type_name(t));
    }
  }
  return 0;
}

/* Paths the orchestrator itself places; policy mounts may not land on or
 * under them, nor above them. */
static const char *const reserved_dest[] = {"/workspace", "/group", "/run", "/proc", "/dev", "/tmp", "/home/agent",
                                            "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc",
                                            NULL};

static bool overlaps(const char *a, const char *b)
{
  size_t la = strlen(a), lb = strlen(b);
  size_t l = la < lb ? la : lb;
  if (strncmp(a, b, l))
    return false;
  /* one is a prefix of the other at a component boundary */
  return la == lb || (la > lb ? a[lb] == '/' : b[la] == '/') || l == 1;
}

/* In place: "//etc/./x/" -> "/etc/x". The reserved and overlap checks
 * compare strings, so they only mean something on the normal form (".."
 * is refused before). */
static void normalize_dest(char *s)
{
  char *o = s;
  for (const char *c = s; *c;) {
    while (*c == '/')
      c++;
    const char *e = strchrnul(c, '/');
    if (e > c && !(e - c == 1 && c[0] == '.')) {
      *o++ = '/';
      memmove(o, c, (size_t)(e - c));
      o += e - c;
    }
    c = e;
  }
  if (o == s)
    *o++ = '/';
  *o = 0;
}

static int parse_mounts(struct agent_policy *p, yajl_val v, cove_err *err)
{
  if (!YAJL_IS_ARRAY(v))
    return cove_error(err, 0, "mounts: expected array, got %s", cove_json_type_name(v));
  if (v->u.array.len > AGENT_MAX_LIST)
    return cove_error(err, 0, "mounts: more than %d entries", AGENT_MAX_LIST);
  static const char *const keys[] = {"source", "destination", "writable", NULL};
  for (size_t i = 0; i < v->u.array.len; i++) {
    char path[COVE_PATH_MAX], fp[COVE_PATH_MAX];
    cove_json_path_idx(path, "mounts", i);
    yajl_val m = v->u.array.values[i];
    if (!YAJL_IS_OBJECT(m))
      return cove_error(err, 0, "%s: expected object, got %s", path, cove_json_type_name(m));
    if (cove_json_known_keys(m, path, keys, err) < 0)
      return -1;
    struct agent_mount_req *r = &p->mounts[p->n_mounts];
    yajl_val s = cove_json_field(m, "source"), d = cove_json_field(m, "destination");
    cove_json_path(fp, path, "source");
    if (!s)
      return cove_error(err, 0, "%s: missing", fp);
    if (str_dup(s, fp, &r->source, err) < 0)
      return -1;
    p->n_mounts++;
    if (abs_path(r->source, fp, err) < 0)
      return -1;
    cove_json_path(fp, path, "destination");
    if (!d)
      return cove_error(err, 0, "%s: missing", fp);
    if (str_dup(d, fp, &r->destination, err) < 0 || abs_path(r->destination, fp, err) < 0)
      return -1;
    normalize_dest(r->destination);
    for (const char *const *rd = reserved_dest; *rd; rd++)
      if (overlaps(r->destination, *rd))
        return cove_error(err, 0, "%s: \"%s\" overlaps %s, which the sandbox reserves", fp, r->destination, *rd);
    if (!strcmp(r->destination, "/"))
      return cove_error(err, 0, "%s: cannot mount over /", fp);
    for (size_t j = 0; j + 1 < p->n_mounts; j++)
      if (overlaps(r->destination, p->mounts[j].destination))
        return cove_error(err, 0, "%s: \"%s\" overlaps mounts[%zu].destination \"%s\"", fp, r->destination, j,
                          p->mounts[j].destination);
    cove_json_path(fp, path, "writable");
    if (cove_json_bool(m, "writable", path, &r->writable, err) < 0)
      return -1;
  }
  return 0;
}

int agent_policy_parse(struct agent_policy *p, const char *text, const char *what, cove_err *err)
{
  char ebuf[512] = "";
  yajl_val root = yajl_tree_parse(text, ebuf, sizeof ebuf);
  if (!root) {
    char *nl = strchr(ebuf, '\n');
    if (nl)
      *nl = 0;
    return cove_error(err, 0, "%s: not valid JSON: %s", what, ebuf[0] ? ebuf : "parse error");
  }
  int rc = -1;
  static const char *const keys[] = {"rootfs", "workspace", "mounts", "network", "env", "secrets",
                                     "credentials", "limits", "allow_unlimited", "audit_seccomp", NULL};
  if (!YAJL_IS_OBJECT(root)) {
    cove_error(err, 0, "expected a JSON object, got %s", cove_json_type_name(root));
    goto out;
  }
  if (cove_json_known_keys(root, "", keys, err) < 0)
    goto out;
  yajl_val v;
  if ((v = cove_json_field(root, "rootfs"))) {
    if (str_dup(v, "rootfs", &p->rootfs, err) < 0)
      goto out;
    if (!strcmp(p->rootfs, "host")) {
      free(p->rootfs);
      p->rootfs = NULL;
    } else if (abs_path(p->rootfs, "rootfs", err) < 0) {
      goto out;
    }
  }
  if ((v = cove_json_field(root, "workspace"))) {
    static const char *const wk[] = {"writable", NULL};
    if (!YAJL_IS_OBJECT(v)) {
      cove_error(err, 0, "workspace: expected object, got %s", cove_json_type_name(v));
      goto out;
    }
    if (cove_json_known_keys(v, "workspace", wk, err) < 0 ||
        cove_json_bool(v, "writable", "workspace", &p->workspace_writable, err) < 0)
      goto out;
  }
  if ((v = cove_json_field(root, "mounts")) && parse_mounts(p, v, err) < 0)
    goto out;
  if ((v = cove_json_field(root, "network")) && parse_network(p, v, err) < 0)
    goto out;
  if ((v = cove_json_field(root, "env")) && parse_kv(v, "env", p->env, &p->n_env, false, err) < 0)
    goto out;
  if ((v = cove_json_field(root, "secrets")) && parse_kv(v, "secrets", p->secrets, &p->n_secrets, true, err) < 0)
    goto out;
  if ((v = cove_json_field(root, "limits")) && parse_limits(p, v, err) < 0)
    goto out;
  if (cove_json_bool(root, "allow_unlimited", "", &p->allow_unlimited, err) < 0 ||
      cove_json_bool(root, "audit_seccomp", "", &p->seccomp_notify, err) < 0)
    goto out;
  /* last: it checks against network and env */
  if ((v = cove_json_field(root, "credentials")) && parse_credentials(p, v, err) < 0)
    goto out;
  rc = 0;
out:
  yajl_tree_free(root);
  if (rc < 0)
    cove_error_prefix(err, "%s", what);
  return rc;
}

/* Read through agent_in_open (no symlinks, one link); *g keeps the file
 * for agent_guard_check. */
static char *read_guarded(const char *path, const char *what, struct agent_guard *g, cove_err *err)
{
  char canon[4096];
  int fd = agent_in_open(path, what, canon, err);
  if (fd < 0)
    return NULL;
  if (agent_guard_input(g, fd, canon, what, err) < 0) {
    close(fd);
    return NULL;
  }
  return cove_read_fd(fd, 1 << 20, NULL, canon, err);
}

int agent_policy_load(struct agent_policy *p, const char *path, struct agent_guard *g, cove_err *err)
{
  _cleanup_free_ char *text = read_guarded(path, "--policy", g, err);
  if (!text)
    return -1;
  return agent_policy_parse(p, text, g->path, err);
}

void agent_allowlist_free(struct agent_allowlist *a)
{
  for (size_t i = 0; i < a->n_roots; i++)
    free(a->roots[i].source);
  for (size_t i = 0; i < a->n_blocked; i++)
    free(a->blocked[i]);
  for (size_t i = 0; i < a->n_trusted; i++)
    free(a->trusted_groups[i]);
  memset(a, 0, sizeof *a);
}

/* {"roots": [{"path": "/abs", "writable": false}], "blocked_patterns": [...],
 *  "untrusted_read_only": true, "trusted_groups": ["main"]}
 * A missing file means no extra mounts at all. */
int agent_allowlist_load(struct agent_allowlist *a, const char *path, struct agent_guard *g, cove_err *err)
{
  memset(a, 0, sizeof *a);
  a->untrusted_read_only = true;
  struct stat st;
  if (lstat(path, &st) < 0 && errno == ENOENT)
    return 0;
  _cleanup_free_ char *text = read_guarded(path, "mount allowlist", g, err);
  if (!text)
    return -1;
  return agent_allowlist_parse(a, text, path, err);
}

int agent_allowlist_parse(struct agent_allowlist *a, const char *text, const char *path, cove_err *err)
{
  memset(a, 0, sizeof *a);
  a->untrusted_read_only = true;
  char ebuf[512] = "";
  yajl_val root = yajl_tree_parse(text, ebuf, sizeof ebuf);
  if (!root)
    return cove_error(err, 0, "mount allowlist %s: not valid JSON", path);
  int rc = -1;
  static const char *const keys[] = {"roots", "blocked_patterns", "untrusted_read_only", "trusted_groups", NULL};
  static const char *const rkeys[] = {"path", "writable", NULL};
  if (!YAJL_IS_OBJECT(root)) {
    cove_error(err, 0, "expected a JSON object");
    goto out;
  }
  if (cove_json_known_keys(root, "", keys, err) < 0)
    goto out;
  yajl_val v = cove_json_field(root, "roots");
  if (v) {
    if (!YAJL_IS_ARRAY(v) || v->u.array.len > AGENT_MAX_LIST) {
      cove_error(err, 0, "roots: expected an array of at most %d objects", AGENT_MAX_LIST);
      goto out;
    }
    for (size_t i = 0; i < v->u.array.len; i++) {
      char p[COVE_PATH_MAX], fp[COVE_PATH_MAX];
      cove_json_path_idx(p, "roots", i);
      yajl_val r = v->u.array.values[i];
      if (!YAJL_IS_OBJECT(r)) {
        cove_error(err, 0, "%s: expected object", p);
        goto out;
      }
      if (cove_json_known_keys(r, p, rkeys, err) < 0)
        goto out;
      cove_json_path(fp, p, "path");
      yajl_val rp = cove_json_field(r, "path");
      if (!rp) {
        cove_error(err, 0, "%s: missing", fp);
        goto out;
      }
      if (str_dup(rp, fp, &a->roots[a->n_roots].source, err) < 0)
        goto out;
      a->n_roots++;
      if (abs_path(a->roots[a->n_roots - 1].source, fp, err) < 0 ||
          cove_json_bool(r, "writable", p, &a->roots[a->n_roots - 1].writable, err) < 0)
        goto out;
    }
  }
  if ((v = cove_json_field(root, "blocked_patterns")) &&
      parse_strlist(v, "blocked_patterns", a->blocked, &a->n_blocked, false, err) < 0)
    goto out;
  for (size_t i = 0; i < a->n_blocked; i++)
    if (!a->blocked[i][0] || strchr(a->blocked[i], '/')) {
      cove_error(err, 0, "blocked_patterns[%zu]: must be a non-empty name without '/'", i);
      goto out;
    }
  if ((v = cove_json_field(root, "trusted_groups")) &&
      parse_strlist(v, "trusted_groups", a->trusted_groups, &a->n_trusted, false, err) < 0)
    goto out;
  if (cove_json_bool(root, "untrusted_read_only", "", &a->untrusted_read_only, err) < 0)
    goto out;
  a->present = true;
  rc = 0;
out:
  yajl_tree_free(root);
  if (rc < 0)
    cove_error_prefix(err, "mount allowlist %s", path);
  return rc;
}
