/* Bad config.json cases that fail while the spec is parsed and validated,
 * as one in-process table (no root, no containers, no cove process): each
 * case is the default `cove spec` document (root and rootless variants)
 * with a patch applied, and cove_spec_parse() must refuse it with a
 * message containing every expected substring (the field's path first).
 *
 * This is the parse-time half of tests/bad/cases.txt; the cases that need
 * a real `cove create` (a namespace path opened, a cgroup written, a
 * console socket, the state root, a symlinked rootfs) stay there.
 *
 * A patch is an RFC 7396 JSON merge patch (objects merge, null deletes,
 * anything else replaces) with two additions for arrays, so that a case
 * reads like the jq filter it replaces: an object whose keys are "[N]"
 * merges into element N of an array, and the key "[+]" appends. */
#include "cove/defaults.h"
#include "cove/error.h"
#include "cove/spec.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

struct bad_case {
  const char *name;
  const char *patch; /* merge patch, or the whole document when raw */
  const char *want[4];
  bool raw;
  enum { BOTH, ROOT_ONLY, ROOTLESS_ONLY } mode;
};

/* Namespaces of the default spec, for cases that replace the whole list. */
#define NS_ROOT "{\"type\":\"pid\"},{\"type\":\"network\"},{\"type\":\"ipc\"},{\"type\":\"uts\"},{\"type\":\"mount\"}," \
                "{\"type\":\"cgroup\"}"
#define USERNS_MAPS(usize) \
  "\"namespaces\":[" NS_ROOT ",{\"type\":\"user\"}],\"uidMappings\":[{\"containerID\":0,\"hostID\":1000,\"size\":" \
  #usize "}],\"gidMappings\":[{\"containerID\":0,\"hostID\":1000,\"size\":1}]"

