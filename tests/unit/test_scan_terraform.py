"""Terraform as modules are written: templatefile, file, locals, variable defaults, heredocs, merge and
concat evaluated statically; what is unknown stays unknown, key by key; paths relative or absolute."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ecs5probe.platforms.ecs import hcl
from tests.fakes import cli_invoke, scan_verdicts

MODULE = Path(__file__).resolve().parents[1] / "data" / "scan" / "tf" / "modules" / "ecs"


def _rows(*args: str) -> dict[tuple[str, str, str], dict]:
    r = cli_invoke(["scan", *args, "--format", "json"])
    assert r.exit_code in (1,), r.output
    return {(x["name"].split(".")[1], x["container"], x["control"]): x for x in json.loads(r.stdout)}


@pytest.mark.parametrize("how", ["absolute", "relative-from-root", "relative-from-elsewhere"])
def test_every_shape_is_evaluated_wherever_the_file_is_named_from(how, monkeypatch, tmp_path) -> None:
    if how == "absolute":
        target = str(MODULE / "main.tf")
    elif how == "relative-from-root":
        monkeypatch.chdir(MODULE.parents[2])
        target = "tf/modules/ecs/main.tf"
    else:
        monkeypatch.chdir(tmp_path)
        target = os.path.relpath(MODULE / "main.tf", tmp_path)
    rows = _rows(target)
    v = {k: x["verdict"] for k, x in rows.items()}
    # templatefile: literal flag, user from a variable default, image unknown: decided key by key
    assert v[("templated", "orders", "ECS.5")] == "PASSED"
    assert v[("templated", "orders", "ECS.20")] == "PASSED"
    assert rows[("templated", "orders", "ECS.20")]["reason"] == "user is '1000:1000'"
    # file("${path.module}/...")
    assert v[("from_file", "worker", "ECS.5")] == "FAILED"
    # jsonencode(concat([merge(...)], [local.sidecar]))
    assert v[("merged", "api", "ECS.5")] == "PASSED" and v[("merged", "log-router", "ECS.5")] == "PASSED"
    assert v[("merged", "log-router", "ECS.20")] == "FAILED"
    # a heredoc with interpolations in its values
    assert v[("heredoc", "cron", "ECS.5")] == "PASSED" and v[("heredoc", "cron", "ECS.4")] == "PASSED"
    # a caller's variable without a default: unknown, never passed
    assert v[("dynamic", "*", "ECS.5")] == "UNKNOWN"
    assert "var.containers_from_the_caller" in rows[("dynamic", "*", "ECS.5")]["reason"]


def test_findings_are_at_the_container_and_its_key() -> None:
    rows = _rows(str(MODULE / "main.tf"))
    lines = (MODULE / "main.tf").read_text().splitlines()

    def line(k: tuple[str, str, str], key: bool = False) -> str:
        return lines[rows[k]["keyLine" if key else "line"] - 1].strip()

    assert line(("merged", "api", "ECS.5"), key=True) == "readonlyRootFilesystem = true"
    assert line(("merged", "log-router", "ECS.20"), key=True) == 'user                   = "0"'
    assert line(("heredoc", "cron", "ECS.5")) == '"name": "cron",'
    assert line(("heredoc", "cron", "ECS.5"), key=True) == '"readonlyRootFilesystem": ${var.read_only},'
    assert line(("from_file", "worker", "ECS.5")).startswith("container_definitions = file(")
    assert line(("dynamic", "*", "ECS.5")).startswith('resource "aws_ecs_task_definition" "dynamic"')


def test_a_comment_suppresses_with_its_reason_and_the_run_ignores_it(tmp_path) -> None:
    rows = _rows(str(MODULE / "main.tf"))
    legacy = rows[("legacy", "agent", "ECS.5")]
    assert legacy["verdict"] == "FAILED" and legacy["suppressed"] is True
    assert legacy["justification"].startswith("the legacy agent writes its spool")
    assert rows[("legacy", "agent", "ECS.20")]["suppressed"] is False
    r = cli_invoke(["scan", str(MODULE / "main.tf"), "--format", "sarif", "--control", "ECS.5"])
    results = json.loads(r.stdout)["runs"][0]["results"]
    sup = [x for x in results if "suppressions" in x]
    assert len(sup) == 1 and sup[0]["suppressions"][0]["justification"].endswith("OPS-42")
    f = tmp_path / "main.tf"
    f.write_text(
        'resource "aws_ecs_task_definition" "x" {\n  family = "x"\n  # ecs5probe:skip=ECS.5 the agent writes /opt\n'
        '  container_definitions = jsonencode([{ name = "a", image = "a", user = "1000" }])\n}\n'
    )
    assert cli_invoke(["scan", str(f)]).exit_code == 0


def test_a_suppression_without_a_reason_is_an_error(tmp_path) -> None:
    f = tmp_path / "main.tf"
    f.write_text(
        'resource "aws_ecs_task_definition" "x" {\n  family = "x"\n  # ecs5probe:skip=ECS.5\n'
        '  container_definitions = jsonencode([{ name = "a", image = "a", user = "1000" }])\n}\n'
    )
    r = cli_invoke(["scan", str(f)])
    assert r.exit_code == 2 and "has no reason" in r.stderr


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ('merge({ a = 1 }, { b = "x" })', {"a": 1, "b": "x"}),
        ("concat([1], [2, 3])", [1, 2, 3]),
        ('[for k, v in { a = "1" } : { name = k, value = v }]', [{"name": "a", "value": "1"}]),
        ("true ? 1 : var.nope", 1),
        ('lookup({ a = 1 }, "b", 2)', 2),
        ('"${var.nope}-x"', hcl.Unknown("${var.nope}-x")),
        ('format("%s:%d", "a", 1)', "a:1"),
        ("jsondecode(jsonencode({ a = [true] }))", {"a": [True]}),
        ("1 + 2 * 3", 7),
        ('upper("a") == "A"', True),
        ("local.loop", hcl.Unknown("${local.loop}")),
    ],
)
def test_the_evaluator(expr, expected, tmp_path) -> None:
    f = tmp_path / "main.tf"
    f.write_text("locals {\n  loop = local.loop\n}\n")
    m = hcl.Module(f, f.read_text())
    value = m.expression(expr, {})
    assert value == expected and hcl.unknown(value) == hcl.unknown(expected)


def test_tfvars_override_defaults(tmp_path) -> None:
    (tmp_path / "main.tf").write_text(
        'variable "ro" {\n  default = false\n}\nresource "aws_ecs_task_definition" "x" {\n  family = "x"\n'
        '  container_definitions = jsonencode([{ name = "a", image = "a", readonlyRootFilesystem = var.ro }])\n}\n'
    )
    assert cli_invoke(["scan", str(tmp_path / "main.tf"), "--control", "ECS.5"]).exit_code == 1
    (tmp_path / "terraform.tfvars").write_text("ro = true\n")
    assert cli_invoke(["scan", str(tmp_path / "main.tf"), "--control", "ECS.5"]).exit_code == 0


def test_the_template_provider_and_paths_relative_to_the_root_module(monkeypatch) -> None:
    """``data.template_file.X.rendered`` is rendered; ``file("legacy/...")`` is relative to where
    terraform runs (the root module), here the directory scan runs from."""
    monkeypatch.chdir(MODULE.parents[1])  # tests/data/scan/tf: the root module of legacy/
    r = cli_invoke(["scan", "legacy/main.tf", "--format", "json", "--control", "ECS.5"])
    assert r.exit_code == 0, r.output
    got = {x["name"]: (x["container"], x["verdict"]) for x in json.loads(r.stdout)}
    assert got == {
        "aws_ecs_task_definition.api": ("api", "PASSED"),
        "aws_ecs_task_definition.api_011": ("api", "PASSED"),  # Terraform 0.11's vars { } block
        "aws_ecs_task_definition.cwd_relative": ("worker", "PASSED"),
    }


def test_template_directives_are_rendered(tmp_path) -> None:
    (tmp_path / "c.json.tpl").write_text(
        '[{"name": "app", "image": "${image}",\n'
        '  "environment": [\n'
        "  %{~ for k, v in env ~}\n"
        '    {"name": "${k}", "value": "${v}"},\n'
        "  %{~ endfor ~}\n"
        '    {"name": "LAST", "value": "x"}],\n'
        "%{ if read_only ~}\n"
        '  "readonlyRootFilesystem": true,\n'
        "%{ else ~}\n"
        '  "readonlyRootFilesystem": false,\n'
        "%{ endif ~}\n"
        '  "user": "1000"}]\n'
    )
    (tmp_path / "main.tf").write_text(
        'variable "image" {}\nresource "aws_ecs_task_definition" "x" {\n  family = "x"\n'
        '  container_definitions = templatefile("${path.module}/c.json.tpl", {\n'
        '    image = var.image, env = { A = "1", B = "2" }, read_only = true\n  })\n}\n'
    )
    r = cli_invoke(["scan", str(tmp_path / "main.tf"), "--format", "json"])
    assert r.exit_code == 0, r.output
    assert {x["control"]: x["verdict"] for x in json.loads(r.stdout)} == {
        "ECS.5": "PASSED",
        "ECS.20": "PASSED",
        "ECS.4": "PASSED",
    }
    m = hcl.Module(tmp_path / "main.tf", (tmp_path / "main.tf").read_text())
    rendered = m.template((tmp_path / "c.json.tpl").read_text(), {"image": "i", "env": {"A": "1"}, "read_only": False})
    defs = json.loads(rendered)
    assert defs[0]["environment"] == [{"name": "A", "value": "1"}, {"name": "LAST", "value": "x"}]
    assert defs[0]["readonlyRootFilesystem"] is False
    unknown = m.template("%{ if var.nope }x%{ endif }", {})
    assert hcl.unknown(unknown) and "not known statically" in unknown


def test_the_community_ecs_module_calls_are_task_definitions() -> None:
    """``terraform-aws-modules/ecs/aws`` and its ``//modules/service``: the containers as the module
    writes them (readonlyRootFilesystem true by its default, snake_case arguments of v5)."""
    src = MODULE.parents[1] / "community" / "main.tf"
    r = cli_invoke(["scan", str(src), "--format", "json"])
    assert r.exit_code == 1, r.output
    v = {(x["name"], x["container"], x["control"]): x for x in json.loads(r.stdout)}
    assert {k[0] for k in v} == {"module.ecs_service", 'module.ecs.services["worker"]'}  # not the vpc
    assert v[("module.ecs_service", "frontend", "ECS.5")]["verdict"] == "PASSED"  # the module's default
    fluent = v[("module.ecs_service", "fluent-bit", "ECS.5")]
    assert fluent["verdict"] == "FAILED" and fluent["keyLine"] == 19
    assert v[('module.ecs.services["worker"]', "worker", "ECS.5")]["verdict"] == "FAILED"


def test_a_json_list_of_container_definitions_is_judged(tmp_path) -> None:
    """What ``register-task-definition --container-definitions file://x.json`` takes."""
    f = tmp_path / "containers.json"
    f.write_text('[\n  {"name": "web", "image": "nginx",\n   "readonlyRootFilesystem": false}\n]\n')
    r = cli_invoke(["scan", str(f), "--format", "json", "--control", "ECS.5"])
    (row,) = json.loads(r.stdout)
    assert r.exit_code == 1 and row["name"] == "containers" and row["verdict"] == "FAILED"
    assert row["line"] == 2 and row["keyLine"] == 3


