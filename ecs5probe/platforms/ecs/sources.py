"""Task definitions in files: register-style JSON, describe output, lists, Terraform and CloudFormation.
What is static is resolved as Terraform or CloudFormation would; the rest is UNKNOWN, named exactly."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ecs5probe.errors import TaskDefinitionError
from ecs5probe.platforms.ecs import terraform as tf
from ecs5probe.platforms.ecs.cloudformation import FROM_CFN
from ecs5probe.platforms.interface import Document

TF_SUFFIXES = (".tf",)
CFN_SUFFIXES = (".yaml", ".yml", ".template")
JSON_SUFFIXES = (".json",)
SUFFIXES = (*TF_SUFFIXES, *CFN_SUFFIXES, *JSON_SUFFIXES)


def read(path: Path, text: str, strict: bool) -> Iterator[Document]:
    """Task definitions in one file. A file named explicitly (``strict``) must hold one."""
    if path.suffix in TF_SUFFIXES:
        found = list(_terraform(path, text))
    elif path.suffix in CFN_SUFFIXES or (path.suffix in JSON_SUFFIXES and '"Resources"' in text):
        if not strict and not re.search(r'^"?Resources"?\s*:', text, re.M) and '"Resources"' not in text:
            return  # a walk's YAML that is no CloudFormation template (a CI workflow, a values file)
        found = list(_cloudformation(path, text))
    else:
        found = list(_json(path, text, strict=strict))
    if not found and strict:
        raise TaskDefinitionError(f"{path}: no task definition found")
    yield from found


def _line_of(text: str, pattern: str) -> int | None:
    m = re.search(pattern, text, re.M)
    return text.count("\n", 0, m.start()) + 1 if m else None


# -- JSON: register input, describe output, or a list of them ---------------------------------------
def _json(path: Path, text: str, strict: bool) -> Iterator[Document]:
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
        yield Document(str(path), _line_of(text, rf'"family"\s*:\s*"{re.escape(family)}"'), family, "json", d)


# -- Terraform: aws_ecs_task_definition, every argument; container_definitions static where it can be --
def _terraform(path: Path, text: str) -> Iterator[Document]:
    import hcl2
    from hcl2.utils import SerializationOptions

    opts = SerializationOptions(strip_string_quotes=True)
    try:
        doc = hcl2.loads(text, serialization_options=opts)
    except Exception as e:  # python-hcl2 raises lark errors of several kinds
        raise TaskDefinitionError(f"{path}: malformed HCL: {str(e).splitlines()[0][:200]}") from None
    module = _Module(path, doc, opts)
    for block in doc.get("resource", []):
        for name, body in (block.get("aws_ecs_task_definition") or {}).items():
            if not isinstance(body, Mapping):
                continue
            address = f"aws_ecs_task_definition.{name}"
            line = _line_of(text, rf'resource\s+"aws_ecs_task_definition"\s+"{re.escape(name)}"')
            td = module.substitute(tf.from_resource(body))
            defs, why = module.container_definitions(body.get("container_definitions"))
            td["containerDefinitions"] = module.substitute(defs)
            yield Document(str(path), line, address, "terraform", td, why)


class _Module:
    """What Terraform knows statically about one module: variable defaults, locals, path.*."""

    def __init__(self, path: Path, doc: dict[str, Any], opts: Any):
        import hcl2

        self.path, self.opts = path, opts
        docs = [doc]
        for sibling in sorted(path.parent.glob("*.tf")):
            if sibling != path:
                try:
                    docs.append(
                        hcl2.loads(sibling.read_text(encoding="utf-8", errors="replace"), serialization_options=opts)
                    )
                except Exception:
                    continue  # a broken sibling is reported when it is read itself
        self.values: dict[str, Any] = {
            "path.module": str(path.parent),
            "path.root": str(path.parent),
            "path.cwd": str(Path.cwd()),
        }
        for d in docs:
            for block in d.get("variable", []):
                for name, body in block.items():
                    if isinstance(body, Mapping) and "default" in body and not _is_expression(body["default"]):
                        self.values[f"var.{name}"] = body["default"]
            for block in d.get("locals", []):
                for name, value in block.items() if isinstance(block, Mapping) else []:
                    if not _is_expression(value):
                        self.values[f"local.{name}"] = value

    def substitute(self, value: Any) -> Any:
        """``"${var.x}"``/``"${local.x}"`` -> its literal value, where it has one; in a literal string the
        template escapes ``$${`` and ``%%{`` mean ``${`` and ``%{``, as Terraform reads them."""
        if isinstance(value, str):
            m = re.fullmatch(r"\$\{((?:var|local)\.\w+)\}", value)
            if m:
                return self.values.get(m.group(1), value)
            return value if _TEMPLATE.search(value) else value.replace("$${", "${").replace("%%{", "%{")
        if isinstance(value, list):
            return [self.substitute(v) for v in value]
        if isinstance(value, dict):
            return {k: self.substitute(v) for k, v in value.items()}
        return value

    def container_definitions(self, raw: Any) -> tuple[Any, str]:
        """The container definitions, or UNKNOWN with the exact expression that could not be resolved."""
        if isinstance(raw, list):
            return raw, ""
        if not isinstance(raw, str):
            return "${unknown}", "container_definitions is missing"
        s = raw.strip()
        m = re.fullmatch(r"\$\{jsonencode\((.*)\)\}", s, re.S)
        if m:
            return self._hcl_value(m.group(1), "jsonencode() argument")
        m = re.fullmatch(r"\$\{(file|templatefile)\((.*)\)\}", s, re.S)
        if m:
            return self._file(m.group(1), m.group(2), s)
        m = re.fullmatch(r"<<-?(\w+)\n(.*)\n\s*\1", s.strip('"'), re.S)
        if m and "${" not in m.group(2):
            try:
                return json.loads(m.group(2)), ""
            except json.JSONDecodeError:
                return "${unknown}", "heredoc is not JSON"
        if "${" in s:
            return "${unknown}", f"container_definitions is an expression Terraform resolves at plan time: {s[:200]}"
        try:
            return json.loads(s), ""
        except json.JSONDecodeError:
            return "${unknown}", "container_definitions is not JSON"

    def _hcl_value(self, text: str, what: str) -> tuple[Any, str]:
        import hcl2

        try:
            return hcl2.loads("x = " + text, serialization_options=self.opts)["x"], ""
        except Exception:
            return "${unknown}", f"{what} could not be parsed: {text[:200]}"

    def _file(self, func: str, args: str, expr: str) -> tuple[Any, str]:
        """``file(PATH)`` or ``templatefile(PATH, {literal vars})`` with PATH a literal or path.* joined."""
        parts = _split_top(args)
        target = self._path(parts[0]) if parts else None
        if target is None:
            return "${unknown}", f"{expr[2:-1]}: the path is not static"
        try:
            text = (self.path.parent / target).read_text(encoding="utf-8")
        except OSError as e:
            return "${unknown}", f"{expr[2:-1]}: {e.strerror or e}"
        if func == "templatefile":
            variables: Any = {}
            if len(parts) > 1:
                variables, why = self._hcl_value(parts[1], "templatefile() variables")
                if why or not isinstance(variables, Mapping):
                    return "${unknown}", f"{expr[2:-1]}: the template variables are not static"
            text, missing = _render_template(text, variables)
            if missing:
                return "${unknown}", f"{expr[2:-1]}: the template uses {missing}, which is not static"
        try:
            return json.loads(text), ""
        except json.JSONDecodeError as e:
            return "${unknown}", f"{expr[2:-1]}: not JSON ({e.msg})"

    def _path(self, arg: str) -> str | None:
        """A path argument: "literal", "${path.module}/x.json", or path.module joined with a literal."""
        arg = arg.strip()
        m = re.fullmatch(r'"(.*)"', arg, re.S)
        text = m.group(1) if m else arg

        def repl(mm: re.Match[str]) -> str:
            v = self.values.get(mm.group(1))
            if v is None:
                raise KeyError(mm.group(1))
            return str(v)

        try:
            return re.sub(r"\$\{((?:path|var|local)\.\w+)\}", repl, text) if "${" in text else (text if m else None)
        except KeyError:
            return None


_TEMPLATE = re.compile(r"(?<![$%])[$%]\{")


def _render_template(text: str, variables: Mapping[str, Any]) -> tuple[str, str]:
    """Terraform's template interpolation for plain ``${name}`` references (directives are not static)."""
    missing = ""

    def repl(m: re.Match[str]) -> str:
        nonlocal missing
        name = m.group(1)
        if name not in variables:
            missing = missing or f"${{{name}}}"
            return m.group(0)
        v = variables[name]
        return v if isinstance(v, str) else json.dumps(v)

    out = re.sub(r"(?<!\$)\$\{\s*(\w+)\s*\}", repl, text)
    if "%{" in out.replace("%%{", ""):
        missing = missing or "a %{ } directive"
    return out.replace("$${", "${").replace("%%{", "%{"), missing


def _split_top(args: str) -> list[str]:
    """Split a call's arguments on top-level commas."""
    out, depth, cur, quote = [], 0, "", False
    for i, ch in enumerate(args):
        if ch == '"' and (i == 0 or args[i - 1] != "\\"):
            quote = not quote
        if not quote and ch in "([{":
            depth += 1
        elif not quote and ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0 and not quote:
            out.append(cur)
            cur = ""
        else:
            cur += ch
    if cur.strip():
        out.append(cur)
    return out


def _is_expression(value: Any) -> bool:
    return isinstance(value, str) and bool(_TEMPLATE.search(value))


# -- CloudFormation: AWS::ECS::TaskDefinition, intrinsic functions are UNKNOWN -----------------------
def _cloudformation(path: Path, text: str) -> Iterator[Document]:
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
        td: dict[str, Any] = {
            "family": props.get("Family", logical),
            "containerDefinitions": [_camel(c) for c in defs] if isinstance(defs, list) else defs,
        }
        rest = {k: v for k, v in props.items() if k not in ("Family", "ContainerDefinitions")}
        td.update(_camel(rest, "TaskDefinition"))
        yield Document(str(path), _line_of(text, rf'^\s*"?{re.escape(logical)}"?\s*:'), logical, "cloudformation", td)


_INTRINSIC = re.compile(r"^(Ref|Fn::\w+|Condition)$")


def _camel(value: Any, definition: str | None = "ContainerDefinition") -> Any:
    """CloudFormation's property names -> the task definition's keys, by CloudFormation's own schema;
    intrinsic functions and maps of the user's data stay as they are."""
    if isinstance(value, dict) and len(value) == 1 and _INTRINSIC.match(next(iter(value))):
        return value
    if isinstance(value, list):
        return [_camel(v, definition) for v in value]
    if not isinstance(value, dict) or definition is None:
        return value
    known = FROM_CFN.get(definition, {})
    return {
        api: _camel(v, child) for k, v in value.items() for api, child in [known.get(k, (k[:1].lower() + k[1:], None))]
    }
