/* The mount plan (runtime/lib/mount_plan.c) made from a spec, as data: the
 * order of the operations, their phases, cove's defaults and where the
 * config overrides them, and the user-namespace decisions. No root, no
 * container. */
#include "cove/error.h"
#include "cove/spec.h"
#include "mount_plan.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

static int fails;

static void check(int cond, const char *what)
{
  printf("%s: %s\n", cond ? "ok" : "FAIL", what);
  fails += !cond;
}

static const char spec_json[] =
  "{\"ociVersion\":\"1.2.0\",\"root\":{\"path\":\"/\",\"readonly\":true},"
  "\"process\":{\"args\":[\"true\"],\"cwd\":\"/\"},"
  "\"mounts\":[{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},"
  "{\"destination\":\"/dev\",\"type\":\"tmpfs\",\"source\":\"tmpfs\"}],"
  "\"linux\":{\"namespaces\":[{\"type\":\"mount\"},{\"type\":\"pid\"}],"
  "\"devices\":[{\"path\":\"/dev/null\",\"type\":\"c\",\"major\":1,\"minor\":3}],"
  "\"maskedPaths\":[\"/proc/kcore\"],\"readonlyPaths\":[\"/proc/sys\"],\"rootfsPropagation\":\"rslave\"}}";

static const char *kind_name(enum cove_mop_kind k)
{
  static const char *const n[] = {"mount", "device", "devlinks", "console", "readonly", "mask", "rootro", "rootprop"};
  return n[k];
}

int main(void)
{
  struct cove_spec s;
  cove_err err = {0};
  if (cove_spec_parse(&s, spec_json, strlen(spec_json), "/", &err) < 0) {
    printf("FAIL: spec: %s\n", err.msg);
    return 1;
  }
  struct cove_mount_plan p;
  check(cove_mount_plan_build(&p, &s, false, false, true, &err) == 0, "plan built");
  char got[1024] = "";
  for (size_t i = 0; i < p.n; i++)
    snprintf(got + strlen(got), sizeof got - strlen(got), "%s%s:%s:%d", i ? " " : "", kind_name(p.ops[i].kind),
             p.ops[i].path, (int)p.ops[i].phase);
  const char *want = "mount:/proc:0 mount:/dev:0 device:/dev/zero:0 device:/dev/full:0 device:/dev/random:0 "
                     "device:/dev/urandom:0 device:/dev/tty:0 device:/dev/null:0 devlinks:/dev:0 console:/dev/console:1 "
                     "readonly:/proc/sys:2 mask:/proc/kcore:2 rootro:/:2 rootprop:/:2";
  check(strcmp(got, want) == 0, "operations in order: mounts, devices (config's /dev/null replaces the default), "
                                "links, console, then readonly, masked, root");
  if (strcmp(got, want))
    printf("  got:  %s\n  want: %s\n", got, want);
  check(p.ops[7].index == 0 && p.ops[2].index == SIZE_MAX && !p.ops[2].bind_host && !p.ops[0].host_fallback_ok,
        "config device keeps its index, defaults have none; real root: mknod, no host fallback");
  cove_err e = {0};
  snprintf(e.msg, sizeof e.msg, "boom");
  cove_mop_error_prefix(&p.ops[1], &e);
  check(strcmp(e.msg, "mounts[1] (/dev): boom") == 0, "errors name the config field");
  cove_mount_plan_free(&p);

  check(cove_mount_plan_build(&p, &s, true, false, false, &err) == 0 && p.ops[2].bind_host && p.ops[0].host_fallback_ok,
        "user namespace: devices bound from the host, fresh sysfs may fall back");
  bool console = false;
  for (size_t i = 0; i < p.n; i++)
    console |= p.ops[i].kind == COVE_MOP_CONSOLE;
  check(!console, "no terminal: no console operation");
  cove_mount_plan_free(&p);

  s.ns[COVE_NS_MOUNT].wanted = false;
  check(cove_mount_plan_build(&p, &s, false, false, false, &err) == 0 && p.n == 0,
        "no mount namespace: nothing to do (the host's mount table is never touched)");
  cove_mount_plan_free(&p);
  cove_spec_free(&s);
  return fails ? 1 : 0;
}
