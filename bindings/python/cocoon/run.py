"""subprocess-style conveniences: run() and its CompletedProcess, and the feed-and-collect
loop behind Container.communicate() / ExecProcess.communicate()."""

from __future__ import annotations

import math
import os
import select
import subprocess
import time
from typing import Any, List, Optional, Sequence, Tuple

from ._util import StrPath
from .constants import EndedBy
from .errors import AlreadyExited, CalledProcessError, TimeoutExpired
from .stdio import PIPE

__all__ = ["run", "CompletedProcess"]

_CHUNK = 64 * 1024


class CompletedProcess(subprocess.CompletedProcess):  # type: ignore[type-arg]
    """The result of run(): as subprocess.CompletedProcess (args, returncode — the exit
    code, or -N for a signal N —, stdout, stderr: bytes, None when not captured), plus
    `status` (ExitStatus) and `ended_by` (EndedBy: what a judge reports)."""

    def __init__(self, args: Sequence[StrPath], status: Any, stdout: Optional[bytes],
                 stderr: Optional[bytes], ended_by: EndedBy) -> None:
        returncode = -status.signal if status.signal else status.code
        super().__init__(list(args), returncode, stdout, stderr)
        self.status = status
        self.ended_by = ended_by

    @property
    def timed_out(self) -> bool:
        """The time limit passed and cocoon killed the container."""
        return self.ended_by == EndedBy.TIMEOUT

    @property
    def oom_killed(self) -> bool:
        """The OOM killer killed a process of the container (its memory limit)."""
        return self.ended_by == EndedBy.OOM_KILL

    @property
    def pids_limited(self) -> bool:
        """The cgroup's pids limit refused a fork."""
        return self.ended_by == EndedBy.PIDS_LIMIT

    def check_returncode(self) -> None:
        """Raises cocoon.CalledProcessError unless the program exited by itself with 0."""
        if self.returncode != 0 or self.ended_by != EndedBy.EXITED:
            raise CalledProcessError(self)

    def __repr__(self) -> str:
        return (f"CompletedProcess(args={self.args!r}, returncode={self.returncode!r}, "
                f"ended_by={self.ended_by!r}, stdout={self.stdout!r}, stderr={self.stderr!r})")


def run(argv: Sequence[StrPath], *, input: Optional[bytes] = None, capture_output: bool = False,
        timeout: Optional[float] = None, check: bool = False, **container_options: Any) -> CompletedProcess:
    """Runs `argv` in a new container to its end, as subprocess.run: feeds `input`
    (bytes) to its stdin, collects stdout and stderr with capture_output=True (or
    stdout=PIPE / stderr=PIPE), and returns a CompletedProcess whose `ended_by` tells an
    exit, a signal, the OOM killer (memory_max) or the pids limit (pids_max). The other
    keywords are Container's (cgroup=..., memory_max=..., rootfs=...).

    After `timeout` seconds the container is killed (SIGKILL to its first process: with
    a PID namespace every process dies with it; without one the teardown kills the rest
    of its cgroup) and cocoon.TimeoutExpired is raised, carrying the output so far and
    the CompletedProcess as `result`. check=True raises cocoon.CalledProcessError unless
    the program exited by itself with code 0. The container is always removed before
    run() returns or raises (also on Ctrl-C, which interrupts it at once).
    """
    from .container import Container  # container.py imports this module

    if input is not None:
        if container_options.get("stdin") is not None:
            raise ValueError("stdin and input arguments may not both be used.")
        container_options["stdin"] = PIPE
    if capture_output:
        if container_options.get("stdout") is not None or container_options.get("stderr") is not None:
            raise ValueError("stdout and stderr arguments may not be used with capture_output.")
        container_options["stdout"] = container_options["stderr"] = PIPE
    timed_out = False
    with Container(argv, **container_options) as c:
        try:
            out, err = c.communicate(input, timeout=timeout)
        except TimeoutExpired:
            timed_out = True
            try:
                c.kill()
            except AlreadyExited:
                pass  # it ended at the limit: still a timeout, we stopped waiting
            out, err = c.communicate()
        status = c.wait()
        ended = EndedBy.TIMEOUT if timed_out else c.ended_by
    assert ended is not None  # the first process has been reaped
    result = CompletedProcess(argv, status, out, err, ended)
    if timed_out:
        assert timeout is not None
        raise TimeoutExpired(argv, timeout, output=out, stderr=err, result=result)
    if check:
        result.check_returncode()
    return result


