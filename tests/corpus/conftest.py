"""The corpus tier runs only where its files are staged: without ``ECS5PROBE_CORPUS`` its tests are
deselected (not skipped: they are not part of that run)."""

from __future__ import annotations

import os

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("ECS5PROBE_CORPUS"):
        return
    dropped = [i for i in items if i.get_closest_marker("corpus") is not None]
    if dropped:
        items[:] = [i for i in items if i.get_closest_marker("corpus") is None]
        config.hook.pytest_deselected(items=dropped)
