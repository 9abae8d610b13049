"""strace inside real images: no libc, busybox, Debian; shell and exec forms; non-root; stop and exit codes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ecs5probe import ProbeOptions, probe
from ecs5probe.app.samples import find_static_busybox
from ecs5probe.core.ports import RunSpec
from ecs5probe.core.strace import parse_trace
from ecs5probe.runtime import layerdiff as layer
from ecs5probe.runtime.docker import DockerRuntime, build_image

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def rt(built_samples):
    runtime = DockerRuntime()
    ok, how = runtime.tracer()
    assert ok, how
    yield runtime
    runtime.close()


def _image(rt: DockerRuntime, tmp: Path, tag: str, dockerfile: str, busybox: bool = False) -> str:
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "Dockerfile").write_text(dockerfile)
    if busybox:
        shutil.copy(find_static_busybox(), tmp / "busybox")
        (tmp / "t").mkdir()
    build_image(rt, str(tmp), tag)
    return tag


JOB = "echo x > /var/lib/t/out; exit 7"


@pytest.mark.parametrize(
    ("kind", "dockerfile", "busybox"),
    [
        # a single static binary in an otherwise empty image: no libc, no /bin/sh, exec form
        (
            "scratch",
            'FROM scratch\nCOPY busybox /busybox\nCOPY t /var/lib/t\nCMD ["/busybox", "sh", "-c", "' + JOB + '"]\n',
            True,
        ),
        # busybox, shell form (Docker wraps it in /bin/sh -c)
        ("busybox-shell-form", "FROM ecs5probe/busybox\nRUN mkdir -p /var/lib/t\nCMD " + JOB + "\n", False),
        # busybox, exec form, non-root USER
        (
            "busybox-non-root",
            'FROM ecs5probe/busybox\nRUN mkdir -p /var/lib/t\nUSER app\nCMD ["sh", "-c", "' + JOB + '"]\n',
            False,
        ),
        # Debian (glibc), ENTRYPOINT + CMD, WORKDIR, ENV
        (
            "debian-entrypoint",
            "FROM ecs5probe/debian:bookworm\nRUN mkdir -p /var/lib/t\nWORKDIR /var/lib\nENV OUT=t/out\n"
            'ENTRYPOINT ["bash", "-c"]\nCMD ["echo x > $OUT; exit 7"]\n',
            False,
        ),
    ],
)
def test_strace_wraps_the_image_start_exactly(rt, tmp_path, kind, dockerfile, busybox) -> None:
    tag = _image(rt, tmp_path / kind, f"ecs5probe-test/tracer-{kind}:latest", dockerfile, busybox)
    out = rt.run(RunSpec(image=tag, purpose="test", read_only=True, mode="job", timeout=30, trace=True))
    assert out.traced
    assert out.exit_code == 7, out.logs  # the app's exit code passes through strace and init
    writes = parse_trace(out.trace.splitlines())
    assert any(w.path == "/var/lib/t/out" and w.errno == "EROFS" for w in writes), out.trace[-500:]
    assert "openat" not in out.logs  # the trace is kept apart from the app's own output


def test_graceful_stop_reaches_the_traced_app(rt, built_samples) -> None:
    tag = built_samples["11-sigterm-state"].tag
    writable = rt.run(RunSpec(image=tag, purpose="t", read_only=False, settle=1, trace=True, trace_successes=True))
    assert writable.stop_exit_code == 0
    assert any(w.path == "/var/lib/app11/state" for w in parse_trace(writable.trace.splitlines(), True))
    ro = rt.run(RunSpec(image=tag, purpose="t", read_only=True, settle=1, trace=True))
    assert ro.stop_exit_code == 1  # its SIGTERM handler ran, failed to save, and said so with exit 1
    assert any(w.path == "/var/lib/app11/state" and w.errno == "EROFS" for w in parse_trace(ro.trace.splitlines()))


def test_silent_failure_found_by_strace_missed_by_logs_and_by_dockers_diff(built_samples, docker_client) -> None:
    """A lock file made and removed, no message: logs miss it; Docker's own diff misses it (the directory
    is as it was); the container's layer keeps the directory it wrote into (read where Docker's diff is
    naive, as on fuse-overlayfs); strace sees the refused openat()."""
    tag = built_samples["13-silent"].tag
    missed = probe(tag, ProbeOptions(tracer="logs"))
    assert not missed.verified and missed.exit_code == 1
    assert "exited 3" in missed.reason
    by_diff = probe(tag, ProbeOptions(tracer="diff"))
    if docker_client.info()["Driver"] in layer.NAIVE_DIFF_DRIVERS:
        assert by_diff.verified, by_diff.reason
        (mount,) = by_diff.required_mounts
        assert mount.container_path == "/var/lib/silent"
        assert {e.source for e in mount.evidence} == {"diff"}
    else:
        assert not by_diff.verified and "exited 3" in by_diff.reason
    found = probe(tag, ProbeOptions(tracer="strace"))
    assert found.verified
    (mount,) = found.required_mounts
    assert mount.container_path == "/var/lib/silent"
    assert {e.source for e in mount.evidence} == {"strace"}
