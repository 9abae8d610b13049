#!/usr/bin/env python3
"""Where one probe's time goes: every Docker API request and every runtime call, on a timeline.

Prints, per thread, each request to the daemon (method, path, seconds) and each call of the runtime's
methods, in milliseconds from the probe's start, then the probe's runs. For finding what a probe waits
on besides its runs: the ratios are in bench_real.py.

Usage: benchmarks/timeline.py IMAGE [--jobs N] [--min-ms MS]
"""

from __future__ import annotations

import argparse
import functools
import threading
import time
from typing import Any

import requests

from ecs5probe import ProbeOptions, probe
from ecs5probe.runtime.docker import DockerRuntime

T0 = time.monotonic()
EVENTS: list[tuple[float, float, str, str]] = []  # start, end, thread, what
LOCK = threading.Lock()


def _record(start: float, what: str) -> None:
    with LOCK:
        EVENTS.append((start - T0, time.monotonic() - T0, threading.current_thread().name, what))


def _wrap_requests() -> None:
    original = requests.Session.request

    @functools.wraps(original)
    def request(self: requests.Session, method: str, url: str, *a: Any, **k: Any) -> Any:
        t = time.monotonic()
        try:
            return original(self, method, url, *a, **k)
        finally:
            path = url.split("docker.sock", 1)[-1].split("localhost", 1)[-1]
            _record(t, f"  {method} {path[:90]}")

    requests.Session.request = request  # type: ignore[method-assign]


def _wrap_runtime() -> None:
    for name in ("inspect", "tracer", "facts", "prepare", "run", "diff", "written", "discard", "close"):
        original = getattr(DockerRuntime, name)

        def make(original: Any, name: str) -> Any:
            @functools.wraps(original)
            def call(self: DockerRuntime, *a: Any, **k: Any) -> Any:
                t = time.monotonic()
                try:
                    return original(self, *a, **k)
                finally:
                    purpose = getattr(a[0], "purpose", "") if a else ""
                    _record(t, f"{name} {purpose}".rstrip())

            return call

        setattr(DockerRuntime, name, make(original, name))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("image")
    ap.add_argument("--jobs", type=int, default=None)
    ap.add_argument("--min-ms", type=float, default=20.0, help="leave out requests shorter than this")
    args = ap.parse_args()
    _wrap_requests()
    _wrap_runtime()
    global T0
    T0 = time.monotonic()
    kw = {"jobs": args.jobs} if args.jobs else {}
    result = probe(args.image, ProbeOptions(cache_dir=None, **kw))
    total = time.monotonic() - T0
    names: dict[str, int] = {}
    for start, end, thread, what in sorted(EVENTS):
        if what.startswith("  ") and (end - start) * 1000 < args.min_ms:
            continue
        n = names.setdefault(thread, len(names))
        print(f"{start * 1000:7.0f} {end * 1000:7.0f} {(end - start) * 1000:6.0f}ms  t{n:<2} {what}")
    print(f"\nprobe {total:.2f}s, verified {result.verified}, {len(result.runs)} runs:")
    for r in result.runs:
        print(f"  {r.purpose}: {'pass' if r.passed else 'fail'} {r.duration_seconds:.2f}s")


if __name__ == "__main__":
    main()
