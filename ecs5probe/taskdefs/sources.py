"""Find task definitions in files and directories; resolve what is static, mark the rest UNKNOWN."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ecs5probe.errors import TaskDefinitionError

TF_SUFFIXES = (".tf",)
CFN_SUFFIXES = (".yaml", ".yml", ".template")
JSON_SUFFIXES = (".json",)
SKIP_DIRS = {".git", ".terraform", "node_modules", "__pycache__", ".venv"}


@dataclass
class Source:
    """One task definition found in a file."""

    file: str
    line: int | None
    name: str  # family, Terraform resource address or CloudFormation logical id
    kind: str  # json | terraform | cloudformation
    taskdef: dict[str, Any]  # register-style keys (camelCase); containerDefinitions may be UNKNOWN
    unresolved: str = ""  # why containerDefinitions could not be resolved statically


def find(paths: list[str]) -> Iterator[Source]:
    for p in paths:
        path = Path(p)
        if not path.exists():
            raise TaskDefinitionError(f"{p}: no such file or directory")
        if path.is_dir():
            for f in sorted(path.rglob("*")):
                if f.is_file() and not SKIP_DIRS & set(f.parts) and f.suffix in (*TF_SUFFIXES, *CFN_SUFFIXES,
                                                                                  *JSON_SUFFIXES):
                    yield from read(f, from_dir=True)
        else:
            yield from read(path)


def read(path: Path, from_dir: bool = False) -> Iterator[Source]:
    """Task definitions in one file. A file named explicitly must hold one; a walked one may not."""
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix in TF_SUFFIXES:
        found = list(_terraform(path, text))
    elif path.suffix in CFN_SUFFIXES or (path.suffix in JSON_SUFFIXES and '"Resources"' in text):
        found = list(_cloudformation(path, text))
    else:
        found = list(_json(path, text, strict=not from_dir))
    if not found and not from_dir:
        raise TaskDefinitionError(f"{path}: no task definition found")
    yield from found


def _line_of(text: str, pattern: str) -> int | None:
    m = re.search(pattern, text, re.M)
    return text.count("\n", 0, m.start()) + 1 if m else None


# -- JSON: register input, describe output, or a list of them ---------------------------------------
def _json(path: Path, text: str, strict: bool) -> Iterator[Source]:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        if strict:
            raise TaskDefinitionError(f"{path}:{e.lineno}: malformed JSON: {e.msg}") from None
        return
    except RecursionError:
        raise TaskDefinitionError(f"{path}: JSON nested too deeply to be a task definition") from None
    docs = doc if isinstance(doc, list) else [doc]
    for i, d in enumerate(docs):
        if isinstance(d, dict) and isinstance(d.get("taskDefinition"), dict):
            d = d["taskDefinition"]
        if not isinstance(d, dict) or "containerDefinitions" not in d:
            if strict:
                raise TaskDefinitionError(f"{path}: item {i} has no containerDefinitions")
            continue
        family = str(d.get("family", f"{path.stem}[{i}]"))
        yield Source(str(path), _line_of(text, rf'"family"\s*:\s*"{re.escape(family)}"'), family, "json", d)


# -- Terraform: aws_ecs_task_definition with jsonencode([...]), a heredoc, or file("x.json") ----------
def _terraform(path: Path, text: str) -> Iterator[Source]:
    import hcl2
    from hcl2.utils import SerializationOptions

    opts = SerializationOptions(strip_string_quotes=True)
    try:
        doc = hcl2.loads(text, serialization_options=opts)
    except Exception as e:  # python-hcl2 raises lark errors of several kinds
        raise TaskDefinitionError(f"{path}: malformed HCL: {str(e).splitlines()[0][:200]}") from None
    defaults = _variable_defaults(path, doc, opts)
    for block in doc.get("resource", []):
        for name, body in (block.get("aws_ecs_task_definition") or {}).items():
            address = f"aws_ecs_task_definition.{name}"
            line = _line_of(text, rf'resource\s+"aws_ecs_task_definition"\s+"{re.escape(name)}"')
            td: dict[str, Any] = {"family": body.get("family")}
            if body.get("runtime_platform"):
                rp = body["runtime_platform"]
                rp = rp[0] if isinstance(rp, list) else rp
                td["runtimePlatform"] = {"operatingSystemFamily": rp.get("operating_system_family")}
            if body.get("requires_compatibilities"):
                td["requiresCompatibilities"] = body["requires_compatibilities"]
            defs, why = _tf_container_definitions(path, body.get("container_definitions"), opts)
            td["containerDefinitions"] = _substitute(defs, defaults)
            yield Source(str(path), line, address, "terraform", td, why)


def _variable_defaults(path: Path, doc: dict[str, Any], opts: Any) -> dict[str, Any]:
    """Literal defaults of the module's variables (this file and its sibling .tf files)."""
    import hcl2

    docs = [doc]
    for sibling in sorted(path.parent.glob("*.tf")):
        if sibling != path:
            try:
                docs.append(hcl2.loads(sibling.read_text(encoding="utf-8", errors="replace"), serialization_options=opts))
            except Exception:
                continue  # a broken sibling is reported when it is read itself
    out: dict[str, Any] = {}
    for d in docs:
        for block in d.get("variable", []):
            for name, body in block.items():
                if isinstance(body, dict) and "default" in body and not _is_expression(body["default"]):
                    out[name] = body["default"]
    return out


