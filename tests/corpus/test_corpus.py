"""Real files of public repositories, each scanned as its users would (from the repository's root),
against the verdicts written by hand in expected.yaml. The files are staged outside git under
``$ECS5PROBE_CORPUS/<owner>+<name>/<path>``; without that variable these tests are deselected."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from tests.fakes import cli_invoke

pytestmark = pytest.mark.corpus

EXPECTED = Path(__file__).with_name("expected.yaml")
MAIN = {"ECS.5", "CKV_K8S_22", "read_only"}


def _entries() -> list[dict[str, Any]]:
    return list(YAML(typ="safe").load(EXPECTED.read_text())["files"])


def _root() -> Path:
    return Path(os.environ.get("ECS5PROBE_CORPUS", "/nonexistent"))


def test_the_corpus_is_large_and_varied() -> None:
    entries = _entries()
    assert len(entries) >= 40
    kinds = {Path(e["path"]).suffix for e in entries}
    assert {".tf", ".yaml", ".yml"} <= kinds
    assert all(len(e["commit"]) == 40 for e in entries)


@pytest.mark.parametrize("entry", _entries(), ids=lambda e: f"{e['repository']}/{e['path']}")
def test_each_file_scanned_as_its_users_do(entry: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    repo = _root() / entry["repository"].replace("/", "+")
    if not (repo / entry["path"]).is_file():
        pytest.fail(f"not staged: {repo / entry['path']} (at {entry['commit']})")
    monkeypatch.chdir(repo)
    monkeypatch.setenv("ECS5PROBE_COMPOSE", "builtin")
    r = cli_invoke(["scan", entry["path"], "--format", "json"])
    assert r.exit_code == entry["exit"], r.output
    got = {
        f"{x['name']} | {x['container']}": f"{x['verdict']} {x['line']}"
        for x in json.loads(r.stdout)
        if x.get("control") in MAIN
    }
    assert got == entry["verdicts"]


def test_the_whole_corpus_walked_at_once_reads_every_file() -> None:
    r = cli_invoke(["scan", str(_root()), "--format", "json"])
    assert r.exit_code != 2, r.stderr
    files = {Path(x["file"]).relative_to(_root()).as_posix() for x in json.loads(r.stdout) if "control" in x}
    for e in _entries():
        assert f"{e['repository'].replace('/', '+')}/{e['path']}" in files
