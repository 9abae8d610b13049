"""Where option values come from, in order: the command line, ``ECS5PROBE_<OPTION>`` environment
variables, the configuration file's entry for an image, the file's defaults, the built-in defaults.

The file's defaults reach click as its ``default_map`` (set by the eager ``--config`` option before the
other options are read), so click itself ranks them below the command line and the environment; an
image's entry is applied afterwards, only to options whose value came from a default."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import click
from click.core import ParameterSource

from ecs5probe.app import config as cfg

ENV_PREFIX = "ECS5PROBE_"
#: The commands whose options the file may set.
CONFIGURED = ("probe", "fix", "scan")
#: Options that belong to a whole run, never to one image.
RUN_ONLY = {
    "images-from",
    "shard",
    "report",
    "format",
    "baseline",
    "update-baseline",
    "quiet",
    "verbose",
    "jobs",
    "pull",
    "launch-type",
    "cache-dir",
    "no-cache",
}
META = "ecs5probe.config"


def key(param: click.Parameter) -> str | None:
    """The file's and the environment's name of an option: its long name without the dashes."""
    longs = [o for o in getattr(param, "opts", []) if o.startswith("--")]
    return longs[0][2:] if longs else None


def envvar(name: str) -> str:
    return ENV_PREFIX + name.upper().replace("-", "_")


def config_option(f: Callable[..., Any]) -> Callable[..., Any]:
    """``--config FILE``: read first (eager), so that the file's defaults are the other options' defaults."""
    return click.option(
        "--config",
        "config_path",
        metavar="FILE",
        is_eager=True,
        expose_value=False,
        envvar=envvar("config"),
        callback=_load,
        help="Configuration file  [default: ./.ecs5probe.yaml, else [tool.ecs5probe] in ./pyproject.toml]",
    )(f)


def _load(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    loaded = cfg.load(value)
    ctx.meta[META] = loaded
    if loaded is None:
        return
    by_key = {k: p for p in ctx.command.params if (k := key(p)) is not None}
    defaults = dict(ctx.default_map or {})
    for name, v in loaded.defaults.items():
        p = by_key.get(name)
        if p is not None and p.name is not None:
            defaults[p.name] = _to_click(p, v)
    ctx.default_map = defaults


def _to_click(p: click.Parameter, value: Any) -> Any:
    """A file value as click takes a default: a list for a repeatable option, a flag's own meaning."""
    if getattr(p, "multiple", False) and isinstance(value, str):
        return [value]
    return value


def loaded(ctx: click.Context) -> cfg.Config | None:
    return ctx.meta.get(META)


def for_image(ctx: click.Context, image: str, kw: dict[str, Any]) -> dict[str, Any]:
    """``kw`` (the command's option values) with ``image``'s entry applied where the value came from a
    default: the command line and the environment win over it."""
    conf = loaded(ctx)
    if conf is None:
        return kw
    by_key = {k: p for p in ctx.command.params if (k := key(p)) is not None}
    out = dict(kw)
    for name, v in conf.for_image(image).items():
        p = by_key.get(name)
        if p is None or p.name is None or p.name not in out:
            continue
        if ctx.get_parameter_source(p.name) in (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT):
            continue
        out[p.name] = p.type_cast_value(ctx, _to_click(p, v))
    return out


class _Lines(click.types.StringParamType):
    """A repeatable string option's environment variable: one value per line (commands have spaces)."""

    envvar_list_splitter = "\n"


def wire_environment(commands: Iterable[click.Command]) -> None:
    """Every option of every command reads ``ECS5PROBE_<OPTION>`` (``--health-cmd``: ECS5PROBE_HEALTH_CMD)."""
    for command in commands:
        for p in command.params:
            name = key(p)
            if not isinstance(p, click.Option) or name is None or name in ("help", "version"):
                continue
            if p.envvar is None:
                p.envvar = envvar(name)
                p.show_envvar = False
            if p.multiple and isinstance(p.type, click.types.StringParamType):
                p.type = _Lines()


# -- the schema ------------------------------------------------------------------------------------
def _type_schema(p: click.Parameter) -> dict[str, Any]:
    t = p.type
    if isinstance(p, click.Option) and p.is_flag:
        return {"type": "boolean"}
    if isinstance(t, click.Choice):
        return {"type": "string", "enum": [str(c) for c in t.choices]}
    if isinstance(t, click.IntRange):
        return {"type": "integer", **_bounds(t)}
    if isinstance(t, click.FloatRange):
        return {"type": "number", **_bounds(t)}
    if isinstance(t, click.types.IntParamType):
        return {"type": "integer"}
    if isinstance(t, click.types.FloatParamType):
        return {"type": "number"}
    return {"type": "string"}


def _bounds(t: click.IntRange | click.FloatRange) -> dict[str, Any]:
    return {k: v for k, v in (("minimum", t.min), ("maximum", t.max)) if v is not None}


def _property(p: click.Parameter) -> dict[str, Any]:
    one = _type_schema(p)
    if getattr(p, "multiple", False):
        return {"type": "array", "items": one}
    return one


def build_schema(commands: dict[str, click.Command]) -> dict[str, Any]:
    """The configuration file's JSON Schema, from the options of the configured commands."""
    props: dict[str, dict[str, Any]] = {}
    per_image: dict[str, dict[str, Any]] = {}
    for cname in CONFIGURED:
        for p in commands[cname].params:
            name = key(p)
            if not isinstance(p, click.Option) or name is None or name in ("config", "help"):
                continue
            schema = _property(p)
            if name in props and props[name] != schema:  # the same key, other choices (--format)
                merged = sorted({*props[name].get("enum", []), *schema.get("enum", [])})
                schema = {"type": "string", "enum": merged} if merged else {"type": "string"}
            props[name] = schema
            if cname == "probe" and name not in RUN_ONLY:
                per_image[name] = schema
    image = {"type": "string", "minLength": 1, "pattern": r"^[^\s]+$", "description": "A local image (NAME:TAG)."}
    props["images"] = {
        "type": "array",
        "description": "Images to probe when none is named, each with options for it alone.",
        "items": {
            "type": "object",
            "required": ["image"],
            "additionalProperties": False,
            "properties": {"image": image, **dict(sorted(per_image.items()))},
        },
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "ecs5probe configuration (.ecs5probe.yaml, or [tool.ecs5probe] in pyproject.toml)",
        "type": "object",
        "additionalProperties": False,
        "properties": dict(sorted(props.items())),
    }
