/* The runtime's own procfs handle (procfs.c): writes into /proc that must
 * reach the file named, whatever the container did to its /proc. */
#pragma once
#include "cove/error.h"

/* The procfs root fd (cached; made on first use). Call it before masks or
 * read-only paths cover parts of the container's /proc, so that a private
 * instance can still be made in a user namespace. */
int cove_procfs_root(cove_err *err);
/* Open /proc/REL ("self/..." is this process) beneath that root, with no
 * symlink or mount crossed. */
int cove_procfs_open(const char *rel, int flags, cove_err *err);
/* Write DATA (a string) into /proc/REL opened that way. */
int cove_procfs_write(const char *rel, const char *data, cove_err *err);
void cove_procfs_release(void);
