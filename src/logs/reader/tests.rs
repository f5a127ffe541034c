use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use super::{LogLine, LogReader, LogStream, MAX_RECORD};
use crate::logs::{LogTime, MAX_CHUNK};

/// A fresh directory under the temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!("cocoon-logreader-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&p);
        fs::create_dir_all(&p).expect("create temp dir");
        TempDir(p)
    }

    fn file(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn line(secs: i64, stream: LogStream, partial: bool, text: &[u8]) -> LogLine {
    LogLine { time: LogTime { secs, nanos: 7 }, stream, partial, text: text.to_vec() }
}

fn out(secs: i64, text: &str) -> LogLine {
    line(secs, LogStream::Stdout, false, text.as_bytes())
}

fn append(path: &Path, bytes: &[u8]) {
    let mut f = OpenOptions::new().create(true).append(true).open(path).expect("open for append");
    f.write_all(bytes).expect("append");
}

fn write_lines(path: &Path, lines: &[LogLine]) {
    for l in lines {
        append(path, &l.to_record());
    }
}

fn read_all(r: LogReader) -> Vec<LogLine> {
    r.map(|l| l.expect("read a line")).collect()
}

/// Rotates as the writer does: NAME.(i) -> NAME.(i+1) from the oldest down, NAME -> NAME.1,
/// at most `max_files` files (NAME included); the new NAME is created by the next append.
fn rotate(live: &Path, max_files: u32) {
    let name = |k: u32| PathBuf::from(format!("{}.{k}", live.display()));
    let _ = fs::remove_file(name(max_files - 1));
    for k in (1..max_files - 1).rev() {
        if name(k).exists() {
            fs::rename(name(k), name(k + 1)).expect("rename rotated");
        }
    }
    fs::rename(live, name(1)).expect("rename live");
}

#[test]
fn parses_every_field() {
    let l = LogLine::parse(b"2016-10-06T00:17:09.669794202Z stdout F hello  world \n").expect("parse");
    assert_eq!(l.time, LogTime { secs: 1_475_713_029, nanos: 669_794_202 });
    assert_eq!(l.stream, LogStream::Stdout);
    assert!(!l.partial);
    assert_eq!(l.text, b"hello  world ");
    let l = LogLine::parse(b"2016-10-06T00:17:09.669794202Z stderr P part").expect("parse");
    assert_eq!((l.stream, l.partial, l.text.as_slice()), (LogStream::Stderr, true, &b"part"[..]));
    // Other writers: a trimmed fraction, an offset, more tags, an empty text.
    let l = LogLine::parse(b"2016-10-06T02:17:09.6+02:00 stdout F:x y").expect("parse");
    assert_eq!(l.time, LogTime { secs: 1_475_713_029, nanos: 600_000_000 });
    assert_eq!(l.text, b"y");
    assert_eq!(LogLine::parse(b"2016-10-06T00:17:09Z stdout F ").map(|l| l.text), Some(vec![]));
    assert_eq!(LogLine::parse(b"2016-10-06T00:17:09Z stdout F").map(|l| l.text), Some(vec![]));
    // The record round-trips, in our writer's form.
    let l = line(1_475_713_029, LogStream::Stderr, true, b"a b\tc");
    assert_eq!(l.to_record(), b"2016-10-06T00:17:09.000000007Z stderr P a b\tc\n");
    assert_eq!(LogLine::parse(&l.to_record()), Some(l));
    for bad in [
        &b""[..],
        b"junk",
        b"2016-10-06T00:17:09Z",
        b"2016-10-06T00:17:09Z stdout",
        b"2016-10-06T00:17:09Z stdin F x",
        b"2016-10-06T00:17:09Z stdout X x",
        b"2016-10-06T00:17:09Z stdout FF x",
        b"2016-13-06T00:17:09Z stdout F x",
        b"\xff\xfe stdout F x",
        b" 2016-10-06T00:17:09Z stdout F x",
    ] {
        assert_eq!(LogLine::parse(bad), None, "{:?}", String::from_utf8_lossy(bad));
    }
}

#[test]
fn junk_lines_are_skipped_and_counted() {
    let d = TempDir::new("junk");
    let p = d.file("c.log");
    append(&p, &out(1, "one").to_record());
    append(&p, b"not a record\n\n2016-10-06T00:17:09Z stdin F x\n\xff\xff\xff\n");
    append(&p, &out(2, "two").to_record());
    append(&p, b"2016-10-06T00:17:09Z stdout Q x\n");
    let mut r = LogReader::open(&p).expect("open");
    assert_eq!(r.next_line().expect("line 1"), Some(out(1, "one")));
    assert_eq!(r.next_line().expect("line 2"), Some(out(2, "two")));
    assert_eq!(r.next_line().expect("end"), None);
    assert_eq!(r.skipped(), 5);
    assert_eq!(r.next_line().expect("still the end"), None);
}

#[test]
fn rotated_files_oldest_first_and_missing_log_is_an_error() {
    let d = TempDir::new("order");
    let p = d.file("c.log");
    write_lines(&d.file("c.log.3"), &[out(1, "a"), out(2, "b")]);
    write_lines(&d.file("c.log.2"), &[out(3, "c")]);
    write_lines(&d.file("c.log.1"), &[out(4, "d"), out(5, "e")]);
    write_lines(&p, &[out(6, "f")]);
    // Not rotated files of this log.
    write_lines(&d.file("c.log.x"), &[out(90, "no")]);
    write_lines(&d.file("c.log.01"), &[out(91, "no")]);
    write_lines(&d.file("other.log.1"), &[out(92, "no")]);
    let texts: Vec<_> = read_all(LogReader::open(&p).expect("open")).into_iter().map(|l| l.time.secs).collect();
    assert_eq!(texts, [1, 2, 3, 4, 5, 6]);
    // No live file (between a rotation's rename and the create): the rotated ones.
    fs::remove_file(&p).expect("rm");
    assert_eq!(read_all(LogReader::open(&p).expect("open")).len(), 5);
    // Nothing at all: a typed error.
    let e = LogReader::open(d.file("none.log")).expect_err("no log");
    assert!(matches!(e, crate::Error::Os { .. }), "{e:?}");
    assert_eq!(e.raw_os_error(), Some(libc::ENOENT));
    let e = LogReader::open(d.file("nodir/none.log")).expect_err("no dir");
    assert_eq!(e.raw_os_error(), Some(libc::ENOENT));
}

#[test]
fn since_skips_older_records() {
    let d = TempDir::new("since");
    let p = d.file("c.log");
    write_lines(&d.file("c.log.1"), &[out(10, "a"), out(20, "b")]);
    write_lines(&p, &[out(30, "c"), out(40, "d")]);
    let t = |secs, nanos| LogTime { secs, nanos };
    let got: Vec<_> =
        read_all(LogReader::open(&p).expect("open").since(t(20, 7))).into_iter().map(|l| l.time.secs).collect();
    assert_eq!(got, [20, 30, 40]);
    let got: Vec<_> =
        read_all(LogReader::open(&p).expect("open").since(t(20, 8))).into_iter().map(|l| l.time.secs).collect();
    assert_eq!(got, [30, 40]);
    let r = LogReader::open(&p).expect("open").since(t(41, 0));
    assert!(read_all(r).is_empty());
}

#[test]
fn non_utf8_text_is_preserved() {
    let d = TempDir::new("bytes");
    let p = d.file("c.log");
    let text = b"\xff\x00\xc3(\x1b[31m \r\t end";
    write_lines(&p, &[line(5, LogStream::Stderr, false, text)]);
    let got = read_all(LogReader::open(&p).expect("open"));
    assert_eq!(got, [line(5, LogStream::Stderr, false, text)]);
}

#[test]
fn overlong_lines_are_skipped_with_bounded_memory() {
    let d = TempDir::new("long");
    let p = d.file("c.log");
    let longest = vec![b'x'; MAX_CHUNK];
    write_lines(&p, &[out(1, "before"), line(2, LogStream::Stdout, true, &longest)]);
    // Just over the limit, and far over it (more than one read).
    append(&p, &[b'y'; MAX_RECORD + 1]);
    append(&p, b"\n");
    append(&p, &vec![b'z'; 1 << 20]);
    append(&p, b"\n");
    write_lines(&p, &[out(3, "after")]);
    let mut r = LogReader::open(&p).expect("open");
    assert_eq!(r.next_line().expect("1"), Some(out(1, "before")));
    assert_eq!(r.next_line().expect("2").map(|l| l.text.len()), Some(MAX_CHUNK));
    assert_eq!(r.next_line().expect("3"), Some(out(3, "after")));
    assert!(r.buf.capacity() <= 2 * (MAX_RECORD + super::READ_SIZE), "{}", r.buf.capacity());
    assert_eq!(r.next_line().expect("end"), None);
    assert_eq!(r.skipped(), 2);
}

#[test]
fn fragments_are_not_returned() {
    let d = TempDir::new("fragment");
    let p = d.file("c.log");
    write_lines(&d.file("c.log.1"), &[out(1, "a")]);
    append(&d.file("c.log.1"), b"2016-10-06T00:17:09Z stdout F cut");
    write_lines(&p, &[out(2, "b")]);
    append(&p, b"2016-10-06T00:17:09Z stdout F being writ");
    let mut r = LogReader::open(&p).expect("open");
    let got: Vec<_> = r.by_ref().map(|l| l.expect("line").time.secs).collect();
    assert_eq!(got, [1, 2]);
    // The rotated file's fragment is a truncated record; the live one's is being written.
    assert_eq!(r.skipped(), 1);
}

#[test]
fn follow_sees_appended_lines_and_waits_for_the_rest_of_a_line() {
    let d = TempDir::new("follow");
    let p = d.file("c.log");
    write_lines(&p, &[out(1, "a")]);
    let mut r = LogReader::open(&p).expect("open").follow(Some(Duration::from_secs(5)));
    assert_eq!(r.next_line().expect("1"), Some(out(1, "a")));
    let writer = {
        let p = p.clone();
        thread::spawn(move || {
            thread::sleep(Duration::from_millis(100));
            write_lines(&p, &[out(2, "b")]);
            let rec = out(3, "c").to_record();
            append(&p, &rec[..20]);
            thread::sleep(Duration::from_millis(100));
            append(&p, &rec[20..]);
        })
    };
    assert_eq!(r.next_line().expect("2"), Some(out(2, "b")));
    assert_eq!(r.next_line().expect("3"), Some(out(3, "c")));
    writer.join().expect("writer");
    assert_eq!(r.skipped(), 0);
}

#[test]
fn follow_timeout_ends() {
    let d = TempDir::new("timeout");
    let p = d.file("c.log");
    write_lines(&p, &[out(1, "a")]);
    append(&p, b"2016-10-06T00:17:09Z stdout F never finished");
    let start = Instant::now();
    let r = LogReader::open(&p).expect("open").follow(Some(Duration::from_millis(200)));
    assert_eq!(read_all(r), [out(1, "a")]);
    let took = start.elapsed();
    assert!(took >= Duration::from_millis(200) && took < Duration::from_secs(3), "{took:?}");
}

#[test]
fn follow_goes_on_after_a_quiet_stretch() {
    let d = TempDir::new("quiet");
    let p = d.file("c.log");
    write_lines(&p, &[out(1, "a")]);
    let mut r = LogReader::open(&p).expect("open").follow(Some(Duration::from_millis(100)));
    assert_eq!(r.next_line().expect("read"), Some(out(1, "a")));
    assert_eq!(r.next_line().expect("quiet"), None, "nothing new for 100 ms");
    write_lines(&p, &[out(2, "b")]);
    assert_eq!(r.next_line().expect("read"), Some(out(2, "b")), "called again: follows on");
    let t = Instant::now();
    assert_eq!(r.next_line().expect("quiet"), None);
    assert!(t.elapsed() >= Duration::from_millis(100), "waited a whole timeout again");
}

#[test]
fn follow_across_one_rotation() {
    let d = TempDir::new("rot1");
    let p = d.file("c.log");
    write_lines(&p, &[out(1, "a")]);
    let r = LogReader::open(&p).expect("open").follow(Some(Duration::from_millis(500)));
    let writer = {
        let p = p.clone();
        thread::spawn(move || {
            for k in 2..=30 {
                write_lines(&p, &[out(k, "x")]);
                if k % 10 == 0 {
                    rotate(&p, 5);
                }
                thread::sleep(Duration::from_millis(5));
            }
        })
    };
    let got: Vec<_> = read_all(r).into_iter().map(|l| l.time.secs).collect();
    writer.join().expect("writer");
    assert_eq!(got, (1..=30).collect::<Vec<_>>());
}

#[test]
fn follow_across_two_rotations_between_reads() {
    for max_files in [5, 2] {
        let d = TempDir::new(&format!("rot2-{max_files}"));
        let p = d.file("c.log");
        write_lines(&p, &[out(1, "a")]);
        let mut r = LogReader::open(&p).expect("open").follow(Some(Duration::from_millis(300)));
        assert_eq!(r.next_line().expect("1"), Some(out(1, "a")));
        // While the reader is not reading: the file it holds gets more and is rotated twice
        // (with 2 files, out of existence).
        write_lines(&p, &[out(2, "a2")]);
        rotate(&p, max_files);
        write_lines(&p, &[out(3, "b")]);
        rotate(&p, max_files);
        write_lines(&p, &[out(4, "c")]);
        let got: Vec<_> = read_all(r).into_iter().map(|l| l.time.secs).collect();
        assert_eq!(got, [2, 3, 4], "max_files {max_files}");
    }
}

#[test]
fn follow_a_file_truncated_in_place() {
    let d = TempDir::new("trunc");
    let p = d.file("c.log");
    write_lines(&p, &[out(1, "a"), out(2, "b")]);
    let mut r = LogReader::open(&p).expect("open").follow(Some(Duration::from_millis(300)));
    assert_eq!(r.next_line().expect("1").map(|l| l.time.secs), Some(1));
    assert_eq!(r.next_line().expect("2").map(|l| l.time.secs), Some(2));
    fs::File::create(&p).expect("truncate");
    write_lines(&p, &[out(3, "c")]);
    assert_eq!(r.next_line().expect("3").map(|l| l.time.secs), Some(3));
    assert_eq!(r.next_line().expect("end"), None);
}

/// CPU time of the calling thread.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes the timespec on our stack.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

#[test]
fn follow_waits_without_spinning_when_the_live_name_is_not_a_file() {
    let d = TempDir::new("notfile");
    let p = d.file("c.log");
    write_lines(&p, &[out(1, "a")]);
    let r = LogReader::open(&p).expect("open").follow(Some(Duration::from_millis(400)));
    rotate(&p, 3);
    fs::create_dir(&p).expect("a directory where the live file was");
    // In a thread: a reader that loops without waiting never reaches its timeout.
    let (tx, rx) = std::sync::mpsc::channel();
    thread::spawn(move || {
        let (cpu, start) = (thread_cpu(), Instant::now());
        let lines = read_all(r);
        let _ = tx.send((lines, start.elapsed(), thread_cpu() - cpu));
    });
    let (lines, took, cpu) = rx.recv_timeout(Duration::from_secs(10)).expect("the reader ended at its timeout");
    assert_eq!(lines, [out(1, "a")]);
    assert!(took >= Duration::from_millis(400), "{took:?}");
    assert!(cpu < Duration::from_millis(200), "spun: {cpu:?} of CPU");
}
