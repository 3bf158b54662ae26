/* The agent orchestrator: `cove agent run|gc|batch`.
 *
 * One run = policy checked and every host path resolved to an fd (nothing
 * created yet) → private run directory with a generated bundle → the
 * runtime library creates the sandbox (mount sources are /proc/self/fd/N of
 * fds this process holds, so the init, a clone of us, mounts exactly the
 * objects that were checked) → one poll loop serves the proxy, the seccomp
 * notify fd, signals and the deadline → the sandbox is destroyed and a
 * result record written. docs/agent.md describes the formats. */
#pragma once
#include "cove/error.h"
#include "tls_module.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <yajl/yajl_tree.h>

#define AGENT_MAX_LIST 64

enum agent_net { AGENT_NET_NONE, AGENT_NET_PROXY, AGENT_NET_HOST };

struct agent_kv {
  char *key, *value;
};

struct agent_mount_req {
  char *source, *destination;
  bool writable;
};

/* A credential the proxy presents for the agent (creds.c): the agent
 * never holds the secret, only the placeholder. */
#define AGENT_MAX_CREDS 16
#define AGENT_MAX_CRED_HOSTS 16
struct agent_cred {
  char *name;                        /* for the audit log */
  char *hosts[AGENT_MAX_CRED_HOSTS]; /* lower-case "name" or "name:port"; "*.suffix" only with wildcard */
  size_t n_hosts;
  bool wildcard;
  char *env, *file;   /* where the secret is read from (exactly one) */
  char *header;       /* the header the proxy sets, replacing the agent's */
  char *prefix;       /* put before the secret ("Bearer ") */
  char *placeholder;  /* environment variable given to the agent, or NULL */
};

struct agent_policy {
  char *rootfs; /* NULL = host OS directories */
  bool workspace_writable;
  struct agent_mount_req mounts[AGENT_MAX_LIST];
  size_t n_mounts;
  enum agent_net net;
  char *allow[AGENT_MAX_LIST];
  size_t n_allow;
  char *no_proxy[AGENT_MAX_LIST];
  size_t n_no_proxy;
  bool has_no_proxy;
  struct agent_kv env[AGENT_MAX_LIST];
  size_t n_env;
  struct agent_kv secrets[AGENT_MAX_LIST];
  size_t n_secrets;
  uint64_t memory;   /* bytes */
  double cpus;
  uint64_t pids;
  uint64_t timeout_ms;
  uint64_t disk; /* bytes the sandbox may add on host-backed writable mounts; 0 = no budget asked */
  bool allow_unlimited;
  bool seccomp_notify; /* route explicit denials to us for the audit log */
  struct agent_cred creds[AGENT_MAX_CREDS];
  size_t n_creds;
};

struct agent_allowlist {
  bool present;
  struct agent_mount_req roots[AGENT_MAX_LIST]; /* source = root, writable */
  size_t n_roots;
  char *blocked[AGENT_MAX_LIST];
  size_t n_blocked;
  bool untrusted_read_only;
  char *trusted_groups[AGENT_MAX_LIST];
  size_t n_trusted;
};

/* policy.c */
void agent_policy_defaults(struct agent_policy *p);
struct agent_guard;
int agent_policy_load(struct agent_policy *p, const char *path, struct agent_guard *g, cove_err *err);
int agent_policy_parse(struct agent_policy *p, const char *text, const char *what, cove_err *err);
void agent_policy_free(struct agent_policy *p);
int agent_allowlist_load(struct agent_allowlist *a, const char *path, struct agent_guard *g, cove_err *err);
/* The file's text (NUL-terminated); `path` only names it in messages. On
 * failure *a may hold partial results: agent_allowlist_free() it. */
int agent_allowlist_parse(struct agent_allowlist *a, const char *text, const char *path, cove_err *err);
void agent_allowlist_free(struct agent_allowlist *a);
int agent_parse_size(const char *s, uint64_t *out);
char *agent_read_small_file(const char *path, size_t max, cove_err *err);

