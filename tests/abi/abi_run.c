/*
 * abi_run.c -- waits with a time limit, the container's pidfd and one-shot runs
 * (cocoon_builder_run_output, cocoon_output_*): every error path without containers,
 * and real runs (time limit, 4 MiB through stdin/stdout/stderr, each way a run ends).
 */
#include "abi_common.h"

#include <time.h>

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Runs `b` once with `timeout_ms`; returns the output handle (NULL on failure). */
static cocoon_output *run(cocoon_builder *b, const void *in, size_t len, int64_t timeout_ms) {
    cocoon_output *o = NULL;
    EXPECT(cocoon_builder_run_output(b, in, len, timeout_ms, &o), COCOON_OK);
    return o;
}

static int ended_by(const cocoon_output *o) {
    int e = -1;
    EXPECT(cocoon_output_ended_by(o, &e), COCOON_OK);
    return e;
}

void test_run_errors(void) {
    cocoon_builder *b = sh_builder("true");
    cocoon_output *o = (cocoon_output *)0x1;
    int ex = 7, code = 7, sig = 7, fd = -1;
    const uint8_t *data = NULL;
    size_t len = 0;

    EXPECT(cocoon_container_wait_timeout(NULL, 0, &ex, &code, &sig), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_exec_process_wait_timeout(NULL, 0, &ex, &code, &sig), COCOON_E_INVALID_ARGUMENT);
    CHECK(ex == 7 && code == 7 && sig == 7);
    EXPECT(cocoon_container_pidfd(NULL, &fd), COCOON_E_INVALID_ARGUMENT);
    CHECK(fd == -1);
    EXPECT(cocoon_container_ended_by(NULL, &code), COCOON_E_INVALID_ARGUMENT);

    EXPECT(cocoon_builder_run_output(NULL, NULL, 0, -1, &o), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_run_output(b, NULL, 0, -1, NULL), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_run_output(b, NULL, 5, -1, &o), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_run_output(b, NULL, 0, -2, &o), COCOON_E_INVALID_ARGUMENT);
    CHECK(strstr(cocoon_last_error_message(), "timeout_ms -2") != NULL);
    CHECK(o == (cocoon_output *)0x1); /* untouched */

    EXPECT(cocoon_output_status(NULL, &code, &sig), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_output_ended_by(NULL, &code), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_output_stdout(NULL, &data, &len), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_output_stderr(NULL, &data, &len), COCOON_E_INVALID_ARGUMENT);
    cocoon_output_free(NULL);
    CHECK(COCOON_ENDED_EXITED == 0 && COCOON_ENDED_SIGNALED == 1 && COCOON_ENDED_TIMEOUT == 2 &&
          COCOON_ENDED_OOM_KILL == 3 && COCOON_ENDED_PIDS_LIMIT == 4);
    cocoon_builder_free(b);
}

