"""The ways users take ecs5probe besides pip: the GitHub Action's scan step and the pre-commit hook's
definition, run as GitHub and pre-commit run them (the full installs: tests/external/test_distribution.py)."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "data" / "taskdefs" / "corpus"
# The console script installed beside this Python comes first: the tests run whether or not the
# virtualenv is activated, and never pick up another installation's ecs5probe from PATH.
ENV = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}


def _expand(text: str, inputs: dict[str, str]) -> str:
    """GitHub's ``${{ inputs.X }}`` and ``${{ github.action_path }}`` substitution."""
    text = text.replace("${{ github.action_path }}", str(ROOT))
    return re.sub(r"\$\{\{\s*inputs\.([\w-]+)\s*\}\}", lambda m: inputs[m.group(1)], text)


def run_action_step(step_id: str, given: dict[str, str], tmp_path: Path) -> tuple[int, str, dict[str, str]]:
    """One step of action.yml, with the action's defaults for inputs not given: exit code, stdout, outputs."""
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    inputs = {k: str(v.get("default", "")) for k, v in action["inputs"].items()} | given
    (step,) = [s for s in action["runs"]["steps"] if s.get("id") == step_id]
    out = tmp_path / "github_output"
    out.write_text("")
    env = {**ENV, "GITHUB_OUTPUT": str(out)}
    env |= {k: _expand(str(v), inputs) for k, v in step.get("env", {}).items()}
    r = subprocess.run(["bash", "-c", _expand(step["run"], inputs)], capture_output=True, text=True, env=env, cwd=ROOT)
    outputs = dict(line.split("=", 1) for line in out.read_text().splitlines() if "=" in line)
    return r.returncode, r.stdout, outputs


def test_the_action_is_a_composite_that_installs_the_pinned_versions_then_scans() -> None:
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    install, scan = (
        s for s in action["runs"]["steps"] if s.get("name") == "Install ecs5probe" or s.get("id") == "scan"
    )
    assert "-c" in shlex.split(install["run"]) and "constraints.txt" in install["run"]
    assert scan["id"] == "scan" and "ecs5probe scan" in scan["run"]
    assert action["outputs"]["exit-code"]["value"] == "${{ steps.scan.outputs.exit-code }}"


def test_the_actions_scan_step_fails_a_failing_definition_and_passes_a_good_one(tmp_path) -> None:
    rc, out, outputs = run_action_step("scan", {"paths": f"{CORPUS / 'list.json'}"}, tmp_path)
    assert rc == 1 and outputs == {"exit-code": "1"} and "FAILED" in out
    good = tmp_path / "good"
    good.mkdir()
    (good / "taskdef.json").write_text(
        '{"family": "ok", "containerDefinitions": [{"name": "a", "image": "a:1", "readonlyRootFilesystem": true, '
        '"user": "1000:1000"}]}'
    )
    rc, out, outputs = run_action_step(
        "scan", {"paths": f"{good} {CORPUS / 'windows.json'}", "format": "json"}, tmp_path
    )
    assert rc == 0 and outputs == {"exit-code": "0"}
    assert {row["verdict"] for row in yaml.safe_load(out)} == {"PASSED", "NOT_APPLICABLE"}
    rc, _, _ = run_action_step("scan", {"paths": str(CORPUS), "platform": "kubernetes"}, tmp_path)
    assert rc == 0  # no Kubernetes manifest there: nothing fails
    rc, out, _ = run_action_step(
        "scan", {"paths": str(CORPUS / "list.json"), "control": "ECS.4", "format": "json"}, tmp_path
    )
    assert {row["control"] for row in yaml.safe_load(out)} == {"ECS.4"}


def test_the_pre_commit_hook_passes_every_yaml_file_and_fails_only_on_documents(tmp_path) -> None:
    """pre-commit hands the hook every file its pattern matches, CI workflows and all."""
    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "ecs5probe-scan" and hook["language"] == "python"
    files = [ROOT / "action.yml", ROOT / ".pre-commit-hooks.yaml", CORPUS / "windows.json", ROOT / "pyproject.toml"]
    matched = [str(f) for f in files if re.search(hook["files"], str(f))]
    assert len(matched) == 3  # pyproject.toml is not passed
    ok = subprocess.run([*shlex.split(hook["entry"]), *matched], capture_output=True, text=True, env=ENV)
    assert ok.returncode == 0, ok.stderr
    bad = subprocess.run(
        [*shlex.split(hook["entry"]), *matched, str(CORPUS / "list.json")], capture_output=True, text=True, env=ENV
    )
    assert bad.returncode == 1 and "FAILED" in bad.stdout
