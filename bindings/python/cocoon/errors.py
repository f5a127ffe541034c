"""The exceptions a failed cocoon call raises, built from the library's thread-local
last error (code, errno, stage, message)."""

from __future__ import annotations

import subprocess
from typing import Any, NoReturn, Optional, Sequence, Type, TypeVar, Union

from ._lib import lib
from .constants import ErrorCode, Stage

__all__ = [
    "CocoonError", "CocoonOSError", "InvalidArgument", "InvalidConfig", "AlreadyExited",
    "CgroupError", "CgroupOSError", "SELinuxError", "ImageFileError", "ImageFileOSError",
    "TimeoutExpired", "CalledProcessError", "AddressInUse", "PortInUse", "NotCreated",
]

_E = TypeVar("_E", ErrorCode, Stage)


class CocoonError(Exception):
    """A failed cocoon call: `code` (ErrorCode), `errno`, `stage` (Stage) and message."""

    def __init__(self, code: int, errno: int, stage: int, message: str) -> None:
        super().__init__(message)
        self.code = _enum(ErrorCode, code)
        self.errno = errno
        self.stage = _enum(Stage, stage)
        self.message = message

    def __str__(self) -> str:
        name = self.stage.name if isinstance(self.stage, Stage) else self.stage
        extra = f" [stage {name}]" if self.stage else ""
        return f"{self.message}{extra}"


class CocoonOSError(CocoonError, OSError):  # type: ignore[misc]  # errno is always an int here
    """A failed cocoon call that carries an OS error (errno is set)."""

    def __init__(self, code: int, errno: int, stage: int, message: str) -> None:
        CocoonError.__init__(self, code, errno, stage, message)
        self.strerror = message
        self.args = (errno, message)

    def __str__(self) -> str:
        return CocoonError.__str__(self)


class InvalidArgument(CocoonError, ValueError):
    """COCOON_E_INVALID_ARGUMENT: a bad argument (unknown enum value, NUL byte...)."""


class InvalidConfig(CocoonError, ValueError):
    """COCOON_E_INVALID_CONFIG: the container configuration was rejected."""


class AlreadyExited(CocoonError):
    """COCOON_E_ALREADY_EXITED: the process has already exited."""


class CgroupError(CocoonError):
    """COCOON_E_CGROUP: a cgroup limit was rejected (out of range, naming a CPU or device
    the host lacks, not expressible on the host's cgroup version) or a cgroup operation
    failed."""


class CgroupOSError(CgroupError, CocoonOSError):  # type: ignore[misc]  # errno is always an int here
    """COCOON_E_CGROUP with an OS error (errno is set)."""


class SELinuxError(CocoonError):
    """COCOON_E_SELINUX: an SELinux setting is malformed (a type, level, range or
    context), SELinux was required on a host without it, a relabel of a system directory
    was refused, or a label could not be allocated or applied."""


class ImageFileError(CocoonError):
    """COCOON_E_IMAGE_FILE: a file the image controls (its /etc/passwd or /etc/group,
    read to resolve a user name) is a FIFO, device or other non-regular file, or too
    large; the message names the file."""


class ImageFileOSError(ImageFileError, CocoonOSError):  # type: ignore[misc]  # errno is always an int here
    """COCOON_E_IMAGE_FILE with an OS error (errno is set): the file could not be read."""


class AddressInUse(CocoonError):
    """COCOON_E_ADDRESS_IN_USE: a static network address is leased by another live
    container on the same bridge."""


class PortInUse(CocoonError):
    """COCOON_E_PORT_IN_USE: a published host port (same protocol and port) is forwarded
    to another live container."""


class NotCreated(CocoonError):
    """COCOON_E_NOT_CREATED: starting a created container that is not held (started
    already, or gone)."""


def _no_library_error(e: CocoonError, message: str) -> None:
    """The CocoonError fields of an error no library call reported (CocoonError.__init__
    is not called: its super() is the subprocess error's, which takes other arguments)."""
    e.code, e.errno, e.stage, e.message = ErrorCode.OK, 0, Stage.NONE, message