static void test_wait_timeout_and_pidfd(void) {
    cocoon_builder *b = sh_builder("sleep 30");
    cocoon_container *c = NULL;
    cocoon_exec_process *p = NULL;
    int ex = -1, code = 0, sig = 0, fd = -1, fd2 = -2;
    double t0;

    EXPECT(cocoon_container_spawn(b, &c), COCOON_OK);
    if (c == NULL) {
        cocoon_builder_free(b);
        return;
    }
    EXPECT(cocoon_container_wait_timeout(c, 0, NULL, &code, &sig), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_container_wait_timeout(c, 0, &ex, NULL, &sig), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_container_wait_timeout(c, 0, &ex, &code, NULL), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_container_wait_timeout(c, -5, &ex, &code, &sig), COCOON_E_INVALID_ARGUMENT);
    t0 = now_s();
    EXPECT(cocoon_container_wait_timeout(c, 200, &ex, &code, &sig), COCOON_OK);
    CHECK(ex == 0 && code == -1 && sig == 0);
    CHECK(now_s() - t0 >= 0.19);

    /* The pidfd: borrowed, stable, a real pidfd (signal 0 through it), polls once dead. */
    EXPECT(cocoon_container_pidfd(c, NULL), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_container_pidfd(c, &fd), COCOON_OK);
    EXPECT(cocoon_container_pidfd(c, &fd2), COCOON_OK);
    CHECK(fd >= 0 && fd == fd2);
    CHECK(syscall(SYS_pidfd_send_signal, fd, 0, NULL, 0) == 0);
    CHECK(poll_in(fd, 0) == 0);
    EXPECT(cocoon_container_ended_by(c, NULL), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_container_ended_by(c, &code), COCOON_E_NOT_AVAILABLE); /* running */

    /* An exec'd process. */
    EXPECT(cocoon_container_exec(c, b, &p), COCOON_OK);
    if (p != NULL) {
        EXPECT(cocoon_exec_process_wait_timeout(p, 50, &ex, &code, &sig), COCOON_OK);
        CHECK(ex == 0);
        EXPECT(cocoon_exec_process_kill(p, SIGKILL), COCOON_OK);
        EXPECT(cocoon_exec_process_wait_timeout(p, 20000, &ex, &code, &sig), COCOON_OK);
        CHECK(ex == 1 && code == -1 && sig == SIGKILL);
        EXPECT(cocoon_exec_process_wait_timeout(p, -1, &ex, &code, &sig), COCOON_OK);
        CHECK(ex == 1 && sig == SIGKILL);
        cocoon_exec_process_free(p);
    }

    EXPECT(cocoon_container_kill(c, SIGKILL), COCOON_OK);
    CHECK(poll_in(fd, 20000) == 1);
    EXPECT(cocoon_container_wait_timeout(c, -1, &ex, &code, &sig), COCOON_OK);
    CHECK(ex == 1 && code == -1 && sig == SIGKILL);
    EXPECT(cocoon_container_wait_timeout(c, 0, &ex, &code, &sig), COCOON_OK);
    CHECK(ex == 1 && sig == SIGKILL);
    EXPECT(cocoon_container_ended_by(c, &code), COCOON_OK);
    CHECK(code == COCOON_ENDED_SIGNALED);
    EXPECT(cocoon_container_delete(c), COCOON_OK);
    cocoon_builder_free(b);
}

