/* The agent's policy and mount-allowlist parsers (shims/agent/policy.c) on
 * buffers: defaults, every field's accepted forms, and for every bad input
 * an error that names the file and the field. */
#include "agent.h"

#include <stdio.h>
#include <string.h>

#include "check.h"

static struct agent_policy pol;
static cove_err err;

static int policy(const char *text)
{
  agent_policy_free(&pol);
  agent_policy_defaults(&pol);
  memset(&err, 0, sizeof err);
  return agent_policy_parse(&pol, text, "p.json", &err);
}

/* Refused, with a message naming the file and containing `want`. */
static void bad_policy(int line, const char *text, const char *want)
{
  int r = policy(text);
  checks++;
  if (r == 0 || strncmp(err.msg, "p.json: ", 8) != 0 || !strstr(err.msg, want)) {
    fails++;
    printf("FAIL line %d: %s: r=%d, want \"p.json: ...%s...\", got: %s\n", line, text, r, want, err.msg);
  }
}
#define BAD_POLICY(text, want) bad_policy(__LINE__, text, want)

static struct agent_allowlist al;

static int allowlist(const char *text)
{
  agent_allowlist_free(&al);
  memset(&err, 0, sizeof err);
  return agent_allowlist_parse(&al, text, "/etc/al.json", &err);
}

static void bad_allowlist(int line, const char *text, const char *want)
{
  int r = allowlist(text);
  checks++;
  if (r == 0 || !strstr(err.msg, "/etc/al.json") || !strstr(err.msg, want)) {
    fails++;
    printf("FAIL line %d: %s: r=%d, want \"...%s...\", got: %s\n", line, text, r, want, err.msg);
  }
}
#define BAD_ALLOWLIST(text, want) bad_allowlist(__LINE__, text, want)

