#!/bin/bash
# benches/peers/run.sh: time cocoon-run against a hand-written C floor and the
# usual runtimes (crun, runc, bubblewrap, unshare) in ONE hyperfine run.
#
#   benches/peers/run.sh [--runs N] [--warmup N] [--wait-quiet SECONDS]
#                        [--update-docs] [--no-build] [--no-install]
#
# Every tool starts /bin/true from the same busybox-static rootfs in new mount,
# pid, uts, ipc and net namespaces and waits for it (see docs/PERFORMANCE.md for
# what each row does on top of that).  Everything is built under target/peers/:
# the rootfs, the floor binary, OCI bundles, runtime state dirs and the results
# (results.json from hyperfine, results.md, results.svg).  Before timing it
# waits up to --wait-quiet seconds (default 60, 0 = don't) for the CPUs to be
# less than 10% busy with other work, and records how busy they were.
# --update-docs copies the results into docs/PERFORMANCE.md (between its
# peers-results markers) and docs/peers.svg.
#
# cocoon-run is looked for at $COCOON_RUN, then at
# ${CARGO_TARGET_DIR:-<repo>/target}/release/cocoon-run, which is built (cargo
# build --release --bin cocoon-run) unless --no-build.  A missing cocoon-run is
# reported and its row skipped, never an error.
#
# Needs root.  Exits non-zero if any tool leaves a mount, cgroup or container
# state behind.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
out=$repo/target/peers
runs=100
warmup=10
update_docs=0
wait_quiet=60
build=1
install=1

usage() { sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit "${1:-0}"; }
say() { printf '%s\n' "$*"; }
die() { printf 'run.sh: %s\n' "$*" >&2; exit 1; }

while [ $# -gt 0 ]; do
	case $1 in
	--runs) runs=${2:?--runs needs a number}; shift 2 ;;
	--warmup) warmup=${2:?--warmup needs a number}; shift 2 ;;
	--wait-quiet) wait_quiet=${2:?--wait-quiet needs a number of seconds}; shift 2 ;;
	--update-docs) update_docs=1; shift ;;
	--no-build) build=0; shift ;;
	--no-install) install=0; shift ;;
	-h | --help) usage 0 ;;
	*) printf 'run.sh: unknown argument %s\n' "$1" >&2; usage 2 ;;
	esac
done
[[ $runs =~ ^[0-9]+$ && $runs -ge 2 ]] || die "--runs must be a number >= 2"
[[ $warmup =~ ^[0-9]+$ ]] || die "--warmup must be a number"
[[ $wait_quiet =~ ^[0-9]+$ ]] || die "--wait-quiet must be a number of seconds"
[ "$(id -u)" -eq 0 ] || die "must run as root (namespaces, mounts, runtimes)"
# hyperfine -N splits command lines on whitespace.
[[ $out != *[[:space:]]* ]] || die "the scratch dir $out must not contain whitespace"

# ---------------------------------------------------------------- packages
apt_updated=0
apt_install() {
	[ "$install" -eq 1 ] || die "missing packages: $* (rerun without --no-install)"
	say "installing from Debian: $*"
	if ! DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >/dev/null; then
		[ "$apt_updated" -eq 0 ] || die "apt-get install $* failed"
		apt-get update >/dev/null
		apt_updated=1
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >/dev/null
	fi
}
missing=()
for pair in crun:crun runc:runc bwrap:bubblewrap hyperfine:hyperfine unshare:util-linux \
	cc:gcc python3:python3 chroot:coreutils; do
	command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
done
dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'install ok installed' ||
	missing+=(busybox-static)
[ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"

# ---------------------------------------------------------------- scratch dir
mkdir -p "$out"
rootfs=$out/rootfs
"$here/rootfs.sh" "$rootfs"
if ! [ "$out/floor" -nt "$here/floor.c" ]; then
	cc -O2 -Wall -Wextra -o "$out/floor" "$here/floor.c"
fi
state=$out/state
mkdir -p "$state/crun" "$state/runc" "$state/cocoon"

# What each tool sees inside: pid 1?  read-only root?  /proc?  /dev/null?  only lo?
probe_script='echo "pid=$$ ro=$(if touch /.rw 2>&-; then rm -f /.rw; echo no; else echo yes; fi) proc=$(test -r /proc/self/stat && echo yes || echo no) dev=$(test -c /dev/null && echo yes || echo no) netifs=$(($(grep -c : /proc/net/dev) ))"'

for b in crun runc cocoon; do
	mkdir -p "$out/bundle-$b" "$out/probe-$b"
	python3 "$here/peers.py" config "$rootfs" /bin/true >"$out/bundle-$b/config.json"
	python3 "$here/peers.py" config "$rootfs" /bin/sh -c "$probe_script" >"$out/probe-$b/config.json"
done

# ---------------------------------------------------------------- the tools
names=() cmds=() preps=() notes=() skipped=()
add() { names+=("$1"); preps+=("$2"); cmds+=("$3"); }
skip() { skipped+=("$1"); notes+=("$1 skipped: $2"); say "  $1: SKIPPED: $2"; }

# probe NAME COMMAND...: run the probe once, print what the tool provides.
probe() {
	local name=$1; shift
	local res rc=0
	res=$("$@" 2>"$out/probe.err") || rc=$?
	if [ "$rc" -eq 0 ]; then
		say "  $name: $res"
		return 0
	fi
	# Keep the reason for skip(): the first line of stderr, else the status.
	[ -s "$out/probe.err" ] || echo "exit status $rc, no message" >"$out/probe.err"
	return 1
}

say "probing the tools (each runs the probe script once):"
mask=0

# 1. the floor
probe floor "$out/floor" "$rootfs" /bin/sh -c "$probe_script" || die "the C floor fails: $(cat "$out/probe.err")"
add floor true "$out/floor $rootfs /bin/true"

# 2. cocoon-run
cocoon_run=${COCOON_RUN:-${CARGO_TARGET_DIR:-$repo/target}/release/cocoon-run}
shown=${cocoon_run#"$repo/"}
if [ -z "${COCOON_RUN:-}" ] && [ "$build" -eq 1 ] && [ -f "$repo/src/bin/cocoon-run/main.rs" ]; then
	say "  cocoon-run: building it (cargo build --release -j1 --features cli --bin cocoon-run)"
	(cd "$repo" && CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$repo/target} cargo build --release -j1 --features cli --bin cocoon-run) ||
		say "  cocoon-run: build failed"
fi
if ! [ -x "$cocoon_run" ]; then
	skip cocoon-run "not built ($shown is missing)"
elif probe cocoon-run "$cocoon_run" --rootfs "$rootfs" --read-only -- /bin/sh -c "$probe_script"; then
	# cocoon-minimal: the floor's work (namespaces, pivot_root, /proc, read-only root);
	# cocoon-run: cocoon's defaults on top (/dev with pts/shm/mqueue, /sys, a cgroup
	# namespace, Docker's masked and read-only paths, capabilities, no_new_privs).
	# cocoon-minimal is the lean examples/minimal.rs (the floor's interface, no argument
	# parser), so the row prices the library's defaults; cocoon-run-minimal is the same
	# work behind the CLI's clap parser (its start-up is the difference).
	minimal=${CARGO_TARGET_DIR:-$repo/target}/release/examples/minimal
	if [ "$build" -eq 1 ] && [ -f "$repo/examples/minimal.rs" ]; then
		(cd "$repo" && CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$repo/target} cargo build --release -j1 --features cli --example minimal) ||
			say "  minimal: build failed"
	fi
	if [ -x "$minimal" ] && probe cocoon-minimal "$minimal" "$rootfs" /bin/sh -c "$probe_script"; then
		add cocoon-minimal true "$minimal $rootfs /bin/true"
	fi
	if probe cocoon-run-minimal "$cocoon_run" --minimal --rootfs "$rootfs" --read-only -- /bin/sh -c "$probe_script"; then
		add cocoon-run-minimal true "$cocoon_run --minimal --rootfs $rootfs --read-only -- /bin/true"
	fi
	add cocoon-run true "$cocoon_run --rootfs $rootfs --read-only -- /bin/true"
else
	skip cocoon-run "its probe run failed: $(head -n1 "$out/probe.err" | head -c 300)"
fi

