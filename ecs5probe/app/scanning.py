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
from pathlib import Path
from typing import Any

from ecs5probe.app.walk import STDIN, STDIN_NAME, UNEXPECTED, ComposeProject, Level, Problem, Walk, file_problem
from ecs5probe.errors import TaskDefinitionError
from ecs5probe.model import ContainerKind, PlatformName
from ecs5probe.platforms import find, get
from ecs5probe.platforms.interface import Document, Outcome, Verdict
from ecs5probe.platforms.suppressions import Suppression, suppressions

__all__ = ["STDIN", "STDIN_NAME", "ComposeProject", "Level", "Policy", "Problem", "ScanResult", "ScanRow", "scan"]


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
    walk = Walk(platform, skip_other_files, compose, stdin)
    for p in paths:
        walk.path(p)
    return judge(walk.documents(), walk.problems, controls)


def judge(
    docs: Sequence[tuple[Document, str]], problems: list[Problem], controls: Collection[str] | None
) -> ScanResult:
    found: list[tuple[Document, Sequence[Verdict]]] = []
    skips: list[list[Suppression]] = []
    for d, text in docs:
        try:
            body = d.body
            if d.kind == "cloudformation":  # a stack deployed with its parameters' defaults
                from ecs5probe.platforms.ecs.sources import with_parameter_defaults

                body = with_parameter_defaults(body)
            verdicts = get(d.platform).evaluate(body, controls)
            mine = suppressions(d, text)
        except TaskDefinitionError as e:
            problems.append(Problem(d.file, f"{d.name}: {e}", Level.ERROR, d.line))
            continue
        except UNEXPECTED as e:  # a shape no control foresaw: named, never a traceback
            why = f"{d.name}: cannot be judged: {type(e).__name__}: {e}"
            if "{{" in text and "}}" in text:  # template directives that parsed as YAML: a template
                problems.append(file_problem(Path(d.file), text, why))
            else:
                problems.append(Problem(d.file, why, Level.ERROR, d.line))
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

        docs = [(d, json.dumps(d.body, default=str)) for d in Account(aws_region).documents(tuple(families))]
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
