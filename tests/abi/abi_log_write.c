/*
 * abi_log_write.c -- cocoon_builder_set_log on a real container: the CRI records its
 * monitor writes, rotation, cocoon_container_log_lost_bytes/_errno, and argument errors.
 */
#include "abi_common.h"

/* Counts the records of `path` and checks each one's shape: time, stream, tag, text. */
static int count_records(const char *path, const char *stream, const char *text) {
    char line[256];
    int n = 0;
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    while (fgets(line, sizeof line, f)) {
        char *sp1 = strchr(line, ' '), *sp2, *sp3;
        if (!sp1 || sp1 - line != 30 || line[10] != 'T' || line[29] != 'Z') { n = -1000; break; }
        sp2 = strchr(sp1 + 1, ' ');
        if (!sp2 || (size_t)(sp2 - sp1 - 1) != strlen(stream) || strncmp(sp1 + 1, stream, strlen(stream)) != 0) { n = -1000; break; }
        sp3 = sp2 + 2;
        if (sp2[1] != 'F' || *sp3 != ' ' || strncmp(sp3 + 1, text, strlen(text)) != 0) { n = -1000; break; }
        n++;
    }
    fclose(f);
    return n;
}

void test_log_write(void) {
    char dir[] = "/tmp/cocoon-abi-log-XXXXXX", path[128], rotated[140], toolong[400];
    cocoon_builder *b = NULL;
    cocoon_container *c = NULL;
    uint64_t lost = 99;
    int code = -1, sig = -1, err = 99;
    struct stat st;

    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/c.log", dir);
    snprintf(rotated, sizeof rotated, "%s/c.log.1", dir);

    /* Arguments. */
    b = sh_builder("busybox seq 1 3000 | busybox sed 's/^/line /' >&2");
    EXPECT(cocoon_builder_set_log(NULL, path, 0, 1), COCOON_E_INVALID_ARGUMENT);
    memset(toolong, 'x', sizeof toolong - 1);
    toolong[0] = '/';
    toolong[sizeof toolong - 1] = 0;
    EXPECT(cocoon_builder_set_log(b, toolong, 0, 1), COCOON_E_INVALID_CONFIG);
    EXPECT(cocoon_builder_set_log(b, path, 0, 1), COCOON_OK);
    EXPECT(cocoon_builder_set_log(b, NULL, 0, 1), COCOON_OK); /* cleared */
    /* 3,000 lines on stderr, rotated at 32 KiB keeping 2 files. */
    EXPECT(cocoon_builder_set_log(b, path, 32 * 1024, 2), COCOON_OK);
    EXPECT(cocoon_container_spawn(b, &c), COCOON_OK);
    cocoon_builder_free(b);
    EXPECT(cocoon_container_wait(c, &code, &sig), COCOON_OK);
    CHECK(code == 0 && sig == 0);
    EXPECT(cocoon_container_log_lost_bytes(c, &lost), COCOON_OK);
    CHECK(lost == 0);
    EXPECT(cocoon_container_log_errno(c, &err), COCOON_OK);
    CHECK(err == 0);
    EXPECT(cocoon_container_log_lost_bytes(NULL, &lost), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_container_log_lost_bytes(c, NULL), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_container_log_errno(c, NULL), COCOON_E_INVALID_ARGUMENT);
    cocoon_container_free(c);
    {
        int live = count_records(path, "stderr", "line "), old = count_records(rotated, "stderr", "line ");
        /* Two files of at most 32 KiB, ~50-byte records: the newest lines, not all 3,000. */
        CHECK(live > 0 && old > 500 && live + old < 3000);
        CHECK(stat(path, &st) == 0 && st.st_size <= 32 * 1024 && (st.st_mode & 0777) == 0640);
        printf("log: %d + %d records in %s{.1,}\n", old, live, path);
    }
    unlink(path);
    unlink(rotated);
    rmdir(dir);

    /* A directory that does not exist: a typed error at spawn, nothing created. */
    b = sh_builder("true");
    EXPECT(cocoon_builder_set_log(b, "/tmp/cocoon-abi-log-missing-dir/c.log", 0, 1), COCOON_OK);
    EXPECT(cocoon_container_spawn(b, &c), COCOON_E_OS);
    cocoon_builder_free(b);
}
