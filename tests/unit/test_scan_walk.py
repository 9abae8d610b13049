"""``scan`` never fails open: unreadable files are named in every format, UNKNOWN fails the run unless
allowed, stdin is read, ``--platform`` walks skip other platforms' files quietly."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

from tests.fakes import cli_invoke, scan_verdicts

DATA = Path(__file__).resolve().parents[1] / "data" / "scan"


def _walk(tmp_path: Path) -> Path:
    dst = tmp_path / "repo"
    shutil.copytree(DATA / "walk", dst)
    return dst


def test_a_walk_names_every_file_it_cannot_read_in_every_format(tmp_path) -> None:
    repo = _walk(tmp_path)
    table = cli_invoke(["scan", str(repo)])
    assert table.exit_code == 2, table.output  # a malformed Compose file: bad input
    assert "broken-compose.yml" in table.stderr and "chart-template.yaml" in table.stderr
    assert "tsconfig.json" not in table.output  # JSON that names no container is not ours
    assert "5 passed" in table.stdout and "2 file(s) not judged" in table.stdout

    sarif = json.loads(cli_invoke(["scan", str(repo), "--format", "sarif", "--control", "CKV_K8S_22"]).stdout)
    inv = sarif["runs"][0]["invocations"][0]
    notes = {
        Path(n["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]).name: n["level"]
        for n in inv["toolExecutionNotifications"]
    }
    assert notes == {"broken-compose.yml": "error", "chart-template.yaml": "warning"}
    assert inv["executionSuccessful"] is False

    junit = ET.fromstring(cli_invoke(["scan", str(repo), "--format", "junit"]).stdout)
    errors = [c for c in junit.iter("testcase") if c.find("error") is not None]
    assert sorted(Path(c.get("name")).name for c in errors) == ["broken-compose.yml", "chart-template.yaml"]
    assert junit.get("errors") == "2"

    rows = json.loads(cli_invoke(["scan", str(repo), "--format", "json"]).stdout)
    problems = {Path(r["file"]).name: r["level"] for r in rows if "level" in r}
    assert problems == {"broken-compose.yml": "error", "chart-template.yaml": "warning"}


def test_a_helm_template_alone_fails_unless_unknown_is_allowed(tmp_path) -> None:
    repo = _walk(tmp_path)
    (repo / "broken-compose.yml").unlink()
    r = cli_invoke(["scan", str(repo)])
    assert r.exit_code == 1 and "helm template" in r.stderr
    assert cli_invoke(["scan", str(repo), "--allow-unknown"]).exit_code == 0


def test_unknown_rows_fail_the_run_unless_allowed(tmp_path) -> None:
    tf = tmp_path / "main.tf"
    tf.write_text(
        'variable "ro" {}\nresource "aws_ecs_task_definition" "x" {\n  family = "x"\n'
        '  container_definitions = jsonencode([{ name = "app", image = "a", readonlyRootFilesystem = var.ro,'
        ' user = "1000" }])\n}\n'
    )
    r = cli_invoke(["scan", str(tf), "--format", "json", "--control", "ECS.5"])
    assert r.exit_code == 1, r.output
    (row,) = json.loads(r.stdout)
    assert row["verdict"] == "UNKNOWN" and "var.ro" in row["reason"]
    assert cli_invoke(["scan", str(tf), "--control", "ECS.5", "--allow-unknown"]).exit_code == 0


def test_allow_unknown_is_a_config_key(tmp_path, monkeypatch) -> None:
    tf = tmp_path / "main.tf"
    tf.write_text(
        'variable "ro" {}\nresource "aws_ecs_task_definition" "x" {\n  family = "x"\n'
        '  container_definitions = jsonencode([{ name = "app", image = "a", readonlyRootFilesystem = var.ro }])\n}\n'
    )
    (tmp_path / ".ecs5probe.yaml").write_text("allow-unknown: true\n")
    monkeypatch.chdir(tmp_path)
    assert cli_invoke(["scan", "main.tf", "--control", "ECS.5"]).exit_code == 0


def test_stdin_is_read_as_helm_output() -> None:
    text = (DATA / "k8s" / "rollout.yaml").read_text()
    r = cli_invoke(["scan", "-", "--format", "json", "--control", "CKV_K8S_22"], input=text)
    assert r.exit_code == 1, r.output
    rows = {x["container"]: x for x in json.loads(r.stdout)}
    assert rows["shop"]["verdict"] == "PASSED" and rows["envoy"]["verdict"] == "FAILED"
    assert rows["envoy"]["file"] == "<stdin>" and rows["envoy"]["line"] == 21


def test_stdin_json_is_a_task_definition() -> None:
    td = {"family": "f", "containerDefinitions": [{"name": "a", "image": "a", "readonlyRootFilesystem": True}]}
    r = cli_invoke(["scan", "-", "--control", "ECS.5"], input=json.dumps(td))
    assert r.exit_code == 0 and "1 passed" in r.stdout


def test_a_platform_walk_skips_other_platforms_files_quietly(tmp_path) -> None:
    repo = _walk(tmp_path)
    (repo / "chart-template.yaml").unlink()
    (repo / "broken-compose.yml").unlink()
    (repo / "compose.yaml").write_text("services:\n  web:\n    image: nginx\n")
    r = cli_invoke(["scan", str(repo), "--platform", "kubernetes", "--format", "json"])
    assert r.exit_code == 0, r.output
    assert {Path(x["file"]).name for x in json.loads(r.stdout)} == {"good.yaml"}
    c = cli_invoke(["scan", str(repo), "--platform", "compose", "--format", "json", "--control", "read_only"])
    assert c.exit_code == 1 and {Path(x["file"]).name for x in json.loads(c.stdout)} == {"compose.yaml"}


def test_a_control_of_another_platform_is_a_usage_error(tmp_path) -> None:
    f = tmp_path / "compose.yaml"
    f.write_text("services:\n  web:\n    image: nginx\n")
    r = cli_invoke(["scan", str(f), "--control", "ECS.5"])
    assert r.exit_code == 2 and "none of the 1 document(s)" in r.output


def test_soft_and_hard_fail_as_checkov_has_them(tmp_path) -> None:
    f = tmp_path / "compose.yaml"
    f.write_text("services:\n  web:\n    image: nginx\n    user: '1000'\n")  # read_only fails, user passes
    assert cli_invoke(["scan", str(f)]).exit_code == 1
    assert cli_invoke(["scan", str(f), "--soft-fail"]).exit_code == 0
    assert cli_invoke(["scan", str(f), "--soft-fail-on", "read_only"]).exit_code == 0
    assert cli_invoke(["scan", str(f), "--soft-fail-on", "user"]).exit_code == 1
    assert cli_invoke(["scan", str(f), "--hard-fail-on", "privileged"]).exit_code == 0
    assert cli_invoke(["scan", str(f), "--hard-fail-on", "read_*"]).exit_code == 1
    assert cli_invoke(["scan", str(f), "--soft-fail", "--hard-fail-on", "read_only"]).exit_code == 1


def test_pre_commit_mode_names_a_malformed_task_definition_but_not_other_json(tmp_path) -> None:
    td = tmp_path / "td.json"
    td.write_text('{"family": "x", "containerDefinitions": [{"name": "a",}]}')
    other = tmp_path / "tsconfig.json"
    other.write_text('{"compilerOptions": {/* jsonc */}}')
    r = cli_invoke(["scan", "--skip-other-files", str(td), str(other)])
    assert r.exit_code == 2 and "td.json" in r.stderr and "tsconfig" not in r.output
    assert cli_invoke(["scan", "--skip-other-files", str(other)]).exit_code == 0


def test_junit_reports_unknown_as_an_error_not_a_skip(tmp_path) -> None:
    tf = tmp_path / "main.tf"
    tf.write_text(
        'variable "ro" {}\nresource "aws_ecs_task_definition" "x" {\n  family = "x"\n'
        '  container_definitions = jsonencode([{ name = "app", image = "a", readonlyRootFilesystem = var.ro }])\n}\n'
    )
    suite = ET.fromstring(cli_invoke(["scan", str(tf), "--format", "junit", "--control", "ECS.5"]).stdout)
    (case,) = suite.iter("testcase")
    assert case.find("error").get("type") == "UNKNOWN" and case.find("skipped") is None
    assert suite.get("errors") == "1" and suite.get("skipped") == "0"


def test_the_account_s_definitions_are_judged_with_their_tags(monkeypatch) -> None:
    """``--aws``: describe output carries datetimes; a task tag suppresses with its reason."""
    import datetime

    from ecs5probe.platforms.ecs import account
    from ecs5probe.platforms.interface import Document

    td = {
        "family": "web",
        "registeredAt": datetime.datetime(2026, 1, 1),
        "tags": [{"key": "ecs5probe.skip.ECS.20", "value": "the vendor image runs as root; VEND-1"}],
        "containerDefinitions": [{"name": "web", "image": "nginx", "readonlyRootFilesystem": True}],
    }

    class FakeAccount:
        def __init__(self, region: str | None) -> None:
            pass

        def documents(self, families: tuple[str, ...]) -> list[Document]:
            return [Document("arn:aws:ecs:eu-west-1:1:task-definition/web:3", None, "web", "aws", td)]

    monkeypatch.setattr(account, "Account", FakeAccount)
    r = cli_invoke(["scan", "--aws", "--format", "json"])
    assert r.exit_code == 0, r.output
    rows = {x["control"]: x for x in json.loads(r.stdout)}
    assert rows["ECS.5"]["verdict"] == "PASSED" and rows["ECS.20"]["suppressed"] is True


def test_helm_directives_that_parse_as_yaml_are_a_template_not_an_error(tmp_path, monkeypatch) -> None:
    """``name: {{ .Release.Name }}`` is a YAML flow mapping: a chart's template that parses is still a
    template to render first (not judged, exit 1), never exit 2 with the mapping's repr; so is such a
    file outside a chart, once it cannot be judged."""
    chart = tmp_path / "chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: x\nversion: 0.1.0\n")
    body = (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  template:\n"
        "    spec:\n      containers:\n        - name: web\n          image: nginx\n"
        "          securityContext:\n            readOnlyRootFilesystem: {{ .Values.ro }}\n"
    )
    (chart / "templates" / "deploy.yaml").write_text(body)
    monkeypatch.chdir(chart / "templates")
    for target in (str(chart), "deploy.yaml"):
        r = cli_invoke(["scan", target])
        assert r.exit_code == 1, r.output
        assert "a template of the Helm chart" in r.stderr and "helm template" in r.stderr
    (tmp_path / "loose.yaml").write_text(body)
    r = cli_invoke(["scan", str(tmp_path / "loose.yaml")])
    assert r.exit_code == 1 and "a template ({{ }} directives)" in r.stderr, r.output


def test_quoted_go_templates_in_a_manifest_are_strings_and_judged(tmp_path) -> None:
    """A manifest carrying a Go template as a string (an alert's annotation) is a manifest: judged."""
    f = tmp_path / "deploy.yaml"
    f.write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n"
        '  annotations:\n    summary: "{{ .Labels.instance }} is down"\n'
        "spec:\n  template:\n    spec:\n      containers:\n        - name: web\n          image: nginx\n"
        "          securityContext:\n            readOnlyRootFilesystem: true\n"
    )
    assert scan_verdicts(str(f), "CKV_K8S_22", 0) == [("Deployment/web", "PASSED")]
