"""A pod as kubelet runs it: one network namespace, init containers in order to completion (native
sidecars, restartPolicy Always, started and kept running), emptyDir volumes shared by its containers."""

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
from ecs5probe.model import ContainerKind
from ecs5probe.platforms.kubernetes.manifests import containers
from ecs5probe.platforms.kubernetes.runopts import pod_containers


def deployment(name: str, spec: Mapping[str, Any]) -> Deployment:
    """The pod spec as kubelet runs it: each container, its settings, the order, the shared emptyDirs."""
    runs = pod_containers(spec)
    volumes = tuple(_volume(v) for v in spec.get("volumes") or [] if isinstance(v, Mapping) and v.get("name"))
    names = {v.name for v in volumes}
    members: list[Member] = []
    before: list[Dependency] = []  # what every later container waits for: the init containers
    for (key, c), run in zip(containers(spec), runs, strict=True):
        mounts = tuple(
            VolumeUse(str(m["name"]), str(m["mountPath"]), bool(m.get("readOnly", False)))
            for m in c.get("volumeMounts") or []
            if isinstance(m, Mapping) and m.get("name") in names
        )
        sidecar = key == "initContainers" and c.get("restartPolicy") == "Always"
        members.append(Member(run.name, run.image, run.settings, run.kind, depends_on=tuple(before), mounts=mounts))
        if run.kind is ContainerKind.INIT:
            before = [*before, Dependency(run.name, Condition.START if sidecar else Condition.SUCCESS)]
    return Deployment(name, tuple(members), Network.SHARED, volumes)


def _volume(v: Mapping[str, Any]) -> SharedVolume:
    """An emptyDir (memory-backed with medium: Memory); any other volume is an empty directory here."""
    empty = v.get("emptyDir")
    memory = isinstance(empty, Mapping) and str(empty.get("medium", "")) == "Memory"
    return SharedVolume(str(v["name"]), VolumeKind.MEMORY if memory else VolumeKind.EMPTY)
