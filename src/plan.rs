//! `Plan`: everything the child needs, computed in the parent before the clone.
//!
//! The child (src/child.rs) may not allocate, so every string, path, mask and list it
//! uses lives here, built once. A `Plan` can spawn any number of containers.

use std::ffi::{CStr, CString, OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use libc::c_char;

use crate::builder::ContainerBuilder;
use crate::capability::{last_cap, Capabilities};
use crate::cgroup::CgroupConfig;
use crate::container::Container;
use crate::error::{Error, Result, Stage};
use crate::idmap::{self, map_to_host};
use crate::image_file::read_first_in_roots;
use crate::mount::{container_path, MountKind};
use crate::namespace::Namespaces;
use crate::process::{Process, Rlimit, Stdio, User};
use crate::rootfs::Rootfs;
use crate::selinux::SelinuxConfig;
use crate::sys::{MOUNT_ATTR_NODEV, MOUNT_ATTR_NOEXEC, MOUNT_ATTR_NOSUID, MOUNT_ATTR_RDONLY};

/// The default `PATH` used to find a program given by name.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

fn cstring(what: &'static str, bytes: &[u8]) -> Result<CString> {
    CString::new(bytes).map_err(|_| {
        Error::invalid(what, format!("{:?} contains a NUL byte", String::from_utf8_lossy(bytes)))
    })
}

/// A NUL-terminated array of C strings (argv/envp), with the pointer array built once.
pub(crate) struct CStrArray {
    strings: Vec<CString>,
    ptrs: Vec<*const c_char>,
}

// SAFETY: `ptrs` point into the heap buffers of `strings`, which this struct owns and
// never mutates after construction; sharing them across threads is read-only.
unsafe impl Send for CStrArray {}
// SAFETY: as above: immutable after construction.
unsafe impl Sync for CStrArray {}

impl CStrArray {
    fn new(strings: Vec<CString>) -> CStrArray {
        let mut ptrs: Vec<*const c_char> = strings.iter().map(|s| s.as_ptr()).collect();
        ptrs.push(std::ptr::null());
        CStrArray { strings, ptrs }
    }

    /// The NULL-terminated pointer array.
    pub(crate) fn as_ptr(&self) -> *const *const c_char {
        self.ptrs.as_ptr()
    }
}

impl std::fmt::Debug for CStrArray {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(&self.strings).finish()
    }
}

/// A path inside the container, resolved by the child relative to the root fd.
#[derive(Debug)]
pub(crate) struct InRootPath {
    /// The whole path relative to the root, e.g. `dev/pts`.
    pub full: CString,
    /// Cumulative prefixes (`dev`, `dev/pts`), for creating missing directories.
    pub prefixes: Vec<CString>,
    /// The single components (`dev`, `pts`).
    pub names: Vec<CString>,
    /// `/dev/pts`, for error messages.
    pub display: String,
}

impl InRootPath {
    pub(crate) fn new(what: &'static str, p: &Path) -> Result<InRootPath> {
        let parts = container_path(what, p)?;
        let mut prefixes = Vec::with_capacity(parts.len());
        let mut names = Vec::with_capacity(parts.len());
        let mut acc = OsString::new();
        for part in &parts {
            if !acc.is_empty() {
                acc.push("/");
            }
            acc.push(part);
            prefixes.push(cstring(what, acc.as_bytes())?);
            names.push(cstring(what, part.as_bytes())?);
        }
        Ok(InRootPath {
            full: cstring(what, acc.as_bytes())?,
            prefixes,
            names,
            display: format!("/{}", acc.to_string_lossy()),
        })
    }

    fn lit(p: &str) -> InRootPath {
        // Only called with the crate's own constant, valid paths.
        match InRootPath::new("path", Path::new(p)) {
            Ok(v) => v,
            Err(_) => unreachable!("constant container path {p} is valid"),
        }
    }
}

/// Where a mount comes from.
#[derive(Debug)]
pub(crate) enum Source {
    /// A copy of a host path's mount tree (`open_tree(OPEN_TREE_CLONE)`).
    Bind {
        path: CString,
        recursive: bool,
        /// For device binds: the `st_rdev` the source must have.
        device: Option<libc::dev_t>,
    },
    /// A new filesystem instance (`fsopen`/`fsconfig`/`fsmount`).
    Fs {
        fstype: &'static CStr,
        options: Vec<(CString, Option<CString>)>,
        /// Whether the container's SELinux mount label is added as `context=`.
        labeled: bool,
    },
}

