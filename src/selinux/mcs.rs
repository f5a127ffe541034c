//! The MCS allocator: a unique category pair `s0:cA,cB` (A < B) per container, reserved
//! across every process on the host that uses the same state directory.
//!
//! # How reservations are kept
//!
//! The state directory (default [`DEFAULT_STATE_DIR`], `/run/cocoon/mcs`, mode 0700) holds
//! one file per reserved level, named by the level's canonical text (`s0:c12,c345`), and a
//! lock file `.lock`. Every operation takes an exclusive `flock` on `.lock` (a fresh open
//! each time, so threads of one process exclude each other too). A level is taken by
//! creating its file with `O_CREAT | O_EXCL | O_NOFOLLOW`; releasing removes it.
//!
//! A file holds a header line (`exclusive` or `shared`) and one line per holder:
//! `<nonce> <pid> <start time> <container id>`. The start time (field 22 of
//! `/proc/<pid>/stat`) makes a recycled pid harmless.
//!
//! # Stale entries
//!
//! When the process that reserved a level dies without releasing it (SIGKILL, crash), its
//! file stays. A file is *stale* when none of its holders is alive: `/proc/<pid>/stat` is
//! gone or shows another start time (or the file has no holder line: a crash between
//! create and write). A stale file is reclaimed — removed and taken — when an allocation
//! meets it. All processes sharing a state directory must therefore share a pid namespace
//! (as they share `/run`). A reservation may name the container's own pid instead of the
//! reserving process with [`Reservation::set_owner_pid`], so it lives as long as the
//! container does.
//!
//! # Allocation
//!
//! [`McsAllocator::allocate`] tries [`RANDOM_TRIES`] uniformly random pairs; if all are
//! taken it lists the directory once and scans every pair of the range in order, then
//! retries the taken ones for stale entries, then fails with
//! [`SelinuxError::McsExhausted`]. It never loops without bound. `s0:c1022,c1023`
//! ([`RESERVED_PAIR`]) is never handed out.

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use super::level::{Level, CATEGORY_COUNT};
use crate::owner::{process_start_time, random_u64};
use super::SelinuxError;

/// The default state directory.
pub const DEFAULT_STATE_DIR: &str = "/run/cocoon/mcs";
/// The pair conventionally reserved and never allocated: `s0:c1022,c1023`.
pub const RESERVED_PAIR: (u16, u16) = (1022, 1023);
/// How many random pairs are tried before the deterministic scan.
pub const RANDOM_TRIES: usize = 64;

/// The categories pairs are drawn from: `cFIRST`..=`cLAST`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct McsRange {
    first: u16,
    last: u16,
}

impl Default for McsRange {
    /// `c0`..=`c1023` (the pair `c1022,c1023` is still never handed out).
    fn default() -> McsRange {
        McsRange { first: 0, last: CATEGORY_COUNT - 1 }
    }
}

impl McsRange {
    /// Categories `cfirst`..=`clast`; needs `first < last <= 1023`.
    pub fn new(first: u16, last: u16) -> Result<McsRange, SelinuxError> {
        if first >= last || last >= CATEGORY_COUNT {
            return Err(SelinuxError::InvalidLevel {
                level: format!("c{first}.c{last}"),
                reason: "an MCS range needs two categories cFIRST < cLAST <= c1023".into(),
            });
        }
        Ok(McsRange { first, last })
    }

    /// The first category.
    pub fn first(&self) -> u16 {
        self.first
    }

    /// The last category.
    pub fn last(&self) -> u16 {
        self.last
    }

    /// How many pairs can be handed out (the reserved pair excluded).
    pub fn pair_count(&self) -> u64 {
        let n = u64::from(self.last - self.first) + 1;
        n * (n - 1) / 2 - u64::from(self.holds_pair(RESERVED_PAIR.0, RESERVED_PAIR.1))
    }

    fn holds_pair(&self, a: u16, b: u16) -> bool {
        (self.first..=self.last).contains(&a) && (self.first..=self.last).contains(&b)
    }

    fn allocatable(&self, a: u16, b: u16) -> bool {
        a < b && self.holds_pair(a, b) && (a, b) != RESERVED_PAIR
    }
}

/// Hands out unique MCS levels, recorded in a state directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct McsAllocator {
    dir: PathBuf,
    range: McsRange,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Exclusive,
    Shared,
}

impl Kind {
    fn header(self) -> &'static str {
        match self {
            Kind::Exclusive => "exclusive",
            Kind::Shared => "shared",
        }
    }
}

