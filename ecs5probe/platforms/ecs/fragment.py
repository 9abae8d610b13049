"""The ECS task-definition fragment for a set of mounts: mountPoints, volumes, linuxParameters.tmpfs."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ecs5probe.model import Mount
from ecs5probe.platforms.ecs.taskdef import LaunchType, patch, volume_name

__all__ = ["LaunchType", "fragment", "render", "volume_name"]


def fragment(mounts: Sequence[Mount], launch_type: LaunchType = "EC2") -> dict[str, Any]:
    """``{"containerDefinition": {...}, "volumes": [...], "notes": [...]}`` for the required mounts.

    The same mechanism as ``fix``: the mounts patched into a one-container task definition.
    """
    patched, notes = patch({"containerDefinitions": [{"name": ""}]}, {"": mounts}, launch_type)
    container = {k: v for k, v in patched["containerDefinitions"][0].items() if k != "name"}
    return {"containerDefinition": container, "volumes": patched.get("volumes", []), "notes": notes}


def render(mounts: Sequence[Mount], launch_type: LaunchType = "EC2") -> str:
    return json.dumps(fragment(mounts, launch_type), indent=2) + "\n"