impl Source {
    fn fs(fstype: &'static CStr, opts: &[(&str, Option<&str>)], labeled: bool) -> Source {
        let options = opts
            .iter()
            .map(|(k, v)| {
                (
                    CString::new(*k).unwrap_or_default(),
                    v.map(|v| CString::new(v).unwrap_or_default()),
                )
            })
            .collect();
        Source::Fs { fstype, options, labeled }
    }

    fn describe(&self) -> String {
        match self {
            Source::Bind { path, .. } => path.to_string_lossy().into_owned(),
            Source::Fs { fstype, .. } => fstype.to_string_lossy().into_owned(),
        }
    }
}

/// Whether a mount target is a directory or a file (created empty when missing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TargetKind {
    Dir,
    File,
}

/// One step of building the container's filesystem, applied in order.
#[derive(Debug)]
pub(crate) enum Op {
    /// Mount `source` at `target` with `MOUNT_ATTR_*` bits `attrs`.
    Mount { source: Source, target: InRootPath, kind: TargetKind, attrs: u64 },
    /// Create a symlink at `path` pointing to `contents`.
    Symlink { path: InRootPath, contents: CString },
    /// Create a file at `path` holding `contents`.
    File { path: InRootPath, contents: Vec<u8>, mode: u32 },
    /// Create a directory at `path` with `mode`.
    Dir { path: InRootPath, mode: u32 },
}

impl Op {
    pub(crate) fn describe(&self) -> String {
        match self {
            Op::Mount { source, target, .. } => format!("{} on {}", source.describe(), target.display),
            Op::Symlink { path, contents } => format!("{} -> {}", path.display, contents.to_string_lossy()),
            Op::File { path, .. } | Op::Dir { path, .. } => path.display.clone(),
        }
    }
}

/// A resource limit ready for `prlimit64`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RlimitPlan {
    pub which: Rlimit,
    pub resource: u32,
    pub value: libc::rlimit64,
}

/// Everything about the process, computed before the clone.
#[derive(Debug)]
pub(crate) struct ProcessPlan {
    /// Owns the argument strings `helper_tail` points at.
    #[allow(dead_code)]
    pub argv: CStrArray,
    pub envp: CStrArray,
    /// Paths to try with execve, in order (one, unless a name was searched in PATH).
    pub candidates: Vec<CString>,
    pub program: String,
    /// Working directory relative to the root (`.` for `/`).
    pub cwd: CString,
    pub cwd_display: String,
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<libc::gid_t>,
    /// False when `setgroups` is denied in the user namespace.
    pub set_groups: bool,
    pub caps: Capabilities,
    pub last_cap: u32,
    pub no_new_privs: bool,
    pub rlimits: Vec<RlimitPlan>,
    pub umask: Option<u32>,
    pub oom_score_adj: Option<i32>,
    pub stdio: [Stdio; 3],
    pub fds: Vec<(std::sync::Arc<std::os::fd::OwnedFd>, i32)>,
    /// The lowest fd number above every passed-fd target (where fds are parked first).
    pub fd_floor: i32,
    /// Sorted passed-fd targets, which `close_range` must skip.
    pub keep_fds: Vec<u32>,
    /// The compiled seccomp deny-list, if any.
    pub seccomp: Option<Vec<seccompiler::sock_filter>>,
    /// The default policy (built once per host process), unless opted out.
    pub default_seccomp: Option<&'static [seccompiler::sock_filter]>,
    /// The exec helper's argv after its per-spawn head: candidates and argv (pointing
    /// into `candidates` and `argv` above).
    pub helper_tail: crate::helper::Tail,
}

/// Where a user name is looked up: the files of the container's future root.
pub(crate) enum NameRoot<'a> {
    /// The synthetic /etc of the host sandbox.
    Sandbox,
    /// A directory whose `etc/passwd` is read in-root.
    Dirs(Vec<&'a Path>),
}

