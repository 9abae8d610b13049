"""`ecs5probe fix` end to end: a task definition whose images are samples, fixed, then run independently."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.conftest import TEST_SESSION
from tests.integration.independent import apply

pytestmark = pytest.mark.integration

DATA = Path(__file__).resolve().parents[1] / "data" / "taskdefs"
NGINX = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/web:1.4"


def _fragment(container: dict, volumes: list[dict]) -> dict:
    """The fixed container's own mounts, in the shape the independent checker applies."""
    keep = {k: container[k] for k in ("linuxParameters", "mountPoints") if k in container}
    return {"containerDefinition": keep, "volumes": volumes}


def test_fix_a_task_definition_of_sample_images(built_samples, docker_client, tmp_path) -> None:
    out = tmp_path / "fixed.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "ecs5probe",
            "fix",
            str(DATA / "web-describe.json"),
            "-o",
            str(out),
            "-q",
            "--image",
            f"{NGINX}={built_samples['12-nginx'].tag}",
            "--image",
            f"sidecar:2={built_samples['03-pidfile'].tag}",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    fixed = json.loads(out.read_text())
    assert "taskDefinitionArn" not in fixed and "revision" not in fixed
    nginx, side = fixed["containerDefinitions"]
    assert nginx["readonlyRootFilesystem"] is True and side["readonlyRootFilesystem"] is True
    assert sorted(t["containerPath"] for t in nginx["linuxParameters"]["tmpfs"]) == [
        "/run",
        "/var/lib/nginx",
        "/var/log/nginx",
    ]
    assert [t["containerPath"] for t in side["linuxParameters"]["tmpfs"]] == ["/run"]
    assert "2026-01-06" in proc.stderr  # Fargate tmpfs note (requiresCompatibilities FARGATE)
    # each container, run read-only with exactly its fixed mounts, is ready and stops like a writable run
    for container, tag in ((nginx, built_samples["12-nginx"].tag), (side, built_samples["03-pidfile"].tag)):
        writable = apply(docker_client, tag, None, TEST_SESSION, read_only=False)
        ok = apply(docker_client, tag, _fragment(container, fixed.get("volumes", [])), TEST_SESSION)
        assert ok.ready, (container["name"], ok.detail)
        assert ok.stop_exit == writable.stop_exit


def test_fix_unknown_image_is_exit_2_and_writes_nothing(tmp_path) -> None:
    out = tmp_path / "fixed.json"
    base = [sys.executable, "-m", "ecs5probe", "fix", str(DATA / "web-describe.json"), "-o", str(out)]
    proc = subprocess.run([*base, "--pull", "never"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "is not local" in proc.stderr and "Traceback" not in proc.stderr
    assert not out.exists()
    # pulled by default: no registry is reachable here, and the line says so, and how to map it instead
    proc = subprocess.run(base, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "from 123456789012.dkr.ecr.eu-west-1.amazonaws.com: registry unreachable" in proc.stderr
    assert "--image 123456789012.dkr.ecr.eu-west-1.amazonaws.com/web:1.4=LOCAL:TAG" in proc.stderr
    assert not out.exists()
