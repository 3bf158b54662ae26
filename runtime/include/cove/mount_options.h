#pragma once
#include "cove/error.h"
#include "cove/spec.h"
/* Fill bind, recursive, flags, attr_set/attr_clr, propagation and data of m
 * from m->options.
 * path is the field path ("mounts[3]") for messages. */
int cove_mount_options_parse(struct cove_mount *m, const char *path, cove_err *err);
