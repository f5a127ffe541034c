/*
 * abi_warm.c -- warm containers and pools (cocoon_warm_*, cocoon_pool_*): the error paths
 * without containers, then a warm container started with a process given late (argv,
 * env, cwd, user, a piped stdout), a pool handing out distinct containers, the errors of a
 * start (bad user, missing program, a used-up handle), and no child left behind.
 */
#include "abi_common.h"

#include <dirent.h>
#include <stdio.h>
#include <unistd.h>

/* The processes whose parent is this one (scanning /proc: no CONFIG_PROC_CHILDREN). */
static int count_children(void) {
    DIR *d = opendir("/proc");
    struct dirent *e;
    int n = 0;
    if (d == NULL)
        return -1;
    while ((e = readdir(d)) != NULL) {
        char path[300], buf[512];
        const char *p;
        int ppid = 0;
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        if (read_file(path, buf, sizeof buf) != 0)
            continue;
        p = strrchr(buf, ')'); /* the name may hold spaces and parentheses */
        if (p != NULL && sscanf(p + 1, " %*c %d", &ppid) == 1 && ppid == (int)getpid())
            n++;
    }
    closedir(d);
    return n;
}

static cocoon_process *sh_process(const char *script) {
    cocoon_process *p = NULL;
    const char *args[] = {"-c", script};
    EXPECT(cocoon_process_new("/bin/sh", &p), COCOON_OK);
    EXPECT(cocoon_process_set_args(p, args, 2), COCOON_OK);
    EXPECT(cocoon_process_set_stdio(p, COCOON_STDOUT, COCOON_STDIO_PIPE, -1), COCOON_OK);
    return p;
}

/* Starts nothing: every NULL argument and a bad pool size. */
void test_warm_errors(void) {
    cocoon_builder *b = sh_builder("true");
    cocoon_process *p = sh_process("true");
    cocoon_warm *w = (cocoon_warm *)0x1;
    cocoon_pool *pl = (cocoon_pool *)0x1;
    cocoon_container *c = (cocoon_container *)0x1;
    cocoon_pool_counters st;
    int pid = -1;
    size_t ready = 7;
    EXPECT(cocoon_warm_new(NULL, &w), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_warm_new(b, NULL), COCOON_E_INVALID_ARGUMENT);
    CHECK(w == (cocoon_warm *)0x1); /* untouched */
    EXPECT(cocoon_warm_start(NULL, p, &c), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_warm_pid(NULL, &pid), COCOON_E_INVALID_ARGUMENT);
    CHECK(pid == -1);
    cocoon_warm_free(NULL);
    EXPECT(cocoon_pool_new(NULL, 1, 1, 0, &pl), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_pool_new(b, 1, 1, 0, NULL), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_pool_new(b, 0, 1, 0, &pl), COCOON_E_INVALID_CONFIG);
    EXPECT(cocoon_pool_new(b, 1, 0, 0, &pl), COCOON_E_INVALID_CONFIG);
    CHECK(pl == (cocoon_pool *)0x1);
    EXPECT(cocoon_pool_start(NULL, p, &c), COCOON_E_INVALID_ARGUMENT);
    CHECK(c == (cocoon_container *)0x1);
    st.size = sizeof st;
    EXPECT(cocoon_pool_stats(NULL, &st), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_pool_wait_ready(NULL, 1, 0, &ready), COCOON_E_INVALID_ARGUMENT);
    CHECK(ready == 7);
    cocoon_pool_free(NULL);
    CHECK(cocoon_has_feature("warm") == 1);
    cocoon_process_free(p);
    cocoon_builder_free(b);
}

