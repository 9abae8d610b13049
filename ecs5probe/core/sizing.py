"""What the writable run wrote below each mount: its size and owners, read once per directory (in the
background where it only sizes the report), and the mounts made from it. A mixin of the probe loop's
class."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor

from ecs5probe.core.ports import Runtime, WrittenDir
from ecs5probe.core.recommend import Candidate, ImageContext, copies_content, make_mount
from ecs5probe.model import Mount


class Sizing:
    """The state it reads is the probe's (see :class:`ecs5probe.core.probe.Prober`)."""

    rt: Runtime
    ctx: ImageContext
    kept: str | None
    _baseline_lock: threading.Lock

    def _init_sizing(self) -> None:
        self.sizes: dict[str, WrittenDir] = {}
        self._sizer: ThreadPoolExecutor | None = None  # reads what the writable run wrote, in the background
        self._sizing: dict[str, Future[dict[str, WrittenDir]]] = {}
        self._quiet = threading.Event()  # the wave's storage is prepared: background reads may start
        self._size_locks: dict[str, threading.Lock] = {}  # one reader per path: never a half-known size

    def _stop_sizing(self) -> None:
        if self._sizer is not None:
            self._quiet.set()
            self._sizer.shutdown(wait=True, cancel_futures=True)

    def _mounts(self, cands: Sequence[Candidate], required: bool = True, final: bool = False) -> list[Mount]:
        self.ctx.facts.prefetch([c.path for c in cands])
        if len(cands) < 2:
            return [self._mount(c, required, final) for c in cands]
        # Each mount reads the image and the writable run (tens of milliseconds a read): side by side.
        with ThreadPoolExecutor(max_workers=min(len(cands), 4)) as pool:
            return list(pool.map(lambda c: self._mount(c, required, final), cands))

    def _mount(self, c: Candidate, required: bool = True, final: bool = False) -> Mount:
        """The mount for ``c``. Where it carries the image's content, what the app wrote there only sizes
        the report: read in the background (a data directory's archive takes seconds), waited for only
        by the ``final`` mounts of the result."""
        if not final and copies_content(c, self.ctx):
            self._written_later(c.path)
            return make_mount(c, self.ctx, 0, required)
        w = self._written(c.path)
        return make_mount(c, self.ctx, w.bytes, required, w.writers)

    def _written_later(self, path: str) -> None:
        with self._baseline_lock:
            if path in self.sizes or path in self._sizing or self.kept is None:
                return
            if self._sizer is None:
                self._sizer = ThreadPoolExecutor(max_workers=1)
            self._sizing[path] = self._sizer.submit(self._written_quietly, self.kept, path)

    def _written_quietly(self, kept: str, path: str) -> dict[str, WrittenDir]:
        """Once the wave's storage is prepared: a data directory's archive and the wave's volume copies
        read the same slow filesystem (fuse-overlayfs) and slow each other down."""
        self._quiet.wait(timeout=60)
        return self.rt.written(kept, [path])

    def _written(self, path: str) -> WrittenDir:
        """What the writable run wrote below ``path`` (read once from its kept container)."""
        with self._baseline_lock:
            lock = self._size_locks.setdefault(path, threading.Lock())
        with lock:
            with self._baseline_lock:
                pending = self._sizing.pop(path, None)
            if pending is not None:
                self._quiet.set()  # needed now: no more waiting
                self.sizes.update(pending.result())
            if path not in self.sizes:
                got = self.rt.written(self.kept, [path]) if self.kept is not None else {}
                self.sizes[path] = got.get(path, WrittenDir())
            return self.sizes[path]
