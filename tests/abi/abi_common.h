/*
 * abi_common.h -- what the parts of abi_test share: the counters, EXPECT/CHECK and small
 * helpers (abi_common.c). See abi_test.c for what the program checks.
 */
#ifndef ABI_COMMON_H
#define ABI_COMMON_H
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

extern int passed, failed;

/* A call must return `want`; on an error code the last error must match it and carry a
 * non-empty message. */
#define EXPECT(call, want) expect_rc((call), (want), #call, __FILE__, __LINE__)
#define CHECK(cond) check((cond), #cond, __FILE__, __LINE__)

void check(int ok, const char *what, const char *file, int line);
void expect_rc(int rc, int want, const char *what, const char *file, int line);
/* poll(2) for POLLIN on fd: 1 readable, 0 not within timeout_ms, -1 error. */
int poll_in(int fd, int timeout_ms);
/* Reads everything from fd into buf (NUL-terminated) and closes fd. */
void read_all(int fd, char *buf, size_t cap);
/* Whether SELinux is enabled for this process, as cocoon defines it. */
int selinux_on(void);
/* A builder of `/bin/sh -c script` (freed by the caller). */
cocoon_builder *sh_builder(const char *script);
/* Reads a small file into buf (NUL-terminated); -1 if it cannot be read. */
int read_file(const char *path, char *buf, size_t cap);
/* Builds, runs and waits for a container, capturing its stdout into buf. */
int run_capture(cocoon_builder *b, char *buf, size_t cap);

void test_misc(void);
void test_builder_errors(void);
void test_cgroup_setters(void);
void test_cgroup_containers(void);
void test_containers(void);
void test_more_containers(void);
void test_image_file(void);
void test_process_setters(void);
void test_more_setters(void);
void test_run_errors(void);
void test_create_errors(void);
void test_create_containers(void);
void test_run_containers(void);
void test_net_errors(void);
void test_net_containers(void);
void test_landlock_errors(void);
void test_selinux_policy(void);
void test_landlock_containers(void);
void test_image_errors(void);
void test_image_containers(void);
void test_events_errors(void);
void test_events_containers(void);
void test_stats_containers(void);
void test_log_write(void);
void test_logs(void);
void test_seccomp_notify(void);
void test_subids(void);
void test_warm_errors(void);
void test_warm_containers(void);

#endif
