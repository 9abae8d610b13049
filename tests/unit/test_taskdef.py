"""Task definitions: ECS.5 verdicts, probe options, patching, and the ecosystem's own validators."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ecs5probe.errors import TaskDefinitionError
from ecs5probe.model import Mount
from ecs5probe.platforms import find, read
from ecs5probe.platforms.ecs import terraform
from ecs5probe.platforms.ecs.taskdef import (
    DESCRIBE_ONLY,
    FAILED,
    NOT_APPLICABLE,
    PASSED,
    UNKNOWN,
    evaluate,
    launch_type,
    patch,
    probe_overrides,
    unwrap,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "taskdefs"
DESCRIBE = json.loads((DATA / "web-describe.json").read_text())
MOUNTS = {
    "nginx": [Mount("/run"), Mount("/var/lib/nginx"), Mount("/var/cache/x", required=False)],
    "pid-sidecar": [Mount("/srv/data", "volume"), Mount("/data", "bind"), Mount("/home/app/d", "tmpfs", ("uid=1000",))],
}


def verdicts(td):
    return [(v.container, v.verdict) for v in evaluate(td)]


def test_security_hub_semantics() -> None:
    td = {
        "containerDefinitions": [
            {"name": "a"},
            {"name": "b", "readonlyRootFilesystem": False},
            {"name": "c", "readonlyRootFilesystem": True},
            {"name": "d", "readonlyRootFilesystem": "true"},
        ]
    }
    assert verdicts(td) == [("a", FAILED), ("b", FAILED), ("c", PASSED), ("d", FAILED)]
    windows = {**td, "runtimePlatform": {"operatingSystemFamily": "WINDOWS_SERVER_2022_FULL"}}
    assert {v for _, v in verdicts(windows)} == {NOT_APPLICABLE}
    # a runtimePlatform that is not an object (found by Hypothesis) is simply not Windows
    assert verdicts({**td, "runtimePlatform": 1}) == verdicts(td)
    unknown = {
        "containerDefinitions": [
            {"name": "x", "readonlyRootFilesystem": {"Ref": "P"}},
            {"name": "y", "readonlyRootFilesystem": "${var.ro}"},
        ]
    }
    assert verdicts(unknown) == [("x", UNKNOWN), ("y", UNKNOWN)]


def test_unwrap_describe_output_and_reject_non_task_definitions() -> None:
    assert unwrap(DESCRIBE)["family"] == "web"
    with pytest.raises(TaskDefinitionError):
        unwrap({"family": "x"})


def test_probe_overrides_from_a_container_definition() -> None:
    c = {
        "name": "x",
        "entryPoint": ["/bin/sh", "-c"],
        "command": ["run"],
        "user": "1000:1000",
        "workingDirectory": "/srv",
        "environment": [{"name": "A", "value": "1"}],
        "healthCheck": {
            "command": ["CMD-SHELL", "curl -f localhost"],
            "interval": 10,
            "timeout": 2,
            "retries": 2,
            "startPeriod": 20,
        },
        "linuxParameters": {"initProcessEnabled": True, "capabilities": {"drop": ["ALL"]}},
        "memory": 256,
        "ulimits": [{"name": "nofile", "softLimit": 1024, "hardLimit": 2048}],
    }
    o = probe_overrides(c)
    assert o["entrypoint"] == ("/bin/sh", "-c") and o["command"] == ("run",) and o["user"] == "1000:1000"
    assert o["workdir"] == "/srv" and o["environment"] == ("A=1",)
    h = o["health"]
    assert (h.test, h.interval, h.timeout, h.retries, h.start_period) == (
        ("CMD-SHELL", "curl -f localhost"),
        10,
        2,
        2,
        20,
    )
    assert dict(o["docker_options"]) == {
        "init": True,
        "cap_drop": ["ALL"],
        "mem_limit": "256m",
        "ulimits": [{"name": "nofile", "soft": 1024, "hard": 2048}],
    }
    with pytest.raises(TaskDefinitionError):
        probe_overrides({"name": "x", "healthCheck": {"command": ["curl"]}})


def test_launch_type() -> None:
    assert launch_type(unwrap(DESCRIBE)) == "FARGATE"
    assert launch_type({"containerDefinitions": []}) == "EC2"
    assert launch_type(unwrap(DESCRIBE), "EC2") == "EC2"


def test_patch_sets_the_flag_adds_mounts_keeps_the_rest() -> None:
    out, notes = patch(DESCRIBE, MOUNTS, "EC2")
    assert not set(DESCRIBE_ONLY) & set(out)
    assert list(out)[:3] == ["family", "networkMode", "containerDefinitions"]  # key order kept
    nginx, side = out["containerDefinitions"]
    assert nginx["readonlyRootFilesystem"] is True and side["readonlyRootFilesystem"] is True
    assert list(nginx)[:5] == ["name", "image", "essential", "portMappings", "healthCheck"]
    assert [t["containerPath"] for t in nginx["linuxParameters"]["tmpfs"]] == ["/run", "/var/lib/nginx"]
    assert side["linuxParameters"]["tmpfs"] == [
        {"containerPath": "/home/app/d", "size": 64, "mountOptions": ["uid=1000"]}
    ]
    assert side["mountPoints"] == [
        {"sourceVolume": "srv-data", "containerPath": "/srv/data", "readOnly": False},
        {"sourceVolume": "data", "containerPath": "/data", "readOnly": False},
    ]
    assert out["volumes"] == [
        {"name": "srv-data", "dockerVolumeConfiguration": {"scope": "task", "driver": "local"}},
        {"name": "data"},
    ]
    assert DESCRIBE["taskDefinition"]["containerDefinitions"][0]["readonlyRootFilesystem"] is False  # input untouched
    assert notes == []


def test_patch_for_fargate_has_no_docker_volume_configuration() -> None:
    out, notes = patch(DESCRIBE, MOUNTS, "FARGATE")
    assert all(set(v) == {"name"} for v in out["volumes"])
    assert any("VOLUME /srv/data" in n for n in notes) and any("2026-01-06" in n for n in notes)


def test_patch_keeps_the_users_mounts_and_makes_unique_names() -> None:
    td = {
        "family": "f",
        "volumes": [{"name": "data", "efsVolumeConfiguration": {"fileSystemId": "fs-1"}}],
        "containerDefinitions": [
            {"name": "a", "image": "a", "mountPoints": [{"sourceVolume": "data", "containerPath": "/var/lib/app"}]}
        ],
    }
    mounts = {"a": [Mount("/var/lib/app/cache"), Mount("/data", "bind")]}
    out, notes = patch(td, mounts, "EC2")
    c = out["containerDefinitions"][0]
    assert c["mountPoints"][0] == {"sourceVolume": "data", "containerPath": "/var/lib/app"}
    assert c["mountPoints"][1]["sourceVolume"] == "data-2"
    assert "linuxParameters" not in c
    assert any("already covered" in n for n in notes)


def test_patch_refuses_a_read_only_user_mount_and_duplicate_volumes() -> None:
    td = {
        "volumes": [{"name": "cfg"}],
        "containerDefinitions": [
            {
                "name": "a",
                "image": "a",
                "mountPoints": [{"sourceVolume": "cfg", "containerPath": "/etc/app", "readOnly": True}],
            }
        ],
    }
    with pytest.raises(TaskDefinitionError, match="read-only"):
        patch(td, {"a": [Mount("/etc/app/state")]}, "EC2")
    with pytest.raises(TaskDefinitionError, match="duplicate volume names: v"):
        patch({"volumes": [{"name": "v"}, {"name": "v"}], "containerDefinitions": []}, {}, "EC2")


def _validate_with_botocore(td: dict) -> None:
    import botocore.session
    from botocore.validate import ParamValidator

    model = botocore.session.get_session().get_service_model("ecs")
    report = ParamValidator().validate(td, model.operation_model("RegisterTaskDefinition").input_shape)
    assert not report.has_errors(), report.generate_report()


@pytest.mark.parametrize("launch", ["EC2", "FARGATE"])
def test_patched_task_definitions_pass_botocore_validation(launch) -> None:
    out, _ = patch(DESCRIBE, MOUNTS, launch)
    _validate_with_botocore(out)


def test_botocore_validation_is_not_a_tautology() -> None:
    out, _ = patch(DESCRIBE, MOUNTS, "EC2")
    out["containerDefinitions"][0]["linuxParameters"]["tmpfs"][0]["size"] = "64"
    with pytest.raises(AssertionError):
        _validate_with_botocore(out)


def test_terraform_output_parses_and_scans_as_passed(tmp_path) -> None:
    out, _ = patch(DESCRIBE, MOUNTS, "EC2")
    (tmp_path / "main.tf").write_text(terraform.render(out, "web"))
    (src,) = list(read(tmp_path / "main.tf"))
    assert src.body["containerDefinitions"] == out["containerDefinitions"]
    assert {v.verdict for v in evaluate(src.body)} == {PASSED}
    import hcl2

    blocks = hcl2.loads((tmp_path / "main.tf").read_text())["resource"][0]['"aws_ecs_task_definition"']['"web"']
    assert len(blocks["volume"]) == 2


def test_scan_corpus() -> None:
    got = {(s.name, v.container): v.verdict for s in find([str(DATA / "corpus")]) for v in evaluate(s.body)}
    assert got == {
        ("api", "app"): FAILED,
        ("api", "log-router"): PASSED,
        ("worker", "w"): FAILED,
        ("cron", "c"): PASSED,
        ("iis", "iis"): NOT_APPLICABLE,
        ("aws_ecs_task_definition.bad", "app"): FAILED,
        ("aws_ecs_task_definition.good", "app"): PASSED,
        ("aws_ecs_task_definition.absent", "app"): FAILED,
        ("aws_ecs_task_definition.absent", "side"): PASSED,
        ("aws_ecs_task_definition.from_file", "fromfile"): PASSED,
        ("aws_ecs_task_definition.heredoc", "h"): FAILED,
        ("aws_ecs_task_definition.variable", "v"): PASSED,  # var.ro has a literal default: true
        ("aws_ecs_task_definition.variable_unset", "u"): UNKNOWN,  # no default: known at deploy time only
        ("aws_ecs_task_definition.windows", "iis"): NOT_APPLICABLE,
        ("Good", "app"): PASSED,
        ("Bad", "app"): FAILED,
        ("Bad", "envoy"): FAILED,
        ("Param", "p"): UNKNOWN,
    }


def test_scan_reports_lines() -> None:
    lines = {s.name: s.line for s in find([str(DATA / "corpus")])}
    assert lines["aws_ecs_task_definition.heredoc"] == 26 and lines["Bad"] == 14 and lines["api"] == 2


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("malformed.json", "malformed JSON"),
        ("malformed.tf", "malformed HCL"),
        ("malformed.yaml", "malformed CloudFormation"),
        ("no-containers.json", "no containerDefinitions"),
    ],
)
def test_bad_input_is_a_task_definition_error(name, message) -> None:
    with pytest.raises(TaskDefinitionError, match=message):
        list(read(DATA / "bad" / name))


def test_large_task_storage_on_fargate_suggests_ephemeral_storage() -> None:
    td = {"family": "f", "containerDefinitions": [{"name": "a", "image": "a"}]}
    _, notes = patch(td, {"a": [Mount("/var/lib/db", "bind", size_mib=8192)]}, "FARGATE")
    assert any("ephemeralStorage.sizeInGiB" in n for n in notes)
    _, small = patch(td, {"a": [Mount("/var/lib/db", "bind", size_mib=64)]}, "FARGATE")
    assert not any("ephemeralStorage" in n for n in small)
