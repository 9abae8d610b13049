#!/usr/bin/env python3
"""A whole deployment's probe against one plain start of that deployment, side by side.

The relay deployment of the tests (a cache, an app that waits for it, a reverse proxy, a log shipper
reading the proxy's log; tests/data/deployments/relay-task.json, an awsvpc task): a plain start as
ECS's agent would (tests/integration/ecs_task.py: every container up and healthy in dependsOn order,
then stopped and removed) and `ecs5probe fix` of the task definition, in turn, REPEAT times; the
medians and their ratio. Timings are noisy on a shared machine: read the ratio.

Usage: benchmarks/bench_deployment.py [--repeat N] [--file tests/data/deployments/relay-task.json]
(build the sample and test images first: the integration tests or `ecs5probe demo` and docker build of
tests/integration/deployments/*)
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import docker

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.integration.ecs_task import Task  # noqa: E402


def plain(client: docker.DockerClient, td: dict) -> float:
    t0 = time.monotonic()
    task = Task(client, td, {"ecs5probe.session": "bench"})
    try:
        task.up()
        task.down()
    finally:
        task.remove()
    return time.monotonic() - t0


def probe(path: Path) -> float:
    t0 = time.monotonic()
    r = subprocess.run(
        [sys.executable, "-m", "ecs5probe", "fix", str(path), "-o", "/dev/null", "-q"], capture_output=True, text=True
    )
    if r.returncode != 0:
        raise SystemExit(r.stderr[-2000:])
    return time.monotonic() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--file", type=Path, default=ROOT / "tests" / "data" / "deployments" / "relay-task.json")
    args = ap.parse_args()
    client = docker.from_env()
    td = json.loads(args.file.read_text())
    plains, probes = [], []
    for i in range(args.repeat):
        plains.append(plain(client, td))
        probes.append(probe(args.file))
        print(f"round {i + 1}: plain {plains[-1]:.1f}s, probe {probes[-1]:.1f}s", flush=True)
    p, q = statistics.median(plains), statistics.median(probes)
    print(
        f"{args.file.name}: {len(td['containerDefinitions'])} containers: plain {p:.1f}s, probe {q:.1f}s: {q / p:.2f}x"
    )


if __name__ == "__main__":
    main()
