#!/usr/bin/env python3
"""Helpers for benches/peers/run.sh (python3 standard library only).

  peers.py config ROOTFS ARG...      print an OCI config.json running ARG... in ROOTFS
  peers.py report JSON MD SVG [--meta K=V]... [--note TEXT]...
                                     print the results table, write MD and SVG
  peers.py update-docs MD DOC SVG    put MD between the markers in DOC, chart named SVG
  peers.py interleave JSON RUNS WARMUP NAME PREP CMD [NAME PREP CMD]...
                                     time the commands round-robin (see cmd_interleave)
"""

import html
import json
import os
import random
import shlex
import subprocess
import time
import statistics
import sys

BEGIN = "<!-- peers-results:begin -->"
END = "<!-- peers-results:end -->"
FLOOR = "floor"


def oci_config(rootfs, args):
    """The settings every tool in the comparison gets: pid, mount, uts, ipc and
    network namespaces, a read-only root, /proc and a minimal /dev, no terminal.
    No capabilities list, seccomp, rlimits, masked paths or hostname: the runtime
    is asked for the same job as the C floor plus /dev."""
    return {
        "ociVersion": "1.0.2",
        "process": {
            "terminal": False,
            "user": {"uid": 0, "gid": 0},
            "args": args,
            "env": ["PATH=/bin"],
            "cwd": "/",
        },
        "root": {"path": rootfs, "readonly": True},
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {
                "destination": "/dev",
                "type": "tmpfs",
                "source": "tmpfs",
                "options": ["nosuid", "strictatime", "mode=755", "size=65536k"],
            },
        ],
        "linux": {
            "namespaces": [
                {"type": "pid"},
                {"type": "mount"},
                {"type": "uts"},
                {"type": "ipc"},
                {"type": "network"},
            ]
        },
    }


def fmt_ms(seconds):
    ms = seconds * 1000.0
    if ms >= 100:
        return f"{ms:.0f} ms"
    if ms >= 10:
        return f"{ms:.1f} ms"
    return f"{ms:.2f} ms"


def load_rows(path):
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    rows = []
    for r in data["results"]:
        times = r["times"]
        rows.append(
            {
                "tool": r["command"],
                "median": r.get("median", statistics.median(times)),
                "mean": r["mean"],
                "stddev": r.get("stddev") or 0.0,
                "min": r.get("min", min(times)),
                "max": r.get("max", max(times)),
                "runs": len(times),
            }
        )
    floor = next((r for r in rows if r["tool"] == FLOOR), None)
    for r in rows:
        r["ratio"] = r["median"] / floor["median"] if floor else None
    return rows


def ratio_text(r):
    return "n/a" if r["ratio"] is None else f"{r['ratio']:.2f}×"


def inter_text(r):
    """The round-robin run's median and ratio ("—" for a tool it did not time)."""
    i = r.get("inter")
    if not i:
        return "—", "—"
    return fmt_ms(i["median"]), ratio_text(i)


def text_table(rows):
    head = ("tool", "median", "mean ± σ", "min", "ratio to floor", "round-robin median", "ratio")
    body = [
        (
            r["tool"],
            fmt_ms(r["median"]),
            f"{fmt_ms(r['mean'])} ± {fmt_ms(r['stddev'])}",
            fmt_ms(r["min"]),
            ratio_text(r),
            *inter_text(r),
        )
        for r in rows
    ]
    widths = [max(len(x[i]) for x in [head] + body) for i in range(len(head))]
    lines = []
    for i, line in enumerate([head] + body):
        lines.append("  ".join(c.ljust(w) if j == 0 else c.rjust(w) for j, (c, w) in enumerate(zip(line, widths))))
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown(rows, meta, notes, svg_name):
    out = []
    m = dict(meta)
    out.append(
        f"Measured {m.get('date', '?')} on {m.get('cpu', '?')} ({m.get('cores', '?')} cores), "
        f"Linux {m.get('kernel', '?')}; {m.get('runs', '?')} runs of each after "
        f"{m.get('warmup', '?')} warm-up runs, one hyperfine {m.get('hyperfine', '')} invocation "
        "(`-N`, no shell), workload `/bin/true` from a busybox-static rootfs."
    )
    out.append("")
    out.append("| tool | median | mean ± σ | min | ratio to floor (median) | round-robin median | round-robin ratio |")
    out.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        im, ir = inter_text(r)
        out.append(
            f"| {r['tool']} | {fmt_ms(r['median'])} | {fmt_ms(r['mean'])} ± {fmt_ms(r['stddev'])} "
            f"| {fmt_ms(r['min'])} | {ratio_text(r)} | {im} | {ir} |"
        )
    if any(r.get("inter") for r in rows):
        out.append("")
        out.append(
            "Round-robin: the same commands timed again after the hyperfine run, one run of each "
            "tool per round (in a new random order every round, the same number of runs), so every "
            "tool meets the same moments of a VM whose speed drifts: its ratio is the one to read; "
            "hyperfine's columns time one tool's runs after another's."
        )
    versions = [f"{k[len('version:'):]} {v}" for k, v in meta if k.startswith("version:")]
    if versions:
        out.append("")
        out.append("Versions: " + "; ".join(versions) + ".")
    if notes:
        out.append("")
        for n in notes:
            out.append(f"- {n}")
    out.append("")
    out.append(f"![median wall time per container, ratio to the C floor]({svg_name})")
    return "\n".join(out) + "\n"


