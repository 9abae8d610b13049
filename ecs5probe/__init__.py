"""ecs5probe: find the writable mounts an image needs before ECS.5 (read-only root filesystem) is enforced."""

from __future__ import annotations

from ecs5probe.core.probe import Observer, ProbeOptions, Prober
from ecs5probe.errors import Ecs5ProbeError
from ecs5probe.model import Evidence, Finding, Mount, ProbeResult, RunRecord, Write
from ecs5probe.runtime.interface import Runtime

__version__ = "0.1.0"

__all__ = [
    "Ecs5ProbeError", "Evidence", "Finding", "Mount", "Observer", "ProbeOptions", "ProbeResult",
    "RunRecord", "Runtime", "Write", "__version__", "probe", "scan",
]


def probe(
    image: str,
    options: ProbeOptions | None = None,
    *,
    runtime: Runtime | None = None,
    observer: Observer | None = None,
    **kwargs: object,
) -> ProbeResult:
    """Probe one local image and return the verified, minimal set of writable mounts it needs.

    Keyword arguments are :class:`ProbeOptions` fields (``health_cmd=``, ``job=``, ``exercises=``...).
    Without ``runtime`` a Docker runtime is made for this call and everything it started is removed.
    """
    from dataclasses import replace

    opts = replace(options or ProbeOptions(), **kwargs)  # type: ignore[arg-type]
    if runtime is not None:
        return _probe_with(runtime, image, opts, observer)
    from ecs5probe.runtime.docker import DockerRuntime

    rt = DockerRuntime()
    try:
        return _probe_with(rt, image, opts, observer)
    finally:
        rt.close()


def scan(paths: list[str]) -> list[tuple[object, list[object]]]:
    """ECS.5 verdicts, statically: ``[(source, [ContainerVerdict, ...]), ...]`` for files and directories."""
    from ecs5probe.core.taskdef import evaluate
    from ecs5probe.taskdefs.sources import find

    return [(s, evaluate(s.taskdef)) for s in find(paths)]


def _probe_with(runtime: Runtime, image: str, opts: ProbeOptions, observer: Observer | None) -> ProbeResult:
    prober = Prober(runtime, image, opts, observer)
    try:
        return prober.run()
    finally:
        facts = getattr(getattr(prober, "ctx", None), "facts", None)
        close = getattr(facts, "close", None)
        if close is not None:
            close()
