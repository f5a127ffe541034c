/* abi_containers.c -- abi_test: real containers, exec, images files (needs root). */
#include "abi_common.h"

void test_containers(void) {
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

void test_more_containers(void) {
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

    /* 0c. A Docker JSON seccomp profile replaces the default one: mkdir gets EACCES, a
     * user namespace works (the default profile is gone); bad JSON is refused with the
     * builder unchanged; an empty profile goes back to the default. */
    {
        static const char json[] =
            "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"mkdir\", \"mkdirat\"], "
            "\"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 13}]}";
        static const char bad[] = "{\"defaultAction\": \"SCMP_ACT_NOPE\"}";
        const char *pj_args[] = {"-c", "mkdir /tmp/x 2>&1 | grep -q 'Permission denied' && echo eacces; "
                                       "unshare -U true 2>/dev/null && echo userns || echo no-userns"};
        const char *pj_env[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin"};
        EXPECT(cocoon_builder_new("/bin/sh", &b), COCOON_OK);
        EXPECT(cocoon_builder_set_args(b, pj_args, 2), COCOON_OK);
        EXPECT(cocoon_builder_set_env(b, pj_env, 1), COCOON_OK);
        EXPECT(cocoon_builder_set_seccomp_profile_json(NULL, json, sizeof json - 1), COCOON_E_INVALID_ARGUMENT);
        EXPECT(cocoon_builder_set_seccomp_profile_json(b, NULL, 1), COCOON_E_INVALID_ARGUMENT);
        EXPECT(cocoon_builder_set_seccomp_profile_json(b, json, sizeof json - 1), COCOON_OK);
        EXPECT(cocoon_builder_set_seccomp_profile_json(b, bad, sizeof bad - 1), COCOON_E_INVALID_CONFIG);
        CHECK(run_capture(b, buf, sizeof buf) == 0 && strcmp(buf, "eacces\nuserns\n") == 0);
        EXPECT(cocoon_builder_set_seccomp_profile_json(b, "", 0), COCOON_OK);
        CHECK(run_capture(b, buf, sizeof buf) == 0 && strcmp(buf, "no-userns\n") == 0);
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

void test_image_file(void) {
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
