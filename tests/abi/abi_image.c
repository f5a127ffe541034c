/*
 * abi_image.c -- the image store through the C ABI: open, import (an OCI layout umoci
 * builds at test time), list, run from an image, commit, export, remove, gc; and every
 * error path.
 */
#include "abi_common.h"

static char store_dir[300];
static char work_dir[256];

static void make_dirs(void) {
    snprintf(work_dir, sizeof work_dir, "/tmp/cocoon-abi-image-%d", (int)getpid());
    snprintf(store_dir, sizeof store_dir, "%s/store", work_dir);
    mkdir(work_dir, 0700);
}

static void remove_dirs(void) {
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", work_dir);
    CHECK(system(cmd) == 0);
}

void test_image_errors(void) {
    cocoon_image_store *s = NULL;
    cocoon_image_list *l = NULL;
    cocoon_builder *b = NULL;
    size_t n = 777;
    make_dirs();
    CHECK(cocoon_has_feature("image") == 1);
    CHECK(strcmp(cocoon_strerror(COCOON_E_IMAGE_DIGEST), "image digest mismatch") == 0);
    CHECK(strcmp(cocoon_strerror(COCOON_E_IMAGE_UNSAFE), "unknown error code") != 0);
    CHECK(strcmp(cocoon_strerror(COCOON_E_IMAGE_FORMAT), "unknown error code") != 0);
    CHECK(strcmp(cocoon_strerror(COCOON_E_IMAGE_NOT_FOUND), "image not found") == 0);
    EXPECT(cocoon_image_store_open(store_dir, NULL), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_image_store_open("/proc/no/such/store", &s), COCOON_E_OS);
    CHECK(s == NULL);
    EXPECT(cocoon_image_store_open(store_dir, &s), COCOON_OK);
    EXPECT(cocoon_image_import(NULL, "/x", COCOON_IMAGE_FORMAT_AUTO, NULL, 0), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_image_import(s, NULL, COCOON_IMAGE_FORMAT_AUTO, NULL, 0), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_image_import(s, "/x", 99, NULL, 0), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_image_import(s, "/x", COCOON_IMAGE_FORMAT_AUTO, NULL, 1u << 20), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_image_import(s, "/proc/no/such/archive", COCOON_IMAGE_FORMAT_AUTO, NULL, 0), COCOON_E_OS);
    CHECK(cocoon_last_error_errno() == ENOENT);
    /* Not an image: a plain file that is not a tar. */
    EXPECT(cocoon_image_import(s, "/proc/self/status", COCOON_IMAGE_FORMAT_AUTO, NULL, 0), COCOON_E_IMAGE_FORMAT);
    EXPECT(cocoon_image_store_list(NULL, &l), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_image_store_list(s, NULL), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_image_store_list(s, &l), COCOON_OK);
    CHECK(cocoon_image_list_len(l) == 0);
    CHECK(cocoon_image_list_len(NULL) == 0);
    CHECK(cocoon_image_list_name(l, 0) == NULL);
    CHECK(cocoon_last_error_code() == COCOON_E_INVALID_ARGUMENT);
    CHECK(cocoon_image_list_digest(NULL, 0) == NULL);
    CHECK(cocoon_image_list_image_id(l, 5) == NULL);
    cocoon_image_list_free(l);
    cocoon_image_list_free(NULL);
    EXPECT(cocoon_image_remove(NULL, "x"), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_image_remove(s, NULL), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_image_remove(s, "no-such-image:1"), COCOON_E_IMAGE_NOT_FOUND);
    EXPECT(cocoon_image_store_gc(NULL, &n), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_image_store_gc(s, &n), COCOON_OK);
    CHECK(n == 0);
    EXPECT(cocoon_image_store_gc(s, NULL), COCOON_OK);
    EXPECT(cocoon_builder_new("/bin/sh", &b), COCOON_OK);
    EXPECT(cocoon_builder_set_image(NULL, s, "x", 0), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_image(b, NULL, "x", 0), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_image(b, s, NULL, 0), COCOON_E_INVALID_ARGUMENT);
    EXPECT(cocoon_builder_set_image(b, s, "no-such-image", 0), COCOON_E_IMAGE_NOT_FOUND);
    EXPECT(cocoon_builder_set_image(b, s, "no-such-image", 1u << 9), COCOON_E_INVALID_ARGUMENT);
    cocoon_builder_free(b);
    cocoon_image_store_free(s);
    cocoon_image_store_free(NULL);
    remove_dirs();
}