struct Lock(#[allow(dead_code)] File);

impl McsAllocator {
    /// An allocator keeping its state in `dir` (created, mode 0700, on first use).
    pub fn new(dir: impl Into<PathBuf>, range: McsRange) -> McsAllocator {
        McsAllocator { dir: dir.into(), range }
    }

    /// The host-wide allocator: [`DEFAULT_STATE_DIR`], categories c0..c1023.
    pub fn system() -> McsAllocator {
        McsAllocator::new(DEFAULT_STATE_DIR, McsRange::default())
    }

    /// The state directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The category range.
    pub fn range(&self) -> McsRange {
        self.range
    }

    fn io(&self, op: &'static str, path: &Path, source: io::Error) -> SelinuxError {
        SelinuxError::Io { op, path: path.to_path_buf(), source }
    }

    fn lock(&self) -> Result<Lock, SelinuxError> {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)
            .map_err(|e| self.io("create MCS state directory", &self.dir, e))?;
        let path = self.dir.join(".lock");
        let f = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&path)
            .map_err(|e| self.io("open MCS lock file", &path, e))?;
        loop {
            // SAFETY: flock on a descriptor we own; no memory is involved.
            if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) } == 0 {
                return Ok(Lock(f));
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(self.io("lock MCS state", &path, e));
            }
        }
    }

    /// Reserves a fresh random pair `s0:cA,cB` for `owner` (a container id, recorded for
    /// the operator). Fails with [`SelinuxError::McsExhausted`] when every pair is held.
    pub fn allocate(&self, owner: &str) -> Result<Reservation, SelinuxError> {
        let _lock = self.lock()?;
        let n = u32::from(self.range.last - self.range.first) + 1;
        for _ in 0..RANDOM_TRIES {
            let r = random_u64();
            let (x, y) = ((r % u64::from(n)) as u16, ((r >> 32) % u64::from(n - 1)) as u16);
            // y indexes the other n-1 categories: skip x to keep the draw uniform.
            let y = if y >= x { y + 1 } else { y };
            let (a, b) = (self.range.first + x.min(y), self.range.first + x.max(y));
            if !self.range.allocatable(a, b) {
                continue;
            }
            let level = Level::mcs_pair(a, b)?;
            if let Some(r) = self.try_take(level, Kind::Exclusive, owner)? {
                return Ok(r);
            }
        }
        // Deterministic scan: every free name first, then every taken one (stale reclaim).
        let taken = self.list_names()?;
        for pass in 0..2 {
            for a in self.range.first..=self.range.last {
                for b in a + 1..=self.range.last {
                    if !self.range.allocatable(a, b) {
                        continue;
                    }
                    let level = Level::mcs_pair(a, b)?;
                    if taken.contains(&level.to_string()) != (pass == 1) {
                        continue;
                    }
                    if let Some(r) = self.try_take(level, Kind::Exclusive, owner)? {
                        return Ok(r);
                    }
                }
            }
        }
        Err(SelinuxError::McsExhausted {
            first: self.range.first,
            last: self.range.last,
            pairs: self.range.pair_count(),
            dir: self.dir.clone(),
        })
    }

    /// Reserves exactly `level` for `owner`; [`SelinuxError::LevelInUse`] if a live holder
    /// has it (exclusively or shared).
    pub fn reserve(&self, level: Level, owner: &str) -> Result<Reservation, SelinuxError> {
        let _lock = self.lock()?;
        self.try_take(level, Kind::Exclusive, owner)?
            .ok_or_else(|| SelinuxError::LevelInUse { level: level.to_string() })
    }

    /// Joins the shared reservation of `level` (pods: several containers, one level).
    /// The level stays reserved until its last holder releases it. Fails with
    /// [`SelinuxError::LevelInUse`] when a container holds it exclusively.
    pub fn share(&self, level: Level, owner: &str) -> Result<Reservation, SelinuxError> {
        let _lock = self.lock()?;
        self.try_take(level, Kind::Shared, owner)?
            .ok_or_else(|| SelinuxError::LevelInUse { level: level.to_string() })
    }

    /// The levels currently recorded (live or stale), sorted.
    pub fn reserved(&self) -> Result<Vec<Level>, SelinuxError> {
        let _lock = self.lock()?;
        let mut v: Vec<Level> = self.list_names()?.iter().filter_map(|n| n.parse().ok()).collect();
        v.sort_by_key(|l| l.to_string());
        Ok(v)
    }

    fn list_names(&self) -> Result<HashSet<String>, SelinuxError> {
        let mut set = HashSet::new();
        let rd = fs::read_dir(&self.dir).map_err(|e| self.io("list MCS state", &self.dir, e))?;
        for ent in rd {
            let ent = ent.map_err(|e| self.io("list MCS state", &self.dir, e))?;
            if let Some(name) = ent.file_name().to_str() {
                if !name.starts_with('.') {
                    set.insert(name.to_string());
                }
            }
        }
        Ok(set)
    }

    /// Takes `level` under the lock: creates its file, reclaims it when stale, or joins it
    /// when shared. `Ok(None)` when a live holder keeps it.
    fn try_take(&self, level: Level, kind: Kind, owner: &str) -> Result<Option<Reservation>, SelinuxError> {
        let path = self.dir.join(level.to_string());
        let me = Holder::current(owner);
        for _ in 0..2 {
            match OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
                .open(&path)
            {
                Ok(mut f) => {
                    let text = format!("{}\n{}\n", kind.header(), me.line());
                    if let Err(e) = f.write_all(text.as_bytes()) {
                        let _ = fs::remove_file(&path);
                        return Err(self.io("write MCS reservation", &path, e));
                    }
                    return Ok(Some(self.reservation(level, path, kind, me)));
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    let state = read_state(&path).map_err(|e| self.io("read MCS reservation", &path, e))?;
                    let live: Vec<&Holder> = state.holders.iter().filter(|h| h.alive()).collect();
                    if live.is_empty() {
                        // Stale: every holder is dead. Reclaim and retry the create once.
                        match fs::remove_file(&path) {
                            Ok(()) => continue,
                            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                            Err(e) => return Err(self.io("reclaim stale MCS reservation", &path, e)),
                        }
                    }
                    if kind == Kind::Shared && state.kind == Some(Kind::Shared) {
                        let mut holders: Vec<Holder> = live.into_iter().cloned().collect();
                        holders.push(me.clone());
                        write_state(&self.dir, &path, Kind::Shared, &holders)
                            .map_err(|e| self.io("join shared MCS reservation", &path, e))?;
                        return Ok(Some(self.reservation(level, path, kind, me)));
                    }
                    return Ok(None);
                }
                Err(e) => return Err(self.io("create MCS reservation", &path, e)),
            }
        }
        Ok(None)
    }

    fn reservation(&self, level: Level, path: PathBuf, kind: Kind, me: Holder) -> Reservation {
        Reservation { level, path, allocator: self.clone(), shared: kind == Kind::Shared, nonce: me.nonce, released: false }
    }
}

