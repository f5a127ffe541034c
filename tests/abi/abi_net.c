/*
 * abi_net.c -- bridge networking through the C ABI: setter errors without containers,
 * and a real container on a bridge, spawned by a forked child in a network namespace of
 * its own (so the machine's interfaces are never touched).
 */
#include "abi_common.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>

void test_net_errors(void) {
    cocoon_builder *b = NULL;
    const char *addr = "x", *host = "x";
    size_t n = 7;
    EXPECT(cocoon_builder_new("/bin/true", &b), COCOON_OK);
    EXPECT(cocoon_builder_set_network_bridge(NULL, "cbr0", "10.90.0.0/24", NULL), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_network_bridge(b, NULL, "10.90.0.0/24", NULL), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_network_bridge(b, "cbr0", "10.90.0.0", NULL), COCOON_E_INVALID_CONFIG);
    EXPECT(cocoon_builder_set_network_bridge(b, "a-name-over-15-b", "10.90.0.0/24", NULL), COCOON_E_INVALID_CONFIG);
    EXPECT(cocoon_builder_set_network_bridge(b, "cbr0", "10.90.0.0/24", "10.91.0.2"), COCOON_E_INVALID_CONFIG);
    CHECK(strstr(cocoon_last_error_message(), "outside the subnet") != NULL);
    EXPECT(cocoon_builder_set_network_bridge(b, "cbr0", "10.90.0.0/24", "not-an-ip"), COCOON_E_INVALID_CONFIG);
    EXPECT(cocoon_builder_set_network_mtu(b, 1400), COCOON_E_INVALID_CONFIG); /* no bridge yet */
    EXPECT(cocoon_builder_set_network_nat(b, 1), COCOON_E_INVALID_CONFIG);
    EXPECT(cocoon_builder_add_published_port(b, "8080:80"), COCOON_E_INVALID_CONFIG);
    EXPECT(cocoon_builder_set_network_bridge(b, "cbr0", "10.90.0.0/24", NULL), COCOON_OK);
    EXPECT(cocoon_builder_set_network_mtu(b, 20), COCOON_E_INVALID_CONFIG);
    EXPECT(cocoon_builder_set_network_mtu(b, 1400), COCOON_OK);
    {
        const uint8_t mac[6] = {0x02, 0, 0, 0, 0xab, 0xcd}, bad_mac[6] = {0x01, 0, 0, 0, 0, 1};
        EXPECT(cocoon_builder_set_network_gateway(b, "10.90.1.1"), COCOON_E_INVALID_CONFIG);
        CHECK(strstr(cocoon_last_error_message(), "outside the subnet") != NULL);
        EXPECT(cocoon_builder_set_network_gateway(b, "10.90.0.254"), COCOON_OK);
        EXPECT(cocoon_builder_set_network_mac(b, bad_mac), COCOON_E_INVALID_CONFIG);
        EXPECT(cocoon_builder_set_network_mac(b, NULL), COCOON_E_INVALID_ARGUMENT);
        EXPECT(cocoon_builder_set_network_mac(b, mac), COCOON_OK);
        EXPECT(cocoon_builder_set_network_state_dir(b, "relative/dir"), COCOON_E_INVALID_CONFIG);
        EXPECT(cocoon_builder_set_network_state_dir(b, "/tmp/cocoon-abi-net-state"), COCOON_OK);
        EXPECT(cocoon_builder_set_network_nat(NULL, 1), COCOON_E_INVALID_ARGUMENT);
        EXPECT(cocoon_builder_set_network_nat(b, 1), COCOON_OK);
        EXPECT(cocoon_builder_add_published_port(b, NULL), COCOON_E_INVALID_ARGUMENT);
        EXPECT(cocoon_builder_add_published_port(b, "0:80"), COCOON_E_INVALID_CONFIG);
        EXPECT(cocoon_builder_add_published_port(b, "65536:80"), COCOON_E_INVALID_CONFIG);
        CHECK(strstr(cocoon_last_error_message(), "over 65535") != NULL);
        EXPECT(cocoon_builder_add_published_port(b, "80:80/sctp"), COCOON_E_INVALID_CONFIG);
        EXPECT(cocoon_builder_add_published_port(b, "127.0.0.1:80:80"), COCOON_E_UNSUPPORTED);
        EXPECT(cocoon_builder_add_published_port(b, "8080:80"), COCOON_OK);
        EXPECT(cocoon_builder_add_published_port(b, "8080:81"), COCOON_E_INVALID_CONFIG); /* same host port twice */
        EXPECT(cocoon_builder_add_published_port(b, "8080:80/udp"), COCOON_OK);
        CHECK(strcmp(cocoon_strerror(COCOON_E_PORT_IN_USE), "unknown error code") != 0);
        EXPECT(cocoon_builder_set_network_firewall_default(NULL, COCOON_FW_EGRESS, COCOON_FW_DROP), COCOON_E_INVALID_ARGUMENT);
        EXPECT(cocoon_builder_set_network_firewall_default(b, 7, COCOON_FW_DROP), COCOON_E_INVALID_ARGUMENT);
        EXPECT(cocoon_builder_set_network_firewall_default(b, COCOON_FW_INGRESS, 7), COCOON_E_INVALID_ARGUMENT);
        EXPECT(cocoon_builder_set_network_firewall_default(b, COCOON_FW_INGRESS, COCOON_FW_DROP), COCOON_OK);
        EXPECT(cocoon_builder_add_firewall_rule(b, COCOON_FW_ACCEPT, NULL), COCOON_E_INVALID_ARGUMENT);
        EXPECT(cocoon_builder_add_firewall_rule(b, 9, "in:*:80"), COCOON_E_INVALID_ARGUMENT);
        EXPECT(cocoon_builder_add_firewall_rule(b, COCOON_FW_ACCEPT, "in:10.0.0.0/33"), COCOON_E_INVALID_CONFIG);
        EXPECT(cocoon_builder_add_firewall_rule(b, COCOON_FW_ACCEPT, "out:10.0.0.1:70000"), COCOON_E_INVALID_CONFIG);
        EXPECT(cocoon_builder_add_firewall_rule(b, COCOON_FW_ACCEPT, "in:*:80/tcp"), COCOON_OK);
        EXPECT(cocoon_builder_set_network_rate(NULL, COCOON_FW_EGRESS, "10mbit", 0), COCOON_E_INVALID_ARGUMENT);
        EXPECT(cocoon_builder_set_network_rate(b, COCOON_FW_EGRESS, NULL, 0), COCOON_E_INVALID_ARGUMENT);
        EXPECT(cocoon_builder_set_network_rate(b, 5, "10mbit", 0), COCOON_E_INVALID_ARGUMENT);
        EXPECT(cocoon_builder_set_network_rate(b, COCOON_FW_EGRESS, "0", 0), COCOON_E_INVALID_CONFIG);
        EXPECT(cocoon_builder_set_network_rate(b, COCOON_FW_EGRESS, "10parsecs", 0), COCOON_E_INVALID_CONFIG);
        EXPECT(cocoon_builder_set_network_rate(b, COCOON_FW_INGRESS, "10mbit", 100), COCOON_E_INVALID_CONFIG);
        EXPECT(cocoon_builder_set_network_rate(b, COCOON_FW_EGRESS, "10mbit", 0), COCOON_OK);
        EXPECT(cocoon_builder_set_network_rate(b, COCOON_FW_INGRESS, "1M", 65536), COCOON_OK);
    }
    /* Bridge networking needs a new network namespace: refused before any clone. */
    EXPECT(cocoon_builder_set_namespaces(b, COCOON_NS_DEFAULT & ~COCOON_NS_NET), COCOON_OK);
    EXPECT(cocoon_builder_validate(b), COCOON_E_INVALID_CONFIG);
    EXPECT(cocoon_builder_set_network_none(b), COCOON_OK);
    EXPECT(cocoon_builder_validate(b), COCOON_OK);
    EXPECT(cocoon_builder_set_network_none(NULL), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_container_network(NULL, &addr, &host), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_net_sweep_stale("/nonexistent-cocoon-net-state", &n), COCOON_OK);
    CHECK(n == 0);
    cocoon_builder_free(b);
}

