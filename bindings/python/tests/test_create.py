"""Created containers (OCI's create/start split) and direct_child, against the real
library and kernel (run as root): create() holds the container before its program,
start() or cocoon.start_created(path) (from another process, after the creator exited)
runs it."""

import os
import subprocess
import sys
import textwrap
import time

import pytest

import cocoon

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="containers need root")
NO_NET = cocoon.Namespace.DEFAULT & ~cocoon.Namespace.NET


def marker_script(tmp_path):
    return ["sh", "-c", "echo ran > /out/marker; exit 4"]


@needs_root
def test_create_then_start(tmp_path):
    with cocoon.Container(marker_script(tmp_path), namespaces=NO_NET,
                          mounts=[cocoon.Bind(str(tmp_path), "/out")]).create() as c:
        assert c.created
        time.sleep(0.1)
        assert not (tmp_path / "marker").exists()
        c.start()
        assert not c.created
        assert c.wait().code == 4
        assert (tmp_path / "marker").read_text() == "ran\n"
        with pytest.raises(cocoon.NotCreated):
            c.start()


@needs_root
def test_closed_before_start_never_runs(tmp_path):
    c = cocoon.Container(marker_script(tmp_path), namespaces=NO_NET,
                         mounts=[cocoon.Bind(str(tmp_path), "/out")])
    c.create()
    pid = c.pid
    c.close()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert not (tmp_path / "marker").exists()


@needs_root
def test_start_created_from_another_process(tmp_path):
    sock = tmp_path / "start.sock"
    with cocoon.Container(marker_script(tmp_path), namespaces=NO_NET, direct_child=True,
                          mounts=[cocoon.Bind(str(tmp_path), "/out")]).create(start_socket=sock) as c:
        assert sock.exists()
        code = textwrap.dedent(f"""
            import cocoon
            cocoon.start_created({str(sock)!r})
            try:
                cocoon.start_created({str(sock)!r})
            except cocoon.NotCreated:
                print("second start refused")
        """)
        out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True,
                             env=dict(os.environ))
        assert out.stdout.strip() == "second start refused"
        assert c.wait().code == 4
        assert (tmp_path / "marker").exists()
        assert not sock.exists()


def test_start_created_without_a_container(tmp_path):
    with pytest.raises(cocoon.NotCreated):
        cocoon.start_created(tmp_path / "nothing.sock")
