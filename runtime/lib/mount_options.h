/* Mount options: the one table (mount_options.c) behind both the
 * config.json parser and the list `cove features` advertises. */
#pragma once
#include "cove/error.h"
#include "cove/spec.h"

#include <stddef.h>

/* Fill bind, recursive, flags, attr_set/attr_clr, rattr_set/rattr_clr,
 * propagation and data of m from m->options. Unknown options are the
 * filesystem's (size=, mode=, ...) and go to data.
 * path is the field path ("mounts[3]") for messages. */
int cove_mount_options_parse(struct cove_mount *m, const char *path, cove_err *err);
/* The i-th option cove understands; NULL past the end. The r* attribute
 * names (rro, rnosuid, ...) are the recursive mount_setattr variants. */
const char *cove_mount_option_name(size_t i);
