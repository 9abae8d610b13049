"""The ptrace self-tests that passed, remembered per daemon, kernel, security options and bundle (a
small JSON file in the user's cache directory; best effort, never an error)."""

from __future__ import annotations

import json
import os
from pathlib import Path


def cache_file() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "ecs5probe" / "tracer-self-tests.json"


def passed() -> set[str]:
    try:
        data = json.loads(cache_file().read_text())
        return {str(k) for k in data} if isinstance(data, list) else set()
    except (OSError, ValueError):
        return set()


def remember(key: str) -> None:
    """Best effort: a cache that cannot be written only costs the self-test next time."""
    path = cache_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        keys = sorted(passed() | {key})[-50:]
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(keys))
        os.replace(tmp, path)
    except OSError:
        pass
