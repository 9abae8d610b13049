"""Fix a document: probe each container's image as the document runs it, then patch it (any platform)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ecs5probe.core.options import Observer, ProbeOptions
from ecs5probe.core.ports import Runtime
from ecs5probe.core.probe import Prober
from ecs5probe.errors import ImageNotFound, RegistryError
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
    pull: str = "never",
) -> FixResult:
    """Every image is checked (and pulled, by the ``pull`` policy) first, so that nothing is probed
    when one is missing; then each container is probed, then the document patched."""
    from ecs5probe.many import _teller
    from ecs5probe.pull import ensure

    plan = []
    for name, image, overrides in platform.containers(doc):
        local = images.get(image, image)
        try:
            ensure(runtime, local, pull, _teller(observer, local))
        except ImageNotFound:
            raise ImageNotFound(
                f"container {name}: image {image} is not local; build or pull it (--pull missing), or map "
                f"it with --image {image}=LOCAL:TAG"
            ) from None
        except RegistryError as e:
            raise RegistryError(f"container {name}: {e}; or map it with --image {image}=LOCAL:TAG") from None
        plan.append((name, local, replace(base, platform=platform.name, **overrides)))
    results = {name: Prober(runtime, local, opts, observer, platform).run() for name, local, opts in plan}
    mounts: dict[str, list[Mount]] = {n: r.mounts for n, r in results.items()}
    patched, notes = platform.patch(doc, mounts, target)
    return FixResult(patched, notes, results)
