"""Task definitions that Terraform modules make: the community module ``terraform-aws-modules/ecs/aws``
(its ``services``), ``//modules/service`` (``container_definitions``) and ``//modules/container-definition``
(one container). A module call's arguments are the containers, read as the module writes them: its
variables' defaults apply (``readonlyRootFilesystem`` true, ``privileged`` false, no ``user``; v5 and
later), ``snake_case`` arguments (v5) are the definition's camelCase keys, and v5's
``container_definition_defaults`` apply under each container's own."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from ecs5probe.platforms.ecs.hcl import Block, Located, Module, Unknown

SOURCE = re.compile(r"terraform-aws-modules/(?:terraform-aws-)?ecs(?:/aws)?(?://modules/([\w-]+))?(?:\?.*)?$")
#: The module's own defaults for the keys the controls read.
DEFAULTS = {"readonlyRootFilesystem": True, "privileged": False}


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(w[:1].upper() + w[1:] for w in rest)


def _container(module: Module, name: str, value: Any, defaults: Any) -> Any:
    if isinstance(value, Unknown) or not isinstance(value, Mapping):
        return value
    base = {_camel(k): v for k, v in (defaults if isinstance(defaults, Mapping) else {}).items()}
    mine = {_camel(str(k)): v for k, v in value.items()}
    out = {"name": name, **DEFAULTS, **base, **mine}
    where = module.located.get(id(value))
    if where is not None:  # the container is where its arguments are written
        module.locate(out, Located(where.line, {_camel(k): line for k, line in where.keys.items()}))
    return out


def _containers(module: Module, defs: Any, defaults: Any) -> Any:
    if isinstance(defs, Unknown) or not isinstance(defs, Mapping):
        return defs
    out = []
    for key, c in defs.items():
        name = c.get("name", key) if isinstance(c, Mapping) else key
        if isinstance(c, Mapping) and c.get("create") is False:
            continue
        out.append(_container(module, str(name), c, defaults))
    return out


def _makes_one(flags: Mapping[str, Any], given: Any) -> bool:
    """Whether a service makes a task definition: not switched off, and containers given."""
    off = flags.get("create") is False or flags.get("create_task_definition") is False
    return not off and "container_definitions" in given


def task_definitions(module: Module, b: Block) -> Iterator[tuple[str, dict[str, Any], int]]:
    """(address, task definition, line) for each task definition a module call makes."""
    source = module.eval(b.attributes["source"], {}, b.src) if "source" in b.attributes else ""
    m = SOURCE.search(str(source))
    if not m or not b.labels:
        return
    kind, name = m.group(1), b.labels[0]

    def arg(key: str) -> Any:
        return module.eval(b.attributes[key], {}, b.src) if key in b.attributes else None

    if kind == "container-definition":
        args = {k: arg(k) for k in b.attributes if k not in ("source", "version")}
        yield (
            f"module.{name}",
            {"family": name, "containerDefinitions": [_container(module, str(args.get("name") or name), args, None)]},
            b.line,
        )
    elif kind == "service":
        if not _makes_one({k: arg(k) for k in ("create", "create_task_definition")}, b.attributes):
            return  # no task definition of its own (task_definition_arn names one made elsewhere)
        family = arg("family") or arg("name") or name
        defs = _containers(module, arg("container_definitions"), arg("container_definition_defaults"))
        yield f"module.{name}", {"family": family, "containerDefinitions": defs}, b.line
    elif kind is None:
        services = arg("services")
        if isinstance(services, Mapping):
            for svc, spec in services.items():
                if (
                    isinstance(spec, Mapping)
                    and spec.get("create") is not False
                    and spec.get("create_task_definition") is not False
                    and "container_definitions" in spec
                ):
                    defs = _containers(
                        module, spec.get("container_definitions"), spec.get("container_definition_defaults")
                    )
                    td = {"family": spec.get("family") or svc, "containerDefinitions": defs}
                    yield f'module.{name}.services["{svc}"]', td, b.line
        elif services is not None:
            yield f"module.{name}", {"family": name, "containerDefinitions": services}, b.line
