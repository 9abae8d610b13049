#!/usr/bin/env python3
"""Throughput of `ecs5probe probe --jobs N` on 20 probes: wall time and images per minute vs --jobs 1.

All three runs happen in one invocation, one after the other, on the same images.
Usage: python benchmarks/bench_jobs.py [--jobs 1,2,4] [--count 20]
"""

from __future__ import annotations

import argparse
import itertools
import json
import subprocess
import sys
import time

SAMPLES = [
    "02-tmp-mktemp",
    "03-pidfile",
    "05-health-hit",
    "06-three-paths",
    "07-tolerated",
    "08-non-root",
    "09-volume",
    "11-sigterm-state",
    "12-nginx",
    "13-silent",
]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", default="1,2,4")
    ap.add_argument("--count", type=int, default=20)
    args = ap.parse_args()
    # 20 distinct image names (tags of 10 samples, each twice) so that every probe is a real one
    tags = []
    for name, n in zip(itertools.cycle(SAMPLES), range(args.count)):
        tag = f"ecs5probe-bench/jobs-{n}:latest"
        subprocess.run(["docker", "tag", f"ecs5probe-sample/{name}:latest", tag], check=True)
        tags.append(tag)
    rows = []
    try:
        for jobs in [int(j) for j in args.jobs.split(",")]:
            t0 = time.monotonic()
            proc = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "ecs5probe",
                    "probe",
                    *tags,
                    "--jobs",
                    str(jobs),
                    "-q",
                    "--settle",
                    "1",
                    "--format",
                    "json",
                ],
                capture_output=True,
                text=True,
            )
            wall = time.monotonic() - t0
            docs = json.loads(proc.stdout)
            assert proc.returncode == 0 and all(d["verified"] for d in docs), proc.stderr[-500:]
            rows.append((jobs, wall, len(docs) / wall * 60))
    finally:
        subprocess.run(["docker", "rmi", *tags], capture_output=True)
    base = rows[0][1]
    print("| --jobs | probes | wall s | images/min | throughput vs --jobs 1 |")
    print("|---:|---:|---:|---:|---:|")
    for jobs, wall, ipm in rows:
        print(f"| {jobs} | {args.count} | {wall:.1f} | {ipm:.1f} | {base / wall:.2f}x |")


if __name__ == "__main__":
    main()
