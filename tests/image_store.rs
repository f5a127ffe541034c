//! The store under concurrent use and over many containers: two processes importing the
//! same archive end with one copy of each layer; run-from-image cycles leave no writable
//! layer, mount, fd or child; leftovers of a killed importer are removed at open.

mod common;
mod image_support;

use std::process::Command;

use cocoon::image::{ImageStore, ImportOptions};
use cocoon::{ContainerBuilder, Process, Stdio};
use common::*;
use image_support::*;

/// Run by `two_processes_importing_at_once_keep_one_copy` in child processes.
#[test]
#[ignore = "helper: run by two_processes_importing_at_once_keep_one_copy"]
fn import_child() {
    let (Some(archive), Some(store)) = (std::env::var_os("COCOON_IMPORT_ARCHIVE"), std::env::var_os("COCOON_IMPORT_STORE")) else {
        return;
    };
    let store = ImageStore::open(store).unwrap();
    store.import(archive, None, &ImportOptions::new().name("shared:1")).unwrap();
}

fn layout_of(work: &std::path::Path, layers: usize) -> std::path::PathBuf {
    let root = work.join("tree");
    busybox_tree(&root);
    let base = work.join("base.tar");
    tar_dir(&root, &base);
    let mut ls = vec![Layer::gzip(std::fs::read(&base).unwrap())];
    for i in 0..layers.saturating_sub(1) {
        // A few MB each, so the imports overlap.
        let data: Vec<u8> = (0..4_000_000u32).map(|x| (x.wrapping_mul(2654435761).wrapping_add(i as u32) >> 13) as u8).collect();
        ls.push(Layer::gzip(RawTar::default().file(&format!("data/blob{i}"), &data).finish()));
    }
    let layout = work.join("layout");
    oci_layout(&layout, &ls, serde_json::json!({"Cmd": ["/bin/sh"]}));
    layout
}

#[test]
fn two_processes_importing_at_once_keep_one_copy() {
    let _g = lock();
    let work = TempDir::new("img-concurrent");
    let layout = layout_of(work.path(), 4);
    // An oci-archive of the layout.
    let archive = work.join("image.tar");
    cmd("tar", &["-C", layout.to_str().unwrap(), "-cf", archive.to_str().unwrap(), "."]);
    let store_dir = work.join("store");
    ImageStore::open(&store_dir).unwrap();
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..2)
        .map(|_| {
            Command::new(&exe)
                .args(["--exact", "import_child", "--include-ignored", "--quiet"])
                .env("COCOON_IMPORT_ARCHIVE", &archive)
                .env("COCOON_IMPORT_STORE", &store_dir)
                .spawn()
                .unwrap()
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    let store = ImageStore::open(&store_dir).unwrap();
    assert_eq!(std::fs::read_dir(store_dir.join("layers")).unwrap().count(), 4, "one copy of each layer");
    assert_eq!(tree(&store_dir.join("tmp")), Vec::<String>::new());
    let list = store.list().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].names, vec!["shared:1".to_string()]);
}

#[test]
fn run_from_image_cycles_leave_nothing_behind() {
    let _g = lock();
    let work = TempDir::new("img-leaks");
    let layout = layout_of(work.path(), 1);
    let store = ImageStore::open(work.join("store")).unwrap();
    store.import(&layout, None, &ImportOptions::new().name("leak")).unwrap();
    let b = ContainerBuilder::new(Process::new("/bin/sh").args(["-c", "echo x > /written"]).stdout(Stdio::Null))
        .image(&store, "leak")
        .unwrap();
    let plan = b.prepare().unwrap();
    // One cycle first: per-process state (helper memfd, seccomp program) is made once.
    plan.spawn().unwrap().wait().unwrap();
    let before = snapshot();
    for i in 0..200 {
        let mut c = plan.spawn().unwrap();
        assert!(c.wait().unwrap().success());
        if i % 2 == 0 {
            c.delete().unwrap();
        } else {
            drop(c);
        }
    }
    let after = snapshot();
    assert_unchanged(&before, &after, "200 run-from-image cycles");
    assert_eq!(tree(&store.path().join("containers")), Vec::<String>::new(), "no writable layer left");
}

#[test]
fn leftovers_of_killed_importers_and_callers_are_removed() {
    let _g = lock();
    let work = TempDir::new("img-leftover");
    let store = ImageStore::open(work.join("store")).unwrap();
    // A temp dir and a writable layer of a process that is gone (pid 0 never matches).
    std::fs::create_dir_all(store.path().join("tmp/999999999.1.0123456789abcdef/half")).unwrap();
    std::fs::create_dir_all(store.path().join("containers/c.1/upper")).unwrap();
    std::fs::write(store.path().join("containers/c.1/owner"), "live 999999999 1\nsha256:00\n").unwrap();
    let store = ImageStore::open(store.path()).unwrap();
    assert_eq!(tree(&store.path().join("tmp")), Vec::<String>::new());
    // Host users cannot reach the layers' setuid binaries or the containers' files.
    use std::os::unix::fs::PermissionsExt;
    for d in ["", "layers", "containers", "tmp", "blobs"] {
        assert_eq!(std::fs::metadata(store.path().join(d)).unwrap().permissions().mode() & 0o777, 0o700, "{d}");
    }
    assert_eq!(store.gc().unwrap().containers, 1);
    assert_eq!(tree(&store.path().join("containers")), Vec::<String>::new());
}

#[test]
fn an_import_killed_midway_leaves_no_half_layer() {
    let _g = lock();
    let work = TempDir::new("img-killed");
    // One big layer (64 MiB of poorly compressible data), so the import takes a while.
    let data: Vec<u8> = (0..(64u32 << 20)).map(|x| (x.wrapping_mul(2654435761) >> 11) as u8).collect();
    let layout = work.join("layout");
    oci_layout(&layout, &[Layer::gzip(RawTar::default().file("big", &data).finish())], serde_json::json!({}));
    let store_dir = work.join("store");
    ImageStore::open(&store_dir).unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "import_child", "--include-ignored", "--quiet"])
        .env("COCOON_IMPORT_ARCHIVE", &layout)
        .env("COCOON_IMPORT_STORE", &store_dir)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Kill it once its temp layer exists (or once it is done, if it was faster).
    loop {
        let busy = std::fs::read_dir(store_dir.join("tmp")).unwrap().count() > 0;
        if busy || child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let _ = child.kill();
    let _ = child.wait();
    // Whatever is in layers/ is whole.
    for e in std::fs::read_dir(store_dir.join("layers")).unwrap().flatten() {
        assert_eq!(std::fs::metadata(e.path().join("big")).unwrap().len(), data.len() as u64, "a whole layer");
    }
    // The next open removes the dead importer's temp dir; the import then completes.
    let store = ImageStore::open(&store_dir).unwrap();
    assert_eq!(tree(&store_dir.join("tmp")), Vec::<String>::new());
    store.import(&layout, None, &ImportOptions::new().name("big")).unwrap();
    assert_eq!(std::fs::read_dir(store_dir.join("layers")).unwrap().count(), 1);
}