def _module(root: Path, rel: str, body: str) -> None:
    d = root / rel
    d.mkdir(parents=True, exist_ok=True)
    (d / "main.tf").write_text(body)


SVC = """variable "name" {}
variable "read_only" {
  default = %s
}
resource "aws_ecs_task_definition" "this" {
  family = var.name
  container_definitions = jsonencode([{
    name = var.name, image = "nginx", user = "1000"
    readonlyRootFilesystem = var.read_only
  }])
}
"""


def _ecs5(*args: str) -> dict[str, tuple[str, str]]:
    r = cli_invoke(["scan", *args, "--format", "json", "--control", "ECS.5"])
    assert r.exit_code in (0, 1), r.output
    return {
        x["name"]: (x["verdict"], f"{Path(x['file']).parent.name}/{Path(x['file']).name}") for x in json.loads(r.stdout)
    }


@pytest.mark.parametrize("default", ["true", "false"])
def test_a_local_module_is_judged_with_each_call_s_arguments(default, tmp_path, monkeypatch) -> None:
    """As terraform plan makes it: the caller's arguments over the module's defaults, both ways (a
    default true called with false is a failure, never a pass)."""
    _module(tmp_path, "modules/svc", SVC % default)
    (tmp_path / "main.tf").write_text(
        'module "web" {\n  source = "./modules/svc"\n  name = "web"\n  read_only = true\n}\n'
        'module "worker" {\n  source = "./modules/svc"\n  name = "worker"\n  read_only = var.ro\n}\n'
        'variable "ro" {\n  default = false\n}\n'
    )
    monkeypatch.chdir(tmp_path)
    called = {
        "module.web.aws_ecs_task_definition.this": ("PASSED", "svc/main.tf"),
        "module.worker.aws_ecs_task_definition.this": ("FAILED", "svc/main.tf"),
    }
    # the walk: the module's own reading (its defaults) gives way to the calls that make it
    assert _ecs5(".") == called
    assert _ecs5("main.tf") == called  # the root alone still follows its calls
    alone = "PASSED" if default == "true" else "FAILED"  # no call read: the module with its defaults
    assert _ecs5("modules/svc") == {"aws_ecs_task_definition.this": (alone, "svc/main.tf")}
    (tmp_path / "terraform.tfvars").write_text("ro = true\n")  # the root's tfvars reach the call
    assert _ecs5(".")["module.worker.aws_ecs_task_definition.this"][0] == "PASSED"
    (tmp_path / "modules/svc/terraform.tfvars").write_text("read_only = true\n")  # not a called module's
    (tmp_path / "terraform.tfvars").write_text("ro = false\n")
    assert _ecs5(".")["module.worker.aws_ecs_task_definition.this"][0] == "FAILED"


