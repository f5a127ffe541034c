/* abi_setters.c -- abi_test: the process handle's setters and the remaining builder setters. */
#include "abi_common.h"

void test_process_setters(void) {
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
    EXPECT(cocoon_process_set_seccomp_profile_json(NULL, "{}", 2), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_process_set_seccomp_profile_json(p, "{", 1), COCOON_E_INVALID_CONFIG);
    EXPECT(cocoon_process_set_seccomp_profile_json(p, "{\"defaultAction\": \"SCMP_ACT_ALLOW\"}", 35), COCOON_OK);
    EXPECT(cocoon_process_set_seccomp_profile_json(p, "", 0), COCOON_OK);
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

void test_more_setters(void) {
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
