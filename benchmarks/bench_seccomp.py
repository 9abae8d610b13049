#!/usr/bin/env python3
"""strace with and without ``--seccomp-bpf`` on real servers, side by side.

Without it the kernel stops a traced app at the entry and exit of every system call; with it, only at
the calls strace traces (writes, directory changes, forks, id changes). Both variants probe the same
images in one process, alternating, REPEAT times: the median probe time and the median of the traced
runs' times (the writable observation and the traced read-only runs), and the ratio without/with.

Usage: benchmarks/bench_seccomp.py [--repeat 5] [NAME ...]   (NAME: a folder of benchmarks/servers;
run `ecs5probe demo` once first for the Debian base)
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
from pathlib import Path

from ecs5probe import ProbeOptions, probe
from ecs5probe.runtime import bundle

HERE = Path(__file__).resolve().parent / "servers"
DEFAULT = ["postgresql", "postfix", "apache2", "mariadb", "tomcat"]
_seccomp_bpf = bundle.seccomp_bpf


def one(tag: str, seccomp: bool, exercises: tuple[str, ...]) -> tuple[float, float]:
    """(probe seconds, seconds of its traced runs)."""
    bundle.seccomp_bpf = _seccomp_bpf if seccomp else (lambda tag: False)  # read at the tracer's set-up
    try:
        r = probe(tag, ProbeOptions(exercises=exercises))
    finally:
        bundle.seccomp_bpf = _seccomp_bpf
    assert r.verified, (tag, seccomp, r.reason)
    traced = sum(x.duration_seconds for x in r.runs if x.purpose.startswith(("observe", "trace")))
    return r.duration_seconds, traced


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("names", nargs="*", default=DEFAULT)
    args = ap.parse_args()
    print("| server | probe s with | probe s without | ratio | traced runs s with | without | ratio |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name in args.names:
        tag = f"ecs5probe-real/{name}"
        subprocess.run(["docker", "build", "-q", "-t", tag, str(HERE / name)], check=True, capture_output=True)
        exercise = HERE / name / "exercise.sh"
        exercises = (exercise.read_text().strip(),) if exercise.exists() else ()
        got: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
        for _ in range(args.repeat):
            for seccomp in (True, False):
                got[seccomp].append(one(tag, seccomp, exercises))
        w = [statistics.median(x[i] for x in got[True]) for i in (0, 1)]
        wo = [statistics.median(x[i] for x in got[False]) for i in (0, 1)]
        print(
            f"| {name} | {w[0]:.2f} | {wo[0]:.2f} | {wo[0] / w[0]:.2f}x | {w[1]:.2f} | {wo[1]:.2f} | {wo[1] / w[1]:.2f}x |",
            flush=True,
        )


if __name__ == "__main__":
    main()
