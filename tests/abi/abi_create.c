/*
 * abi_create.c -- created containers (cocoon_container_create, _create_at, _start,
 * _is_created, cocoon_start_created) and cocoon_builder_set_direct_child: the error paths
 * without containers, then real containers held before their program and started.
 */
#include "abi_common.h"
#include <sys/wait.h>

#include <stdio.h>
#include <unistd.h>

void test_create_errors(void) {
    cocoon_builder *b = sh_builder("true");
    cocoon_container *c = (cocoon_container *)0x1;
    EXPECT(cocoon_container_create(NULL, &c), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_container_create(b, NULL), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_container_create_at(b, NULL, &c), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_container_create_at(NULL, "/tmp/x", &c), COCOON_E_INVALID_ARGUMENT);
    CHECK(c == (cocoon_container *)0x1); /* untouched */
    EXPECT(cocoon_container_start(NULL), COCOON_E_INVALID_ARGUMENT);
    CHECK(cocoon_container_is_created(NULL) == 0);
    EXPECT(cocoon_start_created(NULL), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_start_created("/nonexistent/cocoon-start.sock"), COCOON_E_NOT_CREATED);
    EXPECT(cocoon_builder_set_direct_child(NULL, 1), COCOON_E_INVALID_ARGUMENT);
    CHECK(strcmp(cocoon_strerror(COCOON_E_NOT_CREATED), "unknown error code") != 0);
    cocoon_builder_free(b);
}

