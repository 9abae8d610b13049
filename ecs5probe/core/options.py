"""How to probe: the options (the library's defaults are the CLI's), and the progress observer."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, fields, replace
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from ecs5probe.core.paths import is_ancestor_or_self
from ecs5probe.core.ports import MountSpec, RunSpec
from ecs5probe.model import HealthSpec, PlatformName, RunRecord

if TYPE_CHECKING:
    from ecs5probe.core.harden import Harden

#: The lowest port a process without privilege may bind: the kernel's 1024 unless set (local Docker
#: 20.10+ sets 0 in every container; a platform's :attr:`StorageSemantics.unprivileged_port_start`).
PORT_START = "net.ipv4.ip_unprivileged_port_start"


@dataclass(frozen=True)
class CapabilityLimit:
    """What a platform lets a container add back beyond Docker's defaults (Fargate: only SYS_PTRACE)."""

    where: str
    addable: tuple[str, ...]


class Tracer(StrEnum):
    """Where the probe looks for writes."""

    AUTO = "auto"  # strace where it works; logs and docker diff always
    STRACE = "strace"
    LOGS = "logs"
    DIFF = "diff"
    NO_STRACE = "no-strace"  # logs and docker diff


TRACERS = tuple(t.value for t in Tracer)


def _hardening(values: Iterable[str]) -> frozenset[Harden]:
    """``harden`` as the enum's members, given by them or by their values ("non-root")."""
    from ecs5probe.core.harden import Harden  # here: core/harden.py reads these options

    return frozenset(Harden(v) for v in values)


def _read_only_root() -> frozenset[Harden]:
    """The default ``--harden``: the read-only root filesystem only."""
    from ecs5probe.core.harden import Harden  # here: core/harden.py reads these options

    return frozenset({Harden.READ_ONLY_ROOT})


