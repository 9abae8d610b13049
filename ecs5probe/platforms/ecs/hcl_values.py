"""Terraform's values as a static evaluator sees them: :class:`Unknown` (what only a plan can tell),
the operators, and the functions that need no plan."""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any


class Unknown(str):
    """A value only a plan can tell: ``${the expression}`` (``is_unknown`` reads it so)."""

    @classmethod
    def of(cls, expr: str) -> Unknown:
        expr = " ".join(expr.split())[:200]
        return cls(expr if "${" in expr else "${" + expr + "}")


def unknown(value: Any) -> bool:
    return isinstance(value, Unknown)


def closing(text: str, start: int) -> int:
    depth, quote, i = 0, False, start
    while i < len(text):
        ch = text[i]
        if ch == "\\" and quote:
            i += 2
            continue
        if ch == '"':
            quote = not quote
        elif not quote and ch == "{":
            depth += 1
        elif not quote and ch == "}":
            if depth == 0:
                return i
            depth -= 1
        i += 1
    return -1


def unescape(s: str) -> str:
    if "\\" not in s:
        return s
    try:
        return str(json.loads('"' + s + '"'))
    except json.JSONDecodeError:
        return s


def to_str(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def has_unknown(v: Any) -> bool:
    if unknown(v):
        return True
    if isinstance(v, list):
        return any(has_unknown(x) for x in v)
    if isinstance(v, Mapping):
        return any(has_unknown(x) for x in v.values())
    return False


def index(v: Any, key: Any, expr: str) -> Any:
    if unknown(v) or unknown(key):
        return Unknown.of(expr)
    try:
        if isinstance(v, list):
            return v[int(key)]
        if isinstance(v, Mapping):
            return v[to_str(key)]
    except (KeyError, IndexError, ValueError, TypeError):
        pass
    return Unknown.of(expr)


def merge(*maps: Any) -> Any:
    out: dict[str, Any] = {}
    for m in maps:
        if m is None:
            continue
        if not isinstance(m, Mapping):
            return Unknown.of("merge() of a value not known statically")
        out.update(m)
    return out


def concat(*lists: Any) -> Any:
    out: list[Any] = []
    for xs in lists:
        if not isinstance(xs, list):
            return Unknown.of("concat() of a value not known statically")
        out += xs
    return out


def flatten(xs: Any) -> Any:
    out: list[Any] = []
    for x in xs:
        if unknown(x):
            return Unknown.of("flatten() of a value not known statically")
        out += flatten(x) if isinstance(x, list) else [x]
    return out


def lookup(m: Any, key: Any, default: Any = None) -> Any:
    if unknown(m) or unknown(key):
        return Unknown.of("lookup()")
    if key in m:
        return m[key]
    if default is None:
        raise KeyError(key)
    return default


def coalesce(*xs: Any) -> Any:
    for x in xs:
        if unknown(x):
            return Unknown.of("coalesce()")
        if x not in (None, ""):
            return x
    raise ValueError("no non-empty argument")


def format_(spec: str, *args: Any) -> str:
    it = iter(args)
    return re.sub(r"%[sdvq%]", lambda m: "%" if m.group(0) == "%%" else to_str(next(it)), spec)


def yamldecode(s: str) -> Any:
    from ruamel.yaml import YAML

    return YAML(typ="safe").load(s)


BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
    "%": lambda a, b: a % b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    ">": lambda a, b: a > b,
    "<=": lambda a, b: a <= b,
    ">=": lambda a, b: a >= b,
    "&&": lambda a, b: bool(a and b),
    "||": lambda a, b: bool(a or b),
}


def jsonencode(v: Any) -> str:
    """Terraform's ``jsonencode``; a value (or a list's element) wholly unknown is not encoded as the
    string naming it, which would read back as a string where an object is: it stays unknown."""
    if unknown(v) or (isinstance(v, list) and any(unknown(x) for x in v)):
        raise ValueError("not known statically")
    return json.dumps(v)


def replace(s: str, old: str, new: str) -> str:
    """Terraform's ``replace``: ``/.../`` is a regular expression (``$1`` its groups), else a substring."""
    if len(old) >= 2 and old.startswith("/") and old.endswith("/"):
        with warnings.catch_warnings():  # RE2's syntax read by Python's re: no warning on stderr
            warnings.simplefilter("ignore")
            try:
                return re.sub(old[1:-1], re.sub(r"\$\{?(\d+)\}?", r"\\g<\1>", new), s)
            except (re.error, IndexError) as e:  # a construct Python's re lacks: not known statically
                raise ValueError(str(e)) from None
    return s.replace(old, new)


def pure_functions(
    read: Callable[[Any], str], templatefile: Callable[..., Any], here: Path
) -> dict[str, Callable[..., Any]]:
    """Terraform's functions that need no plan (``read``/``templatefile``: the module's)."""
    return {
        "jsonencode": jsonencode,
        "jsondecode": lambda s: json.loads(s),
        "file": read,
        "templatefile": templatefile,
        "merge": merge,
        "concat": concat,
        "tolist": list,
        "toset": list,
        "tomap": dict,
        "tostring": to_str,
        "tonumber": lambda v: v if isinstance(v, (int, float)) else json.loads(v),
        "tobool": lambda v: v if isinstance(v, bool) else {"true": True, "false": False}[v],
        "flatten": flatten,
        "lookup": lookup,
        "coalesce": coalesce,
        "coalescelist": lambda *a: next((x for x in a if x), Unknown.of("coalescelist()")),
        "compact": lambda xs: [x for x in xs if x not in ("", None)],
        "distinct": lambda xs: [x for i, x in enumerate(xs) if x not in xs[:i]],
        "join": lambda sep, xs: sep.join(to_str(x) for x in xs),
        "split": lambda sep, s: s.split(sep),
        "upper": lambda s: s.upper(),
        "lower": lambda s: s.lower(),
        "trimspace": lambda s: s.strip(),
        "replace": replace,
        "format": format_,
        "length": len,
        "element": lambda xs, i: xs[i % len(xs)],
        "keys": lambda m: sorted(m),
        "values": lambda m: [m[k] for k in sorted(m)],
        "contains": lambda xs, x: x in xs,
        "abspath": lambda p: str((here / p).resolve()),
        "dirname": lambda p: str(Path(p).parent),
        "basename": lambda p: Path(p).name,
        "yamldecode": yamldecode,
    }
