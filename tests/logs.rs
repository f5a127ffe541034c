//! Container logs on real containers: the CRI file the monitor writes (checked with a
//! parser written from kubelet's description of the format, not with cocoon's reader),
//! rotation, partial lines, a full disk, a detached container whose creator exited, a
//! crash, processes left holding the pipes, and the typed errors.

mod common;

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use cocoon::logs::LogConfig;
use cocoon::{ContainerBuilder, Error, Namespaces, Process, Stdio};
use common::{lock, wait_until, TempDir};

/// One record as kubelet documents the CRI log format: `<RFC3339Nano> <stream> <tag> <log>`,
/// space separated, tag F (full) or P (partial).
#[derive(Debug)]
struct Record {
    time: String,
    stream: String,
    partial: bool,
    text: Vec<u8>,
}

fn parse_file(path: &Path) -> Vec<Record> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(bytes.is_empty() || bytes.ends_with(b"\n"), "{}: a torn last record", path.display());
    bytes
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| {
            let mut parts = l.splitn(4, |b| *b == b' ');
            let (t, s, tag) = (parts.next().unwrap(), parts.next().unwrap(), parts.next().unwrap());
            let text = parts.next().unwrap_or_else(|| panic!("no text field in {:?}", String::from_utf8_lossy(l)));
            let time = String::from_utf8(t.to_vec()).unwrap();
            check_rfc3339_nano(&time);
            let stream = String::from_utf8(s.to_vec()).unwrap();
            assert!(stream == "stdout" || stream == "stderr", "{stream:?}");
            assert!(tag == b"F" || tag == b"P", "{:?}", String::from_utf8_lossy(tag));
            Record { time, stream, partial: tag == b"P", text: text.to_vec() }
        })
        .collect()
}

/// `YYYY-MM-DDTHH:MM:SS.fffffffffZ`, this century, fields in range.
fn check_rfc3339_nano(t: &str) {
    let b = t.as_bytes();
    assert_eq!(b.len(), 30, "{t}");
    let num = |r: std::ops::Range<usize>| t[r].parse::<u32>().unwrap_or_else(|_| panic!("{t}"));
    assert!(b[4] == b'-' && b[7] == b'-' && b[10] == b'T' && b[13] == b':' && b[16] == b':' && b[19] == b'.', "{t}");
    assert_eq!(b[29], b'Z', "{t}");
    assert!((2026..2100).contains(&num(0..4)) && (1..=12).contains(&num(5..7)) && (1..=31).contains(&num(8..10)));
    assert!(num(11..13) < 24 && num(14..16) < 60 && num(17..19) < 61);
    num(20..29);
}

/// The log files of `base`, oldest first: `base.N` … `base.1`, `base`.
fn files(base: &Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = (1..100).map(|k| base.with_extension(format!("log.{k}"))).filter(|p| p.exists()).collect();
    v.reverse();
    if base.exists() {
        v.push(base.to_path_buf());
    }
    v
}

fn sh(script: &str) -> Process {
    Process::new("/bin/sh").args(["-c", script]).env("PATH", common::PATH)
}

fn container(p: Process) -> ContainerBuilder {
    ContainerBuilder::new(p).namespaces(Namespaces::MOUNT | Namespaces::PID | Namespaces::IPC | Namespaces::UTS)
}

#[test]
fn a_hundred_thousand_lines_per_stream_each_once_in_order() {
    let _g = lock();
    let dir = TempDir::new("logs-100k");
    let log = dir.join("c.log");
    let script =
        "busybox seq 1 100000 | busybox sed 's/^/out /' & busybox seq 1 100000 | busybox sed 's/^/err /' >&2; wait";
    let mut c = container(sh(script).log(LogConfig::new(&log))).spawn().expect("spawn");
    assert!(c.wait().expect("wait").success());
    let recs = parse_file(&log);
    assert_eq!(recs.len(), 200_000, "one record per line");
    let mut next = [1u32, 1u32];
    let mut last_time = [String::new(), String::new()];
    for r in &recs {
        assert!(!r.partial);
        let i = usize::from(r.stream == "stderr");
        let want = format!("{} {}", ["out", "err"][i], next[i]);
        assert_eq!(String::from_utf8_lossy(&r.text), want, "stream {}", r.stream);
        next[i] += 1;
        assert!(r.time >= last_time[i], "time goes forward per stream");
        last_time[i] = r.time.clone();
    }
    assert_eq!(next, [100_001, 100_001]);
    // The two streams really interleave (both writers ran at once).
    let first_err = recs.iter().position(|r| r.stream == "stderr").unwrap();
    let last_out = recs.iter().rposition(|r| r.stream == "stdout").unwrap();
    assert!(first_err < last_out, "interleaved");
    assert_eq!(c.log_lost_bytes(), 0);
}

