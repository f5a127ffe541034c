//! Address leases shared by every process on the host: one file per leased address.
//!
//! `<state dir>/<bridge>/<address>` (default state dir [`DEFAULT_STATE_DIR`]) is created
//! with `O_CREAT | O_EXCL | O_NOFOLLOW` and holds one line,
//! `<nonce> <pid> <start time> <host netns inode> <host veth>`: the owner is the
//! container's first process (its pid and the start time from field 22 of
//! `/proc/<pid>/stat`, so a recycled pid is harmless). A lease whose owner is gone is
//! *stale*: the next allocation that meets it removes it (and the host veth it names, if
//! that is still there in the allocating process's namespace) and takes the address.
//! Every allocation holds an exclusive `flock` on `<bridge>/.lock`, so two processes never
//! reclaim the same stale lease; releasing removes the file only if it still holds the
//! releasing lease's nonce (a lease reclaimed after its container died is not ours).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::net::Ipv4Addr;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::owner::{process_start_time, random_u64};

/// The default state directory of address leases.
pub const DEFAULT_STATE_DIR: &str = "/run/cocoon/net";
/// The environment variable that overrides [`DEFAULT_STATE_DIR`].
pub const STATE_DIR_ENV: &str = "COCOON_NET_STATE_DIR";

/// The state directory: the builder's, else `$COCOON_NET_STATE_DIR`, else the default.
pub(crate) fn state_dir(explicit: Option<&Path>) -> PathBuf {
    match explicit {
        Some(p) => p.to_path_buf(),
        None => std::env::var_os(STATE_DIR_ENV).map_or_else(|| PathBuf::from(DEFAULT_STATE_DIR), PathBuf::from),
    }
}

/// What a lease file records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Holder {
    pub nonce: u64,
    pub pid: i32,
    pub start: u64,
    pub netns: u64,
    pub veth: String,
}

impl Holder {
    fn render(&self) -> String {
        format!("{:016x} {} {} {} {}\n", self.nonce, self.pid, self.start, self.netns, self.veth)
    }

    fn parse(text: &str) -> Option<Holder> {
        let mut it = text.split_whitespace();
        Some(Holder {
            nonce: u64::from_str_radix(it.next()?, 16).ok()?,
            pid: it.next()?.parse().ok()?,
            start: it.next()?.parse().ok()?,
            netns: it.next()?.parse().ok()?,
            veth: it.next()?.to_string(),
        })
    }

    fn alive(&self) -> bool {
        process_start_time(self.pid) == Some(self.start)
    }
}

/// A held lease; [`Lease::release`] (or drop) gives the address back.
#[derive(Debug)]
pub(crate) struct Lease {
    dir: PathBuf,
    pub addr: Ipv4Addr,
    nonce: u64,
    released: bool,
}

/// Why an address could not be leased.
#[derive(Debug)]
pub(crate) enum LeaseError {
    /// The static address is leased by a live container.
    Taken(Ipv4Addr),
    /// Every address of the subnet is leased by a live container.
    Exhausted,
    /// The state directory could not be used.
    Io(&'static str, PathBuf, io::Error),
}

/// The per-bridge directory, made (0700) if missing, and its lock, held while it lives.
struct Locked {
    dir: PathBuf,
    _lock: File,
}

fn lock_dir(state: &Path, bridge: &str) -> Result<Locked, LeaseError> {
    let dir = state.join(bridge);
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)
        .map_err(|e| LeaseError::Io("create lease directory", dir.clone(), e))?;
    let lock_path = dir.join(".lock");
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(&lock_path)
        .map_err(|e| LeaseError::Io("open lease lock", lock_path.clone(), e))?;
    // SAFETY: flock on a file we own; released when `lock` is closed.
    if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) } != 0 {
        return Err(LeaseError::Io("lock lease directory", lock_path, io::Error::last_os_error()));
    }
    Ok(Locked { dir, _lock: lock })
}

