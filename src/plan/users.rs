//! User names to ids: the container's (or the host sandbox's) passwd and group.

use std::path::Path;

use crate::error::{Error, Result};
use crate::image_file::read_first_in_roots;
use crate::process::User;

/// Where a user name is looked up: the files of the container's future root.
pub(crate) enum NameRoot<'a> {
    /// The synthetic /etc of the host sandbox.
    Sandbox,
    /// A directory whose `etc/passwd` is read in-root.
    Dirs(Vec<&'a Path>),
}

pub(super) const SANDBOX_PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n";
pub(super) const SANDBOX_GROUP: &str = "root:x:0:\ntty:x:5:\nnogroup:x:65534:\n";

/// Resolves a [`User`] to numeric ids, reading the container's passwd/group for names.
pub(super) fn resolve_user(user: &User, names: &NameRoot<'_>) -> Result<(u32, u32, Vec<libc::gid_t>)> {
    match user {
        User::Id { uid, gid, groups } => Ok((*uid, *gid, groups.clone())),
        User::Name(name) => {
            let (passwd, group) = match names {
                NameRoot::Sandbox => (SANDBOX_PASSWD.as_bytes().to_vec(), SANDBOX_GROUP.as_bytes().to_vec()),
                // Typed errors for a FIFO, device or huge file: never block or truncate.
                NameRoot::Dirs(dirs) => (
                    read_first_in_roots(dirs, "etc/passwd")?.unwrap_or_default(),
                    read_first_in_roots(dirs, "etc/group")?.unwrap_or_default(),
                ),
            };
            let entry = String::from_utf8_lossy(&passwd)
                .lines()
                .map(|l| l.split(':').collect::<Vec<_>>())
                .find(|f| f.len() >= 4 && f[0] == name)
                .map(|f| (f[2].parse::<u32>(), f[3].parse::<u32>()));
            let (uid, gid) = match entry {
                Some((Ok(u), Ok(g))) => (u, g),
                Some(_) => return Err(Error::invalid("user", format!("{name:?} has a malformed passwd entry"))),
                None => {
                    return Err(Error::invalid("user", format!("{name:?} is not in the container's /etc/passwd")))
                }
            };
            let groups = String::from_utf8_lossy(&group)
                .lines()
                .filter_map(|l| {
                    let f: Vec<_> = l.split(':').collect();
                    (f.len() >= 4 && f[3].split(',').any(|m| m == name)).then(|| f[2].parse::<u32>().ok())?
                })
                .collect();
            Ok((uid, gid, groups))
        }
    }
}
