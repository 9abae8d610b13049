"""A wave of runs: containers prepared ahead, at most ``jobs`` of them running, the ready ones first.

Preparing a run creates its storage and container. Where a mount copies the image's content (a data
directory in a volume), that copy is most of the run's start (about a second for PostgreSQL's 40 MB
here: the daemon reads through fuse-overlayfs, and on ext4 without a journal each new file steps over
the inodes freed by volumes removed in the minutes before; docs/benchmarks.md). So a wave prepares up
to twice ``jobs`` runs at once, and a free slot goes to whichever prepared run is ready first: a run
without a copy does not wait behind one with a copy. Copies share the daemon's time: at most ``jobs``
are made at once, in the order the runs were submitted (two copies side by side are ready well before
three would be, and only ``jobs`` runs can start anyway; one at a time was slower, docs/benchmarks.md).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType
from typing import TypeVar

from ecs5probe.core.ports import RunSpec, Runtime
from ecs5probe.errors import Cancelled

T = TypeVar("T")


def copies(spec: RunSpec) -> bool:
    """Whether preparing the run copies the image's content into a volume."""
    return any(m.copy_content and m.kind != "tmpfs" for m in spec.mounts)


class Wave:
    def __init__(self, runtime: Runtime, jobs: int):
        self._rt = runtime
        self._slots = threading.BoundedSemaphore(max(1, jobs))  # containers running at once
        self._copying = threading.BoundedSemaphore(max(1, jobs))  # preparations copying content at once
        self._pool = ThreadPoolExecutor(max_workers=2 * max(1, jobs))  # prepared (or running) at once
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._preparing = 0
        self._when_prepared: list[Callable[[], None]] = []

    def submit(self, spec: RunSpec, run: Callable[[RunSpec, str | None], T]) -> Future[T]:
        """``run(spec, handle)`` once the run is prepared and a slot is free."""
        with self._lock:
            self._preparing += 1
        return self._pool.submit(self._one, spec, run)

    def on_prepared(self, done: Callable[[], None]) -> None:
        """Call ``done`` once every run submitted so far is prepared (or failed to be)."""
        with self._lock:
            now = self._preparing == 0
            if not now:
                self._when_prepared.append(done)
        if now:
            done()

    def _prepared_one(self) -> None:
        with self._lock:
            self._preparing -= 1
            todo = self._when_prepared if self._preparing == 0 else []
            if todo:
                self._when_prepared = []
        for done in todo:
            done()

    def _one(self, spec: RunSpec, run: Callable[[RunSpec, str | None], T]) -> T:
        try:
            if copies(spec):
                self._acquire(self._copying)
                try:
                    handle = self._prepare(spec)
                finally:
                    self._copying.release()
            else:
                handle = self._prepare(spec)
        finally:
            self._prepared_one()
        try:
            self._acquire(self._slots)
        except BaseException:
            self._rt.discard(handle)
            raise
        try:
            return run(spec, handle)
        finally:
            self._slots.release()

    def _prepare(self, spec: RunSpec) -> str:
        if self._closed.is_set():
            raise Cancelled("the wave ended before this run")
        return self._rt.prepare(spec)

    def _acquire(self, semaphore: threading.BoundedSemaphore) -> None:
        while not semaphore.acquire(timeout=0.1):
            if self._closed.is_set():  # the wave ended early: this run will never be started
                raise Cancelled("the wave ended before this run")

    def __enter__(self) -> Wave:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if kind is not None:
            self._closed.set()
        self._pool.shutdown(wait=True, cancel_futures=kind is not None)
        self._closed.set()
