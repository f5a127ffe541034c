//! --detach. The foreground half checks every value, makes the registry entry and starts
//! a keeper: this same program again (marked by `COCOON_RUN_KEEPER`), in a session of its
//! own, which spawns the container and keeps its `Container` handle, so that `exec`,
//! `kill` and the teardown all go through the library (`Container::exec`, `kill`,
//! `delete`). The keeper records the container in the registry, serves its control socket
//! until the container's first process ends, records the exit status and removes the
//! container's cgroup. The container dies with its keeper (the library's monitor sees to
//! that), so a killed keeper leaves a `dead` entry that `rm` clears.

use std::ffi::OsStr;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cocoon::events::{EventKind, EventSource, HealthCheck, HealthStatus};
use cocoon::{Container, ExecProcess, ExitStatus, Stdio};
use nix::sys::socket::{self, SockFlag, SockType, UnixAddr};

use crate::args::RunArgs;
use crate::control::{recv, send};
use crate::settings::{self, Streams};
use crate::state::{self, State, Status};
use crate::{parse, run, Failure};

/// Set (to `FD:ID`) in the keeper's environment: the write end of the pipe that reports
/// "ok" or the failure to the foreground, and the container's id.
const KEEPER_ENV: &str = "COCOON_RUN_KEEPER";

/// The keeper's marching orders, if this process is a keeper.
pub fn keeper_request() -> Option<(RawFd, String)> {
    let v = std::env::var(KEEPER_ENV).ok()?;
    let (fd, id) = v.split_once(':')?;
    Some((fd.parse().ok()?, id.to_string()))
}

/// A fresh id: 12 hex digits.
fn new_id() -> String {
    let mut b = [0u8; 6];
    // SAFETY: getrandom writes at most b.len() bytes into b.
    let n = unsafe { libc::getrandom(b.as_mut_ptr().cast(), b.len(), 0) };
    if n != b.len() as isize {
        let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        b.copy_from_slice(&(t as u64 ^ ((std::process::id() as u64) << 40)).to_le_bytes()[..6]);
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn io(what: &str) -> impl Fn(std::io::Error) -> Failure + '_ {
    move |e| Failure::Cocoon(format!("{what}: {e}"))
}

/// The foreground half: returns once the container runs (printing its id) or failed.
pub fn detach(a: &RunArgs) -> Result<u8, Failure> {
    let id = a.name.clone().unwrap_or_else(new_id);
    // Every value checked first: a bad one creates nothing, not even the registry entry.
    settings::builder(a, &Streams::Inherit)?.id(&id).prepare().map_err(|e| run::failure(&e))?;
    let dir = state::create(&id)?;
    match start_keeper(&dir, &id) {
        Ok(()) => {
            println!("{id}");
            Ok(0)
        }
        Err(f) => {
            let _ = std::fs::remove_dir_all(&dir);
            Err(f)
        }
    }
}

fn start_keeper(dir: &Path, id: &str) -> Result<(), Failure> {
    let log = OpenOptions::new().create(true).append(true).mode(0o600).open(dir.join("log")).map_err(io("creating the log"))?;
    let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| Failure::Cocoon(format!("pipe: {e}")))?;
    // The keeper's copy of the write end: dup() leaves close-on-exec off. No other thread
    // runs here, so no other child can inherit it.
    // SAFETY: dup of a descriptor we own; the result is new and ours (or -1).
    let wk = unsafe { libc::dup(w.as_raw_fd()) };
    if wk < 0 {
        return Err(Failure::Cocoon(format!("dup: {}", std::io::Error::last_os_error())));
    }
    // SAFETY: `wk` was just returned by dup and is owned by nobody else.
    let wk = unsafe { OwnedFd::from_raw_fd(wk) };
    let child = std::process::Command::new("/proc/self/exe")
        .arg0("cocoon-run")
        .args(std::env::args_os().skip(1))
        .env(KEEPER_ENV, format!("{}:{id}", wk.as_raw_fd()))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(log)
        .spawn();
    drop((wk, w));
    let mut child = child.map_err(io("starting the keeper"))?;
    let mut msg = String::new();
    File::from(r).read_to_string(&mut msg).map_err(io("reading the keeper's report"))?;
    if msg == "ok\n" {
        return Ok(()); // the keeper lives on; init reaps it once we are gone
    }
    let _ = child.wait();
    match msg.split_once(' ') {
        Some((code, text)) if code.parse::<u8>().is_ok() => {
            eprintln!("cocoon-run: {text}");
            Err(Failure::Reported(code.parse().unwrap_or(125)))
        }
        _ => Err(Failure::Cocoon(format!("the keeper ended without starting the container (see {})", dir.join("log").display()))),
    }
}

