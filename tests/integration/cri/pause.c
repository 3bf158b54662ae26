/* The pod sandbox's process for tests/integration/cri.sh, built with
 * gcc -static at test time: holds the pod's namespaces, reaps orphans
 * (it is pid 1 when the pod shares one pid namespace) and exits on
 * SIGTERM/SIGINT, as Kubernetes' pause does. */
#include <signal.h>
#include <stddef.h>
#include <sys/wait.h>
#include <unistd.h>

static void leave(int sig)
{
  (void)sig;
  _exit(0);
}

static void reap(int sig)
{
  (void)sig;
  while (waitpid(-1, NULL, WNOHANG) > 0)
    ;
}

int main(void)
{
  struct sigaction term = {.sa_handler = leave}, chld = {.sa_handler = reap, .sa_flags = SA_NOCLDSTOP | SA_RESTART};
  if (sigaction(SIGTERM, &term, NULL) < 0 || sigaction(SIGINT, &term, NULL) < 0 || sigaction(SIGCHLD, &chld, NULL) < 0)
    return 1;
  for (;;)
    pause();
}
