//! The host sandbox's filesystem: the host's /usr and top-level links bound read-only,
//! a few safe /etc entries, and a synthetic /etc (passwd, group, hosts, ...).

use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use super::cstring;
use super::ops::{InRootPath, Op, Source, TargetKind};
use super::users::{SANDBOX_GROUP, SANDBOX_PASSWD};
use crate::error::{Error, Result};
use crate::sys::{MOUNT_ATTR_NODEV, MOUNT_ATTR_NOSUID, MOUNT_ATTR_RDONLY};

/// How the host's top-level directories look (merged /usr or not), read once.
pub(super) fn host_sandbox_ops(hostname: Option<&str>) -> Result<Vec<Op>> {
    let mut ops = vec![Op::Mount {
        source: Source::Bind { path: c"/usr".into(), recursive: true, device: None },
        target: InRootPath::lit("/usr"),
        kind: TargetKind::Dir,
        attrs: MOUNT_ATTR_RDONLY | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID,
    }];
    for name in ["bin", "sbin", "lib", "lib32", "lib64", "libx32"] {
        let host = PathBuf::from("/").join(name);
        let Ok(md) = std::fs::symlink_metadata(&host) else { continue };
        let target = InRootPath::new("sandbox path", &host)?;
        if md.file_type().is_symlink() {
            let link = std::fs::read_link(&host).map_err(|e| Error::os("readlink", host.display().to_string(), e))?;
            ops.push(Op::Symlink { path: target, contents: cstring("symlink", link.as_os_str().as_bytes())? });
        } else if md.is_dir() {
            ops.push(Op::Mount {
                source: Source::Bind { path: cstring("bind source", host.as_os_str().as_bytes())?, recursive: true, device: None },
                target,
                kind: TargetKind::Dir,
                attrs: MOUNT_ATTR_RDONLY | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID,
            });
        }
    }
    let host = hostname.unwrap_or("localhost");
    for (dir, mode) in [("/etc", 0o755), ("/root", 0o700), ("/home", 0o755), ("/run", 0o755)] {
        ops.push(Op::Dir { path: InRootPath::lit(dir), mode });
    }
    ops.extend(host_etc_ops()?);
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
        ("/etc/hosts", format!("127.0.0.1\tlocalhost {host}\n::1\tlocalhost ip6-localhost\n")),
        ("/etc/hostname", format!("{host}\n")),
        ("/etc/nsswitch.conf", "passwd: files\ngroup: files\nhosts: files\n".to_string()),
    ] {
        ops.push(Op::File { path: InRootPath::lit(file), contents: contents.into_bytes(), mode: 0o644 });
    }
    Ok(ops)
}

/// What the host's /usr needs from /etc to work: the Debian alternatives its links point
/// into, the loader cache, the CA certificates and OpenSSL config (/usr/lib/ssl links
/// here), the time zone. Nothing with secrets: no passwd, shadow, ssl/private.
const HOST_ETC: &[&str] =
    &["/etc/alternatives", "/etc/ld.so.cache", "/etc/ssl/certs", "/etc/ssl/openssl.cnf", "/etc/localtime"];

/// The [`HOST_ETC`] entries the host has: a symlink is recreated (no mount), a directory
/// or regular file is bound read-only, nosuid, nodev; anything else is skipped.
fn host_etc_ops() -> Result<Vec<Op>> {
    let mut ops = Vec::new();
    for path in HOST_ETC {
        let Ok(md) = std::fs::symlink_metadata(path) else { continue };
        let target = InRootPath::lit(path);
        let kind = if md.file_type().is_symlink() {
            let link = std::fs::read_link(path).map_err(|e| Error::os("readlink", *path, e))?;
            ops.push(Op::Symlink { path: target, contents: cstring("symlink", link.as_os_str().as_bytes())? });
            continue;
        } else if md.is_dir() {
            TargetKind::Dir
        } else if md.is_file() {
            TargetKind::File
        } else {
            continue;
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
