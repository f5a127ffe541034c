/*
 * abi_logs.c -- cocoon_log_reader_*: a CRI log written here with fprintf (a rotated NAME.1
 * and the live NAME, a junk line, non-UTF-8 text, a partial record) read back field by
 * field; since; follow with a timeout; argument errors (NULLs, a missing log, a small
 * struct size).
 */
#include "abi_common.h"

#include <time.h>

/* 2016-10-06T00:17:09Z */
#define T0 1475713029LL

static void write_log(const char *path, const char *records) {
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f == NULL)
        return;
    fprintf(f, "%s", records);
    fclose(f);
}

/* Reads every record of `path` from `since_secs` on into texts (each NUL-terminated,
 * truncated to 63 bytes); returns the count, or the error code. */
static int read_texts(const char *path, int64_t since_secs, uint32_t since_nanos, char texts[][64], int cap) {
    cocoon_log_reader *r = NULL;
    cocoon_log_line l;
    int n = 0, rc;
    rc = cocoon_log_reader_open(path, since_secs, since_nanos, 0, 0, &r);
    if (rc != COCOON_OK)
        return rc;
    memset(&l, 0, sizeof l);
    l.size = sizeof l;
    while ((rc = cocoon_log_reader_next(r, &l)) == 1 && n < cap) {
        size_t k = l.len < 63 ? l.len : 63;
        memcpy(texts[n], l.text, k);
        texts[n][k] = '\0';
        n++;
    }
    cocoon_log_reader_free(r);
    return rc < 0 ? rc : n;
}

void test_logs(void) {
    char dir[] = "/tmp/cocoon-abi-logs-XXXXXX";
    char live[128], rotated[128], missing[128], texts[8][64];
    cocoon_log_reader *r = NULL;
    cocoon_log_line l;
    uint64_t skipped = 99;
    int n;

    if (mkdtemp(dir) == NULL) {
        CHECK(!"mkdtemp");
        return;
    }
    snprintf(live, sizeof live, "%s/c.log", dir);
    snprintf(rotated, sizeof rotated, "%s/c.log.1", dir);
    snprintf(missing, sizeof missing, "%s/none.log", dir);
    write_log(rotated, "2016-10-06T00:17:09.000000001Z stdout F old line\n"
                       "this is no record\n");
    write_log(live, "2016-10-06T00:17:10.5Z stderr P part\n"
                    "2016-10-06T02:17:11+02:00 stdout F \xff\xfe bytes\n"
                    "2016-10-06T00:17:12.000000000Z stdout F unfinis");

    /* Field by field. */
    EXPECT(cocoon_log_reader_open(live, -1, 0, 0, 0, &r), COCOON_OK);
    CHECK(r != NULL);
    memset(&l, 0, sizeof l);
    l.size = sizeof l;
    EXPECT(cocoon_log_reader_next(r, &l), 1);
    CHECK(l.size == sizeof l && l.stream == COCOON_LOG_STDOUT && l.partial == 0);
    CHECK(l.secs == T0 && l.nanos == 1);
    CHECK(l.len == 8 && memcmp(l.text, "old line", 8) == 0);
    EXPECT(cocoon_log_reader_next(r, &l), 1);
    CHECK(l.stream == COCOON_LOG_STDERR && l.partial == 1);
    CHECK(l.secs == T0 + 1 && l.nanos == 500000000);
    CHECK(l.len == 4 && memcmp(l.text, "part", 4) == 0);
    EXPECT(cocoon_log_reader_next(r, &l), 1);
    CHECK(l.stream == COCOON_LOG_STDOUT && l.partial == 0 && l.secs == T0 + 2 && l.nanos == 0);
    CHECK(l.len == 8 && memcmp(l.text, "\xff\xfe bytes", 8) == 0);
    /* The unfinished last line is not returned; the end stays the end. */
    EXPECT(cocoon_log_reader_next(r, &l), 0);
    EXPECT(cocoon_log_reader_next(r, &l), 0);
    EXPECT(cocoon_log_reader_skipped(r, &skipped), COCOON_OK);
    CHECK(skipped == 1);
    /* A struct size below the first version's is refused, `out` untouched. */
    memset(&l, 0x5a, sizeof l);
    l.size = COCOON_LOG_LINE_SIZE_V1 - 1;
    EXPECT(cocoon_log_reader_next(r, &l), COCOON_E_INVALID_ARGUMENT);
    CHECK(l.size == COCOON_LOG_LINE_SIZE_V1 - 1 && l.stream == 0x5a);
    cocoon_log_reader_free(r);
    cocoon_log_reader_free(NULL);

    /* since: from the second record's time on, then from just after it. */
    n = read_texts(live, T0 + 1, 500000000, texts, 8);
    CHECK(n == 2 && strcmp(texts[0], "part") == 0);
    n = read_texts(live, T0 + 1, 500000001, texts, 8);
    CHECK(n == 1 && strcmp(texts[0], "\xff\xfe bytes") == 0);
    n = read_texts(live, T0 + 100, 0, texts, 8);
    CHECK(n == 0);

    /* follow with a timeout: ends about 150 ms after the last data. */
    {
        struct timespec a, b;
        long ms;
        int count = 0;
        EXPECT(cocoon_log_reader_open(live, -1, 0, 1, 150, &r), COCOON_OK);
        memset(&l, 0, sizeof l);
        l.size = sizeof l;
        clock_gettime(CLOCK_MONOTONIC, &a);
        while (cocoon_log_reader_next(r, &l) == 1)
            count++;
        clock_gettime(CLOCK_MONOTONIC, &b);
        ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
        CHECK(count == 3);
        CHECK(ms >= 140 && ms < 3000);
        cocoon_log_reader_free(r);
    }

    /* Argument errors: nothing written to out. */
    r = NULL;
    EXPECT(cocoon_log_reader_open(NULL, -1, 0, 0, 0, &r), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_log_reader_open(live, -1, 0, 0, 0, NULL), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_log_reader_open("", -1, 0, 0, 0, &r), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_log_reader_open(live, 0, 1000000000u, 0, 0, &r), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_log_reader_open(missing, -1, 0, 0, 0, &r), COCOON_E_OS);
    CHECK(cocoon_last_error_errno() == ENOENT);
    CHECK(r == NULL);
    memset(&l, 0, sizeof l);
    l.size = sizeof l;
    EXPECT(cocoon_log_reader_next(NULL, &l), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_log_reader_open(live, -1, 0, 0, 0, &r), COCOON_OK);
    EXPECT(cocoon_log_reader_next(r, NULL), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_log_reader_skipped(r, NULL), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_log_reader_skipped(NULL, &skipped), COCOON_E_INVALID_ARGUMENT);
    cocoon_log_reader_free(r);

    unlink(live);
    unlink(rotated);
    rmdir(dir);
}
