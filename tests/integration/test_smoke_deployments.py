"""Smoke tests against whole deployments (``fix`` and ``probe FILE``): a shared namespace reached on one
address (an ECS awsvpc task), services on a network of their own each on theirs (Compose:
ECS5PROBE_HOST_<SERVICE>), run once every container is up."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.integration.services import build as services

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def upload(docker_client) -> str:
    return services.built("upload")["upload"]


def _ecs5probe(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ecs5probe", *args], capture_output=True, text=True, timeout=900)


def test_an_awsvpc_task_gets_its_upload_dir_from_a_smoke_test_on_the_tasks_address(upload, tmp_path: Path) -> None:
    td = {
        "family": "uploads",
        "networkMode": "awsvpc",
        "containerDefinitions": [
            {"name": "upload", "image": upload, "essential": True, "portMappings": [{"containerPort": 8080}]}
        ],
    }
    (tmp_path / "task.json").write_text(json.dumps(td))
    bare = _ecs5probe("probe", str(tmp_path / "task.json"), "--format", "json", "-q")
    assert bare.returncode == 0, bare.stderr[-3000:]
    doc = json.loads(bare.stdout)
    doc = doc if isinstance(doc, dict) else doc[0]
    assert doc["mounts"] == [] and [u["path"] for u in doc["unexercised"]] == ["/var/lib/uploads"]
    smoke = "curl -fsS -X POST --data-binary x http://$ECS5PROBE_HOST:8080/upload"
    r = _ecs5probe("fix", str(tmp_path / "task.json"), "-o", str(tmp_path / "fixed.json"), "-q", "--smoke", smoke)
    assert r.returncode == 0, r.stderr[-3000:]
    fixed = json.loads((tmp_path / "fixed.json").read_text())
    tmpfs = fixed["containerDefinitions"][0]["linuxParameters"]["tmpfs"]
    assert [t["containerPath"] for t in tmpfs] == ["/var/lib/uploads"]


def test_compose_services_are_reached_each_on_its_own_address(upload, tmp_path: Path) -> None:
    compose = {"services": {"files": {"image": upload, "ports": ["18080:8080"]}}}
    (tmp_path / "docker-compose.yml").write_text(yaml.safe_dump(compose))
    smoke = (
        'test -n "$ECS5PROBE_HOST_FILES" && curl -fsS -X POST --data-binary x http://$ECS5PROBE_HOST_FILES:8080/upload'
    )
    r = _ecs5probe("probe", str(tmp_path / "docker-compose.yml"), "--format", "json", "-q", "--smoke", smoke)
    assert r.returncode == 0, r.stderr[-3000:]
    doc = json.loads(r.stdout)
    doc = doc if isinstance(doc, dict) else doc[0]
    assert [m["containerPath"] for m in doc["mounts"] if m["required"]] == ["/var/lib/uploads"]
    assert doc["basis"]["smoke"] == [smoke]


def test_a_smoke_test_failing_against_the_writable_deployment_is_exit_2(upload, tmp_path: Path) -> None:
    compose = {"services": {"files": {"image": upload, "ports": ["8080"]}}}
    (tmp_path / "docker-compose.yml").write_text(yaml.safe_dump(compose))
    r = _ecs5probe(
        "probe", str(tmp_path / "docker-compose.yml"), "-q", "--smoke", "curl -fsS http://$ECS5PROBE_HOST:8080/nope"
    )
    assert r.returncode == 2, (r.returncode, r.stderr[-3000:])
    assert "your smoke test fails even writable" in r.stderr and "404" in r.stderr


@pytest.fixture(scope="module")
def sidecar(docker_client) -> str:
    return services.built("hupd")["hupd"]


@pytest.mark.parametrize("shape", ["awsvpc", "compose"])
def test_two_containers_together_the_smoke_test_runs_once_all_are_up(upload, sidecar, tmp_path: Path, shape) -> None:
    if shape == "awsvpc":
        doc = {
            "family": "uploads",
            "networkMode": "awsvpc",
            "containerDefinitions": [
                {"name": "files", "image": upload, "essential": True, "portMappings": [{"containerPort": 8080}]},
                {"name": "hupd", "image": sidecar, "essential": True},
            ],
        }
        path = tmp_path / "task.json"
        path.write_text(json.dumps(doc))
        host = "$ECS5PROBE_HOST"
    else:
        doc = {"services": {"files": {"image": upload, "ports": ["8080"]}, "hupd": {"image": sidecar}}}
        path = tmp_path / "docker-compose.yml"
        path.write_text(yaml.safe_dump(doc))
        host = "$ECS5PROBE_HOST_FILES"
    smoke = f"curl -fsS -X POST --data-binary x http://{host}:8080/upload"
    r = _ecs5probe("probe", str(path), "--format", "json", "-q", "--smoke", smoke)
    assert r.returncode == 0, r.stderr[-3000:]
    by = {d["container"]: d for d in json.loads(r.stdout)}
    assert [m["containerPath"] for m in by["files"]["mounts"] if m["required"]] == ["/var/lib/uploads"]
    assert by["hupd"]["mounts"] == [] and "/var/log/hupd" in [u["path"] for u in by["hupd"]["unexercised"]]
