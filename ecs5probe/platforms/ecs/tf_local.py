"""Local Terraform modules (``source = "./..."``) as ``terraform plan`` makes them: each call's
arguments, evaluated where the call is written, over the module's variable defaults (``nullable =
false`` and simple ``type`` conversions applied); ``count`` and ``for_each`` make as many instances
(none for 0 or an empty collection); ``module.X.NAME`` is the module's output with that call's
arguments. Remote modules stay unknown (the community ECS module excepted: :mod:`tf_modules`)."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ecs5probe.errors import TaskDefinitionError
from ecs5probe.platforms.ecs.hcl import Block, Module, Unknown
from ecs5probe.platforms.ecs.hcl_values import has_unknown, unknown

#: How deep local module calls are followed (a module that calls itself is not followed).
MODULE_DEPTH = 8
#: More instances than this are judged as one, indexed by nothing (what varies between them is rarely
#: the task definition's flags, and thousands of rows would say nothing more).
MAX_INSTANCES = 256
#: A module call's arguments that are Terraform's, not the module's variables.
META_ARGUMENTS = {"source", "version", "count", "for_each", "providers", "depends_on"}


def called(module: Module, b: Block) -> Path | None:
    """The directory of a module call whose ``source`` is a local path (``./``, ``../``), unless
    following it would loop or go deeper than :data:`MODULE_DEPTH`."""
    if "source" not in b.attributes or len(module.callers) >= MODULE_DEPTH:
        return None
    source = module.eval(b.attributes["source"], {}, b.src)
    if not isinstance(source, str) or not source.startswith(("./", "../")):
        return None
    d = Path(os.path.normpath(module.path.parent / source))
    if not d.is_dir() or d.resolve() in (*module.callers, module.dir):
        return None
    return d


def instances(module: Module, b: Block) -> list[tuple[str, Mapping[str, Any]]]:
    """What ``count`` or ``for_each`` makes of a block: (index as Terraform addresses it, the scope its
    arguments are evaluated in) for each instance; none for 0 or an empty collection; one, indexed by
    nothing, where the number or the keys are not known statically."""
    if "count" in b.attributes:
        n = module.eval(b.attributes["count"], {}, b.src)
        if isinstance(n, bool) or not isinstance(n, (int, float)) or n > MAX_INSTANCES:
            return [("", {})]
        return [(f"[{i}]", {"count": {"index": i}}) for i in range(int(n))]
    if "for_each" in b.attributes:
        each = module.eval(b.attributes["for_each"], {}, b.src)
        if isinstance(each, Mapping) and not unknown(each):
            items = list(each.items())
        elif isinstance(each, list) and not has_unknown(each):
            items = [(x, x) for x in each]
        else:
            return [("", {})]
        if len(items) > MAX_INSTANCES:
            return [("", {})]
        return [(f'["{k}"]', {"each": {"key": k, "value": v}}) for k, v in items]
    return [("", {})]


class Inputs(Mapping[str, Any]):
    """A module call's arguments, each evaluated in the caller when the module first reads it (as
    Terraform's graph does: an argument that refers back to the module's own outputs is no loop unless
    that output needs it)."""

    def __init__(self, module: Module, b: Block, scope: Mapping[str, Any]):
        self._module, self._b, self._scope = module, b, scope
        self._names = [k for k in b.attributes if k not in META_ARGUMENTS]
        self._values: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        if name not in self._names:
            raise KeyError(name)
        if name not in self._values:
            self._values[name] = self._module.eval(self._b.attributes[name], self._scope, self._b.src)
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


def child(module: Module, b: Block, f: Path, text: str, scope: Mapping[str, Any] | None = None) -> Module:
    """The module file ``f`` as the call ``b`` of ``module`` makes it (``scope``: its instance's
    ``each`` or ``count``); no ``*.tfvars`` of its own (those are the root module's)."""
    return Module(f, text, Inputs(module, b, scope or {}), module.paths["root"], (*module.callers, module.dir))


def conform(module: Module, name: str, value: Any) -> Any:
    """A call's argument as the variable declares it: null is the default where ``nullable = false``,
    and a string is a bool or a number where ``type`` says so (Terraform's conversions)."""
    decl = module.declared.get(name)
    if decl is None:
        return value
    nullable = decl.attributes.get("nullable")
    if value is None and nullable is not None and module.eval(nullable, {}, decl.src) is False:
        default = decl.attributes.get("default")
        return module.eval(default, {}, decl.src) if default is not None else value
    kind = decl.attributes.get("type")
    if kind is None or unknown(value):
        return value
    declared = str(module.eval(kind, {}, decl.src)).removeprefix("${").removesuffix("}")  # a keyword: unknown
    if declared == "bool" and value in ("true", "false"):
        return value == "true"
    if declared == "number" and isinstance(value, str):
        try:
            return float(value) if "." in value else int(value)
        except ValueError:
            return value
    if declared == "string" and isinstance(value, bool):
        return "true" if value else "false"
    return value


def output(module: Module, call: str, name: str, expr: str) -> Any:
    """``module.CALL.NAME`` in ``module``: a local module's output with that call's arguments (else
    unknown, named ``expr``; and where the output needs itself, through the call's arguments)."""
    b = module.calls.get(call)
    d = called(module, b) if b is not None else None
    files = sorted(d.glob("*.tf")) if d is not None else []
    key = f"module.{call}.{name}"
    if b is None or not files or key in module._evaluating or "count" in b.attributes or "for_each" in b.attributes:
        return Unknown.of(expr)  # an instance of a counted call is module.CALL[i].NAME: not followed
    module._evaluating.add(key)
    try:
        text = files[0].read_text(encoding="utf-8", errors="replace")
        made = child(module, b, files[0], text)  # reads the module's other files too
        if name not in made.outputs:
            return Unknown.of(expr)
        node, src = made.outputs[name]
        return made.eval(node, {}, src)
    except (OSError, TaskDefinitionError):
        return Unknown.of(expr)  # a module that cannot be read: its outputs are not known
    finally:
        module._evaluating.discard(key)
