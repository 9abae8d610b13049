"""Least privilege beside the read-only root (ECS.20, ECS.4, the restricted profile), learnt and verified
like the mounts: the user the app can run as, and the fewest capabilities it needs, each one ablated.

Runs here have the verified mounts, read-only, exactly as before; the user's tmpfs mounts are owned by
that user; ``no-new-privileges`` is on in every probe run, so it is kept wherever the app worked. ECS
and Kubernetes leave ``net.ipv4.ip_unprivileged_port_start`` at 1024 (local Docker sets 0): their runs
here do too, so an app that binds port 80 as non-root fails here as it would there."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import partial

from ecs5probe.core import logs as logparse
from ecs5probe.core.judge import PORT_RULE, last_words, low_port_denied
from ecs5probe.core.ports import RunOutcome, RunSpec
from ecs5probe.core.runs import run, spec
from ecs5probe.core.state import ProbeState
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
    "NET_RAW": "raw sockets (ping)",
    "MKNOD": "make device files",
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
    cannot: list[str] = field(default_factory=list)
    tried: list[str] = field(default_factory=list)


def harden(st: ProbeState, mounts: Sequence[Mount], asked: frozenset[Harden]) -> Privilege:
    """The least privilege ``asked`` for, learnt and verified with exactly ``mounts``."""
    plan = _Plan()
    if Harden.NON_ROOT in asked:
        _user(st, mounts, plan)
    if Harden.CAPABILITIES in asked:
        _capabilities(st, mounts, plan)
    out, ok, why = run(st, _spec(st, "verify (hardened)", mounts, plan.user, plan.caps))
    if not ok:  # the two, learnt apart, do not hold together: say so, write neither
        plan.cannot.append(f"the user and capabilities learnt apart do not run together: {why}")
        return Privilege(None, (), (), False, tuple(plan.cannot), tuple(plan.tried))
    caps = plan.caps if plan.caps is not None else ()
    drop = ("ALL",) if plan.caps is not None else ()
    return Privilege(plan.user, caps, drop, True, tuple(plan.cannot), tuple(plan.tried))


def _spec(
    st: ProbeState, purpose: str, mounts: Sequence[Mount], user: str | None, caps: tuple[str, ...] | None
) -> RunSpec:
    """A read-only run with ``mounts`` as ``user`` (its tmpfs owned by it) and only ``caps``."""
    owned = [owned_by(m, user) for m in mounts] if user is not None else list(mounts)
    rs = spec(st, purpose, owned)
    options = {k: v for k, v in rs.docker_options if k not in ("cap_add", "cap_drop")}
    if caps is not None:
        options |= {"cap_drop": ["ALL"], **({"cap_add": list(caps)} if caps else {})}
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
    """``rs`` run with the least privilege ``p`` found (its mounts already owned by ``p.user``)."""
    options = {k: v for k, v in rs.docker_options if k not in ("cap_add", "cap_drop")}
    if p.cap_drop:
        options |= {"cap_drop": list(p.cap_drop), **({"cap_add": list(p.cap_add)} if p.cap_add else {})}
    return replace(rs, user=p.user or rs.user, docker_options=tuple(sorted(options.items())))


def _user(st: ProbeState, mounts: Sequence[Mount], plan: _Plan) -> None:
    """The image's own non-root user, else the one the app switches to, else the one given; verified."""
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
    out, ok, why = run(st, _spec(st, f"non-root as {candidate}", mounts, candidate, None))
    plan.tried.append(f"non-root as {candidate}, {whence}: {'works' if ok else why}")
    if ok:
        plan.user = candidate
        log.info("%s: runs as %s (%s)", st.image, candidate, whence)
        return
    plan.cannot.append(
        f"non-root: as {candidate} ({whence}) it fails: {why}{last_words(out.logs, telling=True)}; {_advice(out)}"
    )


def _capabilities(st: ProbeState, mounts: Sequence[Mount], plan: _Plan) -> None:
    """Start from none; when that fails, each of Docker's default capabilities ablated from the whole
    set (side by side); the ones it cannot do without, verified alone."""
    out, ok, why = run(st, _spec(st, "capabilities: none", mounts, plan.user, ()))
    if ok:
        plan.caps = ()
        plan.tried.append("capabilities: drop ALL works")
        return
    ran = partial(run, st)
    with Wave(st.rt, st.opt.jobs) as wave:
        jobs = {
            c: wave.submit(
                _spec(st, f"capabilities without {c}", mounts, plan.user, tuple(x for x in DEFAULT_CAPS if x != c)), ran
            )
            for c in DEFAULT_CAPS
        }
        needed = tuple(c for c, f in jobs.items() if not f.result()[1])
    check, ok2, why2 = run(st, _spec(st, f"capabilities: {', '.join(needed) or 'none'}", mounts, plan.user, needed))
    if not ok2:  # two capabilities that stand in for each other: each ablation passed with the other
        needed, ok2 = _one_more(st, mounts, plan, needed)
    if ok2:
        plan.caps = needed
        plan.tried.append(
            f"capabilities: drop ALL fails ({why}); needed: "
            + (", ".join(f"{c} ({WHAT.get(c, c.lower())})" for c in needed) or "none")
        )
        return
    plan.caps = DEFAULT_CAPS
    plan.cannot.append(
        f"capabilities: no smaller set than Docker's default works: {why2}{last_words(check.logs, telling=True)}"
    )


def _one_more(
    st: ProbeState, mounts: Sequence[Mount], plan: _Plan, needed: tuple[str, ...]
) -> tuple[tuple[str, ...], bool]:
    """``needed`` with one more of the defaults, the first (in Docker's order) whose run passes."""
    rest = [c for c in DEFAULT_CAPS if c not in needed]
    ran = partial(run, st)
    with Wave(st.rt, st.opt.jobs) as wave:
        jobs = {
            c: wave.submit(_spec(st, f"capabilities: {', '.join((*needed, c))}", mounts, plan.user, (*needed, c)), ran)
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
