"""ecs5probe's own container image (the Dockerfile): built here from the local Debian base, it probes a
sample through the host's Docker socket and scans a mounted directory, as its README lines say."""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from ecs5probe.app import samples as sm
from ecs5probe.runtime.args import HOST_LABEL, SESSION_LABEL

# One xdist worker for the module (`--dist loadgroup`): each worker that met one of its tests built the
# image again (95 s each, side by side).
pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("container-image")]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def self_image(built_samples, docker_client, tmp_path_factory):
    """The Dockerfile built on the Debian base the samples use (no registry here), trusting this
    machine's own extra certificate authorities (its egress inspects TLS) as container/ca/ lets a user's
    proxy be trusted; removed after."""
    ctx = tmp_path_factory.mktemp("self-image")
    for f in ("Dockerfile", ".dockerignore", "pyproject.toml", "constraints.txt", "README.md"):
        shutil.copy(ROOT / f, ctx / f)
    for d in ("ecs5probe", "sample_images", "container"):
        shutil.copytree(ROOT / d, ctx / d, ignore=shutil.ignore_patterns("__pycache__"))
    for crt in Path("/usr/local/share/ca-certificates").glob("*.crt"):
        shutil.copy(crt, ctx / "container" / "ca" / crt.name)
    tag = f"ecs5probe-self-test:{uuid.uuid4().hex[:8]}"
    build = subprocess.run(
        ["docker", "build", "-q", "--build-arg", f"BASE={sm.DEBIAN_BASE}", "-t", tag, str(ctx)],
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    yield tag
    subprocess.run(["docker", "rmi", "-f", tag], capture_output=True)


def _run(tag: str, *args: str, socket: bool = True, mount: Path | None = None) -> subprocess.CompletedProcess[str]:
    name = f"ecs5probe-self-{uuid.uuid4().hex[:8]}"
    # its hostname is what the probe inside labels its containers with (ecs5probe.host)
    cmd = ["docker", "run", "--rm", "--name", name, "--hostname", name, "--label", f"{SESSION_LABEL}=pytest-self"]
    if socket:
        cmd += ["-v", "/var/run/docker.sock:/var/run/docker.sock"]
    if mount is not None:
        cmd += ["-v", f"{mount}:/work:ro"]
    try:
        return subprocess.run([*cmd, tag, *args], capture_output=True, text=True, timeout=600)
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True)


def test_the_image_probes_through_the_hosts_socket_and_leaves_nothing(self_image, docker_client) -> None:
    r = _run(self_image, "probe", "ecs5probe-sample/03-pidfile", "--format", "json", "-q")
    assert r.returncode == 0, r.stderr[-3000:]
    result = json.loads(r.stdout)  # one image: one object
    assert result["verified"] and [m["containerPath"] for m in result["mounts"]] == ["/run"]
    tracer = [f["message"] for f in result["findings"] if f["kind"] == "tracer"]
    assert tracer and tracer[0].startswith("strace"), tracer  # its own strace, bundled and injected
    made = docker_client.containers.list(
        all=True, filters={"label": f"{HOST_LABEL}={r.args[r.args.index('--hostname') + 1]}"}
    )
    assert made == []  # every probe container the image made is removed


def test_the_image_scans_a_mounted_directory_without_docker(self_image) -> None:
    r = _run(self_image, "scan", "corpus", "--format", "json", socket=False, mount=ROOT / "tests" / "data" / "taskdefs")
    assert r.returncode == 1, r.stderr
    assert {row["verdict"] for row in json.loads(r.stdout)} >= {"FAILED", "PASSED"}
