//! CVE-2025-31133: the `/dev/null` used to mask paths was swapped for something else
//! (a symlink to a procfs file), turning a mask into a writable handle. cocoon opens the
//! host's `/dev/null` itself, checks it is the char device 1:3 and binds it by fd. A naive
//! runtime binding the container's own `/dev/null` by path over masked files would expose
//! the image's fake (here a regular file, or a symlink to a file holding data).

mod common;

use cocoon::{ContainerBuilder, Rootfs};
use common::*;

fn image(null: impl FnOnce(&std::path::Path)) -> TempDir {
    let root = TempDir::new("img");
    busybox_root(root.path());
    std::fs::write(root.join("etc/secret"), "image secret\n").unwrap();
    std::fs::write(root.join("etc/target"), "redirected\n").unwrap();
    null(&root.join("dev/null"));
    root
}

fn check(root: &TempDir) {
    // standard_mounts(false): the image's own /dev stays; only the masks are cocoon's.
    let out = run_ok(
        ContainerBuilder::new(sh("stat -c '%F %t:%T' /etc/secret; cat /etc/secret; echo x > /etc/secret; cat /etc/secret; cat /etc/target"))
            .rootfs(Rootfs::directory(root.path()))
            .standard_mounts(false)
            .masked_paths(["/etc/secret"])
            .readonly_paths(Vec::<&str>::new()),
    );
    assert_eq!(out, "character special file 1:3\nredirected\n", "the mask is not the real /dev/null: {out}");
    assert_eq!(std::fs::read_to_string(root.join("etc/secret")).unwrap(), "image secret\n");
    assert_eq!(std::fs::read_to_string(root.join("etc/target")).unwrap(), "redirected\n");
}

#[test]
fn image_dev_null_as_a_regular_file_is_not_used_for_masking() {
    let _g = lock();
    let root = image(|p| std::fs::write(p, "not null\n").unwrap());
    check(&root);
}

#[test]
fn image_dev_null_as_a_symlink_is_not_used_for_masking() {
    let _g = lock();
    let root = image(|p| std::os::unix::fs::symlink("/etc/target", p).unwrap());
    check(&root);
}