static const struct bad_case cases[] = {
    /* --- the document itself */
    {.name = "not-json", .patch = "{\"ociVersion\": \"1.3.0\",", .want = {"config.json", "not valid JSON"}, .raw = true},
    {.name = "empty", .patch = "", .want = {"config.json"}, .raw = true},
    {.name = "top-level-array", .patch = "[]", .want = {"config.json", "expected a JSON object"}, .raw = true},
    {.name = "top-level-null", .patch = "null", .want = {"config.json", "expected a JSON object"}, .raw = true},
    /* deep-nesting is generated in main() */
    /* --- ociVersion, root */
    {.name = "ociversion-number", .patch = "{\"ociVersion\":130}", .want = {"ociVersion"}},
    {.name = "ociversion-missing", .patch = "{\"ociVersion\":null}", .want = {"ociVersion", "missing"}},
    {.name = "ociversion-2", .patch = "{\"ociVersion\":\"2.0.0\"}", .want = {"ociVersion", "2.0.0"}},
    {.name = "missing-root", .patch = "{\"root\":null}", .want = {"root"}},
    {.name = "root-not-object", .patch = "{\"root\":\"rootfs\"}", .want = {"root"}},
    {.name = "root-path-missing", .patch = "{\"root\":{\"path\":\"/nonexistent-cove-root\"}}", .want = {"root.path", "/nonexistent-cove-root"}},
    {.name = "root-relative-missing", .patch = "{\"root\":{\"path\":\"nosuchrootfs\"}}", .want = {"root.path", "nosuchrootfs"}},
    {.name = "root-path-number", .patch = "{\"root\":{\"path\":7}}", .want = {"root.path"}},
    {.name = "root-path-empty", .patch = "{\"root\":{\"path\":\"\"}}", .want = {"root.path"}},
    /* --- process */
    {.name = "args-missing", .patch = "{\"process\":{\"args\":null}}", .want = {"process.args"}},
    {.name = "args-empty", .patch = "{\"process\":{\"args\":[]}}", .want = {"process.args"}},
    {.name = "args-not-array", .patch = "{\"process\":{\"args\":\"sh\"}}", .want = {"process.args"}},
    {.name = "args-number", .patch = "{\"process\":{\"args\":[\"echo\",1]}}", .want = {"process.args[1]"}},
    {.name = "cwd-relative", .patch = "{\"process\":{\"cwd\":\"tmp\"}}", .want = {"process.cwd", "tmp"}},
    {.name = "cwd-missing", .patch = "{\"process\":{\"cwd\":null}}", .want = {"process.cwd"}},
    {.name = "env-not-strings", .patch = "{\"process\":{\"env\":[\"A=1\",2]}}", .want = {"process.env[1]"}},
    {.name = "env-no-equals", .patch = "{\"process\":{\"env\":[\"PATH=/bin\",\"NOEQUALS\"]}}", .want = {"process.env[1]", "NOEQUALS"}},
    {.name = "user-uid-string", .patch = "{\"process\":{\"user\":{\"uid\":\"0\"}}}", .want = {"process.user.uid"}},
    {.name = "umask-too-big", .patch = "{\"process\":{\"user\":{\"umask\":99999}}}", .want = {"process.user.umask"}},
    {.name = "rlimit-unknown", .patch = "{\"process\":{\"rlimits\":[{\"type\":\"RLIMIT_FOO\",\"soft\":1,\"hard\":1}]}}",
     .want = {"process.rlimits[0]", "RLIMIT_FOO"}},
    {.name = "rlimit-soft-gt-hard", .patch = "{\"process\":{\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"soft\":100,\"hard\":10}]}}",
     .want = {"process.rlimits[0]"}},
    {.name = "cap-unknown", .patch = "{\"process\":{\"capabilities\":{\"bounding\":{\"[+]\":\"CAP_FOO\"}}}}",
     .want = {"process.capabilities.bounding", "CAP_FOO"}},
    /* libcap matches by prefix: these must not read as CAP_KILL */
    {.name = "cap-prefix-list", .patch = "{\"process\":{\"capabilities\":{\"bounding\":{\"[+]\":\"CAP_KILL,CAP_SYS_ADMIN\"}}}}",
     .want = {"process.capabilities.bounding", "unknown capability"}},
    {.name = "cap-trailing-space", .patch = "{\"process\":{\"capabilities\":{\"bounding\":{\"[+]\":\"CAP_KILL \"}}}}",
     .want = {"process.capabilities.bounding", "unknown capability"}},
    {.name = "cap-lower-tail", .patch = "{\"process\":{\"capabilities\":{\"bounding\":{\"[+]\":\"CAP_kill\"}}}}",
     .want = {"process.capabilities.bounding", "unknown capability"}},
    {.name = "cap-not-array", .patch = "{\"process\":{\"capabilities\":{\"effective\":\"CAP_KILL\"}}}",
     .want = {"process.capabilities.effective"}},
    {.name = "terminal-not-bool", .patch = "{\"process\":{\"terminal\":\"yes\"}}", .want = {"process.terminal"}},
    /* --- mounts */
    {.name = "mounts-not-array", .patch = "{\"mounts\":{}}", .want = {"mounts"}},
    {.name = "mount-not-object", .patch = "{\"mounts\":{\"[2]\":\"x\"}}", .want = {"mounts[2]"}},
    {.name = "mount-dest-relative", .patch = "{\"mounts\":{\"[2]\":{\"destination\":\"dev/pts\"}}}", .want = {"mounts[2].destination", "dev/pts"}},
    {.name = "mount-dest-missing", .patch = "{\"mounts\":{\"[2]\":{\"destination\":null}}}", .want = {"mounts[2].destination"}},
    {.name = "mount-type-number", .patch = "{\"mounts\":{\"[2]\":{\"type\":5}}}", .want = {"mounts[2].type"}},
    {.name = "mount-options-string", .patch = "{\"mounts\":{\"[2]\":{\"options\":\"ro\"}}}", .want = {"mounts[2].options"}},
    {.name = "mount-option-not-string", .patch = "{\"mounts\":{\"[2]\":{\"options\":[\"ro\",5]}}}", .want = {"mounts[2].options"}},
    /* --- linux.namespaces and id mappings */
    {.name = "ns-unknown-type", .patch = "{\"linux\":{\"namespaces\":{\"[+]\":{\"type\":\"foo\"}}}}", .want = {"linux.namespaces", "foo"}},
    {.name = "ns-duplicate", .patch = "{\"linux\":{\"namespaces\":{\"[+]\":{\"type\":\"pid\"}}}}", .want = {"linux.namespaces", "pid"}},
    {.name = "ns-not-array", .patch = "{\"linux\":{\"namespaces\":{}}}", .want = {"linux.namespaces"}},
    {.name = "ns-type-missing", .patch = "{\"linux\":{\"namespaces\":{\"[+]\":{\"path\":\"/proc/self/ns/net\"}}}}",
     .want = {"linux.namespaces"}},
    {.name = "ns-path-relative", .patch = "{\"linux\":{\"namespaces\":{\"[1]\":{\"path\":\"proc/1/ns/net\"}}}}", .want = {"linux.namespaces", "proc/1/ns/net"}},
    {.name = "no-mount-ns",
     .patch = "{\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"network\"},{\"type\":\"ipc\"},{\"type\":\"uts\"},"
     "{\"type\":\"cgroup\"}]}}",
     .want = {"linux.namespaces", "mount"},
     .mode = ROOT_ONLY},
    {.name = "mappings-without-userns",
     .patch = "{\"linux\":{\"namespaces\":[" NS_ROOT "],\"uidMappings\":[{\"containerID\":0,\"hostID\":1000,\"size\":1}],"
     "\"gidMappings\":[{\"containerID\":0,\"hostID\":1000,\"size\":1}]}}",
     .want = {"linux.uidMappings"}},
    {.name = "uid-mapping-size-0", .patch = "{\"linux\":{" USERNS_MAPS(0) "}}", .want = {"linux.uidMappings[0].size"}},
    {.name = "uid-mapping-not-array",
     .patch = "{\"linux\":{\"namespaces\":[" NS_ROOT ",{\"type\":\"user\"}],\"uidMappings\":{},"
     "\"gidMappings\":[{\"containerID\":0,\"hostID\":1000,\"size\":1}]}}",
     .want = {"linux.uidMappings"}},
    /* --- hostname and other linux fields */
    {.name = "hostname-without-uts",
     .patch = "{\"hostname\":\"x\",\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"network\"},{\"type\":\"ipc\"},"
     "{\"type\":\"mount\"},{\"type\":\"cgroup\"}]}}",
     .want = {"hostname", "uts"},
     .mode = ROOT_ONLY},
    {.name = "hostname-not-string", .patch = "{\"hostname\":5}", .want = {"hostname"}},
    {.name = "seccomp-bad-action", .patch = "{\"linux\":{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_FOO\",\"syscalls\":[]}}}",
     .want = {"linux.seccomp.defaultAction", "SCMP_ACT_FOO"}},
    {.name = "seccomp-bad-rule-action",
     .patch = "{\"linux\":{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"getpid\"],"
     "\"action\":\"SCMP_ACT_NOPE\"}]}}}",
     .want = {"linux.seccomp.syscalls[0].action", "SCMP_ACT_NOPE"}},
    {.name = "mountlabel-no-selinux", .patch = "{\"linux\":{\"mountLabel\":\"system_u:object_r:container_file_t:s0\"}}",
     .want = {"linux.mountLabel"}},
    {.name = "device-bad-type", .patch = "{\"linux\":{\"devices\":[{\"path\":\"/dev/foo\",\"type\":\"x\",\"major\":1,\"minor\":1}]}}",
     .want = {"linux.devices[0].type"}},
    {.name = "masked-relative", .patch = "{\"linux\":{\"maskedPaths\":[\"proc/kcore\"]}}", .want = {"linux.maskedPaths[0]"}},
    {.name = "readonly-relative", .patch = "{\"linux\":{\"readonlyPaths\":[\"proc/sys\"]}}", .want = {"linux.readonlyPaths[0]"}},
    {.name = "propagation-unknown", .patch = "{\"linux\":{\"rootfsPropagation\":\"weird\"}}", .want = {"linux.rootfsPropagation", "weird"}},
    {.name = "sysctl-net-without-netns",
     .patch = "{\"linux\":{\"sysctl\":{\"net.ipv4.ip_forward\":\"1\"},\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"ipc\"},"
     "{\"type\":\"uts\"},{\"type\":\"mount\"},{\"type\":\"cgroup\"}]}}",
     .want = {"linux.sysctl", "net.ipv4.ip_forward"},
     .mode = ROOT_ONLY},
    {.name = "sysctl-not-namespaced", .patch = "{\"linux\":{\"sysctl\":{\"vm.swappiness\":\"1\"}}}", .want = {"linux.sysctl", "vm.swappiness"}},
    {.name = "cgroupspath-dotdot", .patch = "{\"linux\":{\"cgroupsPath\":\"a/../../x\"}}", .want = {"linux.cgroupsPath", ".."}},
    {.name = "cgroupspath-empty-component", .patch = "{\"linux\":{\"cgroupsPath\":\"a//b\"}}", .want = {"linux.cgroupsPath"}},
    /* --- linux.resources */
    {.name = "res-not-object", .patch = "{\"linux\":{\"resources\":5}}", .want = {"linux.resources", "expected object"}},
    {.name = "mem-limit-negative", .patch = "{\"linux\":{\"resources\":{\"memory\":{\"limit\":-5}}}}",
     .want = {"linux.resources.memory.limit", "negative"}},
    {.name = "mem-limit-string", .patch = "{\"linux\":{\"resources\":{\"memory\":{\"limit\":\"1G\"}}}}", .want = {"linux.resources.memory.limit"}},
    {.name = "mem-limit-tiny", .patch = "{\"linux\":{\"resources\":{\"memory\":{\"limit\":100}}}}",
     .want = {"linux.resources.memory.limit", "absurdly small"}},
    {.name = "mem-swap-below-limit", .patch = "{\"linux\":{\"resources\":{\"memory\":{\"limit\":100000000,\"swap\":50000000}}}}",
     .want = {"linux.resources.memory.swap"}},
    {.name = "mem-swappiness-range", .patch = "{\"linux\":{\"resources\":{\"memory\":{\"swappiness\":101}}}}",
     .want = {"linux.resources.memory.swappiness"}},
    {.name = "cpu-shares-range", .patch = "{\"linux\":{\"resources\":{\"cpu\":{\"shares\":1}}}}",
     .want = {"linux.resources.cpu.shares", "out of range"}},
    {.name = "cpu-quota-tiny", .patch = "{\"linux\":{\"resources\":{\"cpu\":{\"quota\":5}}}}", .want = {"linux.resources.cpu.quota"}},
    {.name = "cpu-quota-negative", .patch = "{\"linux\":{\"resources\":{\"cpu\":{\"quota\":-20}}}}",
     .want = {"linux.resources.cpu.quota", "negative"}},
    {.name = "cpu-period-huge", .patch = "{\"linux\":{\"resources\":{\"cpu\":{\"period\":5000000}}}}", .want = {"linux.resources.cpu.period"}},
    {.name = "cpu-cpus-garbage", .patch = "{\"linux\":{\"resources\":{\"cpu\":{\"cpus\":\"0-a\"}}}}", .want = {"linux.resources.cpu.cpus"}},
    {.name = "cpu-idle-2", .patch = "{\"linux\":{\"resources\":{\"cpu\":{\"idle\":2}}}}", .want = {"linux.resources.cpu.idle"}},
    {.name = "pids-negative", .patch = "{\"linux\":{\"resources\":{\"pids\":{\"limit\":-7}}}}", .want = {"linux.resources.pids.limit", "negative"}},
    {.name = "pids-huge", .patch = "{\"linux\":{\"resources\":{\"pids\":{\"limit\":1e40}}}}", .want = {"linux.resources.pids.limit"}},
    {.name = "blkio-weight-range", .patch = "{\"linux\":{\"resources\":{\"blockIO\":{\"weight\":5}}}}", .want = {"linux.resources.blockIO.weight"}},
    {.name = "blkio-dev-no-major", .patch = "{\"linux\":{\"resources\":{\"blockIO\":{\"throttleReadBpsDevice\":[{\"minor\":0,\"rate\":1}]}}}}",
     .want = {"linux.resources.blockIO.throttleReadBpsDevice[0]"}},
    {.name = "hugepage-size-bad", .patch = "{\"linux\":{\"resources\":{\"hugepageLimits\":[{\"pageSize\":\"2XB\",\"limit\":1}]}}}",
     .want = {"linux.resources.hugepageLimits[0].pageSize"}},
    {.name = "unified-slash", .patch = "{\"linux\":{\"resources\":{\"unified\":{\"memory/../../x\":\"1\"}}}}",
     .want = {"linux.resources.unified", "not a cgroup file name"}},
    {.name = "unified-dotdot", .patch = "{\"linux\":{\"resources\":{\"unified\":{\"..memory.max\":\"1\"}}}}", .want = {"linux.resources.unified"}},
    {.name = "unified-reserved", .patch = "{\"linux\":{\"resources\":{\"unified\":{\"cgroup.procs\":\"1\"}}}}",
     .want = {"linux.resources.unified.cgroup.procs", "managed by the runtime"}},
    {.name = "unified-not-string", .patch = "{\"linux\":{\"resources\":{\"unified\":{\"pids.max\":5}}}}",
     .want = {"linux.resources.unified.pids.max", "expected string"}},
    {.name = "devrule-no-allow", .patch = "{\"linux\":{\"resources\":{\"devices\":[{\"access\":\"rwm\"}]}}}",
     .want = {"linux.resources.devices[0].allow", "required"}},
    {.name = "devrule-bad-type", .patch = "{\"linux\":{\"resources\":{\"devices\":[{\"allow\":true,\"type\":\"x\"}]}}}",
     .want = {"linux.resources.devices[0].type"}},
    {.name = "devrule-bad-access", .patch = "{\"linux\":{\"resources\":{\"devices\":[{\"allow\":false,\"access\":\"rwx\"}]}}}",
     .want = {"linux.resources.devices[0].access", "rwx"}},
    {.name = "devrule-bad-major", .patch = "{\"linux\":{\"resources\":{\"devices\":[{\"allow\":true,\"type\":\"c\",\"major\":-5}]}}}",
     .want = {"linux.resources.devices[0].major"}},
    {.name = "devrule-not-object", .patch = "{\"linux\":{\"resources\":{\"devices\":[\"c 1:3 rwm\"]}}}",
     .want = {"linux.resources.devices[0]", "expected object"}},
    /* --- hooks */
    {.name = "hook-path-relative", .patch = "{\"hooks\":{\"prestart\":[{\"path\":\"bin/true\"}]}}", .want = {"hooks.prestart[0].path"}},
    {.name = "hook-timeout-zero", .patch = "{\"hooks\":{\"poststop\":[{\"path\":\"/bin/true\",\"timeout\":0}]}}",
     .want = {"hooks.poststop[0].timeout"}},
};

