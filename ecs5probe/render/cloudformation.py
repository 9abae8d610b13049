"""CloudFormation for a patched task definition: AWS::ECS::TaskDefinition properties (JSON, also valid YAML)."""

from __future__ import annotations

import json
from typing import Any

#: Maps whose keys are the user's data, not property names: keep them as they are.
_OPAQUE = {"options", "dockerLabels", "driverOpts", "labels", "systemControls_namespace"}


def pascal(value: Any, key: str = "") -> Any:
    """camelCase task-definition keys -> CloudFormation's PascalCase, recursively."""
    if isinstance(value, dict):
        if key in _OPAQUE:
            return dict(value)
        return {k[:1].upper() + k[1:]: pascal(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [pascal(v, key) for v in value]
    return value


def properties(td: dict[str, Any]) -> dict[str, Any]:
    return pascal({k: v for k, v in td.items() if k not in ("tags",)})


def render(td: dict[str, Any], logical_id: str = "TaskDefinition") -> str:
    doc = {logical_id: {"Type": "AWS::ECS::TaskDefinition", "Properties": properties(td)}}
    return json.dumps(doc, indent=2) + "\n"
