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


def _cli(*args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ecs5probe", *args], capture_output=True, text=True, timeout=timeout)


def _essence(doc: dict) -> tuple:
    """What a result says, without run-specific text (pids, temp names, timings)."""
    mounts = sorted((m["containerPath"], m["kind"], tuple(m["mountOptions"]), m["required"]) for m in doc["mounts"])
    return doc["verified"], mounts


def test_jobs_1_and_jobs_4_give_identical_results(built_samples, tmp_path) -> None:
    images = [s.tag for s in built_samples.values() if not s.options]  # samples that need no options
    assert len(images) >= 10
    out = {}
    for jobs in ("1", "4"):
        report = f"junit={tmp_path / f'j{jobs}.xml'}"  # both probed (--no-cache): not the first's results again
        proc = _cli("probe", *images, "--jobs", jobs, "--format", "json", "-q", "--no-cache", "--report", report)
        assert proc.returncode == 0, proc.stderr[-2000:]
        out[jobs] = {d["image"]: _essence(d) for d in json.loads(proc.stdout)}
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
