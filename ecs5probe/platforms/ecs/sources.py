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
        if strict or "ontainerDefinitions" in text:  # a walk names the task definitions it cannot read
            raise TaskDefinitionError(f"{path}:{e.lineno}: malformed JSON: {e.msg}") from None
        return
    except RecursionError:
        raise TaskDefinitionError(f"{path}: JSON nested too deeply to be a task definition") from None
    if strict and _container_list(doc):  # named: what --container-definitions file://x.json takes (a walk
        # leaves such files to the Terraform or CloudFormation that reads them, not to judge them twice)
        lines = _json_lines(text, 1, text.count("\n") + 1, doc)
        body = {"family": path.stem, "containerDefinitions": doc}
        yield Document(str(path), 1, path.stem, "json", body, lines=lines)
        return
    docs = doc if isinstance(doc, list) else [doc]
    for i, d in enumerate(docs):
        if isinstance(d, dict) and isinstance(d.get("taskDefinition"), dict):
            d = d["taskDefinition"]
        if not isinstance(d, dict) or "containerDefinitions" not in d:
            if strict:
                raise TaskDefinitionError(f"{path}: item {i} has no containerDefinitions")
            continue
        family = str(d.get("family", f"{path.stem}[{i}]"))
        line = _line_of(text, rf'"family"\s*:\s*"{re.escape(family)}"')
        defs = d.get("containerDefinitions")
        lines = _json_lines(text, 1, text.count("\n") + 1, defs) if isinstance(defs, list) and len(docs) == 1 else {}
        yield Document(str(path), line, family, "json", d, lines=lines)


def _container_list(doc: Any) -> bool:
    """A JSON list of container definitions (each with ``name`` and ``image``, no task around them)."""
    return (
        isinstance(doc, list)
        and bool(doc)
        and all(isinstance(c, dict) and "name" in c and "image" in c and "containerDefinitions" not in c for c in doc)
    )


# -- Terraform: aws_ecs_task_definition, every argument; evaluated statically where it can be ----------
def _terraform(path: Path, text: str, module: Any = None, address: str = "", caller: str = "") -> Iterator[Document]:
    """The task definitions of one ``.tf`` file: its resources, the community module's calls, and what
    the local modules it calls make with the arguments it gives them (``address``: the calls that led
    here, ``module.NAME.``, from the root module's call at ``caller``; ``module``: the evaluator, made
    here for a root module's file)."""
    from ecs5probe.platforms.ecs import hcl, tf_local

    module = module or hcl.Module(path, text)
    for b in module.blocks:
        if b.type == "module":
            called = tf_local.called(module, b)
            if called is None:
                yield from _module_call(path, module, b, address, caller)
            elif b.labels:
                at = caller or f"{path}:{b.line}"
                for index, scope in tf_local.instances(module, b):
                    name = f"{address}module.{b.labels[0]}{index}."
                    yield from _local_call(module, b, called, name, scope, at)
            continue
        if b.type != "resource" or len(b.labels) != 2 or b.labels[0] != "aws_ecs_task_definition":
            continue
        if not tf_local.instances(module, b):
            continue  # count = 0, for_each = {}: Terraform makes none
        body = _body(module, b)
        td = tf.from_resource(body)
        defs, why, lines = _container_definitions(module, b)
        td["containerDefinitions"] = defs
        lines["\tend"] = b.end
        name = f"{address}aws_ecs_task_definition.{b.labels[1]}"
        yield Document(str(path), b.line, name, "terraform", td, why, lines=lines, caller=caller)


