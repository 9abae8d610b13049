"""Compose services' hardening, service by service: read_only (the read-only root filesystem), user
(not root; absent: the image's user, which Compose does not know), privileged."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from ecs5probe.platforms.compose.project import evaluate as read_only
from ecs5probe.platforms.compose.project import resolved
from ecs5probe.platforms.interface import Outcome, Verdict, as_control, asked_for, is_root

READ_ONLY, NON_ROOT, NOT_PRIVILEGED = "read_only", "user", "privileged"
CONTROLS = (READ_ONLY, NON_ROOT, NOT_PRIVILEGED)


def evaluate(doc: Mapping[str, Any], controls: Collection[str] | None = None) -> list[Verdict]:
    chosen = asked_for(CONTROLS, controls)
    out: list[Verdict] = []
    if READ_ONLY in chosen:
        out += as_control(read_only(doc), READ_ONLY)
    for name, s in resolved(doc).items():
        if NON_ROOT in chosen:
            user = s.get("user")
            if user is None:
                out.append(Verdict(str(name), Outcome.FAILED, "user is absent", control=NON_ROOT))
            elif is_root(str(user)):
                out.append(Verdict(str(name), Outcome.FAILED, f"user is {user!r}: root", control=NON_ROOT))
            else:
                out.append(Verdict(str(name), Outcome.PASSED, f"user is {user!r}", control=NON_ROOT))
        if NOT_PRIVILEGED in chosen:
            bad = s.get("privileged") is True
            out.append(
                Verdict(
                    str(name),
                    Outcome.FAILED if bad else Outcome.PASSED,
                    "privileged is true" if bad else "not privileged",
                    control=NOT_PRIVILEGED,
                )
            )
    return out
