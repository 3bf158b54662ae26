#pragma once
#include "cove/error.h"
/* Bring up the loopback interface of the calling process's network
 * namespace over rtnetlink (libmnl). */
int cove_net_loopback_up(cove_err *err);