/* files.c: the orchestrator's own reads and writes on the host */
struct agent_out {
  const char *what;    /* option name, for messages */
  char dir[4096];      /* canonical directory */
  char base[256];
  char path[4400];     /* dir/base, for messages and records */
  int dirfd, fd;       /* fd: -1 until agent_out_create */
};
/* Resolves the directory (no symlinks), refuses an existing file; creates
 * nothing. */
int agent_out_prepare(struct agent_out *o, const char *path, const char *what, cove_err *err);
/* O_EXCL|O_NOFOLLOW below the held directory fd, no symlinks. */
int agent_out_create(struct agent_out *o, cove_err *err);
void agent_out_close(struct agent_out *o);
int agent_dir_open(const char *dir, const char *what, char canon[4096], cove_err *err);
/* A regular file with one link, canonical path, opened without symlinks. */
int agent_in_open(const char *path, const char *what, char canon[4096], cove_err *err);
struct agent_guard {
  const char *what;
  char path[4400];
  int fd, dirfd; /* dirfd: the directory (an output's, or the one holding the input) */
  bool output;   /* refused inside any mount; an input only inside writable ones */
};
int agent_guard_input(struct agent_guard *g, int fd, const char *canon, const char *what, cove_err *err);
struct agent_ctx;
int agent_guard_check(struct agent_ctx *c, const struct agent_guard *g, size_t n, cove_err *err);

/* paths.c: XDG locations, run directory, group names */
struct agent_paths {
  char data[4096];    /* $XDG_DATA_HOME/cove */
  char config[4096];  /* $XDG_CONFIG_HOME/cove */
  char state[4096];   /* $XDG_STATE_HOME/cove */
  char runbase[4096]; /* private run dirs: /run/cove-agent or $XDG_RUNTIME_DIR/cove-agent */
  char home[4096];
};
int agent_paths_init(struct agent_paths *p, cove_err *err);
void agent_paths_set_runbase(const char *dir); /* cove --root */
int agent_validate_group(const char *g, cove_err *err);
int agent_mkdir_p(const char *path, mode_t mode, cove_err *err);

/* audit.c: JSON lines, one global file and one per group */
/* Per-run audit volume is bounded: past AGENT_AUDIT_BUDGET bytes one
 * `audit_limit` line is written, then only the final lines (`final` set:
 * denial summaries and `end`). */
#define AGENT_AUDIT_BUDGET (1024 * 1024)
struct agent_audit {
  int global_fd, group_fd;
  char run_id[64], group[128];
  bool echo; /* also print each line on stderr (demo) */
  size_t written;
  bool capped, final;
  unsigned long long dropped;
};
int agent_audit_open(struct agent_audit *a, const struct agent_paths *p, const char *group, const char *run_id,
                     cove_err *err);
void agent_audit_close(struct agent_audit *a);
/* event, then NULL-terminated fields: a "key", "value" pair of strings
 * (NULL value: null), or a typed field written with AUDIT_INT,
 * AUDIT_INT_IF or AUDIT_BOOL. The type travels as a tag pointer (an
 * address no string can equal), so no value, however an agent shaped it,
 * is ever written unescaped. */
void agent_audit(struct agent_audit *a, const char *event, ...) __attribute__((sentinel));
extern const char agent_audit_int_tag[], agent_audit_bool_tag[];
#define AUDIT_INT(key, v) agent_audit_int_tag, (const char *)(key), 1, (long long)(v)
/* null unless known */
#define AUDIT_INT_IF(known, key, v) agent_audit_int_tag, (const char *)(key), (int)!!(known), (long long)(v)
#define AUDIT_BOOL(key, v) agent_audit_bool_tag, (const char *)(key), (int)!!(v)

