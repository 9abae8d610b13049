"""The tiers: a `-m` expression that leaves out a tier's marker leaves its folder uncollected, so the
fast tier (`-m 'not integration and not external'`) never imports the Docker SDK, testcontainers or
boto3 (their folders' conftests do), and says so if something else did. Every test gets its own
result cache (ECS5PROBE_CACHE_DIR), so that no cached result leaks between tests."""

from __future__ import annotations

import importlib.metadata
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


def pytest_configure(config: pytest.Config) -> None:
    """pytest 9.2.0 derives ``nodeid``, and pytest-xdist 3.8's ``--dist loadgroup`` renames it to group
    tests: its groups are then spread over the workers. Say so before the workers start (the check
    below, in each worker, would end the run with an internal error of xdist's instead)."""
    if not (config.getoption("dist", "no") == "loadgroup" and config.getoption("numprocesses", None)):
        return
    if _release("pytest") >= (9, 2) and _release("pytest-xdist") <= (3, 8):
        raise pytest.UsageError(
            f"pytest {pytest.__version__} breaks pytest-xdist's xdist_group: install the versions of constraints.txt"
        )


def _release(dist: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", importlib.metadata.version(dist))[:2])


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """In an xdist worker with ``--dist loadgroup``, xdist names each ``xdist_group`` test
    ``nodeid@group``; a pytest where that renaming no longer takes (9.2.0: ``nodeid`` became derived)
    spreads a group over the workers, and a module's one-per-machine fixture (the second daemon's
    bridge) is then made twice at once. Stop there, with the fix, rather than fail by chance later."""
    if not getattr(config.option, "loadgroup", False):
        return
    lost = [i.nodeid for i in items if i.get_closest_marker("xdist_group") and "@" not in i.nodeid]
    if lost:
        raise pytest.UsageError(
            f"pytest-xdist's xdist_group does not take with pytest {pytest.__version__} ({lost[0]}): "
            "install the versions of constraints.txt"
        )


@pytest.fixture(autouse=True)
def _own_cache_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ECS5PROBE_CACHE_DIR", str(tmp_path_factory.mktemp("ecs5probe-cache")))