@dataclass(frozen=True)
class ProbeOptions:
    """How to run and judge the image. Durations are seconds."""

    health_cmd: str | None = None
    health: HealthSpec | None = None  # e.g. from a task definition; wins over health_cmd and the image's
    job: bool = False
    settle: float = 3.0
    exercises: tuple[str, ...] = ()
    timeout: float = 60.0
    start_period: float = 15.0
    stop_grace: float = 5.0
    network: str = "none"
    jobs: int = field(default_factory=lambda: os.cpu_count() or 1)  # containers at once
    max_iterations: int = 8
    tracer: Tracer = Tracer.AUTO
    minimise: bool = True
    #: Also run without each mount the app wrote with a writable root: kept either way, the run only
    #: tells whether the app fails or degrades (stays up, losing those writes) without it.
    ablate_all: bool = False
    entrypoint: tuple[str, ...] | None = None
    command: tuple[str, ...] | None = None
    user: str | None = None
    workdir: str | None = None
    environment: tuple[str, ...] = ()
    docker_options: tuple[tuple[str, Any], ...] = ()  # from a task definition (init, capabilities...)
    allow_degraded: tuple[str, ...] = ()  # paths whose failed writes the user accepts knowingly
    platform: PlatformName = field(default_factory=PlatformName.default)  # whose storage semantics verify the mounts
    storage: tuple[tuple[str, str], ...] = ()  # the document's settings for that storage (Kubernetes fsGroup)
    memory_mib: int = 2048  # per container (a task definition's memory wins); the host is protected
    pids_limit: int = 4096
    cpus: float | None = None  # None: the machine's cores
    #: In a deployment: the document's own mounts (shared volumes), in every run as they are.
    fixed_mounts: tuple[MountSpec, ...] = ()
    harden: frozenset[Harden] = field(default_factory=_read_only_root)  # what --harden asks for
    as_user: str | None = None  # non-root: the user to try when the image runs as root and switches to none
    #: Whether an answer may set a kernel parameter (``net.ipv4.ip_unprivileged_port_start`` for a
    #: non-root app on a low port): ``--no-sysctls`` for users who may not change them.
    sysctls: bool = True
    capability_limit: CapabilityLimit | None = None  # None: any capability may be added
    aliases: tuple[str, ...] = ()  # in a deployment on a network: the names the others use
    #: Shell commands run on this machine, in its working directory, against the ready container
    #: (ECS5PROBE_HOST: a loopback address of the run's own where its ports are published).
    smoke: tuple[str, ...] = ()
    publish: tuple[int, ...] = ()  # ports to publish beside the image's EXPOSE
    soak: float = 0.0  # seconds each deciding run keeps going after its exercises and smoke tests
    signals: tuple[str, ...] = ()  # sent to the app after the exercises (SIGHUP: reopen logs)
    member: str = ""  # in a deployment: the container's name (ECS5PROBE_HOST_<NAME>)
    smoke_env: tuple[tuple[str, str], ...] = ()  # in a deployment: the others' addresses for the smoke tests
    #: Where verified results are kept by what decides them (ecs5probe.app.probing); None: probe always.
    cache_dir: str | None = None

    def own_namespace(self) -> bool:
        """Whether runs have a network namespace of their own, whose sysctls they may set (not a member
        of another's namespace, which the holder sets, nor the host's)."""
        return not (self.network.startswith("container:") or self.network == "host")

    def platform_options(self, port_start: int | None = None) -> tuple[tuple[str, Any], ...]:
        """``docker_options`` with what the platform sets that local Docker does not: ``port_start``, its
        ``net.ipv4.ip_unprivileged_port_start`` (ECS and containerd leave 1024, where Docker sets 0;
        None: Docker's holds). A value the document (or a learnt answer) gives wins."""
        options = dict(self.docker_options)
        if port_start is not None and self.own_namespace():
            options["sysctls"] = {PORT_START: str(port_start), **dict(options.get("sysctls") or {})}
        return tuple(sorted(options.items()))

    def run_spec(
        self,
        image: str,
        purpose: str,
        mounts: Sequence[MountSpec],
        read_only: bool,
        health: HealthSpec | None,
        stop_signal: str,
        port_start: int | None = None,
    ) -> RunSpec:
        """A run of ``image`` as these options run it (the probe's state adjusts waits and tracing);
        ``port_start``: the platform's ``net.ipv4.ip_unprivileged_port_start`` (see platform_options)."""
        return RunSpec(
            image=image,
            purpose=purpose,
            read_only=read_only,
            mounts=tuple(mounts),
            health=health,
            mode="job" if self.job else "service",
            settle=self.settle,
            timeout=self.timeout,
            exercises=self.exercises,
            stop_signal=stop_signal or "SIGTERM",
            stop_grace=self.stop_grace,
            network=self.network,
            aliases=self.aliases,
            entrypoint=self.entrypoint,
            command=self.command,
            user=self.user,
            workdir=self.workdir,
            environment=self.environment,
            docker_options=self.platform_options(port_start),
            memory_mib=self.memory_mib,
            pids_limit=self.pids_limit,
            cpus=self.cpus,
            smoke=self.smoke,
            signals=self.signals,
            soak=self.soak,
            member=self.member,
            smoke_env=self.smoke_env,
        )

    def ports(self, exposed: Sequence[str]) -> tuple[str, ...]:
        """The ports a run publishes for its smoke tests: the image's (TCP) and ``publish``; none without
        a smoke test."""
        if not self.smoke:
            return ()
        tcp = [p for p in exposed if p.endswith("/tcp") or "/" not in p]
        named = [f"{p.split('/')[0]}/tcp" for p in tcp] + [f"{p}/tcp" for p in self.publish]
        return tuple(sorted(set(named), key=lambda p: int(p.split("/")[0])))

    def covered(self, path: str) -> bool:
        """Whether a writable mount of the document's own covers ``path`` (no mount needed there)."""
        return any(not m.read_only and is_ancestor_or_self(m.path, path) for m in self.fixed_mounts)

    def __post_init__(self) -> None:
        # Library callers may name these by their values ("no-strace", "kubernetes"): one type inside.
        object.__setattr__(self, "tracer", Tracer(self.tracer))
        object.__setattr__(self, "platform", PlatformName(self.platform))
        object.__setattr__(self, "harden", _hardening(self.harden))
        object.__setattr__(self, "signals", tuple(_known_signal(s) for s in self.signals))

    def with_container(self, settings: ContainerSettings) -> ProbeOptions:
        """These options as one container of a document runs: its settings win where it has them."""
        given = {f.name: getattr(settings, f.name) for f in fields(settings)}
        if settings.publish is not None:  # the document's ports and --publish's
            given["publish"] = tuple(dict.fromkeys([*settings.publish, *self.publish]))
        return replace(self, **{k: v for k, v in given.items() if v is not None})