impl ProcessPlan {
    pub(crate) fn new(p: &Process, names: NameRoot<'_>, setgroups_allowed: bool) -> Result<ProcessPlan> {
        validate_process(p)?;
        let mut argv = vec![cstring("argument", p.program.as_bytes())?];
        for a in &p.args {
            argv.push(cstring("argument", a.as_bytes())?);
        }
        let mut envp = Vec::with_capacity(p.env.len());
        let mut path_var: Option<&OsStr> = None;
        for (k, v) in p.env.iter() {
            if k.as_bytes() == b"PATH" {
                path_var = Some(v);
            }
            let mut kv = k.as_bytes().to_vec();
            kv.push(b'=');
            kv.extend_from_slice(v.as_bytes());
            envp.push(cstring("environment variable", &kv)?);
        }
        let prog = p.program.as_bytes();
        let candidates = if prog.contains(&b'/') {
            vec![cstring("program", prog)?]
        } else {
            let path = path_var.map(|v| v.as_bytes()).unwrap_or(DEFAULT_PATH.as_bytes());
            let mut c = Vec::new();
            for dir in path.split(|b| *b == b':').filter(|d| !d.is_empty()) {
                let mut full = dir.to_vec();
                full.push(b'/');
                full.extend_from_slice(prog);
                c.push(cstring("program", &full)?);
            }
            if c.is_empty() {
                return Err(Error::invalid("program", "PATH is empty, so a bare name cannot be found"));
            }
            c
        };
        let cwd_parts = if p.cwd == Path::new("/") {
            Vec::new()
        } else {
            container_path("working directory", &p.cwd)?
        };
        let cwd_rel = if cwd_parts.is_empty() {
            OsString::from(".")
        } else {
            let mut s = OsString::new();
            for (i, c) in cwd_parts.iter().enumerate() {
                if i > 0 {
                    s.push("/");
                }
                s.push(c);
            }
            s
        };
        let (uid, gid, groups) = resolve_user(&p.user, &names)?;
        if !groups.is_empty() && !setgroups_allowed {
            return Err(Error::invalid(
                "supplementary groups",
                "setgroups is denied in this user namespace (the caller lacks CAP_SETGID)",
            ));
        }
        let rlimits = p
            .rlimits
            .iter()
            .map(|(w, soft, hard)| RlimitPlan {
                which: *w,
                resource: w.resource(),
                value: libc::rlimit64 { rlim_cur: *soft, rlim_max: *hard },
            })
            .collect();
        let mut keep_fds: Vec<u32> = p.fds.iter().map(|(_, t)| *t as u32).collect();
        keep_fds.sort_unstable();
        let fd_floor = p.fds.iter().map(|(_, t)| *t).max().unwrap_or(2).max(2) + 1;
        let argv = CStrArray::new(argv);
        let helper_tail = crate::helper::Tail::new(&candidates, argv.as_ptr());
        Ok(ProcessPlan {
            argv,
            envp: CStrArray::new(envp),
            candidates,
            program: p.program.to_string_lossy().into_owned(),
            cwd: cstring("working directory", cwd_rel.as_bytes())?,
            cwd_display: p.cwd.display().to_string(),
            uid,
            gid,
            groups,
            set_groups: setgroups_allowed,
            caps: p.capabilities,
            // Capability masks are 64 bits wide.
            last_cap: last_cap().min(63),
            no_new_privs: p.no_new_privs,
            rlimits,
            umask: p.umask,
            oom_score_adj: p.oom_score_adj,
            stdio: [p.stdin.clone(), p.stdout.clone(), p.stderr.clone()],
            fds: p.fds.clone(),
            fd_floor,
            keep_fds,
            seccomp: p.seccomp.as_ref().map(|f| f.compile()).transpose()?,
            default_seccomp: if p.default_seccomp { Some(crate::seccomp::default_policy::program()?) } else { None },
            helper_tail,
        })
    }
}

/// How many fds one process can be passed (the child parks them in a fixed array).
pub const MAX_PASSED_FDS: usize = 64;