static void test_policy(void)
{
  /* defaults survive an empty policy */
  CHECK(policy("{}") == 0 && !pol.rootfs && pol.net == AGENT_NET_NONE && pol.memory == 512ull << 20 &&
            pol.cpus == 1.0 && pol.pids == 256 && pol.timeout_ms == 30ull * 60 * 1000 && pol.seccomp_notify &&
            !pol.workspace_writable && !pol.allow_unlimited,
        "defaults: %s", err.msg);

  /* a full policy */
  CHECK(policy("{\"rootfs\": \"/srv/root\", \"workspace\": {\"writable\": true},"
               " \"mounts\": [{\"source\": \"/data\", \"destination\": \"//mnt/./data/\", \"writable\": true},"
               "              {\"source\": \"/ref\", \"destination\": \"/opt/ref\"}],"
               " \"network\": {\"allow\": [\"pypi.org\", \"*.github.com:443\", \"[::1]:81\"], \"no_proxy\": [\"localhost\"]},"
               " \"env\": {\"LANG\": \"C.UTF-8\", \"_X1\": \"\"}, \"secrets\": {\"api-key.txt\": \"/run/secrets/k\"},"
               " \"limits\": {\"memory\": \"1GiB\", \"cpus\": 0.5, \"pids\": 64, \"timeout\": \"90s\", \"disk\": \"2G\"},"
               " \"allow_unlimited\": true, \"audit_seccomp\": false}") == 0,
        "full policy: %s", err.msg);
  CHECK(pol.rootfs && !strcmp(pol.rootfs, "/srv/root") && pol.workspace_writable, "rootfs, workspace");
  CHECK(pol.n_mounts == 2 && !strcmp(pol.mounts[0].destination, "/mnt/data") && pol.mounts[0].writable &&
            !pol.mounts[1].writable,
        "mounts, destination normalised: %s", pol.n_mounts ? pol.mounts[0].destination : "");
  CHECK(pol.net == AGENT_NET_PROXY && pol.n_allow == 3 && pol.has_no_proxy && pol.n_no_proxy == 1, "network");
  CHECK(pol.n_env == 2 && !strcmp(pol.env[0].key, "LANG") && pol.n_secrets == 1, "env, secrets");
  CHECK(pol.memory == 1ull << 30 && pol.cpus == 0.5 && pol.pids == 64 && pol.timeout_ms == 90000 &&
            pol.disk == 2ull << 30 && pol.allow_unlimited && !pol.seccomp_notify,
        "limits: mem %llu cpus %g pids %llu timeout %llu disk %llu", (unsigned long long)pol.memory, pol.cpus,
        (unsigned long long)pol.pids, (unsigned long long)pol.timeout_ms, (unsigned long long)pol.disk);
  CHECK(policy("{\"rootfs\": \"host\", \"network\": \"host\", \"limits\": {\"memory\": 8388608, \"timeout\": 5}}") ==
                0 &&
            !pol.rootfs && pol.net == AGENT_NET_HOST && pol.memory == 8u << 20 && pol.timeout_ms == 5000,
        "rootfs host, network host, integer limits: %s", err.msg);

  /* the document */
  BAD_POLICY("{", "not valid JSON");
  BAD_POLICY("[]", "expected a JSON object");
  BAD_POLICY("{\"rootfs\": \"/r\", \"mount\": []}", "mount");
  /* rootfs, workspace */
  BAD_POLICY("{\"rootfs\": \"srv/root\"}", "rootfs");
  BAD_POLICY("{\"rootfs\": \"/srv/../etc\"}", "rootfs");
  BAD_POLICY("{\"rootfs\": 5}", "rootfs: expected string");
  BAD_POLICY("{\"workspace\": true}", "workspace: expected object");
  BAD_POLICY("{\"workspace\": {\"writeable\": true}}", "writeable");
  BAD_POLICY("{\"workspace\": {\"writable\": \"yes\"}}", "workspace.writable");
  /* mounts */
  BAD_POLICY("{\"mounts\": {}}", "mounts: expected array");
  BAD_POLICY("{\"mounts\": [\"/a\"]}", "mounts[0]: expected object");
  BAD_POLICY("{\"mounts\": [{\"destination\": \"/mnt/a\"}]}", "mounts[0].source: missing");
  BAD_POLICY("{\"mounts\": [{\"source\": \"/a\"}]}", "mounts[0].destination: missing");
  BAD_POLICY("{\"mounts\": [{\"source\": \"a\", \"destination\": \"/mnt/a\"}]}", "mounts[0].source");
  BAD_POLICY("{\"mounts\": [{\"source\": \"/a\", \"destination\": \"/mnt/../etc\"}]}", "mounts[0].destination");
  BAD_POLICY("{\"mounts\": [{\"source\": \"/a\", \"destination\": \"/mnt/a\", \"ro\": true}]}", "ro");
  BAD_POLICY("{\"mounts\": [{\"source\": \"/a\", \"destination\": \"/\"}]}", "mounts[0].destination");
  BAD_POLICY("{\"mounts\": [{\"source\": \"/a\", \"destination\": \"//\"}]}", "mounts[0].destination");
  BAD_POLICY("{\"mounts\": [{\"source\": \"/a\", \"destination\": \"/workspace/x\"}]}", "/workspace");
  BAD_POLICY("{\"mounts\": [{\"source\": \"/a\", \"destination\": \"/etc\"}]}", "/etc");
  BAD_POLICY("{\"mounts\": [{\"source\": \"/a\", \"destination\": \"/./etc/\"}]}", "/etc");
  BAD_POLICY("{\"mounts\": [{\"source\": \"/a\", \"destination\": \"/home\"}]}", "/home/agent");
  BAD_POLICY("{\"mounts\": [{\"source\": \"/a\", \"destination\": \"/mnt/a\"},"
             " {\"source\": \"/b\", \"destination\": \"/mnt/a/b\"}]}",
             "mounts[1].destination");
  CHECK(policy("{\"mounts\": [{\"source\": \"/a\", \"destination\": \"/mnt/a\"},"
               " {\"source\": \"/b\", \"destination\": \"/mnt/ab\"}]}") == 0,
        "/mnt/a and /mnt/ab do not overlap: %s", err.msg);
  CHECK(policy("{\"mounts\": [{\"source\": \"/a\", \"destination\": \"/etcetera\"}]}") == 0,
        "/etcetera is not under /etc: %s", err.msg);
  BAD_POLICY("{\"mounts\": [{\"source\": \"/a\", \"destination\": \"/mnt/a\", \"writable\": 1}]}",
             "mounts[0].writable");
  /* network */
  BAD_POLICY("{\"network\": \"open\"}", "network");
  BAD_POLICY("{\"network\": 5}", "network");
  BAD_POLICY("{\"network\": {}}", "network.allow: missing");
  BAD_POLICY("{\"network\": {\"allow\": \"a.test\"}}", "network.allow: expected array");
  BAD_POLICY("{\"network\": {\"allow\": [\"a.test\", 5]}}", "network.allow[1]");
  BAD_POLICY("{\"network\": {\"allow\": [\"a b\"]}}", "network.allow[0]");
  BAD_POLICY("{\"network\": {\"allow\": [\"a.test:0\"]}}", "network.allow[0]");
  BAD_POLICY("{\"network\": {\"allow\": [\"127.1\"]}}", "network.allow[0]");
  BAD_POLICY("{\"network\": {\"allow\": [\"*.10.0.0.1\"]}}", "network.allow[0]");
  BAD_POLICY("{\"network\": {\"allow\": [], \"no_proxy\": [\"a/b\"]}}", "network.no_proxy[0]");
  BAD_POLICY("{\"network\": {\"allow\": [], \"deny\": []}}", "deny");
  /* env, secrets */
  BAD_POLICY("{\"env\": []}", "env: expected object");
  BAD_POLICY("{\"env\": {\"1X\": \"v\"}}", "env.1X: invalid name");
  BAD_POLICY("{\"env\": {\"A-B\": \"v\"}}", "env.A-B: invalid name");
  BAD_POLICY("{\"env\": {\"\": \"v\"}}", "invalid name");
  BAD_POLICY("{\"env\": {\"HTTPS_PROXY\": \"http://x\"}}", "env.HTTPS_PROXY");
  BAD_POLICY("{\"env\": {\"A\": 1}}", "env.A: expected string");
  BAD_POLICY("{\"env\": {\"A\": \"1\", \"A\": \"2\"}}", "env.A: duplicate");
  BAD_POLICY("{\"secrets\": {\"k\": \"relative\"}}", "secrets.k");
  BAD_POLICY("{\"secrets\": {\".hidden\": \"/s\"}}", "secrets..hidden: invalid name");
  /* limits */
  BAD_POLICY("{\"limits\": 5}", "limits: expected object");
  BAD_POLICY("{\"limits\": {\"mem\": 5}}", "mem");
  BAD_POLICY("{\"limits\": {\"memory\": \"lots\"}}", "limits.memory");
  BAD_POLICY("{\"limits\": {\"memory\": \"1T\"}}", "limits.memory");
  BAD_POLICY("{\"limits\": {\"memory\": \"-1M\"}}", "limits.memory");
  BAD_POLICY("{\"limits\": {\"memory\": \"1M\"}}", "limits.memory: below 4 MiB");
  BAD_POLICY("{\"limits\": {\"memory\": 0}}", "limits.memory");
  BAD_POLICY("{\"limits\": {\"memory\": \"99999999999999999999G\"}}", "limits.memory");
  BAD_POLICY("{\"limits\": {\"memory\": \"17179869184G\"}}", "limits.memory");
  BAD_POLICY("{\"limits\": {\"memory\": 1.5e9}}", "limits.memory");
  BAD_POLICY("{\"limits\": {\"cpus\": 0}}", "limits.cpus");
  BAD_POLICY("{\"limits\": {\"cpus\": 0.001}}", "limits.cpus");
  BAD_POLICY("{\"limits\": {\"cpus\": 2000}}", "limits.cpus");
  BAD_POLICY("{\"limits\": {\"cpus\": \"2\"}}", "limits.cpus");
  BAD_POLICY("{\"limits\": {\"pids\": 0}}", "limits.pids");
  BAD_POLICY("{\"limits\": {\"pids\": 1.5}}", "limits.pids");
  BAD_POLICY("{\"limits\": {\"timeout\": \"soon\"}}", "limits.timeout");
  BAD_POLICY("{\"limits\": {\"timeout\": \"0s\"}}", "limits.timeout");
  BAD_POLICY("{\"limits\": {\"timeout\": \"-5m\"}}", "limits.timeout");
  BAD_POLICY("{\"limits\": {\"timeout\": 0}}", "limits.timeout");
  BAD_POLICY("{\"limits\": {\"timeout\": \"1e300h\"}}", "limits.timeout");
  /* seconds as an integer must not wrap around when turned into ms:
   * 2^61 s * 1000 is 0 mod 2^64, 2^61 + 1 s would be one second */
  BAD_POLICY("{\"limits\": {\"timeout\": 2305843009213693952}}", "limits.timeout");
  BAD_POLICY("{\"limits\": {\"timeout\": 2305843009213693953}}", "limits.timeout");
  BAD_POLICY("{\"limits\": {\"disk\": \"0\"}}", "limits.disk");
  BAD_POLICY("{\"limits\": {\"disk\": true}}", "limits.disk");
  BAD_POLICY("{\"allow_unlimited\": \"yes\"}", "allow_unlimited");
  BAD_POLICY("{\"audit_seccomp\": 1}", "audit_seccomp");
  /* a size's forms */
  uint64_t v;
  CHECK(agent_parse_size("512", &v) == 0 && v == 512, "bytes");
  CHECK(agent_parse_size("4k", &v) == 0 && v == 4096, "k");
  CHECK(agent_parse_size("3MiB", &v) == 0 && v == 3u << 20, "MiB");
  CHECK(agent_parse_size("2Gb", &v) == 0 && v == 2ull << 30, "Gb");
  CHECK(agent_parse_size("", &v) < 0 && agent_parse_size("M", &v) < 0 && agent_parse_size("1 M", &v) < 0 &&
            agent_parse_size("1MX", &v) < 0 && agent_parse_size("-1", &v) < 0 && agent_parse_size("1P", &v) < 0,
        "bad sizes refused");
  agent_policy_free(&pol);
}