/* mounts.c: every host path the sandbox will see, as an fd we hold */
enum agent_mount_kind { AM_BIND, AM_TMPFS, AM_PROC, AM_DEVPTS, AM_SYMLINK };
struct agent_mount {
  enum agent_mount_kind kind;
  char *destination;
  int fd; /* AM_BIND: O_PATH fd of the checked source */
  bool writable, recursive;
  bool walk;  /* AM_BIND: walked and masked in the sandbox's mount ns (agent_mask_stage) */
  char *link; /* AM_SYMLINK target (created in the rootfs skeleton) */
  char *origin; /* host path, for the audit log */
};
struct agent_plan {
  struct agent_mount *m;
  size_t n, cap;
  char *masked_paths[32];
  size_t n_masked_paths;
  int empty_file_fd, empty_dir_fd; /* sources of masks */
  size_t n_masks;
  /* the sandbox's root: until the run dir exists the checked policy rootfs
   * (O_PATH) or -1 (host OS directories); then the run dir's skeleton or
   * the policy rootfs, and after make_namespaces its sandbox-namespace
   * fd (staged and masked for a policy rootfs), handed over as root.path */
  int rootfs_fd;
  char *rootfs_origin; /* a policy rootfs's canonical path */
};
struct agent_ctx; /* run.c */
int agent_blocked_component(const char *path, const struct agent_allowlist *al, const char **which);
int agent_plan_build(struct agent_ctx *c, cove_err *err);
void agent_plan_free(struct agent_plan *p);
/* Credentials: the system CA bundle plus the run's CA, written to the run
 * directory (public certificates only) and bound read-only over
 * AGENT_CA_BUNDLE. After the run directory exists, before the namespaces. */
int agent_plan_ca_bundle(struct agent_ctx *c, cove_err *err);
void agent_plan_close_fds(struct agent_plan *p);
/* Namespace helper only (in the sandbox's mount namespace): clone src
 * non-recursively at the directory `stage`, walk it and mount the empty
 * file/dir over every entry to hide, by fd. Returns the staged tree's fd
 * (bind it recursively), -2 when src is not a directory, -1 on error. */
int agent_mask_stage(struct agent_ctx *c, const char *dest_root, int src, int empty_file, int empty_dir,
                     int idmap_userns, const char *stage, unsigned *masks, cove_err *err);
/* The fds we hold, as the /proc/self/fd path handed to the runtime. */
void agent_fd_source(char out[static 32], int fd);
/* Tests only: pause between resolving sources and mounting them. */
void agent_test_pause(const char *where);

/* disk.c: limits.disk, enforced or refused (fail closed) */
struct agent_ctx;
int agent_disk_check(struct agent_ctx *c, cove_err *err);

/* bundle.c: config.json */
/* The sandbox's config.json, in memory (malloc'd, *len bytes); saved
 * into RUNDIR/bundle for inspection by agent_bundle_save(). */
/* policy/agent-seccomp.json, parsed once per run (cove_json_tree_free) */
yajl_val agent_profile_load(cove_err *err);
char *agent_bundle_json(struct agent_ctx *c, yajl_val prof, bool with_limits, size_t *len, cove_err *err);
int agent_bundle_save(struct agent_ctx *c, const char *json, size_t len, cove_err *err);

/* netns.c: the sandbox's user + mount (+ network) namespaces, made
 * ahead of it; mount sources re-opened inside and verified (see netns.c) */
#define AGENT_NETNS_MAX_SOURCES 1024
struct agent_netns {
  int userns_fd, mntns_fd, netns_fd, listen_fd;
  int port;
};
/* As root the sandbox's root is this one host uid and gid, never the
 * host's root; the same for every run (docs/agent.md, "Identity"). */
#define AGENT_HOST_ID 2147221504u
/* agent_netns_req.idmap[i]: no idmapped mount, the sandbox's own user
 * namespace (source owned by root), or a user namespace fd. */
