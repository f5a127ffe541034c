//! CVE-2019-5736, interpreter variants: until its first exec, a container process is a
//! copy of the host (this test executable), and `/proc/self/exe` is the host's binary. A
//! program that is a `#!/proc/self/exe` script, an ELF whose `PT_INTERP` is
//! `/proc/self/exe`, or a symlink to `/proc/self/exe` would make the kernel run the host's
//! binary inside the container, which can then hold it through `/proc/<pid>/exe` and
//! overwrite it once the host stops running it. cocoon's first exec is a sealed helper
//! (memfd), which refuses to run as an interpreter: none of these may run the host binary,
//! whether as the spawned program, through `Container::exec`, or under an init.
//!
//! Detection: if the host binary (a libtest harness) runs inside, it exits 0 printing
//! "running 0 tests"; the helper instead refuses with exit 126 and a message (or the
//! exec fails with a typed error, for an ELF the kernel cannot load this way).

mod common;

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use cocoon::{Container, ContainerBuilder, Error, ExitStatus, Mount, Process, Stage, Stdio};
use common::*;

const REFUSAL: &str = "cocoon-helper: refusing to run";

/// /w in the container: the victims, built on the host.
struct Victims {
    dir: TempDir,
}

impl Victims {
    fn new() -> Victims {
        let dir = TempDir::new("victims");
        let d = dir.path();
        std::fs::write(d.join("victim.sh"), "#!/proc/self/exe\necho script-ran-as-shell\n").unwrap();
        chmod(&d.join("victim.sh"), 0o755);
        std::os::unix::fs::symlink("/proc/self/exe", d.join("victim-link")).unwrap();
        // An ELF whose interpreter is /proc/self/exe.
        std::fs::write(d.join("victim.c"), "int main(void) { return 42; }\n").unwrap();
        let st = std::process::Command::new("cc")
            .arg("-Wl,--dynamic-linker=/proc/self/exe")
            .arg("-o")
            .arg(d.join("victim-elf"))
            .arg(d.join("victim.c"))
            .status()
            .expect("cc is needed to build the PT_INTERP victim");
        assert!(st.success());
        let interp = std::process::Command::new("readelf").arg("-l").arg(d.join("victim-elf")).output().unwrap();
        assert!(String::from_utf8_lossy(&interp.stdout).contains("/proc/self/exe"), "PT_INTERP not set");
        chmod(d, 0o755);
        Victims { dir }
    }

    fn mount(&self) -> Mount {
        Mount::bind(self.dir.path(), "/w").read_only(true)
    }
}

/// The victim run with arguments that make a libtest host binary run nothing.
fn victim(path: &str) -> Process {
    Process::new(path)
        .args(["--exact", "no-such-test"])
        .env("PATH", PATH)
        .stdout(Stdio::Piped)
        .stderr(Stdio::Piped)
}

/// The host binary must not have run: the helper refused (126), or the kernel could not
/// load the program at all (a typed exec error).
fn assert_refused(what: &str, r: Result<(ExitStatus, String, String), Error>) {
    match r {
        Ok((status, out, err)) => {
            assert!(!out.contains("running 0 tests"), "{what}: the HOST binary ran inside the container: {out}");
            assert_eq!(status, ExitStatus::Exited(126), "{what}: status {status:?}, stdout {out:?}, stderr {err:?}");
            assert!(err.contains(REFUSAL), "{what}: stderr {err:?}");
        }
        Err(e) => assert_eq!(e.stage(), Some(Stage::Exec), "{what}: {e}"),
    }
}

fn spawn_collect(b: ContainerBuilder) -> Result<(ExitStatus, String, String), Error> {
    let mut c = b.spawn()?;
    let o = collect(&mut c);
    Ok((o.status, o.stdout, o.stderr))
}

fn exec_collect(c: &Container, p: &Process) -> Result<(ExitStatus, String, String), Error> {
    let mut q = c.exec(p)?;
    let err = q.take_stderr().map(|mut e| {
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = std::io::Read::read_to_string(&mut e, &mut s);
            s
        })
    });
    let mut out = String::new();
    std::io::Read::read_to_string(&mut q.take_stdout().unwrap(), &mut out).unwrap();
    let err = err.map(|t| t.join().unwrap()).unwrap_or_default();
    Ok((q.wait()?, out, err))
}

