#!/usr/bin/env python3
"""Run `test_terminal tty` on an outer pty: checks raw mode, initial window
size propagation, SIGWINCH forwarding and termios restore."""
import fcntl, os, pty, select, struct, sys, termios, time

binary = sys.argv[1] if len(sys.argv) > 1 else "/tmp/test_terminal"

def setsize(fd, rows, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

pid, fd = pty.fork()
if pid == 0:
    os.dup2(1, 2)
    os.execv(binary, [binary, "tty"])
setsize(fd, 30, 100)
buf = b""

def expect(token, timeout=5):
    global buf
    end = time.time() + timeout
    while token not in buf:
        r, _, _ = select.select([fd], [], [], max(0, end - time.time()))
        if not r:
            sys.exit("FAIL: timeout waiting for %r, got %r" % (token, buf))
        try:
            buf += os.read(fd, 4096)
        except OSError:
            sys.exit("FAIL: EOF waiting for %r, got %r" % (token, buf))

expect(b"READY")
os.write(fd, b"size\n")
expect(b"SIZE=30x100")
setsize(fd, 40, 120)  # the kernel sends SIGWINCH to the proxy
time.sleep(0.2)
os.write(fd, b"size\n")
expect(b"SIZE=40x120")
os.write(fd, b"quit\n")
expect(b"BYE")
expect(b"RESTORED=1")
_, st = os.waitpid(pid, 0)
if os.waitstatus_to_exitcode(st) != 0:
    sys.exit("FAIL: exit status %d, output %r" % (st, buf))
print("ok tty proxy:", buf.replace(b"\r", b"").decode().split())