/// One holder line of a reservation file.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Holder {
    nonce: String,
    pid: i32,
    start: u64,
    owner: String,
}

impl Holder {
    fn current(owner: &str) -> Holder {
        let pid = std::process::id() as i32;
        Holder {
            nonce: format!("{:016x}", random_u64()),
            pid,
            start: process_start_time(pid).unwrap_or(0),
            owner: sanitize_owner(owner),
        }
    }

    fn line(&self) -> String {
        format!("{} {} {} {}", self.nonce, self.pid, self.start, self.owner)
    }

    fn parse(line: &str) -> Option<Holder> {
        let mut it = line.splitn(4, ' ');
        let nonce = it.next()?.to_string();
        let pid = it.next()?.parse().ok()?;
        let start = it.next()?.parse().ok()?;
        let owner = it.next().unwrap_or("").to_string();
        (!nonce.is_empty()).then_some(Holder { nonce, pid, start, owner })
    }

    fn alive(&self) -> bool {
        self.pid > 0 && process_start_time(self.pid) == Some(self.start)
    }
}

fn sanitize_owner(owner: &str) -> String {
    let s: String = owner.chars().map(|c| if c.is_whitespace() || c.is_control() { '_' } else { c }).collect();
    if s.is_empty() { "-".into() } else { s }
}

struct State {
    kind: Option<Kind>,
    holders: Vec<Holder>,
}