def test_local_module_outputs_nesting_loops_and_suppressions(tmp_path, monkeypatch) -> None:
    """``module.X.OUTPUT`` evaluated with the call's arguments; calls of calls named in full; a module
    calling itself is not followed forever; a comment in the module's file applies to its calls."""
    _module(
        tmp_path,
        "modules/cd",
        'variable "ro" {\n  default = true\n}\nlocals {\n'
        '  c = { name = "api", image = "x", user = "1", readonlyRootFilesystem = var.ro }\n}\n'
        'output "json" {\n  value = jsonencode([local.c])\n}\noutput "map" {\n  value = local.c\n}\n',
    )
    _module(tmp_path, "modules/outer", 'variable "ro" {}\nmodule "inner" {\n  source = "../inner"\n  ro = var.ro\n}\n')
    _module(
        tmp_path,
        "modules/inner",
        'variable "ro" {}\nmodule "again" {\n  source = "../inner"\n  ro = var.ro\n}\n'
        'resource "aws_ecs_task_definition" "deep" {\n  family = "deep"\n'
        "  # ecs5probe:skip=ECS.5 the legacy agent writes its spool\n"
        '  container_definitions = jsonencode([{ name = "d", image = "d", user = "1", readonlyRootFilesystem = var.ro }])\n}\n',
    )
    (tmp_path / "main.tf").write_text(
        'module "cd" {\n  source = "./modules/cd"\n  ro = false\n}\n'
        'module "outer" {\n  source = "./modules/outer"\n  ro = false\n}\n'
        'resource "aws_ecs_task_definition" "json" {\n  family = "a"\n  container_definitions = module.cd.json\n}\n'
        'resource "aws_ecs_task_definition" "map" {\n'
        '  family = "b"\n  container_definitions = jsonencode([module.cd.map])\n}\n'
        'resource "aws_ecs_task_definition" "remote" {\n  family = "c"\n  container_definitions = module.nowhere.json\n}\n'
    )
    monkeypatch.chdir(tmp_path)
    r = cli_invoke(["scan", "main.tf", "--format", "json", "--control", "ECS.5"])
    rows = {x["name"]: x for x in json.loads(r.stdout)}
    assert rows["aws_ecs_task_definition.json"]["verdict"] == "FAILED"  # the module's default true, called false
    assert rows["aws_ecs_task_definition.map"]["verdict"] == "FAILED"
    assert rows["aws_ecs_task_definition.remote"]["verdict"] == "UNKNOWN"
    deep = rows["module.outer.module.inner.aws_ecs_task_definition.deep"]
    assert deep["verdict"] == "FAILED" and deep["suppressed"] is True
    assert deep["file"].endswith("modules/inner/main.tf")
    assert not [n for n in rows if "again" in n]  # inner calling itself: not followed