void test_warm_containers(void) {
    int before = count_children();
    cocoon_builder *b = sh_builder("echo the builder program must not run; exit 9");
    EXPECT(cocoon_builder_set_namespaces(b, COCOON_NS_DEFAULT & ~COCOON_NS_NET), COCOON_OK);
    char out[256];
    int code = -1, sig = -1, fd = -1, pid = 0, pid2 = 0;

    /* One warm container, started with argv/env/cwd/user and a piped stdout. */
    {
        cocoon_warm *w = NULL;
        cocoon_container *c = NULL, *c2 = (cocoon_container *)0x1;
        const char *env[] = {"WARM=yes", "PATH=/usr/bin:/bin"};
        uint32_t groups[] = {1235};
        cocoon_process *p = sh_process("echo \"$0 $1 $WARM $(pwd) $(id -u):$(id -g):$(id -G)\"; exit 3");
        const char *args[] = {"-c", "echo \"$0 $1 $WARM $(pwd) $(id -u):$(id -g):$(id -G)\"; exit 3", "zero", "one"};
        EXPECT(cocoon_process_set_args(p, args, 4), COCOON_OK);
        EXPECT(cocoon_process_set_env(p, env, 2), COCOON_OK);
        EXPECT(cocoon_process_set_cwd(p, "/usr"), COCOON_OK);
        EXPECT(cocoon_process_set_user(p, 1234, 1234, groups, 1), COCOON_OK);
        EXPECT(cocoon_warm_new(b, &w), COCOON_OK);
        EXPECT(cocoon_warm_pid(w, &pid), COCOON_OK);
        CHECK(pid > 0 && kill(pid, 0) == 0);
        EXPECT(cocoon_warm_start(w, p, NULL), COCOON_E_INVALID_ARGUMENT); /* not used up */
        EXPECT(cocoon_warm_start(w, NULL, &c), COCOON_E_INVALID_ARGUMENT);
        EXPECT(cocoon_warm_start(w, p, &c), COCOON_OK);
        EXPECT(cocoon_container_pid(c, &pid2), COCOON_OK);
        CHECK(pid2 == pid);
        EXPECT(cocoon_container_take_stdio(c, COCOON_STDOUT, &fd), COCOON_OK);
        read_all(fd, out, sizeof out);
        CHECK(strcmp(out, "zero one yes /usr 1234:1234:1234 1235\n") == 0);
        if (strcmp(out, "zero one yes /usr 1234:1234:1234 1235\n") != 0)
            fprintf(stderr, "abi_warm: got '%s'\n", out);
        EXPECT(cocoon_container_wait(c, &code, &sig), COCOON_OK);
        CHECK(code == 3 && sig == 0);
        /* Used up: a second start, and its pid. */
        EXPECT(cocoon_warm_start(w, p, &c2), COCOON_E_NOT_CREATED);
        CHECK(c2 == (cocoon_container *)0x1);
        EXPECT(cocoon_warm_pid(w, &pid2), COCOON_E_NOT_CREATED);
        cocoon_warm_free(w);
        cocoon_container_free(c);
        cocoon_process_free(p);
    }

    /* A bad user: refused, and the handle is used up all the same. */
    {
        cocoon_warm *w = NULL;
        cocoon_container *c = NULL;
        cocoon_process *p = sh_process("true");
        EXPECT(cocoon_process_set_user_name(p, "no-such-user-cocoon"), COCOON_OK);
        EXPECT(cocoon_warm_new(b, &w), COCOON_OK);
        EXPECT(cocoon_warm_start(w, p, &c), COCOON_E_INVALID_CONFIG);
        CHECK(c == NULL);
        EXPECT(cocoon_warm_start(w, p, &c), COCOON_E_NOT_CREATED);
        cocoon_warm_free(w);
        cocoon_process_free(p);
    }

    /* A missing program: a setup error from inside the container. */
    {
        cocoon_warm *w = NULL;
        cocoon_container *c = NULL;
        cocoon_process *p = NULL;
        EXPECT(cocoon_process_new("/no/such/program", &p), COCOON_OK);
        EXPECT(cocoon_warm_new(b, &w), COCOON_OK);
        EXPECT(cocoon_warm_start(w, p, &c), COCOON_E_SETUP);
        CHECK(cocoon_last_error_stage() == COCOON_STAGE_EXEC);
        CHECK(c == NULL);
        cocoon_warm_free(w);
        cocoon_process_free(p);
    }

    /* Freed unstarted: torn down. */
    {
        cocoon_warm *w = NULL;
        EXPECT(cocoon_warm_new(b, &w), COCOON_OK);
        EXPECT(cocoon_warm_pid(w, &pid), COCOON_OK);
        cocoon_warm_free(w);
        CHECK(kill(pid, 0) != 0);
    }

    /* A pool of 2: five starts, each in its own container, and the pool refills. */
    {
        cocoon_pool *pl = NULL;
        cocoon_pool_counters st;
        cocoon_container *cs[5] = {NULL};
        char ids[5][80];
        size_t ready = 0;
        int i, j;
        cocoon_process *p = sh_process("echo pooled; exit 0");
        cocoon_process *bad = sh_process("true");
        EXPECT(cocoon_process_set_user_name(bad, "no-such-user-cocoon"), COCOON_OK);
        EXPECT(cocoon_pool_new(b, 2, 1, 0, &pl), COCOON_OK);
        EXPECT(cocoon_pool_wait_ready(pl, 2, 20000, &ready), COCOON_OK);
        CHECK(ready == 2);
        st.size = 4; /* below the first version */
        EXPECT(cocoon_pool_stats(pl, &st), COCOON_E_INVALID_ARGUMENT);
        for (i = 0; i < 5; i++) {
            EXPECT(cocoon_pool_start(pl, p, &cs[i]), COCOON_OK);
            if (cs[i] == NULL)
                continue;
            snprintf(ids[i], sizeof ids[i], "%s", cocoon_container_id(cs[i]));
            EXPECT(cocoon_container_take_stdio(cs[i], COCOON_STDOUT, &fd), COCOON_OK);
            read_all(fd, out, sizeof out);
            CHECK(strcmp(out, "pooled\n") == 0);
            EXPECT(cocoon_container_wait(cs[i], &code, &sig), COCOON_OK);
            CHECK(code == 0 && sig == 0);
        }
        for (i = 0; i < 5; i++)
            for (j = 0; j < i; j++)
                CHECK(cs[i] == NULL || cs[j] == NULL || strcmp(ids[i], ids[j]) != 0);
        /* A refused process leaves its container in the pool. */
        cocoon_container *c = NULL;
        EXPECT(cocoon_pool_start(pl, bad, &c), COCOON_E_INVALID_CONFIG);
        CHECK(c == NULL);
        EXPECT(cocoon_pool_wait_ready(pl, 2, 20000, &ready), COCOON_OK);
        CHECK(ready == 2);
        memset(&st, 0, sizeof st);
        st.size = sizeof st;
        EXPECT(cocoon_pool_stats(pl, &st), COCOON_OK);
        CHECK(st.size == sizeof st);
        CHECK(st.ready == 2 && st.started == 5);
        CHECK(st.prepared >= 7 && st.prepared == 7 + st.recycled);
        CHECK(st.failed == 0 && st.recycled == 0);
        if (st.started != 5 || st.ready != 2)
            fprintf(stderr, "abi_warm: ready %llu started %llu prepared %llu missed %llu\n",
                    (unsigned long long)st.ready, (unsigned long long)st.started,
                    (unsigned long long)st.prepared, (unsigned long long)st.missed);
        for (i = 0; i < 5; i++)
            cocoon_container_free(cs[i]);
        cocoon_pool_free(pl);
        cocoon_process_free(bad);
        cocoon_process_free(p);
    }

    /* A pool whose ready containers age out. */
    {
        cocoon_pool *pl = NULL;
        cocoon_pool_counters st;
        size_t ready = 0;
        EXPECT(cocoon_pool_new(b, 1, 1, 50, &pl), COCOON_OK);
        usleep(400 * 1000);
        EXPECT(cocoon_pool_wait_ready(pl, 1, 20000, &ready), COCOON_OK);
        CHECK(ready == 1);
        st.size = sizeof st;
        EXPECT(cocoon_pool_stats(pl, &st), COCOON_OK);
        CHECK(st.recycled >= 1 && st.prepared >= 2);
        cocoon_pool_free(pl);
    }

    cocoon_builder_free(b);
    CHECK(count_children() == before);
}
