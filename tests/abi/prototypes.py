#!/usr/bin/env python3
"""Fails when a published C declaration changes: every function prototype, struct
layout and numeric constant of include/cocoon.h recorded in tests/abi/prototypes.txt must still be
in the header, unchanged — except that a size-versioned struct (first field `uint32_t size`)
may grow at its end. New declarations are allowed (append them with --update).

    tests/abi/prototypes.py            # check
    tests/abi/prototypes.py --update   # record the header's current declarations
"""
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEADER = ROOT / "include" / "cocoon.h"
BASELINE = ROOT / "tests" / "abi" / "prototypes.txt"
# Version macros move with every release; everything else is ABI.
VOLATILE = re.compile(r"#define COCOON_VERSION_(MAJOR|MINOR|PATCH|STRING)\b")


def declarations(text: str) -> list[str]:
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    out = []
    for line in text.splitlines():
        line = " ".join(line.split())
        if line.startswith("#define COCOON_") and not VOLATILE.match(line):
            out.append(line)
    # Function prototypes: statements ending in ");" that mention cocoon_ and a "(".
    code = "\n".join(l for l in text.splitlines() if not l.lstrip().startswith("#"))
    flat = " ".join(code.split())
    # Struct layouts a caller sees (field order and types are ABI).
    for m in re.finditer(r"typedef struct (\w+ )?\{(.*?)\} (cocoon_\w+);", flat):
        out.append(f"struct {m.group(3)} {{{' '.join(m.group(2).split())}}};")
    flat = re.sub(r"typedef struct (\w+ )?\{.*?\} cocoon_\w+;", " ", flat)
    for stmt in flat.split(";"):
        stmt = stmt.strip()
        m = re.search(r"\bcocoon_\w+\s*\(", stmt)
        if m and stmt.endswith(")"):
            stmt = re.sub(r"^.*?(?=(const |struct |enum |unsigned |signed )?\w[\w\s\*]*\bcocoon_\w+\s*\()", "", stmt, count=1)
            out.append(stmt + ";")
    return out


STRUCT = re.compile(r"struct (cocoon_\w+) \{(.*)\};$")


def grown(old: str, current: list[str]) -> str | None:
    """The current layout of struct `old` if it only grew at its end (new fields after the
    recorded ones): what a size-versioned struct (its first field `size`) may do."""
    m = STRUCT.match(old)
    if not m or not m.group(2).startswith("uint32_t size;"):
        return None
    for d in current:
        n = STRUCT.match(d)
        if n and n.group(1) == m.group(1) and n.group(2).startswith(m.group(2) + " "):
            return d
    return None


def main() -> int:
    current = declarations(HEADER.read_text())
    if "--update" in sys.argv:
        old = BASELINE.read_text().splitlines() if BASELINE.exists() else []
        old = [grown(o, current) or o for o in old]
        merged = old + [d for d in current if d not in old]
        BASELINE.write_text("\n".join(merged) + "\n")
        print(f"prototypes: recorded {len(merged)} declarations ({len(merged) - len(old)} new)")
        return 0
    baseline = [l for l in BASELINE.read_text().splitlines() if l.strip()]
    cur = set(current)
    changed = [b for b in baseline if b not in cur and not grown(b, current)]
    for b in baseline:
        if b not in cur and grown(b, current):
            print(f"prototypes: grew at its end (compatible; run --update to record): {b}")
    new = [d for d in current if d not in set(baseline) and not any(grown(b, [d]) for b in baseline)]
    for b in changed:
        print(f"prototypes: CHANGED or REMOVED (an ABI break): {b}")
    for d in new:
        print(f"prototypes: new, not yet recorded (run tests/abi/prototypes.py --update): {d}")
    print(f"prototypes: {len(baseline)} recorded, {len(changed)} changed/removed, {len(new)} unrecorded")
    return 1 if changed or new else 0


if __name__ == "__main__":
    sys.exit(main())