def test_a_local_wrapper_of_the_community_module_is_judged_with_its_call(tmp_path, monkeypatch) -> None:
    """The common wrapper: a local module calling terraform-aws-modules/ecs//modules/service with its own
    variables; the call's argument decides, and a walk judges the wrapper through its call only."""
    _module(
        tmp_path,
        "modules/wrapper",
        'variable "ro" {\n  default = true\n}\nmodule "svc" {\n'
        '  source = "terraform-aws-modules/ecs/aws//modules/service"\n  name = "api"\n'
        '  container_definitions = {\n    app = { image = "x", user = "1", readonly_root_filesystem = var.ro }\n  }\n}\n',
    )
    (tmp_path / "main.tf").write_text('module "wrap" {\n  source = "./modules/wrapper"\n  ro = false\n}\n')
    monkeypatch.chdir(tmp_path)
    assert _ecs5(".") == {"module.wrap.module.svc": ("FAILED", "wrapper/main.tf")}
    assert _ecs5("modules/wrapper") == {"module.svc": ("PASSED", "wrapper/main.tf")}  # alone: its default


def test_count_for_each_types_and_null_shape_what_local_modules_make(tmp_path, monkeypatch) -> None:
    """count = 0 and for_each = {} make nothing (a resource's count too); each instance of for_each is
    addressed by its key and judged with its each.value; null to a ``nullable = false`` variable is its
    default, and "true" to a bool variable is true."""
    _module(
        tmp_path,
        "modules/svc",
        'variable "ro" {\n  type = bool\n  default = true\n  nullable = false\n}\n'
        'variable "make" {\n  default = true\n}\n'
        'resource "aws_ecs_task_definition" "x" {\n  count = var.make ? 1 : 0\n  family = "x"\n'
        '  container_definitions = jsonencode([{ name = "app", image = "n", user = "1", readonlyRootFilesystem = var.ro }])\n}\n',
    )
    (tmp_path / "main.tf").write_text(
        'module "off" {\n  source = "./modules/svc"\n  count = 0\n  ro = false\n}\n'
        'module "none" {\n  source = "./modules/svc"\n  for_each = {}\n  ro = false\n}\n'
        'module "unmade" {\n  source = "./modules/svc"\n  make = false\n  ro = false\n}\n'
        'module "each" {\n  source = "./modules/svc"\n  for_each = { a = true, b = false }\n  ro = each.value\n}\n'
        'module "two" {\n  source = "./modules/svc"\n  count = 2\n  ro = count.index == 1\n}\n'
        'module "null" {\n  source = "./modules/svc"\n  ro = null\n}\n'
        'module "text" {\n  source = "./modules/svc"\n  ro = "true"\n}\n'
    )
    monkeypatch.chdir(tmp_path)
    got = {k.split(".aws_ecs")[0]: v[0] for k, v in _ecs5(".").items()}
    assert got == {
        'module.each["a"]': "PASSED",
        'module.each["b"]': "FAILED",
        "module.two[0]": "FAILED",
        "module.two[1]": "PASSED",
        "module.null": "PASSED",
        "module.text": "PASSED",
    }


