#!/usr/bin/env python3
"""The result cache, side by side: ``probe --images-from`` of 10 images run twice in a row on one cache
directory, then once more after one image is rebuilt with one more file, then a baseline gate on a
fresh and on a cached run.

The 10 images are built here from the samples' static-busybox base (``ecs5probe/busybox``: run
``ecs5probe demo --only 01`` once first), each with a file of its own, so each has its own ID; no
registry is needed. They are removed at the end (``--keep`` keeps them).

Usage: benchmarks/bench_cache.py [--jobs N] [--keep]
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import docker

BASE = "ecs5probe/busybox:latest"
N = 10
PREFIX = "ecs5probe-bench/cache-"

# A service that writes its pid file to /run and (every other image) a cache file, healthy once written,
# and stops at once on SIGTERM.
DOCKERFILE = """FROM {base}
RUN echo {marker} > /bench-id{more}
HEALTHCHECK --interval=1s CMD test -s /run/app.pid
CMD ["sh", "-c", "echo $$ > /run/app.pid || exit 1; {cache}trap 'exit 0' TERM; while :; do sleep 1 & wait $!; done"]
"""


def build(client: docker.DockerClient, i: int, more: bool = False) -> str:
    cache = "mkdir -p /var/cache/app && echo x > /var/cache/app/state || exit 1; " if i % 2 else ""
    text = DOCKERFILE.format(
        base=BASE, marker=f"image-{i}", more="\nRUN echo one more file > /bench-more" if more else "", cache=cache
    )
    img, _ = client.images.build(fileobj=io.BytesIO(text.encode()), tag=f"{PREFIX}{i}:latest", rm=True, forcerm=True)
    return str(img.id)


def probe(args: list[str], jobs: int) -> tuple[float, int, list[dict]]:
    """``ecs5probe probe ARGS`` as CI runs it (a new process): seconds, exit code, the JSON results."""
    t0 = time.monotonic()
    r = subprocess.run(
        [sys.executable, "-m", "ecs5probe", "probe", "-q", "--jobs", str(jobs), "--format", "json", *args],
        capture_output=True,
        text=True,
        check=False,
    )
    took = time.monotonic() - t0
    if r.returncode not in (0, 1):
        raise SystemExit(f"probe failed ({r.returncode}): {r.stderr[-2000:]}")
    doc = json.loads(r.stdout)
    return took, r.returncode, doc if isinstance(doc, list) else [doc]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--keep", action="store_true", help="Keep the 10 images.")
    args = ap.parse_args()
    client = docker.from_env()
    made = [build(client, i) for i in range(N)]
    images = [f"{PREFIX}{i}:latest" for i in range(N)]
    try:
        with tempfile.TemporaryDirectory(prefix="ecs5probe-bench-cache-") as tmp:
            t = Path(tmp)
            (t / "images.txt").write_text("\n".join(images) + "\n")
            common = ["--images-from", str(t / "images.txt"), "--cache-dir", str(t / "cache")]
            first, rc1, r1 = probe([*common, "--baseline", str(t / "base.json"), "--update-baseline"], args.jobs)
            second, rc2, r2 = probe(common, args.jobs)
            assert rc1 == rc2 == 0 and all(r["verified"] for r in r1), [r["reason"] for r in r1]
            assert not any("cached" in r for r in r1) and all("cached" in r for r in r2)
            assert [r["mounts"] for r in r1] == [r["mounts"] for r in r2]
            print(f"| 1st run, {N} images, empty cache | {first:.2f} s | {len(r1)} probed |")
            print(f"| 2nd run, same images | {second:.2f} s | {sum('cached' in r for r in r2)} cached |")
            print(f"\nsecond / first: {second / first:.1%} (target: under 5%)")

            made.append(build(client, 3, more=True))  # image 3 rebuilt with one more file
            third, _, r3 = probe(common, args.jobs)
            probed = [r["image"] for r in r3 if "cached" not in r]
            assert probed == [f"{PREFIX}3:latest"], probed
            print(f"| 3rd run, image 3 rebuilt with one more file | {third:.2f} s | re-probed: {', '.join(probed)} |")

            # the gate: a baseline that lacks image 1's /var/cache/app; fresh and cached must agree
            base = json.loads((t / "base.json").read_text())
            base["images"][f"{PREFIX}1:latest"] = [p for p in base["images"][f"{PREFIX}1:latest"] if "cache" not in p]
            (t / "gate.json").write_text(json.dumps(base))
            gate = [f"{PREFIX}1:latest", f"{PREFIX}2:latest", "--baseline", str(t / "gate.json")]
            _, fresh_rc, _ = probe([*gate, "--no-cache"], args.jobs)
            _, cached_rc, rg = probe([*gate, "--cache-dir", str(t / "cache")], args.jobs)
            full = [f"{PREFIX}1:latest", f"{PREFIX}2:latest", "--baseline", str(t / "base.json")]
            _, fresh_ok, _ = probe([*full, "--no-cache"], args.jobs)
            _, cached_ok, _ = probe([*full, "--cache-dir", str(t / "cache")], args.jobs)
            assert all("cached" in r for r in rg)
            print(f"\nbaseline gate, a path missing: fresh exit {fresh_rc}, cached exit {cached_rc}")
            print(f"baseline gate, the full baseline: fresh exit {fresh_ok}, cached exit {cached_ok}")
            assert (fresh_rc, fresh_ok) == (cached_rc, cached_ok) == (1, 0)
    finally:
        if not args.keep:
            for image_id in reversed(made):
                try:
                    client.images.remove(image_id, force=True)
                except docker.errors.APIError:
                    pass


if __name__ == "__main__":
    main()