void test_create_containers(void) {
    char dir[] = "/tmp/cocoon-abi-create-XXXXXX", marker[128], sock[128], buf[64];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(marker, sizeof marker, "%s/marker", dir);
    snprintf(sock, sizeof sock, "%s/start.sock", dir);
    cocoon_builder *b = sh_builder("echo ran > /out/marker; exit 5");
    EXPECT(cocoon_builder_set_namespaces(b, COCOON_NS_DEFAULT & ~COCOON_NS_NET), COCOON_OK);
    EXPECT(cocoon_builder_add_bind(b, dir, "/out", 0), COCOON_OK);

    /* Held by the handle, started by it. */
    cocoon_container *c = NULL;
    int code = -1, sig = -1;
    EXPECT(cocoon_container_create(b, &c), COCOON_OK);
    CHECK(cocoon_container_is_created(c) == 1);
    usleep(100 * 1000);
    CHECK(access(marker, F_OK) != 0);
    EXPECT(cocoon_container_start(c), COCOON_OK);
    CHECK(cocoon_container_is_created(c) == 0);
    EXPECT(cocoon_container_wait(c, &code, &sig), COCOON_OK);
    CHECK(code == 5 && sig == 0);
    CHECK(read_file(marker, buf, sizeof buf) == 0 && strcmp(buf, "ran") == 0);
    EXPECT(cocoon_container_start(c), COCOON_E_NOT_CREATED);
    cocoon_container_free(c);
    unlink(marker);

    /* Held on a socket, started by path; a direct child of ours. */
    EXPECT(cocoon_builder_set_direct_child(b, 1), COCOON_OK);
    c = NULL;
    EXPECT(cocoon_container_create_at(b, sock, &c), COCOON_OK);
    CHECK(access(sock, F_OK) == 0);
    int pid = 0;
    EXPECT(cocoon_container_pid(c, &pid), COCOON_OK);
    CHECK(getpgid(pid) >= 0);
    EXPECT(cocoon_start_created(sock), COCOON_OK);
    CHECK(access(sock, F_OK) != 0);
    EXPECT(cocoon_container_wait(c, &code, &sig), COCOON_OK);
    CHECK(code == 5);
    EXPECT(cocoon_start_created(sock), COCOON_E_NOT_CREATED);
    cocoon_container_free(c);

    /* Exec by pid (cocoon_running_*), as another process would: a direct child of ours,
     * detached, then reaped by us after the container is killed. */
    {
        const char *sleep_args[] = {"30"};
        const char *exec_args[] = {"-c", "echo by-pid $$; exit 4"};
        cocoon_builder *sb = NULL;
        cocoon_running *r = NULL;
        cocoon_process *ph = NULL;
        cocoon_exec_process *ep = NULL;
        int fd = -1, epid = 0, st = 0;
        char out[64];
        EXPECT(cocoon_builder_new("sleep", &sb), COCOON_OK);
        EXPECT(cocoon_builder_set_args(sb, sleep_args, 1), COCOON_OK);
        EXPECT(cocoon_container_spawn(sb, &c), COCOON_OK);
        EXPECT(cocoon_container_pid(c, &pid), COCOON_OK);
        EXPECT(cocoon_running_open(pid, NULL, NULL), COCOON_E_INVALID_ARGUMENT);
        EXPECT(cocoon_running_open(getpid(), NULL, &r), COCOON_E_INVALID_CONFIG);
        CHECK(r == NULL);
        EXPECT(cocoon_running_open(pid, "cocoon/no-such-cgroup", &r), COCOON_E_CGROUP);
        EXPECT(cocoon_running_open(pid, NULL, &r), COCOON_OK);
        EXPECT(cocoon_process_new("sh", &ph), COCOON_OK);
        EXPECT(cocoon_process_set_args(ph, exec_args, 2), COCOON_OK);
        EXPECT(cocoon_process_set_stdio(ph, COCOON_STDOUT, COCOON_STDIO_PIPE, -1), COCOON_OK);
        EXPECT(cocoon_running_exec_process(NULL, ph, &ep), COCOON_E_INVALID_ARGUMENT);
        EXPECT(cocoon_running_exec_process(r, ph, &ep), COCOON_OK);
        EXPECT(cocoon_exec_process_take_stdio(ep, COCOON_STDOUT, &fd), COCOON_OK);
        read_all(fd, out, sizeof out);
        CHECK(strncmp(out, "by-pid ", 7) == 0 && strcmp(out, "by-pid 1\n") != 0);
        EXPECT(cocoon_exec_process_wait(ep, &code, &sig), COCOON_OK);
        CHECK(code == 4 && sig == 0);
        cocoon_exec_process_free(ep);
        ep = NULL;
        EXPECT(cocoon_running_set_direct_child(NULL, 1), COCOON_E_INVALID_ARGUMENT);
        EXPECT(cocoon_running_set_direct_child(r, 1), COCOON_OK);
        EXPECT(cocoon_process_set_args(ph, sleep_args, 1), COCOON_OK);
        EXPECT(cocoon_process_set_program(ph, "sleep"), COCOON_OK);
        EXPECT(cocoon_process_set_stdio(ph, COCOON_STDOUT, COCOON_STDIO_NULL, -1), COCOON_OK);
        EXPECT(cocoon_running_exec_process(r, ph, &ep), COCOON_OK);
        EXPECT(cocoon_exec_process_detach(NULL, &epid), COCOON_E_INVALID_ARGUMENT);
        EXPECT(cocoon_exec_process_detach(ep, &epid), COCOON_OK);
        CHECK(epid > 0 && getpgid(epid) >= 0);
        cocoon_running_free(r);
        cocoon_running_free(NULL);
        /* Ours to reap: the PID namespace ends only once it is reaped. */
        EXPECT(cocoon_container_kill(c, SIGKILL), COCOON_OK);
        CHECK(waitpid(epid, &st, 0) == epid && WIFSIGNALED(st));
        cocoon_container_free(c);
        cocoon_process_free(ph);
        cocoon_builder_free(sb);
    }

    /* Freed before start: killed, the program never ran. */
    unlink(marker);
    EXPECT(cocoon_container_create(b, &c), COCOON_OK);
    cocoon_container_free(c);
    CHECK(access(marker, F_OK) != 0);
    cocoon_builder_free(b);
    rmdir(dir);
}
