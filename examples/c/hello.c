/* hello.c -- the smallest program using libcocoon: prints the library version and the
 * features of the running system. Build: cc hello.c $(pkg-config --cflags --libs cocoon) */
#include <cocoon.h>
#include <stdio.h>

int main(void) {
    static const char *features[] = {"clone3", "cgroup2", "selinux", "overlay", "userns", "timens"};
    printf("cocoon %s (header %d.%d.%d)\n", cocoon_version(), COCOON_VERSION_MAJOR,
           COCOON_VERSION_MINOR, COCOON_VERSION_PATCH);
    for (size_t i = 0; i < sizeof features / sizeof features[0]; i++)
        printf("  %-8s %s\n", features[i], cocoon_has_feature(features[i]) ? "yes" : "no");
    return 0;
}
