"""What a platform plug-in provides: storage semantics, documents, the control, run options, patch, render.

A platform is one folder under ``ecs5probe/platforms/`` with a class implementing :class:`Platform`,
registered in ``ecs5probe/platforms/__init__.py``. A test checks that every registered platform
implements all of it.
"""

from __future__ import annotations

import json
import re
from abc import ABC, abstractmethod
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any, ClassVar

from ecs5probe.core.deployment import Deployment
from ecs5probe.core.paths import is_ancestor_or_self
from ecs5probe.core.ports import MountSpec
from ecs5probe.errors import TaskDefinitionError
from ecs5probe.model import ContainerKind, Mount, PlatformName, Privilege


@dataclass
class Document:
    """One deployable unit found in a file: a task definition, a workload, a service."""

    file: str
    line: int | None
    name: str  # family, Terraform resource address, CloudFormation logical id, workload name
    kind: str  # the document format: json, terraform, cloudformation, ...
    body: dict[str, Any]  # the platform's own shape (register-style keys for ECS); parts may be UNKNOWN
    unresolved: str = ""  # why part of it could not be resolved statically (the exact expression)
    platform: PlatformName = PlatformName.ECS  # whose document it is
    index: int = 0  # its place among the file's documents (a multi-document YAML stream)
    stream: Any = field(default=None, repr=False, compare=False)  # where it sits in the parsed file (write)
    #: Lines in ``file`` (1-based): a container's ("NAME"), one of its keys ("NAME\tKEY"), the document's
    #: last line ("\tend"). Filled by readers that know them; ``scan`` reports findings there.
    lines: dict[str, int] = field(default_factory=dict, repr=False, compare=False)
    #: Made by a call of a local Terraform module: where the root module's call is (``file:line``).
    caller: str = field(default="", compare=False)


class Outcome(StrEnum):
    """A control's answer."""

    PASSED = "PASSED"
    FAILED = "FAILED"
    UNKNOWN = "UNKNOWN"  # the document does not say statically (an unresolved expression)
    NOT_APPLICABLE = "NOT_APPLICABLE"  # a Windows container


@dataclass(frozen=True)
class Verdict:
    """The control's answer for one container; ``container`` exactly as the document names it."""

    container: str
    verdict: Outcome
    reason: str
    kind: ContainerKind = ContainerKind.CONTAINER
    control: str = ""  # the control's id: ECS.5, ECS.20, CKV_K8S_22...

    def __post_init__(self) -> None:
        object.__setattr__(self, "verdict", Outcome(self.verdict))


def container_name(image: str) -> str:
    """A container name for a probed image: its repository's last part, as a DNS-1123 label."""
    repo = image.split("@")[0].rsplit("/", 1)[-1].split(":")[0]
    return re.sub(r"[^a-z0-9]+", "-", repo.lower()).strip("-")[:63] or "app"


def is_root(user: str) -> bool:
    """``root``, ``0``, ``0:x``, ``root:x``: the user part names root."""
    name = user.split(":", 1)[0].strip()
    return name in ("root", "0")


def already_covered(have: Iterable[tuple[str, bool]], mount: Mount, who: str, whose: str, notes: list[str]) -> bool:
    """Whether one of the document's own mounts (path, read-only) already covers ``mount``: then it says
    so in ``notes`` (True); a read-only one over a path the app writes is an error."""
    covering = [h for h in have if is_ancestor_or_self(h[0], mount.container_path)]
    if not covering:
        return False
    path, read_only = max(covering, key=lambda h: len(h[0]))
    if read_only:
        raise TaskDefinitionError(
            f"{who}: {mount.container_path} must be writable but {whose} mount at {path} is read-only"
        )
    notes.append(f"{who}: {mount.container_path} is already covered by {whose} own mount at {path}")
    return True


def asked_for(known: Sequence[str], controls: Collection[str] | None) -> list[str]:
    """The controls of ``known`` that ``controls`` asks for (all of them when None), in ``known``'s order."""
    return [c for c in known if controls is None or c in controls]


def as_control(verdicts: Iterable[Verdict], control: str) -> list[Verdict]:
    """``verdicts`` of one control, each naming it."""
    return [replace(v, control=control) for v in verdicts]


