"""Fix a document: probe each container's image as the document runs it, then patch it (any platform)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ecs5probe.core.options import Observer, ProbeOptions, teller
from ecs5probe.core.ports import Runtime
from ecs5probe.core.probe import probe_image
from ecs5probe.errors import ImageNotFound, RegistryError
from ecs5probe.model import ContainerKind, Mount, ProbeResult
from ecs5probe.platforms.interface import ContainerRun, Platform


@dataclass(frozen=True)
class ContainerResult:
    """One container's probe, named exactly as the document names it, with what kind of container it is."""

    name: str
    kind: ContainerKind
    result: ProbeResult


@dataclass(frozen=True)
class FixResult:
    """The patched document, the notes for the user, and each container's probe."""

    document: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    containers: list[ContainerResult] = field(default_factory=list)

    @property
    def results(self) -> dict[str, ProbeResult]:
        return {c.name: c.result for c in self.containers}

    @property
    def verified(self) -> bool:
        return all(c.result.verified for c in self.containers)


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
    from ecs5probe.pull import ensure

    plan: list[tuple[ContainerRun, str, ProbeOptions]] = []
    for c in platform.containers(doc):
        local = images.get(c.image, c.image)
        try:
            ensure(runtime, local, pull, teller(observer, local))
        except ImageNotFound:
            raise ImageNotFound(
                f"container {c.name}: image {c.image} is not local; build or pull it (--pull missing), or map "
                f"it with --image {c.image}=LOCAL:TAG"
            ) from None
        except RegistryError as e:
            raise RegistryError(f"container {c.name}: {e}; or map it with --image {c.image}=LOCAL:TAG") from None
        plan.append((c, local, replace(base, platform=platform.name).with_container(c.settings)))
    done = [
        ContainerResult(c.name, c.kind, probe_image(runtime, local, opts, platform, observer))
        for c, local, opts in plan
    ]
    mounts: dict[str, list[Mount]] = {c.name: c.result.mounts for c in done}
    patched, notes = platform.patch(doc, mounts, target)
    return FixResult(patched, notes, done)
