"""A deployment as its platform runs it: containers, their start order and conditions, and what they
share (a network namespace, volumes). Each platform plug-in fills one from its documents; the probe of a
single image is the one-container case."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ecs5probe.core.options import ContainerSettings
from ecs5probe.core.ports import Network, VolumeKind
from ecs5probe.errors import TaskDefinitionError
from ecs5probe.model import ContainerKind

__all__ = [
    "Condition",
    "Dependency",
    "Deployment",
    "Member",
    "Network",
    "SharedVolume",
    "VolumeKind",
    "VolumeUse",
    "shared_paths",
]


class Condition(StrEnum):
    """When a dependency counts as ready (ECS ``dependsOn``, Compose ``depends_on``)."""

    START = "START"  # started
    HEALTHY = "HEALTHY"  # its health check passes
    COMPLETE = "COMPLETE"  # ran to its end, any exit code
    SUCCESS = "SUCCESS"  # ran to its end with exit code 0


@dataclass(frozen=True)
class SharedVolume:
    name: str
    kind: VolumeKind = VolumeKind.EMPTY


@dataclass(frozen=True)
class VolumeUse:
    """A container's mount of a deployment volume (a task volume, an emptyDir, a named volume)."""

    volume: str
    path: str
    read_only: bool = False


@dataclass(frozen=True)
class Dependency:
    container: str
    condition: Condition = Condition.START


@dataclass(frozen=True)
class Member:
    """One container of the deployment, named exactly as the document names it."""

    name: str
    image: str
    settings: ContainerSettings = ContainerSettings()
    kind: ContainerKind = ContainerKind.CONTAINER
    depends_on: tuple[Dependency, ...] = ()
    essential: bool = True
    mounts: tuple[VolumeUse, ...] = ()
    volumes_from: tuple[tuple[str, bool], ...] = ()  # (source container, read-only)
    aliases: tuple[str, ...] = ()  # names the others reach it by (Compose service, ECS link)
    #: tmpfs mounts the document gives it already (not shared: ``volumesFrom`` does not carry them)
    tmpfs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Deployment:
    """A task definition, a pod, a Compose project."""

    name: str
    members: tuple[Member, ...]
    network: Network = Network.SHARED
    volumes: tuple[SharedVolume, ...] = ()
    #: Read from a document, whose names its results carry; False for ``probe IMAGE``, named after the
    #: image reference only (the same content under another tag is the same deployment).
    documented: bool = True

    @classmethod
    def of_image(cls, image: str, settings: ContainerSettings = ContainerSettings()) -> Deployment:
        """``probe IMAGE``: the deployment of one container, named as its image, run with ``settings``."""
        return cls(image, (Member(image, image, settings),), documented=False)

    @property
    def alone(self) -> bool:
        """One container: nothing runs beside it, nothing is shared, so its own runs are the deployment's."""
        return len(self.members) == 1

    def member(self, name: str) -> Member:
        return next(m for m in self.members if m.name == name)

    def needs(self, name: str) -> list[str]:
        """Whom ``name`` needs running first: its dependencies and the containers it takes volumes from."""
        m = self.member(name)
        return list(dict.fromkeys([*(d.container for d in m.depends_on), *(s for s, _ in m.volumes_from)]))

    def closure(self, name: str) -> list[str]:
        """Everything ``name`` needs, transitively, in start order (``name`` itself last)."""
        return [n for n in self.order() if n == name or n in self._ancestors(name)]

    def _ancestors(self, name: str) -> set[str]:
        seen: set[str] = set()
        todo = self.needs(name)
        while todo:
            n = todo.pop()
            if n not in seen:
                seen.add(n)
                todo += self.needs(n)
        return seen

    def order(self) -> list[str]:
        """Start order: every container after what it needs (Kubernetes init containers first, in
        their order); a cycle or a dependency on no container is a document error."""
        names = [m.name for m in self.members]
        for m in self.members:
            for n in self.needs(m.name):
                if n not in names:
                    raise TaskDefinitionError(f"{m.name} depends on {n!r}, which is not a container of {self.name}")
        done: list[str] = []
        while len(done) < len(names):
            ready = [n for n in names if n not in done and all(d in done for d in self.needs(n))]
            if not ready:
                cycle = [n for n in names if n not in done]
                raise TaskDefinitionError(f"{self.name}: a dependency cycle among {', '.join(cycle)}")
            done.append(ready[0])
        return done

    def levels(self) -> list[list[str]]:
        """Containers grouped so that each group needs only earlier groups: a group's probes may run
        side by side."""
        out: list[list[str]] = []
        for n in self.order():
            level = max((i + 1 for i, g in enumerate(out) if set(self.needs(n)) & set(g)), default=0)
            while len(out) <= level:
                out.append([])
            out[level].append(n)
        return out


def shared_paths(d: Deployment, member: Member) -> dict[str, VolumeUse]:
    """Every path of ``member`` on a deployment volume, its own or through ``volumesFrom``."""
    out = {u.path: u for u in member.mounts}
    for src, ro in member.volumes_from:
        for u in d.member(src).mounts:
            out.setdefault(u.path, VolumeUse(u.volume, u.path, ro or u.read_only))
    return out
