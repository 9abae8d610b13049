"""Kubernetes as clusters hold it: pod templates found by shape in any kind, Windows by node selector
or affinity, ``List`` objects, exact lines."""

from __future__ import annotations

import json
from pathlib import Path

from tests.fakes import cli_invoke

DATA = Path(__file__).resolve().parents[1] / "data" / "scan" / "k8s"


def _rows(name: str, *extra: str) -> list[dict]:
    r = cli_invoke(["scan", str(DATA / name), "--format", "json", *extra])
    assert r.exit_code in (0, 1), r.output
    return json.loads(r.stdout)


def _ro(name: str) -> dict[tuple[str, str], dict]:
    return {(x["name"], x["container"]): x for x in _rows(name, "--control", "CKV_K8S_22")}


def test_an_argo_rollout_is_judged_and_its_lines_are_the_containers() -> None:
    rows = _ro("rollout.yaml")
    assert {k: v["verdict"] for k, v in rows.items()} == {
        ("Rollout/shop", "shop"): "PASSED",
        ("Rollout/shop", "envoy"): "FAILED",
    }
    assert rows[("Rollout/shop", "shop")]["line"] == 17  # "- name: shop"
    assert rows[("Rollout/shop", "shop")]["keyLine"] == 20  # readOnlyRootFilesystem: true
    assert rows[("Rollout/shop", "envoy")]["line"] == 21 and rows[("Rollout/shop", "envoy")]["keyLine"] is None


def test_openshift_knative_and_keda_pod_templates_by_shape() -> None:
    rows = {k: v["verdict"] for k, v in _ro("openshift-knative-keda.yaml").items()}
    assert rows == {
        ("DeploymentConfig/legacy", "legacy"): "FAILED",
        ("Service/hello", "?"): "PASSED",
        ("ScaledJob/worker", "worker"): "FAILED",
    }


def test_argo_workflow_templates_each_judged_under_their_template_name() -> None:
    rows = {k: v["verdict"] for k, v in _ro("workflows.yaml").items()}
    assert rows == {
        ("Workflow/?", "compile"): "PASSED",
        ("Workflow/?", "report"): "FAILED",
        ("Workflow/?", "pair/a"): "PASSED",
        ("Workflow/?", "pair/b"): "FAILED",
        ("CronWorkflow/nightly", "run"): "FAILED",
        ("Task/build", "compile"): "PASSED",  # Tekton: each step is a container of the task's pod
        ("Task/build", "step-1"): "FAILED",
    }


def test_windows_by_node_selector_or_required_affinity_only() -> None:
    rows = _rows("windows.yaml")
    by = {(x["name"], x["control"]): x["verdict"] for x in rows}
    for control in ("CKV_K8S_22", "CKV_K8S_23", "CKV_K8S_16"):
        assert by[("Deployment/iis", control)] == "NOT_APPLICABLE"
        assert by[("Deployment/iis-affinity", control)] == "NOT_APPLICABLE"
    assert by[("Deployment/either", "CKV_K8S_22")] == "FAILED"  # Linux nodes are allowed too


def test_list_items_after_blank_lines_are_at_their_own_lines() -> None:
    rows = _rows("list-blank-lines.yaml")
    at = {(x["container"], x["control"]): (x["line"], x["keyLine"], x["verdict"]) for x in rows}
    assert at[("api", "CKV_K8S_22")] == (22, 25, "PASSED")
    assert at[("api", "CKV_K8S_23")] == (22, 26, "PASSED")
    assert at[("sidecar", "CKV_K8S_16")] == (27, 30, "FAILED")
    text = (DATA / "list-blank-lines.yaml").read_text().splitlines()
    assert text[22 - 1].strip() == "- name: api" and text[30 - 1].strip() == "privileged: true"


def test_sarif_points_at_the_offending_key() -> None:
    r = cli_invoke(["scan", str(DATA / "list-blank-lines.yaml"), "--format", "sarif"])
    results = json.loads(r.stdout)["runs"][0]["results"]
    privileged = next(x for x in results if x["ruleId"] == "CKV_K8S_16")
    assert privileged["locations"][0]["physicalLocation"]["region"]["startLine"] == 30
    prints = [x["partialFingerprints"]["ecs5probe/scan/v2"] for x in results]
    assert len(set(prints)) == len(prints)


def test_fingerprints_do_not_move_with_the_lines(tmp_path) -> None:
    src = (DATA / "rollout.yaml").read_text()
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    (a / "r.yaml").write_text(src)
    (b / "r.yaml").write_text("# a new comment\n\n" + src)

    def prints(d: Path) -> dict[str, tuple[str, int]]:
        import os

        old = os.getcwd()
        os.chdir(d)
        try:
            out = json.loads(cli_invoke(["scan", "r.yaml", "--format", "sarif"]).stdout)["runs"][0]["results"]
        finally:
            os.chdir(old)
        return {
            x["message"]["text"]: (
                x["partialFingerprints"]["ecs5probe/scan/v2"],
                x["locations"][0]["physicalLocation"]["region"]["startLine"],
            )
            for x in out
        }

    pa, pb = prints(a), prints(b)
    assert pa.keys() == pb.keys()
    for k in pa:
        assert pa[k][0] == pb[k][0] and pb[k][1] == pa[k][1] + 2


def test_an_object_with_containers_in_an_unknown_shape_is_named_not_dropped() -> None:
    good = str(DATA.parent / "walk" / "good.yaml")
    r = cli_invoke(["scan", str(DATA / "stray.yaml"), good, "--control", "CKV_K8S_22"])
    assert "stray.yaml:1" in r.stderr and "Thing/odd" in r.stderr
    assert r.exit_code == 1  # the good pod passes: only the stray fails the run
    assert cli_invoke(["scan", good, "--control", "CKV_K8S_22"]).exit_code == 0
    assert cli_invoke(["scan", str(DATA / "stray.yaml"), good, "--allow-unknown"]).exit_code == 0


def test_kubectl_json_is_kubernetes_in_a_walk_and_on_stdin() -> None:
    src = DATA.parent / "k8s-json" / "pods.json"
    walked = cli_invoke(["scan", str(src.parent), "--format", "json", "--control", "CKV_K8S_22"])
    assert walked.exit_code == 0, walked.output
    (row,) = json.loads(walked.stdout)
    assert row["name"] == "Pod/shop/api-7c9" and row["verdict"] == "PASSED" and row["line"] == 11  # its opening brace
    piped = cli_invoke(["scan", "-", "--control", "CKV_K8S_22"], input=src.read_text())
    assert piped.exit_code == 0 and "1 passed" in piped.stdout


def test_a_comment_in_one_list_item_suppresses_only_that_item() -> None:
    rows = _ro("list-comments.yaml")
    assert rows[("Pod/second", "b")]["suppressed"] is True
    assert rows[("Pod/first", "a")]["suppressed"] is False
