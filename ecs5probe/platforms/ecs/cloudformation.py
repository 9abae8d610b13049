"""CloudFormation for a patched task definition: AWS::ECS::TaskDefinition properties (JSON, also valid YAML),
named by CloudFormation's own schema (``cfn_names``), never by capitalising keys."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ecs5probe.platforms.ecs.cfn_names import NAMES, rename


def convert(value: Any, definition: str | None) -> Any:
    """Task definition keys -> CloudFormation property names, recursively, by the schema's definitions.
    Values that are the user's data (options, labels, driver options) keep their keys."""
    return rename(value, definition, NAMES, lambda k: k[:1].upper() + k[1:])


def properties(td: Mapping[str, Any]) -> dict[str, Any]:
    return dict(convert(dict(td), "TaskDefinition"))


def render(td: Mapping[str, Any], logical_id: str = "TaskDefinition") -> str:
    doc = {logical_id: {"Type": "AWS::ECS::TaskDefinition", "Properties": properties(td)}}
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