#[test]
fn rotation_keeps_at_most_max_files_of_at_most_max_size() {
    let _g = lock();
    let dir = TempDir::new("logs-rotate");
    let log = dir.join("c.log");
    let max = 64 * 1024;
    let mut c = container(sh("busybox seq 1 50000").log(LogConfig::new(&log).rotate(max, 3))).spawn().expect("spawn");
    assert!(c.wait().expect("wait").success());
    let fs = files(&log);
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(fs.len(), 3, "{names:?}");
    assert_eq!(names.len(), 3, "nothing else in the directory: {names:?}");
    let mut numbers = Vec::new();
    for f in &fs {
        let len = std::fs::metadata(f).unwrap().len();
        assert!(len <= max, "{}: {len} bytes", f.display());
        numbers.extend(parse_file(f).iter().map(|r| String::from_utf8_lossy(&r.text).parse::<u32>().unwrap()));
    }
    // The newest lines, contiguous across the files, ending with the last one.
    assert_eq!(*numbers.last().unwrap(), 50_000);
    let first = numbers[0];
    assert!(first > 1, "the oldest rotated out");
    assert_eq!(numbers, (first..=50_000).collect::<Vec<_>>());
    // Two full files before the live one: about 2 × 64 KiB of 30+ byte records.
    assert!(numbers.len() > 2 * 64 * 1024 / 50, "{}", numbers.len());
}

#[test]
fn a_long_line_becomes_partial_records_and_ends_with_a_full_one() {
    let _g = lock();
    let dir = TempDir::new("logs-long");
    let log = dir.join("c.log");
    // 40,000 bytes then a newline, then a short line, then one without a newline at exit.
    let script = "busybox head -c 40000 /dev/zero | busybox tr '\\0' x; echo; echo short; printf tail";
    let mut c = container(sh(script).log(LogConfig::new(&log))).spawn().expect("spawn");
    assert!(c.wait().expect("wait").success());
    let recs = parse_file(&log);
    let tags: Vec<bool> = recs.iter().map(|r| r.partial).collect();
    assert_eq!(tags, [true, true, false, false, false], "{:?}", recs.iter().map(|r| r.text.len()).collect::<Vec<_>>());
    assert_eq!(recs[0].text.len(), 16 * 1024);
    assert_eq!(recs[1].text.len(), 16 * 1024);
    let whole: Vec<u8> = recs[..3].iter().flat_map(|r| r.text.clone()).collect();
    assert_eq!(whole, vec![b'x'; 40_000]);
    assert_eq!(recs[3].text, b"short");
    assert_eq!(recs[4].text, b"tail", "the last line without its newline still logged");
}

/// A tmpfs of `size` bytes mounted on `dir`, unmounted on drop.
struct SmallFs<'a>(&'a Path);

impl<'a> SmallFs<'a> {
    fn mount(dir: &'a Path, size: &str) -> SmallFs<'a> {
        let st = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size},mode=0755"), "cocoon-log-test"])
            .arg(dir)
            .status()
            .unwrap();
        assert!(st.success());
        SmallFs(dir)
    }
}

impl Drop for SmallFs<'_> {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(self.0).status();
    }
}