def _is_expression(value: Any) -> bool:
    return isinstance(value, str) and "${" in value


_TEMPLATE = re.compile(r"(?<![$%])[$%]\{")


def _substitute(value: Any, defaults: dict[str, Any]) -> Any:
    """``"${var.x}"`` -> the variable's literal default, where it has one; in a literal string the
    template escapes ``$${`` and ``%%{`` mean ``${`` and ``%{``, as Terraform reads them."""
    if isinstance(value, str):
        m = re.fullmatch(r"\$\{var\.(\w+)\}", value)
        if m:
            return defaults.get(m.group(1), value)
        return value if _TEMPLATE.search(value) else value.replace("$${", "${").replace("%%{", "%{")
    if isinstance(value, list):
        return [_substitute(v, defaults) for v in value]
    if isinstance(value, dict):
        return {k: _substitute(v, defaults) for k, v in value.items()}
    return value


def _tf_container_definitions(path: Path, raw: Any, opts: Any) -> tuple[Any, str]:
    import hcl2

    if isinstance(raw, list):
        return raw, ""
    if not isinstance(raw, str):
        return "${unknown}", "container_definitions is missing"
    s = raw.strip()
    m = re.fullmatch(r"\$\{jsonencode\((.*)\)\}", s, re.S)
    if m:
        try:
            value = hcl2.loads("x = " + m.group(1), serialization_options=opts)["x"]
        except Exception:
            return "${unknown}", "jsonencode() argument could not be parsed"
        return value, ""
    m = re.fullmatch(r'\$\{file\("([^"$]+)"\)\}', s)
    if m:
        target = (path.parent / m.group(1)).resolve()
        try:
            return json.loads(target.read_text()), ""
        except (OSError, json.JSONDecodeError) as e:
            return "${unknown}", f"file({m.group(1)!r}) could not be read as JSON: {e}"
    m = re.fullmatch(r'<<-?(\w+)\n(.*)\n\s*\1', s.strip('"'), re.S)
    if m and "${" not in m.group(2):
        try:
            return json.loads(m.group(2)), ""
        except json.JSONDecodeError:
            return "${unknown}", "heredoc is not JSON"
    if "${" in s:
        return "${unknown}", f"container_definitions is an expression ({s[:60]}...)"
    try:
        return json.loads(s), ""
    except json.JSONDecodeError:
        return "${unknown}", "container_definitions is not JSON"


# -- CloudFormation: AWS::ECS::TaskDefinition, intrinsic functions are UNKNOWN -----------------------
def _cloudformation(path: Path, text: str) -> Iterator[Source]:
    from cfn_flip import load

    try:
        doc, _fmt = load(text)
    except Exception as e:  # yaml and json errors
        raise TaskDefinitionError(f"{path}: malformed CloudFormation: {str(e).splitlines()[0][:200]}") from None
    resources = doc.get("Resources") if isinstance(doc, dict) else None
    for logical, res in (resources if isinstance(resources, dict) else {}).items():
        if not isinstance(res, dict) or res.get("Type") != "AWS::ECS::TaskDefinition":
            continue
        props = res.get("Properties") or {}
        defs = props.get("ContainerDefinitions")
        td: dict[str, Any] = {"family": props.get("Family", logical),
                              "containerDefinitions": [_camel(c) for c in defs] if isinstance(defs, list) else defs}
        if props.get("RuntimePlatform"):
            td["runtimePlatform"] = _camel(props["RuntimePlatform"])
        if props.get("RequiresCompatibilities"):
            td["requiresCompatibilities"] = props["RequiresCompatibilities"]
        yield Source(str(path), _line_of(text, rf'^\s*"?{re.escape(logical)}"?\s*:'), logical, "cloudformation", td)


_INTRINSIC = re.compile(r"^(Ref|Fn::\w+|Condition)$")


def _camel(value: Any) -> Any:
    """CloudFormation's PascalCase keys -> the task definition's camelCase; intrinsics stay as they are."""
    if isinstance(value, dict):
        if len(value) == 1 and _INTRINSIC.match(next(iter(value))):
            return value
        return {k[:1].lower() + k[1:]: _camel(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_camel(v) for v in value]
    return value