#define AGENT_IDMAP_NONE (-1)
#define AGENT_IDMAP_SANDBOX (-2)
struct agent_netns_req {
  bool new_net, listener;
  bool host_root;   /* we are root: map the sandbox to AGENT_HOST_ID, sources idmapped */
  const int *idmap; /* per source, AGENT_IDMAP_* or a user namespace fd */
  const char *const *paths; /* canonical paths of the checked sources */
  const int *checked;       /* the orchestrator's fds of them */
  size_t n_sources;
  /* per source: the sandbox path to walk and mask under (NULL = none,
   * "" = the root); the last two sources are the empty file and directory */
  const char *const *walk_roots;
  struct agent_ctx *ctx;
  const char *stage_dir; /* private directory for the staged trees */
  /* the third-last source is the run directory's empty rootfs: a fresh
   * tmpfs mounted on it in the sandbox's mount namespace is the root
   * (with the plan's AM_SYMLINK entries), not the directory itself */
  bool skeleton;
  unsigned masks; /* out: entries masked */
};
/* On success reopened[i] is the sandbox-namespace fd of paths[i]. */
int agent_netns_create(struct agent_netns *n, struct agent_netns_req *q, int *reopened, cove_err *err);
void agent_netns_close(struct agent_netns *n);
/* Idmapping helpers (root only): a user namespace mapping host uid:gid
 * to `base`, and MOUNT_ATTR_IDMAP on a detached tree (userns < 0: none),
 * failing with an error naming `origin`. */
int agent_idmap_userns(uid_t uid, gid_t gid, uid_t base, cove_err *err);
int agent_idmap_tree(int tree, int userns, const char *origin, cove_err *err);

/* creds.c: the secrets (read once, held only here) and the pure request
 * rewriting of credentialed connections (unit-tested and fuzzed) */
#define AGENT_CRED_PLACEHOLDER "cove-placeholder"
#define AGENT_CA_BUNDLE "/etc/ssl/certs/ca-certificates.crt"
struct agent_tls;
struct agent_creds {
  size_t n;
  char *value[AGENT_MAX_CREDS]; /* header value: prefix + secret; wiped on free */
  struct agent_tls *tls;        /* the run's CA; NULL without credentials */
};
/* Reads every credential's secret (env var of this process or file) and
 * makes the run's CA. *out stays NULL when the policy has no credentials. */
struct agent_ctx;
int agent_creds_load(struct agent_ctx *c, cove_err *err); /* sets c->creds */
void agent_creds_free(struct agent_creds *cr);
/* The credential index for host:port (exact or wildcard; a credential
 * host without port means 443 and 80), -1 for none. IP literals never. */
int agent_cred_match(const struct agent_policy *p, const char *host, int port);
/* The head (ending in the blank line) with every `name` header removed
 * and "name: value" added; -1 when it does not fit outsz. */
int agent_head_inject(char *head, size_t *len, size_t outsz, const char *name, const char *value);
/* One request head inside an intercepted TLS connection to host:port:
 * origin-form or https:// absolute-form naming that host:port, exactly one
 * Host naming it, Content-Length or chunked. out gets the head to send
 * upstream (origin-form, proxy and hop-by-hop headers dropped). */
struct agent_tls_req {
  char method[16];
  size_t path_len;
  long long content_length; /* -1 none */
  bool chunked, close;      /* client asked to close after this one */
  size_t head_len;
  int status;
  const char *reason;
};
int agent_tls_req_parse(const char *buf, size_t len, size_t max, const char *host, int port,
                        struct agent_tls_req *r, char *out, size_t outsz, size_t *outlen);
/* A response head: status, framing (given the request's method), close */
enum agent_body_mode { AGENT_BODY_NONE, AGENT_BODY_LENGTH, AGENT_BODY_CHUNKED, AGENT_BODY_CLOSE };
struct agent_resp {
  int status;
  enum agent_body_mode mode;
  long long length;
  bool close;
  size_t head_len;
};
int agent_resp_parse(const char *buf, size_t len, size_t max, const char *method, struct agent_resp *r);
/* Message body framing: how many of n bytes belong to the body; *done
 * once it ended, -1 on a malformed chunked body. */
struct agent_body {
  enum agent_body_mode mode;
  long long left; /* LENGTH: bytes left; CHUNKED: of the current chunk */
  int st;
  bool done;
};
void agent_body_init(struct agent_body *b, enum agent_body_mode m, long long len);
long agent_body_scan(struct agent_body *b, const char *p, size_t n);

/* tls_load.c: the TLS module (tls_module.h), loaded on first use. The
 * calls below go through its table; load fails with why (module missing,
 * not trusted, built without OpenSSL). */
