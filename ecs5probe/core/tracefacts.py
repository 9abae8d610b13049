"""What a trace tells beyond the writes: programs the app made, and whom a daemon became."""

from __future__ import annotations

import re
from collections.abc import Iterable

from ecs5probe.core.ports import is_program
from ecs5probe.model import Write

_CHMODS = ("chmod", "fchmod", "fchmodat", "fchmodat2")
_MODE = re.compile(r",\s*(?P<mode>0[0-7]+)(?:,\s*[A-Z_|0]+)?\)\s*=")


def made_program(w: Write) -> bool:
    """A successful write that made a program (see :func:`ecs5probe.core.ports.is_program`): a shared
    object created, or a file given an execute bit."""
    if w.path is None or w.errno is not None:
        return False
    mode = _MODE.search(w.line) if w.op in _CHMODS else None
    return is_program(w.path, int(mode.group("mode"), 8) if mode else None)


_SETID = re.compile(r"\bset(?:res|re)?(?P<kind>[ug])id(?:32)?\((?P<id>\d+)[^)]*\)\s*=\s*0\b")


def dropped_to(lines: Iterable[str]) -> tuple[int | None, int | None]:
    """The last non-root uid and gid a traced process switched to (a daemon dropping privileges)."""
    uid = gid = None
    for line in lines:
        m = _SETID.search(line)
        if m and int(m.group("id")) != 0:
            if m.group("kind") == "u":
                uid = int(m.group("id"))
            else:
                gid = int(m.group("id"))
    return uid, gid
