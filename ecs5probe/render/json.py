"""JSON report: one object per image, or a list for several. The schema is in the README."""

from __future__ import annotations

import json
from collections.abc import Sequence

from ecs5probe.model import ProbeResult
from ecs5probe.render.interface import Report

SCHEMA_VERSION = 1


def render(results: Sequence[ProbeResult]) -> str:
    docs = [{"schemaVersion": SCHEMA_VERSION, **r.to_dict()} for r in results]
    return json.dumps(docs[0] if len(docs) == 1 else docs, indent=2) + "\n"


def report(r: Report) -> str:
    """The report-format signature: a Report in, text out."""
    return render(r.results)
