//! `linux.seccomp.listenerPath`: the runtime spec's hand-over of a container's seccomp
//! listener to a supervisor. The fd goes over the UNIX socket at that path (SCM_RIGHTS),
//! with the container process state as JSON (`ociVersion`, `fds: ["seccompFd"]`, `pid`,
//! `metadata`, `state`), as runc and crun send it; then our copy is closed.

use std::io::IoSlice;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;

use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};
use serde_json::{json, Value};

use crate::Failure;

/// Sends `fd`, the listener of process `pid`, to the supervisor at `path`.
pub fn send(path: &Path, metadata: &str, state: Value, pid: i32, fd: OwnedFd) -> Result<(), Failure> {
    let msg = json!({
        "ociVersion": state.get("ociVersion").cloned().unwrap_or(Value::Null),
        "fds": ["seccompFd"],
        "pid": pid,
        "metadata": metadata,
        "state": state,
    });
    let body = serde_json::to_vec(&msg).map_err(|e| Failure::msg(format!("seccomp listener state: {e}")))?;
    let sock = UnixStream::connect(path)
        .map_err(|e| Failure::msg(format!("linux.seccomp.listenerPath {}: {e}", path.display())))?;
    let fds = [fd.as_raw_fd()];
    let sent = sendmsg::<()>(
        sock.as_raw_fd(),
        &[IoSlice::new(&body)],
        &[ControlMessage::ScmRights(&fds)],
        MsgFlags::MSG_NOSIGNAL,
        None,
    )
    .map_err(|e| Failure::msg(format!("sending the seccomp listener to {}: {e}", path.display())))?;
    if sent != body.len() {
        return Err(Failure::msg(format!(
            "sending the seccomp listener to {}: {sent} of {} bytes",
            path.display(),
            body.len()
        )));
    }
    Ok(())
}