const VARIANTS: [&str; 3] = ["/w/victim.sh", "/w/victim-link", "/w/victim-elf"];

#[test]
fn spawned_program_never_runs_the_host_binary() {
    let _g = lock();
    let v = Victims::new();
    for path in VARIANTS {
        for init in [false, true] {
            let b = ContainerBuilder::new(victim(path)).mount(v.mount()).init(init);
            assert_refused(&format!("spawn {path} (init {init})"), spawn_collect(b));
        }
    }
}

#[test]
fn exec_d_program_never_runs_the_host_binary() {
    let _g = lock();
    let v = Victims::new();
    // The container replaces a program of its own with a #!/proc/self/exe script.
    let c = ContainerBuilder::new(sh("printf '#!/proc/self/exe\\n' > /tmp/victim; chmod 755 /tmp/victim; echo ready; sleep 1000"))
        .mount(v.mount())
        .spawn()
        .unwrap();
    let mut c = c;
    let mut lines = Lines::new(&mut c);
    assert_eq!(lines.next(), "ready");
    for path in ["/tmp/victim", VARIANTS[0], VARIANTS[1], VARIANTS[2]] {
        assert_refused(&format!("exec {path}"), exec_collect(&c, &victim(path)));
    }
    c.kill(libc::SIGKILL).unwrap();
    let _ = c.wait();
}

fn same_inode(pid: i32, host: &std::fs::Metadata) -> Option<bool> {
    std::fs::metadata(format!("/proc/{pid}/exe")).ok().map(|m| (m.dev(), m.ino()) == (host.dev(), host.ino()))
}

#[test]
fn first_process_exe_is_never_the_host_binary_inode() {
    let _g = lock();
    let host = std::fs::metadata(std::env::current_exe().unwrap()).unwrap();
    let v = Victims::new();
    // An init: PID 1 lives for the container's lifetime; its exe is the sealed helper.
    let mut c = ContainerBuilder::new(Process::new("/bin/sleep").arg("1000")).init(true).spawn().unwrap();
    assert_eq!(same_inode(c.pid(), &host), Some(false), "the init runs the host binary");
    let link = std::fs::read_link(format!("/proc/{}/exe", c.pid())).unwrap();
    assert_eq!(link, Path::new("/memfd:cocoon-helper (deleted)"));
    // exec into it: the joined process, right after exec returns.
    let p = c.exec(&Process::new("/bin/sleep").arg("1000")).unwrap();
    assert_eq!(same_inode(p.pid(), &host), Some(false), "the exec'd process runs the host binary");
    p.kill(libc::SIGKILL).unwrap();
    drop(p);
    c.kill(libc::SIGKILL).unwrap();
    let _ = c.wait();
    // The interpreter tricks, sampled right after spawn/exec returned (the refusing
    // helper exits at once; a host binary would still be starting up).
    for path in VARIANTS {
        for init in [false, true] {
            let mut c = ContainerBuilder::new(victim(path).stdout(Stdio::Null).stderr(Stdio::Null))
                .mount(v.mount())
                .init(init)
                .spawn()
                .unwrap();
            let first = c.pid();
            let pids: Vec<i32> = std::iter::once(first).chain(children_of(first)).collect();
            for pid in pids {
                assert_ne!(same_inode(pid, &host), Some(true), "spawn {path} (init {init}): pid {pid} runs the host binary");
            }
            let _ = c.wait();
        }
    }
}

