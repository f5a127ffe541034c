/* run_isolated.c -- runs a command in a container with its own PID, network, UTS, IPC,
 * mount and cgroup namespaces, a read-only root, a private tmpfs and a 32 MiB memory
 * limit, and prints what the command saw, proving the isolation: hostname, PID 1, only
 * the loopback interface, and an allocation above the limit OOM-killed, as the cgroup
 * stats count it.
 *
 * Build: cc run_isolated.c $(pkg-config --cflags --libs cocoon)   Run as root.
 */
#include <cocoon.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int fail(const char *what) {
    fprintf(stderr, "run_isolated: %s: %s (%s, stage %s, errno %d)\n", what, cocoon_last_error_message(),
            cocoon_strerror(cocoon_last_error_code()), cocoon_stage_name(cocoon_last_error_stage()),
            cocoon_last_error_errno());
    return 1;
}

int main(void) {
    const char *script =
        "echo hostname=$(hostname);"
        "echo pid=$$;"
        "echo interfaces=$(ls /sys/class/net | tr '\\n' ' ');"
        "touch /etc/x 2>/dev/null && echo root=writable || echo root=read-only;"
        "touch /scratch/x && echo scratch=writable;"
        /* tail keeps the whole newline-free input in memory: 64 MiB > the 32 MiB limit. The
         * subshell offers itself, head and tail to the OOM killer first (oom_score_adj 1000):
         * when tail's exit is slow the kernel kills again, and must not take the shell. */
        "(echo 1000 >/proc/self/oom_score_adj && head -c 64m /dev/zero | tail >/dev/null);"
        " echo big-allocation-exit=$?";
    const char *args[] = {"-c", script};
    const char *env[] = {"PATH=/usr/bin:/bin"};
    cocoon_builder *b = NULL;
    cocoon_container *c = NULL;
    char out[1024];
    size_t n = 0;
    ssize_t r;
    cocoon_stats st;
    int fd = -1, code = 0, sig = 0, ok;

    if (cocoon_builder_new("/bin/sh", &b) != COCOON_OK) return fail("builder");
    if (cocoon_builder_set_args(b, args, 2) || cocoon_builder_set_env(b, env, 1) ||
        cocoon_builder_set_namespaces(b, COCOON_NS_MOUNT | COCOON_NS_UTS | COCOON_NS_IPC | COCOON_NS_PID |
                                             COCOON_NS_NET | COCOON_NS_CGROUP) ||
        cocoon_builder_set_hostname(b, "isolated") || cocoon_builder_set_read_only_root(b, 1) ||
        cocoon_builder_add_tmpfs(b, "/scratch", 16 << 20, COCOON_TMPFS_MODE_DEFAULT, COCOON_MOUNT_NOEXEC) ||
        cocoon_builder_set_memory_max(b, 32 << 20) || cocoon_builder_set_pids_max(b, 32) ||
        cocoon_builder_set_stdio(b, COCOON_STDOUT, COCOON_STDIO_PIPE, -1)) {
        cocoon_builder_free(b);
        return fail("configure");
    }
    if (cocoon_container_spawn(b, &c) != COCOON_OK) {
        cocoon_builder_free(b);
        return fail("spawn");
    }
    cocoon_builder_free(b); /* the container does not need the builder */
    if (cocoon_container_take_stdio(c, COCOON_STDOUT, &fd) != COCOON_OK) {
        cocoon_container_free(c);
        return fail("stdout");
    }
    while (n + 1 < sizeof out && (r = read(fd, out + n, sizeof out - 1 - n)) > 0) n += (size_t)r;
    out[n] = '\0';
    close(fd);
    if (cocoon_container_wait(c, &code, &sig) != COCOON_OK) {
        cocoon_container_free(c);
        return fail("wait");
    }
    memset(&st, 0, sizeof st);
    st.size = sizeof st; /* the struct may grow: tell cocoon which version we have */
    if (cocoon_container_stats(c, &st) != COCOON_OK) {
        cocoon_container_free(c);
        return fail("stats");
    }
    cocoon_container_free(c);

    printf("inside the container:\n%s", out);
    printf("exit code %d, signal %d\n", code, sig);
    if (st.valid & COCOON_STATS_CPU)
        printf("cgroup: cpu %llu us (user %llu, system %llu)\n", (unsigned long long)st.cpu_usage_us,
               (unsigned long long)st.cpu_user_us, (unsigned long long)st.cpu_system_us);
    if (st.valid & COCOON_STATS_MEMORY)
        printf("cgroup: memory now %llu bytes, peak %llu, limit hit %llu times, OOM kills %llu\n",
               (unsigned long long)st.memory_current,
               (unsigned long long)((st.valid & COCOON_STATS_MEMORY_PEAK) ? st.memory_peak : 0),
               (unsigned long long)st.memory_oom_events, (unsigned long long)st.memory_oom_kills);
    ok = code == 0 && strstr(out, "hostname=isolated\n") && strstr(out, "pid=1\n") &&
         strstr(out, "interfaces=lo\n") && strstr(out, "root=read-only\n") && strstr(out, "scratch=writable\n") &&
         strstr(out, "big-allocation-exit=137\n") && (st.valid & COCOON_STATS_MEMORY) && st.memory_oom_kills >= 1;
    printf("%s: own hostname, PID 1, only loopback, read-only root, writable tmpfs, "
           "64 MiB allocation OOM-killed under a 32 MiB limit and counted\n",
           ok ? "PROVED" : "NOT PROVED");
    return ok ? 0 : 1;
}
