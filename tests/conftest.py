"""Every test gets its own result cache (ECS5PROBE_CACHE_DIR), so that no cached result leaks between tests."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _own_cache_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ECS5PROBE_CACHE_DIR", str(tmp_path_factory.mktemp("ecs5probe-cache")))
