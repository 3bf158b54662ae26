/* Private: whether this process runs in a user namespace that maps only
 * part of the id range (rootless podman runs the runtime as "root" in
 * one). Its own header so that the cgroup code and the state code need
 * not include each other (docs/architecture.md "Layers"). */
#pragma once
#include <stdbool.h>

bool cove_in_partial_userns(void);
