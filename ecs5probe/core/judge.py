"""Judging a run (did it behave as with a writable root?) and reading docker diff."""

from __future__ import annotations

from collections.abc import Sequence

from ecs5probe.core.paths import leaves, needs_nothing
from ecs5probe.core.ports import RunOutcome
from ecs5probe.model import Write

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
    if not outcome.smoke_ok:
        return False, outcome.smoke_detail
    if outcome.soak_detail:  # died after its exercises: at a signal, or during the soak
        return False, outcome.soak_detail
    same = outcome.stop_exit_code == baseline_stop or (
        relaxed_stop and {outcome.stop_exit_code, baseline_stop} <= _NO_HANDLER
    )
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


_SAYS_WHY = ("denied", "not permitted", "emerg", "error", "failed", "fatal", "cannot", "can't")


def low_port_denied(logs: str) -> bool:
    """The app could not bind a port below 1024 (as non-root, where that needs privilege)."""
    text = logs.lower()
    return "permission denied" in text and ("bind" in text or "listen" in text)


PORT_RULE = (
    "ECS and Kubernetes (containerd) leave net.ipv4.ip_unprivileged_port_start at 1024, where local Docker "
    "sets 0: a non-root process cannot bind a port below 1024 there; listen on 1024 or above, or allow it "
    "(ECS systemControls on awsvpc, Kubernetes securityContext.sysctls)"
)


def last_words(logs: str, telling: bool = False) -> str:
    """``; its last output: '...' / '...'``: what an app said last (with ``telling``, its last two
    lines that say what went wrong, where it has such lines), or nothing when it said nothing."""
    lines = [ln.strip() for ln in logs.splitlines() if ln.strip()]
    chosen = ([ln for ln in lines if any(w in ln.lower() for w in _SAYS_WHY)][-2:] if telling else []) or lines[-2:]
    return f"; its last output: {' / '.join(repr(ln[:200]) for ln in chosen)}" if chosen else ""
