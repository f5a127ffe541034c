//! CVE-2019-18837, CVE-2021-30465: symlinks in the image redirecting a mount target to
//! the host. cocoon resolves every target relative to the root fd (RESOLVE_IN_ROOT) and
//! mounts onto the resulting fd.
//!
//! A naive runtime that mounts onto `<rootfs>/<target>` by string path follows the
//! image's symlink on the host: its mount lands on (and its file creation happens in) the
//! host directory, and the container sees the image's empty directory instead. Both
//! effects are checked below.

mod common;

use std::path::{Path, PathBuf};

use cocoon::{ContainerBuilder, Error, Mount, Rootfs, Stage};
use common::*;

fn in_root(root: &Path, host: &Path) -> PathBuf {
    root.join(host.strip_prefix("/").unwrap())
}

#[test]
fn symlinked_mount_targets_stay_inside_the_root() {
    let _g = lock();
    let root = TempDir::new("img");
    busybox_root(root.path());
    let hostdir = TempDir::new("victim");
    let src = TempDir::new("src");
    std::fs::write(src.join("marker"), "bound-content\n").unwrap();
    let depth = "../".repeat(12);
    // Relative escape and absolute symlink, both pointing at the host directory.
    std::os::unix::fs::symlink(format!("{depth}{}", hostdir.path().display()), root.join("rel")).unwrap();
    std::os::unix::fs::symlink(hostdir.path(), root.join("abs")).unwrap();
    // The same path exists inside the image, so the in-root resolution has a target.
    std::fs::create_dir_all(in_root(root.path(), hostdir.path())).unwrap();
    let victim = hostdir.path().display().to_string();
    let out = run_ok(
        ContainerBuilder::new(sh(&format!("cat /rel/marker /abs/marker; cat {victim}/marker")))
            .rootfs(Rootfs::directory(root.path()))
            .mount(Mount::bind(src.path(), "/rel").read_only(true))
            .mount(Mount::bind(src.path(), "/abs").read_only(true)),
    );
    // The mount followed the symlink inside the root and is visible there.
    assert_eq!(out, "bound-content\nbound-content\nbound-content\n");
    // The host directory was never touched.
    assert!(tree(hostdir.path()).is_empty(), "host dir changed: {:?}", tree(hostdir.path()));
    assert!(tree(src.path()) == ["marker"]);
}

#[test]
fn symlinked_file_target_is_not_created_on_the_host() {
    let _g = lock();
    let root = TempDir::new("img");
    busybox_root(root.path());
    let hostdir = TempDir::new("victim");
    let file = TempDir::new("file-src");
    std::fs::write(file.join("conf"), "conf\n").unwrap();
    // A file bind target pointing (absolutely) at a file that does not exist on the host:
    // a naive runtime creates it there before binding.
    let host_target = hostdir.join("created-by-runtime");
    std::os::unix::fs::symlink(&host_target, root.join("etc/app.conf")).unwrap();
    std::fs::create_dir_all(in_root(root.path(), hostdir.path())).unwrap();
    let b = ContainerBuilder::new(sh("cat /etc/app.conf"))
        .rootfs(Rootfs::directory(root.path()))
        .mount(Mount::bind(file.join("conf"), "/etc/app.conf"));
    // The link dangles even inside the root: cocoon refuses to create a file through a
    // symlink (typed error), and creates nothing anywhere.
    let e = b.spawn().unwrap_err();
    assert!(matches!(&e, Error::Setup { stage: Stage::MountTarget, .. }), "{e:?}");
    assert_eq!(e.raw_os_error(), Some(libc::ELOOP), "{e}");
    assert!(!host_target.exists(), "the runtime created a file on the host");
    assert!(tree(hostdir.path()).is_empty());
    assert_no_children();
    // Once the link's in-root target exists, the bind lands on it, inside the root.
    std::fs::write(in_root(root.path(), &host_target), "image\n").unwrap();
    let out = run_ok(b);
    assert_eq!(out, "conf\n");
    assert!(!host_target.exists(), "the runtime created a file on the host");
    assert!(tree(hostdir.path()).is_empty());
    assert_eq!(std::fs::read_to_string(in_root(root.path(), &host_target)).unwrap(), "image\n");
}

#[test]
fn dangling_escape_symlink_is_a_typed_error_not_a_host_mount() {
    let _g = lock();
    let root = TempDir::new("img");
    busybox_root(root.path());
    let hostdir = TempDir::new("victim");
    std::os::unix::fs::symlink(hostdir.path(), root.join("data")).unwrap();
    // No in-root counterpart: the target does not exist inside the root.
    let before = snapshot();
    let e = ContainerBuilder::new(sh("true"))
        .rootfs(Rootfs::directory(root.path()))
        .mount(Mount::tmpfs("/data"))
        .spawn()
        .unwrap_err();
    match &e {
        Error::Setup { stage: Stage::MountTarget, detail, .. } => assert!(detail.contains("/data"), "{e}"),
        other => panic!("expected a MountTarget setup error, got {other:?}"),
    }
    assert_unchanged(&before, &snapshot(), "failed spawn");
    assert!(tree(hostdir.path()).is_empty(), "host dir changed: {:?}", tree(hostdir.path()));
    assert_no_children();
}