#[test]
fn a_full_disk_loses_output_counted_and_marked_but_never_blocks_the_container() {
    let _g = lock();
    let dir = TempDir::new("logs-full");
    let mnt = dir.join("fs");
    std::fs::create_dir(&mnt).unwrap();
    let _fs = SmallFs::mount(&mnt, "1m");
    let log = mnt.join("c.log");
    // Room for the log to start, then gone.
    let filler = mnt.join("filler");
    std::fs::write(&filler, vec![0u8; 768 * 1024]).unwrap();
    // 50 MB as fast as it can, then wait for a line on stdin, then one last line.
    let script = "busybox head -c 50000000 /dev/zero | busybox tr '\\0' y | busybox fold -w 1000; echo; \
                  read go; echo after-$go";
    let mut c = container(sh(script).log(LogConfig::new(&log)).stdin(Stdio::Piped)).spawn().expect("spawn");
    let t = Instant::now();
    // The container gets through its 50 MB: the monitor drains what it cannot write. All
    // of it is in the file or lost once the container waits on its stdin.
    let total = 50_000 * (30 + 10 + 1000 + 1);
    wait_until(Duration::from_secs(60), "all 50 MB written or lost", || {
        c.log_lost_bytes() + std::fs::metadata(&log).map_or(0, |m| m.len()) >= total
    });
    let e = c.log_error().expect("the write error kept");
    assert_eq!(e.raw_os_error(), Some(libc::ENOSPC), "{e}");
    assert!(c.try_wait().expect("try_wait").is_none(), "waiting on its stdin, not dead");
    // Space again: the next write goes in after a marker that says what was lost.
    std::fs::remove_file(&filler).unwrap();
    let mut stdin = c.take_stdin().unwrap();
    stdin.write_all(b"go\n").unwrap();
    drop(stdin);
    assert!(c.wait().expect("wait").success());
    println!("50 MB through a full 1 MiB tmpfs in {:?}", t.elapsed());
    let lost = c.log_lost_bytes();
    let recs = parse_file(&log);
    let n = recs.len();
    assert!(n >= 2);
    // Every loss is reported by a marker before the next record that got in (a nearly
    // full disk takes small batches now and then, so there can be several), and the
    // markers add up to the count.
    let marker = |r: &Record| {
        let t = String::from_utf8_lossy(&r.text).into_owned();
        let rest = t.strip_prefix("cocoon: ")?;
        let (bytes, tail) = rest.split_once(" bytes of output lost (errno ")?;
        assert_eq!(tail, format!("{})", libc::ENOSPC));
        assert_eq!(r.stream, "stderr");
        bytes.parse::<u64>().ok()
    };
    let reported: u64 = recs.iter().filter_map(marker).sum();
    let where_: Vec<(usize, u64)> = recs.iter().enumerate().filter_map(|(i, r)| Some((i, marker(r)?))).collect();
    assert_eq!(reported, lost, "markers (record index, bytes) {where_:?} of {n} records");
    assert!(recs.iter().filter_map(marker).count() >= 1, "the loss is marked in the file");
    assert_eq!(recs[n - 1].text, b"after-go");
    // Everything else is whole records of the container's lines.
    let lines =
        recs[..n - 1].iter().filter(|r| marker(r).is_none()).inspect(|r| assert_eq!(r.text, vec![b'y'; 1000])).count();
    // Written + lost = every record the container's output made (50,000 lines of 1000).
    assert_eq!(lines as u64 * (30 + 10 + 1000 + 1) + lost, total);
}

#[test]
fn a_crashing_container_keeps_every_line_it_wrote() {
    let _g = lock();
    let dir = TempDir::new("logs-crash");
    let log = dir.join("c.log");
    let script = "busybox seq 1 20000; printf 'no newline before the crash'; kill -SEGV $$";
    // No PID namespace: a PID 1 would ignore the signal.
    let mut c = ContainerBuilder::new(sh(script).log(LogConfig::new(&log)))
        .namespaces(Namespaces::MOUNT)
        .spawn()
        .expect("spawn");
    let st = c.wait().expect("wait");
    assert_eq!(st.signal(), Some(libc::SIGSEGV), "{st:?}");
    let recs = parse_file(&log);
    assert_eq!(recs.len(), 20_001);
    for (i, r) in recs[..20_000].iter().enumerate() {
        assert_eq!(String::from_utf8_lossy(&r.text), (i + 1).to_string());
    }
    assert_eq!(recs[20_000].text, b"no newline before the crash");
}

#[test]
fn processes_left_holding_the_pipes_do_not_hold_the_exit_past_the_drain() {
    let _g = lock();
    let dir = TempDir::new("logs-daemon");
    let log = dir.join("c.log");
    // No PID namespace: the background sleep outlives the program and keeps stdout open.
    let script = "busybox sleep 30 & echo started; exit 0";
    let mut c = ContainerBuilder::new(sh(script).log(LogConfig::new(&log)))
        .namespaces(Namespaces::MOUNT)
        .spawn()
        .expect("spawn");
    let t = Instant::now();
    assert!(c.wait().expect("wait").success());
    let waited = t.elapsed();
    assert!(waited < Duration::from_secs(10), "{waited:?}");
    assert!(waited >= Duration::from_millis(1500), "the monitor drained for a while: {waited:?}");
    let recs = parse_file(&log);
    assert_eq!(recs.iter().map(|r| r.text.clone()).collect::<Vec<_>>(), [b"started".to_vec()]);
    c.kill(libc::SIGKILL).ok();
    drop(c);
    // The sleep is in no cgroup of ours: end it by its command line.
    let _ = std::process::Command::new("pkill").args(["-f", "^busybox sleep 30$"]).status();
}

/// The creator of `a_detached_container_logs_on_after_its_creator_exits`, run in a process
/// of its own (this test binary, this test only, with the env var set).
#[test]
fn detached_log_creator() {
    let Ok(log) = std::env::var("COCOON_LOG_CREATOR") else { return };
    let script = "for i in $(busybox seq 1 30); do echo line $i; busybox sleep 0.05; done";
    let c = container(sh(script).log(LogConfig::new(log))).spawn().expect("spawn");
    println!("monitor {}", c.detach());
}

