//! Which cgroup hierarchies the host has, detected once.
//!
//! `cgroups-rs` decides between "v1" and "v2" only by whether `/sys/fs/cgroup` itself is a
//! cgroup2 mount, and its v1 view never sees the cgroup2 hierarchy of a hybrid host. cocoon
//! needs to know where every controller lives (on a hybrid host `hugetlb` may sit in the
//! unified hierarchy while `memory` is v1), so the detection is done here.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use super::{CgroupError, CgroupVersion};

/// How the host's cgroups are mounted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CgroupMode {
    /// Only v1 hierarchies.
    V1,
    /// Only the unified (v2) hierarchy.
    V2,
    /// v1 controller hierarchies next to a cgroup2 mount (usually `/sys/fs/cgroup/unified`).
    Hybrid,
}

/// The v1 controllers cocoon creates cgroups in.
pub(crate) const V1_CONTROLLERS: &[&str] =
    &["blkio", "memory", "pids", "cpuset", "cpuacct", "cpu", "devices", "freezer", "hugetlb"];

/// One mounted hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Hierarchy {
    pub(crate) version: CgroupVersion,
    /// Where it is mounted.
    pub(crate) mount: PathBuf,
    /// The controllers bound to it (v1: mount options; v2: the root's `cgroup.controllers`).
    pub(crate) controllers: Vec<String>,
}

impl Hierarchy {
    pub(crate) fn has(&self, controller: &str) -> bool {
        self.controllers.iter().any(|c| c == controller)
    }
}

/// The host's cgroup layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Layout {
    pub(crate) mode: CgroupMode,
    /// v1 hierarchies (in the order cocoon attaches to them: blkio before memory), then the
    /// unified hierarchy if there is one.
    pub(crate) hierarchies: Vec<Hierarchy>,
}

static LAYOUT: OnceLock<Option<Layout>> = OnceLock::new();

/// The host's layout, detected on first use.
pub(crate) fn layout() -> Result<&'static Layout, CgroupError> {
    LAYOUT
        .get_or_init(|| {
            let text = crate::kernel_file::read_to_string("/proc/self/mountinfo", 8192).ok()?;
            Layout::from_mountinfo(&text, |p| crate::kernel_file::read_to_string(p, 256).ok())
        })
        .as_ref()
        .ok_or(CgroupError::NoCgroupfs)
}

/// How the host mounts its cgroups.
pub fn host_mode() -> Result<CgroupMode, CgroupError> {
    Ok(layout()?.mode)
}

/// Where `controller` (a v1 name, or `"io"` for v2) lives, with the version of its hierarchy.
/// `"io"` and `"blkio"` name the same controller.
pub fn controller_version(controller: &str) -> Result<Option<CgroupVersion>, CgroupError> {
    Ok(layout()?.find(controller).map(|h| h.version))
}

impl Layout {
    /// Parses `/proc/self/mountinfo`; `read` reads a file (the unified root's
    /// `cgroup.controllers`).
    pub(crate) fn from_mountinfo(
        text: &str,
        read: impl Fn(&Path) -> Option<String>,
    ) -> Option<Layout> {
        let mut v1: Vec<Hierarchy> = Vec::new();
        let mut unified: Option<Hierarchy> = None;
        for line in text.lines() {
            let Some((pre, post)) = line.split_once(" - ") else { continue };
            let pre: Vec<&str> = pre.split(' ').collect();
            let post: Vec<&str> = post.split(' ').collect();
            if pre.len() < 5 || post.len() < 3 {
                continue;
            }
            let mount = PathBuf::from(unescape(pre[4]));
            match post[0] {
                "cgroup" => {
                    let controllers: Vec<String> = post[2]
                        .split(',')
                        .filter(|o| V1_CONTROLLERS.contains(o))
                        .map(String::from)
                        .collect();
                    // Named hierarchies (name=systemd) carry no controller: not ours to use.
                    if controllers.is_empty() || v1.iter().any(|h| h.controllers == controllers) {
                        continue;
                    }
                    v1.push(Hierarchy { version: CgroupVersion::V1, mount, controllers });
                }
                "cgroup2" if unified.is_none() => {
                    let controllers = read(&mount.join("cgroup.controllers"))
                        .unwrap_or_default()
                        .split_whitespace()
                        .map(String::from)
                        .collect();
                    unified = Some(Hierarchy { version: CgroupVersion::V2, mount, controllers });
                }
                _ => {}
            }
        }
        // Attach order matters for writeback accounting: blkio before memory.
        let rank = |h: &Hierarchy| {
            V1_CONTROLLERS
                .iter()
                .position(|c| h.has(c))
                .unwrap_or(V1_CONTROLLERS.len())
        };
        v1.sort_by_key(rank);
        let mode = match (v1.is_empty(), &unified) {
            (true, None) => return None,
            (true, Some(_)) => CgroupMode::V2,
            (false, None) => CgroupMode::V1,
            (false, Some(_)) => CgroupMode::Hybrid,
        };
        let mut hierarchies = v1;
        hierarchies.extend(unified);
        Some(Layout { mode, hierarchies })
    }