# 3. crun: plain, then without a cgroup manager, then with the hybrid mask.
crun_g=(crun --root "$state/crun")
crun_id=cocoon-peers-crun
crun_ok=""
crun_tried=()
if probe "crun (default cgroupfs manager)" "${crun_g[@]}" run --bundle "$out/probe-crun" "$crun_id"; then
	crun_ok=plain
	crun_tried+=("\`crun run\` works as is")
else
	crun_tried+=("\`crun run\`: $(head -n1 "$out/probe.err")")
	if probe "crun --cgroup-manager=disabled" "${crun_g[@]}" --cgroup-manager=disabled run --bundle "$out/probe-crun" "$crun_id"; then
		crun_ok=disabled
		crun_tried+=("\`crun --cgroup-manager=disabled run\` works")
	else
		crun_tried+=("\`crun --cgroup-manager=disabled run\`: $(head -n1 "$out/probe.err")")
		if grep -q 'hybrid mode' "$out/probe.err" &&
			probe "crun --cgroup-manager=disabled, hybrid mask" "$here/hybrid-mask.sh" \
				"${crun_g[@]}" --cgroup-manager=disabled run --bundle "$out/probe-crun" "$crun_id"; then
			crun_ok=masked
			mask=1
			crun_tried+=("works with \`--cgroup-manager=disabled\` once /sys/fs/cgroup/unified/cgroup.controllers reads empty (hybrid-mask.sh: a /dev/null bind in a private mount namespace that the whole hyperfine run uses)")
		else
			crun_tried+=("with the hybrid mask: $(head -n1 "$out/probe.err")")
		fi
	fi
fi
"${crun_g[@]}" delete -f "$crun_id" >/dev/null 2>&1 || true
crun_note="crun: $(IFS=';'; echo "${crun_tried[*]}" | sed 's/;/; /g')."
for t in "${crun_tried[@]}"; do say "  crun: $t"; done
if [ -n "$crun_ok" ]; then
	crun_cmd="${crun_g[*]}"
	[ "$crun_ok" = plain ] || crun_cmd+=" --cgroup-manager=disabled"
	add crun "sh -c '$crun_cmd delete -f $crun_id >/dev/null 2>&1; true'" \
		"$crun_cmd run --bundle $out/bundle-crun $crun_id"
	notes+=("$crun_note")
	[ "$crun_ok" = plain ] || notes+=("crun row: no cgroup manager, so crun creates no cgroup (runc's row does create and remove one in every v1 hierarchy).")
else
	skip crun "$crun_note"
fi

# 3b. cocoon as an OCI runtime (the `cocoon` binary, runc's command line), from the same
#     bundle as crun and runc: `run`, and create + start + delete (what engines do).
cocoon_oci=${COCOON_OCI:-${CARGO_TARGET_DIR:-$repo/target}/release/cocoon}
if [ -z "${COCOON_OCI:-}" ] && [ "$build" -eq 1 ] && [ -f "$repo/src/bin/cocoon/main.rs" ]; then
	say "  cocoon (OCI runtime): building it (cargo build --release -j1 --features oci-runtime --bin cocoon)"
	(cd "$repo" && CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$repo/target} cargo build --release -j1 --features oci-runtime --bin cocoon) ||
		say "  cocoon (OCI runtime): build failed"
fi
cocoon_g=("$cocoon_oci" --root "$state/cocoon")
cocoon_id=cocoon-peers-oci
if ! [ -x "$cocoon_oci" ]; then
	skip cocoon-oci "not built (${cocoon_oci#"$repo/"} is missing)"
elif probe cocoon-oci "${cocoon_g[@]}" run --bundle "$out/probe-cocoon" "$cocoon_id"; then
	add cocoon-oci "sh -c '${cocoon_g[*]} delete -f $cocoon_id >/dev/null 2>&1; true'" \
		"${cocoon_g[*]} run --bundle $out/bundle-cocoon $cocoon_id"
	add cocoon-oci-lifecycle "sh -c '${cocoon_g[*]} delete -f $cocoon_id >/dev/null 2>&1; true'" \
		"sh -c '${cocoon_g[*]} create --bundle $out/bundle-cocoon $cocoon_id && ${cocoon_g[*]} start $cocoon_id && ${cocoon_g[*]} delete -f $cocoon_id'"
