//! CVE-2025-52881, CVE-2019-16884 class: a `/proc` in the image that is a symlink (or a
//! plain directory with fake files) must not redirect cocoon's procfs work. cocoon mounts
//! a real procfs at the in-root resolution of `/proc`, and masks and read-only binds are
//! resolved in-root too, so they land on that procfs. A naive runtime resolving
//! `<rootfs>/proc/...` on the host would follow the absolute link out of the image and
//! skip (or misplace) the masks, leaving /proc/keys and /proc/sys exposed.

mod common;

use cocoon::{ContainerBuilder, Rootfs};
use common::*;

#[test]
fn proc_symlink_in_the_image_does_not_redirect_masks_or_read_only_paths() {
    let _g = lock();
    let root = TempDir::new("img");
    busybox_root(root.path());
    std::fs::remove_dir(root.join("proc")).unwrap();
    std::fs::create_dir(root.join("fakeproc")).unwrap();
    std::os::unix::fs::symlink("/fakeproc", root.join("proc")).unwrap();
    let out = run(ContainerBuilder::new(sh(
        "stat -f -c %T /proc/; stat -c %t:%T /proc/keys /proc/timer_list; \
         echo changed > /proc/sys/kernel/hostname 2>/dev/null && echo SYS-WRITTEN; \
         grep -c . /proc/self/status > /dev/null && echo real-proc",
    ))
    .rootfs(Rootfs::directory(root.path())));
    assert_eq!(out.stdout, "proc\n1:3\n1:3\nreal-proc\n", "{out:?}");
    // Nothing was created on the host at /fakeproc.
    assert!(!std::path::Path::new("/fakeproc").exists());
}

#[test]
fn fake_proc_files_in_the_image_are_covered_by_a_real_procfs() {
    let _g = lock();
    let root = TempDir::new("img");
    busybox_root(root.path());
    // An image shipping its own /proc content (e.g. a fake attr/exec or sys file).
    std::fs::create_dir_all(root.join("proc/self/attr")).unwrap();
    std::fs::write(root.join("proc/self/attr/exec"), "fake").unwrap();
    std::fs::create_dir_all(root.join("proc/sys/kernel")).unwrap();
    std::fs::write(root.join("proc/sys/kernel/hostname"), "fake").unwrap();
    let out = run_ok(
        ContainerBuilder::new(sh("stat -f -c %T /proc/sys/kernel/; cat /proc/sys/kernel/hostname")).rootfs(Rootfs::directory(root.path())).hostname("realname"),
    );
    assert_eq!(out, "proc\nrealname\n");
    assert_eq!(std::fs::read_to_string(root.join("proc/sys/kernel/hostname")).unwrap(), "fake");
}
