"""What a platform plug-in provides: storage semantics, documents, the control, run options, patch, render.

A platform is one folder under ``ecs5probe/platforms/`` with a class implementing :class:`Platform`,
registered in ``ecs5probe/platforms/__init__.py``. A test checks that every registered platform
implements all of it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from ecs5probe.core.ports import MountSpec
from ecs5probe.model import Mount


@dataclass
class Document:
    """One deployable unit found in a file: a task definition, a workload, a service."""

    file: str
    line: int | None
    name: str  # family, Terraform resource address, CloudFormation logical id, workload name
    kind: str  # the document format: json, terraform, cloudformation, ...
    body: dict[str, Any]  # the platform's own shape (register-style keys for ECS); parts may be UNKNOWN
    unresolved: str = ""  # why part of it could not be resolved statically (the exact expression)


@dataclass(frozen=True)
class Verdict:
    """The control's answer for one container."""

    container: str
    verdict: str  # PASSED | FAILED | UNKNOWN | NOT_APPLICABLE
    reason: str


class Platform(ABC):
    """One platform: how it provides writable storage, and how its documents say so."""

    name: ClassVar[str]
    #: ``fix --format`` choices: the document formats ``render`` writes.
    formats: ClassVar[tuple[str, ...]]

    # -- storage semantics: how a recommended mount is created when verifying ---------------------
    @abstractmethod
    def mount_spec(self, mount: Mount, image_volumes: Collection[str]) -> MountSpec:
        """The run-time storage for ``mount``, exactly as this platform would create it."""

    # -- documents ---------------------------------------------------------------------------------
    @abstractmethod
    def reads(self, path: Path) -> bool:
        """Whether files like ``path`` may hold this platform's documents (by name)."""

    @abstractmethod
    def read(self, path: Path, text: str, strict: bool) -> Iterator[Document]:
        """The documents in one file; ``strict``: the user named the file, so malformed input is an error."""

    # -- the control -------------------------------------------------------------------------------
    @abstractmethod
    def evaluate(self, doc: Mapping[str, Any]) -> list[Verdict]:
        """The read-only-root control, container by container, as the platform's own scanner judges it."""

    # -- run options ---------------------------------------------------------------------------------
    @abstractmethod
    def containers(self, doc: Mapping[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
        """(name, image, ProbeOptions fields) for each container, run as the document runs it."""

    # -- patch and render ----------------------------------------------------------------------------
    @abstractmethod
    def patch(
        self, doc: Mapping[str, Any], mounts: Mapping[str, Sequence[Mount]], target: str | None = None
    ) -> tuple[dict[str, Any], list[str]]:
        """The document with the flag set and the mounts added (by container name), and notes."""

    @abstractmethod
    def render(self, doc: Mapping[str, Any], fmt: str, name: str) -> str:
        """The patched document in one of ``formats``."""

    @abstractmethod
    def fragment(self, mounts: Sequence[Mount], target: str | None = None) -> str:
        """What to paste for one probed image (``probe --format mounts``)."""
