"""``scan`` as a library call: every container's verdict on the platform's controls, as rows of data,
and every file that could not be judged, as problems (the CLI renders both with
:mod:`ecs5probe.render.scan`). Nothing read is dropped: a file the walk cannot read is a problem, a
control it cannot decide is an UNKNOWN row, and both fail the run unless the user says otherwise."""

from __future__ import annotations

import fnmatch
import hashlib
import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from ecs5probe.errors import TaskDefinitionError
from ecs5probe.model import ContainerKind, PlatformName
from ecs5probe.platforms import SKIP_DIRS, detect, find, get, reads
from ecs5probe.platforms.interface import Document, Outcome, Platform, Verdict
from ecs5probe.platforms.suppressions import Suppression, suppressions

STDIN = "-"
#: What a reader or a control may raise on a shape it did not foresee (never shown as a traceback).
UNEXPECTED = (ValueError, TypeError, KeyError, AttributeError, IndexError, RecursionError)
STDIN_NAME = "<stdin>"

#: The key of a container that each control reads (where a finding points when the key is written).
CONTROL_KEYS = {
    "ECS.5": "readonlyRootFilesystem",
    "ECS.20": "user",
    "ECS.4": "privileged",
    "CKV_K8S_22": "securityContext.readOnlyRootFilesystem",
    "CKV_K8S_23": "securityContext.runAsNonRoot",
    "CKV_K8S_20": "securityContext.allowPrivilegeEscalation",
    "CKV_K8S_37": "securityContext.capabilities",
    "CKV_K8S_16": "securityContext.privileged",
    "read_only": "read_only",
    "user": "user",
    "privileged": "privileged",
}


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
class ScanRow:
    """One container's verdict; names exactly as the document spells them."""

    file: str
    line: int | None
    platform: PlatformName
    document: str  # family, resource address, logical id, workload or Compose file
    format: str  # json, terraform, cloudformation, yaml, aws...
    container: str
    container_kind: ContainerKind
    verdict: Outcome
    reason: str
    control: str = ""  # ECS.5, ECS.20, ECS.4, CKV_K8S_22, read_only...
    key_line: int | None = None  # the line of the key the control reads, where the document writes it
    suppressed: str | None = None  # the justification of a suppression that covers this row

    @property
    def where(self) -> str:
        return self.file if self.format == "aws" else f"{self.file}:{self.at or '?'}"

    @property
    def at(self) -> int | None:
        """The most exact line: the offending key's, else the container's, else the document's."""
        return self.key_line or self.line

    @property
    def fingerprint(self) -> str:
        """Stable across commits (no line in it): the file, the document, the container, the control."""
        ident = "\0".join((self.file, self.document, self.container, self.control))
        return hashlib.sha256(ident.encode()).hexdigest()[:32]

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "keyLine": self.key_line,
            "platform": self.platform.value,
            "name": self.document,
            "kind": self.format,
            "container": self.container,
            "containerKind": self.container_kind.value,
            "control": self.control,
            "verdict": self.verdict.value,
            "reason": self.reason,
            "suppressed": self.suppressed is not None,
            "justification": self.suppressed,
        }


@dataclass(frozen=True)
class Policy:
    """Which rows fail the run, as Checkov's options say: ``soft_fail`` (nothing does),
    ``hard_fail_on`` (only these controls do), ``soft_fail_on`` (these do not); ids may hold wildcards.
    UNKNOWN rows fail like FAILED ones unless ``allow_unknown``; suppressed rows never fail."""

    allow_unknown: bool = False
    soft_fail: bool = False
    hard_fail_on: tuple[str, ...] = ()
    soft_fail_on: tuple[str, ...] = ()

    def hard(self, control: str) -> bool:
        if any(fnmatch.fnmatchcase(control, p) for p in self.hard_fail_on):
            return True
        if self.soft_fail or self.hard_fail_on:
            return False
        return not any(fnmatch.fnmatchcase(control, p) for p in self.soft_fail_on)

    def fails(self, row: ScanRow) -> bool:
        if row.suppressed is not None:
            return False
        bad = row.verdict is Outcome.FAILED or (row.verdict is Outcome.UNKNOWN and not self.allow_unknown)
        return bad and self.hard(row.control)


