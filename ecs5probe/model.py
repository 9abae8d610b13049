"""The data ecs5probe works with: frozen dataclasses, no behaviour beyond conversions."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

MountKind = Literal["tmpfs", "bind", "volume"]


class PlatformName(StrEnum):
    """The platforms whose semantics verify a probe and whose documents ecs5probe reads
    (``ecs5probe.platforms.to_platform`` maps each to its plug-in)."""

    ECS = "ecs"
    KUBERNETES = "kubernetes"
    COMPOSE = "compose"

    @classmethod
    def default(cls) -> PlatformName:
        """Whose semantics verify a probe, and whose fragment a report writes, when nobody says."""
        return cls.ECS


class ContainerKind(StrEnum):
    """What a container of a document is: the machine-readable outputs carry it in a field of its own."""

    CONTAINER = "container"
    INIT = "init"  # a Kubernetes init container: runs to completion before the others


EvidenceSource = Literal["diff", "volume-diff", "log", "strace"]  # where a write was seen


@dataclass(frozen=True)
class Write:
    """One write the app made (observed) or attempted and failed (traced).

    ``path`` is absolute, or None when the evidence names no path
    (for example Rust's ``Read-only file system (os error 30)``).
    """

    path: str | None
    source: EvidenceSource
    errno: str | None = None  # EROFS, EACCES, ENOENT...; None for a write that succeeded
    op: str = "write"
    line: str = ""
    pattern: str = ""


@dataclass(frozen=True)
class Evidence:
    """Why a mount is recommended: one source and the line that shows it."""

    source: EvidenceSource
    path: str | None
    line: str

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "path": self.path, "line": self.line}


@dataclass(frozen=True)
class Mount:
    """One writable mount, as ECS would provide it."""

    container_path: str
    kind: MountKind = "tmpfs"
    mount_options: tuple[str, ...] = ()
    size_mib: int = 64
    hides_image_content: tuple[str, ...] = ()  # names of what the image ships there and the mount hides
    required: bool = True
    #: The app stays up without it, but writes it made with a writable root fail; None: no run without
    #: it was made (kept because the app wrote there with a writable root; ``--ablate-all`` tells).
    degraded: bool | None = False
    reason: str = ""
    evidence: tuple[Evidence, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "containerPath": self.container_path,
            "kind": self.kind,
            "mountOptions": list(self.mount_options),
            "sizeMiB": self.size_mib,
            "required": self.required,
            "degraded": self.degraded,
            "hidesImageContent": list(self.hides_image_content),
            "reason": self.reason,
            "evidence": [e.to_dict() for e in self.evidence],
        }


@dataclass(frozen=True)
class Finding:
    """Something the user must know that is not a mount (a path-less EROFS, an unfixable write)."""

    kind: str  # "pathless-erofs", "unmountable", "tolerated", "note"
    message: str
    evidence: tuple[Evidence, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "message": self.message, "evidence": [e.to_dict() for e in self.evidence]}


HTTP_GET, TCP_SOCKET = "HTTP-GET", "TCP-SOCKET"  # checked from the container's network namespace


@dataclass(frozen=True)
class HealthSpec:
    """A health check in Docker's terms, durations in seconds.

    ``test`` is Docker's (``("CMD-SHELL", "...")``, ``("CMD", ...)``, ``("NONE",)``), or a Kubernetes
    network probe the runtime checks from a helper sharing the container's network namespace:
    ``(HTTP_GET, URL, "Header: value"...)`` or ``(TCP_SOCKET, PORT)``.
    """

    test: tuple[str, ...]
    interval: float = 0.5
    timeout: float = 5.0
    retries: int = 3
    start_period: float = 0.0

    @property
    def network(self) -> bool:
        """Checked from outside the container (a Kubernetes httpGet or tcpSocket probe)."""
        return bool(self.test) and self.test[0] in (HTTP_GET, TCP_SOCKET)


@dataclass(frozen=True)
class ImageConfig:
    """What an image's config says about how it starts."""

    ref: str
    id: str = ""
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    user: str = ""
    workdir: str = ""
    env: tuple[str, ...] = ()
    health: HealthSpec | None = None
    volumes: tuple[str, ...] = ()
    stop_signal: str = "SIGTERM"
    ports: tuple[str, ...] = ()  # the image's EXPOSE, as Docker lists them ("8080/tcp")

    @property
    def env_dict(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for item in self.env:
            k, _, v = item.partition("=")
            out[k] = v
        return out


@dataclass(frozen=True)
class PathInfo:
    """What the image ships at one path (symlinks are not followed)."""

    path: str
    exists: bool
    is_dir: bool = False
    link_target: str | None = None
    uid: int = 0
    gid: int = 0
    mode: int = 0o755
    has_content: bool = False  # ships data below: a non-empty file, a link or a device (not empty dirs/files)
    entries: tuple[str, ...] = ()  # names of what it holds directly, empty dirs and files too ("lock/", "a.log")
    content_bytes: int | None = None  # bytes of the files below (None: not counted)

    @property
    def ships_anything(self) -> bool:
        """Any entry at all: a mount here hides it (empty directories and files count)."""
        return self.has_content or bool(self.entries)


@dataclass(frozen=True)
class RunRecord:
    """One container run the probe made, for the report."""

    purpose: str
    read_only: bool
    mounts: tuple[str, ...]
    passed: bool
    reason: str
    duration_seconds: float
    ran_seconds: float = 0.0  # the container's own life: from its start to its stop

    def to_dict(self) -> dict[str, Any]:
        return {
            "purpose": self.purpose,
            "readOnly": self.read_only,
            "mounts": list(self.mounts),
            "passed": self.passed,
            "reason": self.reason,
            "durationSeconds": round(self.duration_seconds, 3),
            "ranSeconds": round(self.ran_seconds, 3),
        }


@dataclass(frozen=True)
class Privilege:
    """The least privilege found for one image, verified together with its mounts in one run."""

    user: str | None = None  # "uid:gid" to write; None: the control cannot be met (see ``cannot``)
    cap_add: tuple[str, ...] = ()
    cap_drop: tuple[str, ...] = ()  # ("ALL",) when capabilities were learnt
    verified: bool = False
    cannot: tuple[str, ...] = ()  # a control that cannot be met without changing the image, and why
    tried: tuple[str, ...] = ()
    #: Kernel parameters the answer needs ((name, value)): ``net.ipv4.ip_unprivileged_port_start`` set to
    #: the lowest port a non-root app binds, where the platform leaves it at 1024.
    sysctls: tuple[tuple[str, str], ...] = ()
    #: Why each capability outside Docker's defaults is added: (capability, the evidence line).
    evidence: tuple[tuple[str, str], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "user": self.user,
            "capabilities": {"add": list(self.cap_add), "drop": list(self.cap_drop)},
            "sysctls": dict(self.sysctls),
            "evidence": dict(self.evidence),
            "noNewPrivileges": True,
            "verified": self.verified,
            "cannot": list(self.cannot),
            "tried": list(self.tried),
        }


@dataclass(frozen=True)
class Unexercised:
    """A directory the app could write that no run wrote (never mounted for that): what to exercise next."""

    path: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "reason": self.reason}


@dataclass(frozen=True)
class Basis:
    """What ran in the runs that decided the verdict: the evidence it rests on."""

    health: str | None = None  # the health check's command, or None (ready = output quiet)
    exercises: tuple[str, ...] = ()
    smoke: tuple[str, ...] = ()
    signals: tuple[str, ...] = ()
    soak_seconds: float = 0.0
    ports: tuple[str, ...] = ()  # published for the smoke tests ("8080/tcp")
    #: The deciding runs (the writable reference, the verification) and how long each container ran.
    runs: tuple[tuple[str, float], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "healthCheck": self.health,
            "exercises": list(self.exercises),
            "smoke": list(self.smoke),
            "signals": list(self.signals),
            "soakSeconds": self.soak_seconds,
            "ports": list(self.ports),
            "runs": [{"purpose": p, "ranSeconds": round(s, 3)} for p, s in self.runs],
        }

    def summary(self) -> str:
        """One line: what the verdict rests on."""
        parts = [f"health check {self.health!r}" if self.health else "no health check (ready when output was quiet)"]
        parts.append(f"{len(self.exercises)} exercise(s)" if self.exercises else "no exercise")
        parts.append(f"{len(self.smoke)} smoke test(s)" if self.smoke else "no smoke test")
        if self.signals:
            parts.append("signal(s) " + ", ".join(self.signals))
        if self.soak_seconds:
            parts.append(f"{self.soak_seconds:g}s soak")
        if self.runs:
            parts.append("ran " + ", ".join(f"{p} {s:.1f}s" for p, s in self.runs))
        return "; ".join(parts)


@dataclass(frozen=True)
class Cached:
    """A result read from the result cache: when it was probed (ISO 8601, UTC) and by which version."""

    probed_at: str
    version: str

    def to_dict(self) -> dict[str, Any]:
        return {"probedAt": self.probed_at, "version": self.version}

    @property
    def note(self) -> str:
        """One line for the reports people read."""
        return f"cached: probed {self.probed_at} by ecs5probe {self.version}; no container started"


@dataclass(frozen=True)
class ProbeResult:
    """The answer for one image: the mounts it needs and whether that set verified."""

    image: str
    verified: bool
    mounts: list[Mount] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    runs: list[RunRecord] = field(default_factory=list)
    duration_seconds: float = 0.0
    reason: str = ""
    user: str = ""
    tried: list[str] = field(default_factory=list)  # alternatives the probe tried, in order
    #: In a deployment (fix): the document's name, and the container as the document names it.
    deployment: str = ""
    container: str = ""
    container_kind: ContainerKind | None = None
    privilege: Privilege | None = None  # with --harden non-root or capabilities
    #: Directories the app could write that no run wrote (what to exercise next), at most a few.
    unexercised: list[Unexercised] = field(default_factory=list)
    unexercised_more: int = 0  # how many more were left out of ``unexercised``
    basis: Basis | None = None  # what ran in the deciding runs
    cached: Cached | None = None  # read from the result cache, not probed now

    @property
    def label(self) -> str:
        """What reports call it: the image, or ``deployment/container`` within a deployment."""
        return f"{self.deployment}/{self.container}" if self.deployment else self.image

    @property
    def required_mounts(self) -> list[Mount]:
        return [m for m in self.mounts if m.required]

    @property
    def exit_code(self) -> int:
        """0 when a verified set was found (or none is needed), else 1."""
        return 0 if self.verified else 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "image": self.image,
            "verified": self.verified,
            "reason": self.reason,
            "user": self.user,
            "mounts": [m.to_dict() for m in self.mounts],
            "findings": [f.to_dict() for f in self.findings],
            "tried": list(self.tried),
            "runs": [r.to_dict() for r in self.runs],
            "durationSeconds": round(self.duration_seconds, 3),
            "unexercised": [u.to_dict() for u in self.unexercised],
            **({"unexercisedMore": self.unexercised_more} if self.unexercised_more else {}),
            **({"basis": self.basis.to_dict()} if self.basis is not None else {}),
            **({"privilege": self.privilege.to_dict()} if self.privilege is not None else {}),
            **({"cached": self.cached.to_dict()} if self.cached is not None else {}),
            **(
                {"deployment": self.deployment, "container": self.container, "containerKind": str(self.container_kind)}
                if self.deployment
                else {}
            ),
            **(
                {"deployment": self.deployment, "container": self.container, "containerKind": str(self.container_kind)}
                if self.deployment
                else {}
            ),
        }
