"""The ports the core needs, owned by the core: the Runtime protocol, image facts, and the plain data
they exchange. A runtime adapter implements them; nothing here knows Docker."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal, Protocol

from ecs5probe.model import HealthSpec, ImageConfig, Mount, MountKind, PathInfo

Mode = Literal["service", "job"]


class Network(StrEnum):
    """How the containers of a deployment reach each other (what a :class:`Sandbox` gives them)."""

    SHARED = "shared"  # one network namespace, loopback shared (ECS awsvpc, a Kubernetes pod)
    BRIDGE = "bridge"  # each its own, on one network where names resolve (Compose; ECS bridge links)
    HOST = "host"  # the host's (ECS host mode)


class VolumeKind(StrEnum):
    """What a shared volume holds when the deployment starts."""

    EMPTY = "empty"  # an empty directory (an ECS name-only or host volume, a Kubernetes emptyDir)
    COPY = "copy"  # the first mounting image's content at that path (a Docker volume; ECS dockerVolumeConfiguration)
    MEMORY = "memory"  # a tmpfs (a Kubernetes emptyDir with medium: Memory)


@dataclass(frozen=True)
class MountSpec:
    """One mount for a run, with ECS semantics: tmpfs (empty), bind (empty, root 0755), volume (copy)."""

    path: str
    kind: MountKind = "tmpfs"
    options: tuple[str, ...] = ()
    size_mib: int = 64
    read_only: bool = False
    copy_content: bool = False  # bind on an image VOLUME path, or kind volume: image content copied in
    #: A tmpfs whose root has exactly ``options`` (mode, gid) even over a directory the image has
    #: (Kubernetes emptyDir); Docker's --tmpfs would take that directory's mode instead.
    fresh: bool = False
    #: A deployment volume other containers mount too (made by :meth:`Sandbox.volume`): mounted
    #: as it is, never created nor removed by the run.
    source: str | None = None


@dataclass(frozen=True)
class RunSpec:
    """How to run the image once: the container's shape, and what to do with it."""

    image: str
    purpose: str
    read_only: bool = True
    mounts: tuple[MountSpec, ...] = ()
    health: HealthSpec | None = None
    mode: Mode = "service"
    settle: float = 3.0
    timeout: float = 60.0
    exercises: tuple[str, ...] = ()
    stop_signal: str = "SIGTERM"
    stop_grace: float = 5.0
    #: Past this many seconds of its stop, a run that logged a read-only error since the signal has
    #: diverged from the writable run: killed, not waited for (None: the whole grace).
    stop_diverged: float | None = None
    network: str = "none"  # none, a network's name, container:HANDLE (another's namespace), host
    aliases: tuple[str, ...] = ()  # names the others reach it by on ``network`` (a Compose service)
    observe: bool = False  # collect docker diff (and listings of mounted volumes) after the stop
    trace: bool = False  # run the app under strace (when the runtime can)
    trace_successes: bool = False  # trace every write, not only failed ones (writable runs)
    trace_syscalls: str = ""  # strace's -e trace= list (the core's parsers decide what they read)
    entrypoint: tuple[str, ...] | None = None
    command: tuple[str, ...] | None = None
    user: str | None = None
    workdir: str | None = None
    environment: tuple[str, ...] = ()
    #: From a task definition: init, cap_add, cap_drop, mem_limit, ulimits (Docker SDK names).
    docker_options: tuple[tuple[str, Any], ...] = ()
    #: What the container may use, so that no image under test takes the host down with it.
    memory_mib: int = 2048
    pids_limit: int = 4096
    cpus: float | None = None  # None: the machine's cores
    #: Shell commands run on this machine once the container is ready and exercised; each must exit 0.
    #: They reach the container's ``ports`` on a loopback address of the run's own (ECS5PROBE_HOST).
    smoke: tuple[str, ...] = ()
    ports: tuple[str, ...] = ()  # "8080/tcp": published on that address with their own numbers
    signals: tuple[str, ...] = ()  # sent to the app after the exercises and smoke tests (docker kill -s)
    soak: float = 0.0  # seconds the ready container keeps running after them
    #: In a deployment: the container's name (its address is also ECS5PROBE_HOST_<NAME>), and what the
    #: smoke tests are told of the others (their addresses, ECS5PROBE_HOST where another holds it).
    member: str = ""
    smoke_env: tuple[tuple[str, str], ...] = ()