fn read_holder(path: &Path) -> io::Result<Option<Holder>> {
    let f = OpenOptions::new().read(true).custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC).open(path)?;
    let mut s = String::new();
    f.take(4096).read_to_string(&mut s)?;
    Ok(Holder::parse(&s))
}

/// Creates `path` exclusively with `holder`; `Ok(false)` if it exists.
fn create(path: &Path, holder: &Holder) -> io::Result<bool> {
    let mut f = match OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Ok(false),
        Err(e) => return Err(e),
    };
    if let Err(e) = f.write_all(holder.render().as_bytes()) {
        let _ = fs::remove_file(path);
        return Err(e);
    }
    Ok(true)
}

/// A stale lease met by an allocation: its file is gone, the host veth it named is for
/// the caller to remove (`stale` collects them).
fn reclaim_if_stale(path: &Path, stale: &mut Vec<Holder>) -> io::Result<bool> {
    match read_holder(path) {
        Ok(Some(h)) if h.alive() => Ok(false),
        // A crash between create and write leaves an empty (unparsable) file.
        Ok(h) => {
            fs::remove_file(path)?;
            stale.extend(h);
            Ok(true)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(true),
        Err(e) => Err(e),
    }
}

/// Leases `wanted` (a static address) or the first free address of `candidates` for
/// `holder` (its nonce is set here). Returns the lease and the stale holders reclaimed.
pub(crate) fn acquire(
    state: &Path,
    bridge: &str,
    wanted: Option<Ipv4Addr>,
    candidates: impl Iterator<Item = Ipv4Addr> + Clone,
    mut holder: Holder,
) -> Result<(Lease, Vec<Holder>), LeaseError> {
    holder.nonce = random_u64();
    let locked = lock_dir(state, bridge)?;
    let mut stale = Vec::new();
    let io_err = |p: &Path, e| LeaseError::Io("lease address", p.to_path_buf(), e);
    let take = |addr: Ipv4Addr, stale: &mut Vec<Holder>, reclaim: bool| -> Result<bool, LeaseError> {
        let path = locked.dir.join(addr.to_string());
        if create(&path, &holder).map_err(|e| io_err(&path, e))? {
            return Ok(true);
        }
        if reclaim && reclaim_if_stale(&path, stale).map_err(|e| io_err(&path, e))? {
            return create(&path, &holder).map_err(|e| io_err(&path, e));
        }
        Ok(false)
    };
    let found = match wanted {
        Some(a) => take(a, &mut stale, true)?.then_some(a).ok_or(LeaseError::Taken(a))?,
        None => {
            // Free addresses first; stale leases are read only when there is none.
            let mut got = None;
            for a in candidates.clone() {
                if take(a, &mut stale, false)? {
                    got = Some(a);
                    break;
                }
            }
            if got.is_none() {
                for a in candidates {
                    if take(a, &mut stale, true)? {
                        got = Some(a);
                        break;
                    }
                }
            }
            let a = got.ok_or(LeaseError::Exhausted)?;
            remember(&locked.dir, a);
            a
        }
    };
    Ok((Lease { dir: locked.dir.clone(), addr: found, nonce: holder.nonce, released: false }, stale))
}

/// Where this process's last dynamic allocation on each bridge directory landed.
static LAST: std::sync::Mutex<Vec<(PathBuf, Ipv4Addr)>> = std::sync::Mutex::new(Vec::new());

/// This process's last dynamically allocated address on `bridge` under `state`.
pub(crate) fn last_allocated(state: &Path, bridge: &str) -> Option<Ipv4Addr> {
    let dir = state.join(bridge);
    LAST.lock().ok()?.iter().find(|(d, _)| *d == dir).map(|(_, a)| *a)
}

fn remember(dir: &Path, addr: Ipv4Addr) {
    if let Ok(mut v) = LAST.lock() {
        match v.iter_mut().find(|(d, _)| d == dir) {
            Some(e) => e.1 = addr,
            None => v.push((dir.to_path_buf(), addr)),
        }
    }
}

/// Whether `addr` is leased by a live container (`false` also when it cannot be read).
pub(crate) fn held_by_live(state: &Path, bridge: &str, addr: Ipv4Addr) -> bool {
    matches!(read_holder(&state.join(bridge).join(addr.to_string())), Ok(Some(h)) if h.alive())
}

/// Removes every stale lease under `state` and returns what they held.
pub(crate) fn sweep(state: &Path) -> io::Result<Vec<Holder>> {
    let mut stale = Vec::new();
    let bridges = match fs::read_dir(state) {
        Ok(d) => d,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(stale),
        Err(e) => return Err(e),
    };
    for b in bridges.flatten() {
        let Some(name) = b.file_name().to_str().map(str::to_string) else { continue };
        // Dot-names are not bridges (the published ports' lock).
        if name.starts_with('.') {
            continue;
        }
        let Ok(locked) = lock_dir(state, &name) else { continue };
        for f in fs::read_dir(&locked.dir)?.flatten() {
            if f.file_name().to_str().is_some_and(|n| n.parse::<Ipv4Addr>().is_ok()) {
                let _ = reclaim_if_stale(&f.path(), &mut stale);
            }
        }
    }
    Ok(stale)
}

/// The network namespace inode of the calling thread.
pub(crate) fn own_netns() -> u64 {
    fs::metadata("/proc/thread-self/ns/net").map_or(0, |m| m.ino())
}

impl Lease {
    /// Leaves the file in place (its owner is the container, which may outlive us).
    pub(crate) fn keep(&mut self) {
        self.released = true;
    }

    /// Gives the address back (removes the file if it still holds this lease).
    pub(crate) fn release(&mut self) -> io::Result<()> {
        if std::mem::replace(&mut self.released, true) {
            return Ok(());
        }
        let path = self.dir.join(self.addr.to_string());
        let bridge = self.dir.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
        let parent = self.dir.parent().unwrap_or(Path::new("/")).to_path_buf();
        let _locked = lock_dir(&parent, &bridge).map_err(|e| match e {
            LeaseError::Io(_, _, e) => e,
            _ => io::Error::other("lease lock"),
        })?;
        match read_holder(&path) {
            Ok(Some(h)) if h.nonce == self.nonce => fs::remove_file(&path),
            Ok(_) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let _ = self.release();
    }
}


#[cfg(test)]
mod tests {
    use super::*;

    fn me() -> Holder {
        let pid = std::process::id() as i32;
        Holder { nonce: 0, pid, start: process_start_time(pid).unwrap_or(0), netns: 1, veth: "cvtest".into() }
    }

    #[test]
    fn leases_are_exclusive_and_stale_ones_reclaimed() {
        let dir = std::env::temp_dir().join(format!("cocoon-lease-test-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let cands = (2..=5u8).map(|i| Ipv4Addr::new(10, 0, 0, i));
        let (a, _) = acquire(&dir, "br", None, cands.clone(), me()).map_err(|e| format!("{e:?}")).unwrap();
        let (b, _) = acquire(&dir, "br", None, cands.clone(), me()).map_err(|e| format!("{e:?}")).unwrap();
        assert_ne!(a.addr, b.addr);
        assert!(matches!(acquire(&dir, "br", Some(a.addr), cands.clone(), me()), Err(LeaseError::Taken(x)) if x == a.addr));
        // A dead owner (pid 0 has no /proc entry... use an impossible start time).
        let dead = Holder { start: u64::MAX, ..me() };
        fs::write(dir.join("br").join("10.0.0.9"), dead.render()).unwrap();
        let (c, stale) = acquire(&dir, "br", Some(Ipv4Addr::new(10, 0, 0, 9)), cands, me()).map_err(|e| format!("{e:?}")).unwrap();
        assert_eq!(stale.len(), 1);
        assert_eq!(stale[0].veth, "cvtest");
        drop((a, b, c));
        let left: Vec<_> = fs::read_dir(dir.join("br")).unwrap().flatten().map(|e| e.file_name()).collect();
        assert_eq!(left, vec![std::ffi::OsString::from(".lock")]);
        let _ = fs::remove_dir_all(&dir);
    }
}