static void test_allowlist(void)
{
  CHECK(allowlist("{}") == 0 && al.present && al.untrusted_read_only && !al.n_roots, "empty: %s", err.msg);
  CHECK(allowlist("{\"roots\": [{\"path\": \"/srv/data\", \"writable\": true}, {\"path\": \"/opt\"}],"
                  " \"blocked_patterns\": [\".ssh\", \"id_rsa\"], \"untrusted_read_only\": false,"
                  " \"trusted_groups\": [\"main\"]}") == 0,
        "full allowlist: %s", err.msg);
  CHECK(al.n_roots == 2 && !strcmp(al.roots[0].source, "/srv/data") && al.roots[0].writable && !al.roots[1].writable &&
            al.n_blocked == 2 && !al.untrusted_read_only && al.n_trusted == 1,
        "allowlist fields");

  BAD_ALLOWLIST("{", "not valid JSON");
  BAD_ALLOWLIST("5", "expected a JSON object");
  BAD_ALLOWLIST("{\"root\": []}", "root");
  BAD_ALLOWLIST("{\"roots\": {}}", "roots");
  BAD_ALLOWLIST("{\"roots\": [\"/srv\"]}", "roots[0]: expected object");
  BAD_ALLOWLIST("{\"roots\": [{}]}", "roots[0].path: missing");
  BAD_ALLOWLIST("{\"roots\": [{\"path\": 5}]}", "roots[0].path");
  BAD_ALLOWLIST("{\"roots\": [{\"path\": \"srv\"}]}", "roots[0].path");
  BAD_ALLOWLIST("{\"roots\": [{\"path\": \"/srv/../etc\"}]}", "roots[0].path");
  BAD_ALLOWLIST("{\"roots\": [{\"path\": \"/srv\", \"rw\": true}]}", "rw");
  BAD_ALLOWLIST("{\"roots\": [{\"path\": \"/srv\", \"writable\": \"true\"}]}", "roots[0].writable");
  BAD_ALLOWLIST("{\"blocked_patterns\": [\"a/b\"]}", "blocked_patterns[0]");
  BAD_ALLOWLIST("{\"blocked_patterns\": [\"\"]}", "blocked_patterns[0]");
  BAD_ALLOWLIST("{\"blocked_patterns\": [1]}", "blocked_patterns[0]");
  BAD_ALLOWLIST("{\"trusted_groups\": \"main\"}", "trusted_groups");
  BAD_ALLOWLIST("{\"untrusted_read_only\": 0}", "untrusted_read_only");
  agent_allowlist_free(&al);
}

int main(void)
{
  test_policy();
  test_allowlist();
  printf("%d checks, %d failures\n", checks, fails);
  return fails ? 1 : 0;
}