/// Checks a process's values that need no host access.
pub(crate) fn validate_process(p: &Process) -> Result<()> {
    if p.program.is_empty() {
        return Err(Error::invalid("program", "the program name is empty"));
    }
    for (k, _) in p.env.iter() {
        if k.is_empty() || k.as_bytes().contains(&b'=') {
            return Err(Error::invalid("environment variable", format!("name {k:?} is empty or contains '='")));
        }
    }
    if !p.cwd.is_absolute() {
        return Err(Error::invalid("working directory", format!("{} is not absolute", p.cwd.display())));
    }
    if let Some(adj) = p.oom_score_adj {
        if !(-1000..=1000).contains(&adj) {
            return Err(Error::invalid("oom_score_adj", format!("{adj} is outside -1000..=1000")));
        }
    }
    if let Some(m) = p.umask {
        if m > 0o777 {
            return Err(Error::invalid("umask", format!("{m:#o} is above 0o777")));
        }
    }
    for (w, soft, hard) in &p.rlimits {
        if soft > hard {
            return Err(Error::invalid("rlimit", format!("{}: soft limit {soft} is above hard limit {hard}", w.name())));
        }
    }
    if p.fds.len() > MAX_PASSED_FDS {
        return Err(Error::invalid(
            "passed fd",
            format!("{} fds passed; at most {MAX_PASSED_FDS} are supported", p.fds.len()),
        ));
    }
    for (_, t) in &p.fds {
        if *t < 3 {
            return Err(Error::invalid("passed fd", format!("target {t} is below 3 (use stdin/stdout/stderr)")));
        }
    }
    if let Some(f) = &p.seccomp {
        f.validate()?;
    }
    let c = p.capabilities;
    if c.effective.0 & !c.permitted.0 != 0 {
        return Err(Error::invalid("capabilities", "effective holds capabilities not in permitted"));
    }
    if c.ambient.0 & !(c.permitted.0 & c.inheritable.0) != 0 {
        return Err(Error::invalid("capabilities", "ambient holds capabilities not in both permitted and inheritable"));
    }
    Ok(())
}

const SANDBOX_PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n";
const SANDBOX_GROUP: &str = "root:x:0:\ntty:x:5:\nnogroup:x:65534:\n";

