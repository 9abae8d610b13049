"""CloudFormation for a patched task definition: AWS::ECS::TaskDefinition properties (JSON, also valid YAML),
named by CloudFormation's own schema (``cfn_names``), never by capitalising keys."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from ecs5probe.platforms.ecs.cfn_names import NAMES


def rename(
    value: Any,
    definition: str | None,
    table: dict[str, dict[str, tuple[str, str | None]]],
    default: Callable[[str], str],
) -> Any:
    """Rename the keys of ``value`` by ``table`` (definition -> key -> (new name, definition of its value)),
    recursively; keys the table does not know get ``default(key)``, and their values stay as they are
    (the user's data: options, labels, driver options)."""
    if isinstance(value, list):
        return [rename(v, definition, table, default) for v in value]
    if not isinstance(value, Mapping) or definition is None:
        return value
    known = table.get(definition, {})
    out = {}
    for k, v in value.items():
        name, child = known.get(k, (default(k), None))
        out[name] = rename(v, child, table, default)
    return out


#: The same table read the other way: CloudFormation property -> (task definition key, definition).
FROM_CFN = {d: {cfn: (api, child) for api, (cfn, child) in keys.items()} for d, keys in NAMES.items()}


def convert(value: Any, definition: str | None) -> Any:
    """Task definition keys -> CloudFormation property names, recursively, by the schema's definitions.
    Values that are the user's data (options, labels, driver options) keep their keys."""
    return rename(value, definition, NAMES, lambda k: k[:1].upper() + k[1:])


def properties(td: Mapping[str, Any]) -> dict[str, Any]:
    return dict(convert(dict(td), "TaskDefinition"))


def render(td: Mapping[str, Any], logical_id: str = "TaskDefinition") -> str:
    doc = {logical_id: {"Type": "AWS::ECS::TaskDefinition", "Properties": properties(td)}}
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
