//! Commit and export: a container's changes (a new file, a deleted file, a replaced
//! directory) become a layer of a new image; exported as an oci-archive it loads into
//! podman, which (runc) sees the same files; exported as a layout it imports again.

mod common;
mod image_support;

use cocoon::image::{CommitOptions, ExportFormat, ImageStore, ImportOptions};
use cocoon::{ContainerBuilder, Process, Rootfs, Stdio, User};
use common::*;
use image_support::*;

const VIEW: &str = "cat /new-file; test -e /etc/removed || echo removed-gone; ls /data/old; echo $BAR $FOO";
const WANT: &str = "committed\nremoved-gone\nx\nbaz bar\n";

fn view(store: &ImageStore, reference: &str) -> String {
    run_ok(
        ContainerBuilder::new(Process::new("/bin/sh").args(["-c", VIEW]).stdout(Stdio::Piped).stderr(Stdio::Piped))
            .image(store, reference)
            .unwrap(),
    )
}

#[test]
fn commit_export_and_podman_round_trip() {
    let _g = lock();
    let work = TempDir::new("img-commit");
    let mut p = Podman::new(work.path());
    let base_name = podman_busybox(&mut p, work.path());
    let docker = work.join("docker.tar");
    podman_save(&p, &base_name, "docker-archive", &docker);
    let store = ImageStore::open(work.join("store")).unwrap();
    store.import(&docker, None, &ImportOptions::new().name("base")).unwrap();

    let change = "echo committed > /new-file; rm /etc/removed; rm -r /data/old; mkdir /data/old; echo fresh > /data/old/x";
    let mut b = ContainerBuilder::new(Process::new("/bin/sh").args(["-c", change]).stderr(Stdio::Piped))
        .image(&store, "base")
        .unwrap();
    b.process_mut().set_user(User::Id { uid: 0, gid: 0, groups: vec![] });
    b.set_rootfs(Rootfs::Image(store.rootfs("base").unwrap().keep_upper(true)));
    let mut c = b.spawn().unwrap();
    assert!(collect(&mut c).ok().status.success());
    let writable = c.writable_layer().unwrap().to_path_buf();
    drop(c);
    assert!(writable.join("upper/new-file").exists(), "kept after the container");

    let info = store
        .commit(&writable, "base", "committed:1", &CommitOptions::new().env("BAR", "baz").cmd(["/bin/sh", "-c", VIEW]))
        .unwrap();
    assert_eq!(info.layers.len(), 2);
    std::fs::remove_dir_all(&writable).unwrap();
    assert_eq!(view(&store, "committed:1"), WANT);

    // Layout export → import into a fresh store.
    let layout = work.join("exported");
    store.export("committed:1", &layout, ExportFormat::OciLayout).unwrap();
    let other = ImageStore::open(work.join("store2")).unwrap();
    other.import(&layout, None, &ImportOptions::new().name("again")).unwrap();
    assert_eq!(view(&other, "again"), WANT);

    // oci-archive export → podman load → podman (runc) run.
    let archive = work.join("exported.tar");
    let name = p.unique_name("committed");
    store.export("committed:1", &archive, ExportFormat::OciArchive).unwrap();
    // The archive's ref name is the store's; podman takes the name we give it.
    skopeo_copy(&format!("oci-archive:{}", archive.display()), &format!("oci-archive:{}:{}", work.join("named.tar").display(), name));
    p.run(&["load", "-q", "-i", work.join("named.tar").to_str().unwrap()]);
    let theirs = p.run(&["--runtime", "runc", "run", "--rm", "--network", "none", "--user", "0", &name]);
    assert_eq!(theirs, WANT, "podman sees the committed image");
    // The export refuses to overwrite.
    assert!(store.export("committed:1", &archive, ExportFormat::OciArchive).is_err());
    assert!(archive.exists());
}