class TimeoutExpired(CocoonError, subprocess.TimeoutExpired):
    """A wait, communicate() or run() passed its timeout; also a subprocess.TimeoutExpired
    (cmd, timeout, output/stdout, stderr: what was collected so far). From run() the
    container was killed and `result` is its CompletedProcess (ended_by TIMEOUT); from a
    wait or communicate() it still runs and `result` is None. `code` is ErrorCode.OK: no
    library call failed."""

    def __init__(self, cmd: Sequence[Any], timeout: float, output: Optional[bytes] = None,
                 stderr: Optional[bytes] = None, result: Any = None) -> None:
        message = f"Command {list(cmd)!r} timed out after {timeout} seconds"
        subprocess.TimeoutExpired.__init__(self, cmd, timeout, output, stderr)
        _no_library_error(self, message)
        self.args = (message,)
        self.result = result

    def __str__(self) -> str:
        return self.message


class CalledProcessError(CocoonError, subprocess.CalledProcessError):
    """run(check=True) of a program that did not exit by itself with code 0; also a
    subprocess.CalledProcessError (returncode, cmd, output/stdout, stderr). `result` is
    the CompletedProcess: its `status` and `ended_by` (e.g. OOM_KILL) tell more."""

    def __init__(self, result: Any) -> None:
        r = result
        subprocess.CalledProcessError.__init__(self, r.returncode, r.args, r.stdout, r.stderr)
        message = subprocess.CalledProcessError.__str__(self)
        if r.ended_by.name not in ("EXITED", "SIGNALED"):
            message += f" ({r.ended_by.name.lower().replace('_', ' ')})"
        _no_library_error(self, message)
        self.args = (message,)
        self.result = result
        self.status = r.status
        self.ended_by = r.ended_by

    def __str__(self) -> str:
        return self.message


def _enum(cls: Type[_E], v: int) -> Union[_E, int]:
    """The enum member for `v`, or `v` itself for a value this package does not know."""
    try:
        return cls(v)
    except ValueError:
        return v


class UnsupportedError(CocoonError):
    """COCOON_E_UNSUPPORTED: the running kernel lacks a feature the configuration
    requires (a Landlock right above its ABI with required=True); nothing was created."""


class ImageError(CocoonError):
    """An image could not be imported, found or unpacked (the base of the next four)."""


class ImageDigestError(ImageError):
    """COCOON_E_IMAGE_DIGEST: a blob's sha256 is not the digest that names it."""


class ImageUnsafeError(ImageError):
    """COCOON_E_IMAGE_UNSAFE: a layer entry would land outside its layer, or is a device
    node the importer may not create, or forges overlayfs state."""


class ImageFormatError(ImageError):
    """COCOON_E_IMAGE_FORMAT: malformed, truncated, unsupported or oversized."""


class ImageNotFound(ImageError, LookupError):
    """COCOON_E_IMAGE_NOT_FOUND: no image of that name or digest in the store."""


_OS_ERRORS = {ErrorCode.CGROUP: CgroupOSError, ErrorCode.IMAGE_FILE: ImageFileOSError}
_ERRORS = {ErrorCode.INVALID_ARGUMENT: InvalidArgument, ErrorCode.INVALID_CONFIG: InvalidConfig,
           ErrorCode.ALREADY_EXITED: AlreadyExited, ErrorCode.CGROUP: CgroupError,
           ErrorCode.SELINUX: SELinuxError, ErrorCode.IMAGE_FILE: ImageFileError,
           ErrorCode.ADDRESS_IN_USE: AddressInUse, ErrorCode.PORT_IN_USE: PortInUse, ErrorCode.NOT_CREATED: NotCreated,
           ErrorCode.UNSUPPORTED: UnsupportedError, ErrorCode.IMAGE_DIGEST: ImageDigestError,
           ErrorCode.IMAGE_UNSAFE: ImageUnsafeError, ErrorCode.IMAGE_FORMAT: ImageFormatError,
           ErrorCode.IMAGE_NOT_FOUND: ImageNotFound}


def _raise() -> NoReturn:
    """Raises the library's last error of this thread as the matching exception."""
    code = lib.cocoon_last_error_code()
    errno = lib.cocoon_last_error_errno()
    stage = lib.cocoon_last_error_stage()
    msg = (lib.cocoon_last_error_message() or b"").decode("utf-8", "replace")
    if not msg:
        msg = (lib.cocoon_strerror(code) or b"").decode()
    if errno:
        raise _OS_ERRORS.get(code, CocoonOSError)(code, errno, stage, msg)
    raise _ERRORS.get(code, CocoonError)(code, errno, stage, msg)


def _check(rc: int) -> None:
    """Raises the last error unless `rc` is 0 (COCOON_OK)."""
    if rc != 0:
        _raise()
