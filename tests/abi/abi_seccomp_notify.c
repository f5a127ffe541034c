/*
 * abi_seccomp_notify.c -- the seccomp supervisor from C: a container's mount(2) reaches the
 * listener, its target is read from the caller's memory, and the answer decides what the
 * container sees; a closed listener means ENOSYS; argument and configuration errors.
 */
#include "abi_common.h"
#include <sys/syscall.h>

/* Answers the container's one mount with `kind`/`value` after checking its target. */
static void answer_one(int fd, int kind, int64_t value) {
    cocoon_seccomp_request r;
    char target[64];
    size_t got = 0;
    int received = -1;
    memset(&r, 0, sizeof r);
    r.size = sizeof r;
    EXPECT(cocoon_seccomp_recv(fd, 20000, &r, &received), COCOON_OK);
    CHECK(received == COCOON_SECCOMP_REQUEST);
    CHECK(r.size == sizeof r && r.syscall == SYS_mount && r.pid > 0);
    CHECK(cocoon_seccomp_id_valid(fd, r.id) == 1);
    memset(target, 0, sizeof target);
    EXPECT(cocoon_seccomp_read_memory(fd, &r, r.args[1], target, 7, &got), COCOON_OK);
    CHECK(got == 7 && memcmp(target, "/tmp/n", 7) == 0);
    EXPECT(cocoon_seccomp_respond(fd, r.id, 99, 0), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_seccomp_respond(fd, r.id, COCOON_SECCOMP_ERRNO, 0), COCOON_E_INVALID_CONFIG);
    EXPECT(cocoon_seccomp_respond(fd, r.id, kind, value), COCOON_OK);
}

static int run_mount(int kind, int64_t value, int close_first) {
    const int64_t nrs[] = {SYS_mount};
    cocoon_builder *b = sh_builder("mkdir -p /tmp/n; exec busybox mount -t tmpfs tmpfs /tmp/n");
    cocoon_container *c = NULL;
    int fd = -1, fd2 = -1, code = -1, sig = -1, received = -1;
    cocoon_seccomp_request r;
    EXPECT(cocoon_builder_set_seccomp_notify(b, nrs, 1), COCOON_OK);
    EXPECT(cocoon_container_spawn(b, &c), COCOON_OK);
    cocoon_builder_free(b);
    EXPECT(cocoon_container_take_seccomp_listener(c, &fd), COCOON_OK);
    CHECK(fd >= 0);
    EXPECT(cocoon_container_take_seccomp_listener(c, &fd2), COCOON_E_NOT_AVAILABLE);
    CHECK(fd2 == -1);
    if (close_first) {
        close(fd);
    } else {
        answer_one(fd, kind, value);
    }
    EXPECT(cocoon_container_wait(c, &code, &sig), COCOON_OK);
    if (!close_first) {
        memset(&r, 0, sizeof r);
        r.size = sizeof r;
        EXPECT(cocoon_seccomp_recv(fd, 5000, &r, &received), COCOON_OK);
        CHECK(received == COCOON_SECCOMP_ENDED);
        close(fd);
    }
    cocoon_container_free(c);
    return sig == 0 ? code : -1;
}

void test_seccomp_notify(void) {
    const int64_t helper[] = {SYS_mount, SYS_execve}, none[] = {0};
    cocoon_builder *b = sh_builder("true");
    cocoon_container *c = NULL;
    cocoon_seccomp_request r;
    int fd = -1, received = -1;
    size_t got = 0;

    /* Configuration and argument errors. */
    EXPECT(cocoon_builder_set_seccomp_notify(b, helper, 2), COCOON_E_INVALID_CONFIG);
    EXPECT(cocoon_builder_set_seccomp_notify(b, none, 0), COCOON_E_INVALID_CONFIG);
    EXPECT(cocoon_builder_set_seccomp_notify(NULL, helper, 1), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_seccomp_notify(b, NULL, 0), COCOON_OK); /* cleared */
    EXPECT(cocoon_container_spawn(b, &c), COCOON_OK);
    cocoon_builder_free(b);
    EXPECT(cocoon_container_take_seccomp_listener(c, &fd), COCOON_E_NOT_AVAILABLE);
    EXPECT(cocoon_container_take_seccomp_listener(c, NULL), COCOON_E_INVALID_ARGUMENT);
    cocoon_container_free(c);
    memset(&r, 0, sizeof r);
    r.size = 8;
    EXPECT(cocoon_seccomp_recv(0, 0, &r, &received), COCOON_E_INVALID_ARGUMENT);
    r.size = sizeof r;
    EXPECT(cocoon_seccomp_recv(-1, 0, &r, &received), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_seccomp_read_memory(-1, NULL, 0, NULL, 0, &got), COCOON_E_INVALID_ARGUMENT);
    CHECK(cocoon_seccomp_id_valid(-1, 1) == 0);

    /* The supervisor pretends the mount worked; then refuses it; then is gone. */
    CHECK(run_mount(COCOON_SECCOMP_VALUE, 0, 0) == 0);
    CHECK(run_mount(COCOON_SECCOMP_ERRNO, EBUSY, 0) != 0);
    CHECK(run_mount(0, 0, 1) != 0);
}
