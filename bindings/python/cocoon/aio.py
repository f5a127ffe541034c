"""asyncio support: awaiting a container or exec'd process on its wait fd (no thread per
process) and its PIPE streams as asyncio StreamReader/StreamWriter."""

from __future__ import annotations

import asyncio
from typing import Any, AsyncIterator, NamedTuple, Optional

from .errors import AlreadyExited

__all__ = ["Streams", "events_async"]


class Streams(NamedTuple):
    """A process's PIPE streams in asyncio (None where the stream is not a pipe)."""
    stdin: Optional[asyncio.StreamWriter]
    stdout: Optional[asyncio.StreamReader]
    stderr: Optional[asyncio.StreamReader]


async def wait_async(proc: Any) -> Any:
    """Awaits `proc`'s end on its wait fd with loop.add_reader; a cancelled await kills
    it (SIGKILL) before the CancelledError goes on."""
    status = proc.poll()
    if status is not None:
        return status
    loop = asyncio.get_running_loop()
    fd = proc.wait_fd()
    ended = loop.create_future()

    def readable() -> None:
        if not ended.done():
            ended.set_result(None)

    loop.add_reader(fd, readable)
    try:
        await ended
    except asyncio.CancelledError:
        try:
            proc.kill()
        except AlreadyExited:
            pass
        raise
    finally:
        loop.remove_reader(fd)
    return proc.wait()  # readable: the wait returns at once


async def streams(proc: Any) -> Streams:
    """Moves `proc`'s .stdin/.stdout/.stderr files into asyncio transports."""
    loop = asyncio.get_running_loop()
    writer: Optional[asyncio.StreamWriter] = None
    readers = []
    if proc.stdin is not None:
        f, proc.stdin = proc.stdin, None
        transport, protocol = await loop.connect_write_pipe(asyncio.streams.FlowControlMixin, f)
        writer = asyncio.StreamWriter(transport, protocol, None, loop)
    for name in ("stdout", "stderr"):
        f = getattr(proc, name)
        reader: Optional[asyncio.StreamReader] = None
        if f is not None:
            setattr(proc, name, None)
            reader = asyncio.StreamReader()
            await loop.connect_read_pipe(lambda r=reader: asyncio.StreamReaderProtocol(r), f)
        readers.append(reader)
    return Streams(writer, readers[0], readers[1])


async def events_async(source: Any) -> AsyncIterator[Any]:
    """Yields `source`'s (an EventSource) events, waiting on its fd with loop.add_reader;
    ends when nothing is watched and nothing is pending."""
    loop = asyncio.get_running_loop()
    fd = source.fileno()
    while True:
        ev = source.next()
        if ev is not None:
            yield ev
            continue
        if len(source) == 0:
            return
        ready = loop.create_future()

        def readable(f: "asyncio.Future[None]" = ready) -> None:
            if not f.done():
                f.set_result(None)

        loop.add_reader(fd, readable)
        try:
            await ready
        finally:
            loop.remove_reader(fd)
