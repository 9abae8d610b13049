"""Minimising and verifying: ablation runs (required, degraded, optional), the verification of exactly
the recommended set, and the speculative wave that runs both beside the first trace. Functions over
the probe's state."""

from __future__ import annotations

import logging
from dataclasses import replace
from functools import partial

from ecs5probe.core.learn import learn, merge
from ecs5probe.core.observe import diff_learnt, start_late_diff
from ecs5probe.core.paths import is_ancestor_or_self, normalise
from ecs5probe.core.ports import RunOutcome, RunSpec
from ecs5probe.core.recommend import Candidate, Unmountable
from ecs5probe.core.runs import evidence, run, spec
from ecs5probe.core.state import ProbeState
from ecs5probe.core.wave import Wave, copies

log = logging.getLogger(__name__)

#: One verification's answer: required and optional candidates, the verifying run, ok, why.
Verified = tuple[list[Candidate], list[Candidate], RunOutcome, bool, str]


def speculate(st: ProbeState, cands: list[Candidate], bad: list[Unmountable]) -> Verified | None:
    """The untraced verification of the writable run's candidates and their ablations, at once
    (speculatively): when the verification passes and its evidence teaches nothing, those are the
    answer, one wave instead of three. Otherwise they are discarded (None) and the traced read-only
    runs go on from what they taught.

    The wave has a traced read-only run of the same set too only where the writable run's trace may
    have missed a write (it saw writes it could not name, or it was not traced): where it named every
    write, every path the app wrote is a candidate already, and the traced run would repeat the
    verification (a run, and for a data directory a copy of it, in every probe: 13-18% of a probe of
    nginx, redis, haproxy and PostgreSQL, ``benchmarks/bench_real.py``)."""
    if st.opt.jobs < 2 or not st.use_strace:
        return None
    traced = not st.base.trace_complete
    also = "tracing, " if traced else ""
    st.obs.phase(st.image, f"verifying {len(cands)} mount(s), {also}minimising meanwhile")
    ablate = st.opt.minimise
    full = st.sizer.mounts(cands, st.ctx)  # each candidate's mount stands alone: the wave shares them

    def without(c: Candidate) -> RunSpec:
        return spec(st, f"ablate {c.path}", [m for m in full if m.container_path != c.path])

    ran = partial(run, st)
    with Wave(st.rt, st.opt.jobs) as wave:
        # The ablations that copy nothing before the verification: an ablation the app survives
        # until its stop, then refuses to exit (redis without its data directory), is the longest
        # run of the wave. Those that copy content after it: its copy is made first.
        specs = {c.path: without(c) for c in cands if decides(st, c)} if ablate else {}
        first = [c for c in cands if c.path in specs and not copies(specs[c.path])]
        t = wave.submit(spec(st, "trace 1", full, trace=True), ran) if traced else None
        ablations = {c.path: wave.submit(specs[c.path], ran) for c in first}
        v = wave.submit(spec(st, "verify", full), ran)
        ablations |= {p: wave.submit(s, ran) for p, s in specs.items() if p not in ablations}
        wave.on_prepared(st.sizer.quiet.set)  # then what the writable run wrote may be read
        # ... and its docker diff: read beside a data directory's copies, it slowed them (the layer
        # holds what the app wrote there: PostgreSQL's WAL); the runs still take longer than it.
        wave.on_prepared(lambda: start_late_diff(st))
        v_out, v_ok, v_why = v.result()
        t_out, t_ok, _ = t.result() if t is not None else (v_out, v_ok, v_why)
        learnt = learn(st, t_out, cands, bad)  # without the trace: what the verification's logs say
        learnt += diff_learnt(st, cands, bad)  # duplicates merge (their writes too)
        done = {c.path: ablations[c.path].result() for c in cands if c.path in ablations}
    if not t_ok or learnt or st.changed or not v_ok:
        # the set was not the answer: go on from what the wave taught (traced runs next)
        cands[:] = merge(cands, learnt)
        return None
    if ablate:
        required, optional = _classify(st, cands, done)
    else:
        required, optional = list(cands), []
    if not optional:
        return required, optional, v_out, True, v_why
    out, ok, why = verify(st, v_out, cands, required, optional)
    return required, optional, out, ok, why