/// The keeper: returns when the container has ended and been torn down.
pub fn keeper(a: &RunArgs, fd: RawFd, id: &str) -> Result<u8, Failure> {
    // SAFETY: fcntl on a number we were told is ours; F_GETFD only reads flags.
    if unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
        return Err(Failure::Cocoon(format!("{KEEPER_ENV}: descriptor {fd} is not open")));
    }
    // SAFETY: the foreground opened this pipe end for us alone (see start_keeper).
    let mut report = File::from(unsafe { OwnedFd::from_raw_fd(fd) });
    // SAFETY: setsid has no memory effects; a session of our own keeps us off the terminal.
    unsafe { libc::setsid() };
    let dir = state::dir(id)?;
    let started = start(a, id, &dir);
    let (mut c, listener, mut st) = match started {
        Ok(x) => x,
        Err(f) => {
            let _ = report.write_all(format!("{} {}", f.status(), f.text()).as_bytes());
            return Err(Failure::Reported(f.status()));
        }
    };
    // Checks that cannot start are reported like a container that cannot (nothing stays:
    // dropping the handle tears the container down).
    let mut health = match Health::new(&c, a, &dir, &mut st) {
        Ok(h) => h,
        Err(f) => {
            let _ = report.write_all(format!("{} {}", f.status(), f.text()).as_bytes());
            return Err(Failure::Reported(f.status()));
        }
    };
    let _ = report.write_all(b"ok\n");
    drop(report);
    let waiters = serve(&c, &listener, a, &mut health);
    let status = c.wait().map_err(|e| run::failure(&e))?;
    st.status = match status {
        ExitStatus::Exited(n) => Status::Exited(n),
        ExitStatus::Signaled(n) => Status::Killed(n),
    };
    let _ = std::fs::remove_file(dir.join("control.sock"));
    drop(listener);
    let torn = c.delete();
    // Exec'd processes die with the container: give their waiters a moment to reply.
    let deadline = Instant::now() + Duration::from_secs(2);
    while waiters.iter().any(|w| !w.is_finished()) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    // Recorded last: once the state says it ended, nothing of it is left.
    state::write(&dir, &st).map_err(io("writing the state"))?;
    torn.map_err(|e| run::failure(&e))?;
    Ok(0)
}

/// Spawns the container, opens the control socket and records the container.
fn start(a: &RunArgs, id: &str, dir: &Path) -> Result<(Container, OwnedFd, State), Failure> {
    let b = settings::builder(a, &Streams::Detached(dir.join("container.log")))?.id(id);
    let c = b.spawn().map_err(|e| run::failure(&e))?;
    let path = dir.join("control.sock");
    let fail = |e: nix::Error| Failure::Cocoon(format!("control socket {}: {e}", path.display()));
    let sock = socket::socket(socket::AddressFamily::Unix, SockType::SeqPacket, SockFlag::SOCK_CLOEXEC, None).map_err(fail)?;
    socket::bind(sock.as_raw_fd(), &UnixAddr::new(&path).map_err(fail)?).map_err(fail)?;
    socket::listen(&sock, socket::Backlog::new(16).map_err(fail)?).map_err(fail)?;
    let me = std::process::id() as i32;
    let st = State {
        id: id.to_string(),
        keeper_pid: me,
        keeper_start: state::start_time(me).unwrap_or(0),
        pid: c.pid(),
        pid_start: state::start_time(c.pid()).unwrap_or(0),
        cgroup: c.cgroup_path().map(|p| p.display().to_string()).unwrap_or_default(),
        created: state::now(),
        command: a.command.iter().map(|s| s.to_string_lossy()).collect::<Vec<_>>().join(" "),
        status: Status::Running,
        health: None,
    };
    state::write(dir, &st).map_err(io("writing the state"))?;
    Ok((c, sock, st))
}

/// Serves requests until the container's first process has ended. Returns the threads
/// waiting for exec'd processes.
fn serve(c: &Container, listener: &OwnedFd, a: &RunArgs, health: &mut Health<'_>) -> Vec<std::thread::JoinHandle<()>> {
    let mut waiters = Vec::new();
    loop {
        let mut fds = [
            libc::pollfd { fd: listener.as_raw_fd(), events: libc::POLLIN, revents: 0 },
            libc::pollfd { fd: c.wait_fd().as_raw_fd(), events: libc::POLLIN, revents: 0 },
            libc::pollfd { fd: health.fd(), events: libc::POLLIN, revents: 0 },
        ];
        // SAFETY: three valid pollfds (a negative fd, no health checks, is skipped by poll).
        let r = unsafe { libc::poll(fds.as_mut_ptr(), 3, -1) };
        if r < 0 {
            if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return waiters;
        }
        if fds[1].revents != 0 {
            return waiters;
        }
        if fds[2].revents != 0 {
            health.read();
        }
        if fds[0].revents & libc::POLLIN != 0 {
            let Ok(conn) = socket::accept4(listener.as_raw_fd(), SockFlag::SOCK_CLOEXEC) else { continue };
            // SAFETY: accept4 returned a new descriptor that nobody else owns.
            let conn = unsafe { OwnedFd::from_raw_fd(conn) };
            // A client that connects and says nothing must not stall the keeper.
            let _ = socket::setsockopt(&conn, socket::sockopt::ReceiveTimeout, &nix::sys::time::TimeVal::new(5, 0));
            if let Some(w) = handle(c, conn, a) {
                waiters.push(w);
            }
        }
    }
}

