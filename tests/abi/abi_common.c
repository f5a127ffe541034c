/* abi_common.c -- the counters and helpers of abi_test (abi_common.h). */
#include "abi_common.h"

int passed, failed;


void check(int ok, const char *what, const char *file, int line) {
    if (ok) {
        passed++;
    } else {
        failed++;
        fprintf(stderr, "FAIL %s:%d: %s\n", file, line, what);
    }
}

void expect_rc(int rc, int want, const char *what, const char *file, int line) {
    if (rc != want) {
        failed++;
        fprintf(stderr, "FAIL %s:%d: %s returned %d (%s), want %d: %s\n", file, line, what, rc,
                cocoon_strerror(rc), want, cocoon_last_error_message());
        return;
    }
    if (rc < 0) {
        const char *msg = cocoon_last_error_message();
        if (cocoon_last_error_code() != rc || msg == NULL || msg[0] == '\0') {
            failed++;
            fprintf(stderr, "FAIL %s:%d: %s: last error code %d, message \"%s\"\n", file, line, what,
                    cocoon_last_error_code(), msg ? msg : "(null)");
            return;
        }
    } else if (cocoon_last_error_code() != 0 || cocoon_last_error_message()[0] != '\0') {
        failed++;
        fprintf(stderr, "FAIL %s:%d: %s succeeded but the last error was not cleared\n", file, line, what);
        return;
    }
    passed++;
}

/* poll(2) for POLLIN on fd: 1 readable, 0 not within timeout_ms, -1 error. */
int poll_in(int fd, int timeout_ms) {
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    int r;
    do r = poll(&pfd, 1, timeout_ms);
    while (r < 0 && errno == EINTR);
    return r > 0 ? ((pfd.revents & POLLIN) != 0) : r;
}

/* Reads everything from fd into buf (NUL-terminated) and closes fd. */
void read_all(int fd, char *buf, size_t cap) {
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
int selinux_on(void) {
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

int read_file(const char *path, char *buf, size_t cap) {
    FILE *f = fopen(path, "r");
    size_t n;
    if (f == NULL) return -1;
    n = fread(buf, 1, cap - 1, f);
    fclose(f);
    buf[n] = '\0';
    while (n > 0 && buf[n - 1] == '\n') buf[--n] = '\0';
    return 0;
}

int run_capture(cocoon_builder *b, char *buf, size_t cap) {
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

/* A builder of `/bin/sh -c script`. */
cocoon_builder *sh_builder(const char *script) {
    cocoon_builder *b = NULL;
    const char *args[] = {"-c", script};
    EXPECT(cocoon_builder_new("/bin/sh", &b), COCOON_OK);
    EXPECT(cocoon_builder_set_args(b, args, 2), COCOON_OK);
    return b;
}
