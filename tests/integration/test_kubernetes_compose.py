"""Kubernetes and Compose end to end on real servers (Debian's nginx-light, and redis-server as a
non-root user): `ecs5probe fix` patches a Deployment and a Compose project whose images are those
servers; the patched Deployment runs as kubelet would (tests/integration/kubelet.py) and the patched
Compose project runs under docker-compose itself; each stays healthy read-only, does the work that
writes, and stops cleanly."""

from __future__ import annotations

import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from tests.integration.conftest import TEST_SESSION
from tests.integration.kubelet import Pod, wait_healthy

pytestmark = pytest.mark.integration

NGINX, REDIS = "registry.example/web/nginx:1.27", "registry.example/cache/redis:7"
USE = {
    "nginx": [
        "bash",
        "-c",
        "exec 3<>/dev/tcp/127.0.0.1/80 && printf 'GET / HTTP/1.0\\r\\n\\r\\n' >&3 && grep -q '200 OK' <&3 && test -s /var/log/nginx/access.log",
    ],
    "redis": ["sh", "-c", "redis-cli set k v | grep -q OK && redis-cli save | grep -q OK"],
}
DEPLOYMENT = f"""# the shop's cache and web tier
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  ports:
  - port: 80
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector:
    matchLabels: {{app: web}}
  template:
    metadata:
      labels: {{app: web}}
    spec:
      containers:
      - name: nginx
        image: {NGINX}  # pinned by CI
        ports:
        - {{name: http, containerPort: 80}}
        readinessProbe:
          httpGet: {{path: /, port: http}}
          periodSeconds: 5
      - name: redis
        image: {REDIS}
        securityContext:
          runAsUser: 101
          runAsGroup: 101
          allowPrivilegeEscalation: false
        readinessProbe:
          tcpSocket: {{port: 6379}}
"""
COMPOSE = f"""# shop
services:
  web:
    image: {NGINX}
  cache:
    image: {REDIS}
    user: redis
"""


def _fix(tmp_path: Path, src: Path, out: Path, samples: dict) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable, "-m", "ecs5probe", "fix", str(src), "-o", str(out), "-q",
            "--image", f"{NGINX}={samples['12-nginx'].tag}",
            "--image", f"{REDIS}={samples['14-redis'].tag}",
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )  # fmt: skip


def _redis_uid(docker_client, tag: str) -> str:
    return docker_client.containers.run(tag, ["id", "-u"], remove=True, network_mode="none").decode().strip()


def test_fix_a_deployment_then_run_it_as_kubelet_would(built_samples, docker_client, tmp_path) -> None:
    src = tmp_path / "web.yaml"
    uid = _redis_uid(docker_client, built_samples["14-redis"].tag)
    src.write_text(
        DEPLOYMENT.replace("runAsUser: 101", f"runAsUser: {uid}").replace("runAsGroup: 101", f"runAsGroup: {uid}")
    )
    out = tmp_path / "web.fixed.yaml"
    proc = _fix(tmp_path, src, out, built_samples)
    assert proc.returncode == 0, proc.stderr
    text = out.read_text()
    assert text.startswith("# the shop's cache and web tier") and "# pinned by CI" in text
    service, deployment = yaml.safe_load_all(text)
    assert service["kind"] == "Service"
    kubernetes_validate.validate(deployment, "1.30.0", strict=True)
    spec = deployment["spec"]["template"]["spec"]
    mounts = {c["name"]: sorted(m["mountPath"] for m in c.get("volumeMounts", [])) for c in spec["containers"]}
    assert mounts["nginx"] == ["/run", "/var/lib/nginx", "/var/log/nginx"], proc.stderr
    assert "/var/lib/redis" in mounts["redis"], proc.stderr
    assert all(c["securityContext"]["readOnlyRootFilesystem"] is True for c in spec["containers"])

    label = {"ecs5probe.session": TEST_SESSION}
    images = {NGINX: built_samples["12-nginx"].tag, REDIS: built_samples["14-redis"].tag}
    pod = Pod(docker_client, spec, label, images)
    pod.run_init_containers()
    for name in ("nginx", "redis"):
        c = pod.start(name)
        try:
            wait_healthy(c)
            r = c.exec_run(USE[name])
            assert r.exit_code == 0, (name, r.output[-500:])
            c.stop(timeout=10)
            assert c.wait(timeout=30)["StatusCode"] == 0, (name, c.logs()[-2000:])
        finally:
            c.remove(force=True)