class _Communication:
    """What communicate() has fed and collected so far (it resumes after a timeout)."""

    def __init__(self, proc: Any, input: Optional[bytes]) -> None:
        self.input = memoryview(bytes(input or b""))
        self.fed = 0
        self.stdin = proc.stdin
        self.outs = [proc.stdout, proc.stderr]
        self.piped = [proc.stdout is not None, proc.stderr is not None]
        self.chunks: List[List[bytes]] = [[], []]
        for f in [self.stdin] + self.outs:
            if f is not None:
                os.set_blocking(f.fileno(), False)

    def collected(self) -> Tuple[Optional[bytes], Optional[bytes]]:
        out, err = (b"".join(c) if p else None for c, p in zip(self.chunks, self.piped))
        return out, err

    def close_stdin(self) -> None:
        if self.stdin is not None:
            try:
                self.stdin.close()
            except OSError:
                pass
            self.stdin = None

    def feed(self) -> None:
        assert self.stdin is not None
        while self.fed < len(self.input):
            try:
                self.fed += os.write(self.stdin.fileno(), self.input[self.fed:self.fed + _CHUNK])
            except BlockingIOError:
                return
            except BrokenPipeError:
                break  # the program closed its stdin: not an error (as subprocess)
        self.close_stdin()

    def drain(self, i: int, final: bool) -> None:
        f = self.outs[i]
        assert f is not None
        while True:
            try:
                b = os.read(f.fileno(), _CHUNK)
            except BlockingIOError:
                if not final:
                    return
                b = b""
            if not b:
                f.close()
                self.outs[i] = None
                return
            self.chunks[i].append(b)


def communicate(proc: Any, input: Optional[bytes], timeout: Optional[float]) -> Tuple[Optional[bytes], Optional[bytes]]:
    """Feeds `input`, collects the piped stdout/stderr and waits for the end, on one
    thread with poll(2) (no deadlock however much flows each way). Ctrl-C interrupts it
    at once. On timeout raises TimeoutExpired (the process keeps running; call again to
    resume, as with Popen.communicate). It reads the pipes' fds directly: do not read
    them through the file objects too."""
    st: Optional[_Communication] = proc._communication
    if st is None:
        if input and proc.stdin is None:
            raise ValueError("input given but stdin is not PIPE")
        st = proc._communication = _Communication(proc, input)
        if not st.input:
            st.close_stdin()
    deadline = None if timeout is None else time.monotonic() + timeout
    wait_fd = proc.wait_fd()
    while True:
        p = select.poll()
        p.register(wait_fd, select.POLLIN)
        if st.stdin is not None:
            p.register(st.stdin.fileno(), select.POLLOUT)
        for f in st.outs:
            if f is not None:
                p.register(f.fileno(), select.POLLIN)
        if deadline is None:
            ready = p.poll()
        else:
            left = deadline - time.monotonic()
            ready = p.poll(max(0, math.ceil(left * 1000))) if left > 0 else []
            if not ready and time.monotonic() >= deadline:
                out, err = st.collected()
                raise TimeoutExpired(proc.args, timeout or 0, output=out, stderr=err)
        fds = {fd for fd, _ in ready}
        exited = wait_fd in fds
        if st.stdin is not None and exited:
            st.close_stdin()
        elif st.stdin is not None and st.stdin.fileno() in fds:
            st.feed()
        for i, f in enumerate(st.outs):
            # After the exit every writer of a PID namespace is gone: read what the pipe
            # holds, do not wait for more (a daemon without one would hold it open).
            if f is not None and (exited or f.fileno() in fds):
                st.drain(i, final=exited)
        if exited:
            break
    proc._communication = None
    proc.wait()
    return st.collected()