fn children_of(pid: i32) -> Vec<i32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// The full attack, against a throwaway copy of this test binary run as the host: the
/// container's PID 1 (the attacker) waits for a process whose exe is not its shell, holds
/// its `/proc/<pid>/exe`, and once nothing runs that binary any more (the host exits, the
/// container is detached) reopens it for writing and writes. The host meanwhile execs
/// `/w/victim.sh` (a `#!/proc/self/exe` script) into the container, which would run the
/// host binary inside. The copy must be unchanged.
#[test]
fn container_cannot_overwrite_a_host_binary_copy() {
    let _g = lock();
    let me = std::env::current_exe().unwrap();
    let v = Victims::new();
    let work = TempDir::new("attack");
    let copy = work.path().join("host-copy");
    std::fs::copy(&me, &copy).unwrap();
    chmod(&copy, 0o755);
    chmod(work.path(), 0o777);
    let out = std::process::Command::new(&copy)
        .args(["--exact", "attack_host", "--ignored", "--nocapture", "--test-threads=1"])
        .env("COCOON_ATTACK_VICTIMS", v.dir.path())
        .env("COCOON_ATTACK_WORK", work.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "the host copy failed: {:?}\n{}", out.status, String::from_utf8_lossy(&out.stderr));
    let result = work.path().join("result");
    wait_until(Duration::from_secs(30), "the container's attack to finish", || result.exists());
    let result = std::fs::read_to_string(&result).unwrap();
    eprintln!("the container's attack: {result}");
    let original = std::fs::read(&me).unwrap();
    let now = std::fs::read(&copy).unwrap();
    assert!(now == original, "the container overwrote the host binary copy: {result}");
    assert!(!result.contains("WROTE") && !result.contains("CHMOD-OK"), "{result}");
    assert!(!result.contains("host-copy"), "the container held a handle on the host binary: {result}");
}

/// Run by the host copy (`container_cannot_overwrite_a_host_binary_copy`): spawns the
/// attacking container, execs the victim into it, and exits, leaving it detached.
#[test]
#[ignore = "the host side of container_cannot_overwrite_a_host_binary_copy"]
fn attack_host() {
    let (Some(victims), Some(work)) = (std::env::var_os("COCOON_ATTACK_VICTIMS"), std::env::var_os("COCOON_ATTACK_WORK"))
    else {
        return;
    };
    let attack = r#"
        me=$(readlink /proc/self/exe)
        try_write() { ( exec 4<>"$1" && printf PWNED >&4 && echo WROTE ) 2>/dev/null; }
        attack() {
            h=$(readlink /proc/self/fd/3)
            # Our own shell (or a subshell of it): not the victim.
            [ -z "$h" ] || [ "$h" = "$me" ] && return 1
            echo "HANDLE $h"
            chmod 0644 /proc/self/fd/3 2>/dev/null && echo CHMOD-OK
            n=0
            while [ $n -lt 100 ]; do
                r=$(try_write /proc/self/fd/3)
                if [ -n "$r" ]; then echo WROTE; return 0; fi
                n=$((n+1)); sleep 0.05
            done
            echo NOWRITE
        }
        {
            echo ready > /out/ready
            # Scan until a victim is held, or for a while after the host's exec returned.
            found=
            i=0
            while [ $i -lt 100 ] && [ -z "$found" ]; do
                for p in /proc/[0-9]*; do
                    [ "$p" = "/proc/$$" ] && continue
                    if { attack; } 2>/dev/null 3< $p/exe; then found=1; break; fi
                done
                [ -e /out/exec-done ] && i=$((i+1))
            done
            [ -z "$found" ] && echo NOHANDLE
        } > /out/result.tmp
        mv /out/result.tmp /out/result
    "#;
    let work = PathBuf::from(work);
    let c = ContainerBuilder::new(Process::new("/bin/sh").args(["-c", attack]).env("PATH", PATH))
        .mount(Mount::bind(PathBuf::from(victims), "/w").read_only(true))
        .mount(Mount::bind(&work, "/out"))
        .spawn()
        .unwrap();
    wait_until(Duration::from_secs(10), "the attacker", || work.join("ready").exists());
    // The host runs the container's (replaced) program, as `docker exec` would.
    let p = c
        .exec(&Process::new("/w/victim.sh").args(["--exact", "sleeper", "--ignored"]).env("COCOON_SLEEPER", "1"))
        .unwrap();
    std::fs::write(work.join("exec-done"), "").unwrap();
    // Leave both running: the host goes away, the container stays.
    std::mem::forget(p);
    c.detach();
}

