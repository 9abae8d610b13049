"""Whole deployments fixed together and checked as a user would: a web app that needs its cache
before it is ready, a reverse proxy in front of it on the shared loopback (or by service name), and a
log shipper that reads the proxy's access log from the proxy's volume. Each deployment is fixed with
`ecs5probe fix`, then run by an independent runner as its platform would (ECS's agent, kubelet,
docker-compose) read-only, used through the proxy, and stopped: every container as it stops writable."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import yaml

from tests.integration.conftest import TEST_SESSION
from tests.integration.ecs_task import Task
from tests.integration.kubelet import Pod, wait_healthy

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "deployments"
IMAGES = {
    "app": "ecs5probe-test/deploy-app",
    "proxy": "ecs5probe-test/deploy-proxy",
    "shipper": "ecs5probe-test/deploy-shipper",
}


@pytest.fixture(scope="module")
def relay_images(built_samples, docker_client):
    for name, tag in IMAGES.items():
        docker_client.images.build(path=str(ROOT / "tests" / "integration" / "deployments" / name), tag=tag, rm=True)
    return IMAGES


def _fix(src: Path, out: Path) -> subprocess.CompletedProcess[str]:
    r = subprocess.run(
        [sys.executable, "-m", "ecs5probe", "fix", str(src), "-o", str(out), "-q"],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert r.returncode == 0, r.stderr[-4000:]
    assert "the whole deployment: verified together" in r.stderr, r.stderr
    return r


def _use(app, shipper) -> None:
    """A request through the proxy to the app; the shipper saw it in the proxy's access log."""
    code, body = app.exec_run(["wget", "-q", "-O", "-", "http://127.0.0.1:80/"])
    assert code == 0 and b"hello from the app" in body, body
    deadline = 50
    while b"GET / HTTP" not in shipper.logs() and deadline:
        subprocess.run(["sleep", "0.2"])
        deadline -= 1
    assert b"GET / HTTP" in shipper.logs(), shipper.logs()[-2000:]


def _run_task(docker_client, td: dict, use: bool = True) -> dict[str, int]:
    label = {"ecs5probe.session": TEST_SESSION}
    task = Task(docker_client, td, label)
    try:
        task.up()  # every container healthy (or up, without a health check)
        if use:
            _use(task.running["app"], task.running["logship"])
        return task.down()
    finally:
        task.remove()


def test_an_awsvpc_task_with_sidecars_is_fixed_together_and_runs_as_ecs_would(
    relay_images, docker_client, tmp_path
) -> None:
    src = DATA / "relay-task.json"
    _fix(src, tmp_path / "fixed.json")
    fixed = json.loads((tmp_path / "fixed.json").read_text())
    by = {c["name"]: c for c in fixed["containerDefinitions"]}
    assert all(c["readonlyRootFilesystem"] is True for c in by.values())
    # the proxy's log stays on the task volume the shipper reads: no tmpfs over it
    proxy_tmpfs = [t["containerPath"] for t in by["proxy"]["linuxParameters"]["tmpfs"]]
    assert "/var/log/nginx" not in proxy_tmpfs and by["proxy"]["mountPoints"][0]["sourceVolume"] == "proxy-logs"
    assert "linuxParameters" not in by["logship"] and "mountPoints" not in by["logship"]  # it only reads
    assert by["logship"]["volumesFrom"] == [{"sourceContainer": "proxy", "readOnly": True}]
    writable = _run_task(docker_client, json.loads(src.read_text()))
    read_only = _run_task(docker_client, fixed)
    assert read_only == writable