void test_image_containers(void) {
    cocoon_image_store *s = NULL;
    cocoon_image_list *l = NULL;
    cocoon_builder *b = NULL;
    char cmd[2048], out[256];
    size_t n = 0;
    make_dirs();
    /* A busybox image built with umoci: one layer, Env FOO=from-c, WorkingDir /etc. */
    snprintf(cmd, sizeof cmd,
             "set -e; cd '%s'; mkdir -p tree/bin tree/etc; cp /usr/bin/busybox tree/bin/; ln -s busybox tree/bin/sh; "
             "echo 'root:x:0:0::/:/bin/sh' > tree/etc/passwd; umoci init --layout L; umoci new --image L:t; "
             "umoci insert --image L:t tree / >/dev/null; umoci config --image L:t --config.env FOO=from-c "
             "--config.workingdir /etc",
             work_dir);
    CHECK(system(cmd) == 0);
    EXPECT(cocoon_image_store_open(store_dir, &s), COCOON_OK);
    snprintf(cmd, sizeof cmd, "%s/L", work_dir);
    EXPECT(cocoon_image_import(s, cmd, COCOON_IMAGE_FORMAT_DOCKER_ARCHIVE, "c-image:1", 0), COCOON_E_IMAGE_FORMAT);
    EXPECT(cocoon_image_import(s, cmd, COCOON_IMAGE_FORMAT_OCI_LAYOUT, "c-image:1", COCOON_IMAGE_IMPORT_NO_DEVICES),
           COCOON_OK);
    EXPECT(cocoon_image_store_list(s, &l), COCOON_OK);
    CHECK(cocoon_image_list_len(l) == 1);
    CHECK(cocoon_image_list_name(l, 0) != NULL && strcmp(cocoon_image_list_name(l, 0), "c-image:1") == 0);
    CHECK(cocoon_image_list_digest(l, 0) != NULL && strncmp(cocoon_image_list_digest(l, 0), "sha256:", 7) == 0);
    CHECK(cocoon_image_list_image_id(l, 0) != NULL && strncmp(cocoon_image_list_image_id(l, 0), "sha256:", 7) == 0);
    cocoon_image_list_free(l);

    b = sh_builder("echo $FOO; pwd");
    EXPECT(cocoon_builder_set_image(b, s, "c-image:1", 0), COCOON_OK);
    CHECK(run_capture(b, out, sizeof out) == 0);
    CHECK(strcmp(out, "from-c\n/etc\n") == 0);
    cocoon_builder_free(b);
    /* KEEP_CWD: the builder's "/" stays. */
    b = sh_builder("pwd");
    EXPECT(cocoon_builder_set_image(b, s, "c-image:1", COCOON_IMAGE_KEEP_CWD | COCOON_IMAGE_KEEP_USER), COCOON_OK);
    CHECK(run_capture(b, out, sizeof out) == 0);
    CHECK(strcmp(out, "/\n") == 0);
    cocoon_builder_free(b);
    /* Nothing left of the container's writable layer. */
    snprintf(cmd, sizeof cmd, "test -z \"$(ls -A '%s/containers')\"", store_dir);
    CHECK(system(cmd) == 0);

    /* Commit a container's change; run the new image; export it both ways. */
    {
        cocoon_container *c = NULL;
        int code = -1, sig = 0;
        const char *cmd_argv[] = {"/bin/sh", "-c", "cat /etc/c-file; echo $BAR"};
        const char *env[] = {"BAR=committed"};
        const char *bad_env[] = {"NOEQUALS"};
        b = sh_builder("echo c-change > /etc/c-file");
        EXPECT(cocoon_builder_set_image(b, s, "c-image:1", 0), COCOON_OK);
        EXPECT(cocoon_container_spawn(b, &c), COCOON_OK);
        EXPECT(cocoon_container_wait(c, &code, &sig), COCOON_OK);
        CHECK(code == 0);
        CHECK(cocoon_container_writable_layer(NULL) == NULL);
        CHECK(cocoon_last_error_code() == COCOON_E_INVALID_ARGUMENT);
        {
            const char *w = cocoon_container_writable_layer(c);
            char f[700];
            CHECK(w != NULL && strncmp(w, store_dir, strlen(store_dir)) == 0);
            snprintf(f, sizeof f, "%s/upper/etc/c-file", w ? w : "");
            CHECK(read_file(f, out, sizeof out) == 0 && strcmp(out, "c-change") == 0);
        }
        EXPECT(cocoon_image_commit(NULL, c, "c-new:1", NULL, 0, NULL, 0), COCOON_E_INVALID_ARGUMENT);
        EXPECT(cocoon_image_commit(s, NULL, "c-new:1", NULL, 0, NULL, 0), COCOON_E_INVALID_ARGUMENT);
        EXPECT(cocoon_image_commit(s, c, NULL, NULL, 0, NULL, 0), COCOON_E_INVALID_ARGUMENT);
        EXPECT(cocoon_image_commit(s, c, "c-new:1", NULL, 2, NULL, 0), COCOON_E_INVALID_ARGUMENT);
        EXPECT(cocoon_image_commit(s, c, "c-new:1", NULL, 0, bad_env, 1), COCOON_E_INVALID_ARGUMENT);
        EXPECT(cocoon_image_commit(s, c, "c-new:1", cmd_argv, 3, env, 1), COCOON_OK);
        EXPECT(cocoon_container_delete(c), COCOON_OK);
        cocoon_builder_free(b);
        EXPECT(cocoon_builder_new("", &b), COCOON_OK);
        EXPECT(cocoon_builder_set_image(b, s, "c-new:1", 0), COCOON_OK);
        CHECK(run_capture(b, out, sizeof out) == 0);
        CHECK(strcmp(out, "c-change\ncommitted\n") == 0);
        cocoon_builder_free(b);
        snprintf(cmd, sizeof cmd, "%s/exported", work_dir);
        EXPECT(cocoon_image_export(NULL, "c-new:1", cmd, COCOON_IMAGE_EXPORT_OCI_LAYOUT), COCOON_E_INVALID_ARGUMENT);
        EXPECT(cocoon_image_export(s, NULL, cmd, COCOON_IMAGE_EXPORT_OCI_LAYOUT), COCOON_E_INVALID_ARGUMENT);
        EXPECT(cocoon_image_export(s, "c-new:1", NULL, COCOON_IMAGE_EXPORT_OCI_LAYOUT), COCOON_E_INVALID_ARGUMENT);
        EXPECT(cocoon_image_export(s, "c-new:1", cmd, 77), COCOON_E_INVALID_ARGUMENT);
        EXPECT(cocoon_image_export(s, "nope:1", cmd, COCOON_IMAGE_EXPORT_OCI_LAYOUT), COCOON_E_IMAGE_NOT_FOUND);
        EXPECT(cocoon_image_export(s, "c-new:1", cmd, COCOON_IMAGE_EXPORT_OCI_LAYOUT), COCOON_OK);
        EXPECT(cocoon_image_export(s, "c-new:1", cmd, COCOON_IMAGE_EXPORT_OCI_LAYOUT), COCOON_E_OS);
        CHECK(cocoon_last_error_errno() == EEXIST);
        snprintf(cmd, sizeof cmd, "%s/exported.tar", work_dir);
        EXPECT(cocoon_image_export(s, "c-new:1", cmd, COCOON_IMAGE_EXPORT_OCI_ARCHIVE), COCOON_OK);
        EXPECT(cocoon_image_import(s, cmd, COCOON_IMAGE_FORMAT_OCI_ARCHIVE, "c-again:1", 0), COCOON_OK);
        EXPECT(cocoon_image_remove(s, "c-new:1"), COCOON_OK);
        EXPECT(cocoon_image_remove(s, "c-again:1"), COCOON_OK);
    }

    EXPECT(cocoon_image_remove(s, "c-image:1"), COCOON_OK);
    EXPECT(cocoon_image_store_gc(s, &n), COCOON_OK);
    CHECK(n >= 2);
    cocoon_image_store_free(s);
    remove_dirs();
}