/// What `/w/victim.sh` would run if the host binary were its interpreter: something that
/// keeps the binary busy for a moment, as a real runtime would.
#[test]
#[ignore = "run only as the (failed) interpreter of the attack"]
fn sleeper() {
    if std::env::var_os("COCOON_SLEEPER").is_some() {
        std::thread::sleep(Duration::from_secs(2));
    }
}

#[test]
fn init_shows_no_host_argument() {
    let _g = lock();
    // This test binary's own command line and environment carry a secret.
    let secret = format!("cocoon-secret-{}", std::process::id());
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "init_cmdline_probe", "--ignored", "--nocapture", "--test-threads=1", &secret])
        .env("COCOON_PROBE", "1")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "probe failed: {text}\n{}", String::from_utf8_lossy(&out.stderr));
    let line = text
        .lines()
        .find_map(|l| l.find("PID1 ").map(|i| &l[i..]))
        .unwrap_or_else(|| panic!("no probe output: {text}"));
    assert!(!line.contains(&secret), "PID 1 shows the host's command line: {line}");
    assert!(!line.contains("init_cmdline_probe"), "PID 1 shows the host's command line: {line}");
    assert!(line.contains("comm=cocoon-init"), "{line}");
}

/// Run with a secret on its command line by `init_shows_no_host_argument`.
#[test]
#[ignore = "the probe of init_shows_no_host_argument"]
fn init_cmdline_probe() {
    if std::env::var_os("COCOON_PROBE").is_none() {
        return;
    }
    let out = run_ok(
        ContainerBuilder::new(sh("printf 'PID1 cmdline=%s comm=%s\\n' \"$(tr '\\0' ' ' < /proc/1/cmdline)\" \"$(cat /proc/1/comm)\""))
            .init(true),
    );
    // The host's argv is in our own /proc/self/cmdline: make sure the probe could see it.
    let mine = std::fs::read("/proc/self/cmdline").unwrap();
    assert!(mine.windows(b"cocoon-secret-".len()).any(|w| w == b"cocoon-secret-"), "secret missing from our argv");
    println!("\n{out}");
}

/// The program inherits neither the helper's memfd nor the setup socket, also with passed
/// fds at the numbers the helper's fd would otherwise have had; an init holds no fd.
#[test]
fn program_holds_no_helper_fd_and_passed_fds_survive() {
    let _g = lock();
    let devnull = || std::sync::Arc::new(std::os::fd::OwnedFd::from(std::fs::File::open("/dev/null").unwrap()));
    let mut p = Process::new("/bin/sleep").arg("100").stdin(Stdio::Null);
    for t in 3..=10 {
        p = p.pass_fd(devnull(), t);
    }
    let fds_of = |pid: i32| -> Vec<String> {
        let mut v: Vec<(i32, String)> = std::fs::read_dir(format!("/proc/{pid}/fd"))
            .unwrap()
            .flatten()
            .filter_map(|e| {
                let n = e.file_name().to_string_lossy().parse().unwrap();
                // An fd closed between readdir and readlink is gone.
                std::fs::read_link(e.path()).ok().map(|l| (n, format!("{n} {}", l.display())))
            })
            .collect();
        v.sort();
        v.into_iter().map(|(_, s)| s).collect()
    };
    let check = |what: &str, pid: i32| {
        wait_until(Duration::from_secs(5), "the program to run", || {
            std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|l| l.ends_with("sleep"))
        });
        // Right after exec the program's dynamic loader briefly holds an fd of each
        // library it maps: read again until it is done (a leaked fd stays).
        let t = std::time::Instant::now();
        let mut fds = fds_of(pid);
        while fds.len() != 11 && t.elapsed() < Duration::from_secs(2) {
            std::thread::sleep(Duration::from_millis(5));
            fds = fds_of(pid);
        }
        assert_eq!(fds.len(), 11, "{what}: {fds:?}");
        assert!(fds.iter().all(|l| !l.contains("memfd") && !l.contains("socket")), "{what}: {fds:?}");
        assert!(fds[3..].iter().all(|l| l.ends_with(" /dev/null")), "{what}: {fds:?}");
    };
    for init in [false, true] {
        let mut c = ContainerBuilder::new(p.clone()).init(init).spawn().unwrap();
        let prog = if init {
            // The init's close_range may still be running when spawn returns.
            wait_until(Duration::from_secs(5), "the init to close every fd", || fds_of(c.pid()).is_empty());
            wait_until(Duration::from_secs(5), "the init's child", || !children_of(c.pid()).is_empty());
            children_of(c.pid())[0]
        } else {
            c.pid()
        };
        check(&format!("spawn (init {init})"), prog);
        let q = c.exec(&p).unwrap();
        check("exec", q.pid());
        drop(q);
        c.kill(libc::SIGKILL).unwrap();
        let _ = c.wait();
    }
}

