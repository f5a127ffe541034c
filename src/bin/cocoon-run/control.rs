//! The keeper's control socket (SOCK_SEQPACKET: one request or reply per message) and the
//! subcommands that use it or the registry: exec, kill, stop, rm, ps, logs.
//!
//! Requests are NUL-separated fields: `exec` + `u=USER`, `w=DIR`, `e=KEY=VALUE`, `a=ARG`
//! fields, with the client's stdin, stdout and stderr attached (SCM_RIGHTS); `kill` + the
//! signal number. Replies: `started PID`, then `exit N` or `signal N`; `ok`; `error TEXT`.

use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::time::{Duration, Instant};

use nix::sys::socket::{self, ControlMessage, ControlMessageOwned, MsgFlags, SockFlag, SockType, UnixAddr};

use crate::args::{ExecArgs, KillArgs, PsArgs, RmArgs, StopArgs};
use crate::state::{self, State};
use crate::Failure;

/// The largest request or reply.
pub const MAX_MSG: usize = 128 * 1024;

pub fn send(sock: BorrowedFd<'_>, msg: &[u8], fds: &[RawFd]) -> std::io::Result<()> {
    let iov = [IoSlice::new(msg)];
    let cmsg = [ControlMessage::ScmRights(fds)];
    let cmsgs: &[ControlMessage] = if fds.is_empty() { &[] } else { &cmsg };
    socket::sendmsg::<()>(sock.as_raw_fd(), &iov, cmsgs, MsgFlags::MSG_NOSIGNAL, None)?;
    Ok(())
}

/// One message and the descriptors that came with it; an empty message is EOF.
pub fn recv(sock: BorrowedFd<'_>) -> std::io::Result<(Vec<u8>, Vec<OwnedFd>)> {
    let mut buf = vec![0u8; MAX_MSG];
    let mut space = nix::cmsg_space!([RawFd; 3]);
    let mut iov = [IoSliceMut::new(&mut buf)];
    let msg = loop {
        match socket::recvmsg::<()>(sock.as_raw_fd(), &mut iov, Some(&mut space), MsgFlags::MSG_CMSG_CLOEXEC) {
            Err(nix::errno::Errno::EINTR) => continue,
            r => break r?,
        }
    };
    let mut fds = Vec::new();
    for c in msg.cmsgs()? {
        if let ControlMessageOwned::ScmRights(raw) = c {
            // SAFETY: the kernel just installed these descriptors in this process for us.
            fds.extend(raw.into_iter().map(|fd| unsafe { OwnedFd::from_raw_fd(fd) }));
        }
    }
    let n = msg.bytes;
    if msg.flags.contains(MsgFlags::MSG_TRUNC) {
        return Err(std::io::Error::other("message too long"));
    }
    buf.truncate(n);
    Ok((buf, fds))
}

/// A client connection to container `id`'s keeper.
fn connect(st: &State) -> Result<OwnedFd, Failure> {
    if !st.keeper_alive() {
        return Err(Failure::Cocoon(format!("container {} is not running ({})", st.id, st.shown_status())));
    }
    let path = state::dir(&st.id)?.join("control.sock");
    let fail = |e: nix::Error| Failure::Cocoon(format!("connecting to {}: {e}", path.display()));
    let sock =
        socket::socket(socket::AddressFamily::Unix, SockType::SeqPacket, SockFlag::SOCK_CLOEXEC, None).map_err(fail)?;
    let addr = UnixAddr::new(&path).map_err(fail)?;
    socket::connect(sock.as_raw_fd(), &addr).map_err(fail)?;
    Ok(sock)
}

fn io_fail(e: std::io::Error) -> Failure {
    Failure::Cocoon(format!("talking to the container's keeper: {e}"))
}

