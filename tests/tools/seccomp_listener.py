#!/usr/bin/env python3
"""A seccomp agent for tests: listen on SOCKET for one runtime connection,
receive the container process state (config-linux.md "Container Process
State") with the notify fd over SCM_RIGHTS, check it, write the message to
OUT and close the fd (so notified syscalls fail with ENOSYS).

    seccomp_listener.py SOCKET OUT [SECONDS]

Exit 0 when one connection brought exactly one seccomp notify fd and a
message that parses as strict JSON (UTF-8, an object with fds ==
["seccompFd"] and a "state" object); 1 otherwise, with the reason on stderr.
"""
import array
import json
import os
import socket
import sys


def fail(msg):
    print("seccomp_listener: " + msg, file=sys.stderr)
    sys.exit(1)


def reject_constant(name):
    raise ValueError("non-standard JSON constant " + name)


def main():
    if len(sys.argv) not in (3, 4):
        fail("usage: seccomp_listener.py SOCKET OUT [SECONDS]")
    path, out = sys.argv[1], sys.argv[2]
    limit = float(sys.argv[3]) if len(sys.argv) == 4 else 20.0
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path + ".tmp")
    os.rename(path + ".tmp", path)  # the socket appears ready to connect
    srv.listen(1)
    srv.settimeout(limit)
    try:
        conn, _ = srv.accept()
    except socket.timeout:
        fail("no connection within %g s" % limit)
    conn.settimeout(limit)
    data, fds = b"", []
    while True:
        msg, anc, _, _ = conn.recvmsg(1 << 16, socket.CMSG_SPACE(16 * 4))
        for level, kind, payload in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                a = array.array("i")
                a.frombytes(payload[: len(payload) - len(payload) % a.itemsize])
                fds.extend(a)
        if not msg:
            break
        data += msg
    conn.close()
    kinds = [os.readlink("/proc/self/fd/%d" % fd) for fd in fds]
    for fd in fds:
        os.close(fd)
    with open(out, "wb") as f:
        f.write(data)
    if kinds != ["anon_inode:seccomp notify"]:
        fail("expected one seccomp notify fd, got %r" % kinds)
    try:
        doc = json.loads(data.decode("utf-8"), parse_constant=reject_constant)
    except (UnicodeDecodeError, ValueError) as e:
        fail("the state is not valid JSON (%s): %r" % (e, data))
    if not isinstance(doc, dict) or doc.get("fds") != ["seccompFd"] or not isinstance(doc.get("state"), dict):
        fail("unexpected process state shape: %r" % doc)


if __name__ == "__main__":
    main()
