"""The sibling controls against Checkov where Checkov has them: ECS.4 is CKV_AWS_334; the restricted
profile's fields are CKV_K8S_23 (non-root), CKV_K8S_20 (no privilege escalation), CKV_K8S_37 (drop ALL)
and CKV_K8S_16 (not privileged). ECS.20 has no Checkov check."""

from __future__ import annotations

from pathlib import Path

import pytest

from ecs5probe.platforms import find, get
from tests.external.conftest import FAILED, PASSED, run_checkov
from tests.external.test_checkov_k8s import checkov_id

pytestmark = pytest.mark.external
DATA = Path(__file__).resolve().parents[1] / "data" / "controls"


def worst(platform: str, directory: Path, control: str, name=lambda n: n) -> dict[str, str]:
    out = {}
    for d in find([str(directory)], get(platform)):
        verdicts = {str(v.verdict) for v in get(platform).evaluate(d.body, [control])}
        out[name(d.name)] = next(v for v in (FAILED, "NOT_APPLICABLE", PASSED) if v in verdicts)
    return out


def test_ecs4_against_checkovs_ckv_aws_334(checkov) -> None:
    mine = worst("ecs", DATA / "tf", "ECS.4")
    assert mine == {
        "aws_ecs_task_definition.plain": PASSED,
        "aws_ecs_task_definition.privileged": FAILED,
        "aws_ecs_task_definition.not_privileged": PASSED,
    }
    theirs = run_checkov(checkov, DATA / "tf", "CKV_AWS_334")
    # Checkov's CKV_AWS_334 reads a key `privilege` that container definitions do not have, so it passes
    # a container with `privileged: true`; Security Hub's ECS.4 fails it, as here.
    assert {r: (mine[r], theirs[r]) for r in mine if mine[r] != theirs[r]} == {
        "aws_ecs_task_definition.privileged": (FAILED, PASSED)
    }


@pytest.mark.parametrize("control", ["CKV_K8S_23", "CKV_K8S_20", "CKV_K8S_37", "CKV_K8S_16"])
def test_the_restricted_profile_is_checkovs_but_where_documented(checkov, control) -> None:
    theirs = run_checkov(checkov, DATA / "k8s", control, "kubernetes")
    mine = worst("kubernetes", DATA / "k8s", control, checkov_id)
    assert set(theirs) == set(mine) and len(mine) == 4
    differ = {r: (mine[r], theirs[r]) for r in mine if mine[r] != theirs[r]}
    # Deliberate: Checkov's CKV_K8S_23 reads `containers` only, the restricted profile init containers
    # too (a root init container fails here); and the profile allows adding only NET_BIND_SERVICE
    # after drop ALL, where Checkov's CKV_K8S_37 passes any addition.
    expected = {
        "CKV_K8S_23": {"Pod.default.root-init": (FAILED, PASSED)},
        "CKV_K8S_37": {"Pod.default.sys-admin": (FAILED, PASSED)},
    }
    assert differ == expected.get(control, {})