/// `exec ID -- CMD`: runs CMD in the container with this terminal's streams; returns its
/// exit status.
pub fn exec(a: &ExecArgs) -> Result<u8, Failure> {
    let st = state::read(&a.id)?;
    let sock = connect(&st)?;
    let mut req: Vec<u8> = b"exec".to_vec();
    let mut field = |k: &[u8], v: &[u8]| {
        req.push(0);
        req.extend_from_slice(k);
        req.extend_from_slice(v);
    };
    match &a.user {
        Some(crate::parse::UserSpec::Id(u, g)) => field(b"u=", format!("{u}:{}", g.unwrap_or(0)).as_bytes()),
        Some(crate::parse::UserSpec::Name(n)) => field(b"u=", n.as_bytes()),
        None => {}
    }
    if let Some(w) = &a.workdir {
        field(b"w=", w.as_os_str().as_bytes());
    }
    for (k, v) in &a.env {
        field(b"e=", format!("{k}={v}").as_bytes());
    }
    for arg in &a.command {
        field(b"a=", arg.as_bytes());
    }
    if req.len() > MAX_MSG {
        return Err(Failure::usage("PROGRAM", "the command line is too long"));
    }
    send(sock.as_fd(), &req, &[0, 1, 2]).map_err(io_fail)?;
    loop {
        let (msg, _) = recv(sock.as_fd()).map_err(io_fail)?;
        let text = String::from_utf8_lossy(&msg);
        let (verb, rest) = text.split_once(' ').unwrap_or((&text, ""));
        match verb {
            "started" => continue,
            "exit" => return Ok(rest.parse::<i32>().unwrap_or(125) as u8),
            "signal" => return Ok((128 + rest.parse::<i32>().unwrap_or(0)) as u8),
            "error" => return Err(Failure::Cocoon(rest.to_string())),
            "" => return Err(Failure::Cocoon(format!("container {} ended before the process did", a.id))),
            _ => return Err(Failure::Cocoon(format!("unexpected reply {text:?}"))),
        }
    }
}

/// Asks the keeper to signal the container's first process.
fn signal(st: &State, sig: i32) -> Result<(), Failure> {
    let sock = connect(st)?;
    send(sock.as_fd(), format!("kill\0{sig}").as_bytes(), &[]).map_err(io_fail)?;
    let (msg, _) = recv(sock.as_fd()).map_err(io_fail)?;
    match String::from_utf8_lossy(&msg).split_once(' ') {
        _ if msg == b"ok" => Ok(()),
        Some(("error", e)) => Err(Failure::Cocoon(e.to_string())),
        _ => Err(Failure::Cocoon(format!("unexpected reply {:?}", String::from_utf8_lossy(&msg)))),
    }
}

pub fn kill(a: &KillArgs) -> Result<u8, Failure> {
    signal(&state::read(&a.id)?, a.signal)?;
    Ok(0)
}

/// Waits up to `timeout` for the keeper to exit (it does once the container has ended and
/// been torn down). True if it is gone.
fn wait_keeper(st: &State, timeout: Duration) -> bool {
    // SAFETY: pidfd_open takes a pid and flags; it returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, st.keeper_pid, 0) } as RawFd;
    if fd < 0 {
        return true;
    }
    // SAFETY: `fd` was just returned by pidfd_open and is owned by nobody else.
    let pidfd = unsafe { OwnedFd::from_raw_fd(fd) };
    // Opened first, checked second: the pidfd then surely refers to the recorded keeper.
    if !st.keeper_alive() {
        return true;
    }
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let mut p = libc::pollfd { fd: pidfd.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        // SAFETY: one valid pollfd.
        let r = unsafe { libc::poll(&mut p, 1, left.as_millis().min(i32::MAX as u128) as i32) };
        if r > 0 {
            return true;
        }
        if r == 0 || std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            return false;
        }
    }
}

/// Kills the container (SIGTERM first unless `grace` is zero) and waits for its keeper.
fn stop_state(st: &State, grace: Duration) -> Result<(), Failure> {
    if !st.keeper_alive() {
        return Ok(());
    }
    if !grace.is_zero() {
        // An already-ended container answers with an error: fall through to the wait.
        let _ = signal(st, libc::SIGTERM);
        if wait_keeper(st, grace) {
            return Ok(());
        }
    }
    let _ = signal(st, libc::SIGKILL);
    if wait_keeper(st, Duration::from_secs(30)) {
        Ok(())
    } else {
        Err(Failure::Cocoon(format!("container {} did not end within 30 s of SIGKILL", st.id)))
    }
}

pub fn stop(a: &StopArgs) -> Result<u8, Failure> {
    stop_state(&state::read(&a.id)?, Duration::from_secs(a.time))?;
    Ok(0)
}

/// Removes an ended (or, with --force, any) container's entry.
pub fn rm(a: &RmArgs) -> Result<u8, Failure> {
    let mut failed = None;
    for id in &a.ids {
        if let Err(e) = rm_one(id, a.force) {
            eprintln!("cocoon-run: {id}: {}", e.text());
            failed = Some(e);
        }
    }
    match failed {
        Some(e) => Err(Failure::Reported(e.status())),
        None => Ok(0),
    }
}