def test_fix_a_compose_project_then_run_it_with_docker_compose(built_samples, docker_client, tmp_path) -> None:
    exe = shutil.which("docker-compose")
    assert exe, "docker-compose is needed (Debian: apt-get install docker-compose)"
    (tmp_path / "docker-compose.yml").write_text(COMPOSE)
    override = tmp_path / "docker-compose.override.yml"
    proc = _fix(tmp_path, tmp_path / "docker-compose.yml", override, built_samples)
    assert proc.returncode == 0, proc.stderr
    (tmp_path / "docker-compose.yml").write_text(
        COMPOSE.replace(NGINX, built_samples["12-nginx"].tag).replace(REDIS, built_samples["14-redis"].tag)
    )
    added = yaml.safe_load(override.read_text())
    assert added["services"]["web"]["read_only"] is True and added["services"]["cache"]["read_only"] is True
    project = f"ecs5p{uuid.uuid4().hex[:8]}"
    compose = [exe, "-p", project]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*compose, *args], cwd=tmp_path, capture_output=True, text=True, timeout=300)

    assert run("config").returncode == 0
    try:
        up = run("up", "-d")
        assert up.returncode == 0, up.stderr
        for service in ("web", "cache"):
            (cid,) = run("ps", "-q", service).stdout.split()
            c = docker_client.containers.get(cid)
            assert c.attrs["HostConfig"]["ReadonlyRootfs"] is True
            wait_healthy(c)
            r = c.exec_run(USE["nginx" if service == "web" else "redis"])
            assert r.exit_code == 0, (service, r.output[-500:])
        assert run("stop", "-t", "10").returncode == 0
        for service in ("web", "cache"):
            (cid,) = run("ps", "-q", service).stdout.split()
            c = docker_client.containers.get(cid)
            assert c.attrs["State"]["ExitCode"] == 0, (service, c.logs()[-2000:])
    finally:
        down = run("down", "-v", "--remove-orphans")
        assert down.returncode == 0, down.stderr


def test_shipped_content_is_copied_in_by_an_init_container(built_samples, docker_client, tmp_path) -> None:
    """The app reads files the image ships where it also writes: an emptyDir would hide them, so the
    patch adds an initContainer that copies them in; kubelet's order (init first) then works."""
    tag = built_samples["04-shipped-content"].tag
    src = tmp_path / "pod.yaml"
    src.write_text(
        f"apiVersion: v1\nkind: Pod\nmetadata:\n  name: shipped\nspec:\n  containers:\n  - name: app\n    image: {tag}\n"
    )
    out = tmp_path / "pod.fixed.yaml"
    proc = subprocess.run(
        [sys.executable, "-m", "ecs5probe", "fix", str(src), "-o", str(out), "-q"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    assert "initContainer copies" in proc.stderr
    pod_doc = yaml.safe_load(out.read_text())
    kubernetes_validate.validate(pod_doc, "1.30.0", strict=True)
    spec = pod_doc["spec"]
    (init,) = spec["initContainers"]
    assert init["image"] == tag and init["securityContext"]["readOnlyRootFilesystem"] is True
    assert [m["mountPath"] for m in spec["containers"][0]["volumeMounts"]] == ["/srv/data"]
    pod = Pod(docker_client, spec, {"ecs5probe.session": TEST_SESSION}, {})
    pod.run_init_containers()
    c = pod.start("app")
    try:
        wait_healthy(c)  # its health check reads the shipped file and the one it wrote
        c.stop(timeout=10)
        assert c.wait(timeout=30)["StatusCode"] == 0
    finally:
        c.remove(force=True)
