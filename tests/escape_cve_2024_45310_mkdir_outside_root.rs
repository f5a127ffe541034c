//! CVE-2024-45310: a mkdir-all of a mount target created directories on the host by
//! following an image symlink. cocoon creates each missing component with mkdirat from
//! an fd resolved in-root; a naive `mkdir -p <rootfs>/<target>` follows the symlink on
//! the host and creates the directories there.

mod common;

use cocoon::{ContainerBuilder, Error, Mount, Rootfs, Stage};
use common::*;

#[test]
fn missing_directories_below_a_symlink_are_created_inside_the_root() {
    let _g = lock();
    let root = TempDir::new("img");
    busybox_root(root.path());
    let hostdir = TempDir::new("victim");
    std::os::unix::fs::symlink(hostdir.path(), root.join("nested")).unwrap();
    std::os::unix::fs::symlink(format!("{}{}", "../".repeat(12), hostdir.path().display()), root.join("rel")).unwrap();
    let in_root = root.join(hostdir.path().strip_prefix("/").unwrap());
    std::fs::create_dir_all(&in_root).unwrap();
    let out = run_ok(
        ContainerBuilder::new(sh("stat -c %F /nested/a/b/c /rel/x/y; grep -c ' /' /proc/self/mountinfo >/dev/null && echo ok"))
            .rootfs(Rootfs::directory(root.path()))
            .mount(Mount::tmpfs("/nested/a/b/c"))
            .mount(Mount::tmpfs("/rel/x/y")),
    );
    assert_eq!(out, "directory\ndirectory\nok\n");
    assert!(tree(hostdir.path()).is_empty(), "directories created on the host: {:?}", tree(hostdir.path()));
    assert!(in_root.join("a/b/c").is_dir() && in_root.join("x/y").is_dir(), "not created in the image");
}

#[test]
fn dangling_symlink_in_the_middle_of_a_target_fails_cleanly() {
    let _g = lock();
    let root = TempDir::new("img");
    busybox_root(root.path());
    let hostdir = TempDir::new("victim");
    std::os::unix::fs::symlink(hostdir.path(), root.join("nested")).unwrap();
    let e = ContainerBuilder::new(sh("true"))
        .rootfs(Rootfs::directory(root.path()))
        .mount(Mount::tmpfs("/nested/a/b/c"))
        .spawn()
        .unwrap_err();
    assert!(matches!(e, Error::Setup { stage: Stage::MountTarget, .. }), "{e:?}");
    assert!(tree(hostdir.path()).is_empty(), "directories created on the host: {:?}", tree(hostdir.path()));
    assert_no_children();
}
