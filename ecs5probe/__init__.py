"""ecs5probe: find the writable mounts an image needs before ECS.5 (read-only root filesystem) is enforced."""

from __future__ import annotations

from ecs5probe.core.options import Observer, ProbeOptions
from ecs5probe.core.ports import Runtime
from ecs5probe.core.probe import Prober
from ecs5probe.errors import Ecs5ProbeError, TaskDefinitionError
from ecs5probe.model import Evidence, Finding, Mount, ProbeResult, RunRecord, Write
from ecs5probe.platforms.interface import Document, Verdict

__version__ = "0.1.0"

__all__ = [
    "Ecs5ProbeError",
    "Evidence",
    "Finding",
    "Mount",
    "Observer",
    "ProbeOptions",
    "ProbeResult",
    "RunRecord",
    "Runtime",
    "Write",
    "__version__",
    "probe",
    "scan",
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


def scan(paths: list[str], platform: str | None = None) -> list[tuple[Document, list[Verdict]]]:
    """The control's verdicts, statically: ``[(document, [Verdict, ...]), ...]`` for files and directories
    (every platform's documents, or only ``platform``'s)."""
    from ecs5probe.platforms import find, get

    only = get(platform) if platform else None
    out = []
    for d in find(paths, only):
        try:
            out.append((d, get(d.platform).evaluate(d.body)))
        except TaskDefinitionError as e:
            raise TaskDefinitionError(f"{d.file}:{d.line or '?'}: {d.name}: {e}") from None
    return out


def _probe_with(runtime: Runtime, image: str, opts: ProbeOptions, observer: Observer | None) -> ProbeResult:
    from ecs5probe.platforms import get

    return Prober(runtime, image, opts, observer, get(opts.platform)).run()