/* ---- the patcher: serialise base with patch merged in, on the fly ---- */

static bool is_index_key(const char *k) { return k[0] == '['; }

static yajl_val obj_get(yajl_val o, const char *key)
{
  if (!o || !YAJL_IS_OBJECT(o))
    return NULL;
  for (size_t i = 0; i < o->u.object.len; i++)
    if (strcmp(o->u.object.keys[i], key) == 0)
      return o->u.object.values[i];
  return NULL;
}

static void gen(yajl_gen g, yajl_val base, yajl_val patch);

static void gen_plain(yajl_gen g, yajl_val v) { gen(g, v, NULL); }

static void gen_scalar(yajl_gen g, yajl_val v)
{
  if (YAJL_IS_STRING(v))
    yajl_gen_string(g, (const unsigned char *)v->u.string, strlen(v->u.string));
  else if (YAJL_IS_NUMBER(v))
    yajl_gen_number(g, v->u.number.r, strlen(v->u.number.r));
  else if (YAJL_IS_TRUE(v))
    yajl_gen_bool(g, 1);
  else if (YAJL_IS_FALSE(v))
    yajl_gen_bool(g, 0);
  else
    yajl_gen_null(g);
}

/* base may be NULL (key only in the patch); patch NULL means "unchanged". */
static void gen(yajl_gen g, yajl_val base, yajl_val patch)
{
  if (patch && YAJL_IS_OBJECT(patch) && patch->u.object.len > 0 && is_index_key(patch->u.object.keys[0]) && base &&
      YAJL_IS_ARRAY(base)) {
    yajl_gen_array_open(g);
    for (size_t i = 0; i < base->u.array.len; i++) {
      char k[32];
      snprintf(k, sizeof k, "[%zu]", i);
      gen(g, base->u.array.values[i], obj_get(patch, k));
    }
    yajl_val add = obj_get(patch, "[+]");
    if (add)
      gen_plain(g, add);
    yajl_gen_array_close(g);
    return;
  }
  if (patch && !(YAJL_IS_OBJECT(patch) && base && YAJL_IS_OBJECT(base))) {
    base = patch; /* replaces (objects in it are copied without nulls) */
    patch = NULL;
  }
  if (YAJL_IS_OBJECT(base)) {
    yajl_gen_map_open(g);
    for (size_t i = 0; i < base->u.object.len; i++) {
      const char *k = base->u.object.keys[i];
      yajl_val p = obj_get(patch, k);
      if ((p && YAJL_IS_NULL(p)) || YAJL_IS_NULL(base->u.object.values[i]))
        continue;
      yajl_gen_string(g, (const unsigned char *)k, strlen(k));
      gen(g, base->u.object.values[i], p);
    }
    for (size_t i = 0; patch && i < patch->u.object.len; i++) {
      const char *k = patch->u.object.keys[i];
      yajl_val p = patch->u.object.values[i];
      if (obj_get(base, k) || YAJL_IS_NULL(p))
        continue;
      yajl_gen_string(g, (const unsigned char *)k, strlen(k));
      gen_plain(g, p);
    }
    yajl_gen_map_close(g);
  } else if (YAJL_IS_ARRAY(base)) {
    yajl_gen_array_open(g);
    for (size_t i = 0; i < base->u.array.len; i++)
      gen_plain(g, base->u.array.values[i]);
    yajl_gen_array_close(g);
  } else {
    gen_scalar(g, base);
  }
}

