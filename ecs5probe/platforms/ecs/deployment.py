"""A task definition as ECS runs it: its network mode, dependsOn, volumesFrom, links, task volumes."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
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
from ecs5probe.core.options import CapabilityLimit, ContainerSettings
from ecs5probe.errors import TaskDefinitionError
from ecs5probe.platforms.ecs import taskdef

NETWORKS = {"awsvpc": Network.SHARED, "host": Network.HOST, "bridge": Network.BRIDGE, "none": Network.SHARED}


def deployment(td: Mapping[str, Any]) -> Deployment:
    """The task definition (unwrapped) as ECS runs it: each container, its settings, what it shares."""
    if taskdef.is_windows(td):
        raise TaskDefinitionError("a Windows task definition: ECS.5 does not apply")
    runs = _containers(td)
    fargate = "FARGATE" in (td.get("requiresCompatibilities") or [])
    mode = "awsvpc" if fargate else str(td.get("networkMode") or "bridge")  # EC2's default is bridge
    network = NETWORKS.get(mode)
    if network is None:
        raise TaskDefinitionError(f"networkMode {mode!r} is not one ECS has")
    volumes = tuple(_volume(v) for v in td.get("volumes") or [])
    names = {v.name for v in volumes}
    by_name = {r.name: r for r in runs}
    aliases = _link_aliases(td)
    members = []
    for c in td["containerDefinitions"]:
        run = by_name[str(c["name"])]
        mounts = []
        for mp in c.get("mountPoints") or []:
            if mp.get("sourceVolume") not in names:
                raise TaskDefinitionError(
                    f"{run.name}: mountPoints names volume {mp.get('sourceVolume')!r}, not in volumes"
                )
            mounts.append(VolumeUse(str(mp["sourceVolume"]), str(mp["containerPath"]), bool(mp.get("readOnly", False))))
        members.append(
            Member(
                run.name,
                run.image,
                run.settings,
                run.kind,
                depends_on=tuple(
                    Dependency(str(d["containerName"]), Condition(str(d.get("condition", "START")).upper()))
                    for d in c.get("dependsOn") or []
                ),
                essential=bool(c.get("essential", True)),
                mounts=tuple(mounts),
                volumes_from=tuple(
                    (str(v["sourceContainer"]), bool(v.get("readOnly", False))) for v in c.get("volumesFrom") or []
                ),
                aliases=aliases.get(run.name, ()),  # only a link makes a name resolve on ECS's bridge
                tmpfs=tuple(str(t["containerPath"]) for t in ((c.get("linuxParameters") or {}).get("tmpfs") or [])),
            )
        )
    return Deployment(str(td.get("family", "task")), tuple(members), network, volumes)


def _containers(td: Mapping[str, Any]) -> list[Member]:
    """Each container with its image and how the task definition runs it (what its probe starts from)."""
    out = []
    # The host network mode takes no network systemControls: no answer may lower the port start.
    host = td.get("networkMode") == "host" and taskdef.launch_type(td) != "FARGATE"
    fargate = taskdef.launch_type(td) == "FARGATE"
    for c in td["containerDefinitions"]:
        name, image = c.get("name"), c.get("image")
        if not name or not image:
            raise TaskDefinitionError("every container definition needs a name and an image")
        settings = ContainerSettings(**taskdef.probe_overrides(c))
        if host:
            settings = replace(settings, sysctls=False)
        if fargate:
            settings = replace(settings, capability_limit=CapabilityLimit("Fargate", ("SYS_PTRACE",)))
        out.append(Member(str(name), str(image), settings))
    return out


def _volume(v: Mapping[str, Any]) -> SharedVolume:
    """A name-only or host volume starts empty; a Docker volume copies the image's content (EC2)."""
    if v.get("efsVolumeConfiguration") or v.get("fsxWindowsFileServerVolumeConfiguration"):
        return SharedVolume(str(v["name"]), VolumeKind.EMPTY)  # network storage: an empty one here
    kind = VolumeKind.COPY if v.get("dockerVolumeConfiguration") else VolumeKind.EMPTY
    return SharedVolume(str(v["name"]), kind)


def _link_aliases(td: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    """``links: ["cache:redis"]``: the linking container reaches ``cache`` as ``redis`` (``["cache"]``: as
    ``cache``) on the bridge network; nothing else resolves there."""
    out: dict[str, list[str]] = {}
    for c in td["containerDefinitions"]:
        for link in c.get("links") or []:
            target, _, alias = str(link).partition(":")
            name = alias or target
            if re.fullmatch(r"[A-Za-z0-9_.-]+", name):
                out.setdefault(target, []).append(name)
    return {k: tuple(dict.fromkeys(v)) for k, v in out.items()}
