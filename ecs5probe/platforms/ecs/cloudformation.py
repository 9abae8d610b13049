"""CloudFormation for a patched task definition: AWS::ECS::TaskDefinition properties (JSON, also valid YAML),
named by CloudFormation's own schema (``cfn_names``), never by capitalising keys."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ecs5probe.platforms.ecs.cfn_names import NAMES


def rename(
    value: Any,
    definition: str | None,
    table: dict[str, dict[str, tuple[str, str | None]]],
    missing: list[str] | None = None,
    where: str = "",
) -> Any:
    """Rename the keys of ``value`` by ``table`` (definition -> key -> (new name, definition of its value)),
    recursively. Below a definition of the table, a key it does not know is left out and named in
    ``missing`` (``where`` is its path so far): a property the schema lacks is never invented. Values of
    no definition are the user's data (options, labels, driver options) and stay as they are."""
    if isinstance(value, list):
        return [rename(v, definition, table, missing, f"{where}[{i}]") for i, v in enumerate(value)]
    if not isinstance(value, Mapping) or definition is None:
        return value
    known = table.get(definition)
    if known is None:  # a definition the table does not describe: its keys as they are
        return dict(value)
    out = {}
    for k, v in value.items():
        if k not in known:
            if missing is not None:
                missing.append(f"{where}.{k}".lstrip("."))
            continue
        name, child = known[k]
        out[name] = rename(v, child, table, missing, f"{where}.{k}")
    return out


#: The same table read the other way: CloudFormation property -> (task definition key, definition).
FROM_CFN = {d: {cfn: (api, child) for api, (cfn, child) in keys.items()} for d, keys in NAMES.items()}


def convert(value: Any, definition: str | None, missing: list[str] | None = None) -> Any:
    """Task definition keys -> CloudFormation property names, recursively, by the schema's definitions.
    Values that are the user's data (options, labels, driver options) keep their keys; keys the schema
    has no property for are left out and named in ``missing``."""
    return rename(value, definition, NAMES, missing)


def properties(td: Mapping[str, Any], missing: list[str] | None = None) -> dict[str, Any]:
    return dict(convert(dict(td), "TaskDefinition", missing))


def unrepresented(td: Mapping[str, Any]) -> list[str]:
    """The task definition's keys (as paths) that AWS::ECS::TaskDefinition has no property for."""
    missing: list[str] = []
    properties(td, missing)
    return missing


def render(td: Mapping[str, Any], logical_id: str = "TaskDefinition") -> str:
    doc = {logical_id: {"Type": "AWS::ECS::TaskDefinition", "Properties": properties(td)}}
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
