"""What the writable run wrote below each mount: its size and owners, read once per directory (in the
background where it only sizes the report), and the mounts made from it; a mount that carries the
image's content is sized by what the image ships there."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor

from ecs5probe.core.ports import Runtime, WrittenDir
from ecs5probe.core.recommend import Candidate, ImageContext, copies_content, make_mount
from ecs5probe.model import Mount


class Sizer:
    """Reads the kept writable run's container (``kept``, set once it is known) for each mount's size."""

    def __init__(self, runtime: Runtime):
        self.rt = runtime
        self.kept: str | None = None
        self.sizes: dict[str, WrittenDir] = {}
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None  # reads what the writable run wrote, in the background
        self._pending: dict[str, Future[dict[str, WrittenDir]]] = {}
        self.quiet = threading.Event()  # the wave's storage is prepared: background reads may start
        self._path_locks: dict[str, threading.Lock] = {}  # one reader per path: never a half-known size

    def close(self) -> None:
        if self._pool is not None:
            self.quiet.set()
            self._pool.shutdown(wait=True, cancel_futures=True)

    def mounts(
        self, cands: Sequence[Candidate], ctx: ImageContext, required: bool = True, final: bool = False
    ) -> list[Mount]:
        ctx.facts.prefetch([c.path for c in cands])
        if len(cands) < 2:
            return [self.mount(c, ctx, required, final) for c in cands]
        # Each mount reads the image and the writable run (tens of milliseconds a read): side by side.
        with ThreadPoolExecutor(max_workers=min(len(cands), 4)) as pool:
            return list(pool.map(lambda c: self.mount(c, ctx, required, final), cands))

    def mount(self, c: Candidate, ctx: ImageContext, required: bool = True, final: bool = False) -> Mount:
        """The mount for ``c``. A Docker volume that carries the image's content is sized, for the report
        only, by what the image ships there, as the image's facts counted it (reading what the writable
        run left there meant its whole archive: PostgreSQL's 38 MiB beside the verification). An image
        VOLUME (an ECS bind mount, whose size can call for Fargate task storage), or a directory the
        facts did not count: what the run left there is read in the background, waited for only by the
        ``final`` mounts of the result."""
        if copies_content(c, ctx):
            shipped = ctx.facts.stat(c.path).content_bytes
            if shipped is not None and not ctx.image_volume(c.path):
                return make_mount(c, ctx, shipped, required)
            if not final:
                self._later(c.path)
                return make_mount(c, ctx, 0, required)
        w = self.written(c.path)
        return make_mount(c, ctx, w.bytes, required, w.writers)

    def _later(self, path: str) -> None:
        with self._lock:
            if path in self.sizes or path in self._pending or self.kept is None:
                return
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=1)
            self._pending[path] = self._pool.submit(self._quietly, self.kept, path)

    def _quietly(self, kept: str, path: str) -> dict[str, WrittenDir]:
        """Once the wave's storage is prepared: a data directory's archive and the wave's volume copies
        read the same slow filesystem (fuse-overlayfs) and slow each other down."""
        self.quiet.wait(timeout=60)
        return self.rt.written(kept, [path])

    def written(self, path: str) -> WrittenDir:
        """What the writable run wrote below ``path`` (read once from its kept container)."""
        with self._lock:
            lock = self._path_locks.setdefault(path, threading.Lock())
        with lock:
            with self._lock:
                pending = self._pending.pop(path, None)
            if pending is not None:
                self.quiet.set()  # needed now: no more waiting
                self.sizes.update(pending.result())
            if path not in self.sizes:
                got = self.rt.written(self.kept, [path]) if self.kept is not None else {}
                self.sizes[path] = got.get(path, WrittenDir())
            return self.sizes[path]
