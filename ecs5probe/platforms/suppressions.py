"""Suppressions with a reason, where each platform's users write them: an inline comment in Terraform or
YAML (``# ecs5probe:skip=ECS.5 the reason``, as Checkov's ``checkov:skip=``), a Kubernetes annotation
(``ecs5probe.io/skip-CKV_K8S_22: "the reason"``), a Compose ``x-ecs5probe: {skip: {ID: reason}}``
extension or an ``ecs5probe.skip.ID`` label, an ECS ``dockerLabels`` key or task tag
``ecs5probe.skip.ID``. A suppression without a reason is an error. Ids may hold wildcards (``CKV_K8S_*``).

A comment covers the container whose lines hold it (the line just above a container counts as its),
else every container of the document whose lines hold it."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ecs5probe.errors import TaskDefinitionError
from ecs5probe.model import PlatformName
from ecs5probe.platforms.interface import Document

COMMENT = re.compile(r"(?:#|//)\s*ecs5probe:skip=([A-Za-z0-9_.*?-]+)(?:[:\s]+(.*?))?\s*$")
LABEL = "ecs5probe.skip."
ANNOTATION = "ecs5probe.io/skip-"
EXTENSION = "x-ecs5probe"


@dataclass(frozen=True)
class Suppression:
    """One control (or a wildcard) suppressed, for one container or (None) all, and why."""

    control: str
    reason: str
    container: str | None = None
    where: str = ""

    def covers(self, control: str, container: str) -> bool:
        return fnmatch.fnmatchcase(control, self.control) and self.container in (None, container)


def _make(control: str, reason: Any, container: str | None, where: str) -> Suppression:
    from ecs5probe.platforms import all_controls

    text = "" if reason is None else str(reason).strip()
    if not text:
        raise TaskDefinitionError(f"{where}: the suppression of {control} has no reason: write why beside it")
    if not any(fnmatch.fnmatchcase(c, control) for c in all_controls()):
        raise TaskDefinitionError(
            f"{where}: the suppression names {control}, which is no control ({', '.join(all_controls())})"
        )
    return Suppression(control, text, container, where)


def suppressions(doc: Document, text: str) -> list[Suppression]:
    """Every suppression that applies to ``doc`` (``text``: its file's text, for comments)."""
    out = list(_comments(doc, text))
    body = doc.body
    if doc.platform is PlatformName.KUBERNETES:
        out += _annotations(body)
    elif doc.platform is PlatformName.COMPOSE:
        out += _compose(body)
    else:
        out += _ecs(body)
    return out


def _containers_at(doc: Document) -> list[tuple[int, str]]:
    return sorted((line, name) for name, line in doc.lines.items() if "\t" not in name)


def _end(doc: Document, lines: list[str]) -> int:
    """The document's last line: as its reader says, else the YAML document's (up to the next ``---``)."""
    if "\tend" in doc.lines:
        return doc.lines["\tend"]
    start = doc.line or 1
    if doc.kind == "cloudformation" and start <= len(lines):  # the resource's indented block
        indent = len(lines[start - 1]) - len(lines[start - 1].lstrip())
        for i in range(start, len(lines)):
            s = lines[i]
            if s.strip() and not s.lstrip().startswith("#") and len(s) - len(s.lstrip()) <= indent:
                return i
        return len(lines)
    for i in range(start, len(lines)):
        if lines[i].startswith("---"):
            return i
    return len(lines)


def _comments(doc: Document, text: str) -> Iterator[Suppression]:
    if "ecs5probe:skip" not in text or doc.line is None:
        return
    lines = text.splitlines()
    first, last = doc.line - 1, _end(doc, lines)
    at = _containers_at(doc)
    for n in range(max(first, 1), min(last, len(lines)) + 1):
        m = COMMENT.search(lines[n - 1])
        if not m:
            continue
        container = None
        for i, (line, name) in enumerate(at):
            upto = at[i + 1][0] - 2 if i + 1 < len(at) else last
            if line - 1 <= n <= upto:
                container = name
        yield _make(m.group(1), m.group(2), container, f"{doc.file}:{n}")


def _skips(mapping: Any, prefix: str, where: str, container: str | None = None) -> Iterator[Suppression]:
    if isinstance(mapping, Mapping):
        for k, v in mapping.items():
            if str(k).startswith(prefix):
                yield _make(str(k)[len(prefix) :], v, container, where)
    elif isinstance(mapping, list):  # Compose's list form: "ecs5probe.skip.ID=reason"
        for item in mapping:
            if isinstance(item, str) and item.startswith(prefix):
                key, _, reason = item.partition("=")
                yield _make(key[len(prefix) :], reason, container, where)


def _annotations(body: Mapping[str, Any]) -> Iterator[Suppression]:
    from ecs5probe.platforms.kubernetes.manifests import SHAPES

    meta = body.get("metadata")
    places = [meta] + [_at(body, shape[:-1] + ("metadata",)) for shape in SHAPES if len(shape) > 1]
    for m in places:
        if isinstance(m, Mapping):
            yield from _skips(m.get("annotations"), ANNOTATION, "annotation")


def _at(node: Any, keys: tuple[str, ...]) -> Any:
    for k in keys:
        node = node.get(k) if isinstance(node, Mapping) else None
    return node


def _extension(node: Any, container: str | None, where: str) -> Iterator[Suppression]:
    ext = node.get(EXTENSION) if isinstance(node, Mapping) else None
    if ext is None:
        return
    skip = ext.get("skip") if isinstance(ext, Mapping) else None
    if not isinstance(skip, Mapping):
        raise TaskDefinitionError(f"{where}: {EXTENSION} takes skip: {{CONTROL: reason}}")
    for k, v in skip.items():
        yield _make(str(k), v, container, where)


def _compose(body: Mapping[str, Any]) -> Iterator[Suppression]:
    """The file's own extension, and each service's as Compose reads it (``extends`` carries labels)."""
    from ecs5probe.platforms.compose.project import resolved

    yield from _extension(body, None, EXTENSION)
    services = resolved(body)
    for name, s in services.items() if isinstance(services, Mapping) else ():
        if isinstance(s, Mapping):
            yield from _extension(s, str(name), f"service {name}: {EXTENSION}")
            yield from _skips(s.get("labels"), LABEL, f"service {name}: label", str(name))


def _ecs(body: Mapping[str, Any]) -> Iterator[Suppression]:
    tags = body.get("tags")
    if isinstance(tags, list):
        for t in tags:
            if isinstance(t, Mapping) and str(t.get("key", "")).startswith(LABEL):
                yield _make(str(t["key"])[len(LABEL) :], t.get("value"), None, "tag")
    defs = body.get("containerDefinitions")
    for i, c in enumerate(defs if isinstance(defs, list) else []):
        if isinstance(c, Mapping):
            name = str(c.get("name", f"#{i}"))
            yield from _skips(c.get("dockerLabels"), LABEL, f"container {name}: dockerLabels", name)
