//! Image files the host reads: a FIFO, a device node or a huge file as the image's
//! `/etc/passwd` or `/etc/group` (read when the user is given by name) must give a
//! typed error at once. Before the fix a FIFO hung spawn forever (blocking open, no type
//! check), and `Container::exec` read the same files of a *running* container, which can
//! plant the FIFO itself; a device node was opened (driver side effects on the host) and
//! a file over 1 MiB was silently truncated.
//!
//! Every call runs under a watchdog: a regression fails the test instead of hanging it
//! (on timeout the watchdog opens the FIFO for writing, which releases the reader).

mod common;

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use cocoon::{ContainerBuilder, Error, ImageFileProblem, Process, Rootfs, Stdio, User};
use common::*;

/// Longer than any sane spawn on a loaded 2-core machine, far shorter than "forever".
const WATCHDOG: Duration = Duration::from_secs(20);

/// Runs `f` on a thread; panics if it has not returned within WATCHDOG, after opening
/// `fifo` (if it is one) for writing so that a reader blocked in open(2) gets released.
fn within<T: Send + 'static>(what: &str, fifo: &Path, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    let t = Instant::now();
    let h = std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(WATCHDOG) {
        Ok(v) => {
            let _ = h.join();
            v
        }
        Err(_) => {
            release(fifo);
            panic!("{what} hung for {:?} (a blocking read of an image file?)", t.elapsed());
        }
    }
}

