#!/usr/bin/env python3
"""Runs a command in a container with its own PID, network, UTS, IPC, mount and cgroup
namespaces, a read-only root and a private tmpfs, and prints what it saw inside.

TODO(cgroups): once the cgroup work lands, add memory_max=... here (the C ABI will get
cocoon_builder_set_memory_max) and print the limit seen inside the container.
"""
import sys

import cocoon

SCRIPT = ("echo hostname=$(hostname); echo pid=$$; echo interfaces=$(ls /sys/class/net);"
          "touch /etc/x 2>/dev/null && echo root=writable || echo root=read-only;"
          "touch /scratch/x && echo scratch=writable")

NS = (cocoon.Namespace.MOUNT | cocoon.Namespace.UTS | cocoon.Namespace.IPC | cocoon.Namespace.PID
      | cocoon.Namespace.NET | cocoon.Namespace.CGROUP)

with cocoon.Container(["sh", "-c", SCRIPT], hostname="isolated", namespaces=NS, read_only_root=True,
                      mounts=[cocoon.Tmpfs("/scratch", size=16 << 20, noexec=True)],
                      env={"PATH": "/usr/bin:/bin"}, stdout=cocoon.PIPE) as c:
    out = c.stdout.read().decode()
    status = c.wait()

print("inside the container:\n" + out, end="")
print(f"exit: {status}")
want = ["hostname=isolated", "pid=1", "interfaces=lo", "root=read-only", "scratch=writable"]
ok = status.success and out.split("\n")[:5] == want
print(("PROVED" if ok else "NOT PROVED") + ": own hostname, PID 1, only loopback, read-only root, writable tmpfs")
sys.exit(0 if ok else 1)
