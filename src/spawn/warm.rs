//! The parent's half of starting a warm container (`crate::warm`): the late process
//! written into the shared block, the start message with its stdio and passed fds, then
//! the same end of setup as a spawn (EOF once the program runs, or the error report).

use std::os::fd::{AsRawFd, OwnedFd};

use libc::c_int;

use super::proc::StdioEnds;
use super::proto::{recv_end, send_start, setup_error, Msg};
use super::stdio::StdioFds;
use crate::error::{Error, Stage};
use crate::plan::{describe_process, ProcessPlan};
use crate::spawn::late::Block;

/// What a warm container keeps from its spawn to be started.
pub(crate) struct Parked {
    pub(crate) sock: OwnedFd,
    pub(crate) block: Block,
    pub(crate) helper_prefix: [std::ffi::CString; 3],
    pub(crate) floor: c_int,
    /// stdout and stderr go to the container's log (the late process keeps them).
    pub(crate) logged: bool,
}

/// Starts the parked container with `pp`. Returns the caller's ends of the streams the
/// process piped and the notify listener, if its filter made one. An error comes with
/// whether the container is untouched (refused before anything was sent to it).
pub(crate) fn start(
    parked: &mut Parked,
    pp: &ProcessPlan,
) -> std::result::Result<(StdioEnds, Option<OwnedFd>), (Error, bool)> {
    let untouched = |e: Error| (e, true);
    let spent = |e: Error| (e, false);
    if parked.logged && pp.stdio.iter().skip(1).any(|s| !matches!(s, crate::process::Stdio::Inherit)) {
        let e = Error::invalid("stdio", "this warm container logs stdout and stderr: leave them inherited");
        return Err(untouched(e));
    }
    let mut stdio = StdioFds::new(&pp.stdio).map_err(untouched)?;
    let mut mask = 0u32;
    let mut fds: Vec<c_int> = Vec::with_capacity(3 + pp.fds.len());
    for (i, fd) in stdio.child_raw.iter().enumerate() {
        if *fd >= 0 {
            mask |= 1 << i;
            fds.push(*fd);
        }
    }
    fds.extend(pp.fds.iter().map(|(f, _)| f.as_raw_fd()));
    let prefix =
        [parked.helper_prefix[0].as_c_str(), parked.helper_prefix[1].as_c_str(), parked.helper_prefix[2].as_c_str()];
    // The child reads the block only after the start message: a refused write (too
    // large, fd targets too high) leaves it waiting as it was.
    parked.block.write(pp, prefix, mask, parked.floor).map_err(untouched)?;
    send_start(&parked.sock, &fds).map_err(spent)?;
    // The child has its copies now.
    stdio.close_child_side();
    let mut listener = None;
    match recv_end(&parked.sock, &mut listener).map_err(spent)? {
        Msg::Eof => Ok((std::mem::take(&mut stdio.parent), listener)),
        Msg::Report(r, _) => Err(spent(setup_error(&r, |s: Stage, i| describe_process(pp, s, i)))),
    }
}
