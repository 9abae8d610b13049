"""Same verdicts as Checkov's CKV_AWS_336 on Terraform, and the patched Terraform passes it.

checkov pins old botocore/packaging and ships its own `hcl2` module (bc-python-hcl2), which would
overwrite python-hcl2's files: it runs from its own virtualenv, made once per machine and cached.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ecs5probe.model import Mount
from ecs5probe.platforms import find
from ecs5probe.platforms.ecs import terraform
from ecs5probe.platforms.ecs.taskdef import FAILED, NOT_APPLICABLE, PASSED, UNKNOWN, evaluate, patch
from tests.external.conftest import run_checkov

pytestmark = pytest.mark.external

DATA = Path(__file__).resolve().parents[1] / "data" / "taskdefs"


def ours(directory: Path) -> dict[str, str]:
    out = {}
    for s in find([str(directory)]):
        verdicts = {v.verdict for v in evaluate(s.body)}
        out[s.name] = next(v for v in (FAILED, UNKNOWN, NOT_APPLICABLE, PASSED) if v in verdicts)
    return out


def test_same_verdicts_as_checkov(checkov) -> None:
    theirs, mine = run_checkov(checkov, DATA / "corpus" / "tf"), ours(DATA / "corpus" / "tf")
    assert set(theirs) == set(mine) and len(mine) == 8
    differ = {r: (mine[r], theirs[r]) for r in mine if mine[r] != theirs[r]}
    # Deliberate, documented differences: Security Hub does not apply ECS.5 to Windows task definitions,
    # and a variable without a default is unknown until deploy time (checkov passes it).
    assert differ == {
        "aws_ecs_task_definition.windows": (NOT_APPLICABLE, FAILED),
        "aws_ecs_task_definition.variable_unset": (UNKNOWN, PASSED),
    }


def test_patched_terraform_passes_checkov(checkov, tmp_path) -> None:
    for s in find([str(DATA / "corpus" / "tf")]):
        if s.unresolved or s.name.endswith(("windows", "unset")):
            continue
        fixed, _ = patch(s.body, {c["name"]: [Mount("/run")] for c in s.body["containerDefinitions"]}, "EC2")
        (tmp_path / f"{s.name.split('.')[1]}.tf").write_text(terraform.render(fixed, s.name.split(".")[1]))
    verdicts = run_checkov(checkov, tmp_path)
    assert len(verdicts) == 6 and set(verdicts.values()) == {PASSED}