def test_outputs_that_need_themselves_roots_that_share_a_module_and_unknown_encodings(tmp_path, monkeypatch) -> None:
    """A call whose argument reads its own module's output is no loop (the file is judged); two roots
    calling one module say which call made each row; jsonencode of a list holding a remote module's
    output is unknown, not a string where a container is; replace() takes Terraform's /regex/."""
    _module(tmp_path, "modules/role", 'variable "r" {}\noutput "arn" {\n  value = aws_iam_role.r.arn\n}\n')
    _module(
        tmp_path,
        "modules/svc",
        'variable "defs" {\n  default = "[]"\n}\nresource "aws_ecs_task_definition" "x" {\n  family = "x"\n'
        "  container_definitions = var.defs\n}\n",
    )
    for root in ("dev", "prod"):
        _module(
            tmp_path,
            root,
            'module "build" {\n  source = "../modules/role"\n  r = module.build.arn\n}\n'
            'module "svc" {\n  source = "../modules/svc"\n'
            '  defs = replace(jsonencode([{ name = "a", image = "a", user = "null", readonlyRootFilesystem = true }]),'
            ' "/\\"(null)\\"/", "$1")\n}\n',
        )
    _module(
        tmp_path,
        "remote",
        'module "c1" {\n  source = "cloudposse/ecs-container-definition/aws"\n}\n'
        'module "svc" {\n  source = "../modules/svc"\n  defs = jsonencode([module.c1.json_map_object])\n}\n',
    )
    monkeypatch.chdir(tmp_path)
    r = cli_invoke(["scan", ".", "--format", "json"])
    assert r.exit_code == 1, r.output  # findings, no file that cannot be read
    rows = {(x["name"], x["control"]): x for x in json.loads(r.stdout)}
    for root in ("dev", "prod"):
        name = f"module.svc.aws_ecs_task_definition.x (called at {root}/main.tf:5)"
        assert rows[(name, "ECS.5")]["verdict"] == "PASSED"
        assert rows[(name, "ECS.20")]["verdict"] == "FAILED"  # "null" became null: no user
    remote = "module.svc.aws_ecs_task_definition.x (called at remote/main.tf:4)"
    assert rows[(remote, "ECS.5")]["verdict"] == "UNKNOWN"


