"""No container or volume left behind: interrupted runs, dead sessions, `ecs5probe cleanup`."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

from ecs5probe.runtime.args import HOST_LABEL, PID_LABEL, SESSION_LABEL
from ecs5probe.runtime.docker import DockerRuntime

pytestmark = [pytest.mark.integration, pytest.mark.serial]


def _ours(client, session: str) -> list:
    flt = {"label": f"{SESSION_LABEL}={session}"}
    return client.containers.list(all=True, filters=flt) + client.volumes.list(filters=flt)


def _sessions(client) -> set[str]:
    return {c.labels[SESSION_LABEL] for c in client.containers.list(all=True, filters={"label": SESSION_LABEL})}


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_probe_leaves_nothing(built_samples, docker_client, sig) -> None:
    before = _sessions(docker_client)
    # 09-volume: every run also makes a labelled volume, so volumes are covered too
    proc = subprocess.Popen(
        [sys.executable, "-m", "ecs5probe", "probe", built_samples["09-volume"].tag, "-q"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    session = None
    deadline = time.monotonic() + 60
    while session is None and time.monotonic() < deadline:  # wait until the probe has a container running
        running = [
            c
            for c in docker_client.containers.list(filters={"label": SESSION_LABEL})
            if c.labels[SESSION_LABEL] not in before and c.labels.get(PID_LABEL) == str(proc.pid)
        ]
        session = running[0].labels[SESSION_LABEL] if running else None
        time.sleep(0.1)
    assert session, "the probe never started a container"
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert _ours(docker_client, session) == []


def test_dead_sessions_are_reaped_by_the_next_run_and_by_cleanup(docker_client, built_samples) -> None:
    import socket

    dead = {SESSION_LABEL: "deadbeef0000", PID_LABEL: "999999999", HOST_LABEL: socket.gethostname()}
    live = {SESSION_LABEL: "alive0000000", PID_LABEL: "1", HOST_LABEL: socket.gethostname()}
    tag = built_samples["01-clean"].tag
    c1 = docker_client.containers.create(tag, labels=dead)
    v1 = docker_client.volumes.create(labels=dead)
    c2 = docker_client.containers.create(tag, labels=live)
    try:
        rt = DockerRuntime()
        rt.client()  # first contact reaps dead sessions
        rt.close()
        assert _ours(docker_client, "deadbeef0000") == []
        assert [c.id for c in _ours(docker_client, "alive0000000")] == [c2.id]  # pid 1 is alive: kept
        out = subprocess.run(
            [sys.executable, "-m", "ecs5probe", "cleanup", "--all"], capture_output=True, text=True, timeout=60
        )
        assert out.returncode == 0 and "removed" in out.stdout
        assert _ours(docker_client, "alive0000000") == []
    finally:
        for obj in (c1, c2):
            try:
                obj.remove(force=True)
            except Exception:
                pass
        try:
            v1.remove(force=True)
        except Exception:
            pass