/* How many rules cocoon has in the table ip cocoon (`nft` only observes). */
static int nft_rules(void) {
    char line[512];
    int n = 0;
    FILE *f = popen("nft list table ip cocoon 2>/dev/null", "r");
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof line, f) != NULL)
        if (strstr(line, "comment \"cocoon ") != NULL)
            n++;
    pclose(f);
    return n;
}

/* Connects to addr:port (retrying while the container's listener comes up) and reads. */
static int tcp_get(const char *addr, int port, char *out, size_t cap) {
    struct sockaddr_in sa;
    int i;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    inet_pton(AF_INET, addr, &sa.sin_addr);
    for (i = 0; i < 50; i++) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
            read_all(fd, out, cap);
            return 0;
        }
        if (fd >= 0)
            close(fd);
        usleep(100000);
    }
    return -1;
}

/* A published port, reached from the host side through its gateway address. */
static void net_nat_child(void) {
    cocoon_builder *b = NULL, *b2 = NULL;
    cocoon_container *c = NULL, *d = NULL;
    const char *args[] = {"-c", "echo pong-nat | busybox nc -l -p 80"};
    const char *args2[] = {"-c", "true"};
    char out[256] = "";
    int code = -1, sig = 0;
    EXPECT(cocoon_builder_new("/bin/sh", &b), COCOON_OK);
    EXPECT(cocoon_builder_set_args(b, args, 2), COCOON_OK);
    EXPECT(cocoon_builder_set_network_bridge(b, "cbr-abinat", "10.93.0.0/24", NULL), COCOON_OK);
    EXPECT(cocoon_builder_set_network_nat(b, 1), COCOON_OK);
    EXPECT(cocoon_builder_add_published_port(b, "8080:80"), COCOON_OK);
    EXPECT(cocoon_container_spawn(b, &c), COCOON_OK);
    CHECK(nft_rules() == 3); /* masquerade, DNAT in prerouting and output */
    /* Another container publishing the same host port: refused, nothing made. */
    EXPECT(cocoon_builder_new("/bin/sh", &b2), COCOON_OK);
    EXPECT(cocoon_builder_set_args(b2, args2, 2), COCOON_OK);
    EXPECT(cocoon_builder_set_network_bridge(b2, "cbr-abinat", "10.93.0.0/24", NULL), COCOON_OK);
    EXPECT(cocoon_builder_add_published_port(b2, "8080:8080"), COCOON_OK);
    EXPECT(cocoon_container_spawn(b2, &d), COCOON_E_PORT_IN_USE);
    CHECK(d == NULL);
    CHECK(strstr(cocoon_last_error_message(), "8080/tcp") != NULL);
    CHECK(nft_rules() == 3);
    if (c != NULL) {
        CHECK(tcp_get("10.93.0.1", 8080, out, sizeof out) == 0);
        CHECK(strstr(out, "pong-nat") != NULL);
        EXPECT(cocoon_container_wait(c, &code, &sig), COCOON_OK);
        CHECK(code == 0);
        EXPECT(cocoon_container_delete(c), COCOON_OK);
    }
    CHECK(nft_rules() == 0);
    cocoon_builder_free(b);
    cocoon_builder_free(b2);
}