def svg(rows, meta):
    """A horizontal bar chart of the medians, one bar per tool."""
    m = dict(meta)
    label_w, bar_w, right_w = 120, 430, 150
    top, row_h, bar_h = 44, 30, 18
    width = label_w + bar_w + right_w
    height = top + row_h * len(rows) + 30
    vmax = max((r["median"] for r in rows), default=1.0) or 1.0
    p = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="13">',
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
        f'<text x="10" y="20" font-size="14" font-weight="bold">Container start + /bin/true + teardown: '
        f"median wall time</text>",
        f'<text x="10" y="36" font-size="11" fill="#555">{html.escape(m.get("date", ""))}, '
        f'{html.escape(m.get("cpu", ""))}, Linux {html.escape(m.get("kernel", ""))}, '
        f'{html.escape(str(m.get("runs", "")))} runs each</text>',
    ]
    floor = next((r for r in rows if r["tool"] == FLOOR), None)
    if floor:
        # The target for cocoon-run: 1.25x the floor's median.
        x = label_w + bar_w * 1.25 * floor["median"] / vmax
        y1 = top + row_h * len(rows) - (row_h - bar_h)
        p.append(
            f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{y1 + 4}" stroke="#c0392b" '
            'stroke-width="1" stroke-dasharray="4,3"/>'
        )
        p.append(f'<text x="{x + 3:.1f}" y="{y1 + 14}" font-size="10" fill="#c0392b">1.25× floor</text>')
    for i, r in enumerate(rows):
        y = top + i * row_h
        w = max(1.0, bar_w * r["median"] / vmax)
        colour = "#888888" if r["tool"] == FLOOR else ("#d9822b" if r["tool"].startswith("cocoon") else "#4a7ab5")
        label = f"{fmt_ms(r['median'])}  ({ratio_text(r)})"
        p.append(
            f'<text x="{label_w - 8}" y="{y + bar_h - 4}" text-anchor="end">{html.escape(r["tool"])}</text>'
        )
        p.append(f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{colour}"/>')
        p.append(f'<text x="{label_w + w + 6:.1f}" y="{y + bar_h - 4}">{html.escape(label)}</text>')
    p.append(
        f'<text x="10" y="{height - 10}" font-size="11" fill="#555">ratio = median / median of the C floor '
        "(clone3 + pivot_root + proc + read-only root + execve)</text>"
    )
    p.append("</svg>")
    return "\n".join(p) + "\n"


def cmd_report(argv):
    if len(argv) < 3:
        sys.exit("usage: peers.py report JSON MD SVG [--meta K=V]... [--note TEXT]...")
    json_path, md_path, svg_path = argv[:3]
    meta, notes, inter = [], [], None
    rest = argv[3:]
    while rest:
        flag = rest.pop(0)
        if not rest:
            sys.exit(f"peers.py: {flag} needs a value")
        value = rest.pop(0)
        if flag == "--meta":
            k, _, v = value.partition("=")
            meta.append((k, v))
        elif flag == "--note":
            notes.append(value)
        elif flag == "--interleaved":
            inter = value
        else:
            sys.exit(f"peers.py: unknown option {flag}")
    rows = load_rows(json_path)
    if inter:
        by_tool = {r["tool"]: r for r in load_rows(inter)}
        for r in rows:
            r["inter"] = by_tool.get(r["tool"])
    print(text_table(rows))
    svg_name = svg_path.rsplit("/", 1)[-1]
    with open(md_path, "w", encoding="utf-8") as f:
        f.write(markdown(rows, meta, notes, svg_name))
    with open(svg_path, "w", encoding="utf-8") as f:
        f.write(svg(rows, meta))


def cmd_interleave(argv):
    """Times every command once per round, rounds in a row, in a new random order each
    round (so no tool always follows the same one, e.g. runc's asynchronous namespace
    cleanup), and writes hyperfine-shaped JSON. hyperfine times one tool's runs after another's, so
    on a VM whose speed drifts by tens of percent within a minute its ratios carry the
    drift; round-robin puts every tool into the same moments, so the ratio does not."""
    if len(argv) < 6 or (len(argv) - 3) % 3:
        sys.exit("usage: peers.py interleave JSON RUNS WARMUP NAME PREP CMD [NAME PREP CMD]...")
    out, runs, warmup = argv[0], int(argv[1]), int(argv[2])
    tools = [(argv[i], shlex.split(argv[i + 1]), argv[i + 2].split()) for i in range(3, len(argv), 3)]
    times = {name: [] for name, _, _ in tools}
    devnull = os.open(os.devnull, os.O_RDWR)
    order = random.Random(0)  # fixed seed: a rerun times the same orders
    for rnd in range(warmup + runs):
        this_round = list(tools)
        order.shuffle(this_round)
        for name, prep, cmd in this_round:
            subprocess.run(prep, stdin=devnull, stdout=devnull, stderr=devnull, check=False)
            t = time.perf_counter()
            pid = os.posix_spawnp(cmd[0], cmd, os.environ,
                                  file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 0),
                                                (os.POSIX_SPAWN_DUP2, devnull, 1),
                                                (os.POSIX_SPAWN_DUP2, devnull, 2)])
            _, status = os.waitpid(pid, 0)
            dt = time.perf_counter() - t
            if status != 0:
                sys.exit(f"peers.py: {name} failed ({status:#x}) in round {rnd}")
            if rnd >= warmup:
                times[name].append(dt)
    results = []
    for name, _, _ in tools:
        ts = times[name]
        results.append({"command": name, "times": ts, "mean": statistics.mean(ts),
                        "stddev": statistics.stdev(ts) if len(ts) > 1 else 0.0,
                        "median": statistics.median(ts), "min": min(ts), "max": max(ts)})
    with open(out, "w", encoding="utf-8") as f:
        json.dump({"results": results, "interleaved": True}, f)


