"""Terraform for a patched task definition: volume blocks and container_definitions = jsonencode(...)."""

from __future__ import annotations

import json
from typing import Any


def _hcl_string(s: str) -> str:
    return json.dumps(s).replace("${", "$${").replace("%{", "%%{")


def render(td: dict[str, Any], resource: str = "this") -> str:
    """An aws_ecs_task_definition resource body to paste: the ECS.5-relevant arguments, complete."""
    lines = [f'resource "aws_ecs_task_definition" "{resource}" {{', f"  family = {_hcl_string(str(td.get('family', resource)))}"]
    if td.get("requiresCompatibilities"):
        lines.append(f"  requires_compatibilities = {json.dumps(td['requiresCompatibilities'])}")
    for key, arg in (("networkMode", "network_mode"), ("cpu", "cpu"), ("memory", "memory")):
        if td.get(key) is not None:
            lines.append(f"  {arg} = {_hcl_string(str(td[key]))}")
    defs = json.dumps(td["containerDefinitions"], indent=2).replace("${", "$${").replace("%{", "%%{")
    lines.append("  container_definitions = jsonencode(" + defs.replace("\n", "\n  ") + ")")
    for v in td.get("volumes", []):
        lines.append("  volume {")
        lines.append(f"    name = {_hcl_string(v['name'])}")
        dvc = v.get("dockerVolumeConfiguration")
        if dvc:
            lines.append("    docker_volume_configuration {")
            for key, arg in (("scope", "scope"), ("driver", "driver"), ("autoprovision", "autoprovision")):
                if key in dvc:
                    val = dvc[key]
                    lines.append(f"      {arg} = {json.dumps(val) if isinstance(val, bool) else _hcl_string(str(val))}")
            lines.append("    }")
        lines.append("  }")
    lines.append("}")
    return "\n".join(lines) + "\n"