def decides(st: ProbeState, c: Candidate) -> bool:
    """Whether a run without ``c`` can change the answer. A write that succeeded there with a writable
    root fails read-only without the mount, so such a mount is required whatever that run shows: it
    would only tell whether the app fails or degrades (stays up, losing the write) without it. Those
    runs are made with ``--ablate-all``, or where ``--allow-degraded`` accepts a degraded app; a
    nested mount (it recreates a directory another one hides) is always tried without."""
    return st.opt.ablate_all or not c.written_writable or c.nested or _allowed(st, c.path)


def minimise(st: ProbeState, cands: list[Candidate]) -> tuple[list[Candidate], list[Candidate]]:
    st.degraded = set()
    if not (st.opt.minimise and cands):
        return list(cands), []
    return _ablate(st, cands)


def verify(
    st: ProbeState, passed: RunOutcome, cands: list[Candidate], required: list[Candidate], optional: list[Candidate]
) -> tuple[RunOutcome, bool, str]:
    """Verify exactly the recommended set, run exactly as ECS would (untraced). The passing trace
    run is that run when nothing was dropped and it was not traced."""
    if not optional and not passed.traced:
        i = st.pass_index
        st.runs[i] = replace(st.runs[i], purpose=st.runs[i].purpose + " = verify")
        return passed, True, ""
    st.obs.phase(st.image, "verifying the minimal set")
    out, ok, why = run(st, spec(st, "verify", st.sizer.mounts(required, st.ctx)))
    if not ok and optional:  # the drops interact: keep the set that passed
        required[:], optional[:] = list(cands), []
        out, ok, why = run(st, spec(st, "verify (full set)", st.sizer.mounts(required, st.ctx)))
    return out, ok, why


def _ablate(st: ProbeState, cands: list[Candidate]) -> tuple[list[Candidate], list[Candidate]]:
    tried = [c for c in cands if decides(st, c)]
    done: dict[str, tuple[RunOutcome, bool, str]] = {}
    if tried:
        st.obs.phase(st.image, f"minimising: {len(tried)} ablation run(s)")
        specs = [spec(st, f"ablate {c.path}", st.sizer.mounts([x for x in cands if x is not c], st.ctx)) for c in tried]
        ran = partial(run, st)
        with Wave(st.rt, st.opt.jobs) as wave:
            runs = [wave.submit(s, ran) for s in specs]
            wave.on_prepared(st.sizer.quiet.set)
            done = {c.path: f.result() for c, f in zip(tried, runs, strict=True)}
    return _classify(st, cands, done)


def _classify(
    st: ProbeState, cands: list[Candidate], done: dict[str, tuple[RunOutcome, bool, str]]
) -> tuple[list[Candidate], list[Candidate]]:
    """Ablation results (``done``: by path, the run without it) -> required and optional (degraded
    counts as required). A candidate not run without (:func:`decides`): required, degraded unknown."""
    st.degraded, st.ablated = set(), set(done)
    required, optional = [], []
    for c in cands:
        out, ok, _why = done.get(c.path, (None, False, ""))
        if not ok or out is None:
            required.append(c)
            continue
        lines = [w for w in evidence(st, out) if w.path and is_ancestor_or_self(c.path, st.ctx.resolve(w.path))]
        c.writes.extend(w for w in lines if w not in c.writes)
        if c.written_writable and not c.nested and not _allowed(st, c.path):
            # The app stays up, but what it wrote there with a writable root now fails: required.
            st.degraded.add(c.path)
            required.append(c)
            continue
        if _allowed(st, c.path):
            st.opt_reason[c.path] = "accepted as degraded with --allow-degraded"
        elif lines:
            st.opt_reason[c.path] = f"tolerated: the app went on after {lines[0].line!r}"
        else:
            st.opt_reason[c.path] = "the app passed without it"
        optional.append(c)
    for c in required:
        why = "degraded without it" if c.path in st.degraded else "the app failed without it"
        if c.path not in st.ablated:
            why = "the app wrote here with a writable root (not run without it)"
        log.info("%s: mount %s kept: %s", st.image, c.path, why)
    for c in optional:
        log.info("%s: mount %s not required: %s", st.image, c.path, st.opt_reason.get(c.path, ""))
    return required, optional


def _allowed(st: ProbeState, path: str) -> bool:
    return any(is_ancestor_or_self(normalise(a), path) for a in st.opt.allow_degraded)