def _local_call(
    module: Any, b: Any, called: Path, address: str, scope: Mapping[str, Any], caller: str
) -> Iterator[Document]:
    """What a local module makes with this call's arguments, evaluated where the call is written, as
    ``terraform plan`` would: the module's task definitions, named ``module.NAME.<address>``."""
    from ecs5probe.platforms.ecs.tf_local import child as call

    for f in sorted(called.glob("*.tf")):
        text = ""
        try:
            text = f.read_text(encoding="utf-8", errors="replace")
            child = call(module, b, f, text, scope)
        except (OSError, TaskDefinitionError) as e:
            if re.search(r"aws_ecs_task_definition|terraform-aws-modules/ecs", text):  # what it makes is not known
                why = f"a file of the module cannot be read: {e}"
                body = {"family": f.stem, "containerDefinitions": "${unknown}"}
                yield Document(str(f), None, f"{address}{f.name}", "terraform", body, why, caller=caller)
            continue
        yield from _terraform(f, text, child, address, caller)


def _module_call(path: Path, module: Any, b: Any, prefix: str = "", caller: str = "") -> Iterator[Document]:
    """The task definitions a call of the community ECS module makes (see :mod:`tf_modules`); ``prefix``:
    the local module calls that led here."""
    from ecs5probe.platforms.ecs.hcl import Unknown
    from ecs5probe.platforms.ecs.tf_modules import task_definitions

    for address, td, line in task_definitions(module, b):
        defs = td["containerDefinitions"]
        why = ""
        if isinstance(defs, Unknown) or (isinstance(defs, list) and any(isinstance(c, Unknown) for c in defs)):
            what = defs if isinstance(defs, Unknown) else next(c for c in defs if isinstance(c, Unknown))
            td["containerDefinitions"], why = str(what), f"the module's containers are not known statically: {what}"
        lines = {"\tend": b.end}
        for c in defs if isinstance(defs, list) and not why else []:
            loc = module.located.get(id(c))
            if loc is not None:
                lines[str(c["name"])] = loc.line
                lines.update({f"{c['name']}\t{k}": loc.keys[k] for k in CONTAINER_KEYS if k in loc.keys})
        yield Document(str(path), line, prefix + address, "terraform", _plain(td), why, lines=lines, caller=caller)


def _body(module: Any, b: Any) -> dict[str, Any]:
    """A block's arguments evaluated (nested blocks as lists of bodies, as python-hcl2 gives them)."""
    out: dict[str, Any] = {k: _plain(module.eval(v, {}, b.src)) for k, v in b.attributes.items()}
    for nested in b.blocks:
        out.setdefault(nested.type, []).append(_body(module, nested))
    return out


