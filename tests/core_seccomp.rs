//! Seccomp deny-lists: denied syscalls fail with the chosen errno inside the container;
//! the default deny-list blocks new user namespaces; installing a filter without
//! no_new_privs (and without CAP_SYS_ADMIN) is a typed error.

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
    // Without a filter an unprivileged-style user namespace can be created inside.
    assert!(sh_with(script, None).contains("unshared"), "control");
    let out = sh_with(script, Some(Seccomp::default_deny()));
    assert!(out.contains("Operation not permitted") && !out.contains("unshared"), "{out}");
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