    /// Where device rules are enforced: the v1 devices hierarchy, or else the unified
    /// hierarchy (with an eBPF program; on a hybrid host without a v1 devices controller too).
    pub(crate) fn devices_home(&self) -> Option<&Hierarchy> {
        self.find("devices")
            .filter(|h| h.version == CgroupVersion::V1)
            .or_else(|| self.hierarchies.iter().find(|h| h.version == CgroupVersion::V2))
    }

    /// The hierarchy that holds `controller` (`"io"`/`"blkio"` are one controller).
    pub(crate) fn find(&self, controller: &str) -> Option<&Hierarchy> {
        let (v1name, v2name) = match controller {
            "io" | "blkio" => ("blkio", "io"),
            c => (c, c),
        };
        self.hierarchies.iter().find(|h| match h.version {
            CgroupVersion::V1 => h.has(v1name),
            CgroupVersion::V2 => h.has(v2name),
        })
    }
}

/// Undoes mountinfo's octal escapes (`\040` for a space).
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 4 <= b.len() {
            let d = &b[i + 1..i + 4];
            if d.iter().all(|c| (b'0'..=b'7').contains(c)) {
                let v = d.iter().fold(0u32, |acc, c| acc * 8 + u32::from(c - b'0'));
                out.push(v as u8);
                i += 4;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
34 31 0:31 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
35 31 0:32 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
36 31 0:33 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

    #[test]
    fn hybrid_layout() {
        let l = Layout::from_mountinfo(HYBRID, |_| Some("hugetlb\n".into())).unwrap();
        assert_eq!(l.mode, CgroupMode::Hybrid);
        assert_eq!(l.hierarchies.len(), 4, "systemd's named hierarchy is skipped");
        assert_eq!(l.hierarchies[0].mount, Path::new("/sys/fs/cgroup/blkio"), "blkio first");
        assert_eq!(l.find("io").unwrap().version, CgroupVersion::V1);
        assert_eq!(l.find("hugetlb").unwrap().version, CgroupVersion::V2);
        assert!(l.find("pids").is_none());
    }

    #[test]
    fn pure_v2_layout() {
        let mi = "30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n";
        let l = Layout::from_mountinfo(mi, |_| Some("cpuset cpu io memory pids".into())).unwrap();
        assert_eq!(l.mode, CgroupMode::V2);
        assert_eq!(l.find("blkio").unwrap().mount, Path::new("/sys/fs/cgroup"));
        assert!(l.find("devices").is_none());
    }

    #[test]
    fn no_cgroups() {
        assert!(Layout::from_mountinfo("1 0 0:1 / / rw - ext4 /dev/vda rw\n", |_| None).is_none());
    }

    #[test]
    fn octal_unescape() {
        assert_eq!(unescape("/a\\040b"), "/a b");
        assert_eq!(unescape("/plain"), "/plain");
        assert_eq!(unescape("/end\\04"), "/end\\04");
    }

    #[test]
    fn this_host_is_detected() {
        let l = layout().unwrap();
        assert!(!l.hierarchies.is_empty());
    }
}
