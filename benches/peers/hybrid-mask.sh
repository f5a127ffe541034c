#!/bin/sh
# hybrid-mask.sh CMD [ARGS...]: run CMD in a private mount namespace in which
# /sys/fs/cgroup/unified/cgroup.controllers reads as empty.
#
# crun 1.8.1 refuses to start any container on a hybrid cgroup host whose
# cgroup2 hierarchy has a controller (here: hugetlb), even with
# --cgroup-manager=disabled, because the check runs before the manager is
# chosen.  A /dev/null bind over that one file, visible only inside this
# namespace, gets past the check; the host's mounts and cgroups are untouched
# (the namespace is private and dies with CMD).
#
# It prints the mount count of the namespace before and after CMD on stderr so
# a leaked mount inside it is still caught, and exits with CMD's status.
set -eu
ctl=/sys/fs/cgroup/unified/cgroup.controllers
if [ "${1:-}" != --inside ]; then
	exec unshare --mount --propagation private -- "$0" --inside "$@"
fi
shift
mount --bind /dev/null "$ctl"
before=$(grep -c . /proc/self/mountinfo)
set +e
"$@"
rc=$?
set -e
after=$(grep -c . /proc/self/mountinfo)
echo "hybrid-mask: mounts in the private namespace before=$before after=$after" >&2
if [ "$before" != "$after" ]; then
	echo "hybrid-mask: LEAK: $((after - before)) mount(s) left behind inside the namespace" >&2
	[ "$rc" -ne 0 ] || rc=3
fi
exit "$rc"
