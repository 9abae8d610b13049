"""Pulling from a real registry: Debian's docker-registry (distribution 2.8) with htpasswd auth on
loopback (Docker allows plain HTTP to 127.0.0.0/8). A sample is pushed, removed locally, and probed by
its registry name with the Docker client's credentials (DOCKER_CONFIG), without them, and with the
registry down."""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests

pytestmark = pytest.mark.integration

USER, PASSWORD = "ecs5", "probe-secret"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    exe, htpasswd = shutil.which("docker-registry"), shutil.which("htpasswd")
    assert exe and htpasswd, "needs Debian's docker-registry and apache2-utils (.ci/run installs them)"
    d = tmp_path_factory.mktemp("registry")
    port = _free_port()
    pw = subprocess.run([htpasswd, "-Bbn", USER, PASSWORD], capture_output=True, text=True, check=True).stdout
    (d / "htpasswd").write_text(pw)
    (d / "config.yml").write_text(
        "version: 0.1\nlog: {level: error}\n"
        f"storage: {{filesystem: {{rootdirectory: {d / 'data'}}}}}\n"
        f"http: {{addr: '127.0.0.1:{port}'}}\n"
        f"auth: {{htpasswd: {{realm: ecs5probe-test, path: {d / 'htpasswd'}}}}}\n"
    )
    proc = subprocess.Popen([exe, "serve", str(d / "config.yml")], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _ in range(100):
            try:
                if requests.get(f"http://127.0.0.1:{port}/v2/", timeout=1).status_code == 401:
                    break
            except requests.ConnectionError:
                time.sleep(0.1)
        else:
            raise AssertionError("docker-registry did not come up")
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def pushed(registry, built_samples, docker_client):
    """A sample in the registry under a new name, absent locally under that name."""
    name = f"{registry}/samples/pidfile:{uuid.uuid4().hex[:6]}"
    image = docker_client.images.get(built_samples["03-pidfile"].tag)
    image.tag(name)
    for line in docker_client.images.push(
        name, stream=True, decode=True, auth_config={"username": USER, "password": PASSWORD}
    ):
        assert "error" not in line, line
    docker_client.images.remove(name)
    yield name
    for tag in [name]:
        try:
            docker_client.images.remove(tag)
        except Exception:
            pass


def _config_dir(tmp_path: Path, registry: str | None) -> str:
    d = tmp_path / f"docker-config-{uuid.uuid4().hex[:4]}"
    d.mkdir()
    auths = {}
    if registry:
        auths[registry] = {"auth": base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()}
    (d / "config.json").write_text(json.dumps({"auths": auths}))
    return str(d)


def _probe(image: str, config: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ecs5probe", "probe", image, "--format", "json", *extra],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "DOCKER_CONFIG": config},
    )


def test_pull_with_the_clients_credentials_then_probe(pushed, registry, docker_client, tmp_path) -> None:
    never = _probe(pushed, _config_dir(tmp_path, registry), "--pull", "never")
    assert never.returncode == 2 and "--pull never" in never.stderr and "Traceback" not in never.stderr
    denied = _probe(pushed, _config_dir(tmp_path, None))
    assert denied.returncode == 2 and "Traceback" not in denied.stderr
    assert f"cannot pull {pushed} from {registry}: access denied" in denied.stderr, denied.stderr
    ok = _probe(pushed, _config_dir(tmp_path, registry))
    assert ok.returncode == 0, ok.stderr
    assert f"pulling {pushed} from {registry}" in ok.stderr
    result = json.loads(ok.stdout)
    assert result["verified"] is True and [m["containerPath"] for m in result["mounts"]] == ["/run"]
    assert docker_client.images.get(pushed)  # it is local now
    docker_client.images.remove(pushed)


def test_unknown_image_and_registry_down(pushed, registry, tmp_path) -> None:
    missing = _probe(f"{registry}/samples/none:1", _config_dir(tmp_path, registry))
    assert missing.returncode == 2 and "no such image there" in missing.stderr, missing.stderr
    down = f"127.0.0.1:{_free_port()}"
    gone = _probe(f"{down}/samples/pidfile:1", _config_dir(tmp_path, down))
    assert gone.returncode == 2 and f"from {down}: registry unreachable" in gone.stderr, gone.stderr
    lines = [ln for ln in gone.stderr.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in gone.stderr
