"""Minimising and verifying: ablation runs (required, degraded, optional), the verification of exactly
the recommended set, and the speculative wave that runs both beside the first trace. A mixin of the
probe loop's class."""

from __future__ import annotations

import threading
from dataclasses import replace

from ecs5probe.core.options import Observer, ProbeOptions
from ecs5probe.core.paths import is_ancestor_or_self, normalise
from ecs5probe.core.ports import RunOutcome, RunSpec, Runtime
from ecs5probe.core.recommend import Candidate, ImageContext, Unmountable
from ecs5probe.core.wave import Wave, copies
from ecs5probe.model import Mount, RunRecord, Write


class Minimising:
    """The state it reads and writes is the probe's (see :class:`ecs5probe.core.probe.Prober`)."""

    image: str
    opt: ProbeOptions
    rt: Runtime
    obs: Observer
    ctx: ImageContext
    runs: list[RunRecord]
    use_strace: bool
    _changed: bool
    _degraded: set[str]
    _opt_reason: dict[str, str]
    _pass_index: int
    _quiet: threading.Event

    def _run(self, spec: RunSpec, prepared: str | None = None) -> tuple[RunOutcome, bool, str]:
        raise NotImplementedError

    def _spec(
        self, purpose: str, mounts: list[Mount], read_only: bool = True, observe: bool = False, trace: bool = False
    ) -> RunSpec:
        raise NotImplementedError

    def _mounts(self, cands: list[Candidate], required: bool = True, final: bool = False) -> list[Mount]:
        raise NotImplementedError

    def _evidence(self, out: RunOutcome, successes: bool = False) -> list[Write]:
        raise NotImplementedError

    def _learn(self, out: RunOutcome, cands: list[Candidate], bad: list[Unmountable]) -> list[Candidate]:
        raise NotImplementedError

    def _diff_learnt(self, cands: list[Candidate], bad: list[Unmountable]) -> list[Candidate]:
        raise NotImplementedError

    def _start_late_diff(self) -> None:
        raise NotImplementedError

    @staticmethod
    def _merge(old: list[Candidate], new: list[Candidate]) -> list[Candidate]:
        raise NotImplementedError

    def _speculate(
        self, cands: list[Candidate], bad: list[Unmountable]
    ) -> tuple[list[Candidate], list[Candidate], RunOutcome, bool, str] | None:
        """The first traced read-only run, and at the same time (speculatively) the untraced
        verification of the same set and its ablations: when the trace passes and teaches nothing,
        those are the answer, one wave instead of three. Otherwise they are discarded (None)."""
        if self.opt.jobs < 2 or not self.use_strace:
            return None
        self.obs.phase(self.image, f"read-only run 1 with {len(cands)} mount(s), verifying and minimising meanwhile")
        ablate = self.opt.minimise
        full = self._mounts(cands)  # each candidate's mount stands alone: the wave shares them
        self._start_late_diff()

        def without(c: Candidate) -> RunSpec:
            return self._spec(f"ablate {c.path}", [m for m in full if m.container_path != c.path])

        with Wave(self.rt, self.opt.jobs) as wave:
            # The ablations that copy nothing before the verification: an ablation the app survives
            # until its stop, then refuses to exit (redis without its data directory), is the longest
            # run of the wave. Those that copy content after it: its copy is made first.
            specs = {c.path: without(c) for c in cands} if ablate else {}
            first = [c for c in cands if c.path in specs and not copies(specs[c.path])]
            t = wave.submit(self._spec("trace 1", full, trace=True), self._run)
            ablations = {c.path: wave.submit(specs[c.path], self._run) for c in first}
            v = wave.submit(self._spec("verify", full), self._run)
            ablations |= {p: wave.submit(spec, self._run) for p, spec in specs.items() if p not in ablations}
            wave.on_prepared(self._quiet.set)  # then what the writable run wrote may be read
            (t_out, t_ok, _), (v_out, v_ok, v_why) = t.result(), v.result()
            learnt = self._learn(t_out, cands, bad)
            learnt += self._diff_learnt(cands, bad)  # duplicates merge (their writes too)
            done = [(c, ablations[c.path].result()) for c in cands if c.path in ablations]
        if not t_ok or learnt or self._changed or not v_ok:
            # the set was not the answer: go on as if only the trace had run
            self._speculation_discarded(cands, learnt)
            return None
        required, optional = self._classify([(c, ok, out) for c, (out, ok, _w) in done]) if ablate else (cands, [])
        if not optional:
            return required, optional, v_out, True, v_why
        out, ok, why = self._verify(v_out, cands, required, optional)
        return required, optional, out, ok, why

    def _traces(self) -> int:
        return sum(r.purpose.startswith("trace") for r in self.runs)

    def _speculation_discarded(self, cands: list[Candidate], learnt: list[Candidate]) -> None:
        merged = self._merge(cands, learnt)
        cands[:] = merged

    def _minimise(self, cands: list[Candidate]) -> tuple[list[Candidate], list[Candidate]]:
        self._degraded = set()
        if not (self.opt.minimise and cands):
            return list(cands), []
        return self._ablate(cands)

    def _verify(
        self, passed: RunOutcome, cands: list[Candidate], required: list[Candidate], optional: list[Candidate]
    ) -> tuple[RunOutcome, bool, str]:
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

    def _ablate(self, cands: list[Candidate]) -> tuple[list[Candidate], list[Candidate]]:
        self.obs.phase(self.image, f"minimising: {len(cands)} ablation run(s)")

        specs = [self._spec(f"ablate {c.path}", self._mounts([x for x in cands if x is not c])) for c in cands]
        with Wave(self.rt, self.opt.jobs) as wave:
            runs = [wave.submit(spec, self._run) for spec in specs]
            wave.on_prepared(self._quiet.set)
            results = [f.result() for f in runs]
        return self._classify([(c, ok, out) for c, (out, ok, _why) in zip(cands, results, strict=True)])

    def _classify(self, results: list[tuple[Candidate, bool, RunOutcome]]) -> tuple[list[Candidate], list[Candidate]]:
        """Ablation results -> required and optional (degraded counts as required)."""
        self._degraded = set()
        required, optional = [], []
        for c, ok, out in results:
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
