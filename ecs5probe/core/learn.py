"""Learning from every failure: new paths, hidden directories (ENOENT), owners (EACCES), and the
alternatives to try when a failure teaches nothing. Functions over the probe's state."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace

from ecs5probe.core.paths import is_ancestor_or_self, needs_nothing
from ecs5probe.core.ports import RunOutcome, WrittenDir
from ecs5probe.core.recommend import (
    LARGE_WRITE_BYTES,
    Candidate,
    Unmountable,
    candidates,
    copies_content,
    hidden_dir,
    room_mib,
    size_hint_mib,
)
from ecs5probe.core.runs import evidence
from ecs5probe.core.state import ProbeState
from ecs5probe.core.strace import MISSING_ERRNOS
from ecs5probe.core.tracefacts import made_program
from ecs5probe.model import Evidence, Finding, Write

log = logging.getLogger(__name__)


def learn(st: ProbeState, out: RunOutcome, cands: list[Candidate], bad: list[Unmountable]) -> list[Candidate]:
    """New candidates from a read-only run's failed writes; owners fixed where EACCES says so."""
    found = evidence(st, out)
    st.pathless = [w for w in found if w.path is None]
    st.changed = False
    learnt: list[Candidate] = []
    for w in found:
        if w.path is None:
            continue
        if w.errno in MISSING_ERRNOS:  # a mount hid a directory the app needs: recreate it inside
            hit = hidden_dir(w.path, cands, st.ctx)
            if hit is not None and not any(c.path == hit[1] for c in cands + learnt):
                learnt.append(Candidate(hit[1], [w], nested=True))
                st.tried.append(f"{hit[1]} (hidden by the mount on {hit[0].path}) recreated with a nested mount")
        elif w.errno in ("EACCES", "EPERM"):  # a root-owned mount the app's user cannot write
            _own(st, w, cands)
    new = [
        w
        for w in found
        if w.path is not None
        and w.errno not in ("EACCES", "EPERM", *MISSING_ERRNOS)
        and not covered(st, w, cands)
        and not _fails_anyway(st, w)
    ]
    added, more_bad = candidates(new, st.ctx)
    bad += [u for u in more_bad if u not in bad]
    known = {c.path for c in cands}
    new_cands = learnt + [c for c in added if c.path not in known]
    for c in new_cands:
        why = c.writes[0].line if c.writes else "a directory the image ships, hidden by a mount"
        log.info("%s: mount %s added: %s", st.image, c.path, why)
    for u in more_bad:
        log.info("%s: %s cannot be covered by a mount: %s", st.image, u.write.path, u.reason)
    return new_cands


def _fails_anyway(st: ProbeState, w: Write) -> bool:
    """The same write failed with a writable root too (EACCES as a dropped user): no mount helps."""
    assert w.path is not None
    p = st.ctx.resolve(w.path)
    if p not in st.failed_writable:
        return False
    if p not in st.noted_anyway:
        st.noted_anyway.add(p)
        st.findings.append(
            Finding(
                "note",
                f"{p}: the write fails with a writable root filesystem too; no mount is needed for it",
                (Evidence(w.source, p, w.line),),
            )
        )
    return True


def _own(st: ProbeState, w: Write, cands: list[Candidate]) -> None:
    assert w.path is not None
    p = st.ctx.resolve(w.path)
    under = [c for c in cands if is_ancestor_or_self(c.path, p)]
    if not under:
        return
    c = max(under, key=lambda c: len(c.path))
    if w not in c.writes:
        c.writes.append(w)
    uid, gid = st.base.dropped
    if uid is not None and c.owner is None and c.kind is None:
        c.owner = (uid, gid if gid is not None else uid)
        st.changed = True
        st.tried.append(f"{c.path} owned by {c.owner[0]}:{c.owner[1]}, the user the app switches to (EACCES as root's)")


def alternative(st: ProbeState, cands: list[Candidate]) -> list[Candidate] | None:
    """When a run fails and teaches nothing: let programs the app wrote run from their tmpfs; give
    the tmpfs mounts room; then stop hiding what the image ships, one step at a time."""
    tmpfs = [(c, w) for c in cands if (w := _tmpfs_written(st, c)) is not None]
    for c, written in tmpfs:
        made = [w.path for w in c.writes if made_program(w) and w.path is not None]
        programs = tuple(dict.fromkeys([*written.programs, *made]))  # left after the stop; made meanwhile
        if programs and not c.programs:
            shown = ", ".join(programs[:3]) + (f" and {len(programs) - 3} more" if len(programs) > 3 else "")
            st.tried.append(
                f"exec on the tmpfs at {c.path}: the app wrote programs there ({shown}), and a tmpfs is noexec"
            )
            return [replace(x, programs=programs) if x is c else x for x in cands]
    room = room_mib(st.opt.memory_mib)
    short = [c for c, written in tmpfs if c.room_mib is None and size_hint_mib(written.bytes) < room]
    if short:
        st.tried.append(
            f"{room} MiB for the tmpfs at {', '.join(c.path for c in short)} (what the app leaves after "
            f"its stop sized them; it may fill more while it runs)"
        )
        return [replace(x, room_mib=room) if x in short else x for x in cands]
    for c in cands:
        if c.kind is not None or c.nested:
            continue
        info = st.ctx.facts.stat(c.path)
        subdirs = [e.rstrip("/") for e in info.entries if e.endswith("/")]
        missing = [f"{c.path}/{d}" for d in subdirs if not any(x.path == f"{c.path}/{d}" for x in cands)]
        if missing:
            st.tried.append(f"nested mounts recreating {', '.join(missing)} (hidden by the mount on {c.path})")
            return merge(cands, [Candidate(m, nested=True) for m in missing])
        if info.entries:
            st.tried.append(f"a copying volume on {c.path} (keeps {', '.join(info.entries[:5])})")
            return [replace(x, kind="volume") if x is c else x for x in cands]
    return None


def _tmpfs_written(st: ProbeState, c: Candidate) -> WrittenDir | None:
    """What the writable run left in ``c``, when its mount is a tmpfs (else None)."""
    if c.kind is not None or copies_content(c, st.ctx):
        return None
    written = st.sizer.written(c.path)
    return written if written.bytes <= LARGE_WRITE_BYTES else None  # more is task storage


def covered(st: ProbeState, w: Write, cands: Sequence[Candidate]) -> bool:
    if w.path is None:
        return True
    p = st.ctx.resolve(w.path)
    return needs_nothing(p) or st.opt.covered(p) or any(is_ancestor_or_self(c.path, p) for c in cands)


def merge(old: Sequence[Candidate], new: Sequence[Candidate]) -> list[Candidate]:
    """One candidate per directory; a directory below another folds into it, unless it is nested
    on purpose (it recreates what the outer mount hides)."""
    by = {c.path: replace(c, writes=list(c.writes)) for c in old}
    for c in new:
        by.setdefault(c.path, replace(c, writes=[])).writes.extend(c.writes)
    out: list[Candidate] = []
    for path in sorted(by):
        c = by[path]
        parent = next((o for o in by if o != path and is_ancestor_or_self(o, path)), None)
        if parent is None or c.nested:
            out.append(c)
        else:
            by[parent].writes.extend(c.writes)
    return out
