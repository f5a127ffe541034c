"""The exceptions a failed cocoon call raises, built from the library's thread-local
last error (code, errno, stage, message)."""

from __future__ import annotations

from typing import NoReturn, Type, TypeVar, Union

from ._lib import lib
from .constants import ErrorCode, Stage

__all__ = [
    "CocoonError", "CocoonOSError", "InvalidArgument", "InvalidConfig", "AlreadyExited",
    "CgroupError", "CgroupOSError", "SELinuxError", "ImageFileError", "ImageFileOSError",
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


def _enum(cls: Type[_E], v: int) -> Union[_E, int]:
    """The enum member for `v`, or `v` itself for a value this package does not know."""
    try:
        return cls(v)
    except ValueError:
        return v


_OS_ERRORS = {ErrorCode.CGROUP: CgroupOSError, ErrorCode.IMAGE_FILE: ImageFileOSError}
_ERRORS = {ErrorCode.INVALID_ARGUMENT: InvalidArgument, ErrorCode.INVALID_CONFIG: InvalidConfig,
           ErrorCode.ALREADY_EXITED: AlreadyExited, ErrorCode.CGROUP: CgroupError,
           ErrorCode.SELINUX: SELinuxError, ErrorCode.IMAGE_FILE: ImageFileError}


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
