//! Unit tests of planning, on made-up hosts ([`HostFacts`] written by hand): they need no
//! root and no particular machine (`cargo test --lib plan` as any user).
//!
//! Plans are compared as text: [`render`] writes one line per setting and per op, so an
//! expected plan reads like a list of what the child will do. `ops.rs` holds the expected
//! plans of representative builders, `errors.rs` what each bad input gives.

mod errors;
mod ops;

use std::ffi::CStr;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use super::facts::HostEntry;
use super::{HostFacts, Op, Plan, Source, TargetKind};
use crate::builder::ContainerBuilder;
use crate::cgroup::Layout;
use crate::error::Error;
use crate::sys::{MOUNT_ATTR_NODEV, MOUNT_ATTR_NOEXEC, MOUNT_ATTR_NOSUID, MOUNT_ATTR_RDONLY};

/// The machine the tests were written against: hybrid cgroups (v1 controllers, an almost
/// empty cgroup2 at /sys/fs/cgroup/unified).
static HYBRID: LazyLock<Layout> = LazyLock::new(|| {
    let mountinfo = "\
31 23 0:28 / /sys/fs/cgroup ro - tmpfs tmpfs ro,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct
33 31 0:30 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
34 31 0:31 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids
35 31 0:32 / /sys/fs/cgroup/devices rw - cgroup cgroup rw,devices
36 31 0:33 / /sys/fs/cgroup/freezer rw - cgroup cgroup rw,freezer
37 31 0:34 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw,nsdelegate
";
    layout(mountinfo, "")
});

/// A pure cgroup v2 host without the memory controller enabled.
static V2_NO_MEMORY: LazyLock<Layout> = LazyLock::new(|| {
    layout("30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n", "cpuset cpu io pids")
});

fn layout(mountinfo: &str, v2_controllers: &str) -> Layout {
    match Layout::from_mountinfo(mountinfo, |_| Some(v2_controllers.to_string())) {
        Some(l) => l,
        None => panic!("test mountinfo has no cgroups"),
    }
}

/// Root in the initial user namespace on a merged-/usr Debian with Linux 6.18 and hybrid
/// cgroups: the device policy applies, setgroups may stay allowed.
fn root_host() -> HostFacts<'static> {
    let link = |to: &str| HostEntry::Symlink(PathBuf::from(to));
    HostFacts {
        cap_setgid: true,
        device_policy: true,
        kernel: (6, 18),
        last_cap: 40,
        cgroup: Some(&HYBRID),
        sandbox: vec![
            ("/bin", link("usr/bin")),
            ("/sbin", link("usr/sbin")),
            ("/lib", link("usr/lib")),
            ("/lib64", link("usr/lib64")),
            ("/etc/alternatives", HostEntry::Dir),
            ("/etc/ld.so.cache", HostEntry::File),
            ("/etc/ssl/certs", HostEntry::Dir),
            ("/etc/localtime", link("/usr/share/zoneinfo/Etc/UTC")),
        ],
        landlock_abi: 7,
    }
}

/// An unprivileged caller: no CAP_SETGID, no device policy (no cgroup of its own).
fn user_host() -> HostFacts<'static> {
    HostFacts { cap_setgid: false, device_policy: false, ..root_host() }
}

/// The plan of `b` on `host`, or the test fails with the error.
fn plan(b: &ContainerBuilder, host: &HostFacts<'_>) -> Plan {
    match Plan::for_host(b, host) {
        Ok(p) => p,
        Err(e) => panic!("planning failed: {e}"),
    }
}

fn attrs(a: u64) -> String {
    let names = [(MOUNT_ATTR_RDONLY, "ro"), (MOUNT_ATTR_NOSUID, "nosuid"), (MOUNT_ATTR_NODEV, "nodev"), (MOUNT_ATTR_NOEXEC, "noexec")];
    let set: Vec<&str> = names.iter().filter(|(bit, _)| a & bit != 0).map(|(_, n)| *n).collect();
    format!("[{}]", set.join(","))
}

fn source(s: &Source) -> String {
    match s {
        Source::Bind { path, recursive, device } => {
            let dev = device.map(|d| format!(" ({}:{})", libc::major(d), libc::minor(d))).unwrap_or_default();
            format!("{} {}{dev}", if *recursive { "rbind" } else { "bind" }, lossy(path))
        }
        Source::Fs { fstype, options, labeled } => {
            let opts: Vec<String> = options
                .iter()
                .map(|(k, v)| match v {
                    Some(v) => format!("{}={}", lossy(k), lossy(v)),
                    None => lossy(k),
                })
                .collect();
            let opts = if opts.is_empty() { String::new() } else { format!(" {}", opts.join(",")) };
            format!("{}{opts}{}", lossy(fstype), if *labeled { " labeled" } else { "" })
        }
    }
}

fn lossy(s: &CStr) -> String {
    s.to_string_lossy().into_owned()
}