@dataclass
class RunOutcome:
    """What happened in one run: start, exercises, stop, logs, and (when observing) what changed."""

    started: bool = False
    start_detail: str = ""
    exercises_ok: bool = True
    exercise_detail: str = ""
    stop_exit_code: int | None = None
    ready_after: float | None = None  # seconds from start to healthy (or settled)
    exited_early: bool = False
    exit_code: int | None = None
    logs: str = ""
    volume_writes: list[str] = field(default_factory=list)
    duration: float = 0.0
    traced: bool = False  # the app ran under strace (it was not PID 1)
    trace: str = ""  # strace output, apart from the app's own
    handle: str | None = None  # an observe run's stopped container, kept for Runtime.written() and diff()
    diff_targets: list[str] = field(default_factory=list)  # mount targets Docker made (not the app's writes)
    started_epoch: float = 0.0  # wall-clock start, to tell what the run wrote from what the image had
    oom_killed: bool = False  # the kernel killed it at its memory limit
    stop_seconds: float | None = None  # from the stop signal to its exit (None: killed after the grace)
    smoke_ok: bool = True  # every smoke test exited 0 (or there was none)
    smoke_detail: str = ""  # the failing smoke test, how it failed, and its output
    soak_detail: str = ""  # how the container died after its exercises (a signal, the soak), if it did
    ran_seconds: float = 0.0  # from its start to its stop
    host: str | None = None  # the loopback address its ports were published on (smoke tests)
    diverged_at_stop: bool = False  # killed at its stop after a read-only error since the signal


@dataclass(frozen=True)
class WrittenDir:
    """What a writable run left below one directory: bytes in all, the (uid, gid) of what it wrote,
    and the programs it wrote (files with an execute bit, shared objects): paths inside the container."""

    bytes: int = 0
    writers: tuple[tuple[int, int], ...] = ()
    programs: tuple[str, ...] = ()


def is_program(path: str, mode: int | None = None) -> bool:
    """What counts in :attr:`WrittenDir.programs`: a file something may execute or map as code, with
    an execute bit in ``mode``, or named as a shared object (``vgc.so``, ``libfoo.so.1``: a loader
    needs no execute bit)."""
    name = path.rsplit("/", 1)[-1]
    return bool(mode is not None and mode & 0o111) or name.endswith(".so") or ".so." in name


class ImageFacts(Protocol):
    """What the image ships, path by path (implemented by the runtime, faked in tests)."""

    def stat(self, path: str) -> PathInfo:
        """Everything about ``path``, including owner and whether it ships content (may be slow)."""
        ...

    def lstat(self, path: str) -> PathInfo:
        """Existence, type and link target only (cheap); owner and content may be left unset."""
        ...

    def prefetch(self, paths: Sequence[str]) -> None:
        """A hint: these directories' facts will be asked for soon (read them together if cheaper)."""
        ...

    def directories(self) -> list[PathInfo]:
        """Every directory the image ships, with owner and mode (entries and content may be left unset)."""
        ...

    def close(self) -> None:
        """Release what the facts hold (a created container)."""
        ...

    def __enter__(self) -> ImageFacts: ...

    def __exit__(self, *exc: object) -> None: ...


class StorageSemantics(Protocol):
    """How a platform creates the storage of a recommended mount (implemented by each platform), and the
    one kernel setting of its containers that differs from local Docker's."""

    #: ``net.ipv4.ip_unprivileged_port_start`` in the platform's containers where it differs from local
    #: Docker's 0 (ECS and containerd leave the kernel's 1024), so runs reproduce it; None: Docker's holds.
    unprivileged_port_start: int | None

    def mount_spec(
        self, mount: Mount, image_volumes: Collection[str], storage: Mapping[str, str] | None = None
    ) -> MountSpec: ...