int agent_tls_load(cove_err *err);
struct agent_tls *agent_tls_new(cove_err *err);
void agent_tls_free(struct agent_tls *t);
/* The CA certificate, PEM (static for the run) */
const char *agent_tls_ca_pem(struct agent_tls *t);
/* server: we present a leaf for host (signed by the run CA), ALPN
 * http/1.1 only. client: we verify the upstream against the host's trust
 * store (SSL_CERT_FILE respected) with a hostname check, SNI host. */
struct agent_tls_conn *agent_tls_server(struct agent_tls *t, int fd, const char *host);
struct agent_tls_conn *agent_tls_client(struct agent_tls *t, int fd, const char *host);
void agent_tls_conn_free(struct agent_tls_conn *c);
int agent_tls_handshake(struct agent_tls_conn *c);
int agent_tls_read(struct agent_tls_conn *c, char *buf, size_t n);
int agent_tls_write(struct agent_tls_conn *c, const char *buf, size_t n);
bool agent_tls_pending(struct agent_tls_conn *c);
/* after a handshake: the client's SNI (server side), or why it failed */
const char *agent_tls_sni(struct agent_tls_conn *c);
const char *agent_tls_error(struct agent_tls_conn *c);

/* proxy.c */
struct agent_proxy;
struct pollfd;
struct agent_proxy *agent_proxy_new(int listen_fd, const struct agent_policy *p, struct agent_creds *cr,
                                    struct agent_audit *audit);
/* Adds the fds to watch; returns how many were added (at most max). */
size_t agent_proxy_pollfds(struct agent_proxy *px, struct pollfd *pfd, size_t max);
void agent_proxy_dispatch(struct agent_proxy *px, const struct pollfd *pfd, size_t n);
/* Closes what is still open (audited), reports the totals, frees. */
void agent_proxy_free(struct agent_proxy *px, unsigned *allowed, unsigned *denied);

/* http.c: the proxy's pure checks (unit-tested on buffers) */
struct sockaddr;
struct agent_http_req {
  char method[16];
  char host[256]; /* lower-case, IPv6 without brackets; raw when refused */
  int port;
  bool is_connect;
  long long content_length; /* -1: none */
  size_t head_len;          /* bytes of the head, blank line included */
  int status;               /* AGENT_HTTP_BAD: the reply's status and why */
  const char *reason;
};
enum { AGENT_HTTP_BAD = -1, AGENT_HTTP_INCOMPLETE = 0, AGENT_HTTP_OK = 1 };
/* Parses and checks one request head at the start of buf (at most max
 * bytes are ever buffered). For plain HTTP, out receives the head to send
 * upstream: origin-form, Host from the URL, hop-by-hop headers dropped,
 * `Connection: close` — one request per connection. */
int agent_http_parse(const char *buf, size_t len, size_t max, struct agent_http_req *r, char *out, size_t outsz,
                     size_t *outlen);
/* host[:port] or [v6][:port] → lower-case host, port (dport if absent);
 * -1 if it is not a DNS name or IP literal, or the port is bad */
int agent_hostport_parse(const char *s, size_t len, char *host, size_t hsz, int *port, int dport);
bool agent_http_tchar(unsigned char c);
/* One header line of a head whose lines all end in CRLF (checked by the
 * caller): name, value trimmed of blanks, and where the next line starts.
 * strict (requests): the name must be a non-empty token. Returns NULL or
 * why the line is malformed. Shared by the three HTTP parsers so they
 * cannot split a line differently. */
struct agent_http_field {
  const char *name, *v, *ve, *line, *next;
  size_t nl;
};
const char *agent_http_field(const char *l, const char *lim, bool strict, struct agent_http_field *f);
bool agent_http_field_is(const struct agent_http_field *f, const char *name);
/* A Content-Length value: digits only, at most 15 of them; -1 if not. */
long long agent_http_content_length(const char *v, const char *ve);
/* A complete request head (its blank line at `end`), its first line split
 * "METHOD SP target SP version CRLF". Shared by the proxy's two request
 * parsers: split returns NULL or why the line is malformed; check then
 * wants a token method, a visible-ASCII target, HTTP/1.0 or 1.1, and in
 * the whole head CR and LF only as CRLF, no NUL (both a 400). */
