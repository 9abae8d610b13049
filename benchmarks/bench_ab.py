#!/usr/bin/env python3
"""Two versions of ecs5probe side by side: bench_real.py's ratios for commit A and commit B, in turn.

This machine's speed drifts within a day (a plain run 1.0 s in one hour, 1.3 s in the next), so a
ratio measured today is not comparable with last week's. Comparing two commits is fair only when
their benchmarks alternate in the same hour: each is checked out in a git worktree, and
``bench_real.py`` of that worktree runs with it first on ``PYTHONPATH`` (ahead of an installed
ecs5probe), A, B, A, B... Prints each round's ratio per server and the median per commit.

Usage: benchmarks/bench_ab.py A B [--rounds 3] [--repeat 5] [--idle S] [NAME ...]   (A, B: any git revision)
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def ratios(tree: Path, repeat: int, names: list[str], idle: float = 0.0) -> dict[str, float]:
    """One bench_real.py run in ``tree``: server -> ratio, from its markdown table."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    wait = ["--idle", str(idle)] if idle else []
    out = subprocess.run(
        [sys.executable, str(tree / "benchmarks" / "bench_real.py"), "--repeat", str(repeat), *wait, *names],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found = {}
    for line in out.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 6 and cells[4].endswith("x") and cells[0] != "server":
            found[cells[0]] = float(cells[4][:-1])
    return found


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--idle", type=float, default=0.0, help="bench_real.py's --idle: sync, then wait before each probe")
    ap.add_argument("names", nargs="*", default=["postgresql"])
    args = ap.parse_intermixed_args()
    with tempfile.TemporaryDirectory(prefix="ecs5probe-ab-") as tmp:
        trees = {}
        for rev in (args.a, args.b):
            tree = Path(tmp) / rev.replace("/", "_")
            subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(tree), rev], check=True)
            trees[rev] = tree
        try:
            seen: dict[str, dict[str, list[float]]] = {rev: {} for rev in trees}
            for i in range(args.rounds):
                for rev, tree in trees.items():
                    got = ratios(tree, args.repeat, args.names, args.idle)
                    for name, r in got.items():
                        seen[rev].setdefault(name, []).append(r)
                    print(f"round {i + 1} {rev}: " + ", ".join(f"{n} {r:.2f}x" for n, r in got.items()), flush=True)
        finally:
            for tree in trees.values():
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False)
    print()
    for rev, by_name in seen.items():
        print(f"{rev}: " + ", ".join(f"{n} median {statistics.median(v):.2f}x" for n, v in by_name.items()))


if __name__ == "__main__":
    main()
