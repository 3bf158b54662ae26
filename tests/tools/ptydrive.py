#!/usr/bin/env python3
"""ptydrive: run a command on a fresh pty of a given size and type into it.

  ptydrive.py ROWS COLS EXPECT SEND [EXPECT SEND ...] -- CMD [ARG...]

Waits until the output contains EXPECT, then types SEND (\\n is a newline),
for each pair; then reads until the command exits. Writes everything the
command printed to stdout and exits with the command's exit status (99 when
a wait timed out)."""
import fcntl, os, pty, select, struct, sys, termios, time

def main():
    argv = sys.argv[1:]
    cut = argv.index("--")
    rows, cols = int(argv[0]), int(argv[1])
    pairs = argv[2:cut]
    cmd = argv[cut + 1:]
    pid, fd = pty.fork()
    if pid == 0:
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        os.execv(cmd[0], cmd)
    out = b""
    def pump(deadline):
        nonlocal out
        r, _, _ = select.select([fd], [], [], max(0, deadline - time.time()))
        if not r:
            return True
        try:
            data = os.read(fd, 4096)
        except OSError:
            return False
        if not data:
            return False
        out += data
        return True
    for i in range(0, len(pairs), 2):
        want, send = pairs[i].encode(), pairs[i + 1].replace("\\n", "\n").encode()
        deadline = time.time() + 15
        while want not in out:
            if time.time() > deadline or not pump(deadline):
                sys.stdout.write(out.decode(errors="replace"))
                sys.stderr.write("ptydrive: timed out waiting for %r\n" % want)
                os.kill(pid, 9)
                os.waitpid(pid, 0)
                sys.exit(99)
        os.write(fd, send)
    deadline = time.time() + 15
    while time.time() < deadline and pump(deadline):
        pass
    _, st = os.waitpid(pid, 0)
    sys.stdout.write(out.decode(errors="replace"))
    sys.exit(os.WEXITSTATUS(st) if os.WIFEXITED(st) else 128 + os.WTERMSIG(st))

main()
