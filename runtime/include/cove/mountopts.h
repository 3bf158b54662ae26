/* The mount options cove understands, in one table shared by the mount
 * parser and `cove features`, so the advertised list cannot drift from what
 * is actually accepted. */
#pragma once

/* NULL-terminated. The r* entries (rro, rnosuid, ...) are the recursive
 * variants applied with mount_setattr(AT_RECURSIVE). */
extern const char *const cove_mount_options[];
