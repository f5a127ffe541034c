"""LogReader: CRI log files (a rotated NAME.1 and the live NAME) read back field by field,
since, follow (appended lines, a rotation, the timeout), errors, and the C struct's layout."""

import ctypes
import datetime
import errno
import os
import re
import threading
import time
from pathlib import Path

import pytest

import cocoon
from cocoon import _lib

HEADER = Path(__file__).resolve().parents[3] / "include" / "cocoon.h"

T0 = 1475713029  # 2016-10-06T00:17:09Z


def rec(secs, text, stream="stdout", tag="F", frac="000000000"):
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs))
    return f"{stamp}.{frac}Z {stream} {tag} ".encode() + text + b"\n"


def fds():
    return sorted(os.listdir("/proc/self/fd"))


def test_fields_rotated_first_junk_skipped(tmp_path):
    live = tmp_path / "c.log"
    (tmp_path / "c.log.1").write_bytes(rec(T0, b"old", frac="000000001") + b"junk\n")
    live.write_bytes(rec(T0 + 1, b"part", stream="stderr", tag="P", frac="5")
                     + b"2016-10-06T02:17:11+02:00 stdout F \xff\xfe bytes\n"
                     + b"2016-10-06T00:17:12Z stdout F unfinis")
    with cocoon.LogReader(live) as r:
        lines = list(r)
        assert r.skipped == 1
    assert [ln.text for ln in lines] == [b"old", b"part", b"\xff\xfe bytes"]
    old, part, raw = lines
    assert (old.secs, old.nanos, old.stream, old.partial) == (T0, 1, "stdout", False)
    assert old.time == pytest.approx(T0 + 1e-9)
    assert (part.secs, part.nanos, part.stream, part.partial) == (T0 + 1, 500_000_000, "stderr", True)
    assert part.time == pytest.approx(T0 + 1.5)
    assert (raw.secs, raw.nanos) == (T0 + 2, 0)
    assert isinstance(raw, cocoon.LogLine)


def test_since_forms(tmp_path):
    live = tmp_path / "c.log"
    live.write_bytes(b"".join(rec(T0 + k, str(k).encode(), frac="250000000") for k in range(4)))

    def texts(since):
        with cocoon.LogReader(live, since=since) as r:
            return [ln.text for ln in r]

    assert texts(None) == [b"0", b"1", b"2", b"3"]
    assert texts(T0 + 2) == [b"2", b"3"]
    assert texts(T0 + 1.5) == [b"2", b"3"]
    assert texts((T0 + 1, 250_000_000)) == [b"1", b"2", b"3"]
    assert texts((T0 + 1, 250_000_001)) == [b"2", b"3"]
    utc = datetime.timezone.utc
    assert texts(datetime.datetime(2016, 10, 6, 0, 17, 12, tzinfo=utc)) == [b"3"]
    assert texts(T0 + 100) == []
    with cocoon.LogReader(live) as r:
        first = next(r)
    assert texts(first) == [b"0", b"1", b"2", b"3"]
    with pytest.raises(ValueError):
        cocoon.LogReader(live, since=datetime.datetime(2016, 10, 6))  # naive
    with pytest.raises(ValueError):
        cocoon.LogReader(live, since=-1)
    with pytest.raises(ValueError):
        cocoon.LogReader(live, since=float("nan"))


def test_follow_sees_appended_lines_and_a_rotation(tmp_path):
    live = tmp_path / "c.log"
    live.write_bytes(rec(T0, b"0"))

    def writer():
        for k in range(1, 7):
            time.sleep(0.03)
            with open(live, "ab") as f:
                f.write(rec(T0 + k, str(k).encode()))
            if k == 3:
                os.rename(live, tmp_path / "c.log.1")

    t = threading.Thread(target=writer)
    start = time.monotonic()
    with cocoon.LogReader(live, follow=True, timeout=0.5) as r:
        t.start()
        got = [ln.text for ln in r]
    t.join()
    assert got == [str(k).encode() for k in range(7)]
    took = time.monotonic() - start
    assert 0.5 <= took < 5, took


def test_follow_timeout_ends(tmp_path):
    live = tmp_path / "c.log"
    live.write_bytes(rec(T0, b"x"))
    start = time.monotonic()
    with cocoon.LogReader(live, follow=True, timeout=0.2) as r:
        assert [ln.text for ln in r] == [b"x"]
        assert r.next() is None
    took = time.monotonic() - start
    assert 0.2 <= took < 3, took


def test_errors_and_close(tmp_path):
    with pytest.raises(cocoon.CocoonOSError) as e:
        cocoon.LogReader(tmp_path / "none.log")
    assert e.value.errno == errno.ENOENT
    assert e.value.code == cocoon.ErrorCode.OS
    live = tmp_path / "c.log"
    live.write_bytes(rec(T0, b"x"))
    with pytest.raises(ValueError):
        cocoon.LogReader(live, follow=True, timeout=-1)
    with pytest.raises(cocoon.InvalidArgument):
        cocoon.LogReader("")
    before = fds()
    r = cocoon.LogReader(live)
    assert len(fds()) > len(before)
    r.close()
    r.close()
    assert fds() == before
    with pytest.raises(ValueError):
        r.next()
    with pytest.raises(ValueError):
        r.skipped


def test_struct_matches_the_header():
    text = HEADER.read_text()

    def define(name):
        return int(re.search(rf"^#define {name} (\d+)", text, re.M).group(1))

    assert ctypes.sizeof(_lib.LogLineC) == define("COCOON_LOG_LINE_SIZE_V1")
    assert define("COCOON_LOG_STDOUT") == 1 and define("COCOON_LOG_STDERR") == 2
