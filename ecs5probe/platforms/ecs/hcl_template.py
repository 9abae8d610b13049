"""Terraform's string templates (``templatefile``, heredocs, the template provider): ``${}``
interpolations, ``%{ if }``/``%{ else }``/``%{ endif }`` and ``%{ for }``/``%{ endfor }`` directives,
``~`` strip markers, ``$${`` and ``%%{`` escapes. Rendering JSON, an interpolation not known statically
stays ``${expr}`` where JSON keeps it a string, so the rest of the document is still read; a condition or
a collection not known statically makes the whole template unknown."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ecs5probe.platforms.ecs.hcl_values import Unknown, closing, to_str, unknown

#: evaluate(expression, the template's bindings so far) -> its value (Unknown when not static).
Evaluate = Callable[[str, Mapping[str, Any]], Any]
_FOR = re.compile(r"^for\s+(\w+)(?:\s*,\s*(\w+))?\s+in\s+(.+)$", re.S)


@dataclass
class _Tag:
    kind: str  # text, interp, if, else, endif, for, endfor
    body: str = ""


@dataclass
class _Node:
    kind: str
    body: str = ""
    then: list[_Node] = field(default_factory=list)
    other: list[_Node] = field(default_factory=list)


class _NotStatic(Exception):
    pass


def _lex(text: str) -> list[_Tag]:
    tags: list[_Tag] = []
    buf: list[str] = []
    strip_next = False
    i = 0
    while i < len(text):
        if text.startswith("$${", i) or text.startswith("%%{", i):
            buf.append(text[i + 1 : i + 3])
            i += 3
            continue
        if text.startswith("${", i) or text.startswith("%{", i):
            j = closing(text, i + 2)
            if j < 0:
                raise _NotStatic(text[i : i + 100])
            inner = text[i + 2 : j]
            chunk = "".join(buf)
            tags.append(_Tag("text", chunk.rstrip() if inner.startswith("~") else chunk))
            if strip_next:
                tags[-1].body = tags[-1].body.lstrip()
            buf, strip_next = [], inner.endswith("~")
            inner = inner.strip("~").strip()
            if text[i] == "$":
                tags.append(_Tag("interp", inner))
            else:
                word = inner.split(None, 1)[0] if inner else ""
                if word not in ("if", "else", "endif", "for", "endfor"):
                    raise _NotStatic(inner)
                tags.append(_Tag(word, inner[len(word) :].strip() if word in ("if",) else inner))
            i = j + 1
            continue
        buf.append(text[i])
        i += 1
    tags.append(_Tag("text", "".join(buf).lstrip() if strip_next else "".join(buf)))
    return tags


def _parse(tags: list[_Tag], pos: int, stop: tuple[str, ...]) -> tuple[list[_Node], int]:
    out: list[_Node] = []
    while pos < len(tags):
        t = tags[pos]
        if t.kind in stop:
            return out, pos
        if t.kind in ("text", "interp"):
            out.append(_Node(t.kind, t.body))
            pos += 1
        elif t.kind == "if":
            then, pos = _parse(tags, pos + 1, ("else", "endif"))
            other: list[_Node] = []
            if pos < len(tags) and tags[pos].kind == "else":
                other, pos = _parse(tags, pos + 1, ("endif",))
            out.append(_Node("if", t.body, then, other))
            pos += 1
        elif t.kind == "for":
            body, pos = _parse(tags, pos + 1, ("endfor",))
            out.append(_Node("for", t.body, body))
            pos += 1
        else:
            raise _NotStatic(f"a stray %{{ {t.kind} }}")
    return out, pos


class _Out:
    def __init__(self, json_aware: bool) -> None:
        self.parts: list[str] = []
        self.in_string = False
        self.json_aware = json_aware

    def text(self, s: str) -> None:
        for i, ch in enumerate(s):
            if ch == '"' and not (i > 0 and s[i - 1] == "\\"):
                self.in_string = not self.in_string
        self.parts.append(s)

    def value(self, expr: str, value: Any) -> None:
        if unknown(value) or isinstance(value, (list, dict)):
            marker = str(value if unknown(value) else Unknown.of(expr))
            if not self.json_aware:
                self.parts.append(marker)
            else:
                self.parts.append(json.dumps(marker)[1:-1] if self.in_string else json.dumps(marker))
        else:
            s = to_str(value)
            self.parts.append(json.dumps(s)[1:-1] if self.json_aware and self.in_string else s)


def _run(nodes: list[_Node], evaluate: Evaluate, bindings: Mapping[str, Any], out: _Out) -> None:
    for n in nodes:
        if n.kind == "text":
            out.text(n.body)
        elif n.kind == "interp":
            out.value(n.body, evaluate(n.body, bindings))
        elif n.kind == "if":
            cond = evaluate(n.body, bindings)
            if not isinstance(cond, bool):
                raise _NotStatic(f"%{{ if {n.body} }}")
            _run(n.then if cond else n.other, evaluate, bindings, out)
        else:
            m = _FOR.match(n.body)
            if not m:
                raise _NotStatic(f"%{{ {n.body} }}")
            coll = evaluate(m.group(3), bindings)
            pairs = (
                list(coll.items())
                if isinstance(coll, Mapping)
                else list(enumerate(coll))
                if isinstance(coll, list)
                else None
            )
            if pairs is None:
                raise _NotStatic(f"%{{ {n.body} }}")
            for k, v in pairs:
                more = {m.group(1): k, m.group(2): v} if m.group(2) else {m.group(1): v}
                _run(n.then, evaluate, {**bindings, **more}, out)


def render(text: str, evaluate: Evaluate, json_aware: bool = True) -> Any:
    """The template's text, or :class:`Unknown` when a directive depends on what is not static."""
    try:
        nodes, _ = _parse(_lex(text), 0, ())
        out = _Out(json_aware)
        _run(nodes, evaluate, {}, out)
    except _NotStatic as e:
        return Unknown.of(f"a template directive not known statically: {e}")
    return "".join(out.parts)
