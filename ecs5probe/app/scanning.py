"""``scan`` as a library call: every container's verdict on the platform's read-only-root control, as
rows of data (the CLI renders them with :mod:`ecs5probe.render.scan`)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from ecs5probe.errors import TaskDefinitionError
from ecs5probe.model import ContainerKind, PlatformName
from ecs5probe.platforms import find, get
from ecs5probe.platforms.interface import Document, Outcome, Verdict


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

    @property
    def where(self) -> str:
        return self.file if self.format == "aws" else f"{self.file}:{self.line or '?'}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "platform": self.platform.value,
            "name": self.document,
            "kind": self.format,
            "container": self.container,
            "containerKind": self.container_kind.value,
            "control": self.control,
            "verdict": self.verdict.value,
            "reason": self.reason,
        }


def rows(found: Sequence[tuple[Document, Sequence[Verdict]]]) -> list[ScanRow]:
    return [
        ScanRow(
            d.file,
            d.line,
            PlatformName(d.platform),
            d.name,
            d.kind,
            v.container,
            v.kind,
            v.verdict,
            d.unresolved or v.reason,
            v.control,
        )
        for d, verdicts in found
        for v in verdicts
    ]


def scan_paths(
    paths: Sequence[str],
    platform: str | None = None,
    skip_other_files: bool = False,
    controls: Collection[str] | None = None,
) -> list[tuple[Document, list[Verdict]]]:
    """The control's verdicts, statically, for files and directories (every platform's documents, or
    only ``platform``'s). ``skip_other_files``: a named file that holds no document is skipped, not an
    error (a pre-commit hook is given every YAML file)."""
    only = get(platform) if platform else None
    out = []
    for d in find(list(paths), only, strict=not skip_other_files):
        try:
            out.append((d, get(d.platform).evaluate(d.body, controls)))
        except TaskDefinitionError as e:
            raise TaskDefinitionError(f"{d.file}:{d.line or '?'}: {d.name}: {e}") from None
    return out


def scan(
    paths: Sequence[str] = (),
    platform: str | None = None,
    aws_region: str | None = None,
    families: Sequence[str] = (),
    use_aws: bool = False,
    skip_other_files: bool = False,
    controls: Collection[str] | None = None,
) -> list[ScanRow]:
    """Rows for ``paths`` and, with ``use_aws``, the live account's task definitions (boto3); every
    platform's controls, or only ``controls`` (their ids)."""
    found: list[tuple[Document, list[Verdict]]] = (
        scan_paths(paths, platform, skip_other_files, controls) if paths else []
    )
    if use_aws:
        from ecs5probe.platforms.ecs.account import Account

        ecs = get("ecs")
        found += [(d, ecs.evaluate(d.body, controls)) for d in Account(aws_region).documents(tuple(families))]
    return rows(found)


def failed(found: Sequence[ScanRow]) -> bool:
    return any(r.verdict is Outcome.FAILED for r in found)
