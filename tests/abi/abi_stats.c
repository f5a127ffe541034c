/*
 * abi_stats.c -- cocoon_container_net_stats, cocoon_stats.memory_limit (a grown struct read
 * by a first-version caller too) and cocoon_stats_prometheus on real containers.
 */
#include "abi_common.h"

void test_stats_containers(void) {
    cocoon_builder *b = NULL;
    cocoon_container *c = NULL, *plain = NULL;
    cocoon_interface_stats is[4];
    cocoon_stats st;
    size_t n = 99, need = 0;
    char line[64], small[8], *text = NULL;
    int fd = -1;

    /* A container with its own network namespace pings itself over lo. */
    b = sh_builder("busybox ip link set lo up && busybox ping -c 3 -s 500 127.0.0.1 >/dev/null; echo up; exec sleep 30");
    EXPECT(cocoon_builder_set_namespaces(b, COCOON_NS_MOUNT | COCOON_NS_PID | COCOON_NS_NET), COCOON_OK);
    EXPECT(cocoon_builder_set_stdio(b, COCOON_STDOUT, COCOON_STDIO_PIPE, -1), COCOON_OK);
    EXPECT(cocoon_builder_set_memory_max(b, 48 << 20), COCOON_OK);
    EXPECT(cocoon_container_spawn(b, &c), COCOON_OK);
    cocoon_builder_free(b);
    EXPECT(cocoon_container_take_stdio(c, COCOON_STDOUT, &fd), COCOON_OK);
    {
        ssize_t r = read(fd, line, sizeof line - 1); /* "up\n" once the pings are done */
        line[r > 0 ? r : 0] = 0;
        CHECK(strcmp(line, "up\n") == 0);
        close(fd);
    }
    /* Arguments. */
    EXPECT(cocoon_container_net_stats(NULL, is, 4, &n), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_container_net_stats(c, is, 4, NULL), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_container_net_stats(c, NULL, 4, &n), COCOON_E_INVALID_ARGUMENT);
    is[0].size = 8;
    EXPECT(cocoon_container_net_stats(c, is, 4, &n), COCOON_E_INVALID_ARGUMENT);
    CHECK(n == 99);
    /* Count first, then fill. */
    EXPECT(cocoon_container_net_stats(c, NULL, 0, &n), COCOON_OK);
    CHECK(n == 1);
    memset(is, 0, sizeof is);
    is[0].size = sizeof is[0];
    EXPECT(cocoon_container_net_stats(c, is, 4, &n), COCOON_OK);
    CHECK(n == 1 && strcmp(is[0].name, "lo") == 0 && is[0].size == sizeof is[0]);
    CHECK(is[0].rx_packets >= 6 && is[0].rx_bytes >= 6 * 500 && is[0].tx_bytes == is[0].rx_bytes);
    printf("net stats: %s rx %llu bytes / %llu packets\n", is[0].name, (unsigned long long)is[0].rx_bytes,
           (unsigned long long)is[0].rx_packets);

    /* The memory limit, for a caller of this version and one of the first. */
    memset(&st, 0, sizeof st);
    st.size = sizeof st;
    EXPECT(cocoon_container_stats(c, &st), COCOON_OK);
    CHECK(st.size == COCOON_STATS_SIZE_V2 && (st.valid & COCOON_STATS_MEMORY_LIMIT) && st.memory_limit == 48 << 20);
    memset(&st, 0, sizeof st);
    st.size = COCOON_STATS_SIZE_V1;
    EXPECT(cocoon_container_stats(c, &st), COCOON_OK);
    CHECK(st.size == COCOON_STATS_SIZE_V1 && st.memory_limit == 0); /* not written past V1 */

    /* Prometheus text of it and of a container without network namespace or cgroup. */
    b = sh_builder("sleep 30");
    EXPECT(cocoon_builder_set_namespaces(b, COCOON_NS_MOUNT | COCOON_NS_PID), COCOON_OK);
    EXPECT(cocoon_container_spawn(b, &plain), COCOON_OK);
    cocoon_builder_free(b);
    {
        const cocoon_container *both[2] = {c, plain};
        const cocoon_container *with_null[2] = {c, NULL};
        char want[200];
        EXPECT(cocoon_stats_prometheus(with_null, 2, NULL, 0, &need), COCOON_E_INVALID_ARGUMENT);
        EXPECT(cocoon_stats_prometheus(NULL, 2, NULL, 0, &need), COCOON_E_INVALID_ARGUMENT);
        EXPECT(cocoon_stats_prometheus(both, 2, NULL, 0, &need), COCOON_OK);
        CHECK(need > 100);
        text = malloc(need);
        EXPECT(cocoon_stats_prometheus(both, 2, text, need, NULL), COCOON_OK);
        CHECK(strlen(text) == need - 1);
        snprintf(want, sizeof want, "cocoon_container_memory_limit_bytes{id=\"%s\"} %d\n", cocoon_container_id(c), 48 << 20);
        CHECK(strstr(text, want) != NULL);
        snprintf(want, sizeof want, "cocoon_container_network_receive_bytes_total{id=\"%s\",interface=\"lo\"} ",
                 cocoon_container_id(c));
        CHECK(strstr(text, want) != NULL);
        snprintf(want, sizeof want, "{id=\"%s\"", cocoon_container_id(plain));
        CHECK(strstr(text, want) == NULL); /* no cgroup, no interfaces: no samples */
        CHECK(strstr(text, "# TYPE cocoon_container_cpu_usage_seconds_total counter\n") != NULL);
        free(text);
        /* Cut to the buffer, NUL-terminated. */
        EXPECT(cocoon_stats_prometheus(both, 2, small, sizeof small, NULL), COCOON_OK);
        CHECK(strlen(small) == sizeof small - 1 && strncmp(small, "# HELP ", 7) == 0);
        EXPECT(cocoon_stats_prometheus(NULL, 0, small, sizeof small, &need), COCOON_OK);
        CHECK(need == 1 && small[0] == 0);
    }
    EXPECT(cocoon_container_kill(c, SIGKILL), COCOON_OK);
    {
        int code = 0, sig = 0;
        EXPECT(cocoon_container_wait(c, &code, &sig), COCOON_OK);
    }
    EXPECT(cocoon_container_net_stats(c, NULL, 0, &n), COCOON_E_ALREADY_EXITED);
    cocoon_container_free(c);
    cocoon_container_free(plain);
}
