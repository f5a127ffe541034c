//! The MCS allocator against the real filesystem, with private state directories:
//! uniqueness, exhaustion, release/reuse, pods, cross-process exclusion, stale reclaim.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use cocoon::selinux::{Level, McsAllocator, McsRange, Reservation, SelinuxError};

struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let d = std::env::temp_dir().join(format!("cocoon-selinux-mcs-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        TempDir(d)
    }
    /// Reservation files left (the lock file and temp files excluded).
    fn entries(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(&self.0)
            .map(|rd| rd.filter_map(|e| e.ok()?.file_name().into_string().ok()).collect())
            .unwrap_or_default();
        v.retain(|n| !n.starts_with('.'));
        v.sort();
        v
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn pair(a: u16, b: u16) -> Level {
    Level::mcs_pair(a, b).unwrap()
}

#[test]
fn selinux_mcs_ten_thousand_unique_pairs() {
    let dir = TempDir::new("unique");
    let alloc = McsAllocator::new(&dir.0, McsRange::default());
    let mut held: Vec<Reservation> = Vec::with_capacity(10_000);
    let mut seen = HashSet::new();
    for i in 0..10_000 {
        let r = alloc.allocate(&format!("c{i}")).unwrap();
        let (a, b) = r.level().as_mcs_pair().expect("an MCS pair");
        assert!(a < b && b <= 1023);
        assert_ne!((a, b), (1022, 1023), "the reserved pair was handed out");
        assert!(seen.insert((a, b)), "pair {a},{b} handed out twice");
        held.push(r);
    }
    assert_eq!(dir.entries().len(), 10_000);
    assert_eq!(alloc.reserved().unwrap().len(), 10_000);
    drop(held);
    assert!(dir.entries().is_empty(), "release on drop left {:?}", &dir.entries()[..3]);
}

#[test]
fn selinux_mcs_unique_across_threads_and_allocators() {
    let dir = TempDir::new("threads");
    let levels: Vec<Vec<Reservation>> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..4)
            .map(|t| {
                // a separate allocator per thread, same directory: like separate processes
                let alloc = McsAllocator::new(&dir.0, McsRange::new(0, 60).unwrap());
                s.spawn(move || (0..400).map(|i| alloc.allocate(&format!("t{t}-{i}")).unwrap()).collect())
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let all: Vec<Level> = levels.iter().flatten().map(|r| *r.level()).collect();
    let unique: HashSet<String> = all.iter().map(|l| l.to_string()).collect();
    assert_eq!(all.len(), 1600);
    assert_eq!(unique.len(), 1600, "a pair was handed out twice across threads");
    drop(levels);
    assert!(dir.entries().is_empty());
}

#[test]
fn selinux_mcs_exhaustion_is_an_error_not_a_hang() {
    let dir = TempDir::new("exhaust");
    let alloc = McsAllocator::new(&dir.0, McsRange::new(10, 13).unwrap());
    assert_eq!(alloc.range().pair_count(), 6);
    let mut held: Vec<Reservation> = (0..6).map(|_| alloc.allocate("x").unwrap()).collect();
    let got: HashSet<String> = held.iter().map(|r| r.level().to_string()).collect();
    assert_eq!(got.len(), 6);
    let start = std::time::Instant::now();
    let e = alloc.allocate("one-too-many").unwrap_err();
    assert!(start.elapsed() < std::time::Duration::from_secs(5));
    assert!(matches!(e, SelinuxError::McsExhausted { first: 10, last: 13, pairs: 6, .. }), "{e:?}");
    let msg = e.to_string();
    assert!(msg.contains("no free MCS level") && msg.contains("c10..c13"), "{msg}");
    // the failed attempt left nothing behind
    assert_eq!(dir.entries().len(), 6);

    // release one: exactly that one comes back
    let freed = *held.remove(2).level();
    let again = alloc.allocate("reuse").unwrap();
    assert_eq!(*again.level(), freed);
    // explicit release reports success and removes the file
    again.release().unwrap();
    assert_eq!(dir.entries().len(), 5);
}

#[test]
fn selinux_mcs_reserved_pair_never_handed_out() {
    let dir = TempDir::new("reserved");
    let alloc = McsAllocator::new(&dir.0, McsRange::new(1021, 1023).unwrap());
    assert_eq!(alloc.range().pair_count(), 2);
    let a = alloc.allocate("a").unwrap();
    let b = alloc.allocate("b").unwrap();
    let got: HashSet<String> = [a.level().to_string(), b.level().to_string()].into();
    assert_eq!(got, HashSet::from(["s0:c1021,c1022".to_string(), "s0:c1021,c1023".to_string()]));
    assert!(matches!(alloc.allocate("c"), Err(SelinuxError::McsExhausted { .. })));
}

#[test]
fn selinux_mcs_explicit_and_shared_levels() {
    let dir = TempDir::new("shared");
    let alloc = McsAllocator::new(&dir.0, McsRange::default());
    let l = pair(5, 6);
    let x = alloc.reserve(l, "solo").unwrap();
    assert!(matches!(alloc.reserve(l, "again"), Err(SelinuxError::LevelInUse { .. })));
    assert!(matches!(alloc.share(l, "pod"), Err(SelinuxError::LevelInUse { .. })));
    drop(x);

    let pod = pair(7, 8);
    let p1 = alloc.share(pod, "pod-a").unwrap();
    let p2 = alloc.share(pod, "pod-b").unwrap();
    assert!(p1.is_shared() && p2.is_shared());
    assert_eq!(p1.level(), p2.level());
    let e = alloc.reserve(pod, "intruder").unwrap_err();
    assert!(e.to_string().contains("s0:c7,c8"), "{e}");
    // random allocation never lands on a held level: fill a range holding only the pod pair
    let tiny = McsAllocator::new(&dir.0, McsRange::new(7, 8).unwrap());
    assert!(matches!(tiny.allocate("x"), Err(SelinuxError::McsExhausted { .. })));
    drop(p1);
    assert_eq!(dir.entries(), vec!["s0:c7,c8".to_string()], "the pod level went with its first member");
    drop(p2);
    assert!(dir.entries().is_empty());
}

#[test]
fn selinux_mcs_stale_entries_are_reclaimed() {
    let dir = TempDir::new("stale");
    std::fs::create_dir_all(&dir.0).unwrap();
    let alloc = McsAllocator::new(&dir.0, McsRange::new(3, 4).unwrap());
    // a crash between create and write: no holder line
    std::fs::write(dir.0.join("s0:c3,c4"), b"").unwrap();
    let r = alloc.allocate("after-crash").unwrap();
    assert_eq!(*r.level(), pair(3, 4));
    drop(r);
    // a holder whose pid is dead (pid_max is below i32::MAX)
    std::fs::write(dir.0.join("s0:c3,c4"), b"exclusive\n00ff 2147483646 1 gone\n").unwrap();
    let r = alloc.allocate("after-death").unwrap();
    assert_eq!(*r.level(), pair(3, 4));
    drop(r);
    // a recycled pid: our own pid, but another start time
    let me = std::process::id();
    std::fs::write(dir.0.join("s0:c3,c4"), format!("exclusive\n00ff {me} 1 reused\n")).unwrap();
    let r = alloc.allocate("after-reuse").unwrap();
    drop(r);
    assert!(dir.entries().is_empty());
}

#[test]
fn selinux_mcs_owner_pid_keeps_level_alive() {
    let dir = TempDir::new("owner");
    let a1 = McsAllocator::new(&dir.0, McsRange::new(3, 4).unwrap());
    let a2 = McsAllocator::new(&dir.0, McsRange::new(3, 4).unwrap());
    let mut sleeper = Command::new("sleep").arg("30").spawn().unwrap();
    let mut r = a1.allocate("container").unwrap();
    r.set_owner_pid(sleeper.id() as i32).unwrap();
    assert!(matches!(a2.allocate("other"), Err(SelinuxError::McsExhausted { .. })));
    sleeper.kill().unwrap();
    sleeper.wait().unwrap();
    // the owner is dead: the level is stale and reclaimed, even though `r` is still held here
    let r2 = a2.allocate("other").unwrap();
    assert_eq!(r2.level(), r.level());
    // dropping the old guard must not remove the new holder's file
    drop(r);
    assert_eq!(dir.entries(), vec!["s0:c3,c4".to_string()]);
    drop(r2);
    assert!(dir.entries().is_empty());
    assert!(a1.allocate("x").unwrap().set_owner_pid(i32::MAX - 1).is_err());
}

// ---- across processes: the test binary re-runs itself as the holder ----

const CHILD_ENV: &str = "COCOON_MCS_HOLDER_DIR";

/// Not a test on its own: the body of the holder process the cross-process tests start
/// (`--ignored --exact`). It reserves s0:c3,c4, says READY, and releases when its stdin
/// closes.
#[test]
#[ignore = "helper process of selinux_mcs_cross_process_*"]
fn selinux_mcs_holder_process() {
    let dir = std::env::var_os(CHILD_ENV).expect("run by the cross-process tests");
    let alloc = McsAllocator::new(PathBuf::from(dir), McsRange::new(3, 4).unwrap());
    let r = alloc.reserve(pair(3, 4), "holder").unwrap();
    println!("READY {}", r.level());
    std::io::stdout().flush().unwrap();
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
    r.release().unwrap();
    println!("RELEASED");
}

fn start_holder(dir: &Path) -> (Child, std::sync::mpsc::Receiver<String>) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", "selinux_mcs_holder_process", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    // Read in a thread so a broken holder fails the test instead of hanging it.
    let out = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut out = BufReader::new(out);
        let mut line = String::new();
        while out.read_line(&mut line).map(|n| n > 0).unwrap_or(false) {
            let _ = tx.send(std::mem::take(&mut line));
        }
    });
    loop {
        match rx.recv_timeout(std::time::Duration::from_secs(60)) {
            // libtest prints "test NAME ... " before the test's own output on the same line
            Ok(line) => {
                if let Some(i) = line.find("READY ") {
                    assert_eq!(line[i..].trim(), "READY s0:c3,c4");
                    break;
                }
            }
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("holder never said READY: {e}");
            }
        }
    }
    (child, rx)
}

