/*
 * The pod sandbox's process: it holds the pod's namespaces open and reaps
 * the zombies it inherits, until it is told to stop. The test cluster's real
 * node uses it instead of registry.k8s.io/pause, which cannot be pulled here.
 */
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void stop(int signo) {
  (void)signo;
  _exit(0);
}

static void reap(int signo) {
  (void)signo;
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
}

int main(void) {
  struct sigaction on_stop = {.sa_handler = stop};
  struct sigaction on_child = {.sa_handler = reap, .sa_flags = SA_NOCLDSTOP};
  if (getpid() != 1) {
    /* Like the upstream pause: harmless, but it only makes sense as PID 1. */
    static const char warning[] = "pause: not PID 1, reaping only my own children\n";
    (void)!write(2, warning, sizeof warning - 1);
  }
  if (sigaction(SIGINT, &on_stop, NULL) < 0 || sigaction(SIGTERM, &on_stop, NULL) < 0 ||
      sigaction(SIGCHLD, &on_child, NULL) < 0)
    return 1;
  for (;;) pause();
}
