#!/usr/bin/env python3
"""Runs a command in a container with its own PID, network, UTS, IPC, mount and cgroup
namespaces, a read-only root, a private tmpfs and a 32 MiB memory limit, and prints what
it saw inside, then the cgroup stats: an allocation above the limit is OOM-killed and
counted.
"""
import sys

import cocoon

SCRIPT = ("echo hostname=$(hostname); echo pid=$$; echo interfaces=$(ls /sys/class/net);"
          "touch /etc/x 2>/dev/null && echo root=writable || echo root=read-only;"
          "touch /scratch/x && echo scratch=writable;"
          # tail keeps the whole newline-free input in memory: 64 MiB > the 32 MiB limit. The
          # subshell offers itself, head and tail to the OOM killer first (oom_score_adj 1000):
          # when tail's exit is slow the kernel kills again, and must not take the shell.
          "(echo 1000 >/proc/self/oom_score_adj && head -c 64m /dev/zero | tail >/dev/null);"
          " echo big-allocation-exit=$?")

NS = (cocoon.Namespace.MOUNT | cocoon.Namespace.UTS | cocoon.Namespace.IPC | cocoon.Namespace.PID
      | cocoon.Namespace.NET | cocoon.Namespace.CGROUP)

with cocoon.Container(["sh", "-c", SCRIPT], hostname="isolated", namespaces=NS, read_only_root=True,
                      mounts=[cocoon.Tmpfs("/scratch", size=16 << 20, noexec=True)],
                      env={"PATH": "/usr/bin:/bin"}, stdout=cocoon.PIPE,
                      cgroup=cocoon.Cgroup(memory_max=32 << 20, pids_max=32),
                      # labelled where the host has SELinux; unlabelled (not an error) elsewhere
                      selinux=cocoon.SELinux(require=False)) as c:
    label = c.selinux_label
    out = c.stdout.read().decode()
    status = c.wait()
    stats = c.stats()

print("inside the container:\n" + out, end="")
print(f"exit: {status}")
print(f"selinux label: {label or 'none (SELinux is disabled on this host)'}")
print(f"cgroup: {stats.cpu}")
print(f"cgroup: {stats.memory}")
want = ["hostname=isolated", "pid=1", "interfaces=lo", "root=read-only", "scratch=writable",
        "big-allocation-exit=137"]
ok = ((label is not None) == cocoon.has_feature("selinux") and status.success and out.split("\n")[:6] == want and stats.memory is not None
      and stats.memory.oom_kills >= 1)
print(("PROVED" if ok else "NOT PROVED") + ": own hostname, PID 1, only loopback, read-only root, writable tmpfs,"
      " 64 MiB allocation OOM-killed under a 32 MiB limit and counted")
sys.exit(0 if ok else 1)
