"""A Compose project as docker-compose runs it: one network where service names resolve, depends_on
with its conditions, volumes_from, named volumes shared between services (the image's content copied
into an empty one on first use), tmpfs entries."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ecs5probe.core.deployment import (
    Condition,
    Dependency,
    Deployment,
    Member,
    Network,
    SharedVolume,
    VolumeKind,
    VolumeUse,
)
from ecs5probe.core.options import ContainerSettings
from ecs5probe.errors import TaskDefinitionError
from ecs5probe.platforms.compose.project import probe_overrides, resolved

CONDITIONS = {
    "service_started": Condition.START,
    "service_healthy": Condition.HEALTHY,
    "service_completed_successfully": Condition.SUCCESS,
}


def deployment(name: str, doc: Mapping[str, Any]) -> Deployment:
    """The project as docker-compose runs it: each service, its settings, what it shares."""
    declared = doc.get("volumes") or {}
    volumes = tuple(SharedVolume(str(v), VolumeKind.COPY) for v in declared)
    run = resolved(doc)  # as docker compose runs them: interpolated ($$ a literal $), extends, profiles
    for svc, s in run.items():
        if not s.get("image"):
            raise TaskDefinitionError(f"service {svc} has no image: build and tag it, and name the tag in `image:`")
    members = []
    for svc, s in run.items():
        members.append(
            Member(
                str(svc),
                str(s["image"]),
                ContainerSettings(**probe_overrides(s)),
                depends_on=_depends(s.get("depends_on")),
                mounts=tuple(u for v in s.get("volumes") or [] if (u := _use(v, declared)) is not None),
                volumes_from=tuple(_from(v) for v in s.get("volumes_from") or []),
                aliases=(str(svc),),
                tmpfs=tuple(str(t).split(":")[0] for t in _listed(s.get("tmpfs"))),
            )
        )
    return Deployment(name, tuple(members), Network.BRIDGE, volumes)


def _listed(value: Any) -> list[Any]:
    return [value] if isinstance(value, str) else list(value or [])


def _depends(value: Any) -> tuple[Dependency, ...]:
    if isinstance(value, Mapping):
        out = []
        for svc, spec in value.items():
            cond = str((spec or {}).get("condition", "service_started"))
            if cond not in CONDITIONS:
                raise TaskDefinitionError(f"depends_on {svc}: condition {cond!r} is not one Compose has")
            out.append(Dependency(str(svc), CONDITIONS[cond]))
        return tuple(out)
    return tuple(Dependency(str(svc)) for svc in _listed(value))


def _use(v: Any, declared: Mapping[str, Any]) -> VolumeUse | None:
    """A named volume's use (``name:/path[:ro]`` or the long form); a bind mount of the host is left out."""
    if isinstance(v, Mapping):
        if v.get("type", "volume") != "volume" or v.get("source") not in declared:
            return None
        return VolumeUse(str(v["source"]), str(v["target"]), bool(v.get("read_only", False)))
    parts = str(v).split(":")
    if len(parts) < 2 or parts[0] not in declared:
        return None
    return VolumeUse(parts[0], parts[1], len(parts) > 2 and "ro" in parts[2].split(","))


def _from(v: Any) -> tuple[str, bool]:
    svc, _, mode = str(v).partition(":")
    if svc.startswith("container:"):
        raise TaskDefinitionError(f"volumes_from {v!r}: a container outside the project cannot be probed")
    return svc, mode == "ro"
