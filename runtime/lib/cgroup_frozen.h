/* Private: the one thing the state code needs from the cgroup layer, for
 * the `paused` status. A narrow header so that state.c does not include
 * the cgroup manager's (and cgroup.c does not include state.h). */
#pragma once
#include <stdbool.h>

/* Whether the cgroup recorded in a state directory is frozen (cgroup.c). */
bool cove_cgroup_state_frozen(int state_dirfd);