/* Firewall rules inside the container: allowed and denied (the control), and root inside
 * cannot flush them. */
static void net_firewall_child(void) {
    cocoon_builder *b = NULL;
    const char *args[] = {"-c", "busybox ping -c1 -W2 10.94.0.1 >/dev/null && echo gw-ok || echo gw-blocked; "
                                "nft flush ruleset 2>/dev/null && echo flushed || echo flush-refused"};
    char out[256] = "";
    int code = -1, sig = 0, fd = -1;
    cocoon_container *c = NULL;
    int round;
    EXPECT(cocoon_builder_new("/bin/sh", &b), COCOON_OK);
    EXPECT(cocoon_builder_set_args(b, args, 2), COCOON_OK);
    EXPECT(cocoon_builder_set_stdio(b, COCOON_STDOUT, COCOON_STDIO_PIPE, -1), COCOON_OK);
    for (round = 0; round < 2; round++) {
        EXPECT(cocoon_builder_set_network_bridge(b, "cbr-abifw", "10.94.0.0/24", NULL), COCOON_OK);
        if (round == 0) { /* deny all egress but the gateway */
            EXPECT(cocoon_builder_add_firewall_rule(b, COCOON_FW_DROP, "out:*"), COCOON_OK);
            EXPECT(cocoon_builder_add_firewall_rule(b, COCOON_FW_ACCEPT, "out:10.94.0.1"), COCOON_OK);
        } else { /* deny the gateway only */
            EXPECT(cocoon_builder_add_firewall_rule(b, COCOON_FW_DROP, "out:10.94.0.1/32"), COCOON_OK);
        }
        c = NULL;
        EXPECT(cocoon_container_spawn(b, &c), COCOON_OK);
        if (c == NULL)
            continue;
        EXPECT(cocoon_container_take_stdio(c, COCOON_STDOUT, &fd), COCOON_OK);
        read_all(fd, out, sizeof out);
        EXPECT(cocoon_container_wait(c, &code, &sig), COCOON_OK);
        CHECK(code == 0);
        CHECK(strcmp(out, round == 0 ? "gw-ok\nflush-refused\n" : "gw-blocked\nflush-refused\n") == 0);
        EXPECT(cocoon_container_delete(c), COCOON_OK);
    }
    cocoon_builder_free(b);
}

