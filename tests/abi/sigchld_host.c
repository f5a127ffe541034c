/* A C host that reaps every child it is sent SIGCHLD for (waitpid(-1, WNOHANG) in the
 * handler, as many servers do) must still get every container's status from
 * cocoon_container_wait: cocoon's direct child is a monitor that never execs, so it keeps
 * "no exit signal" and waitpid(-1) without __WALL never sees it. Before the monitor,
 * the container program itself was our child and got SIGCHLD back at its exec.
 * Prints "sigchld_host: N waits ok, M stolen" and exits 0 only if all waits succeeded and
 * the handler reaped nothing. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "cocoon.h"

static volatile sig_atomic_t stolen;

static void on_sigchld(int sig) {
    int saved = errno, status;
    (void)sig;
    while (waitpid(-1, &status, WNOHANG) > 0) stolen++;
    errno = saved;
}

int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigchld;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGCHLD, &sa, NULL);

    cocoon_builder *b = NULL;
    if (cocoon_builder_new("/bin/true", &b) != 0) {
        fprintf(stderr, "builder: %s\n", cocoon_last_error_message());
        return 1;
    }
    int ok = 0, failed = 0;
    for (int i = 0; i < 300; i++) {
        cocoon_container *c = NULL;
        int code = -1, sig = -1;
        if (cocoon_container_spawn(b, &c) != 0) {
            fprintf(stderr, "spawn %d: %s\n", i, cocoon_last_error_message());
            failed++;
            continue;
        }
        if (cocoon_container_wait(c, &code, &sig) == 0 && code == 0 && sig == 0) {
            ok++;
        } else {
            if (failed < 3) fprintf(stderr, "wait %d: %s\n", i, cocoon_last_error_message());
            failed++;
        }
        cocoon_container_free(c);
    }
    cocoon_builder_free(b);
    printf("sigchld_host: %d waits ok, %d failed, %d stolen\n", ok, failed, (int)stolen);
    return failed == 0 && stolen == 0 ? 0 : 1;
}
