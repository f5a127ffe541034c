//! Hostile layer tarballs that try to write outside their layer: `..`, absolute paths,
//! a symlinked parent, hardlinks to outside, device nodes without the right to make
//! them, forged overlayfs xattrs. Each import fails with a typed error, writes nothing
//! outside the store and leaves no layer (nor temp dir) in it.

mod common;
mod image_support;

use std::path::Path;

use cocoon::image::{ImageError, ImageStore, ImportOptions};
use common::*;
use image_support::*;

/// Imports a one-layer image of `tar`; asserts the store then holds no layer, no temp
/// dir, no name, and that `outside` is unchanged.
fn import_hostile(tar: Vec<u8>, opts: ImportOptions, outside: &Path) -> ImageError {
    let work = TempDir::new("hostile");
    let before = tree(outside);
    oci_layout(&work.join("layout"), &[Layer::plain(tar)], serde_json::json!({}));
    let store = ImageStore::open(work.join("store")).unwrap();
    let err = store.import(work.join("layout"), None, &opts).expect_err("a hostile layer must be refused");
    assert_eq!(tree(&store.path().join("layers")), Vec::<String>::new(), "no layer left: {err}");
    assert_eq!(tree(&store.path().join("tmp")), Vec::<String>::new(), "no temp dir left: {err}");
    assert!(store.list().unwrap().is_empty());
    assert_eq!(tree(outside), before, "nothing written outside: {err}");
    err
}

fn assert_unsafe(e: &ImageError, what: &str) {
    assert!(matches!(e, ImageError::UnsafeEntry { .. }), "{what}: expected UnsafeEntry, got {e:?}");
}

#[test]
fn dotdot_and_absolute_paths_are_refused() {
    let _g = lock();
    let outside = TempDir::new("outside");
    let rel = format!("../../../../../../../..{}/pwned", outside.path().display());
    let e = import_hostile(RawTar::default().file("ok", b"x").file(&rel, b"evil").finish(), ImportOptions::new(), outside.path());
    assert_unsafe(&e, "..");
    let abs = format!("{}/pwned", outside.path().display());
    let e = import_hostile(RawTar::default().file(&abs, b"evil").finish(), ImportOptions::new(), outside.path());
    assert_unsafe(&e, "absolute path");
    let e = import_hostile(RawTar::default().dir("a").file("a/../../x", b"evil").finish(), ImportOptions::new(), outside.path());
    assert_unsafe(&e, "inner ..");
}

#[test]
fn symlinked_parent_cannot_lead_outside() {
    let _g = lock();
    let outside = TempDir::new("outside");
    // The symlink names the host directory; resolved in-root it names a path in the
    // layer that does not exist, so the file is refused (never created on the host).
    let target = outside.path().display().to_string();
    let tar = RawTar::default().symlink("evil", &target).file("evil/pwned", b"evil").finish();
    let e = import_hostile(tar, ImportOptions::new(), outside.path());
    assert_unsafe(&e, "symlink to an absolute host path");
    let tar = RawTar::default().symlink("evil", &format!("../../../../../..{target}")).file("evil/pwned", b"evil").finish();
    let e = import_hostile(tar, ImportOptions::new(), outside.path());
    assert_unsafe(&e, "symlink climbing with ..");
    // A symlink to the layer's own root (`..` clamped there) is followed in-root: the
    // file lands inside the layer.
    let work = TempDir::new("inroot");
    let tar = RawTar::default().symlink("up", "../../..").file("up/inside", b"ok").finish();
    oci_layout(&work.join("layout"), &[Layer::plain(tar)], serde_json::json!({}));
    let store = ImageStore::open(work.join("store")).unwrap();
    let info = store.import(work.join("layout"), None, &ImportOptions::new().name("inroot")).unwrap();
    let layer = store.path().join("layers").join(&info.layers[0][7..]);
    assert_eq!(std::fs::read(layer.join("inside")).unwrap(), b"ok");
    assert_eq!(std::fs::read_link(layer.join("up")).unwrap(), Path::new("../../.."));
}

