"""Path rules: normalise, ancestry, broad paths never to mount, and collapsing a set of paths."""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterable

#: Directories a mount must never cover: they hide the system or the app itself.
FORBIDDEN: frozenset[str] = frozenset(
    {
        "/",
        "/bin",
        "/boot",
        "/dev",
        "/etc",
        "/home",
        "/lib",
        "/lib32",
        "/lib64",
        "/libx32",
        "/media",
        "/mnt",
        "/opt",
        "/proc",
        "/root",
        "/sbin",
        "/srv",
        "/sys",
        "/usr",
        "/usr/bin",
        "/usr/lib",
        "/usr/lib64",
        "/usr/local",
        "/usr/local/bin",
        "/usr/local/lib",
        "/usr/sbin",
        "/usr/share",
        "/var",
        "/var/lib",
    }
)

#: Paths Docker (and ECS) keep writable or manage under a read-only root: writes there need nothing.
ALWAYS_WRITABLE: tuple[str, ...] = ("/dev", "/proc", "/sys")
DOCKER_MANAGED: frozenset[str] = frozenset({"/etc/hosts", "/etc/hostname", "/etc/resolv.conf", "/.dockerenv"})


def normalise(path: str, cwd: str = "/") -> str:
    """An absolute, normalised POSIX path; relative paths are taken against ``cwd``."""
    if not path.startswith("/"):
        path = posixpath.join(cwd or "/", path)
    out = posixpath.normpath(path)
    if out.startswith("//"):
        out = "/" + out.lstrip("/")
    return out


def is_ancestor_or_self(parent: str, child: str) -> bool:
    """True when ``child`` is ``parent`` or lies below it."""
    if parent == "/":
        return True
    return child == parent or child.startswith(parent + "/")


def ancestors(path: str) -> list[str]:
    """Proper ancestors of ``path``, nearest first, ending with ``/``."""
    out: list[str] = []
    while path != "/":
        path = posixpath.dirname(path)
        out.append(path)
    return out


def collapse(paths: Iterable[str]) -> list[str]:
    """Drop every path that lies below another one in the set; sorted, no duplicates."""
    result: list[str] = []
    for p in sorted(set(paths), key=lambda s: (s.count("/") if s != "/" else 0, s)):
        if not any(is_ancestor_or_self(kept, p) for kept in result):
            result.append(p)
    return sorted(result)


def leaves(paths: Iterable[str]) -> list[str]:
    """Keep only the paths that have no descendant in the set (docker diff lists every ancestor)."""
    s = sorted(set(paths))
    out = []
    for i, p in enumerate(s):
        nxt = s[i + 1] if i + 1 < len(s) else None
        if nxt is not None and is_ancestor_or_self(p, nxt) and nxt != p:
            continue
        out.append(p)
    return out


def needs_nothing(path: str) -> bool:
    """Writes that a read-only root allows anyway (/dev, /proc, Docker-managed /etc files)."""
    return path in DOCKER_MANAGED or any(is_ancestor_or_self(p, path) for p in ALWAYS_WRITABLE)


def resolve(path: str, readlink: Callable[[str], str | None], max_links: int = 40) -> str:
    """Resolve symlinks in ``path`` component by component, as the kernel would inside the image.

    ``readlink(p)`` returns the link target of ``p`` when ``p`` is a symlink in the image, else None.
    """
    parts = [c for c in path.split("/") if c]
    current = "/"
    hops = 0
    while parts:
        component = parts.pop(0)
        candidate = posixpath.join(current, component)
        target = readlink(candidate)
        if target is None:
            current = candidate
            continue
        hops += 1
        if hops > max_links:
            return normalise(posixpath.join(candidate, *parts))
        base = "/" if target.startswith("/") else current
        target_parts = [c for c in normalise(target, base).split("/") if c]
        parts = target_parts + parts
        current = "/"
    return normalise(current)