fn read_state(path: &Path) -> io::Result<State> {
    let mut text = String::new();
    match OpenOptions::new().read(true).custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC).open(path) {
        Ok(mut f) => {
            // A file that is not UTF-8 is garbage: treat it as holder-less (stale).
            let _ = f.read_to_string(&mut text);
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let mut lines = text.lines();
    let kind = match lines.next() {
        Some("exclusive") => Some(Kind::Exclusive),
        Some("shared") => Some(Kind::Shared),
        _ => None,
    };
    let holders = if kind.is_some() { lines.filter_map(Holder::parse).collect() } else { Vec::new() };
    Ok(State { kind, holders })
}

/// Replaces a reservation file atomically (write a temp file, rename it over).
fn write_state(dir: &Path, path: &Path, kind: Kind, holders: &[Holder]) -> io::Result<()> {
    let tmp = dir.join(format!(".tmp-{:016x}", random_u64()));
    let mut text = format!("{}\n", kind.header());
    for h in holders {
        text.push_str(&h.line());
        text.push('\n');
    }
    let res = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&tmp)?;
        f.write_all(text.as_bytes())?;
        fs::rename(&tmp, path)
    })();
    if res.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    res
}

/// A held MCS level. Dropping it releases the level (errors ignored); call
/// [`Reservation::release`] to see them.
#[derive(Debug)]
pub struct Reservation {
    level: Level,
    path: PathBuf,
    allocator: McsAllocator,
    shared: bool,
    nonce: String,
    released: bool,
}

impl Reservation {
    /// The reserved level.
    pub fn level(&self) -> &Level {
        &self.level
    }

    /// Whether this is one holder of a shared (pod) level.
    pub fn is_shared(&self) -> bool {
        self.shared
    }

    /// The file recording the reservation.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Records `pid` (e.g. the container's init, right after clone) as this holder, so
    /// the level is not reclaimed while that process lives even if the reserving process
    /// dies.
    pub fn set_owner_pid(&mut self, pid: i32) -> Result<(), SelinuxError> {
        let start = process_start_time(pid).ok_or_else(|| SelinuxError::Io {
            op: "read start time of MCS owner",
            path: PathBuf::from(format!("/proc/{pid}/stat")),
            source: io::Error::from_raw_os_error(libc::ESRCH),
        })?;
        self.rewrite(|holders, nonce| {
            for h in holders.iter_mut().filter(|h| h.nonce == nonce) {
                h.pid = pid;
                h.start = start;
            }
        })
    }

    /// Releases the level now (the file goes when its last holder leaves).
    pub fn release(mut self) -> Result<(), SelinuxError> {
        self.released = true;
        self.rewrite(|holders, nonce| holders.retain(|h| h.nonce != nonce))
    }

    fn rewrite(&self, f: impl FnOnce(&mut Vec<Holder>, &str)) -> Result<(), SelinuxError> {
        let a = &self.allocator;
        let _lock = a.lock()?;
        let state = read_state(&self.path).map_err(|e| a.io("read MCS reservation", &self.path, e))?;
        if !state.holders.iter().any(|h| h.nonce == self.nonce) {
            return Ok(()); // already gone (reclaimed by someone after we were presumed dead)
        }
        let mut holders = state.holders;
        f(&mut holders, &self.nonce);
        let kind = state.kind.unwrap_or(Kind::Exclusive);
        if holders.is_empty() {
            match fs::remove_file(&self.path) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(a.io("release MCS reservation", &self.path, e)),
            }
        } else {
            write_state(&a.dir, &self.path, kind, &holders).map_err(|e| a.io("update MCS reservation", &self.path, e))
        }
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if !self.released {
            self.released = true;
            let _ = self.rewrite(|holders, nonce| holders.retain(|h| h.nonce != nonce));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selinux_mcs_range_counts() {
        assert_eq!(McsRange::default().pair_count(), 1024 * 1023 / 2 - 1);
        assert_eq!(McsRange::new(0, 3).unwrap().pair_count(), 6);
        assert_eq!(McsRange::new(1020, 1023).unwrap().pair_count(), 5);
        assert!(McsRange::new(3, 3).is_err());
        assert!(McsRange::new(0, 1024).is_err());
    }

    #[test]
    fn selinux_mcs_holder_lines() {
        let h = Holder::current("my container\n");
        assert_eq!(h.owner, "my_container_");
        assert!(h.alive());
        assert_eq!(Holder::parse(&h.line()), Some(h.clone()));
        let dead = Holder { pid: i32::MAX, ..h.clone() };
        assert!(!dead.alive());
        let reused = Holder { start: h.start + 1, ..h };
        assert!(!reused.alive());
        assert_eq!(Holder::parse("garbage"), None);
    }

    #[test]
    fn selinux_process_start_time_of_self() {
        let a = process_start_time(std::process::id() as i32).unwrap();
        assert_eq!(process_start_time(std::process::id() as i32), Some(a));
        assert_eq!(process_start_time(-5), None);
    }
}