@dataclass(frozen=True)
class ScanResult:
    """What a scan found: rows, the files it could not judge, how many documents it read."""

    rows: list[ScanRow]
    problems: list[Problem] = field(default_factory=list)
    documents: int = 0

    def exit_code(self, policy: Policy = Policy()) -> int:
        """2 when a file could not be read, 1 when a row (or an unjudged file) fails, else 0."""
        if any(p.level is Level.ERROR for p in self.problems):
            return 2
        if any(policy.fails(r) for r in self.rows):
            return 1
        unjudged = any(p.level is Level.WARNING for p in self.problems)
        return 1 if unjudged and not policy.allow_unknown and not policy.soft_fail else 0


@dataclass(frozen=True)
class ComposeProject:
    """How Compose files are read: extra ``-f`` files merged over each one, profiles, an env file."""

    files: tuple[str, ...] = ()
    profiles: tuple[str, ...] = ()
    env_file: str | None = None


def _located(d: Document, v: Verdict) -> tuple[int | None, int | None]:
    line = d.lines.get(v.container) or d.line
    key = CONTROL_KEYS.get(v.control)
    return line, (d.lines.get(f"{v.container}\t{key}") if key else None)


def _justification(found: Sequence[Suppression], v: Verdict) -> str | None:
    for s in found:
        if s.covers(v.control, v.container):
            return s.reason
    return None


def rows(
    found: Sequence[tuple[Document, Sequence[Verdict]]], skips: Sequence[Sequence[Suppression]] = ()
) -> list[ScanRow]:
    out = []
    for i, (d, verdicts) in enumerate(found):
        mine = skips[i] if i < len(skips) else ()
        for v in verdicts:
            line, key_line = _located(d, v)
            out.append(
                ScanRow(
                    d.file,
                    line,
                    PlatformName(d.platform),
                    d.name,
                    d.kind,
                    v.container,
                    v.kind,
                    v.verdict,
                    (d.unresolved if v.verdict is Outcome.UNKNOWN and d.unresolved else "") or v.reason,
                    v.control,
                    key_line,
                    _justification(mine, v),
                )
            )
    return out


def scan_paths(
    paths: Sequence[str],
    platform: str | None = None,
    skip_other_files: bool = False,
    controls: Collection[str] | None = None,
) -> list[tuple[Document, list[Verdict]]]:
    """The control's verdicts, statically, for files and directories (every platform's documents, or
    only ``platform``'s); the first file that cannot be read raises. ``skip_other_files``: a named file
    that holds no document is skipped, not an error (a pre-commit hook is given every YAML file)."""
    only = get(platform) if platform else None
    out = []
    for d in find(list(paths), only, strict=not skip_other_files):
        try:
            out.append((d, get(d.platform).evaluate(d.body, controls)))
        except TaskDefinitionError as e:
            raise TaskDefinitionError(f"{d.file}:{d.line or '?'}: {d.name}: {e}") from None
    return out


class _Walk:
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
            if not named and not _worth_naming(path, text, platform):
                return
            self.problems.append(_problem(path, text, str(e)))
            return
        except UNEXPECTED as e:  # a shape no reader foresaw: named, never a traceback
            self.problems.append(Problem(str(path), f"cannot be read: {type(e).__name__}: {str(e)[:200]}"))
            return
        if path.name.startswith(STDIN_NAME):
            for d in found:
                d.file = STDIN_NAME
        self.docs += [(d, text) for d in found]

    def _project(self, d: Document) -> Document:
        from ecs5probe.platforms.compose.project import attach

        extra = self.compose.files or tuple(str(o) for o in _overrides(Path(d.file)))
        attach(d.body, (d.file, *extra), self.compose.profiles, self.compose.env_file)
        return d


#: The file names docker compose reads by default, and the override it merges over each.
COMPOSE_NAMES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")


