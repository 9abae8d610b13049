"""The tiers: a `-m` expression that leaves out a tier's marker leaves its folder uncollected, so the
fast tier (`-m 'not integration and not external'`) never imports the Docker SDK, testcontainers or
boto3 (their folders' conftests do), and says so if something else did. Every test gets its own
result cache (ECS5PROBE_CACHE_DIR), so that no cached result leaks between tests."""

from __future__ import annotations

import itertools
import re
import sys
from pathlib import Path

import pytest
from _pytest.mark.expression import Expression

HERE = Path(__file__).resolve().parent
# Each tier's folder and the marker every test in it carries (tests/unit/test_shape.py checks that).
TIERS = {HERE / "integration": "integration", HERE / "external": "external"}
HEAVY = ("docker", "testcontainers", "boto3")


def _excluded(config: pytest.Config, marker: str) -> bool:
    """True when no test carrying ``marker`` can match the ``-m`` expression, whatever other markers
    it carries (``-m serial`` keeps the integration folder: its serial tests are integration tests)."""
    expr = config.getoption("markexpr") or ""
    if not expr:
        return False
    compiled = Expression.compile(expr)
    others = sorted(set(re.findall(r"[A-Za-z_][\w-]*", expr)) - {"and", "or", "not", marker})
    for values in itertools.product((False, True), repeat=len(others)):
        given = dict(zip(others, values, strict=True)) | {marker: True}
        if compiled.evaluate(lambda name, g=given: g.get(name, False)):
            return False
    return True


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    for folder, marker in TIERS.items():
        if collection_path == folder or folder in collection_path.parents:
            return True if _excluded(config, marker) else None
    return None


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if all(_excluded(session.config, m) for m in TIERS.values()):
        loaded = sorted(m for m in HEAVY if m in sys.modules)
        if loaded:
            print(f"\nthe fast tier imported {', '.join(loaded)}: a unit test or the package face reaches for it")
            session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(autouse=True)
def _own_cache_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ECS5PROBE_CACHE_DIR", str(tmp_path_factory.mktemp("ecs5probe-cache")))
