"""The Python copies of COCOON_STAGE_* and COCOON_E_* match include/cocoon.h exactly."""

import re
from pathlib import Path

import pytest

import cocoon
from cocoon import _lib

ROOT = Path(__file__).resolve().parents[3]
HEADER = ROOT / "include" / "cocoon.h"


def _defines(prefix: str) -> dict:
    """{NAME without prefix: value} for every `#define <prefix>NAME <int>` in the header."""
    text = HEADER.read_text()
    found = {m.group(1): int(m.group(2))
             for m in re.finditer(rf"^#define {prefix}(\w+) (-?\d+)\s*$", text, re.M)}
    assert found, f"no #define {prefix}* in {HEADER}"
    return found


def _members(enum_cls) -> dict:
    return {m.name: int(m.value) for m in enum_cls}


def test_stages_match_header():
    header = _defines("COCOON_STAGE_")
    assert _members(cocoon.Stage) == header


def test_error_codes_match_header():
    header = _defines("COCOON_E_")
    header["OK"] = int(re.search(r"^#define COCOON_OK (-?\d+)\s*$", HEADER.read_text(), re.M).group(1))
    assert _members(cocoon.ErrorCode) == header
    assert header["IMAGE_FILE"] == -10


def test_error_fields_are_enum_members_for_every_header_value():
    """A CocoonError built from any header code and stage carries the enum members."""
    for code in _defines("COCOON_E_").values():
        for stage in _defines("COCOON_STAGE_").values():
            err = cocoon.CocoonError(code, 0, stage, "x")
            assert isinstance(err.code, cocoon.ErrorCode) and err.code == code
            assert isinstance(err.stage, cocoon.Stage) and err.stage == stage


@pytest.mark.parametrize("value", sorted(_defines("COCOON_STAGE_").values()))
def test_stage_name_known_for_every_header_stage(value):
    name = _lib.lib.cocoon_stage_name(value).decode()
    assert name != "unknown stage", (cocoon.Stage(value), name)
    assert name == "none" if value == 0 else name != "none"


def test_stage_name_unknown_past_the_last():
    last = max(_defines("COCOON_STAGE_").values())
    assert _lib.lib.cocoon_stage_name(last + 1) == b"unknown stage"
    assert _lib.lib.cocoon_stage_name(-1) == b"unknown stage"


def test_strerror_known_exactly_for_header_codes():
    codes = set(_defines("COCOON_E_").values())
    for code in range(min(codes) - 2, 1):
        msg = _lib.lib.cocoon_strerror(code).decode()
        if code == 0:
            assert msg == "success"
        elif code in codes:
            assert msg != "unknown error code", (cocoon.ErrorCode(code), msg)
        else:
            assert msg == "unknown error code", (code, msg)
    assert _lib.lib.cocoon_strerror(1) == b"unknown error code"


def test_ended_by_matches_header():
    assert _members(cocoon.EndedBy) == _defines("COCOON_ENDED_")


def test_event_kinds_match_header():
    header = _defines("COCOON_EVENT_")
    header.pop("ID_MAX")
    header.pop("SIZE_V1")
    assert _members(cocoon.EventKind) == header
    assert _members(cocoon.HealthStatus) == _defines("COCOON_HEALTH_")
    assert ctypes_size_of_event() == int(re.search(r"^#define COCOON_EVENT_SIZE_V1 (\d+)", HEADER.read_text(), re.M).group(1))


def ctypes_size_of_event() -> int:
    import ctypes
    return ctypes.sizeof(_lib.Event)
