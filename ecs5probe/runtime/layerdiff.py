"""The pure half of reading a container's own layer (see :mod:`ecs5probe.runtime.layer`): which
drivers need it, and a layer's entries classified as ``docker diff`` lists them."""

from __future__ import annotations

import posixpath
import tarfile
from collections.abc import Callable, Iterable
from typing import Any

NAIVE_DIFF_DRIVERS = frozenset({"fuse-overlayfs"})
#: Where the reading container sees the layer.
TARGET = "/.ecs5probe-layer"
#: More image lookups than this (an app that wrote thousands of files into existing directories):
#: Docker's own diff is no slower, use it.
MAX_LOOKUPS = 256
#: Markers of an opaque directory (one replaced whole): the directory itself is what changed.
_OPAQUE = (".wh..opq", ".wh..wh..opq")
_WHITEOUT_PREFIX = ".wh."


class TooMany(Exception):
    """The layer needs more image lookups than :data:`MAX_LOOKUPS`."""


def upper_dir(attrs: dict[str, Any]) -> str | None:
    """The container's writable layer on the daemon's host, when its driver's diff is naive."""
    driver = attrs.get("GraphDriver") or {}
    if driver.get("Name") not in NAIVE_DIFF_DRIVERS:
        return None
    return (driver.get("Data") or {}).get("UpperDir") or None


def entries(members: Iterable[tuple[str, tarfile.TarInfo]], root: str = TARGET) -> list[tuple[str, bool]] | None:
    """(path in the container, is a whiteout) for each entry of a layer read at ``root``; None when
    ``root`` itself was not read (nothing is known, not "nothing changed").

    A whiteout is a character device 0/0 (overlay's format) or a ``.wh.NAME`` file (aufs'); the
    opaque-directory markers are dropped (their directory is listed itself)."""
    out = []
    rooted = False
    for full, m in members:
        if full == root and m.isdir():
            rooted = True
            continue
        if not full.startswith(root + "/"):
            continue
        path = full[len(root) :]
        base = posixpath.basename(path)
        if base in _OPAQUE:
            continue
        if base.startswith(_WHITEOUT_PREFIX):
            out.append((posixpath.join(posixpath.dirname(path), base[len(_WHITEOUT_PREFIX) :]), True))
        else:
            out.append((path, m.ischr() and m.devmajor == 0 and m.devminor == 0))
    return out if rooted else None


def classify(layer: list[tuple[str, bool]], in_image: Callable[[str], bool]) -> list[tuple[str, str]]:
    """docker diff's (kind, path): A where the image lacks the path, C where it has it, D for the
    whiteout of a path the image has (a file made and deleted by the app leaves no entry)."""
    added: set[str] = set()
    out: list[tuple[str, str]] = []
    lookups = 0
    for path, whiteout in sorted(layer):
        if _below(path, added):
            if not whiteout:
                added.add(path)
                out.append(("A", path))
            continue
        lookups += 1
        if lookups > MAX_LOOKUPS:
            raise TooMany(path)
        exists = in_image(path)
        if whiteout:
            if exists:
                out.append(("D", path))
        elif exists:
            out.append(("C", path))
        else:
            added.add(path)
            out.append(("A", path))
    return out


def _below(path: str, dirs: set[str]) -> bool:
    d = posixpath.dirname(path)
    while d not in ("/", ""):
        if d in dirs:
            return True
        d = posixpath.dirname(d)
    return False
