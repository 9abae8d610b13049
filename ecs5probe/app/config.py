"""The configuration file: ``--config FILE``, else ``.ecs5probe.yaml`` in the working directory, else
``[tool.ecs5probe]`` in its ``pyproject.toml``. Keys are the long option names without the dashes (as
Checkov's are); ``images:`` lists per-image settings. Validated against ``config.schema.json``, which
ships with the package so that editors can complete it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from ecs5probe.errors import UsageError

SCHEMA_PATH = Path(__file__).with_name("config.schema.json")
FILE_NAMES = (".ecs5probe.yaml", ".ecs5probe.yml")


class ConfigError(UsageError):
    """A configuration file that cannot be used: one line naming the file, the key and what was expected."""


@dataclass(frozen=True)
class ImageEntry:
    """One ``images:`` entry: an image and the options for it alone (keys as in the file)."""

    image: str
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Config:
    """What a configuration file says: defaults for every command's options, and per-image settings."""

    path: str
    defaults: dict[str, Any] = field(default_factory=dict)
    images: list[ImageEntry] = field(default_factory=list)

    def for_image(self, image: str) -> dict[str, Any]:
        """The settings of ``image``'s entry (none: no entry)."""
        return next((dict(e.settings) for e in self.images if e.image == image), {})


@cache
def schema() -> dict[str, Any]:
    with SCHEMA_PATH.open(encoding="utf-8") as f:
        return dict(json.load(f))


def find(explicit: str | None, cwd: Path) -> Path | None:
    """The file in force: the one named, else the working directory's ``.ecs5probe.yaml``, else its
    ``pyproject.toml`` when that has a ``[tool.ecs5probe]`` table; None when there is none."""
    if explicit:
        p = Path(explicit)
        if not p.is_file():
            raise ConfigError(f"--config: {explicit}: no such file")
        return p
    for name in FILE_NAMES:
        if (cwd / name).is_file():
            return cwd / name
    pyproject = cwd / "pyproject.toml"
    if pyproject.is_file() and "ecs5probe" in _toml(pyproject).get("tool", {}):
        return pyproject
    return None


def load(explicit: str | None = None, cwd: Path | None = None) -> Config | None:
    """The configuration in force (see :func:`find`), validated; None when there is none."""
    path = find(explicit, cwd or Path.cwd())
    if path is None:
        return None
    if path.name == "pyproject.toml":
        doc: Any = _toml(path).get("tool", {}).get("ecs5probe", {})
    else:
        doc = _yaml(path)
    return parse(doc, str(path))


def parse(doc: Any, where: str) -> Config:
    """A configuration document (already read) -> :class:`Config`, or one line on what is wrong."""
    if doc is None:
        doc = {}
    _validate(doc, where)
    entries = [ImageEntry(str(e["image"]), {k: v for k, v in e.items() if k != "image"}) for e in doc.get("images", [])]
    seen: set[str] = set()
    for i, e in enumerate(entries):
        if e.image in seen:
            raise ConfigError(f"{where}: images[{i}]: {e.image!r} is listed twice (one entry per image)")
        seen.add(e.image)
    return Config(where, {k: v for k, v in doc.items() if k != "images"}, entries)


def _validate(doc: Any, where: str) -> None:
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema())
    errors = sorted(validator.iter_errors(doc), key=lambda e: [str(p) for p in e.absolute_path])
    if errors:
        raise ConfigError(f"{where}: {_explain(errors[0])}")


def _explain(error: Any) -> str:
    """One line: the key (as a path) and what was expected there."""
    path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path).lstrip(".")
    at = f"{path}: " if path else ""
    s = error.schema
    if error.validator == "additionalProperties":
        known = sorted(s.get("properties", {}))
        extra = sorted(set(error.instance) - set(known))
        return f"{at}unknown key {extra[0]!r} (expected one of: {', '.join(known)})"
    if error.validator == "type":
        return f"{at}expected {_a(s['type'])}, got {json.dumps(error.instance)}"
    if error.validator == "enum":
        return f"{at}expected one of {', '.join(map(str, s['enum']))}, got {json.dumps(error.instance)}"
    if error.validator in ("minimum", "maximum"):
        return f"{at}expected a number from {s.get('minimum')} to {s.get('maximum')}, got {error.instance}"
    if error.validator == "required":
        return f"{at}{error.message} (each entry names its image)"
    return f"{at}{error.message}"


def _a(kind: Any) -> str:
    names = {"integer": "a whole number", "number": "a number", "string": "a string", "boolean": "true or false"}
    names |= {"array": "a list", "object": "a mapping"}
    if isinstance(kind, list):
        return " or ".join(names.get(str(k), str(k)) for k in kind)
    return names.get(kind, str(kind))


def _yaml(path: Path) -> Any:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        return YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))
    except (YAMLError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: malformed YAML: {str(e).splitlines()[0]}") from None


def _toml(path: Path) -> Mapping[str, Any]:
    import tomllib

    try:
        return dict(tomllib.loads(path.read_text(encoding="utf-8")))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: malformed TOML: {e}") from None
