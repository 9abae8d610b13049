"""Fix a document: probe each container's image as the document runs it, then patch it (any platform)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ecs5probe.core.options import Observer, ProbeOptions
from ecs5probe.core.ports import Runtime
from ecs5probe.core.probe import Prober
from ecs5probe.errors import ImageNotFound
from ecs5probe.model import Mount, ProbeResult
from ecs5probe.platforms.interface import Platform


@dataclass
class FixResult:
    """The patched document, the notes for the user, and each container's probe."""

    document: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    results: dict[str, ProbeResult] = field(default_factory=dict)

    @property
    def verified(self) -> bool:
        return all(r.verified for r in self.results.values())


def fix(
    runtime: Runtime,
    platform: Platform,
    doc: Mapping[str, Any],
    images: Mapping[str, str],
    base: ProbeOptions,
    target: str | None = None,
    observer: Observer | None = None,
) -> FixResult:
    """Every image is checked first (no partial work when one is missing), then probed, then patched."""
    plan = []
    for name, image, overrides in platform.containers(doc):
        local = images.get(image, image)
        try:
            runtime.inspect(local)
        except ImageNotFound:
            raise ImageNotFound(
                f"container {name}: image {image} is not local; build or pull it, or map it with "
                f"--image {image}=LOCAL:TAG"
            ) from None
        plan.append((name, local, replace(base, platform=platform.name, **overrides)))
    results = {name: Prober(runtime, local, opts, observer, platform).run() for name, local, opts in plan}
    mounts: dict[str, list[Mount]] = {n: r.mounts for n, r in results.items()}
    patched, notes = platform.patch(doc, mounts, target)
    return FixResult(patched, notes, results)
