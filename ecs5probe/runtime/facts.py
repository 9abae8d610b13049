"""Image facts: what the image ships, path by path, read from a created (never started) container."""

from __future__ import annotations

import posixpath
import threading
from collections.abc import Sequence
from typing import Any

from ecs5probe.model import PathInfo
from ecs5probe.runtime import archive, bundle
from ecs5probe.runtime.session import Session

#: Entries named per directory in a report of what a mount hides.
MAX_ENTRIES = 64


class DockerFacts:
    """Path facts read from a created (never started) container of the image."""

    def __init__(self, session: Session, container_id: str):
        self._rt = session
        self._id = container_id
        self._cache: dict[str, PathInfo] = {}
        self._lcache: dict[str, PathInfo] = {}
        self._lock = threading.Lock()

    def lstat(self, path: str) -> PathInfo:
        with self._lock:
            if path in self._lcache:
                return self._lcache[path]
        with self._rt.daemon(f"reading {path} in the image"):
            info = self._lstat(path)  # outside the lock: reads of different paths go side by side
        with self._lock:
            return self._lcache.setdefault(path, info)

    def stat(self, path: str) -> PathInfo:
        with self._lock:
            if path in self._cache:
                return self._cache[path]
        with self._rt.daemon(f"reading {path} in the image"):
            info = self._stat(path)
        with self._lock:
            return self._cache.setdefault(path, info)

    def _lstat(self, path: str) -> PathInfo:
        st = archive.path_stat(self._rt.client().api, self._id, path)  # the header only, no content
        if st is None:
            return PathInfo(path, exists=False)
        if archive.is_link(st):
            return PathInfo(path, exists=True, link_target=st.get("linkTarget") or None)
        return PathInfo(path, exists=True, is_dir=archive.is_dir(st), mode=int(st.get("mode", 0)) & 0o7777)

    def _stat(self, path: str) -> PathInfo:
        info = self.lstat(path)
        if not info.exists or info.link_target or not info.is_dir:
            return info
        found = self._scan(path, {path})
        return found.get(path) or PathInfo(path, exists=True, is_dir=True, mode=info.mode, has_content=True)

    def prefetch(self, paths: Sequence[str]) -> None:
        """Learn owner and content of sibling directories with one archive read of their parent.

        Each archive read costs a mount of the container's filesystem (~80 ms here, serialised by the
        daemon); siblings share one read, capped so that a large parent falls back to one read each.
        """
        with self._rt.daemon("reading the image's directories"):
            self._prefetch(paths)

    def _prefetch(self, paths: Sequence[str]) -> None:
        groups: dict[str, list[str]] = {}
        for p in paths:
            # never "/" as the parent: that is the whole root filesystem (and a running one's /proc)
            if p != "/" and posixpath.dirname(p) != "/" and p not in self._cache:
                groups.setdefault(posixpath.dirname(p), []).append(p)
        for parent, children in groups.items():
            if len(children) < 2:
                continue
            found = self._scan(parent, set(children))
            with self._lock:
                for child, info in found.items():
                    self._cache.setdefault(child, info)

    def _scan(self, parent: str, wanted: set[str], cap: int = 5000) -> dict[str, PathInfo]:
        """Owner, mode, entries and data of each wanted directory, from one archive read of ``parent``.

        Every entry counts as something a mount would hide (an empty directory such as Debian's
        ``/run/lock`` too); ``has_content`` is data: a non-empty file, a link or a device.
        """
        seen: dict[str, list[Any]] = {}  # path -> [uid, gid, mode, data, entries]
        complete = False
        with archive.members(self._rt.client().api, self._id, parent) as members:
            for i, (full, m) in enumerate(members):
                if i > cap:
                    break
                if full in wanted and m.isdir():
                    seen[full] = [m.uid, m.gid, m.mode & 0o7777, False, []]
                    continue
                owner = posixpath.dirname(full)
                if owner in seen and len(seen[owner][4]) < MAX_ENTRIES:
                    seen[owner][4].append(posixpath.basename(full) + ("/" if m.isdir() else ""))
                while owner not in wanted and owner not in ("/", ""):
                    owner = posixpath.dirname(owner)
                if owner in seen and archive.is_content(m):
                    seen[owner][3] = True
            else:
                complete = True
        if not complete:
            return {}
        return {
            p: PathInfo(p, True, True, uid=v[0], gid=v[1], mode=v[2], has_content=v[3], entries=tuple(v[4]))
            for p, v in seen.items()
        }

    def read_file(self, path: str) -> str:
        return archive.read_file(self._rt.client().api, self._id, path)

    def close(self) -> None:
        self._rt.remove_container(self._id)

    def __enter__(self) -> DockerFacts:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def facts_container(session: Session, image: str, bundle_helper: str | None) -> tuple[str, bool]:
    """A container of the image whose files are read, never running the app, and whether it is to be
    started (the strace bundle's busybox then sleeps in it, read-only, no network, no capabilities:
    the daemon mounts its root once, not at every read); else it stays created."""
    api = session.client().api
    sleeper = bundle_helper is not None and bundle.sleeper() is not None
    host_config = api.create_host_config(
        network_mode="none",
        volumes_from=[bundle_helper] if sleeper else None,
        read_only=True,
        cap_drop=["ALL"],
        security_opt=["no-new-privileges"],
        pids_limit=8,
        mem_limit="32m",
    )
    c = api.create_container(
        image,
        entrypoint=[bundle.SLEEPER, "sleep", "2147483647"] if sleeper else ["/.ecs5probe-never-started"],
        user="65534:65534" if sleeper else None,
        labels=session.labels,
        host_config=host_config,
    )
    session.track(container=c["Id"])
    return str(c["Id"]), sleeper