def cmd_update_docs(argv):
    if len(argv) != 3:
        sys.exit("usage: peers.py update-docs MD DOC SVG_NAME")
    md_path, doc_path, svg_name = argv
    with open(md_path, encoding="utf-8") as f:
        body = f.read()
    # The chart sits next to the document under another name.
    body = body.replace("](results.svg)", f"]({svg_name})")
    with open(doc_path, encoding="utf-8") as f:
        doc = f.read()
    start, end = doc.find(BEGIN), doc.find(END)
    if start < 0 or end < start:
        sys.exit(f"peers.py: {doc_path} has no {BEGIN} ... {END} section")
    doc = doc[: start + len(BEGIN)] + "\n" + body + doc[end:]
    with open(doc_path, "w", encoding="utf-8") as f:
        f.write(doc)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    cmd, argv = sys.argv[1], sys.argv[2:]
    if cmd == "config":
        if len(argv) < 2:
            sys.exit("usage: peers.py config ROOTFS ARG...")
        json.dump(oci_config(argv[0], argv[1:]), sys.stdout, indent=2)
        sys.stdout.write("\n")
    elif cmd == "interleave":
        cmd_interleave(argv)
    elif cmd == "report":
        cmd_report(argv)
    elif cmd == "update-docs":
        cmd_update_docs(argv)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
