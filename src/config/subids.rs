//! Subordinate ids: a container with many uids and gids for a caller without privileges,
//! from its ranges in `/etc/subuid` and `/etc/subgid`, mapped through the setuid helpers
//! `newuidmap` / `newgidmap` (Debian package `uidmap`), which check the ranges against the
//! same files. Without them an unprivileged caller can map only its own uid and gid.
//!
//! Two layouts, as podman has them:
//! - [`SubordinateIds::new`] (the default): container root is the caller (so its files are
//!   root's inside), ids `1..=count` are the first `count` subordinate ids — inside uid
//!   1000 is `base + 999` outside;
//! - [`SubordinateIds::whole_range`]: ids `0..count` are the subordinate ids and the caller
//!   itself is not mapped — inside uid 1000 is `base + 1000` outside.
//!
//! A caller with CAP_SETUID and CAP_SETGID (root) may map anything itself: it writes the
//! maps directly, from the ranges of its own user name (root's entries).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::idmap::IdRange;
use crate::error::{Error, Result};

/// The number of ids podman and LXC give a container by default.
pub const DEFAULT_SUBORDINATE_COUNT: u32 = 65536;

const WHAT: &str = "subordinate ids";

/// The files newuidmap/newgidmap check the ranges against, so ours are read from there too.
const SUBUID: &str = "/etc/subuid";
const SUBGID: &str = "/etc/subgid";

/// How a container's user namespace takes its ids from the caller's subordinate ranges
/// ([`crate::ContainerBuilder::subordinate_ids`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubordinateIds {
    count: u32,
    caller_is_root: bool,
    newuidmap: PathBuf,
    newgidmap: PathBuf,
}

impl Default for SubordinateIds {
    fn default() -> Self {
        SubordinateIds::new()
    }
}

/// One `name:start:count` line of `/etc/subuid` or `/etc/subgid`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SubRange {
    pub start: u32,
    pub count: u32,
}

impl SubordinateIds {
    /// Root inside is the caller; [`DEFAULT_SUBORDINATE_COUNT`] more ids from its ranges.
    pub fn new() -> SubordinateIds {
        SubordinateIds {
            count: DEFAULT_SUBORDINATE_COUNT,
            caller_is_root: true,
            newuidmap: PathBuf::from("/usr/bin/newuidmap"),
            newgidmap: PathBuf::from("/usr/bin/newgidmap"),
        }
    }

    /// Ids `0..count` all come from the subordinate ranges; the caller is not mapped.
    pub fn whole_range() -> SubordinateIds {
        SubordinateIds { caller_is_root: false, ..SubordinateIds::new() }
    }

    /// How many subordinate ids the container gets (default 65,536); the caller's ranges
    /// must hold them.
    pub fn count(mut self, count: u32) -> SubordinateIds {
        self.count = count;
        self
    }

    /// Where `newuidmap` and `newgidmap` are (default `/usr/bin/`).
    pub fn helpers(mut self, newuidmap: impl Into<PathBuf>, newgidmap: impl Into<PathBuf>) -> SubordinateIds {
        self.newuidmap = newuidmap.into();
        self.newgidmap = newgidmap.into();
        self
    }

    /// The number of subordinate ids asked for.
    pub fn get_count(&self) -> u32 {
        self.count
    }

    /// Checks what can be checked without the host.
    pub fn validate(&self) -> Result<()> {
        if self.count == 0 {
            return Err(Error::invalid(WHAT, "a count of 0"));
        }
        if self.count > u32::MAX / 2 {
            return Err(Error::invalid(WHAT, format!("a count of {} is more than a user namespace holds", self.count)));
        }
        Ok(())
    }

    /// The uid and gid maps for the caller (`uid`, `gid`, its user `name`), and whether the
    /// helpers write them (false: the caller may write them itself).
    pub(crate) fn resolve(&self, uid: u32, gid: u32, name: Option<&str>, privileged: bool) -> Result<Resolved> {
        self.validate()?;
        let (subuid, subgid) = (Path::new(SUBUID), Path::new(SUBGID));
        let uid_map = self.map(&ranges_of(subuid, name, uid)?, uid, subuid, name, uid)?;
        let gid_map = self.map(&ranges_of(subgid, name, uid)?, gid, subgid, name, uid)?;
        let helpers = if privileged {
            None
        } else {
            for h in [&self.newuidmap, &self.newgidmap] {
                if !h.is_file() {
                    return Err(Error::invalid(
                        WHAT,
                        format!("{} is not there: install the uidmap package (newuidmap/newgidmap)", h.display()),
                    ));
                }
            }
            Some((self.newuidmap.clone(), self.newgidmap.clone()))
        };
        Ok(Resolved { uid_map, gid_map, helpers })
    }

    /// The map: the caller (if root inside) then `count` ids taken from the ranges in
    /// file order (a map line may not span two ranges).
    fn map(&self, ranges: &[SubRange], own: u32, file: &Path, name: Option<&str>, uid: u32) -> Result<Vec<IdRange>> {
        let mut map = Vec::new();
        let mut inside = 0u32;
        if self.caller_is_root {
            map.push(IdRange::new(0, own, 1));
            inside = 1;
        }
        let mut left = self.count;
        for r in ranges {
            if left == 0 {
                break;
            }
            let n = r.count.min(left);
            map.push(IdRange::new(inside, r.start, n));
            inside += n;
            left -= n;
        }
        if left > 0 {
            let who = name.map_or_else(|| uid.to_string(), |n| format!("{n} (uid {uid})"));
            return Err(Error::invalid(
                WHAT,
                format!(
                    "{} gives {who} {} ids, {} asked for: add a range such as `{}:100000:65536`",
                    file.display(),
                    self.count - left,
                    self.count,
                    name.unwrap_or("USER")
                ),
            ));
        }
        super::idmap::validate_id_map(WHAT, &map)?;
        Ok(map)
    }
}

