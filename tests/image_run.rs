//! Running containers from imported images: podman- and skopeo-built archives and
//! layouts, the image config as defaults (Env, WorkingDir, User, Cmd), overrides, shared
//! layers, and writable layers removed with their containers.

mod common;
mod image_support;

use cocoon::image::{ArchiveFormat, ImageStore, ImportOptions};
use cocoon::{ContainerBuilder, Process, Stdio};
use common::*;
use image_support::*;

fn piped(p: Process) -> Process {
    p.stdout(Stdio::Piped).stderr(Stdio::Piped)
}

fn check_defaults(store: &ImageStore, reference: &str) {
    let script = "echo FOO=$FOO; pwd; id -u; id -g; cat hello";
    let b = ContainerBuilder::new(piped(Process::new("/bin/sh").args(["-c", script])))
        .image(store, reference)
        .unwrap();
    let out = run_ok(b);
    assert_eq!(out, "FOO=bar\n/work\n65534\n65534\nhello\n", "image defaults from {reference}");
}

#[test]
fn podman_archives_and_skopeo_layout_run_with_the_image_config() {
    let _g = lock();
    let work = TempDir::new("img-podman");
    let mut p = Podman::new(work.path());
    let name = podman_busybox(&mut p, work.path());
    let docker = work.join("docker.tar");
    let oci = work.join("oci.tar");
    podman_save(&p, &name, "docker-archive", &docker);
    podman_save(&p, &name, "oci-archive", &oci);
    let layout = work.join("layout");
    skopeo_copy(&format!("oci-archive:{}", oci.display()), &format!("oci:{}:v1", layout.display()));
    // skopeo recompressing the layer with zstd.
    let zlayout = work.join("zlayout");
    let out = std::process::Command::new("skopeo")
        .args(["copy", "--quiet", "--dest-compress", "--dest-compress-format", "zstd"])
        .arg(format!("oci-archive:{}", oci.display()))
        .arg(format!("oci:{}:z", zlayout.display()))
        .output()
        .unwrap();
    assert!(out.status.success(), "skopeo zstd: {}", String::from_utf8_lossy(&out.stderr));

    let store = ImageStore::open(work.join("store")).unwrap();
    let d = store.import(&docker, None, &ImportOptions::new().name("dock:1")).unwrap();
    let o = store.import(&oci, Some(ArchiveFormat::OciArchive), &ImportOptions::new().name("oci:1")).unwrap();
    let l = store.import(&layout, None, &ImportOptions::new().name("layout:1")).unwrap();
    let z = store.import(&zlayout, None, &ImportOptions::new().name("zstd:1")).unwrap();
    let blob_is_zstd = std::fs::read_dir(zlayout.join("blobs/sha256"))
        .unwrap()
        .flatten()
        .any(|e| std::fs::read(e.path()).unwrap().starts_with(&[0x28, 0xb5, 0x2f, 0xfd]));
    assert!(blob_is_zstd, "skopeo wrote a zstd layer");
    assert_eq!(z.layers, l.layers, "zstd or not, the same layer");
    // Same layer content: one diff_id, one directory, shared by all three.
    assert_eq!(d.layers, o.layers);
    assert_eq!(o.layers, l.layers);
    assert_eq!(std::fs::read_dir(store.path().join("layers")).unwrap().count(), 1);
    for r in ["dock:1", "oci:1", "layout:1", "zstd:1"] {
        check_defaults(&store, r);
    }
    // The archive's own name, when none is given (podman records it).
    let named = store.import(&docker, None, &ImportOptions::new()).unwrap();
    assert_eq!(named.names, vec![name.clone()]);
    check_defaults(&store, &name);
    // The image's Cmd with an empty program; overrides after image().
    let out = run_ok(ContainerBuilder::new(piped(Process::new(""))).image(&store, "dock:1").unwrap());
    assert_eq!(out, "default-cmd\n");
    let mut b = ContainerBuilder::new(piped(Process::new("/bin/sh").args(["-c", "echo $FOO; pwd; id -u"])))
        .image(&store, "oci:1")
        .unwrap();
    b.process_mut().set_env("FOO", "mine").set_cwd("/tmp").set_user(cocoon::User::Name("alice".into()));
    assert_eq!(run_ok(b), "mine\n/tmp\n1234\n");
    let list = store.list().unwrap();
    assert_eq!(list.iter().map(|i| i.names.len()).sum::<usize>(), 5);
}

