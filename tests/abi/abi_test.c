/*
 * abi_test.c -- exercises every function of include/cocoon.h through the shared library,
 * including every error path: NULL for each pointer argument, unknown enum/flag values,
 * oversize strings, interior NULs through the *_len variants, _free(NULL). The
 * "container" part runs real containers and an exec into one (needs root).
 *
 * Usage: abi_test [--no-containers]
 * Exit status 0 when every check passed.
 *
 * Valgrind: tests/abi/check.sh runs `abi_test --no-containers` under valgrind (every
 * function and error path, every handle's lifecycle) and the container part natively.
 * The container's child is a clone of the valgrind'd process that runs under valgrind's
 * emulation until it execs, and valgrind 3.19 (Debian 12) implements neither clone3
 * (it returns ENOSYS, cocoon falls back to clone) nor the new mount API (fsopen,
 * fsmount, open_tree, move_mount, mount_setattr: "unhandled amd64-linux syscall 430"),
 * so the child cannot set up a root filesystem there; --trace-children=no does not help
 * because the child has not exec'd yet.
 */
#define _GNU_SOURCE
#include <cocoon.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int passed, failed;

/* A call must return `want`; on an error code the last error must match it and carry a
 * non-empty message. */
#define EXPECT(call, want) expect_rc((call), (want), #call, __LINE__)
#define CHECK(cond) check((cond), #cond, __LINE__)

static void check(int ok, const char *what, int line) {
    if (ok) {
        passed++;
    } else {
        failed++;
        fprintf(stderr, "FAIL line %d: %s\n", line, what);
    }
}

static void expect_rc(int rc, int want, const char *what, int line) {
    if (rc != want) {
        failed++;
        fprintf(stderr, "FAIL line %d: %s returned %d (%s), want %d: %s\n", line, what, rc,
                cocoon_strerror(rc), want, cocoon_last_error_message());
        return;
    }
    if (rc < 0) {
        const char *msg = cocoon_last_error_message();
        if (cocoon_last_error_code() != rc || msg == NULL || msg[0] == '\0') {
            failed++;
            fprintf(stderr, "FAIL line %d: %s: last error code %d, message \"%s\"\n", line, what,
                    cocoon_last_error_code(), msg ? msg : "(null)");
            return;
        }
    } else if (cocoon_last_error_code() != 0 || cocoon_last_error_message()[0] != '\0') {
        failed++;
        fprintf(stderr, "FAIL line %d: %s succeeded but the last error was not cleared\n", line, what);
        return;
    }
    passed++;
}

/* poll(2) for POLLIN on fd: 1 readable, 0 not within timeout_ms, -1 error. */
static int poll_in(int fd, int timeout_ms) {
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    int r;
    do r = poll(&pfd, 1, timeout_ms);
    while (r < 0 && errno == EINTR);
    return r > 0 ? ((pfd.revents & POLLIN) != 0) : r;
}

/* Reads everything from fd into buf (NUL-terminated) and closes fd. */
static void read_all(int fd, char *buf, size_t cap) {
    size_t n = 0;
    ssize_t r;
    while (n + 1 < cap && (r = read(fd, buf + n, cap - 1 - n)) != 0) {
        if (r < 0) {
            if (errno == EINTR) continue;
            break;
        }
        n += (size_t)r;
    }
    buf[n] = '\0';
    close(fd);
}

/* Whether SELinux is enabled for this process, as cocoon defines it: selinuxfs mounted
 * (enforce file present) and a policy loaded (our label is readable and not "kernel"). */
static int selinux_on(void) {
    char label[256];
    FILE *f;
    size_t n;
    if (access("/sys/fs/selinux/enforce", F_OK) != 0) return 0;
    f = fopen("/proc/self/attr/current", "r");
    if (f == NULL) return 0;
    n = fread(label, 1, sizeof label - 1, f);
    fclose(f);
    label[n] = '\0';
    return n > 0 && strcmp(label, "kernel") != 0 && strncmp(label, "kernel\n", 7) != 0;
}

static void test_misc(void) {
    CHECK(strcmp(cocoon_version(), "0.1.0") == 0);
    CHECK(COCOON_VERSION_MAJOR == 0 && COCOON_VERSION_MINOR == 1 && COCOON_VERSION_PATCH == 0);
    CHECK(strcmp(cocoon_strerror(COCOON_OK), "success") == 0);
    CHECK(strcmp(cocoon_strerror(COCOON_E_SETUP), "container setup failed") == 0);
    CHECK(strcmp(cocoon_strerror(12345), "unknown error code") == 0);
    CHECK(strcmp(cocoon_strerror(COCOON_E_IMAGE_FILE), "unknown error code") != 0);
    CHECK(strcmp(cocoon_stage_name(COCOON_STAGE_NONE), "none") == 0);
    CHECK(strcmp(cocoon_stage_name(COCOON_STAGE_HOSTNAME), "sethostname") == 0);
    CHECK(strcmp(cocoon_stage_name(COCOON_STAGE_EXEC), "exec") == 0);
    CHECK(strcmp(cocoon_stage_name(999), "unknown stage") == 0);
    CHECK(strcmp(cocoon_stage_name(-1), "unknown stage") == 0);

    EXPECT(cocoon_has_feature(NULL), COCOON_E_INVALID_ARGUMENT);
    {
        /* Sweeping stale cgroups: a bad parent is refused; NULL means the default. */
        size_t removed = 12345;
        EXPECT(cocoon_sweep_stale("../escape", &removed), COCOON_E_CGROUP);
        CHECK(removed == 12345); /* out-parameters are written only on success */
        EXPECT(cocoon_sweep_stale(NULL, NULL), COCOON_OK);
        EXPECT(cocoon_sweep_stale("cocoon", &removed), COCOON_OK);
        CHECK(removed != 12345);
    }
    {
        /* Compare with what this process sees (under valgrind clone3 is ENOSYS). */
        long r = syscall(SYS_clone3, NULL, 0);
        int have_clone3 = r == -1 && errno != ENOSYS;
        CHECK(cocoon_has_feature("clone3") == have_clone3);
    }
    CHECK(cocoon_has_feature("userns") == (access("/proc/self/ns/user", F_OK) == 0));
    CHECK(cocoon_has_feature("timens") == (access("/proc/self/ns/time", F_OK) == 0));
    CHECK(cocoon_has_feature("selinux") == selinux_on());
    CHECK(cocoon_has_feature("overlay") == 0 || cocoon_has_feature("overlay") == 1);
    /* "cgroup2" = the host is cgroup v2 only: /sys/fs/cgroup itself is the cgroup2 root. */
    CHECK(cocoon_has_feature("cgroup2") == (access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0));
    CHECK(cocoon_has_feature("cgroup") == (access("/proc/self/cgroup", F_OK) == 0 &&
                                           (access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0 ||
                                            access("/sys/fs/cgroup/memory", F_OK) == 0 ||
                                            access("/sys/fs/cgroup/pids", F_OK) == 0)));
    CHECK(cocoon_has_feature("no-such-feature") == 0);
    printf("features: clone3=%d cgroup=%d cgroup2=%d selinux=%d overlay=%d userns=%d timens=%d\n",
           cocoon_has_feature("clone3"), cocoon_has_feature("cgroup"), cocoon_has_feature("cgroup2"), cocoon_has_feature("selinux"),
           cocoon_has_feature("overlay"), cocoon_has_feature("userns"), cocoon_has_feature("timens"));

    /* The last-error accessors do not clear, every other call does. */
    EXPECT(cocoon_builder_validate(NULL), COCOON_E_INVALID_ARGUMENT);
    CHECK(cocoon_last_error_code() == COCOON_E_INVALID_ARGUMENT);
    CHECK(cocoon_last_error_errno() == 0);
    CHECK(cocoon_last_error_stage() == COCOON_STAGE_NONE);
    CHECK(strstr(cocoon_last_error_message(), "builder is NULL") != NULL);
    CHECK(cocoon_last_error_code() == COCOON_E_INVALID_ARGUMENT);
    (void)cocoon_has_feature("clone3");
    CHECK(cocoon_last_error_code() == 0 && cocoon_last_error_message()[0] == '\0');
}