/// A filter that denies the helper's exec is a typed setup error naming the helper, and
/// leaves nothing behind.
#[test]
fn a_filter_denying_execveat_is_a_typed_exec_error() {
    let _g = lock();
    // The sealed helper is created once per process, at the first spawn: not a leak.
    run_ok(ContainerBuilder::new(Process::new("/bin/true")));
    let before = snapshot();
    let p = || Process::new("/bin/true").seccomp(cocoon::Seccomp::deny([libc::SYS_execveat]));
    for init in [false, true] {
        let e = ContainerBuilder::new(p()).init(init).spawn().map(|_| ()).unwrap_err();
        assert_eq!(e.stage(), Some(Stage::Exec), "{e}");
        assert_eq!(e.raw_os_error(), Some(libc::EPERM), "{e}");
        assert!(e.to_string().contains("exec helper"), "{e}");
    }
    let c = ContainerBuilder::new(Process::new("/bin/sleep").arg("100")).spawn().unwrap();
    let e = c.exec(&p()).map(|_| ()).unwrap_err();
    assert_eq!(e.stage(), Some(Stage::Exec), "{e}");
    assert!(e.to_string().contains("exec helper"), "{e}");
    c.kill(libc::SIGKILL).unwrap();
    drop(c);
    assert_unchanged(&before, &snapshot(), "failed helper exec");
}

/// The sealed helper is made once per host process: a host that forks (and keeps using
/// cocoon in the child) or closes every fd it does not know (a daemon) still gets a
/// working, sealed helper — recreated when its fd is gone or the number was reused.
#[test]
fn helper_survives_a_host_fork_and_a_host_that_closes_every_fd() {
    let _g = lock();
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "fork_probe", "--ignored", "--nocapture", "--test-threads=1"])
        .env("COCOON_FORK_PROBE", "1")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("FORK-PROBE-OK"), "{text}");
}

#[test]
#[ignore = "the probe of helper_survives_a_host_fork_and_a_host_that_closes_every_fd"]
fn fork_probe() {
    if std::env::var_os("COCOON_FORK_PROBE").is_none() {
        return;
    }
    let true_ok = || {
        let mut c = ContainerBuilder::new(Process::new("/bin/true")).spawn().unwrap();
        c.wait().unwrap().success()
    };
    assert!(true_ok(), "before the fork");
    // SAFETY: fork in a single-test process; the child uses only what it set up itself
    // and ends with _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        let ok = true_ok();
        // A daemon-style host: close everything but stdio, then reuse the numbers.
        // SAFETY: closing fds in our own (forked) process.
        unsafe { libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32) };
        let _reuse: Vec<std::fs::File> = (0..8).map(|_| std::fs::File::open("/dev/null").unwrap()).collect();
        let ok = ok && true_ok();
        // SAFETY: ends the forked child without running the harness.
        unsafe { libc::_exit(if ok { 0 } else { 1 }) };
    }
    let mut st = 0;
    // SAFETY: waiting for our forked child.
    assert_eq!(unsafe { libc::waitpid(pid, &mut st, 0) }, pid);
    assert!(libc::WIFEXITED(st) && libc::WEXITSTATUS(st) == 0, "the forked host failed: {st:#x}");
    assert!(true_ok(), "after the fork");
    println!("FORK-PROBE-OK");
}