else
	skip cocoon-oci "its probe run failed: $(head -n1 "$out/probe.err" | head -c 300)"
fi
"${cocoon_g[@]}" delete -f "$cocoon_id" >/dev/null 2>&1 || true
if [ -n "$crun_ok" ]; then
	add crun-lifecycle "sh -c '$crun_cmd delete -f $crun_id >/dev/null 2>&1; true'" \
		"sh -c '$crun_cmd create --bundle $out/bundle-crun $crun_id && $crun_cmd start $crun_id && $crun_cmd delete -f $crun_id'"
fi

# 4. runc: the default cgroupfs driver puts the container in <own cgroup>/<id>
#    in every v1 hierarchy (under the session's memory cgroup, not the root).
runc_g=(runc --root "$state/runc")
runc_id=cocoon-peers-runc
if probe runc "${runc_g[@]}" run --bundle "$out/probe-runc" "$runc_id"; then
	add runc "sh -c '${runc_g[*]} delete -f $runc_id >/dev/null 2>&1; true'" \
		"${runc_g[*]} run --bundle $out/bundle-runc $runc_id"
	add runc-lifecycle "sh -c '${runc_g[*]} delete -f $runc_id >/dev/null 2>&1; true'" \
		"sh -c '${runc_g[*]} create --bundle $out/bundle-runc $runc_id && ${runc_g[*]} start $runc_id && ${runc_g[*]} delete -f $runc_id'"
else
	skip runc "$(head -n1 "$out/probe.err")"
fi
"${runc_g[@]}" delete -f "$runc_id" >/dev/null 2>&1 || true

# 5. bubblewrap (as root it uses no user namespace; it always unshares mount).
bwrap_args="--unshare-pid --unshare-uts --unshare-ipc --unshare-net --ro-bind $rootfs / --proc /proc --dev /dev"
# shellcheck disable=SC2086
if probe bwrap bwrap $bwrap_args /bin/sh -c "$probe_script"; then
	add bwrap true "bwrap $bwrap_args /bin/true"
else
	skip bwrap "$(head -n1 "$out/probe.err")"
fi

# 6. util-linux unshare: the same namespaces, chroot instead of pivot_root, no
#    read-only root and no /dev (it has no options for them).
unshare_args="--mount --pid --uts --ipc --net --fork --root=$rootfs --mount-proc"
# shellcheck disable=SC2086
if probe unshare unshare $unshare_args /bin/sh -c "$probe_script"; then
	add unshare true "unshare $unshare_args /bin/true"
else
	skip unshare "$(head -n1 "$out/probe.err")"
fi

# ---------------------------------------------------------------- the run
cgroup_leftovers() {
	find /sys/fs/cgroup -maxdepth 7 -type d -name 'cocoon-peers-*' 2>/dev/null || true
}
[ -z "$(cgroup_leftovers)" ] || die "cocoon-peers cgroups exist before the run: $(cgroup_leftovers)"
mounts_before=$(grep -c . /proc/self/mountinfo)

hf=(hyperfine -N --style basic --warmup "$warmup" --runs "$runs" --export-json "$out/results.json")
for i in "${!names[@]}"; do
	hf+=(--command-name "${names[$i]}" --prepare "${preps[$i]}")
done
hf+=("${cmds[@]}")
wrap=()
[ "$mask" -eq 0 ] || wrap=("$here/hybrid-mask.sh")

# Percentage of all CPUs busy over one second while nothing of ours runs.
cpu_busy() {
	local a b
	a=$(head -n1 /proc/stat)
	sleep 1
	b=$(head -n1 /proc/stat)
	awk -v a="$a" -v b="$b" 'BEGIN {
		# user nice system idle iowait irq softirq steal (guest time is inside user)
		n = split(a, x); split(b, y); t = 0; idle = 0
		for (i = 2; i <= n && i <= 9; i++) { d = y[i] - x[i]; t += d; if (i == 5 || i == 6) idle += d }
		printf "%.0f", (t > 0 ? 100 * (t - idle) / t : 0) }'
}
busy_before=$(cpu_busy)
waited=1
while [ "$busy_before" -ge 10 ] && [ "$waited" -lt "$wait_quiet" ]; do
	[ "$waited" -gt 1 ] || say "waiting up to ${wait_quiet}s for the machine to be quiet (CPUs $busy_before% busy)"
	sleep 4
	busy_before=$(cpu_busy)
	waited=$((waited + 5))
