"""Platforms as plug-ins: every registered one implements the interface; outputs that lose nothing."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from ecs5probe.model import Mount
from ecs5probe.platforms import PlatformName, get, read, to_platform
from ecs5probe.platforms.ecs import terraform
from ecs5probe.platforms.interface import Platform

RICH = Path(__file__).resolve().parents[1] / "data" / "taskdefs" / "rich" / "rich.json"
MOUNTS = {"app": [Mount("/run"), Mount("/var/lib/app", kind="volume")], "envoy": [Mount("/tmp")]}


@pytest.mark.parametrize("name", list(PlatformName))
def test_every_registered_platform_implements_the_whole_interface(name: PlatformName) -> None:
    p = to_platform(name)  # an ABC with an abstract method left would not instantiate
    assert isinstance(p, Platform) and p.name == name.value and p.formats
    for method in ("mount_spec", "reads", "read", "evaluate", "deployment", "patch", "harden", "render", "fragment"):
        assert callable(getattr(p, method))


def patched_rich() -> dict:
    td = json.loads(RICH.read_text())
    out, _ = get("ecs").patch(td, MOUNTS, None)
    return out


def test_round_trip_json_validates_with_botocore() -> None:
    from botocore.session import get_session
    from botocore.validate import ParamValidator

    out = patched_rich()
    model = get_session().get_service_model("ecs").operation_model("RegisterTaskDefinition").input_shape
    report = ParamValidator().validate(out, model)
    assert not report.has_errors(), report.generate_report()
    src = json.loads(RICH.read_text())
    for key in src:  # nothing dropped
        assert key in out, key


def test_round_trip_terraform_parses_and_reads_back_every_argument(tmp_path) -> None:
    import hcl2
    from hcl2.utils import SerializationOptions

    out = patched_rich()
    text = terraform.render(out, "rich")
    (tmp_path / "main.tf").write_text(text)
    parsed = hcl2.loads(text, serialization_options=SerializationOptions(strip_string_quotes=True))
    body = parsed["resource"][0]["aws_ecs_task_definition"]["rich"]
    for arg in (
        "task_role_arn",
        "execution_role_arn",
        "runtime_platform",
        "ephemeral_storage",
        "proxy_configuration",
        "pid_mode",
        "ipc_mode",
        "placement_constraints",
        "tags",
        "volume",
    ):
        assert arg in body, arg
    (doc,) = list(read(tmp_path / "main.tf"))
    assert doc.body == out


def test_terraform_resolves_path_module_templatefile_and_locals(tmp_path) -> None:
    (tmp_path / "containers.json").write_text(
        json.dumps(
            [{"name": "app", "image": "app:1"}, {"name": "side", "image": "s:1", "readonlyRootFilesystem": False}]
        )
    )
    (tmp_path / "tpl.json.tftpl").write_text(
        '[{"name": "${name}", "image": "${image}", "readonlyRootFilesystem": true}]'
    )
    (tmp_path / "main.tf").write_text("""
locals {
  family = "from-locals"
}
resource "aws_ecs_task_definition" "a" {
  family                = local.family
  container_definitions = file("${path.module}/containers.json")
}
resource "aws_ecs_task_definition" "b" {
  family                = "b"
  container_definitions = templatefile("${path.module}/tpl.json.tftpl", { name = "web", image = "web:1" })
}
resource "aws_ecs_task_definition" "c" {
  family                = "c"
  container_definitions = file("${path.module}/${var.missing}.json")
}
""")
    docs = {d.name: d for d in read(tmp_path / "main.tf")}
    a = docs["aws_ecs_task_definition.a"]
    assert a.body["family"] == "from-locals"
    verdicts = get("ecs").evaluate(a.body, ["ECS.5"])
    assert [v.verdict for v in verdicts] == ["FAILED", "FAILED"]  # the sidecar is not a pass
    b = docs["aws_ecs_task_definition.b"]
    assert b.body["containerDefinitions"][0] == {"name": "web", "image": "web:1", "readonlyRootFilesystem": True}
    c = docs["aws_ecs_task_definition.c"]
    assert c.unresolved and "var.missing" in c.unresolved


def test_patch_keeps_the_input_untouched() -> None:
    td = json.loads(RICH.read_text())
    before = copy.deepcopy(td)
    get("ecs").patch(td, MOUNTS, None)
    assert td == before


def test_a_key_terraform_lacks_is_named_in_a_note_and_a_comment() -> None:
    import hcl2
    from hcl2.utils import SerializationOptions

    td = patched_rich()
    td["trustedExecutionConfiguration"] = {"mode": "on"}
    td["volumes"][0]["s3filesVolumeConfiguration"] = {"bucket": "b"}
    ecs = get("ecs")
    notes = ecs.unrepresented(td, "terraform")
    assert sorted(n.split(" ")[0] for n in notes) == [
        "trustedExecutionConfiguration",
        "volumes[0].s3filesVolumeConfiguration",
    ]
    text = ecs.render(td, "terraform", "rich")
    assert "# trustedExecutionConfiguration has no Terraform argument" in text
    parsed = hcl2.loads(text, serialization_options=SerializationOptions(strip_string_quotes=True))
    body = parsed["resource"][0]["aws_ecs_task_definition"]["rich"]
    assert not any("trusted" in k for k in body)
    assert ecs.unrepresented(patched_rich(), "terraform") == [] and ecs.unrepresented(td, "json") == []
