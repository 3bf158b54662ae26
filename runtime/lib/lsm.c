/* The last per-process steps before execve that init and exec share: LSM
 * labels (applied by the kernel at execve) and no_new_privs. */
#include "cove/cleanup.h"
#include "cove/fsutil.h"
#include "procfs.h"
#include "security.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

static int write_attr(const char *name, const char *data, cove_err *err)
{
  char rel[64];
  snprintf(rel, sizeof rel, "self/attr/%s", name);
  return cove_procfs_write(rel, data, err);
}

int cove_process_apply_lsm_nnp(const struct cove_process *p, cove_err *err)
{
  /* The parser already refused labels on hosts where the module is off. */
  if (p->apparmor_profile && *p->apparmor_profile) {
    char b[4200];
    snprintf(b, sizeof b, "exec %s", p->apparmor_profile);
    if (write_attr("apparmor/exec", b, err) < 0 && write_attr("exec", b, err) < 0)
      return cove_error_prefix(err, "process.apparmorProfile");
  }
  if (p->selinux_label && *p->selinux_label && write_attr("exec", p->selinux_label, err) < 0)
    return cove_error_prefix(err, "process.selinuxLabel");
  if (p->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    return cove_error(err, errno, "process.noNewPrivileges");
  return 0;
}
