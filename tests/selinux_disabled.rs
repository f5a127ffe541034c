//! SELinux through the public API on a host WITHOUT SELinux (this build machine): every
//! labelling call is a no-op that says so, `require(true)` is a typed error, and the
//! checks that do not depend on SELinux (syntax, refused paths) still work.
//!
//! In the qemu VM (COCOON_VM_SELINUX=1) these tests skip themselves: tests/vm_selinux.rs
//! covers the enabled side.

use std::path::{Path, PathBuf};

use cocoon::selinux::{
    mount_option, relabel, selinux_enabled, set_file_label, Applied, Recursive, SelinuxConfig, SelinuxError,
    Sharing,
};

fn on_vm() -> bool {
    std::env::var_os("COCOON_VM_SELINUX").is_some()
}

fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("cocoon-selinux-dis-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn selinux_host_detection_says_disabled() {
    if on_vm() {
        assert!(selinux_enabled());
        return;
    }
    // the kernel here has no SELinux: no selinuxfs, /proc/self/attr/current gives EINVAL
    assert!(!Path::new("/sys/fs/selinux/enforce").exists());
    assert!(!selinux_enabled());
}

#[test]
fn selinux_disabled_labelling_calls_are_skipped() {
    if on_vm() {
        return;
    }
    let dir = tmpdir("skip");
    std::fs::write(dir.join("f"), b"x").unwrap();
    let label = "system_u:object_r:container_file_t:s0:c1,c2";
    for sharing in [Sharing::Shared, Sharing::Private] {
        for rec in [Recursive::Yes, Recursive::No] {
            let r = relabel(&dir, label, rec, sharing).unwrap();
            assert_eq!(r, Applied::Skipped);
            assert!(r.is_skipped());
        }
    }
    assert_eq!(set_file_label(&dir.join("f"), label).unwrap(), Applied::Skipped);
    // skipped means untouched: no security.selinux xattr was written
    let out = std::process::Command::new("python3")
        .args(["-c", "import os,sys; print('security.selinux' in os.listxattr(sys.argv[1]))"])
        .arg(dir.join("f"))
        .output();
    if let Ok(out) = out {
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "False");
    }
    // bad syntax is still an error, SELinux or not
    let e = relabel(&dir, "nonsense", Recursive::Yes, Sharing::Private).unwrap_err();
    assert!(matches!(e, SelinuxError::InvalidContext { .. }), "{e:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn selinux_relabel_refuses_system_dirs_even_when_disabled() {
    let label = "system_u:object_r:container_file_t:s0";
    for p in ["/", "/usr", "/etc", "/home", "/var", "/boot", "/proc", "/sys", "/dev", "/run", "/usr/bin", "/etc/.."] {
        let e = relabel(Path::new(p), label, Recursive::Yes, Sharing::Shared).unwrap_err();
        assert!(matches!(e, SelinuxError::RelabelRefused { .. }), "{p}: {e:?}");
        assert!(e.to_string().starts_with("refusing to relabel"), "{e}");
        assert_eq!(e.raw_os_error(), None);
    }
}

#[test]
fn selinux_mount_option_is_quoted() {
    assert_eq!(mount_option("system_u:object_r:container_file_t:s0:c1,c2"),
               "context=\"system_u:object_r:container_file_t:s0:c1,c2\"");
}

#[test]
fn selinux_config_checks_syntax_without_selinux() {
    let e = SelinuxConfig::new().process_type("no spaces_t").validate().unwrap_err();
    assert!(e.to_string().contains("no spaces_t"), "{e}");
    assert!(SelinuxConfig::new().process_type("container_t").validate().is_ok());
    // converts into the crate error with the errno accessor intact
    let err: cocoon::Error = e.into();
    assert!(err.to_string().contains("invalid SELinux configuration"), "{err}");
    assert_eq!(err.raw_os_error(), None);
}

/// `require(true)` on a host without SELinux must refuse to spawn, before any child.
/// Needs the spawn engine to call `SelinuxConfig::prepare` (the lead's work).
#[test]
fn selinux_require_errors_through_builder() {
    if on_vm() {
        return;
    }
    let dir = tmpdir("require");
    let r = cocoon::ContainerBuilder::new(cocoon::Process::new("/bin/true"))
        .selinux(SelinuxConfig::new().require(true).state_dir(&dir))
        .spawn();
    match r {
        Err(cocoon::Error::Selinux(SelinuxError::NotEnabled)) => {}
        other => panic!("expected SelinuxError::NotEnabled, got {other:?}"),
    }
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0, "nothing reserved");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// With SELinux off, a container configured for SELinux still starts (unlabelled), and a
/// bind mount asking to relabel a system directory is refused before any child exists.
#[test]
fn selinux_off_container_still_starts_and_relabel_of_usr_is_refused() {
    if on_vm() {
        return;
    }
    let dir = tmpdir("off");
    let mut c = cocoon::ContainerBuilder::new(cocoon::Process::new("/bin/true"))
        .selinux(SelinuxConfig::new().state_dir(&dir))
        .spawn()
        .expect("spawns unlabelled");
    assert!(c.wait().unwrap().success());
    let r = cocoon::ContainerBuilder::new(cocoon::Process::new("/bin/true"))
        .selinux(SelinuxConfig::new().state_dir(&dir))
        .mount(cocoon::Mount::bind("/usr", "/mnt").selinux_relabel(cocoon::selinux::Sharing::Private))
        .spawn();
    assert!(matches!(r, Err(cocoon::Error::Selinux(SelinuxError::RelabelRefused { .. }))), "{r:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}
