/* Generated documents: `cove spec` and `cove features`. */
#pragma once
#include "cove/error.h"
#include <stdbool.h>
#include <stdio.h>

/* A default config.json like runc's `spec` (rootless variant adds a user
 * namespace with single-id maps for the caller and binds sysfs). */
int cove_spec_default_write(FILE *out, bool rootless, cove_err *err);
/* features.md document listing only what cove really implements. */
int cove_features_write(FILE *out, cove_err *err);
