/* exec_into.c -- starts a long-running container, execs a second process into it and
 * shows that the exec'd process shares the container's namespaces: it sees the same
 * hostname, is not PID 1 but sees PID 1 as the container's first process, and sees a file
 * the first process wrote to the container's private /tmp.
 *
 * Build: cc exec_into.c $(pkg-config --cflags --libs cocoon)   Run as root.
 */
#include <cocoon.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int fail(const char *what) {
    fprintf(stderr, "exec_into: %s: %s (%s, stage %s, errno %d)\n", what, cocoon_last_error_message(),
            cocoon_strerror(cocoon_last_error_code()), cocoon_stage_name(cocoon_last_error_stage()),
            cocoon_last_error_errno());
    return 1;
}

int main(void) {
    const char *main_args[] = {"-c", "echo secret-from-pid-1 > /tmp/marker; exec sleep 60"};
    const char *exec_args[] = {"-c",
                               "while [ ! -s /tmp/marker ]; do sleep 0.05; done;"
                               "echo hostname=$(hostname); echo pid=$$;"
                               "echo pid1=$(cat /proc/1/comm); echo marker=$(cat /tmp/marker)"};
    cocoon_builder *b = NULL, *x = NULL;
    cocoon_container *c = NULL;
    cocoon_exec_process *p = NULL;
    char out[1024];
    size_t n = 0;
    ssize_t r;
    int fd = -1, code = 0, sig = 0, ok;

    if (cocoon_builder_new("sh", &b) || cocoon_builder_set_args(b, main_args, 2) ||
        cocoon_builder_set_hostname(b, "exec-demo") || cocoon_builder_add_tmpfs(b, "/tmp", 0, 01777, 0))
        return fail("configure container");
    if (cocoon_container_spawn(b, &c)) return fail("spawn");

    if (cocoon_builder_new("sh", &x) || cocoon_builder_set_args(x, exec_args, 2) ||
        cocoon_builder_set_stdio(x, COCOON_STDOUT, COCOON_STDIO_PIPE, -1))
        return fail("configure exec");
    if (cocoon_container_exec(c, x, &p)) return fail("exec");
    if (cocoon_exec_process_take_stdio(p, COCOON_STDOUT, &fd)) return fail("exec stdout");
    while (n + 1 < sizeof out && (r = read(fd, out + n, sizeof out - 1 - n)) > 0) n += (size_t)r;
    out[n] = '\0';
    close(fd);
    if (cocoon_exec_process_wait(p, &code, &sig)) return fail("exec wait");
    cocoon_exec_process_free(p);

    printf("the exec'd process saw:\n%s", out);
    ok = code == 0 && strstr(out, "hostname=exec-demo\n") && !strstr(out, "pid=1\n") &&
         strstr(out, "pid1=sleep\n") && strstr(out, "marker=secret-from-pid-1\n");

    /* Stop the container: SIGKILL (PID 1 ignores SIGTERM without a handler). */
    if (cocoon_container_kill(c, SIGKILL) || cocoon_container_wait(c, &code, &sig)) return fail("stop");
    printf("container stopped by signal %d\n", sig);
    if (cocoon_container_delete(c)) return fail("delete");
    cocoon_builder_free(x);
    cocoon_builder_free(b);
    printf("%s: the exec'd process shares the container's hostname, PID namespace and /tmp\n",
           ok ? "PROVED" : "NOT PROVED");
    return ok ? 0 : 1;
}
