//! Hostile or broken image blobs: oversized headers and names, too many entries, a
//! truncated layer, a layer or config whose digest does not match. Typed errors, no
//! layer or temp dir left in the store.

mod common;
mod image_support;

use cocoon::image::{ImageError, ImageStore, ImportOptions};
use common::*;
use image_support::*;

fn import(layout: &std::path::Path, store: &ImageStore, opts: &ImportOptions) -> ImageError {
    let err = store.import(layout, None, opts).expect_err("must be refused");
    assert_eq!(tree(&store.path().join("layers")), Vec::<String>::new(), "no layer left: {err}");
    assert_eq!(tree(&store.path().join("tmp")), Vec::<String>::new(), "no temp dir left: {err}");
    assert!(store.list().unwrap().is_empty());
    err
}

fn one_layer(tar: Vec<u8>) -> (TempDir, ImageStore) {
    let work = TempDir::new("blobs");
    oci_layout(&work.join("layout"), &[Layer::plain(tar)], serde_json::json!({}));
    let store = ImageStore::open(work.join("store")).unwrap();
    (work, store)
}

#[test]
fn huge_header_fields_are_bounded() {
    let _g = lock();
    let (w, s) = one_layer(RawTar::default().long_name(&vec![b'a'; 1 << 20]).file("x", b"").finish());
    let e = import(&w.join("layout"), &s, &ImportOptions::new());
    assert!(matches!(e, ImageError::TooLarge { .. }), "GNU long name: {e:?}");
    let (w, s) = one_layer(RawTar::default().pax(&[("comment", &vec![b'c'; 200 << 10])]).file("x", b"").finish());
    let e = import(&w.join("layout"), &s, &ImportOptions::new());
    assert!(matches!(e, ImageError::TooLarge { .. }), "pax header: {e:?}");
    let long_path = "d/".repeat(3000) + "f";
    let (w, s) = one_layer(RawTar::default().pax(&[("path", long_path.as_bytes())]).file("x", b"").finish());
    let e = import(&w.join("layout"), &s, &ImportOptions::new());
    assert!(matches!(e, ImageError::TooLarge { .. }), "path over PATH_MAX: {e:?}");
    let mut t = RawTar::default();
    for i in 0..20 {
        t = t.file(&format!("f{i}"), b"");
    }
    let (w, s) = one_layer(t.finish());
    let e = import(&w.join("layout"), &s, &ImportOptions::new().max_entries(10));
    assert!(matches!(e, ImageError::TooLarge { .. }), "entry count: {e:?}");
}

#[test]
fn truncated_layer_is_refused() {
    let _g = lock();
    let full = RawTar::default().file("big", &vec![7u8; 100_000]).finish();
    // Digests name the truncated bytes (so only the tar stream itself is short).
    let (w, s) = one_layer(full[..50_000].to_vec());
    let e = import(&w.join("layout"), &s, &ImportOptions::new());
    assert!(matches!(e, ImageError::Malformed { .. }), "{e:?}");
    // Blob truncated after the manifest named it: digest mismatch.
    let work = TempDir::new("trunc2");
    let paths = oci_layout(&work.join("layout"), &[Layer::gzip(full)], serde_json::json!({}));
    let blob = std::fs::read(&paths[0]).unwrap();
    std::fs::write(&paths[0], &blob[..blob.len() / 2]).unwrap();
    let store = ImageStore::open(work.join("store")).unwrap();
    let e = import(&work.join("layout"), &store, &ImportOptions::new());
    assert!(matches!(e, ImageError::Malformed { .. } | ImageError::DigestMismatch { .. }), "{e:?}");
}

#[test]
fn wrong_digests_are_refused() {
    let _g = lock();
    let tar = RawTar::default().file("f", b"original").finish();
    let work = TempDir::new("digest");
    let paths = oci_layout(&work.join("layout"), &[Layer::plain(tar.clone())], serde_json::json!({}));
    // Same length, valid tar, one byte changed in the file's data.
    let mut bad = tar;
    let at = bad.windows(8).position(|w| w == b"original").unwrap();
    bad[at] = b'O';
    std::fs::write(&paths[0], &bad).unwrap();
    let store = ImageStore::open(work.join("store")).unwrap();
    let e = import(&work.join("layout"), &store, &ImportOptions::new());
    assert!(matches!(e, ImageError::DigestMismatch { .. }), "{e:?}");
    // A tampered config.
    let work = TempDir::new("digest-config");
    oci_layout(&work.join("layout"), &[Layer::plain(RawTar::default().file("f", b"x").finish())], serde_json::json!({"Env": ["A=1"]}));
    for e in std::fs::read_dir(work.join("layout/blobs/sha256")).unwrap().flatten() {
        let b = std::fs::read(e.path()).unwrap();
        if b.windows(5).any(|w| w == b"A=1\"]") {
            let s = String::from_utf8(b).unwrap().replace("A=1", "A=2");
            std::fs::write(e.path(), s).unwrap();
        }
    }
    let store = ImageStore::open(work.join("store")).unwrap();
    let e = import(&work.join("layout"), &store, &ImportOptions::new());
    assert!(matches!(e, ImageError::DigestMismatch { .. }), "{e:?}");
}
