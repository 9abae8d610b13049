"""Learning from every failure: new paths, hidden directories (ENOENT), owners (EACCES), and the
alternatives to try when a failure teaches nothing. A mixin of the probe loop's class."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from ecs5probe.core.options import ProbeOptions
from ecs5probe.core.paths import is_ancestor_or_self, needs_nothing
from ecs5probe.core.ports import RunOutcome, WrittenDir
from ecs5probe.core.recommend import (
    LARGE_WRITE_BYTES,
    Candidate,
    ImageContext,
    Unmountable,
    candidates,
    copies_content,
    hidden_dir,
    room_mib,
    size_hint_mib,
)
from ecs5probe.core.strace import MISSING_ERRNOS, made_program
from ecs5probe.model import Evidence, Finding, Write


class Learning:
    """The state it reads and writes is the probe's (see :class:`ecs5probe.core.probe.Prober`)."""

    ctx: ImageContext
    opt: ProbeOptions
    tried: list[str]
    findings: list[Finding]
    failed_writable: set[str]
    dropped: tuple[int | None, int | None]
    pathless: list[Write]
    _changed: bool
    _noted_anyway: set[str]

    def _evidence(self, out: RunOutcome, successes: bool = False) -> list[Write]:
        raise NotImplementedError

    def _written(self, path: str) -> WrittenDir:
        raise NotImplementedError

    def _learn(self, out: RunOutcome, cands: list[Candidate], bad: list[Unmountable]) -> list[Candidate]:
        """New candidates from a read-only run's failed writes; owners fixed where EACCES says so."""
        found = self._evidence(out)
        self.pathless = [w for w in found if w.path is None]
        self._changed = False
        learnt: list[Candidate] = []
        for w in found:
            if w.path is None:
                continue
            if w.errno in MISSING_ERRNOS:  # a mount hid a directory the app needs: recreate it inside
                hit = hidden_dir(w.path, cands, self.ctx)
                if hit is not None and not any(c.path == hit[1] for c in cands + learnt):
                    learnt.append(Candidate(hit[1], [w], nested=True))
                    self.tried.append(f"{hit[1]} (hidden by the mount on {hit[0].path}) recreated with a nested mount")
            elif w.errno in ("EACCES", "EPERM"):  # a root-owned mount the app's user cannot write
                self._own(w, cands)
        new = [
            w
            for w in found
            if w.path is not None
            and w.errno not in ("EACCES", "EPERM", *MISSING_ERRNOS)
            and not self._covered(w, cands)
            and not self._fails_anyway(w)
        ]
        added, more_bad = candidates(new, self.ctx)
        bad += [u for u in more_bad if u not in bad]
        known = {c.path for c in cands}
        return learnt + [c for c in added if c.path not in known]

    def _fails_anyway(self, w: Write) -> bool:
        """The same write failed with a writable root too (EACCES as a dropped user): no mount helps."""
        assert w.path is not None
        p = self.ctx.resolve(w.path)
        if p not in self.failed_writable:
            return False
        if p not in self._noted_anyway:
            self._noted_anyway.add(p)
            self.findings.append(
                Finding(
                    "note",
                    f"{p}: the write fails with a writable root filesystem too; no mount is needed for it",
                    (Evidence(w.source, p, w.line),),
                )
            )
        return True

    def _own(self, w: Write, cands: list[Candidate]) -> None:
        assert w.path is not None
        p = self.ctx.resolve(w.path)
        under = [c for c in cands if is_ancestor_or_self(c.path, p)]
        if not under:
            return
        c = max(under, key=lambda c: len(c.path))
        if w not in c.writes:
            c.writes.append(w)
        uid, gid = self.dropped
        if uid is not None and c.owner is None and c.kind is None:
            c.owner = (uid, gid if gid is not None else uid)
            self._changed = True
            self.tried.append(
                f"{c.path} owned by {c.owner[0]}:{c.owner[1]}, the user the app switches to (EACCES as root's)"
            )

    def _alternative(self, cands: list[Candidate]) -> list[Candidate] | None:
        """When a run fails and teaches nothing: let programs the app wrote run from their tmpfs; give
        the tmpfs mounts room; then stop hiding what the image ships, one step at a time."""
        tmpfs = [(c, w) for c in cands if (w := self._tmpfs_written(c)) is not None]
        for c, written in tmpfs:
            made = [w.path for w in c.writes if made_program(w) and w.path is not None]
            programs = tuple(dict.fromkeys([*written.programs, *made]))  # left after the stop; made meanwhile
            if programs and not c.programs:
                shown = ", ".join(programs[:3]) + (f" and {len(programs) - 3} more" if len(programs) > 3 else "")
                self.tried.append(
                    f"exec on the tmpfs at {c.path}: the app wrote programs there ({shown}), and a tmpfs is noexec"
                )
                return [replace(x, programs=programs) if x is c else x for x in cands]
        room = room_mib(self.opt.memory_mib)
        short = [c for c, written in tmpfs if c.room_mib is None and size_hint_mib(written.bytes) < room]
        if short:
            self.tried.append(
                f"{room} MiB for the tmpfs at {', '.join(c.path for c in short)} (what the app leaves after "
                f"its stop sized them; it may fill more while it runs)"
            )
            return [replace(x, room_mib=room) if x in short else x for x in cands]
        for c in cands:
            if c.kind is not None or c.nested:
                continue
            info = self.ctx.facts.stat(c.path)
            subdirs = [e.rstrip("/") for e in info.entries if e.endswith("/")]
            missing = [f"{c.path}/{d}" for d in subdirs if not any(x.path == f"{c.path}/{d}" for x in cands)]
            if missing:
                self.tried.append(f"nested mounts recreating {', '.join(missing)} (hidden by the mount on {c.path})")
                return self._merge(cands, [Candidate(m, nested=True) for m in missing])
            if info.entries:
                self.tried.append(f"a copying volume on {c.path} (keeps {', '.join(info.entries[:5])})")
                return [replace(x, kind="volume") if x is c else x for x in cands]
        return None

    def _tmpfs_written(self, c: Candidate) -> WrittenDir | None:
        """What the writable run left in ``c``, when its mount is a tmpfs (else None)."""
        if c.kind is not None or copies_content(c, self.ctx):
            return None
        written = self._written(c.path)
        return written if written.bytes <= LARGE_WRITE_BYTES else None  # more is task storage

    def _covered(self, w: Write, cands: Sequence[Candidate]) -> bool:
        if w.path is None:
            return True
        p = self.ctx.resolve(w.path)
        return needs_nothing(p) or any(is_ancestor_or_self(c.path, p) for c in cands)

    @staticmethod
    def _merge(old: Sequence[Candidate], new: Sequence[Candidate]) -> list[Candidate]:
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
