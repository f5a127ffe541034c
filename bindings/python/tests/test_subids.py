"""Container(subordinate_ids=...): as root (who writes the maps itself) with a range the
test adds to /etc/subuid and /etc/subgid for root and removes again: 65,537 ids, chown
inside lands on base + id - 1 outside; too few ids raise InvalidConfig. (tests/core_subids.rs
runs the unprivileged path through newuidmap.)"""

import os

import pytest

import cocoon
from test_cocoon import needs_root


@pytest.fixture
def root_ranges():
    saved = {}
    for f in ("/etc/subuid", "/etc/subgid"):
        saved[f] = open(f, "rb").read() if os.path.exists(f) else None
        with open(f, "ab") as out:
            out.write(b"root:500000:65536\n")
    try:
        yield
    finally:
        for f, old in saved.items():
            if old is None:
                os.unlink(f)
            else:
                with open(f, "wb") as out:
                    out.write(old)


@needs_root
def test_root_gets_its_subordinate_ranges(root_ranges, tmp_path):
    os.chmod(tmp_path, 0o777)
    script = "cat /proc/self/uid_map; touch /data/f; chown 1000:1000 /data/f && echo chowned"
    with cocoon.Container(["sh", "-c", script], stdout=cocoon.PIPE, subordinate_ids=cocoon.SubordinateIds(),
                          mounts=[cocoon.Bind(tmp_path, "/data")]) as c:
        out = c.stdout.read().decode()
        assert c.wait().code == 0, out
    rows = [line.split() for line in out.splitlines()[:2]]
    assert rows == [["0", "0", "1"], ["1", "500000", "65536"]], out
    st = os.stat(tmp_path / "f")
    assert (st.st_uid, st.st_gid) == (500999, 500999) and "chowned" in out


@needs_root
def test_too_few_subordinate_ids_are_invalid_config(root_ranges):
    with pytest.raises(cocoon.InvalidConfig) as e:
        cocoon.Container(["true"], subordinate_ids=cocoon.SubordinateIds(count=70000, whole_range=True)).spawn()
    assert "/etc/subuid gives root (uid 0) 65536 ids, 70000 asked for" in str(e.value)