class Runtime(Protocol):
    """Runs containers. Implementations must be safe to call from several threads at once."""

    def inspect(self, image: str) -> ImageConfig: ...

    def pull(self, image: str, progress: Callable[[str], None] | None = None) -> None:
        """Pull ``image`` from its registry with the client's credentials; progress in one-line texts."""
        ...

    def facts(self, image: str, user: str) -> tuple[ImageFacts, int, int]:
        """Path facts of the image, and the numeric uid and gid of ``user`` inside it."""
        ...

    def tracer(self) -> tuple[bool, str]:
        """Whether strace runs can be made here, and how (or why not), in one line."""
        ...

    def prepare(self, spec: RunSpec) -> str:
        """Create the run's storage and container without starting it (storage that copies the image's
        content is filled now); a handle for :meth:`run`, or for :meth:`discard` if it never runs."""
        ...

    def run(self, spec: RunSpec, prepared: str | None = None) -> RunOutcome:
        """Run once (``prepared``: the handle :meth:`prepare` gave for ``spec``). An observe run's
        stopped container is kept (``handle``) until :meth:`discard`."""
        ...

    def written(self, handle: str, dirs: Sequence[str]) -> dict[str, WrittenDir]:
        """What a kept run wrote below each of ``dirs``."""
        ...

    def diff(self, handle: str, in_image: Callable[[str], bool] | None = None) -> list[tuple[str, str]]:
        """What a kept run changed in the root filesystem: (A|C|D, path), mount targets dropped.
        ``in_image(path)``: whether the image has ``path``, where the runtime must ask (cached facts)."""
        ...

    def discard(self, handle: str) -> None:
        """Remove a kept run's (or a prepared, never run) container and storage."""
        ...

    # -- deployments: several containers together ------------------------------------------------
    def sandbox(self, network: Network, attach: str | None = None, publish: Sequence[int] = ()) -> Sandbox:
        """A place for one deployment's containers, made when a ``with`` enters it and removed (with
        everything started or made in it) when the ``with`` ends. ``attach``: a network to join, where
        outside dependencies run; ``publish``: container ports to reach from the host (a hook: no
        runtime publishes them yet)."""
        ...


class Running(Protocol):
    """A container started in a :class:`Sandbox`: ready (or its job ended) and exercised, left running."""

    @property
    def started(self) -> RunOutcome:
        """How it started: as a run's outcome up to its stop (ready, exercises)."""
        ...

    def stop(self) -> RunOutcome:
        """Stop it as a run stops (signal, grace), collect its logs, remove it: the whole run's outcome.
        Once: a second call gives the same outcome."""
        ...


class Sandbox(Protocol):
    """One deployment's place: its network (a shared namespace, an internal network, or the host's), the
    volumes its containers share, and its running containers. A context manager: leaving the ``with``
    stops what still runs (last started first) and removes everything it made."""

    @property
    def network(self) -> str:
        """What a member gives as :attr:`RunSpec.network`."""
        ...

    def volume(self, kind: VolumeKind) -> str:
        """A volume the deployment's containers share (``kind``: what it holds); a :attr:`MountSpec.source`."""
        ...

    def smoke_env(self) -> tuple[tuple[str, str], ...]:
        """Where smoke tests reach the running members: ``ECS5PROBE_HOST`` (a shared namespace's one
        address) and ``ECS5PROBE_HOST_<NAME>`` per member on a network of its own."""
        ...

    def smoke(self, commands: Sequence[str], env: Sequence[tuple[str, str]], timeout: float) -> tuple[bool, str]:
        """Run the smoke tests on this machine against the running deployment, told ``env``: (ok, what
        happened, with their output)."""
        ...

    def start(self, spec: RunSpec) -> Running:
        """Start a container of the deployment and wait as :meth:`Runtime.run` does (ready, or a job's
        end), then exercise it; it runs until :meth:`Running.stop` or the end of the ``with``."""
        ...

    def __enter__(self) -> Sandbox: ...

    def __exit__(self, *exc: object) -> None: ...