static yajl_val parse_or_die(const char *text, const char *what)
{
  char eb[256];
  yajl_val v = yajl_tree_parse(text, eb, sizeof eb);
  if (!v) {
    fprintf(stderr, "test_spec_bad: %s: bad JSON: %s\n", what, eb);
    exit(2);
  }
  return v;
}

/* The patched document, malloc'd. */
static char *apply(yajl_val base, const char *patch_text, const char *what)
{
  yajl_val patch = parse_or_die(patch_text, what);
  yajl_gen g = yajl_gen_alloc(NULL);
  gen(g, base, patch);
  const unsigned char *buf;
  size_t len;
  if (yajl_gen_get_buf(g, &buf, &len) != yajl_gen_status_ok) {
    fprintf(stderr, "test_spec_bad: %s: cannot serialise the patched document\n", what);
    exit(2);
  }
  char *out = strndup((const char *)buf, len);
  yajl_gen_free(g);
  yajl_tree_free(patch);
  return out;
}

/* The default spec as `cove spec [--rootless]` writes it, made runnable
 * the way tests/lib/common.sh's mkbundle does. */
static yajl_val default_spec(bool rootless)
{
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  cove_err err = {0};
  if (!f || cove_spec_default_write(f, rootless, &err) < 0) {
    fprintf(stderr, "test_spec_bad: cove_spec_default_write: %s\n", err.msg);
    exit(2);
  }
  fclose(f);
  yajl_val d = parse_or_die(text, "default spec");
  free(text);
  char *fixed = apply(d, "{\"process\":{\"terminal\":false,\"args\":[\"true\"]}}", "default spec");
  yajl_tree_free(d);
  d = parse_or_die(fixed, "default spec");
  free(fixed);
  return d;
}

