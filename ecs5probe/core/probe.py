"""The probe loop: observe a writable run, trace read-only runs to a fixpoint, minimise, verify.

:func:`probe_image` is one container's probe; the core's entry, :func:`ecs5probe.core.together.probe_deployment`,
runs it for a container alone and for each container of a deployment.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from ecs5probe.core.basis import basis
from ecs5probe.core.harden import Harden, harden, owned_by
from ecs5probe.core.learn import alternative, learn, merge
from ecs5probe.core.minimise import Verified, minimise, speculate, verify
from ecs5probe.core.observe import observe
from ecs5probe.core.options import Observer, ProbeOptions, Silent, Tracer, check_options
from ecs5probe.core.ports import RunOutcome, Runtime, StorageSemantics
from ecs5probe.core.recommend import Candidate, Unmountable
from ecs5probe.core.runs import evidence, run, spec
from ecs5probe.core.sizing import Sizer
from ecs5probe.core.state import ProbeState
from ecs5probe.core.unexercised import unexercised
from ecs5probe.errors import UsageError
from ecs5probe.model import Evidence, Finding, HealthSpec, ProbeResult, Write

log = logging.getLogger(__name__)


def probe_image(
    runtime: Runtime,
    image: str,
    options: ProbeOptions,
    semantics: StorageSemantics,
    observer: Observer | None = None,
) -> ProbeResult:
    """Probe one local image under ``semantics`` (a platform's storage): the verified, minimal set of
    writable mounts it needs, or why there is none."""
    t0 = time.monotonic()
    obs = observer or Silent()
    obs.phase(image, "inspecting")
    cfg = runtime.inspect(image)
    try:
        check_options(options, image, cfg.ports)
    except ValueError as e:
        raise UsageError(str(e)) from None
    user = options.user if options.user is not None else cfg.user
    found: list[Finding] = []
    use_strace = False
    if options.tracer in (Tracer.AUTO, Tracer.STRACE):  # first: the image-facts container may use its bundle
        use_strace, how = runtime.tracer()
        found.append(Finding("tracer", how))
    # The image's facts are first needed once the writable run is over: read beside it (its
    # container made, the user's ids read), unless an image VOLUME's path is to be resolved first.
    pool = ThreadPoolExecutor(max_workers=1)
    facts_job = pool.submit(runtime.facts, image, user)
    # The image's directories (what no run may reach) are listed beside the runs: seconds on a large image.
    dirs_job = pool.submit(lambda: facts_job.result()[0].directories())
    pool.shutdown(wait=False)
    st = ProbeState(runtime, image, options, obs, semantics, cfg, facts_job, Sizer(runtime), findings=found)
    st.use_strace = use_strace
    st.dirs_job = dirs_job
    st.health = health_for(options, cfg.health)
    try:
        if cfg.volumes:
            st.ctx  # noqa: B018 - resolves the image's VOLUMEs before the first run
        result = _probe(st)
        asked = options.harden - {Harden.READ_ONLY_ROOT}
        if result.verified and (asked or st.base.named or st.base.port_start is not None):
            st.obs.phase(image, "least privilege: " + (", ".join(sorted(asked)) or "what the writable run was refused"))
            p = harden(st, result.mounts, asked)
            # Verified with its tmpfs mounts owned by the user it runs as: written so, too.
            mounts = [owned_by(m, p.user) for m in result.mounts] if p.verified and p.user else result.mounts
            result = replace(result, privilege=p, mounts=mounts)
        result = _not_reached(st, result)
    finally:
        st.sizer.close()  # nothing may read the kept run after
        _release(st)
    return replace(
        result,
        duration_seconds=time.monotonic() - t0,
        runs=list(st.runs),
        user=user or "root",
        findings=st.findings + result.findings,
        tried=list(st.tried),
        basis=basis(options, st.health, st.runs, options.ports(cfg.ports)),
    )


def _not_reached(st: ProbeState, result: ProbeResult) -> ProbeResult:
    """``result`` with the write candidates no run wrote (what to exercise next)."""
    try:
        ctx = st.ctx
        dirs = st.dirs_job.result() if st.dirs_job is not None else ctx.facts.directories()
    except Exception as e:  # noqa: BLE001 - a report without the list, and a note why, beats no report
        log.info("%s: the image's directories were not listed: %s", st.image, e)
        note = f"the image's directories could not be listed, so no unexercised candidates are named ({e})"
        return replace(result, findings=[*result.findings, Finding("note", note)])
    mounted = [m.container_path for m in result.mounts] + [m.path for m in st.opt.fixed_mounts]
    written = {ctx.resolve(p) for p in st.written}
    found, more = unexercised(
        dirs, ctx.uid, ctx.gid, st.volumes, mounted, written, st.base.dropped if ctx.uid == 0 else (None, None)
    )
    return replace(result, unexercised=found, unexercised_more=more)


def health_for(o: ProbeOptions, image_health: HealthSpec | None) -> HealthSpec | None:
    """The health check a run uses: the options', else the image's (re-passed with a short interval)."""
    base = o.health
    if base is None and o.health_cmd:
        base = HealthSpec(test=("CMD-SHELL", o.health_cmd))
    if base is None:
        base = image_health
    if base is None or not base.test or base.test[0] == "NONE":
        return None
    # Docker runs the first check only after one interval: re-pass with a short one.
    return replace(base, interval=0.5, start_period=max(base.start_period, o.start_period))


def _release(st: ProbeState) -> None:
    """The kept writable run and the image facts' container, removed side by side (0.1 s each here)."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        jobs = [pool.submit(_close_facts, st)]
        if st.kept is not None:
            jobs.append(pool.submit(st.rt.discard, st.kept))
    for job in jobs:
        job.result()  # a failure (the daemon lost meanwhile) is raised as before


def _close_facts(st: ProbeState) -> None:
    try:
        facts = st.facts_job.result()[0]
    except Exception:  # noqa: BLE001 - raised by st.ctx already, or the probe failed before it
        return
    facts.close()


def _probe(st: ProbeState) -> ProbeResult:
    observed = observe(st)
    if isinstance(observed, str):
        return ProbeResult(st.image, False, reason=observed)
    cands, bad = observed
    answer = _answer(st, cands, bad)
    if isinstance(answer, ProbeResult):
        return answer
    required, optional, final_out = answer
    mounts = st.sizer.mounts(required, st.ctx, final=True) + [
        replace(m, required=False, reason=m.reason + f"; not required: {st.opt_reason[m.container_path]}")
        for m in st.sizer.mounts(optional, st.ctx, final=True)
    ]
    # degraded is known only where a run without the mount was made (None: not run without it)
    mounts = [replace(m, degraded=_degraded(st, m.container_path)) for m in mounts]
    for m in mounts:
        owner = ",".join(o for o in m.mount_options if o.startswith(("uid=", "gid="))) or "root"
        need = "required" if m.required else "not required"
        log.info(
            "%s: %s: %s, owner %s, %d MiB, %s: %s",
            st.image,
            m.container_path,
            m.kind,
            owner,
            m.size_mib,
            need,
            m.reason,
        )
    _report_pathless(st, final_out)
    _report_unmountable(st, bad, required=False)
    return ProbeResult(st.image, True, mounts=mounts, reason="verified read-only with exactly these mounts")


def _degraded(st: ProbeState, path: str) -> bool | None:
    return path in st.degraded if path in st.ablated else None


def _answer(
    st: ProbeState, cands: list[Candidate], bad: list[Unmountable]
) -> tuple[list[Candidate], list[Candidate], RunOutcome] | ProbeResult:
    """Trace, minimise and verify until a set verifies (learning from each failed verification, three
    times at most): the required and optional candidates and the verifying run, or the failure."""
    speculated = speculate(st, cands, bad)
    why = ""
    for attempt in range(3):
        verified: Verified
        if speculated is not None:
            verified, speculated = speculated, None
        else:
            passed, cands, why = _trace(st, cands, bad)
            if passed is None:
                return _failure(st, cands, bad, why)
            required, optional = minimise(st, cands)
            verified = (required, optional, *verify(st, passed, cands, required, optional))
        required, optional, final_out, ok, why = verified
        if ok:
            return required, optional, final_out
        # The untraced verification failed where the traced run passed: learn from its evidence.
        learnt = learn(st, final_out, cands, bad)
        st.tried.append(
            f"verification failed ({why}); "
            + (f"learnt {', '.join(c.path for c in learnt)} from it" if learnt else "traced again with the full set")
        )
        if not learnt and attempt == 2:
            break
        cands = merge(cands, learnt)
    return _failure(st, cands, bad, why)


def _trace(
    st: ProbeState, cands: list[Candidate], bad: list[Unmountable]
) -> tuple[RunOutcome | None, list[Candidate], str]:
    """Read-only runs with the candidates until one passes; every failure teaches something."""
    last_why = ""
    for i in range(st.opt.max_iterations):
        st.obs.phase(st.image, f"read-only run {i + 1} with {len(cands)} mount(s)")
        mounts = st.sizer.mounts(cands, st.ctx)
        out, ok, last_why = run(st, spec(st, f"trace {st.traces() + 1}", mounts, trace=True))
        st.sizer.quiet.set()  # its storage was prepared: what the writable run wrote may be read now
        learnt = learn(st, out, cands, bad)
        if ok and not learnt:
            st.pass_index = len(st.runs) - 1
            return out, cands, last_why
        if learnt or st.changed:
            cands = merge(cands, learnt)
            continue
        other = alternative(st, cands)
        if other is None:
            break
        cands = other
    return None, cands, last_why


def _report_pathless(st: ProbeState, out: RunOutcome) -> None:
    for w in evidence(st, out):
        if w.path is None:
            st.findings.append(
                Finding(
                    "pathless-erofs",
                    "a read-only error that names no path (or a relative one)",
                    (Evidence(w.source, None, w.line),),
                )
            )


def _report_unmountable(st: ProbeState, bad: Sequence[Unmountable], required: bool) -> None:
    seen = set()
    for u in bad:
        if u.write.path in seen:
            continue
        seen.add(u.write.path)
        note = "" if required else " (the app worked without it)"
        st.findings.append(
            Finding(
                "unmountable",
                f"{u.write.path}: {u.reason}{note}",
                (Evidence(u.write.source, u.write.path, u.write.line),),
            )
        )


def _failure(st: ProbeState, cands: list[Candidate], bad: list[Unmountable], why: str) -> ProbeResult:
    _report_unmountable(st, bad, required=True)
    pathless: list[Write] = st.pathless
    for w in pathless:
        st.findings.append(
            Finding("pathless-erofs", "a read-only error that names no path", (Evidence(w.source, None, w.line),))
        )
    reason = f"no set of mounts made it work read-only: {why}"
    if st.tried:
        reason += f"; tried: {'; '.join(st.tried)}"
    if bad:
        reason += f"; writes no safe mount can cover: {', '.join(sorted({str(u.write.path) for u in bad}))}"
    return ProbeResult(st.image, False, mounts=st.sizer.mounts(cands, st.ctx, final=True), reason=reason)