/// Resolves a [`User`] to numeric ids, reading the container's passwd/group for names.
fn resolve_user(user: &User, names: &NameRoot<'_>) -> Result<(u32, u32, Vec<libc::gid_t>)> {
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

/// How the host's top-level directories look (merged /usr or not), read once.
fn host_sandbox_ops(hostname: Option<&str>) -> Result<Vec<Op>> {
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

/// The device nodes of the standard `/dev`, bound from the host: (name, major, minor).
pub(crate) const DEVICES: &[(&str, u32, u32)] =
    &[("null", 1, 3), ("zero", 1, 5), ("full", 1, 7), ("random", 1, 8), ("urandom", 1, 9), ("tty", 5, 0)];

fn standard_ops(ns: Namespaces, gid_map: &[idmap::IdRange]) -> Vec<Op> {
    let userns = ns.contains(Namespaces::USER);
    let all = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;
    let mut ops = Vec::new();
    // A new proc needs our own PID namespace inside a user namespace; without one we
    // bind the host's /proc (its processes are visible: the caller chose that).
    let proc_src = if ns.contains(Namespaces::PID) || !userns {
        Source::fs(c"proc", &[], false)
    } else {
        Source::Bind { path: c"/proc".into(), recursive: true, device: None }
    };
    ops.push(Op::Mount { source: proc_src, target: InRootPath::lit("/proc"), kind: TargetKind::Dir, attrs: all });
    let sys_src = if ns.contains(Namespaces::NET) || !userns {
        Source::fs(c"sysfs", &[], false)
    } else {
        Source::Bind { path: c"/sys".into(), recursive: true, device: None }
    };
    let own_sysfs = matches!(sys_src, Source::Fs { .. });
    ops.push(Op::Mount {
        source: sys_src,
        target: InRootPath::lit("/sys"),
        kind: TargetKind::Dir,
        attrs: all | MOUNT_ATTR_RDONLY,
    });
    // With its own cgroup namespace on a cgroup v2 host, the container sees its own
    // subtree at /sys/fs/cgroup, read-only (CVE-2023-25809: never a writable host
    // cgroupfs). Without one, /sys/fs/cgroup stays an empty read-only sysfs directory.
    if own_sysfs
        && ns.contains(Namespaces::CGROUP)
        && crate::cgroup::host_mode().ok() == Some(crate::cgroup::CgroupMode::V2)
    {
        ops.push(Op::Mount {
            source: Source::fs(c"cgroup2", &[], false),
            target: InRootPath::lit("/sys/fs/cgroup"),
            kind: TargetKind::Dir,
            attrs: all | MOUNT_ATTR_RDONLY,
        });
    }
    ops.push(Op::Mount {
        source: Source::fs(c"tmpfs", &[("mode", Some("755")), ("size", Some("65536k"))], true),
        target: InRootPath::lit("/dev"),
        kind: TargetKind::Dir,
        // nodev: a node made here is unusable; the device binds below are mounts of their own.
        attrs: MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
    });
    for (name, major, minor) in DEVICES {
        ops.push(Op::Mount {
            source: Source::Bind {
                path: CString::new(format!("/dev/{name}")).unwrap_or_default(),
                recursive: false,
                device: Some(libc::makedev(*major, *minor)),
            },
            target: InRootPath::lit(&format!("/dev/{name}")),
            kind: TargetKind::File,
            attrs: MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC,
        });
    }
    // gid=5 (tty) only when it exists inside the user namespace.
    let tty_gid = !userns || map_to_host(gid_map, 5).is_some();
    let mut pts: Vec<(&str, Option<&str>)> =
        vec![("newinstance", None), ("ptmxmode", Some("0666")), ("mode", Some("0620"))];
    if tty_gid {
        pts.push(("gid", Some("5")));
    }
    ops.push(Op::Mount {
        source: Source::fs(c"devpts", &pts, true),
        target: InRootPath::lit("/dev/pts"),
        kind: TargetKind::Dir,
        attrs: MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC,
    });
    ops.push(Op::Mount {
        source: Source::fs(c"tmpfs", &[("mode", Some("1777")), ("size", Some("65536k"))], true),
        target: InRootPath::lit("/dev/shm"),
        kind: TargetKind::Dir,
        attrs: all,
    });
    if ns.contains(Namespaces::IPC) {
        ops.push(Op::Mount {
            source: Source::fs(c"mqueue", &[], false),
            target: InRootPath::lit("/dev/mqueue"),
            kind: TargetKind::Dir,
            attrs: all,
        });
    }
    for (link, to) in [
        ("/dev/fd", "/proc/self/fd"),
        ("/dev/stdin", "/proc/self/fd/0"),
        ("/dev/stdout", "/proc/self/fd/1"),
        ("/dev/stderr", "/proc/self/fd/2"),
        ("/dev/ptmx", "pts/ptmx"),
        ("/dev/core", "/proc/kcore"),
    ] {
        ops.push(Op::Symlink { path: InRootPath::lit(link), contents: CString::new(to).unwrap_or_default() });
    }
    ops
}

fn user_mount_op(m: &crate::mount::Mount) -> Result<Op> {
    let mut attrs = 0;
    if m.read_only {
        attrs |= MOUNT_ATTR_RDONLY;
    }
    if m.nosuid {
        attrs |= MOUNT_ATTR_NOSUID;
    }
    if m.nodev {
        attrs |= MOUNT_ATTR_NODEV;
    }
    if m.noexec {
        attrs |= MOUNT_ATTR_NOEXEC;
    }
    let target = InRootPath::new("mount target", &m.target)?;
    Ok(match &m.kind {
        MountKind::Bind { source, recursive } => {
            let md = std::fs::metadata(source).map_err(|e| {
                Error::invalid("bind source", format!("{}: {e}", source.display()))
            })?;
            Op::Mount {
                source: Source::Bind {
                    path: cstring("bind source", source.as_os_str().as_bytes())?,
                    recursive: *recursive,
                    device: None,
                },
                target,
                kind: if md.is_dir() { TargetKind::Dir } else { TargetKind::File },
                attrs,
            }
        }
        MountKind::Proc => Op::Mount { source: Source::fs(c"proc", &[], false), target, kind: TargetKind::Dir, attrs },
        MountKind::Tmpfs { size, mode } => {
            let size = size.map(|s| s.to_string());
            let mode = format!("{:o}", mode.unwrap_or(0o755));
            let mut opts: Vec<(&str, Option<&str>)> = vec![("mode", Some(&mode))];
            if let Some(s) = &size {
                opts.push(("size", Some(s)));
            }
            Op::Mount { source: Source::fs(c"tmpfs", &opts, true), target, kind: TargetKind::Dir, attrs }
        }
    })
}

/// The cgroup a container gets: the caller's limits, and, when the caller could give the
/// container working device nodes (see [`crate::cgroup::policy_required`]), the default
/// device policy before the caller's device rules — in a devices-only cgroup if it asked
/// for no limits.
fn container_cgroup(cfg: Option<&CgroupConfig>) -> Option<CgroupConfig> {
    match (cfg, crate::cgroup::policy_required()) {
        (Some(c), true) => Some(c.clone().with_default_devices()),
        (Some(c), false) => Some(c.clone()),
        (None, true) => Some(CgroupConfig::device_policy_only()),
        (None, false) => None,
    }
}

/// A prepared container: everything computed, nothing created yet. Spawn from it as
/// many times as needed with [`Plan::spawn`].
#[derive(Debug)]
pub struct Plan {
    pub(crate) id: Option<String>,
    pub(crate) namespaces: Namespaces,
    pub(crate) clone_flags: u64,
    pub(crate) uid_map: Option<String>,
    pub(crate) gid_map: Option<String>,
    pub(crate) setgroups_deny: bool,
    /// uid 0 and gid 0 are mapped: the child becomes root inside right after the maps.
    pub(crate) become_root: bool,
    pub(crate) time_offsets: Option<String>,
    pub(crate) hostname: Option<CString>,
    pub(crate) domainname: Option<CString>,
    pub(crate) root: Source,
    /// `MOUNT_ATTR_*` set on the root mount before anything is built on it.
    pub(crate) root_attrs: u64,
    pub(crate) root_display: String,
    pub(crate) ops: Vec<Op>,
    pub(crate) masked: Vec<InRootPath>,
    pub(crate) readonly: Vec<InRootPath>,
    pub(crate) read_only_root: bool,
    pub(crate) loopback: bool,
    pub(crate) init: bool,
    /// Namespaces joined by path: (the CLONE_NEW* flag, the namespace file).
    pub(crate) joins: Vec<(i32, PathBuf)>,
    pub(crate) process: ProcessPlan,
    pub(crate) cgroup: Option<CgroupConfig>,
    pub(crate) selinux: Option<SelinuxConfig>,
    /// Bind sources to relabel for the container's SELinux level before the clone.
    pub(crate) relabels: Vec<(PathBuf, crate::selinux::Sharing)>,
}

impl Plan {
    pub(crate) fn new(b: &ContainerBuilder) -> Result<Plan> {
        let ns = b.namespaces;
        let userns = ns.contains(Namespaces::USER);
        // Without CAP_SETGID over the parent namespace the kernel only accepts a gid map
        // after `setgroups` is denied.
        let setgroups_deny = userns && !caps::has_cap(None, caps::CapSet::Effective, caps::Capability::CAP_SETGID).unwrap_or(false);
        let (root, root_display, name_root) = match &b.rootfs {
            Rootfs::HostSandbox => (
                Source::fs(c"tmpfs", &[("mode", Some("755"))], true),
                "host sandbox".to_string(),
                NameRoot::Sandbox,
            ),
            Rootfs::Directory(dir) => {
                check_dir("rootfs", dir)?;
                (
                    Source::Bind { path: cstring("rootfs", dir.as_os_str().as_bytes())?, recursive: true, device: None },
                    dir.display().to_string(),
                    NameRoot::Dirs(vec![dir.as_path()]),
                )
            }
            Rootfs::Layers { lower, upper, work } => {
                for l in lower {
                    check_dir("rootfs lower layer", l)?;
                }
                check_dir("rootfs upper layer", upper)?;
                check_dir("rootfs work directory", work)?;
                let mut options = Vec::new();
                if kernel_at_least(6, 8) {
                    // One `lowerdir+` per layer: no escaping of ':' needed.
                    for l in lower {
                        options.push((c"lowerdir+".into(), Some(cstring("rootfs lower layer", l.as_os_str().as_bytes())?)));
                    }
                } else {
                    let mut joined = Vec::new();
                    for (i, l) in lower.iter().enumerate() {
                        let b = l.as_os_str().as_bytes();
                        if b.iter().any(|c| matches!(c, b':' | b',' | b'\\')) {
                            return Err(Error::invalid(
                                "rootfs lower layer",
                                format!("{} contains ':', ',' or '\\', which overlayfs before Linux 6.8 cannot take", l.display()),
                            ));
                        }
                        if i > 0 {
                            joined.push(b':');
                        }
                        joined.extend_from_slice(b);
                    }
                    options.push((c"lowerdir".into(), Some(cstring("rootfs lower layer", &joined)?)));
                }
                options.push((c"upperdir".into(), Some(cstring("rootfs upper layer", upper.as_os_str().as_bytes())?)));
                options.push((c"workdir".into(), Some(cstring("rootfs work directory", work.as_os_str().as_bytes())?)));
                let mut dirs: Vec<&Path> = vec![upper.as_path()];
                dirs.extend(lower.iter().map(|p| p.as_path()));
                (
                    Source::Fs { fstype: c"overlay", options, labeled: true },
                    format!("overlay of {} layers", lower.len()),
                    NameRoot::Dirs(dirs),
                )
            }
        };
        let mut ops = Vec::new();
        if b.rootfs == Rootfs::HostSandbox {
            ops.extend(host_sandbox_ops(b.hostname.as_deref())?);
        }
        if b.standard_mounts {
            ops.extend(standard_ops(ns, &b.gid_map));
        }
        for m in &b.mounts {
            ops.push(user_mount_op(m)?);
        }
        let masked = b.masked_paths.iter().map(|p| InRootPath::new("masked path", p)).collect::<Result<_>>()?;
        let readonly = b.readonly_paths.iter().map(|p| InRootPath::new("read-only path", p)).collect::<Result<_>>()?;
        let process = ProcessPlan::new(&b.process, name_root, !setgroups_deny)?;
        if userns {
            check_user_mapped(&process, &b.uid_map, &b.gid_map)?;
        }
        Ok(Plan {
            id: b.id.clone(),
            namespaces: ns,
            clone_flags: ns.clone_flags(),
            uid_map: userns.then(|| idmap::render(&b.uid_map)),
            gid_map: userns.then(|| idmap::render(&b.gid_map)),
            setgroups_deny,
            become_root: userns && map_to_host(&b.uid_map, 0).is_some() && map_to_host(&b.gid_map, 0).is_some(),
            time_offsets: ns.contains(Namespaces::TIME).then(|| b.time_offsets.render()),
            hostname: b.hostname.as_deref().map(|h| cstring("hostname", h.as_bytes())).transpose()?,
            domainname: b.domainname.as_deref().map(|h| cstring("domainname", h.as_bytes())).transpose()?,
            root,
            // nodev on every root (sandbox tmpfs, overlay, directory): a device node made or
            // found in it is unusable. The /dev binds are mounts of their own.
            root_attrs: MOUNT_ATTR_NODEV,
            root_display,
            ops,
            masked,
            readonly,
            read_only_root: b.read_only_root,
            loopback: ns.contains(Namespaces::NET),
            init: b.init,
            joins: b.joins.iter().map(|(ns, p)| (ns.setns_flags(), p.clone())).collect(),
            process,
            cgroup: container_cgroup(b.cgroup.as_ref()),
            selinux: b.selinux.clone(),
            relabels: b
                .mounts
                .iter()
                .filter_map(|m| match (&m.kind, m.relabel) {
                    (MountKind::Bind { source, .. }, Some(sharing)) => Some((source.clone(), sharing)),
                    _ => None,
                })
                .collect(),
        })
    }

    /// Creates and starts a container from this plan. On error nothing is left behind.
    pub fn spawn(&self) -> Result<Container> {
        crate::spawn::spawn(self)
    }

    /// The namespaces containers from this plan get.
    pub fn namespaces(&self) -> Namespaces {
        self.namespaces
    }

    /// A one-line description of the child setup item `(stage, index)` for errors.
    pub(crate) fn describe(&self, stage: Stage, index: u32) -> String {
        let i = index as usize;
        match stage {
            Stage::Mount | Stage::MountTarget | Stage::CreateFile | Stage::Device => {
                self.ops.get(i).map(Op::describe).unwrap_or_default()
            }
            Stage::MaskPath => self.masked.get(i).map(|p| p.display.clone()).unwrap_or_default(),
            Stage::ReadonlyPath => self.readonly.get(i).map(|p| p.display.clone()).unwrap_or_default(),
            Stage::PivotRoot if index == 0 => format!(
                "{}; EINVAL here means the caller's root cannot be pivoted (e.g. an initramfs \
                 root: switch_root to a real filesystem first)",
                self.root_display
            ),
            Stage::Rootfs | Stage::PivotRoot | Stage::ReadonlyRoot => self.root_display.clone(),
            Stage::JoinNamespaces => {
                self.joins.get(i).map(|(_, p)| p.display().to_string()).unwrap_or_default()
            }
            Stage::Hostname => self.hostname.as_ref().map(|h| h.to_string_lossy().into_owned()).unwrap_or_default(),
            Stage::Domainname => {
                self.domainname.as_ref().map(|h| h.to_string_lossy().into_owned()).unwrap_or_default()
            }
            _ => describe_process(&self.process, stage, index),
        }
    }
}

/// [`Stage::Seccomp`] index of the default policy (the deny-list is 0).
pub(crate) const SECCOMP_DEFAULT_INDEX: u32 = 1;

/// Describes a process-setup failure `(stage, index)`.
pub(crate) fn describe_process(p: &ProcessPlan, stage: Stage, index: u32) -> String {
    match stage {
        Stage::Exec if index == crate::helper::HELPER_INDEX => {
            format!("cocoon's exec helper (sealed memfd) before {}", p.program)
        }
        Stage::Exec if p.candidates.len() > 1 => match p.candidates.get(index as usize) {
            Some(c) => format!("{} found as {}", p.program, c.to_string_lossy()),
            None => format!("{} (searched in PATH)", p.program),
        },
        Stage::Exec => p.program.clone(),
        Stage::Cwd => p.cwd_display.clone(),
        Stage::Rlimit => p.rlimits.get(index as usize).map(|r| r.which.name().to_string()).unwrap_or_default(),
        Stage::SetUid => format!("uid {}", p.uid),
        Stage::SetGid => format!("gid {}", p.gid),
        Stage::Groups => format!("groups {:?}", p.groups),
        Stage::Stdio => format!("fd {index}"),
        Stage::Seccomp if index == SECCOMP_DEFAULT_INDEX => String::from("the default policy"),
        Stage::Seccomp => String::from("the deny-list"),
        Stage::AmbientCapabilities | Stage::CapBounding => format!("capability {index}"),
        Stage::Capabilities => {
            // The usual cause: asking for capabilities the caller's bounding set lacks.
            let bounding = caps::read(None, caps::CapSet::Bounding).unwrap_or_default();
            let wanted = p.caps.permitted.0 | p.caps.inheritable.0;
            let missing: Vec<String> = caps::all()
                .into_iter()
                .filter(|c| wanted & c.bitmask() != 0 && !bounding.contains(c))
                .map(|c| c.to_string())
                .collect();
            if missing.is_empty() {
                String::from("effective/permitted/inheritable sets")
            } else {
                format!("not in the calling process's bounding set: {}", missing.join(", "))
            }
        }
        _ => String::new(),
    }
}

/// Whether the running kernel is at least `major.minor` (from `uname`), read once.
pub(crate) fn kernel_at_least(major: u32, minor: u32) -> bool {
    static VERSION: std::sync::OnceLock<(u32, u32)> = std::sync::OnceLock::new();
    let (ma, mi) = *VERSION.get_or_init(|| {
        let rel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
        let mut it = rel.trim().split(|c: char| !c.is_ascii_digit()).filter_map(|p| p.parse::<u32>().ok());
        (it.next().unwrap_or(0), it.next().unwrap_or(0))
    });
    (ma, mi) >= (major, minor)
}

fn check_dir(what: &'static str, p: &Path) -> Result<()> {
    match std::fs::metadata(p) {
        Ok(md) if md.is_dir() => Ok(()),
        Ok(_) => Err(Error::invalid(what, format!("{} is not a directory", p.display()))),
        Err(e) => Err(Error::invalid(what, format!("{}: {e}", p.display()))),
    }
}

fn check_user_mapped(p: &ProcessPlan, uid_map: &[idmap::IdRange], gid_map: &[idmap::IdRange]) -> Result<()> {
    if map_to_host(uid_map, p.uid).is_none() {
        return Err(Error::invalid("user", format!("uid {} is not in the uid map", p.uid)));
    }
    for g in std::iter::once(&p.gid).chain(&p.groups) {
        if map_to_host(gid_map, *g).is_none() {
            return Err(Error::invalid("user", format!("gid {g} is not in the gid map")));
        }
    }
    Ok(())
}