def test_a_community_service_that_makes_no_task_definition_is_not_one(tmp_path) -> None:
    """aws-ia/ecs-blueprints' shape: the service module told create_task_definition = false, given the
    ARN of a task definition made beside it: that resource is judged, the call is no document."""
    (tmp_path / "main.tf").write_text(
        'resource "aws_ecs_task_definition" "this" {\n  family = "q"\n'
        '  container_definitions = jsonencode([{ name = "q", image = "q", user = "1" }])\n}\n'
        'module "ecs_service" {\n  source = "terraform-aws-modules/ecs/aws//modules/service"\n'
        "  create_task_definition = false\n  task_definition_arn = aws_ecs_task_definition.this.arn\n}\n"
    )
    assert scan_verdicts(str(tmp_path), "ECS.5", 1) == [("aws_ecs_task_definition.this", "FAILED")]


def test_a_called_module_that_cannot_be_read_is_unknown_never_a_pass(tmp_path) -> None:
    """Scanning the root alone: the module's malformed file holds a task definition nobody can judge;
    the call says so (UNKNOWN, exit 1) rather than passing the root with nothing found."""
    _module(tmp_path, "m", 'resource "aws_ecs_task_definition" "x" {\n  family = "x"\n  container_definitions = [\n')
    (tmp_path / "main.tf").write_text('module "m" {\n  source = "./m"\n}\n')
    r = cli_invoke(["scan", str(tmp_path / "main.tf"), "--format", "json", "--control", "ECS.5"])
    assert r.exit_code == 1, r.output
    [row] = json.loads(r.stdout)
    assert row["verdict"] == "UNKNOWN" and "malformed HCL" in row["reason"] and row["name"] == "module.m.main.tf"
