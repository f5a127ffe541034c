//! Multi-layer images: whiteouts and opaque directories of upper layers give the merged
//! view podman shows; hardlinks within a layer; layers shared across images.

mod common;
mod image_support;

use cocoon::image::{ImageStore, ImportOptions};
use cocoon::{ContainerBuilder, Process, Stdio};
use common::*;
use image_support::*;

const VIEW: &str = "ls /data | sort; cat /data/new; test -e /etc/removed && echo removed-present || echo removed-absent; \
                    test -e /etc/passwd && echo passwd-present; echo $FOO";

#[test]
fn umoci_whiteout_and_opaque_layers_merge_as_podman_shows() {
    let _g = lock();
    let work = TempDir::new("img-umoci");
    let root = work.join("tree");
    busybox_tree(&root);
    let newdata = work.join("newdata");
    std::fs::create_dir_all(&newdata).unwrap();
    std::fs::write(newdata.join("new"), "replaced\n").unwrap();
    let layout = work.join("layout");
    let img = format!("{}:t", layout.display());
    cmd("umoci", &["init", "--layout", layout.to_str().unwrap()]);
    cmd("umoci", &["new", "--image", &img]);
    cmd("umoci", &["insert", "--image", &img, root.to_str().unwrap(), "/"]);
    cmd("umoci", &["insert", "--image", &img, "--whiteout", "/etc/removed"]);
    cmd("umoci", &["insert", "--image", &img, "--opaque", newdata.to_str().unwrap(), "/data"]);
    cmd("umoci", &["config", "--image", &img, "--config.env", "FOO=layered"]);

    let store = ImageStore::open(work.join("store")).unwrap();
    let info = store.import(&layout, None, &ImportOptions::new().name("layered")).unwrap();
    assert_eq!(info.layers.len(), 3);
    let b = ContainerBuilder::new(Process::new("/bin/sh").args(["-c", VIEW]).stdout(Stdio::Piped).stderr(Stdio::Piped))
        .image(&store, "layered")
        .unwrap();
    let ours = run_ok(b);
    assert_eq!(ours, "new\nreplaced\nremoved-absent\npasswd-present\nlayered\n");

    // The control: podman (runc) runs the same image.
    let mut p = Podman::new(work.path());
    let name = p.unique_name("layered");
    let archive = work.join("layered.tar");
    skopeo_copy(&format!("oci:{img}"), &format!("oci-archive:{}:{}", archive.display(), name));
    p.run(&["load", "-q", "-i", archive.to_str().unwrap()]);
    let theirs = p.run(&["--runtime", "runc", "run", "--rm", "--network", "none", &name, "/bin/sh", "-c", VIEW]);
    assert_eq!(ours, theirs, "cocoon and podman see the same merged image");
}

#[test]
fn hardlinks_within_a_layer_and_layers_shared_between_images() {
    let _g = lock();
    let work = TempDir::new("img-links");
    let root = work.join("tree");
    busybox_tree(&root);
    let base = work.join("base.tar");
    tar_dir(&root, &base);
    let base = std::fs::read(&base).unwrap();
    let top = RawTar::default()
        .dir("links")
        .file_mode("links/a", b"linked\n", 0o4755, 1234, 2345)
        .hardlink("links/b", "links/a")
        .finish();
    let layout1 = work.join("l1");
    let layout2 = work.join("l2");
    oci_layout(&layout1, &[Layer::gzip(base.clone()), Layer::plain(top)], serde_json::json!({"Cmd": ["/bin/sh"]}));
    oci_layout(&layout2, &[Layer::plain(base)], serde_json::json!({"Env": ["FOO=second"]}));
    let store = ImageStore::open(work.join("store")).unwrap();
    let i1 = store.import(&layout1, None, &ImportOptions::new().name("one")).unwrap();
    let i2 = store.import(&layout2, None, &ImportOptions::new().name("two")).unwrap();
    // gzip or not, the same content is one layer.
    assert_eq!(i1.layers[0], i2.layers[0]);
    assert_eq!(std::fs::read_dir(store.path().join("layers")).unwrap().count(), 2);
    let script = "stat -c '%i %h %u %g %a' /links/a /links/b; cat /links/b";
    let out = run_ok(
        ContainerBuilder::new(Process::new("/bin/sh").args(["-c", script]).stdout(Stdio::Piped).stderr(Stdio::Piped))
            .image(&store, "one")
            .unwrap(),
    );
    let lines: Vec<&str> = out.lines().collect();
    let a: Vec<&str> = lines[0].split(' ').collect();
    let b: Vec<&str> = lines[1].split(' ').collect();
    assert_eq!(a[0], b[0], "one inode: {out}");
    // Two links; owner set before the mode, so setuid survived the chown.
    assert_eq!(&a[1..], &["2", "1234", "2345", "4755"], "{out}");
    assert_eq!(lines[2], "linked");
    // Removing one image keeps the shared layer for the other; gc removes the rest.
    store.remove("one").unwrap();
    let r = store.gc().unwrap();
    assert_eq!(r.layers, 1);
    assert_eq!(std::fs::read_dir(store.path().join("layers")).unwrap().count(), 1);
    let out = run_ok(
        ContainerBuilder::new(Process::new("/bin/sh").args(["-c", "echo $FOO"]).stdout(Stdio::Piped))
            .image(&store, "two")
            .unwrap(),
    );
    assert_eq!(out, "second\n");
    store.remove("two").unwrap();
    assert!(matches!(store.rootfs("two"), Err(cocoon::image::ImageError::NotFound(_))));
    store.gc().unwrap();
    assert_eq!(tree(&store.path().join("layers")), Vec::<String>::new());
    assert_eq!(tree(&store.path().join("blobs/sha256")), Vec::<String>::new());
}

