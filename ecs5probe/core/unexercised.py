"""What no run reached: directories the app could write that no run wrote, with why each is one.

They are never mounted for that (nothing showed they are needed); the report lists them so that a
reader knows what the verdict does not cover, and what to exercise next (a smoke test, a soak, a
signal). Pure: the image's directories in, a short list out."""

from __future__ import annotations

import posixpath
from collections.abc import Collection, Iterable, Sequence

from ecs5probe.core.paths import is_ancestor_or_self, needs_nothing
from ecs5probe.model import PathInfo, Unexercised

#: At most this many per image: a reader reads them; the rest are counted.
LIMIT = 10
#: Where an image keeps its services' state, logs, caches, spools and runtime files (for a root app).
SERVICE_ROOTS = ("/run", "/var/run", "/var/lib", "/var/cache", "/var/log", "/var/spool")
#: What the base distributions themselves ship there (package managers, the init system): no service's.
BASE_SYSTEM = frozenset(
    {
        "adduser",
        "alternatives",
        "apk",
        "apt",
        "dbus",
        "debconf",
        "dnf",
        "dpkg",
        "fontconfig",
        "initramfs-tools",
        "ldconfig",
        "lock",
        "man-db",
        "misc",
        "mount",
        "pam",
        "polkit-1",
        "private",
        "python",
        "rpm",
        "sendsigs.omit.d",
        "sgml-base",
        "shm",
        "systemd",
        "runit",
        "ucf",
        "user",
        "xml-core",
        "yum",
        "cron",
        "mail",
        "journal",
    }
)


def unexercised(
    dirs: Iterable[PathInfo],
    uid: int,
    gid: int,
    volumes: Collection[str] = (),
    mounted: Collection[str] = (),
    written: Collection[str] = (),
    switched_to: tuple[int | None, int | None] = (None, None),
    limit: int = LIMIT,
) -> tuple[list[Unexercised], int]:
    """The write candidates no run wrote, and how many more were left out beyond ``limit``.

    ``dirs``: every directory the image ships (links are not followed); ``uid``/``gid``: the app's user;
    ``volumes``: the image's VOLUMEs; ``mounted``: the recommended (and the deployment's own) mounts;
    ``written``: every path a run wrote or tried to; ``switched_to``: the user a root app dropped to.
    A non-root app: what its user may write (owner, group, everyone) and the VOLUMEs. A root app (it may
    write anything): the image's own signals, VOLUMEs, its services' directories under /run, /var/lib,
    /var/cache, /var/log and /var/spool, and what belongs to the user it switches to (or, when unknown,
    to any other user)."""
    found: dict[str, str] = {}
    for v in sorted(volumes):
        found[v] = "a VOLUME of the image: writable on every platform, and no run wrote it"
    for d in sorted(dirs, key=lambda d: d.path):
        if d.link_target or not d.is_dir or needs_nothing(d.path) or d.path == "/":
            continue
        why = _non_root(d, uid, gid) if uid != 0 else _root(d, switched_to)
        if why is not None:
            found.setdefault(d.path, why)
    out: list[Unexercised] = []
    for path in sorted(found, key=lambda p: (not found[p].startswith("a VOLUME"), p)):
        if any(is_ancestor_or_self(m, path) for m in mounted):
            continue  # mounted (or below a mount): writable and exercised as far as runs go
        if any(is_ancestor_or_self(path, w) for w in written):
            continue  # a run wrote there (a tolerated write, an optional mount): not unexercised
        if any(is_ancestor_or_self(u.path, path) for u in out):
            continue  # its parent is listed: one line covers both
        out.append(Unexercised(path, found[path]))
    return out[:limit], max(0, len(out) - limit)


def _non_root(d: PathInfo, uid: int, gid: int) -> str | None:
    if d.uid == uid:
        return f"owned by the app's user (uid {uid}), mode {d.mode & 0o7777:04o}"
    if d.gid == gid and d.mode & 0o020:
        return f"writable by the app's group (gid {gid}), mode {d.mode & 0o7777:04o}"
    if d.mode & 0o002:
        return f"writable by everyone, mode {d.mode & 0o7777:04o}"
    return None


def _base_system(path: str) -> bool:
    """Below what the base distribution ships under a service root (``/var/cache/apt/archives/partial``)."""
    return any(path.startswith(f"{r}/{name}/") or path == f"{r}/{name}" for r in SERVICE_ROOTS for name in BASE_SYSTEM)


def _root(d: PathInfo, switched_to: tuple[int | None, int | None]) -> str | None:
    parent = posixpath.dirname(d.path)
    if _base_system(d.path):
        return None
    if parent in SERVICE_ROOTS:
        return f"the image ships it for a service (under {parent}); the app runs as root and may write it"
    suid, sgid = switched_to
    if suid is not None:
        if d.uid == suid:
            return f"owned by uid {suid}, the user the app switches to"
        if sgid is not None and d.gid == sgid and d.mode & 0o020:
            return f"writable by gid {sgid}, the group the app switches to"
        return None
    if d.uid != 0 and not d.path.startswith(("/home/", "/nonexistent")):
        return f"owned by uid {d.uid}: a user the app may switch to"
    return None


def written_paths(paths: Sequence[str | None]) -> set[str]:
    """The paths runs wrote, for :func:`unexercised` (evidence without a path does not count)."""
    return {p for p in paths if p}
