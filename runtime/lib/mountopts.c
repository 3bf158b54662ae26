#include "cove/mountopts.h"

#include <stddef.h>

const char *const cove_mount_options[] = {
    "async",         "atime",      "bind",        "defaults",  "dev",         "diratime",
    "dirsync",       "exec",       "iversion",    "lazytime",  "loud",        "mand",
    "noatime",       "nodev",      "nodiratime",  "noexec",    "noiversion",  "nolazytime",
    "nomand",        "norelatime", "nostrictatime", "nosuid",  "private",     "rbind",
    "relatime",      "remount",    "ro",          "rprivate",  "rshared",     "rslave",
    "runbindable",   "rw",         "shared",      "silent",    "slave",       "strictatime",
    "suid",          "sync",       "unbindable",
    /* recursive (mount_setattr) variants */
    "rro",           "rrw",        "rnosuid",     "rsuid",     "rnodev",      "rdev",
    "rnoexec",       "rexec",      "rnoatime",    "ratime",    "rrelatime",   "rnorelatime",
    "rstrictatime",  "rnostrictatime",
    NULL,
};