def flag_verdict(container: str, value: Any, field: str, kind: ContainerKind = ContainerKind.CONTAINER) -> Verdict:
    """The control on one boolean flag: true passes; absent or anything else (false, a string) fails."""
    if value is True:
        return Verdict(container, Outcome.PASSED, f"{field} is true", kind)
    if value is None:
        return Verdict(container, Outcome.FAILED, f"{field} is absent", kind)
    return Verdict(container, Outcome.FAILED, f"{field} is {json.dumps(value, default=str)}", kind)


class Platform(ABC):
    """One platform: how it provides writable storage, and how its documents say so."""

    name: ClassVar[PlatformName]
    #: ``fix --format`` choices: the document formats ``render`` writes (the first is the default).
    formats: ClassVar[tuple[str, ...]]
    #: Whether one file may hold several documents that ``fix`` patches together.
    many_per_file: ClassVar[bool] = False

    #: ``net.ipv4.ip_unprivileged_port_start`` in the platform's containers where it is not local
    #: Docker's 0 (see :class:`ecs5probe.core.ports.StorageSemantics`); None: Docker's holds.
    unprivileged_port_start: int | None = None

    # -- storage semantics: how a recommended mount is created when verifying ---------------------
    @abstractmethod
    def mount_spec(
        self, mount: Mount, image_volumes: Collection[str], storage: Mapping[str, str] | None = None
    ) -> MountSpec:
        """The run-time storage for ``mount``, exactly as this platform would create it.

        ``storage``: the document's settings that shape it (Kubernetes ``fsGroup``)."""

    # -- documents ---------------------------------------------------------------------------------
    @abstractmethod
    def reads(self, path: Path) -> bool:
        """Whether files like ``path`` may hold this platform's documents (by name)."""

    def claims(self, path: Path, text: str) -> bool:
        """Whether this file's content is this platform's (several platforms read YAML)."""
        return self.reads(path)

    @abstractmethod
    def read(self, path: Path, text: str, strict: bool) -> Iterator[Document]:
        """The documents in one file; ``strict``: the user named the file, so malformed input is an error."""

    # -- the control -------------------------------------------------------------------------------
    #: The controls ``evaluate`` judges, the read-only-root control first.
    controls: ClassVar[tuple[str, ...]]

    @abstractmethod
    def evaluate(self, doc: Mapping[str, Any], controls: Collection[str] | None = None) -> list[Verdict]:
        """The verdicts of ``controls`` (every one of :attr:`controls` by default), container by container,
        as the platform's own scanner judges them."""

    # -- what runs ----------------------------------------------------------------------------------
    @abstractmethod
    def deployment(self, doc: Mapping[str, Any], name: str) -> Deployment:
        """The document as its platform runs it: each container with its image and settings, their order
        and conditions, what they share. The one description of what a document runs."""

    # -- patch and render ----------------------------------------------------------------------------
    @abstractmethod
    def patch(
        self, doc: Mapping[str, Any], mounts: Mapping[str, Sequence[Mount]], target: str | None = None
    ) -> tuple[dict[str, Any], list[str]]:
        """The document with the flag set and the mounts added (by container name), and notes."""

    @abstractmethod
    def harden(
        self, doc: Mapping[str, Any], privileges: Mapping[str, Privilege], target: str | None = None
    ) -> list[str]:
        """Write each container's verified least privilege into ``doc`` (a patched copy), in place; notes."""

    @abstractmethod
    def render(self, doc: Mapping[str, Any], fmt: str, name: str) -> str:
        """The patched document in one of ``formats``."""

    def unrepresented(self, doc: Mapping[str, Any], fmt: str) -> list[str]:
        """The document's keys that ``fmt`` has no place for (its schema is older than the platform's
        API): ``render`` leaves them out, and the user is told by name. The default: none."""
        return []

    def write(self, docs: Sequence[Document], patched: Sequence[Mapping[str, Any] | None], fmt: str) -> str:
        """One file's text with its patched documents (None: that document stays as it was).

        The default takes files of one document; platforms whose files hold several override it."""
        if len(docs) != 1 or patched[0] is None:
            raise TaskDefinitionError(f"{docs[0].file if docs else 'this file'}: fix takes one document per file")
        return self.render(patched[0], fmt, docs[0].name)

    @abstractmethod
    def fragment(self, mounts: Sequence[Mount], target: str | None = None, image: str = "") -> str:
        """What to paste for one probed ``image`` (``probe --format mounts``)."""
