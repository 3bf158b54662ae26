#!/usr/bin/python3
"""The CRI calls kubelet makes, against containerd's CRI plugin, for one
runtime handler. Run by tests/integration/cri.sh once per handler (cove,
runc) with stubs generated at test time from the CRI proto.

usage: cri_cases.py STUBDIR SOCKET HANDLER WORKDIR CGPARENT KUBEPOD RESULTS.json

CGPARENT: absolute cgroup path (cgroupfs driver) under which the pods of
this run go; KUBEPOD: a pod cgroup created beforehand by plain mkdir in
every hierarchy (as kubelet does) with a memory limit on it.

Every case checks what it must be (a FAIL line each); RESULTS.json gets a
short summary per call, which cri.sh compares between the two handlers.
Exit status: the number of failures (capped)."""
import json
import os
import sys
import time

sys.path.insert(0, sys.argv[1])
import grpc  # noqa: E402
import api_pb2 as pb  # noqa: E402
import api_pb2_grpc as rpc  # noqa: E402

_, _, SOCK, HANDLER, WORK, CGPARENT, KUBEPOD, OUT = sys.argv
BUSYBOX = "docker.io/cove/busybox:test"
MB = 1024 * 1024
TIMEOUT = 60  # per call: a hung call fails the case, not the whole test

R = {}  # call -> summary (compared between handlers)
FAILS = []


def fail(msg):
    FAILS.append(msg)
    print(f"FAIL: [{HANDLER}] {msg}", flush=True)


def check(what, expected, actual):
    if expected != actual:
        fail(f"{what}: expected {expected!r}, got {actual!r}")


def log(msg):
    print(f"# [{HANDLER}] {msg}", flush=True)


chan = grpc.insecure_channel("unix://" + SOCK)
rt = rpc.RuntimeServiceStub(chan)
im = rpc.ImageServiceStub(chan)


def call(name, method, req, record=None):
    """Call, remember the outcome under `name`; return the response or the
    grpc error."""
    try:
        resp = method(req, timeout=TIMEOUT)
    except grpc.RpcError as e:
        R.setdefault(name, f"error {e.code().name}")
        return e
    if record is not None:
        R[name] = record(resp)
    else:
        R.setdefault(name, "ok")
    return resp


def ok(resp):
    return not isinstance(resp, grpc.RpcError)


def err_text(resp):
    return f"{resp.code().name}: {resp.details()}" if isinstance(resp, grpc.RpcError) else ""


STATE_NAMES = {0: "CREATED", 1: "RUNNING", 2: "EXITED", 3: "UNKNOWN"}


def cstatus(cid):
    r = rt.ContainerStatus(pb.ContainerStatusRequest(container_id=cid, verbose=True), timeout=TIMEOUT)
    info = json.loads(r.info.get("info", "{}") or "{}")
    return r.status, info.get("pid", 0)


def wait_exited(cid, secs=30):
    end = time.time() + secs
    while time.time() < end:
        st, _ = cstatus(cid)
        if st.state == pb.CONTAINER_EXITED:
            return st
        time.sleep(0.1)
    return cstatus(cid)[0]


def cgfile(pid, ctrl, name):
    """The host's file `name` of pid's cgroup in v1 hierarchy ctrl."""
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            _, ctrls, path = line.rstrip("\n").split(":", 2)
            if ctrl in ctrls.split(","):
                return f"/sys/fs/cgroup/{ctrl}{path}/{name}", path
    return None, None


