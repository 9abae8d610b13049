"""What the verdict rests on: what ran in the deciding runs (the writable reference and the run that
verified the answer, or the last that failed). Pure."""

from __future__ import annotations

from collections.abc import Sequence

from ecs5probe.core.options import ProbeOptions
from ecs5probe.model import Basis, HealthSpec, RunRecord


def deciding(runs: Sequence[RunRecord]) -> list[RunRecord]:
    """The writable reference run and the verifying run (else the last read-only run)."""
    reference = [r for r in runs if not r.read_only][:1]
    verified = [r for r in runs if r.read_only and "verify" in r.purpose and r.passed]
    last = verified[-1:] or [r for r in runs if r.read_only][-1:]
    return reference + last


def basis(
    options: ProbeOptions, health: HealthSpec | None, runs: Sequence[RunRecord], ports: Sequence[str] = ()
) -> Basis:
    """What ran in the deciding runs of a probe made with ``options`` and ``health``."""
    test = None
    if health is not None and health.test and health.test[0] != "NONE":
        test = " ".join(health.test[1:]) if health.test[0] in ("CMD", "CMD-SHELL") else " ".join(health.test)
    return Basis(
        health=test,
        exercises=tuple(options.exercises),
        smoke=tuple(options.smoke),
        signals=tuple(options.signals),
        soak_seconds=options.soak,
        ports=tuple(ports),
        runs=tuple((r.purpose, r.ran_seconds or r.duration_seconds) for r in deciding(runs)),
    )
