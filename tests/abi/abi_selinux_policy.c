/*
 * abi_selinux_policy.c -- cocoon_builder_selinux_policy: the generated per-container
 * SELinux policy (CIL text) of a builder, into a caller buffer: the size query, a cut
 * buffer still NUL-terminated, read-only vs read-write binds, exactly the bounding
 * capabilities, and bad names/arguments as typed errors with the buffer untouched.
 * Needs no containers and no SELinux.
 */
#include "abi_common.h"

void test_selinux_policy(void) {
    cocoon_builder *b = sh_builder("true");
    char text[8192];
    size_t needed = 0, needed2 = 0;

    EXPECT(cocoon_builder_add_bind(b, "/usr", "/ro", COCOON_MOUNT_READONLY), COCOON_OK);
    EXPECT(cocoon_builder_add_bind(b, "/tmp", "/rw", 0), COCOON_OK);
    /* CAP_CHOWN (0) and CAP_NET_BIND_SERVICE (10) only */
    uint64_t caps = (1ULL << 0) | (1ULL << 10);
    EXPECT(cocoon_builder_set_capabilities(b, caps, caps, caps, 0, 0), COCOON_OK);

    EXPECT(cocoon_builder_selinux_policy(b, "abi_web", NULL, 0, &needed), COCOON_OK);
    CHECK(needed > 100 && needed < sizeof text);
    memset(text, 'x', sizeof text);
    EXPECT(cocoon_builder_selinux_policy(b, "abi_web", text, sizeof text, &needed2), COCOON_OK);
    CHECK(needed2 == needed && strlen(text) + 1 == needed);
    CHECK(strstr(text, "(block abi_web\n    (blockinherit container)") != NULL);
    CHECK(strstr(text, "(allow process self (capability (chown net_bind_service)))") != NULL);
    /* both sources are unlabelled here (no SELinux): one type, the union of the access */
    CHECK(strstr(text, "bind /usr -> /ro (ro)") != NULL);
    CHECK(strstr(text, "bind /tmp -> /rw (rw): read-write") != NULL);
    CHECK(strstr(text, "(file (getattr open read ioctl lock map write append") != NULL);
    /* a short buffer: cut, NUL-terminated */
    EXPECT(cocoon_builder_selinux_policy(b, "abi_web", text, 5, NULL), COCOON_OK);
    CHECK(strcmp(text, "; co") == 0);

    /* read-only alone: no write perm on files */
    cocoon_builder *ro = sh_builder("true");
    EXPECT(cocoon_builder_add_bind(ro, "/usr", "/ro", COCOON_MOUNT_READONLY), COCOON_OK);
    EXPECT(cocoon_builder_selinux_policy(ro, "abi_ro", text, sizeof text, NULL), COCOON_OK);
    CHECK(strstr(text, "(file (getattr open read ioctl lock map)))") != NULL);
    CHECK(strstr(text, " write") == NULL); /* (audit_write, a capability, is not a perm) */
    cocoon_builder_free(ro);

    /* bad names: COCOON_E_SELINUX, nothing written */
    const char *bad[] = {"", "1abc", "a-b", "a b", "a)", "container", "allow"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        strcpy(text, "untouched");
        needed = 7;
        EXPECT(cocoon_builder_selinux_policy(b, bad[i], text, sizeof text, &needed), COCOON_E_SELINUX);
        CHECK(strcmp(text, "untouched") == 0 && needed == 7);
        CHECK(strstr(cocoon_last_error_message(), "policy name") != NULL);
    }
    EXPECT(cocoon_builder_selinux_policy(NULL, "abi_web", text, sizeof text, NULL), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_selinux_policy(b, NULL, text, sizeof text, NULL), COCOON_E_INVALID_ARGUMENT);
    cocoon_builder_free(b);
}
