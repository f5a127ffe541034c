/* CVE-2019-5736 class, C host: a `#!/proc/self/exe` program, spawned or exec'd through
 * the C ABI, must not run this host binary inside the container (cocoon's sealed exec
 * helper runs first and refuses to be an interpreter: exit 126).
 * Build: gcc host_exe_test.c $(pkg-config --cflags --libs cocoon); run as root.
 * If the host binary ever runs inside, it is started as `/proc/self/exe /w/victim` and
 * prints HOST-BINARY-RAN. */
#define _GNU_SOURCE
#include <cocoon.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int check(const char *what, int rc, int code, int sig) {
    if (rc != 0) {
        printf("FAIL %s: rc %d: %s\n", what, rc, cocoon_last_error_message());
        return 1;
    }
    if (code != 126 || sig != 0) {
        printf("FAIL %s: exit %d signal %d (want 126: the helper refused)\n", what, code, sig);
        return 1;
    }
    printf("ok %s\n", what);
    return 0;
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "/w/victim") == 0) {
        printf("HOST-BINARY-RAN\n");
        return 0;
    }
    char dir[] = "/tmp/cocoon-c-host-XXXXXX";
    if (!mkdtemp(dir) || chmod(dir, 0755) != 0) return 2;
    char path[128];
    snprintf(path, sizeof path, "%s/victim", dir);
    FILE *f = fopen(path, "w");
    if (!f) return 2;
    fputs("#!/proc/self/exe\n", f);
    fclose(f);
    chmod(path, 0755);
    int failed = 0, code = 0, sig = 0;
    for (int init = 0; init < 2; init++) {
        cocoon_builder *b = NULL;
        cocoon_container *c = NULL;
        int rc = cocoon_builder_new("/w/victim", &b);
        if (!rc) rc = cocoon_builder_add_bind(b, dir, "/w", 0);
        if (!rc) rc = cocoon_builder_set_init(b, init);
        if (!rc) rc = cocoon_container_spawn(b, &c);
        if (!rc) rc = cocoon_container_wait(c, &code, &sig);
        failed += check(init ? "spawn (init)" : "spawn", rc, code, sig);
        cocoon_container_free(c);
        cocoon_builder_free(b);
    }
    cocoon_builder *b = NULL, *p = NULL;
    cocoon_container *c = NULL;
    cocoon_exec_process *e = NULL;
    int rc = cocoon_builder_new("/bin/sleep", &b);
    const char *args[] = {"30"};
    if (!rc) rc = cocoon_builder_set_args(b, args, 1);
    if (!rc) rc = cocoon_builder_add_bind(b, dir, "/w", 0);
    if (!rc) rc = cocoon_container_spawn(b, &c);
    if (!rc) rc = cocoon_builder_new("/w/victim", &p);
    if (!rc) rc = cocoon_container_exec(c, p, &e);
    if (!rc) rc = cocoon_exec_process_wait(e, &code, &sig);
    failed += check("exec", rc, code, sig);
    cocoon_exec_process_free(e);
    cocoon_container_free(c);
    cocoon_builder_free(p);
    cocoon_builder_free(b);
    unlink(path);
    rmdir(dir);
    printf("%s\n", failed ? "host_exe_test: FAILED" : "host_exe_test: ok");
    return failed != 0;
}
