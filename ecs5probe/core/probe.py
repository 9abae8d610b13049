"""The probe loop: observe a writable run, trace read-only runs to a fixpoint, minimise, verify."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace

from ecs5probe.core import logs as logparse
from ecs5probe.core.judge import diff_writes, judge
from ecs5probe.core.learn import Learning
from ecs5probe.core.minimise import Minimising
from ecs5probe.core.options import Observer, ProbeOptions, _Silent
from ecs5probe.core.paths import normalise
from ecs5probe.core.ports import ImageFacts, MountSpec, RunOutcome, RunSpec, Runtime, StorageSemantics
from ecs5probe.core.recommend import (
    Candidate,
    ImageContext,
    Unmountable,
    candidates,
    split_benign,
)
from ecs5probe.core.sizing import Sizing
from ecs5probe.core.strace import TRACE_SET, dropped_to, parse_trace, unnamed_writes
from ecs5probe.model import Evidence, Finding, HealthSpec, Mount, ProbeResult, RunRecord, Write


class Prober(Sizing, Learning, Minimising):
    """One probe of one image. Use :func:`ecs5probe.probe` rather than this class directly."""

    _facts_job: Future[tuple[ImageFacts, int, int]]
    volumes: list[str]

    def __init__(
        self,
        runtime: Runtime,
        image: str,
        options: ProbeOptions,
        observer: Observer | None,
        semantics: StorageSemantics,
    ):
        self.rt = runtime
        self.semantics = semantics
        self.image = image
        self.opt = options
        self.obs = observer or _Silent()
        self.runs: list[RunRecord] = []
        self.findings: list[Finding] = []
        self._opt_reason: dict[str, str] = {}
        self._baseline_lock = threading.Lock()
        self._benign_seen: set[str] = set()
        self.use_logs = self.use_diff = self.use_strace = False
        self.baseline_stop: int | None = None
        self.baseline_traced = False
        self.traced_stop: int | None = None  # how the traced writable run stopped: the tracer's own way
        self.ready_timeout: float | None = None
        self.stop_budget: float | None = None  # a read-only run not stopped by then has diverged
        self._late: ThreadPoolExecutor | None = None
        self._late_diff: Future[list[tuple[str, str]]] | None = None
        self._init_sizing()
        self._diff_pending = False
        self._verified_stop: int | None = None  # how an untraced run with the full set stopped
        self.kept: str | None = None
        self.dropped: tuple[int | None, int | None] = (None, None)
        self.tried: list[str] = []
        self.failed_writable: set[str] = set()
        self.lies: set[str] = set()
        self._noted_anyway: set[str] = set()
        self._degraded: set[str] = set()
        self._changed = False
        self._pass_index = 0
        self.pathless: list[Write] = []

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

    def _spec(
        self, purpose: str, mounts: Sequence[Mount], read_only: bool = True, observe: bool = False, trace: bool = False
    ) -> RunSpec:
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
            image=self.image,
            purpose=purpose,
            read_only=read_only,
            mounts=tuple(specs),
            health=self.health,
            mode="job" if o.job else "service",
            settle=o.settle,
            timeout=o.timeout if observe or self.ready_timeout is None else self.ready_timeout,
            exercises=o.exercises,
            stop_signal=self.cfg.stop_signal or "SIGTERM",
            stop_grace=o.stop_grace if observe or self.stop_budget is None else self.stop_budget,
            network=o.network,
            observe=observe,
            trace=trace and self.use_strace,
            trace_successes=not read_only,
            trace_syscalls=TRACE_SET,
            entrypoint=o.entrypoint,
            command=o.command,
            user=o.user,
            workdir=o.workdir,
            environment=o.environment,
            docker_options=o.docker_options,
            memory_mib=o.memory_mib,
            pids_limit=o.pids_limit,
            cpus=o.cpus,
        )

    def _mount_spec(self, m: Mount) -> MountSpec:
        return self.semantics.mount_spec(m, self.volumes, dict(self.opt.storage))

    def _run(self, spec: RunSpec, prepared: str | None = None) -> tuple[RunOutcome, bool, str]:
        out = self.rt.run(spec, prepared)
        if out.traced and self.traced_stop is not None:  # traced runs stop as the traced writable run did
            ok, why = judge(out, self.traced_stop, self.opt.job)
            why = why.replace("(writable run:", "(the traced writable run:")
        else:
            ok, why = judge(out, self.baseline_stop, self.opt.job, relaxed_stop=out.traced != self.baseline_traced)
        if spec.observe:  # the writable run is the baseline: judged by its start and exercises only
            ok, why = judge(out, None, self.opt.job)
        elif not ok and self._stop_only(out):
            verified = self._verified_stop
            if verified is not None:  # an untraced run with the full set stopped so: that is the reference
                ok, why = judge(out, verified, self.opt.job)
                why = why.replace("(writable run:", "(the verified untraced run:")
            elif self._untraced_baseline():
                ok, why = judge(out, self.baseline_stop, self.opt.job)
        if ok and spec.purpose == "verify" and not out.traced and self.baseline_traced:
            self._verified_stop = out.stop_exit_code
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
            text = (
                f"a run could not create processes: the pids limit ({self.opt.pids_limit}) was reached; "
                f"raise --pids-limit"
            )
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
        return self.baseline_traced and not out.traced and not self.opt.job and out.started and out.exercises_ok

    def _untraced_baseline(self) -> bool:
        """Once: a writable run exactly as the platform runs it, to learn how the app stops there."""
        with self._baseline_lock:
            if self.baseline_traced:
                spec = self._spec("baseline (writable, untraced)", [], read_only=False)
                out = self.rt.run(replace(spec, stop_grace=self.opt.stop_grace))  # the whole grace: the truth
                ok, why = judge(out, None, self.opt.job)
                rec = RunRecord("baseline (writable, untraced)", False, (), ok, why, out.duration)
                self.runs.append(rec)
                self.obs.run_done(self.image, rec)
                if not ok:
                    return False
                self.baseline_stop, self.baseline_traced = out.stop_exit_code, False
                self.tried.append(
                    f"a writable run without the tracer: the app stops with {out.stop_exit_code} there "
                    f"(traced: it stopped differently)"
                )
            return True

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
        tracer = self.opt.tracer
        self.use_logs = tracer in ("auto", "logs", "no-strace")
        self.use_diff = tracer in ("auto", "diff", "no-strace")
        self.use_strace = False
        if tracer in ("auto", "strace"):  # first: the image-facts container may use its bundle
            self.use_strace, how = self.rt.tracer()
            self.findings.append(Finding("tracer", how))
        # The image's facts are first needed once the writable run is over: read beside it (its
        # container made, the user's ids read), unless an image VOLUME's path is to be resolved first.
        pool = ThreadPoolExecutor(max_workers=1)
        self._facts_job = pool.submit(self.rt.facts, self.image, user)
        pool.shutdown(wait=False)
        self.volumes = []
        self.health = self._health()
        try:
            if self.cfg.volumes:
                self._context()
            result = self._probe()
        finally:
            self._stop_sizing()  # nothing may read the kept run after
            if self.kept is not None:
                self.rt.discard(self.kept)
            self._close_facts()
        result.duration_seconds = time.monotonic() - t0
        result.runs = self.runs
        result.user = user or "root"
        result.findings = self.findings + result.findings
        result.tried = self.tried
        return result

    def _context(self) -> None:
        """The image's facts, once read (an unknown user is a usage error, raised here)."""
        if not hasattr(self, "ctx"):
            facts, uid, gid = self._facts_job.result()
            self.ctx = ImageContext(self.cfg, facts, uid, gid)
            self.volumes = sorted({self.ctx.resolve(normalise(v)) for v in self.cfg.volumes})

    def _close_facts(self) -> None:
        try:
            facts = self._facts_job.result()[0]
        except Exception:  # noqa: BLE001 - raised by _context already, or the probe failed before it
            return
        facts.close()

    def _observe(self) -> tuple[list[Candidate], list[Unmountable]] | str:
        """One writable run, exercised and stopped: docker diff and strace show every write at once."""
        self.obs.phase(self.image, "observing a writable run")
        out, ok, why = self._run(self._spec("observe (writable)", [], read_only=False, observe=True, trace=True))
        self.kept = out.handle
        self._context()  # read beside the run
        if not ok:
            last = [ln.strip() for ln in out.logs.splitlines() if ln.strip()][-2:]
            said = f"; its last output: {' / '.join(repr(ln[:200]) for ln in last)}" if last else ""
            return f"the image fails even with a writable root filesystem: {why}{said}"
        self.baseline_stop = out.stop_exit_code
        self.baseline_traced = out.traced
        self.traced_stop = out.stop_exit_code if out.traced else None
        if out.ready_after is not None:
            # Read-only runs need not wait the whole start period: the app was ready after
            # ready_after seconds with a writable root; give it twice that, plus two seconds.
            adaptive = 2 * out.ready_after + 2.0
            if self.health is not None:
                adaptive = max(self._image_start_period(), adaptive)
                self.health = replace(self.health, start_period=min(self.health.start_period, adaptive))
            else:
                self.ready_timeout = min(self.opt.timeout, adaptive + self.opt.settle)
        if out.stop_seconds is not None:
            # A read-only run still alive well past the writable run's stop has diverged: do not wait
            # the whole grace for it (the app that cannot save refuses to exit).
            self.stop_budget = min(self.opt.stop_grace, 3 * out.stop_seconds + 1.0)
        self.dropped = dropped_to(out.trace.splitlines()) if out.traced else (None, None)
        writes: list[Write] = []
        if self.use_diff and out.handle is not None:
            if self.use_strace and out.traced and self.opt.jobs >= 2 and not self._unnamed(out):
                # docker diff can take seconds (fuse-overlayfs compares the whole root filesystem) and
                # the trace saw the app's own writes: read it beside the first read-only wave, once that
                # wave's mounts are known (it would slow the reads they need).
                self._diff_pending = True
            else:
                writes += diff_writes(self.rt.diff(out.handle, self._in_image))
            writes += [
                Write(path=p, source="volume-diff", op="added", line=f"written in VOLUME: {p}")
                for p in out.volume_writes
            ]
        # Failed writes of the writable run fail anyway: they are no reason for a mount.
        evidence = self._evidence(out, successes=True)
        # A log that claims a read-only error with a writable root is not evidence, there or later.
        self.lies = {w.path for w in evidence if w.source == "log" and w.path is not None}
        evidence = [w for w in evidence if w.source != "log"]
        traced = [w for w in evidence if w.errno in (None, "EROFS")]
        self.failed_writable = {self.ctx.resolve(w.path) for w in evidence if w.path and w.errno not in (None, "EROFS")}
        return candidates(self._drop_benign(writes) + traced, self.ctx)

    def _unnamed(self, out: RunOutcome) -> bool:
        """The trace saw writes it could not name: the first wave's mounts would be a guess without
        docker diff, and its runs wasted (postfix's master.lock): the diff is read before it."""
        cwd = self.opt.workdir or self.cfg.workdir or "/"
        return unnamed_writes(out.trace.splitlines(), cwd) > 0

    def _in_image(self, path: str) -> bool:
        return self.ctx.facts.lstat(path).exists

    def _start_late_diff(self) -> None:
        if self._diff_pending and self.kept is not None:
            self._diff_pending = False
            self._late = ThreadPoolExecutor(max_workers=1)
            self._late_diff = self._late.submit(self.rt.diff, self.kept, self._in_image)

    def _diff_learnt(self, cands: list[Candidate], bad: list[Unmountable]) -> list[Candidate]:
        """What the writable run's docker diff adds, read late, beyond what the trace showed."""
        self._start_late_diff()
        if self._late_diff is None:
            return []
        diff, self._late_diff = self._late_diff.result(), None
        if self._late is not None:
            self._late.shutdown(wait=False)
        new = [w for w in self._drop_benign(diff_writes(diff)) if not self._covered(w, cands)]
        added, more_bad = candidates(new, self.ctx)
        bad += [u for u in more_bad if u not in bad]
        known = {c.path for c in cands}
        return [c for c in added if c.path not in known]

    def _probe(self) -> ProbeResult:
        observed = self._observe()
        if isinstance(observed, str):
            return ProbeResult(self.image, False, reason=observed)
        cands, bad = observed
        speculated = self._speculate(cands, bad)
        for attempt in range(3):
            if speculated is not None:
                required, optional, final_out, ok, why = speculated
                speculated = None
                if ok:
                    break
            else:
                passed, cands, why = self._trace(cands, bad)
                if passed is None:
                    return self._failure(cands, bad, self.pathless, why)
                required, optional = self._minimise(cands)
                final_out, ok, why = self._verify(passed, cands, required, optional)
                if ok:
                    break
            # The untraced verification failed where the traced run passed: learn from its evidence.
            learnt = self._learn(final_out, cands, bad)
            self.tried.append(
                f"verification failed ({why}); "
                + (
                    f"learnt {', '.join(c.path for c in learnt)} from it"
                    if learnt
                    else "traced again with the full set"
                )
            )
            if not learnt and attempt == 2:
                return self._failure(cands, bad, self.pathless, why)
            cands = self._merge(cands, learnt)
        else:
            return self._failure(cands, bad, self.pathless, why)
        mounts = self._mounts(required, final=True) + [
            replace(m, required=False, reason=m.reason + f"; not required: {self._opt_reason[m.container_path]}")
            for m in self._mounts(optional, final=True)
        ]
        mounts = [replace(m, degraded=m.container_path in self._degraded) for m in mounts]
        self._report_pathless(final_out)
        self._report_unmountable(bad, required=False)
        return ProbeResult(self.image, True, mounts=mounts, reason="verified read-only with exactly these mounts")

    def _trace(self, cands: list[Candidate], bad: list[Unmountable]) -> tuple[RunOutcome | None, list[Candidate], str]:
        """Read-only runs with the candidates until one passes; every failure teaches something."""
        last_why = ""
        for i in range(self.opt.max_iterations):
            self.obs.phase(self.image, f"read-only run {i + 1} with {len(cands)} mount(s)")
            out, ok, last_why = self._run(self._spec(f"trace {self._traces() + 1}", self._mounts(cands), trace=True))
            self._quiet.set()  # its storage was prepared: what the writable run wrote may be read now
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

    def _report_pathless(self, out: RunOutcome) -> None:
        for w in self._evidence(out):
            if w.path is None:
                self.findings.append(
                    Finding(
                        "pathless-erofs",
                        "a read-only error that names no path (or a relative one)",
                        (Evidence(w.source, None, w.line),),
                    )
                )

    def _report_unmountable(self, bad: Sequence[Unmountable], required: bool) -> None:
        seen = set()
        for u in bad:
            if u.write.path in seen:
                continue
            seen.add(u.write.path)
            note = "" if required else " (the app worked without it)"
            self.findings.append(
                Finding(
                    "unmountable",
                    f"{u.write.path}: {u.reason}{note}",
                    (Evidence(u.write.source, u.write.path, u.write.line),),
                )
            )

    def _failure(self, cands: list[Candidate], bad: list[Unmountable], pathless: list[Write], why: str) -> ProbeResult:
        self._report_unmountable(bad, required=True)
        for w in pathless:
            self.findings.append(
                Finding("pathless-erofs", "a read-only error that names no path", (Evidence(w.source, None, w.line),))
            )
        reason = f"no set of mounts made it work read-only: {why}"
        if self.tried:
            reason += f"; tried: {'; '.join(self.tried)}"
        if bad:
            reason += f"; writes no safe mount can cover: {', '.join(sorted({str(u.write.path) for u in bad}))}"
        return ProbeResult(self.image, False, mounts=self._mounts(cands, final=True), reason=reason)