def test_a_pod_with_a_native_sidecar_is_fixed_together_and_runs_as_kubelet_would(
    relay_images, docker_client, tmp_path
) -> None:
    _fix(DATA / "relay-pod.yaml", tmp_path / "fixed.yaml")
    pod = yaml.safe_load((tmp_path / "fixed.yaml").read_text())
    spec = pod["spec"]
    assert all(c["securityContext"]["readOnlyRootFilesystem"] for c in spec["containers"] + spec["initContainers"])
    prepare = next(c for c in spec["initContainers"] if c["name"] == "prepare")
    assert [m["name"] for m in prepare["volumeMounts"]] == ["proxy-logs"]  # it writes only the shared emptyDir
    logship = next(c for c in spec["containers"] if c["name"] == "logship")
    assert [m["name"] for m in logship["volumeMounts"]] == ["proxy-logs"]  # only what it reads
    p = Pod(docker_client, spec, {"ecs5probe.session": TEST_SESSION}, {}, shared_network=True)
    started = []
    try:
        p.run_init_containers()
        started = [p.start(n) for n in ("app", "proxy", "logship")]
        for ctr in (*p.sidecars, *started[:2]):
            wait_healthy(ctr)
        _use(started[0], started[2])
        for ctr in reversed([*p.sidecars, *started]):
            ctr.stop(timeout=10)
            assert ctr.wait(timeout=30)["StatusCode"] in (0, 137, 143), ctr.logs()[-1000:]
    finally:
        for ctr in started:
            ctr.remove(force=True, v=True)
        p.remove()  # its emptyDirs too: nothing of the test's is left for the next test to count


def test_a_compose_project_is_fixed_together_and_runs_under_docker_compose(
    relay_images, docker_client, tmp_path
) -> None:
    fixed = tmp_path / "docker-compose.yml"
    _fix(DATA / "relay-compose.yml", fixed)
    doc = yaml.safe_load(fixed.read_text())
    assert all(s["read_only"] is True for s in doc["services"].values())
    assert "tmpfs" not in doc["services"]["logship"]
    project = f"ecs5probe-{uuid.uuid4().hex[:8]}"

    def compose(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["docker-compose", "-p", project, "-f", str(fixed), *args], capture_output=True, text=True, timeout=300
        )

    try:
        up = compose("up", "-d")
        assert up.returncode == 0, up.stderr
        ids = {s: compose("ps", "-q", s).stdout.strip() for s in ("app", "proxy", "logship")}
        for s in ("app", "proxy"):
            wait_healthy(docker_client.containers.get(ids[s]))
        app = docker_client.containers.get(ids["app"])
        code, body = app.exec_run(["wget", "-q", "-O", "-", "http://proxy:80/"])
        assert code == 0 and b"hello from the app" in body, body
        assert compose("stop", "-t", "10").returncode == 0
        for s, cid in ids.items():
            state = docker_client.containers.get(cid).attrs["State"]
            assert state["ExitCode"] in (0, 137, 143), (s, state)
    finally:
        compose("down", "-v", "-t", "1")


