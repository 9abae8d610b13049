"""CI mode on real containers: --jobs 1 and --jobs 4 agree; an interrupted parallel run leaves nothing."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest

from ecs5probe.runtime.args import PID_LABEL, SESSION_LABEL

pytestmark = pytest.mark.integration


def _essence(doc: dict) -> tuple:
    """What a result says, without run-specific text (pids, temp names, timings)."""
    mounts = sorted((m["containerPath"], m["kind"], tuple(m["mountOptions"]), m["required"]) for m in doc["mounts"])
    return doc["verified"], mounts


def test_jobs_1_and_jobs_4_give_identical_results(built_samples, tmp_path) -> None:
    images = [s.tag for s in built_samples.values() if not s.options]  # samples that need no options
    assert len(images) >= 10
    # Both at once (two processes, each --no-cache: neither reuses the other's results); one after
    # the other they were the suite's longest test.
    procs = {
        jobs: subprocess.Popen(
            [sys.executable, "-m", "ecs5probe", "probe", *images, "--jobs", jobs, "--format", "json", "-q"]
            # settle 2 s, not 3: most samples have no health check; each writes at once, at its stop,
            # or after output that is never quiet for a second (19-slow-start)
            + ["--settle", "2", "--no-cache", "--report", f"junit={tmp_path / f'j{jobs}.xml'}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for jobs in ("1", "4")
    }
    out = {}
    try:
        for jobs, proc in procs.items():
            stdout, stderr = proc.communicate(timeout=900)
            assert proc.returncode == 0, stderr[-2000:]
            out[jobs] = {d["image"]: _essence(d) for d in json.loads(stdout)}
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)  # its own clean-up, as a user's Ctrl-C
                proc.communicate(timeout=120)
    assert list(out["1"]) == images  # results in the order given
    assert out["1"] == out["4"]


def test_interrupted_parallel_run_leaves_nothing(built_samples, docker_client) -> None:
    images = [built_samples[n].tag for n in ("02-tmp-mktemp", "03-pidfile", "06-three-paths", "09-volume")]
    proc = subprocess.Popen(
        [sys.executable, "-m", "ecs5probe", "probe", *images, "--jobs", "4", "-q"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    session, deadline = None, time.monotonic() + 60
    while time.monotonic() < deadline:
        mine = [
            c
            for c in docker_client.api.containers(filters={"label": SESSION_LABEL})
            if c["Labels"].get(PID_LABEL) == str(proc.pid)
        ]
        if len(mine) >= 2:  # several probes under way at once
            session = mine[0]["Labels"][SESSION_LABEL]
            break
        time.sleep(0.1)
    assert session, "the parallel probe never had two containers running"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    flt = {"label": f"{SESSION_LABEL}={session}"}
    assert docker_client.api.containers(all=True, filters=flt) == []
    assert (docker_client.api.volumes(filters=flt).get("Volumes") or []) == []