#[test]
fn containers_share_layers_and_their_writable_layers_go_with_them() {
    let _g = lock();
    let work = TempDir::new("img-share");
    let mut p = Podman::new(work.path());
    let name = podman_busybox(&mut p, work.path());
    let docker = work.join("docker.tar");
    podman_save(&p, &name, "docker-archive", &docker);
    let store = ImageStore::open(work.join("store")).unwrap();
    store.import(&docker, None, &ImportOptions::new().name("bb")).unwrap();
    let mut b = ContainerBuilder::new(piped(Process::new("/bin/sh").args(["-c", "echo changed > /work/hello; cat /work/hello"])))
        .image(&store, "bb")
        .unwrap();
    // As root (the image says nobody, who may not write the root-owned file).
    b.process_mut().set_user(cocoon::User::Id { uid: 0, gid: 0, groups: vec![] });
    let mut c1 = b.spawn().unwrap();
    let mut c2 = b.spawn().unwrap();
    assert_eq!(collect(&mut c1).ok().stdout, "changed\n");
    assert_eq!(collect(&mut c2).ok().stdout, "changed\n");
    let w1 = c1.writable_layer().unwrap().to_path_buf();
    assert_ne!(Some(w1.as_path()), c2.writable_layer());
    assert_eq!(std::fs::read_to_string(w1.join("upper/work/hello")).unwrap(), "changed\n");
    // The shared layer is untouched.
    let layer = std::fs::read_dir(store.path().join("layers")).unwrap().next().unwrap().unwrap().path();
    assert_eq!(std::fs::read_to_string(layer.join("work/hello")).unwrap(), "hello\n");
    drop(c1);
    assert!(!w1.exists());
    c2.delete().unwrap();
    assert_eq!(std::fs::read_dir(store.path().join("containers")).unwrap().count(), 0);
}

#[test]
fn failed_spawns_and_removed_images_leave_no_writable_layer() {
    let _g = lock();
    let work = TempDir::new("img-fail");
    let root = work.join("tree");
    busybox_tree(&root);
    let base = work.join("base.tar");
    tar_dir(&root, &base);
    oci_layout(&work.join("layout"), &[Layer::plain(std::fs::read(&base).unwrap())], serde_json::json!({}));
    let store = ImageStore::open(work.join("store")).unwrap();
    store.import(work.join("layout"), None, &ImportOptions::new().name("f")).unwrap();
    let b = ContainerBuilder::new(piped(Process::new("/no/such/program"))).image(&store, "f").unwrap();
    let e = b.spawn().expect_err("exec must fail");
    assert_eq!(e.stage(), Some(cocoon::Stage::Exec), "{e}");
    assert_eq!(std::fs::read_dir(store.path().join("containers")).unwrap().count(), 0);
    // Planned, then the image and its layers went: the spawn fails cleanly.
    let b = ContainerBuilder::new(piped(Process::new("/bin/true"))).image(&store, "f").unwrap();
    store.remove("f").unwrap();
    assert_eq!(store.gc().unwrap().layers, 1);
    let e = b.spawn().expect_err("the layers are gone");
    assert!(matches!(e, cocoon::Error::InvalidConfig { .. } | cocoon::Error::Setup { .. }), "{e:?}");
    assert_eq!(std::fs::read_dir(store.path().join("containers")).unwrap().count(), 0);
    // An image without a program and no Cmd.
    store.import(work.join("layout"), None, &ImportOptions::new().name("f")).unwrap();
    let e = ContainerBuilder::new(Process::new("")).image(&store, "f").expect_err("nothing to run");
    assert!(matches!(e, cocoon::Error::InvalidConfig { .. }), "{e:?}");
}
