#!/usr/bin/env python3
"""strace's overhead: probe wall time with and without the strace tracer on the same images.

Both variants run side by side in one process, alternating, so machine noise hits both alike.
Usage: python benchmarks/bench_strace.py [--repeat 3] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import statistics

from ecs5probe import ProbeOptions, probe
from ecs5probe.app.samples import build_samples, load_samples
from ecs5probe.runtime.docker import DockerRuntime, build_image, image_exists


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument(
        "--only", nargs="*", default=["03-pidfile", "06-three-paths", "11-sigterm-state", "12-nginx", "14-redis"]
    )
    args = ap.parse_args()
    samples = [s for s in load_samples() if s.name in args.only]
    rt = DockerRuntime()
    try:
        build_samples(samples, lambda c, t: build_image(rt, c, t), lambda t: image_exists(rt, t))
    finally:
        rt.close()
    print("| image | runs with strace | runs without | probe s with strace | probe s without | ratio |")
    print("|---|---:|---:|---:|---:|---:|")
    ratios = []
    for s in samples:
        times: dict[str, list[float]] = {"auto": [], "no-strace": []}
        runs: dict[str, int] = {}
        for _ in range(args.repeat):
            for tracer in times:
                r = probe(s.tag, ProbeOptions(tracer=tracer, **s.options))
                assert r.verified, (s.name, tracer, r.reason)
                times[tracer].append(r.duration_seconds)
                runs[tracer] = len(r.runs)
        a, b = statistics.median(times["auto"]), statistics.median(times["no-strace"])
        ratios.append(a / b)
        print(f"| {s.name} | {runs['auto']} | {runs['no-strace']} | {a:.2f} | {b:.2f} | {a / b:.2f}x |")
    print(f"\ngeometric mean ratio: {statistics.geometric_mean(ratios):.2f}x")


if __name__ == "__main__":
    main()
