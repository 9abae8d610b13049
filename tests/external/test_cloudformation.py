"""cfn-lint, in-process: the CloudFormation we write validated against AWS's resource schemas, and our
table of CloudFormation's names derived from them. cfn-lint imports boto3, so these run in the external
tier (beside checkov), keeping the fast tier free of it."""

from __future__ import annotations

import json

import pytest

from ecs5probe.platforms import get, read
from ecs5probe.platforms.ecs import cloudformation
from ecs5probe.platforms.ecs.cfn_names import NAMES
from ecs5probe.platforms.ecs.taskdef import PASSED, evaluate, patch
from tests.cfn_table import derive
from tests.unit.test_platforms import patched_rich
from tests.unit.test_taskdef import DESCRIBE, MOUNTS

pytestmark = pytest.mark.external


def test_cloudformation_names_are_cloudformations_own() -> None:
    """The shipped table equals the one derived from botocore's ECS model and cfn-lint's schema."""
    assert derive() == NAMES
    assert NAMES["TaskDefinition"]["volumes"] == ("Volumes", "Volume")
    assert NAMES["Volume"]["efsVolumeConfiguration"] == ("EFSVolumeConfiguration", "EFSVolumeConfiguration")
    assert NAMES["EFSVolumeConfiguration"]["fileSystemId"] == ("FilesystemId", None)
    assert NAMES["ProxyConfiguration"]["properties"] == ("ProxyConfigurationProperties", "KeyValuePair")


def test_round_trip_cloudformation_passes_cfn_lint_and_reads_back(tmp_path) -> None:
    from cfnlint.api import lint_all

    out = patched_rich()
    resources = json.loads(cloudformation.render(out, "Rich"))
    text = json.dumps({"AWSTemplateFormatVersion": "2010-09-09", "Resources": resources}, indent=2)
    errors = [m for m in lint_all(text) if str(m.rule.id).startswith("E")]
    assert errors == [], [str(m) for m in errors]
    props = resources["Rich"]["Properties"]
    assert props["Volumes"][0]["EFSVolumeConfiguration"]["FilesystemId"] == "fs-12345678"
    assert props["ProxyConfiguration"]["ProxyConfigurationProperties"][0] == {"Name": "IgnoredUID", "Value": "1337"}
    assert props["ContainerDefinitions"][0]["DockerLabels"] == {"com.example.team": "web"}  # user data kept
    (tmp_path / "t.json").write_text(text)
    (doc,) = list(read(tmp_path / "t.json"))
    assert doc.body == out


def test_a_key_cloudformation_lacks_is_named_in_a_note_never_invented(tmp_path) -> None:
    """Upstream drift: botocore's ECS model grows a field before CloudFormation's schema has it."""
    from cfnlint.api import lint_all

    td = patched_rich()
    td["trustedExecutionConfiguration"] = {"mode": "on"}
    td["containerDefinitions"][0]["newSidecarKnob"] = True
    ecs = get("ecs")
    notes = ecs.unrepresented(td, "cloudformation")
    assert sorted(n.split(" ")[0] for n in notes) == [
        "containerDefinitions[0].newSidecarKnob",
        "trustedExecutionConfiguration",
    ]
    props = json.loads(ecs.render(td, "cloudformation", "Rich"))["Rich"]["Properties"]
    assert "TrustedExecutionConfiguration" not in props
    assert "NewSidecarKnob" not in props["ContainerDefinitions"][0]
    assert props["ContainerDefinitions"][0]["DockerLabels"] == {"com.example.team": "web"}  # user data stays
    text = json.dumps(
        {
            "AWSTemplateFormatVersion": "2010-09-09",
            "Resources": {"Rich": {"Type": "AWS::ECS::TaskDefinition", "Properties": props}},
        }
    )
    assert [str(m) for m in lint_all(text) if str(m.rule.id).startswith("E")] == []
    assert ecs.unrepresented(patched_rich(), "cloudformation") == []  # every key of a full task definition maps


def test_cloudformation_output_passes_cfn_lint_and_scans_as_passed(tmp_path) -> None:
    from cfnlint.api import lint_all

    out, _ = patch(DESCRIBE, MOUNTS, "FARGATE")
    resources = json.loads(cloudformation.render(out, "Web"))
    template = {"AWSTemplateFormatVersion": "2010-09-09", "Resources": resources}
    text = json.dumps(template, indent=2)
    errors = [m for m in lint_all(text) if str(m.rule.id).startswith("E")]
    assert errors == [], [str(m) for m in errors]
    (tmp_path / "t.json").write_text(text)
    (src,) = list(read(tmp_path / "t.json"))
    assert {v.verdict for v in evaluate(src.body)} == {PASSED}
    props = resources["Web"]["Properties"]
    assert props["ContainerDefinitions"][0]["LinuxParameters"]["Tmpfs"][0] == {"ContainerPath": "/run", "Size": 64}
    assert props["ContainerDefinitions"][0]["ReadonlyRootFilesystem"] is True


def test_cfn_lint_check_is_not_a_tautology() -> None:
    from cfnlint.api import lint_all

    out, _ = patch(DESCRIBE, MOUNTS, "EC2")
    resources = json.loads(cloudformation.render(out, "Web"))
    resources["Web"]["Properties"]["ContainerDefinitions"][0]["LinuxParameters"]["Tmpfs"][0]["Size"] = "big"
    text = json.dumps({"AWSTemplateFormatVersion": "2010-09-09", "Resources": resources})
    assert [m for m in lint_all(text) if str(m.rule.id).startswith("E")]