#[test]
fn the_platform_is_chosen_from_the_index_and_metadata_is_kept() {
    let _g = lock();
    let work = TempDir::new("img-platform");
    let amd = work.join("amd");
    let arm = work.join("arm");
    let meta = RawTar::default()
        .dir("d")
        .file_mode("d/which", b"amd64\n", 0o640, 4321, 8765)
        .pax(&[("SCHILY.xattr.user.note", b"kept"), ("SCHILY.xattr.security.selinux", b"ignored")])
        .file("d/xattr", b"x")
        .finish();
    oci_layout(&amd, &[Layer::plain(meta)], serde_json::json!({}));
    oci_layout(&arm, &[Layer::plain(RawTar::default().file("d/which", b"arm64\n").finish())], serde_json::json!({}));
    // One layout, an index of both (arm64 listed first).
    for e in std::fs::read_dir(arm.join("blobs/sha256")).unwrap().flatten() {
        std::fs::copy(e.path(), amd.join("blobs/sha256").join(e.file_name())).unwrap();
    }
    let idx = |p: &std::path::Path| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(p.join("index.json")).unwrap()).unwrap()
    };
    let mut arm_desc = idx(&arm)["manifests"][0].clone();
    arm_desc["platform"] = serde_json::json!({"architecture": "arm64", "os": "linux"});
    let amd_desc = idx(&amd)["manifests"][0].clone();
    let index = serde_json::json!({"schemaVersion": 2, "manifests": [arm_desc, amd_desc]});
    std::fs::write(amd.join("index.json"), index.to_string()).unwrap();

    let store = ImageStore::open(work.join("store")).unwrap();
    let host = store.import(&amd, None, &ImportOptions::new().name("multi:host")).unwrap();
    let other = store.import(&amd, None, &ImportOptions::new().name("multi:arm").platform("linux", "arm64")).unwrap();
    assert_ne!(host.layers, other.layers);
    let e = store.import(&amd, None, &ImportOptions::new().platform("linux", "s390x")).unwrap_err();
    assert!(matches!(e, cocoon::image::ImageError::NotFound(_)), "{e:?}");
    let layer = store.path().join("layers").join(&host.layers[0][7..]);
    assert_eq!(std::fs::read_to_string(layer.join("d/which")).unwrap(), "amd64\n");
    use std::os::unix::fs::MetadataExt;
    let md = std::fs::metadata(layer.join("d/which")).unwrap();
    assert_eq!((md.uid(), md.gid(), md.mode() & 0o7777, md.mtime()), (4321, 8765, 0o640, 1_700_000_000));
    // Directory mtimes are set after their children.
    assert_eq!(std::fs::metadata(layer.join("d")).unwrap().mtime(), 1_700_000_000);
    let xattr = |name: &std::ffi::CStr| -> Option<Vec<u8>> {
        let p = std::ffi::CString::new(layer.join("d/xattr").into_os_string().into_encoded_bytes()).unwrap();
        let mut buf = [0u8; 64];
        // SAFETY: NUL-terminated strings and a buffer of buf.len() bytes.
        let n = unsafe { libc::lgetxattr(p.as_ptr(), name.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
        (n >= 0).then(|| buf[..n as usize].to_vec())
    };
    assert_eq!(xattr(c"user.note").as_deref(), Some(&b"kept"[..]));
    assert_eq!(xattr(c"security.selinux"), None, "labels from the image are not applied");
}

#[test]
fn user_names_come_from_the_merged_etc() {
    let _g = lock();
    let work = TempDir::new("img-users");
    let root = work.join("tree");
    busybox_tree(&root);
    let base = work.join("base.tar");
    tar_dir(&root, &base);
    let base = std::fs::read(&base).unwrap();
    // The upper layer replaces /etc (opaque) by one without a passwd.
    let opaque = RawTar::default().dir("etc").file("etc/.wh..wh..opq", b"").file("etc/hostname", b"x\n").finish();
    // Another image whose upper layer deletes /etc altogether.
    let deleted = RawTar::default().file(".wh.etc", b"").finish();
    oci_layout(&work.join("l1"), &[Layer::plain(base.clone()), Layer::plain(opaque)], serde_json::json!({}));
    oci_layout(&work.join("l2"), &[Layer::plain(base), Layer::plain(deleted)], serde_json::json!({}));
    let store = ImageStore::open(work.join("store")).unwrap();
    store.import(work.join("l1"), None, &ImportOptions::new().name("opaque")).unwrap();
    store.import(work.join("l2"), None, &ImportOptions::new().name("deleted")).unwrap();
    let id = |image: &str, user: &str| {
        let mut b = ContainerBuilder::new(Process::new("/bin/sh").args(["-c", "id -u"]).stdout(Stdio::Piped))
            .image(&store, image)
            .unwrap();
        b.process_mut().set_user(cocoon::User::Name(user.into()));
        b.spawn().map(|mut c| collect(&mut c).stdout)
    };
    // alice is only in the lower layer's /etc, which the upper one hides: as the container
    // sees it (no /etc/passwd), there is no alice.
    for image in ["opaque", "deleted"] {
        let e = id(image, "alice").expect_err("alice is hidden");
        assert!(matches!(e, cocoon::Error::InvalidConfig { .. }), "{image}: {e:?}");
    }
    // Numeric users still run; the container indeed has no /etc/passwd.
    let out = run_ok(
        ContainerBuilder::new(Process::new("/bin/sh").args(["-c", "test -e /etc/passwd || echo none"]).stdout(Stdio::Piped))
            .image(&store, "opaque")
            .unwrap(),
    );
    assert_eq!(out, "none\n");
}
