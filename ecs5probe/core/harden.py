"""Least privilege beside the read-only root (ECS.20, ECS.4, the restricted profile), learnt and verified
like the mounts: the user the app can run as, and the fewest capabilities it needs, each one ablated.

Runs here have the verified mounts, read-only, exactly as before; the user's tmpfs mounts are owned by
that user; ``no-new-privileges`` is on in every probe run, so it is kept wherever the app worked. ECS
and Kubernetes leave ``net.ipv4.ip_unprivileged_port_start`` at 1024 (local Docker sets 0): their runs
here do too, so an app that binds port 80 as non-root fails here as it would there; where that is the
only obstacle, the answer sets it to the lowest port the app binds (not 0), verified so.

Capabilities come from Docker's 14 defaults and from evidence: a refused call in a trace (a raw socket,
a higher priority, locked memory...) or the app's own words name one; no other is ever added to a run."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import partial

from ecs5probe.core import logs as logparse
from ecs5probe.core.judge import PORT_RULE, last_words, low_port_denied
from ecs5probe.core.options import PORT_START
from ecs5probe.core.ports import RunOutcome, RunSpec
from ecs5probe.core.runs import run, spec
from ecs5probe.core.state import ProbeState
from ecs5probe.core.tracefacts import (
    CapabilityNeed,
    capabilities_in_logs,
    capabilities_named,
    ports_bound,
    ports_refused_in_logs,
)
from ecs5probe.core.wave import Wave
from ecs5probe.model import Mount, Privilege

log = logging.getLogger(__name__)

#: Docker's (and containerd's, and ECS's) default capability set: what a container has unless dropped.
DEFAULT_CAPS = (
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "NET_RAW",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
)
#: What each capability lets a process do, for the reason a run gives.
WHAT = {
    "CHOWN": "change a file's owner (chown)",
    "DAC_OVERRIDE": "read and write files whatever their mode",
    "FOWNER": "change the mode of files it does not own",
    "SETUID": "switch user (setuid)",
    "SETGID": "switch group (setgid, setgroups)",
    "NET_BIND_SERVICE": "bind a port below 1024",
    "KILL": "signal processes of other users",
    "SYS_CHROOT": "chroot",
    "NET_RAW": "raw and packet sockets (ping)",
    "MKNOD": "make device files",
    "NET_ADMIN": "configure interfaces, routes, firewall rules",
    "SYS_NICE": "raise its priority or use a real-time scheduler",
    "IPC_LOCK": "lock memory (mlock)",
    "SYS_PTRACE": "trace other processes",
    "SYS_RESOURCE": "raise its hard resource limits",
    "SYS_TIME": "set the clock",
}


class Harden(StrEnum):
    """What ``--harden`` asks for."""

    READ_ONLY_ROOT = "read-only-root"
    NON_ROOT = "non-root"
    CAPABILITIES = "capabilities"


@dataclass
class _Plan:
    user: str | None = None
    caps: tuple[str, ...] | None = None  # None: not asked
    port: int | None = None  # net.ipv4.ip_unprivileged_port_start the user needs
    cannot: list[str] = field(default_factory=list)
    tried: list[str] = field(default_factory=list)
    evidence: dict[str, str] = field(default_factory=dict)  # capability -> the line that named it


def harden(st: ProbeState, mounts: Sequence[Mount], asked: frozenset[Harden]) -> Privilege:
    """The least privilege ``asked`` for, learnt and verified with exactly ``mounts``."""
    plan = _Plan(port=st.base.port_start)
    if Harden.NON_ROOT in asked:
        _user(st, mounts, plan)
    if Harden.CAPABILITIES in asked:
        _capabilities(st, mounts, plan)
    out, ok, why = run(st, _spec(st, "verify (hardened)", mounts, plan.user, plan.caps, plan.port))
    if not ok:  # the two, learnt apart, do not hold together: say so, write neither
        plan.cannot.append(f"the user and capabilities learnt apart do not run together: {why}")
        return Privilege(None, (), (), False, tuple(plan.cannot), tuple(plan.tried))
    # Not asked for capabilities: those the writable run was refused are added to what the document has.
    caps = plan.caps if plan.caps is not None else tuple(dict.fromkeys(n.capability for n in st.base.named))
    limit = st.opt.capability_limit
    beyond = [c for c in caps if limit is not None and c not in DEFAULT_CAPS and c not in limit.addable]
    if limit is not None and beyond:
        plan.cannot.append(
            f"capabilities: needs {', '.join(beyond)}, which {limit.where} cannot add "
            f"({limit.where} adds back only {', '.join(limit.addable)})"
        )
    drop = ("ALL",) if plan.caps is not None else ()
    plan.evidence |= {n.capability: n.line for n in st.base.named if n.capability not in plan.evidence}
    return Privilege(
        plan.user,
        caps,
        drop,
        True,
        tuple(plan.cannot),
        tuple(plan.tried),
        sysctls=((PORT_START, str(plan.port)),) if plan.port is not None else (),
        evidence=tuple((c, line) for c, line in plan.evidence.items() if c in caps),
    )


def _spec(
    st: ProbeState,
    purpose: str,
    mounts: Sequence[Mount],
    user: str | None,
    caps: tuple[str, ...] | None,
    port: int | None = None,
    trace: bool = False,
) -> RunSpec:
    """A read-only run with ``mounts`` as ``user`` (its tmpfs owned by it), only ``caps``, and the
    lowest unprivileged port ``port`` (None: the platform's)."""
    owned = [owned_by(m, user) for m in mounts] if user is not None else list(mounts)
    rs = spec(st, purpose, owned, trace=trace)
    options = dict(rs.docker_options)  # caps None: the document's (and what evidence added) as they are
    if caps is not None:
        options = {k: v for k, v in options.items() if k not in ("cap_add", "cap_drop")}
        options |= {"cap_drop": ["ALL"], **({"cap_add": list(caps)} if caps else {})}
    if port is not None:
        options["sysctls"] = {**dict(options.get("sysctls") or {}), PORT_START: str(port)}
    # A run that lacks what it needs often hangs unready (workers that cannot switch users): it has had
    # its chance well before the whole --timeout.
    ready = st.base.ready_after
    timeout = min(rs.timeout, max(10.0, 3 * ready + 5)) if ready is not None else rs.timeout
    return replace(
        rs, user=user if user is not None else rs.user, docker_options=tuple(sorted(options.items())), timeout=timeout
    )


def owned_by(m: Mount, user: str) -> Mount:
    """A tmpfs owned by ``user`` (a volume keeps what the image has there)."""
    if m.kind != "tmpfs":
        return m
    uid, _, gid = user.partition(":")
    rest = [o for o in m.mount_options if not o.startswith(("uid=", "gid="))]
    return replace(m, mount_options=(f"uid={uid}", f"gid={gid or uid}", *rest))


def with_privilege(rs: RunSpec, p: Privilege) -> RunSpec:
    """``rs`` run with the least privilege ``p`` found (its mounts already owned by ``p.user``); its
    kernel parameters where the run has a network namespace of its own (a member of another's takes
    the holder's)."""
    options = {k: v for k, v in rs.docker_options if k not in ("cap_add", "cap_drop")}
    if p.cap_drop:
        options |= {"cap_drop": list(p.cap_drop), **({"cap_add": list(p.cap_add)} if p.cap_add else {})}
    own = not (rs.network.startswith("container:") or rs.network == "host")
    if p.sysctls and own:
        options["sysctls"] = {**dict(options.get("sysctls") or {}), **dict(p.sysctls)}
    return replace(rs, user=p.user or rs.user, docker_options=tuple(sorted(options.items())))


def _user(st: ProbeState, mounts: Sequence[Mount], plan: _Plan) -> None:
    """The image's own non-root user, else the one the app switches to (in any of its processes), else
    the one given; verified. Where the only obstacle is a port below the platform's unprivileged port
    start, the same user with that start lowered to the lowest port the app binds, verified."""
    ctx = st.ctx
    candidate, whence = None, ""
    if ctx.uid != 0:
        candidate, whence = f"{ctx.uid}:{ctx.gid}", f"the image's own user ({st.cfg.user or ctx.uid})"
    elif st.opt.as_user:
        candidate, whence = st.opt.as_user, "the user given (--as-user)"
    elif st.base.dropped[0] not in (None, 0):
        uid, gid = st.base.dropped
        candidate, whence = f"{uid}:{gid if gid is not None else uid}", "the user the app switches to (traced setuid)"
    if candidate is None:
        plan.cannot.append(
            "non-root: the image runs as root and switches to no other user; give one to try with --as-user UID:GID"
        )
        return
    out, ok, why = run(st, _spec(st, f"non-root as {candidate}", mounts, candidate, None, trace=True))
    plan.tried.append(f"non-root as {candidate}, {whence}: {'works' if ok else why}")
    if ok:
        plan.user = candidate
        log.info("%s: runs as %s (%s)", st.image, candidate, whence)
        return
    port = low_port(st, out)
    if port is None:
        plan.cannot.append(
            f"non-root: as {candidate} ({whence}) it fails: {why}{last_words(out.logs, telling=True)}; {_advice(out)}"
        )
        return
    refused = sysctl_refused(st)
    if refused:
        plan.cannot.append(
            f"non-root: as {candidate} ({whence}) it cannot bind port {port}: {PORT_RULE}; here {refused}"
        )
        return
    out2, ok2, why2 = run(st, _spec(st, f"non-root as {candidate}, {PORT_START}={port}", mounts, candidate, None, port))
    if ok2:
        plan.user, plan.port = candidate, port
        plan.tried.append(f"non-root as {candidate} with {PORT_START}={port} (it binds port {port}): works")
        log.info("%s: runs as %s with %s=%d", st.image, candidate, PORT_START, port)
        return
    plan.tried.append(f"non-root as {candidate} with {PORT_START}={port}: {why2}")
    plan.cannot.append(
        f"non-root: as {candidate} ({whence}) with {PORT_START}={port} (port {port} allowed) it still fails: "
        f"{why2}{last_words(out2.logs, telling=True)}; {_advice(out2)}"
    )


def low_port(st: ProbeState, out: RunOutcome) -> int | None:
    """The lowest port below the platform's unprivileged port start that ``out`` (a run as a non-root
    user) was refused, from its trace (EACCES on bind()) or its words, and the ports the writable run
    bound; None when no refused bind of such a port shows (another obstacle)."""
    start = st.semantics.unprivileged_port_start
    if start is None:
        return None
    _, refused = ports_bound(out.trace.splitlines()) if out.traced else ((), ())
    said = ports_refused_in_logs(out.logs)
    if not refused and not said and not low_port_denied(out.logs):
        return None
    low = [p for p in (*refused, *said, *st.base.ports) if 0 < p < start]
    return min(low) if low else None


def sysctl_refused(st: ProbeState) -> str:
    """Why no kernel parameter can be part of the answer here; empty when one can."""
    if st.opt.network == "host":
        return "the host's network namespace takes no net.* sysctl (ECS host network mode does not support it)"
    if not st.opt.own_namespace():
        return "the container shares another's network namespace, whose sysctls are set there"
    if not st.opt.sysctls:
        return (
            "no kernel parameter may be set (--no-sysctls, or ECS host network mode, which takes no net.* "
            "systemControls)"
        )
    return ""


def escalate(st: ProbeState, out: RunOutcome, why: str) -> bool:
    """After a failed writable run: add what its refusals name to every later run (``st.opt``), and say
    so: the capabilities outside the run's set that refused calls or the app's words name, and the
    lowest port it was refused where the platform keeps ports below 1024 privileged and a sysctl may
    lower that. False when they name nothing new (the failure is another's)."""
    options = dict(st.opt.docker_options)
    drop = {str(c).upper().removeprefix("CAP_") for c in options.get("cap_drop") or ()}
    add = {str(c).upper().removeprefix("CAP_") for c in options.get("cap_add") or ()}
    has = add if "ALL" in drop else (set(DEFAULT_CAPS) - drop) | add
    named = [n for n in _named(st, out, why) if n.capability not in has]
    learnt = []
    if named:
        st.base.named = (*st.base.named, *named)
        options["cap_add"] = [*(options.get("cap_add") or ()), *(n.capability for n in named)]
        learnt += [f"{n.capability} ({WHAT.get(n.capability, '')}: {n.line[:160]})" for n in named]
    port = low_port(st, out)
    if port is not None and not sysctl_refused(st) and st.base.port_start is None:
        st.base.port_start = port
        options["sysctls"] = {**dict(options.get("sysctls") or {}), PORT_START: str(port)}
        learnt.append(f"{PORT_START}={port} (it binds port {port}, refused below the platform's 1024)")
    if not learnt:
        return False
    st.opt = replace(st.opt, docker_options=tuple(sorted(options.items())))
    st.tried.append("the writable run failed where a privilege was refused; added: " + "; ".join(learnt))
    log.info("%s: %s", st.image, st.tried[-1])
    return True


def _capabilities(st: ProbeState, mounts: Sequence[Mount], plan: _Plan) -> None:
    """Start from none; when that fails, the capabilities the evidence names (refused calls in the
    trace, the app's words), verified alone; else each of Docker's defaults and of those named ablated
    from the whole set (side by side); the ones it cannot do without, verified alone."""
    user, port = plan.user, plan.port
    out, ok, why = run(st, _spec(st, "capabilities: none", mounts, user, (), port, trace=True))
    if ok:
        plan.caps = ()
        plan.tried.append("capabilities: drop ALL works")
        return
    named = _named(st, out, why)
    plan.evidence |= {n.capability: n.line for n in named}
    given = _given_caps(st)
    extra = tuple(dict.fromkeys([*(n.capability for n in named if n.capability not in DEFAULT_CAPS), *given]))
    if named:
        caps = tuple(sorted({n.capability for n in named}))
        _, ok1, why1 = run(st, _spec(st, f"capabilities: {', '.join(caps)} (named)", mounts, user, caps, port))
        if ok1:
            plan.caps = caps
            plan.tried.append(
                f"capabilities: drop ALL fails ({why}); needed, as refused calls named them: "
                + ", ".join(f"{c} ({WHAT.get(c, c.lower())}: {plan.evidence[c][:120]})" for c in caps)
            )
            return
        plan.tried.append(f"capabilities: {', '.join(caps)} alone, as named, fails: {why1}")
    full = (*DEFAULT_CAPS, *(c for c in extra if c not in DEFAULT_CAPS))
    ran = partial(run, st)
    with Wave(st.rt, st.opt.jobs) as wave:
        jobs = {
            c: wave.submit(
                _spec(st, f"capabilities without {c}", mounts, user, tuple(x for x in full if x != c), port), ran
            )
            for c in full
        }
        needed = tuple(c for c, f in jobs.items() if not f.result()[1])
    check, ok2, why2 = run(st, _spec(st, f"capabilities: {', '.join(needed) or 'none'}", mounts, user, needed, port))
    if not ok2:  # two capabilities that stand in for each other: each ablation passed with the other
        needed, ok2 = _one_more(st, mounts, plan, needed, full)
    if ok2:
        plan.caps = needed
        plan.tried.append(
            f"capabilities: drop ALL fails ({why}); needed: "
            + (", ".join(f"{c} ({WHAT.get(c, c.lower())})" for c in needed) or "none")
        )
        return
    plan.caps = full if extra else DEFAULT_CAPS
    whole = f"Docker's defaults and {', '.join(extra)}" if extra else "Docker's default"
    plan.cannot.append(f"capabilities: no smaller set than {whole} works: {why2}{last_words(check.logs, telling=True)}")


def _named(st: ProbeState, out: RunOutcome, why: str) -> tuple[CapabilityNeed, ...]:
    """The capabilities the failed run's trace and words (its health check's output too) name, and those
    the writable run's trace named."""
    found: dict[str, CapabilityNeed] = {n.capability: n for n in st.base.named}
    for n in (*capabilities_named(out.trace.splitlines()), *capabilities_in_logs(f"{out.logs}\n{why}")):
        found.setdefault(n.capability, n)
    return tuple(found.values())


def _given_caps(st: ProbeState) -> tuple[str, ...]:
    """Capabilities outside Docker's defaults that the document (or evidence at the writable run) adds."""
    added = dict(st.opt.docker_options).get("cap_add") or []
    return tuple(str(c).removeprefix("CAP_") for c in added if str(c).removeprefix("CAP_") not in DEFAULT_CAPS)


def _one_more(
    st: ProbeState, mounts: Sequence[Mount], plan: _Plan, needed: tuple[str, ...], full: Sequence[str]
) -> tuple[tuple[str, ...], bool]:
    """``needed`` with one more of ``full``, the first (in Docker's order) whose run passes."""
    rest = [c for c in full if c not in needed]
    ran = partial(run, st)
    with Wave(st.rt, st.opt.jobs) as wave:
        jobs = {
            c: wave.submit(
                _spec(st, f"capabilities: {', '.join((*needed, c))}", mounts, plan.user, (*needed, c), plan.port), ran
            )
            for c in rest
        }
        passing = [c for c in rest if jobs[c].result()[1]]
    if not passing:
        return needed, False
    plan.tried.append(f"capabilities: {passing[0]} added (any one of {', '.join(passing)} works with the rest)")
    return tuple(sorted((*needed, passing[0]))), True


def _advice(out: RunOutcome) -> str:
    """The change the image or its command needs, from what it said."""
    text = out.logs.lower()
    if low_port_denied(out.logs):
        return f"it binds a port below 1024: {PORT_RULE}"
    if "setgid" in text or "setuid" in text or "setgroups" in text or "operation not permitted" in text:
        return "it switches users itself: run it as that user directly (its own option, or USER in the image)"
    if logparse.pids_exhausted(out.logs):
        return "raise --pids-limit"
    return "the image needs a change to run without root (a root-owned file it writes or reads)"