fn rm_one(id: &str, force: bool) -> Result<(), Failure> {
    let d = state::dir(id)?;
    match state::read(id) {
        Ok(st) => {
            if st.keeper_alive() {
                if !force {
                    return Err(Failure::Cocoon(format!(
                        "container {id} is running (cocoon-run stop {id}, or rm --force)"
                    )));
                }
                stop_state(&st, Duration::ZERO)?;
            } else if st.status == state::Status::Running {
                // The keeper died without tearing down (the container died with it): remove
                // the cgroup its death left behind.
                state::remove_cgroup(&st.cgroup);
            }
        }
        // An entry without a readable state (its keeper died while starting) goes too.
        Err(_) if d.exists() => {}
        Err(e) => return Err(e),
    }
    std::fs::remove_dir_all(&d).map_err(|e| Failure::Cocoon(format!("removing {}: {e}", d.display())))
}

pub fn ps(a: &PsArgs) -> Result<u8, Failure> {
    let rows = state::list();
    if a.quiet {
        for (id, _) in rows {
            println!("{id}");
        }
        return Ok(0);
    }
    println!("{:<20} {:<12} {:>8} {:>8}  COMMAND", "ID", "STATUS", "PID", "AGE");
    for (id, st) in rows {
        match st {
            Ok(s) => {
                let age = state::now().saturating_sub(s.created);
                println!("{:<20} {:<12} {:>8} {:>7}s  {}", id, s.shown_status(), s.pid, age, s.command);
            }
            Err(_) => println!("{id:<20} {:<12} {:>8} {:>8}  ", "unknown", "-", "-"),
        }
    }
    Ok(0)
}

/// `logs`: the container's CRI log as text (stdout records to stdout, stderr records to
/// stderr, partial records joined), like `podman logs`.
pub fn logs(a: &crate::args::LogsArgs) -> Result<u8, Failure> {
    use std::io::Write;
    let dir = state::dir(&a.id)?;
    let path = dir.join("container.log");
    let since = a.since.as_deref().map(since_time).transpose()?;
    let mut r =
        cocoon::logs::LogReader::open(&path).map_err(|e| Failure::Cocoon(format!("no log for {:?}: {e}", a.id)))?;
    if let Some(t) = since {
        r = r.since(t);
    }
    if a.follow {
        r = r.follow(Some(std::time::Duration::from_millis(500)));
    }
    let (mut out, mut err) = (std::io::stdout().lock(), std::io::stderr().lock());
    // A partial record's line goes on in the next record of its stream: the time is shown
    // once, at its start.
    let mut mid_line = [false, false];
    loop {
        match r.next_line() {
            Ok(Some(l)) => {
                let i = usize::from(l.stream == cocoon::logs::LogStream::Stderr);
                let w: &mut dyn Write = if i == 0 { &mut out } else { &mut err };
                let mut line = Vec::with_capacity(l.text.len() + 40);
                if a.timestamps && !mid_line[i] {
                    line.extend_from_slice(format!("{} ", l.time).as_bytes());
                }
                line.extend_from_slice(&l.text);
                if !l.partial {
                    line.push(b'\n');
                }
                mid_line[i] = l.partial;
                if w.write_all(&line).and_then(|()| w.flush()).is_err() {
                    return Ok(0); // the reader went away (a closed pipe)
                }
            }
            Ok(None)
                if a.follow
                    && state::read(&a.id).is_ok_and(|s| s.status == state::Status::Running && s.keeper_alive()) => {}
            Ok(None) => return Ok(0),
            Err(e) => return Err(Failure::Cocoon(format!("{}: {e}", path.display()))),
        }
    }
}

/// `--since`: an RFC 3339 time, or a duration before now.
fn since_time(s: &str) -> Result<cocoon::logs::LogTime, Failure> {
    if let Ok(t) = cocoon::logs::parse_time(s) {
        return Ok(t);
    }
    let d = crate::parse::duration(s)
        .map_err(|_| Failure::usage("--since", format!("{s:?} is not an RFC 3339 time or a duration")))?;
    let now = cocoon::logs::LogTime::now();
    let back = now.secs.saturating_sub(d.as_secs() as i64) * 1_000_000_000 + i64::from(now.nanos)
        - i64::from(d.subsec_nanos());
    Ok(cocoon::logs::LogTime { secs: back.div_euclid(1_000_000_000), nanos: back.rem_euclid(1_000_000_000) as u32 })
}