#[test]
fn selinux_mcs_cross_process_exclusion_and_release() {
    let dir = TempDir::new("xproc");
    let (mut child, lines) = start_holder(&dir.0);
    let alloc = McsAllocator::new(&dir.0, McsRange::new(3, 4).unwrap());
    let e = alloc.reserve(pair(3, 4), "parent").unwrap_err();
    assert!(matches!(e, SelinuxError::LevelInUse { .. }), "{e:?}");
    assert!(matches!(alloc.allocate("parent"), Err(SelinuxError::McsExhausted { .. })));
    // close its stdin: it releases and exits
    drop(child.stdin.take());
    assert!(child.wait().unwrap().success());
    let rest: String = lines.iter().collect();
    assert!(rest.contains("RELEASED"), "{rest}");
    assert!(dir.entries().is_empty());
    let r = alloc.allocate("parent").unwrap();
    assert_eq!(*r.level(), pair(3, 4));
}

#[test]
fn selinux_mcs_cross_process_stale_reclaim_after_kill() {
    let dir = TempDir::new("xkill");
    let (mut child, _lines) = start_holder(&dir.0);
    let alloc = McsAllocator::new(&dir.0, McsRange::new(3, 4).unwrap());
    assert!(matches!(alloc.allocate("parent"), Err(SelinuxError::McsExhausted { .. })));
    child.kill().unwrap(); // SIGKILL: its Drop never runs
    child.wait().unwrap();
    assert_eq!(dir.entries(), vec!["s0:c3,c4".to_string()], "the dead holder's file stays");
    let r = alloc.allocate("parent").unwrap();
    assert_eq!(*r.level(), pair(3, 4));
    drop(r);
    assert!(dir.entries().is_empty());
}

#[test]
fn selinux_mcs_state_dir_errors_are_typed() {
    // a state "directory" that is a file
    let dir = TempDir::new("notadir");
    std::fs::write(&dir.0, b"file").unwrap();
    let alloc = McsAllocator::new(dir.0.join("mcs"), McsRange::default());
    let e = alloc.allocate("x").unwrap_err();
    assert!(matches!(e, SelinuxError::Io { .. }), "{e:?}");
    assert_eq!(e.raw_os_error(), Some(libc::ENOTDIR));
    assert!(e.to_string().contains("MCS state directory"), "{e}");
    let _ = std::fs::remove_file(&dir.0);
}
