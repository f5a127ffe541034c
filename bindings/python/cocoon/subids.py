"""Subordinate ids (Container(subordinate_ids=SubordinateIds(...))): a user namespace with
many ids from the caller's ranges in /etc/subuid and /etc/subgid, written through
newuidmap/newgidmap for a caller without privileges (root writes them itself)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from ._lib import lib
from .errors import _check

_WHOLE_RANGE = 1


@dataclass(frozen=True)
class SubordinateIds:
    """count ids from the caller's ranges (65536, as podman); root inside is the caller,
    unless whole_range: then ids 0..count are all subordinate ids and the caller is unmapped.
    Too few ids, no range or no helper raise InvalidConfig when the container is created."""

    count: int = 65536
    whole_range: bool = False


def _apply_subids(h: Any, s: Optional[SubordinateIds]) -> None:
    if s is not None:
        _check(lib.cocoon_builder_set_subordinate_ids(h, int(s.count), _WHOLE_RANGE if s.whole_range else 0))
