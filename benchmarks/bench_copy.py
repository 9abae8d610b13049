#!/usr/bin/env python3
"""Where a content copy's time goes: Docker filling a volume with an image directory, side by side.

A read-only run whose mount is a Docker volume over a directory the image ships (PostgreSQL's data
directory) starts with Docker copying that directory into the new volume, when the container is
created. Three creates of the same container, in turn, REPEAT times (medians):

- ``no copy``: the volume mounted with ``volume-nocopy`` (the cost of the create itself);
- ``copy to memory``: a tmpfs-backed local volume. Docker reads the whole directory through the
  container's root filesystem and writes it into memory (and then drops it: a tmpfs volume is
  unmounted after the create, so this is only a measure of the reading side, never a way to fill one);
- ``copy to disk``: a plain local volume, as ECS's Docker volume: the same read, written to the
  daemon's data root.

Usage: benchmarks/bench_copy.py [--repeat 7] [IMAGE PATH]
(default: ecs5probe-real/postgresql and its data directory; build it from benchmarks/servers first)
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import time

LABEL = "ecs5probe.bench=1"
KINDS = ("no copy", "copy to memory", "copy to disk")


def docker(*args: str) -> str:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=True).stdout.strip()


def one(image: str, path: str, kind: str) -> float:
    """Seconds for ``docker create`` with a fresh volume of ``kind`` at ``path``."""
    opts = ["--driver", "local", "--opt", "type=tmpfs", "--opt", "device=tmpfs"] if kind == "copy to memory" else []
    volume = docker("volume", "create", "--label", LABEL, *opts)
    mount = f"type=volume,src={volume},dst={path}" + (",volume-nocopy" if kind == "no copy" else "")
    cid = ""
    try:
        t0 = time.monotonic()
        cid = docker("create", "--label", LABEL, "--network", "none", "--mount", mount, image)
        return time.monotonic() - t0
    finally:
        if cid:
            docker("rm", cid)
        docker("volume", "rm", volume)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("image", nargs="?", default="ecs5probe-real/postgresql")
    ap.add_argument("path", nargs="?", default="/var/lib/postgresql/15/main")
    args = ap.parse_args()
    size = docker("run", "--rm", "--network", "none", "--entrypoint", "du", args.image, "-sk", args.path).split()[0]
    files = docker("run", "--rm", "--network", "none", "--entrypoint", "find", args.image, args.path)
    print(f"{args.image} {args.path}: {int(size) / 1024:.0f} MiB, {len(files.splitlines())} entries")
    times: dict[str, list[float]] = {k: [] for k in KINDS}
    for _ in range(args.repeat):
        for kind in KINDS:  # in turn: this machine's speed drifts within minutes
            times[kind].append(one(args.image, args.path, kind))
    base = statistics.median(times["no copy"])
    for kind in KINDS:
        med = statistics.median(times[kind])
        spread = f"{min(times[kind]):.2f}-{max(times[kind]):.2f}"
        extra = "" if kind == "no copy" else f"  (+{med - base:.2f} s over the create)"
        print(f"{kind:15} median {med:.2f} s  range {spread} s{extra}")


if __name__ == "__main__":
    main()