def _plain(value: Any) -> Any:
    """Unknown values as the plain strings ``${expr}`` the controls read as deploy-time values."""
    from ecs5probe.platforms.ecs.hcl import Unknown

    if isinstance(value, Unknown):
        return str(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


CONTAINER_KEYS = ("readonlyRootFilesystem", "user", "privileged")


def _container_definitions(module: Any, b: Any) -> tuple[Any, str, dict[str, int]]:
    """The container definitions (parts may be unknown), why they are not known where they are not,
    and the lines of each container and of its keys."""
    from ecs5probe.platforms.ecs.hcl import Unknown, kids

    node = b.attributes.get("container_definitions")
    if node is None:
        return "${unknown}", "container_definitions is missing", {}
    term = kids(node)[0] if node.data == "expr_term" and kids(node) else node
    value: Any
    if term.data == "function_call" and [k for k in kids(term) if k.data == "identifier"][0].children[0] == (
        "jsonencode"
    ):
        args = [k for k in kids(term) if k.data == "arguments"]
        value = module.eval(kids(args[0])[0], {}, b.src) if args and kids(args[0]) else Unknown.of("jsonencode()")
    else:
        value = module.eval(node, {}, b.src)
        if isinstance(value, str) and not isinstance(value, Unknown):
            try:
                value = json.loads(value)
            except json.JSONDecodeError as e:
                return "${unknown}", f"container_definitions is not JSON ({e.msg})", {}
    if isinstance(value, Unknown):
        return str(value), f"container_definitions is not known statically: {value}", {}
    if isinstance(value, list) and any(isinstance(c, Unknown) for c in value):
        what = next(c for c in value if isinstance(c, Unknown))
        return str(what), f"a container definition is not known statically: {what}", {}
    lines: dict[str, int] = {}
    for i, c in enumerate(value if isinstance(value, list) else []):
        if not isinstance(c, dict):
            continue
        name = str(c.get("name", f"#{i}"))
        loc = module.located.get(id(c))
        if loc is not None:
            lines[name] = loc.line
            lines.update({f"{name}\t{k}": loc.keys[k] for k in CONTAINER_KEYS if k in loc.keys})
    if not lines and isinstance(value, list) and term.data.startswith("heredoc"):
        lines = _json_lines(b.src, node.meta.line, node.meta.end_line, value)
    for i, c in enumerate(value if isinstance(value, list) else []):  # elsewhere: the argument's line
        if isinstance(c, dict):
            lines.setdefault(str(c.get("name", f"#{i}")), node.meta.line)
    return _plain(value), "", lines


#: CloudFormation's spelling of the keys the controls read.
CFN_KEYS = {"readonlyRootFilesystem": "ReadonlyRootFilesystem", "user": "User", "privileged": "Privileged"}


def _json_lines(text: str, first: int, last: int, defs: list[Any], cfn: bool = False) -> dict[str, int]:
    """Container and key lines of JSON (or CloudFormation YAML) written in ``text`` between lines
    ``first`` and ``last``."""
    src = text.splitlines()
    out: dict[str, int] = {}
    starts = []
    for c in defs:
        name = str(c.get("name", "")) if isinstance(c, dict) else ""
        q = "[\"']?"
        pat = re.compile(
            rf"{q}Name{q}\s*:\s*{q}{re.escape(name)}{q}\s*,?\s*(#.*)?$" if cfn else rf'"name"\s*:\s*"{re.escape(name)}"'
        )
        at = next((n for n in range(first, min(last, len(src)) + 1) if pat.search(src[n - 1])), None)
        if at is not None and name:
            out[name] = at
            starts.append((at, name))
    starts.sort()
    for i, (at, name) in enumerate(starts):
        upto = min(starts[i + 1][0] if i + 1 < len(starts) else last + 1, len(src) + 1)
        opening = at  # keys written before the name: back to the object's opening brace (or list dash)
        while opening > first and not re.search(r"[{]\s*$|^\s*-\s", src[opening - 1]):
            opening -= 1
        depth = len(src[opening - 1]) - len(src[opening - 1].lstrip())
        closing = next(
            (
                n
                for n in range(at, upto)
                if re.match(r"^\s*[}]", src[n - 1]) and len(src[n - 1]) - len(src[n - 1].lstrip()) <= depth
            ),
            upto,
        )
        for key in CONTAINER_KEYS:
            spelled = re.compile(rf"[\"']?{CFN_KEYS[key] if cfn else key}[\"']?\s*:")
            hit = next((n for n in range(opening, closing) if spelled.search(src[n - 1])), None)
            if hit is not None:
                out[f"{name}\t{key}"] = hit
    return out


# -- CloudFormation: AWS::ECS::TaskDefinition, intrinsic functions are UNKNOWN -----------------------
def _cloudformation(path: Path, text: str) -> Iterator[Document]:
    from cfn_flip import load

    try:
        doc, _fmt = load(text)
    except Exception as e:  # yaml and json errors
        raise TaskDefinitionError(f"{path}: malformed CloudFormation: {str(e).splitlines()[0][:200]}") from None
    params = doc.get("Parameters") if isinstance(doc, dict) else None
    defaults = {
        str(k): v["Default"]
        for k, v in (params if isinstance(params, dict) else {}).items()
        if isinstance(v, dict) and "Default" in v
    }
    resources = doc.get("Resources") if isinstance(doc, dict) else None
    for logical, res in (resources if isinstance(resources, dict) else {}).items():
        if not isinstance(res, dict) or res.get("Type") != "AWS::ECS::TaskDefinition":
            continue
        props = res.get("Properties") or {}
        defs = props.get("ContainerDefinitions")
        td: dict[str, Any] = {
            "family": props.get("Family", logical),
            "containerDefinitions": [_camel(c, defaults=defaults) for c in defs] if isinstance(defs, list) else defs,
        }
        rest = {k: v for k, v in props.items() if k not in ("Family", "ContainerDefinitions")}
        td.update(_camel(rest, "TaskDefinition"))
        line = _line_of(text, rf'^\s*"?{re.escape(logical)}"?\s*:')
        cdefs = td["containerDefinitions"]
        lines = {}
        if line is not None and isinstance(cdefs, list):
            lines = _json_lines(text, line, _cfn_end(text, line), cdefs, cfn=True)
        yield Document(str(path), line, logical, "cloudformation", td, lines=lines)


def _cfn_end(text: str, line: int) -> int:
    """The last line of a resource that starts at ``line`` (the next key at its indentation or less)."""
    src = text.splitlines()
    indent = len(src[line - 1]) - len(src[line - 1].lstrip())
    for i in range(line, len(src)):
        s = src[i]
        if s.strip() and not s.lstrip().startswith("#") and len(s) - len(s.lstrip()) <= indent:
            return i
    return len(src)


_INTRINSIC = re.compile(r"^(Ref|Fn::\w+|Condition)$")


class Intrinsic(dict[str, Any]):
    """A CloudFormation intrinsic function (still the mapping the template has), named as the template
    writes it: ``!Ref ServiceName``, ``!Sub ${AWS::StackName}-web``."""

    NONE: Any = object()
    default: Any = NONE  # a Ref's parameter default

    def __str__(self) -> str:
        ((key, arg),) = self.items()
        tag = "!" + key.removeprefix("Fn::")
        return f"{tag} {arg if isinstance(arg, str) else json.dumps(arg, default=str)}"

    __repr__ = __str__


def _camel(value: Any, definition: str | None = "ContainerDefinition", defaults: Mapping[str, Any] = {}) -> Any:
    """CloudFormation's property names -> the task definition's keys, by CloudFormation's own schema;
    intrinsic functions (a ``Ref`` keeps its parameter's default beside it) and maps of the user's data
    stay as they are."""
    if isinstance(value, dict) and len(value) == 1 and _INTRINSIC.match(next(iter(value))):
        out = Intrinsic(value)
        ref = value.get("Ref")
        if isinstance(ref, str) and ref in defaults:
            out.default = defaults[ref]
        return out
    if isinstance(value, list):
        return [_camel(v, definition, defaults) for v in value]
    if not isinstance(value, dict) or definition is None:
        return value
    known = FROM_CFN.get(definition, {})
    return {
        api: _camel(v, child, defaults)
        for k, v in value.items()
        for api, child in [known.get(k, (k[:1].lower() + k[1:], None))]
    }


def with_parameter_defaults(td: Mapping[str, Any]) -> dict[str, Any]:
    """``td`` with each container's ``readonlyRootFilesystem``, ``user`` and ``privileged`` that is a
    ``!Ref`` to a parameter with a default replaced by that default, as a stack deployed with its
    defaults has it (CloudFormation reads ``"true"`` as true for a Boolean property)."""
    defs = td.get("containerDefinitions")
    if not isinstance(defs, list):
        return dict(td)
    out = []
    for c in defs:
        if isinstance(c, Mapping):
            c = dict(c)
            for key in CONTAINER_KEYS:
                v = c.get(key)
                if isinstance(v, Intrinsic) and v.default is not Intrinsic.NONE:
                    d = v.default
                    if key != "user" and str(d).lower() in ("true", "false"):
                        d = str(d).lower() == "true"
                    c[key] = d
        out.append(c)
    return {**td, "containerDefinitions": out}
