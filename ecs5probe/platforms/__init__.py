"""Platform plug-ins: one folder each behind ``interface.Platform``; this registry names them.

Adding a platform is a new folder and one member of :class:`PlatformName` (a test checks that every
member maps to a platform implementing the whole interface)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

from ecs5probe.errors import TaskDefinitionError
from ecs5probe.model import PlatformName
from ecs5probe.platforms.interface import Document, Platform, Verdict

__all__ = [
    "Document",
    "Platform",
    "PlatformName",
    "Verdict",
    "all_controls",
    "detect",
    "find",
    "get",
    "read",
    "reads",
    "to_platform",
]

SKIP_DIRS = {".git", ".terraform", "node_modules", "__pycache__", ".venv"}


def to_platform(name: PlatformName) -> Platform:
    """The plug-in of one :class:`PlatformName` member (a test calls it for every member)."""
    if name is PlatformName.ECS:
        from ecs5probe.platforms.ecs import Ecs

        return Ecs()
    if name is PlatformName.KUBERNETES:
        from ecs5probe.platforms.kubernetes import Kubernetes

        return Kubernetes()
    if name is PlatformName.COMPOSE:
        from ecs5probe.platforms.compose import Compose

        return Compose()
    return _assert_never(name)


def all_controls() -> tuple[str, ...]:
    """Every platform's controls (their ids), for ``scan --control``."""
    return tuple(c for name in PlatformName for c in to_platform(name).controls)


#: Whose documents a file holds is asked in this order (ECS, the most general reader, last).
DETECTION_ORDER = (PlatformName.KUBERNETES, PlatformName.COMPOSE, PlatformName.ECS)


def _assert_never(value: NoReturn) -> NoReturn:
    raise AssertionError(f"unhandled platform: {value!r}")


def get(name: str = "ecs") -> Platform:
    return to_platform(PlatformName(name))


def reads(path: Path) -> bool:
    """Whether any platform reads files like ``path`` (by name)."""
    return any(to_platform(name).reads(path) for name in DETECTION_ORDER)


def detect(path: Path, text: str) -> Platform:
    """The platform whose documents ``text`` holds (ECS when none claims it: its errors are the clearest)."""
    for name in DETECTION_ORDER:
        p = to_platform(name)
        if p.reads(path) and p.claims(path, text):
            return p
    return get()


def read(path: Path, strict: bool = True, platform: Platform | None = None) -> Iterator[Document]:
    """The documents in one file (named by the user: ``strict``, it must hold one); any platform's
    unless ``platform`` is given."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except IsADirectoryError:
        raise TaskDefinitionError(f"{path}: is a directory") from None
    except OSError as e:
        raise TaskDefinitionError(f"{path}: {e.strerror or e}") from None
    yield from (platform or detect(path, text)).read(path, text, strict)


def find(paths: list[str], platform: Platform | None = None, strict: bool = True) -> Iterator[Document]:
    """Documents in files and directories (walked once: a symlink loop is not followed); any platform's
    unless ``platform`` is given. A named file must hold a document unless not ``strict`` (then it is
    read as a directory's files are: one that holds none is skipped)."""
    for p in paths:
        path = Path(p)
        if not path.exists():
            raise TaskDefinitionError(f"{p}: no such file or directory")
        if path.is_dir():
            for f in sorted(path.rglob("*")):
                if f.is_file() and not SKIP_DIRS & set(f.parts) and (platform.reads(f) if platform else reads(f)):
                    yield from read(f, strict=False, platform=platform)
        else:
            yield from read(path, strict=strict, platform=platform)
