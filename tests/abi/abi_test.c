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
#include "abi_common.h"

void test_misc(void) {
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

void test_builder_errors(void) {
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

int main(int argc, char **argv) {
    int containers = !(argc > 1 && strcmp(argv[1], "--no-containers") == 0);
    test_misc();
    test_builder_errors();
    test_cgroup_setters();
    test_more_setters();
    test_process_setters();
    test_run_errors();
    test_net_errors();
    test_landlock_errors();
    test_selinux_policy();
    test_image_errors();
    test_create_errors();
    test_events_errors();
    test_logs();
    test_warm_errors();
    if (containers) {
        if (geteuid() != 0) {
            fprintf(stderr, "abi_test: container checks need root (use --no-containers)\n");
            failed++;
        } else {
            test_containers();
            test_cgroup_containers();
            test_more_containers();
            test_image_file();
            test_run_containers();
            test_net_containers();
            test_landlock_containers();
            test_image_containers();
            test_create_containers();
            test_events_containers();
            test_stats_containers();
            test_log_write();
            test_seccomp_notify();
            test_subids();
            test_warm_containers();
        }
    }
    printf("abi_test: %d checks passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