/* Rate limits: the tbf qdiscs are made (tc only observes) and gone with the container. */
static void net_rate_child(void) {
    cocoon_builder *b = NULL;
    cocoon_container *c = NULL;
    const char *args[] = {"-c", "tc qdisc show dev eth0"};
    const char *host = NULL, *addr = NULL;
    char out[512] = "", cmd[128], line[256];
    int code = -1, sig = 0, fd = -1, found = 0;
    FILE *f;
    EXPECT(cocoon_builder_new("/bin/sh", &b), COCOON_OK);
    EXPECT(cocoon_builder_set_args(b, args, 2), COCOON_OK);
    EXPECT(cocoon_builder_set_stdio(b, COCOON_STDOUT, COCOON_STDIO_PIPE, -1), COCOON_OK);
    EXPECT(cocoon_builder_set_network_bridge(b, "cbr-abirate", "10.95.0.0/24", NULL), COCOON_OK);
    EXPECT(cocoon_builder_set_network_rate(b, COCOON_FW_EGRESS, "5mbit", 0), COCOON_OK);
    EXPECT(cocoon_builder_set_network_rate(b, COCOON_FW_INGRESS, "20mbit", 0), COCOON_OK);
    EXPECT(cocoon_container_spawn(b, &c), COCOON_OK);
    if (c != NULL) {
        EXPECT(cocoon_container_network(c, &addr, &host), COCOON_OK);
        snprintf(cmd, sizeof cmd, "tc qdisc show dev %s", host);
        f = popen(cmd, "r");
        while (f != NULL && fgets(line, sizeof line, f) != NULL)
            found |= strstr(line, "tbf c0c0: root") != NULL && strstr(line, "rate 20Mbit") != NULL;
        if (f != NULL)
            pclose(f);
        CHECK(found);
        EXPECT(cocoon_container_take_stdio(c, COCOON_STDOUT, &fd), COCOON_OK);
        read_all(fd, out, sizeof out);
        EXPECT(cocoon_container_wait(c, &code, &sig), COCOON_OK);
        CHECK(code == 0);
        CHECK(strstr(out, "tbf c0c0: root") != NULL && strstr(out, "rate 5Mbit") != NULL);
        EXPECT(cocoon_container_delete(c), COCOON_OK);
    }
    cocoon_builder_free(b);
}

