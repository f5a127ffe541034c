#!/usr/bin/env python3
"""Starts a long-running container, execs a second process into it, and shows that the
exec'd process shares the container: same hostname, same PID namespace (it is not PID 1,
and PID 1 is the container's sleep), same private /tmp."""
import signal
import sys

import cocoon

MAIN = "echo secret-from-pid-1 > /tmp/marker; exec sleep 60"
PROBE = ("while [ ! -s /tmp/marker ]; do sleep 0.05; done; echo hostname=$(hostname); echo pid=$$;"
         "echo pid1=$(cat /proc/1/comm); echo marker=$(cat /tmp/marker)")

with cocoon.Container(["sh", "-c", MAIN], hostname="exec-demo", mounts=[cocoon.Tmpfs("/tmp", mode=0o1777)]) as c:
    with c.exec(["sh", "-c", PROBE], stdout=cocoon.PIPE) as p:
        out = p.stdout.read().decode()
        st = p.wait()
    c.kill(signal.SIGKILL)
    print(f"container stopped: {c.wait()}")

print("the exec'd process saw:\n" + out, end="")
lines = dict(l.split("=", 1) for l in out.split())
ok = (st.success and lines.get("hostname") == "exec-demo" and lines.get("pid") != "1"
      and lines.get("pid1") == "sleep" and lines.get("marker") == "secret-from-pid-1")
print(("PROVED" if ok else "NOT PROVED") + ": the exec'd process shares the container's hostname, PID namespace and /tmp")
sys.exit(0 if ok else 1)
