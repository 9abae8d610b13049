"""Fix a task definition: probe each container's image as the definition runs it, then patch."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ecs5probe.core import taskdef as tdm
from ecs5probe.core.probe import Observer, ProbeOptions, Prober
from ecs5probe.errors import ImageNotFound, TaskDefinitionError
from ecs5probe.model import Mount, ProbeResult
from ecs5probe.runtime.interface import Runtime


@dataclass
class FixResult:
    """The patched task definition, the notes for the user, and each container's probe."""

    taskdef: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    results: dict[str, ProbeResult] = field(default_factory=dict)

    @property
    def verified(self) -> bool:
        return all(r.verified for r in self.results.values())


def fix(runtime: Runtime, doc: Mapping[str, Any], images: Mapping[str, str], base: ProbeOptions,
        launch_override: str | None = None, observer: Observer | None = None) -> FixResult:
    td = tdm.unwrap(doc)
    if tdm.is_windows(td):
        raise TaskDefinitionError("a Windows task definition: ECS.5 does not apply")
    launch = tdm.launch_type(td, launch_override)
    # Check every image first: no partial work when one is missing.
    plan = []
    for c in td["containerDefinitions"]:
        name, image = c.get("name"), c.get("image")
        if not name or not image:
            raise TaskDefinitionError("every container definition needs a name and an image")
        local = images.get(image, image)
        try:
            runtime.inspect(local)
        except ImageNotFound:
            raise ImageNotFound(f"container {name}: image {image} is not local; build or pull it, or map it with "
                                f"--image {image}=LOCAL:TAG") from None
        plan.append((name, local, replace(base, **tdm.probe_overrides(c))))
    results: dict[str, ProbeResult] = {}
    for name, local, opts in plan:
        prober = Prober(runtime, local, opts, observer)
        try:
            results[name] = prober.run()
        finally:
            close = getattr(getattr(getattr(prober, "ctx", None), "facts", None), "close", None)
            if close is not None:
                close()
    mounts: dict[str, list[Mount]] = {n: r.mounts for n, r in results.items()}
    patched, notes = tdm.patch(td, mounts, launch)
    return FixResult(patched, notes, results)
