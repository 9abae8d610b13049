"""Image facts: what the image ships, path by path, read from a container of the image that never runs
the app (created, or sleeping on the strace bundle's busybox)."""

from __future__ import annotations

import posixpath
import threading
import time
from collections.abc import Sequence

import docker.errors

from ecs5probe.model import PathInfo
from ecs5probe.runtime import archive, bundle
from ecs5probe.runtime.listing import NOT_BY_EXEC, STAT_FORMAT, Entry, stat_entries, summarise, tar_entries
from ecs5probe.runtime.session import Session

#: Entries named per directory in a report of what a mount hides.
SCAN_SCRIPT = 'set -o pipefail; B=$0; "$B" find "$1" -xdev -exec "$B" stat -c "$3" {} + | "$B" head -n "$2"'


#: Processes in the sleeping container: each directory scan is a shell, find, stat and head at once,
#: and scans run side by side (a limit of 8 made find's fork fail with EAGAIN in a third of PostgreSQL's
#: probes; each such scan fell back to reading its directory's archive: 3.5 s for the data directory).
PIDS_LIMIT = 64

#: Longest read of the whole image for its directories (without the strace bundle's busybox).
ARCHIVE_SECONDS = 8.0
#: Where an image keeps its services' directories (what :mod:`ecs5probe.core.unexercised` looks at for a
#: root app): listed one level deep.
SERVICE_DIRS = ("/run", "/var/lib", "/var/cache", "/var/log", "/var/spool")
#: The directories a user other than root may write or own (anywhere), and those of SERVICE_DIRS: owner
#: and mode of each (not the others: stat of every directory of a Debian image takes seconds).
DIRS_SCRIPT = (
    'B=$0; N=$1; F=$2; shift 2; { "$B" find / -xdev -type d \\( ! -user 0 -o -perm -0002 -o -perm -0020 \\) '
    '-exec "$B" stat -c "$F" {} + ; "$B" find "$@" -xdev -maxdepth 1 -type d -exec "$B" stat -c "$F" {} + ; } '
    '2>/dev/null | "$B" head -n "$N"'
)


def _by_archive(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in NOT_BY_EXEC)


class DockerFacts:
    """Path facts read from a container of the image: by the archive endpoint; directory scans, once the
    container sleeps on ``busybox`` (its path), by ``find`` and ``stat`` run in it (metadata only: an
    archive read sends every byte below the directory, 40 MB for PostgreSQL's data directory)."""

    def __init__(self, session: Session, container_id: str, busybox: str | None = None):
        self._rt = session
        self._id = container_id
        self._busybox = busybox
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
        listed = self._exec_scan(parent, cap)
        if listed is not None:
            return summarise(listed, wanted, cap)
        with archive.members(self._rt.client().api, self._id, parent) as members:
            return summarise(tar_entries(members), wanted, cap)

    def _exec_scan(self, parent: str, cap: int) -> list[Entry] | None:
        """The entries below ``parent`` by ``find``/``stat`` in the sleeping container (at most cap + 2);
        None when it does not sleep (yet), or the scan failed: the archive is read then."""
        if self._busybox is None or _by_archive(parent):
            return None
        api = self._rt.client().api
        cmd = [self._busybox, "sh", "-c", SCAN_SCRIPT, self._busybox, parent, str(cap + 2), STAT_FORMAT]
        try:
            ex = api.exec_create(self._id, cmd, user="0", stdout=True, stderr=False)
            text = api.exec_start(ex["Id"]).decode("utf-8", "surrogateescape")
            code = api.exec_inspect(ex["Id"]).get("ExitCode")
        except docker.errors.APIError:  # not running (yet, or any more): read by archive
            return None
        listed = stat_entries(text, parent)
        if listed is None or (code != 0 and len(listed) <= cap + 1):  # failed, not cut short at the cap
            return None
        if not any(e.path == parent for e in listed):
            # find always names its start: its output was lost (exec output can be, on a loaded
            # daemon, with exit code 0), and an empty listing would read as "the image ships files
            # here" (a copying volume where a tmpfs is right): the archive says instead.
            return None
        return listed

    def directories(self, cap: int = 200_000) -> list[PathInfo]:
        """Every directory of the image's root filesystem (not /proc, /sys, /dev, nor mounts), owner and
        mode: by ``find -type d`` in the sleeping container, else from the archive of ``/`` (headers)."""
        with self._rt.daemon("listing the image's directories"):
            listed = self._exec_dirs(cap)
            if listed is None:  # every byte of the image streams by: given up on a large one
                listed, deadline = [], time.monotonic() + ARCHIVE_SECONDS
                with archive.members(self._rt.client().api, self._id, "/") as members:
                    for e in tar_entries(members):
                        if time.monotonic() > deadline:
                            raise TimeoutError(f"reading the whole image took over {ARCHIVE_SECONDS:g}s")
                        if e.is_dir and not _by_archive(e.path) and len(listed) < cap:
                            listed.append(e)
        return [PathInfo(e.path, True, True, uid=e.uid, gid=e.gid, mode=e.mode) for e in listed]

    def _exec_dirs(self, cap: int) -> list[Entry] | None:
        if self._busybox is None:
            return None
        cmd = [self._busybox, "sh", "-c", DIRS_SCRIPT, self._busybox, str(cap), STAT_FORMAT, *SERVICE_DIRS]
        api = self._rt.client().api
        text = None
        for _ in range(300):  # the container may still be starting (it sleeps once started; beside the runs)
            try:
                ex = api.exec_create(self._id, cmd, user="0", stdout=True, stderr=False)
                text = api.exec_start(ex["Id"]).decode("utf-8", "surrogateescape")
                break
            except docker.errors.APIError as e:
                if "is not running" not in str(e):
                    return None
                time.sleep(0.1)
        if text is None:
            return None
        out = stat_entries(text, "/")
        return out or None

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
    started (the strace bundle's busybox then sleeps in it: the daemon mounts its root once, not at
    every read, and directories are scanned by ``find``/``stat`` in it); else it stays created.

    Sleeping, it is read-only, without network, with the bundle read-only, and with one capability,
    DAC_READ_SEARCH, so that its root may read (never write) a directory the image keeps to its own
    user (PostgreSQL's 0700 data directory); Docker gives a non-root user's exec no capability."""
    api = session.client().api
    sleeper = bundle_helper is not None and bundle.sleeper() is not None
    host_config = api.create_host_config(
        network_mode="none",
        volumes_from=[f"{bundle_helper}:ro"] if sleeper else None,
        read_only=True,
        cap_drop=["ALL"],
        cap_add=["DAC_READ_SEARCH"] if sleeper else None,
        security_opt=["no-new-privileges"],
        pids_limit=PIDS_LIMIT,
        mem_limit="32m",
    )
    c = api.create_container(
        image,
        entrypoint=[bundle.SLEEPER, "sleep", "2147483647"] if sleeper else ["/.ecs5probe-never-started"],
        user="0:0" if sleeper else None,
        labels=session.labels,
        host_config=host_config,
    )
    session.track(container=c["Id"])
    return str(c["Id"]), sleeper
