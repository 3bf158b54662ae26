/* Terminals: the container's pty and the console socket protocol. */
#pragma once
#include "cove/error.h"

/* Connect to the unix socket at `path` (the --console-socket). Done in the
 * runtime before the container exists so the container never resolves it. */
int cove_console_socket_connect(const char *path, cove_err *err);
/* In the container init, after /dev/pts is mounted and after pivot_root:
 * open a new pty from /dev/ptmx, size it, send the master over
 * `sock` with SCM_RIGHTS (as runc's recvtty expects), make the slave the
 * controlling terminal of a new session and dup it onto fds 0, 1, 2. */
int cove_console_setup(int sock, unsigned height, unsigned width, cove_err *err);
/* The same with a ptmx fd the caller opened (and checked) itself; takes
 * ownership of master_fd. */
int cove_console_setup_master(int master_fd, int sock, unsigned height, unsigned width, cove_err *err);
/* Foreground `run` with process.terminal and no --console-socket: receive
 * the master from `sock`, put the caller's terminal in raw mode, copy
 * stdin->master and master->stdout until the master hangs up, forward
 * SIGWINCH. Returns when the container's side closes. */
int cove_console_recv_fd(int sock, cove_err *err);
int cove_console_proxy(int master, cove_err *err);
