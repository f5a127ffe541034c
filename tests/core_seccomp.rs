//! Seccomp: denied syscalls fail with the chosen errno inside the container; the
//! default deny-list blocks new user namespaces; installing a deny-list without
//! no_new_privs (and without CAP_SYS_ADMIN) is a typed error. The default policy
//! (escape_nested_userns.rs, escape_keyring_user.rs) really goes away when opted out,
//! composes with a deny-list, and needs no no_new_privs.

mod common;

use cocoon::{ContainerBuilder, Error, Process, Seccomp, Stage};
use common::*;

fn sh_with(script: &str, filter: Option<Seccomp>) -> String {
    let mut p = sh(script);
    if let Some(f) = filter {
        p = p.seccomp(f);
    }
    run_ok(ContainerBuilder::new(p))
}

#[test]
fn denied_syscalls_fail_with_the_chosen_errno() {
    let _g = lock();
    let script = "mkdir /tmp/x 2>&1 && echo made; true";
    assert!(sh_with(script, None).contains("made"), "control: mkdir works without a filter");
    let deny = || Seccomp::deny([libc::SYS_mkdir, libc::SYS_mkdirat]);
    let out = sh_with(script, Some(deny()));
    assert!(out.contains("Operation not permitted") && !out.contains("made"), "{out}");
    let out = sh_with(script, Some(deny().errno(libc::ENOSYS)));
    assert!(out.contains("not implemented") && !out.contains("made"), "{out}");
}

#[test]
fn default_deny_blocks_new_user_namespaces() {
    let _g = lock();
    let script = "unshare -U true 2>&1 && echo unshared; true";
    // Without any filter (the default policy off too) a user namespace can be created
    // inside: the control that the deny-list alone is what refuses it below.
    let off = |p: Process| p.default_seccomp(false);
    assert!(run_ok(ContainerBuilder::new(off(sh(script)))).contains("unshared"), "control");
    let out = run_ok(ContainerBuilder::new(off(sh(script)).seccomp(Seccomp::default_deny())));
    assert!(out.contains("Operation not permitted") && !out.contains("unshared"), "{out}");
}

/// Python through ctypes: keyctl(GET_KEYRING_ID, @u), clone(CLONE_NEWUSER|SIGCHLD)
/// (the child _exits at once) and clone3 with a NULL args pointer (EINVAL when clone3 is
/// there, ENOSYS when filtered), each printed as its result or -errno.
const PROBE: &str = r#"
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
def call(*a):
    r = libc.syscall(*a)
    return r if r >= 0 else -ctypes.get_errno()
k = call(250, 0, -4, 0)
c = call(56, 0x10000000 | 17, 0, 0, 0, 0)
if c == 0:
    os._exit(0)
if c > 0:
    os.waitpid(c, 0)
    c = 0
print("keyctl", min(k, 0), "clone_newuser", c, "clone3", call(435, 0, 0))
"#;

fn probe(p: Process) -> String {
    run_ok(ContainerBuilder::new(p.args(["-c", PROBE]).stdout(cocoon::Stdio::Piped).stderr(cocoon::Stdio::Piped)))
        .trim()
        .to_string()
}

#[test]
fn default_policy_is_on_and_opting_out_removes_it() {
    let _g = lock();
    let py = || Process::new("/usr/bin/python3");
    let (eperm, enosys, einval) = (-libc::EPERM, -libc::ENOSYS, -libc::EINVAL);
    assert_eq!(probe(py()), format!("keyctl {eperm} clone_newuser {eperm} clone3 {enosys}"));
    assert_eq!(probe(py().default_seccomp(false)), format!("keyctl 0 clone_newuser 0 clone3 {einval}"));
    // Without no_new_privs the default policy still goes on (before privileges drop).
    assert_eq!(probe(py().no_new_privs(false)), format!("keyctl {eperm} clone_newuser {eperm} clone3 {enosys}"));
}

#[test]
fn a_deny_list_adds_to_the_default_policy() {
    let _g = lock();
    let py = || Process::new("/usr/bin/python3");
    let (eperm, enosys) = (-libc::EPERM, -libc::ENOSYS);
    // An unrelated deny-list: the default policy still applies.
    let out = probe(py().seccomp(Seccomp::deny([libc::SYS_mkdir])));
    assert_eq!(out, format!("keyctl {eperm} clone_newuser {eperm} clone3 {enosys}"));
    // Both refuse keyctl: the deny-list's errno is the one seen.
    let out = probe(py().seccomp(Seccomp::deny([libc::SYS_keyctl]).errno(libc::EACCES)));
    assert_eq!(out, format!("keyctl {} clone_newuser {eperm} clone3 {enosys}", -libc::EACCES));
}

#[test]
fn filter_without_no_new_privs_or_cap_sys_admin_is_a_typed_error() {
    let _g = lock();
    let before = snapshot();
    let p = Process::new("/bin/true").no_new_privs(false).seccomp(Seccomp::deny([libc::SYS_mkdir]));
    let err = ContainerBuilder::new(p.stdin(cocoon::Stdio::Null))
        .spawn()
        .expect_err("seccomp needs no_new_privs without CAP_SYS_ADMIN");
    assert_eq!(err.stage(), Some(Stage::Seccomp), "{err:?}");
    assert_eq!(err.raw_os_error(), Some(libc::EACCES));
    assert_unchanged(&before, &snapshot(), &format!("{err}"));
    let err = ContainerBuilder::new(Process::new("/bin/true").seccomp(Seccomp::deny([libc::SYS_mkdir]).errno(0)))
        .spawn()
        .expect_err("errno 0");
    assert!(matches!(err, Error::InvalidConfig { what: "seccomp errno", .. }), "{err:?}");
    let err = ContainerBuilder::new(Process::new("/bin/true").seccomp(Seccomp::deny([99_999])))
        .spawn()
        .expect_err("bad number");
    assert!(matches!(err, Error::InvalidConfig { what: "seccomp syscall", .. }), "{err:?}");
}
