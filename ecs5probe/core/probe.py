"""The probe loop: observe a writable run, trace read-only runs to a fixpoint, minimise, verify."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from ecs5probe.core import logs as logparse
from ecs5probe.core.paths import is_ancestor_or_self, leaves, needs_nothing, normalise
from ecs5probe.core.recommend import (
    Candidate, ImageContext, Unmountable, candidates, hidden_dir, make_mount, split_benign,
)
from ecs5probe.core.strace import MISSING_ERRNOS, TRACE_SET, dropped_to, parse_trace
from ecs5probe.model import Evidence, Finding, HealthSpec, Mount, ProbeResult, RunRecord, Write
from ecs5probe.core.ports import MountSpec, RunOutcome, RunSpec, Runtime, StorageSemantics, WrittenDir


@dataclass(frozen=True)
class ProbeOptions:
    """How to run and judge the image. Durations are seconds."""

    health_cmd: str | None = None
    health: HealthSpec | None = None  # e.g. from a task definition; wins over health_cmd and the image's
    job: bool = False
    settle: float = 3.0
    exercises: tuple[str, ...] = ()
    timeout: float = 60.0
    start_period: float = 15.0
    stop_grace: float = 5.0
    network: str = "none"
    jobs: int = field(default_factory=lambda: os.cpu_count() or 1)  # containers at once
    max_iterations: int = 8
    tracer: str = "auto"  # auto (strace where it works, logs and diff always) | strace | logs | diff | no-strace
    minimise: bool = True
    entrypoint: tuple[str, ...] | None = None
    command: tuple[str, ...] | None = None
    user: str | None = None
    workdir: str | None = None
    environment: tuple[str, ...] = ()
    docker_options: tuple[tuple[str, Any], ...] = ()  # from a task definition (init, capabilities...)
    allow_degraded: tuple[str, ...] = ()  # paths whose failed writes the user accepts knowingly
    platform: str = "ecs"  # whose storage semantics verify the mounts (ecs5probe.platforms)
    memory_mib: int = 2048  # per container (a task definition's memory wins); the host is protected
    pids_limit: int = 4096
    cpus: float | None = None  # None: the machine's cores


class Observer(Protocol):
    """Progress callbacks; the CLI shows them, library users may pass their own."""

    def phase(self, image: str, text: str) -> None: ...

    def run_done(self, image: str, record: RunRecord) -> None: ...


class _Silent:
    def phase(self, image: str, text: str) -> None:
        pass

    def run_done(self, image: str, record: RunRecord) -> None:
        pass


TRACERS = ("auto", "strace", "logs", "diff", "no-strace")
#: Killed by the stop signal, or by SIGKILL after ignoring it: the same "no handler" outcome. An app
#: traced under strace is not PID 1, so a SIGTERM it ignored as PID 1 kills it instead.
_NO_HANDLER = {137, 143}


def judge(outcome: RunOutcome, baseline_stop: int | None, job: bool, relaxed_stop: bool = False) -> tuple[bool, str]:
    """Did a run succeed? Health (or settle, or job exit 0), exercises, and a stop like the writable run's.

    ``relaxed_stop``: one of the two runs was traced, so 137 and 143 count as the same stop.
    """
    if outcome.oom_killed:
        return False, "OOM-killed: the container reached its memory limit (raise --memory, or the task's memory)"
    if job:
        if outcome.exit_code == 0:
            return True, "job exited 0"
        if not outcome.started:
            return False, outcome.start_detail
        return False, f"job exited {outcome.exit_code}"
    if not outcome.started:
        return False, outcome.start_detail
    if not outcome.exercises_ok:
        return False, outcome.exercise_detail
    same = outcome.stop_exit_code == baseline_stop or (
        relaxed_stop and {outcome.stop_exit_code, baseline_stop} <= _NO_HANDLER)
    if baseline_stop is not None and not same:
        return False, f"graceful stop exited {outcome.stop_exit_code} (writable run: {baseline_stop})"
    return True, outcome.start_detail or "healthy"


def diff_writes(diff: Sequence[tuple[str, str]]) -> list[Write]:
    """docker diff entries -> writes: only leaves (diff lists every changed ancestor too)."""
    kinds = {p: k for k, p in diff}
    out = []
    for p in leaves(kinds):
        if needs_nothing(p):
            continue
        op = {"A": "added", "C": "changed", "D": "deleted"}.get(kinds[p], "changed")
        out.append(Write(path=p, source="diff", op=op, line=f"{kinds[p]} {p}"))
    return out


class Prober:
    """One probe of one image. Use :func:`ecs5probe.probe` rather than this class directly."""

    def __init__(self, runtime: Runtime, image: str, options: ProbeOptions, observer: Observer | None,
                 semantics: StorageSemantics):
        self.rt = runtime
        self.semantics = semantics
        self.image = image
        self.opt = options
        self.obs = observer or _Silent()
        self.runs: list[RunRecord] = []
        self.findings: list[Finding] = []
        self._opt_reason: dict[str, str] = {}
        self._baseline_lock = threading.Lock()

    # -- helpers ---------------------------------------------------------------------------------
    def _health(self) -> HealthSpec | None:
        o = self.opt
        base = o.health
        if base is None and o.health_cmd:
            base = HealthSpec(test=("CMD-SHELL", o.health_cmd))
        if base is None:
            base = self.cfg.health
        if base is None or not base.test or base.test[0] == "NONE":
            return None
        # Docker runs the first check only after one interval: re-pass with a short one.
        return replace(base, interval=0.5, start_period=max(base.start_period, o.start_period))

    def _image_start_period(self) -> float:
        h = self.opt.health or self.cfg.health
        return h.start_period if h is not None else 0.0

    def _spec(self, purpose: str, mounts: Sequence[Mount], read_only: bool = True, observe: bool = False,
              trace: bool = False) -> RunSpec:
        o = self.opt
        specs = [self._mount_spec(m) for m in mounts]
        covered = {s.path for s in specs}
        for v in self.volumes:
            if v in covered:
                continue
            # An image VOLUME gets its own labelled volume: writable when observing, read-only when
            # tracing, so that writes there show up like any other (ECS wants them declared).
            specs.append(MountSpec(v, "volume", read_only=read_only, copy_content=True))
        return RunSpec(
            image=self.image, purpose=purpose, read_only=read_only, mounts=tuple(specs),
            health=self.health, mode="job" if o.job else "service", settle=o.settle,
            timeout=o.timeout if observe or self.ready_timeout is None else self.ready_timeout,
            exercises=o.exercises, stop_signal=self.cfg.stop_signal or "SIGTERM", stop_grace=o.stop_grace,
            network=o.network, observe=observe, trace=trace and self.use_strace, trace_successes=not read_only,
            trace_syscalls=TRACE_SET,
            entrypoint=o.entrypoint, command=o.command, user=o.user,
            workdir=o.workdir, environment=o.environment, docker_options=o.docker_options,
            memory_mib=o.memory_mib, pids_limit=o.pids_limit, cpus=o.cpus,
        )

    def _mount_spec(self, m: Mount) -> MountSpec:
        return self.semantics.mount_spec(m, self.volumes)

    def _run(self, spec: RunSpec) -> tuple[RunOutcome, bool, str]:
        out = self.rt.run(spec)
        ok, why = judge(out, self.baseline_stop, self.opt.job, relaxed_stop=out.traced != self.baseline_traced)
        if spec.observe:  # the writable run is the baseline: judged by its start and exercises only
            ok, why = judge(out, None, self.opt.job)
        elif not ok and self._stop_only(out) and self._untraced_baseline():
            ok, why = judge(out, self.baseline_stop, self.opt.job)
        if not ok:
            why = self._limits(out, why)
        rec = RunRecord(spec.purpose, spec.read_only, tuple(m.path for m in spec.mounts), ok, why, out.duration)
        self.runs.append(rec)
        self.obs.run_done(self.image, rec)
        return out, ok, why

    def _limits(self, out: RunOutcome, why: str) -> str:
        """A run that hit a resource limit says so (once in the findings), not "cannot run read-only"."""
        line = logparse.pids_exhausted(out.logs)
        if out.oom_killed:
            text = f"a run reached the memory limit ({self.opt.memory_mib} MiB) and was OOM-killed; raise --memory"
        elif line is not None:
            text = f"a run could not create processes: the pids limit ({self.opt.pids_limit}) was reached; " \
                   f"raise --pids-limit"
            why = f"{why}; pids limit reached: {line!r}"
        else:
            return why
        with self._baseline_lock:
            if not any(f.kind == "limit" and f.message == text for f in self.findings):
                self.findings.append(Finding("limit", text))
        return why

    def _stop_only(self, out: RunOutcome) -> bool:
        """Failed only at the stop, untraced, against a traced baseline: perhaps how the app stops
        without the tracer's init (a shell as PID 1 does not pass the stop signal on)."""
        return (self.baseline_traced and not out.traced and not self.opt.job and out.started
                and out.exercises_ok)

    def _untraced_baseline(self) -> bool:
        """Once: a writable run exactly as the platform runs it, to learn how the app stops there."""
        with self._baseline_lock:
            if self.baseline_traced:
                out = self.rt.run(self._spec("baseline (writable, untraced)", [], read_only=False))
                ok, why = judge(out, None, self.opt.job)
                rec = RunRecord("baseline (writable, untraced)", False, (), ok, why, out.duration)
                self.runs.append(rec)
                self.obs.run_done(self.image, rec)
                if not ok:
                    return False
                self.baseline_stop, self.baseline_traced = out.stop_exit_code, False
                self.tried.append(f"a writable run without the tracer: the app stops with {out.stop_exit_code} there "
                                  f"(traced: it stopped differently)")
            return True

    def _mounts(self, cands: Sequence[Candidate], required: bool = True) -> list[Mount]:
        self.ctx.facts.prefetch([c.path for c in cands])
        return [self._mount(c, required) for c in cands]

    def _mount(self, c: Candidate, required: bool = True) -> Mount:
        w = self._written(c.path)
        return make_mount(c, self.ctx, w.bytes, required, w.writers)

    def _written(self, path: str) -> WrittenDir:
        """What the writable run wrote below ``path`` (read once from its kept container)."""
        if path not in self.sizes:
            self.sizes[path] = WrittenDir()
            if self.kept is not None:
                self.sizes.update(self.rt.written(self.kept, [path]))
        return self.sizes[path]

    def _log_writes(self, out: RunOutcome) -> list[Write]:
        if not self.use_logs:
            return []
        # Without a WORKDIR the app may have changed directory: a relative path stays unresolved.
        cwd = self.opt.workdir or self.cfg.workdir or None
        return logparse.parse_logs(out.logs, cwd=cwd, tmpdir=self.ctx.tmpdir)
    def _evidence(self, out: RunOutcome, successes: bool = False) -> list[Write]:
        """Failed writes from the logs and the trace; with ``successes``, every traced write."""
        cwd = self.opt.workdir or self.cfg.workdir or "/"
        traced = parse_trace(out.trace.splitlines(), include_success=successes, cwd=cwd) if out.traced else []
        logged = [w for w in self._log_writes(out) if w.path is None or w.path not in self.lies]
        return self._drop_benign(logged + traced)

    def _drop_benign(self, writes: list[Write]) -> list[Write]:
        """Known-harmless writes become one finding each (with the alternative), not mounts."""
        benign, rest = split_benign(writes)
        for w, why in benign:
            if why not in self._benign_seen:
                self._benign_seen.add(why)
                self.findings.append(Finding("benign", f"{w.path}: {why}", (Evidence(w.source, w.path, w.line),)))
        return rest

    # -- the loop ----------------------------------------------------------------------------------
    def run(self) -> ProbeResult:
        t0 = time.monotonic()
        self.obs.phase(self.image, "inspecting")
        self.cfg = self.rt.inspect(self.image)
        user = self.opt.user if self.opt.user is not None else self.cfg.user
        facts, uid, gid = self.rt.facts(self.image, user)
        self.ctx = ImageContext(self.cfg, facts, uid, gid)
        self.volumes = sorted({self.ctx.resolve(normalise(v)) for v in self.cfg.volumes})
        self.health = self._health()
        self._benign_seen: set[str] = set()
        tracer = self.opt.tracer
        self.use_logs = tracer in ("auto", "logs", "no-strace")
        self.use_diff = tracer in ("auto", "diff", "no-strace")
        self.use_strace = False
        if tracer in ("auto", "strace"):
            self.use_strace, how = self.rt.tracer()
            self.findings.append(Finding("tracer", how))
        self.baseline_stop: int | None = None
        self.baseline_traced = False
        self.ready_timeout: float | None = None
        self.sizes: dict[str, WrittenDir] = {}
        self.kept: str | None = None
        self.dropped: tuple[int | None, int | None] = (None, None)
        self.tried: list[str] = []
        self.failed_writable: set[str] = set()
        self.lies: set[str] = set()
        self._noted_anyway: set[str] = set()
        try:
            with facts:
                result = self._probe()
        finally:
            if self.kept is not None:
                self.rt.discard(self.kept)
        result.duration_seconds = time.monotonic() - t0
        result.runs = self.runs
        result.user = user or "root"
        result.findings = self.findings + result.findings
        result.tried = self.tried
        return result

    def _observe(self) -> tuple[list[Candidate], list[Unmountable]] | str:
        """One writable run, exercised and stopped: docker diff and strace show every write at once."""
        self.obs.phase(self.image, "observing a writable run")
        out, ok, why = self._run(self._spec("observe (writable)", [], read_only=False, observe=True, trace=True))
        self.kept = out.handle
        if not ok:
            last = [ln.strip() for ln in out.logs.splitlines() if ln.strip()][-2:]
            said = f"; its last output: {' / '.join(repr(ln[:200]) for ln in last)}" if last else ""
            return f"the image fails even with a writable root filesystem: {why}{said}"
        self.baseline_stop = out.stop_exit_code
        self.baseline_traced = out.traced
        if out.ready_after is not None:
            # Read-only runs need not wait the whole start period: the app was ready after
            # ready_after seconds with a writable root; give it twice that, plus two seconds.
            adaptive = 2 * out.ready_after + 2.0
            if self.health is not None:
                adaptive = max(self._image_start_period(), adaptive)
                self.health = replace(self.health, start_period=min(self.health.start_period, adaptive))
            else:
                self.ready_timeout = min(self.opt.timeout, adaptive + self.opt.settle)
        self.dropped = dropped_to(out.trace.splitlines()) if out.traced else (None, None)
        writes: list[Write] = []
        if self.use_diff:
            writes += diff_writes(out.diff) + [
                Write(path=p, source="volume-diff", op="added", line=f"written in VOLUME: {p}") for p in out.volume_writes
            ]
        # Failed writes of the writable run fail anyway: they are no reason for a mount.
        evidence = self._evidence(out, successes=True)
        # A log that claims a read-only error with a writable root is not evidence, there or later.
        self.lies = {w.path for w in evidence if w.source == "log" and w.path is not None}
        evidence = [w for w in evidence if w.source != "log"]
        traced = [w for w in evidence if w.errno in (None, "EROFS")]
        self.failed_writable = {self.ctx.resolve(w.path) for w in evidence
                                if w.path and w.errno not in (None, "EROFS")}
        return candidates(self._drop_benign(writes) + traced, self.ctx)

    def _probe(self) -> ProbeResult:
        observed = self._observe()
        if isinstance(observed, str):
            return ProbeResult(self.image, False, reason=observed)
        cands, bad = observed
        self.pathless: list[Write] = []
        for attempt in range(3):
            passed, cands, why = self._trace(cands, bad)
            if passed is None:
                return self._failure(cands, bad, self.pathless, why)
            required, optional = self._minimise(cands)
            final_out, ok, why = self._verify(passed, cands, required, optional)
            if ok:
                break
            # The untraced verification failed where the traced run passed: learn from its evidence.
            learnt = self._learn(final_out, cands, bad)
            self.tried.append(f"verification failed ({why}); "
                              + (f"learnt {', '.join(c.path for c in learnt)} from it" if learnt
                                 else "traced again with the full set"))
            if not learnt and attempt == 2:
                return self._failure(cands, bad, self.pathless, why)
            cands = self._merge(cands, learnt)
        else:
            return self._failure(cands, bad, self.pathless, why)
        mounts = self._mounts(required) + [
            replace(m, required=False, reason=m.reason + f"; not required: {self._opt_reason[m.container_path]}")
            for m in self._mounts(optional)
        ]
        mounts = [replace(m, degraded=m.container_path in self._degraded) for m in mounts]
        self._report_pathless(final_out)
        self._report_unmountable(bad, required=False)
        return ProbeResult(self.image, True, mounts=mounts, reason="verified read-only with exactly these mounts")

    def _trace(self, cands: list[Candidate], bad: list[Unmountable]
               ) -> tuple[RunOutcome | None, list[Candidate], str]:
        """Read-only runs with the candidates until one passes; every failure teaches something."""
        last_why = ""
        for i in range(self.opt.max_iterations):
            self.obs.phase(self.image, f"read-only run {i + 1} with {len(cands)} mount(s)")
            out, ok, last_why = self._run(self._spec(f"trace {i + 1}", self._mounts(cands), trace=True))
            learnt = self._learn(out, cands, bad)
            if ok and not learnt:
                self._pass_index = len(self.runs) - 1
                return out, cands, last_why
            if learnt or self._changed:
                cands = self._merge(cands, learnt)
                continue
            alternative = self._alternative(cands)
            if alternative is None:
                break
            cands = alternative
        return None, cands, last_why

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
        new = [w for w in found if w.path is not None and w.errno not in ("EACCES", "EPERM", *MISSING_ERRNOS)
               and not self._covered(w, cands) and not self._fails_anyway(w)]
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
            self.findings.append(Finding("note", f"{p}: the write fails with a writable root filesystem too; "
                                                  "no mount is needed for it", (Evidence(w.source, p, w.line),)))
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
            self.tried.append(f"{c.path} owned by {c.owner[0]}:{c.owner[1]}, the user the app switches to "
                              f"(EACCES as root's)")

    def _alternative(self, cands: list[Candidate]) -> list[Candidate] | None:
        """When a run fails and teaches nothing: stop hiding what the image ships, one step at a time."""
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

    def _minimise(self, cands: list[Candidate]) -> tuple[list[Candidate], list[Candidate]]:
        self._degraded: set[str] = set()
        if not (self.opt.minimise and cands):
            return list(cands), []
        return self._ablate(cands)

    def _verify(self, passed: RunOutcome, cands: list[Candidate], required: list[Candidate],
                optional: list[Candidate]) -> tuple[RunOutcome, bool, str]:
        """Verify exactly the recommended set, run exactly as ECS would (untraced). The passing trace
        run is that run when nothing was dropped and it was not traced."""
        if not optional and not passed.traced:
            i = self._pass_index
            self.runs[i] = replace(self.runs[i], purpose=self.runs[i].purpose + " = verify")
            return passed, True, ""
        self.obs.phase(self.image, "verifying the minimal set")
        out, ok, why = self._run(self._spec("verify", self._mounts(required)))
        if not ok and optional:  # the drops interact: keep the set that passed
            required[:], optional[:] = list(cands), []
            out, ok, why = self._run(self._spec("verify (full set)", self._mounts(required)))
        return out, ok, why

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

    def _ablate(self, cands: list[Candidate]) -> tuple[list[Candidate], list[Candidate]]:
        self.obs.phase(self.image, f"minimising: {len(cands)} ablation run(s)")

        def without(c: Candidate) -> tuple[Candidate, bool, str, RunOutcome]:
            rest = [x for x in cands if x is not c]
            out, ok, why = self._run(self._spec(f"ablate {c.path}", self._mounts(rest)))
            return c, ok, why, out

        with ThreadPoolExecutor(max_workers=max(1, self.opt.jobs)) as pool:
            results = list(pool.map(without, cands))
        required, optional = [], []
        for c, ok, _why, out in results:
            if not ok:
                required.append(c)
                continue
            lines = [w for w in self._evidence(out) if w.path and is_ancestor_or_self(c.path, self.ctx.resolve(w.path))]
            c.writes.extend(w for w in lines if w not in c.writes)
            if c.written_writable and not c.nested and not self._allowed(c.path):
                # The app stays up, but what it wrote there with a writable root now fails: required.
                self._degraded.add(c.path)
                required.append(c)
                continue
            if self._allowed(c.path):
                self._opt_reason[c.path] = "accepted as degraded with --allow-degraded"
            elif lines:
                self._opt_reason[c.path] = f"tolerated: the app went on after {lines[0].line!r}"
            else:
                self._opt_reason[c.path] = "the app passed without it"
            optional.append(c)
        return required, optional

    def _allowed(self, path: str) -> bool:
        return any(is_ancestor_or_self(normalise(a), path) for a in self.opt.allow_degraded)

    def _report_pathless(self, out: RunOutcome) -> None:
        for w in self._evidence(out):
            if w.path is None:
                self.findings.append(Finding("pathless-erofs", "a read-only error that names no path (or a relative one)",
                                             (Evidence(w.source, None, w.line),)))

    def _report_unmountable(self, bad: Sequence[Unmountable], required: bool) -> None:
        seen = set()
        for u in bad:
            if u.write.path in seen:
                continue
            seen.add(u.write.path)
            note = "" if required else " (the app worked without it)"
            self.findings.append(Finding("unmountable", f"{u.write.path}: {u.reason}{note}",
                                         (Evidence(u.write.source, u.write.path, u.write.line),)))

    def _failure(self, cands, bad, pathless, why: str) -> ProbeResult:
        self._report_unmountable(bad, required=True)
        for w in pathless:
            self.findings.append(Finding("pathless-erofs", "a read-only error that names no path",
                                         (Evidence(w.source, None, w.line),)))
        reason = f"no set of mounts made it work read-only: {why}"
        if self.tried:
            reason += f"; tried: {'; '.join(self.tried)}"
        if bad:
            reason += f"; writes no safe mount can cover: {', '.join(sorted({str(u.write.path) for u in bad}))}"
        return ProbeResult(self.image, False, mounts=self._mounts(cands), reason=reason)
