"""Process(log=LogFile(...)): the CRI records a container's monitor writes (checked with a
parser written from kubelet's description of the format), rotation, the loss counters and
the errors."""

import os
import re

import pytest

import cocoon
from test_cocoon import needs_root

RECORD = re.compile(rb"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z) (stdout|stderr) ([FP]) (.*)$")


def records(path):
    with open(path, "rb") as f:
        data = f.read()
    assert data.endswith(b"\n")
    out = []
    for line in data.split(b"\n")[:-1]:
        m = RECORD.match(line)
        assert m, line
        out.append((m.group(2).decode(), m.group(3) == b"P", m.group(4)))
    return out


@needs_root
def test_stdout_and_stderr_logged_and_rotated(tmp_path):
    log = tmp_path / "c.log"
    script = "busybox seq 1 2000; echo oops >&2; busybox seq 2001 4000"
    with cocoon.Container(["sh", "-c", script], process=cocoon.Process(log=cocoon.LogFile(log, 16 * 1024, 3))) as c:
        assert c.wait().code == 0
        assert c.log_lost_bytes == 0 and c.log_errno == 0
    files = [tmp_path / "c.log.2", tmp_path / "c.log.1", log]
    assert sorted(os.listdir(tmp_path)) == ["c.log", "c.log.1", "c.log.2"]
    recs = [r for f in files for r in records(f)]
    assert all(os.path.getsize(f) <= 16 * 1024 for f in files)
    nums = [int(t) for s, p, t in recs if s == "stdout"]
    assert nums == list(range(nums[0], 4001)) and nums[0] > 1
    assert all(not p for _, p, _ in recs)


@needs_root
def test_log_errors(tmp_path):
    with pytest.raises(cocoon.CocoonOSError):
        cocoon.Container(["true"], process=cocoon.Process(log=cocoon.LogFile(tmp_path / "no" / "c.log"))).spawn()
    with pytest.raises(cocoon.InvalidConfig):
        cocoon.Container(["true"], process=cocoon.Process(log=cocoon.LogFile(tmp_path / ("x" * 250)))).spawn()
    with pytest.raises(cocoon.InvalidConfig):
        cocoon.Container(["true"], direct_child=True,
                         process=cocoon.Process(log=cocoon.LogFile(tmp_path / "d.log"))).spawn()
    with cocoon.Container(["sleep", "30"]) as c:
        with pytest.raises(cocoon.InvalidConfig):
            c.exec(["true"], process=cocoon.Process(log=cocoon.LogFile(tmp_path / "e.log")))
    assert os.listdir(tmp_path) == []
