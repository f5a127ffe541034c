//! bubblewrap's CVE-2017-5226 class: a container in the caller's session and process
//! group. Without a session of its own, `kill(0, SIGTERM)` inside hits the caller's whole
//! process group (the caller included), and a container that inherits the caller's
//! controlling terminal pushes keystrokes into it with TIOCSTI (enabled on this kernel:
//! /proc/sys/dev/tty/legacy_tiocsti = 1).
//!
//! The host is this test executable, re-run as `host_entry` in a process group of its own
//! (so that, against a naive implementation, only it dies, not the test runner).

mod common;

use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::Command;

use cocoon::{ContainerBuilder, Process, Stdio};
use common::*;

/// Not a test: the host process. Does nothing unless COCOON_HOST is set.
#[test]
#[ignore = "entry point of the host process, started by the tests below"]
fn host_entry() {
    let script = match std::env::var("COCOON_HOST").as_deref() {
        Ok("kill0") => "trap '' TERM; kill -TERM 0; echo container-done",
        Ok("tiocsti") => {
            "python3 -c 'import fcntl, termios\ntry:\n    fcntl.ioctl(0, termios.TIOCSTI, b\"X\"); print(\"INJECTED\")\nexcept OSError as e:\n    print(\"REFUSED\", e.errno)'"
        }
        _ => return,
    };
    let p = Process::new("/bin/sh").args(["-c", script]).env("PATH", PATH).stdout(Stdio::Inherit).stdin(Stdio::Inherit);
    let mut c = ContainerBuilder::new(p).spawn().expect("spawn");
    let status = c.wait().expect("wait");
    println!("HOST-ALIVE container {status}");
}

fn host(mode: &str) -> Command {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--ignored", "--exact", "host_entry", "--nocapture", "--test-threads=1"]).env("COCOON_HOST", mode);
    cmd
}

#[test]
fn kill_0_inside_leaves_the_host_alive() {
    let _l = lock();
    let out = host("kill0").process_group(0).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("HOST-ALIVE") && stdout.contains("container-done"),
        "the container's kill(0) reached the host: {:?}\nstdout:\n{stdout}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn tiocsti_on_the_hosts_terminal_fails() {
    let _l = lock();
    let (mut master, mut slave) = (-1, -1);
    // SAFETY: openpty with out-pointers to two ints and no name/termios/winsize.
    let r = unsafe { libc::openpty(&mut master, &mut slave, std::ptr::null_mut(), std::ptr::null(), std::ptr::null()) };
    assert_eq!(r, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: openpty returned two fresh fds, owned here.
    let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    // Raw mode, so that one injected byte is counted by FIONREAD.
    // SAFETY: termios is plain data; tcgetattr/tcsetattr on our pty.
    unsafe {
        let mut t: libc::termios = std::mem::zeroed();
        libc::tcgetattr(slave.as_raw_fd(), &mut t);
        libc::cfmakeraw(&mut t);
        libc::tcsetattr(slave.as_raw_fd(), libc::TCSANOW, &t);
    }
    let tty = std::fs::File::from(slave.try_clone().unwrap());
    let mut cmd = host("tiocsti");
    cmd.stdin(tty).stdout(std::process::Stdio::piped());
    // SAFETY: setsid and ioctl are async-signal-safe; the host gets the pty (its stdin) as
    // its controlling terminal, as a program started from a terminal has.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().unwrap();
    let mut stdout = String::new();
    child.stdout.take().unwrap().read_to_string(&mut stdout).unwrap();
    let status = child.wait().unwrap();
    let mut pending: libc::c_int = 0;
    // SAFETY: FIONREAD into an int on our pty.
    unsafe { libc::ioctl(slave.as_raw_fd(), libc::FIONREAD, &mut pending) };
    assert!(status.success() && stdout.contains("HOST-ALIVE"), "host failed: {status:?}\n{stdout}");
    assert!(stdout.contains("REFUSED 1"), "TIOCSTI was not refused with EPERM:\n{stdout}");
    assert_eq!(pending, 0, "bytes were injected into the host's terminal");
    drop(master);
}
