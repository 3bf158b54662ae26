#!/usr/bin/env python3
"""Checks the generated `spec` and `features` documents: valid JSON, valid
against the OCI v1.3 schemas, and (spec) identical to `runc spec` apart
from cove's documented differences.

usage: test_defaults.py TEST_DEFAULTS_BINARY [SCHEMA_DIR]"""
import json, os, subprocess, sys, tempfile, warnings

binary = sys.argv[1]
schema_dir = sys.argv[2] if len(sys.argv) > 2 else "/work/shared/reference/oci-runtime-spec-v1.3.0/schema"
fails = 0

def fail(msg):
    global fails
    fails += 1
    print("FAIL:", msg)

def gen(what):
    return json.loads(subprocess.run([binary, what], check=True, capture_output=True).stdout)

def validate(doc, schema_file):
    try:
        import jsonschema
    except ImportError:
        print("skip schema validation (no jsonschema module)")
        return
    with open(os.path.join(schema_dir, schema_file)) as f:
        schema = json.load(f)
    warnings.simplefilter("ignore", DeprecationWarning)
    resolver = jsonschema.RefResolver("file://" + os.path.abspath(schema_dir) + "/", schema)
    v = jsonschema.Draft4Validator(schema, resolver=resolver)
    for e in v.iter_errors(doc):
        fail("%s: %s at %s" % (schema_file, e.message, list(e.path)))

def runc_spec(rootless):
    if subprocess.run(["sh", "-c", "command -v runc"], capture_output=True).returncode:
        return None
    with tempfile.TemporaryDirectory() as d:
        subprocess.run(["runc", "spec"] + (["--rootless"] if rootless else []), cwd=d, check=True)
        with open(os.path.join(d, "config.json")) as f:
            return json.load(f)

def expected_from_runc(r, rootless):
    """Apply cove's deliberate differences to runc's default."""
    r["ociVersion"] = "1.3.0"
    r["hostname"] = "cove"
    r["linux"].pop("resources", None)
    ns = ["pid", "network", "ipc", "uts", "mount", "cgroup"] + (["user"] if rootless else [])
    r["linux"]["namespaces"] = [{"type": t} for t in ns]
    # no ambient set: without inheritable caps the kernel cannot raise them
    r["process"]["capabilities"].pop("ambient", None)
    # rootless keeps its own netns, so a fresh sysfs is allowed
    for m in r["mounts"]:
        if m["destination"] == "/sys":
            m.update({"type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]})
    if rootless:
        for k, host in (("uidMappings", os.getuid()), ("gidMappings", os.getgid())):
            r["linux"][k] = [{"containerID": 0, "hostID": host, "size": 1}]
    return r

for rootless in (False, True):
    name = "spec-rootless" if rootless else "spec"
    doc = gen(name)
    validate(doc, "config-schema.json")
    r = runc_spec(rootless)
    if r is None:
        print("skip runc comparison (runc not installed)")
    elif doc != expected_from_runc(r, rootless):
        fail("%s differs from runc's:\n%s\n--- expected\n%s" % (name, json.dumps(doc, indent=1, sort_keys=True),
                                                                json.dumps(r, indent=1, sort_keys=True)))
    pts = [m for m in doc["mounts"] if m["destination"] == "/dev/pts"][0]
    if ("gid=5" in pts["options"]) == rootless:
        fail("%s: gid=5 on /dev/pts must be present only when not rootless" % name)
    if "resources" in doc["linux"]:
        fail("%s: linux.resources must be absent" % name)

f = gen("features")
validate(f, "features-schema.json")
lin = f["linux"]
if sorted(f["hooks"]) != sorted(["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"]):
    fail("hooks %s" % f["hooks"])
if sorted(lin["namespaces"]) != sorted(["cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"]):
    fail("namespaces %s" % lin["namespaces"])
for c in ("CAP_CHOWN", "CAP_SYS_ADMIN", "CAP_AUDIT_READ"):
    if c not in lin["capabilities"]:
        fail("capability %s missing" % c)
if len(set(f["mountOptions"])) != len(f["mountOptions"]):
    fail("duplicate mount options")
if len(lin["seccomp"]["actions"]) != 9 or len(lin["seccomp"]["operators"]) != 7:
    fail("seccomp actions/operators incomplete")
# cgroupfs v2 + v1 fallback and rdma; the systemd manager when built with
# sd-bus (CMake COVE_SYSTEMD, passed as COVE_BUILT_SYSTEMD; docs/cgroups.md)
sd = os.environ.get("COVE_BUILT_SYSTEMD") == "1"
if lin["cgroup"] != {"v1": True, "v2": True, "systemd": sd, "systemdUser": sd, "rdma": True}:
    fail("cgroup features %s" % lin["cgroup"])
if fails:
    sys.exit(1)
print("ok: spec, spec-rootless, features")