static void test_builder_errors(void) {
    cocoon_builder *b = NULL;
    const char *args[] = {"-c", "true"};
    const char *bad_args[] = {"-c", NULL};
    const char *env[] = {"A=1", "B=2", "A=3"};
    const char *bad_env[] = {"NOEQUALS"};
    const char *empty_key[] = {"=x"};
    const char *paths[] = {"/proc/kcore"};
    const char *rel_paths[] = {"proc/kcore"};
    const char *dotdot[] = {"/a/../b"};
    const char *lower[] = {"/tmp/l1", "/tmp/l2"};
    const char *rel_lower[] = {"l1"};
    uint32_t groups[] = {1, 2};
    char long_name[100];
    memset(long_name, 'a', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';

    /* _free(NULL) is a no-op, and clears the last error like any call. */
    cocoon_builder_free(NULL);
    cocoon_container_free(NULL);
    cocoon_exec_process_free(NULL);
    CHECK(cocoon_last_error_code() == 0);

    EXPECT(cocoon_builder_new(NULL, &b), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_new("sh", NULL), COCOON_E_INVALID_ARGUMENT);
    CHECK(b == NULL); /* out-params untouched on failure */
    EXPECT(cocoon_builder_new("sh", &b), COCOON_OK);
    CHECK(b != NULL);
    EXPECT(cocoon_builder_validate(b), COCOON_OK);

    EXPECT(cocoon_builder_set_program(NULL, "sh"), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_program(b, NULL), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_program(b, ""), COCOON_E_INVALID_CONFIG);
    EXPECT(cocoon_builder_set_program(b, "/bin/sh"), COCOON_OK);
    EXPECT(cocoon_builder_set_program_len(NULL, "sh", 2), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_program_len(b, NULL, 2), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_program_len(b, "s\0h", 3), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_program_len(b, "shXXX", 2), COCOON_OK);

    EXPECT(cocoon_builder_set_args(NULL, args, 2), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_args(b, NULL, 2), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_args(b, bad_args, 2), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_args(b, NULL, 0), COCOON_OK);
    EXPECT(cocoon_builder_set_args(b, args, 2), COCOON_OK);

    EXPECT(cocoon_builder_set_env(NULL, env, 3), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_env(b, NULL, 1), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_env(b, bad_env, 1), COCOON_E_INVALID_CONFIG);
    EXPECT(cocoon_builder_set_env(b, empty_key, 1), COCOON_E_INVALID_CONFIG);
    EXPECT(cocoon_builder_set_env(b, env, 3), COCOON_OK);

    EXPECT(cocoon_builder_set_cwd(NULL, "/"), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_cwd(b, NULL), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_cwd(b, "relative"), COCOON_E_INVALID_CONFIG);
    EXPECT(cocoon_builder_set_cwd(b, "/tmp"), COCOON_OK);

    EXPECT(cocoon_builder_set_user(NULL, 0, 0, NULL, 0), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_user(b, 0, 0, NULL, 2), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_user(b, 1000, 1000, groups, 2), COCOON_OK);
    EXPECT(cocoon_builder_set_user(b, 0, 0, NULL, 0), COCOON_OK);
    EXPECT(cocoon_builder_set_user_name(NULL, "root"), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_user_name(b, NULL), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_user_name(b, ""), COCOON_E_INVALID_CONFIG);
    EXPECT(cocoon_builder_set_user_name(b, "\xff\xfe"), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_user_name(b, "root"), COCOON_OK);

    EXPECT(cocoon_builder_set_id(NULL, "x"), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_id(b, NULL), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_id(b, "bad/id"), COCOON_E_INVALID_CONFIG);
    EXPECT(cocoon_builder_set_id(b, long_name), COCOON_E_INVALID_CONFIG);
    EXPECT(cocoon_builder_set_id(b, "cocoon-abi-test"), COCOON_OK);

    EXPECT(cocoon_builder_set_namespaces(NULL, COCOON_NS_DEFAULT), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_namespaces(b, 1u << 20), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_namespaces(b, COCOON_NS_PID), COCOON_OK);
    EXPECT(cocoon_builder_validate(b), COCOON_E_INVALID_CONFIG); /* no mount namespace */
    CHECK(strstr(cocoon_last_error_message(), "mount namespace") != NULL);
    EXPECT(cocoon_builder_set_namespaces(b, COCOON_NS_DEFAULT), COCOON_OK);

    EXPECT(cocoon_builder_add_uid_range(NULL, 0, 100000, 65536), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_add_uid_range(b, 0, 100000, 0), COCOON_E_INVALID_CONFIG);
    EXPECT(cocoon_builder_add_uid_range(b, 0, 100000, 65536), COCOON_OK);
    EXPECT(cocoon_builder_add_uid_range(b, 10, 300000, 5), COCOON_E_INVALID_CONFIG); /* overlap */
    EXPECT(cocoon_builder_validate(b), COCOON_E_INVALID_CONFIG); /* no gid map */
    EXPECT(cocoon_builder_add_gid_range(NULL, 0, 100000, 65536), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_add_gid_range(b, 0, 0xffffffffu, 1), COCOON_E_INVALID_CONFIG);
    EXPECT(cocoon_builder_add_gid_range(b, 0, 100000, 65536), COCOON_OK);
    EXPECT(cocoon_builder_clear_id_maps(NULL), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_clear_id_maps(b), COCOON_OK);
    EXPECT(cocoon_builder_set_namespaces(b, COCOON_NS_DEFAULT), COCOON_OK);

    EXPECT(cocoon_builder_set_hostname(NULL, "h"), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_hostname(b, NULL), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_hostname(b, long_name), COCOON_E_INVALID_CONFIG); /* > 64 */
    CHECK(strstr(cocoon_last_error_message(), "hostname") != NULL);
    EXPECT(cocoon_builder_set_hostname(b, ""), COCOON_E_INVALID_CONFIG);
    EXPECT(cocoon_builder_set_hostname_len(NULL, "h", 1), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_hostname_len(b, NULL, 1), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_hostname_len(b, "ab\0cd", 5), COCOON_E_INVALID_ARGUMENT);
    CHECK(strstr(cocoon_last_error_message(), "NUL") != NULL);
    EXPECT(cocoon_builder_set_hostname_len(b, long_name, 65), COCOON_E_INVALID_CONFIG);
    EXPECT(cocoon_builder_set_hostname_len(b, long_name, 64), COCOON_OK);
    EXPECT(cocoon_builder_set_hostname_len(b, "box-xyz", 3), COCOON_OK);
    EXPECT(cocoon_builder_set_domainname(NULL, "d"), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_domainname(b, NULL), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_domainname(b, long_name), COCOON_E_INVALID_CONFIG);
    EXPECT(cocoon_builder_set_domainname(b, "example"), COCOON_OK);
    EXPECT(cocoon_builder_set_domainname_len(NULL, "d", 1), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_domainname_len(b, NULL, 1), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_domainname_len(b, "a\0b", 3), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_domainname_len(b, "example", 7), COCOON_OK);

    EXPECT(cocoon_builder_set_time_offsets(NULL, 0, 0), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_time_offsets(b, 1000000000ull, 2000000000ull), COCOON_OK);

    EXPECT(cocoon_builder_set_rootfs_host_sandbox(NULL), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_rootfs_host_sandbox(b), COCOON_OK);
    EXPECT(cocoon_builder_set_rootfs_dir(NULL, "/"), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_rootfs_dir(b, NULL), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_rootfs_dir(b, "rel"), COCOON_E_INVALID_CONFIG);
    EXPECT(cocoon_builder_set_rootfs_dir(b, "/srv/\xff-not-utf8"), COCOON_OK); /* bytes ok */
    EXPECT(cocoon_builder_set_rootfs_layers(NULL, lower, 2, "/tmp/u", "/tmp/w"), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_rootfs_layers(b, NULL, 2, "/tmp/u", "/tmp/w"), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_rootfs_layers(b, lower, 2, NULL, "/tmp/w"), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_rootfs_layers(b, lower, 2, "/tmp/u", NULL), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_rootfs_layers(b, NULL, 0, "/tmp/u", "/tmp/w"), COCOON_E_INVALID_CONFIG);
    EXPECT(cocoon_builder_set_rootfs_layers(b, rel_lower, 1, "/tmp/u", "/tmp/w"), COCOON_E_INVALID_CONFIG);
    EXPECT(cocoon_builder_set_rootfs_layers(b, lower, 2, "/tmp/u", "/tmp/w"), COCOON_OK);
    EXPECT(cocoon_builder_set_rootfs_host_sandbox(b), COCOON_OK);

    EXPECT(cocoon_builder_set_read_only_root(NULL, 1), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_read_only_root(b, 1), COCOON_OK);
    EXPECT(cocoon_builder_set_standard_mounts(NULL, 1), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_standard_mounts(b, 1), COCOON_OK);

    EXPECT(cocoon_builder_add_bind(NULL, "/etc", "/mnt", 0), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_add_bind(b, NULL, "/mnt", 0), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_add_bind(b, "/etc", NULL, 0), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_add_bind(b, "/etc", "/mnt", 1u << 30), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_add_bind(b, "etc", "/mnt", 0), COCOON_E_INVALID_CONFIG);
    EXPECT(cocoon_builder_add_bind(b, "/etc", "/a/../b", 0), COCOON_E_INVALID_CONFIG);
    EXPECT(cocoon_builder_add_bind(b, "/etc", "/", 0), COCOON_E_INVALID_CONFIG);
    EXPECT(cocoon_builder_add_bind(b, "/etc", "/mnt/etc",
                                   COCOON_MOUNT_READONLY | COCOON_MOUNT_NOEXEC | COCOON_MOUNT_NONRECURSIVE),
           COCOON_OK);
    EXPECT(cocoon_builder_add_tmpfs(NULL, "/scratch", 0, COCOON_TMPFS_MODE_DEFAULT, 0), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_add_tmpfs(b, NULL, 0, COCOON_TMPFS_MODE_DEFAULT, 0), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_add_tmpfs(b, "/scratch", 0, COCOON_TMPFS_MODE_DEFAULT, COCOON_MOUNT_NONRECURSIVE),
           COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_add_tmpfs(b, "/scratch", 0, 010000, 0), COCOON_E_INVALID_CONFIG);
    EXPECT(cocoon_builder_add_tmpfs(b, "scratch", 0, 0755, 0), COCOON_E_INVALID_CONFIG);
    EXPECT(cocoon_builder_add_tmpfs(b, "/scratch", 1 << 20, 01777, COCOON_MOUNT_NOEXEC), COCOON_OK);
    EXPECT(cocoon_builder_clear_mounts(NULL), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_clear_mounts(b), COCOON_OK);

    EXPECT(cocoon_builder_set_masked_paths(NULL, paths, 1), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_masked_paths(b, NULL, 1), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_masked_paths(b, rel_paths, 1), COCOON_E_INVALID_CONFIG);
    EXPECT(cocoon_builder_set_masked_paths(b, dotdot, 1), COCOON_E_INVALID_CONFIG);
    EXPECT(cocoon_builder_set_masked_paths(b, paths, 1), COCOON_OK);
    EXPECT(cocoon_builder_set_readonly_paths(NULL, paths, 1), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_readonly_paths(b, NULL, 1), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_readonly_paths(b, rel_paths, 1), COCOON_E_INVALID_CONFIG);
    EXPECT(cocoon_builder_set_readonly_paths(b, NULL, 0), COCOON_OK);

    EXPECT(cocoon_builder_set_capabilities(NULL, 0, 0, 0, 0, 0), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_capabilities(b, 3, 3, 1, 0, 0), COCOON_E_INVALID_CONFIG); /* eff > perm */
    EXPECT(cocoon_builder_set_capabilities(b, 3, 1, 1, 0, 1), COCOON_E_INVALID_CONFIG); /* ambient */
    EXPECT(cocoon_builder_set_capabilities(b, 3, 1, 3, 1, 1), COCOON_OK);
    EXPECT(cocoon_builder_set_no_new_privs(NULL, 1), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_no_new_privs(b, 1), COCOON_OK);

    EXPECT(cocoon_builder_set_rlimit(NULL, COCOON_RLIMIT_NOFILE, 10, 10), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_rlimit(b, 99, 10, 10), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_rlimit(b, -1, 10, 10), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_rlimit(b, COCOON_RLIMIT_NOFILE, 20, 10), COCOON_E_INVALID_CONFIG);
    EXPECT(cocoon_builder_set_rlimit(b, COCOON_RLIMIT_NOFILE, 64, 128), COCOON_OK);
    EXPECT(cocoon_builder_set_rlimit(b, COCOON_RLIMIT_CORE, 0, COCOON_RLIM_INFINITY), COCOON_OK);

    EXPECT(cocoon_builder_set_umask(NULL, 022), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_umask(b, 01000), COCOON_E_INVALID_CONFIG);
    EXPECT(cocoon_builder_set_umask(b, 022), COCOON_OK);
    EXPECT(cocoon_builder_set_oom_score_adj(NULL, 0), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_oom_score_adj(b, 1001), COCOON_E_INVALID_CONFIG);
    EXPECT(cocoon_builder_set_oom_score_adj(b, -1001), COCOON_E_INVALID_CONFIG);
    EXPECT(cocoon_builder_set_oom_score_adj(b, 500), COCOON_OK);
    {
        const int64_t deny[] = {SYS_mkdir, SYS_mkdirat};
        const int64_t bad[] = {99999};
        EXPECT(cocoon_builder_set_seccomp_deny(NULL, deny, 2, EPERM), COCOON_E_INVALID_ARGUMENT);
        EXPECT(cocoon_builder_set_seccomp_deny(b, NULL, 2, EPERM), COCOON_E_INVALID_ARGUMENT);
        EXPECT(cocoon_builder_set_seccomp_deny(b, deny, 2, 0), COCOON_E_INVALID_CONFIG);
        EXPECT(cocoon_builder_set_seccomp_deny(b, deny, 2, 5000), COCOON_E_INVALID_CONFIG);
        EXPECT(cocoon_builder_set_seccomp_deny(b, bad, 1, EPERM), COCOON_E_INVALID_CONFIG);
        EXPECT(cocoon_builder_set_seccomp_deny(b, NULL, 0, EPERM), COCOON_OK);
        EXPECT(cocoon_builder_set_seccomp_deny(b, deny, 2, EPERM), COCOON_OK);
        EXPECT(cocoon_builder_set_seccomp_default_deny(NULL), COCOON_E_INVALID_ARGUMENT);
        EXPECT(cocoon_builder_set_seccomp_default_deny(b), COCOON_OK);
        EXPECT(cocoon_builder_clear_seccomp(NULL), COCOON_E_INVALID_ARGUMENT);
        EXPECT(cocoon_builder_clear_seccomp(b), COCOON_OK);
        EXPECT(cocoon_builder_set_default_seccomp(NULL, 0), COCOON_E_INVALID_ARGUMENT);
        EXPECT(cocoon_builder_set_default_seccomp(b, 0), COCOON_OK);
        EXPECT(cocoon_builder_set_default_seccomp(b, 1), COCOON_OK);
    }

    EXPECT(cocoon_builder_set_stdio(NULL, COCOON_STDOUT, COCOON_STDIO_NULL, -1), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_stdio(b, 3, COCOON_STDIO_NULL, -1), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_stdio(b, -1, COCOON_STDIO_NULL, -1), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_stdio(b, COCOON_STDOUT, 42, -1), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_stdio(b, COCOON_STDOUT, COCOON_STDIO_FD, -1), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_stdio(b, COCOON_STDOUT, COCOON_STDIO_FD, 999), COCOON_E_OS);
    CHECK(cocoon_last_error_errno() == EBADF);
    EXPECT(cocoon_builder_set_stdio(b, COCOON_STDOUT, COCOON_STDIO_FD, 2), COCOON_OK);
    EXPECT(cocoon_builder_set_stdio(b, COCOON_STDIN, COCOON_STDIO_NULL, -1), COCOON_OK);
    EXPECT(cocoon_builder_set_stdio(b, COCOON_STDERR, COCOON_STDIO_PIPE, -1), COCOON_OK);
    EXPECT(cocoon_builder_set_stdio(b, COCOON_STDOUT, COCOON_STDIO_INHERIT, -1), COCOON_OK);

    EXPECT(cocoon_builder_set_init(NULL, 1), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_init(b, 1), COCOON_OK);
    EXPECT(cocoon_builder_validate(b), COCOON_OK);
    EXPECT(cocoon_builder_set_namespaces(b, COCOON_NS_MOUNT), COCOON_OK);
    EXPECT(cocoon_builder_validate(b), COCOON_E_INVALID_CONFIG); /* init without PID ns */

    /* Spawn/exec argument errors need no root. */
    {
        cocoon_container *c = NULL;
        cocoon_exec_process *p = NULL;
        int v = 7, e = 7, s = 7, fd = 7;
        EXPECT(cocoon_container_spawn(NULL, &c), COCOON_E_INVALID_ARGUMENT);
        EXPECT(cocoon_container_spawn(b, NULL), COCOON_E_INVALID_ARGUMENT);
        EXPECT(cocoon_container_spawn(b, &c), COCOON_E_INVALID_CONFIG);
        CHECK(c == NULL);
        CHECK(cocoon_container_id(NULL) == NULL && cocoon_last_error_code() == COCOON_E_INVALID_ARGUMENT);
        EXPECT(cocoon_container_pid(NULL, &v), COCOON_E_INVALID_ARGUMENT);
        EXPECT(cocoon_container_wait(NULL, &e, &s), COCOON_E_INVALID_ARGUMENT);
        EXPECT(cocoon_container_try_wait(NULL, &v, &e, &s), COCOON_E_INVALID_ARGUMENT);
        EXPECT(cocoon_container_wait_fd(NULL, &fd), COCOON_E_INVALID_ARGUMENT);
        EXPECT(cocoon_container_kill(NULL, SIGTERM), COCOON_E_INVALID_ARGUMENT);
        EXPECT(cocoon_container_take_stdio(NULL, COCOON_STDOUT, &fd), COCOON_E_INVALID_ARGUMENT);
        EXPECT(cocoon_container_exec(NULL, b, &p), COCOON_E_INVALID_ARGUMENT);
        EXPECT(cocoon_container_delete(NULL), COCOON_E_INVALID_ARGUMENT);
        EXPECT(cocoon_container_detach(NULL, &v), COCOON_E_INVALID_ARGUMENT);
        EXPECT(cocoon_exec_process_pid(NULL, &v), COCOON_E_INVALID_ARGUMENT);
        EXPECT(cocoon_exec_process_wait(NULL, &e, &s), COCOON_E_INVALID_ARGUMENT);
        EXPECT(cocoon_exec_process_try_wait(NULL, &v, &e, &s), COCOON_E_INVALID_ARGUMENT);
        EXPECT(cocoon_exec_process_wait_fd(NULL, &fd), COCOON_E_INVALID_ARGUMENT);
        EXPECT(cocoon_exec_process_kill(NULL, SIGTERM), COCOON_E_INVALID_ARGUMENT);
        EXPECT(cocoon_exec_process_take_stdio(NULL, COCOON_STDOUT, &fd), COCOON_E_INVALID_ARGUMENT);
        CHECK(v == 7 && e == 7 && s == 7 && fd == 7 && p == NULL);
    }
    cocoon_builder_free(b);
}

/* Whether a cgroup controller is usable on this host (v2 root, a v1 mount, or the unified
 * hierarchy of a hybrid host listing it). */
static int have_controller(const char *v1name, const char *v2name) {
    char path[256], buf[512];
    FILE *f;
    const char *roots[] = {"/sys/fs/cgroup/cgroup.controllers", "/sys/fs/cgroup/unified/cgroup.controllers"};
    size_t i;
    snprintf(path, sizeof path, "/sys/fs/cgroup/%s/cgroup.procs", v1name);
    if (access(path, F_OK) == 0) return 1;
    for (i = 0; i < 2; i++) {
        if ((f = fopen(roots[i], "r")) == NULL) continue;
        if (fgets(buf, sizeof buf, f) != NULL) {
            char *tok = strtok(buf, " \n");
            for (; tok != NULL; tok = strtok(NULL, " \n")) {
                if (strcmp(tok, v2name) == 0) {
                    fclose(f);
                    return 1;
                }
            }
        }
        fclose(f);
    }
    return 0;
}

/* Every cgroup setter: NULL builder, NULL strings, unknown enum values, values out of
 * range or naming what the host lacks (COCOON_E_CGROUP, builder unchanged), success. */
static void test_cgroup_setters(void) {
    cocoon_builder *b = NULL;
    int v2 = cocoon_has_feature("cgroup2");
    int want;
    EXPECT(cocoon_builder_new("true", &b), COCOON_OK);

    EXPECT(cocoon_builder_enable_cgroup(NULL), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_enable_cgroup(b), COCOON_OK);
    EXPECT(cocoon_builder_enable_cgroup(b), COCOON_OK);
    EXPECT(cocoon_builder_clear_cgroup(NULL), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_clear_cgroup(b), COCOON_OK);

    EXPECT(cocoon_builder_set_cgroup_parent(NULL, "cocoon"), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_cgroup_parent(b, NULL), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_cgroup_parent(b, "/abs"), COCOON_E_CGROUP);
    CHECK(strstr(cocoon_last_error_message(), "parent") != NULL);
    EXPECT(cocoon_builder_set_cgroup_parent(b, "a/../b"), COCOON_E_CGROUP);
    EXPECT(cocoon_builder_set_cgroup_parent(b, ""), COCOON_E_CGROUP);
    EXPECT(cocoon_builder_set_cgroup_parent(b, "cocoon/abi-test"), COCOON_OK);

    EXPECT(cocoon_builder_set_memory_max(NULL, 1 << 20), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_memory_max(b, 0), COCOON_E_CGROUP);
    EXPECT(cocoon_builder_set_memory_max(b, UINT64_MAX), COCOON_E_CGROUP);
    CHECK(strstr(cocoon_last_error_message(), "memory max") != NULL);
    EXPECT(cocoon_builder_set_memory_max(b, 64 << 20), COCOON_OK);
    EXPECT(cocoon_builder_set_memory_high(NULL, 1 << 20), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_memory_high(b, 128 << 20), COCOON_E_CGROUP); /* above max, or v1 */
    EXPECT(cocoon_builder_set_memory_high(b, 32 << 20), v2 ? COCOON_OK : COCOON_E_CGROUP);
    if (!v2) CHECK(strstr(cocoon_last_error_message(), "cgroup v1") != NULL);
    EXPECT(cocoon_builder_set_memory_low(NULL, 0), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_memory_low(b, UINT64_MAX), COCOON_E_CGROUP);
    EXPECT(cocoon_builder_set_memory_low(b, 0), COCOON_OK);
    EXPECT(cocoon_builder_set_memory_low(b, 16 << 20), COCOON_OK);
    EXPECT(cocoon_builder_set_swap_max(NULL, 0), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_swap_max(b, UINT64_MAX), COCOON_E_CGROUP);
    want = (v2 || access("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes", F_OK) == 0) ? COCOON_OK : COCOON_E_CGROUP;
    EXPECT(cocoon_builder_set_swap_max(b, 0), want);
    EXPECT(cocoon_builder_set_oom_kill_disable(NULL, 1), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_oom_kill_disable(b, 1), v2 ? COCOON_E_CGROUP : COCOON_OK);
    EXPECT(cocoon_builder_set_oom_kill_disable(b, 0), COCOON_OK);

    EXPECT(cocoon_builder_set_pids_max(NULL, 10), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_pids_max(b, 0), COCOON_E_CGROUP);
    CHECK(strstr(cocoon_last_error_message(), "pids.max") != NULL);
    EXPECT(cocoon_builder_set_pids_max(b, 4194305), COCOON_E_CGROUP);
    EXPECT(cocoon_builder_set_pids_max(b, 64), COCOON_OK);

    EXPECT(cocoon_builder_set_cpu_quota(NULL, 50000, 100000), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_cpu_quota(b, 500, 100000), COCOON_E_CGROUP);    /* < 1 ms */
    EXPECT(cocoon_builder_set_cpu_quota(b, 50000, 2000000), COCOON_E_CGROUP); /* period > 1 s */
    EXPECT(cocoon_builder_set_cpu_quota(b, 50000, 999), COCOON_E_CGROUP);
    EXPECT(cocoon_builder_set_cpu_burst(NULL, 1000), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_cpu_burst(b, 1000), COCOON_E_CGROUP); /* no quota yet */
    CHECK(strstr(cocoon_last_error_message(), "quota") != NULL);
    EXPECT(cocoon_builder_set_cpu_quota(b, 50000, 100000), COCOON_OK);
    EXPECT(cocoon_builder_set_cpu_burst(b, 60000), COCOON_E_CGROUP); /* above the quota */
    want = (v2 || access("/sys/fs/cgroup/cpu/cpu.cfs_burst_us", F_OK) == 0) ? COCOON_OK : COCOON_E_CGROUP;
    EXPECT(cocoon_builder_set_cpu_burst(b, 10000), want);
    EXPECT(cocoon_builder_set_cpu_weight(NULL, 100), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_cpu_weight(b, 0), COCOON_E_CGROUP);
    EXPECT(cocoon_builder_set_cpu_weight(b, 10001), COCOON_E_CGROUP);
    EXPECT(cocoon_builder_set_cpu_weight(b, 200), COCOON_OK);
    EXPECT(cocoon_builder_set_cpu_shares(NULL, 1024), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_cpu_shares(b, 1), COCOON_E_CGROUP);
    EXPECT(cocoon_builder_set_cpu_shares(b, 262145), COCOON_E_CGROUP);
    EXPECT(cocoon_builder_set_cpu_shares(b, 512), COCOON_OK); /* replaces the weight */
    EXPECT(cocoon_builder_set_cpu_weight(b, 100), COCOON_OK); /* and back */

    EXPECT(cocoon_builder_set_cpuset_cpus(NULL, "0"), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_cpuset_cpus(b, NULL), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_cpuset_cpus(b, "\xff"), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_cpuset_cpus(b, "63"), COCOON_E_CGROUP); /* not on this host */
    CHECK(strstr(cocoon_last_error_message(), "63 is not online") != NULL);
    EXPECT(cocoon_builder_set_cpuset_cpus(b, "3-1"), COCOON_E_CGROUP);
    EXPECT(cocoon_builder_set_cpuset_cpus(b, "zero"), COCOON_E_CGROUP);
    EXPECT(cocoon_builder_set_cpuset_cpus(b, ""), COCOON_E_CGROUP); /* empty set */
    EXPECT(cocoon_builder_set_cpuset_cpus(b, "0"), COCOON_OK);
    EXPECT(cocoon_builder_set_cpuset_mems(NULL, "0"), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_cpuset_mems(b, NULL), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_cpuset_mems(b, "63"), COCOON_E_CGROUP);
    EXPECT(cocoon_builder_set_cpuset_mems(b, "0"), COCOON_OK);

    EXPECT(cocoon_builder_set_io_weight(NULL, 100), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_io_weight(b, 0), COCOON_E_CGROUP);
    EXPECT(cocoon_builder_set_io_weight(b, 70000), COCOON_E_CGROUP);
    EXPECT(cocoon_builder_set_io_weight(b, 100), have_controller("blkio", "io") ? COCOON_OK : COCOON_E_CGROUP);
    EXPECT(cocoon_builder_add_io_limit(NULL, "/dev/vda", COCOON_IO_READ_BPS, 1), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_add_io_limit(b, NULL, COCOON_IO_READ_BPS, 1), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_add_io_limit(b, "/dev/null", 9, 1), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_add_io_limit(b, "/dev/null", COCOON_IO_READ_BPS, 1 << 20), COCOON_E_CGROUP);
    CHECK(strstr(cocoon_last_error_message(), "not a block device") != NULL);
    EXPECT(cocoon_builder_add_io_limit(b, "/no/such/disk", COCOON_IO_WRITE_BPS, 1 << 20), COCOON_E_CGROUP);
    CHECK(cocoon_last_error_errno() == ENOENT);
    EXPECT(cocoon_builder_add_io_limit_dev(NULL, 254, 0, COCOON_IO_READ_IOPS, 1), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_add_io_limit_dev(b, 254, 0, -1, 1), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_add_io_limit_dev(b, 4095, 99999, COCOON_IO_READ_IOPS, 100), COCOON_E_CGROUP);
    if (access("/sys/dev/block/254:0", F_OK) == 0 && access("/sys/dev/block/254:0/partition", F_OK) != 0) {
        EXPECT(cocoon_builder_add_io_limit_dev(b, 254, 0, COCOON_IO_READ_IOPS, 0), COCOON_E_CGROUP);
        EXPECT(cocoon_builder_add_io_limit_dev(b, 254, 0, COCOON_IO_WRITE_IOPS, 1000), COCOON_OK);
    }
    if (access("/dev/vda", F_OK) == 0 && access("/sys/dev/block/254:0/partition", F_OK) != 0)
        EXPECT(cocoon_builder_add_io_limit(b, "/dev/vda", COCOON_IO_READ_BPS, 100 << 20), COCOON_OK);

    EXPECT(cocoon_builder_set_hugetlb_limit(NULL, 2 << 20, 0), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_hugetlb_limit(b, 12345, 0), COCOON_E_CGROUP);
    EXPECT(cocoon_builder_set_hugetlb_limit(b, 2 << 20, 12345), COCOON_E_CGROUP);
    if (access("/sys/kernel/mm/hugepages/hugepages-2048kB", F_OK) == 0) {
        want = have_controller("hugetlb", "hugetlb") ? COCOON_OK : COCOON_E_CGROUP;
        EXPECT(cocoon_builder_set_hugetlb_limit(b, 2 << 20, 4 << 20), want);
        EXPECT(cocoon_builder_set_hugetlb_limit(b, 2 << 20, 8 << 20), want); /* replaces */
    }

    want = access("/sys/fs/cgroup/devices/devices.allow", F_OK) == 0 ? COCOON_OK : COCOON_E_CGROUP;
    EXPECT(cocoon_builder_add_device_rule(NULL, 0, COCOON_DEVICE_ALL, COCOON_DEVICE_ANY, COCOON_DEVICE_ANY, 7),
           COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_add_device_rule(b, 0, 7, COCOON_DEVICE_ANY, COCOON_DEVICE_ANY, 7), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_add_device_rule(b, 0, COCOON_DEVICE_ALL, COCOON_DEVICE_ANY, COCOON_DEVICE_ANY, 8),
           COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_add_device_rule(b, 0, COCOON_DEVICE_ALL, COCOON_DEVICE_ANY, COCOON_DEVICE_ANY, 0),
           COCOON_E_CGROUP); /* no access bits */
    EXPECT(cocoon_builder_add_device_rule(b, 0, COCOON_DEVICE_ALL, 1, COCOON_DEVICE_ANY, 7), COCOON_E_CGROUP);
    EXPECT(cocoon_builder_add_device_rule(b, 1, COCOON_DEVICE_CHAR, 5000, 1, 7), COCOON_E_CGROUP);
    EXPECT(cocoon_builder_add_device_rule(b, 0, COCOON_DEVICE_ALL, COCOON_DEVICE_ANY, COCOON_DEVICE_ANY,
                                          COCOON_DEVICE_READ | COCOON_DEVICE_WRITE | COCOON_DEVICE_MKNOD),
           want);
    EXPECT(cocoon_builder_add_device_rule(b, 1, COCOON_DEVICE_CHAR, 1, 3, COCOON_DEVICE_READ | COCOON_DEVICE_WRITE),
           want);
    EXPECT(cocoon_builder_validate(b), COCOON_OK);

    /* A failed setter leaves the builder as it was: no cgroup is created by it. */
    EXPECT(cocoon_builder_clear_cgroup(b), COCOON_OK);
    EXPECT(cocoon_builder_set_pids_max(b, 0), COCOON_E_CGROUP);
    EXPECT(cocoon_builder_set_cpuset_cpus(b, "63"), COCOON_E_CGROUP);
    EXPECT(cocoon_builder_validate(b), COCOON_OK);

    /* Container cgroup operations: NULL handle and NULL out-parameters. */
    {
        cocoon_stats st;
        const char *path = "untouched";
        memset(&st, 0x5a, sizeof st);
        st.size = sizeof st;
        EXPECT(cocoon_container_pause(NULL), COCOON_E_INVALID_ARGUMENT);
        EXPECT(cocoon_container_resume(NULL), COCOON_E_INVALID_ARGUMENT);
        EXPECT(cocoon_container_stats(NULL, &st), COCOON_E_INVALID_ARGUMENT);
        EXPECT(cocoon_container_cgroup_path(NULL, &path), COCOON_E_INVALID_ARGUMENT);
        CHECK(st.valid == 0x5a5a5a5au && strcmp(path, "untouched") == 0);
    }
    CHECK(sizeof(cocoon_stats) == COCOON_STATS_SIZE_V1);
    cocoon_builder_free(b);
}

/* Real containers (root). */
static void test_containers(void) {
    cocoon_builder *b = NULL, *x = NULL;
    cocoon_container *c = NULL;
    cocoon_exec_process *p = NULL;
    const char *args[] = {"-c", "echo \"$(hostname) $$ $GREETING\""};
    const char *env[] = {"GREETING=hello"};
    const char *sleep_args[] = {"30"};
    const char *exec_args[] = {"-c", "echo \"$(hostname) $$\"; exit 3"};
    char buf[256];
    int fd = -1, code = 0, sig = 0, exited = 0, pid = 0, v = 0, wfd = -1;

    /* 1. Run to completion with stdout piped, reading hostname, PID and env. */
    EXPECT(cocoon_builder_new("sh", &b), COCOON_OK);
    EXPECT(cocoon_builder_set_args(b, args, 2), COCOON_OK);
    EXPECT(cocoon_builder_set_env(b, env, 1), COCOON_OK);
    EXPECT(cocoon_builder_set_hostname(b, "abi-box"), COCOON_OK);
    EXPECT(cocoon_builder_set_read_only_root(b, 1), COCOON_OK);
    EXPECT(cocoon_builder_set_stdio(b, COCOON_STDOUT, COCOON_STDIO_PIPE, -1), COCOON_OK);
    EXPECT(cocoon_container_spawn(b, &c), COCOON_OK);
    CHECK(c != NULL && cocoon_container_id(c) != NULL && cocoon_container_id(c)[0] != '\0');
    EXPECT(cocoon_container_pid(c, NULL), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_container_pid(c, &pid), COCOON_OK);
    CHECK(pid > 1);
    EXPECT(cocoon_container_take_stdio(c, COCOON_STDOUT, NULL), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_container_take_stdio(c, 7, &fd), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_container_take_stdio(c, COCOON_STDERR, &fd), COCOON_E_NOT_AVAILABLE);
    EXPECT(cocoon_container_take_stdio(c, COCOON_STDOUT, &fd), COCOON_OK);
    EXPECT(cocoon_container_take_stdio(c, COCOON_STDOUT, &v), COCOON_E_NOT_AVAILABLE);
    read_all(fd, buf, sizeof buf);
    printf("container said: %s", buf);
    CHECK(strcmp(buf, "abi-box 1 hello\n") == 0);
    EXPECT(cocoon_container_wait(c, NULL, &sig), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_container_wait(c, &code, NULL), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_container_wait(c, &code, &sig), COCOON_OK);
    CHECK(code == 0 && sig == 0);
    EXPECT(cocoon_container_try_wait(c, &exited, &code, &sig), COCOON_OK);
    CHECK(exited == 1 && code == 0 && sig == 0);
    EXPECT(cocoon_container_kill(c, SIGTERM), COCOON_E_ALREADY_EXITED);
    x = NULL;
    EXPECT(cocoon_container_exec(c, b, &p), COCOON_E_ALREADY_EXITED);
    CHECK(p == NULL);
    EXPECT(cocoon_container_delete(c), COCOON_OK);
    c = NULL;

    /* 2. The builder was not consumed: spawn again from it, then detach and reap. */
    EXPECT(cocoon_builder_set_stdio(b, COCOON_STDOUT, COCOON_STDIO_NULL, -1), COCOON_OK);
    EXPECT(cocoon_container_spawn(b, &c), COCOON_OK);
    EXPECT(cocoon_container_detach(c, NULL), COCOON_E_INVALID_ARGUMENT); /* handle kept */
    EXPECT(cocoon_container_detach(c, &pid), COCOON_OK);
    c = NULL;
    {
        siginfo_t info;
        memset(&info, 0, sizeof info);
        CHECK(waitid(P_PID, (id_t)pid, &info, WEXITED | __WALL) == 0);
        CHECK(info.si_code == CLD_EXITED && info.si_status == 0);
    }

    /* 3. A long-running container and an exec into it. */
    EXPECT(cocoon_builder_set_program(b, "sleep"), COCOON_OK);
    EXPECT(cocoon_builder_set_args(b, sleep_args, 1), COCOON_OK);
    EXPECT(cocoon_container_spawn(b, &c), COCOON_OK);
    EXPECT(cocoon_container_try_wait(c, NULL, &code, &sig), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_container_try_wait(c, &exited, NULL, &sig), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_container_try_wait(c, &exited, &code, NULL), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_container_try_wait(c, &exited, &code, &sig), COCOON_OK);
    CHECK(exited == 0 && code == -1 && sig == 0);
    EXPECT(cocoon_container_wait_fd(c, NULL), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_container_wait_fd(c, &wfd), COCOON_OK);
    CHECK(wfd >= 0 && poll_in(wfd, 0) == 0); /* running: not readable */
    EXPECT(cocoon_container_kill(c, -5), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_container_kill(c, 1000), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_container_kill(c, 0), COCOON_OK);

    EXPECT(cocoon_builder_new("sh", &x), COCOON_OK);
    EXPECT(cocoon_builder_set_args(x, exec_args, 2), COCOON_OK);
    EXPECT(cocoon_builder_set_stdio(x, COCOON_STDOUT, COCOON_STDIO_PIPE, -1), COCOON_OK);
    EXPECT(cocoon_container_exec(c, NULL, &p), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_container_exec(c, x, NULL), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_container_exec(c, x, &p), COCOON_OK);
    EXPECT(cocoon_exec_process_pid(p, NULL), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_exec_process_pid(p, &pid), COCOON_OK);
    CHECK(pid > 1);
    EXPECT(cocoon_exec_process_take_stdio(p, COCOON_STDOUT, NULL), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_exec_process_take_stdio(p, 9, &fd), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_exec_process_take_stdio(p, COCOON_STDIN, &fd), COCOON_E_NOT_AVAILABLE);
    EXPECT(cocoon_exec_process_take_stdio(p, COCOON_STDOUT, &fd), COCOON_OK);
    read_all(fd, buf, sizeof buf);
    printf("exec said: %s", buf);
    CHECK(strncmp(buf, "abi-box ", 8) == 0 && strcmp(buf, "abi-box 1\n") != 0);
    EXPECT(cocoon_exec_process_wait(p, NULL, &sig), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_exec_process_wait(p, &code, NULL), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_exec_process_wait(p, &code, &sig), COCOON_OK);
    CHECK(code == 3 && sig == 0);
    EXPECT(cocoon_exec_process_try_wait(p, NULL, &code, &sig), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_exec_process_try_wait(p, &exited, NULL, &sig), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_exec_process_try_wait(p, &exited, &code, NULL), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_exec_process_try_wait(p, &exited, &code, &sig), COCOON_OK);
    CHECK(exited == 1 && code == 3);
    EXPECT(cocoon_exec_process_kill(p, SIGTERM), COCOON_E_ALREADY_EXITED);
    cocoon_exec_process_free(p);
    p = NULL;

    /* An exec killed by a signal. */
    EXPECT(cocoon_builder_set_program(x, "sleep"), COCOON_OK);
    EXPECT(cocoon_builder_set_args(x, sleep_args, 1), COCOON_OK);
    EXPECT(cocoon_builder_set_stdio(x, COCOON_STDOUT, COCOON_STDIO_INHERIT, -1), COCOON_OK);
    EXPECT(cocoon_container_exec(c, x, &p), COCOON_OK);
    EXPECT(cocoon_exec_process_try_wait(p, &exited, &code, &sig), COCOON_OK);
    CHECK(exited == 0);
    EXPECT(cocoon_exec_process_wait_fd(p, NULL), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_exec_process_wait_fd(p, &v), COCOON_OK);
    CHECK(v >= 0 && v != wfd && poll_in(v, 0) == 0);
    EXPECT(cocoon_exec_process_kill(p, 99999), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_exec_process_kill(p, SIGKILL), COCOON_OK);
    CHECK(poll_in(v, 10000) == 1); /* readable once it has exited */
    EXPECT(cocoon_exec_process_wait(p, &code, &sig), COCOON_OK);
    CHECK(code == -1 && sig == SIGKILL);
    cocoon_exec_process_free(p);
    p = NULL;

    /* The same exec through a process handle (not consumed: exec'd twice). */
    {
        cocoon_process *ph = NULL;
        int i;
        EXPECT(cocoon_process_new("sh", &ph), COCOON_OK);
        EXPECT(cocoon_process_set_args(ph, exec_args, 2), COCOON_OK);
        EXPECT(cocoon_process_set_stdio(ph, COCOON_STDOUT, COCOON_STDIO_PIPE, -1), COCOON_OK);
        EXPECT(cocoon_container_exec_process(c, NULL, &p), COCOON_E_INVALID_ARGUMENT);
        EXPECT(cocoon_container_exec_process(c, ph, NULL), COCOON_E_INVALID_ARGUMENT);
        for (i = 0; i < 2; i++) {
            EXPECT(cocoon_container_exec_process(c, ph, &p), COCOON_OK);
            EXPECT(cocoon_exec_process_take_stdio(p, COCOON_STDOUT, &fd), COCOON_OK);
            read_all(fd, buf, sizeof buf);
            CHECK(strncmp(buf, "abi-box ", 8) == 0 && strcmp(buf, "abi-box 1\n") != 0);
            EXPECT(cocoon_exec_process_wait(p, &code, &sig), COCOON_OK);
            CHECK(code == 3 && sig == 0);
            cocoon_exec_process_free(p);
            p = NULL;
        }
        EXPECT(cocoon_process_set_cwd(ph, "relative"), COCOON_E_INVALID_CONFIG);
        cocoon_process_free(ph);
    }

    /* A running exec freed without waiting is killed and reaped. */
    EXPECT(cocoon_container_exec(c, x, &p), COCOON_OK);
    cocoon_exec_process_free(p);
    p = NULL;

    CHECK(poll_in(wfd, 0) == 0);
    EXPECT(cocoon_container_kill(c, SIGKILL), COCOON_OK);
    CHECK(poll_in(wfd, 10000) == 1); /* readable once the first process has exited */
    EXPECT(cocoon_container_wait(c, &code, &sig), COCOON_OK);
    CHECK(code == -1 && sig == SIGKILL);
    cocoon_container_free(c); /* = kill + reap + cleanup */
    c = NULL;

    /* 4. A running container freed is killed and reaped. */
    EXPECT(cocoon_container_spawn(b, &c), COCOON_OK);
    EXPECT(cocoon_container_pid(c, &pid), COCOON_OK);
    cocoon_container_free(c);
    c = NULL;
    CHECK(kill(pid, 0) == -1 && errno == ESRCH);

    /* 5. Setup failures are typed, with stage and errno, and leave nothing behind. */
    EXPECT(cocoon_builder_set_program(b, "/no/such/program"), COCOON_OK);
    EXPECT(cocoon_container_spawn(b, &c), COCOON_E_SETUP);
    CHECK(c == NULL);
    CHECK(cocoon_last_error_stage() == COCOON_STAGE_EXEC && cocoon_last_error_errno() == ENOENT);
    printf("setup error: stage=%s errno=%d: %s\n", cocoon_stage_name(cocoon_last_error_stage()),
           cocoon_last_error_errno(), cocoon_last_error_message());
    EXPECT(cocoon_builder_set_program(b, "true"), COCOON_OK);
    EXPECT(cocoon_builder_add_bind(b, "/no/such/source", "/mnt", 0), COCOON_OK);
    /* A missing bind source is found while planning, before any process exists. */
    EXPECT(cocoon_container_spawn(b, &c), COCOON_E_INVALID_CONFIG);
    CHECK(c == NULL && strstr(cocoon_last_error_message(), "/no/such/source") != NULL);
    printf("config error: %s\n", cocoon_last_error_message());

    cocoon_builder_free(x);
    cocoon_builder_free(b);
}

/* The process handle: every setter with a NULL handle, a bad value (the handle unchanged:
 * it still validates) and a good one; the same rules as the builder's process setters. */
static void test_process_setters(void) {
    cocoon_process *p = NULL;
    const char *args[] = {"-c", "true"};
    const char *bad_args[] = {"-c", NULL};
    const char *env[] = {"A=1", "B=2"};
    const char *bad_env[] = {"NOEQUALS"};
    uint32_t groups[] = {1, 2};
    int64_t nrs[] = {SYS_getpid};
    int pfd[2];

    cocoon_process_free(NULL);
    CHECK(cocoon_last_error_code() == 0);
    EXPECT(cocoon_process_new(NULL, &p), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_process_new("sh", NULL), COCOON_E_INVALID_ARGUMENT);
    CHECK(p == NULL);
    EXPECT(cocoon_process_new("sh", &p), COCOON_OK);
    CHECK(p != NULL);
    EXPECT(cocoon_process_validate(NULL), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_process_validate(p), COCOON_OK);

    EXPECT(cocoon_process_set_program(NULL, "sh"), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_process_set_program(p, NULL), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_process_set_program(p, ""), COCOON_E_INVALID_CONFIG);
    EXPECT(cocoon_process_set_program(p, "/bin/sh"), COCOON_OK);
    EXPECT(cocoon_process_set_program_len(NULL, "sh", 2), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_process_set_program_len(p, "s\0h", 3), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_process_set_program_len(p, "shXXX", 2), COCOON_OK);
    EXPECT(cocoon_process_set_args(NULL, args, 2), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_process_set_args(p, bad_args, 2), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_process_set_args(p, args, 2), COCOON_OK);
    EXPECT(cocoon_process_set_env(NULL, env, 2), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_process_set_env(p, bad_env, 1), COCOON_E_INVALID_CONFIG);
    EXPECT(cocoon_process_set_env(p, env, 2), COCOON_OK);
    EXPECT(cocoon_process_set_cwd(NULL, "/"), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_process_set_cwd(p, "relative"), COCOON_E_INVALID_CONFIG);
    EXPECT(cocoon_process_validate(p), COCOON_OK); /* unchanged by the failed call */
    EXPECT(cocoon_process_set_cwd(p, "/tmp"), COCOON_OK);
    EXPECT(cocoon_process_set_user(NULL, 0, 0, NULL, 0), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_process_set_user(p, 0, 0, NULL, 2), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_process_set_user(p, 1000, 1000, groups, 2), COCOON_OK);
    EXPECT(cocoon_process_set_user_name(NULL, "root"), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_process_set_user_name(p, ""), COCOON_E_INVALID_CONFIG);
    EXPECT(cocoon_process_set_user_name(p, "root"), COCOON_OK);
    EXPECT(cocoon_process_set_capabilities(NULL, 0, 0, 0, 0, 0), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_process_set_capabilities(p, 1, 1, 0, 0, 0), COCOON_E_INVALID_CONFIG);
    EXPECT(cocoon_process_set_capabilities(p, 1, 1, 1, 0, 0), COCOON_OK);
    EXPECT(cocoon_process_set_no_new_privs(NULL, 1), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_process_set_no_new_privs(p, 1), COCOON_OK);
    EXPECT(cocoon_process_set_rlimit(NULL, COCOON_RLIMIT_NOFILE, 1, 1), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_process_set_rlimit(p, 99, 1, 1), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_process_set_rlimit(p, COCOON_RLIMIT_NOFILE, 2, 1), COCOON_E_INVALID_CONFIG);
    EXPECT(cocoon_process_set_rlimit(p, COCOON_RLIMIT_NOFILE, 64, 64), COCOON_OK);
    EXPECT(cocoon_process_set_umask(NULL, 022), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_process_set_umask(p, 01000), COCOON_E_INVALID_CONFIG);
    EXPECT(cocoon_process_set_umask(p, 022), COCOON_OK);
    EXPECT(cocoon_process_set_seccomp_deny(NULL, nrs, 1, EPERM), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_process_set_seccomp_deny(p, nrs, 1, 0), COCOON_E_INVALID_CONFIG);
    EXPECT(cocoon_process_set_seccomp_deny(p, nrs, 1, EPERM), COCOON_OK);
    EXPECT(cocoon_process_set_seccomp_default_deny(NULL), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_process_set_seccomp_default_deny(p), COCOON_OK);
    EXPECT(cocoon_process_clear_seccomp(NULL), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_process_clear_seccomp(p), COCOON_OK);
    EXPECT(cocoon_process_set_default_seccomp(NULL, 1), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_process_set_default_seccomp(p, 1), COCOON_OK);
    EXPECT(cocoon_process_set_oom_score_adj(NULL, 0), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_process_set_oom_score_adj(p, 1001), COCOON_E_INVALID_CONFIG);
    EXPECT(cocoon_process_set_oom_score_adj(p, 100), COCOON_OK);
    EXPECT(cocoon_process_set_stdio(NULL, COCOON_STDOUT, COCOON_STDIO_NULL, -1), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_process_set_stdio(p, 7, COCOON_STDIO_NULL, -1), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_process_set_stdio(p, COCOON_STDOUT, COCOON_STDIO_FD, 999), COCOON_E_OS);
    CHECK(cocoon_last_error_errno() == EBADF);
    EXPECT(cocoon_process_set_stdio(p, COCOON_STDOUT, COCOON_STDIO_PIPE, -1), COCOON_OK);
    CHECK(pipe(pfd) == 0);
    EXPECT(cocoon_process_pass_fd(NULL, pfd[1], 3), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_process_pass_fd(p, pfd[1], 2), COCOON_E_INVALID_CONFIG);
    EXPECT(cocoon_process_pass_fd(p, pfd[1], 3), COCOON_OK);
    EXPECT(cocoon_process_clear_passed_fds(NULL), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_process_clear_passed_fds(p), COCOON_OK);
    close(pfd[0]);
    close(pfd[1]);
    EXPECT(cocoon_process_validate(p), COCOON_OK);
    {
        cocoon_exec_process *e = NULL;
        EXPECT(cocoon_container_exec_process(NULL, p, &e), COCOON_E_INVALID_ARGUMENT);
        CHECK(e == NULL);
    }
    cocoon_process_free(p);
}

/* Reads a small file into buf (NUL-terminated, trailing newline cut); 0 on success. */
static int read_file(const char *path, char *buf, size_t cap) {
    FILE *f = fopen(path, "r");
    size_t n;
    if (f == NULL) return -1;
    n = fread(buf, 1, cap - 1, f);
    fclose(f);
    buf[n] = '\0';
    while (n > 0 && buf[n - 1] == '\n') buf[--n] = '\0';
    return 0;
}

static uint64_t cpu_us(cocoon_container *c) {
    cocoon_stats st;
    memset(&st, 0, sizeof st);
    st.size = sizeof st;
    if (cocoon_container_stats(c, &st) != COCOON_OK || !(st.valid & COCOON_STATS_CPU)) return 0;
    return st.cpu_usage_us;
}

/* Cgroups of real containers (root): limits written, enforced (OOM kill, fork refused),
 * stats, pause/resume, the cgroup path, and nothing left behind. */
static void test_cgroup_containers(void) {
    cocoon_builder *b = NULL;
    cocoon_container *c = NULL;
    cocoon_stats st;
    const char *path = NULL;
    char dir[512], file[600], buf[256];
    int code = 0, sig = 0, fd = -1, v2 = cocoon_has_feature("cgroup2");
    /* A few short-lived processes, then an allocation of 64 MiB (tail keeps the whole
     * newline-free input) under a 32 MiB limit: the OOM killer takes tail. */
    const char *oom_args[] = {"-c", "for i in 1 2 3; do true & done; wait;"
                                    "head -c 64m /dev/zero | tail >/dev/null; echo tail=$?"};
    const char *fork_args[] = {"-c", "sleep 5 & sleep 5 & sleep 5 & sleep 5 & sleep 5 & echo forked-all"};
    const char *spin_args[] = {"-c", "while :; do :; done"};
    const char *sleep_args[] = {"30"};

    /* 1. memory max + pids max, a workload that is OOM-killed, stats afterwards. */
    EXPECT(cocoon_builder_new("sh", &b), COCOON_OK);
    EXPECT(cocoon_builder_set_args(b, oom_args, 2), COCOON_OK);
    EXPECT(cocoon_builder_set_stdio(b, COCOON_STDOUT, COCOON_STDIO_PIPE, -1), COCOON_OK);
    EXPECT(cocoon_builder_set_memory_max(b, 32 << 20), COCOON_OK);
    EXPECT(cocoon_builder_set_pids_max(b, 16), COCOON_OK);
    EXPECT(cocoon_container_spawn(b, &c), COCOON_OK);
    EXPECT(cocoon_container_cgroup_path(c, NULL), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_container_cgroup_path(c, &path), COCOON_OK);
    snprintf(buf, sizeof buf, "cocoon/%s", cocoon_container_id(c));
    CHECK(path != NULL && strcmp(path, buf) == 0);
    printf("cgroup path: %s\n", path ? path : "(null)");
    /* The limits are in the kernel's files. */
    snprintf(dir, sizeof dir, v2 ? "/sys/fs/cgroup/%s" : "/sys/fs/cgroup/memory/%s", path ? path : "?");
    CHECK(access(dir, F_OK) == 0);
    snprintf(file, sizeof file, v2 ? "%s/memory.max" : "%s/memory.limit_in_bytes", dir);
    CHECK(read_file(file, buf, sizeof buf) == 0 && strcmp(buf, "33554432") == 0);
    snprintf(file, sizeof file, v2 ? "/sys/fs/cgroup/%s/pids.max" : "/sys/fs/cgroup/pids/%s/pids.max", path ? path : "?");
    CHECK(read_file(file, buf, sizeof buf) == 0 && strcmp(buf, "16") == 0);
    EXPECT(cocoon_container_take_stdio(c, COCOON_STDOUT, &fd), COCOON_OK);
    read_all(fd, buf, sizeof buf);
    printf("oom workload said: %s", buf);
    CHECK(strcmp(buf, "tail=137\n") == 0); /* 128 + SIGKILL */
    EXPECT(cocoon_container_wait(c, &code, &sig), COCOON_OK);
    CHECK(code == 0 && sig == 0);
    memset(&st, 0x5a, sizeof st);
    st.size = 8; /* too small */
    EXPECT(cocoon_container_stats(c, &st), COCOON_E_INVALID_ARGUMENT);
    CHECK(st.valid == 0x5a5a5a5au); /* untouched */
    EXPECT(cocoon_container_stats(c, NULL), COCOON_E_INVALID_ARGUMENT);
    st.size = sizeof st;
    EXPECT(cocoon_container_stats(c, &st), COCOON_OK);
    printf("stats: size=%u valid=%#x cpu=%lluus (user %llu, sys %llu) mem=%llu peak=%llu oom_events=%llu "
           "oom_kills=%llu pids=%llu io r=%llu/%llu w=%llu/%llu\n",
           st.size, st.valid, (unsigned long long)st.cpu_usage_us, (unsigned long long)st.cpu_user_us,
           (unsigned long long)st.cpu_system_us, (unsigned long long)st.memory_current,
           (unsigned long long)st.memory_peak, (unsigned long long)st.memory_oom_events,
           (unsigned long long)st.memory_oom_kills, (unsigned long long)st.pids_current,
           (unsigned long long)st.io_read_bytes, (unsigned long long)st.io_read_ops,
           (unsigned long long)st.io_write_bytes, (unsigned long long)st.io_write_ops);
    CHECK(st.size == sizeof st);
    CHECK((st.valid & (COCOON_STATS_CPU | COCOON_STATS_MEMORY | COCOON_STATS_PIDS)) ==
          (COCOON_STATS_CPU | COCOON_STATS_MEMORY | COCOON_STATS_PIDS));
    CHECK(st.cpu_usage_us > 0 && st.cpu_usage_us >= st.cpu_user_us);
    CHECK(st.memory_oom_kills >= 1 && st.memory_oom_events >= 1);
    CHECK(!(st.valid & COCOON_STATS_MEMORY_PEAK) || (st.memory_peak > (16u << 20) && st.memory_peak <= (32u << 20)));
    CHECK(st.pids_current == 0); /* everything has exited */
    EXPECT(cocoon_container_delete(c), COCOON_OK);
    c = NULL;
    CHECK(access(dir, F_OK) == -1 && errno == ENOENT); /* removed */

    /* 2. pids max refuses forks: sh + 5 sleeps do not fit in 4 tasks. */
    EXPECT(cocoon_builder_set_args(b, fork_args, 2), COCOON_OK);
    EXPECT(cocoon_builder_set_stdio(b, COCOON_STDERR, COCOON_STDIO_PIPE, -1), COCOON_OK);
    EXPECT(cocoon_builder_set_pids_max(b, 4), COCOON_OK);
    EXPECT(cocoon_container_spawn(b, &c), COCOON_OK);
    EXPECT(cocoon_container_take_stdio(c, COCOON_STDOUT, &fd), COCOON_OK);
    read_all(fd, buf, sizeof buf);
    CHECK(strstr(buf, "forked-all") == NULL);
    EXPECT(cocoon_container_take_stdio(c, COCOON_STDERR, &fd), COCOON_OK);
    read_all(fd, buf, sizeof buf);
    printf("fork refused: %s", buf);
    CHECK(strstr(buf, "fork") != NULL);
    EXPECT(cocoon_container_wait(c, &code, &sig), COCOON_OK);
    CHECK(code != 0);
    cocoon_container_free(c);
    c = NULL;

    /* 3. pause stops the clock, resume starts it again. */
    EXPECT(cocoon_builder_clear_cgroup(b), COCOON_OK);
    EXPECT(cocoon_builder_enable_cgroup(b), COCOON_OK);
    EXPECT(cocoon_builder_set_args(b, spin_args, 2), COCOON_OK);
    EXPECT(cocoon_builder_set_stdio(b, COCOON_STDOUT, COCOON_STDIO_NULL, -1), COCOON_OK);
    EXPECT(cocoon_builder_set_stdio(b, COCOON_STDERR, COCOON_STDIO_NULL, -1), COCOON_OK);
    EXPECT(cocoon_container_spawn(b, &c), COCOON_OK);
    usleep(100000);
    EXPECT(cocoon_container_pause(c), COCOON_OK);
    EXPECT(cocoon_container_pause(c), COCOON_OK); /* twice is fine */
    {
        uint64_t a = cpu_us(c), z;
        usleep(300000);
        z = cpu_us(c);
        printf("paused: cpu %llu -> %llu us\n", (unsigned long long)a, (unsigned long long)z);
        CHECK(a > 0 && z == a);
        EXPECT(cocoon_container_resume(c), COCOON_OK);
        /* Running again: at least 50 ms more CPU time within 5 s (the machine is shared). */
        for (int i = 0; i < 50 && (z = cpu_us(c)) < a + 50000; i++) usleep(100000);
        printf("resumed: cpu -> %llu us\n", (unsigned long long)z);
        CHECK(z >= a + 50000);
    }
    EXPECT(cocoon_container_resume(c), COCOON_OK);
    EXPECT(cocoon_container_pause(c), COCOON_OK);
    EXPECT(cocoon_container_cgroup_path(c, &path), COCOON_OK);
    snprintf(dir, sizeof dir, v2 ? "/sys/fs/cgroup/%s" : "/sys/fs/cgroup/freezer/%s", path);
    CHECK(access(dir, F_OK) == 0);
    cocoon_container_free(c); /* a paused container is still killed and removed */
    c = NULL;
    CHECK(access(dir, F_OK) == -1);

    /* 4. Without a cgroup the operations fail clearly. */
    EXPECT(cocoon_builder_clear_cgroup(b), COCOON_OK);
    EXPECT(cocoon_builder_set_program(b, "sleep"), COCOON_OK);
    EXPECT(cocoon_builder_set_args(b, sleep_args, 1), COCOON_OK);
    EXPECT(cocoon_container_spawn(b, &c), COCOON_OK);
    path = "untouched";
    EXPECT(cocoon_container_cgroup_path(c, &path), COCOON_E_INVALID_CONFIG);
    CHECK(strcmp(path, "untouched") == 0);
    EXPECT(cocoon_container_pause(c), COCOON_E_INVALID_CONFIG);
    EXPECT(cocoon_container_resume(c), COCOON_E_INVALID_CONFIG);
    st.size = sizeof st;
    EXPECT(cocoon_container_stats(c, &st), COCOON_E_INVALID_CONFIG);
    CHECK(strstr(cocoon_last_error_message(), "no cgroup") != NULL);
    cocoon_container_free(c);
    c = NULL;

    /* 5. A cgroup that already exists (here: a running container's id) is never adopted:
     * the spawn fails with COCOON_E_CGROUP and leaves the other container alone. */
    EXPECT(cocoon_builder_set_id(b, "cocoon-abi-cg-dup"), COCOON_OK);
    EXPECT(cocoon_builder_enable_cgroup(b), COCOON_OK);
    EXPECT(cocoon_container_spawn(b, &c), COCOON_OK);
    {
        cocoon_container *d = NULL;
        EXPECT(cocoon_container_spawn(b, &d), COCOON_E_CGROUP);
        CHECK(d == NULL && strstr(cocoon_last_error_message(), "already exists") != NULL);
    }
    EXPECT(cocoon_container_kill(c, 0), COCOON_OK); /* still running */
    cocoon_container_free(c);
    c = NULL;
    cocoon_builder_free(b);
}

/* SELinux settings, procfs and relabelled mounts, namespace joins, passed fds: every
 * setter's success path, NULL for each pointer argument, and invalid values. */
static void test_more_setters(void) {
    cocoon_builder *b = NULL;
    char dir[] = "/tmp/cocoon-abi-XXXXXX";
    int p[2], i;

    CHECK(mkdtemp(dir) != NULL);
    EXPECT(cocoon_builder_new("true", &b), COCOON_OK);

    /* procfs */
    EXPECT(cocoon_builder_add_proc(NULL, "/proc", 0), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_add_proc(b, NULL, 0), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_add_proc(b, "/proc", 0x80), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_add_proc(b, "/proc", COCOON_MOUNT_ALLOW_SUID), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_add_proc(b, "proc", 0), COCOON_E_INVALID_CONFIG);
    EXPECT(cocoon_builder_add_proc(b, "/a/../proc", 0), COCOON_E_INVALID_CONFIG);
    EXPECT(cocoon_builder_add_proc(b, "/", 0), COCOON_E_INVALID_CONFIG);
    EXPECT(cocoon_builder_add_proc(b, "/proc2", COCOON_MOUNT_READONLY), COCOON_OK);
    EXPECT(cocoon_builder_validate(b), COCOON_OK);
    EXPECT(cocoon_builder_clear_mounts(b), COCOON_OK);

    /* relabelled bind mounts */
    EXPECT(cocoon_builder_add_bind_relabel(NULL, dir, "/mnt", 0, COCOON_RELABEL_SHARED), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_add_bind_relabel(b, NULL, "/mnt", 0, COCOON_RELABEL_SHARED), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_add_bind_relabel(b, dir, NULL, 0, COCOON_RELABEL_SHARED), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_add_bind_relabel(b, dir, "/mnt", 0x100, COCOON_RELABEL_SHARED), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_add_bind_relabel(b, dir, "/mnt", 0, 2), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_add_bind_relabel(b, dir, "/mnt", 0, -1), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_add_bind_relabel(b, "relative", "/mnt", 0, COCOON_RELABEL_SHARED), COCOON_E_INVALID_CONFIG);
    EXPECT(cocoon_builder_add_bind_relabel(b, dir, "mnt", 0, COCOON_RELABEL_SHARED), COCOON_E_INVALID_CONFIG);
    /* System directories are refused at once (and the builder is left unchanged). */
    EXPECT(cocoon_builder_add_bind_relabel(b, "/usr", "/mnt", 0, COCOON_RELABEL_PRIVATE), COCOON_E_SELINUX);
    CHECK(strstr(cocoon_last_error_message(), "/usr") != NULL);
    printf("relabel refused: %s\n", cocoon_last_error_message());
    EXPECT(cocoon_builder_add_bind_relabel(b, "/usr/share", "/mnt", 0, COCOON_RELABEL_SHARED), COCOON_E_SELINUX);
    EXPECT(cocoon_builder_add_bind_relabel(b, "/", "/mnt", 0, COCOON_RELABEL_SHARED), COCOON_E_SELINUX);
    EXPECT(cocoon_builder_add_bind_relabel(b, "/etc", "/mnt", COCOON_MOUNT_READONLY, COCOON_RELABEL_SHARED), COCOON_E_SELINUX);
    EXPECT(cocoon_builder_add_bind_relabel(b, "/home", "/mnt", 0, COCOON_RELABEL_PRIVATE), COCOON_E_SELINUX);
    EXPECT(cocoon_builder_validate(b), COCOON_OK);
    EXPECT(cocoon_builder_add_bind_relabel(b, dir, "/mnt", COCOON_MOUNT_READONLY | COCOON_MOUNT_NONRECURSIVE,
                                           COCOON_RELABEL_PRIVATE), COCOON_OK);
    /* Relabelling needs SELinux settings on the builder. */
    EXPECT(cocoon_builder_validate(b), COCOON_E_INVALID_CONFIG);
    EXPECT(cocoon_builder_enable_selinux(b), COCOON_OK);
    EXPECT(cocoon_builder_validate(b), COCOON_OK);
    EXPECT(cocoon_builder_clear_selinux(NULL), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_clear_selinux(b), COCOON_OK);
    EXPECT(cocoon_builder_validate(b), COCOON_E_INVALID_CONFIG);
    EXPECT(cocoon_builder_clear_mounts(b), COCOON_OK);
    EXPECT(cocoon_builder_validate(b), COCOON_OK);

    /* joining namespaces */
    EXPECT(cocoon_builder_join_namespace(NULL, COCOON_NS_NET, "/proc/self/ns/net"), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_join_namespace(b, COCOON_NS_NET, NULL), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_join_namespace(b, COCOON_NS_PID, "/proc/self/ns/pid"), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_join_namespace(b, COCOON_NS_MOUNT, "/proc/self/ns/mnt"), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_join_namespace(b, COCOON_NS_NET | COCOON_NS_UTS, "/proc/self/ns/net"), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_join_namespace(b, 0, "/proc/self/ns/net"), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_join_namespace(b, 1u << 20, "/proc/self/ns/net"), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_join_namespace(b, COCOON_NS_NET, "proc/self/ns/net"), COCOON_E_INVALID_CONFIG);
    EXPECT(cocoon_builder_join_namespace(b, COCOON_NS_NET, "/proc/self/ns/net"), COCOON_OK);
    EXPECT(cocoon_builder_join_namespace(b, COCOON_NS_IPC, "/proc/self/ns/ipc"), COCOON_OK);
    EXPECT(cocoon_builder_join_namespace(b, COCOON_NS_UTS, "/proc/self/ns/uts"), COCOON_OK);
    EXPECT(cocoon_builder_validate(b), COCOON_OK);
    EXPECT(cocoon_builder_set_hostname(b, "nope"), COCOON_OK);
    EXPECT(cocoon_builder_validate(b), COCOON_E_INVALID_CONFIG); /* hostname in a joined UTS ns */
    EXPECT(cocoon_builder_clear_namespace_joins(NULL), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_clear_namespace_joins(b), COCOON_OK);
    EXPECT(cocoon_builder_validate(b), COCOON_E_INVALID_CONFIG); /* the UTS flag stays off */
    EXPECT(cocoon_builder_set_namespaces(b, COCOON_NS_DEFAULT), COCOON_OK);
    EXPECT(cocoon_builder_validate(b), COCOON_OK);
    EXPECT(cocoon_builder_join_namespace(b, COCOON_NS_NET, "/proc/self/ns/net"), COCOON_OK);
    EXPECT(cocoon_builder_validate(b), COCOON_OK);
    EXPECT(cocoon_builder_set_namespaces(b, COCOON_NS_DEFAULT), COCOON_OK); /* NET new again */
    EXPECT(cocoon_builder_validate(b), COCOON_E_INVALID_CONFIG);
    EXPECT(cocoon_builder_clear_namespace_joins(b), COCOON_OK);
    EXPECT(cocoon_builder_validate(b), COCOON_OK);

    /* passed descriptors */
    CHECK(pipe(p) == 0);
    EXPECT(cocoon_builder_pass_fd(NULL, p[1], 3), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_pass_fd(b, -1, 3), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_pass_fd(b, p[1], 2), COCOON_E_INVALID_CONFIG);
    EXPECT(cocoon_builder_pass_fd(b, p[1], -7), COCOON_E_INVALID_CONFIG);
    EXPECT(cocoon_builder_pass_fd(b, p[1], 3), COCOON_OK);
    EXPECT(cocoon_builder_pass_fd(b, p[1], 3), COCOON_OK); /* replaces */
    for (i = 4; i < 3 + 64; i++) EXPECT(cocoon_builder_pass_fd(b, p[0], i), COCOON_OK);
    EXPECT(cocoon_builder_pass_fd(b, p[0], 200), COCOON_E_INVALID_CONFIG); /* a 65th */
    EXPECT(cocoon_builder_pass_fd(b, p[0], 66), COCOON_OK);                /* replacing is fine */
    EXPECT(cocoon_builder_validate(b), COCOON_OK);
    EXPECT(cocoon_builder_clear_passed_fds(NULL), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_clear_passed_fds(b), COCOON_OK);
    close(p[0]);
    close(p[1]);
    EXPECT(cocoon_builder_pass_fd(b, p[1], 3), COCOON_E_OS); /* closed */
    CHECK(cocoon_last_error_errno() == EBADF);

    /* SELinux settings: syntax is checked at once, with SELinux or without. */
    EXPECT(cocoon_builder_enable_selinux(NULL), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_enable_selinux(b), COCOON_OK);
    EXPECT(cocoon_builder_enable_selinux(b), COCOON_OK);
    EXPECT(cocoon_builder_set_selinux_user(NULL, "system_u"), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_selinux_user(b, NULL), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_selinux_user(b, "bad:user"), COCOON_E_SELINUX);
    EXPECT(cocoon_builder_set_selinux_user(b, "system_u"), COCOON_OK);
    EXPECT(cocoon_builder_set_selinux_role(NULL, "system_r"), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_selinux_role(b, NULL), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_selinux_role(b, ""), COCOON_E_SELINUX);
    EXPECT(cocoon_builder_set_selinux_role(b, "system_r"), COCOON_OK);
    EXPECT(cocoon_builder_set_selinux_process_type(NULL, "container_t"), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_selinux_process_type(b, NULL), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_selinux_process_type(b, "bad type"), COCOON_E_SELINUX);
    EXPECT(cocoon_builder_set_selinux_process_type(b, "\xff\xfe"), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_selinux_process_type(b, "container_t"), COCOON_OK);
    EXPECT(cocoon_builder_set_selinux_file_type(NULL, "container_file_t"), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_selinux_file_type(b, NULL), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_selinux_file_type(b, "9lives"), COCOON_E_SELINUX);
    EXPECT(cocoon_builder_set_selinux_file_type(b, "container_file_t"), COCOON_OK);
    EXPECT(cocoon_builder_set_selinux_level(NULL, "s0:c1,c2"), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_selinux_level(b, NULL), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_selinux_level(b, "bogus"), COCOON_E_SELINUX);
    EXPECT(cocoon_builder_set_selinux_level(b, "s0:c1,c2000"), COCOON_E_SELINUX);
    EXPECT(cocoon_builder_set_selinux_level(b, ""), COCOON_E_SELINUX);
    EXPECT(cocoon_builder_set_selinux_level(b, "s0:c1,c2"), COCOON_OK);
    EXPECT(cocoon_builder_set_selinux_shared_level(NULL, "s0:c3,c4"), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_selinux_shared_level(b, NULL), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_selinux_shared_level(b, "s0:c3,c4"), COCOON_E_SELINUX); /* excludes level */
    CHECK(strstr(cocoon_last_error_message(), "shared_level") != NULL);
    EXPECT(cocoon_builder_set_selinux_mount_label(NULL, "system_u:object_r:container_file_t:s0"), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_selinux_mount_label(b, NULL), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_selinux_mount_label(b, "not-a-context"), COCOON_E_SELINUX);
    EXPECT(cocoon_builder_set_selinux_mount_label(b, "system_u:object_r:container_file_t:s0:c1,c2"), COCOON_OK);
    EXPECT(cocoon_builder_set_selinux_require(NULL, 1), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_selinux_require(b, 0), COCOON_OK);
    EXPECT(cocoon_builder_set_selinux_mcs_range(NULL, 10, 20), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_selinux_mcs_range(b, 20, 20), COCOON_E_SELINUX);
    EXPECT(cocoon_builder_set_selinux_mcs_range(b, 20, 10), COCOON_E_SELINUX);
    EXPECT(cocoon_builder_set_selinux_mcs_range(b, 0, 1024), COCOON_E_SELINUX);
    EXPECT(cocoon_builder_set_selinux_mcs_range(b, 65536 + 1, 65536 + 2), COCOON_E_SELINUX);
    CHECK(strstr(cocoon_last_error_message(), "c65537") != NULL);
    EXPECT(cocoon_builder_set_selinux_mcs_range(b, 100, 199), COCOON_OK);
    EXPECT(cocoon_builder_set_selinux_state_dir(NULL, "/run/x"), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_selinux_state_dir(b, NULL), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_selinux_state_dir(b, "run/x"), COCOON_E_INVALID_CONFIG);
    EXPECT(cocoon_builder_set_selinux_state_dir(b, dir), COCOON_OK);
    EXPECT(cocoon_builder_set_selinux_policy_root(NULL, "/etc/selinux/default"), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_selinux_policy_root(b, NULL), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_selinux_policy_root(b, "etc/selinux"), COCOON_E_INVALID_CONFIG);
    EXPECT(cocoon_builder_set_selinux_policy_root(b, "/etc/selinux/default"), COCOON_OK);
    EXPECT(cocoon_builder_validate(b), COCOON_OK);
    /* After clearing, a shared level is fine. */
    EXPECT(cocoon_builder_clear_selinux(b), COCOON_OK);
    EXPECT(cocoon_builder_set_selinux_shared_level(b, "s0:c3,c4"), COCOON_OK);
    EXPECT(cocoon_builder_set_selinux_level(b, "s0:c1,c2"), COCOON_E_SELINUX);
    EXPECT(cocoon_builder_validate(b), COCOON_OK);

    cocoon_builder_free(b);
    CHECK(rmdir(dir) == 0); /* nothing was written into the state directory */
}

/* Runs `b` with stdout piped; returns the exit code and puts the output into buf. */
static int run_capture(cocoon_builder *b, char *buf, size_t cap) {
    cocoon_container *c = NULL;
    int fd = -1, code = -1, sig = 0;
    EXPECT(cocoon_builder_set_stdio(b, COCOON_STDOUT, COCOON_STDIO_PIPE, -1), COCOON_OK);
    EXPECT(cocoon_container_spawn(b, &c), COCOON_OK);
    if (c == NULL) {
        buf[0] = '\0';
        return -1;
    }
    EXPECT(cocoon_container_take_stdio(c, COCOON_STDOUT, &fd), COCOON_OK);
    read_all(fd, buf, cap);
    EXPECT(cocoon_container_wait(c, &code, &sig), COCOON_OK);
    EXPECT(cocoon_container_delete(c), COCOON_OK);
    return code;
}

/* The new settings in real containers. This host has no SELinux: labelled containers
 * run unlabelled, `require` refuses to start, relabelling system directories is refused. */
static void test_more_containers(void) {
    cocoon_builder *b = NULL, *s = NULL;
    cocoon_container *c = NULL, *a = NULL;
    const char *label = NULL;
    const char *proc_args[] = {"-c", "read pid rest < /proc/self/stat; echo $pid; "
                                     "if test -w /proc/self/comm; then echo rw; else echo ro; fi"};
    const char *fd_args[] = {"-c", "echo passed >&5"};
    const char *sleep_args[] = {"30"};
    char dir[] = "/tmp/cocoon-abi-XXXXXX";
    char link[64], mcs[64], path[64], buf[256];
    int p[2], pid = 0, code = 0, sig = 0, on = selinux_on();

    CHECK(mkdtemp(dir) != NULL);
    snprintf(link, sizeof link, "%s/link", dir);
    snprintf(mcs, sizeof mcs, "%s/mcs", dir);
    CHECK(cocoon_has_feature("selinux") == on);

    /* 0. A seccomp deny-list: mkdir fails with the chosen errno inside. */
    {
        const int64_t deny[] = {SYS_mkdir, SYS_mkdirat};
        const char *mk_args[] = {"-c", "mkdir /tmp/x 2>/dev/null && echo made || echo denied"};
        EXPECT(cocoon_builder_new("/bin/sh", &b), COCOON_OK);
        EXPECT(cocoon_builder_set_args(b, mk_args, 2), COCOON_OK);
        CHECK(run_capture(b, buf, sizeof buf) == 0 && strcmp(buf, "made\n") == 0);
        EXPECT(cocoon_builder_set_seccomp_deny(b, deny, 2, EPERM), COCOON_OK);
        CHECK(run_capture(b, buf, sizeof buf) == 0 && strcmp(buf, "denied\n") == 0);
        cocoon_builder_free(b);
        b = NULL;
    }
    /* 0b. The default policy refuses a new user namespace inside; turned off, it works. */
    {
        const char *us_args[] = {"-c", "unshare -U true 2>/dev/null && echo userns || echo no-userns"};
        const char *us_env[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin"};
        EXPECT(cocoon_builder_new("/bin/sh", &b), COCOON_OK);
        EXPECT(cocoon_builder_set_args(b, us_args, 2), COCOON_OK);
        EXPECT(cocoon_builder_set_env(b, us_env, 1), COCOON_OK);
        CHECK(run_capture(b, buf, sizeof buf) == 0 && strcmp(buf, "no-userns\n") == 0);
        EXPECT(cocoon_builder_set_default_seccomp(b, 0), COCOON_OK);
        CHECK(run_capture(b, buf, sizeof buf) == 0 && strcmp(buf, "userns\n") == 0);
        cocoon_builder_free(b);
        b = NULL;
    }

    /* 1. A labelled container (require off) runs; unlabelled where SELinux is off. */
    EXPECT(cocoon_builder_new("true", &b), COCOON_OK);
    EXPECT(cocoon_container_spawn(b, &c), COCOON_OK);
    EXPECT(cocoon_container_selinux_label(NULL, &label), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_container_selinux_label(c, NULL), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_container_selinux_label(c, &label), COCOON_E_NOT_AVAILABLE); /* no settings */
    CHECK(label == NULL);
    EXPECT(cocoon_container_delete(c), COCOON_OK);
    c = NULL;
    EXPECT(cocoon_builder_set_selinux_process_type(b, "container_t"), COCOON_OK);
    EXPECT(cocoon_builder_set_selinux_level(b, "s0:c1,c2"), COCOON_OK);
    EXPECT(cocoon_builder_set_selinux_state_dir(b, mcs), COCOON_OK);
    EXPECT(cocoon_builder_set_selinux_require(b, 0), COCOON_OK);
    EXPECT(cocoon_container_spawn(b, &c), COCOON_OK);
    if (on) {
        EXPECT(cocoon_container_selinux_label(c, &label), COCOON_OK);
        CHECK(label != NULL && strstr(label, ":container_t:s0:c1,c2") != NULL);
    } else {
        EXPECT(cocoon_container_selinux_label(c, &label), COCOON_E_NOT_AVAILABLE);
        CHECK(label == NULL && strstr(cocoon_last_error_message(), "disabled") != NULL);
        printf("selinux label: none (%s)\n", cocoon_last_error_message());
        CHECK(access(mcs, F_OK) != 0); /* no level reserved */
    }
    EXPECT(cocoon_container_wait(c, &code, &sig), COCOON_OK);
    CHECK(code == 0 && sig == 0);
    EXPECT(cocoon_container_delete(c), COCOON_OK);
    c = NULL;

    /* 2. require: no SELinux here, so spawn fails with the SELinux code, leaving nothing. */
    EXPECT(cocoon_builder_set_selinux_require(b, 1), COCOON_OK);
    if (!on) {
        EXPECT(cocoon_container_spawn(b, &c), COCOON_E_SELINUX);
        CHECK(c == NULL && strstr(cocoon_last_error_message(), "not enabled") != NULL);
        printf("selinux required: %s\n", cocoon_last_error_message());
        CHECK(access(mcs, F_OK) != 0);
    }
    EXPECT(cocoon_builder_set_selinux_require(b, 0), COCOON_OK);

    /* 3. Relabel: a symlink to /usr made after the setter is refused at spawn; a plain
     * directory is bound (and, SELinux being off, left unlabelled). */
    EXPECT(cocoon_builder_add_bind_relabel(b, link, "/mnt", 0, COCOON_RELABEL_PRIVATE), COCOON_OK);
    CHECK(symlink("/usr", link) == 0);
    EXPECT(cocoon_container_spawn(b, &c), COCOON_E_SELINUX);
    CHECK(c == NULL && strstr(cocoon_last_error_message(), "refusing to relabel") != NULL);
    printf("relabel refused at spawn: %s\n", cocoon_last_error_message());
    CHECK(unlink(link) == 0);
    CHECK(mkdir(link, 0755) == 0);
    EXPECT(cocoon_builder_set_program(b, "test"), COCOON_OK);
    {
        const char *args[] = {"-d", "/mnt"};
        EXPECT(cocoon_builder_set_args(b, args, 2), COCOON_OK);
    }
    EXPECT(cocoon_container_spawn(b, &c), COCOON_OK);
    EXPECT(cocoon_container_wait(c, &code, &sig), COCOON_OK);
    CHECK(code == 0);
    EXPECT(cocoon_container_delete(c), COCOON_OK);
    c = NULL;
    CHECK(rmdir(link) == 0);
    cocoon_builder_free(b);
    b = NULL;

    /* 4. procfs without the standard mounts: PID 1 of its own namespace, read-only. */
    EXPECT(cocoon_builder_new("sh", &b), COCOON_OK);
    EXPECT(cocoon_builder_set_args(b, proc_args, 2), COCOON_OK);
    EXPECT(cocoon_builder_set_standard_mounts(b, 0), COCOON_OK);
    EXPECT(cocoon_builder_add_proc(b, "/proc", COCOON_MOUNT_READONLY), COCOON_OK);
    CHECK(run_capture(b, buf, sizeof buf) == 0);
    printf("proc mount: %s", buf);
    CHECK(strcmp(buf, "1\nro\n") == 0);
    EXPECT(cocoon_builder_clear_mounts(b), COCOON_OK);
    EXPECT(cocoon_builder_add_proc(b, "/proc", 0), COCOON_OK);
    CHECK(run_capture(b, buf, sizeof buf) == 0);
    CHECK(strcmp(buf, "1\nrw\n") == 0);
    cocoon_builder_free(b);
    b = NULL;

    /* 5. Joining the UTS and network namespaces of a running container. */
    EXPECT(cocoon_builder_new("sleep", &s), COCOON_OK);
    EXPECT(cocoon_builder_set_args(s, sleep_args, 1), COCOON_OK);
    EXPECT(cocoon_builder_set_hostname(s, "abi-joined"), COCOON_OK);
    EXPECT(cocoon_container_spawn(s, &a), COCOON_OK);
    EXPECT(cocoon_container_pid(a, &pid), COCOON_OK);
    EXPECT(cocoon_builder_new("hostname", &b), COCOON_OK);
    snprintf(path, sizeof path, "/proc/%d/ns/uts", pid);
    EXPECT(cocoon_builder_join_namespace(b, COCOON_NS_UTS, path), COCOON_OK);
    snprintf(path, sizeof path, "/proc/%d/ns/net", pid);
    EXPECT(cocoon_builder_join_namespace(b, COCOON_NS_NET, path), COCOON_OK);
    CHECK(run_capture(b, buf, sizeof buf) == 0);
    printf("joined hostname: %s", buf);
    CHECK(strcmp(buf, "abi-joined\n") == 0);
    cocoon_container_free(a);
    a = NULL;
    EXPECT(cocoon_builder_join_namespace(b, COCOON_NS_NET, "/no/such/netns"), COCOON_OK);
    EXPECT(cocoon_container_spawn(b, &c), COCOON_E_OS);
    CHECK(c == NULL && cocoon_last_error_errno() == ENOENT);
    cocoon_builder_free(b);
    cocoon_builder_free(s);
    b = s = NULL;

    /* 6. A passed descriptor arrives as fd 5. */
    CHECK(pipe(p) == 0);
    EXPECT(cocoon_builder_new("sh", &b), COCOON_OK);
    EXPECT(cocoon_builder_set_args(b, fd_args, 2), COCOON_OK);
    EXPECT(cocoon_builder_pass_fd(b, p[1], 5), COCOON_OK);
    EXPECT(cocoon_container_spawn(b, &c), COCOON_OK);
    close(p[1]);
    EXPECT(cocoon_builder_clear_passed_fds(b), COCOON_OK); /* closes the builder's copy */
    EXPECT(cocoon_container_wait(c, &code, &sig), COCOON_OK);
    CHECK(code == 0);
    EXPECT(cocoon_container_delete(c), COCOON_OK);
    c = NULL;
    read_all(p[0], buf, sizeof buf); /* EOF: every write end is closed */
    CHECK(strcmp(buf, "passed\n") == 0);
    cocoon_builder_free(b);

    CHECK(rmdir(dir) == 0);
}

/* A FIFO as the image's /etc/passwd: a typed error at once (a blocking read would hang). */
static void test_image_file(void) {
    char dir[] = "/tmp/cocoon-abi-img-XXXXXX", etc[64], passwd[80];
    cocoon_builder *b = NULL;
    cocoon_container *c = NULL;
    CHECK(mkdtemp(dir) != NULL);
    snprintf(etc, sizeof etc, "%s/etc", dir);
    snprintf(passwd, sizeof passwd, "%s/etc/passwd", dir);
    CHECK(mkdir(etc, 0755) == 0 && mkfifo(passwd, 0644) == 0);
    EXPECT(cocoon_builder_new("/bin/true", &b), COCOON_OK);
    EXPECT(cocoon_builder_set_rootfs_dir(b, dir), COCOON_OK);
    EXPECT(cocoon_builder_set_user_name(b, "alice"), COCOON_OK);
    EXPECT(cocoon_container_spawn(b, &c), COCOON_E_IMAGE_FILE);
    CHECK(c == NULL && strstr(cocoon_last_error_message(), "etc/passwd") != NULL);
    cocoon_builder_free(b);
    CHECK(unlink(passwd) == 0 && rmdir(etc) == 0 && rmdir(dir) == 0);
}

int main(int argc, char **argv) {
    int containers = !(argc > 1 && strcmp(argv[1], "--no-containers") == 0);
    test_misc();
    test_builder_errors();
    test_cgroup_setters();
    test_more_setters();
    test_process_setters();
    if (containers) {
        if (geteuid() != 0) {
            fprintf(stderr, "abi_test: container checks need root (use --no-containers)\n");
            failed++;
        } else {
            test_containers();
            test_cgroup_containers();
            test_more_containers();
            test_image_file();
        }
    }
    printf("abi_test: %d checks passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