def test_what_a_deployment_needs_from_outside_is_named_and_can_be_attached(
    relay_images, docker_client, tmp_path
) -> None:
    """The app alone needs a cache that is not in its project: fails even writable, saying what it
    waited for; attached to a network where that cache runs (another stack's), it is fixed."""
    src = tmp_path / "docker-compose.yml"
    src.write_text(
        "services:\n  app:\n    image: ecs5probe-test/deploy-app\n    environment:\n      CACHE_HOST: cache\n"
    )
    alone = subprocess.run(
        [sys.executable, "-m", "ecs5probe", "fix", str(src), "-q", "--timeout", "8", "-o", str(tmp_path / "x.yml")],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert alone.returncode == 1, alone.stderr
    assert "waiting for the cache at cache:6379" in alone.stderr  # its last output names what it waits for
    net = docker_client.networks.create(
        f"ecs5probe-ext-{uuid.uuid4().hex[:8]}", labels={"ecs5probe.session": TEST_SESSION}
    )
    cache = docker_client.containers.run(
        "ecs5probe-sample/14-redis:latest",
        ["redis-server", "--bind", "0.0.0.0", "--protected-mode", "no", "--save", ""],
        detach=True,
        network=net.name,
        labels={"ecs5probe.session": TEST_SESSION},
    )
    try:
        net.disconnect(cache)
        net.connect(cache, aliases=["cache"])
        out = tmp_path / "fixed.yml"
        r = subprocess.run(
            [sys.executable, "-m", "ecs5probe", "fix", str(src), "-q", "--attach-network", net.name, "-o", str(out)],
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert r.returncode == 0, r.stderr[-3000:]
        assert yaml.safe_load(out.read_text())["services"]["app"]["read_only"] is True
        assert {c.id for c in docker_client.containers.list(all=True, filters={"network": net.name})} == {cache.id}
    finally:
        cache.remove(force=True)
        net.remove()


def test_least_privilege_is_learnt_written_and_runs_as_ecs_would(built_samples, docker_client, tmp_path) -> None:
    """--harden non-root,capabilities on Debian servers that start as root and a non-root image: each
    one's user and capabilities written and run (ECS's port rule: 1024; nginx's port 80 allowed by the
    systemControls written for it), or why not, with exit 1."""
    out = tmp_path / "fixed.json"
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "ecs5probe",
            "fix",
            str(ROOT / "tests" / "data" / "harden" / "servers-task.json"),
            "--harden",
            "non-root,capabilities",
            "-o",
            str(out),
            "-q",
        ],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert r.returncode == 1, r.stderr[-3000:]  # privdrop cannot run without root: said, and written
    by = {c["name"]: c for c in json.loads(out.read_text())["containerDefinitions"]}
    assert by["redis"]["user"] == "100:101" and by["nonroot"]["user"] == "1000:1000"  # numeric, as ECS.20 wants
    # nginx binds port 80 as www-data: the user, with the lowest port it binds allowed (bridge: its own)
    assert by["nginx"]["user"] == "33:33" and "user" not in by["privdrop"]
    assert by["nginx"]["systemControls"] == [{"namespace": "net.ipv4.ip_unprivileged_port_start", "value": "80"}]
    assert "systemControls net.ipv4.ip_unprivileged_port_start=80" in r.stderr
    assert "setpriv: initgroups failed" in r.stderr and "switches users itself" in r.stderr
    caps = {
        n: (c["linuxParameters"]["capabilities"]["drop"], c["linuxParameters"]["capabilities"].get("add", []))
        for n, c in by.items()
    }
    assert caps["redis"] == (["ALL"], []) and caps["nonroot"] == (["ALL"], [])
    assert caps["nginx"] == (["ALL"], [])
    assert set(caps["privdrop"][1]) >= {"SETGID", "SETUID"}
    assert "privileged" not in by["nginx"]  # replaced by what it used
    assert all(c["dockerSecurityOptions"] == ["no-new-privileges"] for c in by.values())
    codes = _run_task(docker_client, json.loads(out.read_text()), use=False)
    assert set(codes) == {"nginx", "redis", "privdrop", "nonroot"}


def test_a_bridge_task_with_links_and_a_one_shot_container_is_fixed_together(
    relay_images, docker_client, tmp_path
) -> None:
    """ECS's bridge mode: each container its own namespace, names resolving only through links; a
    migration that must succeed (dependsOn SUCCESS) before the app starts."""
    src = DATA / "relay-bridge-task.json"
    _fix(src, tmp_path / "fixed.json")
    fixed = json.loads((tmp_path / "fixed.json").read_text())
    by = {c["name"]: c for c in fixed["containerDefinitions"]}
    assert "linuxParameters" not in by["migrate"] and by["app"]["links"] == ["cache"]
    for td in (json.loads(src.read_text()), fixed):
        task = Task(docker_client, td, {"ecs5probe.session": TEST_SESSION})
        try:
            task.up()
            assert task.running["migrate"].wait(timeout=30)["StatusCode"] == 0
            get = "exec 3<>/dev/tcp/127.0.0.1/80 && printf 'GET / HTTP/1.0\\r\\n\\r\\n' >&3 && cat <&3"
            code, body = task.running["proxy"].exec_run(["bash", "-c", get])
            assert code == 0 and b"hello from the app" in body, body  # proxy -> app -> cache, by links
            codes = task.down()
        finally:
            task.remove()
        assert codes["proxy"] == 0, codes
