"""How to probe: the options (the library's defaults are the CLI's), and the progress observer."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Protocol

from ecs5probe.model import HealthSpec, RunRecord

TRACERS = ("auto", "strace", "logs", "diff", "no-strace")


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
    tracer: str = "auto"  # auto (strace where it works, logs and diff always) | strace | logs | diff | no-strace
    minimise: bool = True
    entrypoint: tuple[str, ...] | None = None
    command: tuple[str, ...] | None = None
    user: str | None = None
    workdir: str | None = None
    environment: tuple[str, ...] = ()
    docker_options: tuple[tuple[str, Any], ...] = ()  # from a task definition (init, capabilities...)
    allow_degraded: tuple[str, ...] = ()  # paths whose failed writes the user accepts knowingly
    platform: str = "ecs"  # whose storage semantics verify the mounts (ecs5probe.platforms)
    storage: tuple[tuple[str, str], ...] = ()  # the document's settings for that storage (Kubernetes fsGroup)
    memory_mib: int = 2048  # per container (a task definition's memory wins); the host is protected
    pids_limit: int = 4096
    cpus: float | None = None  # None: the machine's cores


class Observer(Protocol):
    """Progress callbacks; the CLI shows them, library users may pass their own."""

    def phase(self, image: str, text: str) -> None: ...

    def run_done(self, image: str, record: RunRecord) -> None: ...


class _Silent:
    def phase(self, image: str, text: str) -> None:
        pass

    def run_done(self, image: str, record: RunRecord) -> None:
        pass
