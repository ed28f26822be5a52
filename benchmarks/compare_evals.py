"""Are two evaluation reports the same, episode by episode? For a redesign that must not change
behaviour: evaluate with the code before and after (two checkouts), then compare the JSON files.

    python benchmarks/compare_evals.py BEFORE.json AFTER.json [BEFORE2.json AFTER2.json ...]

Works on what ``sim2real eval nav|quad|manip --out`` writes. Every number, flag and trajectory is
compared exactly; wall-clock times and file paths (where the policy or the scenarios lay) are
left out. Prints one line per pair and the first differences; exits 1 if any pair differs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

IGNORED_KEYS = ("wall_time_s", "wall_s", "policy", "scenarios", "path")
"""Keys whose values say when or where an evaluation ran, not what it measured."""


def differences(a: Any, b: Any, path: str = "", limit: int = 5) -> list[str]:
    """Up to ``limit`` dotted paths where ``a`` and ``b`` differ, with both values."""
    out: list[str] = []

    def walk(x: Any, y: Any, p: str) -> None:
        if len(out) >= limit:
            return
        if isinstance(x, dict) and isinstance(y, dict):
            for k in sorted(set(x) | set(y)):
                if k in IGNORED_KEYS:
                    continue
                if k not in x or k not in y:
                    out.append(f"{p}.{k}: only in {'after' if k in y else 'before'}")
                else:
                    walk(x[k], y[k], f"{p}.{k}")
        elif isinstance(x, list) and isinstance(y, list):
            if len(x) != len(y):
                out.append(f"{p}: {len(x)} vs {len(y)} entries")
                return
            for i, (u, v) in enumerate(zip(x, y)):
                walk(u, v, f"{p}[{i}]")
        elif x != y:
            out.append(f"{p}: {x!r} vs {y!r}")

    walk(a, b, path)
    return out


def main(argv: list[str]) -> int:
    if len(argv) < 2 or len(argv) % 2:
        print(__doc__, file=sys.stderr)
        return 2
    differ = False
    for before, after in zip(argv[::2], argv[1::2]):
        a, b = (json.loads(Path(f).read_text()) for f in (before, after))
        diff = differences(a, b)
        episodes = len(a.get("episodes", [])) if isinstance(a, dict) else 0
        if diff:
            differ = True
            print(f"DIFFER  {before} vs {after}:")
            for d in diff:
                print(f"    {d}")
        else:
            print(f"same    {before} vs {after} ({episodes} episodes, every field)")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
