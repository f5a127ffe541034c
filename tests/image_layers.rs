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
