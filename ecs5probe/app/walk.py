"""``scan``'s reading of paths: files, directories walked, standard input; each file to the platform
whose documents it holds, and every file that cannot be judged kept as a :class:`Problem`."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from ecs5probe.errors import TaskDefinitionError
from ecs5probe.model import PlatformName
from ecs5probe.platforms import SKIP_DIRS, detect, get, reads
from ecs5probe.platforms.interface import Document, Platform

STDIN = "-"
#: What a reader or a control may raise on a shape it did not foresee (never shown as a traceback).
UNEXPECTED = (ValueError, TypeError, KeyError, AttributeError, IndexError, RecursionError)
STDIN_NAME = "<stdin>"


class Level(StrEnum):
    """How bad a file problem is."""

    ERROR = "error"  # unreadable, malformed, a suppression without its reason: exit 2
    WARNING = "warning"  # it may hold containers that cannot be judged (a template, an unknown shape)


@dataclass(frozen=True)
class Problem:
    """A file that could not be judged (or not wholly), and why."""

    file: str
    message: str
    level: Level = Level.ERROR
    line: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "level": self.level.value, "message": self.message}


@dataclass(frozen=True)
class ComposeProject:
    """How Compose files are read: extra ``-f`` files merged over each one, profiles, an env file."""

    files: tuple[str, ...] = ()
    profiles: tuple[str, ...] = ()
    env_file: str | None = None


class Walk:
    """One scan's reading: documents with their file's text, and the problems met."""

    def __init__(
        self, platform: str | None, skip_other_files: bool, compose: ComposeProject, stdin: str | None
    ) -> None:
        self.only: Platform | None = get(platform) if platform else None
        self.skip_other_files = skip_other_files
        self.compose = compose
        self.stdin = stdin
        self.docs: list[tuple[Document, str]] = []
        self.problems: list[Problem] = []

    def path(self, p: str) -> None:
        if p == STDIN:
            self.text(Path(STDIN_NAME + _stdin_suffix(self.stdin or "")), self.stdin or "", named=True)
            return
        path = Path(p)
        if not path.exists():
            self.problems.append(Problem(p, "no such file or directory"))
        elif path.is_dir():
            for f in sorted(path.rglob("*")):
                if f.is_file() and not SKIP_DIRS & set(f.parts) and (self.only.reads(f) if self.only else reads(f)):
                    self.file(f, named=False)
        else:
            self.file(path, named=True)

    def file(self, path: Path, named: bool) -> None:
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError as e:
            self.problems.append(Problem(str(path), f"cannot be read: {e.strerror or e}"))
            return
        if not named and self.only is not None and _detect(path, text).name is not self.only.name:
            return  # --platform P: a walk skips the files P does not read
        if not named and not self.compose.files and _base_of(path) is not None:
            return  # an override file: merged into its base file, as docker compose does
        self.text(path, text, named)

    def text(self, path: Path, text: str, named: bool) -> None:
        if _helm_template(path, text):  # its directives may even parse as YAML: judged once rendered only
            self.problems.append(file_problem(path, text))
            return
        platform = self.only or _detect(path, text)
        strict = named and not self.skip_other_files
        try:
            if platform.name is PlatformName.KUBERNETES:
                from ecs5probe.platforms.kubernetes.manifests import workloads

                found, strays = workloads(path, text, strict, fast=True)
                self.problems += [Problem(str(path), s, Level.WARNING, line) for line, s in strays]
            else:
                found = list(platform.read(path, text, strict))
                if platform.name is PlatformName.COMPOSE:
                    found = [self._project(d) for d in found]
        except TaskDefinitionError as e:
            if not strict and not _worth_naming(path, text, platform):
                return
            self.problems.append(file_problem(path, text, str(e)))
            return
        except UNEXPECTED as e:  # a shape no reader foresaw: named, never a traceback
            self.problems.append(Problem(str(path), f"cannot be read: {type(e).__name__}: {str(e)[:200]}"))
            return
        if "{{" in text and any(_directives(d.body) for d in found):  # values that are not the rendered ones
            self.problems.append(file_problem(path, text))
            return
        if path.name.startswith(STDIN_NAME):
            for d in found:
                d.file = STDIN_NAME
        # a local Terraform module's task definitions, made by this file's call: in the module's file
        self.docs += [(d, text if d.file == str(path) else _text_of(d.file)) for d in found]

    def documents(self) -> list[tuple[Document, str]]:
        """What was read, less a called Terraform module's own reading (its variables' defaults) where
        a call read in this walk says what it makes (``module.NAME.<address>``), as Terraform plans it."""
        names: dict[str, set[str]] = {}
        for d, _ in self.docs:
            names.setdefault(d.file, set()).add(d.name)

        def called(d: Document) -> bool:
            return d.kind == "terraform" and any(
                n.endswith("." + d.name) and _CALLS.fullmatch(n[: -len(d.name)]) for n in names[d.file]
            )

        kept = [(d, t) for d, t in self.docs if not called(d)]
        # one module called by several roots makes the same addresses: each says whose call it is
        seen: dict[tuple[str, str], set[str]] = {}
        for d, _ in kept:
            seen.setdefault((d.file, d.name), set()).add(d.caller)
        return [
            (
                replace(d, name=f"{d.name} (called at {d.caller})")
                if d.caller and len(seen[(d.file, d.name)]) > 1
                else d,
                t,
            )
            for d, t in kept
        ]

    def _project(self, d: Document) -> Document:
        from ecs5probe.platforms.compose.project import attach, files_of

        # without -f, the files the reader gave it (its default override, as docker compose merges it)
        files = (d.file, *self.compose.files) if self.compose.files else files_of(d.body) or (d.file,)
        attach(d.body, files, self.compose.profiles, self.compose.env_file)
        return d


def _base_of(path: Path) -> Path | None:
    """The default Compose file an override file is merged over (None: not an override of one)."""
    from ecs5probe.platforms.compose.project import COMPOSE_NAMES

    name = path.name
    for base in COMPOSE_NAMES:
        stem = base.rsplit(".", 1)[0]
        if name.startswith(stem + ".override.") and (path.parent / base).is_file():
            return path.parent / base
    return None


def _detect(path: Path, text: str) -> Platform:
    """Whose documents a file holds; JSON with ``apiVersion`` and ``kind`` is Kubernetes'
    (``kubectl get -o json``), not a task definition."""
    head = text[:4096]
    if path.suffix == ".json" and '"apiVersion"' in head and '"kind"' in head and "ontainerDefinitions" not in text:
        return get("kubernetes")
    return detect(path, text)


#: The calls of local modules that led to a document (``module.A.module.B.``).
_CALLS = re.compile(r"(?:module\.[^.\[]+(?:\[[^\]]*\])?\.)+")


def _text_of(file: str) -> str:
    try:
        return Path(file).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _stdin_suffix(text: str) -> str:
    return ".json" if text.lstrip()[:1] in ("{", "[") else ".yaml"


def _worth_naming(path: Path, text: str, platform: Platform) -> bool:
    """Whether a file met in a walk that cannot be read is worth a problem: any YAML or Terraform file,
    and JSON that mentions containers (a tsconfig.json with comments is not a task definition)."""
    return path.suffix != ".json" or "containerDefinitions" in text or "ContainerDefinitions" in text


def _helm_template(path: Path, text: str) -> bool:
    """A template of a Helm chart (``CHART/templates/...``, ``Chart.yaml`` above) with directives."""
    if "{{" not in text or "}}" not in text or path.suffix not in (".yaml", ".yml", ".tpl"):
        return False
    return any(d.name == "templates" and (d.parent / "Chart.yaml").is_file() for d in path.resolve().parents)


def _directives(value: Any, depth: int = 0) -> bool:
    """Whether a parsed document holds an unquoted ``{{ ... }}``: YAML reads it as a flow mapping whose
    key is a mapping, which no manifest has (a quoted one, a PrometheusRule's, is a string)."""
    if depth > 60:
        return False
    if isinstance(value, dict):
        return any(isinstance(k, Mapping) or _directives(v, depth + 1) for k, v in value.items())
    if isinstance(value, list):
        return any(_directives(v, depth + 1) for v in value)
    return False


def file_problem(path: Path, text: str, message: str = "") -> Problem:
    """A file that cannot be read, or a template (``{{ }}`` directives, a Helm chart's) to render first."""
    message = message.removeprefix(f"{path}: ")
    if "{{" in text and "}}" in text:
        found = next((d for d in path.resolve().parents if (d / "Chart.yaml").is_file()), None)
        chart = os.path.relpath(found) if found is not None else None
        how = f"helm template {chart} | ecs5probe scan -" if chart else "helm template . | ecs5probe scan -"
        what = f"a template of the Helm chart {chart}" if chart else "a template ({{ }} directives)"
        tail = f": {message}" if message else ""
        return Problem(str(path), f"{what}, not a manifest: render it first ({how}){tail}", Level.WARNING)
    return Problem(str(path), message)
