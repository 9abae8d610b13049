"""The live account, against moto's server mode on loopback (AWS_ENDPOINT_URL): scan judges the latest
ACTIVE revision of each family as Security Hub does; fix --aws probes a family's containers on real
Docker and registers the fixed revision; --from-security-hub takes the families of failing ECS.5
findings."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time

import boto3
import pytest
import requests

pytestmark = pytest.mark.integration

ACCOUNT = "123456789012"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def aws(monkeypatch):
    beside = os.path.join(os.path.dirname(sys.executable), "moto_server")  # this Python's, activated or not
    exe = beside if os.access(beside, os.X_OK) else shutil.which("moto_server")
    assert exe, "moto's server mode is needed: pip install 'moto[server]'"
    port = _free_port()
    proc = subprocess.Popen(
        [exe, "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    env = {
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "eu-west-1",
        "AWS_DEFAULT_REGION": "eu-west-1",
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    try:
        deadline = time.monotonic() + 60  # a loaded machine (parallel test processes) starts it slowly
        while True:
            try:
                requests.get(env["AWS_ENDPOINT_URL"], timeout=2)
                break
            except requests.RequestException:
                assert time.monotonic() < deadline, "moto's server did not answer within 60 s"
                time.sleep(0.2)
        yield {**os.environ, **env}
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _register(ecs, family: str, containers: list[dict]) -> str:
    return ecs.register_task_definition(family=family, containerDefinitions=containers)["taskDefinition"][
        "taskDefinitionArn"
    ]


def _account(ecs, samples) -> None:
    pidfile = samples["03-pidfile"].tag
    _register(ecs, "web", [{"name": "app", "image": pidfile, "memory": 128}])  # revision 1
    _register(ecs, "web", [{"name": "app", "image": pidfile, "memory": 128, "readonlyRootFilesystem": False}])
    _register(ecs, "api", [{"name": "api", "image": pidfile, "memory": 128}])  # an older failing revision...
    _register(ecs, "api", [{"name": "api", "image": pidfile, "memory": 128, "readonlyRootFilesystem": True}])
    _register(
        ecs,
        "mesh",
        [
            {"name": "app", "image": pidfile, "memory": 128, "readonlyRootFilesystem": True},
            {"name": "envoy", "image": pidfile, "memory": 64, "readonlyRootFilesystem": False},
        ],
    )
    old = _register(ecs, "retired", [{"name": "app", "image": pidfile, "memory": 128}])
    ecs.deregister_task_definition(taskDefinition=old)  # INACTIVE: not evaluated


def _cli(env: dict, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ecs5probe", *args], capture_output=True, text=True, timeout=600, env=env
    )


def test_scan_judges_the_latest_active_revision_of_each_family(aws, built_samples) -> None:
    ecs = boto3.client("ecs")
    _account(ecs, built_samples)
    r = _cli(aws, "scan", "--aws", "--format", "json")
    assert r.returncode == 1, r.stderr  # something fails
    assert {x["control"] for x in json.loads(r.stdout)} == {"ECS.5", "ECS.20", "ECS.4"}  # every control by default
    rows = {(x["name"], x["container"]): x["verdict"] for x in json.loads(r.stdout) if x["control"] == "ECS.5"}
    assert rows == {
        ("web:2", "app"): "FAILED",
        ("api:2", "api"): "PASSED",  # the failing revision 1 is not the latest: not evaluated
        ("mesh:1", "app"): "PASSED",
        ("mesh:1", "envoy"): "FAILED",  # a sidecar set to false fails the definition
    }  # "retired" is INACTIVE
    only = _cli(aws, "scan", "--aws", "--family", "api", "--format", "json", "--control", "ECS.5")
    assert only.returncode == 0 and [x["name"] for x in json.loads(only.stdout)] == ["api:2"]


def test_fix_and_register_then_read_the_new_revision_back(aws, built_samples) -> None:
    ecs = boto3.client("ecs")
    _account(ecs, built_samples)
    r = _cli(aws, "fix", "--aws", "web", "--register", "-q")
    assert r.returncode == 0, r.stderr
    arn = r.stdout.strip()
    assert arn == f"arn:aws:ecs:eu-west-1:{ACCOUNT}:task-definition/web:3", r.stdout
    td = ecs.describe_task_definition(taskDefinition="web")["taskDefinition"]
    assert td["revision"] == 3
    (app,) = td["containerDefinitions"]
    assert app["readonlyRootFilesystem"] is True
    assert [t["containerPath"] for t in app["linuxParameters"]["tmpfs"]] == ["/run"]
    again = _cli(aws, "scan", "--aws", "--family", "web", "--format", "json", "--control", "ECS.5")
    assert again.returncode == 0 and json.loads(again.stdout)[0]["verdict"] == "PASSED"


def test_from_security_hub_takes_the_failing_findings(aws, built_samples, tmp_path) -> None:
    ecs, hub = boto3.client("ecs"), boto3.client("securityhub")
    _account(ecs, built_samples)

    def finding(family: str, revision: int, status: str) -> dict:
        arn = f"arn:aws:ecs:eu-west-1:{ACCOUNT}:task-definition/{family}:{revision}"
        return {
            "SchemaVersion": "2018-10-08",
            "Id": f"{arn}/ECS.5",
            "ProductArn": "arn:aws:securityhub:eu-west-1::product/aws/securityhub",
            "GeneratorId": "security-control/ECS.5",
            "AwsAccountId": ACCOUNT,
            "Types": ["Software and Configuration Checks"],
            "CreatedAt": "2026-11-30T00:00:00Z",
            "UpdatedAt": "2026-11-30T00:00:00Z",
            "Severity": {"Label": "HIGH"},
            "Title": "ECS containers should be limited to read-only access to root filesystems",
            "Description": "ECS.5",
            "Resources": [{"Type": "AwsEcsTaskDefinition", "Id": arn}],
            "Compliance": {"Status": status, "SecurityControlId": "ECS.5"},
            "RecordState": "ACTIVE",
        }

    hub.batch_import_findings(Findings=[finding("web", 2, "FAILED"), finding("api", 2, "PASSED")])
    r = _cli(aws, "fix", "--aws", "--from-security-hub", "-o", str(tmp_path), "-q")
    assert r.returncode == 0, r.stderr
    assert "Security Hub: 1 family(ies) fail ECS.5" in r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["web.fixed.json"]
    fixed = json.loads((tmp_path / "web.fixed.json").read_text())
    assert "revision" not in fixed and fixed["containerDefinitions"][0]["readonlyRootFilesystem"] is True
    assert ecs.describe_task_definition(taskDefinition="web")["taskDefinition"]["revision"] == 2  # not registered


def test_without_boto3_aws_says_how_to_install_it(tmp_path) -> None:
    shadow = tmp_path / "shadow"
    shadow.mkdir()
    (shadow / "boto3.py").write_text("raise ImportError('hidden for this test')\n")
    env = {**os.environ, "PYTHONPATH": f"{shadow}:{os.environ.get('PYTHONPATH', '')}"}
    r = _cli(env, "scan", "--aws")
    assert r.returncode == 2 and "pip install 'ecs5probe[aws]'" in r.stderr and "Traceback" not in r.stderr


def test_an_ecr_registry_without_stored_credentials_gets_a_token_from_boto3(aws) -> None:
    from ecs5probe.runtime.registry import ECR_HOST, ecr_auth

    host = f"{ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com"
    assert ECR_HOST.match(host) and not ECR_HOST.match("registry.example.com")
    creds = ecr_auth(host)
    assert creds is not None and creds["username"] == "AWS" and creds["password"]
    assert ecr_auth("127.0.0.1:5000") is None  # not ECR: the client's own credentials only


def test_nothing_is_registered_when_a_container_cannot_be_fixed(aws, built_samples) -> None:
    ecs = boto3.client("ecs")
    _account(ecs, built_samples)
    # writes a file straight into /etc: no mount can make that work read-only
    etc = ["sh", "-c", "echo x > /etc/app.conf || exit 1; trap 'exit 0' TERM; while :; do sleep 1; done"]
    _register(ecs, "broken", [{"name": "app", "image": built_samples["03-pidfile"].tag, "memory": 128, "command": etc}])
    r = _cli(aws, "fix", "--aws", "web", "broken", "--register", "-q")
    assert r.returncode == 1, r.stderr
    assert "nothing registered or written" in r.stderr and "broken:1: app: NOT verified" in r.stderr
    assert r.stdout.strip() == ""
    assert ecs.describe_task_definition(taskDefinition="web")["taskDefinition"]["revision"] == 2
    assert ecs.describe_task_definition(taskDefinition="broken")["taskDefinition"]["revision"] == 1