static int failures, checks;

/* Parse `doc`; expect success when want is NULL, else failure naming all of want. */
static void expect(const char *name, const char *variant, const char *doc, size_t len, const char *bundle,
                   const char *const *want)
{
  struct cove_spec spec;
  cove_err err = {0};
  int r = cove_spec_parse(&spec, doc, len, bundle, &err);
  cove_spec_free(&spec);
  checks++;
  if (!want || !want[0]) {
    if (r < 0) {
      fprintf(stderr, "FAIL %s (%s): good document refused: %s\n", name, variant, err.msg);
      failures++;
    }
    return;
  }
  if (r == 0) {
    fprintf(stderr, "FAIL %s (%s): accepted\n", name, variant);
    failures++;
    return;
  }
  for (size_t i = 0; i < 4 && want[i]; i++) {
    if (!strcasestr(err.msg, want[i])) {
      fprintf(stderr, "FAIL %s (%s): message lacks '%s': %s\n", name, variant, want[i], err.msg);
      failures++;
    }
  }
  if (strncmp(err.msg, "config.json", 11) != 0) {
    fprintf(stderr, "FAIL %s (%s): message does not start with config.json: %s\n", name, variant, err.msg);
    failures++;
  }
}

static char bundle[64], rootfs[80], config[96];