struct agent_http_line {
  const char *buf, *end, *eol, *sp1, *sp2;
};
const char *agent_http_line_split(const char *buf, size_t len, const char *end, size_t method_max,
                                  struct agent_http_line *l);
const char *agent_http_line_check(const struct agent_http_line *l);
/* An allow-list entry: name, *.suffix, IP literal, each with an optional
 * :port (port 0 = any); bare IPv6 literals have no port */
int agent_allow_entry_parse(const char *entry, char *host, size_t hsz, int *port);
/* Any form getaddrinfo takes as an address (inet_aton's included) */
bool agent_ip_literal(const char *host);
/* IPv4 in a form other than dotted quad: 2130706433, 0x7f.1, 127.1 */
bool agent_ip_noncanonical(const char *host);
/* port 0: whether any entry names the host, whatever its port */
bool agent_host_allowed(const struct agent_policy *p, const char *host, int port, bool *exact);
/* Not the public internet (loopback, private, link-local, CGNAT, NAT64,
 * 6to4, Teredo, documentation, multicast, reserved...) */
bool agent_addr_refused(const struct sockaddr *sa);

/* notify.c: seccomp user notifications for the explicit denials */
/* Repeated denials are aggregated: the first AGENT_DENIAL_LOG_FIRST of
 * each syscall get a line, then a `seccomp_summary` line per syscall every
 * AGENT_DENIAL_SUMMARY_S seconds and at the end. */
#define AGENT_DENIAL_LOG_FIRST 10
#define AGENT_DENIAL_SUMMARY_S 10
#define AGENT_DENIAL_KINDS 64
struct agent_denial_count {
  uint32_t arch;
  int nr;
  unsigned long long count, reported;
};
struct agent_notify {
  int listen_fd, conn_fd, notify_fd;
  int sock_path_fd; /* O_PATH fd of the socket file: the sandbox connects through /proc/self/fd */
  unsigned denials;
  struct agent_audit *audit;
  struct agent_denial_count kinds[AGENT_DENIAL_KINDS];
  size_t nkinds;
  int64_t last_summary_ns;
};
/* summary lines for the denials not yet reported (final: the run's last) */
void agent_notify_summary(struct agent_notify *n, bool final);
int agent_notify_listen(struct agent_notify *n, const char *sock_path, cove_err *err);
size_t agent_notify_pollfds(struct agent_notify *n, struct pollfd *pfd);
void agent_notify_dispatch(struct agent_notify *n, const struct pollfd *pfd, size_t cnt);
void agent_notify_close(struct agent_notify *n);

/* stdio.c: pipes between the sandbox and the caller's stdio */
/* One output stream: the sandbox's pipe to where the caller wants it. */
struct agent_relay {
  int src;    /* our read end of the sandbox's pipe */
  int dst;    /* the caller's fd (not owned) */
  int own;    /* our own non-blocking description of dst, or -1 */
  bool sock;  /* dst is a socket: send(MSG_DONTWAIT) */
  char buf[16384];
  size_t len, off; /* read from src, not yet accepted by dst */
  bool line_start; /* the last byte dst took was '\n' (or none yet) */
  int idx;
};
struct agent_stdio {
  int in_src, in_w; /* ours */
  struct agent_relay out, err;
  int child[3];                   /* the sandbox's ends, until installed */
  char in_buf[16384];
  size_t in_len, in_off;
  bool in_eof;
  bool out_at_line_start; /* the last byte relayed to stdout was '\n' (or none yet) */
  int idx_in_src, idx_in_w;
};
void agent_stdio_init(struct agent_stdio *s);
int agent_stdio_open(struct agent_stdio *s, int out_dst, int err_dst, cove_err *err);
int agent_stdio_install(struct agent_stdio *s, int saved[3], cove_err *err);
void agent_stdio_restore(struct agent_stdio *s, int saved[3]);
size_t agent_stdio_pollfds(struct agent_stdio *s, struct pollfd *pfd); /* at most 4 */
void agent_stdio_dispatch(struct agent_stdio *s, const struct pollfd *pfd);
void agent_stdio_drain(struct agent_stdio *s);
void agent_stdio_close(struct agent_stdio *s);

