//! Host root's user keyring (hardening issue 9, item 6; the CVE-2016-0728 class): without
//! a user namespace container root is uid 0, and uid 0's `@u` keyring is the host's. With
//! the library's defaults the container must neither find a key the host keeps there nor
//! add one, and the host's `@u` must read the same before and after — for the first
//! process and for a process exec'd into the container.

mod common;

use cocoon::{Container, ContainerBuilder, Process, Stdio};
use common::*;

const KEYCTL_REVOKE: libc::c_long = 3;
const KEYCTL_UNLINK: libc::c_long = 9;
const KEYCTL_READ: libc::c_long = 11;
const KEY_SPEC_USER_KEYRING: i32 = -4;

/// The key ids linked in the host's `@u` (KEYCTL_READ of the keyring).
fn user_keyring() -> Vec<i32> {
    let mut buf = vec![0i32; 4096];
    // SAFETY: KEYCTL_READ into a buffer of the given byte length.
    let n = unsafe {
        libc::syscall(libc::SYS_keyctl, KEYCTL_READ, KEY_SPEC_USER_KEYRING, buf.as_mut_ptr(), buf.len() * 4)
    };
    assert!(n >= 0, "read @u: {}", std::io::Error::last_os_error());
    buf.truncate((n as usize / 4).min(buf.len()));
    buf.sort_unstable();
    buf
}

/// A key the host keeps in `@u`, removed (revoked and unlinked) on drop.
struct HostKey(i32);

impl HostKey {
    fn add(desc: &str, secret: &str) -> HostKey {
        let ty = c"user";
        let desc = std::ffi::CString::new(desc).unwrap();
        // SAFETY: add_key with valid strings and payload.
        let id = unsafe {
            libc::syscall(libc::SYS_add_key, ty.as_ptr(), desc.as_ptr(), secret.as_ptr(), secret.len(), KEY_SPEC_USER_KEYRING)
        };
        assert!(id > 0, "add_key to @u: {}", std::io::Error::last_os_error());
        HostKey(id as i32)
    }
}

impl Drop for HostKey {
    fn drop(&mut self) {
        // SAFETY: keyctl on a key id we created.
        unsafe {
            libc::syscall(libc::SYS_keyctl, KEYCTL_UNLINK, self.0, KEY_SPEC_USER_KEYRING);
            libc::syscall(libc::SYS_keyctl, KEYCTL_REVOKE, self.0);
        }
    }
}

/// Python (the host's /usr is bound into the default sandbox) trying what an attacker
/// would: find the host's key in @u and read it, then add a key of its own there.
fn attacker(desc: &str) -> Process {
    let script = format!(
        r#"
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
def call(*a):
    r = libc.syscall(*a)
    return r if r >= 0 else -ctypes.get_errno()
# keyctl(KEYCTL_SEARCH=10, @u, "user", desc, 0)
found = call(250, 10, -4, b"user", b"{desc}", 0)
buf = ctypes.create_string_buffer(256)
read = call(250, 11, found, buf, 256) if found > 0 else found
print("found", found, "read", read, "secret", buf.value.decode(errors="replace"))
# add_key("user", desc-planted, "x", 1, @u)
print("added", call(248, b"user", b"{desc}-planted", b"x", 1, -4))
"#
    );
    Process::new("/usr/bin/python3").args(["-c", &script]).stdout(Stdio::Piped).stderr(Stdio::Piped)
}

fn check(out: Output, before: &[i32]) {
    let out = out.ok();
    let after = user_keyring();
    // Whatever the container managed to add goes again before any assertion.
    for id in after.iter().filter(|id| !before.contains(id)) {
        drop(HostKey(*id));
    }
    assert_eq!(before, after.as_slice(), "the host's @u changed: {}", out.stdout);
    let field = |k: &str| -> i64 {
        let mut it = out.stdout.split_whitespace().skip_while(|w| *w != k);
        it.nth(1).and_then(|v| v.parse().ok()).unwrap_or_else(|| panic!("no {k} in {:?} {:?}", out.stdout, out.stderr))
    };
    assert!(!out.stdout.contains("TOP-SECRET"), "the container read the host's key: {}", out.stdout);
    assert_eq!(field("found"), -(libc::EPERM as i64), "KEYCTL_SEARCH of @u: {}", out.stdout);
    assert_eq!(field("added"), -(libc::EPERM as i64), "add_key to @u: {}", out.stdout);
}

fn desc(tag: &str) -> String {
    format!("cocoon-escape-{}-{tag}", std::process::id())
}

#[test]
fn container_cannot_reach_the_hosts_user_keyring() {
    let _g = lock();
    let d = desc("spawn");
    let _key = HostKey::add(&d, "TOP-SECRET");
    let before = user_keyring();
    check(run(ContainerBuilder::new(attacker(&d))), &before);
}

#[test]
fn nor_through_exec() {
    let _g = lock();
    let d = desc("exec");
    let _key = HostKey::add(&d, "TOP-SECRET");
    let before = user_keyring();
    let c: Container = ContainerBuilder::new(Process::new("/bin/sleep").arg("1000").stdin(Stdio::Null)).spawn().unwrap();
    let mut p = c.exec(&attacker(&d)).unwrap();
    let err = p.take_stderr().unwrap();
    let t = std::thread::spawn(move || std::io::read_to_string(err).unwrap_or_default());
    let stdout = std::io::read_to_string(p.take_stdout().unwrap()).unwrap();
    let status = p.wait().unwrap();
    check(Output { status, stdout, stderr: t.join().unwrap() }, &before);
    c.delete().unwrap();
}
