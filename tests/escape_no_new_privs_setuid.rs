//! no_new_privs is on by default, so setuid binaries give nothing. The setuid-root copy
//! of `id` lives on a bind mount WITHOUT nosuid, so only no_new_privs stands in the way;
//! the control (no_new_privs off) shows the binary really would grant root.

mod common;

use std::os::unix::fs::PermissionsExt;

use cocoon::{ContainerBuilder, Mount};
use common::*;

fn suid_dir() -> TempDir {
    let d = TempDir::new("suid");
    chmod(d.path(), 0o755);
    std::fs::copy("/usr/bin/id", d.join("id")).unwrap();
    std::fs::set_permissions(d.join("id"), std::fs::Permissions::from_mode(0o4755)).unwrap();
    d
}

fn builder(d: &TempDir, nnp: bool) -> ContainerBuilder {
    ContainerBuilder::new(
        sh("grep ^NoNewPrivs /proc/self/status; /suid/id -u; /suid/id -ru").uid_gid(1000, 1000).no_new_privs(nnp),
    )
    .mount(Mount::bind(d.path(), "/suid").read_only(true).nosuid(false))
}

#[test]
fn setuid_binaries_give_nothing_with_no_new_privs() {
    let _g = lock();
    let d = suid_dir();
    let out = run_ok(builder(&d, true));
    assert_eq!(out, "NoNewPrivs:\t1\n1000\n1000\n", "setuid took effect despite no_new_privs");
    // Control: the same setup without no_new_privs does give euid 0.
    let out = run_ok(builder(&d, false));
    assert_eq!(out, "NoNewPrivs:\t0\n0\n1000\n", "control: the setuid binary should work without no_new_privs");
}

#[test]
fn no_new_privs_is_on_by_default_for_containers_and_exec() {
    let _g = lock();
    let out = run_ok(ContainerBuilder::new(sh("grep ^NoNewPrivs /proc/self/status")));
    assert_eq!(out, "NoNewPrivs:\t1\n");
    let c = ContainerBuilder::new(cocoon::Process::new("/bin/sleep").arg("1000")).spawn().unwrap();
    let mut p = c.exec(&sh("grep ^NoNewPrivs /proc/self/status")).unwrap();
    let mut s = String::new();
    std::io::Read::read_to_string(&mut p.take_stdout().unwrap(), &mut s).unwrap();
    assert!(p.wait().unwrap().success());
    assert_eq!(s, "NoNewPrivs:\t1\n");
    c.delete().unwrap();
}
