/*
 * abi_subids.c -- cocoon_builder_set_subordinate_ids: argument errors, clearing, and the
 * typed error when the caller has too few subordinate ids (tests/core_subids.rs and
 * test_subids.py run real containers with them).
 */
#include "abi_common.h"

void test_subids(void) {
    cocoon_builder *b = sh_builder("true");
    cocoon_container *c = NULL;
    EXPECT(cocoon_builder_set_subordinate_ids(NULL, 65536, 0), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_subordinate_ids(b, 65536, 8), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_subordinate_ids(b, 0xFFFFFFFFu, 0), COCOON_E_INVALID_CONFIG);
    EXPECT(cocoon_builder_set_subordinate_ids(b, 65536, COCOON_SUBIDS_WHOLE_RANGE), COCOON_OK);
    EXPECT(cocoon_builder_set_subordinate_ids(b, 0, 0), COCOON_OK); /* cleared */
    EXPECT(cocoon_container_spawn(b, &c), COCOON_OK);
    cocoon_container_free(c);
    c = NULL;
    /* No range gives 4,000,000,000 ids: a typed error naming the file, nothing spawned. */
    EXPECT(cocoon_builder_set_subordinate_ids(b, 2000000000u, 0), COCOON_OK);
    EXPECT(cocoon_container_spawn(b, &c), COCOON_E_INVALID_CONFIG);
    CHECK(c == NULL);
    CHECK(strstr(cocoon_last_error_message(), "/etc/subuid gives") != NULL);
    cocoon_builder_free(b);
}