/// One line per op, in order.
fn render_op(op: &Op) -> String {
    match op {
        Op::Mount { source: s, target, kind, attrs: a } => {
            let file = if *kind == TargetKind::File { " (file)" } else { "" };
            format!("mount {} on {}{file} {}", source(s), target.display, attrs(*a))
        }
        Op::Symlink { path, contents } => format!("symlink {} -> {}", path.display, lossy(contents)),
        Op::File { path, contents, mode } => {
            format!("file {} {mode:04o} {:?}", path.display, String::from_utf8_lossy(contents))
        }
        Op::Dir { path, mode } => format!("dir {} {mode:04o}", path.display),
        Op::Setattr { target, attrs: a } => format!("setattr {} {}", target.display, attrs(*a)),
    }
}

fn yes(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

/// The whole plan as text: its settings, the process, then the ops.
fn render(p: &Plan) -> String {
    let opt = |s: &Option<String>| s.as_ref().map_or("-".to_string(), |s| format!("{s:?}"));
    let cstr = |s: &Option<std::ffi::CString>| s.as_deref().map_or("-".to_string(), lossy);
    let paths = |v: &[super::InRootPath]| v.iter().map(|p| p.display.as_str()).collect::<Vec<_>>().join(" ");
    let pr = &p.process;
    let mut out = vec![
        format!("namespaces {:?}", p.namespaces),
        format!("root {} {} read-only={}", source(&p.root), attrs(p.root_attrs), yes(p.read_only_root)),
        format!("uid_map {} gid_map {}", opt(&p.uid_map), opt(&p.gid_map)),
        format!("setgroups {} become_root {}", if p.setgroups_deny { "deny" } else { "allow" }, yes(p.become_root)),
        format!("time_offsets {}", opt(&p.time_offsets)),
        format!("hostname {} domainname {}", cstr(&p.hostname), cstr(&p.domainname)),
        format!("loopback {} init {}", yes(p.loopback), yes(p.init)),
        format!("joins {:?}", p.joins),
        format!("masked {}", paths(&p.masked)),
        format!("readonly {}", paths(&p.readonly)),
        match &p.cgroup {
            None => "cgroup -".to_string(),
            Some(c) => format!(
                "cgroup policy_only={} shared={} device_rules={}",
                yes(c.policy_only),
                yes(c.policy_shared),
                c.devices.len()
            ),
        },
        format!("argv {:?}", pr.argv),
        format!("exec {:?}", pr.candidates.iter().map(|c| lossy(c)).collect::<Vec<_>>()),
        format!(
            "cwd {} uid {} gid {} groups {:?} set_groups {}",
            lossy(&pr.cwd),
            pr.uid,
            pr.gid,
            pr.groups,
            yes(pr.set_groups)
        ),
        format!(
            "last_cap {} no_new_privs {} default_seccomp {} seccomp {}",
            pr.last_cap,
            yes(pr.no_new_privs),
            yes(pr.default_seccomp.is_some()),
            yes(pr.seccomp.is_some())
        ),
    ];
    out.extend(p.ops.iter().map(render_op));
    out.join("\n") + "\n"
}

/// What differs between two renderings, line by line (longest common subsequence):
/// `-` lines only `a` has, `+` lines only `b` has, in order.
fn delta(a: &str, b: &str) -> String {
    let (a, b): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] { lcs[i + 1][j + 1] + 1 } else { lcs[i + 1][j].max(lcs[i][j + 1]) };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, String::new());
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            (i, j) = (i + 1, j + 1);
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            out.push_str(&format!("-{}\n", a[i]));
            i += 1;
        } else {
            out.push_str(&format!("+{}\n", b[j]));
            j += 1;
        }
    }
    out
}

/// Compares a rendering with the expected text; on a mismatch shows both and the delta.
#[track_caller]
fn assert_text(got: &str, want: &str) {
    if got != want {
        panic!("plan differs from the expected text.\n--- got:\n{got}--- delta (want -> got):\n{}", delta(want, got));
    }
}

/// A directory for one test, removed when dropped (tests run as any user: under $TMPDIR).
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let p = std::env::temp_dir().join(format!("cocoon-plan-{}-{n}-{name}", std::process::id()));
        if let Err(e) = std::fs::create_dir_all(&p) {
            panic!("mkdir {}: {e}", p.display());
        }
        TempDir(p)
    }

    fn path(&self) -> &Path {
        &self.0
    }

    /// Writes `contents` at `rel`, making parent directories.
    fn write(&self, rel: &str, contents: &str) -> PathBuf {
        let p = self.0.join(rel);
        if let Some(d) = p.parent() {
            let _ = std::fs::create_dir_all(d);
        }
        if let Err(e) = std::fs::write(&p, contents) {
            panic!("write {}: {e}", p.display());
        }
        p
    }

    fn mkdir(&self, rel: &str) -> PathBuf {
        let p = self.0.join(rel);
        if let Err(e) = std::fs::create_dir_all(&p) {
            panic!("mkdir {}: {e}", p.display());
        }
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn delta_shows_changed_lines_in_order() {
    assert_eq!(delta("a\nb\nc\n", "a\nB\nc\nd\n"), "-b\n+B\n+d\n");
    assert_eq!(delta("x\n", "x\n"), "");
}
