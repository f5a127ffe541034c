/*
 * abi_landlock.c -- Landlock through the C ABI: every setter's bad input without
 * containers (the builder unchanged), the status text, and real containers (a write
 * outside the allowed path is refused with EACCES, required mode refuses an ABI that
 * lacks a right before anything runs, a connect to a port without a rule is refused).
 */
#include "abi_common.h"

/* The kernel's Landlock ABI as cocoon asks it (valgrind does not know the syscall: 0). */
static long kernel_abi(void) {
    long r = syscall(SYS_landlock_create_ruleset, NULL, 0, 1);
    return r < 0 ? 0 : r;
}

void test_landlock_errors(void) {
    cocoon_builder *b = sh_builder("true");
    long kabi = kernel_abi();
    uint32_t abi = 99, dropped = 99;
    char text[256];
    size_t needed = 0;

    EXPECT(cocoon_builder_landlock_allow(NULL, "/", COCOON_LANDLOCK_READ), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_landlock_allow(b, NULL, COCOON_LANDLOCK_READ), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_landlock_allow(b, "relative", COCOON_LANDLOCK_READ), COCOON_E_INVALID_CONFIG);
    EXPECT(cocoon_builder_landlock_allow(b, "/a/../b", COCOON_LANDLOCK_READ), COCOON_E_INVALID_CONFIG);
    EXPECT(cocoon_builder_landlock_allow(b, "/x", 0), COCOON_E_INVALID_CONFIG);
    EXPECT(cocoon_builder_landlock_allow_port(b, 80, 0), COCOON_E_INVALID_CONFIG);
    EXPECT(cocoon_builder_set_landlock_mode(b, 2), COCOON_E_INVALID_ARGUMENT);
    /* Nothing was stored by the failed calls. */
    EXPECT(cocoon_builder_landlock_status(b, &abi, &dropped, NULL, 0, NULL), COCOON_E_NOT_AVAILABLE);
    CHECK(abi == 99 && dropped == 99);

    EXPECT(cocoon_builder_landlock_allow(b, "/", COCOON_LANDLOCK_READ | COCOON_LANDLOCK_FS_EXECUTE), COCOON_OK);
    EXPECT(cocoon_builder_landlock_allow(b, "/tmp", COCOON_LANDLOCK_READ_WRITE), COCOON_OK);
    EXPECT(cocoon_builder_set_landlock_max_abi(b, 4), COCOON_OK);
    EXPECT(cocoon_builder_landlock_status(NULL, &abi, &dropped, NULL, 0, NULL), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_landlock_status(b, &abi, &dropped, text, sizeof text, &needed), COCOON_OK);
    CHECK(needed == strlen(text) + 1);
    if (kabi >= 4) {
        CHECK(abi == 4 && dropped == 1);
        CHECK(strstr(text, "/tmp: IOCTL_DEV") != NULL);
        /* A short buffer is cut and still NUL-terminated. */
        EXPECT(cocoon_builder_landlock_status(b, NULL, NULL, text, 4, NULL), COCOON_OK);
        CHECK(strcmp(text, "ABI") == 0);
    } else {
        CHECK(abi == (uint32_t)kabi && dropped >= 1);
    }
    EXPECT(cocoon_builder_set_landlock_mode(b, COCOON_LANDLOCK_REQUIRED), COCOON_OK);
    EXPECT(cocoon_builder_landlock_status(b, &abi, NULL, NULL, 0, NULL), COCOON_E_UNSUPPORTED);
    CHECK(strstr(cocoon_last_error_message(), kabi >= 4 ? "IOCTL_DEV needs ABI 5" : "needs ABI") != NULL);
    CHECK(strcmp(cocoon_strerror(COCOON_E_UNSUPPORTED), "unknown error code") != 0);
    CHECK(strcmp(cocoon_stage_name(COCOON_STAGE_LANDLOCK), "landlock") == 0);
    EXPECT(cocoon_builder_clear_landlock(b), COCOON_OK);
    EXPECT(cocoon_builder_landlock_status(b, &abi, NULL, NULL, 0, NULL), COCOON_E_NOT_AVAILABLE);
    EXPECT(cocoon_builder_clear_landlock(NULL), COCOON_E_INVALID_ARGUMENT);
    cocoon_builder_free(b);
}

void test_landlock_containers(void) {
    char out[4096];
    cocoon_builder *b = sh_builder("echo in > /scratch/a && cat /scratch/a; "
                                   "echo out > /tmp/x 2>/dev/null || echo tmp-denied");
    cocoon_container *c = NULL;

    EXPECT(cocoon_builder_add_tmpfs(b, "/scratch", 0, COCOON_TMPFS_MODE_DEFAULT, 0), COCOON_OK);
    EXPECT(cocoon_builder_landlock_allow(b, "/", COCOON_LANDLOCK_READ | COCOON_LANDLOCK_FS_EXECUTE), COCOON_OK);
    EXPECT(cocoon_builder_landlock_allow(b, "/scratch", COCOON_LANDLOCK_READ_WRITE), COCOON_OK);
    CHECK(run_capture(b, out, sizeof out) == 0);
    CHECK(strcmp(out, "in\ntmp-denied\n") == 0);

    /* Required with ABI 4: READ_WRITE includes IOCTL_DEV (ABI 5) -> refused, nothing runs. */
    EXPECT(cocoon_builder_set_landlock_max_abi(b, 4), COCOON_OK);
    EXPECT(cocoon_builder_set_landlock_mode(b, COCOON_LANDLOCK_REQUIRED), COCOON_OK);
    EXPECT(cocoon_container_spawn(b, &c), COCOON_E_UNSUPPORTED);
    CHECK(c == NULL);
    /* A rule on a path that does not exist: the setup error names it. */
    EXPECT(cocoon_builder_set_landlock_mode(b, COCOON_LANDLOCK_BEST_EFFORT), COCOON_OK);
    EXPECT(cocoon_builder_landlock_allow(b, "/no/such/dir", COCOON_LANDLOCK_READ), COCOON_OK);
    EXPECT(cocoon_container_spawn(b, &c), COCOON_E_SETUP);
    CHECK(cocoon_last_error_stage() == COCOON_STAGE_LANDLOCK && cocoon_last_error_errno() == ENOENT);
    CHECK(strstr(cocoon_last_error_message(), "/no/such/dir") != NULL);
    cocoon_builder_free(b);

    /* TCP: nothing listens in the new network namespace; 8001 reaches the stack
     * (refused), 8002 has no rule (Landlock: permission denied). */
    b = sh_builder("busybox nc -w 2 127.0.0.1 8001 </dev/null 2>&1; busybox nc -w 2 127.0.0.1 8002 </dev/null 2>&1");
    EXPECT(cocoon_builder_set_namespaces(b, COCOON_NS_DEFAULT | COCOON_NS_NET), COCOON_OK);
    EXPECT(cocoon_builder_landlock_allow_port(b, 8001, COCOON_LANDLOCK_CONNECT_TCP), COCOON_OK);
    run_capture(b, out, sizeof out);
    char *second = strchr(out, '\n');
    CHECK(strstr(out, "Connection refused") != NULL && second != NULL &&
          strstr(second, "Permission denied") != NULL && strstr(out, "Connection refused") < second);
    cocoon_builder_free(b);
}