/* cove_spec_load(): the file around the document (what `cove create` reads). */
static void expect_load(const char *name, const char *want)
{
  struct cove_spec spec;
  cove_err err = {0};
  int r = cove_spec_load(&spec, bundle, &err);
  cove_spec_free(&spec);
  checks++;
  if (r == 0) {
    fprintf(stderr, "FAIL %s: accepted\n", name);
    failures++;
  } else if (!strstr(err.msg, want)) {
    fprintf(stderr, "FAIL %s: message lacks '%s': %s\n", name, want, err.msg);
    failures++;
  }
}

static void test_load(void)
{
  expect_load("missing-config", "config.json");
  if (mkdir(config, 0755) == 0) {
    expect_load("config-is-dir", "config.json");
    rmdir(config);
  }
  FILE *f = fopen(config, "w");
  if (f)
    fclose(f);
  expect_load("empty-file", "config.json: empty");
  unlink(config);
  /* the bundle's config.json is opened O_NOFOLLOW */
  if (symlink("/etc/passwd", config) == 0) {
    expect_load("config-symlink", "config.json");
    unlink(config);
  }
}

static void cleanup(void)
{
  unlink(config);
  rmdir(config);
  rmdir(rootfs);
  rmdir(bundle);
}

int main(int argc, char **argv)
{
  const char *only = argc > 1 ? argv[1] : NULL; /* run only cases whose name contains this */
  snprintf(bundle, sizeof bundle, "/tmp/cove-unit-bundle.XXXXXX");
  if (!mkdtemp(bundle)) {
    perror("mkdtemp");
    return 2;
  }
  snprintf(rootfs, sizeof rootfs, "%s/rootfs", bundle);
  if (mkdir(rootfs, 0755) < 0) {
    perror(rootfs);
    rmdir(bundle);
    return 2;
  }
  snprintf(config, sizeof config, "%s/config.json", bundle);
  atexit(cleanup);
  test_load();

  for (int rootless = 0; rootless <= 1; rootless++) {
    const char *variant = rootless ? "rootless" : "root";
    yajl_val base = default_spec(rootless);
    /* the base itself must parse, or every case would pass for nothing */
    char *good = apply(base, "{}", "good");
    expect("good", variant, good, strlen(good), bundle, NULL);
    free(good);

    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
      const struct bad_case *c = &cases[i];
      if ((c->mode == ROOT_ONLY && rootless) || (c->mode == ROOTLESS_ONLY && !rootless))
        continue;
      if (only && !strstr(c->name, only))
        continue;
      if (c->raw) {
        expect(c->name, variant, c->patch, strlen(c->patch), bundle, c->want);
        continue;
      }
      char *doc = apply(base, c->patch, c->name);
      expect(c->name, variant, doc, strlen(doc), bundle, c->want);
      free(doc);
    }
    yajl_tree_free(base);
  }

  /* 300k nested arrays: yajl recurses per level and would overflow the stack */
  size_t n = 300000;
  const char *head = "{\"ociVersion\":\"1.3.0\",\"x\":";
  size_t hl = strlen(head), len = hl + 2 * n + 1;
  char *deep = malloc(len);
  memcpy(deep, head, hl);
  memset(deep + hl, '[', n);
  memset(deep + hl + n, ']', n);
  deep[len - 1] = '}';
  expect("deep-nesting", "raw", deep, len, bundle, (const char *const[]){"config.json", "nested deeper than 64", NULL});
  free(deep);

  printf("test_spec_bad: %d checks, %d failed\n", checks, failures);
  return failures ? 1 : 0;
}