def read(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError as e:
        return f"unreadable ({e.strerror})"


def pod_config(name, cgparent):
    return pb.PodSandboxConfig(
        metadata=pb.PodSandboxMetadata(name=name, uid=f"uid-{name}", namespace="cove-test", attempt=0),
        hostname=name,
        log_directory=os.path.join(WORK, "logs", name),
        linux=pb.LinuxPodSandboxConfig(
            cgroup_parent=cgparent,
            security_context=pb.LinuxSandboxSecurityContext(
                namespace_options=pb.NamespaceOption(network=pb.POD, pid=pb.CONTAINER, ipc=pb.POD))))


def container_config(name, cmd, resources=None):
    return pb.ContainerConfig(
        metadata=pb.ContainerMetadata(name=name), image=pb.ImageSpec(image=BUSYBOX), command=cmd,
        log_path=f"{name}.log", linux=pb.LinuxContainerConfig(resources=resources or pb.LinuxContainerResources()))


def exec_sync(cid, cmd, timeout=10):
    r = call("ExecSync", rt.ExecSync, pb.ExecSyncRequest(container_id=cid, cmd=cmd, timeout=timeout))
    return r


t0 = time.time()

# ---- the images (imported by cri.sh): what kubelet asks before a pull
r = call("ImageStatus", im.ImageStatus, pb.ImageStatusRequest(image=pb.ImageSpec(image=BUSYBOX)),
         lambda r: "present" if r.image.id else "absent")
check("ImageStatus busybox", "present", R.get("ImageStatus"))
v = call("Version", rt.Version, pb.VersionRequest(), lambda r: f"{r.runtime_name} api {r.runtime_api_version}")

# ---- pod: RunPodSandbox, PodSandboxStatus
pcfg = pod_config(f"pod-{HANDLER}", CGPARENT)
os.makedirs(pcfg.log_directory, exist_ok=True)
r = call("RunPodSandbox", rt.RunPodSandbox, pb.RunPodSandboxRequest(config=pcfg, runtime_handler=HANDLER),
         lambda r: "ok")
if not ok(r):
    fail(f"RunPodSandbox: {err_text(r)}")
    json.dump(R, open(OUT, "w"))
    sys.exit(1)
pod = r.pod_sandbox_id
r = call("PodSandboxStatus", rt.PodSandboxStatus, pb.PodSandboxStatusRequest(pod_sandbox_id=pod, verbose=True),
         lambda r: f"{pb.PodSandboxState.Name(r.status.state)} ip={'yes' if r.status.network.ip else 'no'}")
check("PodSandboxStatus", "SANDBOX_READY ip=yes", R["PodSandboxStatus"])
if ok(r):
    info = json.loads(r.info.get("info", "{}") or "{}")
    check("PodSandboxStatus runtimeHandler", HANDLER, info.get("runtimeHandler"))
    log(f"pod {pod[:12]} ip {r.status.network.ip}")
    spid = info.get("pid", 0)
    if spid:
        f, path = cgfile(spid, "memory", "cgroup.procs")
        check("the sandbox's memory cgroup", f"{CGPARENT}/{pod}", path)

# ---- a container with limits: Create, Start, ContainerStatus
res = pb.LinuxContainerResources(memory_limit_in_bytes=64 * MB, cpu_period=100000, cpu_quota=50000)
# SIGTERM from StopContainer must reach the trap of pid 1
cmd = ["sh", "-c", "trap 'exit 0' TERM; echo out-line; echo err-line >&2; sleep 1000 & wait"]
r = call("CreateContainer", rt.CreateContainer, pb.CreateContainerRequest(
    pod_sandbox_id=pod, config=container_config("main", cmd, res), sandbox_config=pcfg))
if not ok(r):
    fail(f"CreateContainer: {err_text(r)}")
cid = r.container_id if ok(r) else ""
if cid:
    R["ContainerStatus(created)"] = STATE_NAMES[cstatus(cid)[0].state]
    r = call("StartContainer", rt.StartContainer, pb.StartContainerRequest(container_id=cid))
    if not ok(r):
        fail(f"StartContainer: {err_text(r)}")
    st, pid = cstatus(cid)
    R["ContainerStatus"] = STATE_NAMES[st.state]
    check("ContainerStatus after start", "RUNNING", R["ContainerStatus"])

    # ---- limits on the host: the container's cgroup below the pod's
    f, path = cgfile(pid, "memory", "memory.limit_in_bytes")
    R["host: memory cgroup"] = (path or "").replace(cid, "<cid>").replace(CGPARENT, "<parent>")
    check("host: the container's memory cgroup", f"{CGPARENT}/{cid}", path)
    q, _ = cgfile(pid, "cpu", "cpu.cfs_quota_us")
    R["host: limits"] = f"memory={read(f)} quota={read(q)}"
    check("host: limits", f"memory={64 * MB} quota=50000", R["host: limits"])

    # ---- limits inside, where a JVM reads them
    r = exec_sync(cid, ["sh", "-c", "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/cpu/cpu.cfs_quota_us;"
                        " find /sys/fs/cgroup -mindepth 2 -type d | wc -l"])
    R["inside: limits"] = " ".join(r.stdout.decode().split()) if ok(r) else err_text(r)
    check("inside: /sys/fs/cgroup memory limit, cfs quota, no other cgroup", f"{64 * MB} 50000 0", R["inside: limits"])

    # ---- ExecSync: exit codes, stdout and stderr apart, deadline
    r = exec_sync(cid, ["sh", "-c", "echo to-out; echo to-err >&2; exit 3"])
    R["ExecSync"] = (f"rc={r.exit_code} out={r.stdout.decode().strip()} err={r.stderr.decode().strip()}"
                     if ok(r) else err_text(r))
    check("ExecSync", "rc=3 out=to-out err=to-err", R["ExecSync"])
    r = exec_sync(cid, ["true"])
    R["ExecSync(true)"] = f"rc={r.exit_code}" if ok(r) else err_text(r)
    check("ExecSync true", "rc=0", R["ExecSync(true)"])
    r = exec_sync(cid, ["/no/such/binary"])
    R["ExecSync(missing)"] = f"rc={r.exit_code}" if ok(r) else "error"
    if ok(r) and r.exit_code == 0:
        fail("ExecSync of a missing binary succeeded")
    r = exec_sync(cid, ["sleep", "30"], timeout=1)
    R["ExecSync(timeout)"] = f"rc={r.exit_code}" if ok(r) else f"error {r.code().name}"
    if ok(r):
        fail(f"ExecSync past its deadline returned normally (rc={r.exit_code})")
    # the timed-out exec's process goes away with the container at the
    # latest; here: the container still runs
    check("ContainerStatus after a timed-out exec", "RUNNING", STATE_NAMES[cstatus(cid)[0].state])

    # ---- the CRI log file
    logf = os.path.join(pcfg.log_directory, "main.log")
    lines = []
    for _ in range(50):
        try:
            lines = open(logf).read().splitlines()
        except OSError:
            lines = []
        if len(lines) >= 2:
            break
        time.sleep(0.1)
    streams = sorted(" ".join(l.split(" ")[1:]) for l in lines)
    R["log file"] = " | ".join(streams)
    check("CRI log file (stream, tag, text)", "stderr F err-line | stdout F out-line", R["log file"])

    # ---- UpdateContainerResources: host and inside
    r = call("UpdateContainerResources", rt.UpdateContainerResources, pb.UpdateContainerResourcesRequest(
        container_id=cid, linux=pb.LinuxContainerResources(memory_limit_in_bytes=96 * MB, cpu_period=100000,
                                                           cpu_quota=25000)))
    if not ok(r):
        fail(f"UpdateContainerResources: {err_text(r)}")
    R["host: limits after update"] = f"memory={read(f)} quota={read(q)}"
    check("host: limits after update", f"memory={96 * MB} quota=25000", R["host: limits after update"])
    r = exec_sync(cid, ["cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/cpu/cpu.cfs_quota_us"])
    R["inside: limits after update"] = " ".join(r.stdout.decode().split()) if ok(r) else err_text(r)
    check("inside: limits after update", f"{96 * MB} 25000", R["inside: limits after update"])

    # ---- ContainerStats
    r = call("ContainerStats", rt.ContainerStats, pb.ContainerStatsRequest(container_id=cid),
             lambda r: f"memory={'yes' if r.stats.memory.working_set_bytes.value > 0 else 'no'} "
                       f"cpu={'yes' if r.stats.cpu.usage_core_nano_seconds.value > 0 else 'no'}")
    check("ContainerStats (working set, cpu time > 0)", "memory=yes cpu=yes", R["ContainerStats"])

    # ---- ListContainers (by pod)
    r = call("ListContainers", rt.ListContainers, pb.ListContainersRequest(filter=pb.ContainerFilter(pod_sandbox_id=pod)),
             lambda r: ",".join(sorted(f"{c.metadata.name}:{STATE_NAMES[c.state]}" for c in r.containers)))
    check("ListContainers", "main:RUNNING", R["ListContainers"])

    # ---- a container that exits by itself: its code and reason
    r = call("CreateContainer", rt.CreateContainer, pb.CreateContainerRequest(
        pod_sandbox_id=pod, config=container_config("exit7", ["sh", "-c", "exit 7"]), sandbox_config=pcfg))
    if ok(r):
        e7 = r.container_id
        call("StartContainer", rt.StartContainer, pb.StartContainerRequest(container_id=e7))
        st = wait_exited(e7)
        R["ContainerStatus(exit 7)"] = f"{STATE_NAMES[st.state]} code={st.exit_code} reason={st.reason}"
        check("ContainerStatus of a container that exited 7", "EXITED code=7 reason=Error", R["ContainerStatus(exit 7)"])
        call("RemoveContainer", rt.RemoveContainer, pb.RemoveContainerRequest(container_id=e7))

    # ---- Stop (SIGTERM, trapped), Remove
    r = call("StopContainer", rt.StopContainer, pb.StopContainerRequest(container_id=cid, timeout=10))
    if not ok(r):
        fail(f"StopContainer: {err_text(r)}")
    st, _ = cstatus(cid)
    R["ContainerStatus(stopped)"] = f"{STATE_NAMES[st.state]} code={st.exit_code}"
    check("ContainerStatus after StopContainer (pid 1 trapped SIGTERM)", "EXITED code=0", R["ContainerStatus(stopped)"])
    r = call("RemoveContainer", rt.RemoveContainer, pb.RemoveContainerRequest(container_id=cid))
    if not ok(r):
        fail(f"RemoveContainer: {err_text(r)}")
    r = call("ListContainers(after remove)", rt.ListContainers,
             pb.ListContainersRequest(filter=pb.ContainerFilter(pod_sandbox_id=pod)), lambda r: str(len(r.containers)))
    check("ListContainers after RemoveContainer", "0", R["ListContainers(after remove)"])

r = call("StopPodSandbox", rt.StopPodSandbox, pb.StopPodSandboxRequest(pod_sandbox_id=pod))
if not ok(r):
    fail(f"StopPodSandbox: {err_text(r)}")
r = call("RemovePodSandbox", rt.RemovePodSandbox, pb.RemovePodSandboxRequest(pod_sandbox_id=pod))
if not ok(r):
    fail(f"RemovePodSandbox: {err_text(r)}")

# ---- kubelet-style: the pod cgroup exists beforehand (plain mkdir, empty
# cpuset, a memory limit on it); a container without a limit of its own
# allocating past the pod's is OOM-killed at the pod's limit
kcfg = pod_config(f"kpod-{HANDLER}", KUBEPOD)
os.makedirs(kcfg.log_directory, exist_ok=True)
r = call("RunPodSandbox(pre-created cgroup)", rt.RunPodSandbox,
         pb.RunPodSandboxRequest(config=kcfg, runtime_handler=HANDLER))
if not ok(r):
    fail(f"RunPodSandbox in a pre-created pod cgroup: {err_text(r)}")
else:
    kpod = r.pod_sandbox_id
    # dd's 200 MiB buffer, as the container's main process (no limit of its own)
    hog = ["sh", "-c", "echo limit $(cat /sys/fs/cgroup/memory/memory.limit_in_bytes);"
           " exec dd if=/dev/zero of=/dev/null bs=200M count=1"]
    r = call("CreateContainer(hog)", rt.CreateContainer, pb.CreateContainerRequest(
        pod_sandbox_id=kpod, config=container_config("hog", hog), sandbox_config=kcfg))
    if ok(r):
        hid = r.container_id
        call("StartContainer(hog)", rt.StartContainer, pb.StartContainerRequest(container_id=hid))
        st = wait_exited(hid)
        R["pod limit: hog"] = f"{STATE_NAMES[st.state]} code={st.exit_code}"
        check("a memory hog past the pod's limit is OOM-killed", "EXITED code=137", R["pod limit: hog"])
        R["pod limit: hog reason"] = st.reason
        try:
            out = open(os.path.join(kcfg.log_directory, "hog.log")).read()
        except OSError:
            out = ""
        R["pod limit: hog survived"] = "yes" if "records out" in out else "no"
        check("the hog did not get past the pod's limit", "no", R["pod limit: hog survived"])
        call("RemoveContainer(hog)", rt.RemoveContainer, pb.RemoveContainerRequest(container_id=hid))
    else:
        fail(f"CreateContainer in the pre-created pod: {err_text(r)}")
    call("StopPodSandbox(pre-created cgroup)", rt.StopPodSandbox, pb.StopPodSandboxRequest(pod_sandbox_id=kpod))
    call("RemovePodSandbox(pre-created cgroup)", rt.RemovePodSandbox, pb.RemovePodSandboxRequest(pod_sandbox_id=kpod))

r = call("ListPodSandbox(after remove)", rt.ListPodSandbox, pb.ListPodSandboxRequest(), lambda r: str(len(r.items)))
check("ListPodSandbox after RemovePodSandbox", "0", R["ListPodSandbox(after remove)"])

R["wall time (s)"] = f"{time.time() - t0:.1f}"
with open(OUT, "w") as f:
    json.dump(R, f, indent=1)
sys.exit(min(len(FAILS), 100))