def _overrides(path: Path) -> list[Path]:
    """The override file docker compose merges over ``path`` when no ``-f`` is given."""
    if path.name not in COMPOSE_NAMES:
        return []
    stem = path.name.rsplit(".", 1)[0]
    found = [path.parent / f"{stem}.override.{ext}" for ext in ("yaml", "yml")]
    return [f for f in found if f.is_file()][:1]


def _base_of(path: Path) -> Path | None:
    """The default Compose file an override file is merged over (None: not an override of one)."""
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


def _stdin_suffix(text: str) -> str:
    return ".json" if text.lstrip()[:1] in ("{", "[") else ".yaml"


def _worth_naming(path: Path, text: str, platform: Platform) -> bool:
    """Whether a file met in a walk that cannot be read is worth a problem: any YAML or Terraform file,
    and JSON that mentions containers (a tsconfig.json with comments is not a task definition)."""
    return path.suffix != ".json" or "containerDefinitions" in text or "ContainerDefinitions" in text


def _problem(path: Path, text: str, message: str) -> Problem:
    message = message.removeprefix(f"{path}: ")
    if "{{" in text and "}}" in text:
        chart = next((d for d in path.parents if (d / "Chart.yaml").is_file()), None)
        how = f"helm template {chart} | ecs5probe scan -" if chart else "helm template . | ecs5probe scan -"
        what = f"a template of the Helm chart {chart}" if chart else "a template ({{ }} directives)"
        return Problem(str(path), f"{what}, not a manifest: render it first ({how}): {message}", Level.WARNING)
    return Problem(str(path), message)


def collect(
    paths: Sequence[str],
    platform: str | None = None,
    skip_other_files: bool = False,
    controls: Collection[str] | None = None,
    compose: ComposeProject = ComposeProject(),
    stdin: str | None = None,
) -> ScanResult:
    """Every document of ``paths`` (files, directories, ``-`` for ``stdin``'s text) judged, with the
    problems met; a file that cannot be read is a problem, never an exception."""
    walk = _Walk(platform, skip_other_files, compose, stdin)
    for p in paths:
        walk.path(p)
    return judge(walk.docs, walk.problems, controls)


def judge(
    docs: Sequence[tuple[Document, str]], problems: list[Problem], controls: Collection[str] | None
) -> ScanResult:
    found: list[tuple[Document, Sequence[Verdict]]] = []
    skips: list[list[Suppression]] = []
    for d, text in docs:
        try:
            verdicts = get(d.platform).evaluate(d.body, controls)
            mine = suppressions(d, text)
        except TaskDefinitionError as e:
            problems.append(Problem(d.file, f"{d.name}: {e}", Level.ERROR, d.line))
            continue
        except UNEXPECTED as e:  # a shape no control foresaw: named, never a traceback
            problems.append(
                Problem(d.file, f"{d.name}: cannot be judged: {type(e).__name__}: {e}", Level.ERROR, d.line)
            )
            continue
        found.append((d, verdicts))
        skips.append(mine)
    return ScanResult(rows(found, skips), problems, len(found))


def scan(
    paths: Sequence[str] = (),
    platform: str | None = None,
    aws_region: str | None = None,
    families: Sequence[str] = (),
    use_aws: bool = False,
    skip_other_files: bool = False,
    controls: Collection[str] | None = None,
    compose: ComposeProject = ComposeProject(),
    stdin: str | None = None,
) -> ScanResult:
    """Rows for ``paths`` and, with ``use_aws``, the live account's task definitions (boto3); every
    platform's controls, or only ``controls`` (their ids)."""
    result = collect(paths, platform, skip_other_files, controls, compose, stdin) if paths else ScanResult([])
    if use_aws:
        from ecs5probe.platforms.ecs.account import Account

        docs = [(d, json.dumps(d.body)) for d in Account(aws_region).documents(tuple(families))]
        more = judge(docs, [], controls)
        result = replace(
            result,
            rows=result.rows + more.rows,
            problems=result.problems + more.problems,
            documents=result.documents + more.documents,
        )
    return result


def failed(found: Sequence[ScanRow], policy: Policy = Policy()) -> bool:
    return any(policy.fails(r) for r in found)
