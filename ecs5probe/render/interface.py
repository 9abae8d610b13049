"""What every report renderer takes and returns: results (and regressions) in, text out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from ecs5probe.model import PlatformName, ProbeResult


@dataclass(frozen=True)
class Report:
    """Everything a report says: the probes, and what is new against a baseline (when one was given)."""

    results: Sequence[ProbeResult]
    regressions: Mapping[str, Sequence[str]] = field(default_factory=dict)
    baseline_used: bool = False
    launch_type: str = "EC2"  # volume rules for the ECS fragment
    platform: PlatformName = field(default_factory=PlatformName.default)  # whose fragment the mounts format writes

    def failed(self, r: ProbeResult) -> bool:
        """Not verified, new against the baseline, or a --harden control it cannot meet."""
        cannot = r.privilege is not None and bool(r.privilege.cannot)
        return not r.verified or bool(self.regressions.get(r.image)) or cannot

    def missing(self, r: ProbeResult) -> list[str]:
        """The mounts a deployment of this image lacks: new against the baseline, else all required."""
        if self.baseline_used:
            return list(self.regressions.get(r.image, []))
        return [m.container_path for m in r.required_mounts]


class Renderer(Protocol):
    def __call__(self, report: Report) -> str: ...
