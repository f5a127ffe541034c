"""Starting a created container from another process (OCI's start)."""
from ._lib import lib
from ._util import StrPath, _b
from .errors import _check

__all__ = ["start_created"]


def start_created(start_socket: StrPath) -> None:
    """Starts the created container whose start socket is at start_socket (made by
    Container.create(start_socket=...), possibly by a process that has exited since).
    Raises NotCreated if nothing holds a container there."""
    _check(lib.cocoon_start_created(_b(start_socket)))