/// Opens a FIFO for writing and closes it: a reader blocked in open(2) returns.
fn release(fifo: &Path) {
    use std::os::unix::fs::OpenOptionsExt;
    for _ in 0..50 {
        if std::fs::OpenOptions::new().write(true).custom_flags(libc::O_NONBLOCK).open(fifo).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn mkfifo(p: &Path) {
    let _ = std::fs::remove_file(p);
    let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0, "mkfifo: {}", std::io::Error::last_os_error());
}

fn mknod_null(p: &Path) {
    let _ = std::fs::remove_file(p);
    let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: NUL-terminated path; 1:3 is /dev/null.
    let r = unsafe { libc::mknod(c.as_ptr(), libc::S_IFCHR | 0o644, libc::makedev(1, 3)) };
    assert_eq!(r, 0, "mknod: {}", std::io::Error::last_os_error());
}

/// A sparse 1 GiB file whose first line names root (a silent 1 MiB truncation would
/// still find it).
fn sparse_gib(p: &Path) {
    let _ = std::fs::remove_file(p);
    std::fs::write(p, "root:x:0:0:root:/root:/bin/sh\nalice:x:1234:2345:Alice:/home/alice:/bin/sh\n").unwrap();
    std::fs::OpenOptions::new().write(true).open(p).unwrap().set_len(1 << 30).unwrap();
}

/// A busybox image with the extra applets the planting scripts need.
fn image() -> TempDir {
    let root = TempDir::new("img");
    busybox_root(root.path());
    for applet in ["mkfifo", "mknod", "truncate"] {
        std::os::unix::fs::symlink("busybox", root.join("bin").join(applet)).unwrap();
    }
    root
}

fn as_alice(p: Process) -> Process {
    p.user(User::Name("alice".into()))
}

/// Asserts `e` is the typed image-file error for `file` (e.g. "etc/passwd").
fn assert_image_file(e: &Error, file: &str, want: fn(&ImageFileProblem) -> bool) {
    match e {
        Error::ImageFile { path, problem } => {
            assert!(path.ends_with(file), "error names {}, not {file}: {e}", path.display());
            assert!(want(problem), "unexpected problem: {e} ({problem:?})");
            assert!(e.to_string().contains(file), "message does not name {file}: {e}");
        }
        other => panic!("expected Error::ImageFile for {file}, got {other:?} ({other})"),
    }
}

fn spawn_err(root: &Path, fifo: PathBuf) -> Error {
    let b = ContainerBuilder::new(as_alice(Process::new("/bin/true").stdin(Stdio::Null)))
        .rootfs(Rootfs::directory(root));
    let before = snapshot();
    let r = within("spawn", &fifo, move || b.spawn().map(|c| c.pid()));
    assert_unchanged(&before, &snapshot(), "failed spawn");
    assert_no_children();
    match r {
        Ok(pid) => panic!("spawn succeeded (pid {pid}) although {} is not a usable file", fifo.display()),
        Err(e) => e,
    }
}

#[test]
fn fifo_as_passwd_fails_spawn_at_once() {
    let _g = lock();
    let root = image();
    mkfifo(&root.join("etc/passwd"));
    let e = spawn_err(root.path(), root.join("etc/passwd"));
    assert_image_file(&e, "etc/passwd", |p| matches!(p, ImageFileProblem::NotRegular("FIFO")));
}

#[test]
fn fifo_as_group_fails_spawn_at_once() {
    let _g = lock();
    let root = image();
    mkfifo(&root.join("etc/group"));
    let e = spawn_err(root.path(), root.join("etc/group"));
    assert_image_file(&e, "etc/group", |p| matches!(p, ImageFileProblem::NotRegular("FIFO")));
}

#[test]
fn device_node_as_passwd_is_not_opened() {
    let _g = lock();
    let root = image();
    mknod_null(&root.join("etc/passwd"));
    let e = spawn_err(root.path(), root.join("etc/passwd"));
    assert_image_file(&e, "etc/passwd", |p| matches!(p, ImageFileProblem::NotRegular("character device")));
}

#[test]
fn gib_passwd_is_too_large_not_truncated() {
    let _g = lock();
    let root = image();
    sparse_gib(&root.join("etc/passwd"));
    let t = Instant::now();
    let e = spawn_err(root.path(), root.join("etc/passwd"));
    assert_image_file(&e, "etc/passwd", |p| matches!(p, ImageFileProblem::TooLarge { .. }));
    assert!(t.elapsed() < Duration::from_secs(5), "took {:?}: the file was read, not refused by size", t.elapsed());
}

#[test]
fn whiteout_in_the_upper_layer_hides_the_lower_passwd() {
    let _g = lock();
    let (lower, upper, work) = (image(), TempDir::new("upper"), TempDir::new("work"));
    std::fs::create_dir_all(upper.join("etc")).unwrap();
    // An overlay whiteout is a 0:0 character device: the file is deleted in the image.
    let c = std::ffi::CString::new(upper.join("etc/passwd").into_os_string().into_encoded_bytes()).unwrap();
    // SAFETY: NUL-terminated path.
    assert_eq!(unsafe { libc::mknod(c.as_ptr(), libc::S_IFCHR, libc::makedev(0, 0)) }, 0);
    let e = ContainerBuilder::new(as_alice(Process::new("/bin/true").stdin(Stdio::Null)))
        .rootfs(Rootfs::layers([lower.path()], upper.path(), work.path()))
        .spawn()
        .unwrap_err();
    assert!(matches!(&e, Error::InvalidConfig { what: "user", .. }), "{e:?}");
    assert!(e.to_string().contains("not in the container's /etc/passwd"), "{e}");
    assert_no_children();
}

/// A running container replaces its own /etc/passwd using `plant`; exec as a named
/// user must then fail at once with the typed error, leaving the container as it was.
fn exec_after_planting(plant: &str, want: fn(&ImageFileProblem) -> bool) {
    let root = image();
    let script = format!("rm -f /etc/passwd && {plant} && echo planted; exec sleep 1000");
    let mut c = ContainerBuilder::new(sh(&script).stdin(Stdio::Null))
        .rootfs(Rootfs::directory(root.path()))
        .spawn()
        .unwrap();
    let mut out = Lines::new(&mut c);
    assert_eq!(out.next(), "planted");
    let fifo = root.join("etc/passwd");
    let before = fds();
    let children_before = children();
    let (c, r) = within("exec", &fifo, move || {
        let r = c.exec(&as_alice(Process::new("/bin/true").stdin(Stdio::Null))).map(|p| p.pid());
        (c, r)
    });
    assert_eq!(before, fds(), "failed exec: the fd table changed");
    assert_eq!(children_before, children(), "failed exec: children changed");
    match r {
        Ok(pid) => panic!("exec succeeded (pid {pid}) after the container planted `{plant}`"),
        Err(e) => assert_image_file(&e, "etc/passwd", want),
    }
    assert!(c.kill(0).is_ok(), "the container should still run");
    c.delete().unwrap();
    assert_no_children();
}

#[test]
fn exec_into_a_container_that_planted_a_fifo_fails_at_once() {
    let _g = lock();
    exec_after_planting("mkfifo /etc/passwd", |p| matches!(p, ImageFileProblem::NotRegular("FIFO")));
}

#[test]
fn exec_into_a_container_that_planted_a_device_node_fails_at_once() {
    let _g = lock();
    exec_after_planting("mknod /etc/passwd c 1 3", |p| matches!(p, ImageFileProblem::NotRegular("character device")));
}

#[test]
fn exec_into_a_container_that_planted_a_gib_passwd_fails_at_once() {
    let _g = lock();
    exec_after_planting(
        "echo alice:x:1234:2345::/:/bin/sh > /etc/passwd && truncate -s 1G /etc/passwd",
        |p| matches!(p, ImageFileProblem::TooLarge { .. }),
    );
}
