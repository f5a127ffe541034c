"""OCI images (Rust: `cocoon::image`): a store of content-addressed layers, import of OCI
layouts and oci-/docker-archives, and running containers from an image.

    with cocoon.ImageStore("/var/lib/cocoon/images") as store:
        store.import_image("busybox.tar", name="busybox:1")
        with cocoon.Container([], image=cocoon.Image(store, "busybox:1"), stdout=cocoon.PIPE) as c:
            ...   # runs the image's Entrypoint + Cmd, with its Env, WorkingDir and User
"""

from __future__ import annotations

import ctypes
import enum
import weakref
from dataclasses import dataclass
from typing import Any, List, Mapping, Optional, Sequence

from . import _lib
from ._lib import lib
from ._util import StrPath, _b, _strv
from .errors import _check

__all__ = ["ImageStore", "Image", "ImageInfo", "ImageFormat", "ExportFormat"]


class ImageFormat(enum.IntEnum):
    """COCOON_IMAGE_FORMAT_*: what import_image reads (AUTO: told by the contents)."""
    AUTO = 0
    OCI_LAYOUT = 1
    OCI_ARCHIVE = 2
    DOCKER_ARCHIVE = 3


class ExportFormat(enum.IntEnum):
    """COCOON_IMAGE_EXPORT_*: what export writes."""
    OCI_LAYOUT = 1
    OCI_ARCHIVE = 2


IMPORT_NO_DEVICES = 1
KEEP_UPPER, KEEP_USER, KEEP_CWD = 1, 2, 4


@dataclass(frozen=True)
class ImageInfo:
    """One name in a store: `name:tag`, its manifest digest and its image id (config
    digest), both "sha256:..."."""

    name: str
    digest: str
    image_id: str


class ImageStore:
    """An image store directory (default /var/lib/cocoon/images), created if needed; safe
    to share between processes. Close with close() or `with`."""

    def __init__(self, path: Optional[StrPath] = None) -> None:
        h = _lib.ImageStoreP()
        _check(lib.cocoon_image_store_open(None if path is None else _b(path), ctypes.byref(h)))
        self.h = h
        self._fin = weakref.finalize(self, lib.cocoon_image_store_free, h)

    def close(self) -> None:
        self._fin()

    def __enter__(self) -> "ImageStore":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _handle(self) -> Any:
        if not self._fin.alive:
            raise ValueError("the image store is closed")
        return self.h

    def import_image(self, path: StrPath, format: ImageFormat = ImageFormat.AUTO,
                     name: Optional[str] = None, device_nodes: bool = True) -> None:
        """Imports an OCI layout directory, oci-archive or docker-archive. Every blob's
        sha256 is checked (ImageDigestError), hostile layers are refused (ImageUnsafeError),
        malformed or oversized ones too (ImageFormatError); nothing of a failed import stays.
        device_nodes=False refuses device nodes even when the caller could make them."""
        flags = 0 if device_nodes else IMPORT_NO_DEVICES
        _check(lib.cocoon_image_import(self._handle(), _b(path), int(format),
                                       None if name is None else name.encode(), flags))

    def list(self) -> List[ImageInfo]:
        """Every name in the store."""
        h = _lib.ImageListP()
        _check(lib.cocoon_image_store_list(self._handle(), ctypes.byref(h)))
        try:
            return [ImageInfo(lib.cocoon_image_list_name(h, i).decode(),
                              lib.cocoon_image_list_digest(h, i).decode(),
                              lib.cocoon_image_list_image_id(h, i).decode())
                    for i in range(lib.cocoon_image_list_len(h))]
        finally:
            lib.cocoon_image_list_free(h)

    def remove(self, reference: str) -> None:
        """Removes a name (a digest: all names of that image); layers go at gc()."""
        _check(lib.cocoon_image_remove(self._handle(), reference.encode()))

    def commit(self, container: Any, name: str, cmd: Optional[Sequence[str]] = None,
               env: Optional[Mapping[str, str]] = None) -> None:
        """Commits the changes of `container` (run with image= from this store, ended but
        not yet closed) as the new image `name`: the image it ran from plus one layer.
        cmd= and env= change the new image's Cmd and Env."""
        c_arr, c_n = _strv(list(cmd or []))
        e_arr, e_n = _strv([f"{k}={v}" for k, v in (env or {}).items()])
        _check(lib.cocoon_image_commit(self._handle(), container._handle(), name.encode(), c_arr, c_n, e_arr, e_n))

    def export(self, reference: str, dest: StrPath, format: ExportFormat = ExportFormat.OCI_ARCHIVE) -> None:
        """Writes the image to `dest` (must not exist): an oci-archive (`podman load -i`
        reads it) or an OCI layout directory."""
        _check(lib.cocoon_image_export(self._handle(), reference.encode(), _b(dest), int(format)))

    def gc(self) -> int:
        """Removes what no name and no live container uses; returns how many layers went."""
        n = ctypes.c_size_t()
        _check(lib.cocoon_image_store_gc(self._handle(), ctypes.byref(n)))
        return n.value


@dataclass(frozen=True)
class Image:
    """Container(image=Image(store, "name:tag")): the image's layers as the root (a fresh
    writable layer per container, removed with it unless keep_upper) and its config as the
    defaults: Entrypoint + Cmd when argv is [] (an argv given replaces both), Env under
    env=, WorkingDir unless cwd= is given, User unless user= is given (user=(0, 0) runs
    as root even if the image names another user)."""

    store: ImageStore
    reference: str
    keep_upper: bool = False


def _apply_image(h: Any, image: Optional[Image], keep_user: bool = False, keep_cwd: bool = False) -> None:
    if image is None:
        return
    if not isinstance(image, Image):
        raise TypeError(f"image= takes None or cocoon.Image(store, reference), not {type(image).__name__}")
    flags = (KEEP_UPPER if image.keep_upper else 0) | (KEEP_USER if keep_user else 0) | (KEEP_CWD if keep_cwd else 0)
    _check(lib.cocoon_builder_set_image(h, image.store._handle(), image.reference.encode(), flags))
