//! The container gets a fresh anonymous session keyring: it cannot reach the caller's
//! session keys (with SELinux the keyring is created with the container's label).

mod common;
use std::io::Read;

use cocoon::{ContainerBuilder, Process, Stdio};

const KEYCTL_GET_KEYRING_ID: libc::c_long = 0;
const KEY_SPEC_SESSION_KEYRING: libc::c_long = -3;

#[test]
fn container_session_keyring_is_not_the_callers() {
    let _g = common::lock();
    // SAFETY: keyctl(GET_KEYRING_ID, session, create=1) returns or creates our keyring id.
    let ours = unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 1) };
    assert!(ours > 0, "caller has a session keyring: {}", std::io::Error::last_os_error());
    // python3 from the host's /usr (the default host-sandbox root) asks the same question.
    // keyctl is refused by the default seccomp policy, so this test turns it off to look
    // at the keyring the child joined (which isolates the session keyring either way).
    let script = "import ctypes; print(ctypes.CDLL(None).syscall(250, 0, -3, 0))";
    let process = Process::new("/usr/bin/python3").args(["-c", script]).stdout(Stdio::Piped).default_seccomp(false);
    let mut c = ContainerBuilder::new(process)
        .spawn()
        .expect("spawn");
    let mut out = String::new();
    c.take_stdout().expect("stdout").read_to_string(&mut out).expect("read");
    assert!(c.wait().expect("wait").success(), "{out}");
    let theirs: i64 = out.trim().parse().expect("a keyring id");
    assert!(theirs > 0, "the container has a session keyring: {out}");
    assert_ne!(theirs, ours as i64, "and it is not the caller's");
}
