"""ecs5probe: find the writable mounts an image needs before ECS.5 (read-only root filesystem) is enforced."""

from __future__ import annotations

from ecs5probe.core.options import Observer, ProbeOptions, Tracer
from ecs5probe.core.ports import Runtime
from ecs5probe.core.probe import probe_image
from ecs5probe.errors import Ecs5ProbeError
from ecs5probe.model import ContainerKind, Evidence, Finding, Mount, PlatformName, ProbeResult, RunRecord, Write
from ecs5probe.platforms.interface import Document, Verdict
from ecs5probe.version import __version__

__all__ = [
    "ContainerKind",
    "Ecs5ProbeError",
    "PlatformName",
    "Tracer",
    "probe_image",
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

    Keyword arguments are :class:`ProbeOptions` fields (``health_cmd=``, ``job=``, ``exercises=``...;
    ``cache_dir=`` keeps verified results there and returns them for the same image content and options).
    Without ``runtime`` a Docker runtime is made for this call and everything it started is removed.
    """
    from dataclasses import replace

    from ecs5probe.app.probing import probe_deployment  # the core's, with the result cache in front
    from ecs5probe.core.deployment import Deployment
    from ecs5probe.platforms import to_platform

    opts = replace(options or ProbeOptions(), **kwargs)  # type: ignore[arg-type]
    semantics = to_platform(opts.platform)

    def on(rt: Runtime) -> ProbeResult:
        (member,) = probe_deployment(rt, Deployment.of_image(image), opts, semantics, observer).members
        return member.result

    if runtime is not None:
        return on(runtime)
    from ecs5probe.runtime.docker import DockerRuntime

    rt = DockerRuntime()
    try:
        return on(rt)
    finally:
        rt.close()


def scan(paths: list[str], platform: str | None = None) -> list[tuple[Document, list[Verdict]]]:
    """The control's verdicts, statically: ``[(document, [Verdict, ...]), ...]`` for files and directories
    (every platform's documents, or only ``platform``'s). :func:`ecs5probe.app.scanning.scan` gives rows."""
    from ecs5probe.app.scanning import scan_paths

    return scan_paths(paths, platform)
