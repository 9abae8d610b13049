"""Pure facts of a pull: which registry an image names, what an error means, the progress told."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

_DENIED = ("unauthorized", "denied", "authentication required", "no basic auth credentials", "forbidden")
_UNKNOWN = ("not found", "manifest unknown", "repository does not exist", "name unknown", "no such image")
_DOWN = ("connection refused", "no such host", "i/o timeout", "timeout", "unreachable", "eof", "tls", "http response")


def registry_of(image: str) -> str:
    """The registry an image reference names, as Docker resolves it (``docker.io`` when none is)."""
    repo = image.split("@", 1)[0]
    name, _, tag = repo.rpartition(":")
    if name and "/" not in tag:
        repo = name
    first, slash, _ = repo.partition("/")
    if not slash or ("." not in first and ":" not in first and first != "localhost"):
        return "docker.io"
    return "docker.io" if first == "index.docker.io" else first


def cause(message: str) -> str:
    """What a pull error means, in a few words."""
    low = message.lower()
    if any(w in low for w in _DENIED):
        return "access denied (log in with `docker login`, or check the credentials)"
    if any(w in low for w in _UNKNOWN):
        return "no such image there"
    if any(w in low for w in _DOWN):
        return "registry unreachable"
    return "pull failed"


class Progress:
    """Layers and bytes of a pull, told at most once a second."""

    def __init__(self, tell: Callable[[str], None] | None):
        self.tell, self.last = tell, 0.0
        self.layers: dict[str, tuple[int, int]] = {}

    def update(self, event: dict[str, Any]) -> None:
        layer, detail = event.get("id"), event.get("progressDetail") or {}
        if layer and detail.get("total"):
            self.layers[layer] = (int(detail.get("current", 0)), int(detail["total"]))
        elif layer and event.get("status") in ("Pull complete", "Already exists") and layer in self.layers:
            total = self.layers[layer][1]
            self.layers[layer] = (total, total)
        now = time.monotonic()
        if self.tell is not None and self.layers and now - self.last >= 1.0:
            self.last = now
            done = sum(c for c, _ in self.layers.values())
            total = sum(t for _, t in self.layers.values())
            self.tell(f"pulling: {len(self.layers)} layer(s), {done / 1e6:.1f} of {total / 1e6:.1f} MB")
