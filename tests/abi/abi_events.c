/*
 * abi_events.c -- cocoon_events_*: argument errors, then real containers watched through
 * one fd: exits with their statuses, an OOM kill, pause/resume, an already reaped one.
 */
#include "abi_common.h"

#include <time.h>

void test_events_errors(void) {
    cocoon_events *ev = NULL;
    cocoon_event e;
    int fd = -1, got = -1;
    size_t n = 99;

    EXPECT(cocoon_events_new(NULL), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_events_new(&ev), COCOON_OK);
    CHECK(ev != NULL);
    EXPECT(cocoon_events_fd(NULL, &fd), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_events_fd(ev, NULL), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_events_fd(ev, &fd), COCOON_OK);
    CHECK(fd >= 0);
    EXPECT(cocoon_events_count(ev, NULL), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_events_count(ev, &n), COCOON_OK);
    CHECK(n == 0);
    EXPECT(cocoon_events_add(ev, NULL, 1), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_events_add(NULL, NULL, 1), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_events_add_health(ev, NULL, 1, NULL, 100, 100, 1, 0), COCOON_E_INVALID_ARGUMENT);

    /* The struct's size must be set: 0 and a too small one are refused, *got untouched. */
    memset(&e, 0, sizeof e);
    EXPECT(cocoon_events_next(ev, &e, &got), COCOON_E_INVALID_ARGUMENT);
    CHECK(got == -1);
    e.size = COCOON_EVENT_SIZE_V1 - 1;
    EXPECT(cocoon_events_next(ev, &e, &got), COCOON_E_INVALID_ARGUMENT);
    e.size = sizeof e;
    EXPECT(cocoon_events_next(ev, NULL, &got), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_events_next(ev, &e, NULL), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_events_next(NULL, &e, &got), COCOON_E_INVALID_ARGUMENT);
    /* Nothing watched: nothing pending, and waiting forever returns at once. */
    EXPECT(cocoon_events_next(ev, &e, &got), COCOON_OK);
    CHECK(got == 0);
    EXPECT(cocoon_events_wait(ev, 0, &e, &got), COCOON_OK);
    CHECK(got == 0);
    got = -1;
    EXPECT(cocoon_events_wait(ev, -1, &e, &got), COCOON_OK);
    CHECK(got == 0);
    EXPECT(cocoon_events_wait(ev, -2, &e, &got), COCOON_E_INVALID_ARGUMENT);
    cocoon_events_free(ev);
    cocoon_events_free(NULL);
}

/* Reads events until `want_exits` containers have exited (or 20 s pass), counting kinds per
 * tag (tags 0..7) and keeping each tag's exit status and the order of its events. */
struct seen {
    int started, exited, oom, oom_kill, paused, resumed;
    int code, sig;
    int oom_before_exit;
    char id[COCOON_EVENT_ID_MAX];
};

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int drain(cocoon_events *ev, struct seen *s, int want_exits) {
    int exits = 0, fd = -1, got = 0;
    double deadline = now_s() + 20;
    cocoon_event e;
    EXPECT(cocoon_events_fd(ev, &fd), COCOON_OK);
    while (exits < want_exits && now_s() < deadline) {
        for (;;) {
            e.size = sizeof e;
            if (cocoon_events_next(ev, &e, &got) != COCOON_OK || !got) break;
            CHECK(e.size == sizeof e);
            if (e.tag > 7) {
                CHECK(!"tag out of range");
                continue;
            }
            struct seen *t = &s[e.tag];
            snprintf(t->id, sizeof t->id, "%s", e.id);
            switch (e.kind) {
            case COCOON_EVENT_STARTED: t->started++; break;
            case COCOON_EVENT_EXITED:
                t->exited++;
                t->code = e.exit_code;
                t->sig = e.signal;
                exits++;
                break;
            case COCOON_EVENT_OOM: t->oom++; t->oom_before_exit = !t->exited; break;
            case COCOON_EVENT_OOM_KILL: CHECK(e.count >= 1); t->oom_kill++; break;
            case COCOON_EVENT_PAUSED: t->paused++; break;
            case COCOON_EVENT_RESUMED: t->resumed++; break;
            default: break; /* kinds of later versions */
            }
        }
        if (exits < want_exits) poll_in(fd, 50);
    }
    return exits;
}