/* result.c */
struct agent_stats {
  bool known;
  bool oom_killed_known, oom_killed;
  int64_t memory_peak; /* -1 unknown */
  int64_t cpu_usec;    /* -1 unknown */
  int64_t pids_peak;   /* -1 unknown */
};
void agent_stats_collect(struct agent_ctx *c, struct agent_stats *st);
int agent_result_write(FILE *f, struct agent_ctx *c);

/* batch.c: one line of a tasks file, checked as `cove agent batch` does and
 * discarded (tests, fuzzing); *policy_text gets the re-serialised inline
 * policy if there is one. The JUnit text escaper: at most n bytes of s. */
int agent_batch_parse_line(const char *line, size_t lineno, char **policy_text, cove_err *err);
void agent_xml_escape(FILE *f, const char *s, size_t n);

/* run.c */
struct agent_run_opts {
  const char *group;
  const char *policy_file;
  const char *policy_text; /* inline policy (batch) instead of a file */
  const char *workspace;
  const char *timeout; /* overrides the policy */
  bool json;
  const char *stdout_path, *stderr_path;
  char **argv;
  bool echo_audit;
  const char *result_path; /* --result FILE: the record goes there (implies --json) */
  int result_fd;           /* --result-fd N, when has_result_fd */
  bool has_result_fd;
  /* batch: the tasks file and where policy_text was read from, checked
   * like --policy (a sandbox must not be able to write them) */
  const char *tasks_file;
  const char *policy_origin;
  /* batch: every task's policy file, none of which this run may write */
  const char *const *batch_inputs;
  size_t n_batch_inputs;
};
struct agent_ctx {
  const struct agent_run_opts *o;
  struct agent_paths paths;
  struct agent_policy pol;
  struct agent_allowlist al;
  struct agent_audit audit;
  struct agent_plan plan;
  char id[64];
  char group[128];
  char rundir[4096];
  char rootfs[4096]; /* canonical path of the sandbox's root, for messages */
  char workspace[4096];
  bool trusted;
  bool limits_enforced;
  const char *disk_state; /* "enforced", "not_enforced" (allow_unlimited) or "none" (no budget asked) */
  struct agent_netns netns;
  struct agent_notify notify;
  char notify_sock[4096];
  /* outcome */
  int wstatus;
  bool exited;
  int exit_code;    /* meaningful when exited */
  int term_signal;  /* when killed by a signal */
  bool timed_out, interrupted;
  int interrupt_signal;
  int64_t start_ns, end_ns;
  unsigned proxy_allowed, proxy_denied;
  struct agent_creds *creds; /* NULL: the policy has none */
  struct agent_stats stats;
  char error[2048];
  int exec_status; /* the command could not be executed: 126, or 127 when not found */
  struct agent_out out[3]; /* stdout, stderr, result */
  struct agent_guard guards[8];
  size_t n_guards;
  struct agent_stdio io;
};
int agent_run(const struct agent_run_opts *o, int *exit_status);
/* gc.c */
int agent_gc(const struct agent_paths *p, bool verbose, unsigned *removed, cove_err *err);
/* agent_gc() at most once per interval (RUNBASE/.gc-stamp), for run start-up */
void agent_gc_maybe(const struct agent_paths *p);
int agent_run_lock(const char *runbase, const char *id, cove_err *err);
void agent_run_unlock(const char *runbase, const char *id, int lock_fd);
int agent_cgroup_record(const char *rundir, const char *id, cove_err *err);
int agent_run_clean(const char *rundir, const char *id);
void agent_rm_tree(const char *path);
int64_t agent_now_ns(void);

/* batch.c */
struct agent_batch_opts {
  const char *tasks_file;
  unsigned parallel;
  const char *junit;
  const char *output_dir;
};
int agent_batch(const struct agent_batch_opts *o, int *exit_status);
