#!/usr/bin/env python3
"""Probe cost vs. a bare run, for synthetic images that die on the first EROFS and write to N dirs.

Measured side by side in one run (timings on a shared 2-core machine are noisy: read the ratios).
Usage: python benchmarks/bench_probe.py [--n 1,2,4,8,16] [--repeat 3] [--jobs N]   (prints a Markdown table)
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import docker

from ecs5probe import ProbeOptions, probe
from ecs5probe.app.samples import BUSYBOX_BASE, build_samples, load_samples
from ecs5probe.runtime.docker import DockerRuntime, build_image


def synthetic(rt: DockerRuntime, n: int) -> str:
    tag = f"ecs5probe-bench/dirs-{n}:latest"
    dirs = [f"/var/lib/bench{i}" for i in range(n)]
    writes = "; ".join(f"echo x > {d}/data || exit 1" for d in dirs)
    dockerfile = f"""FROM {BUSYBOX_BASE}
RUN mkdir -p {" ".join(dirs)}
HEALTHCHECK --interval=1s CMD true
CMD ["sh", "-c", "{writes}; trap 'exit 0' TERM; while :; do sleep 0.2; done"]
"""
    with tempfile.TemporaryDirectory() as ctx:
        (Path(ctx) / "Dockerfile").write_text(dockerfile)
        build_image(rt, ctx, tag)
    return tag


def bare_run(client: docker.DockerClient, tag: str) -> float:
    """create + start + healthy + stop + remove with the SDK: what any run costs at least."""
    t0 = time.monotonic()
    c = client.containers.create(
        tag,
        detach=True,
        network_mode="none",
        labels={"ecs5probe.session": "bench"},
        healthcheck={"test": ["CMD", "true"], "interval": 500_000_000},
    )
    try:
        c.start()
        while True:
            c.reload()
            if (c.attrs["State"].get("Health") or {}).get("Status") == "healthy":
                break
            time.sleep(0.1)
        c.kill(signal="SIGTERM")
        c.wait(timeout=30)
    finally:
        c.remove(force=True)
    return time.monotonic() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", default="1,2,4,8,16")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    client = docker.from_env()
    rt = DockerRuntime()
    try:
        build_samples(
            [s for s in load_samples() if s.base == "busybox"][:1],
            lambda c, t: build_image(rt, c, t),
            lambda t: bool(client.images.list(name=t)),
        )
        rows = []
        for n in [int(x) for x in args.n.split(",")]:
            tag = synthetic(rt, n)
            bare, fast, full, runs_fast, runs_full = [], [], [], 0, 0
            for _ in range(args.repeat):
                bare.append(bare_run(client, tag))
                r = probe(tag, ProbeOptions(minimise=False, jobs=args.jobs))
                assert r.verified and len(r.required_mounts) == n, r.reason
                fast.append(r.duration_seconds)
                runs_fast = len(r.runs)
                r = probe(tag, ProbeOptions(jobs=args.jobs))
                assert r.verified and len(r.required_mounts) == n, r.reason
                full.append(r.duration_seconds)
                runs_full = len(r.runs)
            b, f, u = statistics.median(bare), statistics.median(fast), statistics.median(full)
            rows.append((n, runs_fast, runs_full, b, f, f / b, u, u - f))
    finally:
        rt.close()
    print(
        "| N dirs | runs (no ablation) | runs (with ablation) | bare run s | probe s (no ablation) | ratio to bare "
        "| probe s (with ablation) | ablation s |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n, rf, ru, b, f, ratio, u, ab in rows:
        print(f"| {n} | {rf} | {ru} | {b:.2f} | {f:.2f} | {ratio:.2f}x | {u:.2f} | {ab:.2f} |")


if __name__ == "__main__":
    main()