/* The forked child's part: returns how many checks failed. */
static int net_child(void) {
    char dir[] = "/tmp/cocoon-abi-net-XXXXXX", out[512];
    cocoon_builder *b = NULL;
    cocoon_container *c = NULL;
    const char *addr = NULL, *host = NULL;
    const char *args[] = {"-c", "busybox ip -4 -o addr show eth0; busybox ip route; cat /sys/class/net/eth0/address"};
    int code = -1, sig = 0;
    size_t n = 9;
    const uint8_t mac[6] = {0x02, 0, 0, 0, 0x12, 0x34};
    if (unshare(CLONE_NEWNET) != 0 || mkdtemp(dir) == NULL) {
        perror("unshare/mkdtemp");
        return 1;
    }
    setenv("COCOON_NET_STATE_DIR", dir, 1);
    EXPECT(cocoon_builder_new("/bin/sh", &b), COCOON_OK);
    EXPECT(cocoon_builder_set_args(b, args, 2), COCOON_OK);
    EXPECT(cocoon_builder_set_network_bridge(b, "cbr-abi", "10.92.0.0/24", "10.92.0.7"), COCOON_OK);
    EXPECT(cocoon_builder_set_network_gateway(b, "10.92.0.254"), COCOON_OK);
    EXPECT(cocoon_builder_set_network_mac(b, mac), COCOON_OK);
    EXPECT(cocoon_builder_set_stdio(b, COCOON_STDOUT, COCOON_STDIO_PIPE, -1), COCOON_OK);
    EXPECT(cocoon_container_spawn(b, &c), COCOON_OK);
    if (c != NULL) {
        int fd = -1;
        cocoon_container *d = NULL;
        EXPECT(cocoon_container_network(c, &addr, &host), COCOON_OK);
        CHECK(addr != NULL && strcmp(addr, "10.92.0.7/24") == 0);
        CHECK(host != NULL && strncmp(host, "coc", 3) == 0);
        /* The same static address while this one lives: refused. */
        EXPECT(cocoon_container_spawn(b, &d), COCOON_E_ADDRESS_IN_USE);
        CHECK(d == NULL);
        EXPECT(cocoon_container_take_stdio(c, COCOON_STDOUT, &fd), COCOON_OK);
        read_all(fd, out, sizeof out);
        EXPECT(cocoon_container_wait(c, &code, &sig), COCOON_OK);
        CHECK(code == 0);
        CHECK(strstr(out, "10.92.0.7/24") != NULL);
        CHECK(strstr(out, "default via 10.92.0.254 dev eth0") != NULL);
        CHECK(strstr(out, "02:00:00:00:12:34") != NULL);
        EXPECT(cocoon_container_delete(c), COCOON_OK);
    }
    /* A container without a bridge network has none to report. */
    EXPECT(cocoon_builder_set_network_none(b), COCOON_OK);
    EXPECT(cocoon_container_spawn(b, &c), COCOON_OK);
    if (c != NULL) {
        EXPECT(cocoon_container_network(c, &addr, &host), COCOON_E_NOT_AVAILABLE);
        EXPECT(cocoon_container_delete(c), COCOON_OK);
    }
    net_nat_child();
    net_firewall_child();
    net_rate_child();
    EXPECT(cocoon_net_sweep_stale(NULL, &n), COCOON_OK);
    CHECK(n == 0);
    cocoon_builder_free(b);
    snprintf(out, sizeof out, "%s/.ports.lock", dir);
    unlink(out);
    snprintf(out, sizeof out, "%s/cbr-abinat/.lock", dir);
    unlink(out);
    snprintf(out, sizeof out, "%s/cbr-abinat", dir);
    CHECK(rmdir(out) == 0);
    snprintf(out, sizeof out, "%s/cbr-abirate/.lock", dir);
    unlink(out);
    snprintf(out, sizeof out, "%s/cbr-abirate", dir);
    CHECK(rmdir(out) == 0);
    snprintf(out, sizeof out, "%s/cbr-abifw/.lock", dir);
    unlink(out);
    snprintf(out, sizeof out, "%s/cbr-abifw", dir);
    CHECK(rmdir(out) == 0);
    snprintf(out, sizeof out, "%s/cbr-abi/.lock", dir);
    unlink(out);
    snprintf(out, sizeof out, "%s/cbr-abi", dir);
    CHECK(rmdir(out) == 0); /* no lease left */
    rmdir(dir);
    return failed;
}

void test_net_containers(void) {
    int status = 0;
    pid_t pid;
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    if (pid == 0) {
        int bad = net_child();
        fflush(stdout); /* _exit does not flush: the child's FAIL lines would be lost */
        _exit(bad ? 1 : 0);
    }
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}
