//! Is SELinux on? Where is its policy? Is a context valid in the loaded policy?

use std::ffi::CStr;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// `SELINUX_MAGIC` from `<linux/magic.h>`: the `f_type` of selinuxfs.
pub const SELINUX_MAGIC: i64 = 0xf97c_ff8c;

/// Where `/etc/selinux/config` lives.
pub const SELINUX_CONFIG: &str = "/etc/selinux/config";

/// What detection found, kept for the life of the process.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Detected {
    enabled: bool,
    selinuxfs: Option<PathBuf>,
}

static DETECTED: OnceLock<Detected> = OnceLock::new();

/// Whether SELinux is enabled for this process: selinuxfs is mounted read-write (found
/// in `/proc/self/mountinfo`, confirmed by `statfs` == `SELINUX_MAGIC`) and our own label
/// (`/proc/self/attr/current`) is readable and not `kernel` (the label of every process
/// when no policy was loaded). The answer is computed once and cached.
///
/// When this is false every labelling call of this module is a no-op returning
/// [`Applied::Skipped`](super::Applied::Skipped), unless
/// [`SelinuxConfig::require`](super::SelinuxConfig::require) asks for an error instead.
pub fn selinux_enabled() -> bool {
    detected().enabled
}

/// The selinuxfs mount point, when SELinux is enabled.
pub fn selinuxfs_mount() -> Option<&'static Path> {
    detected().selinuxfs.as_deref()
}

fn detected() -> &'static Detected {
    DETECTED.get_or_init(|| {
        let mountinfo = crate::kernel_file::read_to_string("/proc/self/mountinfo", 8192).unwrap_or_default();
        let Some(mnt) = find_selinuxfs(&mountinfo) else {
            return Detected { enabled: false, selinuxfs: None };
        };
        if !statfs_is_selinuxfs_rw(&mnt) {
            return Detected { enabled: false, selinuxfs: None };
        }
        let current = std::fs::read("/proc/self/attr/current").ok();
        let enabled = label_means_enabled(current.as_deref());
        Detected { enabled, selinuxfs: enabled.then_some(mnt) }
    })
}

/// Whether the content of `/proc/self/attr/current` (None: unreadable) says a policy is
/// loaded: a non-empty label that is not `kernel`.
pub(crate) fn label_means_enabled(current: Option<&[u8]>) -> bool {
    let Some(raw) = current else { return false };
    let label = raw.split(|b| *b == 0).next().unwrap_or_default();
    let label = String::from_utf8_lossy(label);
    let label = label.trim();
    !label.is_empty() && label != "kernel"
}

/// Finds a read-write selinuxfs in `/proc/self/mountinfo` text.
pub(crate) fn find_selinuxfs(mountinfo: &str) -> Option<PathBuf> {
    for line in mountinfo.lines() {
        // id parent maj:min root mountpoint options [optional...] - fstype source superopts
        let Some((left, right)) = line.split_once(" - ") else { continue };
        let mut r = right.split(' ');
        if r.next() != Some("selinuxfs") {
            continue;
        }
        let super_opts = r.nth(1).unwrap_or("");
        let l: Vec<&str> = left.split(' ').collect();
        if l.len() < 6 {
            continue;
        }
        let ro = |opts: &str| opts.split(',').any(|o| o == "ro");
        if ro(l[5]) || ro(super_opts) {
            continue;
        }
        return Some(PathBuf::from(unescape_mountinfo(l[4])));
    }
    None
}

/// Undoes the `\NNN` octal escapes of mountinfo paths.
fn unescape_mountinfo(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c)) {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn statfs_is_selinuxfs_rw(path: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = std::ffi::CString::new(path.as_os_str().as_bytes()) else { return false };
    // SAFETY: statfs writes into the zeroed struct we own; `c` is a valid C string.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: see above.
    if unsafe { libc::statfs(c.as_ptr(), &mut st) } != 0 {
        return false;
    }
    if st.f_type as i64 != SELINUX_MAGIC {
        return false;
    }
    // SAFETY: statvfs writes into the zeroed struct we own; `c` is a valid C string.
    let mut vfs: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: see above.
    if unsafe { libc::statvfs(c.as_ptr(), &mut vfs) } != 0 {
        return false;
    }
    vfs.f_flag & libc::ST_RDONLY == 0
}

/// The contents of `/etc/selinux/config` that matter here.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SelinuxConfigFile {
    /// `SELINUX=` (`enforcing`, `permissive`, `disabled`).
    pub mode: Option<String>,
    /// `SELINUXTYPE=`: the policy name (`default` on Debian, `targeted` on Fedora).
    pub policy_type: Option<String>,
}

