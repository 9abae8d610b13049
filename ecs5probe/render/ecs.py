"""The ECS task-definition fragment for a set of mounts: mountPoints, volumes, linuxParameters.tmpfs."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any, Literal

from ecs5probe.model import Mount

LaunchType = Literal["FARGATE", "EC2"]


def volume_name(path: str, prefix: str = "") -> str:
    """A stable, readable ECS volume name for a container path (letters, digits, hyphens)."""
    slug = re.sub(r"[^A-Za-z0-9]+", "-", path.strip("/")).strip("-").lower() or "root"
    return f"{prefix}{slug}"[:255]


def fragment(mounts: Sequence[Mount], launch_type: LaunchType = "EC2", prefix: str = "") -> dict[str, Any]:
    """``{"containerDefinition": {...}, "volumes": [...], "notes": [...]}`` for the required mounts."""
    mount_points: list[dict[str, Any]] = []
    volumes: list[dict[str, Any]] = []
    tmpfs: list[dict[str, Any]] = []
    notes: list[str] = []
    for m in mounts:
        if not m.required:
            continue
        if m.kind == "tmpfs":
            entry: dict[str, Any] = {"containerPath": m.container_path, "size": m.size_mib}
            if m.mount_options:
                entry["mountOptions"] = list(m.mount_options)
            tmpfs.append(entry)
            continue
        name = volume_name(m.container_path, prefix)
        mount_points.append({"sourceVolume": name, "containerPath": m.container_path, "readOnly": False})
        if m.kind == "volume" and launch_type == "EC2":
            volumes.append({"name": name, "dockerVolumeConfiguration": {"scope": "task", "driver": "local"}})
        else:
            volumes.append({"name": name})
            if m.kind == "volume":
                notes.append(f"{m.container_path}: the image ships files here and Fargate bind mounts start "
                             f"empty; add `VOLUME {m.container_path}` to the image so ECS copies them in")
    container: dict[str, Any] = {"readonlyRootFilesystem": True}
    if mount_points:
        container["mountPoints"] = mount_points
    if tmpfs:
        container["linuxParameters"] = {"tmpfs": tmpfs}
        if launch_type == "FARGATE":
            notes.append("linuxParameters.tmpfs is supported on Fargate since 2026-01-06 (older docs say EC2 only)")
    return {"containerDefinition": container, "volumes": volumes, "notes": notes}


def render(mounts: Sequence[Mount], launch_type: LaunchType = "EC2") -> str:
    return json.dumps(fragment(mounts, launch_type), indent=2) + "\n"
