"""Round-trip YAML (ruamel.yaml): documents keep their comments, key order and quoting when patched."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from ecs5probe.errors import TaskDefinitionError


def _yaml(text: str = "") -> YAML:
    y = YAML(typ="rt")
    y.preserve_quotes = True
    y.width = 4096  # never fold a long command line
    if dashes_indented(text):
        y.indent(mapping=2, sequence=4, offset=2)
    else:
        y.indent(mapping=2, sequence=2, offset=0)  # kubectl's and Helm's style: "- " under its key
    return y


def dashes_indented(text: str) -> bool:
    """Whether the file indents list dashes below their key (most do not: kubectl, Helm)."""
    lines = text.splitlines()
    votes = 0
    for key, item in zip(lines, lines[1:], strict=False):
        if key.rstrip().endswith(":") and item.lstrip().startswith("- "):
            votes += 1 if len(item) - len(item.lstrip()) > len(key) - len(key.lstrip()) else -1
    return votes > 0


def load_all(path: object, text: str) -> list[Any]:
    """Every document of a YAML stream (empty documents dropped), or one clear error."""
    try:
        return [d for d in _yaml().load_all(text) if d is not None]
    except YAMLError as e:
        first = str(e).strip().splitlines()
        raise TaskDefinitionError(f"{path}: malformed YAML: {' '.join(first[:2])[:200]}") from None
    except RecursionError:
        raise TaskDefinitionError(f"{path}: YAML nested too deeply") from None


def dump_all(docs: Sequence[Any], explicit_start: bool, like: str = "") -> str:
    """The documents as YAML, indented like the text ``like`` they came from."""
    y = _yaml(like)
    y.explicit_start = explicit_start
    buf = io.StringIO()
    y.dump_all(list(docs), buf)
    return buf.getvalue()


def dump(doc: Any, like: str = "") -> str:
    buf = io.StringIO()
    _yaml(like).dump(doc, buf)
    return buf.getvalue()


def line_of(node: Any) -> int | None:
    """The 1-based line where a loaded mapping starts (None for plain values)."""
    lc = getattr(node, "lc", None)
    return lc.line + 1 if lc is not None and lc.line is not None else None


def key_line(node: Any, key: str) -> int | None:
    """The 1-based line of ``key`` in a parsed mapping, when the parser kept it."""
    lc = getattr(node, "lc", None)
    try:
        return int(lc.key(key)[0]) + 1 if lc is not None and key in node else None
    except (KeyError, TypeError, AttributeError):
        return None


def plain(node: Any) -> Any:
    """Plain dicts, lists and scalars from a round-trip node (for comparing and JSON)."""
    if isinstance(node, dict):
        return {str(k): plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [plain(v) for v in node]
    if isinstance(node, str):
        return str(node)
    return node
