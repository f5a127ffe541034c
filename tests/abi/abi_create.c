/*
 * abi_create.c -- created containers (cocoon_container_create, _create_at, _start,
 * _is_created, cocoon_start_created) and cocoon_builder_set_direct_child: the error paths
 * without containers, then real containers held before their program and started.
 */
#include "abi_common.h"

#include <stdio.h>
#include <unistd.h>

void test_create_errors(void) {
    cocoon_builder *b = sh_builder("true");
    cocoon_container *c = (cocoon_container *)0x1;
    EXPECT(cocoon_container_create(NULL, &c), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_container_create(b, NULL), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_container_create_at(b, NULL, &c), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_container_create_at(NULL, "/tmp/x", &c), COCOON_E_INVALID_ARGUMENT);
    CHECK(c == (cocoon_container *)0x1); /* untouched */
    EXPECT(cocoon_container_start(NULL), COCOON_E_INVALID_ARGUMENT);
    CHECK(cocoon_container_is_created(NULL) == 0);
    EXPECT(cocoon_start_created(NULL), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_start_created("/nonexistent/cocoon-start.sock"), COCOON_E_NOT_CREATED);
    EXPECT(cocoon_builder_set_direct_child(NULL, 1), COCOON_E_INVALID_ARGUMENT);
    CHECK(strcmp(cocoon_strerror(COCOON_E_NOT_CREATED), "unknown error code") != 0);
    cocoon_builder_free(b);
}

void test_create_containers(void) {
    char dir[] = "/tmp/cocoon-abi-create-XXXXXX", marker[128], sock[128], buf[64];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(marker, sizeof marker, "%s/marker", dir);
    snprintf(sock, sizeof sock, "%s/start.sock", dir);
    cocoon_builder *b = sh_builder("echo ran > /out/marker; exit 5");
    EXPECT(cocoon_builder_set_namespaces(b, COCOON_NS_DEFAULT & ~COCOON_NS_NET), COCOON_OK);
    EXPECT(cocoon_builder_add_bind(b, dir, "/out", 0), COCOON_OK);

    /* Held by the handle, started by it. */
    cocoon_container *c = NULL;
    int code = -1, sig = -1;
    EXPECT(cocoon_container_create(b, &c), COCOON_OK);
    CHECK(cocoon_container_is_created(c) == 1);
    usleep(100 * 1000);
    CHECK(access(marker, F_OK) != 0);
    EXPECT(cocoon_container_start(c), COCOON_OK);
    CHECK(cocoon_container_is_created(c) == 0);
    EXPECT(cocoon_container_wait(c, &code, &sig), COCOON_OK);
    CHECK(code == 5 && sig == 0);
    CHECK(read_file(marker, buf, sizeof buf) == 0 && strcmp(buf, "ran") == 0);
    EXPECT(cocoon_container_start(c), COCOON_E_NOT_CREATED);
    cocoon_container_free(c);
    unlink(marker);

    /* Held on a socket, started by path; a direct child of ours. */
    EXPECT(cocoon_builder_set_direct_child(b, 1), COCOON_OK);
    c = NULL;
    EXPECT(cocoon_container_create_at(b, sock, &c), COCOON_OK);
    CHECK(access(sock, F_OK) == 0);
    int pid = 0;
    EXPECT(cocoon_container_pid(c, &pid), COCOON_OK);
    CHECK(getpgid(pid) >= 0);
    EXPECT(cocoon_start_created(sock), COCOON_OK);
    CHECK(access(sock, F_OK) != 0);
    EXPECT(cocoon_container_wait(c, &code, &sig), COCOON_OK);
    CHECK(code == 5);
    EXPECT(cocoon_start_created(sock), COCOON_E_NOT_CREATED);
    cocoon_container_free(c);

    /* Freed before start: killed, the program never ran. */
    unlink(marker);
    EXPECT(cocoon_container_create(b, &c), COCOON_OK);
    cocoon_container_free(c);
    CHECK(access(marker, F_OK) != 0);
    cocoon_builder_free(b);
    rmdir(dir);
}
