//! SELinux labels of real containers, through the library's public API. These run only in
//! the qemu VM (SELinux enforcing, a policy with `container_t` / `container_file_t`
//! loaded, `COCOON_VM_SELINUX=1`): `tests/vm/run-tests.sh`.
//!
//! Policy needs beyond the notes' list: the container process is started with
//! no_new_privs (cocoon's default), so the policy must allow
//! `process2 { nnp_transition }` from the launching domain (kernel_t in the VM) to
//! `container_t`; without it exec fails with EPERM.

use std::io::Read;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use cocoon::selinux::{
    relabel, selinux_enabled, set_file_label, Level, Recursive, SecurityContext, SelinuxConfig, SelinuxError,
    Sharing,
};
use cocoon::{Container, ContainerBuilder, Mount, Process, Rootfs, Stdio};

const VM: &str = "runs in the qemu VM: tests/vm/run-tests.sh";

fn require_vm() {
    assert!(std::env::var_os("COCOON_VM_SELINUX").is_some(), "{VM} (COCOON_VM_SELINUX=1 unset)");
    assert!(selinux_enabled(), "the VM must boot with SELinux enabled and a policy loaded");
}

fn state_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("cocoon-vm-selinux-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// A pipe whose write end becomes the container's stdout.
fn pipe() -> (std::io::PipeReader, Arc<OwnedFd>) {
    let (r, w) = std::io::pipe().unwrap();
    (r, Arc::new(OwnedFd::from(w)))
}

/// Spawns `builder` with stdout into a pipe; returns the container and the read end.
/// Every copy of the write end is gone when this returns, so reading ends at EOF.
fn spawn_piped(process: Process, f: impl FnOnce(ContainerBuilder) -> ContainerBuilder) -> (Container, std::io::PipeReader) {
    let (r, w) = pipe();
    let builder = f(ContainerBuilder::new(process.stdout(Stdio::Fd(w))).rootfs(Rootfs::HostSandbox));
    let c = builder.spawn().unwrap();
    drop(builder);
    (c, r)
}

fn read_all(mut r: std::io::PipeReader) -> String {
    let mut s = String::new();
    r.read_to_string(&mut s).unwrap();
    s
}

/// `/proc/self/attr/current` as the container reports it (NUL and newline trimmed).
fn label_of(out: &str) -> SecurityContext {
    out.trim_end_matches(['\0', '\n']).parse().unwrap()
}

fn cat_label() -> Process {
    Process::new("/bin/cat").arg("/proc/self/attr/current")
}

#[test]
#[ignore = "runs in the qemu VM: tests/vm/run-tests.sh"]
fn vm_selinux_process_runs_with_the_container_label() {
    require_vm();
    let dir = state_dir("label");
    let level: Level = "s0:c11,c12".parse().unwrap();
    {
        let (mut c, out) = spawn_piped(cat_label(), |b| b.selinux(SelinuxConfig::new().level(level).state_dir(&dir)));
        let text = read_all(out);
        assert!(c.wait().unwrap().success());
        assert_eq!(text.trim_end_matches(['\0', '\n']), "system_u:system_r:container_t:s0:c11,c12");
    }
    // the default: an allocated pair
    let (mut c, out) = spawn_piped(cat_label(), |b| b.selinux(SelinuxConfig::new().state_dir(&dir)));
    let ctx = label_of(&read_all(out));
    assert!(c.wait().unwrap().success());
    assert_eq!(ctx.type_(), "container_t");
    assert!(ctx.level().unwrap().as_mcs_pair().is_some(), "{ctx}");
    drop(c);
    // containers gone: their reservations are released
    assert_eq!(std::fs::read_dir(&dir).unwrap().filter(|e| !e.as_ref().unwrap().file_name().to_string_lossy().starts_with('.')).count(), 0);
}

#[test]
#[ignore = "runs in the qemu VM: tests/vm/run-tests.sh"]
fn vm_selinux_two_containers_get_different_levels() {
    require_vm();
    let dir = state_dir("two");
    // both alive at once (neither waited for yet), so both levels are reserved together
    let (mut a, out_a) = spawn_piped(cat_label(), |b| b.selinux(SelinuxConfig::new().state_dir(&dir)));
    let (mut b, out_b) = spawn_piped(cat_label(), |b| b.selinux(SelinuxConfig::new().state_dir(&dir)));
    let (la, lb) = (label_of(&read_all(out_a)), label_of(&read_all(out_b)));
    assert!(a.wait().unwrap().success() && b.wait().unwrap().success());
    assert_eq!(la.type_(), "container_t");
    assert_eq!(lb.type_(), "container_t");
    assert_ne!(la.level(), lb.level(), "two containers share {la}");
}

#[test]
#[ignore = "runs in the qemu VM: tests/vm/run-tests.sh"]
fn vm_selinux_mcs_separates_containers_files() {
    require_vm();
    let dir = state_dir("files");
    let data = state_dir("files-data");
    std::fs::create_dir_all(&data).unwrap();
    for (name, level) in [("own", "s0:c21,c22"), ("other", "s0:c23,c24"), ("shared", "s0")] {
        let p = data.join(name);
        std::fs::write(&p, format!("content-{name}\n")).unwrap();
        let label = format!("system_u:object_r:container_file_t:{level}");
        assert!(!set_file_label(&p, &label).unwrap().is_skipped());
    }
    // the directory itself: shared (z)
    let dir_label = "system_u:object_r:container_file_t:s0";
    assert!(!relabel(&data, dir_label, Recursive::No, Sharing::Shared).unwrap().is_skipped());

    let script = "for f in own shared other; do cat /data/$f 2>&1 || echo denied-$f; done";
    let level: Level = "s0:c21,c22".parse().unwrap();
    let (mut c, out) = spawn_piped(Process::new("/bin/sh").args(["-c", script]), |b| {
        b.selinux(SelinuxConfig::new().level(level).state_dir(&dir)).mount(Mount::bind(&data, "/data").read_only(true))
    });
    let text = read_all(out);
    c.wait().unwrap();
    assert!(text.contains("content-own"), "{text}");
    assert!(text.contains("content-shared"), "{text}");
    assert!(!text.contains("content-other"), "MCS let the container read another's file:\n{text}");
    assert!(text.contains("denied-other"), "{text}");
    std::fs::remove_dir_all(&data).unwrap();
}

#[test]
#[ignore = "runs in the qemu VM: tests/vm/run-tests.sh"]
fn vm_selinux_tmpfs_carries_the_container_label() {
    require_vm();
    let dir = state_dir("tmpfs");
    let level: Level = "s0:c31,c32".parse().unwrap();
    let (mut c, out) = spawn_piped(Process::new("/bin/cat").arg("/proc/self/mountinfo"), |b| {
        b.selinux(SelinuxConfig::new().level(level).state_dir(&dir)).mount(Mount::tmpfs("/scratch"))
    });
    let text = read_all(out);
    assert!(c.wait().unwrap().success());
    let line = text
        .lines()
        .find(|l| l.split(' ').nth(4) == Some("/scratch"))
        .unwrap_or_else(|| panic!("no /scratch mount:\n{text}"));
    // SELinux shows the context= option of a labelled mount in mountinfo
    assert!(
        line.contains("context=\"system_u:object_r:container_file_t:s0:c31,c32\""),
        "tmpfs not labelled: {line}"
    );
}

#[test]
#[ignore = "runs in the qemu VM: tests/vm/run-tests.sh"]
fn vm_selinux_bogus_type_fails_before_the_child_runs() {
    require_vm();
    let dir = state_dir("bogus");
    let marker = state_dir("bogus-marker");
    std::fs::create_dir_all(&marker).unwrap();
    let process = Process::new("/bin/sh").args(["-c", "touch /m/ran"]);
    let r = ContainerBuilder::new(process)
        .rootfs(Rootfs::HostSandbox)
        .mount(Mount::bind(&marker, "/m"))
        .selinux(SelinuxConfig::new().process_type("no_such_container_t").state_dir(&dir))
        .spawn();
    let e = match r {
        Err(e) => e,
        Ok(mut c) => {
            let _ = c.wait();
            panic!("a bogus process type was accepted");
        }
    };
    assert!(
        matches!(&e, cocoon::Error::Selinux(SelinuxError::NotInPolicy { context, .. }) if context.contains("no_such_container_t")),
        "{e:?}"
    );
    assert!(e.to_string().contains("not valid in the loaded policy"), "{e}");
    assert!(!Path::new(&marker.join("ran")).exists(), "the child ran");
    // nothing reserved
    let left = std::fs::read_dir(&dir).map(|rd| rd.filter(|e| !e.as_ref().unwrap().file_name().to_string_lossy().starts_with('.')).count()).unwrap_or(0);
    assert_eq!(left, 0);
    std::fs::remove_dir_all(&marker).unwrap();
}

/// NO_NEW_PRIVS and SELinux: with no_new_privs on (cocoon's default) an exec that changes
/// domain needs `nnp_transition` in the policy. cocoon_nonnp_t (VM-only policy) lacks it:
/// the exec is refused with EPERM and the error explains why; with no_new_privs off the
/// same container runs in that domain.
#[test]
#[ignore = "runs in the qemu VM: tests/vm/run-tests.sh"]
fn vm_selinux_no_new_privs_needs_nnp_transition() {
    require_vm();
    let dir = state_dir("nnp");
    let cfg = || SelinuxConfig::new().process_type("cocoon_nonnp_t").state_dir(&dir);
    let r = ContainerBuilder::new(cat_label().stdout(Stdio::Null))
        .rootfs(Rootfs::HostSandbox)
        .selinux(cfg())
        .spawn();
    let e = match r {
        Err(e) => e,
        Ok(mut c) => {
            let _ = c.wait();
            panic!("exec into a domain without nnp_transition succeeded under no_new_privs");
        }
    };
    assert_eq!(e.stage(), Some(cocoon::Stage::Exec), "{e:?}");
    assert_eq!(e.raw_os_error(), Some(libc::EPERM), "{e:?}");
    assert!(e.to_string().contains("nnp_transition"), "the error explains the cause: {e}");
    // no_new_privs off: the transition is allowed and the program runs in the domain.
    let (mut c, out) = spawn_piped(cat_label().no_new_privs(false), |b| b.selinux(cfg()));
    let text = read_all(out);
    assert!(c.wait().unwrap().success(), "{text}");
    assert_eq!(label_of(&text).type_(), "cocoon_nonnp_t", "{text}");
}

#[test]
#[ignore = "runs in the qemu VM: tests/vm/run-tests.sh"]
fn vm_selinux_label_applies_at_the_programs_exec_under_init_and_exec() {
    require_vm();
    // The exec helper writes the exec label itself, right before it execs the program:
    // the program gets the container's label also under an init and through exec,
    // while the init (the helper, which never execs again) stays in the caller's domain.
    let dir = state_dir("helper");
    let level: Level = "s0:c13,c14".parse().unwrap();
    let want = "system_u:system_r:container_t:s0:c13,c14";
    let cfg = || SelinuxConfig::new().level(level).state_dir(&dir);
    let (mut c, out) = spawn_piped(cat_label(), |b| b.init(true).selinux(cfg()));
    let init_label = std::fs::read_to_string(format!("/proc/{}/attr/current", c.pid())).unwrap_or_default();
    assert_eq!(read_all(out).trim_end_matches(['\0', '\n']), want, "the program under an init");
    assert!(c.wait().unwrap().success());
    let mine = std::fs::read_to_string("/proc/self/attr/current").unwrap();
    if !init_label.is_empty() {
        assert_eq!(init_label, mine, "the init runs in the caller's domain");
    }
    let c = ContainerBuilder::new(Process::new("/bin/sleep").arg("100")).rootfs(Rootfs::HostSandbox).selinux(cfg()).spawn().unwrap();
    let mut p = c.exec(&cat_label().stdout(Stdio::Piped)).unwrap();
    let mut s = String::new();
    p.take_stdout().unwrap().read_to_string(&mut s).unwrap();
    assert!(p.wait().unwrap().success());
    assert_eq!(s.trim_end_matches(['\0', '\n']), want, "the exec'd program");
    c.kill(libc::SIGKILL).unwrap();
}