/// A copy of `b` with the maps of `s` for this caller, in a new user namespace.
pub(crate) fn with_maps(b: &crate::ContainerBuilder, s: &SubordinateIds) -> Result<crate::ContainerBuilder> {
    let (uid, gid) = (nix::unistd::getuid(), nix::unistd::getgid());
    let name = nix::unistd::User::from_uid(uid).ok().flatten().map(|u| u.name);
    let has = |c| caps::has_cap(None, caps::CapSet::Effective, c).unwrap_or(false);
    let privileged = has(caps::Capability::CAP_SETUID) && has(caps::Capability::CAP_SETGID);
    let r = s.resolve(uid.as_raw(), gid.as_raw(), name.as_deref(), privileged)?;
    let mut b = b.clone();
    b.namespaces |= crate::Namespaces::USER;
    b.id_helpers = r.helpers.map(|(newuidmap, newgidmap)| crate::plan::IdHelpers {
        newuidmap,
        newgidmap,
        uid_map: r.uid_map.clone(),
        gid_map: r.gid_map.clone(),
    });
    b.uid_map = r.uid_map;
    b.gid_map = r.gid_map;
    Ok(b)
}

/// The maps, and the helpers that write them (None: written directly).
#[derive(Debug, Clone)]
pub(crate) struct Resolved {
    pub uid_map: Vec<IdRange>,
    pub gid_map: Vec<IdRange>,
    pub helpers: Option<(PathBuf, PathBuf)>,
}

/// The ranges of the user `name` (or numeric `uid`) in a subuid/subgid file, in file order.
/// A missing file gives no ranges; malformed lines are skipped (as shadow's tools do).
pub(crate) fn ranges_of(file: &Path, name: Option<&str>, uid: u32) -> Result<Vec<SubRange>> {
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(Error::os("read", file.display().to_string(), e)),
    };
    Ok(parse(&text, name, uid))
}

fn parse(text: &str, name: Option<&str>, uid: u32) -> Vec<SubRange> {
    let uid_text = uid.to_string();
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut f = line.split(':');
        let (Some(who), Some(start), Some(count), None) = (f.next(), f.next(), f.next(), f.next()) else { continue };
        if Some(who) != name && who != uid_text {
            continue;
        }
        if let (Ok(start), Ok(count)) = (start.parse::<u32>(), count.parse::<u32>()) {
            if count > 0 && u64::from(start) + u64::from(count) < u64::from(u32::MAX) {
                out.push(SubRange { start, count });
            }
        }
    }
    out
}

/// Runs `helper PID inside outside count ...` (newuidmap/newgidmap) for `pid`.
pub(crate) fn run_helper(helper: &Path, pid: i32, map: &[IdRange]) -> Result<()> {
    let mut args: Vec<OsString> = vec![pid.to_string().into()];
    for r in map {
        args.extend([r.inside.to_string().into(), r.outside.to_string().into(), r.count.to_string().into()]);
    }
    let out = std::process::Command::new(helper)
        .args(&args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .output()
        .map_err(|e| Error::os("exec", helper.display().to_string(), e))?;
    if !out.status.success() {
        let why = String::from_utf8_lossy(&out.stderr).trim().to_string();
        return Err(Error::os(
            "id map helper",
            format!("{} {pid} ... failed ({}): {why}", helper.display(), out.status),
            std::io::Error::from_raw_os_error(libc::EPERM),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_by_name_or_uid_in_file_order() {
        let text = "# comment\nalice:100000:65536\nbob:200000:10\n1000:300000:5\nalice:400000:x\nalice:500000:100\n";
        assert_eq!(
            parse(text, Some("alice"), 1000),
            [
                SubRange { start: 100000, count: 65536 },
                SubRange { start: 300000, count: 5 },
                SubRange { start: 500000, count: 100 }
            ]
        );
        assert_eq!(parse(text, Some("carol"), 7), []);
    }

    #[test]
    fn maps_span_ranges_and_say_what_is_missing() {
        let s = SubordinateIds::new().count(12);
        let r = [SubRange { start: 200000, count: 10 }, SubRange { start: 300000, count: 100 }];
        let m = s.map(&r, 1000, Path::new("/etc/subuid"), Some("alice"), 1000).unwrap_or_default();
        assert_eq!(m, [IdRange::new(0, 1000, 1), IdRange::new(1, 200000, 10), IdRange::new(11, 300000, 2)]);
        let w = SubordinateIds::whole_range().count(5);
        let m = w.map(&r, 1000, Path::new("/etc/subuid"), Some("alice"), 1000).unwrap_or_default();
        assert_eq!(m, [IdRange::new(0, 200000, 5)]);
        match SubordinateIds::new().map(&r, 1000, Path::new("/etc/subuid"), Some("alice"), 1000) {
            Err(Error::InvalidConfig { reason, .. }) => {
                assert!(reason.contains("/etc/subuid gives alice (uid 1000) 110 ids, 65536 asked for"), "{reason}")
            }
            other => panic!("{other:?}"),
        }
    }
}
