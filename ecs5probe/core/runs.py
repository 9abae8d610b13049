"""One run of the image, as the probe asks for it: its spec, the run, how it is judged against the
writable run, and the writes it shows (logs and trace)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from ecs5probe.core import logs as logparse
from ecs5probe.core.judge import judge
from ecs5probe.core.paths import normalise
from ecs5probe.core.ports import MountSpec, RunOutcome, RunSpec
from ecs5probe.core.recommend import split_benign
from ecs5probe.core.state import ProbeState
from ecs5probe.core.strace import TRACE_SET, parse_trace
from ecs5probe.model import Evidence, Finding, Mount, RunRecord, Write


def spec(
    st: ProbeState,
    purpose: str,
    mounts: Sequence[Mount],
    read_only: bool = True,
    observe: bool = False,
    trace: bool = False,
) -> RunSpec:
    """The run of ``st``'s image with ``mounts``, as the platform would start it."""
    o, b = st.opt, st.base
    specs = [st.semantics.mount_spec(m, st.volumes, dict(o.storage)) for m in mounts]
    covered = {s.path for s in specs}
    specs += [m for m in o.fixed_mounts if m.path not in covered]  # the deployment's own, shared
    covered |= {m.path for m in o.fixed_mounts}
    for v in st.volumes:
        if v in covered:
            continue
        # An image VOLUME gets its own labelled volume: writable when observing, read-only when
        # tracing, so that writes there show up like any other (ECS wants them declared).
        specs.append(MountSpec(v, "volume", read_only=read_only, copy_content=True))
    return replace(
        o.run_spec(
            st.image, purpose, specs, read_only, st.health, st.cfg.stop_signal, st.semantics.unprivileged_port_start
        ),
        timeout=o.timeout if observe or b.ready_timeout is None else b.ready_timeout,
        stop_grace=o.stop_grace if observe or b.stop_budget is None else b.stop_budget,
        stop_diverged=None if observe else b.stop_diverged,
        observe=observe,
        trace=trace and st.use_strace,
        trace_successes=not read_only,
        trace_syscalls=TRACE_SET,
        ports=o.ports(st.cfg.ports),
    )


def run(st: ProbeState, rs: RunSpec, prepared: str | None = None) -> tuple[RunOutcome, bool, str]:
    """Run ``rs`` (or its ``prepared`` container), judge it, record it."""
    out = st.rt.run(rs, prepared)
    ok, why = _judged(st, rs, out)
    if ok and rs.purpose == "verify" and not out.traced and st.base.traced:
        st.base.verified_stop = out.stop_exit_code
    if not ok:
        why = _limits(st, out, why)
    st.record(
        RunRecord(rs.purpose, rs.read_only, tuple(m.path for m in rs.mounts), ok, why, out.duration, out.ran_seconds)
    )
    return out, ok, why


def _judged(st: ProbeState, rs: RunSpec, out: RunOutcome) -> tuple[bool, str]:
    b, job = st.base, st.opt.job
    if rs.observe:  # the writable run is the baseline: judged by its start and exercises only
        return judge(out, None, job)
    if out.traced and b.traced_stop is not None:  # traced runs stop as the traced writable run did
        ok, why = judge(out, b.traced_stop, job)
        return ok, why.replace("(writable run:", "(the traced writable run:")
    ok, why = judge(out, b.stop, job, relaxed_stop=out.traced != b.traced)
    if not ok and out.diverged_at_stop:  # the signal reached the app: it failed to save, and hung
        return ok, f"{why}; killed: a read-only error at its stop"
    if ok or not _stop_only(st, out):
        return ok, why
    if b.verified_stop is not None:  # an untraced run with the full set stopped so: that is the reference
        ok, why = judge(out, b.verified_stop, job)
        return ok, why.replace("(writable run:", "(the verified untraced run:")
    if _untraced_baseline(st):
        return judge(out, st.base.stop, job)
    return ok, why


def _limits(st: ProbeState, out: RunOutcome, why: str) -> str:
    """A run that hit a resource limit says so (once in the findings), not "cannot run read-only"."""
    line = logparse.pids_exhausted(out.logs)
    if out.oom_killed:
        text = f"a run reached the memory limit ({st.opt.memory_mib} MiB) and was OOM-killed; raise --memory"
    elif line is not None:
        text = f"a run could not create processes: the pids limit ({st.opt.pids_limit}) was reached; raise --pids-limit"
        why = f"{why}; pids limit reached: {line!r}"
    else:
        return why
    with st.lock:
        if not any(f.kind == "limit" and f.message == text for f in st.findings):
            st.findings.append(Finding("limit", text))
    return why


def _stop_only(st: ProbeState, out: RunOutcome) -> bool:
    """Failed only at the stop, untraced, against a traced baseline: perhaps how the app stops
    without the tracer's init (a shell as PID 1 does not pass the stop signal on)."""
    ran = out.started and out.exercises_ok and out.smoke_ok and not out.soak_detail
    return st.base.traced and not out.traced and not st.opt.job and ran


def _untraced_baseline(st: ProbeState) -> bool:
    """Once: a writable run exactly as the platform runs it, to learn how the app stops there."""
    with st.lock:
        if not st.base.traced:
            return True
        purpose = "baseline (writable, untraced)"
        out = st.rt.run(
            replace(spec(st, purpose, [], read_only=False), stop_grace=st.opt.stop_grace, stop_diverged=None)
        )
        ok, why = judge(out, None, st.opt.job)
        st.record(RunRecord(purpose, False, (), ok, why, out.duration))
        if not ok:
            return False
        st.base.stop, st.base.traced = out.stop_exit_code, False
        st.tried.append(
            f"a writable run without the tracer: the app stops with {out.stop_exit_code} there "
            f"(traced: it stopped differently)"
        )
        return True


def evidence(st: ProbeState, out: RunOutcome, successes: bool = False) -> list[Write]:
    """Failed writes from the logs and the trace; with ``successes``, every traced write."""
    cwd = st.cwd() or "/"
    traced = parse_trace(out.trace.splitlines(), include_success=successes, cwd=cwd) if out.traced else []
    logged = [w for w in _log_writes(st, out) if w.path is None or w.path not in st.lies]
    found = drop_benign(st, logged + traced)
    with st.lock:
        st.written.update(normalise(w.path) for w in found if w.path)
    return found


def _log_writes(st: ProbeState, out: RunOutcome) -> list[Write]:
    if not st.use_logs:
        return []
    # Without a WORKDIR the app may have changed directory: a relative path stays unresolved.
    return logparse.parse_logs(out.logs, cwd=st.cwd(None), tmpdir=st.ctx.tmpdir)


def drop_benign(st: ProbeState, writes: list[Write]) -> list[Write]:
    """Known-harmless writes become one finding each (with the alternative), not mounts."""
    benign, rest = split_benign(writes)
    for w, why in benign:
        if why not in st.benign_seen:
            st.benign_seen.add(why)
            st.findings.append(Finding("benign", f"{w.path}: {why}", (Evidence(w.source, w.path, w.line),)))
    return rest