done
say ""
say "timing ${names[*]}: $runs runs each after $warmup warm-ups (CPU busy before: $busy_before%)"
start=$(date +%s)
rc=0
"${wrap[@]}" "${hf[@]}" || rc=$?
say "hyperfine took $(($(date +%s) - start)) s"
# The same commands round-robin (peers.py cmd_interleave): ratios free of the drift.
if [ "$rc" -eq 0 ]; then
	inter=()
	for i in "${!names[@]}"; do inter+=("${names[$i]}" "${preps[$i]}" "${cmds[$i]}"); done
	start=$(date +%s)
	"${wrap[@]}" python3 "$here/peers.py" interleave "$out/interleaved.json" "$runs" "$warmup" "${inter[@]}" || rc=$?
	say "round-robin run took $(($(date +%s) - start)) s"
fi
busy_after=$(cpu_busy)
notes+=("Other load: all CPUs $busy_before% busy in the second before the timing, $busy_after% in the second after.")
if [ "$busy_before" -gt 25 ] || [ "$busy_after" -gt 25 ]; then
	notes+=("WARNING: the machine was busy with other work: expect inflated medians and ratios; rerun when it is quiet.")
fi

# ---------------------------------------------------------------- leftovers
leaks=()
mounts_after=$(grep -c . /proc/self/mountinfo)
say "host mounts: before=$mounts_before after=$mounts_after"
[ "$mounts_before" = "$mounts_after" ] || leaks+=("$((mounts_after - mounts_before)) mount(s)")
left=$(cgroup_leftovers)
say "cgroups named cocoon-peers-*: ${left:-none}"
[ -z "$left" ] || leaks+=("cgroups: $left")
for rt in runc crun cocoon; do
	bin=$rt
	[ "$rt" != cocoon ] || bin=$cocoon_oci
	listing=$($bin --root "$state/$rt" list -q 2>/dev/null || true)
	say "$rt list: ${listing:-empty}"
	[ -z "$listing" ] || leaks+=("$rt containers: $listing")
	st=$(ls -A "$state/$rt")
	[ -z "$st" ] || leaks+=("$rt state: $st")
done
[ "$rc" -eq 0 ] || die "hyperfine failed (exit $rc)"
[ ${#leaks[@]} -eq 0 ] || die "left behind: ${leaks[*]}"

# ---------------------------------------------------------------- report
ver() { "$@" 2>&1 | head -n1 | sed 's/^[^0-9]*//; s/ .*//' || true; }
meta=(
	--meta "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
	--meta "kernel=$(uname -r)"
	--meta "cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)"
	--meta "cores=$(nproc)"
	--meta "runs=$runs" --meta "warmup=$warmup"
	--meta "hyperfine=$(ver hyperfine --version)"
	--meta "version:crun=$(ver crun --version)"
	--meta "version:runc=$(ver runc --version)"
	--meta "version:bubblewrap=$(ver bwrap --version)"
	--meta "version:util-linux unshare=$(ver unshare --version)"
	--meta "version:busybox=$(ver "$rootfs/bin/busybox")"
)
note_args=()
for n in "${notes[@]}"; do note_args+=(--note "$n"); done
say ""
python3 "$here/peers.py" report "$out/results.json" "$out/results.md" "$out/results.svg" "${meta[@]}" "${note_args[@]}" \
	--interleaved "$out/interleaved.json"
for n in "${notes[@]}"; do say "note: $n"; done
say ""
say "wrote $out/results.md and $out/results.svg"

if [ "$update_docs" -eq 1 ]; then
	python3 "$here/peers.py" update-docs "$out/results.md" "$repo/docs/PERFORMANCE.md" peers.svg
	cp "$out/results.svg" "$repo/docs/peers.svg"
	say "updated docs/PERFORMANCE.md and docs/peers.svg"
fi
