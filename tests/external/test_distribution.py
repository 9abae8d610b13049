"""The GitHub Action and the pre-commit hook installed for real, as their users' machines do: the
action's install step into a fresh virtualenv, and ``pre-commit try-repo`` on this repository."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
import yaml

from tests.unit.test_distribution import CORPUS, ROOT, _expand

pytestmark = pytest.mark.external


def test_the_actions_install_step_installs_a_working_ecs5probe_into_a_fresh_python(tmp_path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    install = action["runs"]["steps"][0]["run"]
    env = {**os.environ, "PATH": f"{venv / 'bin'}:{os.environ['PATH']}", "VIRTUAL_ENV": str(venv)}
    r = subprocess.run(["bash", "-c", _expand(install, {})], env=env, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-2000:]
    scan = subprocess.run(
        [str(venv / "bin" / "ecs5probe"), "scan", str(CORPUS / "list.json")], capture_output=True, text=True
    )
    assert scan.returncode == 1 and "FAILED" in scan.stdout


def test_pre_commit_try_repo_runs_the_hook_from_this_repository(tmp_path) -> None:
    """pre-commit installs the hook from a git repository: a copy of this one, committed as it is."""
    repo = tmp_path / "hook-repo"
    files = ["pyproject.toml", "constraints.txt", "README.md", ".pre-commit-hooks.yaml"]
    repo.mkdir()
    for f in files:
        shutil.copy(ROOT / f, repo / f)
    shutil.copytree(ROOT / "ecs5probe", repo / "ecs5probe", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "sample_images", repo / "sample_images")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"]
    subprocess.run([*git, "init", "-q", str(repo)], check=True)
    subprocess.run([*git, "-C", str(repo), "add", "-A"], check=True)
    subprocess.run([*git, "-C", str(repo), "commit", "-q", "-m", "hook"], check=True)
    work = tmp_path / "work"
    work.mkdir()
    subprocess.run([*git, "init", "-q", str(work)], check=True)
    (work / "ci.yml").write_text("on: push\njobs: {}\n")  # not a document: passed to the hook, skipped
    shutil.copy(CORPUS / "windows.json", work / "win.json")
    subprocess.run([*git, "-C", str(work), "add", "-A"], check=True)
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "cache")}
    cmd = [sys.executable, "-m", "pre_commit", "try-repo", str(repo), "ecs5probe-scan", "--all-files"]
    ok = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, timeout=900)
    assert ok.returncode == 0 and "Passed" in ok.stdout, ok.stdout[-3000:] + ok.stderr[-2000:]
    shutil.copy(CORPUS / "list.json", work / "taskdef.json")
    subprocess.run([*git, "-C", str(work), "add", "-A"], check=True)
    bad = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, timeout=900)
    assert bad.returncode == 1 and "Failed" in bad.stdout and "FAILED" in bad.stdout, bad.stdout[-3000:]
