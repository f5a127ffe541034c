//! CVE-2026-41579, CVE-2026-47766 (and CVE-2025-24965, files written outside the root):
//! an image whose `/dev` is a symlink to a host directory redirected device setup. cocoon
//! opens the rootfs `dev` in-root; a naive runtime mounting a tmpfs on `<rootfs>/dev` and
//! creating `null`, `pts`, `fd`... in it by path would do all of that in the host dir.

mod common;

use cocoon::{ContainerBuilder, Error, Rootfs, Stage};
use common::*;

fn image_with_dev_link(target: &str) -> TempDir {
    let root = TempDir::new("img");
    busybox_root(root.path());
    std::fs::remove_dir(root.join("dev")).unwrap();
    std::os::unix::fs::symlink(target, root.join("dev")).unwrap();
    root
}

#[test]
fn dev_symlinked_to_a_host_dir_is_set_up_inside_the_root() {
    let _g = lock();
    let hostdir = TempDir::new("hostdev");
    std::fs::write(hostdir.join("keep"), "host file\n").unwrap();
    let root = image_with_dev_link(&hostdir.path().display().to_string());
    let in_root = root.join(hostdir.path().strip_prefix("/").unwrap());
    std::fs::create_dir_all(&in_root).unwrap();
    let before = tree(hostdir.path());
    let out = run_ok(
        ContainerBuilder::new(sh("stat -c '%F %t:%T' /dev/null; echo x > /dev/null && echo null-ok; readlink /dev/fd; ls /dev/pts/ptmx; ls /dev/keep 2>/dev/null || echo no-host-file"))
            .rootfs(Rootfs::directory(root.path())),
    );
    assert_eq!(out, "character special file 1:3\nnull-ok\n/proc/self/fd\n/dev/pts/ptmx\nno-host-file\n");
    assert_eq!(tree(hostdir.path()), before, "device setup wrote into the host dir");
    assert_eq!(std::fs::read_to_string(hostdir.join("keep")).unwrap(), "host file\n");
}

#[test]
fn dev_symlinked_relatively_out_of_the_root_is_set_up_inside_the_root() {
    let _g = lock();
    let hostdir = TempDir::new("hostdev");
    let root = image_with_dev_link(&format!("{}{}", "../".repeat(12), hostdir.path().display()));
    std::fs::create_dir_all(root.join(hostdir.path().strip_prefix("/").unwrap())).unwrap();
    let out = run_ok(ContainerBuilder::new(sh("stat -c %t:%T /dev/zero")).rootfs(Rootfs::directory(root.path())));
    assert_eq!(out, "1:5\n");
    assert!(tree(hostdir.path()).is_empty(), "device setup wrote into the host dir: {:?}", tree(hostdir.path()));
}

#[test]
fn dangling_dev_symlink_is_a_typed_error() {
    let _g = lock();
    let hostdir = TempDir::new("hostdev");
    let root = image_with_dev_link(&hostdir.path().display().to_string());
    let e = ContainerBuilder::new(sh("true")).rootfs(Rootfs::directory(root.path())).spawn().unwrap_err();
    assert!(matches!(e, Error::Setup { stage: Stage::MountTarget, .. }), "{e:?}");
    assert!(tree(hostdir.path()).is_empty(), "device setup wrote into the host dir: {:?}", tree(hostdir.path()));
    assert_no_children();
}
