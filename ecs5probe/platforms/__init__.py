"""Platform plug-ins: one folder each behind ``interface.Platform``; this registry names them.

Adding a platform is a new folder and one member of :class:`PlatformName` (a test checks that every
member maps to a platform implementing the whole interface)."""

from __future__ import annotations

from collections.abc import Iterator
from enum import Enum
from pathlib import Path
from typing import NoReturn

from ecs5probe.errors import TaskDefinitionError
from ecs5probe.platforms.interface import Document, Platform, Verdict

__all__ = ["Document", "Platform", "PlatformName", "Verdict", "find", "get", "read"]

SKIP_DIRS = {".git", ".terraform", "node_modules", "__pycache__", ".venv"}


class PlatformName(str, Enum):
    ECS = "ecs"

    def to_platform(self) -> Platform:
        if self is PlatformName.ECS:
            from ecs5probe.platforms.ecs import Ecs

            return Ecs()
        return _assert_never(self)


def _assert_never(value: NoReturn) -> NoReturn:
    raise AssertionError(f"unhandled platform: {value!r}")


def get(name: str = "ecs") -> Platform:
    return PlatformName(name).to_platform()


def read(path: Path, strict: bool = True, platform: Platform | None = None) -> Iterator[Document]:
    """The documents in one file (named by the user: ``strict``, it must hold one)."""
    platform = platform or get()
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except IsADirectoryError:
        raise TaskDefinitionError(f"{path}: is a directory") from None
    except OSError as e:
        raise TaskDefinitionError(f"{path}: {e.strerror or e}") from None
    yield from platform.read(path, text, strict)


def find(paths: list[str], platform: Platform | None = None) -> Iterator[Document]:
    """Documents in files and directories (walked once: a symlink loop is not followed)."""
    platform = platform or get()
    for p in paths:
        path = Path(p)
        if not path.exists():
            raise TaskDefinitionError(f"{p}: no such file or directory")
        if path.is_dir():
            for f in sorted(path.rglob("*")):
                if f.is_file() and not SKIP_DIRS & set(f.parts) and platform.reads(f):
                    yield from read(f, strict=False, platform=platform)
        else:
            yield from read(path, platform=platform)
