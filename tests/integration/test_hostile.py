"""Hostile images: floods, big writes, names that break formats, limits, broken images. The probe keeps
working, keeps its memory bounded, protects the host, and leaves nothing behind."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from ecs5probe import ProbeOptions, probe
from ecs5probe.runtime.args import PID_LABEL, SESSION_LABEL
from ecs5probe.runtime.docker import DockerRuntime, build_image
from tests.formats import check_every_format

pytestmark = pytest.mark.integration

IMAGES = Path(__file__).parent / "images"


@pytest.fixture(scope="module")
def hostile(built_samples) -> dict[str, str]:
    """Build every hostile test image once (FROM the busybox base the samples built)."""
    rt = DockerRuntime()
    try:
        tags = {}
        for d in sorted(IMAGES.iterdir()):
            tag = f"ecs5probe-test/{d.name}:latest"
            build_image(rt, str(d), tag)
            tags[d.name] = tag
        return tags
    finally:
        rt.close()


def _leftovers(docker_client) -> int:
    """What this test process's probes left (other test processes may be probing beside it)."""
    flt = {"label": [SESSION_LABEL, f"{PID_LABEL}={os.getpid()}"]}
    mine = [
        c
        for c in docker_client.containers.list(all=True, filters=flt)
        if not c.labels.get(SESSION_LABEL, "").startswith("pytest-")
    ]
    return len(mine) + len(docker_client.volumes.list(filters=flt))


def test_every_probe_container_is_fenced_in(hostile, docker_client) -> None:
    """Checked with docker inspect mid-run: pids, memory and CPU limits, no-new-privileges, not privileged."""
    seen: list[dict] = []
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            for c in docker_client.api.containers(filters={"label": SESSION_LABEL, "status": "running"}):
                if c["Image"].startswith(hostile["never-healthy"].split(":")[0]):
                    seen.append(docker_client.api.inspect_container(c["Id"])["HostConfig"])
            time.sleep(0.2)

    t = threading.Thread(target=watch, daemon=True)
    t.start()
    try:
        result = probe(hostile["never-healthy"], ProbeOptions(timeout=4, tracer="no-strace"))
    finally:
        done.set()
        t.join()
    assert not result.verified
    assert seen, "no probe container was seen running"
    host = seen[0]
    assert host["PidsLimit"] == 4096
    assert host["Memory"] == 2048 * 1024 * 1024 and host["MemorySwap"] == host["Memory"]
    assert host["NanoCpus"] == (os.cpu_count() or 1) * 10**9
    assert "no-new-privileges" in (host["SecurityOpt"] or [])
    assert host["Privileged"] is False and not host["CapAdd"]


def test_fork_bomb_meets_the_pids_limit_and_says_so(hostile) -> None:
    result = probe(hostile["forkbomb"], ProbeOptions(pids_limit=64, settle=1, tracer="no-strace"))
    assert not result.verified
    limit = [f for f in result.findings if f.kind == "limit"]
    assert limit and "pids limit (64)" in limit[0].message
    assert "pids limit reached" in result.reason


def test_memory_hog_is_oom_killed_and_says_so(hostile) -> None:
    result = probe(hostile["memhog"], ProbeOptions(memory_mib=64, settle=1, tracer="no-strace"))
    assert not result.verified
    assert "OOM-killed" in result.reason
    assert any(f.kind == "limit" and "memory limit (64 MiB)" in f.message for f in result.findings)


def test_log_flood_keeps_memory_bounded_and_ignores_false_claims(hostile, docker_client, tmp_path) -> None:
    out = tmp_path / "flood.json"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ecs5probe",
            "probe",
            hostile["flood"],
            "--timeout",
            "300",
            "-q",
            "--report",
            f"json={out}",
            "--format",
            "mounts",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    peak_mib = usage.ru_maxrss / 1024
    print(f"ecs5probe peak RSS under a 150 MB log flood: {peak_mib:.0f} MiB")
    report = out.read_text() if out.exists() else ""
    assert proc.returncode == 0, stderr + report
    assert peak_mib < 300
    doc = json.loads(out.read_text())[0] if out.read_text().lstrip().startswith("[") else json.loads(out.read_text())
    assert [m["containerPath"] for m in doc["mounts"]] == ["/var/lib/flood"]
    assert _leftovers(docker_client) == 0


def test_big_write_gets_a_mount_that_holds_it(hostile) -> None:
    result = probe(hostile["bigwrite"], ProbeOptions(tracer="no-strace"))
    assert result.verified, result.reason
    [m] = result.mounts
    assert m.container_path == "/var/lib/big" and m.required
    assert m.kind == "tmpfs" and m.size_mib >= 300


def test_hostile_names_survive_every_format(hostile, docker_client) -> None:
    result = probe(hostile["names"])
    assert result.verified, result.reason
    names = ["pipe|dir", "dollar${HOME}", "pct%{x}", "back`tick", "quo\"te's", "sp ace", "ünï", "new\nline"]
    want = sorted([f"/srv/h/{n}" for n in names] + ["/srv/h/done"])
    assert sorted(m.container_path for m in result.required_mounts) == want
    check_every_format(result)
    assert _leftovers(docker_client) == 0


@pytest.mark.parametrize(
    "name, why",
    [
        ("never-healthy", "unhealthy"),
        ("exits-at-once", "exited 3 before it was ready; its last output: 'fatal: no configuration'"),
        ("health-hangs", "not healthy within 8s"),
        ("no-entrypoint", "No such file or directory"),
    ],
)
def test_broken_images_get_a_clear_verdict_and_leave_nothing(hostile, docker_client, name, why) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "ecs5probe",
            "probe",
            hostile[name],
            "--timeout",
            "8",
            "--start-period",
            "0",
            "--format",
            "json",
            "-q",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    doc = json.loads(proc.stdout)
    doc = doc[0] if isinstance(doc, list) else doc
    assert "fails even with a writable root filesystem" in doc["reason"] and why in doc["reason"], doc["reason"]
    assert _leftovers(docker_client) == 0