/* Waits up to 5 s for the next event, which must be of `kind` (tag `tag`). */
static int wait_kind(cocoon_events *ev, uint32_t kind, uint64_t tag) {
    cocoon_event e;
    int got = 0;
    e.size = sizeof e;
    EXPECT(cocoon_events_wait(ev, 5000, &e, &got), COCOON_OK);
    if (!got) return 0;
    if (e.kind != kind || e.tag != tag) printf("events: got kind %u tag %llu\n", e.kind, (unsigned long long)e.tag);
    return e.kind == kind && e.tag == tag;
}

void test_events_containers(void) {
    cocoon_events *ev = NULL;
    cocoon_builder *b = NULL;
    cocoon_container *c[4] = {NULL, NULL, NULL, NULL};
    struct seen s[8];
    int code = 0, sig = 0;
    size_t n = 0;
    const char *oom_args[] = {"-c", "(echo 1000 >/proc/self/oom_score_adj && head -c 64m /dev/zero | tail >/dev/null); exit 0"};

    memset(s, 0, sizeof s);
    EXPECT(cocoon_events_new(&ev), COCOON_OK);
    /* 0: exits 0; 1: exits 3; 2: killed by SIGKILL; 3: OOM-killed child, then exit 0. */
    b = sh_builder("exit 0");
    EXPECT(cocoon_container_spawn(b, &c[0]), COCOON_OK);
    cocoon_builder_free(b);
    b = sh_builder("sleep 0.2; exit 3");
    EXPECT(cocoon_container_spawn(b, &c[1]), COCOON_OK);
    cocoon_builder_free(b);
    b = sh_builder("sleep 30");
    EXPECT(cocoon_container_spawn(b, &c[2]), COCOON_OK);
    cocoon_builder_free(b);
    EXPECT(cocoon_builder_new("sh", &b), COCOON_OK);
    EXPECT(cocoon_builder_set_args(b, oom_args, 2), COCOON_OK);
    EXPECT(cocoon_builder_set_memory_max(b, 32 << 20), COCOON_OK);
    EXPECT(cocoon_container_spawn(b, &c[3]), COCOON_OK);
    cocoon_builder_free(b);
    for (int i = 0; i < 4; i++) EXPECT(cocoon_events_add(ev, c[i], (uint64_t)i), COCOON_OK);
    EXPECT(cocoon_events_count(ev, &n), COCOON_OK);
    CHECK(n == 4);
    EXPECT(cocoon_container_kill(c[2], SIGKILL), COCOON_OK);
    CHECK(drain(ev, s, 4) == 4);
    for (int i = 0; i < 4; i++) {
        CHECK(s[i].started == 1);
        CHECK(s[i].exited == 1);
        CHECK(strcmp(s[i].id, cocoon_container_id(c[i])) == 0);
    }
    CHECK(s[0].code == 0 && s[0].sig == 0);
    CHECK(s[1].code == 3 && s[1].sig == 0);
    CHECK(s[2].code == -1 && s[2].sig == SIGKILL);
    CHECK(s[3].code == 0 && s[3].sig == 0);
    CHECK(s[3].oom >= 1 && s[3].oom_before_exit);
    CHECK(s[3].oom_kill >= 1);
    printf("events: oom=%d oom_kill=%d for the 32 MiB container\n", s[3].oom, s[3].oom_kill);
    /* Every exit was read: nothing is watched any more. */
    EXPECT(cocoon_events_count(ev, &n), COCOON_OK);
    CHECK(n == 0);
    /* The handles still own their processes: wait gives the same statuses. */
    EXPECT(cocoon_container_wait(c[1], &code, &sig), COCOON_OK);
    CHECK(code == 3 && sig == 0);
    /* A reaped container cannot be added. */
    EXPECT(cocoon_events_add(ev, c[1], 9), COCOON_E_ALREADY_EXITED);
    for (int i = 0; i < 4; i++) cocoon_container_free(c[i]);

    /* Pause and resume (needs a freezer: every host here has one, v1 or v2). */
    memset(s, 0, sizeof s);
    b = sh_builder("sleep 30");
    EXPECT(cocoon_builder_enable_cgroup(b), COCOON_OK);
    EXPECT(cocoon_container_spawn(b, &c[0]), COCOON_OK);
    cocoon_builder_free(b);
    EXPECT(cocoon_events_add(ev, c[0], 5), COCOON_OK);
    /* A loop that keeps reading sees each state (v1 freezer: re-read every 100 ms while the
     * source is read; a state that starts and ends between two reads is not seen). */
    CHECK(wait_kind(ev, COCOON_EVENT_STARTED, 5));
    {
        /* Running, nothing happens: a bounded wait comes back empty. A struct bigger than this
         * version's is filled up to this version's size. */
        struct {
            cocoon_event e;
            char later[16];
        } big;
        int got = -1;
        big.e.size = sizeof big;
        EXPECT(cocoon_events_wait(ev, 150, &big.e, &got), COCOON_OK);
        CHECK(got == 0);
        EXPECT(cocoon_container_pause(c[0]), COCOON_OK);
        EXPECT(cocoon_events_wait(ev, 5000, &big.e, &got), COCOON_OK);
        CHECK(got == 1 && big.e.kind == COCOON_EVENT_PAUSED && big.e.size == sizeof(cocoon_event));
    }
    EXPECT(cocoon_container_resume(c[0]), COCOON_OK);
    CHECK(wait_kind(ev, COCOON_EVENT_RESUMED, 5));
    EXPECT(cocoon_container_kill(c[0], SIGKILL), COCOON_OK);
    CHECK(drain(ev, s, 1) == 1);
    printf("events: pause container started=%d paused=%d resumed=%d exited=%d sig=%d\n", s[5].started, s[5].paused,
           s[5].resumed, s[5].exited, s[5].sig);
    CHECK(s[5].started == 0 && s[5].paused == 0 && s[5].resumed == 0 && s[5].exited == 1);
    CHECK(s[5].sig == SIGKILL);
    cocoon_container_free(c[0]);

    /* Health: a check that passes once /tmp/ok exists in the container; refused settings. */
    {
        cocoon_process *chk = NULL;
        const char *chk_args[] = {"-c", "test -e /tmp/ok"};
        const char *mk_args[] = {"-c", "touch /tmp/ok"};
        cocoon_process *mk = NULL;
        cocoon_exec_process *x = NULL;
        int got = 0;
        cocoon_event e;
        b = sh_builder("sleep 30");
        EXPECT(cocoon_builder_set_namespaces(b, COCOON_NS_MOUNT | COCOON_NS_PID), COCOON_OK);
        EXPECT(cocoon_container_spawn(b, &c[0]), COCOON_OK);
        cocoon_builder_free(b);
        EXPECT(cocoon_process_new("/bin/sh", &chk), COCOON_OK);
        EXPECT(cocoon_process_set_args(chk, chk_args, 2), COCOON_OK);
        EXPECT(cocoon_events_add_health(ev, c[0], 8, NULL, 100, 100, 1, 0), COCOON_E_INVALID_ARGUMENT);
        EXPECT(cocoon_events_add_health(ev, c[0], 8, chk, 0, 1000, 2, 0), COCOON_E_INVALID_CONFIG);
        EXPECT(cocoon_events_add_health(ev, c[0], 8, chk, 50, 0, 2, 0), COCOON_E_INVALID_CONFIG);
        EXPECT(cocoon_events_add_health(ev, c[0], 8, chk, 50, 1000, 0, 0), COCOON_E_INVALID_CONFIG);
        EXPECT(cocoon_events_count(ev, &n), COCOON_OK);
        CHECK(n == 0);
        EXPECT(cocoon_events_add_health(ev, c[0], 8, chk, 50, 1000, 2, 0), COCOON_OK);
        cocoon_process_free(chk); /* not consumed, and the source keeps its own copy */
        CHECK(wait_kind(ev, COCOON_EVENT_STARTED, 8));
        e.size = sizeof e;
        EXPECT(cocoon_events_wait(ev, 10000, &e, &got), COCOON_OK);
        CHECK(got == 1 && e.kind == COCOON_EVENT_HEALTH && e.health == COCOON_HEALTH_UNHEALTHY);
        EXPECT(cocoon_process_new("/bin/sh", &mk), COCOON_OK);
        EXPECT(cocoon_process_set_args(mk, mk_args, 2), COCOON_OK);
        EXPECT(cocoon_container_exec_process(c[0], mk, &x), COCOON_OK);
        EXPECT(cocoon_exec_process_wait(x, &code, &sig), COCOON_OK);
        CHECK(code == 0);
        cocoon_exec_process_free(x);
        cocoon_process_free(mk);
        e.size = sizeof e;
        EXPECT(cocoon_events_wait(ev, 10000, &e, &got), COCOON_OK);
        CHECK(got == 1 && e.kind == COCOON_EVENT_HEALTH && e.health == COCOON_HEALTH_HEALTHY);
        printf("events: health went unhealthy, then healthy after /tmp/ok appeared\n");
        EXPECT(cocoon_container_kill(c[0], SIGKILL), COCOON_OK);
        CHECK(wait_kind(ev, COCOON_EVENT_EXITED, 8));
        cocoon_container_free(c[0]);
    }
    cocoon_events_free(ev);
}
