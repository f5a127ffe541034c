/* abi_cgroup.c -- abi_test: the cgroup setters and containers with limits. */
#include "abi_common.h"

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

void test_cgroup_setters(void) {
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
    CHECK(sizeof(cocoon_stats) == COCOON_STATS_SIZE_V2);
    cocoon_builder_free(b);
}

/* Real containers (root). */

static uint64_t cpu_us(cocoon_container *c) {
    cocoon_stats st;
    memset(&st, 0, sizeof st);
    st.size = sizeof st;
    if (cocoon_container_stats(c, &st) != COCOON_OK || !(st.valid & COCOON_STATS_CPU)) return 0;
    return st.cpu_usage_us;
}

/* Cgroups of real containers (root): limits written, enforced (OOM kill, fork refused),
 * stats, pause/resume, the cgroup path, and nothing left behind. */

void test_cgroup_containers(void) {
    cocoon_builder *b = NULL;
    cocoon_container *c = NULL;
    cocoon_stats st;
    const char *path = NULL;
    char dir[512], file[600], buf[256];
    int code = 0, sig = 0, fd = -1, v2 = cocoon_has_feature("cgroup2");
    /* A few short-lived processes, then an allocation of 64 MiB (tail keeps the whole
     * newline-free input) under a 32 MiB limit: the OOM killer takes tail (the subshell offers
     * its pipeline first, oom_score_adj 1000, so a second kill never takes the shell). */
    const char *oom_args[] = {"-c", "for i in 1 2 3; do true & done; wait;"
                                    "(echo 1000 >/proc/self/oom_score_adj && head -c 64m /dev/zero | tail >/dev/null);"
                                    " echo tail=$?"};
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

    /* 3b. Limits changed while it runs, given on a second builder; what it does not set
     * stays; a bad update changes nothing. */
    EXPECT(cocoon_builder_clear_cgroup(b), COCOON_OK);
    EXPECT(cocoon_builder_set_program(b, "sleep"), COCOON_OK);
    EXPECT(cocoon_builder_set_args(b, sleep_args, 1), COCOON_OK);
    EXPECT(cocoon_builder_set_pids_max(b, 16), COCOON_OK);
    EXPECT(cocoon_builder_set_memory_max(b, 64 << 20), COCOON_OK);
    EXPECT(cocoon_container_spawn(b, &c), COCOON_OK);
    {
        cocoon_builder *lim = NULL;
        EXPECT(cocoon_builder_new("unused", &lim), COCOON_OK);
        EXPECT(cocoon_container_update_cgroup(c, lim), COCOON_E_INVALID_CONFIG); /* no limit set */
        EXPECT(cocoon_builder_set_pids_max(lim, 5), COCOON_OK);
        EXPECT(cocoon_container_update_cgroup(NULL, lim), COCOON_E_INVALID_ARGUMENT);
        EXPECT(cocoon_container_update_cgroup(c, NULL), COCOON_E_INVALID_ARGUMENT);
        EXPECT(cocoon_container_update_cgroup(c, lim), COCOON_OK);
        EXPECT(cocoon_container_cgroup_path(c, &path), COCOON_OK);
        snprintf(file, sizeof file, v2 ? "/sys/fs/cgroup/%s/pids.max" : "/sys/fs/cgroup/pids/%s/pids.max", path);
        CHECK(read_file(file, buf, sizeof buf) == 0 && strcmp(buf, "5") == 0);
        snprintf(file, sizeof file, v2 ? "/sys/fs/cgroup/%s/memory.max" : "/sys/fs/cgroup/memory/%s/memory.limit_in_bytes", path);
        CHECK(read_file(file, buf, sizeof buf) == 0 && strcmp(buf, "67108864") == 0);
        /* Device rules are fixed at creation: refused, pids.max stays. */
        EXPECT(cocoon_builder_set_pids_max(lim, 7), COCOON_OK);
        EXPECT(cocoon_builder_add_device_rule(lim, 1, COCOON_DEVICE_CHAR, 1, 3, COCOON_DEVICE_READ), COCOON_OK);
        EXPECT(cocoon_container_update_cgroup(c, lim), COCOON_E_CGROUP);
        CHECK(strstr(cocoon_last_error_message(), "device") != NULL);
        snprintf(file, sizeof file, v2 ? "/sys/fs/cgroup/%s/pids.max" : "/sys/fs/cgroup/pids/%s/pids.max", path);
        CHECK(read_file(file, buf, sizeof buf) == 0 && strcmp(buf, "5") == 0);
        cocoon_builder_free(lim);
    }
    cocoon_container_free(c);
    c = NULL;

    /* 4. Without a cgroup the operations fail clearly. */
    EXPECT(cocoon_builder_clear_cgroup(b), COCOON_OK);
    EXPECT(cocoon_builder_set_program(b, "sleep"), COCOON_OK);
    EXPECT(cocoon_builder_set_args(b, sleep_args, 1), COCOON_OK);
    EXPECT(cocoon_container_spawn(b, &c), COCOON_OK);
    {
        cocoon_builder *lim = NULL;
        EXPECT(cocoon_builder_new("unused", &lim), COCOON_OK);
        EXPECT(cocoon_builder_set_pids_max(lim, 5), COCOON_OK);
        EXPECT(cocoon_container_update_cgroup(c, lim), COCOON_E_INVALID_CONFIG);
        cocoon_builder_free(lim);
    }
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
