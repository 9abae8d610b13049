"""Local Terraform modules (``source = "./..."``) as ``terraform plan`` makes them: each call's
arguments, evaluated where the call is written, over the module's variable defaults; ``module.X.NAME``
is the module's output with them. Remote modules stay unknown (the community ECS module excepted:
:mod:`tf_modules`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ecs5probe.errors import TaskDefinitionError
from ecs5probe.platforms.ecs.hcl import Block, Module, Unknown

#: How deep local module calls are followed (a module that calls itself is not followed).
MODULE_DEPTH = 8
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


def child(module: Module, b: Block, f: Path, text: str) -> Module:
    """The module file ``f`` as the call ``b`` of ``module`` makes it: its variables take the call's
    arguments, evaluated in ``module``; no ``*.tfvars`` of its own (those are the root module's)."""
    inputs = {k: module.eval(v, {}, b.src) for k, v in b.attributes.items() if k not in META_ARGUMENTS}
    return Module(f, text, inputs, module.paths["root"], (*module.callers, module.dir))


def output(module: Module, call: str, name: str, expr: str) -> Any:
    """``module.CALL.NAME`` in ``module``: a local module's output with that call's arguments (else
    unknown, named ``expr``)."""
    b = module.calls.get(call)
    d = called(module, b) if b is not None else None
    files = sorted(d.glob("*.tf")) if d is not None else []
    if b is None or not files:
        return Unknown.of(expr)
    try:
        text = files[0].read_text(encoding="utf-8", errors="replace")
        made = child(module, b, files[0], text)  # reads the module's other files too
    except (OSError, TaskDefinitionError):
        return Unknown.of(expr)  # a module that cannot be read: its outputs are not known
    if name not in made.outputs:
        return Unknown.of(expr)
    node, src = made.outputs[name]
    return made.eval(node, {}, src)
