#!/usr/bin/env python3
"""A probe against one plain run, on real servers built from Debian packages, side by side.

For each server: a plain run (``docker run`` to healthy, ``docker stop``, removal) and a probe
(``ecs5probe.probe`` with the default ``--jobs``), in turn, REPEAT times; the medians and their ratio,
with the run list of the last probe. Timings are noisy on a shared machine: read the ratios.

Usage: benchmarks/bench_real.py [--repeat N] [--idle SECONDS] [NAME ...]  (NAME: a folder of
benchmarks/servers, or nginx / redis for the samples; run `ecs5probe demo` once first for the base images)

``--idle SECONDS``: ``sync`` and wait that long before each probe, as a developer's single probe
meets the daemon, rather than right after the previous probe removed its volumes. On ext4 without a
journal, inodes freed in the last 60 s (360 s while their inode table is not written back) are
stepped over one by one by every new file, so a probe that copies a data directory pays for the
volumes the probe before it removed (docs/benchmarks.md, "Why a copy's files are slow to create here").
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import time
from pathlib import Path

from ecs5probe import probe

HERE = Path(__file__).resolve().parent / "servers"
SAMPLES = {"nginx": "ecs5probe-sample/12-nginx:latest", "redis": "ecs5probe-sample/14-redis:latest"}
DEFAULT = ["nginx", "redis", "apache2", "haproxy", "postgresql"]


def image_of(name: str) -> str:
    if name in SAMPLES:
        return SAMPLES[name]
    tag = f"ecs5probe-real/{name}"
    subprocess.run(["docker", "build", "-q", "-t", tag, str(HERE / name)], check=True, capture_output=True)
    return tag


def plain_run(image: str) -> float:
    """docker run -d, wait until healthy, docker stop (the image's stop signal), remove.

    Health is checked every 0.5 s, as the probe checks it (Docker 20.10 runs the first check only
    after one interval: with the image's 5 s a plain run would look slower than it is).
    """
    t0 = time.monotonic()
    cid = subprocess.run(
        [
            "docker",
            "run",
            "-d",
            "--network",
            "none",
            "--health-interval",
            "500ms",
            "--label",
            "ecs5probe.bench=1",
            image,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    try:
        while True:
            state = json.loads(
                subprocess.run(
                    ["docker", "inspect", "--format", "{{json .State}}", cid],
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
            )
            health = (state.get("Health") or {}).get("Status")
            if health == "healthy" or state["Status"] == "exited" or time.monotonic() - t0 > 120:
                break
            time.sleep(0.1)
        subprocess.run(["docker", "stop", "-t", "10", cid], capture_output=True, check=True)
    finally:
        subprocess.run(["docker", "rm", "-f", cid], capture_output=True, check=False)
    return time.monotonic() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--idle", type=float, default=0.0, help="sync and wait this long before each probe")
    ap.add_argument("names", nargs="*", default=DEFAULT)
    args = ap.parse_args()
    rows, ratios = [], []
    for name in args.names:
        image = image_of(name)
        plain_run(image)  # warm the image's layers once
        plains, probes, runs = [], [], []
        for _ in range(args.repeat):
            plains.append(plain_run(image))
            if args.idle:
                subprocess.run(["sync"], check=False)
                time.sleep(args.idle)
            t0 = time.monotonic()
            result = probe(image)
            probes.append(time.monotonic() - t0)
            runs = [f"{r.purpose}{'' if r.passed else ' (fail)'} {r.duration_seconds:.1f}s" for r in result.runs]
            assert result.verified, (name, result.reason)
        p, b = statistics.median(probes), statistics.median(plains)
        ratios.append(p / b)
        rows.append((name, len(runs), p, b, p / b, "; ".join(runs)))
    print("| server | runs | probe s | plain run s | ratio | runs of the last probe |")
    print("|---|---:|---:|---:|---:|---|")
    for name, n, p, b, r, runs in rows:
        print(f"| {name} | {n} | {p:.2f} | {b:.2f} | {r:.2f}x | {runs} |")
    geo = math.exp(sum(math.log(r) for r in ratios) / len(ratios))
    print(f"\ngeometric mean of the ratios: {geo:.2f}x; worst: {max(ratios):.2f}x")


if __name__ == "__main__":
    main()
