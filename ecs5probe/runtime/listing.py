"""Pure reading of directory listings (archive members or ``stat`` lines) into path facts."""

from __future__ import annotations

import posixpath
import re
import stat
import tarfile
from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

from ecs5probe.model import PathInfo

MAX_ENTRIES = 64
#: Where a running container's view is not the image's (kernel and Docker filesystems): read by archive.
NOT_BY_EXEC = ("/proc", "/sys", "/dev")
#: One ``stat -c`` line per entry: uid, gid, raw mode (hex), size, name.
STAT_FORMAT = "%u %g %f %s %n"
_LINE = re.compile(r"(\d+) (\d+) ([0-9a-f]+) (\d+) (/.*)")
#: find below a directory, stat of each entry, at most $2 lines (the script's $0 is the busybox).


def is_content(member: tarfile.TarInfo) -> bool:
    """Data the app may need: not a directory, not an empty file (apps recreate those)."""
    return not (member.isdir() or (member.isfile() and member.size == 0))


class Entry(NamedTuple):
    """What a scan needs of one entry below a directory (an archive member or a ``stat`` line)."""

    path: str
    is_dir: bool
    uid: int
    gid: int
    mode: int  # permission bits
    content: bool  # data the app may need: not a directory, not an empty file
    size: int = 0  # bytes, of a regular file


def tar_entries(members: Iterable[tuple[str, tarfile.TarInfo]]) -> Iterator[Entry]:
    for full, m in members:
        yield Entry(full, m.isdir(), m.uid, m.gid, m.mode & 0o7777, is_content(m), m.size if m.isfile() else 0)


def stat_entries(text: str, parent: str) -> list[Entry] | None:
    """Parse ``stat -c STAT_FORMAT`` lines of ``find parent`` (in the archive's order: find lists a
    directory's entries as the filesystem keeps them); None when a line is not one (a name with a
    newline), or names something outside ``parent``: then the archive is read instead."""
    out = []
    for line in text.splitlines():
        m = _LINE.fullmatch(line)
        if m is None:
            return None
        uid, gid, raw, size, name = int(m[1]), int(m[2]), int(m[3], 16), int(m[4]), m[5]
        if name != parent and not name.startswith(parent.rstrip("/") + "/"):
            return None
        is_dir = stat.S_ISDIR(raw)
        content = not (is_dir or (stat.S_ISREG(raw) and size == 0))
        out.append(Entry(name, is_dir, uid, gid, stat.S_IMODE(raw), content, size if stat.S_ISREG(raw) else 0))
    return sorted(out, key=lambda e: e.path.split("/"))  # the archive's order: by name, depth first


def summarise(listed: Iterable[Entry], wanted: set[str], cap: int) -> dict[str, PathInfo]:
    """Owner, mode, entries, data and its bytes of each wanted directory from the entries below their
    parent, in walk order (a directory before what it holds); nothing when there are more than ``cap``."""
    seen: dict[str, list[Any]] = {}  # path -> [uid, gid, mode, data, entries, bytes]
    for i, e in enumerate(listed):
        if i > cap:
            return {}
        if e.path in wanted and e.is_dir:
            seen[e.path] = [e.uid, e.gid, e.mode, False, [], 0]
            continue
        owner = posixpath.dirname(e.path)
        if owner in seen and len(seen[owner][4]) < MAX_ENTRIES:
            seen[owner][4].append(posixpath.basename(e.path) + ("/" if e.is_dir else ""))
        while owner not in wanted and owner not in ("/", ""):
            owner = posixpath.dirname(owner)
        if owner in seen and e.content:
            seen[owner][3] = True
            seen[owner][5] += e.size
    return {
        p: PathInfo(
            p, True, True, uid=v[0], gid=v[1], mode=v[2], has_content=v[3], entries=tuple(v[4]), content_bytes=v[5]
        )
        for p, v in seen.items()
    }
