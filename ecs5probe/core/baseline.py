"""Baselines: the writable paths each image is known to need; a regression is a new one."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ecs5probe.errors import UsageError
from ecs5probe.model import ProbeResult

VERSION = 1


def load(doc: Any) -> dict[str, set[str]]:
    """``{"version": 1, "images": {"img:tag": ["/run", ...]}}`` -> image -> paths."""
    shape = 'a baseline is {"version": 1, "images": {IMAGE: [PATH, ...]}}'
    if not isinstance(doc, Mapping) or not isinstance(doc.get("images"), Mapping):
        raise UsageError(shape)
    if not all(isinstance(v, list) and all(isinstance(p, str) for p in v) for v in doc["images"].values()):
        raise UsageError(f"{shape}: every image maps to a list of paths")
    return {str(k): set(v) for k, v in doc["images"].items()}


def build(results: Sequence[ProbeResult], previous: Mapping[str, set[str]] | None = None) -> dict[str, Any]:
    """The baseline for these results (images not probed now keep their previous entry)."""
    images = {k: sorted(v) for k, v in (previous or {}).items()}
    for r in results:
        if r.verified:
            images[r.image] = sorted(m.container_path for m in r.required_mounts)
    return {"version": VERSION, "images": dict(sorted(images.items()))}


def regressions(results: Sequence[ProbeResult], baseline: Mapping[str, set[str]]) -> dict[str, list[str]]:
    """Per image, the required paths the baseline does not have (an image new to it: all of them)."""
    out = {}
    for r in results:
        needed = {m.container_path for m in r.required_mounts}
        new = sorted(needed - baseline.get(r.image, set()))
        if new:
            out[r.image] = new
    return out