/// Parses `/etc/selinux/config` text: `KEY=value` lines, `#` comments, optional quotes.
pub fn parse_selinux_config(text: &str) -> SelinuxConfigFile {
    let mut cfg = SelinuxConfigFile::default();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((k, v)) = line.split_once('=') else { continue };
        let v = v.trim().trim_matches('"').trim().to_string();
        match k.trim() {
            "SELINUX" => cfg.mode = Some(v),
            "SELINUXTYPE" => cfg.policy_type = Some(v),
            _ => {}
        }
    }
    cfg
}

/// The policy root, `/etc/selinux/<SELINUXTYPE>`, from `/etc/selinux/config`; None when
/// the file or the key is missing, or the name is not a plain file name.
pub fn policy_root() -> Option<PathBuf> {
    let text = std::fs::read_to_string(SELINUX_CONFIG).ok()?;
    policy_root_from(&text, Path::new("/etc/selinux"))
}

pub(crate) fn policy_root_from(config_text: &str, base: &Path) -> Option<PathBuf> {
    let name = parse_selinux_config(config_text).policy_type?;
    if name.is_empty() || name.contains('/') || name == "." || name == ".." {
        return None;
    }
    Some(base.join(name))
}

/// `security_check_context`, as libselinux does it: write the context (with its NUL) to
/// `<selinuxfs>/context`; the kernel refuses an invalid one with `EINVAL`. (cocoon does not
/// link libselinux: this was its only use, and loading it cost every process ≈ 0.8 ms.)
pub(crate) fn check_context(ctx: &CStr) -> io::Result<()> {
    use std::io::Write;
    let mnt = selinuxfs_mount().ok_or_else(|| io::Error::from_raw_os_error(libc::ENOSYS))?;
    let mut f = std::fs::OpenOptions::new().read(true).write(true).open(mnt.join("context"))?;
    f.write(ctx.to_bytes_with_nul()).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOUNTINFO_ON: &str = "\
22 1 252:1 / / rw,relatime shared:1 - ext4 /dev/vda rw
23 22 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw
24 22 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:2 - sysfs sysfs rw
25 24 0:20 / /sys/fs/selinux rw,nosuid,noexec,relatime shared:3 - selinuxfs selinuxfs rw
";

    #[test]
    fn selinux_mountinfo_detection() {
        assert_eq!(find_selinuxfs(MOUNTINFO_ON), Some(PathBuf::from("/sys/fs/selinux")));
        let ro = MOUNTINFO_ON.replace("selinux rw,nosuid", "selinux ro,nosuid");
        assert_eq!(find_selinuxfs(&ro), None);
        let ro_super = MOUNTINFO_ON.replace("selinuxfs selinuxfs rw", "selinuxfs selinuxfs ro");
        assert_eq!(find_selinuxfs(&ro_super), None);
        let odd = MOUNTINFO_ON.replace("/sys/fs/selinux", "/my\\040selinux");
        assert_eq!(find_selinuxfs(&odd), Some(PathBuf::from("/my selinux")));
        assert_eq!(find_selinuxfs(&MOUNTINFO_ON.replace("selinuxfs selinuxfs", "tmpfs tmpfs")), None);
        // this host's real mountinfo has no selinuxfs
        let real = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        assert_eq!(find_selinuxfs(&real), None);
    }

    #[test]
    fn selinux_current_label_rule() {
        assert!(!label_means_enabled(None));
        assert!(!label_means_enabled(Some(b"kernel\0")));
        assert!(!label_means_enabled(Some(b"kernel\n")));
        assert!(!label_means_enabled(Some(b"")));
        assert!(label_means_enabled(Some(b"system_u:system_r:kernel_t:s0\0")));
        assert!(label_means_enabled(Some(b"unconfined_u:unconfined_r:unconfined_t:s0-s0:c0.c1023")));
    }

    #[test]
    fn selinux_config_file() {
        let text = "# comment\nSELINUX=enforcing\n  SELINUXTYPE = \"default\" \n";
        let c = parse_selinux_config(text);
        assert_eq!(c.mode.as_deref(), Some("enforcing"));
        assert_eq!(c.policy_type.as_deref(), Some("default"));
        assert_eq!(policy_root_from(text, Path::new("/etc/selinux")), Some(PathBuf::from("/etc/selinux/default")));
        assert_eq!(policy_root_from("SELINUXTYPE=../x", Path::new("/etc/selinux")), None);
        assert_eq!(policy_root_from("SELINUX=disabled", Path::new("/etc/selinux")), None);
    }

    #[test]
    fn selinux_host_is_disabled() {
        // This machine's kernel has no SELinux: detection must say so. In the qemu VM
        // (COCOON_VM_SELINUX=1, policy loaded, enforcing) it must say the opposite.
        let in_vm = std::env::var_os("COCOON_VM_SELINUX").is_some();
        assert_eq!(selinux_enabled(), in_vm);
        assert_eq!(selinuxfs_mount().is_some(), in_vm);
    }
}