/// The health checks of --health-cmd: an event source the keeper polls; each new status
/// is written to the state file (`ps` shows it).
struct Health<'a> {
    events: Option<EventSource>,
    dir: &'a Path,
    st: &'a mut State,
}

impl<'a> Health<'a> {
    fn new(c: &Container, a: &RunArgs, dir: &'a Path, st: &'a mut State) -> Result<Health<'a>, Failure> {
        let Some(cmd) = &a.health_cmd else {
            return Ok(Health { events: None, dir, st });
        };
        let argv = ["/bin/sh".into(), "-c".into(), cmd.into()];
        let check = HealthCheck::new(settings::process(a, &argv, &Streams::Inherit)?)
            .interval(a.health_interval)
            .timeout(a.health_timeout)
            .retries(a.health_retries)
            .start_period(a.health_start_period);
        let mut events = EventSource::new().map_err(|e| run::failure(&e))?;
        events.add_with_health(c, 0, check).map_err(|e| run::failure(&e))?;
        st.health = Some("starting".into());
        state::write(dir, st).map_err(io("writing the state"))?;
        Ok(Health { events: Some(events), dir, st })
    }

    fn fd(&self) -> RawFd {
        self.events.as_ref().map_or(-1, |e| e.as_fd().as_raw_fd())
    }

    /// Runs what is due and records a changed status.
    fn read(&mut self) {
        let Some(events) = self.events.as_mut() else { return };
        while let Ok(Some(e)) = events.next_event() {
            if let EventKind::Health(h) = e.kind {
                self.st.health = Some(
                    match h {
                        HealthStatus::Starting => "starting",
                        HealthStatus::Healthy => "healthy",
                        HealthStatus::Unhealthy => "unhealthy",
                    }
                    .into(),
                );
                let _ = state::write(self.dir, self.st);
            }
        }
    }
}

fn reply(conn: &OwnedFd, text: &str) {
    let _ = send(conn.as_fd(), text.as_bytes(), &[]);
}

fn handle(c: &Container, conn: OwnedFd, a: &RunArgs) -> Option<std::thread::JoinHandle<()>> {
    let (msg, fds) = recv(conn.as_fd()).ok()?;
    let fields: Vec<&[u8]> = msg.split(|b| *b == 0).collect();
    match fields[0] {
        b"kill" => {
            let sig = std::str::from_utf8(fields.get(1).copied().unwrap_or(b"")).ok().and_then(|s| s.parse().ok());
            match sig.map(|s| c.kill(s)) {
                Some(Ok(())) => reply(&conn, "ok"),
                Some(Err(e)) => reply(&conn, &format!("error {e}")),
                None => reply(&conn, "error bad signal"),
            }
            None
        }
        b"exec" => match exec_request(c, a, &fields[1..], fds) {
            Ok(p) => {
                reply(&conn, &format!("started {}", p.pid()));
                Some(std::thread::spawn(move || wait_exec(p, conn)))
            }
            Err(f) => {
                reply(&conn, &format!("error {}", f.text()));
                None
            }
        },
        _ => {
            reply(&conn, "error unknown request");
            None
        }
    }
}

fn wait_exec(mut p: ExecProcess, conn: OwnedFd) {
    let text = match p.wait() {
        Ok(ExitStatus::Exited(n)) => format!("exit {n}"),
        Ok(ExitStatus::Signaled(n)) => format!("signal {n}"),
        Err(e) => format!("error {e}"),
    };
    reply(&conn, &text);
}

/// An exec request: the container's own process settings (capabilities, limits, seccomp,
/// environment), with the client's command, user, directory, variables and streams.
fn exec_request(c: &Container, a: &RunArgs, fields: &[&[u8]], fds: Vec<OwnedFd>) -> Result<ExecProcess, Failure> {
    let mut args = Vec::new();
    let (mut user, mut cwd, mut env) = (None, None, Vec::new());
    for f in fields {
        let text = || String::from_utf8_lossy(&f[2..]).into_owned();
        match f.get(..2) {
            Some(b"a=") => args.push(OsStr::from_bytes(&f[2..]).to_os_string()),
            Some(b"u=") => user = Some(parse::user(&text()).map_err(|e| Failure::usage("--user", e))?),
            Some(b"w=") => cwd = Some(text()),
            Some(b"e=") => env.push(parse::env(&text()).map_err(|e| Failure::usage("--env", e))?),
            _ => return Err(Failure::Cocoon("malformed exec request".into())),
        }
    }
    let [stdin, stdout, stderr]: [OwnedFd; 3] =
        fds.try_into().map_err(|_| Failure::Cocoon("an exec request carries stdin, stdout and stderr".into()))?;
    let mut p = settings::process(a, &args, &Streams::Inherit)?
        .envs(env)
        .stdin(Stdio::Fd(Arc::new(stdin)))
        .stdout(Stdio::Fd(Arc::new(stdout)))
        .stderr(Stdio::Fd(Arc::new(stderr)));
    if let Some(u) = user {
        p = p.user(settings::user(Some(&u), &[])?);
    }
    if let Some(w) = cwd {
        p = p.cwd(w);
    }
    c.exec(&p).map_err(|e| run::failure(&e))
}