@dataclass(frozen=True)
class ContainerSettings:
    """How a document runs one container (None: the document does not say; the options' value holds)."""

    entrypoint: tuple[str, ...] | None = None
    command: tuple[str, ...] | None = None
    user: str | None = None
    workdir: str | None = None
    environment: tuple[str, ...] | None = None
    health: HealthSpec | None = None
    job: bool | None = None
    docker_options: tuple[tuple[str, Any], ...] | None = None
    storage: tuple[tuple[str, str], ...] | None = None
    memory_mib: int | None = None
    cpus: float | None = None
    network: str | None = None
    exercises: tuple[str, ...] | None = None
    stop_grace: float | None = None
    publish: tuple[int, ...] | None = None  # its ports (portMappings, containerPort, ports): smoke tests reach them
    sysctls: bool | None = None  # False: the document's network takes no sysctl (ECS host network mode)
    capability_limit: CapabilityLimit | None = None


def signal_name(name: str) -> str:
    """``HUP``, ``sighup``, ``SIGHUP`` or ``1``: ``SIGHUP``, as ``docker kill -s`` takes it; ValueError
    for a name no Linux signal has."""
    import signal

    text = name.strip().upper()
    try:
        sig = (
            signal.Signals(int(text))
            if text.isdigit()
            else signal.Signals[text if text.startswith("SIG") else "SIG" + text]
        )
    except (KeyError, ValueError):
        raise ValueError(f"unknown signal {name!r} (a name such as HUP, USR1, or SIGHUP)") from None
    return sig.name


def _known_signal(name: str) -> str:
    """``name`` as docker kill takes it; an unknown one as given (:func:`check_options` refuses it)."""
    try:
        return signal_name(name)
    except ValueError:
        return name


def check_options(o: ProbeOptions, image: str, exposed: Sequence[str]) -> None:
    """Bad input that must stop a probe before any run: one line each (ValueError)."""
    if o.soak < 0:
        raise ValueError(f"--soak must be 0 or more seconds, not {o.soak:g}")
    for s in o.signals:
        signal_name(s)
    # in a deployment (smoke_env), the smoke tests may reach another container's ports
    if o.smoke and not o.ports(exposed) and o.network != "host" and not dict(o.smoke_env).get("ECS5PROBE_HOST"):
        raise ValueError(
            f"{image}: --smoke needs a port to reach: the image exposes none (no EXPOSE); "
            "name the one the app listens on: add --publish PORT"
        )


class Observer(Protocol):
    """Progress callbacks; the CLI shows them, library users may pass their own."""

    def phase(self, image: str, text: str) -> None: ...

    def run_done(self, image: str, record: RunRecord) -> None: ...


def teller(observer: Observer | None, image: str) -> Callable[[str], None] | None:
    """Progress lines about one image (pull progress) for ``observer``, or None."""
    if observer is None:
        return None
    return lambda text: observer.phase(image, text)


class Silent:
    """The observer that shows nothing."""

    def phase(self, image: str, text: str) -> None:
        pass

    def run_done(self, image: str, record: RunRecord) -> None:
        pass
