"""Same verdicts as Checkov's CKV_AWS_336 on Terraform, and the patched Terraform passes it.

checkov pins old botocore/packaging and ships its own `hcl2` module (bc-python-hcl2), which would
overwrite python-hcl2's files: it runs from its own virtualenv, made once per machine and cached.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ecs5probe.model import Mount
from ecs5probe.platforms import find
from ecs5probe.platforms.ecs import terraform
from ecs5probe.platforms.ecs.taskdef import FAILED, NOT_APPLICABLE, PASSED, UNKNOWN, evaluate, patch

pytestmark = pytest.mark.external

DATA = Path(__file__).resolve().parents[1] / "data" / "taskdefs"
VENV = Path(os.environ.get("ECS5PROBE_CHECKOV_VENV", Path.home() / ".cache" / "ecs5probe-checkov"))


@pytest.fixture(scope="session")
def checkov() -> str:
    exe = VENV / "bin" / "checkov"
    if not exe.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(VENV / "bin" / "pip"), "install", "-q", "checkov>=3.2"], check=True, timeout=900)
    return str(exe)


def run_checkov(exe: str, directory: Path) -> dict[str, str]:
    out = subprocess.run(
        [exe, "-d", str(directory), "--check", "CKV_AWS_336", "-o", "json", "--compact", "--skip-download"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE"},
    )
    doc = json.loads(out.stdout)
    doc = doc[0] if isinstance(doc, list) else doc
    res = doc["results"]
    return {
        **{c["resource"]: PASSED for c in res.get("passed_checks", [])},
        **{c["resource"]: FAILED for c in res.get("failed_checks", [])},
    }


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