static void test_run_output(void) {
    cocoon_builder *b;
    cocoon_output *o;
    const uint8_t *data = NULL;
    size_t len = 0, n = 4u << 20, i;
    int code = 0, sig = 0;
    uint8_t *in = malloc(n);
    double t0;

    for (i = 0; i < n; i++) in[i] = (uint8_t)(i * 2654435761u >> 13);

    /* 4 MiB in, the same 4 MiB out on stdout and on stderr: no deadlock. */
    b = sh_builder("tee /proc/self/fd/2");
    o = run(b, in, n, 60000);
    if (o != NULL) {
        EXPECT(cocoon_output_stdout(o, NULL, &len), COCOON_E_INVALID_ARGUMENT);
        EXPECT(cocoon_output_stdout(o, &data, NULL), COCOON_E_INVALID_ARGUMENT);
        EXPECT(cocoon_output_stdout(o, &data, &len), COCOON_OK);
        CHECK(len == n && memcmp(data, in, n) == 0);
        EXPECT(cocoon_output_stderr(o, &data, &len), COCOON_OK);
        CHECK(len == n && memcmp(data, in, n) == 0);
        EXPECT(cocoon_output_status(o, NULL, &sig), COCOON_E_INVALID_ARGUMENT);
        EXPECT(cocoon_output_status(o, &code, &sig), COCOON_OK);
        CHECK(code == 0 && sig == 0);
        EXPECT(cocoon_output_ended_by(o, NULL), COCOON_E_INVALID_ARGUMENT);
        CHECK(ended_by(o) == COCOON_ENDED_EXITED);
        cocoon_output_free(o);
    }
    cocoon_builder_free(b);
    free(in);

    /* An exit code, stdout and stderr apart; no input: stdin as the builder has it. */
    b = sh_builder("echo out; echo err >&2; exit 3");
    EXPECT(cocoon_builder_set_stdio(b, COCOON_STDIN, COCOON_STDIO_NULL, -1), COCOON_OK);
    o = run(b, NULL, 0, -1);
    if (o != NULL) {
        EXPECT(cocoon_output_stdout(o, &data, &len), COCOON_OK);
        CHECK(len == 4 && memcmp(data, "out\n", 4) == 0);
        EXPECT(cocoon_output_stderr(o, &data, &len), COCOON_OK);
        CHECK(len == 4 && memcmp(data, "err\n", 4) == 0);
        EXPECT(cocoon_output_status(o, &code, &sig), COCOON_OK);
        CHECK(code == 3 && sig == 0 && ended_by(o) == COCOON_ENDED_EXITED);
        cocoon_output_free(o);
    }
    cocoon_builder_free(b);

    /* The time limit kills it. */
    b = sh_builder("while :; do :; done");
    t0 = now_s();
    o = run(b, "", 0, 500);
    if (o != NULL) {
        double took = now_s() - t0;
        printf("run_output: killed at the 0.5 s limit after %.2f s\n", took);
        CHECK(took >= 0.5 && took < 3.0);
        EXPECT(cocoon_output_status(o, &code, &sig), COCOON_OK);
        CHECK(code == -1 && sig == SIGKILL && ended_by(o) == COCOON_ENDED_TIMEOUT);
        cocoon_output_free(o);
    }
    cocoon_builder_free(b);

    /* A signal (no PID namespace: a PID 1 ignores it). */
    b = sh_builder("kill -TERM $$");
    EXPECT(cocoon_builder_set_namespaces(b, COCOON_NS_DEFAULT & ~COCOON_NS_PID), COCOON_OK);
    o = run(b, NULL, 0, 20000);
    if (o != NULL) {
        EXPECT(cocoon_output_status(o, &code, &sig), COCOON_OK);
        CHECK(sig == SIGTERM && ended_by(o) == COCOON_ENDED_SIGNALED);
        cocoon_output_free(o);
    }
    cocoon_builder_free(b);

    /* The memory limit. */
    b = sh_builder("(echo 1000 >/proc/self/oom_score_adj && head -c 64m /dev/zero | tail)");
    EXPECT(cocoon_builder_set_memory_max(b, 32 << 20), COCOON_OK);
    o = run(b, NULL, 0, 60000);
    if (o != NULL) {
        CHECK(ended_by(o) == COCOON_ENDED_OOM_KILL);
        cocoon_output_free(o);
    }
    cocoon_builder_free(b);

    /* The pids limit, in a run and in a container spawned and waited for. */
    b = sh_builder("for i in 1 2 3 4 5 6 7 8; do sleep 1 & done 2>/dev/null; wait");
    EXPECT(cocoon_builder_set_pids_max(b, 4), COCOON_OK);
    o = run(b, NULL, 0, 60000);
    if (o != NULL) {
        CHECK(ended_by(o) == COCOON_ENDED_PIDS_LIMIT);
        cocoon_output_free(o);
    }
    {
        cocoon_container *c = NULL;
        int e = -1;
        EXPECT(cocoon_container_spawn(b, &c), COCOON_OK);
        if (c != NULL) {
            EXPECT(cocoon_container_wait(c, &code, &sig), COCOON_OK);
            EXPECT(cocoon_container_ended_by(c, &e), COCOON_OK);
            CHECK(e == COCOON_ENDED_PIDS_LIMIT);
            EXPECT(cocoon_container_delete(c), COCOON_OK);
        }
    }
    cocoon_builder_free(b);

    /* A program that cannot start: the setup error, no output handle. */
    EXPECT(cocoon_builder_new("/no/such/program", &b), COCOON_OK);
    o = (cocoon_output *)0x1;
    EXPECT(cocoon_builder_run_output(b, "x", 1, 5000, &o), COCOON_E_SETUP);
    CHECK(o == (cocoon_output *)0x1 && cocoon_last_error_stage() == COCOON_STAGE_EXEC);
    cocoon_builder_free(b);
}

void test_run_containers(void) {
    test_wait_timeout_and_pidfd();
    test_run_output();
}
