"""Terraform's aws_ecs_task_definition <-> a register-style task definition, every argument both ways.

``render`` writes a resource to paste (strings escaped so that Terraform interpolates nothing);
``from_resource`` reads one back (python-hcl2's parse of a resource body), so that ``fix`` on a
Terraform input keeps roles, volumes and everything else.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

#: Scalar arguments: task definition key -> Terraform argument.
SCALARS = {
    "family": "family",
    "taskRoleArn": "task_role_arn",
    "executionRoleArn": "execution_role_arn",
    "networkMode": "network_mode",
    "ipcMode": "ipc_mode",
    "pidMode": "pid_mode",
    "cpu": "cpu",
    "memory": "memory",
    "enableFaultInjection": "enable_fault_injection",
}
#: Nested blocks (a block per list item): key -> (block name, {key: argument or (block, sub-table)}).
BLOCK = dict[str, Any]
VOLUME: BLOCK = {
    "name": "name",
    "configuredAtLaunch": "configure_at_launch",
    "host": ("host_path", "sourcePath"),  # host.sourcePath -> host_path = "..."
    "dockerVolumeConfiguration": (
        "docker_volume_configuration",
        {
            "scope": "scope",
            "autoprovision": "autoprovision",
            "driver": "driver",
            "driverOpts": ("driver_opts", "map"),
            "labels": ("labels", "map"),
        },
    ),
    "efsVolumeConfiguration": (
        "efs_volume_configuration",
        {
            "fileSystemId": "file_system_id",
            "rootDirectory": "root_directory",
            "transitEncryption": "transit_encryption",
            "transitEncryptionPort": "transit_encryption_port",
            "authorizationConfig": ("authorization_config", {"accessPointId": "access_point_id", "iam": "iam"}),
        },
    ),
    "fsxWindowsFileServerVolumeConfiguration": (
        "fsx_windows_file_server_volume_configuration",
        {
            "fileSystemId": "file_system_id",
            "rootDirectory": "root_directory",
            "authorizationConfig": (
                "authorization_config",
                {"credentialsParameter": "credentials_parameter", "domain": "domain"},
            ),
        },
    ),
}
BLOCKS: dict[str, tuple[str, BLOCK]] = {
    "volumes": ("volume", VOLUME),
    "placementConstraints": ("placement_constraints", {"type": "type", "expression": "expression"}),
    "inferenceAccelerators": ("inference_accelerator", {"deviceName": "device_name", "deviceType": "device_type"}),
    "runtimePlatform": (
        "runtime_platform",
        {"operatingSystemFamily": "operating_system_family", "cpuArchitecture": "cpu_architecture"},
    ),
    "ephemeralStorage": ("ephemeral_storage", {"sizeInGiB": "size_in_gib"}),
    "proxyConfiguration": (
        "proxy_configuration",
        {"type": "type", "containerName": "container_name", "properties": ("properties", "namevalue")},
    ),
}
#: Task definition keys that are not Terraform arguments of the resource (tags are a map argument).
SPECIAL = {"containerDefinitions", "requiresCompatibilities", "tags"}


def hcl_string(s: str) -> str:
    """A quoted HCL string that Terraform takes literally: JSON escapes, and ``${``/``%{`` doubled."""
    return json.dumps(s, ensure_ascii=False).replace("${", "$${").replace("%{", "%%{")


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return json.dumps(v)
    if isinstance(v, Mapping):
        return "{" + ", ".join(f"{hcl_string(str(k))} = {_value(x)}" for k, x in v.items()) + "}"
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    return hcl_string(str(v))


def _block(name: str, table: BLOCK, body: Mapping[str, Any], indent: str, where: str, missing: list[str]) -> list[str]:
    lines = [f"{indent}{name} {{"]
    for key, v in body.items():
        spec = table.get(key)
        if spec is None:
            missing.append(f"{where}.{key}")
            lines.append(f"{indent}  # {key} has no Terraform argument: {json.dumps(v)[:200]}")
        elif isinstance(spec, str):
            lines.append(f"{indent}  {spec} = {_value(v)}")
        elif spec[1] == "map":
            lines.append(f"{indent}  {spec[0]} = {_value(v)}")
        elif spec[1] == "namevalue":
            lines.append(f"{indent}  {spec[0]} = {_value({p['name']: p.get('value', '') for p in v})}")
        elif isinstance(spec[1], str):  # host.sourcePath -> host_path
            lines.append(f"{indent}  {spec[0]} = {_value(v.get(spec[1], ''))}")
        else:
            lines += _block(spec[0], spec[1], v, indent + "  ", f"{where}.{key}", missing)
    lines.append(f"{indent}}}")
    return lines


def unrepresented(td: Mapping[str, Any]) -> list[str]:
    """The task definition's keys (as paths) that aws_ecs_task_definition has no argument for: the
    rendered resource names each in a comment, never as an argument."""
    missing: list[str] = []
    render(td, missing=missing)
    return missing


def render(td: Mapping[str, Any], resource: str = "this", missing: list[str] | None = None) -> str:
    """An aws_ecs_task_definition resource to paste: every argument the task definition has; keys the
    resource has no argument for become comments (and are named in ``missing``)."""
    missing = [] if missing is None else missing
    lines = [f'resource "aws_ecs_task_definition" {json.dumps(resource)} {{']
    for key, v in td.items():
        if key in SCALARS:
            lines.append(f"  {SCALARS[key]} = {_value(v)}")
        elif key == "requiresCompatibilities":
            lines.append(f"  requires_compatibilities = {_value(list(v))}")
        elif key == "tags":
            lines.append(f"  tags = {_value({t['key']: t.get('value', '') for t in v})}")
        elif key == "containerDefinitions":
            defs = json.dumps(v, indent=2, ensure_ascii=False).replace("${", "$${").replace("%{", "%%{")
            lines.append("  container_definitions = jsonencode(" + defs.replace("\n", "\n  ") + ")")
        elif key in BLOCKS:
            name, table = BLOCKS[key]
            items = v if isinstance(v, list) else [v]
            for i, item in enumerate(items):
                lines += _block(name, table, item, "  ", f"{key}[{i}]" if isinstance(v, list) else key, missing)
        else:
            missing.append(key)
            lines.append(f"  # {key} has no Terraform argument: {json.dumps(v)[:200]}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def from_resource(body: Mapping[str, Any]) -> dict[str, Any]:
    """The register-style task definition of a parsed resource body (container definitions apart)."""
    td: dict[str, Any] = {}
    for key, arg in SCALARS.items():
        if arg in body:
            td[key] = body[arg]
    if "requires_compatibilities" in body:
        td["requiresCompatibilities"] = body["requires_compatibilities"]
    if isinstance(body.get("tags"), Mapping):
        td["tags"] = [{"key": k, "value": v} for k, v in body["tags"].items()]
    for key, (name, table) in BLOCKS.items():
        if name in body:
            items = [_unblock(table, b) for b in _blocks(body[name])]
            td[key] = items if key in ("volumes", "placementConstraints", "inferenceAccelerators") else items[0]
    return td


def _blocks(raw: Any) -> list[Mapping[str, Any]]:
    items = raw if isinstance(raw, list) else [raw]
    return [b for b in items if isinstance(b, Mapping)]


def _unblock(table: BLOCK, body: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, spec in table.items():
        arg = spec if isinstance(spec, str) else spec[0]
        if arg not in body:
            continue
        v = body[arg]
        if isinstance(spec, str) or spec[1] == "map":
            out[key] = v
        elif spec[1] == "namevalue":
            out[key] = [{"name": k, "value": x} for k, x in (v or {}).items()]
        elif isinstance(spec[1], str):
            out[key] = {spec[1]: v}
        else:
            out[key] = _unblock(spec[1], _blocks(v)[0]) if _blocks(v) else {}
    return out
