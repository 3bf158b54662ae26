/* Scope-bound release of fds and heap memory. Every early return in setup
 * code would otherwise need its own close()/free() ladder, and a forgotten
 * close() there is exactly how a host fd leaks into a container. */
#pragma once
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <dirent.h>

static inline void cove_closep(int *fd)
{
  if (*fd >= 0) {
    int saved = errno;
    close(*fd);
    errno = saved;
  }
  *fd = -1;
}
static inline void cove_freep(void *p)
{
  free(*(void **)p);
}
static inline void cove_fclosep(FILE **f)
{
  if (*f)
    fclose(*f);
}
static inline void cove_closedirp(DIR **d)
{
  if (*d)
    closedir(*d);
}

#define _cleanup_close_ __attribute__((cleanup(cove_closep)))
#define _cleanup_free_ __attribute__((cleanup(cove_freep)))
#define _cleanup_fclose_ __attribute__((cleanup(cove_fclosep)))
#define _cleanup_closedir_ __attribute__((cleanup(cove_closedirp)))

/* Hand ownership out of a cleanup-managed variable. */
static inline int cove_steal_fd(int *fd)
{
  int r = *fd;
  *fd = -1;
  return r;
}
static inline void *cove_steal_ptr(void *pp)
{
  void **p = pp;
  void *r = *p;
  *p = NULL;
  return r;
}
#define steal_fd(x) cove_steal_fd(&(x))
#define steal_ptr(x) cove_steal_ptr(&(x))
