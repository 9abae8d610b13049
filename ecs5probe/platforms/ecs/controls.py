"""Security Hub's ECS controls on task definitions, container by container: ECS.5 (read-only root
filesystem), ECS.20 (a non-root user in Linux containers; Windows ones are ECS.21's) and ECS.4 (not
privileged). As AWS Config's rules judge them: an absent field fails ECS.5 and ECS.20."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any

from ecs5probe.errors import TaskDefinitionError
from ecs5probe.platforms.ecs.taskdef import evaluate as ecs5
from ecs5probe.platforms.ecs.taskdef import is_unknown, is_windows
from ecs5probe.platforms.interface import Outcome, Verdict, as_control, asked_for, is_root

READ_ONLY, NON_ROOT, NOT_PRIVILEGED = "ECS.5", "ECS.20", "ECS.4"
CONTROLS = (READ_ONLY, NON_ROOT, NOT_PRIVILEGED)


def _non_root(td: Mapping[str, Any], name: str, c: Mapping[str, Any]) -> Verdict:
    user = c.get("user")
    if is_windows(td):
        return Verdict(name, Outcome.NOT_APPLICABLE, "Windows container: ECS.21's, not ECS.20's", control=NON_ROOT)
    if is_unknown(user):
        return Verdict(name, Outcome.UNKNOWN, f"user is {user!r}, known only at deploy time", control=NON_ROOT)
    if user is None or str(user).strip() == "":
        return Verdict(name, Outcome.FAILED, "user is absent (the image's USER does not count)", control=NON_ROOT)
    if is_root(str(user)):
        return Verdict(name, Outcome.FAILED, f"user is {user!r}: root", control=NON_ROOT)
    return Verdict(name, Outcome.PASSED, f"user is {user!r}", control=NON_ROOT)


def _not_privileged(td: Mapping[str, Any], name: str, c: Mapping[str, Any]) -> Verdict:
    value = c.get("privileged")
    if is_unknown(value):
        return Verdict(
            name, Outcome.UNKNOWN, f"privileged is {value!r}, known only at deploy time", control=NOT_PRIVILEGED
        )
    if value is True:
        return Verdict(name, Outcome.FAILED, "privileged is true", control=NOT_PRIVILEGED)
    return Verdict(name, Outcome.PASSED, "not privileged", control=NOT_PRIVILEGED)


PER_CONTAINER: dict[str, Callable[[Mapping[str, Any], str, Mapping[str, Any]], Verdict]] = {
    NON_ROOT: _non_root,
    NOT_PRIVILEGED: _not_privileged,
}


def evaluate(td: Mapping[str, Any], controls: Collection[str] | None = None) -> list[Verdict]:
    """The verdicts of ``controls`` (all by default), container by container."""
    chosen = asked_for(CONTROLS, controls)
    out: list[Verdict] = []
    if READ_ONLY in chosen:
        out += as_control(ecs5(td), READ_ONLY)
    others = [c for c in chosen if c != READ_ONLY]
    containers = td.get("containerDefinitions")
    if not others:
        return out
    if is_unknown(containers):
        why = "containerDefinitions cannot be resolved statically"
        return out + [Verdict("*", Outcome.UNKNOWN, why, control=c) for c in others]
    if not isinstance(containers, list):
        raise TaskDefinitionError("containerDefinitions is not a list")
    for i, c in enumerate(containers):
        name = str(c.get("name", f"#{i}")) if isinstance(c, Mapping) else f"#{i}"
        out += [PER_CONTAINER[control](td, name, c) for control in others]
    return out
