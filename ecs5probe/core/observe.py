"""The writable run: one run, exercised and stopped, whose docker diff and trace show every write at
once; what it teaches the read-only runs (how long to wait, how the app stops); docker diff read late."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from ecs5probe.core.harden import escalate
from ecs5probe.core.judge import PORT_RULE, diff_writes, last_words, low_port_denied
from ecs5probe.core.learn import covered
from ecs5probe.core.ports import RunOutcome
from ecs5probe.core.recommend import Candidate, Unmountable, candidates
from ecs5probe.core.runs import drop_benign, evidence, run, spec
from ecs5probe.core.state import ProbeState
from ecs5probe.core.strace import unnamed_writes
from ecs5probe.core.tracefacts import dropped_to, ports_bound
from ecs5probe.errors import SmokeTestFailed
from ecs5probe.model import Write

log = logging.getLogger(__name__)


def observe(st: ProbeState) -> tuple[list[Candidate], list[Unmountable]] | str:
    """The candidates from the writable run, or why the image fails even writable."""
    st.obs.phase(st.image, "observing a writable run")
    out, ok, why = run(st, spec(st, "observe (writable)", [], read_only=False, observe=True, trace=True))
    for _ in range(3):  # what a refusal names (a capability, a low port) is added, then the run again
        if ok or not escalate(st, out, why):
            break
        if out.handle is not None:
            st.rt.discard(out.handle)
        out, ok, why = run(st, spec(st, "observe (writable)", [], read_only=False, observe=True, trace=True))
    st.kept = st.sizer.kept = out.handle
    ctx = st.ctx  # read beside the run
    if not ok and not out.smoke_ok:
        raise SmokeTestFailed(f"{st.image}: your smoke test fails even writable: {out.smoke_detail}")
    if not ok:
        said = last_words(out.logs, telling=True)
        rule = f"; {PORT_RULE}" if low_port_denied(out.logs) and st.semantics.unprivileged_port_start else ""
        return f"the image fails even with a writable root filesystem: {why}{said}{rule}"
    _learn_timing(st, out)
    writes: list[Write] = []
    st.base.trace_complete = st.use_strace and out.traced and not _unnamed(st, out)
    if st.use_diff and out.handle is not None:
        if st.base.trace_complete and st.opt.jobs >= 2:
            # docker diff can take seconds (fuse-overlayfs compares the whole root filesystem) and
            # the trace saw the app's own writes: read it beside the first read-only wave, once that
            # wave's mounts are known (it would slow the reads they need).
            st.diff_pending = True
        else:
            writes += diff_writes(st.rt.diff(out.handle, _in_image(st)))
        writes += [
            Write(path=p, source="volume-diff", op="added", line=f"written in VOLUME: {p}") for p in out.volume_writes
        ]
    st.written.update(w.path for w in writes if w.path)
    # Failed writes of the writable run fail anyway: they are no reason for a mount.
    seen = evidence(st, out, successes=True)
    ctx.warm(w.path for w in writes + seen if w.path)
    # A log that claims a read-only error with a writable root is not evidence, there or later.
    st.lies = {w.path for w in seen if w.source == "log" and w.path is not None}
    seen = [w for w in seen if w.source != "log"]
    traced = [w for w in seen if w.errno in (None, "EROFS")]
    st.failed_writable = {ctx.resolve(w.path) for w in seen if w.path and w.errno not in (None, "EROFS")}
    seen_writes = [w for w in drop_benign(st, writes) + traced if not (w.path and st.opt.covered(ctx.resolve(w.path)))]
    cands, bad = candidates(seen_writes, ctx)
    for c in cands:
        log.info(
            "%s: mount %s proposed by the writable run: %s", st.image, c.path, c.writes[0].line if c.writes else ""
        )
    for u in bad:
        log.info("%s: %s cannot be covered by a mount: %s", st.image, u.write.path, u.reason)
    return cands, bad


def _learn_timing(st: ProbeState, out: RunOutcome) -> None:
    """How the writable run started and stopped: the reference for every read-only run."""
    b = st.base
    b.stop, b.traced = out.stop_exit_code, out.traced
    b.traced_stop = out.stop_exit_code if out.traced else None
    b.ready_after = out.ready_after
    if out.ready_after is not None:
        # Read-only runs need not wait the whole start period: the app was ready after
        # ready_after seconds with a writable root; give it twice that, plus two seconds.
        adaptive = 2 * out.ready_after + 2.0
        if st.health is not None:
            h = st.opt.health or st.cfg.health
            adaptive = max(h.start_period if h is not None else 0.0, adaptive)
            st.health = replace(st.health, start_period=min(st.health.start_period, adaptive))
        else:
            b.ready_timeout = min(st.opt.timeout, adaptive + st.opt.settle)
    if out.stop_seconds is not None:
        # A read-only run still alive well past the writable run's stop has diverged: do not wait
        # the whole grace for it (the app that cannot save refuses to exit).
        b.stop_budget = min(st.opt.stop_grace, 3 * out.stop_seconds + 1.0)
        # One that has logged a read-only error since its stop signal has diverged sooner: it cannot
        # save and will not exit (redis without its data directory: 2.1 s -> 1.0 s an ablation).
        b.stop_diverged = 2 * out.stop_seconds + 0.3
    b.dropped = dropped_to(out.trace.splitlines()) if out.traced else (None, None)
    b.ports = ports_bound(out.trace.splitlines())[0] if out.traced else ()


def _unnamed(st: ProbeState, out: RunOutcome) -> bool:
    """The trace saw writes it could not name: the first wave's mounts would be a guess without
    docker diff, and its runs wasted (postfix's master.lock): the diff is read before it."""
    return unnamed_writes(out.trace.splitlines(), st.cwd() or "/") > 0


def _in_image(st: ProbeState) -> Callable[[str], bool]:
    facts = st.ctx.facts
    return lambda path: facts.lstat(path).exists


def start_late_diff(st: ProbeState) -> None:
    """Read the writable run's docker diff in the background, once the first wave's storage is prepared."""
    with st.lock:  # the wave's thread may start it, or the probe's once the wave is over
        if not (st.diff_pending and st.kept is not None):
            return
        st.diff_pending = False
        pool = ThreadPoolExecutor(max_workers=1)
        st.late_diff = pool.submit(st.rt.diff, st.kept, _in_image(st))
        pool.shutdown(wait=False)


def diff_learnt(st: ProbeState, cands: list[Candidate], bad: list[Unmountable]) -> list[Candidate]:
    """What the writable run's docker diff adds, read late, beyond what the trace showed."""
    start_late_diff(st)
    with st.lock:
        late, st.late_diff = st.late_diff, None
    if late is None:
        return []
    diff = late.result()
    st.written.update(w.path for w in diff_writes(diff) if w.path)
    new = [w for w in drop_benign(st, diff_writes(diff)) if not covered(st, w, cands)]
    added, more_bad = candidates(new, st.ctx)
    bad += [u for u in more_bad if u not in bad]
    known = {c.path for c in cands}
    return [c for c in added if c.path not in known]
