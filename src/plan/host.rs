//! The host sandbox's filesystem: the host's /usr and top-level links bound read-only,
//! a few safe /etc entries, and a synthetic /etc (passwd, group, hosts, ...).

use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use super::cstring;
use super::facts::{HostEntry, HostFacts, SANDBOX_ETC, SANDBOX_TOP};
use super::ops::{InRootPath, Op, Source, TargetKind};
use super::users::{SANDBOX_GROUP, SANDBOX_PASSWD};
use crate::error::Result;
use crate::sys::{MOUNT_ATTR_NODEV, MOUNT_ATTR_NOSUID, MOUNT_ATTR_RDONLY};

/// The host sandbox's ops: the host's /usr, its top-level links and directories as
/// `host` found them, a fresh /etc with what /usr needs from the host's, /tmp, and the
/// synthetic /etc files.
pub(super) fn host_sandbox_ops(hostname: Option<&str>, host: &HostFacts<'_>) -> Result<Vec<Op>> {
    let mut ops = vec![Op::Mount {
        source: Source::Bind { path: c"/usr".into(), recursive: true, device: None },
        target: InRootPath::lit("/usr"),
        kind: TargetKind::Dir,
        attrs: MOUNT_ATTR_RDONLY | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID,
    }];
    for path in SANDBOX_TOP {
        let target = InRootPath::new("sandbox path", Path::new(path))?;
        match host.sandbox_entry(path) {
            Some(HostEntry::Symlink(link)) => {
                ops.push(Op::Symlink { path: target, contents: cstring("symlink", link.as_os_str().as_bytes())? });
            }
            Some(HostEntry::Dir) => ops.push(Op::Mount {
                source: Source::Bind { path: cstring("bind source", path.as_bytes())?, recursive: true, device: None },
                target,
                kind: TargetKind::Dir,
                attrs: MOUNT_ATTR_RDONLY | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID,
            }),
            Some(HostEntry::File) | None => {}
        }
    }
    let name = hostname.unwrap_or("localhost");
    for (dir, mode) in [("/etc", 0o755), ("/root", 0o700), ("/home", 0o755), ("/run", 0o755)] {
        ops.push(Op::Dir { path: InRootPath::lit(dir), mode });
    }
    ops.extend(host_etc_ops(host)?);
    // Its own tmpfs, so /tmp stays writable under a read-only root.
    ops.push(Op::Mount {
        source: Source::fs(c"tmpfs", &[("mode", Some("1777"))], true),
        target: InRootPath::lit("/tmp"),
        kind: TargetKind::Dir,
        attrs: MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
    });
    for (file, contents) in [
        ("/etc/passwd", SANDBOX_PASSWD.to_string()),
        ("/etc/group", SANDBOX_GROUP.to_string()),
        ("/etc/hosts", format!("127.0.0.1\tlocalhost {name}\n::1\tlocalhost ip6-localhost\n")),
        ("/etc/hostname", format!("{name}\n")),
        ("/etc/nsswitch.conf", "passwd: files\ngroup: files\nhosts: files\n".to_string()),
    ] {
        ops.push(Op::File { path: InRootPath::lit(file), contents: contents.into_bytes(), mode: 0o644 });
    }
    Ok(ops)
}

/// The [`SANDBOX_ETC`] entries the host has: a symlink is recreated (no mount), a
/// directory or regular file is bound read-only, nosuid, nodev.
fn host_etc_ops(host: &HostFacts<'_>) -> Result<Vec<Op>> {
    let mut ops = Vec::new();
    for path in SANDBOX_ETC {
        let target = InRootPath::lit(path);
        let kind = match host.sandbox_entry(path) {
            Some(HostEntry::Symlink(link)) => {
                ops.push(Op::Symlink { path: target, contents: cstring("symlink", link.as_os_str().as_bytes())? });
                continue;
            }
            Some(HostEntry::Dir) => TargetKind::Dir,
            Some(HostEntry::File) => TargetKind::File,
            None => continue,
        };
        ops.push(Op::Mount {
            source: Source::Bind { path: cstring("bind source", path.as_bytes())?, recursive: true, device: None },
            target,
            kind,
            attrs: MOUNT_ATTR_RDONLY | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID,
        });
    }
    Ok(ops)
}
