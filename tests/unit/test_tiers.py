"""The tiers hold: every test in a tier's folder carries its marker, so that `-m` and the folder skip in
tests/conftest.py agree (a real-Docker test without its marker would run, or vanish, in the fast tier)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]


def _module_marks(path: Path) -> set[str]:
    marks = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets):
            marks |= {n.attr for n in ast.walk(node.value) if isinstance(n, ast.Attribute) and n.attr != "mark"}
    return marks


@pytest.mark.parametrize("tier", ["integration", "external"])
def test_every_test_module_of_a_tier_carries_its_marker(tier: str) -> None:
    modules = sorted((TESTS / tier).glob("test_*.py"))
    assert modules, f"no test modules under tests/{tier}"
    unmarked = [p.name for p in modules if tier not in _module_marks(p)]
    assert unmarked == []


def test_no_unit_test_module_is_marked_as_another_tier() -> None:
    marked = [p.name for p in (TESTS / "unit").glob("test_*.py") if _module_marks(p) & {"integration", "external"}]
    assert marked == []