#[test]
fn hardlinks_to_outside_are_refused() {
    let _g = lock();
    let outside = TempDir::new("outside");
    std::fs::write(outside.join("secret"), "host secret").unwrap();
    let secret = outside.join("secret").display().to_string();
    let e = import_hostile(RawTar::default().hardlink("x", &secret).finish(), ImportOptions::new(), outside.path());
    assert_unsafe(&e, "hardlink to an absolute path");
    let e = import_hostile(
        RawTar::default().hardlink("x", &format!("../../../../../../..{secret}")).finish(),
        ImportOptions::new(),
        outside.path(),
    );
    assert_unsafe(&e, "hardlink with ..");
    // Through a symlink escaping the layer: resolved in-root, the target is not there.
    let tar = RawTar::default().symlink("s", &outside.path().display().to_string()).hardlink("x", "s/secret").finish();
    let e = import_hostile(tar, ImportOptions::new(), outside.path());
    assert_unsafe(&e, "hardlink through an escaping symlink");
    // The host file still has one link.
    use std::os::unix::fs::MetadataExt;
    assert_eq!(std::fs::metadata(outside.join("secret")).unwrap().nlink(), 1);
}

#[test]
fn device_nodes_need_permission_and_overlay_xattrs_are_refused() {
    let _g = lock();
    let outside = TempDir::new("outside");
    let tar = RawTar::default().file("a", b"x").device("dev/sda", 8, 0).finish();
    let e = import_hostile(tar.clone(), ImportOptions::new().device_nodes(false), outside.path());
    assert!(matches!(e, ImageError::DeviceNotPermitted { .. }), "{e:?}");
    // As root with permission, the node is made (the layer stays in the store).
    let work = TempDir::new("devok");
    oci_layout(&work.join("layout"), &[Layer::plain(tar)], serde_json::json!({}));
    let store = ImageStore::open(work.join("store")).unwrap();
    let info = store.import(work.join("layout"), None, &ImportOptions::new().device_nodes(true)).unwrap();
    use std::os::unix::fs::FileTypeExt;
    let node = store.path().join("layers").join(&info.layers[0][7..]).join("dev/sda");
    assert!(std::fs::symlink_metadata(node).unwrap().file_type().is_char_device());
    let tar = RawTar::default().pax(&[("SCHILY.xattr.trusted.overlay.redirect", b"/etc")]).file("f", b"x").finish();
    let e = import_hostile(tar, ImportOptions::new(), outside.path());
    assert_unsafe(&e, "overlay xattr");
}

#[test]
fn commit_never_follows_the_containers_symlinks() {
    let _g = lock();
    let work = TempDir::new("commit-links");
    let outside = TempDir::new("outside");
    std::fs::write(outside.join("secret"), "host secret").unwrap();
    oci_layout(&work.join("layout"), &[Layer::plain(RawTar::default().file("base", b"b").finish())], serde_json::json!({}));
    let store = ImageStore::open(work.join("store")).unwrap();
    store.import(work.join("layout"), None, &ImportOptions::new().name("base")).unwrap();
    // What a hostile container could leave in its upper directory.
    let upper = work.join("upper");
    std::fs::create_dir_all(&upper).unwrap();
    std::os::unix::fs::symlink(outside.join("secret"), upper.join("leak")).unwrap();
    std::os::unix::fs::symlink(outside.path(), upper.join("dir")).unwrap();
    // Named like a writable layer's own `upper`: still just a symlink in the upper dir.
    std::os::unix::fs::symlink(outside.path(), upper.join("upper")).unwrap();
    let info = store.commit(&upper, "base", "evil", &cocoon::image::CommitOptions::new()).unwrap();
    let layer = store.path().join("layers").join(&info.layers[1][7..]);
    assert_eq!(std::fs::read_link(layer.join("leak")).unwrap(), outside.join("secret"));
    assert!(std::fs::symlink_metadata(layer.join("dir")).unwrap().file_type().is_symlink());
    assert_eq!(tree(&layer), vec!["dir".to_string(), "leak".to_string(), "upper".to_string()], "nothing copied from behind the links");
}
