"""Probing many images: a session that cleans up on Ctrl-C and SIGTERM, and parallel probes that
report what is complete when the daemon is lost. Library functions: no click, no rich."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any, Protocol

from ecs5probe.app.probing import probe_deployment  # the core's, with the result cache in front
from ecs5probe.core.deployment import Deployment
from ecs5probe.core.options import Observer, ProbeOptions, teller
from ecs5probe.core.ports import Runtime
from ecs5probe.errors import Cancelled, DaemonUnavailable
from ecs5probe.model import ProbeResult


class ManagedRuntime(Runtime, Protocol):
    """A runtime with a lifetime: cancel what is in flight, remove everything it made."""

    def cancel(self) -> None: ...

    def close(self) -> None: ...


class NotProbed(DaemonUnavailable):
    """Some images were not probed (the daemon was lost); ``results`` are those complete before."""

    def __init__(self, message: str, results: list[ProbeResult]):
        super().__init__(message)
        self.results = results


@contextlib.contextmanager
def session(factory: Callable[[], ManagedRuntime]) -> Iterator[ManagedRuntime]:
    """A runtime whose containers are removed at the end, on Ctrl-C and on SIGTERM.

    The first signal only cancels: every wait in the runtime polls for it, so each run ends at a safe
    point and removes its own container (a request in flight completes first). A second signal
    interrupts at once; the label sweep in ``close`` still removes everything.
    """
    rt = factory()
    previous: dict[signal.Signals, Any] = {}
    cancelled = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        if cancelled.is_set():
            raise KeyboardInterrupt
        cancelled.set()
        rt.cancel()

    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, on_signal)
    try:
        yield rt
        if cancelled.is_set():
            raise Cancelled("interrupted")
    except (KeyboardInterrupt, Cancelled):
        rt.cancel()
        raise Cancelled("interrupted: every container and volume of this run was removed") from None
    finally:
        with contextlib.suppress(KeyboardInterrupt):
            rt.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def probe_many(
    runtime: Runtime,
    images: Sequence[tuple[str, ProbeOptions]],
    jobs: int = 1,
    observer: Observer | None = None,
    done: Callable[[str, ProbeResult], None] | None = None,
    pull: str | None = None,
) -> list[ProbeResult]:
    """Probe images, ``jobs`` containers at a time; results in the order given.

    With one image its ablation runs get the ``jobs``; with several, the images share them. When the
    daemon is lost, the images not probed are named in a :class:`NotProbed` error that still carries
    the results complete by then, so that every report can be written. ``pull``: a policy of
    :mod:`ecs5probe.app.pull`, applied to every image first (None: the images must be local).
    """
    from ecs5probe.platforms import to_platform

    parallel = max(1, min(jobs, len(images)))
    ablation = max(1, jobs // parallel)
    lost: dict[str, DaemonUnavailable] = {}

    def one(item: tuple[str, ProbeOptions]) -> ProbeResult | None:
        image, opts = item
        if lost:  # the daemon is gone: do not start more
            lost.setdefault(image, next(iter(lost.values())))
            return None
        try:
            if pull is not None:
                from ecs5probe.app.pull import ensure

                ensure(runtime, image, pull, teller(observer, image))
            d = Deployment.of_image(image)
            (member,) = probe_deployment(
                runtime, d, replace(opts, jobs=ablation), to_platform(opts.platform), observer
            ).members
            result = member.result
        except DaemonUnavailable as e:
            lost[image] = e
            return None
        if done is not None:
            done(image, result)
        return result

    if parallel == 1:
        results = [one(i) for i in images]
    else:
        with ThreadPoolExecutor(max_workers=parallel) as pool:
            results = list(pool.map(one, images))
    complete = [r for r in results if r is not None]
    if lost:
        first = next(iter(lost.values()))
        raise NotProbed(f"{first}; not probed: {', '.join(lost)}", complete)
    return complete