#[test]
fn a_detached_container_logs_on_after_its_creator_exits() {
    let _g = lock();
    let dir = TempDir::new("logs-detached");
    let log = dir.join("c.log");
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "detached_log_creator", "--nocapture", "--test-threads=1"])
        .env("COCOON_LOG_CREATOR", &log)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let monitor: i32 = stdout
        .lines()
        .find_map(|l| l.split("monitor ").nth(1))
        .unwrap_or_else(|| panic!("{stdout}"))
        .trim()
        .parse()
        .unwrap();
    // The creator is gone and the container still runs: its lines keep coming.
    let early = parse_file(&log).len();
    assert!(early < 30, "the creator exited before the container was done ({early} lines)");
    wait_until(Duration::from_secs(20), "the monitor to end", || !common::pid_exists(monitor));
    let recs = parse_file(&log);
    let texts: Vec<String> = recs.iter().map(|r| String::from_utf8_lossy(&r.text).into_owned()).collect();
    assert_eq!(texts, (1..=30).map(|i| format!("line {i}")).collect::<Vec<_>>());
}

#[test]
fn log_errors_are_typed_and_leave_nothing_behind() {
    let _g = lock();
    let dir = TempDir::new("logs-errors");
    let before = common::fds();
    // A directory that does not exist.
    let e = container(sh("true").log(LogConfig::new(dir.join("missing/c.log")))).spawn().unwrap_err();
    assert!(matches!(e, Error::Os { .. }), "{e:?}");
    assert!(e.to_string().contains("missing"), "{e}");
    // A name too long for the rotated names.
    let long = dir.join("x".repeat(250));
    let e = container(sh("true").log(LogConfig::new(&long))).spawn().unwrap_err();
    assert!(matches!(e, Error::InvalidConfig { what: "log", .. }), "{e:?}");
    // A path without a file name.
    let e = container(sh("true").log(LogConfig::new("/"))).spawn().unwrap_err();
    assert!(matches!(e, Error::InvalidConfig { what: "log", .. }), "{e:?}");
    // A symlink where the file should be: not followed.
    std::os::unix::fs::symlink("/etc/passwd", dir.join("link.log")).unwrap();
    let e = container(sh("true").log(LogConfig::new(dir.join("link.log")))).spawn().unwrap_err();
    assert!(matches!(e, Error::Os { .. }), "{e:?}");
    // A program that is not there: the spawn fails at exec, and the empty log file it
    // created goes with it; an existing log is appended to, so it stays.
    let e =
        container(Process::new("/no/such/program").log(LogConfig::new(dir.join("failed.log")))).spawn().unwrap_err();
    assert!(matches!(e, Error::Setup { .. }), "{e:?}");
    assert!(!dir.join("failed.log").exists(), "the failed spawn's log was removed");
    std::fs::write(dir.join("old.log"), b"").unwrap();
    let e = container(Process::new("/no/such/program").log(LogConfig::new(dir.join("old.log")))).spawn().unwrap_err();
    assert!(matches!(e, Error::Setup { .. }), "{e:?}");
    assert!(dir.join("old.log").exists(), "a log that was there is kept");
    std::fs::remove_file(dir.join("old.log")).unwrap();
    // No monitor, no log.
    let e = container(sh("true").log(LogConfig::new(dir.join("d.log")))).direct_child(true).spawn().unwrap_err();
    assert!(matches!(e, Error::InvalidConfig { what: "log", .. }), "{e:?}");
    // An exec'd process cannot log.
    let mut c = container(sh("exec busybox sleep 30")).spawn().expect("spawn");
    let e = c.exec(&sh("true").log(LogConfig::new(dir.join("e.log")))).unwrap_err();
    assert!(matches!(e, Error::InvalidConfig { what: "log", .. }), "{e:?}");
    c.kill(libc::SIGKILL).unwrap();
    c.wait().unwrap();
    drop(c);
    assert_eq!(common::fds(), before, "no fd left behind");
    common::assert_no_children();
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left, [std::ffi::OsString::from("link.log")], "no file created by a refused spawn");
}

#[test]
fn output_that_looks_like_records_stays_the_containers_text() {
    let _g = lock();
    let dir = TempDir::new("logs-forge");
    let log = dir.join("c.log");
    // A forged stderr record, a NUL, a carriage return, bytes that are not UTF-8.
    let script = "printf '2020-01-01T00:00:00.000000000Z stderr F forged\\n\\000nul\\rcr\\377\\n'";
    let mut c = container(sh(script).log(LogConfig::new(&log))).spawn().expect("spawn");
    assert!(c.wait().expect("wait").success());
    let recs = parse_file(&log);
    assert_eq!(recs.len(), 2);
    assert!(recs.iter().all(|r| r.stream == "stdout" && !r.time.starts_with("2020")));
    assert_eq!(recs[0].text, b"2020-01-01T00:00:00.000000000Z stderr F forged");
    assert_eq!(recs[1].text, b"\0nul\rcr\xff");
}
